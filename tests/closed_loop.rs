//! The closed loop from the command line, as a centre runs it: decisions recorded by `route
//! --store`, outcomes imported from the ticket system's export, `explain` under a changed rule
//! set, `export --labelled` read back by `eval`, and the supervision report, whose HTML page is
//! opened in headless Chromium.

use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;

fn run(args: &[&str], stdin: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline-router"));
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if stdin.is_some() {
        c.stdin(Stdio::piped());
    }
    let mut child = c.spawn().unwrap();
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Fails the test with the command's standard error unless it exited 0.
fn assert_succeeded(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A copy of the bundled rules, to edit.
fn copy_rules(to: &Path) {
    let from = common::bundled_dir();
    let mut stack = vec![from.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(&from).unwrap();
            if p.is_dir() {
                std::fs::create_dir_all(to.join(rel)).unwrap();
                stack.push(p);
            } else {
                std::fs::copy(&p, to.join(rel)).unwrap();
            }
        }
    }
}

/// Records three decisions with `rules`; returns the store argument and their decision ids.
fn record(dir: &Path, rules: &Path) -> (String, Vec<String>) {
    let store = format!("sqlite:{}", dir.join("d.sqlite").display());
    let lines = "{\"id\":\"T-1\",\"text\":\"我的手机13812345678，公司三个月没发工资了\"}\n\
                 {\"id\":\"T-2\",\"text\":\"小区电梯坏了三个月，物业一直不修\"}\n\
                 {\"id\":\"T-3\",\"text\":\"我想反映一个问题\"}\n";
    let rules = rules.to_str().unwrap();
    let out = run(
        &["route", "--jsonl", "--rules", rules, "--store", &store],
        Some(lines),
    );
    assert!(out.status.success());
    let ids = stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["decisionId"].as_str().unwrap().to_owned()
        })
        .collect();
    (store, ids)
}

/// A copy of the bundled rules under `dir`, to edit; returns its path.
fn rules_copy(dir: &Path) -> std::path::PathBuf {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    copy_rules(&rules);
    rules
}

/// What `explain --request-id` prints for a ticket of `store`, under `rules`.
fn explain_ticket(store: &str, rules: &Path, ticket: &str) -> String {
    let rules = rules.to_str().unwrap();
    let out = run(
        &[
            "explain",
            "--store",
            store,
            "--rules",
            rules,
            "--request-id",
            ticket,
        ],
        None,
    );
    assert_succeeded(&out);
    stdout(&out)
}

/// Now plus `seconds`, as an event's `at` (RFC 3339).
fn now_plus(seconds: i64) -> String {
    jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap()
        .to_string()
}

/// `outcomes` of `lines`, which must all be recorded (exit 0).
fn imported(dir: &Path, store: &str, lines: &str) {
    let (status, results) = outcomes(dir, store, lines, &[]);
    assert_eq!(status, Some(0), "{results:?}");
}

/// `outcomes` of `lines` (one event a line) into `store`: its exit status and each line's result.
fn outcomes(
    dir: &Path,
    store: &str,
    lines: &str,
    extra: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>) {
    let file = dir.join("events.jsonl");
    std::fs::write(&file, lines).unwrap();
    let mut args = vec![
        "outcomes",
        "--store",
        store,
        "--input",
        file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = run(&args, None);
    let results = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), results)
}

