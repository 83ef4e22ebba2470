//! The fuzz targets of hotline-router, as plain functions of a byte slice.
//!
//! The AFL++ binaries in `src/bin/` (`route_text`, `decode_request`, `load_rules`) call these in
//! AFL's persistent loop; `src/bin/replay.rs` calls the same functions on files (a corpus, a
//! crash) without AFL, under `catch_unwind` and a per-input time budget, so that every finding
//! can be reproduced with a plain `cargo run`.
//!
//! Each target panics only when the library does, or when one of the response invariants checked
//! here (documented in `proto/hotline/routing/v1/routing.proto`) does not hold.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use hotline_router::RuleSet;
use hotline_router::proto::v1 as pb;
use hotline_router::request::{MAX_BATCH_SIZE, RouteInput};
use hotline_router::situate::calendar::Date;
use prost::Message;

/// The repository's `rules/` directory: beside the manifest when this file is built as a module
/// of the main crate's tests (`tests/fuzz_harness.rs`), one level up when built in `fuzz/`.
pub fn rules_dir() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    if here.join("rules").is_dir() {
        here.join("rules")
    } else {
        here.join("../rules")
    }
}

/// The bundled rule set, loaded once (as the server loads it: `load_dir`, examples included).
pub fn rule_set() -> &'static RuleSet {
    static SET: OnceLock<RuleSet> = OnceLock::new();
    SET.get_or_init(|| match hotline_router::load_dir(&rules_dir()) {
        Ok(set) => set,
        Err(e) => panic!("the bundled rules do not load: {e}"),
    })
}

