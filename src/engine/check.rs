//! The check path: from the in-memory probe to the answer, for a clean
//! subject without touching the store, for a flagged one from its entries
//! and those of the organizations where it holds a role.

use super::Engine;
use super::answer::{self, BenefitOut, CheckAnswer, ReasonOut, ViaOut, write_answer};
use crate::catalog::ActionId;
use crate::date::Date;
use crate::decide::{BenefitSource, Decision, OrgRole, Reason, SubjectView, Verdict, decide};
use crate::id::{IdReadings, SubjectKey};
use crate::index::prints;
use crate::model::{Entry, Role};
use crate::store::{Reach, StoreError};

/// How many clean-answer tails each thread keeps (an action, known or not,
/// and a date each); when full, the list starts over.
pub(super) const CLEAN_TAILS_KEPT: usize = 64;

/// Engine serial, action, known, date.
pub(super) type CleanTailKey = (u64, ActionId, bool, Date);

/// A clean answer's verdict and tail, `None` when the general path must
/// write it.
pub(super) type CleanTail = Option<(Verdict, Box<[u8]>)>;

thread_local! {
    /// Per thread, recent clean-answer tails ([`Engine::clean_tail`]): a
    /// clean subject's decision depends only on the action, whether it is
    /// known and the date, so it is decided once per thread and day rather
    /// than once per request.
    static CLEAN_TAILS: std::cell::RefCell<Vec<(CleanTailKey, CleanTail)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// What a check written as JSON answered, for the caller's records (the
/// audit): the decision, whether the subject is known, and whether a name
/// given with it matched.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Answered {
    /// The decision.
    pub verdict: Verdict,
    /// The platform has a record of the subject.
    pub known: bool,
    /// A name was given: whether it matched.
    pub name_match: Option<bool>,
}

impl Engine {
    /// The subject's flags and whether it is known, from the current
    /// snapshot ([`Snapshot::lookup`]). No I/O.
    pub(super) fn lookup(&self, key: SubjectKey) -> (bool, bool) {
        let (flags, known) = self.live.load().lookup(key);
        (flags.is_some(), known)
    }

    /// Hints that `key` is about to be checked (`name`: with a name): see
    /// [`crate::index::known::KnownSet::prefetch`].
    #[inline]
    pub fn prefetch(&self, key: SubjectKey, name: bool) {
        self.live.load().prefetch(key, name);
    }

    /// The reading of `readings` the platform knows (the first when both or
    /// neither are known).
    pub fn pick_reading(&self, readings: IdReadings) -> SubjectKey {
        if let Some(second) = readings.second
            && !self.lookup(readings.first).1
            && self.lookup(second).1
        {
            return second;
        }
        readings.first
    }

    /// Decides for the reading of `readings` the platform knows.
    pub fn check_readings(
        &self,
        readings: IdReadings,
        action: ActionId,
        at: Date,
    ) -> Result<CheckAnswer, StoreError> {
        self.check(self.pick_reading(readings), action, at)
    }

    /// Whether `name` is the subject's current name or an alias
    /// ([`crate::search::names::matches`]), from the prints of its names the snapshot
    /// holds ([`crate::index::prints`]): no I/O. A subject without a
    /// record matches no name.
    pub fn name_matches(&self, key: SubjectKey, name: &str) -> bool {
        self.live.load().has_name(key, prints::of_name(name))
    }

    /// Writes the check answer as JSON into `out`, the same document as
    /// serialising [`Engine::check`], with `name_match` from
    /// [`Engine::name_matches`] when a `name` is given; the store is read
    /// within `reach` (at [`Reach::Memory`], `out` is left as it was when
    /// that is not enough).
    pub fn check_json(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        name: Option<&str>,
        reach: Reach,
        out: &mut Vec<u8>,
    ) -> Result<Answered, StoreError> {
        let name_match = name.map(|n| self.name_matches(key, n));
        self.check_json_with(key, action, at, name_match, reach, out)
    }

    /// [`Engine::check_json`] with `name_match` already known. A clean
    /// subject, the case of nearly every request, is written directly,
    /// without building a [`CheckAnswer`], and reads nothing.
    pub fn check_json_with(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        name_match: Option<bool>,
        reach: Reach,
        out: &mut Vec<u8>,
    ) -> Result<Answered, StoreError> {
        let (flagged, known) = self.lookup(key);
        let answered = |verdict| Answered {
            verdict,
            known,
            name_match,
        };
        if flagged {
            let mut answer = self.check_within(key, action, at, reach)?;
            answer.name_match = name_match;
            write_answer(out, &answer);
            return Ok(answered(answer.decision));
        }
        let tail_key = (self.serial, action, known, at);
        let written = CLEAN_TAILS.with_borrow_mut(|tails| {
            let tail = match tails.iter().position(|(k, _)| *k == tail_key) {
                Some(i) => &tails[i].1,
                None => {
                    if tails.len() == CLEAN_TAILS_KEPT {
                        tails.clear();
                    }
                    tails.push((tail_key, self.clean_tail(action, known, at)));
                    &tails[tails.len() - 1].1
                }
            };
            let Some((verdict, tail)) = tail else {
                return None;
            };
            let action = &self.clean_json.actions[usize::from(action.0)];
            answer::write_head(out, Some(&key.to_ascii()), known, action, at);
            answer::write_tail(out, tail, name_match);
            Some(*verdict)
        });
        if let Some(verdict) = written {
            return Ok(answered(verdict));
        }
        // Not reachable without entries today; kept general all the same.
        let d = self.clean_decision(known, action, at);
        let mut answer = self.answer(key, known, action, at, &d);
        answer.name_match = name_match;
        write_answer(out, &answer);
        Ok(answered(answer.decision))
    }

