//! Stage 1 of a request: normalize the citizen's text so that rules match however it was typed.
//!
//! Intake text arrives from phones, web forms and WeChat: full-width digits and letters, mixed
//! case, stray control characters from copy-paste, zero-width spaces, runs of blanks, traditional
//! characters from callers who type them. Rules are written once, in simplified Chinese, so the
//! text is brought to one form:
//!
//! - NFKC, per character (full-width → half-width, compatibility forms → canonical);
//! - Latin lowercased;
//! - control and format characters (Cc, Cf: NUL, ZWSP, BOM, bidi marks) dropped, except that line
//!   breaks and tabs count as whitespace;
//! - every run of whitespace becomes one ASCII space, and CJK punctuation becomes its ASCII
//!   counterpart, so that punctuation is a separator whichever way it was typed;
//! - the most frequent traditional characters folded to simplified (a table, not a full
//!   converter: enough that 物業費 matches 物业费).
//!
//! Evidence must point into the text the caller sent, not into this normalized copy, so every
//! normalized character remembers which original character (by Unicode scalar index) produced it.
//! NFKC is applied character by character rather than to the whole string so that this map is
//! exact; the only cost is that combining sequences are not composed, which no rule relies on.

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// The normalized text of one request, with the way back to the original.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    text: String,
    /// For each character of `text`: the index of the original character it came from.
    origin: Vec<u32>,
    /// For each character of `text`: its byte offset in `text`; one extra entry for the end.
    byte_of_char: Vec<u32>,
    original_chars: u32,
    /// Byte offset in `text` where the lead ends (see [`Normalized::lead_end`]).
    lead_end: u32,
}

/// A first sentence shorter than this is a greeting ("您好！"), not the subject: the lead runs on
/// to the next sentence end. A line break (the end of a title) ends it whatever its length.
const LEAD_MIN_CHARS: usize = 6;
/// A lead never runs longer than this, so that a text without any sentence end has a lead too.
const LEAD_MAX_CHARS: usize = 64;