#[test]
fn outcomes_export_and_eval_close_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = record(dir.path(), &common::bundled_dir());
    assert_eq!(ids.len(), 3);
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"eventId\":\"x1\",\"requestId\":\"T-1\",\"kind\":\"RETURNED\",\"at\":\"{t1}\",\"departmentId\":\"housing\",\"reason\":\"非本部门职责\"}}\n\
             {{\"eventId\":\"x2\",\"decisionId\":\"{}\",\"kind\":\"REASSIGNED\",\"at\":\"{t2}\",\"departmentId\":\"urban-management\"}}\n\
             {{\"eventId\":\"x3\",\"requestId\":\"T-2\",\"kind\":\"EVENT_KIND_ACCEPTED\",\"at\":\"{t1}\"}}\n\
             {{\"eventId\":\"x3\",\"requestId\":\"T-2\",\"kind\":\"ACCEPTED\",\"at\":\"{t1}\"}}\n\
             {{\"eventId\":\"x4\",\"requestId\":\"T-404\",\"kind\":\"ACCEPTED\",\"at\":\"{t1}\"}}\n\
             {{\"eventId\":\"x5\",\"requestId\":\"T-2\",\"kind\":\"REASSIGNED\",\"at\":\"{t1}\",\"departmentId\":\"housng\"}}\n\
             {{broken\n\
             \n\
             {{\"eventId\":\"x6\",\"requestId\":\"T-2\",\"kind\":\"RESOLVED\",\"at\":\"2099-13-01 09:00\"}}\n",
            ids[2],
            t1 = now_plus(1),
            t2 = now_plus(2)
        ),
    )
    .unwrap();
    // A line that is not UTF-8 (a GBK export, say) is one bad line, not a failed import.
    let mut bytes = std::fs::read(&events).unwrap();
    bytes.extend_from_slice(b"{\"eventId\":\"\xb9\xa4\"}\n");
    std::fs::write(&events, bytes).unwrap();
    let out = run(
        &[
            "outcomes",
            "--store",
            &store,
            "--input",
            events.to_str().unwrap(),
        ],
        None,
    );
    // Some lines were bad: the import ran and says no (exit 1), each line with its result.
    assert_eq!(out.status.code(), Some(1));
    let results: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "recorded",
            "recorded",
            "recorded",
            "duplicate",
            "refused",
            "invalid",
            "invalid",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    let message = |i: usize| {
        results[i]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(message(7), "line 8 is blank");
    assert!(
        message(8).starts_with("line 9: at \"2099-13-01 09:00\" is not a time"),
        "{}",
        message(8)
    );
    assert_eq!(message(9), "line 10 is not valid UTF-8");
    assert!(
        results[5]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 6: unknown department \"housng\"")
    );
    assert!(
        results[6]["message"]
            .as_str()
            .unwrap()
            .starts_with("line 7: not JSON")
    );

    // The labelled corpus: the final department of each decision, the operator's choice for the
    // manual one; read back by eval, which compares departments.
    let out = run(&["export", "--store", &store, "--labelled"], None);
    assert!(out.status.success());
    let corpus = stdout(&out);
    let rows: Vec<serde_json::Value> = corpus
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let labels: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["label"].as_str().unwrap()))
        .collect();
    assert_eq!(
        labels,
        [
            ("T-1", "housing"),
            ("T-2", "market-regulation"),
            ("T-3", "urban-management")
        ]
    );
    assert!(!corpus.contains("13812345678"), "{corpus}");
    let file = dir.path().join("corpus.jsonl");
    std::fs::write(&file, &corpus).unwrap();
    let out = run(
        &[
            "eval",
            "--input",
            file.to_str().unwrap(),
            "--format",
            "json",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // T-1 was returned to housing (the router said hrss), T-2 stayed, T-3 was manual.
    assert_eq!(
        report["dispatched_accuracy"].as_f64(),
        Some(0.5),
        "{report}"
    );
    assert_eq!(report["confusion"]["housing"]["hrss"], 1, "{report}");
}

#[test]
fn explain_names_the_rule_that_changed() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_copy(dir.path());
    let (store, ids) = record(dir.path(), &rules);
    let rules_arg = rules.to_str().unwrap();
    let out = run(
        &["explain", "--store", &store, "--rules", rules_arg, &ids[0]],
        None,
    );
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(
        text.contains("same: today's rules decide OUTCOME_DISPATCH hrss by rule wage-arrears"),
        "{text}"
    );
    // When it was decided, as a person reads a time (China time), not in milliseconds; no
    // received time, as the caller gave none.
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains(", decided 20") && header.contains(" +08:00, rules version "),
        "{header}"
    );
    assert!(!header.contains("received"), "{header}");
    // A request received days before it was routed: explain says when it was received, and its
    // re-runs count the due date from that day, as the recorded decision did.
    let line = "{\"id\":\"T-5\",\"text\":\"公司三个月没发工资了\",\"received\":\"2026-05-06\"}\n";
    let out = run(
        &["route", "--jsonl", "--rules", rules_arg, "--store", &store],
        Some(line),
    );
    assert!(out.status.success());
    let text = explain_ticket(&store, &rules, "T-5");
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains(", received 2026-05-06 00:00:00 +08:00, decided 20"),
        "{header}"
    );
    let due = text.matches("2026-05-06 受理，").count();
    assert_eq!(due, 2, "both re-runs show the due date: {text}");

    // Today the wage rule has another id (as if rewritten): the recorded one no longer exists.
    let hrss = rules.join("departments/hrss.yaml");
    let yaml = std::fs::read_to_string(&hrss).unwrap();
    std::fs::write(
        &hrss,
        yaml.replace("id: wage-arrears\n", "id: unpaid-wages\n"),
    )
    .unwrap();
    let text = explain_ticket(&store, &rules, "T-1");
    assert!(text.contains("differs: recorded OUTCOME_DISPATCH hrss by rule wage-arrears; today OUTCOME_DISPATCH hrss by rule unpaid-wages"), "{text}");
    // Each rule once, though the recorded decision and the archived rules' re-run both name it.
    assert_eq!(
        text.matches("why: rule wage-arrears no longer exists")
            .count(),
        1,
        "{text}"
    );
    assert!(text.contains("why: rule unpaid-wages is new"), "{text}");
    // The recorded decision's own type, time limit and due date.
    assert!(text.contains("\nrequest type REQUEST_TYPE_"), "{text}");
    // Decisions routed without a ticket number all have "" as theirs: an empty one names none.
    let out = run(
        &[
            "explain",
            "--store",
            &store,
            "--rules",
            rules_arg,
            "--request-id",
            "",
        ],
        None,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--request-id is empty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("files changed since version") && text.contains(": departments/hrss.yaml\n"),
        "{text}"
    );
    // The recorded decision is shown with its articles as they were.
    assert!(text.contains("《劳动保障监察条例》第十一条"), "{text}");
}

