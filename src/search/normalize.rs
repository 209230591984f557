//! What a name means, apart from how it was typed.
//!
//! [`normalize`] removes the differences of typing: full-width forms, bracket
//! variants, whitespace, Latin case, punctuation, and Traditional characters
//! (OpenCC's character table, `data/ts_characters.txt`, Apache-2.0).
//! [`parse`] then splits an organization's name into the parts a clerk may
//! change or leave out, so that the scorer can weigh them apart:
//!
//! | part | examples | how it is recognised |
//! |---|---|---|
//! | region | 南昌, 江西省, (深圳) | `data/regions.txt`, at the start or in brackets |
//! | core | 华远科技 | what remains: trade name and industry |
//! | legal form | 有限公司 = 有限责任公司, 股份有限公司, (有限合伙) | a suffix table, [`Form`] |
//! | branch | 九江分公司 | 分公司, 分店, 支行… after the form |
//!
//! A query typed in pinyin or English (`nanchang huayuan keji youxian
//! gongsi`) is parsed the same way against the pinyin of the region names and
//! the pinyin and English legal forms.
//!
//! Person names are only normalized: they have no parts.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::limits;
use pinyin::{ToPinyin, ToPinyinMulti};

/// A legal form, by what it means: 有限公司 and 有限责任公司 are one form.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Form {
    /// 有限公司, 有限责任公司 (Co., Ltd.).
    Limited,
    /// 股份有限公司.
    JointStock,
    /// 集团有限公司, 集团公司…
    Group,
    /// (有限合伙).
    LimitedPartnership,
    /// (普通合伙).
    GeneralPartnership,
    /// 合伙企业 without a kind.
    Partnership,
    /// 专业合作社, 合作社.
    Cooperative,
    /// 个体工商户.
    Individual,
    /// 公司 alone.
    Company,
}

impl Form {
    const ALL: [Form; 9] = [
        Form::Limited,
        Form::JointStock,
        Form::Group,
        Form::LimitedPartnership,
        Form::GeneralPartnership,
        Form::Partnership,
        Form::Cooperative,
        Form::Individual,
        Form::Company,
    ];

    /// A byte for the index: 0 is reserved for "no form".
    pub fn code(self) -> u8 {
        Form::ALL
            .iter()
            .position(|f| *f == self)
            .map_or(0, |i| i as u8 + 1)
    }

