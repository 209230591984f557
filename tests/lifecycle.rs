//! The lifecycle over HTTP against the real server: every transition and
//! every refusal, visibility to checks and search, the change feed (resume,
//! filters, long polls), expiry, and acknowledged writes surviving SIGKILL.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Conn, Resp, Server, get, send_json};
use crate::util::{SAMPLE_TODAY as TODAY, creditgate, import_sample, tempdir, texts};

/// An organization the sample does not have, and its legal representative.
pub(crate) const ORG: &str = "91360100705500005G";
const REP: &str = "11010519491231002X";

pub(crate) fn org_record() -> Value {
    json!({"kind":"org","name":"江西赣江测绘科技有限公司","persons":[{"id": REP, "role":"legal_rep"}]})
}

pub(crate) fn entry_record(category: &str, basis: &str) -> Value {
    json!({"subject_id": ORG, "list":"black", "category": category, "authority":"南昌市中级人民法院",
           "basis": basis, "decided_at":"2026-10-01"})
}

fn decision(addr: SocketAddr, id: &str, action: &str) -> Value {
    let res = get(addr, &format!("/v1/check?id={id}&action={action}"));
    assert_eq!(res.status, 200);
    res.json()
}

fn step(addr: SocketAddr, entry: &str, step: &str, body: Value) -> Resp {
    send_json(addr, "POST", &format!("/v1/entries/{entry}/{step}"), &body)
}

