//! Load generator for the gRPC server (issue #5), used by `scripts/loadtest.sh`.
//!
//! Closed loop (`--rate 0`): C connections × S concurrent streams, each stream sending its next
//! call as soon as the previous one returns, for `--seconds`; prints throughput. Open loop
//! (`--rate R`): a pacer thread issues R send tickets per second, evenly spaced, which the C×S
//! streams take in turn; latency is measured from the actual send and tickets taken more than
//! 1 ms late are counted (`late_sends`), so a generator or server that falls behind shows it.
//! Modes: `health` (grpc.health.v1 Check: the transport ceiling) and `route` (Route with a mix of
//! realistic requests of 20–600 characters).
//!
//! Mode `wait` polls the health service until it answers SERVING and prints how long that took.
//!
//! Several servers at once (`ADDR,ADDR2`, used by `scripts/store_paired.sh`): each gets the same
//! C×S streams, and in open loop the same rate from a pacer of its own, so that two servers
//! sharing a core are measured under the same conditions at the same moments; one line per server,
//! prefixed with `target=ADDR`.
//!
//! `--texts FILE` (JSON lines with a `text` field, e.g. `tests/data/emergencies.jsonl`) sends
//! those texts in turn instead of the mix: a server's memory depends on how varied its requests
//! are (each pattern the requests reach keeps its search state), which six texts do not show.
//!
//! Usage: loadgen ADDR[,ADDR…] MODE [--connections 16] [--streams 32] [--seconds 10] [--rate 0]
//! [--texts FILE]
//! Output: one line `mode=… calls=… errors=… seconds=… rps=… p50_us=… p90_us=… p99_us=… max_us=…`
//! (per server, for several).

/// mimalloc rather than glibc malloc: the engine allocates many small, short-lived strings per
/// request, and glibc's free lists degrade once a large rule set has been built (28% of the time
/// in `_int_malloc` with 10,000 rules; see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hotline_router::proto::v1 as pb;
use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

/// The request mix (written for the load test; lengths about 20, 80, 200 and 600 characters,
/// weighted towards the typical 80).
const MIX: [&str; 6] = [
    "物业费没过户应该谁交啊？我想问一下",
    "你好，我在高新区买的房子还没过户，物业公司一直打电话催我交物业费，说不交就要起诉我，未过户的房产物业费到底应该由谁来交？",
    "公司已经三个月没发工资了，老板每次都说下个月一起给，现在人都联系不上了，我们二十多个员工该去哪里投诉？",
    "小区门口的垃圾站好几天没人清理了，垃圾都溢出来了，夏天臭气熏天，物业说是环卫的事，环卫说是物业的事，到底归谁管？",
    "领导您好，我是城东花园小区的业主。我们小区旁边的工地最近一个月每天晚上施工到凌晨两三点，打桩机和混凝土搅拌车的声音特别大，老人孩子根本睡不着觉。我们打过好几次电话给施工方，他们说有夜间施工许可，但是从来没有在工地门口公示过。请问夜间施工到底需要什么手续？这种噪音扰民的情况应该找哪个部门处理？希望尽快派人来看看，谢谢。",
    "尊敬的领导：您好！我是一名在本市务工的农民工。去年三月份经老乡介绍到开发区的一个建筑工地干木工，包工头口头约定每天工资三百元，年底统一结算。我们班组一共有二十三个人，从三月一直干到十二月底，中间只发过两次生活费。到了年底结算的时候，包工头说总包单位没有给他拨款，让我们先回家过年。今年过完年我们又去找他，他先是说项目部在走流程，后来干脆电话也不接了。我们去项目部问，项目部的人说工程款早就拨给劳务公司了，让我们去找劳务公司。劳务公司又说要等审计结束。就这样来回踢皮球，已经拖了五个多月。家里有老人要看病、孩子要上学，现在一分钱都拿不到。请问我们应该去哪里投诉？劳动保障监察部门能不能帮我们把工资要回来？",
];

#[derive(Clone)]
enum Client {
    Health(HealthClient<Channel>),
    Route(RoutingServiceClient<Channel>, Arc<Vec<String>>),
}

