//! The live indexes follow the writes exactly: after every write of a long
//! random sequence (records with changing person links, new entries,
//! entries moved to another subject by a replacement or a correction,
//! status changes, renames), what checks read from the current snapshot
//! (the prints of the subjects' names included) equals the index built
//! afresh from the store. The engine is reopened every 50 writes, its
//! saved indexes now and then saved again: an open catches them up with the
//! change log, and must reach the same state.

use std::collections::HashSet;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::engine::Engine;
use creditgate::id::{SubjectKey, build};
use creditgate::index::prints::NamePrints;
use creditgate::index::status::StatusIndex;
use creditgate::lifecycle::Transition;
use creditgate::model::{
    Entry, EntryRecord, EntryStatus, OutcomeKind, Subject, SubjectRecord, parse_record,
};

use crate::util::{Rand as Rng, tempdir};

const TODAY: &str = "2026-11-25";

/// The identifier `build` completes from its first `N` characters.
fn completed<const N: usize>(first: &str, build: fn(&[u8; N]) -> Option<[u8; 18]>) -> String {
    let id = build(first.as_bytes().try_into().unwrap()).unwrap();
    String::from_utf8(id.to_vec()).unwrap()
}

fn org(i: usize) -> String {
    completed(&format!("9136010070550{i:03}"), build::uscc)
}

fn person(i: usize) -> String {
    completed(&format!("36010219800101{i:03}"), build::identity_number)
}

const ROLES: [&str; 3] = ["legal_rep", "director", "principal"];

