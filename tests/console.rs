//! The web console, as its readers use it: the real `serve` with `--console-listen`, its pages
//! and JSON API over HTTP, and headless Chromium (Debian's `chromium`) driving the pages. The
//! browser tests skip with a printed reason when no Chromium runs here; screenshots are written
//! to `target/console-screenshots/`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::browser::{Browser, Page};
use common::server::Server;
use common::{HttpResponse, http};
use hotline_router::proto::v1 as pb;

/// The reference case of the brief: who pays the property fee on a flat not yet transferred
/// (《物业管理条例》第四十一条). Written for these tests.
const PROPERTY_FEE: &str =
    "我在高新区买的房子还没过户，物业公司催我交物业费，未过户的房产物业费应该由谁交？";

/// Payloads a page must show as text. Each would set `window.__xss` if it ran.
const XSS: &[&str] = &[
    "<script>window.__xss=1</script>物业费",
    "\"><img src=x onerror=\"window.__xss=2\">",
    "'><svg onload=window.__xss=3>",
    "</textarea><script>window.__xss=4</script>",
    "<iframe srcdoc=\"<script>parent.__xss=5</script>\"></iframe>",
    "javascript:window.__xss=6",
    "<a href=\"javascript:window.__xss=7\" id=\"xss-link\">点我</a>",
    "<style>body{display:none}</style><math><mi xlink:href=\"javascript:window.__xss=8\">x</mi></math>",
];

fn console_server(flags: &[&str]) -> (Server, String) {
    let mut all = vec!["--console-listen", "127.0.0.1:0", "--store", "none"];
    all.extend_from_slice(flags);
    let server = Server::start(&all);
    let console = server.console.clone().expect("the console listens");
    (server, console)
}

fn get(addr: &str, target: &str) -> HttpResponse {
    http(addr, "GET", target, &[], b"")
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots")
}

/// Held by each browser test: one browser at a time, so that a slow CI machine running the
/// tests in parallel does not start five browsers and five servers at once on two cores.
fn one_browser_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts headless Chromium, or prints why the test is skipped.
fn browser(test: &str) -> Option<Browser> {
    match Browser::launch() {
        Ok(Some(b)) => Some(b),
        Ok(None) => {
            println!(
                "skipped {test}: no headless Chromium here (Debian: apt-get install chromium)"
            );
            None
        }
        Err(e) => panic!("Chromium is installed but does not start: {e}"),
    }
}

/// Waits until the page that a click or a submit opened has loaded, with the element `id`.
fn arrive(page: &Page, id: &str) {
    page.wait_for(
        &format!("document.readyState === 'complete' && !!document.getElementById('{id}')"),
        Duration::from_secs(60),
    )
    .unwrap();
}

/// The text of the element `id`.
fn text_of(page: &Page, id: &str) -> serde_json::Value {
    page.eval(&format!("document.getElementById('{id}').textContent"))
        .unwrap()
}

/// A full-page screenshot under `target/console-screenshots/`, its path printed.
fn shoot(page: &Page, name: &str) {
    let shot = screenshots().join(name);
    page.screenshot(&shot).unwrap();
    println!("screenshot: {}", shot.display());
}

/// What the page's console and security reports said, minus noise that is not the page's.
fn csp_violations(page: &Page) -> Vec<String> {
    page.messages()
        .into_iter()
        .filter(|m| m.contains("Content Security Policy") || m.contains("Content-Security-Policy"))
        .collect()
}

#[test]
fn every_page_carries_a_strict_policy_and_loads_nothing_from_elsewhere() {
    let (_server, c) = console_server(&[]);
    let pages = [
        format!("/try?text={}", url_encode(PROPERTY_FEE)),
        "/rules".to_owned(),
        format!("/rules?q={}", url_encode("物业费")),
        "/rules/property-fee-unsold".to_owned(),
        "/reports".to_owned(),
    ];
    for target in &pages {
        let r = get(&c, target);
        assert_eq!(r.status, 200, "{target}: {}", r.head);
        let csp = r.header("content-security-policy").unwrap_or("");
        for directive in [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "frame-ancestors 'none'",
            "form-action 'self'",
        ] {
            assert!(csp.contains(directive), "{target}: {csp}");
        }
        assert!(!csp.contains("unsafe"), "{target}: {csp}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-store"), "{target}");
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"), "{target}");
        let body = r.text();
        // No inline script or style: one script and one stylesheet, from the console itself.
        assert_eq!(body.matches("<script").count(), 1, "{target}");
        assert!(body.contains("<script src=\"/assets/console.js\" defer></script>"));
        assert!(
            !body.contains("<style") && !body.contains(" style=\""),
            "{target}"
        );
        for attr in [" onclick=", " onload=", " onerror="] {
            assert!(!body.contains(attr), "{target} has an inline handler");
        }
        // Every link and source is on the console itself: nothing from a CDN or the network.
        for attr in ["src=\"", "href=\""] {
            for (i, _) in body.match_indices(attr) {
                let next = body[i + attr.len()..].chars().next();
                assert!(
                    matches!(next, Some('/' | '#' | '?')),
                    "{target}: {}",
                    &body[i..(i + 60).min(body.len())]
                );
            }
        }
    }
    for (asset, kind) in [
        ("/assets/console.css", "text/css"),
        ("/assets/console.js", "text/javascript"),
    ] {
        let r = get(&c, asset);
        assert_eq!(r.status, 200);
        assert!(r.header("content-type").unwrap_or("").starts_with(kind));
        assert!(
            !r.text().contains("http"),
            "{asset} loads nothing from the network"
        );
    }
}

