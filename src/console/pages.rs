//! The console's pages, rendered on the server: 试一试 (route a request and see why), 规则 (browse
//! and search the serving rules) and 报表 (the supervision report of the decision store).
//!
//! A page is a function of the serving rule set (one snapshot per page, like one call) and the
//! query string, so its URL is a permanent link to what it shows for that rule set; the rule-set
//! version is on every page for that reason.

use std::fmt::Write as _;

use super::html::{Mark, Nav, esc, esc_field, esc_shown, highlighted, page, url_encode};
use crate::proto::v1 as pb;
use crate::request::RouteInput;
use crate::ruleset::{Rule, RuleKind, RuleSet, Target};
use crate::server::LoadFailure;
use crate::situate::request_type;
use crate::store::report::Report;

/// The fields of the 试一试 form, as given in the query string.
#[derive(Debug, Clone, Default)]
pub(crate) struct TryForm {
    pub title: String,
    pub text: String,
    pub place: String,
    /// YYYY-MM-DD, China time.
    pub received: String,
    /// Whether the form was submitted (its `text` field sent, even empty), as opposed to opened:
    /// an empty submission is told what is missing.
    pub submitted: bool,
}

/// Longest permanent link offered, in bytes of query string: a request line must stay under the
/// 64 KiB an HTTP/1 server takes (about 6,600 Chinese characters once percent-encoded); a longer
/// request is posted (console.js) and gets no link.
pub(crate) const MAX_LINK_BYTES: usize = 60_000;

impl TryForm {
    pub(crate) fn from_query(q: &dyn Fn(&str) -> String) -> TryForm {
        TryForm {
            title: q("title"),
            text: q("text"),
            place: q("place"),
            received: q("received"),
            submitted: false,
        }
    }

    /// The query string that reproduces this form (the permanent link).
    pub(crate) fn query(&self) -> String {
        let mut q = format!("text={}", url_encode(&self.text));
        for (k, v) in [
            ("title", &self.title),
            ("place", &self.place),
            ("received", &self.received),
        ] {
            if !v.is_empty() {
                let _ = write!(q, "&{k}={}", url_encode(v));
            }
        }
        q
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.text.trim().is_empty() && self.title.trim().is_empty()
    }
}

/// What the 试一试 form routes to: the input (validated as the gRPC server validates it), or
/// what is wrong with it, in the words of the shared validation.
pub(crate) fn route_form(set: &RuleSet, form: &TryForm) -> Result<pb::RouteResponse, String> {
    let received = if form.received.trim().is_empty() {
        None
    } else {
        Some(
            crate::situate::calendar::Date::parse(form.received.trim()).ok_or_else(|| {
                format!("受理日期「{}」不是 YYYY-MM-DD 格式的日期", form.received)
            })?,
        )
    };
    let input = RouteInput {
        id: "",
        title: &form.title,
        text: &form.text,
        place: &form.place,
        received,
        received_ms: None,
    };
    if let Some(problem) = input.problem() {
        return Err(problem.chinese());
    }
    Ok(set.route(&input))
}

pub(crate) fn outcome_label(outcome: i32) -> &'static str {
    match pb::Outcome::try_from(outcome).unwrap_or(pb::Outcome::Unspecified) {
        pb::Outcome::Dispatch => "派单",
        pb::Outcome::Manual => "转人工分派",
        pb::Outcome::Handoff => "紧急转接",
        pb::Outcome::OutOfScope => "不属热线受理范围",
        pb::Outcome::Unspecified => "未定",
    }
}

fn condition_label(c: i32) -> &'static str {
    match pb::Condition::try_from(c) {
        Ok(pb::Condition::All) => "必备词（all）",
        Ok(pb::Condition::Any) => "加分词（any）",
        Ok(pb::Condition::Pattern) => "模式（patterns）",
        _ => "",
    }
}

fn rule_link(id: &str) -> String {
    format!(
        "<a class=\"rule-link\" href=\"/rules/{}\">{}</a>",
        url_encode(id),
        esc(id)
    )
}

/// The priority of rule `id` as text ("" when `id` names no rule, e.g. a classifier's choice).
fn priority_of(set: &RuleSet, id: &str) -> String {
    set.rule(id)
        .map(|r| r.priority.to_string())
        .unwrap_or_default()
}

/// A page that says what went wrong (a page not found, a link broken), with the navigation.
pub(crate) fn error_page(set: &RuleSet, title: &str, nav: Nav, message: &str) -> String {
    page(
        title,
        nav,
        set.version(),
        &format!(
            "<h1>{}</h1><p id=\"error\" class=\"error\">{}</p>",
            esc(title),
            esc(message)
        ),
    )
}

