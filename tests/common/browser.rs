//! A small, synchronous Chrome DevTools Protocol (CDP) driver for integration
//! tests that drive headless Chromium.
//!
//! Design:
//!
//! - Chromium is started with `--remote-debugging-port=0` (the OS picks a free
//!   port, so parallel tests never collide) and its own `--user-data-dir` in a
//!   temporary directory (so runs share no profile, cookies or lock files, and
//!   the directory is removed afterwards). Chromium writes the chosen port
//!   (line 1) and the browser websocket path (line 2) to the file
//!   `DevToolsActivePort` in that directory; we poll for it instead of parsing
//!   stderr, whose format changes between versions.
//! - There is exactly one websocket, to the browser target. Each tab is
//!   attached with `Target.attachToTarget { flatten: true }`, which gives it a
//!   `sessionId`; commands for the tab carry that `sessionId` and its events
//!   come back tagged with it. This avoids one connection per tab and the
//!   HTTP `/json` endpoints.
//! - Everything is blocking and single-threaded: a command is written, then
//!   messages are read until the response with the same `id` arrives. The
//!   socket has a short read timeout so that a silent browser never blocks a
//!   test forever; each command has an overall deadline. Events read while
//!   waiting are buffered per session, so nothing is lost between commands
//!   (e.g. a `Page.loadEventFired` that arrives before `goto` starts waiting).
//! - `Browser` and its `Page`s share the connection through `Rc<RefCell<..>>`,
//!   so `Page` methods take `&self` and a test can hold several pages.
//!
//! Only `tungstenite` (handshake feature, no TLS), `serde_json` and `tempfile`
//! are needed.

// Each integration-test binary compiles `common` separately and most use only
// part of it; without this, unused items would be dead-code warnings (errors
// under `clippy -D warnings`).
#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How long any single CDP command may take before we give up.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Socket read timeout: the granularity at which deadlines are checked.
const READ_TICK: Duration = Duration::from_millis(200);
/// How long Chromium may take to write `DevToolsActivePort`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `goto` waits for the load event.
const LOAD_TIMEOUT: Duration = Duration::from_secs(60);
/// Screenshots of long pages are several MB of base64 in one message, above
/// tungstenite's default frame limit; allow generously more.
const MAX_MESSAGE: usize = 512 << 20;
/// Non-message events kept per session; old ones are dropped so a long test
/// cannot grow the buffer without bound.
const MAX_BUFFERED_EVENTS: usize = 1000;

const VIEWPORT_WIDTH: u32 = 1280;
const VIEWPORT_HEIGHT: u32 = 900;

/// Binaries tried, in order, by [`Browser::launch`].
const CANDIDATES: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

/// A running headless Chromium and the websocket to its browser target.
pub struct Browser {
    conn: Rc<RefCell<Connection>>,
    child: Child,
    /// The `--user-data-dir`; declared after `child` so it is deleted only
    /// after the process is gone (see `Drop`).
    _profile: tempfile::TempDir,
}

/// One tab, attached to the browser connection as a flattened session.
pub struct Page {
    conn: Rc<RefCell<Connection>>,
    session_id: String,
}

/// What is buffered for one session (`""` is the browser itself).
#[derive(Default)]
struct SessionBuffer {
    /// Events not consumed yet, oldest first.
    events: VecDeque<Value>,
    /// Console messages, exceptions and log entries, formatted, in order.
    messages: Vec<String>,
}

struct Connection {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    sessions: HashMap<String, SessionBuffer>,
}