#[test]
fn xss_attempts_are_escaped_in_every_page_that_echoes_input() {
    let (_server, c) = console_server(&[]);
    for payload in XSS {
        let e = url_encode(payload);
        for target in [
            format!("/try?text={e}&title={e}&place={e}"),
            format!("/try?text={e}&received={e}"),
            format!("/rules?q={e}"),
            format!("/rules/{e}"),
            format!("/reports?from={e}&to={e}"),
        ] {
            let body = get(&c, &target).text();
            for raw in [
                "<script>window",
                "<img src=x",
                "<svg onload",
                "<iframe",
                "<a href=\"javascript",
                "<style>",
                "<math>",
            ] {
                assert!(!body.contains(raw), "{target} echoes {raw} unescaped");
            }
        }
    }
}

#[test]
fn the_try_page_shows_the_decision_its_articles_and_a_permanent_link() {
    let (_server, c) = console_server(&[]);
    let target = format!("/try?text={}&received=2026-12-01", url_encode(PROPERTY_FEE));
    let body = get(&c, &target).text();
    assert!(body.contains("<dd id=\"department\" data-id=\"housing\">住房和城乡建设局</dd>"));
    assert!(body.contains("《物业管理条例》第四十一条"));
    assert!(
        body.contains("已竣工但尚未出售或者尚未交给物业买受人的物业，物业服务费用由建设单位交纳。")
    );
    assert!(
        body.contains("<b id=\"due-date\">"),
        "a received date gives a due date"
    );
    assert!(body.contains("href=\"/rules/property-fee-unsold\""));
    // The permanent link is the page's own query: following it gives the same decision.
    let link_start = body
        .find("id=\"permalink\" href=\"")
        .expect("a permanent link")
        + "id=\"permalink\" href=\"".len();
    let link = &body[link_start..link_start + body[link_start..].find('"').unwrap()];
    let again = get(&c, &link.replace("&amp;", "&")).text();
    assert!(again.contains("data-id=\"housing\""));
    // A hand-off the emergency check doubts says so.
    let doubted = get(
        &c,
        &format!(
            "/try?text={}",
            url_encode("健身房教练让我练到快晕倒了，这种私教课能退费吗")
        ),
    )
    .text();
    assert!(
        doubted.contains("<dd id=\"handoff\"><b>120</b>"),
        "{doubted}"
    );
    assert!(
        doubted.contains("<dd id=\"handoff-doubt\">紧急情况检查认为这多半不是正在发生的紧急情况"),
        "{doubted}"
    );
    // A place the rules do not know is shown as not used, with the closest known name.
    let typo = get(
        &c,
        &format!(
            "/try?text={}&place={}",
            url_encode(PROPERTY_FEE),
            url_encode("高薪区")
        ),
    )
    .text();
    assert!(
        typo.contains("<span id=\"unknown-place\">请求的属地「高薪区」不在地名表中，未采用，是否为「高新区」？</span>"),
        "{typo}"
    );
    // A possible emergency the rules did not hand off is shown as such, with its lines.
    let crane = get(
        &c,
        &format!("/try?text={}", url_encode("工地上的塔吊歪了，下面好多工人")),
    )
    .text();
    assert!(crane.contains("id=\"possible-emergency\""), "{crane}");
    assert!(crane.contains("紧急情况检查认为可能是紧急情况"), "{crane}");
    assert!(
        !crane.contains("id=\"possible-emergency\"><strong>概率 0.0"),
        "{crane}"
    );
    // Bad input is told, not routed.
    let empty = get(&c, "/try?text=%20&place=x").text();
    assert!(
        empty.contains("id=\"error\"") && empty.contains("请填写来电内容"),
        "{empty}"
    );
    let bad_date = get(
        &c,
        &format!("/try?text={}&received=2026-13-40", url_encode("噪音")),
    )
    .text();
    assert!(bad_date.contains("受理日期「2026-13-40」"), "{bad_date}");
    // Too long for a link: posted, routed, no permanent link; over the request limit: told.
    let long = PROPERTY_FEE.repeat(200);
    let posted = http(
        &c,
        "POST",
        "/try",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("text={}", url_encode(&long)).as_bytes(),
    );
    assert_eq!(posted.status, 200);
    assert!(posted.text().contains("data-id=\"housing\""));
    assert!(posted.text().contains("id=\"no-permalink\""));
    let too_long = http(
        &c,
        "POST",
        "/try",
        &[],
        format!("text={}", url_encode(&"物".repeat(20_001))).as_bytes(),
    );
    assert_eq!(too_long.status, 200);
    assert!(too_long.text().contains("共 20001 字，超过上限 20000 字"));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_route_answers_the_bytes_of_the_grpc_methods_json_mapping() {
    let (server, c) = console_server(&[]);
    let request = pb::RouteRequest {
        text: PROPERTY_FEE.to_owned(),
        request_id: "2026-1127-0042".to_owned(),
        title: "物业费谁交".to_owned(),
        place: "高新区".to_owned(),
        received_time: Some(pbjson_types::Timestamp {
            seconds: 1_764_547_200,
            nanos: 0,
        }),
        ..Default::default()
    };
    let json = serde_json::to_vec(&request).unwrap();
    let console = {
        let c = c.clone();
        tokio::task::spawn_blocking(move || {
            http(
                &c,
                "POST",
                "/api/route",
                &[("Content-Type", "application/json")],
                &json,
            )
        })
        .await
        .unwrap()
    };
    assert_eq!(console.status, 200, "{}", console.text());
    assert_eq!(console.header("content-type"), Some("application/json"));
    let grpc = server
        .client()
        .await
        .route(request)
        .await
        .unwrap()
        .into_inner();
    assert_eq!(console.body, serde_json::to_vec(&grpc).unwrap());
    assert_eq!(grpc.department.unwrap().id, "housing");

    let rule_set = server
        .client()
        .await
        .get_rule_set(pb::GetRuleSetRequest {})
        .await
        .unwrap()
        .into_inner();
    let c2 = c.clone();
    let info = tokio::task::spawn_blocking(move || get(&c2, "/api/ruleset"))
        .await
        .unwrap();
    let info: serde_json::Value = serde_json::from_slice(&info.body).unwrap();
    assert_eq!(info["version"], rule_set.version);
}

#[test]
fn api_errors_name_what_is_wrong_with_the_right_status() {
    let (_server, c) = console_server(&[]);
    let cases: [(&str, &str, &[u8], u16, &str); 6] = [
        (
            "POST",
            "/api/route",
            br#"{"text":"  "}"#,
            400,
            "text is empty",
        ),
        (
            "POST",
            "/api/route",
            b"{not json",
            400,
            "not a RouteRequest",
        ),
        (
            "POST",
            "/api/route",
            br#"{"text":"x","requestId":1}"#,
            400,
            "not a RouteRequest",
        ),
        ("GET", "/api/rules/no-such-rule", b"", 404, "no-such-rule"),
        (
            "PUT",
            "/api/route",
            b"{}",
            405,
            "\"code\":\"UNIMPLEMENTED\"",
        ),
        ("GET", "/api/route", b"", 405, "POST a RouteRequest"),
    ];
    for (method, target, body, status, says) in cases {
        let r = http(&c, method, target, &[], body);
        assert_eq!(r.status, status, "{method} {target}: {}", r.text());
        assert!(r.text().contains(says), "{method} {target}: {}", r.text());
    }
    // A body announced over the 4 MiB a gRPC message may have is refused before it is read.
    let r = http(
        &c,
        "POST",
        "/api/route",
        &[("Content-Length", "5242880")],
        b"",
    );
    assert_eq!(r.status, 413, "{}", r.head);
    assert!(r.text().contains("OUT_OF_RANGE"));
    // DNS rebinding: a page on another host name reaching the loopback console is refused.
    let r = http(
        &c,
        "GET",
        "/try",
        &[("Host", "attacker.example:50080")],
        b"",
    );
    assert_eq!(r.status, 421);
    assert!(r.head.contains("text/html"), "{}", r.head);
    assert!(r.text().contains("只接受用 localhost"), "{}", r.text());
    let r = http(
        &c,
        "GET",
        "/api/ruleset",
        &[("Host", "attacker.example:50080")],
        b"",
    );
    assert_eq!(r.status, 421);
    assert!(
        r.text().contains("\"code\":\"PERMISSION_DENIED\""),
        "{}",
        r.text()
    );
    // A link damaged on its way (re-encoded as GBK, say): a page in Chinese, with the navigation.
    let r = get(&c, &format!("/try?text={}", "%FF%FE"));
    assert_eq!(r.status, 400, "not UTF-8");
    assert!(
        r.text()
            .contains("参数「text」经百分号解码后不是有效的 UTF-8"),
        "{}",
        r.text()
    );
    assert!(
        r.text().contains("href=\"/rules\""),
        "navigation: {}",
        r.text()
    );
    let r = get(&c, "/api/rules?q=%FF");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("INVALID_ARGUMENT"), "{}", r.text());
    let r = http(&c, "POST", "/try", &[], b"text=\xff");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("不是有效的 UTF-8"), "{}", r.text());
    // A page cannot be changed: 405 in Chinese, with what the console takes.
    let r = http(&c, "DELETE", "/rules/property-fee-unsold", &[], b"");
    assert_eq!(r.status, 405);
    assert!(
        r.head
            .to_ascii_lowercase()
            .contains("allow: get, head, post"),
        "{}",
        r.head
    );
    assert!(r.text().contains("控制台是只读的"), "{}", r.text());

    let rule: serde_json::Value =
        serde_json::from_slice(&get(&c, "/api/rules/property-fee-unsold").body).unwrap();
    assert_eq!(rule["department"], "housing");
    assert!(
        rule["conditions"]["all"][0]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "物业费")
    );
    assert!(
        rule["regulations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["article"] == "第四十一条")
    );
    assert!(
        rule["sourceText"]
            .as_str()
            .unwrap()
            .contains("id: property-fee-unsold")
    );
    let search: serde_json::Value = serde_json::from_slice(
        &get(
            &c,
            &format!("/api/rules?q={}", url_encode("房子还没过户，物业费谁交")),
        )
        .body,
    )
    .unwrap();
    let touched = search["query"]["rulesTouched"].as_array().unwrap();
    let unsold = touched
        .iter()
        .find(|t| t["rule_id"] == "property-fee-unsold")
        .expect("the sentence sets off the rule");
    assert_eq!(unsold["conditions_hold"], true);
    let report = get(&c, "/api/report");
    assert_eq!(report.status, 412, "no store: {}", report.text());
}

