//! Why a name fits a query, as changes: the unit in which ambiguity is
//! judged (issue #26).
//!
//! A score says *how* a name was typed differently (a region left out
//! costs little, a character changed costs more); it does not say whether
//! another subject is just as plausible. For that, every candidate is
//! explained by the changes that turn its name into the query, counted
//! alike whatever they are:
//!
//! * leaving parts out (the region, the legal form, the branch, or several
//!   at once: a short name) is **one** change;
//! * a region the name does not have, or another one, is one change; so is
//!   another legal form (公司 for 有限公司 is a part left out), or another
//!   branch;
//! * every character inserted, deleted, replaced (by a homophone or not) or
//!   swapped with its neighbour in the trade name and industry is one
//!   change; so is every character of the name not typed (a name typed in
//!   part), and every letter of pinyin typed wrong;
//! * what normalization removes (width, brackets, Traditional characters,
//!   有限责任公司 = 有限公司, pinyin for the characters it spells, a former
//!   name for the current one) is no change.
//!
//! A subject is explained by the fewest changes any of its names needs. A
//! match is **unambiguous** when no other subject is explained by as few;
//! its **margin** is how many more the next one needs.

use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::normalize::Form;
use super::score::{CoreMatch, QueryParts};

/// Names needing more changes than this are not looked for as rivals: a
/// subject further away is not plausibly the one meant.
pub const PLAUSIBLE_CHANGES: u8 = 2;

/// The changes that turn a name into a query.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Changes {
    /// Parts of the name the query leaves out (bits: region, form, branch);
    /// any number of them is one change.
    pub left_out: u8,
    /// The query names a region the name does not have: [`REGION_ADDED`]
    /// when the query keeps the name's own (or it has none),
    /// [`REGION_CHANGED`] otherwise.
    pub region: u8,
    /// The query names another legal form.
    pub form: bool,
    /// The query names another branch.
    pub branch: bool,
    /// Changes in the trade name and industry.
    pub core: u8,
    /// What the core's changes are.
    pub core_kind: CoreChange,
}

/// What a change in the core is.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum CoreChange {
    /// None.
    #[default]
    None,
    /// Characters inserted, deleted, replaced or swapped.
    Character,
    /// Characters replaced by others that sound the same.
    Homophone,
    /// Characters of the name not typed.
    NotTyped,
    /// Letters of the pinyin typed wrong.
    PinyinLetter,
}

const LEFT_OUT_REGION: u8 = 1;
const LEFT_OUT_FORM: u8 = 2;
const LEFT_OUT_BRANCH: u8 = 4;
/// [`Changes::region`]: the name has no region.
pub const REGION_ADDED: u8 = 1;
/// [`Changes::region`]: the name has another region.
pub const REGION_CHANGED: u8 = 2;

impl Changes {
    /// No change at all: the name as typed, or normalized.
    pub const NONE: Changes = Changes {
        left_out: 0,
        region: 0,
        form: false,
        branch: false,
        core: 0,
        core_kind: CoreChange::None,
    };

    /// How many changes, as the module docs count them (saturating).
    pub fn count(&self) -> u8 {
        u8::from(self.left_out != 0)
            .saturating_add(u8::from(self.region != 0))
            .saturating_add(u8::from(self.form))
            .saturating_add(u8::from(self.branch))
            .saturating_add(self.core)
    }

    /// The changes of a core.
    pub fn of_core(core: &CoreMatch) -> Changes {
        Changes {
            core: core.edits,
            core_kind: core.kind,
            ..Changes::NONE
        }
    }

    /// These core changes with the changes of the other parts: the query's
    /// (`q`) against a name's places, legal form and branch (a branch of
    /// unknown text, `Some("")`, counts as another branch).
    pub fn with_parts(
        mut self,
        q: &QueryParts,
        places: &[&str],
        form: Option<Form>,
        branch: Option<&str>,
    ) -> Changes {
        let qp = &q.parts;
        let within = qp.regions.iter().all(|r| places.contains(r));
        if qp.regions.len() < places.len() && within {
            self.left_out |= LEFT_OUT_REGION;
        }
        if !within {
            // The name's places all kept (or none): a region added.
            self.region = if places.iter().all(|p| qp.regions.contains(p)) {
                REGION_ADDED
            } else {
                REGION_CHANGED
            };
        }
        match (qp.form, form) {
            (None, Some(_)) => self.left_out |= LEFT_OUT_FORM,
            (Some(a), Some(b)) if a == b => {}
            // 公司 for 有限公司: the kind left out.
            (Some(Form::Company), Some(Form::Limited | Form::JointStock | Form::Group)) => {
                self.left_out |= LEFT_OUT_FORM
            }
            (Some(_), _) => self.form = true,
            (None, None) => {}
        }
        match (qp.branch.as_deref(), branch) {
            (None, Some(_)) => self.left_out |= LEFT_OUT_BRANCH,
            (Some(a), Some(b)) if a == b && !b.is_empty() => {}
            (Some(_), _) => self.branch = true,
            (None, None) => {}
        }
        self
    }

