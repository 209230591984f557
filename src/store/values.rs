//! The values the store keeps and their versions: a subject's record, an
//! entry with its lifecycle notes, a logged change. Each is encoded with a
//! version byte ([`super::codec`]); a value of the previous version is
//! read through its `V1` form and upgraded in memory.

use bincode::{Decode, Encode};

use super::StoreError;
use super::codec::Value;
use super::schema::{KEY_LEN, key_from};
use crate::catalog::Catalog;
use crate::date::Date;
use crate::id::SubjectKey;
use crate::model::{
    ChangeKind, Entry, EntryStatus, Lifecycle, ListKind, Note, Objection, Outcome, OutcomeKind,
    PersonLink, Role, Subject,
};

/// A subject as stored.
#[derive(Encode, Decode, PartialEq, Eq, Debug)]
pub(super) struct StoredSubject {
    pub(super) name: String,
    pub(super) aliases: Vec<String>,
    pub(super) persons: Vec<([u8; KEY_LEN], u8)>,
}

impl Value for StoredSubject {
    type V1 = StoredSubject;
    fn from_v1(old: StoredSubject) -> StoredSubject {
        old
    }
}

/// An entry as stored (value version 2): the published fields and the
/// lifecycle's notes.
#[derive(Encode, Decode, PartialEq, Eq, Debug, Clone)]
pub struct StoredEntry {
    pub(super) subject: [u8; KEY_LEN],
    pub(super) list: u8,
    pub(super) category: String,
    pub(super) authority: String,
    pub(super) basis: String,
    pub(super) decided_at: i32,
    pub(super) effective_from: i32,
    pub(super) expires_at: Option<i32>,
    pub(super) status: u8,
    pub(super) objection: Option<StoredObjection>,
    /// On, note.
    pub(super) repair: Option<(i32, String)>,
    /// On, reason.
    pub(super) revocation: Option<(i32, String)>,
}

/// An objection as stored: filed on, deadline, reason, and the outcome
/// (kind code, on, note).
pub(super) type StoredObjection = (i32, i32, String, Option<(u8, i32, String)>);

/// An entry as version 1 stored it.
#[derive(Decode)]
pub struct StoredEntryV1 {
    pub(super) subject: [u8; KEY_LEN],
    pub(super) list: u8,
    pub(super) category: String,
    pub(super) authority: String,
    pub(super) basis: String,
    pub(super) decided_at: i32,
    pub(super) effective_from: i32,
    pub(super) expires_at: Option<i32>,
    pub(super) status: u8,
}

impl Value for StoredEntry {
    type V1 = StoredEntryV1;
    fn from_v1(o: StoredEntryV1) -> StoredEntry {
        StoredEntry {
            subject: o.subject,
            list: o.list,
            category: o.category,
            authority: o.authority,
            basis: o.basis,
            decided_at: o.decided_at,
            effective_from: o.effective_from,
            expires_at: o.expires_at,
            status: o.status,
            objection: None,
            repair: None,
            revocation: None,
        }
    }
}

/// One logged change.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Change {
    /// Position in the change log.
    pub seq: u64,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub kind: ChangeKind,
    /// The subject concerned.
    pub subject: [u8; KEY_LEN],
    /// The entry concerned, if any; for a disclosure's change
    /// ([`ChangeKind::is_disclosure`]), the disclosure.
    pub entry_id: Option<String>,
    /// The entry's status after the change, if an entry.
    pub status: Option<u8>,
    /// The entry as it stood after the change (entry changes of value
    /// version 2; `None` for older ones and for subject changes).
    pub entry: Option<StoredEntry>,
    /// The reason or note given with a lifecycle transition.
    pub note: Option<String>,
}

/// A change as version 1 stored it.
#[derive(Decode)]
pub struct ChangeV1 {
    pub(super) seq: u64,
    pub(super) at_ms: u64,
    pub(super) kind: ChangeKind,
    pub(super) subject: [u8; KEY_LEN],
    pub(super) entry_id: Option<String>,
    pub(super) status: Option<u8>,
}

impl Value for Change {
    type V1 = ChangeV1;
    fn from_v1(o: ChangeV1) -> Change {
        Change {
            seq: o.seq,
            at_ms: o.at_ms,
            kind: o.kind,
            subject: o.subject,
            entry_id: o.entry_id,
            status: o.status,
            entry: None,
            note: None,
        }
    }
}

impl Change {
    /// The change `kind` of the entry or disclosure `id` of `subject`,
    /// without the entry's state (its sequence is set when it is logged).
    pub(super) fn of_record(
        at_ms: u64,
        kind: ChangeKind,
        id: &str,
        subject: [u8; KEY_LEN],
        note: Option<String>,
    ) -> Change {
        Change {
            seq: 0,
            at_ms,
            kind,
            subject,
            entry_id: Some(id.to_string()),
            status: None,
            entry: None,
            note,
        }
    }

    /// The change `kind` of entry `entry_id`, logged with the entry as it
    /// stands after it (its sequence is set when it is logged).
    pub(super) fn of_entry(
        at_ms: u64,
        kind: ChangeKind,
        entry_id: &str,
        entry: StoredEntry,
        note: Option<String>,
    ) -> Change {
        let subject = entry.subject;
        Change {
            status: Some(entry.status),
            entry: Some(entry),
            ..Change::of_record(at_ms, kind, entry_id, subject, note)
        }
    }

