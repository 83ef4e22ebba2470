//! What the decision store keeps: a record per decision, the rule files of every rule-set version
//! that served one, and the events that happen to a decision afterwards (退单, 改派, 办结, 回访).
//!
//! A decision travels as a binary frame through the spool (`spool.rs`) and is read back as a
//! [`DecisionRef`] borrowing from the frame's bytes. SQLite stores that frame as it is (the
//! `record` column, since schema 3; JSON before), PostgreSQL the JSON of its [`DecisionRecord`];
//! queries read a [`DecisionRecord`] back from either.

use serde::{Deserialize, Serialize};

use crate::proto::v1 as pb;

/// How much of a request's text the store keeps (`--store-text`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum TextMode {
    /// Phone, ID, bank card and plate numbers replaced by labels (the default).
    #[default]
    Masked,
    /// The text as received.
    Full,
    /// No text at all.
    None,
}

impl TextMode {
    pub fn as_str(self) -> &'static str {
        match self {
            TextMode::Masked => "masked",
            TextMode::Full => "full",
            TextMode::None => "none",
        }
    }
}

/// One decision as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub decision_id: String,
    /// The caller's ticket number ("" when none was given).
    pub request_id: String,
    /// `Route`, `RouteBatch` or `cli`.
    pub method: String,
    /// `CHANNEL_PHONE`, …
    pub channel: String,
    /// The caller's TLS client certificate subject (mutual TLS); "" otherwise, and in records
    /// written before it was kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client: String,
    /// When the router received the request and decided, by its own clock, in milliseconds
    /// since 1970 (UTC): what the decision id begins with, what a report's period and retention
    /// go by, and what events must not be dated before.
    pub received_at_ms: i64,
    /// When the hotline received the request, as the caller said (`RouteRequest.received_time`;
    /// a day alone as its first millisecond, China time), in milliseconds since 1970; `None`
    /// when the caller did not say, and in records written before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_time_ms: Option<i64>,
    /// Title and text as `title + "\n" + text`, per `text_mode`; `None` when not kept.
    pub text: Option<String>,
    pub text_mode: TextMode,
    pub place: String,
    pub rules_version: String,
    /// `OUTCOME_DISPATCH`, …
    pub outcome: String,
    pub department_id: String,
    /// The handling unit's name.
    pub unit: String,
    pub rule_id: String,
    /// The category path, level 1 first.
    pub category: Vec<String>,
    /// The cited articles' ids (their text is in the archived rule files of `rules_version`).
    pub articles: Vec<String>,
    pub confidence: f64,
    /// `REQUEST_TYPE_COMPLAINT`, …
    pub request_type: String,
    /// The time limit in working days (0: none) and the due date, when the request had a
    /// received date.
    pub working_days: u32,
    pub due_date: String,
    /// The hand-off line, for hand-offs.
    pub handoff_line: String,
    pub reason: String,
    /// Who decided (`DECIDED_BY_RULES`, `DECIDED_BY_EMERGENCY_CHECK`, …); "" in records written
    /// before 2026-12-03.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub decided_by: String,
}

impl DecisionRecord {
    /// The decision as recorded, as a `RouteResponse` with the recorded fields: outcome,
    /// department, unit, rule, category, articles (by id: their text is in the archived rule
    /// files of `rules_version`), confidence, request type, time limit, reason.
    pub fn to_response(&self) -> pb::RouteResponse {
        pb::RouteResponse {
            id: self.request_id.clone(),
            decision_id: self.decision_id.clone(),
            outcome: pb::Outcome::from_str_name(&self.outcome).unwrap_or(pb::Outcome::Unspecified)
                as i32,
            department: (!self.department_id.is_empty()).then(|| pb::Department {
                id: self.department_id.clone(),
                ..Default::default()
            }),
            category: self.category.clone(),
            rule_id: self.rule_id.clone(),
            regulations: self
                .articles
                .iter()
                .map(|id| pb::Regulation {
                    id: id.clone(),
                    ..Default::default()
                })
                .collect(),
            confidence: self.confidence,
            rules_version: self.rules_version.clone(),
            handoff: (!self.handoff_line.is_empty()).then(|| pb::Handoff {
                line: self.handoff_line.clone(),
                ..Default::default()
            }),
            reason: self.reason.clone(),
            unit: (!self.unit.is_empty()).then(|| pb::HandlingUnit {
                name: self.unit.clone(),
                ..Default::default()
            }),
            request_type: pb::RequestType::from_str_name(&self.request_type)
                .unwrap_or(pb::RequestType::Unspecified) as i32,
            time_limit: (self.working_days > 0).then(|| pb::TimeLimit {
                working_days: self.working_days,
                due_date: self.due_date.clone(),
                // The day the due date was counted from, as the response said it.
                received_date: self
                    .received_date()
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                ..Default::default()
            }),
            decided_by: self.decided_by() as i32,
            ..Default::default()
        }
    }