/// 试一试: the form, and when it was filled, the decision with its evidence in the text.
pub(crate) fn try_page(set: &RuleSet, form: &TryForm) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>试一试</h1><p class=\"hint\">粘贴一条来电或留言，看它会派往哪里、依据哪条规定、凭的是原文中的哪些词。\
         这里的试算不记入派单记录，也不计入监测指标。</p>\
         <form method=\"get\" action=\"/try\" id=\"try-form\">\
         <label for=\"title\">标题（可选）</label><input id=\"title\" name=\"title\" value=\"{title}\" maxlength=\"20000\">\
         <label for=\"text\">来电内容</label><textarea id=\"text\" name=\"text\" rows=\"7\" maxlength=\"20000\" required>{text}</textarea>\
         <div class=\"row\"><label>属地（可选）<input id=\"place\" name=\"place\" value=\"{place}\" maxlength=\"64\" placeholder=\"如：高新区\"></label>\
         <label>受理日期（可选）<input id=\"received\" name=\"received\" type=\"date\" value=\"{received}\"></label>\
         <button type=\"submit\" id=\"route\">派单试算</button></div></form>",
        title = esc_field(&form.title),
        text = esc_field(&form.text),
        place = esc_field(&form.place),
        received = esc_field(&form.received),
    );
    if form.submitted || !form.is_empty() || !form.place.is_empty() || !form.received.is_empty() {
        match route_form(set, form) {
            Ok(r) => decision(&mut b, form, &r, set),
            Err(why) => {
                let _ = write!(
                    b,
                    "<p class=\"error\" id=\"error\" role=\"alert\">无法试算：{}</p>",
                    esc(&why)
                );
            }
        }
    }
    page("试一试", Nav::Try, set.version(), &b)
}

/// What the 规则 page says when the working-day calendar ends within
/// [`ENDS_SOON_DAYS`](crate::situate::calendar::ENDS_SOON_DAYS) of `now_ms`, or has ended: after
/// it no due date can be computed, which the server logs but a rule author reads here.
fn calendar_notice(set: &crate::RuleSet, now_ms: i64) -> Option<String> {
    let calendar = set.calendar();
    let days = calendar.days_left(now_ms)?;
    if days >= crate::situate::calendar::ENDS_SOON_DAYS {
        return None;
    }
    let last = calendar.years().last().copied()?;
    let when = if days >= 0 {
        format!("工作日历只到 {last} 年底，还剩 {days} 天")
    } else {
        format!("工作日历只到 {last} 年底，已经过期")
    };
    Some(format!(
        "{when}：此后受理的诉求算不出到期日。请在 rules/calendar.yaml 补上 {} 年的节假日和调休。",
        last + 1
    ))
}