    /// The form of [`Form::code`]; `None` for 0 or an unknown byte.
    pub fn from_code(code: u8) -> Option<Form> {
        Form::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// How alike two forms are, in [0, 1]: 1 for the same form, less for a
    /// related one (公司 against 有限公司), least for different ones.
    pub fn likeness(self, other: Form) -> f64 {
        use Form::*;
        if self == other {
            return 1.0;
        }
        match (self, other) {
            (Company, Limited | JointStock | Group) | (Limited | JointStock | Group, Company) => {
                limits::FORM_COMPANY_KIND
            }
            (Limited | JointStock | Group, Limited | JointStock | Group) => {
                limits::FORM_COMPANY_KINDS
            }
            (
                LimitedPartnership | GeneralPartnership | Partnership,
                LimitedPartnership | GeneralPartnership | Partnership,
            ) => limits::FORM_PARTNERSHIPS,
            _ => limits::FORM_OTHER,
        }
    }
}

/// Legal forms at the end of a name, longest first within each script.
const FORMS: &[(&str, Form)] = &[
    ("合伙企业有限合伙", Form::LimitedPartnership),
    ("合伙企业普通合伙", Form::GeneralPartnership),
    ("集团股份有限公司", Form::Group),
    ("集团有限责任公司", Form::Group),
    ("股份有限责任公司", Form::JointStock),
    ("集团有限公司", Form::Group),
    ("股份有限公司", Form::JointStock),
    ("有限责任公司", Form::Limited),
    ("专业合作社", Form::Cooperative),
    ("个体工商户", Form::Individual),
    ("有限公司", Form::Limited),
    ("股份公司", Form::JointStock),
    ("集团公司", Form::Group),
    ("有限合伙", Form::LimitedPartnership),
    ("普通合伙", Form::GeneralPartnership),
    ("合伙企业", Form::Partnership),
    ("合作社", Form::Cooperative),
    ("公司", Form::Company),
    // Pinyin, as typed on a pinyin keyboard without choosing characters.
    ("hehuoqiyeyouxianhehuo", Form::LimitedPartnership),
    ("hehuoqiyeputonghehuo", Form::GeneralPartnership),
    ("jituangufenyouxiangongsi", Form::Group),
    ("jituanyouxianzerengongsi", Form::Group),
    ("gufenyouxianzerengongsi", Form::JointStock),
    ("jituanyouxiangongsi", Form::Group),
    ("gufenyouxiangongsi", Form::JointStock),
    ("youxianzerengongsi", Form::Limited),
    ("zhuanyehezuoshe", Form::Cooperative),
    ("youxiangongsi", Form::Limited),
    ("youxianhehuo", Form::LimitedPartnership),
    ("putonghehuo", Form::GeneralPartnership),
    ("hehuoqiye", Form::Partnership),
    ("hezuoshe", Form::Cooperative),
    ("gongsi", Form::Company),
    // English, as in the English names kept as aliases.
    ("groupcompanylimited", Form::Group),
    ("companylimited", Form::Limited),
    ("groupcoltd", Form::Group),
    ("corporation", Form::Company),
    ("limited", Form::Limited),
    ("coltd", Form::Limited),
    ("corp", Form::Company),
    ("ltd", Form::Limited),
    ("inc", Form::Company),
    ("llc", Form::Limited),
];

/// Forms written in brackets: 投资合伙企业(有限合伙).
const BRACKET_FORMS: &[(&str, Form)] = &[
    ("有限合伙", Form::LimitedPartnership),
    ("普通合伙", Form::GeneralPartnership),
    ("特殊普通合伙", Form::GeneralPartnership),
    ("个体工商户", Form::Individual),
];

/// Suffixes of a branch's name.
const BRANCH_SUFFIXES: &[&str] = &[
    "分公司",
    "营业部",
    "办事处",
    "分店",
    "分厂",
    "分部",
    "分行",
    "支行",
    "分社",
    "fengongsi",
    "branch",
];

/// Administrative suffixes after a place name, longest first. Not in pinyin:
/// `sheng`, `shi` and `qu` begin too many words (贵溪圣恒 is guixi sheng…).
const ADMIN_SUFFIXES: &[&str] = &[
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "地区",
    "省",
    "市",
    "区",
    "县",
];

/// A place name from `data/regions.txt`.
struct Place {
    /// The name without suffix (江西), or its pinyin (jiangxi).
    name: String,
    /// The Chinese name, which is what the parts keep.
    base: &'static str,
    /// Whether it counts only before an administrative suffix (泰和县).
    needs_suffix: bool,
}

static PLACES: LazyLock<Vec<Place>> = LazyLock::new(|| {
    let mut places = Vec::new();
    let mut needs_suffix = false;
    for line in include_str!("data/regions.txt").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "[suffix-only]" {
            needs_suffix = true;
            continue;
        }
        places.push(Place {
            name: line.to_string(),
            base: line,
            needs_suffix,
        });
        for py in pinyin_keys(line, 8) {
            places.push(Place {
                // Short pinyin (jian for 吉安) begins too many other words.
                needs_suffix: needs_suffix || py.len() < 5,
                name: py,
                base: line,
            });
        }
    }
    // Longest first, so that 南昌县 is not read as 南昌 + 县….
    places.sort_by_key(|p| std::cmp::Reverse(p.name.len()));
    places
});

/// [`PLACES`] by their first character, each list in the order of
/// [`PLACES`] (longest first): a name is compared with the few places that
/// begin as it does, not with all of them (which was half the time of
/// building the name index).
static PLACES_BY_FIRST: LazyLock<HashMap<char, Vec<&'static Place>>> = LazyLock::new(|| {
    let mut by_first: HashMap<char, Vec<&'static Place>> = HashMap::new();
    for p in PLACES.iter() {
        if let Some(first) = p.name.chars().next() {
            by_first.entry(first).or_default().push(p);
        }
    }
    by_first
});

/// The places that may begin `text`, longest first.
fn places_starting(text: &str) -> &'static [&'static Place] {
    text.chars()
        .next()
        .and_then(|first| PLACES_BY_FIRST.get(&first))
        .map_or(&[], Vec::as_slice)
}

