//! TLS and mutual TLS end to end: the real `serve` with `--tls-cert` / `--tls-key`
//! (`--tls-client-ca`), called by the real `client` with `--tls-ca` (`--tls-cert` / `--tls-key`),
//! and a certificate replaced under a running server and reloaded on SIGHUP. The certificates
//! are issued at test time with rcgen.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

mod common;

use common::pki::{Ca, Pki, client_config};
use common::server::Server;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

const WAGES: &str = "公司三个月没发工资了";

/// Starts `serve` with TLS (and mTLS when `mtls`), recording no decisions.
fn start(pki: &Pki, mtls: bool) -> Server {
    let (cert, key, ca) = (
        pki.arg("server.pem"),
        pki.arg("server.key"),
        pki.arg("ca.pem"),
    );
    let mut flags = vec!["--store", "none", "--tls-cert", &cert, "--tls-key", &key];
    if mtls {
        flags.extend(["--tls-client-ca", &ca]);
    }
    Server::start(&flags)
}

/// The port the server listens on.
fn port(server: &Server) -> u16 {
    server.addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// `hotline-router client --json …ARGS WAGES`.
fn client(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .arg("client")
        .arg("--json")
        .args(args)
        .arg(WAGES)
        .env_remove("HOTLINE_ADDR")
        .env_remove("HOTLINE_TLS_CA")
        .env_remove("HOTLINE_CLIENT_TLS_CERT")
        .env_remove("HOTLINE_CLIENT_TLS_KEY")
        .env_remove("HOTLINE_TLS_DOMAIN")
        .output()
        .unwrap()
}

/// Asserts the call routed the wage arrears to the human-resources and social-security bureau.
fn assert_routed(out: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(decision["department"]["id"], "hrss", "{decision}");
    decision
}

/// Asserts the call failed (status 2) with an error message.
fn assert_refused(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

#[test]
fn a_tls_server_routes_for_a_client_that_trusts_its_ca_and_refuses_plaintext() {
    let pki = Pki::new();
    let server = start(&pki, false);
    let port = port(&server);
    let https = format!("https://localhost:{port}");
    assert_routed(&client(&["--tls-ca", &pki.arg("ca.pem"), "--addr", &https]));
    // An address without a scheme is https with --tls-ca; --tls-domain names the certificate.
    let bare = format!("127.0.0.1:{port}");
    assert_routed(&client(&[
        "--tls-ca",
        &pki.arg("ca.pem"),
        "--tls-domain",
        "localhost",
        "--addr",
        &bare,
    ]));
    // Plaintext against the TLS port: refused.
    assert_refused(&client(&["--addr", &format!("http://127.0.0.1:{port}")]));
    // A CA that did not issue the server's certificate: refused.
    let other = Ca::new("Not the server's CA");
    std::fs::write(pki.path("other-ca.pem"), &other.pem).unwrap();
    let e = assert_refused(&client(&[
        "--tls-ca",
        &pki.arg("other-ca.pem"),
        "--addr",
        &https,
    ]));
    assert!(e.contains("certificate"), "{e}");
}

#[test]
fn client_tls_errors_name_the_file_and_the_problem() {
    let pki = Pki::new();
    let addr = "https://localhost:1";
    let e = assert_refused(&client(&[
        "--tls-ca",
        &pki.arg("missing.pem"),
        "--addr",
        addr,
    ]));
    assert!(
        e.contains("missing.pem") && e.contains("cannot read"),
        "{e}"
    );
    let e = assert_refused(&client(&[
        "--tls-ca",
        &pki.arg("client.key"),
        "--addr",
        addr,
    ]));
    assert!(
        e.contains("client.key") && e.contains("no certificate"),
        "{e}"
    );
    let e = assert_refused(&client(&[
        "--tls-ca",
        &pki.arg("ca.pem"),
        "--tls-cert",
        &pki.arg("client.pem"),
        "--tls-key",
        &pki.arg("stranger.key"),
        "--addr",
        addr,
    ]));
    assert!(
        e.contains("stranger.key") && e.contains("does not belong") && e.contains("client.pem"),
        "{e}"
    );
    let e = assert_refused(&client(&[
        "--tls-ca",
        &pki.arg("ca.pem"),
        "--addr",
        "http://localhost:1",
    ]));
    assert!(e.contains("https://"), "{e}");
}

#[test]
fn an_mtls_server_refuses_clients_without_a_certificate_of_its_ca() {
    let pki = Pki::new();
    let data = tempfile::tempdir().unwrap();
    let store = data.path().join("decisions.sqlite");
    let store_arg = format!("sqlite:{}", store.display());
    let (cert, key, ca) = (
        pki.arg("server.pem"),
        pki.arg("server.key"),
        pki.arg("ca.pem"),
    );
    let mut server = Server::start(&[
        "--store",
        &store_arg,
        "--metrics-listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-client-ca",
        &ca,
    ]);
    let https = format!("https://localhost:{}", port(&server));
    let ca = pki.arg("ca.pem");
    // No client certificate.
    assert_refused(&client(&["--tls-ca", &ca, "--addr", &https]));
    // A certificate of another CA.
    assert_refused(&client(&[
        "--tls-ca",
        &ca,
        "--tls-cert",
        &pki.arg("stranger.pem"),
        "--tls-key",
        &pki.arg("stranger.key"),
        "--addr",
        &https,
    ]));
    // A certificate of the client CA.
    let decision = assert_routed(&client(&[
        "--tls-ca",
        &ca,
        "--tls-cert",
        &pki.arg("client.pem"),
        "--tls-key",
        &pki.arg("client.key"),
        "--addr",
        &https,
    ]));
    // The caller's identity is counted in the metrics and kept with its decision.
    let metrics = common::scrape(server.metrics.as_deref().unwrap());
    assert!(
        metrics.contains("hotline_client_decisions_total{client=\"CN=intake-1")
            && metrics.contains("} 1"),
        "{metrics}"
    );
    assert!(server.terminate().success());
    let explained = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["explain", "--store", &store_arg, "--rules"])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"))
        .arg(decision["decisionId"].as_str().unwrap())
        .output()
        .unwrap();
    let explained = String::from_utf8_lossy(&explained.stdout);
    assert!(
        explained.contains("caller CN=intake-1"),
        "the decision record names its caller: {explained}"
    );
}

/// The serial number of the certificate a new TLS connection to `port` is served.
async fn served_serial(ca_pem: &str, port: u16) -> std::io::Result<Vec<u8>> {
    let config = client_config(ca_pem, None, &[b"h2"]);
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let stream = TlsConnector::from(config).connect(name, tcp).await?;
    let (_, conn) = stream.get_ref();
    assert_eq!(conn.alpn_protocol(), Some(&b"h2"[..]));
    let leaf = conn.peer_certificates().expect("a certificate")[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    Ok(cert.raw_serial().to_vec())
}

#[tokio::test]
async fn sighup_reloads_the_certificate_for_new_connections() {
    let pki = Pki::new();
    let server = start(&pki, false);
    let port = port(&server);
    assert_eq!(served_serial(&pki.ca.pem, port).await.unwrap(), vec![1]);

    pki.server(2);
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let serial = served_serial(&pki.ca.pem, port).await.unwrap();
        if serial == vec![2] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still serving serial {serial:?} after SIGHUP"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken key on the next reload: the server keeps serving serial 2, and still routes.
    pki.server(3);
    pki.write("server.key", "not a key\n");
    server.signal(libc::SIGHUP);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(served_serial(&pki.ca.pem, port).await.unwrap(), vec![2]);
    let https = format!("https://localhost:{port}");
    let ca = pki.arg("ca.pem");
    let out = tokio::task::spawn_blocking(move || client(&["--tls-ca", &ca, "--addr", &https]))
        .await
        .unwrap();
    assert_routed(&out);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_serves_https_with_the_servers_certificate() {
    let pki = Pki::new();
    let (cert, key) = (pki.arg("server.pem"), pki.arg("server.key"));
    let server = Server::start(&[
        "--store",
        "none",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--console-listen",
        "127.0.0.1:0",
    ]);
    let console = server.console.clone().expect("the console listens");
    // Browsers offer both; the server's TLS speaks HTTP/2.
    let config = client_config(&pki.ca.pem, None, &[b"h2", b"http/1.1"]);
    let tcp = tokio::net::TcpStream::connect(&console).await.unwrap();
    let stream = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the console's TLS handshake with the server's certificate");
    let (mut h2, conn) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(conn);
    let request = http::Request::get("https://localhost/api/ruleset")
        .body(())
        .unwrap();
    let (response, _) = h2.send_request(request, true).unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let info: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(info["version"].as_str().is_some_and(|v| !v.is_empty()));
    // Plain HTTP to the TLS console gets no page.
    let plain = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut c = std::net::TcpStream::connect(&console).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let _ = c.write_all(
            b"GET /api/ruleset HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
        );
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
        out
    })
    .await
    .unwrap();
    assert!(!String::from_utf8_lossy(&plain).contains("version"));
}
