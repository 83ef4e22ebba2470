//! Connections: how an accepted TCP connection becomes a served one (plain, or TLS with the
//! certificates of the moment), what a call can learn of its connection (the peer, the client
//! certificate's subject, the calls in flight), and the idle timeout.
//!
//! Why not tonic's own: tonic's TLS configuration is fixed when the server starts, and
//! certificates must be replaced on SIGHUP without dropping a call; and tonic has no idle timeout
//! (gRPC's MAX_CONNECTION_IDLE), so a client that connects and never calls holds a socket and its
//! HTTP/2 state forever, and keeps a draining server waiting.
//!
//! Handshakes run in their own tasks, bounded by a timeout, so that one slow or silent TLS client
//! never holds up the accept loop. The accept loop stops, and the listening socket closes, when
//! the server drops the stream of connections (at shutdown).
//!
//! Idle means "no call in flight for `idle`", not "no bytes": HTTP/2 keepalive PINGs and their
//! ACKs move bytes on a connection nobody uses. A connection that has not started a call yet has
//! a shorter limit (`first_call`): a client that opens sockets and never speaks (not even the
//! HTTP/2 preface) would otherwise hold each for the whole idle timeout, and a few thousand of
//! them use up the process's file descriptors. Past `max_connections`, a new connection is closed
//! at once, so that the ones being served keep theirs (a TLS connection counts once its handshake,
//! bounded by its own timeout, is done). The intake layer (`intake.rs`) counts calls in and out
//! through [`Activity`]; a read that finds the connection idle past its deadline ends it as if the
//! client had closed it (EOF), which hyper answers by closing the socket.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Sleep;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::server::Connected;

use super::tls::{Tls, peer_subject};

/// What the server knows of a connection; every call on it finds this in its request's
/// extensions.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    pub peer: Option<SocketAddr>,
    /// The client certificate's subject (mTLS), e.g. "CN=intake-1,O=Hotline".
    pub client: Option<Arc<str>>,
    pub activity: Arc<Activity>,
}

