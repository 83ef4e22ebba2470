//! A small, synchronous WebDriver BiDi driver for headless Firefox, used by
//! integration tests that need a real browser.
//!
//! Design:
//!
//! * **No geckodriver.** Firefox speaks WebDriver BiDi itself when started
//!   with `--remote-debugging-port`, so the tests need nothing but the
//!   `firefox-esr` (or `firefox`) binary. We pass port `0` so the OS picks a
//!   free port atomically (binding a probe listener and dropping it would race
//!   with parallel tests), and read the real port from the line Firefox prints
//!   on stderr, `WebDriver BiDi listening on ws://127.0.0.1:PORT`. Firefox's
//!   output goes to a log file next to the profile, so nothing can fill a pipe
//!   and block the browser, and a failed start can quote the log. As a
//!   fallback we also read `WebDriverBiDiServer.json`, which Firefox writes
//!   into the profile with the same host and port.
//! * **Throw-away profile.** Every [`Firefox`] gets a fresh profile in a
//!   temporary directory with a `user.js` that turns off first-run pages,
//!   updates, telemetry and background network traffic, so runs are
//!   reproducible and do not reach the internet. The directory is removed
//!   after the browser has been killed.
//! * **Synchronous and single-threaded.** One blocking websocket
//!   (`tungstenite`, no TLS, no async runtime). Each command is sent with a
//!   fresh id and we read messages until the response with that id arrives;
//!   the `TcpStream` has a short read timeout so the per-command deadline is
//!   checked regularly instead of blocking forever on a silent browser.
//!   Events read meanwhile (only `log.entryAdded`, the one we subscribe to) are
//!   buffered; responses to commands we gave up on are dropped.
//! * **Plain JSON results.** BiDi serializes JavaScript values as typed
//!   "remote values"; [`Firefox::eval`] turns them into ordinary
//!   `serde_json::Value`s so tests can compare with `json!`.
//! * **Errors are `String`s** naming the command and what went wrong; tests
//!   just `.unwrap()` or `?` them. The library itself never panics.
//! * **Cleanup in `Drop`.** The session is ended politely, then the browser
//!   process is killed and reaped, so a failing test does not leak browsers.

// Every integration-test binary compiles the shared `common` module, but not
// every binary drives a browser; without this, those binaries would warn (and
// fail `clippy -D warnings`) about an unused driver.
#![allow(dead_code)]

use std::fs;
use std::fs::File;
use std::io::ErrorKind;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How long the browser may take to open its BiDi endpoint. Cold starts on a
/// busy 2-core machine take a few seconds; 30 s leaves a wide margin.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
/// Upper bound for any single BiDi command (including a full page load).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
/// Read timeout on the socket: how often a blocked read wakes up to check the
/// command deadline.
const READ_POLL: Duration = Duration::from_millis(200);
/// Full-page screenshots arrive as one base64 text message and can be large;
/// tungstenite's defaults (64 MiB message, 16 MiB frame) are too small for
/// long pages.
const MAX_MESSAGE_SIZE: usize = 512 << 20;
/// The line Firefox prints on stderr once the BiDi server is listening.
const LISTENING_PREFIX: &str = "WebDriver BiDi listening on ws://";

