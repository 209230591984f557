//! Checks that carry the passenger's name (`/v1/check?…&name=`), answered
//! from the prints the known set keeps, never from the subject's record:
//! every sample subject and alias, names that are wrong or masked, and
//! renames and new aliases written through the API, before and after a
//! restart.

use std::collections::HashSet;
use std::net::SocketAddr;

use creditgate::access::mask_name;
use creditgate::model::Subject;
use creditgate::search::names;
use serde_json::{Value, json};

use crate::http::{Conn, Server, metric, send_json};
use crate::util::{SAMPLE_TODAY as AT, import_sample, load_sample, tempdir};

fn enc(s: &str) -> String {
    s.bytes().map(|b| format!("%{b:02X}")).collect()
}

fn name_match(conn: &mut Conn, id: &str, name: &str) -> Value {
    let res = conn.get(&format!(
        "/v1/check?id={id}&action=flight&at={AT}&name={}",
        enc(name)
    ));
    assert_eq!(res.status, 200, "{id} {name}");
    res.json()["name_match"].clone()
}

/// The subject's names, as the oracle [`names::matches`] takes them.
fn names_of(s: &Subject) -> Vec<&str> {
    std::iter::once(s.name.as_str())
        .chain(s.aliases.iter().map(String::as_str))
        .collect()
}

/// Every sample subject: its current name and each alias match; another
/// subject's name, the name masked as public lists print it, and the
/// name with a character changed match exactly when the reference
/// comparison of normalized texts says so. Clean subjects' named checks
/// read nothing from the store: on a server whose block cache is cold,
/// none goes to a disk reader (before prints, every one did).
#[test]
fn every_sample_name_and_alias_is_matched_from_memory() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (subjects, entries) = load_sample();
    let listed: HashSet<_> = entries.iter().map(|e| e.subject).collect();
    let mut flagged = listed.clone();
    for s in subjects.iter().filter(|s| listed.contains(&s.id)) {
        flagged.extend(s.persons.iter().map(|l| l.person));
    }
    let server = Server::start(tmp.path(), &["--data", "store", "--no-warm"]);
    let mut conn = Conn::open(server.addr);
    // Clean subjects first, so that the disk counter speaks of them alone.
    let mut ordered: Vec<&Subject> = subjects
        .iter()
        .filter(|s| !flagged.contains(&s.id))
        .collect();
    let clean = ordered.len();
    ordered.extend(subjects.iter().filter(|s| flagged.contains(&s.id)));
    let (mut matched, mut refused, mut aliases) = (0, 0, 0);
    for (i, s) in ordered.iter().enumerate() {
        let id = s.id.to_string();
        let own = names_of(s);
        for name in &own {
            assert_eq!(name_match(&mut conn, &id, name), true, "{id} {name}");
            matched += 1;
        }
        aliases += s.aliases.len();
        let other = &ordered[(i + 1) % ordered.len()].name;
        let mut typo: Vec<char> = s.name.chars().collect();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == '甲' { '乙' } else { '甲' };
        let typo: String = typo.into_iter().collect();
        for given in [other.clone(), mask_name(&s.name), typo] {
            let want = names::matches(&given, own.iter().copied());
            assert_eq!(name_match(&mut conn, &id, &given), want, "{id} {given}");
            refused += usize::from(!want);
        }
        if i + 1 == clean {
            assert_eq!(
                metric(server.addr, "creditgate_checks_from_disk_total"),
                0.0,
                "a clean subject's named check went to the disk"
            );
        }
    }
    assert!(aliases > 500, "the sample has aliases to match: {aliases}");
    assert!(matched > subjects.len() && refused > 2 * subjects.len());
    // An id the platform does not know matches no name.
    assert_eq!(
        name_match(&mut conn, "11010519491231002X", &subjects[0].name),
        false
    );
    // A name that normalizes to nothing matches nothing, even an empty one.
    assert_eq!(
        name_match(&mut conn, &subjects[0].id.to_string(), " ·"),
        false
    );
}

/// An organization the sample does not have.
const ORG: &str = "91360100705500005G";

fn put_subject(addr: SocketAddr, id: &str, record: &Value) {
    let res = send_json(addr, "PUT", &format!("/v1/subjects/{id}"), record);
    assert!(
        res.status == 200 || res.status == 201,
        "{}",
        String::from_utf8_lossy(&res.body)
    );
}

/// What `name_match` says for each of `names` given with `id`.
fn answers(addr: SocketAddr, id: &str, names: &[&str]) -> Vec<Value> {
    let mut conn = Conn::open(addr);
    names.iter().map(|n| name_match(&mut conn, id, n)).collect()
}

/// Renames and new aliases written through the API change `name_match` at
/// once, for a new subject and for one imported with the sample; a
/// restart after the writes (the saved set is stale and rebuilt) and a
/// second one (the saved set loaded) answer the same.
#[test]
fn renames_and_aliases_written_live_are_matched_at_once_and_after_restarts() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (subjects, _) = load_sample();
    let imported = subjects
        .iter()
        .find(|s| s.aliases.len() > 1)
        .expect("an organization with aliases");
    // Rewritten with its persons, so that only its names change.
    let persons: Vec<Value> = imported
        .persons
        .iter()
        .map(|l| json!({"id": l.person.to_string(), "role": l.role.as_str()}))
        .collect();
    let imported_id = imported.id.to_string();
    let server = Server::start(tmp.path(), &["--data", "store", "--today", AT]);
    let addr = server.addr;

    let names = [
        "赣江测绘科技有限公司",
        "赣江测量所",
        "洪城勘察设计院有限公司",
    ];
    assert_eq!(answers(addr, ORG, &names), [false, false, false]);
    put_subject(addr, ORG, &json!({"kind": "org", "name": names[0]}));
    assert_eq!(answers(addr, ORG, &names), [true, false, false]);
    // A new alias: a name that matches only an alias.
    put_subject(
        addr,
        ORG,
        &json!({"kind": "org", "name": names[0], "aliases": [names[1]]}),
    );
    assert_eq!(answers(addr, ORG, &names), [true, true, false]);
    // Renamed, the old name dropped, the alias kept.
    put_subject(
        addr,
        ORG,
        &json!({"kind": "org", "name": names[2], "aliases": [names[1]]}),
    );
    let new_org = [false, true, true];
    assert_eq!(answers(addr, ORG, &names), new_org);

    // A subject of the base: renamed, its aliases replaced.
    let old: Vec<&str> = names_of(imported);
    let renamed = "抚州临川新名字贸易有限公司";
    assert!(answers(addr, &imported_id, &old).iter().all(|v| v == true));
    put_subject(
        addr,
        &imported_id,
        &json!({"kind": "org", "name": renamed, "aliases": [old[0]], "persons": persons}),
    );
    let mut asked = old.clone();
    asked.push(renamed);
    let want: Vec<Value> = asked
        .iter()
        .map(|n| Value::Bool(names::matches(n, [renamed, old[0]])))
        .collect();
    assert!(want.iter().any(|v| v == false), "a dropped alias is asked");
    assert_eq!(answers(addr, &imported_id, &asked), want);
    drop(server);

    for _ in 0..2 {
        let server = Server::start(tmp.path(), &["--data", "store", "--today", AT]);
        assert_eq!(answers(server.addr, ORG, &names), new_org);
        assert_eq!(answers(server.addr, &imported_id, &asked), want);
    }
}