impl Normalized {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The *lead* of the request: the text up to its first line break or sentence end (at least
    /// a few characters, at most 64 characters), as a byte offset into [`Self::text`]. With
    /// a title it is the title; without one, the first sentence. Citizens and intake staff state
    /// the subject first and the circumstances after, so a rule that the lead speaks of is more
    /// likely the subject than one that only a later detail touches (see `score`).
    pub fn lead_end(&self) -> usize {
        self.lead_end as usize
    }

    /// Number of characters of the original text.
    pub fn original_chars(&self) -> u32 {
        self.original_chars
    }

    /// Maps a byte range of the normalized text (on char boundaries) to the range of original
    /// characters that produced it: `[start, end)` in Unicode scalar values of the original.
    pub fn original_span(&self, byte_start: usize, byte_end: usize) -> (u32, u32) {
        let first = self.char_index(byte_start);
        let last = self.char_index(byte_end).saturating_sub(1).max(first);
        match (self.origin.get(first), self.origin.get(last)) {
            (Some(&s), Some(&e)) => (s, (e + 1).min(self.original_chars)),
            _ => (self.original_chars, self.original_chars),
        }
    }

    /// The index of the character of [`Self::text`] that starts at `byte` (a char boundary).
    pub(crate) fn char_index(&self, byte: usize) -> usize {
        let byte = u32::try_from(byte).unwrap_or(u32::MAX);
        match self.byte_of_char.binary_search(&byte) {
            Ok(i) | Err(i) => i,
        }
    }
}

/// Normalizes `original` (see the module docs).
pub fn normalize(original: &str) -> Normalized {
    let mut out = Normalized::default();
    normalize_into(original, &mut out);
    out
}

/// [`normalize`] into `out`, reusing its buffers (the per-request path keeps one per thread).
pub fn normalize_into(original: &str, out: &mut Normalized) {
    let Normalized {
        text,
        origin,
        byte_of_char,
        original_chars,
        lead_end,
    } = out;
    text.clear();
    origin.clear();
    byte_of_char.clear();
    text.reserve(original.len());
    let mut last_was_space = true; // so that leading whitespace is dropped
    let mut count: u32 = 0;

    let mut push = |c: char, i: u32, text: &mut String, last_was_space: &mut bool| {
        if c == ' ' {
            if *last_was_space {
                return;
            }
            *last_was_space = true;
        } else {
            *last_was_space = false;
        }
        byte_of_char.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
        origin.push(i);
        text.push(c);
    };

    for (i, c) in original.chars().enumerate() {
        let i = u32::try_from(i).unwrap_or(u32::MAX);
        count = i.saturating_add(1);
        // The bulk of a request: CJK unified ideographs are NFKC-stable and never whitespace or
        // control characters, so they skip every other test.
        if is_cjk_ideograph(c) {
            push(traditional_to_simplified(c), i, text, &mut last_was_space);
            continue;
        }
        if c.is_ascii() {
            let c = match c {
                '\t' | '\n' | '\r' | '\x0b' | '\x0c' => ' ',
                c if c.is_ascii_control() => continue,
                c => c.to_ascii_lowercase(),
            };
            push(c, i, text, &mut last_was_space);
            continue;
        }
        // Full-width ASCII (，？！：；（）０-９Ａ-Ｚ), the rest of a typical request: NFKC maps
        // U+FF01..=U+FF5E to U+0021..=U+007E, without the normalization tables.
        if ('\u{ff01}'..='\u{ff5e}').contains(&c) {
            let a = char::from_u32(c as u32 - 0xfee0).unwrap_or(c);
            push(a.to_ascii_lowercase(), i, text, &mut last_was_space);
            continue;
        }
        if c.is_whitespace() {
            push(' ', i, text, &mut last_was_space);
            continue;
        }
        if is_control_or_format(c) {
            continue;
        }
        if is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes {
            push(fold(c), i, text, &mut last_was_space);
        } else {
            for d in std::iter::once(c).nfkc() {
                for l in d.to_lowercase() {
                    let l = if l.is_whitespace() { ' ' } else { fold(l) };
                    push(l, i, text, &mut last_was_space);
                }
            }
        }
    }
    // Trailing space carries no meaning.
    if text.ends_with(' ') {
        text.pop();
        byte_of_char.pop();
        origin.pop();
    }
    byte_of_char.push(u32::try_from(text.len()).unwrap_or(u32::MAX));
    *original_chars = count;
    *lead_end = lead_end_of(original, origin, byte_of_char);
}

/// Where the lead ends (see [`Normalized::lead_end`]), as a byte offset into the normalized text:
/// found on the original's first characters, then carried over by the offset map. Kept out of
/// the main loop, which it would slow by a third.
fn lead_end_of(original: &str, origin: &[u32], byte_of_char: &[u32]) -> u32 {
    let mut end_char = None;
    for (i, c) in original.chars().enumerate().take(LEAD_MAX_CHARS + 1) {
        let line_break = matches!(c, '\n' | '\r') && i >= 2;
        let sentence_end = matches!(c, '。' | '！' | '？' | '!' | '?' | '；' | ';');
        if i >= LEAD_MAX_CHARS || line_break || (sentence_end && i >= LEAD_MIN_CHARS) {
            end_char = Some(i as u32);
            break;
        }
    }
    let total = byte_of_char.last().copied().unwrap_or(0);
    match end_char {
        // The first normalized character that comes from at or after the lead's end.
        Some(e) => byte_of_char
            .get(origin.partition_point(|&o| o < e))
            .copied()
            .unwrap_or(total),
        None => total,
    }
}

/// Unicode general categories Cc and Cf, without pulling in a category table: the ranges that
/// occur in practice (C0/C1 controls, soft hyphen, zero-width and bidi marks, BOM, tags).
fn is_control_or_format(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}' | '\u{ad}' | '\u{600}'..='\u{605}' | '\u{61c}' | '\u{6dd}' | '\u{70f}'
        | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}' | '\u{feff}' | '\u{fff9}'..='\u{fffb}' | '\u{e0001}' | '\u{e0020}'..='\u{e007f}')
}

/// CJK punctuation to ASCII, then traditional to simplified.
fn fold(c: char) -> char {
    match c {
        '。' | '｡' => '.',
        '、' => ',',
        '「' | '」' | '『' | '』' | '“' | '”' | '〝' | '〞' => '"',
        '‘' | '’' => '\'',
        '【' | '〔' | '〖' => '[',
        '】' | '〕' | '〗' => ']',
        '—' | '–' | '―' | '～' | '〜' => '-',
        '…' => '.',
        '·' | '・' => ' ',
        c if (c as u32) >= 0x4e00 => traditional_to_simplified(c),
        c => c,
    }
}