    /// The day the hotline received the request (China time), when the caller said.
    pub fn received_date(&self) -> Option<crate::situate::calendar::Date> {
        self.received_time_ms.and_then(super::report::china_date)
    }

    /// Who decided (`Unspecified` in records written before it was kept).
    pub fn decided_by(&self) -> pb::DecidedBy {
        pb::DecidedBy::from_str_name(&self.decided_by).unwrap_or(pb::DecidedBy::Unspecified)
    }

    /// Whether the emergency check sent this request to manual triage as a possible emergency.
    pub fn possible_emergency(&self) -> bool {
        self.decided_by() == pb::DecidedBy::EmergencyCheck
    }

    /// Whether the cross-check sent the rules' dispatch to manual triage (the classifier disputed
    /// its domain).
    pub fn disputed(&self) -> bool {
        self.decided_by() == pb::DecidedBy::CrossCheck
    }
}

/// The rule files of one rule-set version, so that any past decision can be explained exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSetArchive {
    pub version: String,
    /// (path relative to the rules directory, content).
    pub files: Vec<(String, String)>,
}

/// What happened to a decision after it was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventKind {
    /// The department accepted the order (签收).
    Accepted,
    /// The department returned it (退单), with a reason and the department it should go to.
    Returned,
    /// An operator sent it to another department (改派).
    Reassigned,
    /// The department finished it (办结).
    Resolved,
    /// The caller's satisfaction at the return visit (回访), on the centre's scale.
    Satisfaction,
    /// The time limit was extended (延期), with the new due date.
    Extended,
    /// The centre pressed the department (督办).
    Supervised,
    /// The centre reopened a finished order (重办), e.g. after an unsatisfied return visit.
    Reopened,
}

impl EventKind {
    pub const ALL: [EventKind; 8] = [
        EventKind::Accepted,
        EventKind::Returned,
        EventKind::Reassigned,
        EventKind::Resolved,
        EventKind::Satisfaction,
        EventKind::Extended,
        EventKind::Supervised,
        EventKind::Reopened,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Accepted => "ACCEPTED",
            EventKind::Returned => "RETURNED",
            EventKind::Reassigned => "REASSIGNED",
            EventKind::Resolved => "RESOLVED",
            EventKind::Satisfaction => "SATISFACTION",
            EventKind::Extended => "EXTENDED",
            EventKind::Supervised => "SUPERVISED",
            EventKind::Reopened => "REOPENED",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        let s = s.trim().to_ascii_uppercase();
        let s = s.strip_prefix("EVENT_KIND_").unwrap_or(&s);
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn from_proto(k: i32) -> Option<EventKind> {
        Some(match pb::EventKind::try_from(k).ok()? {
            pb::EventKind::Unspecified => return None,
            pb::EventKind::Accepted => EventKind::Accepted,
            pb::EventKind::Returned => EventKind::Returned,
            pb::EventKind::Reassigned => EventKind::Reassigned,
            pb::EventKind::Resolved => EventKind::Resolved,
            pb::EventKind::Satisfaction => EventKind::Satisfaction,
            pb::EventKind::Extended => EventKind::Extended,
            pb::EventKind::Supervised => EventKind::Supervised,
            pb::EventKind::Reopened => EventKind::Reopened,
        })
    }

    pub fn to_proto(self) -> pb::EventKind {
        match self {
            EventKind::Accepted => pb::EventKind::Accepted,
            EventKind::Returned => pb::EventKind::Returned,
            EventKind::Reassigned => pb::EventKind::Reassigned,
            EventKind::Resolved => pb::EventKind::Resolved,
            EventKind::Satisfaction => pb::EventKind::Satisfaction,
            EventKind::Extended => pb::EventKind::Extended,
            EventKind::Supervised => pb::EventKind::Supervised,
            EventKind::Reopened => pb::EventKind::Reopened,
        }
    }
}

/// One event, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The sender's id for the event: recording the same id twice records it once.
    pub event_id: String,
    /// The decision it belongs to (resolved from `request_id` when only that was given).
    pub decision_id: String,
    pub kind: EventKind,
    /// When it happened, in milliseconds since 1970 (UTC).
    pub at_ms: i64,
    /// RETURNED: the department it should go to; REASSIGNED: the department it went to.
    pub department_id: String,
    pub reason: String,
    /// SATISFACTION: the score on the centre's scale.
    pub satisfaction: Option<i32>,
    /// EXTENDED: the new due date (YYYY-MM-DD).
    pub due_date: String,
    /// Who recorded it (operator or system).
    pub operator: String,
}

