//! What an outside black-box probe found, each point against the real
//! server and binary: masked identity numbers cannot be rebuilt through
//! search filters or screening patterns, per-key rate limits and a daily
//! quota (429 with `Retry-After`, audited), refusals in the audit and the
//! statistics, keys that guess flagged, misspelt and repeated fields in
//! writes refused, and the importer's count of fields it left out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::governance::{self, make_key, refused};
use crate::http::{Conn, Resp, Server};
use crate::util::{SAMPLE_TODAY as TODAY, creditgate, import_sample, tempdir, texts};

/// A denied person of the sample.
const PERSON: &str = "36102519400601500X";
const ORG: &str = "91360100705500005G";

/// A call with a key.
fn call(addr: SocketAddr, method: &str, path: &str, token: &str, body: Option<&Value>) -> Resp {
    governance::call(addr, method, path, Some(token), body)
}

fn get(addr: SocketAddr, path: &str, token: &str) -> Resp {
    call(addr, "GET", path, token, None)
}

/// A percent-encoded query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Identity numbers that look alike masked (division code 361025 and last
/// four `500X`, as [`PERSON`] does) with other birth dates: what someone
/// rebuilding the hidden digits tries.
fn alike_ids(n: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut day = creditgate::date::Date::from_ymd(1940, 1, 1).unwrap();
    while out.len() < n {
        let (y, m, d) = day.ymd();
        let first17 = format!("361025{y:04}{m:02}{d:02}500");
        let id =
            creditgate::id::build::identity_number(first17.as_bytes().try_into().unwrap()).unwrap();
        let id = String::from_utf8(id.to_vec()).unwrap();
        if id.ends_with('X') && id != PERSON {
            out.push(id);
        }
        day = day.add_days(1);
    }
    out
}

#[test]
fn masked_digits_cannot_be_tested_by_keys_that_see_them_masked() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (_, masked) = make_key(
        tmp.path(),
        &[
            "--department",
            "东方航空",
            "--role",
            "query",
            "--role",
            "screen",
        ],
    );
    let (_, personal) = make_key(
        tmp.path(),
        &[
            "--department",
            "南昌中院执行局",
            "--role",
            "query",
            "--personal",
        ],
    );
    let server = Server::start(
        tmp.path(),
        &["--data", "store", "--today", TODAY, "--keys", "keys.json"],
    );
    let addr = server.addr;
    let name = get(addr, &format!("/v1/subjects/{PERSON}"), &personal).json()["name"]
        .as_str()
        .unwrap()
        .to_string();
    let search = |prefix: &str, extra: &str, token: &str| {
        get(
            addr,
            &format!(
                "/v1/search?q={}&kind=person&id_prefix={prefix}{extra}",
                enc(&name)
            ),
            token,
        )
    };
    // The probe: ten digits narrow to the person for a key that sees them…
    let res = search(&PERSON[..10], "", &personal);
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["results"][0]["id"], PERSON);
    // …and are refused to one that does not, before anything is searched.
    refused(
        &search(&PERSON[..10], "", &masked),
        403,
        "forbidden",
        "would test characters 7–10",
    );
    refused(
        &search(&PERSON[..7], "", &masked),
        403,
        "forbidden",
        "at most 6",
    );
    // The visible division code still narrows; the answer stays masked.
    let res = search(&PERSON[..6], "", &masked);
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["results"][0]["id"], "361025********500X");
    refused(
        &search(&PERSON[..6], "&born=1940-06-01", &masked),
        403,
        "forbidden",
        "\"born\"",
    );
    // Organizations' codes are public: a long prefix with kind=org is fine.
    let res = get(
        addr,
        &format!(
            "/v1/search?q=%E5%85%AC%E5%8F%B8&kind=org&id_prefix={}",
            &ORG[..12]
        ),
        &masked,
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));

    // Screening: a pattern showing birth-date characters is a row error for
    // this key, the public masked form is matched.
    let rows = format!(
        "{{\"id\":\"361025194006******\",\"name\":\"{name}\"}}\n{{\"id\":\"361025********500X\",\"name\":\"{name}\"}}\n"
    );
    let auth = format!("Authorization: Bearer {masked}");
    let res = Conn::open(addr).send(
        "POST",
        "/v1/screen?action=flight",
        &[&auth, "Content-Type: application/x-ndjson"],
        rows.as_bytes(),
    );
    assert_eq!(res.status, 200);
    let lines: Vec<Value> = String::from_utf8(res.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["error"]["code"], "forbidden", "{}", lines[0]);
    assert!(
        lines[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("characters 7–14")
    );
    assert_eq!(
        lines[1]["match"]["id"], "361025********500X",
        "{}",
        lines[1]
    );
    assert_eq!(lines[1]["decision"], "deny");
}

