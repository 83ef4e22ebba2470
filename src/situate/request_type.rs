//! What kind of request it is: 咨询 / 求助 / 投诉 / 举报 / 建议 / 表扬.
//!
//! Hotline regulations list these kinds (北京市接诉即办工作条例 第二条; notes §1.6), and the kind
//! sets the default time limit. It is read from cue phrases that rule authors list per type in
//! `settings.request_types`, in order of precedence: the first type with a cue in the text wins
//! (a report of a violation outranks a complaint, a complaint outranks a question), and with no
//! cue the settings' default applies. 投诉 and 举报 stay distinct: market-regulation law handles a
//! consumer's complaint and a report of a violation differently (市场监督管理投诉举报处理暂行办法
//! 第三条). Cues match anywhere in the normalized text: they are phrases (请问, 强烈要求处理), not
//! topic words, and where they occur does not matter.

use crate::proto::v1 as pb;

/// The author's names for the types, in the order of `pb::RequestType` (after UNSPECIFIED).
pub(crate) const NAMES: [&str; 6] = ["咨询", "求助", "投诉", "举报", "建议", "表扬"];

pub(crate) fn parse(name: &str) -> Option<pb::RequestType> {
    Some(match name {
        "咨询" => pb::RequestType::Consultation,
        "求助" => pb::RequestType::Help,
        "投诉" => pb::RequestType::Complaint,
        "举报" => pb::RequestType::Report,
        "建议" => pb::RequestType::Suggestion,
        "表扬" => pb::RequestType::Praise,
        _ => return None,
    })
}

pub fn label(t: pb::RequestType) -> &'static str {
    match t {
        pb::RequestType::Consultation => "咨询",
        pb::RequestType::Help => "求助",
        pb::RequestType::Complaint => "投诉",
        pb::RequestType::Report => "举报",
        pb::RequestType::Suggestion => "建议",
        pb::RequestType::Praise => "表扬",
        pb::RequestType::Unspecified => "",
    }
}

/// The cues, as phrases for the matcher's automaton, with their types.
pub struct Classifier {
    pub(crate) phrases: Vec<String>,
    /// For each phrase: (precedence rank, type).
    owners: Vec<(usize, pb::RequestType)>,
    pub(crate) default: pb::RequestType,
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier {
            phrases: Vec::new(),
            owners: Vec::new(),
            default: pb::RequestType::Consultation,
        }
    }
}

impl Classifier {
    /// `cues`: (normalized cue, precedence rank, type).
    pub(crate) fn new(
        cues: Vec<(String, usize, pb::RequestType)>,
        default: pb::RequestType,
    ) -> Self {
        let (phrases, owners) = cues.into_iter().map(|(c, r, t)| (c, (r, t))).unzip();
        Classifier {
            phrases,
            owners,
            default,
        }
    }

    /// The request type from the matcher's hits on cue `i` (i, start, end), and the spans of the
    /// cues that decided it.
    pub fn classify(
        &self,
        hits: &[(usize, usize, usize)],
    ) -> (pb::RequestType, Vec<(usize, usize)>) {
        let Some(best_rank) = hits
            .iter()
            .filter_map(|h| self.owners.get(h.0))
            .map(|o| o.0)
            .min()
        else {
            return (self.default, Vec::new());
        };
        let kind = self
            .owners
            .iter()
            .find(|o| o.0 == best_rank)
            .map_or(self.default, |o| o.1);
        let evidence = hits
            .iter()
            .filter(|h| self.owners.get(h.0).is_some_and(|o| o.0 == best_rank))
            .map(|h| (h.1, h.2))
            .collect();
        (kind, evidence)
    }
}