#[test]
fn a_body_that_does_not_arrive_ends_at_the_body_deadline() {
    let (_server, c) = console_server(&["--body-timeout-ms", "300"]);
    let started = Instant::now();
    let r = http(&c, "POST", "/api/route", &[("Content-Length", "100")], b"");
    assert_eq!(r.status, 408, "{}", r.text());
    assert!(r.text().contains("DEADLINE_EXCEEDED"));
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn the_console_is_off_when_told_and_a_taken_address_stops_the_start() {
    let server = Server::start(&["--console-listen", "off", "--store", "none"]);
    assert_eq!(server.console, None);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--store",
            "none",
            "--console-listen",
            &addr,
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot listen for the console") && err.contains(&addr),
        "{err}"
    );
}

#[test]
fn the_rules_page_shows_a_failed_reload_with_file_and_line_and_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&common::bundled_dir(), dir.path());
    let server = Server::start_with_rules(
        dir.path(),
        &[
            "--console-listen",
            "127.0.0.1:0",
            "--store",
            "none",
            "--watch",
            "false",
        ],
    );
    let c = server.console.clone().unwrap();
    let before = get(&c, "/rules").text();
    assert!(before.contains("id=\"load-state\""));
    let broken = dir.path().join("departments/housing.yaml");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(
        &broken,
        text.replacen("department: housing", "department: housingg", 1),
    )
    .unwrap();
    server.signal(libc::SIGHUP);
    let deadline = Instant::now() + Duration::from_secs(30);
    let page = loop {
        let page = get(&c, "/rules").text();
        if page.contains("id=\"load-errors\"") {
            break page;
        }
        assert!(Instant::now() < deadline, "the failed reload never showed");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        page.contains("departments/housing.yaml:"),
        "file:line of the error"
    );
    assert!(page.contains("housingg"), "names the offending input");
    let version = |p: &str| {
        let i = p.find("<code id=\"version\">").unwrap() + 19;
        p[i..i + p[i..].find('<').unwrap()].to_owned()
    };
    assert_eq!(
        version(&page),
        version(&before),
        "the old set keeps serving"
    );
    let still = get(&c, &format!("/try?text={}", url_encode(PROPERTY_FEE))).text();
    assert!(still.contains("data-id=\"housing\""));
}

