//! Exact name matching: the `name_match` of `/v1/check` and of screening
//! compares normalized texts ([`super::normalize::normalize`]). It does not
//! guess: `有限公司` and `有限责任公司` stay different; fuzzy matching is
//! the ranked search ([`super::NameIndex`]).

use super::normalize::normalize;

/// Whether `given` names the subject whose current name and aliases are
/// `names`, after normalization.
pub fn matches<'a>(given: &str, names: impl IntoIterator<Item = &'a str>) -> bool {
    let given = normalize(given);
    !given.is_empty() && names.into_iter().any(|n| normalize(n) == given)
}

#[cfg(test)]
mod tests {
    use super::*;

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