/// The decision, section by section.
fn decision(b: &mut String, form: &TryForm, r: &pb::RouteResponse, set: &crate::RuleSet) {
    let outcome = pb::Outcome::try_from(r.outcome)
        .unwrap_or(pb::Outcome::Unspecified)
        .as_str_name();
    let _ = write!(
        b,
        "<section id=\"result\" data-outcome=\"{outcome}\"><h2>结论</h2><dl class=\"facts\">\
         <dt>结果</dt><dd id=\"outcome\">{}</dd>",
        outcome_label(r.outcome)
    );
    if let Some(d) = &r.department {
        let _ = write!(
            b,
            "<dt>承办部门</dt><dd id=\"department\" data-id=\"{}\">{}</dd>",
            esc(&d.id),
            esc(&d.name)
        );
    }
    if !r.co_handling.is_empty() {
        let names: Vec<String> = r.co_handling.iter().map(|d| esc(&d.name)).collect();
        let _ = write!(
            b,
            "<dt>协办部门</dt><dd id=\"co-handling\">{}</dd>",
            names.join("、")
        );
    }
    if let Some(h) = &r.handoff {
        let also: Vec<String> = h
            .co_lines
            .iter()
            .map(|c| format!("{} {}", esc(&c.line), esc(&c.name)))
            .collect();
        let _ = write!(
            b,
            "<dt>转接</dt><dd id=\"handoff\"><b>{}</b> {}{}</dd>",
            esc(&h.line),
            esc(&h.name),
            if also.is_empty() {
                String::new()
            } else {
                format!("；同时通知 {}", also.join("、"))
            }
        );
        if let Some(d) = &r.handoff_doubt {
            let _ = write!(
                b,
                "<dt>存疑</dt><dd id=\"handoff-doubt\">{}</dd>",
                esc(&crate::engine::alarm::doubt_sentence(
                    d.probability,
                    set.settings().model.handoff_doubt.unwrap_or(1.0)
                ))
            );
        }
    }
    if let Some(o) = &r.out_of_scope {
        let _ = write!(
            b,
            "<dt>事项</dt><dd>{}</dd><dt>告知市民</dt><dd id=\"guidance\">{}</dd>",
            esc(&o.name),
            esc(&o.guidance)
        );
    }
    if let Some(u) = &r.unit {
        let _ = write!(b, "<dt>承办单位</dt><dd id=\"unit\">{}</dd>", esc(&u.name));
    }
    if let Some(j) = &r.jurisdiction {
        let how = match j.source.as_str() {
            "request" => "（来自请求的属地）",
            "text" => "（来自原文）",
            _ if !j.unknown_place.is_empty() => "（按全市）",
            _ => "（未指明，按全市）",
        };
        let _ = write!(
            b,
            "<dt>属地</dt><dd id=\"jurisdiction\">{}{how}",
            esc(&j.name)
        );
        if !j.unknown_place.is_empty() {
            let _ = write!(
                b,
                "<br><span id=\"unknown-place\">请求的属地「{}」不在地名表中，未采用",
                esc_shown(&j.unknown_place)
            );
            if !j.did_you_mean.is_empty() {
                let _ = write!(b, "，是否为「{}」？", esc(&j.did_you_mean));
            }
            b.push_str("</span>");
        }
        b.push_str("</dd>");
    }
    if let Ok(t) = pb::RequestType::try_from(r.request_type)
        && t != pb::RequestType::Unspecified
    {
        let _ = write!(
            b,
            "<dt>诉求类型</dt><dd id=\"request-type\">{}{}</dd>",
            request_type::label(t),
            if r.request_type_evidence.is_empty() {
                "（默认）"
            } else {
                ""
            }
        );
    }
    if let Some(t) = &r.time_limit {
        let due = if !t.due_date.is_empty() {
            format!(
                "；{} 受理，<b id=\"due-date\">{}</b> 前办结",
                esc(&t.received_date),
                esc(&t.due_date)
            )
        } else if !t.due_date_error.is_empty() {
            format!("（{}）", esc(&t.due_date_error))
        } else {
            "；填写受理日期可算出到期日".to_owned()
        };
        let _ = write!(
            b,
            "<dt>办结时限</dt><dd id=\"time-limit\">{} 个工作日（依据：{}）{due}</dd>",
            t.working_days,
            esc(&t.basis)
        );
    }
    if !r.rule_id.is_empty() {
        let src = r
            .rule_source
            .as_ref()
            .map(|s| format!(" <span class=\"src\">{}:{}</span>", esc(&s.file), s.line))
            .unwrap_or_default();
        let _ = write!(
            b,
            "<dt>规则</dt><dd id=\"rule\">{} {}{src}</dd><dt>优先级</dt><dd id=\"priority\">{}</dd>\
             <dt>置信度</dt><dd id=\"confidence\">{:.2}（得分 {:.2}）</dd>",
            rule_link(&r.rule_id),
            esc(&r.topic),
            priority_of(set, &r.rule_id),
            r.confidence,
            r.score
        );
    }
    if !r.category.is_empty() {
        let _ = write!(b, "<dt>分类</dt><dd>{}</dd>", esc(&r.category.join(" / ")));
    }
    let by = match pb::DecidedBy::try_from(r.decided_by) {
        Ok(pb::DecidedBy::Rules) => "规则",
        Ok(pb::DecidedBy::ModelFallback) => "无规则命中，由分类模型兜底",
        Ok(pb::DecidedBy::CrossCheck) => "规则派单但分类模型强烈不同意，转人工",
        Ok(pb::DecidedBy::ModelTieBreak) => "规则在两条规则之间难以取舍，由分类模型选定其一",
        Ok(pb::DecidedBy::EmergencyCheck) => {
            "规则没有转接，紧急情况检查认为可能是紧急情况，立即转人工研判"
        }
        _ => "",
    };
    if !by.is_empty() {
        let _ = write!(b, "<dt>决定方式</dt><dd id=\"decided-by\">{by}</dd>");
    }
    if let Some(e) = &r.possible_emergency {
        let lines: Vec<String> = e
            .lines
            .iter()
            .map(|l| format!("{} {} {:.2}", esc(&l.line), esc(&l.name), l.probability))
            .collect();
        let _ = write!(
            b,
            "<dt>可能紧急</dt><dd id=\"possible-emergency\"><strong>概率 {:.2}</strong>；可能需要：{}</dd>",
            e.probability,
            lines.join("、")
        );
    }
    let _ = write!(
        b,
        "<dt>理由</dt><dd id=\"reason\">{}</dd></dl>",
        esc(&r.reason)
    );

    // The text with its evidence: the deciding rule's first, then request-type cues, then the
    // place name; offsets are in Unicode scalar values of title + "\n" + text, as in the proto.
    let joined = RouteInput {
        title: &form.title,
        text: &form.text,
        ..RouteInput::default()
    }
    .joined()
    .into_owned();
    let mut marks: Vec<Mark> = r
        .evidence
        .iter()
        .map(|e| Mark {
            start: e.start as usize,
            end: e.end as usize,
            class: "ev",
            note: format!("{} · {}", e.term, condition_label(e.condition)),
        })
        .collect();
    marks.extend(r.request_type_evidence.iter().map(|e| Mark {
        start: e.start as usize,
        end: e.end as usize,
        class: "rt",
        note: format!("诉求类型线索 · {}", e.term),
    }));
    if let Some(e) = r.jurisdiction.as_ref().and_then(|j| j.evidence.as_ref()) {
        marks.push(Mark {
            start: e.start as usize,
            end: e.end as usize,
            class: "pl",
            note: format!("属地 · {}", e.term),
        });
    }
    let _ = write!(
        b,
        "<h2>原文与依据词</h2><p class=\"legend\"><mark class=\"ev\">依据词</mark> \
         <mark class=\"rt\">诉求类型线索</mark> <mark class=\"pl\">属地</mark></p>\
         <div id=\"request-text\" class=\"request-text\">{}</div>",
        highlighted(&joined, &marks)
    );
    if !r.evidence.is_empty() {
        b.push_str("<table id=\"evidence\"><tr><th>规则词</th><th>原文</th><th>位置</th><th>条件</th></tr>");
        for e in &r.evidence {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td></tr>",
                esc(&e.term),
                esc_shown(&e.text),
                e.start,
                e.end,
                condition_label(e.condition)
            );
        }
        b.push_str("</table>");
    }

    if !r.regulations.is_empty() {
        b.push_str("<h2>依据条文</h2>");
        for g in &r.regulations {
            articles(b, g);
        }
    }
    if !r.alternatives.is_empty() {
        b.push_str(
            "<h2>其他候选</h2><table id=\"alternatives\"><tr><th>规则</th><th>结果</th><th>部门</th><th>主题</th><th>优先级</th><th>得分</th><th>依据词</th></tr>",
        );
        for a in &r.alternatives {
            let words: Vec<String> = a.evidence.iter().map(|e| esc_shown(&e.text)).collect();
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td>{}</td></tr>",
                rule_link(&a.rule_id),
                outcome_label(a.outcome),
                a.department
                    .as_ref()
                    .map(|d| esc(&d.name))
                    .unwrap_or_default(),
                esc(&a.topic),
                priority_of(set, &a.rule_id),
                a.score,
                words.join("、")
            );
        }
        // What engine::decide does, in the order it does it: a higher score alone does not win.
        let _ = write!(
            b,
            "</table><p class=\"hint\" id=\"how-decided\">怎样决定：达到阈值（得分 {:.2}）的紧急转接规则直接转接；\
             其余达到阈值的规则先比优先级，只在优先级最高的一档里比得分（兜底规则优先级为 −1，有具体规则命中时不由它决定）；\
             得分相近而去向不同时转人工；另一部门的依据明显更多时改派该部门（优先级 1 及以上的规则不改派）。\
             得分 = 权重 ×（命中的必备词组数 + 加分词、模式的加分），置信度由得分及其领先幅度算出。</p>",
            set.settings().threshold
        );
    }
    if let Some(m) = &r.model_check {
        let _ = write!(
            b,
            "<h2>分类模型复核</h2><p id=\"model-check\" data-agrees=\"{}\">模型首选「{}」（概率 {:.2}），对规则所属领域的概率 {:.2}：{}</p>",
            m.agrees,
            esc(&m.top_label),
            m.top_probability,
            m.rules_probability,
            if m.agrees {
                "与规则一致"
            } else {
                "与规则不一致"
            }
        );
    }
    if !r.suggestions.is_empty() {
        b.push_str(
            "<h2>分类模型建议</h2><table id=\"suggestions\"><tr><th>标签</th><th>概率</th><th>兜底部门</th><th>主要依据</th></tr>",
        );
        for s in &r.suggestions {
            let _ = write!(
                b,
                "<tr><td>{}</td><td class=\"num\">{:.2}</td><td>{}</td><td>{}</td></tr>",
                esc(&s.label),
                s.probability,
                s.department
                    .as_ref()
                    .map(|d| esc(&d.name))
                    .unwrap_or_default(),
                esc_shown(&s.terms.join("、"))
            );
        }
        b.push_str("</table>");
    }
    let link = format!("/try?{}", form.query());
    if link.len() <= MAX_LINK_BYTES {
        let _ = write!(
            b,
            "<p class=\"permalink\">固定链接（可发给同事，打开即按当前规则重新试算）：<a id=\"permalink\" href=\"{}\">打开此试算</a> \
             <button type=\"button\" id=\"copy-link\" data-href=\"{}\">复制链接</button></p>",
            esc(&link),
            esc(&link),
        );
    } else {
        let _ = write!(
            b,
            "<p class=\"permalink\" id=\"no-permalink\">这条请求有 {} 字，链接放不下，没有固定链接；请直接复制原文。</p>",
            form.title.chars().count() + form.text.chars().count()
        );
    }
    let _ = write!(
        b,
        "<p class=\"meta\">规则集版本 {}</p></section>",
        esc(&r.rules_version)
    );
}

