//! How many changes turn a registered name into a query, found with the
//! generator's own word lists: the edit budget by which a variant set marks
//! its queries ambiguous (issue #26).
//!
//! The model is the one the README gives for creditgate's screening rule,
//! computed here independently (the places, forms and branches are located
//! with the generator's lists, not with creditgate's parser):
//!
//! * leaving parts out (the region, the legal form, the branch, or several
//!   of them: a short name) is **one** change;
//! * a region the name does not have, or another one, is one change; so is
//!   another legal form or branch;
//! * every character inserted, deleted, replaced (a homophone included) or
//!   swapped with its neighbour in the trade name and industry is one change;
//! * width, brackets, Traditional characters and 有限公司 = 有限责任公司 are
//!   no change;
//! * a query typed in pinyin is compared letter by letter with the name's
//!   pinyin: every letter changed is one change.

use creditgate::search::normalize::{is_latin, normalize, pinyin_key};

use crate::vocab;

/// Legal forms the generator writes, normalized, longest first, with the
/// form they count as.
const FORMS: [(&str, &str); 6] = [
    ("合伙企业(有限合伙)", "合伙企业(有限合伙)"),
    ("集团有限公司", "集团有限公司"),
    ("股份有限公司", "股份有限公司"),
    ("有限责任公司", "有限公司"),
    ("有限公司", "有限公司"),
    ("专业合作社", "专业合作社"),
];

/// A name's parts, by the generator's lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parts {
    /// Places by their division codes (南昌 and 南昌市 are one place, 南昌县
    /// another), in order.
    pub places: Vec<&'static str>,
    /// Trade name and industry (what remains).
    pub core: String,
    /// The legal form, as it counts (有限责任公司 → 有限公司).
    pub form: Option<&'static str>,
    /// A branch's own part (九江分公司).
    pub branch: Option<String>,
}

impl Parts {
    /// A key equal for two names exactly when neither needs a change to
    /// become the other.
    pub fn key(&self) -> String {
        let mut places = self.places.clone();
        places.sort_unstable();
        format!(
            "{}|{}|{}|{}",
            places.join(","),
            self.core,
            self.form.unwrap_or(""),
            self.branch.as_deref().unwrap_or("")
        )
    }
}

fn place_at_start(text: &str) -> Option<(&'static str, usize)> {
    vocab::REGIONS
        .iter()
        .flat_map(|r| [(r.name, r.division), (r.short, r.division)])
        .filter(|(written, _)| text.starts_with(written) && text.len() > written.len())
        // The longest, and of those the first (南昌 is 南昌市, not 南昌县).
        .min_by_key(|(written, _)| std::cmp::Reverse(written.len()))
        .map(|(written, division)| (division, written.len()))
}

fn short_place(text: &str) -> Option<&'static str> {
    vocab::REGIONS
        .iter()
        .find(|r| r.name == text || r.short == text)
        .map(|r| r.division)
}

/// Takes a name (as typed or registered) apart.
pub fn parts(name: &str) -> Parts {
    let mut text = normalize(name);
    let mut parts = Parts::default();
    // A branch: 有限公司九江分公司.
    if let Some(body) = text.strip_suffix("分公司") {
        let end = FORMS
            .iter()
            .filter_map(|(f, _)| body.rfind(f).map(|i| i + f.len()))
            .max();
        if let Some(end) = end.filter(|&e| e < body.len()) {
            parts.branch = Some(text[end..].to_string());
            text.truncate(end);
        }
    }
    if let Some((written, counted)) = FORMS.iter().find(|(f, _)| text.ends_with(f)) {
        parts.form = Some(counted);
        text.truncate(text.len() - written.len());
    }
    // A place in brackets: 华远科技(南昌).
    if let (Some(open), Some(close)) = (text.rfind('('), text.rfind(')'))
        && open < close
        && let Some(short) = short_place(&text[open + 1..close])
    {
        parts.places.push(short);
        text.replace_range(open..=close, "");
    }
    // Up to two places in front: 江西南昌华远科技.
    let mut front = Vec::new();
    for _ in 0..2 {
        match place_at_start(&text) {
            Some((short, len)) => {
                front.push(short);
                // The lists have 深圳, not 深圳市: the suffix goes with it.
                let len = len
                    + ["省", "市"]
                        .iter()
                        .find(|s| text[len..].starts_with(*s))
                        .map_or(0, |s| s.len());
                text.replace_range(..len, "");
            }
            None => break,
        }
    }
    parts.places.splice(0..0, front);
    parts.core = text;
    parts
}

