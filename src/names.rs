//! Folding names for comparison: the same name typed on different keyboards
//! compares equal.
//!
//! [`fold`]: full-width ASCII becomes half-width, every bracket variant
//! becomes `(` or `)`, whitespace (including the ideographic space) is
//! dropped and Latin letters are lower-cased. The search's
//! [`normalize`](crate::search::normalize::normalize) builds on it (and also
//! reads Traditional characters as Simplified and drops punctuation).
//!
//! [`matches`], the `name_match` of `/v1/check` and of screening, compares
//! normalized texts. It does not guess: `有限公司` and `有限责任公司` stay
//! different; fuzzy matching is a separate, ranked search.

/// The folded form of `name`.
pub fn fold(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            // Full-width forms of ASCII `!`..`~`.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        };
        match c {
            c if c.is_whitespace() => {}
            '(' | '[' | '{' | '【' | '〔' | '〖' | '［' => out.push('('),
            ')' | ']' | '}' | '】' | '〕' | '〗' | '］' => out.push(')'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether `given` names the subject whose current name and aliases are
/// `names`, after normalization.
pub fn matches<'a>(given: &str, names: impl IntoIterator<Item = &'a str>) -> bool {
    use crate::search::normalize::normalize;
    let given = normalize(given);
    !given.is_empty() && names.into_iter().any(|n| normalize(n) == given)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn matches_current_name_or_alias_only() {
        let names = ["南昌市洪都机械有限公司", "南昌洪都机械厂"];
        assert!(matches("南昌市洪都机械有限公司", names));
        assert!(matches(" 南昌洪都机械厂 ", names));
        assert!(!matches("南昌市洪都机械有限责任公司", names));
        // Traditional characters and punctuation are how it was typed.
        assert!(matches("南昌市洪都機械有限公司", names));
        assert!(matches("南昌·洪都机械厂", names));
        assert!(!matches("", names));
        assert!(!matches("  ", names));
    }
}
