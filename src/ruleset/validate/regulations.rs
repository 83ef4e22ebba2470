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
        .filter_map(|r| ids.resolve(file, r, context, diags))
        .collect()
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
    fn articles() {
        assert!(is_article("第四十一条"));
        assert!(is_article("第九百四十四条"));
        assert!(is_article("第十条之一"));
        assert!(!is_article("41"));
        assert!(!is_article("第条"));
        assert!(!is_article("第四十一款"));
    }
}