    /// Each change by name, for answers: `region_left_out`,
    /// `form_left_out`, `branch_left_out` (together one change),
    /// `region_added`, `region_changed`, `form_changed`, `branch_changed`,
    /// and per change in
    /// the core `character`, `homophone`, `not_typed` or `pinyin_letter`.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        let left = [
            (LEFT_OUT_REGION, "region_left_out"),
            (LEFT_OUT_FORM, "form_left_out"),
            (LEFT_OUT_BRANCH, "branch_left_out"),
        ]
        .into_iter()
        .filter(|(bit, _)| self.left_out & bit != 0)
        .map(|(_, n)| n);
        let parts = [
            (self.region == REGION_ADDED, "region_added"),
            (self.region == REGION_CHANGED, "region_changed"),
            (self.form, "form_changed"),
            (self.branch, "branch_changed"),
        ]
        .into_iter()
        .filter(|(on, _)| *on)
        .map(|(_, n)| n);
        let core = match self.core_kind {
            CoreChange::None => "",
            CoreChange::Character => "character",
            CoreChange::Homophone => "homophone",
            CoreChange::NotTyped => "not_typed",
            CoreChange::PinyinLetter => "pinyin_letter",
        };
        left.chain(parts)
            .chain(std::iter::repeat_n(core, usize::from(self.core)))
    }
}

impl Serialize for Changes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for name in self.names() {
            seq.serialize_element(name)?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use super::super::normalize::{normalize, parse};
    use super::super::score::core_score;
    use super::*;

    /// The changes from `name` to `query`, as the search counts them.
    fn changes(query: &str, name: &str) -> Changes {
        let q = QueryParts::new(parse(&normalize(query)));
        let n = parse(&normalize(name));
        let core = core_score(&q, &n.core).expect("alike cores");
        Changes::of_core(&core).with_parts(&q, &n.regions, n.form, n.branch.as_deref())
    }

    fn named(c: Changes) -> Vec<&'static str> {
        c.names().collect()
    }

    #[test]
    fn the_issue_case_has_two_explanations_of_one_change() {
        let query = "深圳市通际明名联化工有限责任公司";
        let dropped = changes(query, "深圳市通际明兴名联化工有限责任公司");
        assert_eq!((dropped.count(), named(dropped)), (1, vec!["character"]));
        let added = changes(query, "通际明名联化工有限责任公司");
        assert_eq!((added.count(), named(added)), (1, vec!["region_added"]));
    }

    #[test]
    fn parts_left_out_are_one_change_however_many() {
        let name = "南昌华远科技有限公司九江分公司";
        assert_eq!(changes("南昌华远科技有限公司九江分公司", name).count(), 0);
        let short = changes("华远科技", name);
        assert_eq!(
            (short.count(), named(short)),
            (
                1,
                vec!["region_left_out", "form_left_out", "branch_left_out"]
            )
        );
        assert_eq!(
            changes("华远科技有限公司", "南昌华远科技有限公司").count(),
            1
        );
        assert_eq!(changes("华远科技公司", "南昌华远科技有限公司").count(), 1);
    }

    #[test]
    fn what_normalization_removes_is_no_change() {
        let name = "南昌市华远科技有限责任公司";
        for q in [
            "南昌華遠科技有限公司",
            "华远科技（南昌）有限公司",
            "nanchang huayuan keji youxian gongsi",
        ] {
            assert_eq!(changes(q, name).count(), 0, "{q}");
        }
    }

    #[test]
    fn other_parts_and_characters_count_one_each() {
        let name = "南昌华远科技有限公司";
        let c = changes("九江华远科技有限公司", name);
        assert_eq!((c.count(), named(c)), (1, vec!["region_changed"]));
        let c = changes("南昌华远科技股份有限公司", name);
        assert_eq!((c.count(), named(c)), (1, vec!["form_changed"]));
        let c = changes("南昌华园科技有限公司", name);
        assert_eq!((c.count(), named(c)), (1, vec!["homophone"]));
        let c = changes("南昌远华科技有限公司", name);
        assert_eq!((c.count(), named(c)), (1, vec!["character"]));
        let c = changes("华近科技", name);
        assert_eq!(
            (c.count(), named(c)),
            (2, vec!["region_left_out", "form_left_out", "character"])
        );
        let c = changes("江西南昌华远科技有限公司", name);
        assert_eq!((c.count(), named(c)), (1, vec!["region_added"]));
    }
}
