//! The supervision report (大数据监测): what became of the decisions of a period, per department,
//! per rule and for manual triage, computed from the store's records and events.
//!
//! Attribution: a decision's orders, acceptances and returns count for the department the router
//! sent it to; its resolution (on time or overdue against its due date, extensions included),
//! whether it is still open, and the caller's satisfaction count for the department that finally
//! handled it (after returns and reassignments; for manual triage, the department an operator sent
//! it to). A return that names no department to go to leaves the final department unknown: such
//! orders are counted apart ("returned, destination unknown"), never for the department that
//! refused them. A decision without a recorded due date (the calendar did not cover it then) gets
//! one from the day the hotline received the request (the caller's received time), or else the
//! day the router decided, and the working days of its time limit, on the rules' calendar; one
//! whose due date still cannot be computed is counted as "no due date", neither on time nor
//! overdue. A ticket routed more than once counts once, by its latest decision (the one its
//! events by ticket number attach to). Periods go by when the router decided (see [`Report`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::record::{EventKind, StoredDecision};
use crate::proto::v1 as pb;
use crate::situate::calendar::Date;

/// The report of one period: the decisions the router made in it (its own clock, `received_at`),
/// not the requests the hotline received in it. A period is what the departments were sent in it,
/// and the store finds a period's decisions through their ids, which begin with that time; a
/// backlog routed late is counted on the day it was sent.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The period, as given: [from, to), YYYY-MM-DD in China time.
    pub from: String,
    pub to: String,
    /// The day the report was made (for "overdue now").
    pub today: String,
    /// The decisions counted: one per ticket (see `superseded`).
    pub decisions: usize,
    /// The counted decisions by outcome.
    pub outcomes: OutcomeCounts,
    /// Decisions of the period that a later decision of the same ticket replaced (the ticket was
    /// routed again): not counted, as its events go to the latest one.
    pub superseded: usize,
    pub departments: Vec<DepartmentRow>,
    /// Orders returned without a department named to go to, and nothing after naming one: their
    /// resolution, open state and satisfaction (`orders`: how many), counted here rather than for
    /// the department that refused them.
    pub destination_unknown: DepartmentRow,
    pub rules: Vec<RuleRow>,
    pub manual: ManualRow,
    pub classifier: ClassifierRow,
    /// Decisions of the period whose records are damaged on disk: not counted above.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub damaged: Vec<String>,
    /// What makes figures incomplete: a working-day calendar that ends before the period does,
    /// orders without a due date.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The decisions counted, by outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct OutcomeCounts {
    /// Sent to a department (派单).
    pub dispatched: usize,
    /// Sent to an operator (转人工).
    pub manual: usize,
    /// Handed off to an emergency line (110/119/120/122).
    pub handoffs: usize,
    /// Per line (110 → count).
    pub handoff_lines: BTreeMap<String, usize>,
    /// Not taken by the hotline (不属受理范围).
    pub out_of_scope: usize,
    /// Hand-offs and out-of-scope answers that an operator sent to a department afterwards
    /// (REASSIGNED): counted for that department as orders operators sent it.
    pub handoffs_sent_on: usize,
    pub out_of_scope_sent_on: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DepartmentRow {
    pub department_id: String,
    pub name: String,
    /// Orders the router sent it.
    pub orders: usize,
    /// Orders operators sent it after manual triage, a hand-off or an out-of-scope answer (their
    /// resolution, open state and satisfaction count below; `orders`, acceptances and returns
    /// are the router's own).
    pub from_manual: usize,
    pub accepted: usize,
    pub returned: usize,
    /// returned / orders.
    pub return_rate: f64,
    /// Where its returned orders finally went (department id → count; "" when the return named
    /// no department and nothing since did: destination unknown).
    pub returned_to: BTreeMap<String, usize>,
    /// Orders it finally handled that were resolved by their due date, and after it.
    pub resolved_on_time: usize,
    pub resolved_overdue: usize,
    /// Orders it finally handled that were resolved, whose due date cannot be computed (the
    /// calendar does not cover it): neither on time nor overdue.
    pub resolved_no_due_date: usize,
    /// Orders it finally handled that are not resolved, and of those the ones past their due
    /// date, and the ones whose due date cannot be computed.
    pub open: usize,
    pub open_overdue: usize,
    pub open_no_due_date: usize,
    /// Mean satisfaction at the return visits of the orders it finally handled (None: no visit).
    pub satisfaction_mean: Option<f64>,
    pub satisfaction_count: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleRow {
    pub rule_id: String,
    pub volume: usize,
    pub returned: usize,
    pub return_rate: f64,
    /// Where its orders were reassigned (department id → count).
    pub reassigned_to: BTreeMap<String, usize>,
    /// Up to three stored (masked by default) texts of its returned orders.
    pub returned_examples: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ManualRow {
    /// Requests the router sent to manual triage.
    pub volume: usize,
    /// The department the operators chose (department id → count); the rest have no choice
    /// recorded.
    pub chosen: BTreeMap<String, usize>,
    pub unchosen: usize,
    /// Of them, the requests the emergency check flagged as possible emergencies.
    pub possible_emergencies: usize,
    /// Of them, the rules' dispatches that the cross-check sent to a person because the
    /// classifier disputed their domain: what the cross-check costs the operators.
    pub disputed: usize,
}

/// The dispatches the classifier chose (the tie-break between two rules the rules could not
/// choose between, the opt-in fallback) and how many of them came back: whether the classifier's
/// choices bounce more often than the rules' own, measured on real outcomes.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ClassifierRow {
    pub tie_break: usize,
    pub fallback: usize,
    /// Of them, the orders returned (退单).
    pub returned: usize,
    /// returned / (tie_break + fallback).
    pub return_rate: f64,
    /// Of all the period's dispatches, the share returned, to compare with.
    pub all_return_rate: f64,
}

/// The date in China of a time in milliseconds since 1970.
pub fn china_date(ms: i64) -> Option<Date> {
    Date::from_unix_china(ms.div_euclid(1000))
}

/// The due date of a decision: the recorded one, else computed from the day it was received and
/// its working days; the latest extension replaces it.
fn due_date(d: &StoredDecision, calendar: &crate::situate::calendar::Calendar) -> Option<Date> {
    let extended = d
        .events
        .iter()
        .rev()
        .find(|e| e.kind == EventKind::Extended)
        .and_then(|e| Date::parse(&e.due_date));
    if extended.is_some() {
        return extended;
    }
    if let Some(due) = Date::parse(&d.record.due_date) {
        return Some(due);
    }
    let days = d.record.working_days;
    if days == 0 {
        return None;
    }
    // The time limit runs from when the hotline received the request: the router's own clock
    // only stands in for it when the caller did not say.
    let received = d
        .record
        .received_date()
        .or_else(|| china_date(d.record.received_at_ms))?;
    calendar.due_date(received, days).ok()
}

/// Builds the report of `decisions` (the period's), as of `today`. Of the decisions of one
/// ticket (request id), only the latest counts.
pub fn build(
    decisions: &[StoredDecision],
    set: &crate::RuleSet,
    (from, to): (&str, &str),
    today: Date,
) -> Report {
    build_without(decisions, &[], set, (from, to), today)
}

/// The latest decision of each ticket among `decisions` (and every decision without a ticket
/// number), in their order, leaving out the ids in `superseded` too (replaced by a decision
/// outside them); and how many were left out.
pub fn latest_per_ticket<'a>(
    decisions: &'a [StoredDecision],
    superseded: &[String],
) -> (Vec<&'a StoredDecision>, usize) {
    let mut latest: std::collections::HashMap<&str, (i64, &str)> = Default::default();
    for d in decisions.iter().filter(|d| !d.record.request_id.is_empty()) {
        let key = (d.record.received_at_ms, d.record.decision_id.as_str());
        let e = latest.entry(&d.record.request_id).or_insert(key);
        if key > *e {
            *e = key;
        }
    }
    let kept: Vec<&StoredDecision> = decisions
        .iter()
        .filter(|d| !superseded.contains(&d.record.decision_id))
        .filter(|d| {
            d.record.request_id.is_empty()
                || latest.get(d.record.request_id.as_str()).map(|l| l.1)
                    == Some(d.record.decision_id.as_str())
        })
        .collect();
    let left_out = decisions.len() - kept.len();
    (kept, left_out)
}