/// Every place's Chinese name once, in file order: ids for the index.
static PLACE_BASES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut bases: Vec<&'static str> = Vec::new();
    for line in include_str!("data/regions.txt").lines() {
        let line = line.trim();
        if !(line.is_empty()
            || line.starts_with('#')
            || line.starts_with('[')
            || bases.contains(&line))
        {
            bases.push(line);
        }
    }
    bases
});

/// The index's id of a place (its line among the places).
pub fn place_id(base: &str) -> Option<u16> {
    PLACE_BASES
        .iter()
        .position(|b| *b == base)
        .map(|i| i as u16)
}

/// The place of [`place_id`].
pub fn place_of(id: u16) -> Option<&'static str> {
    PLACE_BASES.get(usize::from(id)).copied()
}

/// OpenCC's Traditional → Simplified character pairs
/// (`data/ts_characters.txt`): each Traditional character with the first
/// Simplified one listed for it.
pub fn opencc_pairs() -> impl Iterator<Item = (char, char)> {
    include_str!("data/ts_characters.txt")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (from, to) = line.split_once('\t')?;
            let mut from_chars = from.chars();
            let to = to.split(' ').next()?.chars().next()?;
            match (from_chars.next(), from_chars.next()) {
                (Some(f), None) => Some((f, to)),
                _ => None,
            }
        })
}

/// The first and last code points of the CJK Unified Ideographs block,
/// where nearly all Traditional characters are: looked up by index.
const CJK: std::ops::RangeInclusive<u32> = 0x4E00..=0x9FFF;

/// Traditional → Simplified: a dense table over [`CJK`] (every character
/// of a name is looked up, so an index beats a hash), a map for the rest.
struct Traditional {
    cjk: Vec<char>,
    other: HashMap<char, char>,
}

static TRADITIONAL: LazyLock<Traditional> = LazyLock::new(|| {
    let mut t = Traditional {
        cjk: CJK
            .map(|u| char::from_u32(u).expect("CJK code points are chars"))
            .collect(),
        other: HashMap::new(),
    };
    for (from, to) in opencc_pairs() {
        if CJK.contains(&(from as u32)) {
            t.cjk[(from as u32 - CJK.start()) as usize] = to;
        } else {
            t.other.insert(from, to);
        }
    }
    t
});

/// The Simplified form of a Traditional character (itself otherwise).
pub fn simplify(c: char) -> char {
    if c.is_ascii() {
        return c;
    }
    let t = &*TRADITIONAL;
    if CJK.contains(&(c as u32)) {
        return t.cjk[(c as u32 - CJK.start()) as usize];
    }
    t.other.get(&c).copied().unwrap_or(c)
}

/// The folded form of `name`: full-width ASCII becomes half-width, every
/// bracket variant becomes `(` or `)`, whitespace (including the
/// ideographic space) is dropped and Latin letters are lower-cased: the same
/// name typed on different keyboards compares equal.
pub fn fold(name: &str) -> String {
    folded_chars(name).collect()
}

/// The characters of [`fold`]`(name)`.
fn folded_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars()
        .filter_map(|c| {
            let c = match c {
                // Full-width forms of ASCII `!`..`~`.
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            match c {
                c if c.is_whitespace() => None,
                '(' | '[' | '{' | '【' | '〔' | '〖' | '［' => Some('('),
                ')' | ']' | '}' | '】' | '〕' | '〗' | '］' => Some(')'),
                c => Some(c),
            }
        })
        .flat_map(char::to_lowercase)
}

/// The normalized text of a name: [`fold`] (width, brackets,
/// whitespace, case), Traditional → Simplified, and punctuation dropped
/// except the round brackets [`parse`] reads.
pub fn normalize(name: &str) -> String {
    normalized_chars(name).collect()
}

/// The characters of [`normalize`]`(name)`, without making the string: to
/// compare a name with a normalized text.
pub fn normalized_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    folded_chars(name)
        // ü as keyboards type it (lü → lv).
        .map(|c| if c == 'ü' { 'v' } else { simplify(c) })
        .filter(|&c| c == '(' || c == ')' || c.is_alphanumeric())
}