fn assert_refused(res: &Resp, status: u16, code: &str, says: &str) {
    assert_eq!(res.status, status, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.error_code(), code);
    let message = res.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

fn status_of(addr: SocketAddr, entry: &str) -> String {
    let res = get(addr, &format!("/v1/entries/{entry}"));
    assert_eq!(res.status, 200);
    res.json()["entry"]["status"].as_str().unwrap().to_string()
}

#[test]
fn every_transition_over_http_is_checked_visible_and_kept_as_history() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;

    // A new organization, then an entry on it: both visible at once.
    assert_eq!(decision(addr, ORG, "flight")["known"], false);
    let res = send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &org_record());
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["result"], "inserted");
    assert_eq!(decision(addr, ORG, "flight")["known"], true);
    let again = send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &org_record());
    assert_eq!(
        (again.status, again.json()["result"].clone()),
        (200, json!("unchanged"))
    );

    let res = send_json(
        addr,
        "PUT",
        "/v1/entries/LC-1",
        &entry_record("dishonest_debtor", "(2026)赣01执7号"),
    );
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let change = &res.json()["changes"][0];
    assert_eq!(change["type"], "entry_inserted");
    assert_eq!(change["entry"]["status"], "active");
    assert_eq!(decision(addr, ORG, "flight")["decision"], "deny");
    // The legal representative is restricted through the organization.
    let rep = decision(addr, REP, "flight");
    assert_eq!(rep["decision"], "deny");
    assert_eq!(rep["reasons"][0]["via"]["org_id"], ORG);

    // Objection: disputed, suspended, a 20-day deadline.
    let res = step(
        addr,
        "LC-1",
        "objection",
        json!({"reason":"款项已于2026年10月20日履行完毕"}),
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let filed = res.json();
    assert_eq!(filed["type"], "objection_filed");
    assert_eq!(filed["entry"]["status"], "disputed");
    assert_eq!(filed["entry"]["objection"]["filed_on"], TODAY);
    assert_eq!(filed["entry"]["objection"]["deadline"], "2026-12-15");
    let suspended = decision(addr, ORG, "flight");
    assert_eq!(suspended["decision"], "allow");
    assert_eq!(suspended["suspended"][0]["entry_id"], "LC-1");
    assert_eq!(decision(addr, REP, "flight")["decision"], "allow");

    // What a disputed entry refuses.
    assert_refused(
        &step(addr, "LC-1", "objection", json!({"reason":"再次"})),
        409,
        "conflict",
        "already under objection",
    );
    assert_refused(
        &step(addr, "LC-1", "repair", json!({"note":"n"})),
        409,
        "conflict",
        "decide the objection first",
    );
    assert_refused(
        &step(addr, "LC-1", "revoke", json!({"reason":"r"})),
        409,
        "conflict",
        "revoked by the objection's outcome",
    );
    assert_refused(
        &send_json(
            addr,
            "PUT",
            "/v1/entries/LC-1",
            &entry_record("dishonest_debtor", "x"),
        ),
        409,
        "conflict",
        "under objection",
    );

    // Upheld: active again, and no second objection.
    let res = step(
        addr,
        "LC-1",
        "outcome",
        json!({"outcome":"upheld","note":"经核实，信息无误"}),
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["entry"]["objection"]["outcome"], "upheld");
    assert_eq!(decision(addr, ORG, "flight")["decision"], "deny");
    assert_refused(
        &step(addr, "LC-1", "objection", json!({"reason":"again"})),
        409,
        "conflict",
        "already decided (upheld",
    );
    assert_refused(
        &step(
            addr,
            "LC-1",
            "outcome",
            json!({"outcome":"upheld","note":"n"}),
        ),
        409,
        "conflict",
        "no objection to decide",
    );

    // Repair lifts the measures and keeps the record; then revocation.
    let res = step(
        addr,
        "LC-1",
        "repair",
        json!({"note":"已履行并公示修复说明"}),
    );
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["entry"]["repair"]["note"],
        "已履行并公示修复说明"
    );
    assert_eq!(decision(addr, ORG, "flight")["decision"], "allow");
    assert_eq!(decision(addr, REP, "flight")["decision"], "allow");
    assert_refused(
        &step(addr, "LC-1", "repair", json!({"note":"n"})),
        409,
        "conflict",
        "was repaired on 2026-11-25",
    );
    let res = step(addr, "LC-1", "revoke", json!({"reason":"错误列入"}));
    assert_eq!(
        (res.status, res.json()["type"].clone()),
        (200, json!("entry_revoked"))
    );
    assert_refused(
        &step(addr, "LC-1", "repair", json!({"note":"n"})),
        409,
        "conflict",
        "was revoked on 2026-11-25",
    );
    assert_refused(
        &step(addr, "LC-1", "revoke", json!({"reason":"r"})),
        409,
        "conflict",
        "cannot be revoked again",
    );
    assert_refused(
        &send_json(
            addr,
            "PUT",
            "/v1/entries/LC-1",
            &entry_record("dishonest_debtor", "x"),
        ),
        409,
        "conflict",
        "publish a new entry id",
    );

    // A second entry: corrected (fields replaced), objected to again,
    // then revoked by the outcome.
    let res = send_json(
        addr,
        "PUT",
        "/v1/entries/LC-2",
        &entry_record("dishonest_debtor", "(2026)赣01执8号"),
    );
    assert_eq!(res.status, 201);
    assert_eq!(
        step(addr, "LC-2", "objection", json!({"reason":"案号错误"})).status,
        200
    );
    assert_refused(
        &step(
            addr,
            "LC-2",
            "outcome",
            json!({"outcome":"corrected","note":"n"}),
        ),
        400,
        "invalid_body",
        "carries the corrected entry",
    );
    let corrected = entry_record("major_tax_violation", "赣税稽罚〔2026〕3号");
    let res = step(
        addr,
        "LC-2",
        "outcome",
        json!({"outcome":"corrected","note":"更正类别与文号","entry": corrected}),
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let after = res.json();
    assert_eq!(after["type"], "objection_corrected");
    assert_eq!(after["entry"]["category"], "major_tax_violation");
    assert_eq!(after["entry"]["basis"], "赣税稽罚〔2026〕3号");
    assert_eq!(after["entry"]["status"], "active");
    // flight is not restricted by a tax violation; exit is.
    assert_eq!(decision(addr, ORG, "flight")["decision"], "allow");
    assert_eq!(decision(addr, ORG, "exit")["decision"], "deny");
    assert_eq!(
        step(addr, "LC-2", "objection", json!({"reason":"再次异议"})).status,
        200
    );
    let res = step(
        addr,
        "LC-2",
        "outcome",
        json!({"outcome":"revoked","note":"撤销"}),
    );
    assert_eq!(
        (res.status, res.json()["entry"]["status"].clone()),
        (200, json!("revoked"))
    );
    assert_eq!(decision(addr, ORG, "exit")["decision"], "allow");

    // Every transition is in the subject's history, with its note.
    let subject = get(addr, &format!("/v1/subjects/{ORG}")).json();
    let history: Vec<(String, String)> = subject["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["entry_id"] == "LC-1")
        .map(|h| {
            (
                h["change"].as_str().unwrap().into(),
                h["note"].as_str().unwrap_or("").into(),
            )
        })
        .collect();
    assert_eq!(
        history,
        [
            ("entry_inserted".into(), String::new()),
            (
                "objection_filed".into(),
                "款项已于2026年10月20日履行完毕".into()
            ),
            ("objection_upheld".into(), "经核实，信息无误".into()),
            ("entry_repaired".into(), "已履行并公示修复说明".into()),
            ("entry_revoked".into(), "错误列入".into()),
        ]
    );
    let entry = get(addr, "/v1/entries/LC-2").json();
    let kinds: Vec<&str> = entry["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["change"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "entry_inserted",
            "objection_filed",
            "objection_corrected",
            "objection_filed",
            "objection_revoked"
        ]
    );

    // Search finds the new organization within 5 s.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = get(
            addr,
            "/v1/search?q=%E8%B5%A3%E6%B1%9F%E6%B5%8B%E7%BB%98%E7%A7%91%E6%8A%80",
        )
        .json();
        if found["results"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == ORG)
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "search did not see the new subject within 5 s: {found}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    server.terminate();
    let (code, _) = server.wait(Duration::from_secs(20));
    assert_eq!(code, Some(0));
    // The CLI shows the same history from the store.
    let out = creditgate(tmp.path(), &["show", ORG, "--data", "store"]);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("objection_upheld") && stdout.contains("已履行并公示修复说明"),
        "{stdout}"
    );
}