fn copy_dir(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

// --------------------------------------------------------------------------------------------
// Fixes of the console audit (audit2): each test is what a reader of the page would check.
// --------------------------------------------------------------------------------------------

/// The text of the element with `id="{id}"` in `body`, up to its first closing `</{tag}>`.
fn element<'a>(body: &'a str, id: &str, tag: &str) -> &'a str {
    let at = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let start = at + body[at..].find('>').unwrap() + 1;
    let end = start + body[start..].find(&format!("</{tag}>")).unwrap();
    &body[start..end]
}

/// A console with a decision store (an empty SQLite file in `dir`), and the store's spec.
fn console_with_store(dir: &Path) -> (Server, String, String) {
    let store = format!("sqlite:{}", dir.join("d.sqlite").display());
    let server = Server::start(&["--console-listen", "127.0.0.1:0", "--store", &store]);
    let c = server.console.clone().expect("the console listens");
    (server, c, store)
}

#[test]
fn bidi_and_control_characters_in_the_request_are_shown_as_visible_marks() {
    let (_server, c) = console_server(&[]);
    // The audit's text: an RLO that would show the phone number reversed, a NUL and an ESC.
    let text = "退款\u{202e}元0005 小区停水了，电话13812345678\u{202c}。\u{0}\u{1b}[31m结束\u{2067}x\u{200f}";
    let body = get(&c, &format!("/try?text={}", url_encode(text))).text();
    let shown = element(&body, "request-text", "div");
    for raw in [
        '\u{202e}', '\u{202c}', '\u{0}', '\u{1b}', '\u{2067}', '\u{200f}',
    ] {
        assert!(
            !shown.contains(raw),
            "U+{:04X} reaches the page raw: {shown:?}",
            raw as u32
        );
    }
    for visible in ["U+202E", "U+202C", "U+0000", "U+001B", "U+2067", "U+200F"] {
        assert!(shown.contains(visible), "{visible} not shown: {shown}");
    }
    // The phone number and the evidence stay in their order, at their offsets.
    assert!(shown.contains("13812345678"), "{shown}");
    let chars: Vec<char> = text.chars().collect();
    let stop = chars.iter().position(|&ch| ch == '停').unwrap();
    assert!(
        shown.contains(&format!("data-start=\"{stop}\" data-end=\"{}\"", stop + 2))
            && shown.contains(">停水</mark>"),
        "{shown}"
    );
    // No raw NUL or ESC anywhere in the page; the form keeps the text as typed otherwise.
    assert!(!body.contains('\u{0}') && !body.contains('\u{1b}'));
    // The textarea keeps the text as typed: the bidi control as is, the ESC as a character
    // reference (its value is the ESC again).
    let field = element(&body, "text", "textarea");
    assert!(field.contains("退款\u{202e}元0005"), "{field:?}");
    assert!(field.contains("&#x1B;[31m结束"), "{field:?}");
}

#[test]
fn rule_search_says_a_rule_does_not_hold_when_its_groups_are_too_far_apart() {
    let (_server, c) = console_server(&[]);
    // 电梯 … 坏了 are 21 characters apart; elevator-safety has `within: 12`.
    let far = "电梯旁边的那个小卖部门口放着的一排自行车全都坏了";
    let page = get(&c, &format!("/rules?q={}", url_encode(far))).text();
    let fired = element(&page, "fired", "table");
    let row = fired
        .split("<tr>")
        .find(|r| r.contains("/rules/elevator-safety\""))
        .expect("elevator-safety is listed");
    assert!(!row.contains("各条件组均已满足"), "{row}");
    assert!(row.contains("两组词相距超过 12 字"), "{row}");
    assert!(!page.contains("会触发的规则"), "{page}");
    let api: serde_json::Value =
        serde_json::from_slice(&get(&c, &format!("/api/rules?q={}", url_encode(far))).body)
            .unwrap();
    let touched = api["query"]["rulesTouched"].as_array().unwrap();
    let lift = touched
        .iter()
        .find(|t| t["rule_id"] == "elevator-safety")
        .unwrap();
    assert_eq!(lift["conditions_hold"], false, "{lift}");
    assert_eq!(lift["within"], 12, "{lift}");
    // Near: it holds, and the heading counts the rules with a keyword and those that hold.
    let near = "小区电梯坏了三个月，物业一直不修";
    let page = get(&c, &format!("/rules?q={}", url_encode(near))).text();
    let fired = element(&page, "fired", "table");
    let rows: Vec<&str> = fired.split("<tr>").skip(2).collect();
    let holding = rows.iter().filter(|r| r.contains("条件全部满足")).count();
    assert!(holding >= 1 && holding < rows.len(), "{fired}");
    assert!(
        page.contains(&format!(
            "含有其关键词的规则（{} 条），其中 {holding} 条条件全部满足",
            rows.len()
        )),
        "{page}"
    );
    let lift = rows
        .iter()
        .find(|r| r.contains("/rules/elevator-safety\""))
        .unwrap();
    assert!(lift.contains("条件全部满足"), "{lift}");
}

