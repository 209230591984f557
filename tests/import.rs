//! Import into a real RocksDB store, then check and show, through the real
//! binary and through the engine.

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::Duration;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::decide::{OrgRole, SubjectView, decide};
use creditgate::engine::Engine;
use creditgate::id::SubjectKey;
use creditgate::model::{Entry, Role};
use creditgate::store::{Reach, StoreError};

use crate::util::{
    SAMPLE_TODAY as AT, creditgate, generate, import_sample, load_sample, sample_dir, tempdir,
    texts,
};

#[test]
fn import_is_idempotent_and_reports_counts() {
    let tmp = tempdir();
    let (_, first) = import_sample(tmp.path());
    assert!(first.contains("subjects.ndjson: 10000 subjects read: 10000 inserted, 0 replaced, 0 unchanged, 0 rejected"), "{first}");
    assert!(
        first.contains("entries read: ") && first.contains(" replaced, 0 unchanged, 0 rejected"),
        "{first}"
    );
    let (_, second) = import_sample(tmp.path());
    assert!(
        second.contains("10000 subjects read: 0 inserted, 0 replaced, 10000 unchanged, 0 rejected"),
        "{second}"
    );
    assert!(
        second.contains("entries read: 0 inserted, 0 replaced, "),
        "{second}"
    );
}

#[test]
fn engine_over_the_store_agrees_with_the_rule_on_every_sample_subject() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = Catalog::bundled();
    let engine = Engine::open(&tmp.path().join("store"), catalog.clone()).unwrap();
    let (subjects, entries) = load_sample();
    let mut by_subject: HashMap<SubjectKey, Vec<Entry>> = HashMap::new();
    for e in entries {
        by_subject.entry(e.subject).or_default().push(e);
    }
    for list in by_subject.values_mut() {
        list.sort_by(|a, b| a.entry_id.cmp(&b.entry_id));
    }
    let mut roles: HashMap<SubjectKey, Vec<(SubjectKey, Role)>> = HashMap::new();
    for s in &subjects {
        for l in &s.persons {
            roles.entry(l.person).or_default().push((s.id, l.role));
        }
    }
    let subject_ids: std::collections::HashSet<SubjectKey> =
        subjects.iter().map(|s| s.id).collect();
    let mut keys: Vec<SubjectKey> = subjects.iter().map(|s| s.id).collect();
    keys.extend(roles.keys().copied());
    keys.sort();
    keys.dedup();
    let empty = Vec::new();
    let at: Date = AT.parse().unwrap();
    let (mut denies, mut via) = (0, 0);
    for code in [
        "flight",
        "financing",
        "market_access",
        "honors",
        "green_channel",
    ] {
        let action = catalog.action_by_code(code).unwrap();
        for &key in &keys {
            let own = by_subject.get(&key).unwrap_or(&empty);
            let mut links: Vec<(SubjectKey, Role)> = roles.get(&key).cloned().unwrap_or_default();
            links.sort();
            let org_roles: Vec<OrgRole> = links
                .iter()
                .filter(|(org, _)| by_subject.contains_key(org))
                .map(|(org, role)| OrgRole {
                    org: *org,
                    role: *role,
                    entries: &by_subject[org],
                })
                .collect();
            let known = subject_ids.contains(&key) || !own.is_empty();
            let expected = decide(
                &catalog,
                &SubjectView {
                    known,
                    entries: own,
                    roles: &org_roles,
                },
                action,
                at,
            );
            let got = engine.check(key, action, at).unwrap();
            assert_eq!(got.decision, expected.verdict, "{key} {code}");
            let ids = |rs: &[creditgate::decide::Reason]| {
                rs.iter()
                    .map(|r| r.entry.entry_id.clone())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                got.reasons
                    .iter()
                    .map(|r| r.entry_id.clone())
                    .collect::<Vec<_>>(),
                ids(&expected.reasons),
                "{key} {code}"
            );
            assert_eq!(
                got.suspended
                    .iter()
                    .map(|r| r.entry_id.clone())
                    .collect::<Vec<_>>(),
                ids(&expected.suspended),
                "{key} {code}"
            );
            assert_eq!(got.benefits.len(), expected.benefits.len(), "{key} {code}");
            assert_eq!(got.known, known, "{key}");
            denies += usize::from(got.decision == creditgate::decide::Verdict::Deny);
            via += got.reasons.iter().filter(|r| r.via.is_some()).count();
        }
    }
    assert!(denies > 0 && via > 0, "{denies} denies, {via} via");
}