#[test]
fn malformed_and_misdirected_writes_are_refused_and_change_nothing() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;
    let before = get(addr, "/v1/changes?limit=1").json()["last_seq"].clone();
    assert_eq!(
        send_json(
            addr,
            "PUT",
            "/v1/entries/LC-9",
            &entry_record("dishonest_debtor", "b")
        )
        .status,
        201
    );
    let after_publish = get(addr, "/v1/changes?limit=1").json()["last_seq"].clone();
    assert_eq!(after_publish.as_u64(), before.as_u64().map(|b| b + 1));

    let put_raw = |path: &str, body: &[u8]| Conn::open(addr).send("PUT", path, &[], body);
    let post_raw = |path: &str, body: &[u8]| Conn::open(addr).send("POST", path, &[], body);
    assert_refused(
        &put_raw("/v1/entries/LC-10", b"{\"subject_id\":"),
        400,
        "invalid_body",
        "EOF",
    );
    assert_refused(
        &put_raw("/v1/entries/LC-10", b""),
        400,
        "invalid_body",
        "empty",
    );
    assert_refused(
        &put_raw("/v1/entries/LC-10", b"[1,2]"),
        400,
        "invalid_body",
        "not an object",
    );
    assert_refused(
        &put_raw("/v1/entries/LC-10", b"\xff\xfe"),
        400,
        "invalid_body",
        "not UTF-8",
    );
    let mut bad = entry_record("no_such_category", "b");
    assert_refused(
        &send_json(addr, "PUT", "/v1/entries/LC-10", &bad),
        400,
        "invalid_body",
        "field \"category\": unknown category",
    );
    bad = entry_record("dishonest_debtor", "b");
    bad["subject_id"] = json!("91360100705500005H");
    assert_refused(
        &send_json(addr, "PUT", "/v1/entries/LC-10", &bad),
        400,
        "invalid_body",
        "field \"subject_id\"",
    );
    bad = entry_record("dishonest_debtor", "b");
    bad["entry_id"] = json!("OTHER");
    assert_refused(
        &send_json(addr, "PUT", "/v1/entries/LC-10", &bad),
        400,
        "invalid_body",
        "differs from the path",
    );
    bad = entry_record("dishonest_debtor", "b");
    bad["status"] = json!("repaired");
    assert_refused(
        &send_json(addr, "PUT", "/v1/entries/LC-10", &bad),
        400,
        "invalid_body",
        "field \"status\"",
    );
    bad = entry_record("dishonest_debtor", "b");
    bad["decided_at"] = json!(20261001);
    assert_refused(
        &send_json(addr, "PUT", "/v1/entries/LC-10", &bad),
        400,
        "invalid_body",
        "field \"decided_at\"",
    );
    assert_refused(
        &send_json(
            addr,
            "PUT",
            "/v1/subjects/91360100705500005H",
            &org_record(),
        ),
        400,
        "invalid_body",
        "check character",
    );
    let mut person = org_record();
    person["persons"][0]["id"] = json!("110105194912310021");
    assert_refused(
        &send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &person),
        400,
        "invalid_body",
        "persons[0].id",
    );

    // Transition bodies: every field named.
    assert_refused(
        &step(addr, "LC-9", "objection", json!({})),
        400,
        "invalid_body",
        "missing field `reason`",
    );
    assert_refused(
        &step(addr, "LC-9", "objection", json!({"reason": 5})),
        400,
        "invalid_body",
        "field \"reason\"",
    );
    assert_refused(
        &step(addr, "LC-9", "objection", json!({"reason": "   "})),
        400,
        "invalid_body",
        "field \"reason\": must not be empty",
    );
    assert_refused(
        &step(
            addr,
            "LC-9",
            "objection",
            json!({"reason": "r", "filed_at": "2026-11-01"}),
        ),
        400,
        "invalid_body",
        "unknown field `filed_at`",
    );
    assert_refused(
        &step(
            addr,
            "LC-9",
            "objection",
            json!({"reason": "r", "filed_on": "2026-11-26"}),
        ),
        400,
        "invalid_body",
        "in the future",
    );
    assert_refused(
        &step(
            addr,
            "LC-9",
            "objection",
            json!({"reason": "r", "filed_on": "2026-02-30"}),
        ),
        400,
        "invalid_body",
        "filed_on",
    );
    assert_refused(
        &step(
            addr,
            "LC-9",
            "outcome",
            json!({"outcome": "maybe", "note": "n"}),
        ),
        400,
        "invalid_body",
        "unknown variant `maybe`",
    );
    assert_refused(
        &step(
            addr,
            "LC-9",
            "outcome",
            json!({"outcome": "upheld", "note": "n", "entry": {}}),
        ),
        400,
        "invalid_body",
        "only a corrected outcome",
    );
    assert_refused(
        &post_raw("/v1/entries/LC-9/objection", b"reason=x"),
        400,
        "invalid_body",
        "line",
    );
    // The state forbids it: nothing to decide.
    assert_refused(
        &step(
            addr,
            "LC-9",
            "outcome",
            json!({"outcome": "upheld", "note": "n"}),
        ),
        409,
        "conflict",
        "no objection to decide",
    );
    // Unknown entries, steps, methods; oversized bodies.
    assert_refused(
        &step(addr, "NOPE", "objection", json!({"reason": "r"})),
        404,
        "unknown_entry",
        "\"NOPE\"",
    );
    assert_refused(&get(addr, "/v1/entries/NOPE"), 404, "unknown_entry", "NOPE");
    assert_refused(
        &step(addr, "LC-9", "appeal", json!({})),
        404,
        "not_found",
        "objection, outcome, repair and revoke",
    );
    let res = get(addr, "/v1/entries/LC-9/objection");
    assert_refused(&res, 405, "method_not_allowed", "use POST");
    assert_eq!(res.header("allow"), Some("POST"));
    let res = Conn::open(addr).send("DELETE", "/v1/entries/LC-9", &[], b"");
    assert_eq!(
        (res.status, res.header("allow")),
        (405, Some("GET, HEAD, PUT"))
    );
    let huge = format!("{{\"reason\":\"{}\"}}", "x".repeat(300 << 10));
    assert_refused(
        &post_raw("/v1/entries/LC-9/objection", huge.as_bytes()),
        413,
        "payload_too_large",
        "bytes",
    );

    // None of it changed anything.
    assert_eq!(status_of(addr, "LC-9"), "active");
    let now = get(addr, "/v1/changes?limit=1").json()["last_seq"].clone();
    assert_eq!(now, after_publish);
}