#[test]
fn explain_names_the_setting_that_changed_when_no_rule_did() {
    // Recorded while the cross-check only flagged disputes; today it sends them to a person.
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_copy(dir.path());
    let settings = rules.join("settings.yaml");
    let today = std::fs::read_to_string(&settings).unwrap();
    assert!(today.contains("action: manual}"));
    std::fs::write(&settings, today.replace("action: manual}", "action: flag}")).unwrap();
    let store = format!("sqlite:{}", dir.path().join("d.sqlite").display());
    let rules_arg = rules.to_str().unwrap();
    // The rules file a property-fee price rise under 城乡建设, the classifier under 商贸旅游.
    let line = "{\"id\":\"T-9\",\"text\":\"物业费涨价了，物业公司也不公示收费标准\"}\n";
    let out = run(
        &["route", "--jsonl", "--rules", rules_arg, "--store", &store],
        Some(line),
    );
    assert!(out.status.success());
    assert!(
        stdout(&out).contains("OUTCOME_DISPATCH"),
        "{}",
        stdout(&out)
    );

    std::fs::write(&settings, &today).unwrap();
    let text = explain_ticket(&store, &rules, "T-9");
    assert!(
        text.contains("differs: recorded OUTCOME_DISPATCH housing"),
        "{text}"
    );
    assert!(
        text.contains("why: decided by DECIDED_BY_RULES then, by DECIDED_BY_CROSS_CHECK today"),
        "{text}"
    );
    assert!(text.contains(": settings.yaml\n"), "{text}");
    assert!(!text.contains("why: rule "), "{text}");
}