impl Browser {
    /// Starts headless Chromium and connects to it.
    ///
    /// Returns `Ok(None)` after printing (println!) the reason when no
    /// `chromium`, `chromium-browser` or `google-chrome` binary runs (its
    /// `--version` fails), so tests can skip on machines without a browser.
    /// Returns `Err` when a browser is installed but does not start.
    pub fn launch() -> Result<Option<Browser>, String> {
        let Some(binary) = CANDIDATES.iter().copied().find(|name| {
            Command::new(name)
                .arg("--version")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        }) else {
            println!(
                "skipping browser test: none of {} runs (`--version` failed)",
                CANDIDATES.join(", ")
            );
            return Ok(None);
        };

        let profile = tempfile::Builder::new()
            .prefix("cdp-profile-")
            .tempdir()
            .map_err(|e| format!("creating a temporary --user-data-dir: {e}"))?;
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                // We run as root in CI, where Chromium refuses to start sandboxed.
                "--no-sandbox",
                "--disable-gpu",
                // /dev/shm is tiny in containers; Chromium crashes when it fills.
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--disable-background-networking",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting {binary}: {e}"))?;

        match connect(binary, &mut child, profile.path()) {
            Ok(ws) => Ok(Some(Browser {
                conn: Rc::new(RefCell::new(Connection {
                    ws,
                    next_id: 1,
                    sessions: HashMap::new(),
                })),
                child,
                _profile: profile,
            })),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                Err(e)
            }
        }
    }

    /// Opens a new tab on `about:blank`, attaches to it, enables the Page,
    /// Runtime and Log domains (for load events and [`Page::messages`]) and
    /// sets a 1280x900 viewport so screenshots do not depend on the default
    /// headless window size.
    pub fn new_page(&mut self) -> Result<Page, String> {
        let created = self.conn.borrow_mut().call(
            None,
            "Target.createTarget",
            json!({ "url": "about:blank" }),
        )?;
        let target_id = created["targetId"]
            .as_str()
            .ok_or("Target.createTarget: response has no targetId")?;
        let attached = self.conn.borrow_mut().call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target_id, "flatten": true }),
        )?;
        let session_id = attached["sessionId"]
            .as_str()
            .ok_or("Target.attachToTarget: response has no sessionId")?
            .to_string();
        let page = Page {
            conn: Rc::clone(&self.conn),
            session_id,
        };
        page.call("Page.enable", json!({}))?;
        page.call("Runtime.enable", json!({}))?;
        page.call("Log.enable", json!({}))?;
        page.call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": VIEWPORT_WIDTH,
                "height": VIEWPORT_HEIGHT,
                "deviceScaleFactor": 1,
                "mobile": false,
            }),
        )?;
        Ok(page)
    }
}

impl Drop for Browser {
    /// Asks Chromium to close (so it takes its renderer and GPU processes
    /// down with it), then kills and reaps it if it has not exited promptly.
    fn drop(&mut self) {
        if let Ok(mut conn) = self.conn.try_borrow_mut() {
            let id = conn.next_id;
            conn.next_id += 1;
            let msg = json!({ "id": id, "method": "Browser.close" }).to_string();
            let _ = conn.ws.send(Message::text(msg));
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `DevToolsActivePort` and opens the browser websocket.
fn connect(
    binary: &str,
    child: &mut Child,
    profile: &Path,
) -> Result<WebSocket<TcpStream>, String> {
    let port_file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let (port, path) = loop {
        if let Some(found) = std::fs::read_to_string(&port_file)
            .ok()
            .and_then(|text| parse_port_file(&text))
        {
            break found;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{binary} exited ({status}) before writing {}",
                port_file.display()
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{binary} did not write {} within {STARTUP_TIMEOUT:?}",
                port_file.display()
            ));
        }
        sleep(Duration::from_millis(50));
    };

    let stream = TcpStream::connect(("127.0.0.1", port))
        .map_err(|e| format!("connecting to DevTools at 127.0.0.1:{port}: {e}"))?;
    // Blocking handshake with a generous timeout; the short tick comes after.
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| format!("setting socket timeout: {e}"))?;
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let url = format!("ws://127.0.0.1:{port}{path}");
    let (ws, _response) =
        tungstenite::client::client_with_config(url.as_str(), stream, Some(config))
            .map_err(|e| format!("websocket handshake with {url}: {e}"))?;
    ws.get_ref()
        .set_read_timeout(Some(READ_TICK))
        .map_err(|e| format!("setting socket timeout: {e}"))?;
    Ok(ws)
}

/// `DevToolsActivePort` holds the port on line 1 and the browser websocket
/// path on line 2. The file may be read half-written: `None` until both
/// lines parse.
fn parse_port_file(text: &str) -> Option<(u16, String)> {
    let mut lines = text.lines();
    let port = lines.next()?.trim().parse::<u16>().ok()?;
    let path = lines.next()?.trim();
    path.starts_with("/devtools/")
        .then(|| (port, path.to_string()))
}

impl Connection {
    /// Sends a command (to `session`, or to the browser when `None`) and
    /// waits for its response, buffering events that arrive meanwhile.
    fn call(
        &mut self,
        session: Option<&str>,
        method: &str,
        params: Value,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = session {
            msg["sessionId"] = Value::from(session);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .map_err(|e| format!("{method}: sending to chromium: {e}"))?;
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let Some(reply) = self.read_one(deadline, method)? else {
                continue;
            };
            if reply.get("id").and_then(Value::as_u64) != Some(id) {
                // An event (already buffered by read_one) or the late reply
                // to an earlier command that timed out: not ours.
                continue;
            }
            if let Some(err) = reply.get("error") {
                let message = err["message"].as_str().unwrap_or("unknown error");
                return Err(match err.get("data").and_then(Value::as_str) {
                    Some(data) => format!("{method} failed: {message} ({data})"),
                    None => format!("{method} failed: {message}"),
                });
            }
            return Ok(reply.get("result").cloned().unwrap_or(Value::Null));
        }
    }