#[test]
fn check_and_show_through_the_binary() {
    let tmp = tempdir();
    import_sample(tmp.path());
    // A subject with an active black entry in term on the sample date.
    let (_, entries) = load_sample();
    let catalog = Catalog::bundled();
    let at: Date = AT.parse().unwrap();
    let listed = entries
        .iter()
        .find(|e| {
            e.status == creditgate::model::EntryStatus::Active
                && e.in_term(at)
                && catalog.category(e.category).code == "dishonest_debtor"
        })
        .expect("the sample has an active debtor");
    let id = listed.subject.to_string();
    let out = creditgate(
        tmp.path(),
        &[
            "check",
            &id.to_lowercase(),
            "--action",
            "flight",
            "--at",
            AT,
            "--data",
            "store",
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["id"], id);
    assert_eq!(v["decision"], "deny");
    assert_eq!(v["known"], true);
    assert!(
        v["reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["entry_id"] == listed.entry_id.as_str()
                && r["measure"] == "debtor_flight"
                && r["mandatory"] == true),
        "{stdout}"
    );

    let out = creditgate(tmp.path(), &["show", &id, "--at", AT, "--data", "store"]);
    let (stdout, _) = texts(&out);
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["entry_id"] == listed.entry_id.as_str() && e["derived_status"] == "active")
    );
    assert!(
        v["history"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["change"] == "entry_inserted")
    );

    // Errors: malformed id, unknown action, missing store.
    let out = creditgate(
        tmp.path(),
        &[
            "check",
            "91360100705500005H",
            "--action",
            "flight",
            "--data",
            "store",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        texts(&out)
            .1
            .contains("check character at position 18 is 'H', expected 'G'")
    );
    let out = creditgate(
        tmp.path(),
        &["check", &id, "--action", "fly", "--data", "store"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        texts(&out)
            .1
            .contains("unknown action \"fly\"; the catalog has: financial_institution, ")
    );
    let out = creditgate(
        tmp.path(),
        &["check", &id, "--action", "flight", "--data", "nowhere"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("no store at nowhere"),
        "{}",
        texts(&out).1
    );
}

#[test]
fn check_without_data_uses_the_bundled_sample() {
    let tmp = tempdir();
    let out = creditgate(
        tmp.path(),
        &["check", "11010519491231002X", "--action", "flight"],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["known"], false);
}

/// `creditgate search` on the bundled sample: the JSON of `/v1/search`,
/// exit 1 when nothing is found, clear errors for bad arguments.
#[test]
fn search_through_the_binary() {
    let tmp = tempdir();
    let (subjects, _) = load_sample();
    let org = subjects
        .iter()
        .find(|s| s.id.kind() == creditgate::id::SubjectKind::Org)
        .unwrap();
    let out = creditgate(tmp.path(), &["search", &org.name, "--limit", "3"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let top = &v["results"][0];
    assert_eq!(top["id"], org.id.to_string().as_str());
    assert_eq!(top["method"], "exact");
    assert_eq!(top["matched_name"], org.name.as_str());
    assert!(v["results"].as_array().unwrap().len() <= 3);

    let out = creditgate(tmp.path(), &["search", "子虚乌有量子纠缠", "--kind", "org"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(&texts(&out).0).unwrap();
    assert_eq!(v["results"], serde_json::json!([]));

    for (args, says) in [
        (&["search", "abc", "--kind", "company"][..], "org or person"),
        (&["search", "abc", "--limit", "0"][..], "from 1 to 100"),
        (
            &["search", "abc", "--id-prefix", "36-01"][..],
            "letters or digits",
        ),
        (&["search", "。，"][..], "nothing to search for"),
    ] {
        let out = creditgate(tmp.path(), args);
        assert!(!out.status.success(), "{args:?}");
        assert!(texts(&out).1.contains(says), "{args:?}: {}", texts(&out).1);
    }
}

#[test]
fn bad_lines_are_reported_and_good_lines_imported() {
    let tmp = tempdir();
    let good = std::fs::read_to_string(sample_dir().join("subjects.ndjson")).unwrap();
    let mut lines: Vec<String> = good.lines().take(50).map(str::to_string).collect();
    lines[9] = lines[9].replacen("\"kind\":\"", "\"kind\":\"x", 1);
    lines[19] = "{\"id\":\"91360100705500005H\",\"kind\":\"org\",\"name\":\"x\"}".into();
    lines.insert(30, "not json".into());
    std::fs::write(tmp.path().join("s.ndjson"), lines.join("\n")).unwrap();
    let out = creditgate(tmp.path(), &["import", "--data", "store", "s.ndjson"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("s.ndjson:10: kind: unknown variant"),
        "{stderr}"
    );
    assert!(
        stderr.contains("s.ndjson:20: id: not a valid unified social credit code"),
        "{stderr}"
    );
    assert!(stderr.contains("s.ndjson:31: line: "), "{stderr}");
    assert!(
        stderr.contains("51 subjects read: 48 inserted, 0 replaced, 0 unchanged, 3 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rejected        1  id: id_check_char"),
        "{stderr}"
    );

    // --strict writes nothing.
    let out = creditgate(
        tmp.path(),
        &["import", "--strict", "--data", "store2", "s.ndjson"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out)
            .1
            .contains("3 bad lines, nothing imported (--strict); first: line 10"),
        "{}",
        texts(&out).1
    );
    let out = creditgate(
        tmp.path(),
        &["show", "91360100705500005G", "--data", "store2"],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "store2 exists but holds nothing"
    );
}

#[test]
fn an_import_killed_with_sigkill_leaves_a_store_that_opens_and_resumes() {
    use std::io::BufRead;
    let tmp = tempdir();
    generate(300_000, &tmp.path().join("big"));
    // Split: a small first file, then a big one to be killed in.
    let all = std::fs::read_to_string(tmp.path().join("big/subjects.ndjson")).unwrap();
    let lines: Vec<&str> = all.lines().collect();
    std::fs::write(tmp.path().join("a.ndjson"), lines[..20_000].join("\n")).unwrap();
    std::fs::write(tmp.path().join("b.ndjson"), lines[20_000..].join("\n")).unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_creditgate"))
            .args(args)
            .current_dir(tmp.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let args = ["import", "--data", "store", "a.ndjson", "b.ndjson"];
    let mut child = run(&args);
    // a.ndjson's summary is printed after it is synced; b.ndjson is then being
    // imported. Kill the process without warning while it is.
    let stderr = child.stderr.take().unwrap();
    let mut first = String::new();
    std::io::BufReader::new(stderr)
        .read_line(&mut first)
        .unwrap();
    assert!(
        first.starts_with("a.ndjson: 20000 subjects read: 20000 inserted"),
        "{first}"
    );
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the import was still running when killed"
    );

    // The store opens; what was acknowledged is there; the rest goes in.
    let out = run(&args).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a.ndjson: 20000 subjects read: 0 inserted, 0 replaced, 20000 unchanged"),
        "{stderr}"
    );
    assert!(
        stderr.contains("b.ndjson: 280000 subjects read: "),
        "{stderr}"
    );
    // Now complete: nothing left to do.
    let out = run(&args).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("b.ndjson: 280000 subjects read: 0 inserted, 0 replaced, 280000 unchanged"),
        "{stderr}"
    );
}

#[test]
fn saved_indexes_behind_the_store_catch_up_with_its_log() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let store = tmp.path().join("store");
    let catalog = Catalog::bundled();
    {
        let engine = Engine::open(&store, catalog.clone()).unwrap();
        assert!(engine.snapshot().known() >= 10_000);
        assert!(store.join(creditgate::engine::KNOWN_SET_FILE).exists());
    }
    // A subject the sample does not have: absent from the saved set.
    let id = "91360100705500005G";
    let key = SubjectKey::parse(id).unwrap();
    {
        let engine = Engine::open(&store, catalog.clone()).unwrap();
        let flight = catalog.action_by_code("flight").unwrap();
        assert!(
            !engine
                .check(key, flight, AT.parse().unwrap())
                .unwrap()
                .known
        );
    }
    let file = tmp.path().join("one.ndjson");
    std::fs::write(
        &file,
        format!(r#"{{"id":"{id}","kind":"org","name":"江西华远科技有限公司"}}"#),
    )
    .unwrap();
    let out = creditgate(tmp.path(), &["import", "--data", "store", "one.ndjson"]);
    assert!(out.status.success(), "{}", texts(&out).1);
    // The store changed: the saved indexes are loaded and caught up with
    // the one change, not rebuilt.
    let engine = Engine::open(&store, catalog.clone()).unwrap();
    let opened = engine.opened();
    assert!(opened.status_loaded && opened.known_loaded, "{opened}");
    assert_eq!(
        opened
            .caught_up
            .map(|(changes, subjects, _)| (changes, subjects)),
        Some((1, 1))
    );
    let flight = catalog.action_by_code("flight").unwrap();
    assert!(
        engine
            .check(key, flight, AT.parse().unwrap())
            .unwrap()
            .known
    );
}

#[test]
fn check_json_writes_the_serialised_check_for_every_subject_action_and_date() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = Catalog::bundled();
    let engine = Engine::open(&tmp.path().join("store"), catalog.clone()).unwrap();
    let (subjects, _) = load_sample();
    // Every tenth organization and linked person (the server tests cover
    // every sample subject once; this one varies actions and dates).
    let mut keys: Vec<SubjectKey> = subjects.iter().step_by(10).map(|s| s.id).collect();
    keys.extend(
        subjects
            .iter()
            .flat_map(|s| s.persons.iter().map(|l| l.person))
            .step_by(10),
    );
    // Ids the platform has never heard of: clean and unknown.
    keys.extend(
        [
            "91360100MA35XXXX7J",
            "110105194912310021",
            "360102198001011234",
        ]
        .iter()
        .filter_map(|id| SubjectKey::parse(id).ok()),
    );
    let dates: Vec<Date> = [AT, "2019-03-01", "2030-12-31"]
        .iter()
        .map(|d| d.parse().unwrap())
        .collect();
    // Twice over, so that the second pass answers from the per-thread
    // cache of clean answers that the first pass filled.
    for _ in 0..2 {
        for action in catalog.actions() {
            let id = catalog.action_by_code(&action.code).unwrap();
            for &at in &dates {
                for &key in &keys {
                    // With no name, and with a name that matches or not.
                    for name_match in [None, Some(true), Some(false)] {
                        let mut json = Vec::new();
                        // Read from memory where it can, as the server does;
                        // where it cannot, nothing is written and the disk
                        // read answers.
                        let verdict = match engine.check_json_with(
                            key,
                            id,
                            at,
                            name_match,
                            Reach::Memory,
                            &mut json,
                        ) {
                            Ok(v) => v,
                            Err(StoreError::NotInMemory) => {
                                assert!(json.is_empty());
                                engine
                                    .check_json_with(
                                        key,
                                        id,
                                        at,
                                        name_match,
                                        Reach::Disk,
                                        &mut json,
                                    )
                                    .unwrap()
                            }
                            Err(e) => panic!("{e}"),
                        };
                        let mut answer = engine.check(key, id, at).unwrap();
                        assert_eq!(verdict.verdict, answer.decision);
                        assert_eq!(verdict.known, answer.known);
                        assert_eq!(verdict.name_match, name_match);
                        assert_eq!(verdict.verdict, engine.verdict(key, id, at).unwrap());
                        answer.name_match = name_match;
                        let expected = serde_json::to_vec(&answer).unwrap();
                        assert_eq!(
                            String::from_utf8(json).unwrap(),
                            String::from_utf8(expected).unwrap(),
                            "{key} {} {at}",
                            action.code
                        );
                    }
                }
            }
        }
    }
}

/// Subjects written after the name index was built are found through the
/// delta read from the change log at open; a renamed subject is no longer
/// found by its old name; a second import of many subjects rebuilds.
#[test]
fn search_sees_later_writes_through_the_delta() {
    use creditgate::search::SearchQuery;
    let tmp = tempdir();
    let (_, stderr) = import_sample(tmp.path());
    assert!(stderr.contains("name index: "), "{stderr}");
    let (subjects, _) = load_sample();
    let renamed = subjects
        .iter()
        .find(|s| s.id.kind() == creditgate::id::SubjectKind::Org && s.aliases.is_empty())
        .unwrap();
    let later = tmp.path().join("later.ndjson");
    std::fs::write(
        &later,
        format!(
            "{{\"id\":\"91360100MA35XXXX7J\",\"kind\":\"org\",\"name\":\"南昌新天地测绘科技有限公司\"}}\n\
             {{\"id\":\"{}\",\"kind\":\"org\",\"name\":\"九江焕然一新机电有限公司\"}}\n",
            renamed.id
        ),
    )
    .unwrap();
    let out = creditgate(
        tmp.path(),
        &["import", "--data", "store", later.to_str().unwrap()],
    );
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("name index: "),
        "two subjects must not rebuild: {stderr}"
    );
    let engine = Engine::open(&tmp.path().join("store"), Catalog::bundled()).unwrap();
    assert_eq!(engine.names().delta_subjects(), 2);
    let search = |text: &str| {
        engine
            .search(&SearchQuery {
                text,
                kind: None,
                limit: 5,
                id_prefix: None,
                born: None,
                mask: None,
                min_score: 0.0,
                settle_only: false,
            })
            .unwrap()
    };
    let new = search("南昌新天地测绘科技");
    assert_eq!(new[0].id, "91360100MA35XXXX7J");
    assert!(new[0].score >= 0.8);
    let moved = search("九江焕然一新机电有限公司");
    assert_eq!(moved[0].id, renamed.id.to_string());
    assert_eq!(moved[0].method, creditgate::search::score::Method::Exact);
    // The old name no longer finds the renamed subject as itself.
    let old = search(&renamed.name);
    assert!(
        !old.iter()
            .any(|h| h.id == renamed.id.to_string() && h.score >= 0.8),
        "{old:?}"
    );
}