#[test]
fn the_report_is_a_page_a_browser_shows_with_its_figures() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let events = dir.path().join("events.jsonl");
    std::fs::write(
        &events,
        format!(
            "{{\"eventId\":\"r1\",\"requestId\":\"T-1\",\"kind\":\"RETURNED\",\"at\":\"{}\",\"departmentId\":\"housing\"}}\n",
            now_plus(1)
        ),
    )
    .unwrap();
    assert!(
        run(
            &[
                "outcomes",
                "--store",
                &store,
                "--input",
                events.to_str().unwrap()
            ],
            None
        )
        .status
        .success()
    );
    let (from, to) = ("2000-01-01", "2100-01-01");
    let text = stdout(&run(
        &["report", "--store", &store, "--from", from, "--to", to],
        None,
    ));
    assert!(text.contains(": 3 decisions"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("hrss ") && l.contains("100.0%") && l.contains("housing×1")),
        "{text}"
    );
    assert!(
        text.contains(
            "manual triage 人工分派: 1 (1 without an operator's choice; 0 possible emergencies; 0 \
             disputed by the classifier)"
        ),
        "{text}"
    );
    let csv = stdout(&run(
        &[
            "report", "--store", &store, "--from", from, "--to", to, "--format", "csv",
        ],
        None,
    ));
    assert!(
        csv.lines()
            .any(|l| l.starts_with("department,hrss,人力资源和社会保障局,1,0,1,1.0000,housing×1")),
        "{csv}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(&run(
        &[
            "report", "--store", &store, "--from", from, "--to", to, "--format", "json",
        ],
        None,
    )))
    .unwrap();
    assert_eq!(json["decisions"], 3);

    let page = dir.path().join("report.html");
    let out = run(
        &[
            "report",
            "--store",
            &store,
            "--from",
            from,
            "--to",
            to,
            "--format",
            "html",
            "--out",
            page.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success());
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("http://")
            || html
                .matches("http://")
                .all(|_| html.contains("http://www.w3.org/2000/svg")),
        "the page loads nothing from the network"
    );
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        println!(
            "skipped: no headless Chromium on this machine (Debian: apt-get install chromium); the page was written and checked as text only"
        );
        return;
    };
    let out = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("<b id=\"total\">3</b>"), "{dom}");
    assert!(
        dom.contains("人力资源和社会保障局") && dom.contains("100.0%"),
        "{dom}"
    );
    assert!(
        dom.contains("<svg") && dom.contains("各部门派单量与退单量"),
        "{dom}"
    );
    assert!(dom.contains("<b id=\"manual\">1</b>"), "{dom}");
}

