//! The gRPC server: `hotline.routing.v1.RoutingService`, `grpc.health.v1.Health`, and server
//! reflection (v1 and v1alpha), with limits, Prometheus metrics, TLS and a bounded drain.
//!
//! - `conn.rs`: accepting connections (plain or TLS), what a call knows of its connection, the
//!   idle timeout;
//! - `tls.rs`: TLS and mutual TLS with certificates reloaded on SIGHUP;
//! - `intake.rs`: every call before tonic decodes it (content-type, the request body received
//!   whole within a deadline and a global byte budget, malformed frames) and every refusal
//!   counted after;
//! - `limits.rs`: the connection and call limits, as flags;
//! - `state.rs`: the serving rule set behind an `ArcSwap`, replaced whole on reload;
//! - `loader.rs`: the thread that builds every rule set and frees every replaced one, so that
//!   a reload gives the old set's memory back;
//! - `service.rs`: the RoutingService methods (validation, limits, metrics, and every decision
//!   handed to a [`DecisionSink`]: the log line, the decision store);
//! - `codec.rs`: prost's codec, with undecodable requests reported as INVALID_ARGUMENT;
//! - `metrics.rs`: the Prometheus registry and its HTTP endpoint;
//! - `watch.rs`: hot reload when files under the rules directory change (also on SIGHUP);
//! - `memory.rs`: freed memory given back to the system when the workers go idle;
//! - `log.rs`: log lines written to stderr in batches by a thread of their own;
//!
//! Shutdown order on SIGTERM / SIGINT: health turns NOT_SERVING (load balancers stop sending),
//! the listener stops accepting after `--shutdown-grace-ms`, calls in flight finish, and at
//! `--shutdown-timeout` from the signal the connections still open (stalled uploads, idle
//! clients) are closed; the process exits 0.

pub mod codec;
pub mod conn;
mod decisions;
mod intake;
pub mod limits;
mod loader;
mod log;
mod memory;
#[doc(hidden)]
pub use memory::forgo_huge_pages;
pub mod metrics;
mod service;
mod state;
pub mod tls;
mod watch;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic_health::ServingStatus;

use crate::proto::v1::routing_service_server::RoutingServiceServer;
use crate::sink::DecisionSink;
pub use service::RoutingSvc;
pub use state::{LoadFailure, RuleState};

