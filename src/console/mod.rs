//! The web console: what rule authors and supervisors read in a browser, served by `serve` on
//! `--console-listen` (127.0.0.1:50080 by default; `off` turns it off).
//!
//! - `pages.rs`: the pages, rendered on the server: 试一试 (`/try`), 规则 (`/rules`,
//!   `/rules/{id}`), 报表 (`/reports`);
//! - `api.rs`: the JSON API behind them (`/api/…`);
//! - `html.rs`: escaping, query strings, the layout, the highlighted request text;
//! - `assets/`: the one stylesheet and the one script, compiled into the binary.
//!
//! Design: it is read-only (nothing in the rules can be changed from a browser) and it shows
//! citizens' words, so it is built like a page that holds personal data:
//!
//! - every text is escaped where it is written into HTML ([`html::esc`]);
//! - a strict Content-Security-Policy: scripts and styles only from the console itself, no inline
//!   code, no frames, no form posts elsewhere, nothing from the network;
//! - `Cache-Control: no-store` and `Referrer-Policy: no-referrer`, because the 试一试 URL carries
//!   the request's text (that is what makes it a permanent link);
//! - on a loopback address it answers only requests whose `Host` is a loopback name, so a web
//!   page elsewhere cannot read it through DNS rebinding;
//! - the request line and headers are bounded (a permanent link holds up to the 20,000
//!   characters a request may have), bodies are bounded as gRPC messages are and must arrive
//!   within `--body-timeout-ms`; TLS uses the gRPC server's certificates (`--tls-cert`, and
//!   `--tls-client-ca` for mutual TLS);
//! - it never logs a URL or a body, only the path's first segment and the status.
//!
//! It runs on the server's runtime; an idle console costs an accept loop and nothing else, and
//! a page is one routing (microseconds) or one read of the decision store (off the async
//! threads). Its tries are not decisions: they are neither recorded nor counted in the metrics.

mod api;
mod html;
mod pages;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::server::{RuleState, tls::Tls};
use crate::situate::calendar::Date;
use crate::store::Store;

/// Where the console listens: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleListen {
    Off,
    At(SocketAddr),
}

impl std::str::FromStr for ConsoleListen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("off") {
            return Ok(ConsoleListen::Off);
        }
        crate::server::limits::listen_address(s)
            .map(ConsoleListen::At)
            .map_err(|e| format!("{e}, or \"off\""))
    }
}

/// Where the console listens unless told: this machine only.
pub const DEFAULT_LISTEN: ConsoleListen = ConsoleListen::At(std::net::SocketAddr::V4(
    std::net::SocketAddrV4::new(std::net::Ipv4Addr::LOCALHOST, 50080),
));

/// Longest request line and header block: a permanent 试一试 link of 20,000 Chinese characters is
/// about 180 KB percent-encoded.
const MAX_HEADER_BYTES: usize = 256 * 1024;
/// Most connections served at once; a console has a handful of readers.
const MAX_CONNECTIONS: usize = 64;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

/// What the console reads: the serving rules and, when configured, the decision store.
pub struct Console {
    state: Arc<RuleState>,
    store: Option<Arc<Store>>,
    /// Whether the listener is on a loopback address (then only loopback `Host` names are served).
    loopback: bool,
    body_timeout: Duration,
    /// The `--rules` and `--store` flags that make `hotline-router report` read what this
    /// server reads (see [`report_flags`]), for the report page's "同一报表" command.
    report_flags: String,
}

impl Console {
    pub fn new(
        state: Arc<RuleState>,
        store: Option<Arc<Store>>,
        listen: SocketAddr,
        body_timeout: Duration,
        report_flags: String,
    ) -> Console {
        Console {
            state,
            store,
            loopback: listen.ip().is_loopback(),
            body_timeout,
            report_flags,
        }
    }
}