/// Loads everything a target needs before the fork server starts (AFL's deferred init), so that
/// each forked child starts with it.
pub fn init(target: Target) {
    match target {
        Target::RouteText | Target::DecodeRequest => {
            let set = rule_set();
            // Warm the lazy parts (jieba, thread-local scratch) too.
            let _ = set.route(&RouteInput::text("小区电梯坏了三个月，物业一直不修"));
        }
        Target::LoadRules => {
            let _ = bundled_texts();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    RouteText,
    DecodeRequest,
    LoadRules,
}

impl Target {
    pub const ALL: [Target; 3] = [Target::RouteText, Target::DecodeRequest, Target::LoadRules];

    pub fn name(self) -> &'static str {
        match self {
            Target::RouteText => "route_text",
            Target::DecodeRequest => "decode_request",
            Target::LoadRules => "load_rules",
        }
    }

    pub fn parse(s: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|t| t.name() == s)
    }

    pub fn run(self, data: &[u8]) {
        match self {
            Target::RouteText => route_text(data),
            Target::DecodeRequest => decode_request(data),
            Target::LoadRules => load_rules(data),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target 1: normalize + validate + route of arbitrary text.
// ---------------------------------------------------------------------------------------------

/// Input layout: up to five fields separated by NUL bytes, each decoded as lossy UTF-8:
/// `text \0 title \0 place \0 received \0 id`. A plain text (no NUL) is a request with only a
/// text. `received` is parsed as the CLI parses `--received` (YYYY-MM-DD).
pub fn route_text(data: &[u8]) {
    let mut fields = data.splitn(5, |&b| b == 0).map(String::from_utf8_lossy);
    let text = fields.next().unwrap_or_default();
    let title = fields.next().unwrap_or_default();
    let place = fields.next().unwrap_or_default();
    let received = fields.next().unwrap_or_default();
    let id = fields.next().unwrap_or_default();

    // Stage 1 on its own, on every field (it is public and takes any string).
    for s in [&text, &title, &place] {
        check_normalized(s);
    }

    let input = RouteInput {
        id: &id,
        title: &title,
        text: &text,
        place: &place,
        received: Date::parse(&received),
        received_ms: None,
    };
    if input.validate().is_ok() {
        let response = rule_set().route(&input);
        check_response(&input, &response);
    }
    // The same text alone, as `route "TEXT"` would send it.
    let alone = RouteInput::text(&text);
    if alone.validate().is_ok() && (!title.is_empty() || !place.is_empty() || !id.is_empty()) {
        let response = rule_set().route(&alone);
        check_response(&alone, &response);
    }
}

/// Invariants of `normalize`: the map back to the original stays inside it.
fn check_normalized(original: &str) {
    let n = hotline_router::engine::normalize::normalize(original);
    let chars = original.chars().count() as u32;
    assert_eq!(n.original_chars(), chars, "original_chars");
    let text = n.text();
    assert!(n.lead_end() <= text.len(), "lead_end past the end");
    assert!(
        text.is_char_boundary(n.lead_end()),
        "lead_end not on a char boundary"
    );
    let mut bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    bounds.push(text.len());
    // A few spans (all of them for short texts): every one maps inside the original.
    let step = (bounds.len() / 16).max(1);
    for (k, &a) in bounds.iter().enumerate().step_by(step) {
        for &b in bounds[k..].iter().step_by(step) {
            let (s, e) = n.original_span(a, b);
            assert!(
                s <= e && e <= chars,
                "original_span({a}, {b}) = ({s}, {e}) of {chars}"
            );
        }
    }
}

/// Invariants of a response (routing.proto): evidence offsets index the routed string (title +
/// "\n" + text) in Unicode scalar values and quote it; confidence is in 0..1; numbers finite.
fn check_response(input: &RouteInput<'_>, r: &pb::RouteResponse) {
    let joined: Vec<char> = input.joined().chars().collect();
    for e in r.evidence.iter().chain(&r.request_type_evidence) {
        let (s, t) = (e.start as usize, e.end as usize);
        assert!(
            s <= t && t <= joined.len(),
            "evidence {s}..{t} outside 0..{}",
            joined.len()
        );
        let quoted: String = joined[s..t].iter().collect();
        assert_eq!(
            quoted, e.text,
            "evidence text is not the original at {s}..{t}"
        );
    }
    assert!(
        r.confidence.is_finite() && (0.0..=1.0).contains(&r.confidence),
        "confidence {}",
        r.confidence
    );
    assert!(r.score.is_finite(), "score {}", r.score);
    assert_eq!(r.id, input.id, "id not echoed");
    assert!(
        r.outcome != pb::Outcome::Unspecified as i32,
        "outcome unspecified"
    );
    // The models' parts: probabilities an intake system shows as percentages, and the emergency
    // check's flag only on a decision the rules did not hand off (it never hands off itself).
    let probability = |p: f64, what: &str| {
        assert!(
            p.is_finite() && (0.0..=1.0).contains(&p),
            "{what} probability {p}"
        );
    };
    for s in &r.suggestions {
        probability(s.probability, "suggestion");
    }
    if let Some(m) = &r.model_check {
        probability(m.top_probability, "model_check top");
        probability(m.rules_probability, "model_check rules");
    }
    if let Some(e) = &r.possible_emergency {
        probability(e.probability, "possible_emergency");
        for l in &e.lines {
            probability(l.probability, "possible_emergency line");
        }
        assert!(r.handoff.is_none(), "a possible emergency on a hand-off");
    }
    // The response encodes and decodes to itself (what the server sends).
    let bytes = r.encode_to_vec();
    let back = pb::RouteResponse::decode(bytes.as_slice()).expect("a response decodes");
    assert_eq!(&back, r, "response does not round-trip");
}

// ---------------------------------------------------------------------------------------------
// Target 2: protobuf decoding of RouteRequest / RouteBatchRequest, then validation and routing.
// ---------------------------------------------------------------------------------------------

/// The same bytes are decoded both as a `RouteRequest` (the `Route` method) and as a
/// `RouteBatchRequest` (`RouteBatch`); what decodes is validated and routed as the server does.
pub fn decode_request(data: &[u8]) {
    let set = rule_set();
    if let Ok(r) = pb::RouteRequest::decode(data) {
        check_roundtrip(&r);
        if let Ok(input) = RouteInput::from_proto(&r) {
            let response = set.route(&input);
            check_response(&input, &response);
        }
    }
    if let Ok(batch) = pb::RouteBatchRequest::decode(data) {
        check_roundtrip(&batch);
        // The server's checks of the batch as a whole (src/server/service.rs, route_batch).
        if batch.requests.is_empty() || batch.requests.len() > MAX_BATCH_SIZE {
            return;
        }
        for r in &batch.requests {
            if let Ok(input) = RouteInput::from_proto(r) {
                let response = set.route(&input);
                check_response(&input, &response);
            }
        }
    }
}

fn check_roundtrip<M: Message + Default + PartialEq + std::fmt::Debug>(m: &M) {
    let bytes = m.encode_to_vec();
    let back = M::decode(bytes.as_slice()).expect("a decoded message re-encodes and decodes");
    assert_eq!(&back, m, "message does not round-trip");
}

// ---------------------------------------------------------------------------------------------
// Target 3: rule loading from arbitrary YAML.
// ---------------------------------------------------------------------------------------------

/// The bundled rule files (`rules/**/*.yaml`, not the classifier): (relative name, content).
pub fn bundled_texts() -> &'static [(String, String)] {
    static TEXTS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let dir = rules_dir();
        let mut out = Vec::new();
        let mut stack = vec![dir.clone()];
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("rules dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    let name = path
                        .strip_prefix(&dir)
                        .expect("under rules")
                        .to_string_lossy()
                        .replace('\\', "/");
                    out.push((
                        name,
                        std::fs::read_to_string(&path).expect("utf-8 rule file"),
                    ));
                }
            }
        }
        out.sort();
        out
    })
}

/// Input layout: one selector byte, then the YAML text (lossy UTF-8).
///
/// - selector `% 4 == 0`: the text alone is the rule set, one file `fuzz.yaml`;
/// - otherwise: the bundled rule files with file number `selector / 4 % n` replaced by the text
///   (same name), so that a mutated file meets a valid rest and reaches the validators and the
///   compiler, not only the YAML parser.
pub fn load_rules(data: &[u8]) {
    let Some((&selector, yaml)) = data.split_first() else {
        return;
    };
    let yaml = String::from_utf8_lossy(yaml).into_owned();
    let texts: Vec<(String, String)> = if selector % 4 == 0 {
        vec![("fuzz.yaml".to_owned(), yaml)]
    } else {
        let bundled = bundled_texts();
        let k = (selector as usize / 4) % bundled.len();
        bundled
            .iter()
            .enumerate()
            .map(|(i, (n, t))| (n.clone(), if i == k { yaml.clone() } else { t.clone() }))
            .collect()
    };
    match hotline_router::ruleset::compile_texts(texts, PathBuf::from("fuzz")) {
        Ok(set) => {
            // A set that compiles must route.
            let input = RouteInput::text("小区电梯坏了三个月，物业一直不修，物业费还涨价了");
            let _ = set.route(&input);
        }
        Err(e) => {
            // Every error is reported, with a location and text.
            assert!(e.errors().next().is_some(), "LoadError without an error");
            let _ = e.to_string();
        }
    }
}
