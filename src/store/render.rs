//! The supervision report as text (a terminal), CSV (a spreadsheet) and HTML (one self-contained
//! page with inline SVG charts: no script, no CDN, no network, readable by a supervisor who does
//! not read code). JSON is the `Report` itself.

use std::fmt::Write as _;

use super::report::{DepartmentRow, Report};

/// Where a returned order went when its return named no department (and nothing since did).
const UNKNOWN: &str = "(destination unknown)";

/// The decisions by outcome, as the text and HTML headers say them.
fn outcomes_text(r: &Report) -> String {
    let o = &r.outcomes;
    let mut s = format!(
        "{} dispatched, {} manual triage, {} hand-offs{}, {} out of scope",
        o.dispatched,
        o.manual,
        o.handoffs,
        if o.handoff_lines.is_empty() {
            String::new()
        } else {
            format!(" ({})", counts(&o.handoff_lines))
        },
        o.out_of_scope
    );
    if o.handoffs_sent_on + o.out_of_scope_sent_on > 0 {
        let _ = write!(
            s,
            "; sent to a department by an operator afterwards: {} hand-offs, {} out of scope",
            o.handoffs_sent_on, o.out_of_scope_sent_on
        );
    }
    if r.superseded > 0 {
        let _ = write!(
            s,
            "; {} superseded by a later decision of the same ticket, not counted",
            r.superseded
        );
    }
    s
}

fn pct(r: f64) -> String {
    format!("{:.1}%", r * 100.0)
}

fn mean(d: &DepartmentRow) -> String {
    d.satisfaction_mean
        .map(|m| format!("{m:.2} ({})", d.satisfaction_count))
        .unwrap_or_else(|| "-".into())
}

fn counts(m: &std::collections::BTreeMap<String, usize>) -> String {
    if m.is_empty() {
        return "-".into();
    }
    let mut v: Vec<(&String, &usize)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter()
        .map(|(k, n)| format!("{}×{n}", if k.is_empty() { UNKNOWN } else { k }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line of a text table: the first cell left-aligned, the others right-aligned, each in its
/// width, then `tail`.
fn line(o: &mut String, widths: &[usize], cells: &[String], tail: &str) {
    for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
        let _ = if i == 0 {
            write!(o, "{cell:<w$}")
        } else {
            write!(o, " {cell:>w$}")
        };
    }
    let _ = writeln!(o, "  {tail}");
}

/// For a terminal.
pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "12345 派单监测 supervision report {} – {} (as of {}): {} decisions ({})\n",
        r.from,
        r.to,
        r.today,
        r.decisions,
        outcomes_text(r)
    );
    for w in &r.warnings {
        let _ = writeln!(o, "warning: {w}\n");
    }
    if !r.damaged.is_empty() {
        let _ = writeln!(
            o,
            "warning: {} decision record(s) damaged on disk are not counted: {}\n",
            r.damaged.len(),
            r.damaged.join(", ")
        );
    }
    // triage: orders operators sent it after manual triage, a hand-off or an out-of-scope
    // answer; nodue: resolved without a due date; o.nodue: open without one.
    const DEPARTMENTS: [usize; 13] = [21, 6, 6, 6, 6, 7, 6, 7, 5, 5, 5, 6, 9];
    let heads = "department orders triage accept return rate ontime overdue nodue open o.due o.nodue satisf.";
    let heads: Vec<String> = heads.split(' ').map(str::to_owned).collect();
    line(&mut o, &DEPARTMENTS, &heads, "returned to");
    let unknown = (r.destination_unknown.orders > 0).then_some(&r.destination_unknown);
    for d in r.departments.iter().chain(unknown) {
        let cells = [
            if d.department_id.is_empty() {
                UNKNOWN.to_owned()
            } else {
                d.department_id.clone()
            },
            d.orders.to_string(),
            d.from_manual.to_string(),
            d.accepted.to_string(),
            d.returned.to_string(),
            rate_cell(d.return_rate, d.orders),
            d.resolved_on_time.to_string(),
            d.resolved_overdue.to_string(),
            d.resolved_no_due_date.to_string(),
            d.open.to_string(),
            d.open_overdue.to_string(),
            d.open_no_due_date.to_string(),
            mean(d),
        ];
        line(&mut o, &DEPARTMENTS, &cells, &counts(&d.returned_to));
    }
    const RULES: [usize; 4] = [32, 6, 6, 7];
    let _ = writeln!(o);
    let heads: Vec<String> = ["rule", "volume", "return", "rate"]
        .map(str::to_owned)
        .to_vec();
    line(&mut o, &RULES, &heads, "reassigned to");
    for rule in &r.rules {
        let cells = [
            rule.rule_id.clone(),
            rule.volume.to_string(),
            rule.returned.to_string(),
            rate_cell(rule.return_rate, rule.volume),
        ];
        line(&mut o, &RULES, &cells, &counts(&rule.reassigned_to));
        for t in &rule.returned_examples {
            let _ = writeln!(o, "    退单例 returned: {}", excerpt(t, 60));
        }
    }
    let _ = writeln!(
        o,
        "\nmanual triage 人工分派: {} ({} without an operator's choice; {} possible emergencies; {} \
         disputed by the classifier); chosen: {}",
        r.manual.volume,
        r.manual.unchosen,
        r.manual.possible_emergencies,
        r.manual.disputed,
        counts(&r.manual.chosen)
    );
    let c = &r.classifier;
    let _ = writeln!(
        o,
        "dispatched by the classifier's choice 模型取舍派单: {} ({} tie-break, {} fallback); \
         returned {} ({}; all dispatches {})",
        c.tie_break + c.fallback,
        c.tie_break,
        c.fallback,
        c.returned,
        rate_cell(c.return_rate, c.tie_break + c.fallback),
        rate_cell(
            c.all_return_rate,
            r.departments.iter().map(|d| d.orders).sum()
        )
    );
    o
}

