//! How alike a query and a name are, in [0, 1], and why.
//!
//! The parts of both ([`super::normalize::parse`]) are compared apart:
//!
//! * **core** (trade name and industry) carries the score: 1 when equal; 0.9
//!   when typed in pinyin and read so; 0.79 for a homophone (same toneless
//!   pinyin, other characters); for one or two
//!   edits (insertion, deletion, substitution, swap of neighbours) 0.55 +
//!   0.25 × (1 − edits / length), so at most 0.77; a name typed in part (the
//!   name's core begins with the query's) 0.5 + 0.2 × typed / length;
//! * **region**, **legal form** and **branch** multiply it: 1 when they
//!   agree, a little less when one side leaves the part out (0.96–0.97),
//!   more when they differ (a region elsewhere: 0.7).
//!
//! The figures are chosen so that 0.8 separates "this is the company, typed
//! differently" (same core; region or form left out or written otherwise)
//! from "a company whose name is close to this one" (a typo or a homophone
//! away, which may as well be another company). A query for a name that is
//! not in the data then rarely reaches 0.8, while ranking still puts the
//! closest name first.

use super::explain::{Changes, CoreChange};
use super::limits::*;
use super::normalize::{Form, NameParts, PINYIN_READINGS, pinyin_key, pinyin_keys, sounds_as};

/// How a name was found, for `method` in SPEC §6 answers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The name exactly as typed (after trimming).
    Exact,
    /// Equal after normalization (width, brackets, Traditional characters,
    /// 有限责任公司 = 有限公司…).
    Normalized,
    /// A former or other name, exactly or after normalization.
    Alias,
    /// The same core with the region or legal form left out, added or changed.
    Variant,
    /// The same pronunciation with other characters, or pinyin typed as such.
    Pinyin,
    /// One or two characters inserted, deleted, substituted or swapped.
    Fuzzy,
    /// The name begins with what was typed (a name typed in part).
    Prefix,
}

impl Method {
    /// How a name matched once its whole score is known: an equal core whose
    /// other parts differ is a [`Method::Variant`], not [`Method::Normalized`].
    pub fn at(self, score: f64) -> Method {
        match self {
            Method::Normalized if score < 1.0 => Method::Variant,
            m => m,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Exact => "exact",
            Method::Normalized => "normalized",
            Method::Alias => "alias",
            Method::Variant => "variant",
            Method::Pinyin => "pinyin",
            Method::Fuzzy => "fuzzy",
            Method::Prefix => "prefix",
        }
    }
}