/// Toneless pinyin of `text`, letters and digits kept, other characters
/// without a reading kept as they are: 华为 → `huawei`, 华维 → `huawei`.
pub fn pinyin_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                out.push(c.to_ascii_lowercase());
            }
        } else if let Some(p) = c.to_pinyin() {
            push_plain(&mut out, p.plain());
        } else if c.is_alphanumeric() {
            out.push(c);
        }
    }
    out
}

/// How many pinyin spellings of a core the index keeps.
pub const PINYIN_READINGS: usize = 8;

/// Appends a pinyin syllable as typed on a keyboard: ü as v (lü → lv).
fn push_plain(out: &mut String, syllable: &str) {
    out.extend(syllable.chars().map(|c| if c == 'ü' { 'v' } else { c }));
}

/// Up to `max` toneless pinyin spellings of `text`, the first as
/// [`pinyin_key`] gives it, then other readings of polyphonic characters
/// (长沙 is `zhangsha` by the first reading, `changsha` as people say it).
pub fn pinyin_keys(text: &str, max: usize) -> Vec<String> {
    let mut keys = vec![String::new()];
    for c in text.chars() {
        if c.is_ascii() {
            if c.is_ascii_alphanumeric() {
                keys.iter_mut().for_each(|k| k.push(c.to_ascii_lowercase()));
            }
            continue;
        }
        let Some(multi) = c.to_pinyin_multi() else {
            if c.is_alphanumeric() {
                keys.iter_mut().for_each(|k| k.push(c));
            }
            continue;
        };
        let mut readings: Vec<&str> = Vec::with_capacity(multi.count());
        for p in multi {
            if !readings.contains(&p.plain()) {
                readings.push(p.plain());
            }
        }
        // Every key keeps the first reading; other readings branch off the
        // earliest keys while there is room.
        let mut branches = Vec::new();
        'more: for r in &readings[1..] {
            for k in &keys {
                if keys.len() + branches.len() >= max {
                    break 'more;
                }
                let mut b = String::with_capacity(k.len() + r.len());
                b.push_str(k);
                push_plain(&mut b, r);
                branches.push(b);
            }
        }
        for k in &mut keys {
            push_plain(k, readings[0]);
        }
        keys.append(&mut branches);
    }
    keys.retain(|k| !k.is_empty());
    keys
}

/// Whether some reading of `text` (every reading of each polyphonic
/// character, letters and digits as themselves) spells `pinyin` exactly: a
/// homophone test that builds no strings, for scoring many candidate cores.
pub fn sounds_as(text: &str, pinyin: &str) -> bool {
    fn rest_matches(chars: &[char], target: &[u8]) -> bool {
        let Some((&c, more)) = chars.split_first() else {
            return target.is_empty();
        };
        if c.is_ascii() {
            if !c.is_ascii_alphanumeric() {
                return rest_matches(more, target);
            }
            return target.first() == Some(&(c.to_ascii_lowercase() as u8))
                && rest_matches(more, &target[1..]);
        }
        let Some(multi) = c.to_pinyin_multi() else {
            if !c.is_alphanumeric() {
                return rest_matches(more, target);
            }
            let mut buf = [0u8; 4];
            let own = c.encode_utf8(&mut buf).as_bytes();
            return target.starts_with(own) && rest_matches(more, &target[own.len()..]);
        };
        multi.into_iter().any(|p| {
            // As typed: ü as v.
            let mut at = 0;
            for r in p.plain().chars() {
                let r = if r == 'ü' { 'v' } else { r };
                if !r.is_ascii() || target.get(at) != Some(&(r as u8)) {
                    return false;
                }
                at += 1;
            }
            rest_matches(more, &target[at..])
        })
    }
    let mut buf = ['\0'; 32];
    let mut n = 0;
    for c in text.chars() {
        if n == buf.len() {
            return pinyin_keys(text, PINYIN_READINGS)
                .iter()
                .any(|k| k == pinyin);
        }
        buf[n] = c;
        n += 1;
    }
    !pinyin.is_empty() && rest_matches(&buf[..n], pinyin.as_bytes())
}

/// An organization's name taken apart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NameParts {
    /// Places, in order (江西省南昌市… → [江西, 南昌]), by their Chinese
    /// names even when typed in pinyin.
    pub regions: Vec<&'static str>,
    /// What remains: trade name and industry.
    pub core: String,
    /// The legal form.
    pub form: Option<Form>,
    /// A branch's own part (九江分公司), as written.
    pub branch: Option<String>,
}