const CJK_START: u32 = 0x4e00;
const CJK_END: u32 = 0x9fff;

fn is_cjk_ideograph(c: char) -> bool {
    (CJK_START..=CJK_END).contains(&(c as u32))
}

/// One bit per CJK unified ideograph: set when T2S has a mapping for it. Most characters of a
/// request are already simplified, and this answers "nothing to do" in one load instead of a
/// binary search per character.
fn t2s_bitmap() -> &'static [u64] {
    static BITMAP: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    BITMAP.get_or_init(|| {
        let mut bits = vec![0u64; ((CJK_END - CJK_START) as usize).div_ceil(64) + 1];
        for &(t, _) in T2S {
            if is_cjk_ideograph(t) {
                let i = (t as u32 - CJK_START) as usize;
                bits[i / 64] |= 1 << (i % 64);
            }
        }
        bits
    })
}

fn traditional_to_simplified(c: char) -> char {
    if is_cjk_ideograph(c) {
        let i = (c as u32 - CJK_START) as usize;
        if t2s_bitmap()
            .get(i / 64)
            .is_none_or(|w| w & (1 << (i % 64)) == 0)
        {
            return c;
        }
    }
    match T2S.binary_search_by_key(&c, |&(t, _)| t) {
        Ok(i) => T2S[i].1,
        Err(_) => c,
    }
}

