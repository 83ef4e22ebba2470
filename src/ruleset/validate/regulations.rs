//! The `regulations` section: the articles that ground decisions, quoted verbatim.

use super::super::Regulation;
use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::ids::IdTable;
use super::super::raw::RawRegulation;

/// One article of the `regulations` section, checked.
pub(crate) fn regulation(file: &str, raw: &RawRegulation, diags: &mut Diagnostics) -> Regulation {
    if raw.title.value.contains('《') || raw.title.value.contains('》') {
        diags.error(
            Code::BadArticle,
            SourceLocation::of(file, &raw.title),
            format!(
                "regulation title \"{}\" must be written without 《》",
                raw.title.value
            ),
        );
    }
    if !is_article(&raw.article.value) {
        diags.error(
            Code::BadArticle,
            SourceLocation::of(file, &raw.article),
            format!(
                "article \"{}\" is not of the form 第…条 (e.g. 第四十一条)",
                raw.article.value
            ),
        );
    }
    if raw.text.value.trim().is_empty() {
        diags.error(
            Code::BadArticle,
            SourceLocation::of(file, &raw.text),
            format!(
                "regulation \"{}\" has no text; quote the article verbatim",
                raw.id.value
            ),
        );
    }
    Regulation {
        id: raw.id.value.clone(),
        title: raw.title.value.clone(),
        article: raw.article.value.clone(),
        text: raw.text.value.trim_end().to_owned(),
        revision_date: raw.revision_date.clone().unwrap_or_default(),
        source: raw.source.clone().unwrap_or_default(),
        location: SourceLocation::of(file, &raw.id),
    }
}

/// Resolves a list of article references (of a rule, or of its time limit).
pub(crate) fn resolve_all(
    ids: &IdTable,
    file: &str,
    refs: &[super::super::raw::Sp<String>],
    context: &str,
    diags: &mut Diagnostics,
) -> Vec<usize> {
    refs.iter()
        .filter_map(|r| {
            if let Some(i) = ids.get(&r.value) {
                return Some(i);
            }
            let hint = article_hint(ids, &r.value).unwrap_or_else(|| ids.suggest(&r.value));
            diags.error(
                Code::UnknownRegulation,
                SourceLocation::of(file, r),
                format!("unknown regulation \"{}\"{context}{hint}", r.value),
            );
            None
        })
        .collect()
}

/// What to tell an author whose article reference is not in the catalogue, when it reads as a
/// title and an article: the id it spells differently (`第5条`, `《…》第七条`, a missing `/`, a
/// title with a slip), or that the catalogue lacks that article. Never another article of the
/// same law: "第二百八十六条" for "第二百八十二条" is one character away and a different rule of
/// law, and a non-lawyer would take it. `None` when the reference does not read as an article.
fn article_hint(ids: &IdTable, written: &str) -> Option<String> {
    let (title, article) = split_reference(written)?;
    let wanted = format!("{title}/{article}");
    if ids.get(&wanted).is_some() {
        return Some(format!("; did you mean \"{wanted}\"?"));
    }
    let suffix = format!("/{article}");
    let same_article = ids.keys().filter_map(|k| k.strip_suffix(suffix.as_str()));
    if let Some(t) = super::super::diagnostic::closest(&title, same_article) {
        return Some(format!("; did you mean \"{t}{suffix}\"?"));
    }
    let titles: std::collections::BTreeSet<&str> = ids
        .keys()
        .filter_map(|k| k.split_once('/').map(|(t, _)| t))
        .collect();
    let known = if titles.contains(title.as_str()) {
        format!("《{title}》 is in the catalogue, its {article} is not")
    } else {
        match super::super::diagnostic::closest(&title, titles.iter().copied()) {
            Some(t) => format!("the catalogue has no {article} of 《{title}》 (nor of 《{t}》)"),
            None => format!("the catalogue has no 《{title}》"),
        }
    };
    Some(format!(
        "; {known}: add the article to regulations.yaml with its text quoted verbatim \
         (docs/rules.md §3), rather than cite a neighbouring one"
    ))
}

