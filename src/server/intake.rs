//! Intake: what every call goes through before tonic sees it, and what is counted after.
//!
//! - A request whose `content-type` is not `application/grpc…` is answered with HTTP 415, as the
//!   gRPC over HTTP/2 spec says, instead of being decoded as if it were protobuf.
//! - A RoutingService request body is received here, whole, before tonic decodes it: within
//!   `body_timeout` of its headers (a client that announces 4 MiB and sends 1 KiB, or sends
//!   headers only, gets DEADLINE_EXCEEDED and its memory back), inside a global budget of bytes
//!   being received (RESOURCE_EXHAUSTED beyond it), and checked as one complete gRPC message
//!   (INVALID_ARGUMENT for a garbage or truncated frame, OUT_OF_RANGE for one over the size
//!   limit). Why buffer here: tonic reserves the whole announced length when a frame's header
//!   arrives, so stalled uploads each held megabytes the client never sent. Here memory grows
//!   only with bytes that arrive. Every RoutingService method is unary, so nothing streams
//!   through; health and reflection (which stream) pass untouched.
//! - Every call that ends with a non-OK status is counted in `hotline_errors_total{method,code}`,
//!   whoever refused it: this layer, tonic's decoder, or the service. (The service used to count
//!   its own refusals only, so undecodable requests went uncounted.)
//! - Calls in and out are reported to their connection's [`Activity`](super::conn::Activity),
//!   for the idle timeout.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, BytesMut};
use http_body::Body as _;
use tonic::Status;
use tonic::body::Body;

use super::conn::{CallGuard, ConnInfo};
use super::metrics::{CodeLabels, Metrics};

/// The path prefix of the calls whose bodies are received here (all unary).
const ROUTING_PATH: &str = "/hotline.routing.v1.RoutingService/";

/// The paths this server serves: the RoutingService's methods, health and reflection.
const SERVED: &[&str] = &[
    "/hotline.routing.v1.RoutingService/Route",
    "/hotline.routing.v1.RoutingService/RouteBatch",
    "/hotline.routing.v1.RoutingService/GetRuleSet",
    "/hotline.routing.v1.RoutingService/RecordOutcome",
    "/hotline.routing.v1.RoutingService/GetDecision",
    "/grpc.health.v1.Health/Check",
    "/grpc.health.v1.Health/Watch",
    "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
];

/// The `method` of a call in `hotline_errors_total` and in log lines: the served method its path
/// names, or `unknown`. Never the client's own path: every distinct label value is a time series
/// kept for the life of the process, so a client sending made-up paths (thousands a second, or a
/// phone number as the method) would grow memory and every scrape without bound, and put its
/// text into metrics.
fn method_label(path: &str) -> &'static str {
    SERVED
        .iter()
        .find(|p| **p == path)
        .and_then(|p| p.rsplit('/').next())
        .unwrap_or("unknown")
}
/// A gRPC message's prefix: compression flag (1 byte) and length (4 bytes, big-endian).
const PREFIX: usize = 5;

/// The layer (see the module docs).
#[derive(Clone)]
pub struct IntakeLayer {
    shared: Arc<Shared>,
}

struct Shared {
    metrics: Arc<Metrics>,
    body_timeout: Duration,
    max_message: usize,
    budget: Budget,
}