#[test]
fn a_satisfaction_event_without_a_score_is_refused_not_recorded_as_0() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let at = now_plus(1);
    let lines = format!(
        "{{\"eventId\":\"s1\",\"requestId\":\"T-1\",\"kind\":\"SATISFACTION\",\"at\":\"{at}\"}}\n\
         {{\"eventId\":\"s2\",\"requestId\":\"T-1\",\"kind\":\"SATISFACTION\",\"at\":\"{at}\",\"satisfaction\":4.5}}\n\
         {{\"eventId\":\"s3\",\"requestId\":\"T-1\",\"kind\":\"SATISFACTION\",\"at\":\"{at}\",\"satisfaction\":0}}\n"
    );
    let (status, results) = outcomes(dir.path(), &store, &lines, &[]);
    assert_eq!(status, Some(1));
    let results: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["result"].as_str().unwrap(),
                r["message"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(results[0].0, "invalid");
    assert!(
        results[0].1.starts_with("line 1: satisfaction is missing"),
        "{results:?}"
    );
    assert_eq!(results[1].0, "invalid");
    assert!(
        results[1]
            .1
            .starts_with("line 2: satisfaction 4.5 is not a whole number"),
        "{results:?}"
    );
    assert_eq!(results[2].0, "recorded", "{results:?}");
    // The report's mean is the one score given.
    let out = run(
        &[
            "report",
            "--store",
            &store,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--format",
            "json",
        ],
        None,
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let hrss = report["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["department_id"] == "hrss")
        .unwrap();
    assert_eq!(hrss["satisfaction_count"], 1, "{hrss}");
}

#[test]
fn export_leaves_out_a_returned_order_whose_destination_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let export = || {
        let out = run(&["export", "--store", &store, "--labelled"], None);
        assert!(out.status.success());
        let labels: Vec<(String, String)> = stdout(&out)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["id"].as_str().unwrap().to_owned(),
                    v["label"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (labels, String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // T-1 (hrss) and T-2 (market-regulation) are returned without a department named to go to.
    let lines = format!(
        "{{\"eventId\":\"r1\",\"requestId\":\"T-1\",\"kind\":\"RETURNED\",\"reason\":\"不归我管\",\"at\":\"{at}\"}}\n\
         {{\"eventId\":\"r2\",\"requestId\":\"T-2\",\"kind\":\"RETURNED\",\"at\":\"{at}\"}}\n",
        at = now_plus(1)
    );
    imported(dir.path(), &store, &lines);
    let (labels, stderr) = export();
    assert!(
        labels.iter().all(|(id, _)| id != "T-1" && id != "T-2"),
        "{labels:?}"
    );
    assert!(
        stderr.contains("2 returned with no department named to go to"),
        "{stderr}"
    );
    // Then T-1 is reassigned, and T-2 accepted by another department: known again.
    let lines = format!(
        "{{\"eventId\":\"x1\",\"requestId\":\"T-1\",\"kind\":\"REASSIGNED\",\"departmentId\":\"housing\",\"at\":\"{at}\"}}\n\
         {{\"eventId\":\"x2\",\"requestId\":\"T-2\",\"kind\":\"ACCEPTED\",\"departmentId\":\"housing\",\"at\":\"{at}\"}}\n",
        at = now_plus(2)
    );
    imported(dir.path(), &store, &lines);
    let (labels, stderr) = export();
    let label = |id: &str| {
        labels
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, l)| l.as_str())
    };
    assert_eq!(label("T-1"), Some("housing"), "{labels:?}");
    assert_eq!(label("T-2"), Some("housing"), "{labels:?}");
    assert!(stderr.contains("0 returned with no department"), "{stderr}");
}

#[test]
fn an_event_dated_in_the_future_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    // A typo in the year, and an event a little ahead of this clock (another machine's).
    let lines = format!(
        "{{\"eventId\":\"f1\",\"requestId\":\"T-1\",\"kind\":\"ACCEPTED\",\"at\":\"2062-12-05T09:30:00+08:00\"}}\n\
         {{\"eventId\":\"f2\",\"requestId\":\"T-2\",\"kind\":\"ACCEPTED\",\"at\":\"{}\"}}\n",
        now_plus(60)
    );
    let (status, results) = outcomes(dir.path(), &store, &lines, &[]);
    assert_eq!(status, Some(1));
    assert_eq!(results[0]["result"], "invalid", "{results:?}");
    let message = results[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("line 1: at (2062-12-05 09:30:00.000 +08:00) is in the future"),
        "{message}"
    );
    assert_eq!(results[1]["result"], "recorded", "{results:?}");
}

/// How many decisions the store's database holds with these ids (read straight from the file,
/// as neither the spool nor the ring counts).
fn stored(db: &Path, ids: &[String]) -> usize {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    ids.iter()
        .filter(|id| {
            conn.query_row(
                "SELECT count(*) FROM decisions WHERE decision_id = ?1",
                [id.as_str()],
                |r| r.get::<_, i64>(0),
            )
            .unwrap()
                == 1
        })
        .count()
}

#[test]
fn route_into_head_stores_the_decision_it_printed() {
    use std::io::{BufRead, Write};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("pipe.sqlite");
    let store = format!("sqlite:{}", db.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["route", "--jsonl", "--store", &store])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        for i in 0..5000 {
            let line = format!("{{\"id\":\"P-{i}\",\"text\":\"公司三个月没发工资了\"}}\n");
            if stdin.write_all(line.as_bytes()).is_err() {
                break;
            }
        }
    });
    // `| head -1`: one line read, then the pipe closed.
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let status = child.wait().unwrap();
    feeder.join().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "a reader that has what it wanted is no failure"
    );
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    let id = v["decisionId"].as_str().unwrap().to_owned();
    assert_eq!(
        stored(&db, std::slice::from_ref(&id)),
        1,
        "decision {id} was printed, not stored"
    );
    let out = run(&["explain", "--store", &store, &id], None);
    assert_succeeded(&out);
}

