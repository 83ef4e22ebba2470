//! The command line as a user runs it: exit statuses (0 ok, 1 findings, 2 could not run),
//! `check --format json`, and `route --record`.

use std::path::Path;
use std::process::{Command, Output};

mod common;

fn run(args: &[&str], rules: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_hotline-router"));
    c.args(args);
    if let Some(dir) = rules {
        c.arg("--rules").arg(dir);
    }
    c.output().unwrap()
}

/// `route --jsonl` with `input` on its standard input.
fn route_jsonl(input: &str) -> Output {
    let mut batch = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["route", "--jsonl"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        batch
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    batch.wait_with_output().unwrap()
}

/// The bundled rules plus one file with an unknown department (line 5) and a failing example.
fn broken_rules() -> tempfile::TempDir {
    let dir = common::rules_dir_with(common::CORE_FILES);
    std::fs::write(
        dir.path().join("broken.yaml"),
        "rules:\n  - id: bad-one\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housng\n    regulations: [物业管理条例/第四十一条]\n    conditions: {all: [[物业费]]}\n    examples: [物业费]\n",
    )
    .unwrap();
    dir
}

#[test]
fn check_reports_codes_and_places_as_text_and_json_and_exits_2() {
    let dir = broken_rules();
    let out = run(&["check"], Some(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("broken.yaml:5:17: error[E0201]: unknown department \"housng\" in rule \"bad-one\"; did you mean \"housing\"?"),
        "{err}"
    );
    assert!(err.contains("  help: use the id of a department"), "{err}");

    let out = run(&["check", "--format", "json"], Some(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "E0201");
    assert_eq!(d["name"], "unknown-department");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        (d["file"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("broken.yaml"), Some(5), Some(17))
    );
    assert!(d["help"].as_str().is_some_and(|h| !h.is_empty()));
}

#[test]
fn check_json_on_the_bundled_rules_gives_one_rule_count() {
    let out = run(&["check", "--format", "json"], None);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], true);
    let n = |k: &str| v[k].as_u64().unwrap();
    assert_eq!(
        n("ruleCount"),
        n("dispatchRuleCount") + n("handoffCount") + n("outOfScopeCount")
    );
    assert_eq!(n("ruleCount") as usize, common::bundled().rules().len());
    assert_eq!(n("errors"), 0);
}

#[test]
fn one_exit_status_policy() {
    let dir = broken_rules();
    // Rules that do not load: 2 in every command that needs them.
    for cmd in [
        &["route", "物业费"][..],
        &["test"],
        &["lint"],
        &["tokens", "物业费"],
    ] {
        let out = run(cmd, Some(dir.path()));
        assert_eq!(out.status.code(), Some(2), "{cmd:?}");
    }
    // Bad input: 2.
    assert_eq!(run(&["route", "  "], None).status.code(), Some(2));
    assert_eq!(
        run(&["route", "--received", "2026-02-30", "x"], None)
            .status
            .code(),
        Some(2)
    );
    // A limit of 0 would refuse every call: refused at start, never served.
    for flag in [
        "--max-streams",
        "--max-receiving-bytes",
        "--max-header-bytes",
        "--max-concurrency",
        "--max-connections",
        "--body-timeout-ms",
    ] {
        let out = run(
            &[
                "serve",
                "--store",
                "none",
                "--console-listen",
                "off",
                "--listen",
                "127.0.0.1:0",
                flag,
                "0",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{flag}");
    }
    // A batch's lines carry their own place and date: a flag that would be left out is refused.
    for extra in [
        &["--place", "高新区"][..],
        &["--received", "2026-12-01"],
        &["物业费谁交"],
    ] {
        let out = run(&[&["route", "--jsonl"][..], extra].concat(), None);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("cannot be used with"),
            "{extra:?}"
        );
    }
    let missing = run(&["eval", "--input", "/nonexistent/corpus.jsonl"], None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).starts_with("error: cannot open"));
    // Ran, and the answer is no: 1 (a failing example).
    let failing = tempfile::tempdir().unwrap();
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let p = f.unwrap().path();
        if p.file_name().is_some_and(|n| n != "broken.yaml") {
            std::fs::copy(&p, failing.path().join(p.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(
        failing.path().join("x.yaml"),
        "rules:\n  - id: x-fee\n    topic: t\n    category: 城乡建设/住房保障与房地产/物业服务\n    department: housing\n    regulations: [物业管理条例/第四十一条]\n    conditions: {all: [[甲乙丙]]}\n    examples: [物业费谁交]\n",
    )
    .unwrap();
    assert_eq!(run(&["test"], Some(failing.path())).status.code(), Some(1));
    // Fine: 0.
    assert_eq!(
        run(&["route", "公司三个月没发工资了"], None).status.code(),
        Some(0)
    );
}

#[test]
fn route_record_appends_one_line_per_decision_without_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("decisions.jsonl");
    let record_arg = record.to_str().unwrap();
    let text = "我的手机13812345678，公司三个月没发工资了";
    let out = run(&["route", "--json", "--record", record_arg, text], None);
    assert_eq!(out.status.code(), Some(0));
    let decision: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    let mut batch = Command::new(env!("CARGO_BIN_EXE_hotline-router"))
        .args(["route", "--jsonl", "--record", record_arg])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = batch.stdin.take().unwrap();
        writeln!(stdin, r#"{{"id":"A-1","text":"小区电梯坏了三个月"}}"#).unwrap();
        writeln!(stdin, r#"{{"id":"A-2","text":""}}"#).unwrap();
    }
    // One line refused (A-2): exit status 1, the rest still routed and recorded.
    assert_eq!(batch.wait_with_output().unwrap().status.code(), Some(1));

    let written = std::fs::read_to_string(&record).unwrap();
    let lines: Vec<serde_json::Value> = written
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The refused line (A-2) is not a decision and is not recorded.
    assert_eq!(lines.len(), 2, "{written}");
    assert_eq!(lines[0]["decision"], decision);
    assert_eq!(lines[0]["method"], "cli");
    assert_eq!(lines[0]["rulesVersion"], decision["rulesVersion"]);
    assert_eq!(lines[1]["requestId"], "A-1");
    assert!(!written.contains("13812345678"), "{written}");
}

#[test]
fn route_jsonl_writes_one_line_per_input_line_and_refuses_what_the_server_refuses() {
    let long_title = "物".repeat(300_000);
    let long_id = "x".repeat(200);
    // The byte-order mark a Windows editor puts first is not part of line 1.
    let input = format!(
        "\u{feff}{}\n\n{}\n{}\nnot json\n{}\n",
        r#"{"id":"A-1","text":"小区电梯坏了三个月"}"#,
        serde_json::json!({"id": "A-3", "title": long_title}),
        serde_json::json!({"id": long_id, "text": "公司三个月没发工资了"}),
        r#"{"id":"A-6","text":"公司三个月没发工资了"}"#,
    );
    let out = route_jsonl(&input);
    assert_eq!(out.status.code(), Some(1), "lines were refused");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("4 of 6 line(s) refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6, "one output line per input line: {lines:?}");
    let error = |i: usize| {
        lines[i]["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    // A decision line is the RouteResponse itself; a refused line is {"id", "error"}.
    assert_eq!(lines[0]["id"], "A-1");
    assert!(lines[0]["outcome"].is_string(), "{}", lines[0]);
    assert!(error(1).contains("line 2 is blank"), "{}", error(1));
    // The same limits and words as the server's INVALID_ARGUMENT (src/request.rs).
    assert!(error(2).contains("over the limit of 20000"), "{}", error(2));
    assert!(
        error(3).contains("request_id is longer than 128"),
        "{}",
        error(3)
    );
    assert!(
        error(4).contains("line 5 is not a JSON object"),
        "{}",
        error(4)
    );
    assert_eq!(lines[5]["department"]["id"], "hrss", "{}", lines[5]);
    // Every refusal says which line it is.
    assert!(error(2).starts_with("line 3: "), "{}", error(2));
    assert!(error(3).starts_with("line 4: "), "{}", error(3));
}

#[test]
fn route_jsonl_keeps_a_numeric_ticket_number_exactly_or_refuses_it() {
    let input = format!(
        "{}\n{}\n{}\n{}\n{}\n",
        r#"{"id":20261205001,"text":"小区电梯坏了三个月"}"#,
        r#"{"id":18446744073709551617,"text":"小区电梯坏了三个月"}"#,
        r#"{"id":{"a":1},"text":"小区电梯坏了三个月"}"#,
        // A line of 2 MB is refused without being read whole; the next one is read as usual.
        serde_json::json!({"id": "L-4", "text": "啊".repeat(700_000)}),
        r#"{"id":"Z-5","text":"小区电梯坏了三个月"}"#,
    );
    let out = route_jsonl(&input);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 5);
    assert_eq!(lines[0]["id"], "20261205001", "{}", lines[0]);
    let long = lines[3]["error"]["message"].as_str().unwrap_or_default();
    assert!(long.starts_with("line 4 is longer than"), "{long}");
    assert_eq!(lines[4]["id"], "Z-5", "{}", lines[4]);
    for (i, l) in lines.iter().enumerate().skip(1).take(2) {
        let message = l["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("line {}: \"id\"", i + 1)),
            "{message}"
        );
    }
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn suggest_proposes_the_missed_word_for_the_fallback_rule_and_counts_what_it_fixes() {
    // Three requests about a word no rule has (智能快递柜 "蜂巢"), labelled 城乡建设, and one the
    // rules already route right.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("labelled.jsonl");
    std::fs::write(
        &corpus,
        "{\"id\":\"s1\",\"text\":\"蜂巢柜的事情想反映一下，一直没人管\",\"label\":\"城乡建设\"}\n\
         {\"id\":\"s2\",\"text\":\"我们这里的蜂巢柜到底归谁管\",\"label\":\"城乡建设\"}\n\
         {\"id\":\"s3\",\"text\":\"请问蜂巢柜能不能挪个地方\",\"label\":\"城乡建设\"}\n\
         {\"id\":\"s4\",\"text\":\"公司三个月没发工资了\",\"label\":\"劳动和社会保障\"}\n",
    )
    .unwrap();
    let housing = common::bundled_dir().join("departments/housing.yaml");
    let before = std::fs::read(&housing).unwrap();
    let out = run(
        &[
            "suggest",
            "--format",
            "json",
            "--input",
            corpus.to_str().unwrap(),
        ],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let p = report["proposals"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["label"] == "城乡建设")
        .expect("a proposal for 城乡建设");
    assert_eq!(p["unrouted"], 3);
    assert!(
        p["terms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["term"] == "蜂巢"),
        "{p}"
    );
    assert_eq!(p["rule_id"], "domain-urban");
    // The `any:` line as it would read, in the file's layout, ready to paste over the old one.
    let snippet = p["snippet"].as_str().unwrap();
    assert!(snippet.contains("any: [蜂巢"), "{snippet}");
    assert_eq!(p["fixes"], 3, "{p}");
    assert_eq!(p["breaks"], 0, "{p}");
    assert_eq!(
        std::fs::read(&housing).unwrap(),
        before,
        "nothing is written to the rules"
    );
}

#[test]
fn eval_reads_one_fold_and_judges_on_the_others() {
    // Twelve requests written for this test; fold 1 of 3 and the other two split them.
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("labelled.jsonl");
    let texts = [
        "公司三个月没发工资了",
        "楼下饭店油烟直排",
        "小区电梯经常坏",
        "学校乱收补课费",
        "物业费没过户谁交",
        "工地晚上施工太吵",
    ];
    let lines: String = (0..12)
        .map(|i| {
            format!(
                "{{\"id\":\"f{i}\",\"text\":\"{}（{i}）\",\"label\":\"城乡建设\"}}\n",
                texts[i % texts.len()]
            )
        })
        .collect();
    std::fs::write(&corpus, lines).unwrap();
    let total = |flag: &str| {
        let out = run(
            &[
                "eval",
                "--format",
                "json",
                "--input",
                corpus.to_str().unwrap(),
                flag,
                "1/3",
            ],
            None,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("1/3"));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        report["total"].as_u64().unwrap()
    };
    let (part, rest) = (total("--part"), total("--without"));
    assert_eq!(part, 4, "fold 1 of 3 holds a third of 12 rows");
    assert_eq!(part + rest, 12);
    let out = run(
        &["eval", "--input", corpus.to_str().unwrap(), "--part", "4/3"],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("between 1 and K"));
}

#[test]
fn a_corpus_with_a_byte_order_mark_is_read_whole_and_one_with_no_usable_line_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bundled = common::bundled_dir();
    let rules = bundled.to_str().unwrap();
    // As a Windows editor or a spreadsheet's "UTF-8 CSV/JSON" export saves it.
    let corpus = dir.path().join("bom.jsonl");
    std::fs::write(
        &corpus,
        "\u{feff}{\"id\":\"a\",\"text\":\"公司三个月没发工资了\",\"label\":\"劳动和社会保障\"}\n\
         {\"id\":\"b\",\"text\":\"小区物业费没过户应该谁交\",\"label\":\"城乡建设\"}\n",
    )
    .unwrap();
    let out = run(
        &[
            "eval",
            "--input",
            corpus.to_str().unwrap(),
            "--rules",
            rules,
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("2 requests"), "{stdout}");
    assert!(!stderr.contains("skipped"), "{stderr}");

    // A CSV, an empty file: every corpus reader refuses them rather than report on nothing.
    let csv = dir.path().join("corpus.csv");
    std::fs::write(&csv, "id,text,label\n1,公司没发工资,劳动和社会保障\n").unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    for input in [&csv, &empty] {
        let input = input.to_str().unwrap();
        for args in [
            vec!["eval", "--input", input, "--rules", rules],
            vec!["suggest", "--input", input, "--rules", rules],
            vec!["lint", "--input", input, "--rules", rules],
            vec!["diff", "--old", rules, "--new", rules, "--input", input],
        ] {
            let out = run(&args, None);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("{input} has no usable line")),
                "{args:?}: {stderr}"
            );
        }
    }
}