/// A stored decision with its events, oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredDecision {
    pub record: DecisionRecord,
    pub events: Vec<Event>,
}

impl StoredDecision {
    /// The department the order finally went to, as [`known_final_department`] says, or ""
    /// when it is unknown (returned with no department named, manual triage without an
    /// operator's choice): never the department that refused it.
    ///
    /// [`known_final_department`]: Self::known_final_department
    pub fn final_department(&self) -> &str {
        self.known_final_department().unwrap_or("")
    }

    /// The department the order finally went to, when the events say so: the decision's own,
    /// then, event by event, the department a REASSIGNED or an ACCEPTED names, or a RETURNED
    /// names as where it should go. A RETURNED that names none leaves it unknown (`None`) until a
    /// later event names one: the department that refused the order is not where it went, and
    /// a corpus labelled with it would teach the router its own mistake. Also `None` for manual
    /// triage without an operator's choice.
    pub fn known_final_department(&self) -> Option<&str> {
        fn named(e: &Event) -> Option<&str> {
            Some(e.department_id.as_str()).filter(|d| !d.is_empty())
        }
        let mut department = Some(self.record.department_id.as_str()).filter(|d| !d.is_empty());
        for e in &self.events {
            match e.kind {
                EventKind::Returned => department = named(e),
                EventKind::Reassigned | EventKind::Accepted => {
                    department = named(e).or(department);
                }
                _ => {}
            }
        }
        department
    }
}

/// What a store line is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum Entry {
    Decision(Box<DecisionRecord>),
    RuleSet(RuleSetArchive),
}

/// The decisions of a period, oldest first, and the ids of those whose records are damaged on
/// disk: left out, and said so, so that one damaged row neither stops a report nor vanishes
/// from it unnoticed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Period {
    pub decisions: Vec<StoredDecision>,
    pub damaged: Vec<String>,
    /// Of `decisions`, those a later decision of the same ticket replaced (within the period or
    /// after it): the ticket was routed again, and its events by ticket number go to the latest.
    pub superseded: Vec<String>,
}

/// Where to find a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    DecisionId(String),
    /// The latest decision with this ticket number.
    RequestId(String),
}

/// As a message says it: `decision_id "…"` or `request_id "…"` (escaped, as ids with control
/// characters are refused before a lookup but may come from a store).
impl std::fmt::Display for Lookup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::DecisionId(id) => write!(f, "decision_id {id:?}"),
            Lookup::RequestId(id) => write!(f, "request_id {id:?}"),
        }
    }
}