/// Calls in flight on a connection, and when the last one ended.
#[derive(Debug, Default)]
pub struct Activity {
    calls: AtomicUsize,
    /// Whether a call has ever started on the connection.
    used: std::sync::atomic::AtomicBool,
    /// Milliseconds since [`epoch`] when the last call ended (or the connection opened).
    last: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Activity {
    fn new() -> Arc<Self> {
        let a = Activity::default();
        a.last.store(now_ms(), Ordering::Relaxed);
        Arc::new(a)
    }

    /// A call started; the guard ends it when dropped (with its response sent or abandoned).
    pub fn call(self: &Arc<Self>) -> CallGuard {
        self.used.store(true, Ordering::Relaxed);
        self.calls.fetch_add(1, Ordering::AcqRel);
        CallGuard(self.clone())
    }

    /// When the connection has been idle since, or `None` while a call is in flight.
    fn idle_since(&self) -> Option<u64> {
        if self.calls.load(Ordering::Acquire) > 0 {
            None
        } else {
            Some(self.last.load(Ordering::Relaxed))
        }
    }
}

/// One call in flight (see [`Activity::call`]).
#[derive(Debug)]
pub struct CallGuard(Arc<Activity>);

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.0.last.store(now_ms(), Ordering::Relaxed);
        self.0.calls.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Connections open now (for the drain log line and the metrics).
#[derive(Debug, Default)]
pub struct OpenConnections(AtomicUsize);

impl OpenConnections {
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// A served connection.
pub struct Conn {
    io: Io,
    info: ConnInfo,
    /// The idle timeout (`None`: never), the shorter one before the first call, and the timer
    /// that wakes the connection's task when either would expire.
    idle: Option<Duration>,
    first_call: Option<Duration>,
    timer: Pin<Box<Sleep>>,
    open: Arc<OpenConnections>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.open.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Connected for Conn {
    type ConnectInfo = ConnInfo;
    fn connect_info(&self) -> ConnInfo {
        self.info.clone()
    }
}

impl Conn {
    /// True when no call has been in flight for the idle timeout; else arms the timer that wakes
    /// the connection's task when that would become true.
    fn idle_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let after = if self.info.activity.used.load(Ordering::Relaxed) {
            self.idle
        } else {
            match (self.idle, self.first_call) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let Some(after) = after else {
            return false;
        };
        let sleep = &mut self.timer;
        let Some(since) = self.info.activity.idle_since() else {
            // A call is in flight; its end updates `last`, and the next read re-arms the timer.
            return false;
        };
        let deadline = epoch() + Duration::from_millis(since) + after;
        if Instant::now() >= deadline {
            return true;
        }
        if sleep.deadline() != deadline.into() {
            sleep.as_mut().reset(deadline.into());
        }
        // Polled only to register the wake-up; when it fires, the next read checks again.
        if sleep.as_mut().poll(cx).is_ready() {
            cx.waker().wake_by_ref();
        }
        false
    }
}

use std::future::Future;

impl AsyncRead for Conn {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let polled = match &mut this.io {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        };
        match polled {
            Poll::Pending if this.idle_expired(cx) => {
                tracing::debug!(peer = ?this.info.peer, "closing an idle connection");
                // End of stream, as if the client had closed: hyper closes the socket.
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl AsyncWrite for Conn {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write(cx, data),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, data),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.io {
            Io::Plain(s) => s.is_write_vectored(),
            Io::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.io {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// How connections are accepted.
#[derive(Clone)]
pub struct Accept {
    pub tls: Option<Arc<Tls>>,
    /// Close a connection with no call in flight for this long (`None`: never).
    pub idle: Option<Duration>,
    /// Close a connection that has not started a call for this long (`None`: only `idle`).
    pub first_call: Option<Duration>,
    /// Connections served at most; one more is closed as soon as it is accepted.
    pub max_connections: usize,
    /// Longest a TLS handshake may take.
    pub handshake_timeout: Duration,
    pub open: Arc<OpenConnections>,
}

/// The stream of served connections on `listener`. Accepting stops, and the socket closes, when
/// the stream is dropped.
pub fn incoming(listener: TcpListener, accept: Accept) -> ReceiverStream<io::Result<Conn>> {
    let (tx, rx) = mpsc::channel::<io::Result<Conn>>(64);
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = tx.closed() => break,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most often: wait for some to be freed instead of
                    // spinning on the error.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            if accept.open.get() >= accept.max_connections {
                tracing::debug!(peer = %peer, open = accept.open.get(), "connection limit reached: closing a new connection");
                drop(tcp);
                continue;
            }
            // TCP_NODELAY: a reply is one small write; without it Nagle's algorithm holds it back
            // until the client's delayed ACK (tens of milliseconds) when the connection is quiet.
            let _ = tcp.set_nodelay(true);
            let accept = accept.clone();
            let tx = tx.clone();
            match accept.tls.clone() {
                None => {
                    let conn = accept.conn(Io::Plain(tcp), Some(peer), None);
                    if tx.send(Ok(conn)).await.is_err() {
                        break;
                    }
                }
                Some(tls) => {
                    tokio::spawn(async move {
                        match tls.accept(tcp, accept.handshake_timeout).await {
                            Ok(stream) => {
                                let client = peer_subject(&stream).map(Arc::from);
                                let conn =
                                    accept.conn(Io::Tls(Box::new(stream)), Some(peer), client);
                                let _ = tx.send(Ok(conn)).await;
                            }
                            Err(e) => {
                                tracing::info!(peer = %peer, error = %e, "TLS handshake failed");
                            }
                        }
                    });
                }
            }
        }
    });
    ReceiverStream::new(rx)
}

impl Accept {
    fn conn(&self, io: Io, peer: Option<SocketAddr>, client: Option<Arc<str>>) -> Conn {
        self.open.0.fetch_add(1, Ordering::Relaxed);
        Conn {
            io,
            info: ConnInfo {
                peer,
                client,
                activity: Activity::new(),
            },
            idle: self.idle,
            first_call: self.first_call,
            timer: Box::pin(tokio::time::sleep_until(Instant::now().into())),
            open: self.open.clone(),
        }
    }
}
