//! Stalled uploads against a running server, for `scripts/stall_load.sh`: N connections, each
//! with one Route call whose message prefix announces 4 MiB, of which 1 KiB is sent; then
//! nothing, for `--hold` seconds, after which every connection is dropped.
//!
//! Usage: stall ADDR [--connections 2000] [--hold 20]
//! Output: `opened=N answered=A codes=…` (calls the server ended before the hold, by status).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 1)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(addr) = args.get(1).cloned() else {
        eprintln!("usage: stall ADDR [--connections N] [--hold SECONDS]");
        std::process::exit(2);
    };
    let host = addr.trim_start_matches("http://").to_owned();
    let n = arg(&args, "--connections", 2000);
    let hold = Duration::from_secs(arg(&args, "--hold", 20));
    let mut held = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..n {
        let Ok(tcp) = tokio::net::TcpStream::connect(&host).await else {
            eprintln!("connect failed after {} connections", held.len());
            break;
        };
        let Ok((client, conn)) = h2::client::handshake(tcp).await else {
            eprintln!("handshake failed");
            break;
        };
        tokio::spawn(conn);
        let Ok(mut client) = client.ready().await else {
            break;
        };
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("{addr}/hotline.routing.v1.RoutingService/Route"))
            .header("content-type", "application/grpc")
            .header("te", "trailers")
            .body(())
            .expect("a valid request");
        let Ok((response, mut send)) = client.send_request(request, false) else {
            break;
        };
        let mut data = vec![0u8];
        data.extend_from_slice(&(4u32 << 20).to_be_bytes());
        data.extend(std::iter::repeat_n(b'x', 1024));
        let _ = send.send_data(Bytes::from(data), false);
        answers.push(tokio::spawn(async move {
            match response.await {
                Ok(r) => r
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("?")
                    .to_owned(),
                Err(e) => format!(
                    "reset:{}",
                    e.reason().map(|r| r.to_string()).unwrap_or_default()
                ),
            }
        }));
        held.push((client, send));
    }
    println!("opened={}", held.len());
    tokio::time::sleep(hold).await;
    let mut codes = BTreeMap::<String, usize>::new();
    let mut answered = 0;
    for a in answers {
        if a.is_finished() {
            answered += 1;
            *codes.entry(a.await.unwrap_or_default()).or_default() += 1;
        }
    }
    drop(held);
    println!("opened={n} answered={answered} codes={codes:?}");
}