/// What recording an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum EventOutcome {
    Recorded {
        decision_id: String,
    },
    /// The event id was recorded before, with the same content; nothing changed.
    Duplicate {
        decision_id: String,
    },
    /// The event id was recorded before for another decision, or with other content (kind,
    /// time …): two events under one id, which the sender must tell apart; nothing changed.
    Conflict {
        event_id: String,
        /// The decision the id belongs to, and the kind of its event.
        decision_id: String,
        kind: EventKind,
        /// Whether the stored event says the same and only its decision differs (the same
        /// event id used on another decision or ticket).
        same_content: bool,
    },
    NotFound,
    /// The event is dated before its decision was made.
    BeforeDecision {
        decided_at_ms: i64,
    },
    /// The decision id and the ticket number given name different tickets.
    OtherTicket {
        ticket: String,
    },
    /// An EXTENDED event's new due date is a day before its decision was made.
    DueDateBeforeDecision {
        decided_at_ms: i64,
    },
    /// An ACCEPTED or RETURNED event for a decision no department had: manual triage, a
    /// hand-off or an out-of-scope answer that no operator has sent to a department (REASSIGNED).
    NotDispatched {
        kind: EventKind,
        /// The decision's outcome (`OUTCOME_MANUAL`, …).
        outcome: String,
    },
}

/// A decision as read back from the spool, borrowing its strings from the segment's bytes: what
/// a backend inserts. It serializes to the same JSON as the [`DecisionRecord`] it stands for,
/// field for field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct DecisionRef<'a> {
    /// The whole spool frame the decision was read from (header, checksum and payload), which
    /// SQLite stores as the record as it is; empty for a decision of a JSON-lines segment.
    #[serde(skip)]
    pub frame: &'a [u8],
    pub decision_id: &'a str,
    pub request_id: &'a str,
    pub method: &'a str,
    pub channel: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub client: &'a str,
    pub received_at_ms: i64,
    pub text: Option<&'a str>,
    pub text_mode: TextMode,
    pub place: &'a str,
    pub rules_version: &'a str,
    pub outcome: &'a str,
    pub department_id: &'a str,
    pub unit: &'a str,
    pub rule_id: &'a str,
    pub category: Vec<&'a str>,
    pub articles: Vec<&'a str>,
    pub confidence: f64,
    pub request_type: &'a str,
    pub working_days: u32,
    pub due_date: &'a str,
    pub handoff_line: &'a str,
    pub reason: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub decided_by: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub received_time_ms: Option<i64>,
}

impl<'a> DecisionRef<'a> {
    pub fn of(d: &'a DecisionRecord) -> Self {
        DecisionRef {
            frame: &[],
            decision_id: &d.decision_id,
            request_id: &d.request_id,
            method: &d.method,
            channel: &d.channel,
            client: &d.client,
            received_at_ms: d.received_at_ms,
            text: d.text.as_deref(),
            text_mode: d.text_mode,
            place: &d.place,
            rules_version: &d.rules_version,
            outcome: &d.outcome,
            department_id: &d.department_id,
            unit: &d.unit,
            rule_id: &d.rule_id,
            category: d.category.iter().map(String::as_str).collect(),
            articles: d.articles.iter().map(String::as_str).collect(),
            confidence: d.confidence,
            request_type: &d.request_type,
            working_days: d.working_days,
            due_date: &d.due_date,
            handoff_line: &d.handoff_line,
            reason: &d.reason,
            decided_by: &d.decided_by,
            received_time_ms: d.received_time_ms,
        }
    }
}

impl From<&DecisionRef<'_>> for DecisionRecord {
    fn from(d: &DecisionRef<'_>) -> Self {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        DecisionRecord {
            decision_id: d.decision_id.to_owned(),
            request_id: d.request_id.to_owned(),
            method: d.method.to_owned(),
            channel: d.channel.to_owned(),
            client: d.client.to_owned(),
            received_at_ms: d.received_at_ms,
            text: d.text.map(str::to_owned),
            text_mode: d.text_mode,
            place: d.place.to_owned(),
            rules_version: d.rules_version.to_owned(),
            outcome: d.outcome.to_owned(),
            department_id: d.department_id.to_owned(),
            unit: d.unit.to_owned(),
            rule_id: d.rule_id.to_owned(),
            category: owned(&d.category),
            articles: owned(&d.articles),
            confidence: d.confidence,
            request_type: d.request_type.to_owned(),
            working_days: d.working_days,
            due_date: d.due_date.to_owned(),
            handoff_line: d.handoff_line.to_owned(),
            reason: d.reason.to_owned(),
            decided_by: d.decided_by.to_owned(),
            received_time_ms: d.received_time_ms,
        }
    }
}
