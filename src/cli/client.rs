//! `hotline-router client`: call a running server without grpcurl.

use super::{Result, Status, fail, out, print_json};
use crate::proto::v1 as pb;
use crate::proto::v1::routing_service_client::RoutingServiceClient;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server address.
    #[arg(long, env = "HOTLINE_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Print the decision as JSON.
    #[arg(long)]
    json: bool,
    /// Print the served rule set (GetRuleSet) instead of routing.
    #[arg(long, conflicts_with = "text")]
    rule_set: bool,
    /// The request text.
    #[arg(required_unless_present = "rule_set")]
    text: Option<String>,
}

pub(crate) fn run(args: Args) -> Result {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    runtime.block_on(call(args))
}

async fn call(args: Args) -> Result {
    let addr = if args.addr.contains("://") {
        args.addr.clone()
    } else {
        format!("http://{}", args.addr)
    };
    let mut client = match RoutingServiceClient::connect(addr.clone()).await {
        Ok(c) => c,
        Err(e) => {
            return fail(format!(
                "cannot connect to {addr}: {e}; is `hotline-router serve` running?"
            ));
        }
    };
    if args.rule_set {
        return match client.get_rule_set(pb::GetRuleSetRequest {}).await {
            Ok(r) => print_json(&r.into_inner()),
            Err(s) => status_error(&s),
        };
    }
    let req = pb::RouteRequest {
        text: args.text.unwrap_or_default(),
        channel: pb::Channel::Other as i32,
        ..Default::default()
    };
    match client.route(req).await {
        Ok(resp) if args.json => print_json(&resp.into_inner()),
        Ok(resp) => {
            out!("{}", crate::engine::render_text(&resp.into_inner()));
            Ok(Status::Ok)
        }
        Err(s) => status_error(&s),
    }
}

fn status_error(s: &tonic::Status) -> Result {
    fail(format!("{:?}: {}", s.code(), s.message()))
}
