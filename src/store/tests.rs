//! The store's tests, against a real RocksDB in a temporary directory.
//! Lifecycle writes are driven with the lifecycle's rules, as the engine
//! drives them.

use super::schema::*;
use super::values::*;
use super::*;
use crate::catalog::Catalog;
use crate::date::Date;
use crate::id::SubjectKey;
use crate::lifecycle::Transition;
use crate::model::{ChangeKind, Entry, EntryStatus, Role, Subject};
use crate::model::{EntryRecord, SubjectRecord, parse_record};
use std::path::Path;

const TODAY: &str = "2026-11-25";

fn subject(line: &str) -> Subject {
    parse_record::<SubjectRecord>(line)
        .unwrap()
        .validate(TODAY.parse().unwrap())
        .unwrap()
}

fn entry(line: &str) -> Entry {
    parse_record::<EntryRecord>(line)
        .unwrap()
        .validate(&Catalog::bundled(), TODAY.parse().unwrap())
        .unwrap()
}

const ORG: &str = r#"{"id":"91360100705500005G","kind":"org","name":"江西华远科技有限公司","persons":[{"id":"11010519491231002X","role":"legal_rep"}]}"#;
const ENTRY: &str = r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"法院","basis":"(2019)赣01执1号","decided_at":"2019-03-01"}"#;

/// A store that `write` filled, flushed and reopened: its data on disk
/// only, the block cache empty.
fn reopened_cold(dir: &Path, write: impl FnOnce(&Store)) -> Store {
    let store = Store::open_or_create(dir).unwrap();
    write(&store);
    store.flush().unwrap();
    drop(store);
    Store::open_or_create(dir).unwrap()
}

/// [`Store::update_entry`] with the lifecycle's rule for `t`.
fn transition(
    store: &Store,
    id: &str,
    t: &Transition,
    catalog: &Catalog,
) -> Result<Written, WriteError> {
    store.update_entry(id, catalog, |e| {
        crate::lifecycle::apply(e, t).map_err(|c| c.0)
    })
}

/// The lifecycle's rule for a department's replacement.
fn keep_state(status: EntryStatus, id: &str) -> Result<(), String> {
    crate::lifecycle::check_replace(status, id).map_err(|c| c.0)
}

#[test]
fn a_memory_read_of_what_only_the_disk_holds_says_so_then_a_disk_read_caches_it() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let (org, e) = (subject(ORG), entry(ENTRY));
    let store = reopened_cold(dir.path(), |store| {
        store.apply_subjects(std::slice::from_ref(&org)).unwrap();
        store
            .apply_entries(std::slice::from_ref(&e), &catalog)
            .unwrap();
        // In the memtable: memory.
        assert_eq!(
            store.subject_within(org.id, Reach::Memory).unwrap(),
            Some(org.clone())
        );
    });
    let ids = ["E1"];
    assert!(matches!(
        store.entries_by_id(ids.iter().copied(), &catalog, Reach::Memory),
        Err(StoreError::NotInMemory)
    ));
    assert!(matches!(
        store.subject_within(org.id, Reach::Memory),
        Err(StoreError::NotInMemory)
    ));
    assert_eq!(
        store
            .entries_by_id(ids.iter().copied(), &catalog, Reach::Disk)
            .unwrap(),
        vec![e.clone()]
    );
    assert_eq!(
        store.subject_within(org.id, Reach::Disk).unwrap(),
        Some(org.clone())
    );
    // Read once from disk, now cached.
    assert_eq!(
        store
            .entries_by_id(ids.iter().copied(), &catalog, Reach::Memory)
            .unwrap(),
        vec![e]
    );
    assert_eq!(
        store.subject_within(org.id, Reach::Memory).unwrap(),
        Some(org)
    );
    // An id without an entry cannot be told from one not in memory.
    assert!(matches!(
        store.entries_by_id(["E2"].into_iter(), &catalog, Reach::Memory),
        Err(StoreError::NotInMemory)
    ));
    assert_eq!(
        store
            .entries_by_id(["E2"].into_iter(), &catalog, Reach::Disk)
            .unwrap(),
        vec![]
    );
}

