//! `hotline-router client`: call a running server without grpcurl.

use std::process::ExitCode;

use crate::cli::{out, outln};
use crate::proto::v1 as pb;
use crate::proto::v1::routing_service_client::RoutingServiceClient;

pub fn run_blocking(addr: &str, json: bool, rule_set: bool, text: Option<String>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let addr = if addr.contains("://") {
            addr.to_owned()
        } else {
            format!("http://{addr}")
        };
        let mut client = match RoutingServiceClient::connect(addr.clone()).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "error: cannot connect to {addr}: {e}; is `hotline-router serve` running?"
                );
                return ExitCode::from(2);
            }
        };
        if rule_set {
            return match client.get_rule_set(pb::GetRuleSetRequest {}).await {
                Ok(r) => print_json(&r.into_inner()),
                Err(s) => status_error(&s),
            };
        }
        let req = pb::RouteRequest {
            text: text.unwrap_or_default(),
            channel: pb::Channel::Other as i32,
            ..Default::default()
        };
        match client.route(req).await {
            Ok(resp) => {
                let resp = resp.into_inner();
                if json {
                    print_json(&resp)
                } else {
                    out!("{}", crate::render_text(&resp));
                    ExitCode::SUCCESS
                }
            }
            Err(s) => status_error(&s),
        }
    })
}

fn print_json<T: serde::Serialize>(v: &T) -> ExitCode {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            outln!("{s}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot encode as JSON: {e}");
            ExitCode::FAILURE
        }
    }
}

fn status_error(s: &tonic::Status) -> ExitCode {
    eprintln!("error: {:?}: {}", s.code(), s.message());
    ExitCode::from(2)
}