    /// Reads one message. Events are buffered and also returned; `Ok(None)`
    /// means the read tick passed with nothing to read (or a non-text frame).
    /// `Err` once `deadline` has passed, naming `what` was awaited.
    fn read_one(&mut self, deadline: Instant, what: &str) -> Result<Option<Value>, String> {
        match self.ws.read() {
            Ok(Message::Text(text)) => {
                let value: Value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("{what}: invalid JSON from chromium: {e}"))?;
                self.buffer_event(&value);
                Ok(Some(value))
            }
            Ok(Message::Close(frame)) => {
                Err(format!("{what}: chromium closed the websocket ({frame:?})"))
            }
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                if Instant::now() > deadline {
                    Err(format!("{what}: no reply from chromium in time"))
                } else {
                    Ok(None)
                }
            }
            Err(e) => Err(format!("{what}: reading from chromium: {e}")),
        }
    }

    /// Files an incoming event under its session; responses are ignored.
    fn buffer_event(&mut self, value: &Value) {
        let Some(method) = value.get("method").and_then(Value::as_str) else {
            return;
        };
        let session = value.get("sessionId").and_then(Value::as_str).unwrap_or("");
        let buffer = self.sessions.entry(session.to_string()).or_default();
        let params = &value["params"];
        if let Some(message) = format_message(method, params) {
            buffer.messages.push(message);
        } else {
            if buffer.events.len() >= MAX_BUFFERED_EVENTS {
                buffer.events.pop_front();
            }
            buffer.events.push_back(value.clone());
        }
    }

    /// Reads whatever has already arrived, without waiting.
    fn drain(&mut self) {
        if self.ws.get_ref().set_nonblocking(true).is_err() {
            return;
        }
        // Non-blocking, so this returns WouldBlock (an Err) as soon as the
        // socket is empty; any other error will resurface on the next call.
        while self.read_one(Instant::now(), "drain").is_ok() {}
        let _ = self.ws.get_ref().set_nonblocking(false);
    }

    /// Removes and returns the first buffered event `method` of `session`.
    fn take_event(&mut self, session: &str, method: &str) -> Option<Value> {
        let events = &mut self.sessions.get_mut(session)?.events;
        let pos = events.iter().position(|e| e["method"] == method)?;
        events.remove(pos)
    }
}

/// Turns console calls, uncaught exceptions and log entries into
/// `"source: text"`; `None` for any other event.
fn format_message(method: &str, params: &Value) -> Option<String> {
    match method {
        "Runtime.consoleAPICalled" => {
            let kind = params["type"].as_str().unwrap_or("log");
            let args: Vec<String> = params["args"]
                .as_array()
                .map(|args| args.iter().map(remote_object_text).collect())
                .unwrap_or_default();
            Some(format!("console.{kind}: {}", args.join(" ")))
        }
        "Runtime.exceptionThrown" => {
            let details = &params["exceptionDetails"];
            let text = details["text"].as_str().unwrap_or("exception");
            match details["exception"]["description"].as_str() {
                Some(description) => Some(format!("exception: {text} {description}")),
                None => Some(format!("exception: {text}")),
            }
        }
        // Messages the browser itself logs, e.g. Content-Security-Policy
        // violations (source "security").
        "Log.entryAdded" => {
            let entry = &params["entry"];
            let source = entry["source"].as_str().unwrap_or("log");
            let text = entry["text"].as_str().unwrap_or("");
            Some(format!("{source}: {text}"))
        }
        _ => None,
    }
}

/// A console argument as text: primitives by value, objects by description.
fn remote_object_text(arg: &Value) -> String {
    match arg.get("value") {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => arg["description"]
            .as_str()
            .or_else(|| arg["unserializableValue"].as_str())
            .or_else(|| arg["type"].as_str())
            .unwrap_or("?")
            .to_string(),
    }
}

