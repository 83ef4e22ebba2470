//! Helpers shared by the integration tests. Each test binary uses a subset of them.

#![allow(dead_code)]

pub mod browser;
pub mod firefox;
pub mod pki;
pub mod server;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hotline_router::{RuleSet, load_dir};

/// The bundled `rules/` directory.
pub fn bundled_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/rules")).to_path_buf()
}

/// The bundled rule set, loaded once per test binary.
pub fn bundled() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| load_dir(&bundled_dir()).expect("bundled rules load"))
}

/// The bundled files of a rule set without its dispatch rules: departments, the article
/// catalogue, categories, settings, hand-offs, out-of-scope matters, places and the calendar.
pub const CORE_FILES: &[&str] = &[
    "departments.yaml",
    "regulations.yaml",
    "categories.yaml",
    "settings.yaml",
    "handoffs.yaml",
    "out-of-scope.yaml",
    "places.yaml",
    "calendar.yaml",
];

/// One dispatch rule on a narrow matter (unmarked prices), for tests that need a rule set with
/// the core files and little else: a set without any dispatch rule does not load (E0108).
pub const PRICE_TAG_RULE: &str = "rules:\n  - id: price-tags\n    topic: 明码标价\n    category: 商贸旅游/市场监管/物价监督\n    department: market-regulation\n    regulations: [价格法/第十三条]\n    conditions: {all: [[明码标价]]}\n    examples: [超市商品没有明码标价]\n";

/// The core files plus [`PRICE_TAG_RULE`] (as `price-tags.yaml`).
pub fn core_rules_dir() -> tempfile::TempDir {
    let dir = rules_dir_with(CORE_FILES);
    std::fs::write(dir.path().join("price-tags.yaml"), PRICE_TAG_RULE).unwrap();
    dir
}

/// GET /metrics of a running server over a plain TCP connection: the whole HTTP response.
pub fn scrape(addr: &str) -> String {
    let r = http(addr, "GET", "/metrics", &[], b"");
    format!("{}\n{}", r.head, String::from_utf8_lossy(&r.body))
}

/// An HTTP/1.1 response as [`http`] read it.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// The status line and the headers.
    pub head: String,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request over a new plain TCP connection (`Connection: close`), with `Host:
/// localhost` unless `headers` give one.
pub fn http(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> HttpResponse {
    use std::io::{Read, Write};
    let mut conn = std::net::TcpStream::connect(addr).expect("connects");
    let mut req = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        req.push_str("Host: localhost\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    let announced = headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-length"));
    if !announced && (!body.is_empty() || method == "POST") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    conn.write_all(req.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body, and close: not an error here.
    let _ = conn.write_all(body);
    let mut raw = Vec::new();
    let _ = conn.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP response head");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status code");
    HttpResponse {
        status,
        head,
        body: raw[split + 4..].to_vec(),
    }
}

/// Decodes base64 (standard or URL-safe, whitespace ignored, stopping at padding) and writes the
/// bytes to `path`, creating its folder: the browsers' screenshots. Written here to avoid a
/// dependency for one call.
pub fn write_base64(path: &Path, text: &str) -> Result<(), String> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut buffer, mut bits) = (0u32, 0);
    for (index, byte) in text.bytes().enumerate() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            b' ' | b'\t' | b'\r' | b'\n' => continue,
            _ => return Err(format!("invalid base64 byte {byte:#04x} at offset {index}")),
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    std::fs::write(path, out).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Every `*.yaml` file under `root`, at any depth.
pub fn yaml_files(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// A copy of the bundled rules (every YAML file and both models), with `edit` applied to
/// settings.yaml and the files in `leave_out` (paths relative to `rules/`) not copied.
pub fn bundled_copy(edit: impl Fn(&str) -> String, leave_out: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = bundled_dir();
    for f in yaml_files(&src)
        .into_iter()
        .chain([src.join("classifier.model"), src.join("emergency.model")])
    {
        let rel = f.strip_prefix(&src).unwrap();
        if leave_out.iter().any(|l| Path::new(l) == rel) {
            continue;
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&f, &to).unwrap();
    }
    let settings = dir.path().join("settings.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    std::fs::write(&settings, edit(&text)).unwrap();
    dir
}

/// `settings.yaml`'s text without its emergency-check line (`    emergency: …`), whatever the
/// threshold: the check turned off.
pub fn without_emergency_setting(settings: &str) -> String {
    without_setting_line(settings, "    emergency:")
}

/// `settings.yaml`'s text without the one line that starts with `prefix` (a setting, whatever
/// its value); panics unless there is exactly one.
pub fn without_setting_line(settings: &str, prefix: &str) -> String {
    let kept: Vec<&str> = settings
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(prefix))
        .collect();
    assert_eq!(
        kept.len() + 1,
        settings.split_inclusive('\n').count(),
        "settings.yaml has one `{prefix}` line"
    );
    kept.concat()
}

/// The bundled emergency check's threshold (`settings.model.emergency`).
pub fn emergency_threshold() -> f64 {
    bundled()
        .settings()
        .model
        .emergency
        .expect("the bundled settings turn the emergency check on")
}

/// A temporary rules directory holding copies of the named bundled files.
pub fn rules_dir_with(files: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = bundled_dir();
    for f in files {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    dir
}