#[test]
fn route_into_a_damaged_store_says_so_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let db = dir.path().join("d.sqlite");
    // Every page after the first overwritten (a disk's damage): the schema on page 1 still
    // reads, so the database opens, and every insert into its tables fails. The page size is
    // read from the file's header (bytes 16–17), whatever size the store was made with.
    {
        use std::io::{Seek, SeekFrom, Write};
        let bytes = std::fs::read(&db).unwrap();
        let page = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
        let rest = bytes.len().saturating_sub(page);
        assert!(rest > 0, "a store of one page");
        let mut f = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
        f.seek(SeekFrom::Start(page as u64)).unwrap();
        f.write_all(&vec![0x5a; rest]).unwrap();
    }
    let out = run(&["route", "--store", &store, "小区停水了"], None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the decisions printed are not in the decision store")
            && stderr.contains("d.sqlite.spool"),
        "{stderr}"
    );
}

/// Routes `lines` into `store` while another connection holds the database's write lock: the
/// router prints every decision and cannot store them, and they are left in its spool, as a
/// database that was down (or a killed batch) leaves them. Returns their ids.
fn leave_in_spool(db: &Path, store: &str, lines: &[String], extra: &[&str]) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut args = vec!["route", "--jsonl", "--store", store];
    args.extend_from_slice(extra);
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let out = run(&args, Some(&input));
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    conn.execute_batch("ROLLBACK").unwrap();
    stdout(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["decisionId"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn report_json(store: &str, as_other: bool) -> (Output, Option<serde_json::Value>) {
    let args = [
        "report",
        "--store",
        store,
        "--from",
        "2000-01-01",
        "--to",
        "2100-01-01",
        "--format",
        "json",
    ];
    let out = if as_other {
        match as_reader(&args) {
            Some(o) => o,
            None => return (run(&["--version"], None), None),
        }
    } else {
        run(&args, None)
    };
    let json = serde_json::from_slice(&out.stdout).ok();
    (out, json)
}

/// Runs the binary as a user who may read the test's files but not write them: `nobody`
/// (through setpriv) when the tests run as root, else this user (the caller makes the files
/// read-only). `None` when neither can be done here.
fn as_reader(args: &[&str]) -> Option<Output> {
    // SAFETY: getuid(2) takes nothing and cannot fail.
    let root = unsafe { libc::getuid() } == 0;
    let mut c = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_hotline-router"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_hotline-router"))
    };
    c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = c.output().ok()?;
    if root && String::from_utf8_lossy(&out.stderr).contains("setpriv:") {
        return None;
    }
    Some(out)
}

fn chmod(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn the_read_commands_store_what_a_killed_route_left_in_the_spool_first() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let db = dir.path().join("d.sqlite");
    let lines: Vec<String> = (0..3)
        .map(|i| format!("{{\"id\":\"K-{i}\",\"text\":\"小区电梯坏了三个月，物业一直不修\"}}"))
        .collect();
    let ids = leave_in_spool(&db, &store, &lines, &[]);
    assert_eq!(
        stored(&db, &ids),
        0,
        "the test's premise: the spool holds them"
    );
    let (out, json) = report_json(&store, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("stored 3 decision(s) that an earlier run left in the spool"),
        "{stderr}"
    );
    assert_eq!(json.unwrap()["decisions"], 6, "{stderr}");
    let out = run(&["explain", "--store", &store, &ids[2]], None);
    assert_succeeded(&out);
}