#[test]
fn a_rules_page_and_its_api_give_its_within() {
    let (_server, c) = console_server(&[]);
    let page = get(&c, "/rules/elevator-safety").text();
    assert!(
        element(&page, "conditions", "dl").contains("必备词各组须在 12 字以内"),
        "{page}"
    );
    let rule: serde_json::Value =
        serde_json::from_slice(&get(&c, "/api/rules/elevator-safety").body).unwrap();
    assert_eq!(rule["conditions"]["within"], 12, "{rule}");
    let unsold = get(&c, "/rules/property-fee-unsold").text();
    assert!(!unsold.contains("字以内"), "no within, none said");
}

#[test]
fn the_try_page_shows_priorities_and_how_the_winner_is_chosen() {
    let (_server, c) = console_server(&[]);
    let body = get(
        &c,
        &format!(
            "/try?text={}&received=2026-12-01",
            url_encode("小区电梯坏了三个月，物业一直不修")
        ),
    )
    .text();
    assert!(body.contains("href=\"/rules/elevator-safety\""), "{body}");
    assert_eq!(element(&body, "priority", "dd"), "1");
    let alternatives = element(&body, "alternatives", "table");
    assert!(alternatives.contains("<th>优先级</th>"), "{alternatives}");
    let fallback = alternatives
        .split("<tr>")
        .find(|r| r.contains("/rules/domain-urban\""))
        .expect("the fallback is an alternative");
    assert!(fallback.contains("<td class=\"num\">-1</td>"), "{fallback}");
    assert!(
        element(&body, "how-decided", "p").contains("先比优先级"),
        "{body}"
    );
}

#[test]
fn unknown_paths_answer_404_as_json_under_api_and_as_a_page_elsewhere() {
    let (_server, c) = console_server(&[]);
    for target in ["/api/unknown", "/api/report/x", "/api/ruleset/"] {
        let r = get(&c, target);
        assert_eq!(r.status, 404, "{target}");
        assert_eq!(
            r.header("content-type"),
            Some("application/json"),
            "{target}"
        );
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["code"], "NOT_FOUND", "{target}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let r = get(&c, "/nope");
    assert_eq!(r.status, 404);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let body = r.text();
    assert!(body.contains("找不到页面"), "{body}");
    assert!(
        body.contains("<a href=\"/try\">试一试</a>"),
        "navigation: {body}"
    );
}

#[test]
fn trailing_slashes_redirect_to_the_page() {
    let (_server, c) = console_server(&[]);
    for (target, to) in [
        ("/rules/", "/rules"),
        ("/try/", "/try"),
        ("/reports/", "/reports"),
        (
            "/rules/?q=%E7%94%B5%E6%A2%AF",
            "/rules?q=%E7%94%B5%E6%A2%AF",
        ),
    ] {
        let r = get(&c, target);
        assert!(matches!(r.status, 301 | 308), "{target}: {}", r.head);
        assert_eq!(r.header("location"), Some(to), "{target}");
    }
}

#[test]
fn a_rule_id_in_the_path_keeps_its_plus_and_bad_utf8_is_refused() {
    let (_server, c) = console_server(&[]);
    let page = get(&c, "/rules/elevator+safety").text();
    assert!(page.contains("没有「elevator+safety」"), "{page}");
    let api = get(&c, "/api/rules/elevator+safety").text();
    assert!(api.contains("elevator+safety"), "{api}");
    let r = get(&c, "/rules/%FF");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("UTF-8"), "{}", r.text());
    let r = get(&c, "/api/rules/%FF");
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("INVALID_ARGUMENT"), "{}", r.text());
    // Percent-encoded ids still open.
    assert_eq!(get(&c, "/rules/elevator%2Dsafety").status, 200);
}

#[test]
fn search_lists_each_term_once_in_first_seen_order() {
    let (_server, c) = console_server(&[]);
    let api: serde_json::Value =
        serde_json::from_slice(&get(&c, &format!("/api/rules?q={}", url_encode("电梯"))).body)
            .unwrap();
    let lift = api["query"]["rulesWithTerm"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "elevator-safety")
        .unwrap();
    let terms: Vec<&str> = lift["terms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    let mut once = terms.clone();
    once.sort_unstable();
    once.dedup();
    assert_eq!(once.len(), terms.len(), "{terms:?}");
    assert_eq!(terms[0], "电梯");
    let page = get(&c, &format!("/rules?q={}", url_encode("电梯"))).text();
    let row = element(&page, "term-matches", "table")
        .split("<tr>")
        .find(|r| r.contains("/rules/elevator-safety\""))
        .unwrap()
        .to_owned();
    let terms = row.rsplit("<td>").next().unwrap();
    assert_eq!(terms.matches("电梯安全").count(), 1, "{row}");
}

#[test]
fn an_empty_try_says_to_fill_in_the_text() {
    let (_server, c) = console_server(&[]);
    for target in ["/try?text=", "/try?text=%20%20", "/try?text=+%0A"] {
        let body = get(&c, target).text();
        assert!(body.contains("请填写来电内容"), "{target}: {body}");
    }
    let first = get(&c, "/try").text();
    assert!(
        !first.contains("id=\"error\""),
        "a first visit is not an error"
    );
    assert!(
        first.contains(
            "<textarea id=\"text\" name=\"text\" rows=\"7\" maxlength=\"20000\" required"
        ),
        "{first}"
    );
}

#[test]
fn an_empty_period_says_so_and_shows_no_rate_of_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c, _) = console_with_store(dir.path());
    let body = get(&c, "/reports").text();
    let report = element(&body, "report", "section");
    assert!(report.contains("本期间没有记录"), "{report}");
    assert!(!report.contains("0.0%"), "{report}");
    assert!(!report.contains("<table"), "no empty tables: {report}");
}