#[test]
fn entries_a_flush_or_a_compaction_writes_are_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    let memory = |id: &'static str| store.entries_by_id([id].into_iter(), &catalog, Reach::Memory);
    store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
    store.flush().unwrap();
    assert_eq!(memory("E1").unwrap(), vec![entry(ENTRY)]);
    let e2 = entry(&ENTRY.replace("\"E1\"", "\"E2\""));
    store
        .apply_entries(std::slice::from_ref(&e2), &catalog)
        .unwrap();
    store.flush().unwrap();
    store
        .db
        .compact_range_cf(store.cf(CF_ENTRIES), None::<&[u8]>, None::<&[u8]>);
    assert_eq!(memory("E1").unwrap(), vec![entry(ENTRY)]);
    assert_eq!(memory("E2").unwrap(), vec![e2]);
    // Not so for the other families.
    store
        .apply_subjects(std::slice::from_ref(&subject(ORG)))
        .unwrap();
    store.flush().unwrap();
    assert!(matches!(
        store.subject_within(subject(ORG).id, Reach::Memory),
        Err(StoreError::NotInMemory)
    ));
}

#[test]
fn warming_puts_the_entries_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = reopened_cold(dir.path(), |store| {
        store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
    });
    let memory = || store.entries_by_id(["E1"].into_iter(), &catalog, Reach::Memory);
    assert!(matches!(memory(), Err(StoreError::NotInMemory)));
    assert!(matches!(store.warm_entries().unwrap(), Warmed::Read(n) if n > 0));
    assert_eq!(memory().unwrap(), vec![entry(ENTRY)]);
}

#[test]
fn write_read_idempotent_replace() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    let org = subject(ORG);
    let e = entry(ENTRY);
    assert_eq!(
        store
            .apply_subjects(std::slice::from_ref(&org))
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .apply_entries(std::slice::from_ref(&e), &catalog)
            .unwrap()
            .inserted,
        1
    );
    assert_eq!(
        store
            .apply_subjects(std::slice::from_ref(&org))
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(
        store
            .apply_entries(std::slice::from_ref(&e), &catalog)
            .unwrap()
            .unchanged,
        1
    );
    assert_eq!(store.subject(org.id).unwrap().unwrap(), org);
    assert_eq!(store.entries_of(org.id, &catalog).unwrap(), vec![e.clone()]);
    let person = org.persons[0].person;
    assert_eq!(
        store.orgs_of(person).unwrap(),
        vec![(org.id, Role::LegalRep)]
    );

    // Replace: new role, new status.
    let org2 = subject(&ORG.replace("legal_rep", "director"));
    let e2 = entry(&ENTRY.replace("2019-03-01\"", "2019-03-01\",\"status\":\"repaired\""));
    assert_eq!(store.apply_subjects(&[org2]).unwrap().replaced, 1);
    assert_eq!(
        store
            .apply_entries(std::slice::from_ref(&e2), &catalog)
            .unwrap()
            .replaced,
        1
    );
    assert_eq!(
        store.orgs_of(person).unwrap(),
        vec![(org.id, Role::Director)]
    );
    assert_eq!(store.entries_of(org.id, &catalog).unwrap(), vec![e2]);
    let kinds: Vec<_> = store
        .history_of(org.id)
        .unwrap()
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::SubjectInserted,
            ChangeKind::EntryInserted,
            ChangeKind::SubjectReplaced,
            ChangeKind::EntryReplaced
        ]
    );
    let seqs: Vec<_> = store
        .changes(1, 100)
        .unwrap()
        .iter()
        .map(|c| c.seq)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    drop(store);
    // Reopen keeps everything and continues the sequence.
    let store = Store::open(dir.path()).unwrap();
    store
        .apply_entries(&[entry(&ENTRY.replace("E1", "E2"))], &catalog)
        .unwrap();
    assert_eq!(store.changes(5, 10).unwrap()[0].seq, 5);
}

