//! The `settings` section: threshold, margin and the two evidence factors of `decide`. Request
//! types and time limits, also settings, are validated with the other situate tables
//! (`crate::situate::validate`).

use serde_saphyr::Spanned;

use super::super::diagnostic::{Code, Diagnostics, SourceLocation};
use super::super::load::SourceFile;
use super::super::raw::{RawModelSettings, RawSettings};
use super::super::{ModelSettings, Settings};

/// The one settings section of a rule set, and the file it is in.
pub(crate) type RawSettingsIn<'a> = Option<(&'a str, &'a Spanned<RawSettings>)>;

/// Finds the settings section (exactly one across all files) and validates its numbers.
pub(crate) fn validate<'a>(
    files: &'a [SourceFile],
    diags: &mut Diagnostics,
) -> (Settings, RawSettingsIn<'a>) {
    let mut found: RawSettingsIn<'a> = None;
    for f in files {
        let Some(s) = &f.raw.settings else { continue };
        match found {
            Some((first, _)) => diags.error(
                Code::DuplicateSettings,
                SourceLocation::of(&f.name, s),
                format!("settings are already given in \"{first}\"; keep one settings section"),
            ),
            None => found = Some((&f.name, s)),
        }
    }
    let Some((file, s)) = found else {
        diags.error(
            Code::MissingSettings,
            SourceLocation::file_start(files.first().map_or("rules", |f| f.name.as_str())),
            "no settings section in any rule file; add one with threshold and margin",
        );
        let defaults = Settings {
            threshold: 1.0,
            margin: 0.15,
            support_override: None,
            other_domain_factor: None,
            model: ModelSettings::default(),
        };
        return (defaults, None);
    };
    let t = &s.value.threshold;
    if !(t.value.is_finite() && t.value > 0.0) {
        diags.error(
            Code::OutOfRange,
            SourceLocation::of(file, t),
            format!("threshold {} must be a number above 0", t.value),
        );
    }
    let m = &s.value.margin;
    if !(m.value.is_finite() && (0.0..1.0).contains(&m.value)) {
        diags.error(
            Code::OutOfRange,
            SourceLocation::of(file, m),
            format!("margin {} must be at least 0 and below 1", m.value),
        );
    }
    let support_override = factor(
        file,
        "support_override",
        s.value.support_override.as_deref(),
        "2 means: another department whose matching rules add up to more than twice the \
         winner's gets the request); remove the line to turn the override off",
        diags,
    );
    let other_domain_factor = factor(
        file,
        "other_domain_factor",
        s.value.other_domain_factor.as_deref(),
        "1.3 means: when another domain's matching rules add up to more than 1.3 times \
         the winner's domain, ask a person); remove the line to turn the check off",
        diags,
    );
    let settings = Settings {
        threshold: t.value,
        margin: m.value,
        support_override,
        other_domain_factor,
        model: model(file, s.value.model.as_deref().map(|m| &m.value), diags),
    };
    (settings, found)
}

/// `settings.model`: probabilities between 0 and 1, at most 5 suggestions.
fn model(file: &str, raw: Option<&RawModelSettings>, diags: &mut Diagnostics) -> ModelSettings {
    let Some(raw) = raw else {
        return ModelSettings::default();
    };
    let mut probability = |name: &str, p: &Spanned<f64>| {
        if !(p.value.is_finite() && (0.0..=1.0).contains(&p.value)) {
            diags.error(
                Code::OutOfRange,
                SourceLocation::of(file, p),
                format!("model {name} {} must be a probability, 0 to 1", p.value),
            );
        }
        p.value
    };
    let cross_check = raw.cross_check.as_ref().map(|c| {
        (
            probability("cross_check.below", &c.value.below),
            probability("cross_check.above", &c.value.above),
        )
    });
    let fallback = raw.fallback.as_ref().map(|f| probability("fallback", f));
    let tie_break = raw.tie_break.as_ref().map(|t| probability("tie_break", t));
    let emergency = raw.emergency.as_ref().map(|e| probability("emergency", e));
    let handoff_doubt = raw
        .handoff_doubt
        .as_ref()
        .map(|d| probability("handoff_doubt", d));
    let action = raw
        .cross_check
        .as_ref()
        .and_then(|c| c.value.action.as_ref());
    let cross_check_manual = match action.map(|a| a.value.as_str()) {
        None | Some("flag") => false,
        Some("manual") => true,
        Some(other) => {
            if let Some(a) = action {
                diags.error(
                    Code::OutOfRange,
                    SourceLocation::of(file, a),
                    format!("cross_check action \"{other}\" must be flag or manual"),
                );
            }
            false
        }
    };
    let suggestions = raw.suggestions.as_ref().map_or(3, |n| {
        if n.value > 5 {
            diags.error(
                Code::OutOfRange,
                SourceLocation::of(file, n),
                format!("model suggestions {} must be 0 to 5", n.value),
            );
        }
        n.value.min(5) as usize
    });
    ModelSettings {
        cross_check,
        cross_check_manual,
        suggestions,
        fallback,
        tie_break,
        emergency,
        handoff_doubt,
    }
}

/// An optional factor setting (`support_override`, `other_domain_factor`): a number of at least 1
/// when present, reported at its place otherwise. `meaning` completes the message: an example
/// value's meaning, a closing parenthesis, and how to turn the setting off.
fn factor(
    file: &str,
    name: &str,
    raw: Option<&Spanned<f64>>,
    meaning: &str,
    diags: &mut Diagnostics,
) -> Option<f64> {
    let f = raw?;
    if !(f.value.is_finite() && f.value >= 1.0) {
        diags.error(
            Code::OutOfRange,
            SourceLocation::of(file, f),
            format!(
                "{name} {} must be a number of at least 1 ({meaning}",
                f.value
            ),
        );
    }
    Some(f.value)
}
