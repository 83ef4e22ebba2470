//! What one connection and one call may cost the server, as flags and environment variables.
//!
//! Every limit bounds memory or time a client could otherwise hold without sending a request:
//! HTTP/2 streams per connection, flow-control windows (how much a client may send before the
//! server reads), the size of header lists, the time to receive a request body, the bytes being
//! received by all calls together, and how long a connection may sit with no call. The defaults
//! keep the documented worst case (2,000 stalled uploads, BENCHMARKS.md) within a few hundred
//! megabytes while leaving a normal 80-character request untouched by any of them.

use std::time::Duration;

/// Connection and call limits (`serve`). Documented in the README's settings table.
#[derive(Debug, Clone, clap::Args)]
pub struct Limits {
    /// Most HTTP/2 streams (calls) open at once on one connection.
    #[arg(long, env = "HOTLINE_MAX_STREAMS", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_streams: u32,
    /// HTTP/2 flow-control window of one stream, in bytes: what a client may send on a call
    /// before the server has read it.
    #[arg(long, env = "HOTLINE_STREAM_WINDOW", default_value_t = 256 * 1024)]
    pub stream_window: u32,
    /// HTTP/2 flow-control window of one connection, in bytes.
    #[arg(long, env = "HOTLINE_CONNECTION_WINDOW", default_value_t = 1024 * 1024)]
    pub connection_window: u32,
    /// Largest header list of a call, in bytes.
    #[arg(long, env = "HOTLINE_MAX_HEADER_BYTES", default_value_t = 16 * 1024,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_header_bytes: u32,
    /// Time to receive a request's body after its headers, in milliseconds; a call that takes
    /// longer is answered DEADLINE_EXCEEDED and its memory freed.
    #[arg(long, env = "HOTLINE_BODY_TIMEOUT_MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub body_timeout_ms: u64,
    /// Bytes being received by all calls together; a call that would go beyond is answered
    /// RESOURCE_EXHAUSTED.
    #[arg(long, env = "HOTLINE_MAX_RECEIVING_BYTES", default_value_t = 128 << 20,
          value_parser = at_least_one)]
    pub max_receiving_bytes: usize,
    /// Seconds between HTTP/2 keepalive PINGs to a client (0: none); a client that does not
    /// answer within --keepalive-timeout is disconnected.
    #[arg(long, env = "HOTLINE_KEEPALIVE_INTERVAL", default_value_t = 30)]
    pub keepalive_interval: u64,
    /// Seconds to wait for a keepalive PING's answer.
    #[arg(long, env = "HOTLINE_KEEPALIVE_TIMEOUT", default_value_t = 10)]
    pub keepalive_timeout: u64,
    /// Seconds a connection may stay open with no call in flight (0: forever).
    #[arg(long, env = "HOTLINE_IDLE_TIMEOUT", default_value_t = 300)]
    pub idle_timeout: u64,
    /// Seconds a TLS handshake may take.
    #[arg(long, env = "HOTLINE_HANDSHAKE_TIMEOUT", default_value_t = 10)]
    pub handshake_timeout: u64,
    /// Seconds a new connection may stay open before its first call (0: only --idle-timeout).
    #[arg(long, env = "HOTLINE_FIRST_CALL_TIMEOUT", default_value_t = 30)]
    pub first_call_timeout: u64,
    /// Connections served at once; one more is closed as soon as it is accepted.
    #[arg(long, env = "HOTLINE_MAX_CONNECTIONS", default_value_t = 4_096,
          value_parser = at_least_one)]
    pub max_connections: usize,
}

/// A count or size of which 0 would refuse every call (or, read as "no limit", remove a bound
/// the operator meant to set): refused at start instead, as the flag's error.
pub(crate) fn at_least_one(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(0) => Err("0 would refuse every call; give 1 or more".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

/// A listening address: `IP:PORT` (`[::1]:50051` for IPv6), or `HOST:PORT` resolved once at
/// start (`localhost:50051`, a pod's host name). A host name with several addresses takes the
/// first the system's resolver gives, as `getaddrinfo`'s order (`/etc/gai.conf`) prefers; give
/// an IP to choose another.
pub(crate) fn listen_address(s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::ToSocketAddrs;
    let s = s.trim();
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!(
            "\"{s}\" has no port: give HOST:PORT or IP:PORT, e.g. 127.0.0.1:50051"
        ));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!(
            "\"{s}\" is not HOST:PORT or IP:PORT (e.g. 127.0.0.1:50051, localhost:50051)"
        ));
    }
    match s.to_socket_addrs() {
        Ok(mut addrs) => addrs
            .next()
            .ok_or_else(|| format!("host name \"{host}\" has no address")),
        Err(e) => Err(format!("cannot resolve host name \"{host}\": {e}")),
    }
}