/// Takes a normalized name apart (see the module docs). Never fails: a name
/// that matches no table is all core.
pub fn parse(normalized: &str) -> NameParts {
    parse_with(normalized, true)
}

/// [`parse`], leaving places at the start in the core unless `strip_places`.
pub fn parse_with(normalized: &str, strip_places: bool) -> NameParts {
    let mut parts = NameParts::default();
    let mut text = take_brackets(normalized, &mut parts);
    // Branch: 有限公司九江分公司, 南昌分行.
    if let Some(suffix) = BRANCH_SUFFIXES.iter().find(|s| text.ends_with(*s)) {
        let body = &text[..text.len() - suffix.len()];
        let split = FORMS
            .iter()
            .filter_map(|(f, _)| body.rfind(f).map(|i| i + f.len()))
            .max()
            .or_else(|| {
                // No form before it: a place name right before the suffix.
                PLACES
                    .iter()
                    .find(|p| body.ends_with(&p.name) && body.len() > p.name.len())
                    .map(|p| body.len() - p.name.len())
            });
        if let Some(split) = split.filter(|&s| s > 0) {
            parts.branch = Some(text[split..].to_string());
            text.truncate(split);
        }
    }
    // Legal form; a partnership's 合伙企业 goes with its bracketed form.
    if let Some((suffix, form)) = FORMS
        .iter()
        .find(|(s, _)| text.ends_with(s) && text.chars().count() > s.chars().count())
    {
        text.truncate(text.len() - suffix.len());
        parts.form = Some(match (parts.form, form) {
            (Some(bracketed), Form::Partnership) => bracketed,
            _ => *form,
        });
    }
    // Places at the start, while at least two characters remain.
    while let Some((base, len)) = place_at_start(&text).filter(|_| strip_places) {
        if text[len..].chars().count() < 2 {
            break;
        }
        parts.regions.push(base);
        text.drain(..len);
    }
    parts.core = text;
    parts
}

/// Removes bracketed parts: a place or a form is recorded, anything else
/// stays in the text without its brackets.
fn take_brackets(normalized: &str, parts: &mut NameParts) -> String {
    let mut out = String::with_capacity(normalized.len());
    let mut rest = normalized;
    while let Some(open) = rest.find('(') {
        out.push_str(&rest[..open]);
        let inner_start = open + 1;
        let (inner, after) = match rest[inner_start..].find(')') {
            Some(close) => (
                &rest[inner_start..inner_start + close],
                &rest[inner_start + close + 1..],
            ),
            // Unclosed (a typo took the closing bracket): the bracket ends
            // where the legal form begins, or with the name.
            None => {
                let tail = &rest[inner_start..];
                let form_at = FORMS
                    .iter()
                    .filter(|(f, _)| tail.ends_with(f) && tail.len() > f.len())
                    .map(|(f, _)| tail.len() - f.len())
                    .next()
                    .unwrap_or(tail.len());
                (&tail[..form_at], &tail[form_at..])
            }
        };
        if let Some((_, form)) = BRACKET_FORMS.iter().find(|(s, _)| *s == inner) {
            parts.form = Some(*form);
        } else if let Some(base) = place_exactly(inner).or_else(|| place_nearly(inner)) {
            parts.regions.push(base);
        } else {
            out.push_str(inner);
        }
        rest = after;
    }
    out.push_str(rest);
    out.retain(|c| c != '(' && c != ')');
    out
}

/// The longest administrative suffix `text` starts with, in bytes.
fn admin_suffix_len(text: &str) -> usize {
    ADMIN_SUFFIXES
        .iter()
        .find(|s| text.starts_with(*s))
        .map_or(0, |s| s.len())
}

/// The place `text` starts with and the bytes it takes with its suffix.
pub fn place_at_start(text: &str) -> Option<(&'static str, usize)> {
    places_starting(text).iter().find_map(|p| {
        if !text.starts_with(&p.name) {
            return None;
        }
        let suffix = admin_suffix_len(&text[p.name.len()..]);
        (suffix > 0 || !p.needs_suffix).then_some((p.base, p.name.len() + suffix))
    })
}