impl IntakeLayer {
    pub fn new(
        metrics: Arc<Metrics>,
        body_timeout: Duration,
        max_message: usize,
        max_receiving: usize,
    ) -> Self {
        IntakeLayer {
            shared: Arc::new(Shared {
                metrics,
                body_timeout,
                max_message,
                budget: Budget {
                    used: AtomicUsize::new(0),
                    limit: max_receiving,
                },
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for IntakeLayer {
    type Service = Intake<S>;
    fn layer(&self, inner: S) -> Intake<S> {
        Intake {
            inner,
            shared: self.shared.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Intake<S> {
    inner: S,
    shared: Arc<Shared>,
}

type Response = http::Response<Body>;

impl<S> tower_service::Service<http::Request<Body>> for Intake<S>
where
    S: tower_service::Service<http::Request<Body>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        // The clone that was made ready is the one called (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let method = method_label(&path);
            let guard = request
                .extensions()
                .get::<ConnInfo>()
                .map(|c| c.activity.call());
            if !is_grpc(&request) {
                shared.count(method, "UnsupportedMediaType");
                tracing::info!(method, "call refused: content-type is not application/grpc");
                return Ok(unsupported_media_type());
            }
            let (request, reservation) = if path.starts_with(ROUTING_PATH) {
                let (parts, body) = request.into_parts();
                match shared.receive(body).await {
                    Ok((bytes, reservation)) => (
                        http::Request::from_parts(
                            parts,
                            Body::new(http_body_util::Full::new(bytes)),
                        ),
                        Some(reservation),
                    ),
                    Err(status) => {
                        let code = format!("{:?}", status.code());
                        shared.count(method, &code);
                        tracing::info!(method, code, message = status.message(), "call refused");
                        return Ok(with_guard(status.into_http(), guard));
                    }
                }
            } else {
                (request, None)
            };
            let response = inner.call(request).await?;
            // The message is decoded and routed by now: its bytes leave the budget.
            drop(reservation);
            if let Some(code) = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<i32>().ok())
                .filter(|&c| c != 0)
            {
                shared.count(method, &format!("{:?}", tonic::Code::from_i32(code)));
            }
            Ok(with_guard(response, guard))
        })
    }
}

impl Shared {
    fn count(&self, method: &str, code: &str) {
        self.metrics
            .errors
            .get_or_create(&CodeLabels {
                method: method.to_owned(),
                code: code.to_owned(),
            })
            .inc();
    }

    /// The request body, whole and checked as one gRPC message (see the module docs).
    async fn receive(&self, mut body: Body) -> Result<(bytes::Bytes, Reservation<'_>), Status> {
        let deadline = tokio::time::Instant::now() + self.body_timeout;
        let mut buf = BytesMut::new();
        let mut reservation = Reservation {
            budget: &self.budget,
            bytes: 0,
        };
        let mut announced: Option<usize> = None;
        loop {
            let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx));
            let frame = match tokio::time::timeout_at(deadline, frame).await {
                Err(_) => {
                    return Err(Status::deadline_exceeded(format!(
                        "the request body did not arrive within {} s of its headers ({} bytes \
                         received); send the whole message at once",
                        self.body_timeout.as_secs_f64(),
                        buf.len()
                    )));
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(Status::cancelled(format!(
                        "the request body was cut off: {e}"
                    )));
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(mut data) = frame.into_data() else {
                continue; // trailers: a unary request has none worth reading
            };
            reservation.grow(data.remaining())?;
            buf.reserve(data.remaining());
            while data.has_remaining() {
                let chunk = data.chunk();
                let n = chunk.len();
                buf.extend_from_slice(chunk);
                data.advance(n);
            }
            if announced.is_none() && buf.len() >= PREFIX {
                announced = Some(self.check_prefix(&buf)?);
            }
            if let Some(len) = announced
                && buf.len() > PREFIX + len
            {
                return Err(Status::invalid_argument(format!(
                    "the request holds more than one message ({} bytes after a message of {len}); \
                     this method takes exactly one",
                    buf.len() - PREFIX - len
                )));
            }
        }
        match announced {
            None => Err(Status::invalid_argument(format!(
                "the request has no gRPC message ({} bytes; a message starts with a 5-byte \
                 prefix: a compression flag and a length)",
                buf.len()
            ))),
            Some(len) if buf.len() < PREFIX + len => Err(Status::invalid_argument(format!(
                "the request ended after {} of the {len} bytes its message prefix announced",
                buf.len() - PREFIX
            ))),
            Some(_) => Ok((buf.freeze(), reservation)),
        }
    }

    /// The message length a prefix announces, if the message can be accepted.
    fn check_prefix(&self, buf: &[u8]) -> Result<usize, Status> {
        let flag = buf[0];
        let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        if flag != 0 {
            return Err(Status::invalid_argument(format!(
                "the message prefix has compression flag {flag}; this server takes uncompressed \
                 messages (flag 0) only: is this a gRPC client?"
            )));
        }
        if len > self.max_message {
            return Err(Status::out_of_range(format!(
                "the message is {len} bytes, over the limit of {} bytes",
                self.max_message
            )));
        }
        Ok(len)
    }
}

/// Bytes being received by all calls together, and the most allowed.
struct Budget {
    used: AtomicUsize,
    limit: usize,
}

/// A call's share of the [`Budget`], returned when dropped.
struct Reservation<'a> {
    budget: &'a Budget,
    bytes: usize,
}

impl Reservation<'_> {
    fn grow(&mut self, n: usize) -> Result<(), Status> {
        let before = self.budget.used.fetch_add(n, Ordering::AcqRel);
        if before + n > self.budget.limit {
            self.budget.used.fetch_sub(n, Ordering::AcqRel);
            return Err(Status::resource_exhausted(format!(
                "the server is receiving {} bytes of requests at once, its limit is {}; retry \
                 with backoff",
                before, self.budget.limit
            )));
        }
        self.bytes += n;
        Ok(())
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        self.budget.used.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

fn is_grpc<B>(request: &http::Request<B>) -> bool {
    request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/grpc"))
}

/// HTTP 415: what the gRPC spec asks of a server for a request that is not gRPC, so that a
/// plain HTTP client does not take a gRPC error (sent with HTTP 200) for success.
fn unsupported_media_type() -> Response {
    let mut r = http::Response::new(Body::empty());
    *r.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain"),
    );
    r
}

/// The response, holding the call's place in its connection's activity until it is sent.
fn with_guard(response: Response, guard: Option<CallGuard>) -> Response {
    match guard {
        None => response,
        Some(guard) => response.map(|body| {
            Body::new(Guarded {
                body,
                _guard: guard,
            })
        }),
    }
}

struct Guarded {
    body: Body,
    _guard: CallGuard,
}

impl http_body::Body for Guarded {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, Status>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod method_tests {
    use super::{SERVED, method_label};

    #[test]
    fn every_method_of_the_proto_is_a_label_and_nothing_else_is() {
        let proto = include_str!("../../proto/hotline/routing/v1/routing.proto");
        let rpcs: Vec<&str> = proto
            .lines()
            .filter_map(|l| l.trim().strip_prefix("rpc "))
            .filter_map(|l| l.split('(').next())
            .collect();
        assert_eq!(rpcs.len(), 5, "{rpcs:?}");
        for rpc in rpcs {
            let path = format!("/hotline.routing.v1.RoutingService/{rpc}");
            assert!(SERVED.contains(&path.as_str()), "{path}");
            assert_eq!(method_label(&path), rpc);
        }
        assert_eq!(method_label("/grpc.health.v1.Health/Check"), "Check");
        for path in [
            "/hotline.routing.v1.RoutingService/Nope",
            "/hotline.routing.v1.RoutingService/Route/extra",
            "/other.Service/Route",
            "",
            "/",
        ] {
            assert_eq!(method_label(path), "unknown", "{path}");
        }
    }
}