/// Preferences written to the profile's `user.js`. Firefox's remote agent
/// already applies its own "recommended preferences" (`remote.prefs.recommended`,
/// on by default); these add what keeps a test run quiet, fast and offline.
const USER_JS: &str = r#"// Written by tests/common/firefox.rs.
// No first-run, welcome or what's-new pages, no default-browser prompt.
user_pref("browser.shell.checkDefaultBrowser", false);
user_pref("browser.startup.homepage_override.mstone", "ignore");
user_pref("browser.startup.page", 0);
user_pref("startup.homepage_welcome_url", "about:blank");
user_pref("startup.homepage_welcome_url.additional", "");
user_pref("browser.aboutwelcome.enabled", false);
user_pref("trailhead.firstrun.didSeeAboutWelcome", true);
user_pref("browser.newtabpage.enabled", false);
user_pref("browser.uitour.enabled", false);
user_pref("browser.translations.automaticallyPopup", false);
user_pref("browser.sessionstore.resume_from_crash", false);
user_pref("toolkit.startup.max_resumed_crashes", -1);
user_pref("browser.tabs.warnOnClose", false);
user_pref("dom.disable_beforeunload", true);
// No updates of the browser or of add-ons.
user_pref("app.update.disabledForTesting", true);
user_pref("app.update.auto", false);
user_pref("extensions.update.enabled", false);
user_pref("extensions.getAddons.cache.enabled", false);
user_pref("extensions.pocket.enabled", false);
// No telemetry, studies or experiments.
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("datareporting.healthreport.uploadEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("toolkit.telemetry.unified", false);
user_pref("toolkit.telemetry.server", "");
user_pref("toolkit.telemetry.reportingpolicy.firstRun", false);
user_pref("app.normandy.enabled", false);
user_pref("app.shield.optoutstudies.enabled", false);
user_pref("messaging-system.rsexperimentloader.enabled", false);
user_pref("services.settings.server", "data:,#remote-settings-dummy/v1");
// No background connections (tests run without internet access) and no
// speculative connections to the test's own server.
user_pref("network.proxy.type", 0);
user_pref("network.captive-portal-service.enabled", false);
user_pref("network.connectivity-service.enabled", false);
user_pref("captivedetect.canonicalURL", "");
user_pref("browser.region.network.url", "");
user_pref("geo.provider.network.url", "");
user_pref("browser.safebrowsing.malware.enabled", false);
user_pref("browser.safebrowsing.phishing.enabled", false);
user_pref("browser.safebrowsing.downloads.enabled", false);
user_pref("browser.safebrowsing.blockedURIs.enabled", false);
user_pref("network.dns.disablePrefetch", true);
user_pref("network.prefetch-next", false);
user_pref("network.http.speculative-parallel-limit", 0);
// Save CPU on small machines: no spare content process kept warm.
user_pref("dom.ipc.processPrelaunch.enabled", false);
"#;

/// A headless Firefox driven over WebDriver BiDi. Dropping it ends the
/// session and kills the browser.
pub struct Firefox {
    /// The browser process; killed and reaped in `Drop`.
    child: Child,
    /// Holds the profile and the browser's log file; only kept to be deleted
    /// on drop. `Drop::drop` kills the browser before fields are dropped, so
    /// the directory is removed after the browser is gone.
    _dir: tempfile::TempDir,
    /// The BiDi connection (`ws://127.0.0.1:PORT/session`).
    socket: WebSocket<TcpStream>,
    /// Id for the next command; responses are matched on it.
    next_id: u64,
    /// `log.entryAdded` events seen so far, formatted as "level: text".
    log: Vec<String>,
    /// Id of the top-level browsing context (the one tab) all commands target.
    context: String,
}

impl Firefox {
    /// Starts a headless Firefox with a fresh profile and opens a BiDi
    /// session on its single tab.
    ///
    /// Returns `Ok(None)`, after printing why, when neither `firefox-esr` nor
    /// `firefox` runs (`--version` fails), so tests can skip on machines
    /// without a browser. Returns `Err` when a browser is installed but does
    /// not start or does not answer: that is a real failure, not a skip.
    pub fn launch() -> Result<Option<Firefox>, String> {
        let Some(binary) = find_binary() else {
            println!(
                "skipping: no Firefox found (`firefox-esr --version` and `firefox --version` both failed)"
            );
            return Ok(None);
        };

        let dir = tempfile::Builder::new()
            .prefix("bidi-firefox-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let profile = dir.path().join("profile");
        fs::create_dir(&profile)
            .map_err(|e| format!("cannot create {}: {e}", profile.display()))?;
        fs::write(profile.join("user.js"), USER_JS)
            .map_err(|e| format!("cannot write user.js: {e}"))?;
        let log_path = dir.path().join("firefox.log");
        let log = File::create(&log_path)
            .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
        // Both streams share one file description (and offset), so their
        // lines interleave instead of overwriting each other.
        let log_err = log
            .try_clone()
            .map_err(|e| format!("cannot duplicate the log file handle: {e}"))?;

        let mut child = Command::new(binary)
            .arg("--headless")
            .arg("--no-remote")
            .arg("--profile")
            .arg(&profile)
            .arg("--remote-debugging-port")
            .arg("0")
            .arg("about:blank")
            .env("MOZ_HEADLESS", "1")
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;

        let socket = match connect(&mut child, &log_path, &profile) {
            Ok(socket) => socket,
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{binary} did not start: {e}\n--- browser log ---\n{}",
                    log_tail(&log_path)
                ));
            }
        };

        // From here on `Drop` cleans up if a setup command fails.
        let mut firefox = Firefox {
            child,
            _dir: dir,
            socket,
            next_id: 1,
            log: Vec::new(),
            context: String::new(),
        };
        firefox.command("session.new", json!({ "capabilities": {} }))?;
        let tree = firefox.command("browsingContext.getTree", json!({ "maxDepth": 0 }))?;
        firefox.context = tree["contexts"][0]["context"]
            .as_str()
            .ok_or_else(|| format!("browsingContext.getTree: no top-level context in {tree}"))?
            .to_string();
        firefox.command("session.subscribe", json!({ "events": ["log.entryAdded"] }))?;
        Ok(Some(firefox))
    }

    /// Navigates the tab to `url` and returns once the new document is
    /// complete (`browsingContext.navigate` with `wait: "complete"`), so the
    /// page's scripts have run and `eval` sees the new document. Times out
    /// after 30 s.
    pub fn goto(&mut self, url: &str) -> Result<(), String> {
        let params = json!({ "context": self.context, "url": url, "wait": "complete" });
        self.command("browsingContext.navigate", params).map(|_| ())
    }

    /// Evaluates the JavaScript expression `js` in the tab's current document
    /// and returns its value as plain JSON.
    ///
    /// Promises are awaited, so `fetch(...).then(r => r.status)` works. Strings,
    /// numbers, booleans, arrays and plain objects map to their JSON
    /// counterparts; `null` and `undefined` become `Null`, as do `NaN` and
    /// the infinities (as in `JSON.stringify`). Values without a JSON
    /// equivalent (DOM nodes, functions, maps, ...) become a string naming
    /// their BiDi type, e.g. `"node"`. A thrown exception is `Err` with its
    /// text.
    pub fn eval(&mut self, js: &str) -> Result<Value, String> {
        self.eval_until(js, Instant::now() + COMMAND_TIMEOUT)
    }

    /// Polls `eval(condition)` every 50 ms until it returns JSON `true`.
    ///
    /// Evaluation errors count as "not yet": while a navigation is in
    /// progress the old document's realm goes away and evaluation fails.
    /// Returns `Err` naming the condition (and the last result) on timeout.
    pub fn wait_for(&mut self, condition: &str, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            // Give each attempt at least a moment, even at the very end.
            let attempt_deadline = deadline.max(Instant::now() + Duration::from_secs(1));
            let last = match self.eval_until(condition, attempt_deadline) {
                Ok(Value::Bool(true)) => return Ok(()),
                Ok(value) => format!("last value {value}"),
                Err(e) => format!("last error {e}"),
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "timed out after {timeout:?} waiting for `{condition}` ({last})"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Saves a PNG screenshot of the whole document (not just the viewport:
    /// `origin: "document"`) to `path`, creating parent directories.
    pub fn screenshot(&mut self, path: &Path) -> Result<(), String> {
        let params = json!({ "context": self.context, "origin": "document" });
        let result = self.command("browsingContext.captureScreenshot", params)?;
        let data = result["data"]
            .as_str()
            .ok_or("browsingContext.captureScreenshot: response has no data")?;
        super::write_base64(path, data)
            .map_err(|e| format!("browsingContext.captureScreenshot: {e}"))
    }

    /// Console messages and uncaught JavaScript errors seen so far, oldest
    /// first, as `"level: text"` (e.g. `"info: hello"`, `"error: ..."`).
    ///
    /// Events that already arrived on the socket are read first, so output of
    /// a finished `eval` normally shows up; the browser reports them
    /// asynchronously, though, so a test that must see one should poll.
    pub fn messages(&mut self) -> Vec<String> {
        self.drain_events();
        self.log.clone()
    }

    /// Sends one BiDi command and waits up to `COMMAND_TIMEOUT` for its result.
    fn command(&mut self, method: &str, params: Value) -> Result<Value, String> {
        self.command_until(method, params, Instant::now() + COMMAND_TIMEOUT)
    }

    /// Sends one BiDi command and waits until `deadline` for the response
    /// with its id, buffering events that arrive meanwhile. An error response
    /// becomes `Err("method: error: message")`.
    fn command_until(
        &mut self,
        method: &str,
        params: Value,
        deadline: Instant,
    ) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let request = json!({ "id": id, "method": method, "params": params });
        self.socket
            .send(Message::text(request.to_string()))
            .map_err(|e| format!("{method}: cannot send: {e}"))?;
        loop {
            if Instant::now() >= deadline {
                return Err(format!("{method}: no response within the time limit"));
            }
            let Some(message) = self.read_message().map_err(|e| format!("{method}: {e}"))? else {
                continue;
            };
            if message["id"].as_u64() != Some(id) {
                // An event (already buffered) or a late answer to a command we
                // stopped waiting for.
                continue;
            }
            if message["type"] == "error" {
                return Err(format!(
                    "{method}: {}: {}",
                    message["error"].as_str().unwrap_or("unknown error"),
                    message["message"].as_str().unwrap_or("")
                ));
            }
            return Ok(message["result"].clone());
        }
    }

    /// Reads one websocket message. `Ok(None)` when the read timed out or the
    /// message was not a JSON text message; events are buffered here.
    fn read_message(&mut self) -> Result<Option<Value>, String> {
        let text = match self.socket.read() {
            Ok(Message::Text(text)) => text,
            Ok(Message::Close(frame)) => {
                return Err(format!("the browser closed the connection ({frame:?})"));
            }
            Ok(_) => return Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(format!("connection error: {e}")),
        };
        let message: Value = serde_json::from_str(text.as_str())
            .map_err(|e| format!("invalid JSON from the browser: {e}"))?;
        if message["type"] == "event" && message["method"] == "log.entryAdded" {
            let entry = &message["params"];
            self.log.push(format!(
                "{}: {}",
                entry["level"].as_str().unwrap_or("?"),
                entry["text"].as_str().unwrap_or("")
            ));
        }
        Ok(Some(message))
    }

    /// Reads whatever messages are already waiting, without blocking for
    /// more than a few milliseconds.
    fn drain_events(&mut self) {
        if self
            .socket
            .get_ref()
            .set_read_timeout(Some(Duration::from_millis(5)))
            .is_err()
        {
            return;
        }
        let stop = Instant::now() + Duration::from_millis(500);
        while Instant::now() < stop {
            match self.read_message() {
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
        let _ = self.socket.get_ref().set_read_timeout(Some(READ_POLL));
    }

    /// `script.evaluate` with a custom deadline (used by `wait_for`).
    fn eval_until(&mut self, js: &str, deadline: Instant) -> Result<Value, String> {
        let params = json!({
            "expression": js,
            "target": { "context": self.context },
            "awaitPromise": true,
            "resultOwnership": "none",
        });
        let result = self.command_until("script.evaluate", params, deadline)?;
        match result["type"].as_str() {
            Some("success") => Ok(plain_value(&result["result"])),
            Some("exception") => Err(format!(
                "script.evaluate: exception: {}",
                result["exceptionDetails"]["text"]
                    .as_str()
                    .unwrap_or("(no text)")
            )),
            _ => Err(format!("script.evaluate: unexpected result {result}")),
        }
    }
}

impl Drop for Firefox {
    /// Ends the session politely (briefly: the browser may be hung), then
    /// kills and reaps the browser so no process outlives the test. The
    /// profile directory is removed afterwards when `dir` is dropped.
    fn drop(&mut self) {
        let _ = self.command_until(
            "session.end",
            json!({}),
            Instant::now() + Duration::from_secs(2),
        );
        let _ = self.socket.close(None);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `firefox-esr`, `firefox` whose `--version` runs successfully.
fn find_binary() -> Option<&'static str> {
    ["firefox-esr", "firefox"].into_iter().find(|name| {
        Command::new(name)
            .arg("--version")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    })
}

/// Waits for the browser to announce its BiDi endpoint and opens the
/// websocket to `/session`. Fails early if the browser exits.
fn connect(
    child: &mut Child,
    log_path: &Path,
    profile: &Path,
) -> Result<WebSocket<TcpStream>, String> {
    let deadline = Instant::now() + STARTUP_TIMEOUT;
    let address = loop {
        if let Some(address) = announced_address(log_path, profile) {
            break address;
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the browser exited with {status}"));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no BiDi endpoint announced within {STARTUP_TIMEOUT:?}"
            ));
        }
        thread::sleep(Duration::from_millis(50));
    };

    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE_SIZE))
        .max_frame_size(Some(MAX_MESSAGE_SIZE));
    let url = format!("ws://{address}/session");
    loop {
        let error = match TcpStream::connect(&address) {
            Ok(stream) => {
                // Blocking handshake, bounded by the remaining startup time;
                // afterwards short read timeouts let commands check deadlines.
                let remaining = deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_secs(1));
                stream
                    .set_read_timeout(Some(remaining))
                    .map_err(|e| format!("cannot set a read timeout: {e}"))?;
                let _ = stream.set_nodelay(true);
                match tungstenite::client::client_with_config(url.as_str(), stream, Some(config)) {
                    Ok((socket, _response)) => {
                        socket
                            .get_ref()
                            .set_read_timeout(Some(READ_POLL))
                            .map_err(|e| format!("cannot set a read timeout: {e}"))?;
                        return Ok(socket);
                    }
                    Err(e) => format!("websocket handshake with {url} failed: {e}"),
                }
            }
            Err(e) => format!("cannot connect to {address}: {e}"),
        };
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("the browser exited with {status} ({error})"));
        }
        if Instant::now() >= deadline {
            return Err(error);
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// `host:port` of the BiDi server once the browser has announced it: from the
/// "WebDriver BiDi listening on ws://..." line in its log, or else from the
/// `WebDriverBiDiServer.json` it writes into the profile.
fn announced_address(log_path: &Path, profile: &Path) -> Option<String> {
    if let Ok(bytes) = fs::read(log_path) {
        let log = String::from_utf8_lossy(&bytes);
        if let Some(start) = log.find(LISTENING_PREFIX) {
            let rest = &log[start + LISTENING_PREFIX.len()..];
            let address: String = rest
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '/')
                .collect();
            if address.contains(':') {
                return Some(address);
            }
        }
    }
    let text = fs::read_to_string(profile.join("WebDriverBiDiServer.json")).ok()?;
    let info: Value = serde_json::from_str(&text).ok()?;
    let host = info["ws_host"].as_str()?;
    let port = info["ws_port"].as_u64()?;
    Some(format!("{host}:{port}"))
}