/// One article in full.
fn articles(b: &mut String, g: &pb::Regulation) {
    let _ = write!(
        b,
        "<article class=\"regulation\" data-id=\"{}\"><h3>《{}》{}</h3><p class=\"article-text\">{}</p>\
         <p class=\"meta\">{}{}</p></article>",
        esc(&g.id),
        esc(&g.title),
        esc(&g.article),
        esc(&g.text),
        if g.revision_date.is_empty() {
            String::new()
        } else {
            format!("版本：{}　", esc(&g.revision_date))
        },
        if g.source.is_empty() {
            String::new()
        } else {
            format!("出处：{}", esc(&g.source))
        }
    );
}

fn kind_label(k: RuleKind) -> &'static str {
    match k {
        RuleKind::Handoff => "紧急转接",
        RuleKind::OutOfScope => "不属受理范围",
        RuleKind::Dispatch => "派单规则",
    }
}

/// 规则: the set's version and load state, the search, and every rule by department.
pub(crate) fn rules_page(set: &RuleSet, failure: &LoadFailure, q: &str) -> String {
    let mut b = String::new();
    let loaded = super::china_time(set.loaded_at());
    let _ = write!(
        b,
        "<h1>规则</h1><dl class=\"facts\"><dt>版本</dt><dd><code id=\"version\">{}</code></dd>\
         <dt>加载时间</dt><dd id=\"loaded-at\">{}</dd><dt>规则目录</dt><dd>{}</dd><dt>规模</dt><dd>共 {} 条规则：派单规则 {} 条、紧急转接 {} 条、不属受理范围事项 {} 条；{} 个部门，{} 条法规条文</dd></dl>",
        esc(set.version()),
        esc(&loaded),
        esc(&set.source().display().to_string()),
        set.rules().len(),
        set.count(RuleKind::Dispatch),
        set.count(RuleKind::Handoff),
        set.count(RuleKind::OutOfScope),
        set.departments().len(),
        set.regulations().len()
    );
    if failure.diagnostics.is_empty() {
        b.push_str("<p id=\"load-state\" class=\"ok\">最近一次加载成功，正在使用上面的版本。</p>");
    } else {
        let _ = write!(
            b,
            "<section id=\"load-errors\" class=\"error\"><h2>最近一次加载失败（{}），仍在使用上面的版本</h2><ul>",
            esc(&failure.at.map(super::china_time).unwrap_or_default())
        );
        for d in &failure.diagnostics {
            let _ = write!(
                b,
                "<li><code>{}</code> {} <b>{}</b>：{}<br><span class=\"help\">{}</span></li>",
                esc(&d.location.to_string()),
                match d.severity {
                    crate::ruleset::Severity::Error => "错误",
                    crate::ruleset::Severity::Warning => "警告",
                },
                esc(d.code.as_str()),
                esc(&d.message),
                esc(d.help())
            );
        }
        b.push_str("</ul></section>");
    }
    if let Some(notice) = calendar_notice(set, crate::store::now_ms()) {
        let _ = write!(
            b,
            "<p id=\"calendar-notice\" class=\"error\">{}</p>",
            esc(&notice)
        );
    }
    if !set.warnings().is_empty() {
        let _ = write!(
            b,
            "<details id=\"warnings\"><summary>{} 条警告</summary><ul>",
            set.warnings().len()
        );
        for d in set.warnings() {
            let _ = write!(
                b,
                "<li><code>{}</code> <b>{}</b>：{}</li>",
                esc(&d.location.to_string()),
                esc(d.code.as_str()),
                esc(&d.message)
            );
        }
        b.push_str("</ul></details>");
    }
    let _ = write!(
        b,
        "<form method=\"get\" action=\"/rules\" id=\"search\"><label for=\"q\">查词</label>\
         <input id=\"q\" name=\"q\" value=\"{}\" placeholder=\"关键词，或来电中的一句话\" maxlength=\"2000\"> <button type=\"submit\">查找</button></form>",
        esc(q)
    );
    if !q.trim().is_empty() {
        search_results(&mut b, set, q.trim());
    }
    b.push_str("<h2>全部规则</h2>");
    let rules = set.rules();
    let mut groups: Vec<(String, String, Vec<usize>)> = Vec::new();
    for kind in [RuleKind::Handoff, RuleKind::OutOfScope] {
        let ids: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].kind() == kind)
            .collect();
        groups.push((kind_label(kind).to_owned(), String::new(), ids));
    }
    for (d, dept) in set.departments().iter().enumerate() {
        let ids: Vec<usize> = (0..rules.len())
            .filter(|&i| rules[i].department() == Some(d))
            .collect();
        if !ids.is_empty() {
            groups.push((dept.name.clone(), dept.id.clone(), ids));
        }
    }
    for (name, id, ids) in &groups {
        let _ = write!(
            b,
            "<details class=\"department\" data-id=\"{}\"><summary>{}{}（{} 条）</summary><table class=\"rules\">",
            esc(id),
            esc(name),
            if id.is_empty() {
                String::new()
            } else {
                format!(" <code>{}</code>", esc(id))
            },
            ids.len()
        );
        for &i in ids {
            let r = &rules[i];
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td class=\"src\">{}:{}</td></tr>",
                rule_link(&r.id),
                esc(&r.topic),
                esc(&r.location.file),
                r.location.line
            );
        }
        b.push_str("</table></details>");
    }
    page("规则", Nav::Rules, set.version(), &b)
}