fn build_without(
    all: &[StoredDecision],
    superseded: &[String],
    set: &crate::RuleSet,
    (from, to): (&str, &str),
    today: Date,
) -> Report {
    let (decisions, superseded) = latest_per_ticket(all, superseded);
    let mut t = Tally::default();
    let mut manual = ManualRow::default();
    let mut outcomes = OutcomeCounts::default();
    for d in decisions.iter().copied() {
        match d.record.outcome.as_str() {
            "OUTCOME_DISPATCH" => outcomes.dispatched += 1,
            "OUTCOME_MANUAL" => outcomes.manual += 1,
            "OUTCOME_HANDOFF" => {
                outcomes.handoffs += 1;
                *outcomes
                    .handoff_lines
                    .entry(d.record.handoff_line.clone())
                    .or_insert(0) += 1;
            }
            "OUTCOME_OUT_OF_SCOPE" => outcomes.out_of_scope += 1,
            _ => {}
        }
        if d.record.outcome == "OUTCOME_MANUAL" {
            manual.volume += 1;
            if d.record.possible_emergency() {
                manual.possible_emergencies += 1;
            }
            if d.record.disputed() {
                manual.disputed += 1;
            }
            match d
                .events
                .iter()
                .rev()
                .find(|e| e.kind == EventKind::Reassigned)
            {
                Some(e) => {
                    *manual.chosen.entry(e.department_id.clone()).or_insert(0) += 1;
                    t.sent_on(d, set, today);
                }
                None => manual.unchosen += 1,
            }
        }
        if d.record.outcome == "OUTCOME_DISPATCH" {
            t.dispatched(d, set, today);
        }
        // A hand-off or an out-of-scope answer an operator judged otherwise and sent to a
        // department: from then on an order of that department, as after manual triage (the
        // labelled export takes the same department).
        let not_taken = matches!(
            d.record.outcome.as_str(),
            "OUTCOME_HANDOFF" | "OUTCOME_OUT_OF_SCOPE"
        );
        if not_taken && d.events.iter().any(|e| e.kind == EventKind::Reassigned) {
            if d.record.outcome == "OUTCOME_HANDOFF" {
                outcomes.handoffs_sent_on += 1;
            } else {
                outcomes.out_of_scope_sent_on += 1;
            }
            t.sent_on(d, set, today);
        }
    }
    let Tally {
        mut departments,
        rules,
        satisfaction,
        mut classifier,
        mut destination_unknown,
    } = t;
    for (id, (sum, n)) in satisfaction {
        let row = match &id {
            Some(id) => department_row(&mut departments, set, id),
            None => &mut destination_unknown,
        };
        row.satisfaction_mean = Some(sum as f64 / n as f64);
        row.satisfaction_count = n;
    }
    let warnings = warnings(&departments, &destination_unknown, set, to);
    // Departments by orders, rules by returns (the ones to look at first), each with its rate.
    let mut departments: Vec<DepartmentRow> = departments.into_values().collect();
    departments
        .iter_mut()
        .for_each(|d| d.return_rate = rate(d.returned, d.orders));
    departments.sort_by_key(|d| (std::cmp::Reverse(d.orders), d.department_id.clone()));
    classifier.return_rate = rate(
        classifier.returned,
        classifier.tie_break + classifier.fallback,
    );
    classifier.all_return_rate = rate(
        departments.iter().map(|d| d.returned).sum(),
        departments.iter().map(|d| d.orders).sum(),
    );
    let mut rules: Vec<RuleRow> = rules.into_values().collect();
    rules
        .iter_mut()
        .for_each(|r| r.return_rate = rate(r.returned, r.volume));
    rules.sort_by_key(|r| {
        let key = (std::cmp::Reverse(r.returned), std::cmp::Reverse(r.volume));
        (key, r.rule_id.clone())
    });
    Report {
        from: from.to_owned(),
        to: to.to_owned(),
        today: today.to_string(),
        decisions: decisions.len(),
        outcomes,
        superseded,
        departments,
        destination_unknown,
        rules,
        manual,
        classifier,
        damaged: Vec::new(),
        warnings,
    }
}