/// Every way `text` may start with a place in pinyin, bare or with its
/// administrative suffix in pinyin (anyixian…), and the bytes each takes:
/// second readings of a pinyin query, where a short place name (jian) may
/// begin another word and a suffix (sheng) the next one.
pub fn pinyin_places_at_start(text: &str) -> Vec<(&'static str, usize)> {
    let mut out = Vec::new();
    for p in places_starting(text).iter().filter(|p| p.name.is_ascii()) {
        let Some(rest) = text.strip_prefix(p.name.as_str()) else {
            continue;
        };
        out.push((p.base, p.name.len()));
        if let Some(s) = ["zizhiqu", "sheng", "shi", "qu", "xian"]
            .iter()
            .find(|s| rest.starts_with(*s))
        {
            out.push((p.base, p.name.len() + s.len()));
        }
    }
    out
}

/// A place in pinyin at the end of `text` (a bracketed place typed in
/// pinyin: huayuankeji nanchang youxiangongsi), and where it starts.
pub fn pinyin_place_at_end(text: &str) -> Option<(&'static str, usize)> {
    PLACES
        .iter()
        .filter(|p| p.name.is_ascii())
        .find(|p| text.ends_with(p.name.as_str()))
        .map(|p| (p.base, text.len() - p.name.len()))
}

/// The place `text` is, suffix allowed, whatever its ambiguity (brackets
/// leave no doubt).
fn place_exactly(text: &str) -> Option<&'static str> {
    places_starting(text).iter().find_map(|p| {
        let rest = text.strip_prefix(p.name.as_str())?;
        (rest.is_empty() || admin_suffix_len(rest) == rest.len()).then_some(p.base)
    })
}

/// The place one typo away from `text` (a character inserted, deleted or
/// substituted), for bracketed places, where nothing else is expected.
fn place_nearly(text: &str) -> Option<&'static str> {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() < 2 || chars.len() > 6 {
        return None;
    }
    PLACES
        .iter()
        .filter(|p| !p.name.is_ascii() || text.is_ascii())
        .find(|p| {
            let name: Vec<char> = p.name.chars().collect();
            name.len() >= 2 && super::score::edit_distance(&chars, &name, 1).is_some()
        })
        .map(|p| p.base)
}

/// Whether a typed name reads as a person's and as nothing else: two to
/// four Chinese characters with no place, legal form or branch in them
/// (张伟, 欧阳娜娜). A short trade name (华为) reads so too; the answer is
/// a guess at which search is cheaper, never a decision.
pub fn reads_as_person(name: &str) -> bool {
    let normalized = normalize(name);
    let chars = normalized.chars().count();
    (2..=4).contains(&chars) && normalized.chars().all(|c| CJK.contains(&(c as u32))) && {
        let parts = parse(&normalized);
        parts.regions.is_empty() && parts.form.is_none() && parts.branch.is_none()
    }
}