/// Edit distance between `a` and `b` in characters, counting a swap of
/// neighbours as one edit (optimal string alignment); `None` above `max`.
pub fn edit_distance(a: &[char], b: &[char], max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    // Names are short: three rows on the stack, on the heap past that.
    let mut stack = [0usize; 3 * 33];
    let mut heap = Vec::new();
    let rows: &mut [usize] = if 3 * w <= stack.len() {
        &mut stack[..3 * w]
    } else {
        heap.resize(3 * w, 0);
        &mut heap
    };
    let (mut two_up, mut up, mut cur) = (0usize, w, 2 * w);
    for (j, slot) in rows[up..up + w].iter_mut().enumerate() {
        *slot = j;
    }
    for i in 1..=a.len() {
        rows[cur] = i;
        let mut row_min = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (rows[up + j] + 1)
                .min(rows[cur + j - 1] + 1)
                .min(rows[up + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(rows[two_up + j - 2] + 1);
            }
            rows[cur + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        (two_up, up, cur) = (up, cur, two_up);
    }
    let d = rows[up + b.len()];
    (d <= max).then_some(d)
}

/// A query's parts, prepared once for scoring many names.
pub struct QueryParts {
    /// The parts.
    pub parts: NameParts,
    /// The core's characters.
    pub core_chars: Vec<char>,
    /// The core's toneless pinyin.
    pub core_pinyin: String,
}

impl QueryParts {
    /// Whether this reading has no place, form or branch (it can score a
    /// person's name).
    pub fn is_plain(&self) -> bool {
        self.parts.regions.is_empty() && self.parts.form.is_none() && self.parts.branch.is_none()
    }

    /// Prepares `parts`.
    pub fn new(parts: NameParts) -> QueryParts {
        QueryParts {
            core_chars: parts.core.chars().collect(),
            core_pinyin: pinyin_key(&parts.core),
            parts,
        }
    }
}

/// What the parts other than the core make of a core's score: a product of
/// factors in (0, 1] for place, legal form and branch.
pub fn factors(q: &QueryParts, name: &NameParts) -> f64 {
    factors_of(q, &name.regions, name.form, name.branch.as_deref())
}

/// [`factors`] from the parts one by one. A branch of unknown text (`Some("")`)
/// counts as different from the query's.
pub fn factors_of(
    q: &QueryParts,
    places: &[&str],
    name_form: Option<Form>,
    name_branch: Option<&str>,
) -> f64 {
    regions(&q.parts.regions, places)
        * form(q.parts.form, name_form)
        * branch(q.parts.branch.as_deref(), name_branch)
}

/// [`factors_of`] and the changes of the parts ([`Changes::with_parts`])
/// together: the parts' factor of the score and `core`'s changes with the
/// parts' own.
pub fn fit(
    q: &QueryParts,
    core: Changes,
    places: &[&str],
    name_form: Option<Form>,
    name_branch: Option<&str>,
) -> (f64, Changes) {
    (
        factors_of(q, places, name_form, name_branch),
        core.with_parts(q, places, name_form, name_branch),
    )
}

/// How a name's core fits the query's: its score, how it matched, and how
/// many changes turn it into the query's ([`super::explain`]).
#[derive(Copy, Clone, Debug, PartialEq)]
pub struct CoreMatch {
    /// In [0, 1].
    pub score: f64,
    /// How it matched.
    pub method: Method,
    /// Changes in the core.
    pub edits: u8,
    /// What they are.
    pub kind: CoreChange,
}

/// The score of a name's core against the query's, how they matched, and
/// the changes between them; `None` when they are not alike.
pub fn core_score(q: &QueryParts, core: &str) -> Option<CoreMatch> {
    let latin = super::normalize::is_latin(&q.parts.core);
    let found = |score: f64, method: Method, edits: usize| CoreMatch {
        score,
        method,
        edits: u8::try_from(edits).unwrap_or(u8::MAX),
        kind: match method {
            _ if edits == 0 => CoreChange::None,
            Method::Prefix => CoreChange::NotTyped,
            Method::Pinyin if latin => CoreChange::PinyinLetter,
            Method::Pinyin => CoreChange::Homophone,
            _ => CoreChange::Character,
        },
    };
    if q.parts.core == core {
        return Some(found(CORE_EQUAL, Method::Normalized, 0));
    }
    let mut buf = ['\0'; 32];
    let mut n = 0;
    for c in core.chars() {
        if n == buf.len() {
            break;
        }
        buf[n] = c;
        n += 1;
    }
    let chars = &buf[..n];
    // A query in pinyin compares with the name's pinyin (any reading of its
    // polyphonic characters); a homophone has as many characters.
    if !q.core_pinyin.is_empty()
        && (latin || chars.len() == q.core_chars.len())
        && sounds_as(core, &q.core_pinyin)
    {
        // Typed in pinyin, it is the name as said; in characters, another
        // name that sounds the same, one change per character replaced.
        return Some(if latin {
            found(PINYIN_TYPED, Method::Pinyin, 0)
        } else {
            let replaced = chars.iter().zip(&q.core_chars).filter(|(a, b)| a != b);
            found(HOMOPHONE, Method::Pinyin, replaced.count())
        });
    }
    let len = q.core_chars.len().max(chars.len());
    if let Some(d) = edit_distance(&q.core_chars, chars, 2).filter(|&d| d > 0 && d < len) {
        return Some(found(
            TYPO_BASE + TYPO_SPAN * (1.0 - d as f64 / len as f64),
            Method::Fuzzy,
            d,
        ));
    }
    // Typed in part: the name's core begins with the query's (or its pinyin
    // with the pinyin typed). Below a typo of the same length: the query
    // does not say how the name goes on.
    // Pinyin spellings, for a query typed in pinyin only.
    let readings = if latin {
        pinyin_keys(core, PINYIN_READINGS)
    } else {
        Vec::new()
    };
    let typed = q.core_chars.len() as f64;
    if !latin && q.core_chars.len() >= PREFIX_MIN_CHARS && chars.starts_with(&q.core_chars) {
        return Some(found(
            PREFIX_BASE + PREFIX_SPAN * typed / chars.len() as f64,
            Method::Prefix,
            chars.len() - q.core_chars.len(),
        ));
    }
    if latin
        && q.core_pinyin.len() >= PREFIX_MIN_PINYIN
        && let Some(r) = readings.iter().find(|r| r.starts_with(&q.core_pinyin))
    {
        return Some(found(
            PREFIX_BASE + PREFIX_SPAN * q.core_pinyin.len() as f64 / r.len() as f64,
            Method::Prefix,
            not_typed(chars, q.core_pinyin.len()),
        ));
    }
    // Pinyin typed with a typo in it.
    if latin && q.core_pinyin.len() >= PREFIX_MIN_PINYIN {
        let qp: Vec<char> = q.core_pinyin.chars().collect();
        let np: Vec<char> = readings
            .first()
            .map_or(String::new(), |r| r.clone())
            .chars()
            .collect();
        if let Some(d) = edit_distance(&qp, &np, 2).filter(|&d| d > 0) {
            let len = qp.len().max(np.len());
            return Some(found(
                PINYIN_TYPO_BASE + TYPO_SPAN * (1.0 - d as f64 / len as f64),
                Method::Pinyin,
                d,
            ));
        }
    }
    None
}

/// How many characters of `chars` the first `letters` letters of its
/// pinyin leave out.
fn not_typed(chars: &[char], letters: usize) -> usize {
    let mut spelled = 0;
    let mut covered = 0;
    for c in chars {
        if spelled >= letters {
            break;
        }
        spelled += pinyin_key(&c.to_string()).len().max(1);
        covered += 1;
    }
    chars.len() - covered
}

fn regions(q: &[&str], name: &[&str]) -> f64 {
    match (q.is_empty(), name.is_empty()) {
        (true, true) => 1.0,
        (true, false) => REGION_NAME_ONLY,
        (false, true) => REGION_QUERY_ONLY,
        (false, false) if q.iter().any(|r| name.contains(r)) => {
            if q.len() == name.len() {
                1.0
            } else {
                REGION_SHARED
            }
        }
        (false, false)
            if q.iter()
                .any(|r| name.iter().any(|n| r.starts_with(n) || n.starts_with(r))) =>
        {
            REGION_COUNTY
        }
        (false, false) => REGION_OTHER,
    }
}

fn form(q: Option<Form>, name: Option<Form>) -> f64 {
    match (q, name) {
        (Some(a), Some(b)) => a.likeness(b),
        (None, None) => 1.0,
        _ => FORM_ONE_SIDE,
    }
}

fn branch(q: Option<&str>, name: Option<&str>) -> f64 {
    match (q, name) {
        (a, b) if a == b => 1.0,
        (None, Some(_)) => BRANCH_NAME_ONLY,
        (Some(_), None) => BRANCH_QUERY_ONLY,
        _ => BRANCH_OTHER,
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{normalize, parse};
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn edit_distance_counts_chinese_characters_and_swaps() {
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("华远科技"), 2),
            Some(0)
        );
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("华近科技"), 2),
            Some(1)
        );
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("远华科技"), 2),
            Some(1)
        );
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("华远大科技"), 2),
            Some(1)
        );
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("华科技"), 2),
            Some(1)
        );
        assert_eq!(
            edit_distance(&chars("华远科技"), &chars("中远物流"), 2),
            None
        );
        assert_eq!(edit_distance(&chars("ab"), &chars("abcde"), 2), None);
    }

    /// Core score times factors, as the search combines them.
    fn s(query: &str, name: &str) -> (f64, Method) {
        let q = QueryParts::new(parse(&normalize(query)));
        let name = parse(&normalize(name));
        let Some(core) = core_score(&q, &name.core) else {
            return (0.0, Method::Fuzzy);
        };
        let s = core.score * factors(&q, &name);
        (s, core.method.at(s))
    }

    #[test]
    fn the_same_company_typed_otherwise_scores_at_least_0_8() {
        let name = "南昌华远科技有限公司";
        assert_eq!(
            s("南昌华远科技有限责任公司", name),
            (1.0, Method::Normalized)
        );
        for q in [
            "华远科技有限公司",
            "南昌华远科技",
            "华远科技(南昌)有限公司",
            "江西南昌华远科技有限公司",
        ] {
            let (score, method) = s(q, name);
            assert!(score >= 0.8, "{q}: {score}");
            assert!(
                matches!(method, Method::Variant | Method::Normalized),
                "{q}"
            );
        }
    }

    #[test]
    fn a_close_but_other_name_stays_below_0_8() {
        let name = "南昌华远科技有限公司";
        for q in [
            "南昌华近科技有限公司",
            "南昌华维科技有限公司",
            "九江华远科技有限公司",
        ] {
            let (score, _) = s(q, name);
            assert!(score > 0.4 && score < 0.8, "{q}: {score}");
        }
        assert_eq!(s("南昌华园科技有限公司", name).1, Method::Pinyin);
        // Typed in part, in characters or in pinyin.
        let long = "长沙凯隆房地产开发有限责任公司";
        let (score, method) = s("凯隆房", long);
        assert!(method == Method::Prefix && score < 0.8, "{score}");
        let (score, method) = s("kailong fangdichan", long);
        assert!(method == Method::Prefix && score < 0.8, "{score}");
        // Closer still ranks higher.
        assert!(
            s("南昌华近科技有限公司", name).0 > s("南昌华近技有限公司", "南昌华远科技有限公司").0
        );
    }
}
