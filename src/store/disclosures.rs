//! 双公示 disclosures in the store: the records, their indexes by
//! counterpart, by decision date and by linked entry, and the tallies of
//! publications and late ones per authority that `/v1/stats` reads without
//! a scan.
//!
//! Every write is one atomic batch under the writer lock, through the
//! replicated log, and logs a change (`disclosure_published`,
//! `disclosure_replaced`, `disclosure_repaired`) whose `entry_id` holds the
//! disclosure's id, filed under the counterpart's history. The store keeps
//! what it is given: timeliness is counted by the caller
//! ([`crate::disclosure::Disclosure::timeliness`]) and the repair rule is
//! the caller's closure.

use std::collections::HashMap;

use bincode::{Decode, Encode};

use super::codec::{self, Value};
use super::schema::*;
use super::values::{Change, note_from, note_to};
use super::writes::SortedBatch;
use super::{Applied, Durability, Store, StoreError, WriteError, Written};
use crate::date::{Date, epoch_ms};
use crate::disclosure::{Disclosure, DisclosureKind, Published, Timeliness};
use crate::model::{ChangeKind, Note};
use crate::vocab::Severity;

/// A disclosure as stored.
#[derive(Encode, Decode, PartialEq, Eq, Debug, Clone)]
pub(super) struct StoredDisclosure {
    kind: u8,
    number: String,
    name: String,
    category: String,
    content: String,
    basis: String,
    subject: [u8; KEY_LEN],
    subject_name: String,
    result: String,
    decided_at: i32,
    published_at: i32,
    authority: String,
    severity: Option<u8>,
    valid_until: Option<i32>,
    entry_id: Option<String>,
    repair: Option<(i32, String)>,
    deadline: i32,
    working_days: u32,
    late: bool,
    calendar_covered: bool,
}

impl Value for StoredDisclosure {
    type V1 = StoredDisclosure;
    fn from_v1(old: StoredDisclosure) -> StoredDisclosure {
        old
    }
}

fn corrupt(detail: String) -> StoreError {
    StoreError::Corrupt {
        what: "disclosure",
        detail,
    }
}

impl StoredDisclosure {
    fn from_model(p: &Published) -> StoredDisclosure {
        let d = &p.disclosure;
        StoredDisclosure {
            kind: d.kind as u8,
            number: d.number.clone(),
            name: d.name.clone(),
            category: d.category.clone(),
            content: d.content.clone(),
            basis: d.basis.clone(),
            subject: d.subject.to_bytes(),
            subject_name: d.subject_name.clone(),
            result: d.result.clone(),
            decided_at: d.decided_at.days(),
            published_at: d.published_at.days(),
            authority: d.authority.clone(),
            severity: d.severity.map(|s| s as u8),
            valid_until: d.valid_until.map(Date::days),
            entry_id: d.entry_id.clone(),
            repair: d.repair.as_ref().map(note_to),
            deadline: p.timeliness.deadline.days(),
            working_days: p.timeliness.working_days,
            late: p.timeliness.late,
            calendar_covered: p.timeliness.calendar_covered,
        }
    }

    fn to_model(&self, disclosure_id: String) -> Result<Published, StoreError> {
        let kind = match self.kind {
            0 => DisclosureKind::Licence,
            1 => DisclosureKind::Penalty,
            k => return Err(corrupt(format!("kind code {k}"))),
        };
        let severity = self
            .severity
            .map(|code| {
                Severity::ALL
                    .get(usize::from(code))
                    .copied()
                    .ok_or_else(|| corrupt(format!("severity code {code}")))
            })
            .transpose()?;
        Ok(Published {
            disclosure: Disclosure {
                disclosure_id,
                kind,
                number: self.number.clone(),
                name: self.name.clone(),
                category: self.category.clone(),
                content: self.content.clone(),
                basis: self.basis.clone(),
                subject: key_from(&self.subject, "disclosure subject")?,
                subject_name: self.subject_name.clone(),
                result: self.result.clone(),
                decided_at: Date::from_days(self.decided_at),
                published_at: Date::from_days(self.published_at),
                authority: self.authority.clone(),
                severity,
                valid_until: self.valid_until.map(Date::from_days),
                entry_id: self.entry_id.clone(),
                repair: self.repair.as_ref().map(note_from),
            },
            timeliness: Timeliness {
                deadline: Date::from_days(self.deadline),
                working_days: self.working_days,
                late: self.late,
                calendar_covered: self.calendar_covered,
            },
        })
    }
}