#[test]
fn a_user_who_may_only_read_the_store_gets_the_report_and_is_told_what_waits() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = record(dir.path(), &common::bundled_dir());
    let db = dir.path().join("d.sqlite");
    let lines: Vec<String> = (0..2)
        .map(|i| format!("{{\"id\":\"K-{i}\",\"text\":\"公司三个月没发工资了\"}}"))
        .collect();
    // On disk, where another user can read it (a ring in /dev/shm is its owner's alone).
    leave_in_spool(&db, &store, &lines, &["--spool-ring-kib", "0"]);
    let before = std::fs::read(&db).unwrap();
    chmod(dir.path(), 0o555);
    chmod(&db, 0o444);
    let (out, json) = report_json(&store, true);
    chmod(dir.path(), 0o755);
    let Some(json) = json else {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.is_empty(), "the report failed: {stderr}");
        println!("skipped: cannot run as another user here");
        return;
    };
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(json["decisions"], 3, "{stderr}");
    assert!(
        stderr.contains("warning: 2 decision(s) wait in the spool")
            && stderr.contains("d.sqlite.spool"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the store was changed");
    // The same for export and explain.
    let out = as_reader(&["export", "--store", &store, "--labelled"]).unwrap();
    assert_succeeded(&out);
    let out = as_reader(&["explain", "--store", &store, "--request-id", "T-1"]).unwrap();
    assert_succeeded(&out);
    // In a directory the reader may write, it leaves no -wal or -shm file of its own there.
    chmod(dir.path(), 0o777);
    let (out, _) = report_json(&store, true);
    chmod(dir.path(), 0o755);
    assert_succeeded(&out);
    for suffix in ["-wal", "-shm"] {
        let p = dir.path().join(format!("d.sqlite{suffix}"));
        assert!(!p.exists(), "{} was left behind", p.display());
    }
}

#[test]
fn a_report_on_an_empty_file_says_so_and_writes_nothing_into_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("empty.sqlite");
    std::fs::write(&db, b"").unwrap();
    let store = format!("sqlite:{}", db.display());
    let (out, _) = report_json(&store, false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("{} is empty", db.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
}

/// The JSON report of everything in `store` under `rules`, and its text form.
fn report_both(store: &str, rules: &Path) -> (serde_json::Value, String) {
    let rules = rules.to_str().unwrap();
    let args = |format: &'static str| {
        let a = [
            "report",
            "--store",
            store,
            "--rules",
            rules,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--format",
            format,
        ];
        let out = run(&a, None);
        assert_succeeded(&out);
        stdout(&out)
    };
    (serde_json::from_str(&args("json")).unwrap(), args("text"))
}

fn department<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["departments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["department_id"] == id)
        .unwrap_or_else(|| panic!("no row for {id}: {report}"))
}

#[test]
fn a_resolved_order_without_a_due_date_is_not_counted_on_time() {
    let dir = tempfile::tempdir().unwrap();
    let rules = rules_copy(dir.path());
    // The calendar without 2026 (as the bundled one will be, without 2027, next January).
    let calendar = rules.join("calendar.yaml");
    let yaml = std::fs::read_to_string(&calendar).unwrap();
    let cut = yaml.find("  - year: 2026").unwrap();
    std::fs::write(&calendar, &yaml[..cut]).unwrap();
    let (store, _) = record(dir.path(), &rules);
    let lines = format!(
        "{{\"eventId\":\"d1\",\"requestId\":\"T-1\",\"kind\":\"RESOLVED\",\"at\":\"{}\"}}\n",
        now_plus(1)
    );
    imported(dir.path(), &store, &lines);
    let (json, text) = report_both(&store, &rules);
    let hrss = department(&json, "hrss");
    assert_eq!(hrss["resolved_on_time"], 0, "{hrss}");
    assert_eq!(hrss["resolved_no_due_date"], 1, "{hrss}");
    let warnings = json["warnings"].to_string();
    assert!(
        warnings.contains("规则的工作日历只到 2025-12-31，早于本报表的统计期末"),
        "{warnings}"
    );
    assert!(text.contains("规则的工作日历只到 2025-12-31"), "{text}");
    assert!(text.contains("件工单没有到期日"), "{text}");
}

#[test]
fn an_order_operators_send_on_after_manual_triage_counts_for_its_department() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = common::bundled_dir();
    let (store, _) = record(dir.path(), &bundled);
    let lines = format!(
        "{{\"eventId\":\"m1\",\"requestId\":\"T-3\",\"kind\":\"REASSIGNED\",\"departmentId\":\"hrss\",\"at\":\"{t1}\"}}\n\
         {{\"eventId\":\"m2\",\"requestId\":\"T-3\",\"kind\":\"RESOLVED\",\"at\":\"{t2}\"}}\n\
         {{\"eventId\":\"m3\",\"requestId\":\"T-3\",\"kind\":\"SATISFACTION\",\"satisfaction\":10,\"at\":\"{t2}\"}}\n",
        t1 = now_plus(1),
        t2 = now_plus(2)
    );
    imported(dir.path(), &store, &lines);
    let (json, _) = report_both(&store, &bundled);
    let hrss = department(&json, "hrss");
    assert_eq!(hrss["orders"], 1, "the router's own: {hrss}");
    assert_eq!(hrss["from_manual"], 1, "{hrss}");
    let resolved = hrss["resolved_on_time"].as_u64().unwrap()
        + hrss["resolved_overdue"].as_u64().unwrap()
        + hrss["resolved_no_due_date"].as_u64().unwrap();
    assert_eq!(resolved, 1, "{hrss}");
    assert_eq!(hrss["satisfaction_count"], 1, "{hrss}");
    assert_eq!(hrss["satisfaction_mean"], 10.0, "{hrss}");
    assert_eq!(json["manual"]["chosen"]["hrss"], 1, "{json}");
}