/// What a supervisor must know before trusting the on-time and overdue figures: a calendar that
/// ends before the period does (every due date after its end is missing, and overdue figures
/// silently fall to zero), and how many orders have no due date.
fn warnings(
    departments: &BTreeMap<String, DepartmentRow>,
    unknown: &DepartmentRow,
    set: &crate::RuleSet,
    to: &str,
) -> Vec<String> {
    let mut out = Vec::new();
    let end = Date::parse(to).map(Date::start_ms_china);
    match (set.calendar().covered_until_ms(), end) {
        // In Chinese: the supervisors who read the report read these first.
        (None, _) => out.push(
            "规则的工作日历没有任何年份，算不出到期日；请在 rules/calendar.yaml 补上节假日和调休"
                .to_owned(),
        ),
        (Some(until), Some(end)) if until < end => {
            let last = china_date(until - 1)
                .map(|d| d.to_string())
                .unwrap_or_default();
            out.push(format!(
                "规则的工作日历只到 {last}，早于本报表的统计期末：此后的到期日算不出，按时、逾期的\
                 数字不完整；请在 rules/calendar.yaml 补上下一年的节假日和调休"
            ));
        }
        _ => {}
    }
    let no_due: usize = departments
        .values()
        .chain(std::iter::once(unknown))
        .map(|d| d.resolved_no_due_date + d.open_no_due_date)
        .sum();
    if no_due > 0 {
        out.push(format!(
            "{no_due} 件工单没有到期日（工作日历不包括，或没有记录办理时限）：记为“无到期日”，\
             不算按时，也不算逾期"
        ));
    }
    out
}