fn excerpt(t: &str, n: usize) -> String {
    let one_line: String = t
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > n {
        one_line.chars().take(n).collect::<String>() + "…"
    } else {
        one_line
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One table: a `section` column (department, rule, manual, classifier: the dispatches the
/// classifier chose) and the union of their columns.
pub fn csv(r: &Report) -> String {
    let mut o = String::from(
        "section,id,name,orders,accepted,returned,return_rate,returned_to,resolved_on_time,\
         resolved_overdue,open,open_overdue,satisfaction_mean,satisfaction_count,reassigned_to,\
         from_manual,resolved_no_due_date,open_no_due_date\n",
    );
    let unknown = (r.destination_unknown.orders > 0).then_some(&r.destination_unknown);
    for d in r.departments.iter().chain(unknown) {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{:.4},{},{},{},{},{},{},{},,{},{},{}",
            if d.department_id.is_empty() {
                "destination_unknown"
            } else {
                "department"
            },
            csv_field(&d.department_id),
            csv_field(&d.name),
            d.orders,
            d.accepted,
            d.returned,
            d.return_rate,
            csv_field(&counts(&d.returned_to)),
            d.resolved_on_time,
            d.resolved_overdue,
            d.open,
            d.open_overdue,
            d.satisfaction_mean
                .map(|m| format!("{m:.4}"))
                .unwrap_or_default(),
            d.satisfaction_count,
            d.from_manual,
            d.resolved_no_due_date,
            d.open_no_due_date
        );
    }
    for rule in &r.rules {
        let _ = writeln!(
            o,
            "rule,{},,{},,{},{:.4},,,,,,,,{},,,",
            csv_field(&rule.rule_id),
            rule.volume,
            rule.returned,
            rule.return_rate,
            csv_field(&counts(&rule.reassigned_to))
        );
    }
    let _ = writeln!(
        o,
        "manual,,,{},,,,,,,,,,,{},,,",
        r.manual.volume,
        csv_field(&counts(&r.manual.chosen))
    );
    let c = &r.classifier;
    let _ = writeln!(
        o,
        "classifier,,,{},,{},{:.4},,,,,,,,,,,",
        c.tie_break + c.fallback,
        c.returned,
        c.return_rate
    );
    // The decisions by outcome, in the orders column.
    let outcomes = [
        ("OUTCOME_DISPATCH", r.outcomes.dispatched),
        ("OUTCOME_MANUAL", r.outcomes.manual),
        ("OUTCOME_HANDOFF", r.outcomes.handoffs),
        ("OUTCOME_OUT_OF_SCOPE", r.outcomes.out_of_scope),
        (
            "OUTCOME_HANDOFF sent on by an operator",
            r.outcomes.handoffs_sent_on,
        ),
        (
            "OUTCOME_OUT_OF_SCOPE sent on by an operator",
            r.outcomes.out_of_scope_sent_on,
        ),
    ];
    for (outcome, n) in outcomes {
        let _ = writeln!(o, "outcome,{outcome},,{n},,,,,,,,,,,,,,");
    }
    for (line, n) in &r.outcomes.handoff_lines {
        let _ = writeln!(o, "handoff,{},,{n},,,,,,,,,,,,,,", csv_field(line));
    }
    let _ = writeln!(o, "superseded,,,{},,,,,,,,,,,,,,", r.superseded);
    // Decisions whose records are damaged on disk, one row each: not counted in the rows above.
    for id in &r.damaged {
        let _ = writeln!(o, "damaged,{},,,,,,,,,,,,,,,,", csv_field(id));
    }
    for w in &r.warnings {
        let _ = writeln!(o, "warning,,{},,,,,,,,,,,,,,,", csv_field(w));
    }
    o
}

/// Escapes text for HTML element content and single- or double-quoted attribute values (also
/// the console's escaping).
pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Whether `c` would change how the text around it reads, or is not a character to show: the
/// bidi embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), the directional
/// marks (U+200E, U+200F, U+061C), and the C0 and C1 controls and DEL, except tab and the line
/// breaks (`\n`, and `\r`, which HTML reads as a line break).
pub(crate) fn hidden_char(c: char) -> bool {
    matches!(c,
        '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}')
        || (c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
}

/// Escapes a citizen's text (a request, an excerpt of one) for element content, as [`esc`]
/// does, and shows each [`hidden_char`] as a visible mark, `<span class="ctl">U+202E</span>`:
/// a right-to-left override in a complaint would otherwise show a phone number reversed, and a
/// NUL or ESC reach the page as raw bytes, so that the supervisor reads another text than the
/// one routed. One character becomes one mark, so character offsets keep their meaning. Not for
/// attribute values (the mark is markup), nor for a form field's value (which must round-trip).
pub(crate) fn esc_shown(s: &str) -> String {
    if !s.chars().any(hidden_char) {
        return esc(s);
    }
    let mut o = String::with_capacity(s.len() + 32);
    let mut plain = String::new();
    for c in s.chars() {
        if hidden_char(c) {
            o.push_str(&esc(&plain));
            plain.clear();
            let _ = write!(
                o,
                "<span class=\"ctl\" title=\"不可见的控制字符\">U+{:04X}</span>",
                c as u32
            );
        } else {
            plain.push(c);
        }
    }
    o.push_str(&esc(&plain));
    o
}

/// A share as a percentage, or "-" when there is nothing to divide (no orders): "0.0%" would
/// read as "none of them came back".
fn rate_cell(rate: f64, whole: usize) -> String {
    if whole == 0 {
        "-".to_owned()
    } else {
        pct(rate)
    }
}

/// Horizontal bars: (label, value, second value drawn over it in another colour).
fn bars(title: &str, rows: &[(String, f64, f64)], unit: &str) -> String {
    let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1e-9);
    let h = 22 * rows.len() + 30;
    let mut o = format!(
        "<figure><figcaption>{}</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"720\" height=\"{h}\" role=\"img\" aria-label=\"{}\">",
        esc(title),
        esc(title)
    );
    for (i, (label, v, over)) in rows.iter().enumerate() {
        let y = 10 + 22 * i;
        let w = 420.0 * v / max;
        let w2 = 420.0 * over / max;
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"190\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" fill=\"#9db7d5\"/><rect x=\"190\" y=\"{y}\" width=\"{w2:.1}\" height=\"16\" fill=\"#c0504d\"/><text x=\"{:.1}\" y=\"{}\" font-size=\"12\">{}{unit}</text>",
            y + 13,
            esc(label),
            196.0 + w,
            y + 13,
            if unit == "%" {
                format!("{v:.1}")
            } else {
                format!("{v}")
            }
        );
    }
    o.push_str("</svg></figure>");
    o
}

/// One self-contained page.
pub fn html(r: &Report) -> String {
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>12345 派单监测 {from} – {to}</title>\
         <style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse;margin:1em 0}}\
         th,td{{border:1px solid #bbb;padding:3px 8px;text-align:right}}td:first-child,th:first-child{{text-align:left}}\
         figure{{margin:1em 0}}figcaption{{font-weight:bold}}.ex{{color:#555;font-size:90%}}.warning{{color:#b00}}\
         .ctl{{font:75% monospace;border:1px solid #999;border-radius:2px;padding:0 2px;color:#555;unicode-bidi:isolate}}</style></head><body>\
         <h1>12345 派单监测报告</h1>{body}</body></html>\n",
        from = esc(&r.from),
        to = esc(&r.to),
        body = html_body(r, &|_| None),
    )
}

/// The report's figures, charts and tables as an HTML fragment (no `<html>`, no style): the body
/// of [`html`]'s page and of the console's report page. `rule_href` gives the link of a rule id's
/// cell, if any.
pub fn html_body(r: &Report, rule_href: &dyn Fn(&str) -> Option<String>) -> String {
    let mut o = String::new();
    let oc = &r.outcomes;
    let lines = if oc.handoff_lines.is_empty() {
        String::new()
    } else {
        format!("（{}）", esc(&counts(&oc.handoff_lines)))
    };
    // Not every decision is a dispatch: hand-offs and matters the hotline does not take are
    // decisions too, and are named as what they are.
    let _ = write!(
        o,
        "<p>统计期间 {from} 至 {to}（不含 {to}；按本系统作出决定的时间统计，受理较早、本期才处理的积压工单计入本期），截至 {today}；共 <b id=\"total\">{n}</b> 个决定：\
         派单 <b id=\"dispatched\">{d}</b> 件，转人工 {m} 件，\
         移交紧急热线 <b id=\"handoffs\">{h}</b> 件{lines}，\
         不属受理范围 <b id=\"out-of-scope\">{x}</b> 件{sent}。红色为退单（或逾期），蓝色为总量。</p>",
        from = esc(&r.from),
        to = esc(&r.to),
        today = esc(&r.today),
        n = r.decisions,
        d = oc.dispatched,
        m = oc.manual,
        h = oc.handoffs,
        x = oc.out_of_scope,
        sent = if oc.handoffs_sent_on + oc.out_of_scope_sent_on > 0 {
            format!(
                "（其后由话务员改派给部门的：移交紧急热线的 {} 件，不属受理范围的 {} 件）",
                oc.handoffs_sent_on, oc.out_of_scope_sent_on
            )
        } else {
            String::new()
        },
    );
    if r.superseded > 0 {
        let _ = write!(
            o,
            "<p id=\"superseded\">另有 {} 个决定因同一工单再次派单而被后来的决定取代，未计入。</p>",
            r.superseded
        );
    }
    for w in &r.warnings {
        let _ = write!(o, "<p class=\"warning\">注意 warning: {}</p>", esc(w));
    }
    if !r.damaged.is_empty() {
        let _ = write!(
            o,
            "<p id=\"damaged\" style=\"color:#b00\">另有 {n} 条派单记录在磁盘上已损坏，未计入：{ids}</p>",
            n = r.damaged.len(),
            ids = esc(&r.damaged.join("、"))
        );
    }
    // Nothing to chart or tabulate: tables of headers and zeros would be read as figures.
    if r.decisions == 0 {
        o.push_str("<p id=\"empty\">本期间没有记录。</p>");
        return o;
    }
    let dept_rows: Vec<(String, f64, f64)> = r
        .departments
        .iter()
        .filter(|d| d.orders > 0)
        .map(|d| (display(d), d.orders as f64, d.returned as f64))
        .collect();
    o.push_str(&bars("各部门派单量与退单量", &dept_rows, ""));
    let time_rows: Vec<(String, f64, f64)> = r
        .departments
        .iter()
        .filter(|d| d.resolved_on_time + d.resolved_overdue > 0)
        .map(|d| {
            let done = (d.resolved_on_time + d.resolved_overdue) as f64;
            (display(d), done, d.resolved_overdue as f64)
        })
        .collect();
    if !time_rows.is_empty() {
        o.push_str(&bars("各部门办结量与逾期办结量", &time_rows, ""));
    }
    o.push_str("<h2>按部门</h2><table><tr><th>部门</th><th>派单</th><th>人工分派转来</th><th>签收</th><th>退单</th><th>退单率</th><th>退单后去向</th><th>按时办结</th><th>逾期办结</th><th>办结（无办理时限）</th><th>未办结</th><th>已逾期未办结</th><th>未办结（无办理时限）</th><th>满意度</th></tr>");
    let unknown = (r.destination_unknown.orders > 0).then_some(&r.destination_unknown);
    for d in r.departments.iter().chain(unknown) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&display(d)),
            d.orders,
            d.from_manual,
            d.accepted,
            d.returned,
            rate_cell(d.return_rate, d.orders),
            esc(&counts(&d.returned_to).replace(UNKNOWN, "去向不明")),
            d.resolved_on_time,
            d.resolved_overdue,
            d.resolved_no_due_date,
            d.open,
            d.open_overdue,
            d.open_no_due_date,
            esc(&mean(d))
        );
    }
    o.push_str("</table><h2>按规则</h2><table><tr><th>规则</th><th>派单</th><th>退单</th><th>退单率</th><th>改派去向</th></tr>");
    for rule in &r.rules {
        let id = match rule_href(&rule.rule_id) {
            Some(href) => format!("<a href=\"{}\">{}</a>", esc(&href), esc(&rule.rule_id)),
            None => esc(&rule.rule_id),
        };
        let cells = [
            id,
            rule.volume.to_string(),
            rule.returned.to_string(),
            rate_cell(rule.return_rate, rule.volume),
            esc(&counts(&rule.reassigned_to)),
        ];
        let _ = write!(o, "<tr><td>{}</td></tr>", cells.join("</td><td>"));
        for t in &rule.returned_examples {
            let _ = write!(
                o,
                "<tr><td colspan=\"5\" class=\"ex\">退单例：{}</td></tr>",
                esc_shown(&excerpt(t, 120))
            );
        }
    }
    let _ = write!(
        o,
        "</table><h2>人工分派</h2><p>转人工 <b id=\"manual\">{}</b> 件，其中 {} 件未记录话务员的选择，\
         <b id=\"possible-emergencies\">{}</b> 件由紧急情况检查标为可能紧急，\
         <b id=\"disputed\">{}</b> 件是分类模型与规则分歧、转人工的派单；话务员选择：{}</p>",
        r.manual.volume,
        r.manual.unchosen,
        r.manual.possible_emergencies,
        r.manual.disputed,
        esc(&counts(&r.manual.chosen))
    );
    let c = &r.classifier;
    let _ = write!(
        o,
        "<h2>分类模型选定的派单</h2><p>规则难以取舍、由分类模型选定 <b id=\"tie-break\">{}</b> 件，\
         没有规则命中、由分类模型兜底 {} 件；其中退单 <b id=\"classifier-returned\">{}</b> 件\
         （退单率 {}，全部派单 {}）</p>",
        c.tie_break,
        c.fallback,
        c.returned,
        rate_cell(c.return_rate, c.tie_break + c.fallback),
        rate_cell(
            c.all_return_rate,
            r.departments.iter().map(|d| d.orders).sum()
        )
    );
    o
}

fn display(d: &DepartmentRow) -> String {
    if d.department_id.is_empty() {
        "退单后去向不明".to_owned()
    } else if d.name.is_empty() {
        d.department_id.clone()
    } else {
        d.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::report::{ClassifierRow, ManualRow, OutcomeCounts, RuleRow};

    fn report(departments: Vec<DepartmentRow>, rules: Vec<RuleRow>) -> Report {
        Report {
            from: "2026-11-06".into(),
            to: "2026-12-06".into(),
            today: "2026-12-05".into(),
            decisions: 1,
            outcomes: OutcomeCounts::default(),
            superseded: 0,
            departments,
            destination_unknown: DepartmentRow::default(),
            rules,
            manual: ManualRow::default(),
            classifier: ClassifierRow::default(),
            damaged: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn a_rate_of_no_orders_is_a_dash_not_zero_percent() {
        // A department listed with no orders of the router's own (an operator sent it one).
        let idle = DepartmentRow {
            department_id: "water".into(),
            name: "水务局".into(),
            from_manual: 1,
            ..DepartmentRow::default()
        };
        let busy = DepartmentRow {
            department_id: "hrss".into(),
            name: "人力资源和社会保障局".into(),
            orders: 2,
            returned: 1,
            return_rate: 0.5,
            ..DepartmentRow::default()
        };
        let mut r = report(vec![busy, idle], Vec::new());
        r.classifier.all_return_rate = 0.5;
        let page = html(&r);
        assert!(
            page.contains("<td>水务局</td><td>0</td><td>1</td><td>0</td><td>0</td><td>-</td>"),
            "{page}"
        );
        assert!(page.contains("<td>2</td><td>0</td><td>0</td><td>1</td><td>50.0%</td>"));
        // The classifier made no choice: no rate of its choices.
        assert!(page.contains("（退单率 -，全部派单 50.0%）"), "{page}");
        assert!(!page.contains(">0.0%") && !page.contains(" 0.0%"), "{page}");
    }

    #[test]
    fn an_example_text_shows_its_bidi_and_control_characters() {
        let rule = RuleRow {
            rule_id: "water-outage".into(),
            volume: 1,
            returned: 1,
            return_rate: 1.0,
            returned_examples: vec!["停水\u{202e}8765\u{2066}<b>".into()],
            ..RuleRow::default()
        };
        let page = html(&report(Vec::new(), vec![rule]));
        assert!(
            page.contains(
                "退单例：停水<span class=\"ctl\" title=\"不可见的控制字符\">U+202E</span>8765\
                 <span class=\"ctl\" title=\"不可见的控制字符\">U+2066</span>&lt;b&gt;"
            ),
            "{page}"
        );
        assert_eq!(esc_shown("a\nb\tc"), "a\nb\tc");
        assert_eq!(
            esc_shown("\u{200f}"),
            "<span class=\"ctl\" title=\"不可见的控制字符\">U+200F</span>"
        );
    }
}