/// Reads the whole feed from `since` in pages of `limit`, a new connection
/// for each page (a reader that disconnects between pages).
pub(crate) fn read_feed(
    addr: SocketAddr,
    since: u64,
    limit: usize,
    filter: &str,
) -> (Vec<Value>, u64) {
    let mut since = since;
    let mut all = Vec::new();
    loop {
        let page = get(
            addr,
            &format!("/v1/changes?since={since}&limit={limit}{filter}"),
        )
        .json();
        let changes = page["changes"].as_array().unwrap();
        let next = page["next_since"].as_u64().unwrap();
        all.extend(changes.iter().cloned());
        if next == since {
            return (all, since);
        }
        since = next;
    }
}

#[test]
fn the_feed_resumes_without_gap_or_duplicate_filters_and_long_polls() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;

    let (all, end) = read_feed(addr, 0, 1000, "");
    let last = get(addr, "/v1/changes?limit=1").json()["last_seq"]
        .as_u64()
        .unwrap();
    assert_eq!(end, last);
    let seqs: Vec<u64> = all.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=last).collect::<Vec<_>>(),
        "every change once, in order"
    );
    assert!(
        all.iter()
            .any(|c| c["type"] == "subject_inserted" && c["subject"]["name"].is_string())
    );
    assert!(
        all.iter()
            .any(|c| c["type"] == "entry_inserted" && c["entry"]["category"].is_string())
    );
    // Small pages, a new connection each: the same changes.
    let (paged, _) = read_feed(addr, 0, 7, "");
    assert_eq!(paged, all);
    // Resuming from the middle gives the rest exactly.
    let (rest, _) = read_feed(addr, 100, 250, "");
    assert_eq!(rest, all[100..]);

    // Filters: only what matches, and the reader still reaches the end.
    let (debtors, end) = read_feed(addr, 0, 50, "&category=dishonest_debtor");
    assert_eq!(end, last);
    assert!(!debtors.is_empty());
    assert!(
        debtors
            .iter()
            .all(|c| c["entry"]["category"] == "dishonest_debtor")
    );
    let expected = all
        .iter()
        .filter(|c| c["entry"]["category"] == "dishonest_debtor")
        .count();
    assert_eq!(debtors.len(), expected);
    let authority = debtors[0]["entry"]["authority"]
        .as_str()
        .unwrap()
        .to_string();
    let encoded: String = authority.bytes().map(|b| format!("%{b:02X}")).collect();
    let (by_authority, _) = read_feed(addr, 0, 1000, &format!("&authority={encoded}"));
    assert!(!by_authority.is_empty());
    assert!(
        by_authority
            .iter()
            .all(|c| c["entry"]["authority"] == authority.as_str())
    );

    // A long poll returns as soon as a write is committed.
    let waiter = std::thread::spawn(move || {
        let started = Instant::now();
        let page = get(addr, &format!("/v1/changes?since={last}&wait=20")).json();
        (page, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        send_json(
            addr,
            "PUT",
            "/v1/entries/FEED-1",
            &entry_record("work_safety", "安监罚〔2026〕1号")
        )
        .status,
        201
    );
    let (page, waited) = waiter.join().unwrap();
    assert!(
        waited < Duration::from_secs(5),
        "the long poll waited {waited:?}"
    );
    let changes = page["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{page}");
    assert_eq!(changes[0]["seq"].as_u64(), Some(last + 1));
    assert_eq!(changes[0]["entry_id"], "FEED-1");
    assert_eq!(changes[0]["entry"]["category"], "work_safety");
    // With nothing new, a long poll answers an empty page at its deadline.
    let started = Instant::now();
    let page = get(addr, &format!("/v1/changes?since={}&wait=1", last + 1)).json();
    assert!(page["changes"].as_array().unwrap().is_empty());
    assert!(started.elapsed() >= Duration::from_millis(900));

    // Bad parameters.
    for (query, says) in [
        ("since=abc", "\"since\""),
        ("limit=0", "at least 1"),
        ("limit=1001", "more than 1000"),
        ("wait=61", "more than 60"),
        ("category=nope", "unknown category"),
        ("sinse=1", "unknown parameter"),
    ] {
        let res = get(addr, &format!("/v1/changes?{query}"));
        assert_eq!(res.status, 400, "{query}");
        let message = res.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{query}: {message}");
    }
}

#[test]
fn an_entry_past_its_term_stops_counting_and_the_feed_reports_it_once() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;
    let mut record = entry_record("dishonest_debtor", "(2026)赣01执9号");
    record["expires_at"] = json!("2026-11-28");
    assert_eq!(
        send_json(addr, "PUT", "/v1/entries/TERM-1", &record).status,
        201
    );
    let at = |date: &str| {
        get(addr, &format!("/v1/check?id={ORG}&action=flight&at={date}")).json()["decision"].clone()
    };
    assert_eq!(at("2026-11-27"), "deny");
    assert_eq!(
        at("2026-11-28"),
        "allow",
        "no write is needed for the term to end"
    );
    let last = get(addr, "/v1/changes?limit=1").json()["last_seq"]
        .as_u64()
        .unwrap();
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(20)).0, Some(0));

    // Days later: the lapse is logged at start, once.
    let server = Server::start(tmp.path(), &["--data", "store", "--today", "2026-11-30"]);
    let (lapsed, _) = read_feed(server.addr, last, 1000, "");
    assert!(
        lapsed.iter().all(|c| c["type"] == "entry_expired"),
        "{lapsed:?}"
    );
    let ours: Vec<&Value> = lapsed
        .iter()
        .filter(|c| c["entry_id"] == "TERM-1")
        .collect();
    assert_eq!(ours.len(), 1);
    assert_eq!(ours[0]["entry"]["derived_status"], "expired");
    let ids: BTreeSet<&str> = lapsed
        .iter()
        .map(|c| c["entry_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), lapsed.len(), "each lapse once");
    let after = get(server.addr, "/v1/changes?limit=1").json()["last_seq"]
        .as_u64()
        .unwrap();
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(20)).0, Some(0));
    let server = Server::start(tmp.path(), &["--data", "store", "--today", "2026-11-30"]);
    assert_eq!(
        get(server.addr, "/v1/changes?limit=1").json()["last_seq"].as_u64(),
        Some(after)
    );
}