/// The flags of `hotline-router report` that read the rules and the store this server reads:
/// `--rules DIR` when the server was given one, and `--store SPEC` always (`report` has no
/// default store of its own worth trusting: the server's default is a path relative to where it
/// was started). Paths are made absolute, so that the command works from any directory, and
/// quoted for a POSIX shell when they need it. A PostgreSQL URL is shown without its password
/// (the page is read by people who must not learn it): the reader types it in, or leaves it to
/// `PGPASSWORD` / `.pgpass`.
pub fn report_flags(store: &crate::store::StoreConfig, rules: Option<&std::path::Path>) -> String {
    use crate::store::StoreConfig;
    let absolute = |p: &std::path::Path| {
        std::path::absolute(p)
            .unwrap_or_else(|_| p.to_path_buf())
            .display()
            .to_string()
    };
    let mut flags = Vec::new();
    if let Some(dir) = rules {
        flags.push(format!("--rules {}", shell_word(&absolute(dir))));
    }
    let spec = match store {
        StoreConfig::None => "none".to_owned(),
        StoreConfig::Sqlite(path) => format!("sqlite:{}", absolute(path)),
        // The name is the URL without its password (`store::pg::redact`).
        StoreConfig::Postgres(_) => store.name(),
    };
    flags.push(format!("--store {}", shell_word(&spec)));
    flags.join(" ")
}

/// `s` as one word of a POSIX shell command: as is when it holds only characters no shell
/// treats specially, else in single quotes.
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '/' | '.' | '_' | '-' | ':' | '@' | '+' | ',' | '=')
        });
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A date of the report's period, exactly `YYYY-MM-DD`: [`Date::parse`] forgives blanks around
/// the date (right for files), but a period echoed with a blank (`from=+2026-11-05` decodes to
/// " 2026-11-05") is a period the reader did not write.
fn exact_date(s: &str) -> Option<Date> {
    (s.trim() == s).then(|| Date::parse(s)).flatten()
}

/// Serves the console on `listener` until the runtime stops (the console holds no state to drain).
pub async fn serve(
    listener: TcpListener,
    console: Arc<Console>,
    tls: Option<Arc<Tls>>,
    handshake_timeout: Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (tcp, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!(error = %e, "console: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = tcp.set_nodelay(true);
        let console = console.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let service = hyper::service::service_fn(move |req| {
                let console = console.clone();
                async move { Ok::<_, std::convert::Infallible>(console.handle(req).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(handshake_timeout)
                .max_buf_size(MAX_HEADER_BYTES);
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_header_list_size(MAX_HEADER_BYTES as u32)
                .max_concurrent_streams(32);
            let served = match tls {
                Some(tls) => match tls.accept(tcp, handshake_timeout).await {
                    Ok(stream) => {
                        builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "console: TLS handshake failed");
                        return;
                    }
                },
                None => builder.serve_connection(TokioIo::new(tcp), service).await,
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "console: connection ended with an error");
            }
        });
    }
}

type Body = Full<Bytes>;

fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    h.insert(
        "cross-origin-resource-policy",
        HeaderValue::from_static("same-origin"),
    );
    r
}

fn html_page(status: StatusCode, body: String) -> Response<Body> {
    respond(status, "text/html; charset=utf-8", body)
}

fn json(status: StatusCode, body: Vec<u8>) -> Response<Body> {
    respond(status, "application/json", body)
}

