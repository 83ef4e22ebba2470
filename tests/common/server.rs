//! The real server, started as a process for a test: `serve` on a free port with the bundled
//! rules and the given flags; reaped when dropped, on any panic too.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use hotline_router::proto::v1::routing_service_client::RoutingServiceClient;
use tonic::transport::Channel;

pub struct Server {
    pub child: Child,
    pub addr: String,
    /// The metrics address, when `--metrics-listen` was given.
    pub metrics: Option<String>,
    /// The console's address (`host:port`), when it listens.
    pub console: Option<String>,
}

impl Server {
    /// Starts `serve` with `flags`; reads its stdout up to the `listening on` line.
    pub fn start(flags: &[&str]) -> Server {
        Self::start_with_rules(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")),
            flags,
        )
    }

    /// [`Server::start`] on the rules in `rules`.
    pub fn start_with_rules(rules: &std::path::Path, flags: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
            .args(["serve", "--listen", "127.0.0.1:0", "--rules"])
            .arg(rules)
            .args(flags)
            .env("HOTLINE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("server starts");
        let stdout = child.stdout.take().expect("stdout");
        // Owned by `Server` from here on, so that its Drop reaps the process on any panic below.
        let mut server = Server {
            child,
            addr: String::new(),
            metrics: None,
            console: None,
        };
        let mut out = BufReader::new(stdout);
        loop {
            let mut line = String::new();
            assert!(
                out.read_line(&mut line).expect("reads stdout") > 0,
                "server exited before listening"
            );
            if let Some(m) = line.trim().strip_prefix("metrics listening on ") {
                server.metrics = Some(m.to_owned());
            } else if let Some(c) = line.trim().strip_prefix("console listening on ") {
                server.console = Some(c.to_owned());
            } else if let Some(addr) = line.trim().strip_prefix("listening on ") {
                server.addr = format!("http://{addr}");
                return server;
            }
        }
    }

    pub async fn client(&self) -> RoutingServiceClient<Channel> {
        RoutingServiceClient::connect(self.addr.clone())
            .await
            .expect("connects")
    }

    /// Sends the server a signal (`libc::SIGTERM`, `libc::SIGHUP`) with kill(2), at once: a test
    /// may race it against the server's start-up.
    pub fn signal(&self, sig: libc::c_int) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits in pid_t");
        // SAFETY: kill(2) takes integers only; the pid is our own child, not yet reaped (Drop
        // reaps it), so it cannot name another process.
        unsafe { libc::kill(pid, sig) };
    }

    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal(libc::SIGTERM);
        self.child.wait().expect("server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