/// Publications and late ones of one authority, per kind (licence,
/// penalty).
#[derive(Encode, Decode, PartialEq, Eq, Debug, Clone, Copy, Default)]
pub struct Tally {
    /// Published, by kind (`[licence, penalty]`).
    pub published: [u64; 2],
    /// Published late, by kind.
    pub late: [u64; 2],
}

impl Value for Tally {
    type V1 = Tally;
    fn from_v1(old: Tally) -> Tally {
        old
    }
}

impl Tally {
    fn count(&mut self, d: &StoredDisclosure, sign: i64) {
        let k = usize::from(d.kind.min(1));
        let add = |n: &mut u64| *n = n.saturating_add_signed(sign);
        add(&mut self.published[k]);
        if d.late {
            add(&mut self.late[k]);
        }
    }
}

fn entry_link_key(entry_id: &str, id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(entry_id.len() + 1 + id.len());
    k.extend_from_slice(entry_id.as_bytes());
    k.push(0);
    k.extend_from_slice(id.as_bytes());
    k
}

/// What a disclosure query asks, beside its date range.
pub struct DisclosureScan<'a> {
    /// First decision day, inclusive.
    pub from: Option<Date>,
    /// Last decision day, inclusive.
    pub to: Option<Date>,
    /// Whether a disclosure is wanted (authority, kind, what the caller may
    /// see).
    pub wanted: &'a dyn Fn(&Published) -> bool,
    /// Most disclosures returned.
    pub limit: usize,
    /// Most disclosures read before the scan stops ([`Scanned::complete`]
    /// false).
    pub read_at_most: usize,
}

/// What a scan found.
pub struct Scanned {
    /// The disclosures wanted, newest decision first.
    pub found: Vec<Published>,
    /// False when the scan stopped at its limit or at `read_at_most` with
    /// more left to read.
    pub complete: bool,
}

impl Store {
    /// Publishes disclosures: a new id is inserted, an id whose stored
    /// disclosure differs is replaced (its repair kept), an equal one
    /// changes nothing. One atomic batch.
    pub fn write_disclosures(
        &self,
        disclosures: &[Published],
        durability: Durability,
    ) -> Result<(Applied, Written), StoreError> {
        let cf = self.cf(CF_DISCLOSURES);
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        // Later records of one id in the call see the earlier ones.
        let mut current: HashMap<&str, Option<StoredDisclosure>> = HashMap::new();
        let values = self.db.multi_get_cf(
            disclosures
                .iter()
                .map(|p| (cf, p.disclosure.disclosure_id.as_bytes())),
        );
        for (p, value) in disclosures.iter().zip(values) {
            let id = p.disclosure.disclosure_id.as_str();
            if current.contains_key(id) {
                continue;
            }
            let stored = value
                .map_err(|e| self.rocks(e))?
                .map(|v| codec::decode::<StoredDisclosure>(&v, "disclosure"))
                .transpose()?;
            current.insert(id, stored);
        }
        let mut tallies: HashMap<String, Tally> = HashMap::new();
        let mut batch = SortedBatch::default();
        let mut applied = Applied::default();
        let mut written = Written::default();
        let at_ms = epoch_ms();
        for p in disclosures {
            let id = p.disclosure.disclosure_id.as_str();
            let old = current.get(id).cloned().flatten();
            let mut stored = StoredDisclosure::from_model(p);
            if let Some(old) = &old {
                stored.repair.clone_from(&old.repair);
                if *old == stored {
                    applied.unchanged += 1;
                    continue;
                }
            }
            let kind = match &old {
                Some(old) => {
                    applied.replaced += 1;
                    batch.delete(CF_SUBJECT_DISCLOSURES, subject_entry_key(&old.subject, id));
                    batch.delete(CF_DISCLOSURE_DATES, expiry_key(old.decided_at, id));
                    if let Some(entry) = &old.entry_id {
                        batch.delete(CF_ENTRY_DISCLOSURES, entry_link_key(entry, id));
                    }
                    self.tally(&mut tallies, &old.authority)?.count(old, -1);
                    ChangeKind::DisclosureReplaced
                }
                None => {
                    applied.inserted += 1;
                    ChangeKind::DisclosurePublished
                }
            };
            batch.put(
                CF_SUBJECT_DISCLOSURES,
                subject_entry_key(&stored.subject, id),
                [],
            );
            batch.put(CF_DISCLOSURE_DATES, expiry_key(stored.decided_at, id), []);
            if let Some(entry) = &stored.entry_id {
                batch.put(CF_ENTRY_DISCLOSURES, entry_link_key(entry, id), []);
            }
            self.tally(&mut tallies, &stored.authority)?
                .count(&stored, 1);
            batch.put(CF_DISCLOSURES, id.as_bytes(), codec::encode(&stored));
            written.changes.push(self.log(
                &mut batch,
                &mut seq,
                Change::of_record(at_ms, kind, id, stored.subject, None),
            ));
            current.insert(id, Some(stored));
        }
        for (authority, tally) in &tallies {
            batch.put(
                CF_DISCLOSURE_TALLIES,
                authority.as_bytes(),
                codec::encode(tally),
            );
        }
        self.commit(batch, &mut writer, seq, durability, &written)?;
        Ok((applied, written))
    }