/// A search query as rule terms are written: normalized as requests are.
pub(crate) fn search_needle(q: &str) -> String {
    crate::engine::normalize::normalize(q).text().to_owned()
}

/// The terms of rule `i` (its `all` groups and `any` terms) that contain `needle`.
pub(crate) fn terms_containing(set: &RuleSet, i: usize, needle: &str) -> Vec<String> {
    let c = set.conditions_of(i);
    let mut hits: Vec<String> = c
        .all
        .into_iter()
        .flatten()
        .chain(c.any)
        .filter(|t| t.contains(needle))
        .collect();
    // A term can be in two groups (电梯安全 in both of elevator-safety's): list it once, where
    // it is first written.
    let mut seen = std::collections::HashSet::new();
    hits.retain(|t| seen.insert(t.clone()));
    hits
}

/// The rules whose terms contain the query, and the rules the query's words would set off.
fn search_results(b: &mut String, set: &RuleSet, q: &str) {
    let needle = search_needle(q);
    let rules = set.rules();
    let mut by_term: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let hits = terms_containing(set, i, &needle);
        if !hits.is_empty() || r.id.contains(q) || r.topic.contains(q) {
            by_term.push((i, hits));
        }
    }
    let _ = write!(
        b,
        "<section id=\"search-results\"><h2>关键词含「{}」的规则（{} 条）</h2>",
        esc(q),
        by_term.len()
    );
    if by_term.is_empty() {
        b.push_str("<p>没有。</p>");
    } else {
        b.push_str(
            "<table id=\"term-matches\"><tr><th>规则</th><th>主题</th><th>匹配的关键词</th></tr>",
        );
        for (i, hits) in &by_term {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                rule_link(&rules[*i].id),
                esc(&rules[*i].topic),
                esc(&hits.join("、"))
            );
        }
        b.push_str("</table>");
    }
    let touched = set.rules_touched_by(q);
    // "Would fire" is for 试一试 to say: a rule whose conditions all hold can still lose on its
    // score, the threshold or a rule of higher priority.
    let _ = write!(
        b,
        "<h2>把「{}」当作来电：含有其关键词的规则（{} 条），其中 {} 条条件全部满足</h2>",
        esc(q),
        touched.len(),
        touched.iter().filter(|t| t.conditions_hold).count()
    );
    if touched.is_empty() {
        b.push_str("<p>没有规则的关键词或模式出现在这句话里。</p>");
    } else {
        b.push_str("<table id=\"fired\"><tr><th>规则</th><th>命中的词</th><th>排除词</th><th>条件</th></tr>");
        for t in &touched {
            let state = if t.conditions_hold {
                "条件全部满足".to_owned()
            } else if !t.stops.is_empty() {
                "被排除词挡住".to_owned()
            } else if t.groups_too_far {
                format!(
                    "{}相距超过 {} 字",
                    if set.conditions_of(t.rule).all.len() == 2 {
                        "两组词"
                    } else {
                        "各组词"
                    },
                    t.within.unwrap_or_default()
                )
            } else {
                "部分满足".to_owned()
            };
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                rule_link(&t.rule_id),
                esc(&t.feeds.join("、")),
                esc(&t.stops.join("、")),
                state
            );
        }
        let _ = write!(
            b,
            "</table><p class=\"hint\">条件全部满足的规则也未必派单：还要看得分是否达到阈值、有没有优先级更高的规则。\
             实际结果请<a href=\"/try?{}\">用「试一试」试算这句话</a>。</p>",
            esc(&TryForm {
                text: q.to_owned(),
                ..TryForm::default()
            }
            .query())
        );
    }
    b.push_str("</section>");
}

