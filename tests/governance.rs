//! Governance against the real server and binary: keys and roles (every
//! forbidden call refused and changing nothing), scoped publishing,
//! masking, execution feedback, the audit and its retention, statistics,
//! key revocation while serving, and the open mode's loopback rule.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Conn, Resp, Server};
use crate::util::{SAMPLE_TODAY as TODAY, creditgate, import_sample, tempdir, texts};

/// A denied person of the sample and their entry (another court's).
const PERSON: &str = "36102519400601500X";
const PERSON_MASKED: &str = "361025********500X";
const SAMPLE_ENTRY: &str = "JXFY-2022-0000000247-0";
const COURT: &str = "南昌市中级人民法院";
const ORG: &str = "91360100705500005G";

/// Makes a key with the real binary; its id and token.
pub(crate) fn make_key(dir: &Path, args: &[&str]) -> (String, String) {
    let mut all = vec!["keys", "create", "--file", "keys.json"];
    all.extend_from_slice(args);
    let out = creditgate(dir, &all);
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let token = stdout.trim().to_string();
    let id = token.split('_').nth(1).unwrap().to_string();
    assert!(stderr.contains(&id), "{stderr}");
    (id, token)
}

struct Keys {
    airline: String,
    airline_id: String,
    registry: String,
    court: String,
    court_id: String,
    ops: String,
    admin: String,
    revoked: String,
}

fn keys(dir: &Path) -> Keys {
    let (airline_id, airline) = make_key(
        dir,
        &[
            "--department",
            "东方航空",
            "--role",
            "query",
            "--action",
            "flight",
            "--action",
            "rail_premium",
        ],
    );
    let (_, registry) = make_key(
        dir,
        &[
            "--department",
            "南昌市不动产登记中心",
            "--role",
            "screen",
            "--role",
            "query",
        ],
    );
    let (court_id, court) = make_key(
        dir,
        &[
            "--department",
            "南昌中院",
            "--role",
            "publish",
            "--authority",
            COURT,
        ],
    );
    let (_, ops) = make_key(dir, &["--department", "省信用中心", "--role", "operator"]);
    let (_, admin) = make_key(dir, &["--department", "平台管理", "--role", "admin"]);
    let (revoked_id, revoked) = make_key(dir, &["--department", "旧系统", "--role", "query"]);
    let out = creditgate(dir, &["keys", "revoke", "--file", "keys.json", &revoked_id]);
    assert!(out.status.success(), "{}", texts(&out).1);
    Keys {
        airline,
        airline_id,
        registry,
        court,
        court_id,
        ops,
        admin,
        revoked,
    }
}

pub(crate) fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Resp {
    let auth = token.map(|t| format!("Authorization: Bearer {t}"));
    let headers: Vec<&str> = auth.iter().map(String::as_str).collect();
    let body = body.map(Value::to_string).unwrap_or_default();
    Conn::open(addr).send(method, path, &headers, body.as_bytes())
}

pub(crate) fn refused(res: &Resp, status: u16, code: &str, says: &str) {
    assert_eq!(res.status, status, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.error_code(), code);
    let message = res.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(says), "{message:?} should say {says:?}");
}

fn entry(authority: &str, basis: &str) -> Value {
    json!({"subject_id": ORG, "list":"black", "category":"dishonest_debtor", "authority": authority,
           "basis": basis, "decided_at":"2026-10-01"})
}

/// The last change sequence, asked with `token`.
pub(crate) fn last_seq(addr: SocketAddr, token: &str) -> u64 {
    call(addr, "GET", "/v1/changes?limit=1", Some(token), None).json()["last_seq"]
        .as_u64()
        .unwrap()
}