#[test]
fn a_ticket_routed_again_counts_once_in_the_report_and_the_export() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = common::bundled_dir();
    let (store, _) = record(dir.path(), &bundled);
    let line = "{\"id\":\"T-1\",\"text\":\"公司三个月没发工资了\"}\n";
    let out = run(&["route", "--jsonl", "--store", &store], Some(line));
    assert!(out.status.success());
    let (json, text) = report_both(&store, &bundled);
    assert_eq!(json["decisions"], 3, "{json}");
    assert_eq!(json["superseded"], 1, "{json}");
    assert_eq!(department(&json, "hrss")["orders"], 1, "{json}");
    assert_eq!(department(&json, "hrss")["open"], 1, "{json}");
    assert!(
        text.contains("1 superseded by a later decision of the same ticket"),
        "{text}"
    );
    let out = run(&["export", "--store", &store, "--labelled"], None);
    assert!(out.status.success());
    let ids: Vec<String> = stdout(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.iter().filter(|i| *i == "T-1").count(), 1, "{ids:?}");
}

#[test]
fn an_order_returned_to_no_named_department_is_not_the_refusers() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = common::bundled_dir();
    let (store, _) = record(dir.path(), &bundled);
    let lines = format!(
        "{{\"eventId\":\"u1\",\"requestId\":\"T-1\",\"kind\":\"RETURNED\",\"reason\":\"不归我管\",\"at\":\"{}\"}}\n",
        now_plus(1)
    );
    imported(dir.path(), &store, &lines);
    let (json, text) = report_both(&store, &bundled);
    let hrss = department(&json, "hrss");
    assert_eq!(hrss["returned"], 1, "{hrss}");
    assert_eq!(hrss["returned_to"][""], 1, "{hrss}");
    assert_eq!(
        hrss["open"], 0,
        "hrss refused it, it is not open there: {hrss}"
    );
    assert_eq!(json["destination_unknown"]["orders"], 1, "{json}");
    assert_eq!(json["destination_unknown"]["open"], 1, "{json}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("hrss ") && l.ends_with("(destination unknown)×1")),
        "{text}"
    );
}

#[test]
fn the_html_report_names_hand_offs_and_out_of_scope_decisions_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = common::bundled_dir();
    let (store, _) = record(dir.path(), &bundled);
    let lines = "{\"id\":\"H-1\",\"text\":\"楼下着火了，浓烟很大\"}\n\
                 {\"id\":\"H-2\",\"text\":\"我已经起诉开发商了，法院已经立案，想问问能不能加快\"}\n";
    let out = run(&["route", "--jsonl", "--store", &store], Some(lines));
    assert!(out.status.success());
    let out = run(
        &[
            "report",
            "--store",
            &store,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
            "--format",
            "html",
        ],
        None,
    );
    let html = stdout(&out);
    assert!(!html.contains("派单决定"), "{html}");
    assert!(html.contains("共 <b id=\"total\">5</b> 个决定"), "{html}");
    assert!(
        html.contains("派单 <b id=\"dispatched\">2</b> 件"),
        "{html}"
    );
    assert!(
        html.contains("移交紧急热线 <b id=\"handoffs\">1</b> 件（119×1）"),
        "{html}"
    );
    assert!(
        html.contains("不属受理范围 <b id=\"out-of-scope\">1</b> 件"),
        "{html}"
    );
}