/// Largest gRPC request accepted. Larger requests are refused by the transport from the message's
/// length prefix (status OUT_OF_RANGE), before the body is read.
pub const MAX_MESSAGE_BYTES: usize = 4 << 20;
/// Largest response sent. Decisions quote their articles verbatim, so a full batch of 1,000
/// decisions can be several times larger than its request.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub rules: crate::cli::RulesArg,
    /// Address for gRPC: IP:PORT, or HOST:PORT resolved once at start.
    #[arg(long, env = "HOTLINE_LISTEN", default_value = "127.0.0.1:50051",
          value_name = "ADDR", value_parser = limits::listen_address)]
    pub listen: SocketAddr,
    /// Address for Prometheus metrics (GET /metrics). Off unless given.
    #[arg(long, env = "HOTLINE_METRICS_LISTEN", value_name = "ADDR",
          value_parser = limits::listen_address)]
    pub metrics_listen: Option<SocketAddr>,
    /// Address for the web console (试一试, 规则, 报表 and its JSON API), or "off" [default:
    /// 127.0.0.1:50080, skipped with a warning when that port is taken]. Read-only; keep it on
    /// localhost or behind an authenticating proxy: it shows citizens' words.
    #[arg(long, env = "HOTLINE_CONSOLE_LISTEN", value_name = "ADDR|off")]
    pub console_listen: Option<crate::console::ConsoleListen>,
    /// Most calls routed at once; calls beyond it fail fast with RESOURCE_EXHAUSTED.
    #[arg(long, env = "HOTLINE_MAX_CONCURRENCY", default_value_t = 1024,
          value_parser = limits::at_least_one)]
    pub max_concurrency: usize,
    /// Time between turning health NOT_SERVING and closing the listener on shutdown, in
    /// milliseconds, so that load balancers stop sending before connections are refused.
    #[arg(long, env = "HOTLINE_SHUTDOWN_GRACE_MS", default_value_t = 500)]
    pub shutdown_grace_ms: u64,
    /// Longest a shutdown may take, in seconds: after SIGTERM, calls in flight finish, and the
    /// connections still open at this deadline are closed (Kubernetes' default grace is 30 s).
    #[arg(long, env = "HOTLINE_SHUTDOWN_TIMEOUT", default_value_t = 15)]
    pub shutdown_timeout: u64,
    #[command(flatten)]
    pub limits: limits::Limits,
    /// Serve TLS with this certificate chain (PEM); reloaded on SIGHUP. Plaintext without it.
    #[arg(
        long,
        env = "HOTLINE_TLS_CERT",
        value_name = "PEM",
        requires = "tls_key"
    )]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(
        long,
        env = "HOTLINE_TLS_KEY",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_key: Option<std::path::PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS. The client's
    /// certificate subject is logged and recorded with its decisions.
    #[arg(
        long,
        env = "HOTLINE_TLS_CLIENT_CA",
        value_name = "PEM",
        requires = "tls_cert"
    )]
    pub tls_client_ca: Option<std::path::PathBuf>,
    /// Reload the rules when files under the rules directory change ("false" to turn off;
    /// SIGHUP always reloads).
    #[arg(long, env = "HOTLINE_WATCH", default_value_t = true, action = clap::ArgAction::Set)]
    pub watch: bool,
    #[command(flatten)]
    pub store: crate::store::StoreArgs,
    /// Log format: "plain" or "json". The level comes from HOTLINE_LOG (e.g. "info", "debug").
    #[arg(long, env = "HOTLINE_LOG_FORMAT", default_value = "plain")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Plain,
    Json,
}