    /// The part of a clean subject's answer after its date, from
    /// `"decision"` to the end; `None` when the decision has benefits other
    /// than the clean record's, which only the general path writes.
    pub(super) fn clean_tail(&self, action: ActionId, known: bool, at: Date) -> CleanTail {
        let d = self.clean_decision(known, action, at);
        if d.benefits
            .iter()
            .any(|b| !matches!(b.source, BenefitSource::CleanRecord { .. }))
        {
            return None;
        }
        let benefits = d
            .benefits
            .iter()
            .map(|b| &*self.clean_json.benefits[usize::from(b.measure.0)]);
        Some((d.verdict, answer::clean_tail(d.verdict.as_str(), benefits)))
    }

    /// Writes the check answer of a row that matched no subject: no id,
    /// not known, `decision` as screening decided it, nothing else
    /// ([`crate::screen`]).
    pub fn write_unmatched(&self, action: ActionId, at: Date, decision: &str, out: &mut Vec<u8>) {
        let action = &self.clean_json.actions[usize::from(action.0)];
        answer::write_head(out, None, false, action, at);
        answer::write_tail(out, &answer::clean_tail(decision, std::iter::empty()), None);
    }

    /// Only the decision of [`Engine::check`]: a clean subject is decided
    /// without building an answer or reading the store.
    pub fn verdict(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
    ) -> Result<Verdict, StoreError> {
        let (flagged, known) = self.lookup(key);
        if flagged {
            return Ok(self.check(key, action, at)?.decision);
        }
        Ok(self.clean_decision(known, action, at).verdict)
    }

    /// The decision for a subject with no entry of its own or through an
    /// organization.
    pub(super) fn clean_decision(
        &self,
        known: bool,
        action: ActionId,
        at: Date,
    ) -> Decision<'static> {
        let view = SubjectView {
            known,
            entries: &[],
            roles: &[],
        };
        decide(&self.catalog, &view, action, at)
    }

    /// Decides whether `key` may do `action` on `at`.
    pub fn check(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
    ) -> Result<CheckAnswer, StoreError> {
        self.check_within(key, action, at, Reach::Disk)
    }

    /// [`Engine::check`], the store read within `reach`.
    pub fn check_within(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        reach: Reach,
    ) -> Result<CheckAnswer, StoreError> {
        let snapshot = self.live.load();
        let (flags, known) = snapshot.lookup(key);
        // The entry ids and roles come from the index: point reads, no scans.
        let entries_of = |k: SubjectKey| {
            self.store
                .entries_by_id(snapshot.entry_ids(k).iter(), &self.catalog, reach)
        };
        let own = match flags {
            Some(f) if f.own() => entries_of(key)?,
            _ => Vec::new(),
        };
        let links: &[(SubjectKey, Role)] = match flags {
            Some(f) if f.via() => snapshot.org_roles(key),
            _ => &[],
        };
        // A person may hold several roles in one organization: read each
        // listed organization's entries once.
        let mut org_entries: Vec<(SubjectKey, Vec<Entry>)> = Vec::new();
        for (org, _) in links {
            if !org_entries.iter().any(|(o, _)| o == org) {
                org_entries.push((*org, entries_of(*org)?));
            }
        }
        let roles: Vec<OrgRole<'_>> = links
            .iter()
            .filter_map(|(org, role)| {
                let (_, entries) = org_entries.iter().find(|(o, _)| o == org)?;
                Some(OrgRole {
                    org: *org,
                    role: *role,
                    entries,
                })
            })
            .collect();
        let view = SubjectView {
            known,
            entries: &own,
            roles: &roles,
        };
        let decision = decide(&self.catalog, &view, action, at);
        Ok(self.answer(key, known, action, at, &decision))
    }

    pub(super) fn reason(&self, r: &Reason<'_>) -> ReasonOut {
        let measure = self.catalog.measure(r.measure);
        ReasonOut {
            entry_id: r.entry.entry_id.clone(),
            list: r.entry.list.as_str(),
            category: self.catalog.category(r.entry.category).code.clone(),
            measure: measure.code.clone(),
            measure_name: measure.name.clone(),
            mandatory: r.mandatory,
            authority: r.entry.authority.clone(),
            basis: r.entry.basis.clone(),
            expires_at: r.entry.expires_at,
            via: r.via.map(|v| ViaOut {
                org_id: v.org.to_string(),
                role: v.role.as_str(),
            }),
        }
    }

    pub(super) fn answer(
        &self,
        key: SubjectKey,
        known: bool,
        action: ActionId,
        at: Date,
        d: &Decision<'_>,
    ) -> CheckAnswer {
        CheckAnswer {
            id: key.to_string(),
            known,
            action: self.catalog.action(action).code.clone(),
            at,
            decision: d.verdict,
            reasons: d.reasons.iter().map(|r| self.reason(r)).collect(),
            suspended: d.suspended.iter().map(|r| self.reason(r)).collect(),
            benefits: d
                .benefits
                .iter()
                .map(|b| {
                    let m = self.catalog.measure(b.measure);
                    let (source, entry_id, category) = match b.source {
                        BenefitSource::Entry(e) => (
                            "red_list",
                            Some(e.entry_id.clone()),
                            Some(self.catalog.category(e.category).code.clone()),
                        ),
                        BenefitSource::CleanRecord { .. } => ("clean_record", None, None),
                    };
                    BenefitOut {
                        measure: m.code.clone(),
                        name: m.name.clone(),
                        source,
                        entry_id,
                        category,
                    }
                })
                .collect(),
            name_match: None,
        }
    }
}