/// `民法典/第5条`, `《民法典》第五条`, `民法典第五条` → ("民法典", "第五条").
fn split_reference(written: &str) -> Option<(String, String)> {
    let w = written.trim();
    let (title, article) = match w.split_once('/') {
        Some((t, a)) => (t, a),
        None => w.split_at(w.rfind('第')?),
    };
    let title = title
        .trim()
        .trim_start_matches('《')
        .trim_end_matches('》')
        .trim();
    let article = article.trim();
    let digits = article
        .trim_start_matches('第')
        .trim_end_matches('条')
        .trim();
    let article = match digits.parse::<u32>() {
        Ok(n) if (1..10_000).contains(&n) => format!("第{}条", chinese_number(n)),
        _ => article.to_owned(),
    };
    (!title.is_empty() && is_article(&article)).then(|| (title.to_owned(), article))
}

/// 5 → 五, 10 → 十, 41 → 四十一, 105 → 一百零五, 1010 → 一千零一十: as statutes number articles.
fn chinese_number(n: u32) -> String {
    const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];
    const UNITS: [(u32, &str); 4] = [(1000, "千"), (100, "百"), (10, "十"), (1, "")];
    let mut out = String::new();
    let mut zero = false;
    for (unit, name) in UNITS {
        let d = (n / unit) % 10;
        if d == 0 {
            zero = !out.is_empty();
            continue;
        }
        if zero {
            out.push('零');
            zero = false;
        }
        // 十一, not 一十一, when ten is the leading unit.
        if !(d == 1 && unit == 10 && out.is_empty()) {
            out.push(DIGITS[d as usize]);
        }
        out.push_str(name);
    }
    out
}

/// `第四十一条`, `第十条之一`: what a Chinese statute calls an article.
fn is_article(s: &str) -> bool {
    const NUM: &str = "零〇一二三四五六七八九十百千";
    let Some(rest) = s.strip_prefix('第') else {
        return false;
    };
    let Some(i) = rest.find('条') else {
        return false;
    };
    let (num, tail) = (&rest[..i], &rest[i + '条'.len_utf8()..]);
    !num.is_empty()
        && num.chars().all(|c| NUM.contains(c))
        && (tail.is_empty()
            || tail
                .strip_prefix('之')
                .is_some_and(|t| !t.is_empty() && t.chars().all(|c| NUM.contains(c))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_statutes_write_them() {
        let cases = [
            (5, "五"),
            (10, "十"),
            (11, "十一"),
            (41, "四十一"),
            (100, "一百"),
            (105, "一百零五"),
            (110, "一百一十"),
            (282, "二百八十二"),
            (1000, "一千"),
            (1010, "一千零一十"),
            (1260, "一千二百六十"),
        ];
        for (n, want) in cases {
            assert_eq!(chinese_number(n), want, "{n}");
        }
    }

    #[test]
    fn references_split_into_title_and_article() {
        let s = |w: &str| split_reference(w);
        let pair = |t: &str, a: &str| Some((t.to_owned(), a.to_owned()));
        assert_eq!(s("物业管理条例/第5条"), pair("物业管理条例", "第五条"));
        assert_eq!(
            s("《城市房地产管理法》第七条"),
            pair("城市房地产管理法", "第七条")
        );
        assert_eq!(s("城乡规划法第十一条"), pair("城乡规划法", "第十一条"));
        assert_eq!(s("民法典/第二百八十二条"), pair("民法典", "第二百八十二条"));
        assert_eq!(s("民法典"), None);
        assert_eq!(s("民法典/第几条"), None);
    }

    #[test]
    fn articles() {
        assert!(is_article("第四十一条"));
        assert!(is_article("第九百四十四条"));
        assert!(is_article("第十条之一"));
        assert!(!is_article("41"));
        assert!(!is_article("第条"));
        assert!(!is_article("第四十一款"));
    }
}