#[test]
fn per_key_limits_answer_429_and_everything_refused_is_audited() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (fast_id, fast) = make_key(
        tmp.path(),
        &[
            "--department",
            "东方航空",
            "--role",
            "query",
            "--rate",
            "2",
            "--burst",
            "2",
        ],
    );
    let (daily_id, daily) = make_key(
        tmp.path(),
        &[
            "--department",
            "铁路12306",
            "--role",
            "query",
            "--daily-quota",
            "3",
        ],
    );
    let (guess_id, guesser) = make_key(tmp.path(), &["--department", "某代理", "--role", "query"]);
    let (_, ops) = make_key(
        tmp.path(),
        &["--department", "省信用中心", "--role", "operator"],
    );
    let server = Server::start(
        tmp.path(),
        &["--data", "store", "--today", TODAY, "--keys", "keys.json"],
    );
    let addr = server.addr;
    let check = format!("/v1/check?id={PERSON}&action=flight");

    // The bucket: two at once, the third waits.
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let res = get(addr, &check, &fast);
        statuses.push(res.status);
        last = Some(res);
    }
    assert_eq!(&statuses[..2], &[200, 200], "{statuses:?}");
    let res = last.unwrap();
    refused(&res, 429, "rate_limited", "2 requests a second");
    assert_eq!(res.header("retry-after"), Some("1"));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(get(addr, &check, &fast).status, 200, "a second later");

    // The quota: three a day, then 429 until midnight (China Standard Time).
    for _ in 0..3 {
        assert_eq!(get(addr, &check, &daily).status, 200);
    }
    let res = get(addr, &check, &daily);
    refused(&res, 429, "quota_exhausted", "its 3 requests for today");
    let wait: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&wait), "{wait}");
    // Raising the quota while serving: the reload keeps today's count.
    let out = creditgate(
        tmp.path(),
        &[
            "keys",
            "limit",
            "--file",
            "keys.json",
            &daily_id,
            "--daily-quota",
            "4",
        ],
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(addr, &check, &daily).status != 200 {
        assert!(Instant::now() < deadline, "the new quota never applied");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(get(addr, &check, &daily).status, 429, "4 used of 4");

    // Screening under a quota: the upload is one request, each row one more;
    // rows past the quota are errors, none dropped.
    let (_, screener) = make_key(
        tmp.path(),
        &[
            "--department",
            "南昌市不动产登记中心",
            "--role",
            "screen",
            "--daily-quota",
            "5",
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let rows: String = (0..6).map(|_| format!("{{\"id\":\"{ORG}\"}}\n")).collect();
    let screened = loop {
        let auth = format!("Authorization: Bearer {screener}");
        let res = Conn::open(addr).send(
            "POST",
            "/v1/screen?action=flight",
            &[&auth, "Content-Type: application/x-ndjson"],
            rows.as_bytes(),
        );
        if res.status != 401 {
            break res;
        }
        assert!(Instant::now() < deadline, "the new key was never loaded");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(screened.status, 200);
    let lines: Vec<Value> = String::from_utf8(screened.body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 7, "six rows and the summary");
    let errors: Vec<&Value> = lines[..6].iter().map(|l| &l["error"]["code"]).collect();
    assert_eq!(
        errors,
        [
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &Value::Null,
            &json!("quota_exhausted"),
            &json!("quota_exhausted")
        ]
    );

    // Other refusals: no key, an unknown one (its id kept), a role missing.
    assert_eq!(Conn::open(addr).get(&check).status, 401);
    let unknown = "cgk_0123456789ab_00000000";
    assert_eq!(get(addr, &check, unknown).status, 401);
    assert_eq!(get(addr, "/v1/stats", &fast).status, 403);

    // A key guessing: hidden digits behind one masked form, and names.
    for id in alike_ids(25) {
        let res = get(addr, &format!("/v1/check?id={id}&action=flight"), &guesser);
        assert_eq!(res.json()["known"], false);
    }
    for i in 0..25 {
        let res = get(
            addr,
            &format!(
                "/v1/check?id={PERSON}&action=flight&name={}",
                enc(&format!("张{i}"))
            ),
            &guesser,
        );
        assert_eq!(res.json()["name_match"], false);
    }

    // The audit has every refusal with its key, route and reason… (records
    // are stamped with the wall clock, not the server's --today)
    let wall = creditgate::date::Date::today();
    let window = format!("from={wall}&to={wall}");
    let wait_for = |path: &str, done: &dyn Fn(&Value) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = get(addr, path, &ops).json();
            if done(&v) {
                return v;
            }
            assert!(Instant::now() < deadline, "{path}: {v}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let audit = wait_for(&format!("/v1/audit?key={fast_id}&{window}"), &|v| {
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["route"] == "/v1/stats")
    });
    let refusals: Vec<&Value> = audit["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["event"] == "refused")
        .collect();
    assert_eq!(refusals.len(), 2, "{audit}");
    assert_eq!(
        (
            refusals[0]["status"].as_u64(),
            refusals[0]["reason"].as_str(),
            refusals[0]["route"].as_str()
        ),
        (Some(429), Some("rate_limited"), Some("/v1/check"))
    );
    assert_eq!(
        (
            refusals[1]["status"].as_u64(),
            refusals[1]["reason"].as_str()
        ),
        (Some(403), Some("role"))
    );
    let audit = get(addr, &format!("/v1/audit?key=0123456789ab&{window}"), &ops).json();
    assert_eq!(audit["records"][0]["reason"], "unknown_key", "{audit}");
    assert_eq!(audit["records"][0]["status"], 401);

    // …and the statistics count them and flag the guessing key.
    let stats = wait_for(&format!("/v1/stats?{window}"), &|v| {
        v["keys"]["by_key"][&guess_id]["checks"].as_u64() == Some(50)
    });
    let reasons = &stats["refusals"]["by_reason"];
    assert_eq!(reasons["rate_limited"], 1, "{stats}");
    // Two, and one per poll while the raised quota was being reloaded.
    let exhausted = reasons["quota_exhausted"].as_u64().unwrap();
    assert!(exhausted >= 2, "{stats}");
    assert_eq!(reasons["no_key"], 1);
    assert_eq!(reasons["role"], 1);
    let keys = &stats["keys"]["by_key"];
    // The key presented is kept even when no key has it (the screening's
    // new key was also unknown until the file was reloaded).
    assert_eq!(
        keys["0123456789ab"]["refused_by_reason"],
        json!({"unknown_key": 1})
    );
    assert_eq!(keys[&fast_id]["flags"], json!(["over_limits"]));
    assert_eq!(
        keys[&daily_id]["refused_by_reason"]["quota_exhausted"],
        exhausted
    );
    let guessing = &keys[&guess_id];
    assert_eq!(
        guessing["flags"],
        json!(["guessing_hidden_digits", "guessing_names"]),
        "{guessing}"
    );
    assert_eq!(guessing["unknown_subjects"], 25);
    assert_eq!(guessing["name_mismatches"], 25);
    assert_eq!(
        guessing["most_alike_unknown_ids"],
        json!({"masked": "361025********500X", "ids": 20})
    );
    assert_eq!(keys[&daily_id]["flags"], json!(["over_limits"]));
    // The 429s are counted by route in the metrics.
    let metrics = String::from_utf8(get(addr, "/metrics", &ops).body).unwrap();
    assert!(
        metrics.contains("creditgate_requests_total{route=\"/v1/check\",status=\"429\"}"),
        "{metrics}"
    );
}

#[test]
fn misspelt_and_repeated_fields_and_future_decisions_are_refused() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (_, court) = make_key(
        tmp.path(),
        &[
            "--department",
            "南昌中院",
            "--role",
            "publish",
            "--role",
            "query",
            "--authority",
            "南昌市中级人民法院",
        ],
    );
    let server = Server::start(
        tmp.path(),
        &["--data", "store", "--today", TODAY, "--keys", "keys.json"],
    );
    let addr = server.addr;
    let entry = json!({"subject_id": ORG, "list":"black", "category":"dishonest_debtor",
        "authority":"南昌市中级人民法院", "basis":"（2026）赣01执1号", "decided_at":"2026-10-01"});
    let put = |id: &str, body: &Value| {
        call(
            addr,
            "PUT",
            &format!("/v1/entries/{id}"),
            &court,
            Some(body),
        )
    };

    // The probe's case: "expire_at" for expires_at stored an entry without
    // a term; now a 400 naming the field, and nothing stored.
    let mut typo = entry.clone();
    typo["expire_at"] = json!("2027-10-01");
    refused(
        &put("H-1", &typo),
        400,
        "invalid_body",
        "field \"expire_at\": unknown field",
    );
    assert_eq!(get(addr, "/v1/entries/H-1", &court).status, 404);

    // A key given twice.
    let twice = r#"{"subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"南昌市中级人民法院","basis":"a","basis":"b","decided_at":"2026-10-01"}"#;
    let auth = format!("Authorization: Bearer {court}");
    let res = Conn::open(addr).send("PUT", "/v1/entries/H-2", &[&auth], twice.as_bytes());
    refused(
        &res,
        400,
        "invalid_body",
        "field \"basis\": duplicate field",
    );

    // A decision dated after today.
    let mut future = entry.clone();
    future["decided_at"] = json!("2026-11-26");
    refused(
        &put("H-3", &future),
        400,
        "invalid_body",
        "field \"decided_at\": 2026-11-26 is after today",
    );
    // What that meant: decided today, effective later.
    let mut later = entry.clone();
    later["decided_at"] = json!(TODAY);
    later["effective_from"] = json!("2026-12-01");
    assert_eq!(put("H-3", &later).status, 201);

    // A step body's unknown field, and a correction's missing one named
    // under `entry`.
    assert_eq!(put("H-4", &entry).status, 201);
    let step = |s: &str, body: Value| {
        call(
            addr,
            "POST",
            &format!("/v1/entries/H-4/{s}"),
            &court,
            Some(&body),
        )
    };
    refused(
        &step("objection", json!({"reason":"x","filed_ob":"2026-11-20"})),
        400,
        "invalid_body",
        "field \"filed_ob\"",
    );
    assert_eq!(step("objection", json!({"reason":"已履行"})).status, 200);
    let mut partial = entry.clone();
    partial.as_object_mut().unwrap().remove("category");
    refused(
        &step(
            "outcome",
            json!({"outcome":"corrected","note":"更正","entry": partial}),
        ),
        400,
        "invalid_body",
        "field \"entry.category\": missing field",
    );
    let mut misspelt = entry.clone();
    misspelt["expire_at"] = json!("2027-01-01");
    refused(
        &step(
            "outcome",
            json!({"outcome":"corrected","note":"更正","entry": misspelt}),
        ),
        400,
        "invalid_body",
        "field \"entry.expire_at\"",
    );
    // A subject's person link is checked as deeply.
    let subject = json!({"kind":"org","name":"江西某某有限公司",
        "persons":[{"id": PERSON, "role":"legal_rep", "share": 51}]});
    refused(
        &call(
            addr,
            "PUT",
            &format!("/v1/subjects/{ORG}"),
            &court,
            Some(&subject),
        ),
        400,
        "invalid_body",
        "field \"persons[0].share\"",
    );
}

#[test]
fn the_importer_imports_lines_with_unknown_fields_and_counts_what_it_left_out() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let lines = [
        json!({"entry_id":"IMP-1","subject_id": ORG,"list":"black","category":"dishonest_debtor",
               "authority":"南昌市中级人民法院","basis":"a","decided_at":"2026-10-01","expire_at":"2027-01-01"}),
        json!({"entry_id":"IMP-2","subject_id": ORG,"list":"black","category":"dishonest_debtor",
               "authority":"南昌市中级人民法院","basis":"b","decided_at":"2026-10-01","expire_at":"2027-01-01","内部编号":"7"}),
        json!({"entry_id":"IMP-3","subject_id": ORG,"list":"black","category":"dishonest_debtor",
               "authority":"南昌市中级人民法院","basis":"c","decided_at":"2099-10-01"}),
    ];
    let file = tmp.path().join("more.ndjson");
    std::fs::write(
        &file,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();
    let out = creditgate(
        tmp.path(),
        &["import", "--data", "store", file.to_str().unwrap()],
    );
    let (_, stderr) = texts(&out);
    assert!(stderr.contains("2 inserted"), "{stderr}");
    assert!(stderr.contains("1 rejected"), "{stderr}");
    assert!(stderr.contains("decided_at: decided_in_future"), "{stderr}");
    assert!(
        stderr.contains("left out        2  field \"expire_at\"")
            && stderr.contains("first on line 1"),
        "{stderr}"
    );
    assert!(stderr.contains("field \"内部编号\""), "{stderr}");
}

#[test]
fn a_store_keeps_a_bounded_number_of_rocksdb_info_logs() {
    let tmp = tempdir();
    import_sample(tmp.path());
    for _ in 0..8 {
        let out = creditgate(
            tmp.path(),
            &["check", "--data", "store", "--action", "flight", ORG],
        );
        assert!(out.status.success(), "{}", texts(&out).1);
    }
    let logs = std::fs::read_dir(tmp.path().join("store"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("LOG")
        })
        .count();
    assert!(
        (1..=creditgate::store::KEPT_INFO_LOGS).contains(&logs),
        "{logs} info logs after 9 opens"
    );
}