/// Traditional → simplified for the characters that carry meaning in hotline requests (sorted by
/// the traditional character; a unit test keeps it sorted).
static T2S: &[(char, char)] = &[
    ('丟', '丢'),
    ('並', '并'),
    ('亂', '乱'),
    ('來', '来'),
    ('係', '系'),
    ('個', '个'),
    ('們', '们'),
    ('備', '备'),
    ('傷', '伤'),
    ('價', '价'),
    ('優', '优'),
    ('児', '儿'),
    ('兒', '儿'),
    ('內', '内'),
    ('兩', '两'),
    ('凍', '冻'),
    ('劃', '划'),
    ('劑', '剂'),
    ('動', '动'),
    ('務', '务'),
    ('勞', '劳'),
    ('區', '区'),
    ('協', '协'),
    ('卻', '却'),
    ('厭', '厌'),
    ('參', '参'),
    ('吳', '吴'),
    ('員', '员'),
    ('問', '问'),
    ('啟', '启'),
    ('單', '单'),
    ('嚴', '严'),
    ('圍', '围'),
    ('園', '园'),
    ('圖', '图'),
    ('執', '执'),
    ('報', '报'),
    ('場', '场'),
    ('塊', '块'),
    ('塵', '尘'),
    ('壓', '压'),
    ('壞', '坏'),
    ('壩', '坝'),
    ('夠', '够'),
    ('奪', '夺'),
    ('學', '学'),
    ('實', '实'),
    ('寧', '宁'),
    ('審', '审'),
    ('寫', '写'),
    ('寬', '宽'),
    ('將', '将'),
    ('專', '专'),
    ('對', '对'),
    ('導', '导'),
    ('層', '层'),
    ('屬', '属'),
    ('島', '岛'),
    ('師', '师'),
    ('帶', '带'),
    ('幫', '帮'),
    ('幹', '干'),
    ('廁', '厕'),
    ('廢', '废'),
    ('廣', '广'),
    ('廳', '厅'),
    ('張', '张'),
    ('強', '强'),
    ('彈', '弹'),
    ('後', '后'),
    ('從', '从'),
    ('復', '复'),
    ('態', '态'),
    ('應', '应'),
    ('懷', '怀'),
    ('戰', '战'),
    ('戶', '户'),
    ('拋', '抛'),
    ('掃', '扫'),
    ('換', '换'),
    ('擁', '拥'),
    ('擊', '击'),
    ('擋', '挡'),
    ('擔', '担'),
    ('據', '据'),
    ('擬', '拟'),
    ('擴', '扩'),
    ('擺', '摆'),
    ('擾', '扰'),
    ('攤', '摊'),
    ('敗', '败'),
    ('數', '数'),
    ('斷', '断'),
    ('於', '于'),
    ('時', '时'),
    ('書', '书'),
    ('會', '会'),
    ('東', '东'),
    ('條', '条'),
    ('業', '业'),
    ('極', '极'),
    ('構', '构'),
    ('樂', '乐'),
    ('樓', '楼'),
    ('標', '标'),
    ('機', '机'),
    ('檢', '检'),
    ('權', '权'),
    ('歲', '岁'),
    ('歸', '归'),
    ('殘', '残'),
    ('殺', '杀'),
    ('氣', '气'),
    ('決', '决'),
    ('況', '况'),
    ('淨', '净'),
    ('減', '减'),
    ('溝', '沟'),
    ('滅', '灭'),
    ('潔', '洁'),
    ('濕', '湿'),
    ('燈', '灯'),
    ('燒', '烧'),
    ('營', '营'),
    ('爭', '争'),
    ('爾', '尔'),
    ('牆', '墙'),
    ('狀', '状'),
    ('獎', '奖'),
    ('現', '现'),
    ('環', '环'),
    ('產', '产'),
    ('畢', '毕'),
    ('當', '当'),
    ('療', '疗'),
    ('發', '发'),
    ('盜', '盗'),
    ('監', '监'),
    ('盤', '盘'),
    ('眾', '众'),
    ('礙', '碍'),
    ('禍', '祸'),
    ('禮', '礼'),
    ('稅', '税'),
    ('種', '种'),
    ('穩', '稳'),
    ('窮', '穷'),
    ('節', '节'),
    ('糧', '粮'),
    ('紀', '纪'),
    ('約', '约'),
    ('紅', '红'),
    ('納', '纳'),
    ('紙', '纸'),
    ('級', '级'),
    ('細', '细'),
    ('終', '终'),
    ('組', '组'),
    ('結', '结'),
    ('給', '给'),
    ('統', '统'),
    ('經', '经'),
    ('綠', '绿'),
    ('維', '维'),
    ('緊', '紧'),
    ('線', '线'),
    ('編', '编'),
    ('練', '练'),
    ('縣', '县'),
    ('總', '总'),
    ('績', '绩'),
    ('繳', '缴'),
    ('罰', '罚'),
    ('義', '义'),
    ('習', '习'),
    ('聯', '联'),
    ('聲', '声'),
    ('職', '职'),
    ('聽', '听'),
    ('腦', '脑'),
    ('臨', '临'),
    ('與', '与'),
    ('舉', '举'),
    ('舊', '旧'),
    ('華', '华'),
    ('萬', '万'),
    ('葉', '叶'),
    ('藥', '药'),
    ('處', '处'),
    ('號', '号'),
    ('蟲', '虫'),
    ('術', '术'),
    ('補', '补'),
    ('裝', '装'),
    ('製', '制'),
    ('複', '复'),
    ('規', '规'),
    ('視', '视'),
    ('親', '亲'),
    ('覺', '觉'),
    ('觀', '观'),
    ('訊', '讯'),
    ('記', '记'),
    ('訴', '诉'),
    ('診', '诊'),
    ('註', '注'),
    ('証', '证'),
    ('詐', '诈'),
    ('試', '试'),
    ('話', '话'),
    ('該', '该'),
    ('詳', '详'),
    ('認', '认'),
    ('誤', '误'),
    ('說', '说'),
    ('誰', '谁'),
    ('課', '课'),
    ('調', '调'),
    ('請', '请'),
    ('諮', '咨'),
    ('證', '证'),
    ('護', '护'),
    ('讓', '让'),
    ('負', '负'),
    ('財', '财'),
    ('貨', '货'),
    ('責', '责'),
    ('貴', '贵'),
    ('買', '买'),
    ('費', '费'),
    ('貼', '贴'),
    ('資', '资'),
    ('賠', '赔'),
    ('賣', '卖'),
    ('質', '质'),
    ('購', '购'),
    ('贈', '赠'),
    ('趕', '赶'),
    ('車', '车'),
    ('軟', '软'),
    ('較', '较'),
    ('載', '载'),
    ('輛', '辆'),
    ('輸', '输'),
    ('辦', '办'),
    ('農', '农'),
    ('這', '这'),
    ('進', '进'),
    ('運', '运'),
    ('過', '过'),
    ('違', '违'),
    ('遠', '远'),
    ('適', '适'),
    ('遲', '迟'),
    ('選', '选'),
    ('還', '还'),
    ('邊', '边'),
    ('郵', '邮'),
    ('鄉', '乡'),
    ('醫', '医'),
    ('釋', '释'),
    ('錢', '钱'),
    ('鐵', '铁'),
    ('長', '长'),
    ('門', '门'),
    ('開', '开'),
    ('間', '间'),
    ('閥', '阀'),
    ('關', '关'),
    ('隊', '队'),
    ('際', '际'),
    ('險', '险'),
    ('雜', '杂'),
    ('雞', '鸡'),
    ('難', '难'),
    ('電', '电'),
    ('頁', '页'),
    ('項', '项'),
    ('順', '顺'),
    ('預', '预'),
    ('領', '领'),
    ('頭', '头'),
    ('題', '题'),
    ('額', '额'),
    ('風', '风'),
    ('飛', '飞'),
    ('飯', '饭'),
    ('飲', '饮'),
    ('養', '养'),
    ('館', '馆'),
    ('馬', '马'),
    ('驗', '验'),
    ('體', '体'),
    ('髮', '发'),
    ('鬧', '闹'),
    ('魚', '鱼'),
    ('鳥', '鸟'),
    ('麼', '么'),
    ('點', '点'),
    ('齊', '齐'),
    ('齡', '龄'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_fast_path_agrees_with_nfkc() {
        for c in '\u{ff01}'..='\u{ff5e}' {
            let expected: String = std::iter::once(c)
                .nfkc()
                .flat_map(char::to_lowercase)
                .map(fold)
                .collect();
            assert_eq!(normalize(&c.to_string()).text(), expected, "{c:?}");
        }
    }

    #[test]
    fn the_lead_is_the_title_or_first_sentence() {
        let lead = |s: &str| {
            let n = normalize(s);
            n.text()[..n.lead_end()].to_owned()
        };
        assert_eq!(lead("物业费谁交\n我买的房子没过户。"), "物业费谁交");
        assert_eq!(
            lead("小区的电梯坏了三个月。楼下也吵"),
            "小区的电梯坏了三个月"
        );
        // A greeting is not the subject: the lead runs on to the next sentence end.
        assert_eq!(
            lead("您好！小区的电梯坏了三个月。"),
            "您好!小区的电梯坏了三个月"
        );
        // No sentence end: the whole of a short text, the first 64 characters of a long one.
        assert_eq!(lead("物业费谁交"), "物业费谁交");
        assert_eq!(lead(&"很".repeat(100)).chars().count(), 64);
        assert_eq!(lead(""), "");
    }

    #[test]
    fn full_width_case_space_and_controls() {
        let n = normalize("  ＡＢＣ１２３\u{200b}物业费\t\n 谁交？ ");
        assert_eq!(n.text(), "abc123物业费 谁交?");
    }

    #[test]
    fn traditional_folds_to_simplified() {
        assert_eq!(normalize("物業費誰繳").text(), "物业费谁缴");
    }

    #[test]
    fn spans_point_into_the_original() {
        let original = "Ａ\u{200b}物业费";
        let n = normalize(original);
        let start = n.text().find("物业费").unwrap();
        let (s, e) = n.original_span(start, start + "物业费".len());
        let got: String = original
            .chars()
            .skip(s as usize)
            .take((e - s) as usize)
            .collect();
        assert_eq!(got, "物业费");
    }

    #[test]
    fn expanding_characters_map_back_to_their_source() {
        // U+3392 (㎒) expands to three characters under NFKC.
        let n = normalize("x㎒y");
        assert_eq!(n.text(), "xmhzy");
        let b = n.text().find('h').unwrap();
        assert_eq!(n.original_span(b, b + 1), (1, 2));
    }

    #[test]
    fn empty_and_blank() {
        assert_eq!(normalize("").text(), "");
        assert_eq!(normalize(" \t\u{feff}\n").text(), "");
        assert_eq!(normalize("").original_span(0, 0), (0, 0));
    }

    #[test]
    fn t2s_table_is_sorted_for_binary_search() {
        assert!(
            T2S.windows(2).all(|w| w[0].0 < w[1].0),
            "T2S must be sorted by its first char, without duplicates"
        );
    }
}