/// The last few KiB of the browser's log, for error messages.
fn log_tail(log_path: &Path) -> String {
    let bytes = fs::read(log_path).unwrap_or_default();
    let start = bytes.len().saturating_sub(4096);
    String::from_utf8_lossy(&bytes[start..]).into_owned()
}

/// Converts a BiDi `RemoteValue` into plain JSON (see [`Firefox::eval`]).
fn plain_value(remote: &Value) -> Value {
    let kind = remote["type"].as_str().unwrap_or("unknown");
    let value = &remote["value"];
    match kind {
        "undefined" | "null" => Value::Null,
        "string" | "boolean" => value.clone(),
        "number" => match value {
            Value::Number(_) => value.clone(),
            // BiDi sends non-JSON numbers as strings: "NaN", "-0",
            // "Infinity", "-Infinity".
            Value::String(special) if special == "-0" => json!(0),
            _ => Value::Null,
        },
        "bigint" => value.clone(),
        // Without "value" the object was already serialized elsewhere in the
        // result (a cycle or shared reference) or is beyond the depth limit.
        "array" => match value.as_array() {
            Some(items) => Value::Array(items.iter().map(plain_value).collect()),
            None => Value::String(kind.to_string()),
        },
        "object" => match value.as_array() {
            Some(pairs) => {
                let mut object = Map::new();
                for pair in pairs {
                    if let Some([key, item]) = pair.as_array().map(Vec::as_slice) {
                        let key = match key {
                            Value::String(name) => name.clone(),
                            other => match plain_value(other) {
                                Value::String(name) => name,
                                converted => converted.to_string(),
                            },
                        };
                        object.insert(key, plain_value(item));
                    }
                }
                Value::Object(object)
            }
            None => Value::String(kind.to_string()),
        },
        other => Value::String(other.to_string()),
    }
}