    /// The subject concerned.
    pub fn subject_key(&self) -> Option<SubjectKey> {
        SubjectKey::from_bytes(&self.subject)
    }
}

impl StoredEntry {
    pub(super) fn from_model(e: &Entry, catalog: &Catalog) -> StoredEntry {
        StoredEntry {
            subject: e.subject.to_bytes(),
            list: match e.list {
                ListKind::Black => 0,
                ListKind::Red => 1,
            },
            category: catalog.category(e.category).code.clone(),
            authority: e.authority.clone(),
            basis: e.basis.clone(),
            decided_at: e.decided_at.days(),
            effective_from: e.effective_from.days(),
            expires_at: e.expires_at.map(Date::days),
            status: status_code(e.status),
            objection: e.lifecycle.objection.as_ref().map(|o| {
                (
                    o.filed_on.days(),
                    o.deadline.days(),
                    o.reason.clone(),
                    o.outcome.as_ref().map(|out| {
                        let kind = match out.kind {
                            OutcomeKind::Upheld => 0,
                            OutcomeKind::Corrected => 1,
                            OutcomeKind::Revoked => 2,
                        };
                        (kind, out.on.days(), out.note.clone())
                    }),
                )
            }),
            repair: e.lifecycle.repair.as_ref().map(note_to),
            revocation: e.lifecycle.revocation.as_ref().map(note_to),
        }
    }

    /// The entry as the model holds it.
    pub fn to_entry(&self, entry_id: String, catalog: &Catalog) -> Result<Entry, StoreError> {
        let category = catalog.category_by_code(&self.category).ok_or_else(|| {
            StoreError::UnknownCategory {
                entry_id: entry_id.clone(),
                category: self.category.clone(),
            }
        })?;
        Ok(Entry {
            entry_id,
            subject: key_from(&self.subject, "entry subject")?,
            list: if self.list == 0 {
                ListKind::Black
            } else {
                ListKind::Red
            },
            category,
            authority: self.authority.clone(),
            basis: self.basis.clone(),
            decided_at: Date::from_days(self.decided_at),
            effective_from: Date::from_days(self.effective_from),
            expires_at: self.expires_at.map(Date::from_days),
            status: status_from(self.status)?,
            lifecycle: Lifecycle {
                objection: match &self.objection {
                    None => None,
                    Some((filed_on, deadline, reason, outcome)) => Some(Objection {
                        filed_on: Date::from_days(*filed_on),
                        deadline: Date::from_days(*deadline),
                        reason: reason.clone(),
                        outcome: match outcome {
                            None => None,
                            Some((kind, on, note)) => Some(Outcome {
                                kind: match kind {
                                    0 => OutcomeKind::Upheld,
                                    1 => OutcomeKind::Corrected,
                                    2 => OutcomeKind::Revoked,
                                    _ => {
                                        return Err(StoreError::Corrupt {
                                            what: "objection outcome",
                                            detail: format!("unknown outcome code {kind}"),
                                        });
                                    }
                                },
                                on: Date::from_days(*on),
                                note: note.clone(),
                            }),
                        },
                    }),
                },
                repair: self.repair.as_ref().map(note_from),
                revocation: self.revocation.as_ref().map(note_from),
            },
        })
    }
}

pub(super) fn role_code(role: Role) -> u8 {
    role as u8
}

pub(super) fn role_from(code: u8) -> Result<Role, StoreError> {
    Role::ALL
        .get(code as usize)
        .copied()
        .ok_or_else(|| StoreError::Corrupt {
            what: "role",
            detail: format!("unknown role code {code}"),
        })
}

pub(super) fn status_code(s: EntryStatus) -> u8 {
    match s {
        EntryStatus::Active => 0,
        EntryStatus::Disputed => 1,
        EntryStatus::Repaired => 2,
        EntryStatus::Revoked => 3,
    }
}

/// The status a stored status code stands for.
pub fn status_from(code: u8) -> Result<EntryStatus, StoreError> {
    Ok(match code {
        0 => EntryStatus::Active,
        1 => EntryStatus::Disputed,
        2 => EntryStatus::Repaired,
        3 => EntryStatus::Revoked,
        _ => {
            return Err(StoreError::Corrupt {
                what: "entry status",
                detail: format!("unknown status code {code}"),
            });
        }
    })
}

pub(super) fn note_to(n: &Note) -> (i32, String) {
    (n.on.days(), n.note.clone())
}

pub(super) fn note_from((on, note): &(i32, String)) -> Note {
    Note {
        on: Date::from_days(*on),
        note: note.clone(),
    }
}

impl StoredEntry {
    /// The category code.
    pub fn category_code(&self) -> &str {
        &self.category
    }

    /// The deciding department.
    pub fn authority(&self) -> &str {
        &self.authority
    }
}

impl StoredSubject {
    pub(super) fn from_model(s: &Subject) -> StoredSubject {
        StoredSubject {
            name: s.name.clone(),
            aliases: s.aliases.clone(),
            persons: s
                .persons
                .iter()
                .map(|l| (l.person.to_bytes(), role_code(l.role)))
                .collect(),
        }
    }

    pub(super) fn to_model(&self, id: SubjectKey) -> Result<Subject, StoreError> {
        let persons = self
            .persons
            .iter()
            .map(|(p, r)| {
                Ok(PersonLink {
                    person: key_from(p, "person link")?,
                    role: role_from(*r)?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Subject {
            id,
            name: self.name.clone(),
            aliases: self.aliases.clone(),
            persons,
        })
    }
}