impl Page {
    /// Sends a command to this tab's session.
    fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.conn
            .borrow_mut()
            .call(Some(&self.session_id), method, params)
    }

    /// Navigates to `url` and waits (up to 20 s) for this tab's
    /// `Page.loadEventFired`.
    pub fn goto(&self, url: &str) -> Result<(), String> {
        // A load event still buffered from an earlier navigation must not be
        // mistaken for this one's.
        {
            let mut conn = self.conn.borrow_mut();
            if let Some(buffer) = conn.sessions.get_mut(&self.session_id) {
                buffer
                    .events
                    .retain(|e| e["method"] != "Page.loadEventFired");
            }
        }
        let nav = self.call("Page.navigate", json!({ "url": url }))?;
        if let Some(error) = nav.get("errorText").and_then(Value::as_str) {
            return Err(format!("Page.navigate to {url} failed: {error}"));
        }
        // A same-document navigation (only the #fragment changes) has no
        // loaderId and fires no load event.
        if nav.get("loaderId").is_none() {
            return Ok(());
        }
        let what = format!("load event of {url}");
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let mut conn = self.conn.borrow_mut();
        loop {
            if conn
                .take_event(&self.session_id, "Page.loadEventFired")
                .is_some()
            {
                return Ok(());
            }
            if conn
                .take_event(&self.session_id, "Inspector.targetCrashed")
                .is_some()
            {
                return Err(format!("{what}: the tab crashed"));
            }
            if Instant::now() > deadline {
                return Err(format!("{what}: not fired within {LOAD_TIMEOUT:?}"));
            }
            conn.read_one(deadline, &what)?;
        }
    }

    /// Evaluates `js` in the page (as if with a user gesture) and returns its
    /// value as JSON; promises are awaited. `undefined` is `Null`; values
    /// JSON cannot hold (NaN, Infinity, -0, BigInt) come back as strings. A
    /// thrown exception is an `Err` with its description.
    pub fn eval(&self, js: &str) -> Result<Value, String> {
        let reply = self.call(
            "Runtime.evaluate",
            json!({
                "expression": js,
                "returnByValue": true,
                "awaitPromise": true,
                "userGesture": true,
            }),
        )?;
        if let Some(details) = reply.get("exceptionDetails") {
            let description = details["exception"]["description"]
                .as_str()
                .or_else(|| details["exception"]["value"].as_str())
                .or_else(|| details["text"].as_str())
                .unwrap_or("unknown exception");
            return Err(format!("eval of `{js}` threw: {description}"));
        }
        let result = &reply["result"];
        if let Some(value) = result.get("value") {
            return Ok(value.clone());
        }
        if let Some(unserializable) = result.get("unserializableValue") {
            return Ok(unserializable.clone());
        }
        Ok(Value::Null)
    }

    /// Polls `eval(condition)` every 50 ms until it is JSON `true`, for up
    /// to `timeout`. Errors while polling (e.g. "Execution context was
    /// destroyed" during a navigation after a click) count as "not yet".
    pub fn wait_for(&self, condition: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.eval(condition) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(value) => format!("last value {value}"),
                Err(e) => format!("last error: {e}"),
            };
            if Instant::now() > deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for `{condition}` ({last})"
                ));
            }
            sleep(Duration::from_millis(50));
        }
    }

    /// Writes a PNG screenshot of the whole page (not only the viewport) to
    /// `path`, creating parent directories.
    pub fn screenshot(&self, path: &Path) -> Result<(), String> {
        // captureBeyondViewport alone still captures just the viewport; a
        // clip with the full content size is what makes it full-page.
        let metrics = self.call("Page.getLayoutMetrics", json!({}))?;
        let size = if metrics["cssContentSize"].is_object() {
            &metrics["cssContentSize"]
        } else {
            &metrics["contentSize"]
        };
        let width = size["width"].as_f64().unwrap_or(f64::from(VIEWPORT_WIDTH));
        let height = size["height"]
            .as_f64()
            .unwrap_or(f64::from(VIEWPORT_HEIGHT));
        let shot = self.call(
            "Page.captureScreenshot",
            json!({
                "format": "png",
                "captureBeyondViewport": true,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": width.ceil().max(1.0),
                    "height": height.ceil().max(1.0),
                    "scale": 1,
                },
            }),
        )?;
        let data = shot["data"]
            .as_str()
            .ok_or("Page.captureScreenshot: response has no data")?;
        super::write_base64(path, data).map_err(|e| format!("Page.captureScreenshot: {e}"))
    }

    /// Everything the page logged so far, oldest first, as `"source: text"`:
    /// `console.<type>: args...` for console calls, `exception: ...` for
    /// uncaught exceptions, and `<source>: text` for browser log entries,
    /// which is where Content-Security-Policy violations appear with source
    /// `security`. Their wording depends on the Chromium version: older ones
    /// say `"Refused to execute inline script because it violates ..."`,
    /// Chromium 156 says `"Executing inline script violates the following
    /// Content Security Policy directive ... The action has been blocked."`.
    pub fn messages(&self) -> Vec<String> {
        let mut conn = self.conn.borrow_mut();
        conn.drain();
        conn.sessions
            .get(&self.session_id)
            .map(|b| b.messages.clone())
            .unwrap_or_default()
    }
}