#[test]
fn the_default_report_period_is_the_last_30_days() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c, _) = console_with_store(dir.path());
    let r: serde_json::Value = serde_json::from_slice(&get(&c, "/api/report").body).unwrap();
    let date = |k: &str| r[k].as_str().unwrap().parse::<jiff::civil::Date>().unwrap();
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
        .date();
    assert_eq!(date("to"), today.tomorrow().unwrap(), "{r}");
    assert_eq!(
        date("from").until(date("to")).unwrap().get_days(),
        30,
        "{r}"
    );
}

#[test]
fn the_reports_command_reproduces_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c, store) = console_with_store(dir.path());
    let body = get(&c, "/reports?from=2026-01-01&to=2026-02-01").text();
    let at = body.find("同一报表：<code>").expect("the command") + "同一报表：<code>".len();
    let command = body[at..at + body[at..].find("</code>").unwrap()]
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    assert!(command.contains(&format!("--store {store}")), "{command}");
    let mut words = command.split_whitespace();
    assert_eq!(words.next(), Some("hotline-router"));
    let out = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(words)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{command}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("统计期间 2026-01-01 至 2026-02-01"));
}

#[test]
fn report_periods_are_exact_dates_and_a_bad_one_answers_400() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, c, _) = console_with_store(dir.path());
    let r = get(&c, "/reports?from=2026-12-06&to=2026-11-05");
    assert_eq!(r.status, 400);
    assert!(r.text().contains("结束日期须晚于开始日期"), "{}", r.text());
    assert!(r.text().contains("<nav>"), "the page, with its navigation");
    for query in [
        "from=+2026-11-05&to=2026-12-06",
        "from=%202026-11-05&to=2026-12-06",
        "from=2026-11-05&to=2026-12-06%0A",
        "from=2026-13-01&to=2026-12-06",
    ] {
        let api = get(&c, &format!("/api/report?{query}"));
        assert_eq!(api.status, 400, "{query}: {}", api.text());
        assert!(api.text().contains("INVALID_ARGUMENT"), "{query}");
        assert_eq!(get(&c, &format!("/reports?{query}")).status, 400, "{query}");
    }
    assert_eq!(
        get(&c, "/api/report?from=2026-11-05&to=2026-12-06").status,
        200
    );
}

// --------------------------------------------------------------------------------------------
// In a real browser.
// --------------------------------------------------------------------------------------------

#[test]
fn browser_try_shows_the_department_the_article_and_the_evidence_in_the_text() {
    let _one = one_browser_at_a_time();
    let Some(mut b) =
        browser("browser_try_shows_the_department_the_article_and_the_evidence_in_the_text")
    else {
        return;
    };
    let (_server, c) = console_server(&[]);
    let page = b.new_page().unwrap();
    page.goto(&format!("http://{c}/try")).unwrap();
    // Typed into the form and submitted, as an author does.
    page.eval(&format!(
        "document.getElementById('text').value = {}; document.getElementById('received').value = '2026-12-01'; \
         document.getElementById('route').click(); true",
        serde_json::to_string(PROPERTY_FEE).unwrap()
    ))
    .unwrap();
    arrive(&page, "result");
    let read = |js: &str| page.eval(js).unwrap();
    assert_eq!(
        read("document.getElementById('department').textContent"),
        "住房和城乡建设局"
    );
    assert_eq!(
        read("document.getElementById('outcome').textContent"),
        "派单"
    );
    let articles =
        read("[...document.querySelectorAll('article.regulation h3')].map(h => h.textContent)");
    assert!(
        articles
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "《物业管理条例》第四十一条"),
        "{articles}"
    );
    // Every highlighted span is the text at its offsets (Unicode scalar values, as in the proto).
    let marks = read(
        "[...document.querySelectorAll('#request-text mark.ev')].map(m => [m.textContent, +m.dataset.start, +m.dataset.end])",
    );
    let marks = marks.as_array().unwrap();
    let chars: Vec<char> = PROPERTY_FEE.chars().collect();
    let mut words = Vec::new();
    for m in marks {
        let (text, start, end) = (
            m[0].as_str().unwrap(),
            m[1].as_u64().unwrap() as usize,
            m[2].as_u64().unwrap() as usize,
        );
        assert_eq!(chars[start..end].iter().collect::<String>(), text);
        words.push(text.to_owned());
    }
    assert!(words.iter().any(|w| w == "物业费"), "{words:?}");
    assert!(words.iter().any(|w| w.contains("过户")), "{words:?}");
    assert_eq!(
        read("document.getElementById('request-text').textContent"),
        PROPERTY_FEE,
        "the text is shown whole"
    );
    assert!(
        csp_violations(&page).is_empty(),
        "{:?}",
        csp_violations(&page)
    );
    shoot(&page, "try.png");
    // The permanent link opens the same request, with its date, and the same decision.
    let href = read("document.getElementById('permalink').href");
    page.goto(href.as_str().unwrap()).unwrap();
    assert_eq!(read("document.getElementById('text').value"), PROPERTY_FEE);
    assert_eq!(
        read("document.getElementById('received').value"),
        "2026-12-01"
    );
    assert_eq!(
        read("document.getElementById('department').dataset.id"),
        "housing"
    );
    // A request too long for a URL is posted by the page's script and still routed.
    page.eval(&format!(
        "document.getElementById('text').value = {}; document.getElementById('route').click(); true",
        serde_json::to_string(&PROPERTY_FEE.repeat(200)).unwrap()
    ))
    .unwrap();
    arrive(&page, "no-permalink");
    assert_eq!(read("location.search"), "");
    assert_eq!(
        read("document.getElementById('department').dataset.id"),
        "housing"
    );
}