    /// The tally of `authority` within a write: read once, then kept in
    /// `tallies` until the batch is built.
    fn tally<'t>(
        &self,
        tallies: &'t mut HashMap<String, Tally>,
        authority: &str,
    ) -> Result<&'t mut Tally, StoreError> {
        if !tallies.contains_key(authority) {
            let stored = self
                .db
                .get_pinned_cf(self.cf(CF_DISCLOSURE_TALLIES), authority.as_bytes())
                .map_err(|e| self.rocks(e))?
                .map(|v| codec::decode::<Tally>(&v, "disclosure tally"))
                .transpose()?
                .unwrap_or_default();
            tallies.insert(authority.to_string(), stored);
        }
        Ok(tallies.get_mut(authority).expect("inserted above"))
    }

    /// Records a credit repair on a disclosure: `rule` sees it as stored
    /// and gives the repair's note, or refuses (409). Synced.
    pub fn repair_disclosure(
        &self,
        disclosure_id: &str,
        rule: impl FnOnce(&Published) -> Result<Note, String>,
    ) -> Result<(Published, Written), WriteError> {
        let mut writer = self.lock_writer();
        let mut seq = *writer;
        let Some(mut current) = self.disclosure(disclosure_id)? else {
            return Err(WriteError::NoEntry(disclosure_id.to_string()));
        };
        let note = rule(&current).map_err(WriteError::Refused)?;
        current.disclosure.repair = Some(note.clone());
        let stored = StoredDisclosure::from_model(&current);
        let mut batch = SortedBatch::default();
        batch.put(
            CF_DISCLOSURES,
            disclosure_id.as_bytes(),
            codec::encode(&stored),
        );
        let mut written = Written::default();
        written.changes.push(self.log(
            &mut batch,
            &mut seq,
            Change::of_record(
                epoch_ms(),
                ChangeKind::DisclosureRepaired,
                disclosure_id,
                stored.subject,
                Some(note.note),
            ),
        ));
        self.commit(batch, &mut writer, seq, Durability::Synced, &written)?;
        Ok((current, written))
    }

    /// The disclosure with this id.
    pub fn disclosure(&self, disclosure_id: &str) -> Result<Option<Published>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_DISCLOSURES), disclosure_id.as_bytes())
            .map_err(|e| self.rocks(e))?
            .map(|v| {
                codec::decode::<StoredDisclosure>(&v, "disclosure")?
                    .to_model(disclosure_id.to_string())
            })
            .transpose()
    }

    /// The counterpart's disclosures, by id.
    pub fn disclosures_of(
        &self,
        subject: crate::id::SubjectKey,
    ) -> Result<Vec<Published>, StoreError> {
        let mut ids = Vec::new();
        self.scan_prefix(CF_SUBJECT_DISCLOSURES, &subject.to_bytes(), |k, _| {
            ids.push(entry_id_from(&k[KEY_LEN..])?.to_string());
            Ok(())
        })?;
        self.disclosures_by_id(&ids)
    }

    /// The disclosures linked to the black-list entry `entry_id`, by id.
    pub fn disclosures_of_entry(&self, entry_id: &str) -> Result<Vec<Published>, StoreError> {
        let mut prefix = entry_id.as_bytes().to_vec();
        prefix.push(0);
        let mut ids = Vec::new();
        self.scan_prefix(CF_ENTRY_DISCLOSURES, &prefix, |k, _| {
            ids.push(entry_id_from(&k[prefix.len()..])?.to_string());
            Ok(())
        })?;
        self.disclosures_by_id(&ids)
    }

    fn disclosures_by_id(&self, ids: &[String]) -> Result<Vec<Published>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.disclosure(id)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    /// Disclosures decided within the scan's days that it wants, newest
    /// decision first.
    pub fn scan_disclosures(&self, scan: &DisclosureScan<'_>) -> Result<Scanned, StoreError> {
        let mut found = Vec::new();
        let mut read = 0;
        let mut it = self.db.raw_iterator_cf(self.cf(CF_DISCLOSURE_DATES));
        match scan.to {
            // The last key before the day after: no key is a bare day.
            Some(to) => it.seek_for_prev(day_key(to.days().saturating_add(1))),
            None => it.seek_to_last(),
        }
        let stop = scan.from.map(|d| day_key(d.days()));
        let mut complete = true;
        while let Some(k) = it.key() {
            if stop.is_some_and(|s| k < &s[..]) {
                break;
            }
            if found.len() == scan.limit || read == scan.read_at_most {
                complete = false;
                break;
            }
            read += 1;
            let id = entry_id_from(&k[4..])?;
            let p = self
                .disclosure(id)?
                .ok_or_else(|| corrupt(format!("dated disclosure {id:?} is missing")))?;
            if (scan.wanted)(&p) {
                found.push(p);
            }
            it.prev();
        }
        it.status().map_err(|e| self.rocks(e))?;
        Ok(Scanned { found, complete })
    }

    /// Every authority's tally, by authority.
    pub fn disclosure_tallies(&self) -> Result<Vec<(String, Tally)>, StoreError> {
        let mut out = Vec::new();
        self.scan_prefix(CF_DISCLOSURE_TALLIES, &[], |k, v| {
            out.push((
                entry_id_from(k)?.to_string(),
                codec::decode::<Tally>(v, "disclosure tally")?,
            ));
            Ok(())
        })?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkCalendar;
    use crate::catalog::Catalog;
    use crate::disclosure::DisclosureRecord;

    fn published(id: &str, decided: &str, published: &str, authority: &str) -> Published {
        let record: DisclosureRecord = serde_json::from_value(serde_json::json!({
            "disclosure_id": id, "kind": "penalty", "number": format!("罚〔2026〕{id}号"),
            "name": "行政处罚决定书", "category": "罚款", "content": "事实", "basis": "依据",
            "subject_name": "南昌华远科技有限公司", "subject_id": "91360100705500005G",
            "result": "罚款", "decided_at": decided, "published_at": published,
            "authority": authority, "severity": "general", "entry_id": "E1"
        }))
        .unwrap();
        let disclosure = record
            .validate(&Catalog::bundled(), "2026-12-05".parse().unwrap())
            .unwrap();
        let timeliness = disclosure.timeliness(&WorkCalendar::bundled());
        Published {
            disclosure,
            timeliness,
        }
    }

    #[test]
    fn disclosures_are_indexed_tallied_and_logged() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let on_time = published("D1", "2026-03-02", "2026-03-05", "甲局");
        let late = published("D2", "2026-04-01", "2026-05-01", "甲局");
        let other = published("D3", "2026-05-10", "2026-05-11", "乙局");
        let (applied, written) = store
            .write_disclosures(
                &[on_time.clone(), late.clone(), other.clone()],
                Durability::Synced,
            )
            .unwrap();
        assert_eq!(applied.inserted, 3);
        assert!(
            written
                .changes
                .iter()
                .all(|c| c.kind == ChangeKind::DisclosurePublished)
        );
        assert_eq!(store.disclosure("D2").unwrap().unwrap(), late);
        let tallies = store.disclosure_tallies().unwrap();
        assert_eq!(
            tallies,
            [
                (
                    "乙局".to_string(),
                    Tally {
                        published: [0, 1],
                        late: [0, 0]
                    }
                ),
                (
                    "甲局".to_string(),
                    Tally {
                        published: [0, 2],
                        late: [0, 1]
                    }
                ),
            ]
        );
        // Equal again: nothing; moved to another authority: tallies follow.
        let (applied, _) = store
            .write_disclosures(std::slice::from_ref(&on_time), Durability::Synced)
            .unwrap();
        assert_eq!(applied.unchanged, 1);
        let mut moved = late.clone();
        moved.disclosure.authority = "乙局".into();
        store
            .write_disclosures(&[moved], Durability::Synced)
            .unwrap();
        let tallies = store.disclosure_tallies().unwrap();
        assert_eq!(
            tallies[0].1,
            Tally {
                published: [0, 2],
                late: [0, 1]
            }
        );
        assert_eq!(
            tallies[1].1,
            Tally {
                published: [0, 1],
                late: [0, 0]
            }
        );
        // By subject, by entry, by date (newest first, bounded).
        let subject = on_time.disclosure.subject;
        assert_eq!(store.disclosures_of(subject).unwrap().len(), 3);
        assert_eq!(store.disclosures_of_entry("E1").unwrap().len(), 3);
        assert!(store.disclosures_of_entry("E").unwrap().is_empty());
        let ids = |from: Option<&str>, to: Option<&str>, limit| {
            let scan = DisclosureScan {
                from: from.map(|d| d.parse().unwrap()),
                to: to.map(|d| d.parse().unwrap()),
                wanted: &|_| true,
                limit,
                read_at_most: 100,
            };
            let s = store.scan_disclosures(&scan).unwrap();
            (
                s.found
                    .iter()
                    .map(|p| p.disclosure.disclosure_id.clone())
                    .collect::<Vec<_>>(),
                s.complete,
            )
        };
        assert_eq!(
            ids(None, None, 10),
            (vec!["D3".into(), "D2".into(), "D1".into()], true)
        );
        assert_eq!(
            ids(Some("2026-04-01"), Some("2026-05-09"), 10),
            (vec!["D2".into()], true)
        );
        assert_eq!(
            ids(Some("2026-03-02"), Some("2026-04-01"), 10),
            (vec!["D2".into(), "D1".into()], true)
        );
        assert_eq!(ids(None, None, 2), (vec!["D3".into(), "D2".into()], false));
        assert_eq!(ids(Some("2026-06-01"), None, 10), (vec![], true));
        // A repair is logged and kept across a replacement.
        let (repaired, written) = store
            .repair_disclosure("D1", |_| {
                Ok(Note {
                    on: "2026-07-01".parse().unwrap(),
                    note: "已履行".into(),
                })
            })
            .unwrap();
        assert_eq!(written.changes[0].kind, ChangeKind::DisclosureRepaired);
        assert!(repaired.disclosure.repair.is_some());
        let mut fixed = on_time.clone();
        fixed.disclosure.result = "罚款人民币五万元".into();
        store
            .write_disclosures(&[fixed], Durability::Synced)
            .unwrap();
        assert!(
            store
                .disclosure("D1")
                .unwrap()
                .unwrap()
                .disclosure
                .repair
                .is_some()
        );
        let refused = store
            .repair_disclosure("D1", |_| Err("no".into()))
            .unwrap_err();
        assert!(matches!(refused, WriteError::Refused(_)));
        assert!(matches!(
            store
                .repair_disclosure("D9", |_| Err("no".into()))
                .unwrap_err(),
            WriteError::NoEntry(_)
        ));
        // Every change is in the counterpart's history.
        let history = store.history_of(subject).unwrap();
        assert_eq!(history.len(), 6);
        assert!(history.iter().all(|c| c.kind.is_disclosure()));
    }
}