impl Client {
    async fn call(&mut self, n: u64) -> bool {
        match self {
            Client::Health(c) => c
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
                .is_ok(),
            Client::Route(c, texts) => {
                let text = texts
                    .get((n % texts.len().max(1) as u64) as usize)
                    .cloned()
                    .unwrap_or_default();
                let req = pb::RouteRequest {
                    text,
                    request_id: format!("load-{n}"),
                    ..Default::default()
                };
                c.route(req).await.is_ok()
            }
        }
    }
}

struct Args {
    addr: String,
    mode: String,
    connections: usize,
    streams: usize,
    seconds: f64,
    rate: f64,
    texts: Vec<String>,
}

fn parse() -> Result<Args, String> {
    let mut it = std::env::args().skip(1);
    let addr = it.next().ok_or(
        "usage: loadgen ADDR MODE [--connections N] [--streams N] [--seconds S] [--rate R] [--texts FILE]",
    )?;
    let mode = it.next().ok_or("missing MODE (health or route)")?;
    let mut a = Args {
        addr,
        mode,
        connections: 16,
        streams: 32,
        seconds: 10.0,
        rate: 0.0,
        texts: MIX.iter().map(|t| t.to_string()).collect(),
    };
    while let Some(flag) = it.next() {
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseFloatError| format!("{flag}: {e}");
        match flag.as_str() {
            "--connections" => a.connections = v.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--streams" => a.streams = v.parse().map_err(|e| format!("{flag}: {e}"))?,
            "--seconds" => a.seconds = v.parse().map_err(bad)?,
            "--rate" => a.rate = v.parse().map_err(bad)?,
            "--texts" => a.texts = read_texts(&v)?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if !["health", "route", "wait"].contains(&a.mode.as_str()) {
        return Err(format!("unknown mode {}", a.mode));
    }
    Ok(a)
}

/// The `text` of each line of a JSON-lines file.
fn read_texts(path: &str) -> Result<Vec<String>, String> {
    let body = std::fs::read_to_string(path).map_err(|e| format!("--texts {path}: {e}"))?;
    let mut texts = Vec::new();
    for (i, line) in body
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| format!("{path}:{}: {e}", i + 1))?;
        match v.get("text").and_then(|t| t.as_str()) {
            Some(t) => texts.push(t.to_owned()),
            None => return Err(format!("{path}:{}: no \"text\" field", i + 1)),
        }
    }
    if texts.is_empty() {
        return Err(format!("--texts {path}: no lines"));
    }
    Ok(texts)
}

fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if args.mode == "wait" {
        let t = Instant::now();
        let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
        while t.elapsed() < Duration::from_secs(30) {
            if let Ok(ch) = Channel::from_shared(args.addr.clone()).map(|e| e.connect_lazy()) {
                let mut h = HealthClient::new(ch);
                if let Ok(r) = h
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    && r.into_inner().status == serving
                {
                    println!("serving_after_ms={}", t.elapsed().as_millis());
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!("not SERVING after 30 s");
        std::process::exit(1);
    }
    let addrs: Vec<&str> = args.addr.split(',').collect();
    let texts = Arc::new(args.texts.clone());
    // Per server: its connections.
    let mut targets: Vec<Vec<Client>> = Vec::new();
    for addr in &addrs {
        let mut clients = Vec::new();
        for _ in 0..args.connections {
            let channel = match Channel::from_shared(addr.to_string()).map(|e| e.connect_lazy()) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("bad address {addr}: {e}");
                    std::process::exit(2);
                }
            };
            clients.push(match args.mode.as_str() {
                "health" => Client::Health(HealthClient::new(channel)),
                _ => Client::Route(
                    RoutingServiceClient::new(channel).max_decoding_message_size(64 << 20),
                    texts.clone(),
                ),
            });
        }
        // Warm the connections up so that connection set-up is not measured.
        for c in &mut clients {
            let _ = c.call(0).await;
        }
        targets.push(clients);
    }

    let errors: Vec<Arc<AtomicU64>> = addrs.iter().map(|_| Arc::default()).collect();
    let late: Vec<Arc<AtomicU64>> = addrs.iter().map(|_| Arc::default()).collect();
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    // (server, task) of every stream.
    let mut tasks = Vec::new();

    for (ti, clients) in targets.iter().enumerate() {
        if args.rate <= 0.0 {
            for (ci, client) in clients.iter().enumerate() {
                for _ in 0..args.streams {
                    let mut client = client.clone();
                    let errors = errors[ti].clone();
                    let counter = counter.clone();
                    tasks.push((
                        ti,
                        tokio::spawn(async move {
                            let mut lat = Vec::new();
                            while Instant::now() < deadline {
                                let n = counter.fetch_add(1, Ordering::Relaxed) + ci as u64;
                                let t = Instant::now();
                                if !client.call(n).await {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                }
                                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            }
                            lat
                        }),
                    ));
                }
            }
        } else {
            // Paced: one pacer thread per server issues send tickets at exactly `rate` per
            // second, spread evenly (sub-millisecond: std's sleep, not the runtime's 1 ms timer
            // wheel, which would release the sends due in one millisecond as a burst); the C×S
            // streams take tickets in turn. The offered load is fixed whatever the replies do.
            // Latency is measured from the actual send; a ticket taken more than 1 ms after its
            // time is counted as late (no free stream, or the generator fell behind) and reported.
            let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
            let rx = Arc::new(tokio::sync::Mutex::new(rx));
            let period = Duration::from_secs_f64(1.0 / args.rate);
            // Several servers' tickets are offset by a fraction of the period, so that their
            // sends alternate rather than coincide.
            let offset = period.mul_f64(ti as f64 / addrs.len() as f64);
            std::thread::spawn(move || {
                let mut next = started + offset;
                while next < deadline {
                    let now = Instant::now();
                    if next > now {
                        std::thread::sleep(next - now);
                    }
                    // Every ticket that is due, in order (a sleep may overshoot by tens of µs).
                    let now = Instant::now();
                    while next <= now && next < deadline {
                        if tx.send(next).is_err() {
                            return;
                        }
                        next += period;
                    }
                }
            });
            for client in clients {
                for _ in 0..args.streams {
                    let mut client = client.clone();
                    let errors = errors[ti].clone();
                    let late = late[ti].clone();
                    let counter = counter.clone();
                    let rx = rx.clone();
                    tasks.push((
                        ti,
                        tokio::spawn(async move {
                            let mut lat = Vec::new();
                            loop {
                                let ticket = rx.lock().await.recv().await;
                                let Some(due) = ticket else { break };
                                if due.elapsed() > Duration::from_millis(1) {
                                    late.fetch_add(1, Ordering::Relaxed);
                                }
                                let n = counter.fetch_add(1, Ordering::Relaxed);
                                let t = Instant::now();
                                if !client.call(n).await {
                                    errors.fetch_add(1, Ordering::Relaxed);
                                }
                                lat.push(t.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            }
                            lat
                        }),
                    ));
                }
            }
        }
    }

    let mut all: Vec<Vec<u32>> = addrs.iter().map(|_| Vec::new()).collect();
    for (ti, t) in tasks {
        if let Ok(mut l) = t.await {
            all[ti].append(&mut l);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    for (ti, lat) in all.iter_mut().enumerate() {
        lat.sort_unstable();
        let prefix = if addrs.len() > 1 {
            format!("target={} ", addrs[ti])
        } else {
            String::new()
        };
        println!(
            "{prefix}mode={} rate={} calls={} errors={} late_sends={} seconds={:.2} rps={:.0} p50_us={} p90_us={} p99_us={} max_us={}",
            args.mode,
            args.rate,
            lat.len(),
            errors[ti].load(Ordering::Relaxed),
            late[ti].load(Ordering::Relaxed),
            elapsed,
            lat.len() as f64 / elapsed,
            percentile(lat, 0.50),
            percentile(lat, 0.90),
            percentile(lat, 0.99),
            lat.last().copied().unwrap_or(0)
        );
    }
}