/// Character edit distance, a swap of neighbours counting one.
pub fn distance(a: &[char], b: &[char]) -> usize {
    let mut prev2 = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    prev[b.len()]
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// How many changes turn `name` into `query` (see the module docs).
pub fn changes(query: &str, name: &str) -> usize {
    if is_latin(&normalize(query)) {
        let q = chars(&pinyin_key(query));
        // 有限公司 and 有限责任公司 are one form: either spelling.
        let spellings = [name.to_string(), name.replace("有限责任公司", "有限公司")];
        return spellings
            .iter()
            .map(|n| distance(&q, &chars(&pinyin_key(n))))
            .min()
            .unwrap_or(usize::MAX);
    }
    let (q, n) = (parts(query), parts(name));
    let mut changes = 0;
    let subset = |a: &[&str], b: &[&str]| a.iter().all(|p| b.contains(p));
    let left_out =
        (!n.places.is_empty() && q.places.len() < n.places.len() && subset(&q.places, &n.places))
            || (n.form.is_some() && q.form.is_none())
            || (n.branch.is_some() && q.branch.is_none());
    changes += usize::from(left_out);
    changes += usize::from(!q.places.is_empty() && !subset(&q.places, &n.places));
    changes += usize::from(q.form.is_some() && q.form != n.form);
    changes += usize::from(q.branch.is_some() && q.branch != n.branch);
    changes + distance(&chars(&q.core), &chars(&n.core))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_follow_the_generators_lists() {
        let p = parts("南昌市华远科技有限责任公司");
        assert_eq!(p.places, ["360100"]);
        assert_eq!(p.core, "华远科技");
        assert_eq!(p.form, Some("有限公司"));
        let p = parts("华远科技（南昌）有限公司");
        assert_eq!((p.places, p.core.as_str()), (vec!["360100"], "华远科技"));
        let p = parts("南昌华远科技有限公司九江分公司");
        assert_eq!(p.branch.as_deref(), Some("九江分公司"));
        assert_eq!(p.core, "华远科技");
        let p = parts("江西南昌华远科技");
        assert_eq!((p.places, p.form), (vec!["360000", "360100"], None));
        assert_ne!(
            parts("南昌县华远科技").places,
            parts("南昌市华远科技").places
        );
        assert_eq!(parts("南昌华远科技").places, parts("南昌市华远科技").places);
        assert_eq!(
            parts("红谷滩华远科技").places,
            parts("红谷滩区华远科技").places
        );
    }

    #[test]
    fn changes_count_the_model() {
        let name = "深圳市通际明兴名联化工有限责任公司";
        // One character dropped.
        assert_eq!(changes("深圳市通际明名联化工有限责任公司", name), 1);
        // The region added to a name without one.
        assert_eq!(
            changes(
                "深圳市通际明名联化工有限责任公司",
                "通际明名联化工有限责任公司"
            ),
            1
        );
        // Typed otherwise: no change.
        assert_eq!(changes("深圳通際明興名聯化工有限公司", name), 0);
        assert_eq!(changes("通际明兴名联化工（深圳）有限公司", name), 0);
        // Left out: region, form, or both (a short name) is one change.
        assert_eq!(changes("通际明兴名联化工有限公司", name), 1);
        assert_eq!(changes("深圳市通际明兴名联化工", name), 1);
        assert_eq!(changes("通际明兴名联化工", name), 1);
        // Another city, another form.
        assert_eq!(changes("南昌通际明兴名联化工有限公司", name), 1);
        assert_eq!(changes("深圳通际明兴名联化工股份有限公司", name), 1);
        // A province added in front.
        assert_eq!(
            changes("江西南昌华远科技有限公司", "南昌华远科技有限公司"),
            1
        );
        // Pinyin letters.
        assert_eq!(
            changes(
                "nan chang hua yuan ke ji you xian gong si",
                "南昌华远科技有限公司"
            ),
            0
        );
        assert_eq!(
            changes(
                "nan chang hua yuan ke ji you xian gong si",
                "南昌华园科技有限责任公司"
            ),
            0
        );
    }
}
