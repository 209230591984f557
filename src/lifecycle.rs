//! The lifecycle of a list entry (SPEC §1): objection, its outcome, credit
//! repair and revocation, as rules over an entry's state.
//!
//! ```text
//!            objection              outcome: upheld / corrected
//!   active ─────────────> disputed ─────────────────────────────> active
//!     │  │                    │ outcome: revoked
//!     │  │ repair             └──────────────────> revoked
//!     │  └──────> repaired ── revoke ──> revoked
//!     └──── revoke ──────────────────> revoked
//! ```
//!
//! * An **objection** (异议) marks an active entry `disputed`: its measures
//!   are suspended while it is verified (信息核实期间暂不执行), within
//!   [`OBJECTION_DAYS`] days of its filing. Objecting twice is refused: while
//!   one is pending, and after one was decided as *upheld* (a decided
//!   objection cannot suspend the measures again). After a *correction* the
//!   entry says something new, so it may be objected to again.
//! * The **outcome** decides a pending objection: *upheld* (active again),
//!   *corrected* (the published fields replaced, active again) or *revoked*.
//! * **Repair** (信用修复) lifts a black entry's measures; the entry and its
//!   repair note are kept. Only an active black entry is repaired.
//! * **Revocation** ends an active or repaired entry for good. An entry under
//!   objection is revoked through the objection's outcome, so that the
//!   objection is closed by it.
//!
//! The rules are pure: [`apply`] takes the entry as stored and returns the
//! entry after, or the [`Conflict`] that forbids the transition. The store
//! applies them under its writer lock.

use crate::date::Date;
use crate::model::{
    ChangeKind, Entry, EntryStatus, ListKind, Note, OBJECTION_DAYS, Objection, Outcome, OutcomeKind,
};

/// A lifecycle transition asked of an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The subject objects to the entry.
    Object {
        /// The day the objection was received.
        on: Date,
        /// What is objected to.
        reason: String,
    },
    /// The objection is decided.
    Decide {
        /// The day of the decision.
        on: Date,
        /// Upheld, corrected or revoked.
        outcome: OutcomeKind,
        /// The department's note.
        note: String,
        /// For `corrected`: the entry as it should have been published (same
        /// entry id; status and lifecycle are the lifecycle's).
        correction: Option<Box<Entry>>,
    },
    /// The subject's credit is repaired.
    Repair {
        /// The day of the repair.
        on: Date,
        /// The repair note (修复说明).
        note: String,
    },
    /// The department revokes the entry.
    Revoke {
        /// The day of the revocation.
        on: Date,
        /// Why.
        reason: String,
    },
}

/// Why a transition cannot happen in the entry's present state (HTTP 409).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Conflict(pub String);

fn conflict(message: String) -> Conflict {
    Conflict(message)
}

/// Why an entry in `status` cannot take this transition, in words.
fn refused_because(entry: &Entry) -> String {
    let id = &entry.entry_id;
    let l = &entry.lifecycle;
    match entry.status {
        EntryStatus::Active => format!("entry {id} is active"),
        EntryStatus::Disputed => match &l.objection {
            Some(o) => format!(
                "entry {id} is under objection (filed on {}, to be decided by {})",
                o.filed_on, o.deadline
            ),
            None => format!("entry {id} is under objection"),
        },
        EntryStatus::Repaired => match &l.repair {
            Some(r) => format!("entry {id} was repaired on {}", r.on),
            None => format!("entry {id} is repaired"),
        },
        EntryStatus::Revoked => match &l.revocation {
            Some(r) => format!("entry {id} was revoked on {}", r.on),
            None => format!("entry {id} is revoked"),
        },
    }
}