/// Writers stream entries and objections while the server is killed with
/// SIGKILL; after a restart every acknowledged write is there, the checks
/// agree with it, and the change log has no gap.
#[test]
fn acknowledged_writes_survive_sigkill() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let mut server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;
    assert_eq!(
        send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &org_record()).status,
        201
    );
    // entry id -> its last acknowledged status
    let acked: Arc<Mutex<HashMap<String, &'static str>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let acked = acked.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for i in 0.. {
                    let id = format!("KILL-{w}-{i}");
                    let body = entry_record("dishonest_debtor", &format!("(2026)赣01执{w}{i}号"))
                        .to_string();
                    let Ok(res) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        conn.send("PUT", &format!("/v1/entries/{id}"), &[], body.as_bytes())
                    })) else {
                        return;
                    };
                    if res.status != 201 {
                        return;
                    }
                    acked.lock().unwrap().insert(id.clone(), "active");
                    if i % 3 == 0 {
                        // Either, until the objection is acknowledged.
                        acked.lock().unwrap().insert(id.clone(), "either");
                        let body = json!({"reason":"异议"}).to_string();
                        let path = format!("/v1/entries/{id}/objection");
                        let Ok(res) =
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                conn.send("POST", &path, &[], body.as_bytes())
                            }))
                        else {
                            return;
                        };
                        if res.status != 200 {
                            return;
                        }
                        acked.lock().unwrap().insert(id, "disputed");
                    }
                }
            })
        })
        .collect();
    // Let writes flow, then kill the server in the middle of them.
    let deadline = Instant::now() + Duration::from_secs(20);
    while acked.lock().unwrap().len() < 200 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    server.child.kill().expect("SIGKILL");
    server.child.wait().unwrap();
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 50,
        "only {} writes were acknowledged",
        acked.len()
    );
    drop(server);

    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;
    let mut conn = Conn::open(addr);
    for (id, status) in &acked {
        let res = conn.get(&format!("/v1/entries/{id}"));
        assert_eq!(res.status, 200, "acknowledged entry {id} is lost");
        let stored = res.json()["entry"]["status"].as_str().unwrap().to_string();
        match *status {
            "either" => assert!(stored == "active" || stored == "disputed", "{id}: {stored}"),
            s => assert_eq!(stored, s, "{id}"),
        }
    }
    // The indexes agree with the store: an active acknowledged entry denies.
    let check = conn
        .get(&format!("/v1/check?id={ORG}&action=flight"))
        .json();
    let counted: BTreeSet<&str> = check["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entry_id"].as_str().unwrap())
        .collect();
    let suspended: BTreeSet<&str> = check["suspended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["entry_id"].as_str().unwrap())
        .collect();
    for (id, status) in &acked {
        let id = id.as_str();
        match *status {
            "active" => assert!(counted.contains(id), "{id} should count"),
            "disputed" => assert!(suspended.contains(id), "{id} should be suspended"),
            _ => assert!(
                counted.contains(id) || suspended.contains(id),
                "{id} is missing"
            ),
        }
    }
    assert_eq!(check["decision"], "deny");
    let rep = conn
        .get(&format!("/v1/check?id={REP}&action=flight"))
        .json();
    assert_eq!(rep["decision"], "deny");
    // No gap in the log.
    let (all, end) = read_feed(addr, 0, 1000, "");
    let seqs: Vec<u64> = all.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=end).collect::<Vec<_>>());
}