/// [`build`] of a period read from the store, naming the decisions whose records are damaged
/// on disk and so are not counted.
pub fn of_period(
    period: &super::Period,
    set: &crate::RuleSet,
    range: (&str, &str),
    today: Date,
) -> Report {
    let mut r = build_without(&period.decisions, &period.superseded, set, range, today);
    r.damaged.clone_from(&period.damaged);
    r
}

/// The rows being counted.
#[derive(Default)]
struct Tally {
    departments: BTreeMap<String, DepartmentRow>,
    rules: BTreeMap<String, RuleRow>,
    /// Per final department (`None`: destination unknown): (sum of scores, visits).
    satisfaction: BTreeMap<Option<String>, (i64, usize)>,
    classifier: ClassifierRow,
    destination_unknown: DepartmentRow,
}

impl Tally {
    /// Counts a dispatched decision for the department it was sent to, its rule, and the
    /// department that finally handled it.
    fn dispatched(&mut self, d: &StoredDecision, set: &crate::RuleSet, today: Date) {
        let r = &d.record;
        let has = |k: EventKind| d.events.iter().any(|e| e.kind == k);
        let returned = has(EventKind::Returned);
        let final_department = d.known_final_department().map(str::to_owned);
        // The classifier's choices, and whether they came back.
        let chosen = match r.decided_by() {
            pb::DecidedBy::ModelTieBreak => Some(&mut self.classifier.tie_break),
            pb::DecidedBy::ModelFallback => Some(&mut self.classifier.fallback),
            _ => None,
        };
        if let Some(n) = chosen {
            *n += 1;
            self.classifier.returned += usize::from(returned);
        }
        let sent = department_row(&mut self.departments, set, &r.department_id);
        sent.orders += 1;
        sent.accepted += usize::from(has(EventKind::Accepted));
        if returned {
            sent.returned += 1;
            *sent
                .returned_to
                .entry(final_department.clone().unwrap_or_default())
                .or_insert(0) += 1;
        }
        let rule = self
            .rules
            .entry(r.rule_id.clone())
            .or_insert_with(|| RuleRow {
                rule_id: r.rule_id.clone(),
                ..Default::default()
            });
        rule.volume += 1;
        if returned {
            rule.returned += 1;
            if rule.returned_examples.len() < 3
                && let Some(text) = &r.text
            {
                rule.returned_examples.push(text.clone());
            }
        }
        for e in d.events.iter().filter(|e| e.kind == EventKind::Reassigned) {
            *rule
                .reassigned_to
                .entry(e.department_id.clone())
                .or_insert(0) += 1;
        }
        self.handled(d, final_department, set, today);
    }