/// `hotline-router serve`: loads the rules, binds, serves until SIGTERM / SIGINT.
pub fn run_blocking(args: ServeArgs) -> crate::cli::Result {
    use crate::cli::{Failure, Status, fail};
    memory::forgo_huge_pages();
    // Held to the end of `serve`: dropping it flushes the log lines still queued.
    let _log_guard = match init_tracing(args.log_format) {
        Ok(guard) => guard,
        Err(e) => return fail(e),
    };
    if let Some(warning) = limits::make_room_for(args.limits.max_connections) {
        tracing::warn!("{warning}");
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_park(memory::on_park)
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => match tls::Tls::load(tls::TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: args.tls_client_ca.clone(),
        }) {
            Ok(t) => Some(t),
            Err(e) => return fail(format!("cannot serve TLS: {e}")),
        },
        _ => None,
    };
    // Opened before the runtime runs: the PostgreSQL client blocks, and runs its own runtime.
    let store = match args
        .store
        .open_for_serve(crate::store::StoreConfig::default_for_serve())
    {
        Ok(s) => s,
        Err(e) => return fail(format!("cannot open the decision store: {e}")),
    };
    let served = runtime.block_on(async move {
        let rules_dir = args.rules.dir();
        // The watch starts before the load, so that an edit saved during the load is seen.
        // No watch on a directory that is not there: the load below stops the start with the
        // reason, and a warning to "reload with SIGHUP" first would send the operator astray.
        let watch = if args.watch && rules_dir.is_dir() {
            match watch::Watch::start(rules_dir.clone()) {
                Ok(w) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the rules directory; reload with SIGHUP");
                    None
                }
            }
        } else {
            None
        };
        let state = match RuleState::load(&rules_dir).await {
            Ok(s) => Arc::new(s),
            Err(e) => return Err(Failure::Load(e)),
        };
        let listener = match TcpListener::bind(args.listen).await {
            Ok(l) => l,
            Err(e) => return fail(format!("cannot listen on {}: {e}", args.listen)),
        };
        if let Some(s) = &store {
            tracing::info!(backlog_bytes = s.spool_bytes(), "recording decisions");
        }
        let metrics = Arc::new(metrics::Metrics::new(store.as_deref()));
        if let Some(addr) = args.metrics_listen {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
                    // Printed before the gRPC line, for scripts and tests using port 0.
                    println!("metrics listening on {addr}");
                    tracing::info!(addr = %addr, "metrics listening");
                    tokio::spawn(metrics::serve(l, metrics.clone()));
                }
                Err(e) => return fail(format!("cannot listen for metrics on {addr}: {e}")),
            }
        }
        let console_listen = args.console_listen.unwrap_or(crate::console::DEFAULT_LISTEN);
        if let crate::console::ConsoleListen::At(addr) = console_listen {
            match TcpListener::bind(addr).await {
                Ok(l) => {
                    let addr = l.local_addr().unwrap_or(addr);
                    // Printed before the gRPC line, for scripts and tests using port 0.
                    println!("console listening on {addr}");
                    tracing::info!(addr = %addr, "console listening");
                    // `--rules` is left out of the report command only when it is the
                    // bundled directory, which `report` finds from anywhere by itself.
                    let bundled = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules"));
                    let report_flags = crate::console::report_flags(
                        &args
                            .store
                            .store
                            .clone()
                            .unwrap_or_else(crate::store::StoreConfig::default_for_serve),
                        (rules_dir != bundled).then_some(rules_dir.as_path()),
                    );
                    let console = crate::console::Console::new(
                        state.clone(),
                        store.clone(),
                        addr,
                        args.limits.body_timeout(),
                        report_flags,
                    );
                    tokio::spawn(crate::console::serve(
                        l,
                        Arc::new(console),
                        tls.clone(),
                        Duration::from_secs(args.limits.handshake_timeout),
                    ));
                }
                // The default address may be taken (a second server on one machine): the
                // console is for people, so gRPC serves without it. An address given is a
                // promise, so failing to keep it stops the start.
                Err(e) if args.console_listen.is_none() => {
                    tracing::warn!(addr = %addr, error = %e, "console not started: its default address is taken; give --console-listen");
                }
                Err(e) => {
                    return fail(format!(
                        "cannot listen for the console on {addr}: {e} (give another --console-listen, or off)"
                    ));
                }
            }
        }
        // Kept alive until the server stops: dropping the watcher ends the watch.
        let _watcher = watch.map(|w| w.reload_on_change(state.clone(), metrics.clone()));
        // The signal handlers are installed now, before the port is announced: a SIGTERM that
        // arrives at any moment after that line drains the server rather than killing it. (Made
        // lazily, they were installed only when the server first polled its shutdown future,
        // which on a loaded machine could come after a supervisor had already sent SIGTERM.)
        let shutdown = shutdown_signal();
        // SIGHUP's default action ends the process, so its handler too is installed before the
        // port is announced: a reload requested right after that line reloads.
        spawn_reload_on_sighup(state.clone(), metrics.clone(), tls.clone());
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
        // Scripts and tests read this line to learn the port when --listen uses port 0.
        println!("listening on {local}");
        {
            // A snapshot for this line only: held for the life of the server, it kept the first
            // rule set (about 56 MB) alive after every reload.
            let set = state.current();
            tracing::info!(
                addr = %local,
                rules = %rules_dir.display(),
                version = set.version(),
                rule_count = set.rules().len(),
                "serving {}",
                set.rule_count_summary()
            );
        }
        let grace = Duration::from_millis(args.shutdown_grace_ms);
        let serving = Serving {
            sink: Arc::new(crate::sink::LogSink),
            store: store.clone(),
            max_concurrency: args.max_concurrency,
            grace,
            shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
            limits: args.limits.clone(),
            tls,
        };
        let served = serve(listener, state, metrics, serving, shutdown);
        match served.await {
            Ok(()) => {
                // Whatever is still in the spool goes to the database before the process ends.
                if let Some(s) = &store
                    && let Err(e) = s.close()
                {
                    tracing::warn!(error = %e, "the decision store kept its spool for the next start");
                }
                tracing::info!("shut down cleanly");
                Ok(Status::Ok)
            }
            Err(e) => fail(e.to_string()),
        }
    });
    // Connections still open after the drain deadline are closed here: their tasks are
    // cancelled, not waited for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served
}