/// The entry after `transition`, the change it logs and the note logged with
/// it; or why it may not happen.
pub fn apply(
    entry: &Entry,
    transition: &Transition,
) -> Result<(Entry, ChangeKind, String), Conflict> {
    let mut next = entry.clone();
    let id = &entry.entry_id;
    match transition {
        Transition::Object { on, reason } => {
            if let (EntryStatus::Disputed, Some(o)) = (entry.status, &entry.lifecycle.objection) {
                return Err(conflict(format!(
                    "entry {id} is already under objection (filed on {}, to be decided by {}): an entry is objected to once at a time",
                    o.filed_on, o.deadline
                )));
            }
            if entry.status != EntryStatus::Active {
                return Err(conflict(format!(
                    "{}: only an active entry can be objected to",
                    refused_because(entry)
                )));
            }
            if let Some(Objection {
                outcome:
                    Some(Outcome {
                        kind: OutcomeKind::Upheld,
                        on: decided,
                        ..
                    }),
                ..
            }) = &entry.lifecycle.objection
            {
                return Err(conflict(format!(
                    "an objection to entry {id} was already decided (upheld on {decided}); a decided objection does not suspend the measures again"
                )));
            }
            if *on < entry.decided_at {
                return Err(conflict(format!(
                    "the objection is dated {on}, before entry {id} was decided ({})",
                    entry.decided_at
                )));
            }
            next.status = EntryStatus::Disputed;
            next.lifecycle.objection = Some(Objection {
                filed_on: *on,
                deadline: Date::from_days(on.days() + OBJECTION_DAYS),
                reason: reason.clone(),
                outcome: None,
            });
            Ok((next, ChangeKind::ObjectionFiled, reason.clone()))
        }
        Transition::Decide {
            on,
            outcome,
            note,
            correction,
        } => {
            let pending = match (&entry.lifecycle.objection, entry.status) {
                (Some(o), EntryStatus::Disputed) if o.outcome.is_none() => o,
                _ => {
                    return Err(conflict(format!(
                        "{}: there is no objection to decide",
                        refused_because(entry)
                    )));
                }
            };
            if *on < pending.filed_on {
                return Err(conflict(format!(
                    "the outcome is dated {on}, before the objection was filed ({})",
                    pending.filed_on
                )));
            }
            let kind = match (outcome, correction) {
                (OutcomeKind::Upheld, _) => {
                    next.status = EntryStatus::Active;
                    ChangeKind::ObjectionUpheld
                }
                (OutcomeKind::Corrected, Some(fixed)) => {
                    next = Entry {
                        entry_id: entry.entry_id.clone(),
                        status: EntryStatus::Active,
                        lifecycle: entry.lifecycle.clone(),
                        ..(**fixed).clone()
                    };
                    ChangeKind::ObjectionCorrected
                }
                (OutcomeKind::Corrected, None) => {
                    return Err(conflict(format!(
                        "a corrected outcome for entry {id} needs the corrected entry"
                    )));
                }
                (OutcomeKind::Revoked, _) => {
                    next.status = EntryStatus::Revoked;
                    next.lifecycle.revocation = Some(Note {
                        on: *on,
                        note: note.clone(),
                    });
                    ChangeKind::ObjectionRevoked
                }
            };
            if let Some(o) = &mut next.lifecycle.objection {
                o.outcome = Some(Outcome {
                    kind: *outcome,
                    on: *on,
                    note: note.clone(),
                });
            }
            Ok((next, kind, note.clone()))
        }
        Transition::Repair { on, note } => {
            if entry.list != ListKind::Black {
                return Err(conflict(format!(
                    "entry {id} is on the red list: only black-list entries are repaired"
                )));
            }
            if entry.status != EntryStatus::Active {
                let hint = if entry.status == EntryStatus::Disputed {
                    "; decide the objection first"
                } else {
                    ""
                };
                return Err(conflict(format!(
                    "{}: only an active entry can be repaired{hint}",
                    refused_because(entry)
                )));
            }
            next.status = EntryStatus::Repaired;
            next.lifecycle.repair = Some(Note {
                on: *on,
                note: note.clone(),
            });
            Ok((next, ChangeKind::EntryRepaired, note.clone()))
        }
        Transition::Revoke { on, reason } => match entry.status {
            EntryStatus::Active | EntryStatus::Repaired => {
                next.status = EntryStatus::Revoked;
                next.lifecycle.revocation = Some(Note {
                    on: *on,
                    note: reason.clone(),
                });
                Ok((next, ChangeKind::EntryRevoked, reason.clone()))
            }
            EntryStatus::Disputed => Err(conflict(format!(
                "{}: an entry under objection is revoked by the objection's outcome (POST /v1/entries/{id}/outcome with \"outcome\":\"revoked\")",
                refused_because(entry)
            ))),
            EntryStatus::Revoked => Err(conflict(format!(
                "{}: it cannot be revoked again",
                refused_because(entry)
            ))),
        },
    }
}