/// Whether `text` is written in Latin letters and digits only (a pinyin or
/// English query).
pub fn is_latin(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'(' || b == b')')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_reads_as_a_person() {
        for name in ["张伟", "欧阳娜娜", " 李 娜 ", "華為", "瑞丰建材"] {
            assert!(reads_as_person(name), "{name}");
        }
        for name in [
            "张",
            "南昌公司",
            "江西南昌",
            "zhangwei",
            "张伟1",
            "欧阳娜娜娜",
            "华为有限公司",
        ] {
            assert!(!reads_as_person(name), "{name}");
        }
    }

    #[test]
    fn width_brackets_space_and_case_fold() {
        assert_eq!(fold("华为技术（深圳）有限公司"), "华为技术(深圳)有限公司");
        assert_eq!(
            fold(" 华为技术【深圳】 有限公司　"),
            "华为技术(深圳)有限公司"
        );
        assert_eq!(fold("ＡＢＣ科技有限公司"), "abc科技有限公司");
        assert_eq!(fold("ABC 科技"), "abc科技");
    }

    #[test]
    fn normalizes_width_brackets_traditional_and_punctuation() {
        assert_eq!(
            normalize("華為技術（深圳）有限公司"),
            "华为技术(深圳)有限公司"
        );
        assert_eq!(
            normalize(" 南昌·华远 科技有限公司。"),
            "南昌华远科技有限公司"
        );
        assert_eq!(
            normalize("Huayuan Technology (Nanchang) Co., Ltd."),
            "huayuantechnology(nanchang)coltd"
        );
        assert_eq!(normalize("【江西】ＡＢＣ科技"), "(江西)abc科技");
        assert_eq!(normalize("LÜ Ｌü　lu"), "lvlvlu");
        assert!(normalized_chars("華為 科技").eq("华为科技".chars()));
    }

    #[test]
    fn pinyin_keys_are_toneless_and_joined() {
        assert_eq!(pinyin_key("华为"), "huawei");
        assert_eq!(pinyin_key("华维"), "huawei");
        assert_eq!(pinyin_key("3D打印"), "3ddayin");
        let keys = pinyin_keys("长沙银行", PINYIN_READINGS);
        assert_eq!(keys[0], pinyin_key("长沙银行"));
        assert!(keys.contains(&"changshayinhang".to_string()), "{keys:?}");
        assert!(keys.len() <= PINYIN_READINGS);
    }

    #[test]
    fn sounds_as_agrees_with_the_spelled_readings() {
        for (text, pinyin) in [
            ("长沙银行", "changshayinhang"),
            ("长沙银行", "zhangshayinhang"),
            ("华为", "huawei"),
            ("华维", "huawei"),
            ("3D打印", "3ddayin"),
            ("绿源", "lvyuan"),
        ] {
            assert!(sounds_as(text, pinyin), "{text} {pinyin}");
            assert!(
                pinyin_keys(text, PINYIN_READINGS)
                    .iter()
                    .any(|k| k == pinyin)
            );
        }
        for (text, pinyin) in [
            ("华为", "huawe"),
            ("华为", "huaweii"),
            ("华为", ""),
            ("中远", "huawei"),
        ] {
            assert!(!sounds_as(text, pinyin), "{text} {pinyin}");
        }
    }

    fn parts(name: &str) -> NameParts {
        parse(&normalize(name))
    }

    #[test]
    fn region_core_form_and_branch_come_apart() {
        let p = parts("江西省南昌市华远科技有限责任公司");
        assert_eq!(p.regions, ["江西", "南昌"]);
        assert_eq!(p.core, "华远科技");
        assert_eq!(p.form, Some(Form::Limited));
        assert_eq!(p.branch, None);

        let p = parts("华为技术（深圳）有限公司");
        assert_eq!(
            (p.regions.as_slice(), p.core.as_str()),
            (&["深圳"][..], "华为技术")
        );

        let p = parts("南昌华远科技有限公司九江分公司");
        assert_eq!(p.core, "华远科技");
        assert_eq!(p.branch.as_deref(), Some("九江分公司"));

        let p = parts("南昌嘉富投资合伙企业（有限合伙）");
        assert_eq!(p.core, "嘉富投资");
        assert_eq!(p.form, Some(Form::LimitedPartnership));

        let p = parts("宜春市富东矿业股份有限公司");
        assert_eq!(
            (p.core.as_str(), p.form),
            ("富东矿业", Some(Form::JointStock))
        );
    }

    #[test]
    fn common_words_need_a_suffix_to_be_places() {
        assert_eq!(parts("南昌泰和科技有限公司").core, "泰和科技");
        let p = parts("泰和县永丰农业有限公司");
        assert_eq!(
            (p.regions.as_slice(), p.core.as_str()),
            (&["泰和"][..], "永丰农业")
        );
        // Never strip the whole name away.
        assert_eq!(parts("南昌有限公司").core, "南昌");
    }

    #[test]
    fn pinyin_and_english_queries_parse_too() {
        let p = parts("Nanchang Huayuan Keji Youxian Gongsi");
        assert_eq!(p.regions, ["南昌"]);
        assert_eq!(p.core, "huayuankeji");
        assert_eq!(p.form, Some(Form::Limited));
        let p = parts("Nanchang Huayuan Technology Co., Ltd.");
        assert_eq!(
            (p.core.as_str(), p.form),
            ("huayuantechnology", Some(Form::Limited))
        );
    }

    #[test]
    fn forms_compare_by_meaning() {
        assert_eq!(
            parts("华远科技有限公司").form,
            parts("华远科技有限责任公司").form
        );
        assert!(Form::Limited.likeness(Form::JointStock) < 1.0);
        assert!(Form::Limited.likeness(Form::Company) > Form::Limited.likeness(Form::Cooperative));
    }
}