#[test]
fn browser_bidi_controls_are_shown_not_obeyed_and_the_form_keeps_the_text() {
    let _one = one_browser_at_a_time();
    let Some(mut b) =
        browser("browser_bidi_controls_are_shown_not_obeyed_and_the_form_keeps_the_text")
    else {
        return;
    };
    let (_server, c) = console_server(&[]);
    let page = b.new_page().unwrap();
    let text = "退款\u{202e}元0005 小区停水了，电话13812345678\u{202c}。\u{1b}[31m结束";
    page.goto(&format!("http://{c}/try?text={}", url_encode(text)))
        .unwrap();
    arrive(&page, "request-text");
    // The form holds the text as routed, controls included.
    assert_eq!(
        page.eval("document.getElementById('text').value").unwrap(),
        text
    );
    // The shown text: each control a visible mark, in place, the rest in its own order.
    let shown = text_of(&page, "request-text");
    assert_eq!(
        shown,
        "退款U+202E元0005 小区停水了，电话13812345678U+202C。U+001B[31m结束"
    );
    assert_eq!(
        page.eval("document.querySelectorAll('#request-text .ctl').length")
            .unwrap(),
        3
    );
    assert_eq!(
        page.eval("[...document.querySelectorAll('#request-text mark.ev')].some(m => m.textContent === '停水')")
            .unwrap(),
        true
    );
    shoot(&page, "bidi.png");
}

#[test]
fn browser_xss_attempts_render_as_text_and_run_nothing() {
    let _one = one_browser_at_a_time();
    let Some(mut b) = browser("browser_xss_attempts_render_as_text_and_run_nothing") else {
        return;
    };
    let (_server, c) = console_server(&[]);
    let page = b.new_page().unwrap();
    for (i, payload) in XSS.iter().enumerate() {
        let e = url_encode(payload);
        page.goto(&format!("http://{c}/try?text={e}&title={e}"))
            .unwrap();
        assert_eq!(
            page.eval("window.__xss === undefined").unwrap(),
            true,
            "{payload}"
        );
        assert_eq!(
            page.eval("document.querySelectorAll('main img, main svg:not(figure svg), main iframe, main math, main style, #xss-link').length").unwrap(),
            0,
            "{payload}"
        );
        assert_eq!(
            page.eval("document.getElementById('text').value").unwrap(),
            *payload
        );
        let shown = page.eval("(document.getElementById('request-text') || document.getElementById('error')).textContent").unwrap();
        assert!(
            shown.as_str().unwrap().contains(payload),
            "{payload}: {shown}"
        );
        page.goto(&format!("http://{c}/rules?q={e}")).unwrap();
        assert_eq!(
            page.eval("window.__xss === undefined").unwrap(),
            true,
            "{payload}"
        );
        assert_eq!(
            page.eval("document.getElementById('q').value").unwrap(),
            *payload
        );
        page.goto(&format!("http://{c}/rules/{e}")).unwrap();
        assert_eq!(
            page.eval("window.__xss === undefined").unwrap(),
            true,
            "{payload}"
        );
        if i == 1 {
            page.goto(&format!("http://{c}/try?text={e}")).unwrap();
            shoot(&page, "xss.png");
        }
    }
}

#[test]
fn browser_rules_open_from_the_list_and_the_search() {
    let _one = one_browser_at_a_time();
    let Some(mut b) = browser("browser_rules_open_from_the_list_and_the_search") else {
        return;
    };
    let (_server, c) = console_server(&[]);
    let page = b.new_page().unwrap();
    page.goto(&format!("http://{c}/rules")).unwrap();
    shoot(&page, "rules.png");
    page.eval(
        "const d = document.querySelector('details.department[data-id=housing]'); d.open = true; \
         d.querySelector('a[href=\"/rules/property-fee-unsold\"]').click(); true",
    )
    .unwrap();
    arrive(&page, "rule-id");
    assert_eq!(text_of(&page, "rule-id"), "property-fee-unsold");
    let file = page
        .eval("document.getElementById('rule-file').textContent")
        .unwrap();
    let file = file.as_str().unwrap();
    assert!(file.starts_with("departments/housing.yaml:"), "{file}");
    assert!(
        page.eval("document.getElementById('conditions').textContent.includes('物业费')")
            .unwrap()
            == true
    );
    assert!(
        page.eval("document.querySelectorAll('#examples li').length")
            .unwrap()
            .as_u64()
            .unwrap()
            >= 1
    );
    assert!(
        page.eval("document.querySelectorAll('#counterexamples li').length")
            .unwrap()
            .as_u64()
            .unwrap()
            >= 1
    );
    assert_eq!(
        page.eval("[...document.querySelectorAll('article.regulation h3')].some(h => h.textContent === '《物业管理条例》第四十一条')").unwrap(),
        true
    );
    assert!(
        text_of(&page, "rule-source")
            .as_str()
            .unwrap()
            .contains("id: property-fee-unsold")
    );
    shoot(&page, "rule.png");
    // An example's 试一试 link routes it: the rule's own example goes to the rule.
    page.eval("document.querySelector('#examples a.try').click(); true")
        .unwrap();
    arrive(&page, "result");
    assert_eq!(
        page.eval("document.querySelector('#rule a').textContent")
            .unwrap(),
        "property-fee-unsold"
    );
    // Search by a word of a request.
    page.goto(&format!("http://{c}/rules")).unwrap();
    page.eval("document.getElementById('q').value = '物业费'; document.querySelector('#search button').click(); true").unwrap();
    arrive(&page, "search-results");
    assert_eq!(
        page.eval("[...document.querySelectorAll('#fired a')].some(a => a.textContent === 'property-fee-unsold')").unwrap(),
        true
    );
    assert!(
        csp_violations(&page).is_empty(),
        "{:?}",
        csp_violations(&page)
    );
}