#[test]
fn a_record_repeated_within_one_batch_counts_once() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    let org = subject(ORG);
    let applied = store
        .apply_subjects(&[org.clone(), org.clone(), org])
        .unwrap();
    assert_eq!((applied.inserted, applied.unchanged), (1, 2));
    let e = entry(ENTRY);
    let applied = store.apply_entries(&[e.clone(), e], &catalog).unwrap();
    assert_eq!((applied.inserted, applied.unchanged), (1, 1));
    // Unchanged again in a later batch, and the repeat stays unchanged.
    let applied = store
        .apply_entries(&[entry(ENTRY), entry(ENTRY)], &catalog)
        .unwrap();
    assert_eq!((applied.inserted, applied.unchanged), (0, 2));
}

#[test]
fn entry_moving_to_another_subject_moves_its_membership() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
    let moved = entry(&ENTRY.replace("91360100705500005G", "91110000600037341L"));
    store.apply_entries(&[moved], &catalog).unwrap();
    assert!(
        store
            .entries_of(SubjectKey::parse("91360100705500005G").unwrap(), &catalog)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .entries_of(SubjectKey::parse("91110000600037341L").unwrap(), &catalog)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn missing_store_and_newer_format_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(&dir.path().join("none")),
        Err(StoreError::Missing { .. })
    ));
    let store = Store::open_or_create(dir.path()).unwrap();
    store
        .db
        .put_cf(store.cf(CF_META), KEY_FORMAT, 99u32.to_le_bytes())
        .unwrap();
    drop(store);
    let err = Store::open(dir.path()).err().unwrap();
    assert!(
        err.to_string()
            .contains("has format version 99; this build reads version 2"),
        "{err}"
    );
}

#[test]
fn a_version_1_store_is_upgraded_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    // What a version-1 build wrote: the stamp, and an entry without
    // lifecycle fields.
    let mut v1 = vec![1u8];
    let e = entry(&ENTRY.replace(
        "\"decided_at\":\"2019-03-01\"",
        "\"decided_at\":\"2019-03-01\",\"expires_at\":\"2030-01-01\"",
    ));
    let old = StoredEntry::from_model(&e, &catalog);
    bincode::encode_into_std_write(
        (
            old.subject,
            old.list,
            old.category.clone(),
            old.authority.clone(),
            old.basis.clone(),
            old.decided_at,
            old.effective_from,
            old.expires_at,
            old.status,
        ),
        &mut v1,
        bincode::config::standard(),
    )
    .unwrap();
    store.db.put_cf(store.cf(CF_ENTRIES), "E1", &v1).unwrap();
    store
        .db
        .put_cf(
            store.cf(CF_SUBJECT_ENTRIES),
            subject_entry_key(&old.subject, "E1"),
            [],
        )
        .unwrap();
    store
        .db
        .put_cf(store.cf(CF_META), KEY_FORMAT, 1u32.to_le_bytes())
        .unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.entry("E1", &catalog).unwrap().unwrap(), e);
    let mut keys = Vec::new();
    store
        .scan_prefix(CF_EXPIRIES, &[], |k, _| {
            keys.push(k.to_vec());
            Ok(())
        })
        .unwrap();
    assert_eq!(keys, [expiry_key(e.expires_at.unwrap().days(), "E1")]);
    let format = store
        .db
        .get_cf(store.cf(CF_META), KEY_FORMAT)
        .unwrap()
        .unwrap();
    assert_eq!(format, FORMAT_VERSION.to_le_bytes());
}