fn org_record(rng: &mut Rng, i: usize, persons: usize) -> Subject {
    let mut links = Vec::new();
    let mut seen = HashSet::new();
    for _ in 0..rng.below(4) {
        let (p, role) = (rng.below(persons), ROLES[rng.below(ROLES.len())]);
        if seen.insert((p, role)) {
            links.push(format!(r#"{{"id":"{}","role":"{role}"}}"#, person(p)));
        }
    }
    // Renamed now and then, the former names kept as aliases or not.
    let version = rng.below(3);
    let aliases: Vec<String> = (0..version)
        .filter(|_| rng.below(2) == 0)
        .map(|v| format!(r#""江西测试{i}号{v}有限公司""#))
        .collect();
    let line = format!(
        r#"{{"id":"{}","kind":"org","name":"江西测试{i}号{version}有限公司","aliases":[{}],"persons":[{}]}}"#,
        org(i),
        aliases.join(","),
        links.join(",")
    );
    parse_record::<SubjectRecord>(&line)
        .unwrap()
        .validate(TODAY.parse().unwrap())
        .unwrap()
}

fn person_record(i: usize) -> Subject {
    let line = format!(r#"{{"id":"{}","kind":"person","name":"张{i}"}}"#, person(i));
    parse_record::<SubjectRecord>(&line)
        .unwrap()
        .validate(TODAY.parse().unwrap())
        .unwrap()
}

fn entry(catalog: &Catalog, id: &str, subject: &str) -> Entry {
    let line = format!(
        r#"{{"entry_id":"{id}","subject_id":"{subject}","list":"black","category":"dishonest_debtor","authority":"法院","basis":"(2026)赣01执1号","decided_at":"2026-01-01"}}"#
    );
    parse_record::<EntryRecord>(&line)
        .unwrap()
        .validate(catalog, TODAY.parse().unwrap())
        .unwrap()
}

/// What a check reads about `key`, from the live snapshot.
type Seen = (
    bool,
    bool,
    Vec<String>,
    Vec<(SubjectKey, creditgate::model::Role)>,
    NamePrints,
);

fn live(engine: &Engine, key: SubjectKey) -> Seen {
    let snapshot = engine.snapshot();
    let (flags, known) = snapshot.lookup(key);
    let mut roles = snapshot.org_roles(key).to_vec();
    roles.sort_unstable();
    (
        flags.is_some(),
        known,
        snapshot
            .entry_ids(key)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        roles,
        snapshot.name_prints(key),
    )
}

fn rebuilt(engine: &Engine, status: &StatusIndex, key: SubjectKey) -> Seen {
    let mut roles = status.org_roles(key).to_vec();
    roles.sort_unstable();
    let record = engine.store().subject(key).unwrap();
    (
        status.get(key).is_some(),
        // Checks answer `known` for a record or entries of its own.
        record.is_some() || !status.entry_ids(key).is_empty(),
        status
            .entry_ids(key)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        roles,
        record
            .map(|s| NamePrints::of(&s.name, s.aliases.iter().map(String::as_str)))
            .unwrap_or_default(),
    )
}

#[test]
fn after_every_write_the_snapshot_equals_the_index_rebuilt_from_the_store() {
    let tmp = tempdir();
    let path = tmp.path().join("store");
    drop(creditgate::store::Store::open_or_create(&path).unwrap());
    let catalog = Catalog::bundled();
    let mut engine = Engine::open(&path, catalog.clone()).unwrap();
    let on: Date = TODAY.parse().unwrap();
    let (orgs, persons) = (6, 10);
    let mut caught_up = 0;
    let keys: Vec<SubjectKey> = (0..orgs)
        .map(|i| SubjectKey::parse(&org(i)).unwrap())
        .chain((0..persons).map(|i| SubjectKey::parse(&person(i)).unwrap()))
        .collect();
    let subject_id = |rng: &mut Rng| {
        if rng.below(3) == 0 {
            person(rng.below(persons))
        } else {
            org(rng.below(orgs))
        }
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut entries: Vec<String> = Vec::new();
    let mut kinds = [0usize; 6];
    for step in 0..600 {
        let kind = rng.below(6);
        let done = match kind {
            0 => {
                let i = rng.below(orgs);
                engine
                    .put_subjects(&[org_record(&mut rng, i, persons)])
                    .map(|_| ())
            }
            1 => engine
                .put_subjects(&[person_record(rng.below(persons))])
                .map(|_| ()),
            2 => {
                let id = format!("E{step}");
                let e = entry(&catalog, &id, &subject_id(&mut rng));
                entries.push(id);
                engine.put_entries(&[e]).map(|_| ())
            }
            // The same id published again, maybe for another subject.
            3 if !entries.is_empty() => {
                let id = entries[rng.below(entries.len())].clone();
                engine
                    .put_entries(&[entry(&catalog, &id, &subject_id(&mut rng))])
                    .map(|_| ())
            }
            // An objection, then maybe a correction that moves the entry.
            4 if !entries.is_empty() => {
                let id = entries[rng.below(entries.len())].clone();
                let objected = engine.transition(
                    &id,
                    &Transition::Object {
                        on,
                        reason: "not ours".into(),
                    },
                );
                match objected {
                    Ok(_) if rng.below(2) == 0 => engine
                        .transition(
                            &id,
                            &Transition::Decide {
                                on,
                                outcome: OutcomeKind::Corrected,
                                note: "wrong subject".into(),
                                correction: Some(Box::new(entry(
                                    &catalog,
                                    &id,
                                    &subject_id(&mut rng),
                                ))),
                            },
                        )
                        .map(|_| ()),
                    other => other.map(|_| ()),
                }
            }
            5 if !entries.is_empty() => {
                let id = entries[rng.below(entries.len())].clone();
                engine
                    .transition(
                        &id,
                        &Transition::Repair {
                            on,
                            note: "paid".into(),
                        },
                    )
                    .map(|_| ())
            }
            _ => continue,
        };
        // Refusals (an objection twice, a repair under objection) are part
        // of the sequence; they must change nothing either.
        if done.is_ok() {
            kinds[kind] += 1;
        }
        if step % 50 == 49 {
            drop(engine);
            if step % 150 == 149 {
                // Saved here: later opens catch up from this point.
                let store = creditgate::store::Store::open(&path).unwrap();
                creditgate::engine::build_status_index(&store).unwrap();
                creditgate::engine::build_known_set(&store).unwrap();
            }
            engine = Engine::open(&path, catalog.clone()).unwrap();
            let opened = engine.opened();
            assert!(opened.status_loaded && opened.known_loaded, "{opened}");
            caught_up += usize::from(opened.caught_up.is_some());
        }
        let status = StatusIndex::build(engine.store()).unwrap();
        for &key in &keys {
            assert_eq!(
                live(&engine, key),
                rebuilt(&engine, &status, key),
                "{key} after step {step} ({kind})"
            );
        }
    }
    // Every kind of write happened, and some entries moved and stayed put.
    assert!(kinds.iter().all(|&n| n > 10), "{kinds:?}");
    // Of 12 opens, the 4 right after a save have nothing to catch up.
    assert_eq!(caught_up, 8, "opens that caught up");
    let moved_or_corrected = entries
        .iter()
        .filter_map(|id| engine.store().entry(id, &catalog).unwrap())
        .filter(|e| e.status == EntryStatus::Active && e.lifecycle.objection.is_some())
        .count();
    assert!(moved_or_corrected > 0);
}
