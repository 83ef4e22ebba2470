//! `hotline-router client`: call a running server without grpcurl.
//!
//! Plain HTTP/2 by default (a server on localhost). `--tls-ca` switches to TLS, trusting only
//! that CA: a router behind TLS is reached over an internal PKI, not the public web's roots, so
//! no system trust store is consulted. `--tls-cert` / `--tls-key` add a client identity for a
//! server that requires one (mutual TLS); the server knows the caller by that certificate's
//! subject. The files are read and checked before connecting, so a wrong path, a file that holds
//! no certificate or a key that does not belong to the certificate is reported as such, not as
//! a failed handshake. TLS itself is tonic's (rustls with the ring provider, ALPN `h2`).

use std::path::{Path, PathBuf};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::{Result, Status, fail, out, print_json};
use crate::proto::v1 as pb;
use crate::proto::v1::routing_service_client::RoutingServiceClient;
use crate::server::tls;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Server address: `host:port`, `http://host:port`, or `https://host:port` (with --tls-ca).
    /// Without a scheme, https when --tls-ca is given, http otherwise.
    #[arg(long, env = "HOTLINE_ADDR", default_value = "127.0.0.1:50051")]
    addr: String,
    /// Connect with TLS, trusting the CA certificate(s) in this PEM file.
    #[arg(long, env = "HOTLINE_TLS_CA", value_name = "PEM")]
    tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for a server that requires one (mutual TLS); needs --tls-key.
    #[arg(
        long,
        env = "HOTLINE_CLIENT_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key",
        requires = "tls_ca"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "HOTLINE_CLIENT_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    tls_key: Option<PathBuf>,
    /// The server name to verify the server's certificate against (default: the host of
    /// --addr).
    #[arg(
        long,
        env = "HOTLINE_TLS_DOMAIN",
        value_name = "NAME",
        requires = "tls_ca"
    )]
    tls_domain: Option<String>,
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

/// The address with its scheme, and the TLS settings when the scheme is https.
fn endpoint(args: &Args) -> std::result::Result<Endpoint, String> {
    let tls = args.tls_ca.is_some();
    let addr = match args.addr.split_once("://") {
        None if tls => format!("https://{}", args.addr),
        None => format!("http://{}", args.addr),
        Some(("http", _)) if tls => {
            return Err(format!(
                "--addr {} is plaintext but --tls-ca asks for TLS: use https://{}",
                args.addr,
                &args.addr["http://".len()..]
            ));
        }
        Some(("https", _)) if !tls => {
            return Err(format!(
                "--addr {} needs --tls-ca (the CA that issued the server's certificate)",
                args.addr
            ));
        }
        Some(("http" | "https", _)) => args.addr.clone(),
        Some((scheme, _)) => {
            return Err(format!(
                "--addr {}: unknown scheme {scheme:?} (use http:// or https://)",
                args.addr
            ));
        }
    };
    let endpoint =
        Endpoint::from_shared(addr.clone()).map_err(|e| format!("--addr {addr}: {}", chain(&e)))?;
    let Some(ca_path) = &args.tls_ca else {
        return Ok(endpoint);
    };
    let mut config =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read_certs(ca_path, "CA")?));
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        config = config.identity(read_identity(cert, key)?);
    }
    if let Some(domain) = &args.tls_domain {
        config = config.domain_name(domain.clone());
    }
    endpoint
        .tls_config(config)
        .map_err(|e| format!("TLS settings for {addr}: {}", chain(&e)))
}

/// The PEM text of a certificate file, checked to hold at least one certificate.
fn read_certs(path: &Path, what: &str) -> std::result::Result<Vec<u8>, String> {
    let bytes = tls::read_file(path, what)?;
    tls::parse_certs(path, what, &bytes)?;
    Ok(bytes)
}

/// The client identity, checked: a certificate, a key, and the key belongs to the certificate.
fn read_identity(cert: &Path, key: &Path) -> std::result::Result<Identity, String> {
    let cert_pem = tls::read_file(cert, "client certificate")?;
    let chain = tls::parse_certs(cert, "client certificate", &cert_pem)?;
    let key_pem = tls::read_file(key, "client key")?;
    let key_der = tls::parse_key(key, "client key", &key_pem)?;
    tls::check_pair(cert, "client certificate", &chain, key, &key_der)?;
    Ok(Identity::from_pem(cert_pem, key_pem))
}

/// An error with its causes: tonic's transport errors say only "transport error" at the top,
/// the reason (refused, unknown issuer, name mismatch, …) is in the sources.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

async fn call(args: Args) -> Result {
    let endpoint = match endpoint(&args) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let addr = endpoint.uri().to_string();
    let channel: Channel = match endpoint.connect().await {
        Ok(c) => c,
        Err(e) => {
            let reason = chain(&e);
            let hint = hint(&args, &reason);
            return fail(format!("cannot connect to {addr}: {reason}{hint}"));
        }
    };
    let mut client = RoutingServiceClient::new(channel);
    if args.rule_set {
        return match client.get_rule_set(pb::GetRuleSetRequest {}).await {
            Ok(r) => print_json(&r.into_inner()),
            Err(s) => status_error(&args, &s),
        };
    }
    let req = pb::RouteRequest {
        text: args.text.clone().unwrap_or_default(),
        channel: pb::Channel::Other as i32,
        ..Default::default()
    };
    match client.route(req).await {
        Ok(resp) if args.json => print_json(&resp.into_inner()),
        Ok(resp) => {
            out!("{}", crate::engine::render_text(&resp.into_inner()));
            Ok(Status::Ok)
        }
        Err(s) => status_error(&args, &s),
    }
}

/// A failed call: its code and message, and the transport's reason when there is one (a
/// server that refused the client's certificate closes the connection after the handshake,
/// so the refusal shows here rather than in `connect`).
fn status_error(args: &Args, s: &tonic::Status) -> Result {
    let mut msg = format!("{:?}: {}", s.code(), s.message());
    if let Some(source) = std::error::Error::source(s) {
        let reason = chain(source);
        // tonic's message is often the first line of the chain ("transport error").
        let reason = reason
            .strip_prefix(s.message())
            .map(|r| r.trim_start_matches(": "))
            .unwrap_or(&reason);
        if !reason.is_empty() && !msg.contains(reason) {
            msg.push_str(": ");
            msg.push_str(reason);
        }
        // Only transport failures get a hint; a status the server sent speaks for itself.
        msg.push_str(hint(args, &msg));
    }
    fail(msg)
}

/// What probably went wrong, for the failures whose transport error does not say it: nothing
/// listening, a TLS server called in plaintext (the client reads the TLS alert as a malformed
/// HTTP/2 frame), an mTLS server called without a certificate (it closes the connection once the
/// handshake is done).
fn hint(args: &Args, reason: &str) -> &'static str {
    let tls = args.tls_ca.is_some();
    let has = |markers: &[&str]| markers.iter().any(|m| reason.contains(m));
    // How a connection the server dropped shows, depending on timing.
    let dropped = [
        "connection closed",
        "broken pipe",
        "connection reset",
        "canceled",
    ];
    if reason.contains("tcp connect error") {
        "; is `hotline-router serve` running there?"
    } else if !tls && (has(&dropped) || has(&["h2 protocol error", "frame with invalid size"])) {
        "; if the server serves TLS, give --tls-ca (the CA of its certificate)"
    } else if tls && args.tls_cert.is_none() && (has(&dropped) || has(&["CertificateRequired"])) {
        "; if the server requires client certificates (mutual TLS), give --tls-cert and --tls-key"
    } else {
        ""
    }
}