/// How a server serves, besides its rules and metrics.
pub struct Serving {
    /// Where decisions go besides the metrics (and the store): the log line in production.
    pub sink: Arc<dyn DecisionSink>,
    /// The decision store, for recording decisions and for RecordOutcome and GetDecision.
    pub store: Option<Arc<crate::store::Store>>,
    /// Most calls handled at once.
    pub max_concurrency: usize,
    /// Time between turning health NOT_SERVING and closing the listener on shutdown.
    pub grace: Duration,
    /// Longest a shutdown may take from the signal; connections still open then are closed.
    pub shutdown_timeout: Duration,
    /// Connection and call limits.
    pub limits: limits::Limits,
    /// TLS, when serving it.
    pub tls: Option<Arc<tls::Tls>>,
}

/// Serves on `listener` until `shutdown` resolves, then drains (see the module docs).
pub async fn serve(
    listener: TcpListener,
    state: Arc<RuleState>,
    metrics: Arc<metrics::Metrics>,
    serving: Serving,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    let Serving {
        sink,
        store,
        max_concurrency,
        grace,
        shutdown_timeout,
        limits,
        tls,
    } = serving;
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<RoutingServiceServer<RoutingSvc>>()
        .await;
    health.set_service_status("", ServingStatus::Serving).await;
    metrics.set_rules(&state.current());
    metrics.rules_last_load_ok.set(1);

    tokio::spawn(memory::tick());

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1();
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha();

    // Every decision is counted in the metrics, then handed to the caller's sink.
    let mut sinks: Vec<Arc<dyn DecisionSink>> = vec![metrics.clone(), sink];
    if let Some(store) = &store {
        sinks.push(store.clone());
    }
    let sinks = Arc::new(crate::sink::Sinks(sinks));
    let svc = RoutingSvc::new(state, metrics.clone(), sinks, store, max_concurrency);
    let routing = RoutingServiceServer::new(svc)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_RESPONSE_BYTES);

    // The drain deadline runs from the signal, not from the end of the grace period.
    let (draining, drain_started) = tokio::sync::oneshot::channel::<()>();
    let drain = async move {
        shutdown.await;
        let _ = draining.send(());
        tracing::info!("shutdown requested: health NOT_SERVING, draining");
        health
            .set_not_serving::<RoutingServiceServer<RoutingSvc>>()
            .await;
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        tokio::time::sleep(grace).await;
    };

    let intake = intake::IntakeLayer::new(
        metrics.clone(),
        limits.body_timeout(),
        MAX_MESSAGE_BYTES,
        limits.max_receiving_bytes,
    );
    let mut builder = limits
        .apply(tonic::transport::Server::builder())
        .layer(intake);
    let mut router = builder.add_service(health_service).add_service(routing);
    match (reflection_v1, reflection_v1alpha) {
        (Ok(v1), Ok(v1alpha)) => router = router.add_service(v1).add_service(v1alpha),
        (a, b) => {
            if let Err(e) = a.and(b.map(|_| ())) {
                tracing::error!(error = %e, "reflection disabled: descriptor set did not load");
            }
        }
    }
    let open = Arc::new(conn::OpenConnections::default());
    let incoming = conn::incoming(
        listener,
        conn::Accept {
            tls,
            idle: limits.idle(),
            first_call: limits.first_call(),
            max_connections: limits.max_connections.max(1),
            handshake_timeout: Duration::from_secs(limits.handshake_timeout),
            open: open.clone(),
        },
    );
    let served = router.serve_with_incoming_shutdown(incoming, drain);
    // tonic waits for every connection to close, which a stalled or idle client can put off
    // forever; the deadline bounds the drain (Kubernetes SIGKILLs after its grace period).
    let deadline = async move {
        if drain_started.await.is_err() {
            std::future::pending::<()>().await;
        }
        tokio::time::sleep(shutdown_timeout).await;
    };
    tokio::select! {
        r = served => r,
        () = deadline => {
            tracing::warn!(
                connections = open.get(),
                timeout_s = shutdown_timeout.as_secs_f64(),
                "drain deadline reached: closing the connections still open"
            );
            Ok(())
        }
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are registered when this is called, not when the
/// returned future is first polled.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        async move {
            match (term, int) {
                (Ok(mut term), Ok(mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async move {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Reloads the rules, and the TLS certificates when serving TLS, on SIGHUP; a failed reload
/// keeps what is serving (see `state.rs` and `tls.rs`). The handler is installed before this
/// returns, not when the spawned task first runs: until it is, a SIGHUP ends the process.
fn spawn_reload_on_sighup(
    state: Arc<RuleState>,
    metrics: Arc<metrics::Metrics>,
    tls: Option<Arc<tls::Tls>>,
) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hup = match signal(SignalKind::hangup()) {
            Ok(hup) => hup,
            Err(e) => {
                tracing::warn!(error = %e, "cannot handle SIGHUP; rules reload only on file changes");
                return;
            }
        };
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                // Said even when nothing changes, so that an operator sees the signal arrived.
                tracing::info!(
                    serving = %state.current().version(),
                    "SIGHUP: reloading the rules{}",
                    if tls.is_some() { " and TLS certificates" } else { "" }
                );
                if let Some(tls) = &tls {
                    match tls.reload() {
                        Ok(()) => tracing::info!("TLS certificates reloaded"),
                        Err(e) => {
                            tracing::error!(error = %e, "TLS certificates not reloaded; the old ones keep serving")
                        }
                    }
                }
                state.reload_and_record(&metrics).await;
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (state, metrics, tls);
}

/// Logs go through the `hotline-log` thread, which writes them to stderr in batches (`log.rs`):
/// one `write` per 50 ms instead of one per call (the per-call line cost ~8% of Route
/// throughput when each was its own syscall on the serving thread).
fn init_tracing(format: LogFormat) -> Result<log::LogGuard, String> {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("HOTLINE_LOG") {
        Ok(spec) if !spec.trim().is_empty() => EnvFilter::new(log_filter(&spec)?),
        _ => EnvFilter::new("info"),
    };
    // Colour codes only for a person at a terminal: in production they cost formatting time on
    // every call's log line and garble log collectors.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let (writer, guard) = log::start(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Plain => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    Ok(guard)
}

/// `HOTLINE_LOG` checked: a level (`error`, `warn`, `info`, `debug`, `trace`, `off`) or
/// `target=level` directives, separated by commas. Anything else is refused: the filter library
/// reads a lone word such as `warning` as the name of a module to log, and every other line,
/// errors included, would be silently dropped.
fn log_filter(spec: &str) -> Result<String, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        let level = directive.rsplit_once('=').map_or(directive, |(_, l)| l);
        if !LEVELS.contains(&level.to_ascii_lowercase().as_str()) {
            let hint = match level.to_ascii_lowercase().as_str() {
                "warning" => "; did you mean \"warn\"?".to_owned(),
                "err" => "; did you mean \"error\"?".to_owned(),
                _ => String::new(),
            };
            return Err(format!(
                "HOTLINE_LOG={spec:?}: {level:?} is not a level; use one of {}, or target=level \
                 directives separated by commas{hint}",
                LEVELS.join(", ")
            ));
        }
    }
    Ok(spec.to_owned())
}

#[cfg(test)]
mod log_filter_tests {
    use super::log_filter;

    #[test]
    fn a_log_level_that_is_not_one_is_refused_with_the_one_meant() {
        for ok in [
            "info",
            "WARN",
            "debug",
            "hotline_router=debug,h2=warn",
            "off",
            " trace ",
        ] {
            assert!(log_filter(ok).is_ok(), "{ok}");
        }
        let e = log_filter("warning").unwrap_err();
        assert!(e.contains("did you mean \"warn\""), "{e}");
        for bad in ["bogus", "hotline_router=loud", "info,verbose"] {
            assert!(log_filter(bad).is_err(), "{bad}");
        }
    }
}