fn api_error(e: api::ApiError) -> Response<Body> {
    json(
        StatusCode::from_u16(e.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        e.body(),
    )
}

fn text(status: StatusCode, message: &str) -> Response<Body> {
    respond(status, "text/plain; charset=utf-8", message.to_owned())
}

/// Whether a `Host` header names this machine's loopback interface.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':').map_or(host, |(h, _)| h)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A time as China time, `YYYY-MM-DD HH:MM:SS`.
pub(crate) fn china_time(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::situate::calendar::china_clock(secs)
        .map(|c| format!("{c}（北京时间）"))
        .unwrap_or_default()
}

impl Console {
    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        if self.loopback {
            let host = req
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| req.uri().host())
                .unwrap_or("");
            if !loopback_host(host) {
                return self.refusal(
                    req.uri().path(),
                    api::ApiError(
                        421,
                        "PERMISSION_DENIED",
                        "this console answers only to localhost, 127.0.0.1 or [::1]".into(),
                    ),
                    "拒绝访问",
                    "本控制台只在本机监听，只接受用 localhost、127.0.0.1 或 [::1] 打开的请求\
                     （别的网址指向本机时一律拒绝，以防网页借此读取市民留言）。\
                     请在本机用 http://127.0.0.1:端口/ 打开；要从别的机器查看，请让控制台监听其他地址\
                     （--console-listen），并放在带身份验证的反向代理之后。",
                );
            }
        }
        let path = req.uri().path().to_owned();
        let pairs = match html::query_pairs(req.uri().query().unwrap_or("")) {
            Ok(p) => p,
            Err(e) => {
                return self.refusal(
                    &path,
                    api::ApiError::invalid(e.english()),
                    "链接有误",
                    &e.chinese(),
                );
            }
        };
        let method = req.method().clone();
        let response = match (&method, path.as_str()) {
            (&Method::POST, "/api/route") => {
                let set = self.state.current();
                match self.body(req).await {
                    Ok(body) => match api::route(&set, &body) {
                        Ok(bytes) => json(StatusCode::OK, bytes),
                        Err(e) => api_error(e),
                    },
                    Err(e) => api_error(e),
                }
            }
            // A request too long for a link (console.js switches the form to POST then).
            (&Method::POST, "/try") => {
                let set = self.state.current();
                match self.body(req).await {
                    Ok(body) => match std::str::from_utf8(&body)
                        .map_err(|_| html::NotUtf8(None))
                        .and_then(html::query_pairs)
                    {
                        Ok(form) => {
                            let q = |name: &str| html::param(&form, name).to_owned();
                            // A posted form was submitted, whatever it holds.
                            let form = pages::TryForm {
                                submitted: true,
                                ..pages::TryForm::from_query(&q)
                            };
                            html_page(StatusCode::OK, pages::try_page(&set, &form))
                        }
                        Err(e) => self.refusal(
                            "/try",
                            api::ApiError::invalid(e.english()),
                            "表单有误",
                            &e.chinese(),
                        ),
                    },
                    Err(e) => {
                        let why = match e.0 {
                            413 => "这条文字超过了 4 MiB 的上限，请只粘贴来电或留言本身。",
                            408 => "表单在规定时间内没有传完，请检查网络后重新提交。",
                            _ => "表单没能读完，请重新提交。",
                        };
                        self.refusal("/try", e, "无法试算", why)
                    }
                }
            }
            // The API answers in JSON, as its other errors do; a GET of the one POST endpoint
            // is a wrong method, not a missing page.
            (&Method::GET | &Method::HEAD, "/api/route") => {
                let mut r = api_error(api::ApiError(
                    405,
                    "UNIMPLEMENTED",
                    "POST a RouteRequest in proto3 JSON to /api/route".into(),
                ));
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                r
            }
            (&Method::GET | &Method::HEAD, _) => self.get(&path, &pairs, req.uri().query()).await,
            _ => {
                let mut r = self.refusal(
                    &path,
                    api::ApiError(
                        405,
                        "UNIMPLEMENTED",
                        "the console is read-only: GET pages, POST /api/route".into(),
                    ),
                    "不能这样操作",
                    "控制台是只读的：页面只能打开查看（GET），只有试一试的表单和 /api/route 接受提交（POST）。\
                     规则要在规则文件中修改，见《规则编写指南》。",
                );
                r.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
                r
            }
        };
        // The first path segment only: a path can carry a rule id, a query the citizen's text.
        tracing::debug!(
            method = %method,
            page = path.split('/').nth(1).unwrap_or(""),
            status = response.status().as_u16(),
            "console"
        );
        response
    }

    /// A request refused before it reaches a page: the API's JSON error under `/api`, otherwise
    /// a page in Chinese with the navigation, as the 404 page is, so that a supervisor who
    /// followed a damaged link reads what happened and where to go.
    fn refusal(
        &self,
        path: &str,
        error: api::ApiError,
        title: &str,
        message: &str,
    ) -> Response<Body> {
        if path == "/api" || path.starts_with("/api/") {
            return api_error(error);
        }
        let status = StatusCode::from_u16(error.0).unwrap_or(StatusCode::BAD_REQUEST);
        let set = self.state.current();
        html_page(
            status,
            pages::error_page(&set, title, html::Nav::Other, message),
        )
    }

    /// The request body, bounded in size (as a gRPC message) and in time (`--body-timeout-ms`).
    async fn body(&self, req: Request<Incoming>) -> Result<Bytes, api::ApiError> {
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if announced.is_some_and(|n| n > crate::server::MAX_MESSAGE_BYTES as u64) {
            return Err(api::ApiError(
                413,
                "OUT_OF_RANGE",
                format!(
                    "the body announces {} bytes, over the limit of {}",
                    announced.unwrap_or_default(),
                    crate::server::MAX_MESSAGE_BYTES
                ),
            ));
        }
        let limited = Limited::new(req.into_body(), crate::server::MAX_MESSAGE_BYTES);
        match tokio::time::timeout(self.body_timeout, limited.collect()).await {
            Err(_) => Err(api::ApiError(
                408,
                "DEADLINE_EXCEEDED",
                format!(
                    "the body did not arrive within {} ms",
                    self.body_timeout.as_millis()
                ),
            )),
            Ok(Err(e)) => Err(api::ApiError(
                413,
                "OUT_OF_RANGE",
                format!(
                    "the body is over {} bytes or broken: {e}",
                    crate::server::MAX_MESSAGE_BYTES
                ),
            )),
            Ok(Ok(c)) => Ok(c.to_bytes()),
        }
    }

    async fn get(
        &self,
        path: &str,
        pairs: &[(String, String)],
        query: Option<&str>,
    ) -> Response<Body> {
        let set = self.state.current();
        let q = |name: &str| html::param(pairs, name).to_owned();
        match path {
            "/" => {
                let mut r = text(StatusCode::SEE_OTHER, "");
                r.headers_mut()
                    .insert(header::LOCATION, HeaderValue::from_static("/try"));
                r
            }
            "/assets/console.css" => respond(StatusCode::OK, "text/css; charset=utf-8", CSS),
            "/assets/console.js" => respond(StatusCode::OK, "text/javascript; charset=utf-8", JS),
            "/try" => {
                // `/try?text=` is an empty submission, to be told so; `/try` is a first visit.
                let form = pages::TryForm {
                    submitted: pairs.iter().any(|(k, _)| k == "text"),
                    ..pages::TryForm::from_query(&q)
                };
                html_page(StatusCode::OK, pages::try_page(&set, &form))
            }
            // A trailing slash is a habit of typing, not another page.
            "/try/" | "/rules/" | "/reports/" => {
                let mut to = path.trim_end_matches('/').to_owned();
                if let Some(query) = query {
                    to.push('?');
                    to.push_str(query);
                }
                let mut r = text(StatusCode::PERMANENT_REDIRECT, "");
                if let Ok(to) = HeaderValue::from_str(&to) {
                    r.headers_mut().insert(header::LOCATION, to);
                }
                r
            }
            "/rules" => html_page(
                StatusCode::OK,
                pages::rules_page(&set, &self.state.last_failure(), &q("q")),
            ),
            "/reports" => {
                let (from, to, view) = self.report_view(&set, &q("from"), &q("to")).await;
                let status = match view {
                    pages::ReportView::BadPeriod(_) => StatusCode::BAD_REQUEST,
                    pages::ReportView::Failed(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    pages::ReportView::NoStore | pages::ReportView::Ready(_) => StatusCode::OK,
                };
                html_page(
                    status,
                    pages::report_page(&set, &from, &to, &view, &self.report_flags),
                )
            }
            "/api/ruleset" => match serde_json::to_vec(&self.state.info()) {
                Ok(b) => json(StatusCode::OK, b),
                Err(e) => api_error(api::ApiError(500, "INTERNAL", e.to_string())),
            },
            "/api/rules" => json(
                StatusCode::OK,
                serde_json::to_vec(&api::rules(&set, &q("q"))).unwrap_or_default(),
            ),
            "/api/report" => {
                let (_, _, view) = self.report_view(&set, &q("from"), &q("to")).await;
                match view {
                    pages::ReportView::Ready(r) => {
                        json(StatusCode::OK, serde_json::to_vec(&r).unwrap_or_default())
                    }
                    pages::ReportView::NoStore => api_error(api::ApiError(
                        412,
                        "FAILED_PRECONDITION",
                        "the server keeps no decision store; start it with --store".into(),
                    )),
                    pages::ReportView::BadPeriod(why) => api_error(api::ApiError::invalid(why)),
                    pages::ReportView::Failed(why) => {
                        api_error(api::ApiError(500, "INTERNAL", why))
                    }
                }
            }
            _ => {
                if let Some(id) = path.strip_prefix("/api/rules/") {
                    let Some(id) = html::path_decode(id) else {
                        return api_error(api::ApiError::invalid(
                            "the rule id in the path is not UTF-8 once percent-decoded",
                        ));
                    };
                    return match api::rule(&set, &id) {
                        Ok(v) => json(StatusCode::OK, serde_json::to_vec(&v).unwrap_or_default()),
                        Err(e) => api_error(e),
                    };
                }
                // The API answers in JSON whatever the path, as its other errors do.
                if path == "/api" || path.starts_with("/api/") {
                    return api_error(api::ApiError::not_found(
                        "no such API endpoint: GET /api/ruleset, /api/rules, /api/rules/{id}, \
                         /api/report; POST /api/route",
                    ));
                }
                if let Some(id) = path.strip_prefix("/rules/") {
                    let Some(id) = html::path_decode(id) else {
                        return html_page(
                            StatusCode::BAD_REQUEST,
                            pages::error_page(
                                &set,
                                "无法打开规则",
                                html::Nav::Rules,
                                "链接中的规则编号经百分号解码后不是有效的 UTF-8 文字，可能是链接在转发时被改坏了（例如按 GBK 编码）。请从规则列表重新打开。",
                            ),
                        );
                    };
                    if let Some(i) = set.rules().iter().position(|r| r.id == id) {
                        return html_page(StatusCode::OK, pages::rule_page(&set, i));
                    }
                    return html_page(
                        StatusCode::NOT_FOUND,
                        html::page(
                            "找不到规则",
                            html::Nav::Rules,
                            set.version(),
                            &format!(
                                "<h1>找不到规则</h1><p id=\"error\" class=\"error\">当前规则集（{}）里没有「{}」。<a href=\"/rules?q={}\">查找相近的规则</a></p>",
                                html::esc(html::short_version(set.version())),
                                html::esc(&id),
                                html::url_encode(&id)
                            ),
                        ),
                    );
                }
                html_page(
                    StatusCode::NOT_FOUND,
                    pages::error_page(
                        &set,
                        "找不到页面",
                        html::Nav::Other,
                        "控制台没有这个页面。请从上方的导航进入「试一试」「规则」或「报表」。",
                    ),
                )
            }
        }
    }

    /// The report period (default: the last 30 days, today and the 29 days before it, China
    /// time) and the report, read off the async threads.
    async fn report_view(
        &self,
        set: &Arc<crate::RuleSet>,
        from: &str,
        to: &str,
    ) -> (String, String, pages::ReportView) {
        let now = crate::store::now_ms();
        let today = crate::store::report::china_date(now);
        // China keeps no daylight saving time: 29 days of milliseconds back is 29 dates back.
        let default_from =
            crate::store::report::china_date(now - 29 * 86_400_000).map(|d| d.to_string());
        let from = if from.is_empty() {
            default_from.unwrap_or_default()
        } else {
            from.to_owned()
        };
        let to = if to.is_empty() {
            today
                .and_then(Date::next)
                .map(|d| d.to_string())
                .unwrap_or_default()
        } else {
            to.to_owned()
        };
        let Some(store) = self.store.clone() else {
            return (from, to, pages::ReportView::NoStore);
        };
        let (Some(f), Some(t)) = (exact_date(&from), exact_date(&to)) else {
            return (
                from,
                to,
                pages::ReportView::BadPeriod(
                    "日期请写成 YYYY-MM-DD（如 2026-11-05），前后不留空格".into(),
                ),
            );
        };
        if t <= f {
            return (
                from,
                to,
                pages::ReportView::BadPeriod("结束日期须晚于开始日期".into()),
            );
        }
        let read = tokio::task::spawn_blocking(move || {
            store.between(f.start_ms_china(), t.start_ms_china())
        })
        .await;
        let view = match read {
            Ok(Ok(decisions)) => pages::ReportView::Ready(Box::new(
                crate::store::report::of_period(&decisions, set, (&from, &to), today.unwrap_or(t)),
            )),
            Ok(Err(e)) => pages::ReportView::Failed(format!("读取派单记录库失败：{e}")),
            Err(e) => pages::ReportView::Failed(format!("读取派单记录库失败：{e}")),
        };
        (from, to, view)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_is_an_address_or_off() {
        assert_eq!("off".parse::<ConsoleListen>(), Ok(ConsoleListen::Off));
        assert_eq!(
            "127.0.0.1:50080".parse::<ConsoleListen>(),
            Ok(ConsoleListen::At(([127, 0, 0, 1], 50080).into()))
        );
        assert!("localhost".parse::<ConsoleListen>().is_err());
        match "localhost:50080".parse::<ConsoleListen>() {
            Ok(ConsoleListen::At(a)) => {
                assert!(a.ip().is_loopback(), "{a}");
                assert_eq!(a.port(), 50080);
            }
            other => panic!("localhost:50080 gave {other:?}"),
        }
    }

    #[test]
    fn the_report_command_names_the_store_but_never_its_password() {
        use crate::store::StoreConfig;
        let pg: StoreConfig =
            "postgres://hotline:s3cret@db:5432/hotline?password=other&sslmode=require"
                .parse()
                .unwrap();
        let flags = report_flags(&pg, None);
        assert_eq!(
            flags,
            "--store 'postgres://hotline:***@db:5432/hotline?password=***&sslmode=require'"
        );
        let sqlite = StoreConfig::Sqlite("/data/my store/d.sqlite".into());
        assert_eq!(
            report_flags(&sqlite, Some(std::path::Path::new("/etc/hotline/rules"))),
            "--rules /etc/hotline/rules --store 'sqlite:/data/my store/d.sqlite'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }

    #[test]
    fn report_dates_are_exactly_yyyy_mm_dd() {
        assert!(exact_date("2026-11-05").is_some());
        for bad in [
            " 2026-11-05",
            "2026-11-05\n",
            "+2026-11-05",
            "2026-11-5",
            "",
        ] {
            assert!(exact_date(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn only_loopback_host_names_pass_on_a_loopback_listener() {
        for ok in [
            "localhost:50080",
            "127.0.0.1:1",
            "[::1]:50080",
            "LOCALHOST",
            "127.0.0.1",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example:50080", "192.168.1.2:50080", "", "[fe80::1]:1"] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }
}