#[test]
fn keys_roles_scopes_masking_feedback_audit_and_stats() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let k = keys(tmp.path());
    let list = texts(&creditgate(
        tmp.path(),
        &["keys", "list", "--file", "keys.json"],
    ))
    .0;
    assert_eq!(list.lines().count(), 6);
    assert!(!list.contains(&k.airline[20..]), "tokens are never listed");
    assert!(
        !std::fs::read_to_string(tmp.path().join("keys.json"))
            .unwrap()
            .contains(&k.airline[20..])
    );
    let server = Server::start(
        tmp.path(),
        &["--data", "store", "--today", TODAY, "--keys", "keys.json"],
    );
    let addr = server.addr;
    let check = format!("/v1/check?id={PERSON}&action=flight");

    // Who: 401 without, with a bad and with a revoked key; healthz is open.
    let res = call(addr, "GET", &check, None, None);
    refused(&res, 401, "unauthorized", "requires an API key");
    assert!(
        res.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    refused(
        &call(addr, "GET", &check, Some("cgk_000000000000_00"), None),
        401,
        "unauthorized",
        "not known",
    );
    refused(
        &call(addr, "GET", &check, Some("abc"), None),
        401,
        "unauthorized",
        "Bearer cgk_",
    );
    refused(
        &call(addr, "GET", &check, Some(&k.revoked), None),
        401,
        "unauthorized",
        "revoked",
    );
    assert_eq!(call(addr, "GET", "/healthz", None, None).status, 200);

    // The airline: its actions, masked answers, nothing else.
    let before = last_seq(addr, &k.admin);
    let res = call(addr, "GET", &check, Some(&k.airline), None);
    assert_eq!(res.status, 200);
    let answer = res.json();
    assert_eq!(
        (answer["id"].as_str(), answer["decision"].as_str()),
        (Some(PERSON_MASKED), Some("deny"))
    );
    refused(
        &call(
            addr,
            "GET",
            &format!("/v1/check?id={PERSON}&action=real_estate"),
            Some(&k.airline),
            None,
        ),
        403,
        "forbidden",
        "may ask about flight, rail_premium; not \"real_estate\"",
    );
    let subject = call(
        addr,
        "GET",
        &format!("/v1/subjects/{PERSON}"),
        Some(&k.airline),
        None,
    )
    .json();
    assert_eq!(subject["id"], PERSON_MASKED);
    let name = subject["name"].as_str().unwrap();
    assert!(name.chars().skip(1).all(|c| c == '*'), "{name}");
    let admin_view = call(
        addr,
        "GET",
        &format!("/v1/subjects/{PERSON}"),
        Some(&k.admin),
        None,
    )
    .json();
    assert_eq!(admin_view["id"], PERSON);
    let full_name = admin_view["name"].as_str().unwrap().to_string();
    assert!(!full_name.contains('*'));
    let q: String = full_name.bytes().map(|b| format!("%{b:02X}")).collect();
    let found = call(
        addr,
        "GET",
        &format!("/v1/search?q={q}&kind=person"),
        Some(&k.airline),
        None,
    )
    .json();
    let first = &found["results"][0];
    assert!(
        first["id"].as_str().unwrap().contains("********"),
        "{first}"
    );
    assert!(first["name"].as_str().unwrap().ends_with('*'), "{first}");
    for (method, path, needs) in [
        ("GET", "/v1/stats", "operator"),
        ("GET", "/v1/audit", "operator"),
        ("GET", "/metrics", "operator"),
        ("PUT", "/v1/entries/GOV-1", "publish"),
        (
            "POST",
            &format!("/v1/entries/{SAMPLE_ENTRY}/repair") as &str,
            "publish",
        ),
        ("PUT", &format!("/v1/subjects/{ORG}") as &str, "publish"),
        ("POST", "/v1/screen?action=flight", "screen"),
    ] {
        let body = json!({"note":"n","reason":"r"});
        refused(
            &call(addr, method, path, Some(&k.airline), Some(&body)),
            403,
            "forbidden",
            &format!("needs the {needs} role"),
        );
    }
    // The court publishes for its own authority only.
    refused(
        &call(addr, "GET", &check, Some(&k.court), None),
        403,
        "forbidden",
        "needs the query role",
    );
    let res = call(
        addr,
        "PUT",
        "/v1/entries/GOV-1",
        Some(&k.court),
        Some(&entry(COURT, "(2026)赣01执1号")),
    );
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    refused(
        &call(
            addr,
            "PUT",
            "/v1/entries/GOV-2",
            Some(&k.court),
            Some(&entry("江西省高级人民法院", "x")),
        ),
        403,
        "forbidden",
        &format!("publishes for {COURT}; not for \"江西省高级人民法院\""),
    );
    refused(
        &call(
            addr,
            "POST",
            &format!("/v1/entries/{SAMPLE_ENTRY}/revoke"),
            Some(&k.court),
            Some(&json!({"reason":"r"})),
        ),
        403,
        "forbidden",
        "南昌市青山湖区人民法院",
    );
    refused(
        &call(
            addr,
            "PUT",
            &format!("/v1/entries/{SAMPLE_ENTRY}"),
            Some(&k.court),
            Some(&entry(COURT, "moved")),
        ),
        403,
        "forbidden",
        "南昌市青山湖区人民法院",
    );
    let corrected =
        json!({"outcome":"corrected","note":"n","entry": entry("江西省高级人民法院", "y")});
    assert_eq!(
        call(
            addr,
            "POST",
            "/v1/entries/GOV-1/objection",
            Some(&k.court),
            Some(&json!({"reason":"r","filed_on":"2026-10-26"}))
        )
        .status,
        200
    );
    refused(
        &call(
            addr,
            "POST",
            "/v1/entries/GOV-1/outcome",
            Some(&k.court),
            Some(&corrected),
        ),
        403,
        "forbidden",
        "not for \"江西省高级人民法院\"",
    );
    // Nothing refused changed anything: only GOV-1's publication and objection.
    assert_eq!(last_seq(addr, &k.admin), before + 2);
    assert_eq!(
        call(addr, "GET", "/v1/entries/GOV-2", Some(&k.admin), None).status,
        404
    );
    let sample = call(
        addr,
        "GET",
        &format!("/v1/entries/{SAMPLE_ENTRY}"),
        Some(&k.admin),
        None,
    )
    .json();
    assert_eq!(sample["entry"]["status"], "active");
    assert_eq!(sample["entry"]["basis"], "(2022)赣11执3411号");
    assert_eq!(
        call(addr, "GET", "/v1/entries/GOV-1", Some(&k.admin), None).json()["entry"]["status"],
        "disputed"
    );

    // Execution feedback: kept per entry, the implementer from the key.
    let feedback = json!({"entry_id": SAMPLE_ENTRY, "measure":"debtor_flight", "action":"flight", "outcome":"enforced", "note":"拒绝售票"});
    let res = call(
        addr,
        "POST",
        "/v1/feedback",
        Some(&k.airline),
        Some(&feedback),
    );
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["implementer"], "东方航空");
    let mut wrong = feedback.clone();
    wrong["measure"] = json!("no_such_measure");
    refused(
        &call(addr, "POST", "/v1/feedback", Some(&k.airline), Some(&wrong)),
        400,
        "invalid_body",
        "not a measure of category dishonest_debtor",
    );
    let mut wrong = feedback.clone();
    wrong["action"] = json!("real_estate");
    refused(
        &call(addr, "POST", "/v1/feedback", Some(&k.airline), Some(&wrong)),
        400,
        "invalid_body",
        "does not concern real_estate",
    );
    let mut wrong = feedback.clone();
    wrong["entry_id"] = json!("NOPE");
    refused(
        &call(addr, "POST", "/v1/feedback", Some(&k.airline), Some(&wrong)),
        404,
        "unknown_entry",
        "NOPE",
    );
    refused(
        &call(
            addr,
            "POST",
            "/v1/feedback",
            Some(&k.court),
            Some(&feedback),
        ),
        403,
        "forbidden",
        "needs the query role",
    );
    let shown = call(
        addr,
        "GET",
        &format!("/v1/entries/{SAMPLE_ENTRY}"),
        Some(&k.airline),
        None,
    )
    .json();
    let kept = shown["feedback"].as_array().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(
        (kept[0]["outcome"].as_str(), kept[0]["key"].as_str()),
        (Some("enforced"), Some(k.airline_id.as_str()))
    );
    assert_eq!(shown["entry"]["subject_id"], PERSON_MASKED);

    // Screening: masked rows, audited.
    let rows =
        format!("{{\"ref\":\"r1\",\"id\":\"{PERSON}\"}}\n{{\"ref\":\"r2\",\"id\":\"{ORG}\"}}\n");
    let res = Conn::open(addr).send(
        "POST",
        "/v1/screen?action=real_estate",
        &[&format!("Authorization: Bearer {}", k.registry)],
        rows.as_bytes(),
    );
    assert_eq!(res.status, 200);
    let text = String::from_utf8(res.body.clone()).unwrap();
    assert!(
        text.contains(PERSON_MASKED) && !text.contains(PERSON),
        "{text}"
    );
    assert!(text.contains(ORG));

    // More airline checks, then the audit and the statistics.
    for _ in 0..4 {
        assert_eq!(
            call(addr, "GET", &check, Some(&k.airline), None).status,
            200
        );
    }
    assert_eq!(
        call(
            addr,
            "GET",
            &format!("/v1/check?id={ORG}&action=rail_premium"),
            Some(&k.airline),
            None
        )
        .status,
        200
    );
    let wall = creditgate::date::Date::today();
    std::thread::sleep(Duration::from_millis(300));
    let window = format!("from={wall}&to={wall}");
    let audit = call(
        addr,
        "GET",
        &format!("/v1/audit?subject={PERSON}&{window}"),
        Some(&k.ops),
        None,
    )
    .json();
    let records = audit["records"].as_array().unwrap();
    let checks: Vec<&Value> = records.iter().filter(|r| r["event"] == "check").collect();
    assert_eq!(checks.len(), 5, "{audit}");
    assert!(checks.iter().all(|r| r["key"] == k.airline_id.as_str()
        && r["decision"] == "deny"
        && r["action"] == "flight"));
    assert!(records.iter().any(|r| r["event"] == "screen_row"));
    assert!(records.iter().any(|r| r["event"] == "read"));
    assert!(
        checks.iter().all(|r| r["subject_id"] == PERSON_MASKED),
        "the operator key does not see personal data"
    );
    let by_key = call(
        addr,
        "GET",
        &format!("/v1/audit?key={}&{window}", k.court_id),
        Some(&k.ops),
        None,
    )
    .json();
    assert!(
        by_key["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["key"] == k.court_id.as_str())
    );
    assert!(!by_key["records"].as_array().unwrap().is_empty());
    let tomorrow = creditgate::date::Date::from_days(wall.days() + 1);
    let none = call(
        addr,
        "GET",
        &format!("/v1/audit?from={tomorrow}&to={tomorrow}"),
        Some(&k.ops),
        None,
    )
    .json();
    assert!(none["records"].as_array().unwrap().is_empty());
    refused(
        &call(addr, "GET", "/v1/audit?key=zz", Some(&k.ops), None),
        400,
        "invalid_parameter",
        "key id",
    );

    let stats = call(
        addr,
        "GET",
        &format!("/v1/stats?{window}"),
        Some(&k.ops),
        None,
    )
    .json();
    let sample_entries =
        std::fs::read_to_string(crate::util::sample_dir().join("entries.ndjson")).unwrap();
    let of_court = sample_entries.lines().filter(|l| l.contains(COURT)).count() as u64;
    assert_eq!(
        stats["entries"]["total"].as_u64(),
        Some(sample_entries.lines().count() as u64 + 1)
    );
    assert_eq!(
        stats["entries"]["by_authority"][COURT].as_u64(),
        Some(of_court + 1)
    );
    assert_eq!(
        stats["objections"]["overdue"].as_u64(),
        Some(1),
        "{:#}",
        stats["objections"]
    );
    assert_eq!(
        stats["objections"]["overdue_entries"][0]["entry_id"],
        "GOV-1"
    );
    assert!(stats["objections"]["open"].as_u64().unwrap() >= 1);
    let flight = &stats["checks"]["by_action"]["flight"];
    assert_eq!(
        (flight["checks"].as_u64(), flight["denials"].as_u64()),
        (Some(5), Some(5))
    );
    assert_eq!(
        stats["checks"]["by_action"]["rail_premium"]["denials"].as_u64(),
        Some(0)
    );
    assert_eq!(
        stats["checks"]["by_key"][&k.airline_id]["checks"].as_u64(),
        Some(6)
    );
    refused(
        &call(
            addr,
            "GET",
            "/v1/stats?from=2026-11-02&to=2026-11-01",
            Some(&k.ops),
            None,
        ),
        400,
        "invalid_parameter",
        "before",
    );

    // Every role against every kind of call: allowed or 403, and a refused
    // call changes nothing.
    let routes: [(&str, String, Option<Value>, &str); 9] = [
        ("GET", check.clone(), None, "query"),
        ("GET", "/v1/search?q=x".into(), None, "query"),
        ("GET", "/v1/changes?limit=1".into(), None, "query"),
        ("GET", format!("/v1/entries/{SAMPLE_ENTRY}"), None, "query"),
        (
            "POST",
            "/v1/feedback".into(),
            Some(feedback.clone()),
            "query",
        ),
        (
            "POST",
            "/v1/screen?action=flight".into(),
            Some(json!({"ref":"x","id": ORG})),
            "screen",
        ),
        (
            "PUT",
            "/v1/entries/GOV-3".into(),
            Some(entry(COURT, "(2026)赣01执3号")),
            "publish",
        ),
        ("GET", "/v1/stats".into(), None, "operator"),
        ("GET", "/metrics".into(), None, "operator"),
    ];
    let roles: [(&str, &str, &[&str]); 4] = [
        ("registry", &k.registry, &["query", "screen"]),
        ("court", &k.court, &["publish"]),
        ("ops", &k.ops, &["operator"]),
        (
            "admin",
            &k.admin,
            &["query", "screen", "publish", "operator"],
        ),
    ];
    for (who, token, holds) in roles {
        for (method, path, body, needs) in &routes {
            let seq = last_seq(addr, &k.admin);
            let res = call(addr, method, path, Some(token), body.as_ref());
            if holds.contains(needs) {
                assert!(res.status < 300, "{who} {method} {path}: {}", res.status);
            } else {
                refused(&res, 403, "forbidden", &format!("needs the {needs} role"));
                assert_eq!(
                    last_seq(addr, &k.admin),
                    seq,
                    "{who} {method} {path} changed the log"
                );
            }
        }
    }

    // Revoking a key takes effect while serving.
    let out = creditgate(
        tmp.path(),
        &["keys", "revoke", "--file", "keys.json", &k.airline_id],
    );
    assert!(out.status.success());
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let res = call(addr, "GET", &check, Some(&k.airline), None);
        if res.status == 401 {
            refused(&res, 401, "unauthorized", "revoked");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the revocation did not take effect"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server.terminate();
    assert_eq!(server.wait(Duration::from_secs(20)).0, Some(0));

    // Retention: a year and more later, a 30-day retention deletes the day.
    let later = creditgate::date::Date::from_days(wall.days() + 400).to_string();
    let server = Server::start(
        tmp.path(),
        &[
            "--data",
            "store",
            "--today",
            &later,
            "--keys",
            "keys.json",
            "--audit-retention-days",
            "30",
        ],
    );
    let gone = call(
        server.addr,
        "GET",
        &format!("/v1/audit?{window}"),
        Some(&k.ops),
        None,
    )
    .json();
    assert!(gone["records"].as_array().unwrap().is_empty(), "{gone}");
}

#[test]
fn without_keys_the_api_is_open_on_loopback_only() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let out = creditgate(
        tmp.path(),
        &["serve", "--data", "store", "--listen", "0.0.0.0:0"],
    );
    let (_, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("listens on loopback only"), "{stderr}");
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let res = call(
        server.addr,
        "GET",
        &format!("/v1/check?id={PERSON}&action=real_estate"),
        None,
        None,
    );
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["id"], PERSON, "an open server masks nothing");
    // The keys command refuses what it cannot do.
    let out = creditgate(
        tmp.path(),
        &["keys", "revoke", "--file", "keys.json", "nope"],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = creditgate(
        tmp.path(),
        &[
            "keys",
            "create",
            "--file",
            "keys.json",
            "--department",
            "x",
            "--role",
            "publish",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(texts(&out).1.contains("needs the authorities"));
    let out = creditgate(
        tmp.path(),
        &[
            "keys",
            "create",
            "--file",
            "keys.json",
            "--department",
            "x",
            "--role",
            "query",
            "--action",
            "fly",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = creditgate(
        tmp.path(),
        &[
            "keys",
            "create",
            "--file",
            "keys.json",
            "--department",
            "x",
            "--role",
            "king",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
}