    /// Counts a decision an operator sent to a department (after manual triage, a hand-off or an
    /// out-of-scope answer): from then on an order of that department (or of the one it went to
    /// after), whose resolution and caller count for it.
    fn sent_on(&mut self, d: &StoredDecision, set: &crate::RuleSet, today: Date) {
        let handler = d.known_final_department().map(str::to_owned);
        if let Some(id) = &handler {
            department_row(&mut self.departments, set, id).from_manual += 1;
        }
        self.handled(d, handler, set, today);
    }

    /// Counts an order's resolution, open state and satisfaction for the department that
    /// finally handled it (`None`: a return named none; counted apart).
    fn handled(
        &mut self,
        d: &StoredDecision,
        final_department: Option<String>,
        set: &crate::RuleSet,
        today: Date,
    ) {
        let handler = match &final_department {
            Some(id) => department_row(&mut self.departments, set, id),
            None => {
                self.destination_unknown.orders += 1;
                &mut self.destination_unknown
            }
        };
        let resolved = d
            .events
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::Resolved | EventKind::Reopened))
            .filter(|e| e.kind == EventKind::Resolved);
        let due = due_date(d, set.calendar());
        match (resolved, due) {
            (Some(e), Some(due)) if china_date(e.at_ms).is_some_and(|day| day > due) => {
                handler.resolved_overdue += 1;
            }
            (Some(_), Some(_)) => handler.resolved_on_time += 1,
            // Not on time: no one can tell (see `warnings`).
            (Some(_), None) => handler.resolved_no_due_date += 1,
            (None, due) => {
                handler.open += 1;
                match due {
                    Some(due) => handler.open_overdue += usize::from(today > due),
                    None => handler.open_no_due_date += 1,
                }
            }
        }
        let score = d
            .events
            .iter()
            .rev()
            .find(|e| e.kind == EventKind::Satisfaction)
            .and_then(|e| e.satisfaction);
        if let Some(score) = score {
            let s = self.satisfaction.entry(final_department).or_insert((0, 0));
            s.0 += i64::from(score);
            s.1 += 1;
        }
    }
}

fn department_row<'a>(
    rows: &'a mut BTreeMap<String, DepartmentRow>,
    set: &crate::RuleSet,
    id: &str,
) -> &'a mut DepartmentRow {
    rows.entry(id.to_owned()).or_insert_with(|| DepartmentRow {
        department_id: id.to_owned(),
        name: set
            .department(id)
            .map(|d| d.name.clone())
            .unwrap_or_default(),
        ..Default::default()
    })
}

fn rate(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}