#[test]
fn lapsed_entries_are_logged_once_and_only_while_they_counted() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    let day = |s: &str| s.parse::<Date>().unwrap();
    let with_term = |id: &str, end: &str| {
        entry(&ENTRY.replace("E1", id).replace(
            "\"decided_at\":\"2019-03-01\"",
            &format!("\"decided_at\":\"2019-03-01\",\"expires_at\":\"{end}\""),
        ))
    };
    store
        .apply_entries(
            &[
                with_term("OLD", "2026-01-01"),
                with_term("SOON", "2026-11-03"),
                with_term("LATER", "2026-12-01"),
                with_term("GONE", "2026-11-02"),
            ],
            &catalog,
        )
        .unwrap();
    transition(
        &store,
        "GONE",
        &Transition::Revoke {
            on: day("2026-10-01"),
            reason: "错误".into(),
        },
        &catalog,
    )
    .unwrap();
    // The first sweep only marks the day.
    assert!(
        store
            .sweep_expired(day("2026-11-01"), &catalog)
            .unwrap()
            .changes
            .is_empty()
    );
    let lapsed = store
        .sweep_expired(day("2026-11-05"), &catalog)
        .unwrap()
        .changes;
    let ids: Vec<_> = lapsed
        .iter()
        .map(|c| c.entry_id.as_deref().unwrap())
        .collect();
    assert_eq!(ids, ["SOON"]);
    assert_eq!(lapsed[0].kind, ChangeKind::EntryExpired);
    assert!(
        store
            .sweep_expired(day("2026-11-05"), &catalog)
            .unwrap()
            .changes
            .is_empty()
    );
    // Moving a term moves its expiry key.
    store
        .apply_entries(&[with_term("LATER", "2026-11-20")], &catalog)
        .unwrap();
    let lapsed = store
        .sweep_expired(day("2026-12-31"), &catalog)
        .unwrap()
        .changes;
    assert_eq!(lapsed.len(), 1);
    assert_eq!(lapsed[0].entry_id.as_deref(), Some("LATER"));
}

#[test]
fn transitions_are_logged_with_the_entry_after_them() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::bundled();
    let store = Store::open_or_create(dir.path()).unwrap();
    store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
    let on = "2026-11-01".parse().unwrap();
    let written = transition(
        &store,
        "E1",
        &Transition::Object {
            on,
            reason: "已履行".into(),
        },
        &catalog,
    )
    .unwrap();
    let change = &written.changes[0];
    assert_eq!(change.kind, ChangeKind::ObjectionFiled);
    assert_eq!(change.note.as_deref(), Some("已履行"));
    let after = change
        .entry
        .as_ref()
        .unwrap()
        .to_entry("E1".into(), &catalog)
        .unwrap();
    assert_eq!(after.status, EntryStatus::Disputed);
    assert_eq!(store.entry("E1", &catalog).unwrap().unwrap(), after);
    assert!(matches!(
        transition(
            &store,
            "E1",
            &Transition::Object {
                on,
                reason: "再".into()
            },
            &catalog
        ),
        Err(WriteError::Refused(_))
    ));
    assert!(matches!(
        transition(
            &store,
            "E9",
            &Transition::Object {
                on,
                reason: "再".into()
            },
            &catalog
        ),
        Err(WriteError::NoEntry(_))
    ));
    // A department's replacement is refused under objection; an
    // import's is not, and keeps the lifecycle notes.
    assert!(matches!(
        store.write_entries(
            &[entry(ENTRY)],
            &catalog,
            Replace::KeepState(keep_state),
            Durability::Synced
        ),
        Err(WriteError::Refused(_))
    ));
    store.apply_entries(&[entry(ENTRY)], &catalog).unwrap();
    let imported = store.entry("E1", &catalog).unwrap().unwrap();
    assert_eq!(imported.status, EntryStatus::Active);
    assert_eq!(imported.lifecycle, after.lifecycle);
    let kinds: Vec<_> = store
        .history_of(imported.subject)
        .unwrap()
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::EntryInserted,
            ChangeKind::ObjectionFiled,
            ChangeKind::EntryReplaced
        ]
    );
}