/// Descriptors the server needs besides its connections: listeners, the store's files and
/// spool, the rules watch, the log, the runtime's own.
const DESCRIPTOR_RESERVE: u64 = 256;

/// Makes room for `max_connections` under the process's file-descriptor limit: raises the soft
/// limit toward the hard one when it is lower than needed (as most servers do at start), and
/// says when even the hard limit is too low. Without the room, silent sockets could take every
/// descriptor, and the health checks and metrics (new connections too) would fail with them.
/// Returns the warning to log, if any.
pub(crate) fn make_room_for(max_connections: usize) -> Option<String> {
    #[cfg(unix)]
    {
        let needed = (max_connections as u64).saturating_add(DESCRIPTOR_RESERVE);
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit and setrlimit read and write the one `rlimit` struct passed, which
        // lives on this stack frame for the call; they touch no other memory of the process.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur >= needed {
                return None;
            }
            let raised = libc::rlimit {
                rlim_cur: needed.min(lim.rlim_max),
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim = raised;
            }
        }
        let soft = lim.rlim_cur;
        (soft < needed).then(|| {
            format!(
                "--max-connections {max_connections} does not fit the file-descriptor limit of \
                 {soft} (with {DESCRIPTOR_RESERVE} kept for the server itself): idle sockets could \
                 take every descriptor, health checks and metrics included; lower \
                 --max-connections to {} or raise the limit (ulimit -n, LimitNOFILE)",
                soft.saturating_sub(DESCRIPTOR_RESERVE).max(1)
            )
        })
    }
    #[cfg(not(unix))]
    {
        let _ = max_connections;
        None
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_streams: 100,
            stream_window: 256 * 1024,
            connection_window: 1024 * 1024,
            max_header_bytes: 16 * 1024,
            body_timeout_ms: 10_000,
            max_receiving_bytes: 128 << 20,
            keepalive_interval: 30,
            keepalive_timeout: 10,
            idle_timeout: 300,
            handshake_timeout: 10,
            first_call_timeout: 30,
            max_connections: 4_096,
        }
    }
}

impl Limits {
    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }

    pub fn idle(&self) -> Option<Duration> {
        (self.idle_timeout > 0).then(|| Duration::from_secs(self.idle_timeout))
    }

    pub fn first_call(&self) -> Option<Duration> {
        (self.first_call_timeout > 0).then(|| Duration::from_secs(self.first_call_timeout))
    }

    pub fn keepalive(&self) -> Option<Duration> {
        (self.keepalive_interval > 0).then(|| Duration::from_secs(self.keepalive_interval))
    }

    /// The HTTP/2 settings on tonic's server builder.
    pub(super) fn apply(&self, b: tonic::transport::Server) -> tonic::transport::Server {
        b.max_concurrent_streams(self.max_streams)
            .initial_stream_window_size(self.stream_window)
            .initial_connection_window_size(self.connection_window)
            .http2_max_header_list_size(self.max_header_bytes)
            .http2_keepalive_interval(self.keepalive())
            .http2_keepalive_timeout(Some(Duration::from_secs(self.keepalive_timeout.max(1))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listening_address_is_an_ip_or_a_host_name_with_a_port() {
        assert_eq!(
            listen_address("0.0.0.0:50051"),
            Ok(([0, 0, 0, 0], 50051).into())
        );
        assert_eq!(
            listen_address("[::1]:9090").map(|a| a.to_string()),
            Ok("[::1]:9090".to_owned())
        );
        let local = listen_address("localhost:50051").expect("localhost resolves");
        assert!(local.ip().is_loopback(), "{local}");
        assert_eq!(local.port(), 50051);
        for (bad, says) in [
            ("localhost", "has no port"),
            ("127.0.0.1", "has no port"),
            (":50051", "is not HOST:PORT"),
            ("localhost:http", "is not HOST:PORT"),
            ("localhost:70000", "is not HOST:PORT"),
            (
                "no-such-host.invalid:50051",
                "cannot resolve host name \"no-such-host.invalid\"",
            ),
        ] {
            match listen_address(bad) {
                Err(e) => assert!(e.contains(says), "{bad}: {e}"),
                Ok(a) => panic!("{bad} gave {a}"),
            }
        }
    }
}