/// Whether a publishing department may replace an entry in `status` with
/// a new record of its fields: not while it is under objection (the
/// objection's outcome changes it), nor once revoked (publish a new entry).
pub fn check_replace(status: EntryStatus, entry_id: &str) -> Result<(), Conflict> {
    match status {
        EntryStatus::Active | EntryStatus::Repaired => Ok(()),
        EntryStatus::Disputed => Err(conflict(format!(
            "entry {entry_id} is under objection: it changes through the objection's outcome (\"corrected\"), not by publishing it again"
        ))),
        EntryStatus::Revoked => Err(conflict(format!(
            "entry {entry_id} was revoked: a revoked entry is not published again; publish a new entry id"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;
    use crate::model::{EntryRecord, parse_record};

    fn entry(list_red: bool) -> Entry {
        let line = if list_red {
            r#"{"entry_id":"R1","subject_id":"91360100705500005G","list":"red","category":"a_grade_taxpayer","authority":"税务局","basis":"A级","decided_at":"2026-01-01"}"#
        } else {
            r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"法院","basis":"(2026)赣01执1号","decided_at":"2026-01-01"}"#
        };
        parse_record::<EntryRecord>(line)
            .unwrap()
            .validate(&Catalog::bundled(), "2026-11-25".parse().unwrap())
            .unwrap()
    }

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn object(on: &str) -> Transition {
        Transition::Object {
            on: day(on),
            reason: "已履行".into(),
        }
    }

    fn decide(outcome: OutcomeKind) -> Transition {
        Transition::Decide {
            on: day("2026-11-10"),
            outcome,
            note: "核实".into(),
            correction: None,
        }
    }

    fn step(e: &Entry, t: Transition) -> Result<Entry, Conflict> {
        apply(e, &t).map(|(next, _, _)| next)
    }

    #[test]
    fn an_objection_suspends_for_twenty_days_and_is_decided_once() {
        let e = entry(false);
        let disputed = step(&e, object("2026-11-01")).unwrap();
        assert_eq!(disputed.status, EntryStatus::Disputed);
        let o = disputed.lifecycle.objection.as_ref().unwrap();
        assert_eq!(o.deadline, day("2026-11-21"));
        let twice = step(&disputed, object("2026-11-02")).unwrap_err();
        assert!(
            twice
                .0
                .contains("under objection (filed on 2026-11-01, to be decided by 2026-11-21)"),
            "{twice}"
        );
        let upheld = step(&disputed, decide(OutcomeKind::Upheld)).unwrap();
        assert_eq!(upheld.status, EntryStatus::Active);
        let again = step(&upheld, object("2026-11-12")).unwrap_err();
        assert!(
            again.0.contains("already decided (upheld on 2026-11-10)"),
            "{again}"
        );
        assert!(
            step(&upheld, decide(OutcomeKind::Upheld))
                .unwrap_err()
                .0
                .contains("no objection to decide")
        );
    }

    #[test]
    fn outcomes_and_their_conditions() {
        let e = entry(false);
        assert!(
            step(&e, decide(OutcomeKind::Upheld))
                .unwrap_err()
                .0
                .contains("is active: there is no objection")
        );
        let disputed = step(&e, object("2026-11-01")).unwrap();
        let revoked = step(&disputed, decide(OutcomeKind::Revoked)).unwrap();
        assert_eq!(revoked.status, EntryStatus::Revoked);
        assert_eq!(
            revoked.lifecycle.revocation.as_ref().unwrap().on,
            day("2026-11-10")
        );
        assert!(
            step(&disputed, decide(OutcomeKind::Corrected))
                .unwrap_err()
                .0
                .contains("needs the corrected entry")
        );
        let mut fixed = e.clone();
        fixed.basis = "(2026)赣01执2号".into();
        let corrected = step(
            &disputed,
            Transition::Decide {
                on: day("2026-11-10"),
                outcome: OutcomeKind::Corrected,
                note: "案号更正".into(),
                correction: Some(Box::new(fixed)),
            },
        )
        .unwrap();
        assert_eq!(
            (corrected.status, corrected.basis.as_str()),
            (EntryStatus::Active, "(2026)赣01执2号")
        );
        // A corrected entry may be objected to again.
        assert!(step(&corrected, object("2026-11-11")).is_ok());
        let early = step(
            &disputed,
            Transition::Decide {
                on: day("2026-10-01"),
                outcome: OutcomeKind::Upheld,
                note: String::new(),
                correction: None,
            },
        );
        assert!(
            early
                .unwrap_err()
                .0
                .contains("before the objection was filed")
        );
    }

    #[test]
    fn repair_and_revocation() {
        let e = entry(false);
        let repaired = step(
            &e,
            Transition::Repair {
                on: day("2026-11-05"),
                note: "已履行".into(),
            },
        )
        .unwrap();
        assert_eq!(repaired.status, EntryStatus::Repaired);
        assert!(
            step(
                &repaired,
                Transition::Repair {
                    on: day("2026-11-06"),
                    note: String::new()
                }
            )
            .unwrap_err()
            .0
            .contains("was repaired on 2026-11-05")
        );
        let revoke = || Transition::Revoke {
            on: day("2026-11-07"),
            reason: "错误".into(),
        };
        let revoked = step(&repaired, revoke()).unwrap();
        assert_eq!(revoked.status, EntryStatus::Revoked);
        let err = step(
            &revoked,
            Transition::Repair {
                on: day("2026-11-08"),
                note: String::new(),
            },
        )
        .unwrap_err();
        assert!(
            err.0
                .contains("was revoked on 2026-11-07: only an active entry can be repaired"),
            "{err}"
        );
        assert!(
            step(&revoked, revoke())
                .unwrap_err()
                .0
                .contains("cannot be revoked again")
        );
        let disputed = step(&e, object("2026-11-01")).unwrap();
        assert!(
            step(&disputed, revoke())
                .unwrap_err()
                .0
                .contains("revoked by the objection's outcome")
        );
        assert!(
            step(
                &disputed,
                Transition::Repair {
                    on: day("2026-11-08"),
                    note: String::new()
                }
            )
            .unwrap_err()
            .0
            .contains("decide the objection first")
        );
        assert!(
            step(
                &entry(true),
                Transition::Repair {
                    on: day("2026-11-08"),
                    note: String::new()
                }
            )
            .unwrap_err()
            .0
            .contains("only black-list entries are repaired")
        );
        assert!(
            step(&e, object("2025-12-31"))
                .unwrap_err()
                .0
                .contains("before entry E1 was decided")
        );
    }

    #[test]
    fn replacing_is_refused_under_objection_and_after_revocation() {
        assert!(check_replace(EntryStatus::Active, "E1").is_ok());
        assert!(check_replace(EntryStatus::Repaired, "E1").is_ok());
        assert!(
            check_replace(EntryStatus::Disputed, "E1")
                .unwrap_err()
                .0
                .contains("under objection")
        );
        assert!(
            check_replace(EntryStatus::Revoked, "E1")
                .unwrap_err()
                .0
                .contains("publish a new entry id")
        );
    }
}