/// The lines of a rule as written in its file: from its `- id:` line to the next item.
pub(crate) fn rule_source(set: &RuleSet, rule: &Rule) -> Option<String> {
    let (_, content) = set.files().iter().find(|(name, _)| {
        *name == rule.location.file || rule.location.file.ends_with(name.as_str())
    })?;
    let lines: Vec<&str> = content.lines().collect();
    let first = (rule.location.line as usize).checked_sub(1)?;
    let start_line = lines.get(first)?;
    let indent = start_line.len() - start_line.trim_start().len();
    let mut end = first + 1;
    while end < lines.len() {
        let l = lines[end];
        let l_indent = l.len() - l.trim_start().len();
        if !l.trim().is_empty() && l_indent <= indent {
            break;
        }
        end += 1;
    }
    while end > first + 1 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    Some(lines[first..end].join("\n"))
}

/// One rule: what it does, its conditions, examples and articles, and where it is written.
pub(crate) fn rule_page(set: &RuleSet, i: usize) -> String {
    let r = &set.rules()[i];
    let mut b = String::new();
    let target = match &r.target {
        Target::Dispatch {
            department,
            co_handling,
        } => {
            let name = |d: &usize| {
                set.departments()
                    .get(*d)
                    .map(|d| format!("{}（{}）", d.name, d.id))
                    .unwrap_or_default()
            };
            let co: Vec<String> = co_handling.iter().map(name).collect();
            format!(
                "派往 <b id=\"rule-department\">{}</b>{}",
                esc(&name(department)),
                if co.is_empty() {
                    String::new()
                } else {
                    format!("，协办 {}", esc(&co.join("、")))
                }
            )
        }
        Target::Handoff { line, name } => format!("紧急转接 <b>{} {}</b>", esc(line), esc(name)),
        Target::OutOfScope { name, guidance } => {
            format!("不属受理范围：{}。告知市民：{}", esc(name), esc(guidance))
        }
    };
    let _ = write!(
        b,
        "<h1>规则 <code id=\"rule-id\">{}</code></h1><dl class=\"facts\"><dt>主题</dt><dd id=\"topic\">{}</dd>\
         <dt>类别</dt><dd>{}</dd><dt>去向</dt><dd>{target}</dd><dt>分类</dt><dd>{}</dd>\
         <dt>权重 / 优先级</dt><dd>{} / {}</dd><dt>写在</dt><dd id=\"rule-file\" class=\"src\">{}:{}:{}</dd>",
        esc(&r.id),
        esc(&r.topic),
        kind_label(r.kind()),
        esc(&r.category.join(" / ")),
        r.weight,
        r.priority,
        esc(&r.location.file),
        r.location.line,
        r.location.column
    );
    if let Some(t) = &r.time_limit {
        let _ = write!(b, "<dt>法定时限</dt><dd>{} 个工作日</dd>", t.days);
    }
    if r.local {
        b.push_str("<dt>属地事项</dt><dd>在街道、镇由街道办事处或镇政府承办</dd>");
    }
    b.push_str("</dl><h2>条件</h2><dl class=\"conditions\" id=\"conditions\">");
    let c = set.conditions_of(i);
    let words = |ts: &[String]| {
        ts.iter()
            .map(|t| format!("<span class=\"term\">{}</span>", esc(t)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for (g, group) in c.all.iter().enumerate() {
        let _ = write!(
            b,
            "<dt>必备词第 {} 组（all，每组至少命中一个）</dt><dd>{}</dd>",
            g + 1,
            words(group)
        );
    }
    if !c.any.is_empty() {
        let _ = write!(b, "<dt>加分词（any）</dt><dd>{}</dd>", words(&c.any));
    }
    if !c.patterns.is_empty() {
        let _ = write!(
            b,
            "<dt>模式（patterns）</dt><dd>{}</dd>",
            words(&c.patterns)
        );
    }
    if let Some(n) = c.within {
        let _ = write!(
            b,
            "<dt>距离（within）</dt><dd id=\"within\">必备词各组须在 {n} 字以内（各组命中的词相距超过 {n} 字则不触发）</dd>"
        );
    }
    for (label, list) in [
        ("排除词（none，出现任何一个即不触发）", &c.none),
        (
            "转折（handoffs_turn，排除词在最后一个转折之前的不算）",
            &c.turn,
        ),
        (
            "前情（handoffs_background，以这些说法开头的那一句里的排除词不算）",
            &c.background,
        ),
        (
            "此刻（handoffs_now，证据从以这些词开头的一句或一段开始时，这个词之前的排除词不算）",
            &c.now,
        ),
    ] {
        if !list.is_empty() {
            let _ = write!(b, "<dt>{label}</dt><dd>{}</dd>", words(list));
        }
    }
    b.push_str("</dl><p class=\"hint\">同义词已展开，词形已规范化（与匹配时相同）。</p>");
    for (title, list, id) in [
        ("例句（应当触发本规则）", &r.examples, "examples"),
        (
            "反例（不应触发本规则）",
            &r.counterexamples,
            "counterexamples",
        ),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(b, "<h2>{title}</h2><ul id=\"{id}\">");
        for e in list {
            let href = format!(
                "/try?{}",
                super::pages::TryForm {
                    text: e.text.clone(),
                    ..TryForm::default()
                }
                .query()
            );
            let _ = write!(
                b,
                "<li>{} <a class=\"try\" href=\"{}\">试一试</a> <span class=\"src\">{}:{}</span></li>",
                esc(&e.text),
                esc(&href),
                esc(&e.location.file),
                e.location.line
            );
        }
        b.push_str("</ul>");
    }
    if !r.regulations.is_empty() {
        b.push_str("<h2>依据条文</h2>");
        for &g in &r.regulations {
            articles(&mut b, &crate::engine::explain::regulation_pb(set, g));
        }
    }
    if let Some(src) = rule_source(set, r) {
        let _ = write!(
            b,
            "<h2>规则原文（YAML）</h2><pre id=\"rule-source\">{}</pre>",
            esc(&src)
        );
    }
    page(&format!("规则 {}", r.id), Nav::Rules, set.version(), &b)
}

/// What the report page shows for a period.
pub(crate) enum ReportView {
    /// `serve` runs without a decision store.
    NoStore,
    /// The period asked for is not one (HTTP 400).
    BadPeriod(String),
    /// The store could not be read (HTTP 500).
    Failed(String),
    Ready(Box<Report>),
}

/// 报表: the period form and the supervision report (the same figures and charts as
/// `report --format html`), with each rule linked to its page.
/// `report_flags`: the `--rules` / `--store` flags of the serving process, for the command that
/// makes the same report.
pub(crate) fn report_page(
    set: &RuleSet,
    from: &str,
    to: &str,
    view: &ReportView,
    report_flags: &str,
) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<h1>派单监测报表</h1><form method=\"get\" action=\"/reports\" id=\"period\">\
         <label>自 <input type=\"date\" name=\"from\" id=\"from\" value=\"{}\"></label> \
         <label>至（不含）<input type=\"date\" name=\"to\" id=\"to\" value=\"{}\"></label> <button type=\"submit\">查看</button></form>",
        esc(from),
        esc(to)
    );
    match view {
        ReportView::NoStore => b.push_str(
            "<p id=\"no-store\" class=\"error\">没有派单记录库：启动服务时加 <code>--store sqlite:路径</code> 或 \
             <code>--store postgres://…</code>，决定、退单、办结和回访才会记录下来。</p>",
        ),
        ReportView::BadPeriod(why) | ReportView::Failed(why) => {
            let _ = write!(
                b,
                "<p id=\"error\" class=\"error\">无法生成报表：{}</p>",
                esc(why)
            );
        }
        ReportView::Ready(r) => {
            let _ = write!(
                b,
                "<section id=\"report\">{}</section><p class=\"meta\">同一报表：<code>hotline-router report {} --from {} --to {} --format html</code>；JSON：<a href=\"/api/report?from={}&amp;to={}\">/api/report</a></p>",
                crate::store::render::html_body(r, &|id| set
                    .rule(id)
                    .map(|_| format!("/rules/{}", url_encode(id)))),
                esc(report_flags),
                esc(from),
                esc(to),
                url_encode(from),
                url_encode(to)
            );
        }
    }
    page("报表", Nav::Reports, set.version(), &b)
}

#[cfg(test)]
mod calendar_notice_tests {
    use super::calendar_notice;

    #[test]
    fn the_rules_page_says_when_the_calendar_ends_soon_or_has_ended() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let set = crate::ruleset::load_dir(&dir).expect("the bundled rules load");
        let until = set.calendar().covered_until_ms().expect("a calendar");
        let last = set.calendar().years().last().copied().unwrap();
        let day = 86_400_000;
        assert_eq!(calendar_notice(&set, until - 40 * day), None);
        let soon = calendar_notice(&set, until - 10 * day + 1).expect("ends soon");
        assert!(soon.contains("还剩 9 天"), "{soon}");
        assert!(soon.contains(&format!("补上 {} 年", last + 1)), "{soon}");
        let ended = calendar_notice(&set, until + day).expect("ended");
        assert!(ended.contains("已经过期"), "{ended}");
    }
}