#[test]
fn browser_report_page_shows_a_filled_store_and_links_its_rules() {
    let _one = one_browser_at_a_time();
    let Some(mut b) = browser("browser_report_page_shows_a_filled_store_and_links_its_rules")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("d.sqlite").display());
    let bin = env!("CARGO_BIN_EXE_hotline-router");
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    // Four decisions recorded by the CLI, and one of them returned by its department (退单).
    let lines = "{\"id\":\"R-1\",\"text\":\"公司三个月没发工资了\"}\n\
                 {\"id\":\"R-2\",\"text\":\"小区电梯坏了三个月，物业一直不修\"}\n\
                 {\"id\":\"R-3\",\"text\":\"我想反映一个问题\"}\n\
                 {\"id\":\"R-4\",\"text\":\"物业费一年涨了两次，业主都没同意\"}\n";
    let mut child = Command::new(bin)
        .args(["route", "--jsonl", "--rules", rules, "--store", &store])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.as_bytes())
            .unwrap();
    }
    assert!(child.wait().unwrap().success());
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"eventId\":\"e1\",\"requestId\":\"R-1\",\"kind\":\"RETURNED\",\"at\":\"{}\",\"departmentId\":\"hrss\",\"reason\":\"不属本单位\"}}\n",
            // Just after the decisions: events dated in the future are refused.
            jiff::Timestamp::now()
                .checked_add(jiff::SignedDuration::from_secs(1))
                .unwrap()
        ),
    )
    .unwrap();
    let status = Command::new(bin)
        .args(["outcomes", "--store", &store, "--input"])
        .arg(&events)
        .status()
        .unwrap();
    assert!(status.success());

    let server = Server::start(&["--console-listen", "127.0.0.1:0", "--store", &store]);
    let c = server.console.clone().unwrap();
    let page = b.new_page().unwrap();
    page.goto(&format!("http://{c}/reports")).unwrap();
    // The form's default period ends tomorrow: today's decisions are in it.
    assert_eq!(text_of(&page, "total"), "4");
    page.eval("document.getElementById('from').value = '2000-01-01'; document.getElementById('to').value = '2100-01-01'; \
               document.querySelector('#period button').click(); true")
        .unwrap();
    page.wait_for(
        "document.readyState === 'complete' && location.search.includes('from=2000-01-01')",
        Duration::from_secs(60),
    )
    .unwrap();
    assert_eq!(text_of(&page, "total"), "4");
    assert_eq!(text_of(&page, "manual"), "1");
    assert_eq!(
        page.eval("document.querySelectorAll('#report svg').length >= 1")
            .unwrap(),
        true
    );
    let text = page
        .eval("document.getElementById('report').textContent")
        .unwrap();
    let text = text.as_str().unwrap();
    assert!(
        text.contains("人力资源和社会保障局") && text.contains("100.0%"),
        "{text}"
    );
    shoot(&page, "report.png");
    // A rule of the report opens on the rules page.
    let rule = page
        .eval("document.querySelector('#report a[href^=\"/rules/\"]').textContent")
        .unwrap();
    page.eval("document.querySelector('#report a[href^=\"/rules/\"]').click(); true")
        .unwrap();
    arrive(&page, "rule-id");
    assert_eq!(text_of(&page, "rule-id"), rule);
    assert!(
        csp_violations(&page).is_empty(),
        "{:?}",
        csp_violations(&page)
    );
}

// --------------------------------------------------------------------------------------------
// In Firefox too (WebDriver BiDi): the same pages, the same escaping.
// --------------------------------------------------------------------------------------------

#[test]
fn firefox_shows_the_pages_and_runs_no_injected_script() {
    let _one = one_browser_at_a_time();
    let mut ff = match common::firefox::Firefox::launch() {
        Ok(Some(f)) => f,
        Ok(None) => {
            println!(
                "skipped firefox_shows_the_pages_and_runs_no_injected_script: no Firefox here (Debian: apt-get install firefox-esr)"
            );
            return;
        }
        Err(e) => panic!("Firefox is installed but does not start: {e}"),
    };
    let (_server, c) = console_server(&[]);
    ff.goto(&format!(
        "http://{c}/try?text={}&received=2026-12-01",
        url_encode(PROPERTY_FEE)
    ))
    .unwrap();
    assert_eq!(
        ff.eval("document.getElementById('department').textContent")
            .unwrap(),
        "住房和城乡建设局"
    );
    assert_eq!(
        ff.eval("[...document.querySelectorAll('article.regulation h3')].some(h => h.textContent === '《物业管理条例》第四十一条')")
            .unwrap(),
        true
    );
    let marks = ff
        .eval("[...document.querySelectorAll('#request-text mark.ev')].map(m => [m.textContent, +m.dataset.start, +m.dataset.end])")
        .unwrap();
    let chars: Vec<char> = PROPERTY_FEE.chars().collect();
    let marks = marks.as_array().unwrap();
    assert!(!marks.is_empty());
    for m in marks {
        let (start, end) = (
            m[1].as_u64().unwrap() as usize,
            m[2].as_u64().unwrap() as usize,
        );
        assert_eq!(
            chars[start..end].iter().collect::<String>(),
            m[0].as_str().unwrap()
        );
    }
    let shot = screenshots().join("firefox-try.png");
    ff.screenshot(&shot).unwrap();
    println!("screenshot: {}", shot.display());
    for payload in XSS {
        let e = url_encode(payload);
        ff.goto(&format!("http://{c}/try?text={e}&title={e}"))
            .unwrap();
        assert_eq!(
            ff.eval("window.__xss === undefined").unwrap(),
            true,
            "{payload}"
        );
        assert_eq!(
            ff.eval("document.getElementById('text').value").unwrap(),
            *payload
        );
        ff.goto(&format!("http://{c}/rules?q={e}")).unwrap();
        assert_eq!(
            ff.eval("window.__xss === undefined").unwrap(),
            true,
            "{payload}"
        );
    }
    ff.goto(&format!("http://{c}/rules/property-fee-unsold"))
        .unwrap();
    assert_eq!(
        ff.eval("document.getElementById('rule-id').textContent")
            .unwrap(),
        "property-fee-unsold"
    );
    ff.goto(&format!("http://{c}/reports")).unwrap();
    assert_eq!(
        ff.eval("!!document.getElementById('no-store')").unwrap(),
        true
    );
    let refused: Vec<String> = ff
        .messages()
        .into_iter()
        .filter(|m| m.contains("Content-Security-Policy") || m.contains("Content Security Policy"))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
}
