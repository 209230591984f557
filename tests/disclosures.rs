//! 双公示 against the real server and binary: scoped publishing, the
//! public query (no key, masked, windowed), timeliness across a holiday and
//! an exchanged working weekend, a penalty linked to its black-list entry,
//! every refusal of a repair, a window ending with no write, the feed and
//! the statistics, and the import and listing of a disclosures file.

use serde_json::{Value, json};

use crate::governance::{call, last_seq, make_key, refused};
use crate::http::Server;
use crate::util::{creditgate, import_sample, tempdir, texts};

const ORG: &str = "91360100705500005G";
const PERSON: &str = "36102519400601500X";
const PERSON_MASKED: &str = "361025********500X";
const MARKET: &str = "南昌市市场监督管理局";
const ECOLOGY: &str = "南昌市生态环境局";

fn penalty(decided: &str, published: &str, severity: &str) -> Value {
    json!({"kind": "penalty", "number": "洪市监罚〔2026〕12号", "name": "行政处罚决定书",
           "category": "罚款", "content": "销售不合格产品 <script>alert(1)</script>",
           "basis": "《产品质量法》第四十九条", "subject_name": "江西华远科技有限公司",
           "subject_id": ORG, "result": "罚款人民币五万元", "decided_at": decided,
           "published_at": published, "authority": MARKET, "severity": severity})
}

fn ids(page: &Value) -> Vec<String> {
    page["disclosures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["disclosure_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn publish_query_repair_and_windows() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let dir = tmp.path();
    let (_, market) = make_key(
        dir,
        &[
            "--department",
            "南昌市市场监管局",
            "--role",
            "publish",
            "--authority",
            MARKET,
        ],
    );
    let (_, ecology) = make_key(
        dir,
        &[
            "--department",
            "南昌市生态环境局",
            "--role",
            "publish",
            "--authority",
            ECOLOGY,
        ],
    );
    let (_, admin) = make_key(dir, &["--department", "平台管理", "--role", "admin"]);
    let (_, query) = make_key(dir, &["--department", "东方航空", "--role", "query"]);
    let mut server = Server::start(
        dir,
        &[
            "--data",
            "store",
            "--today",
            "2026-11-25",
            "--keys",
            "keys.json",
        ],
    );
    let addr = server.addr;
    let start_seq = last_seq(addr, &admin);

    // The black-list entry a penalty led to.
    let entry = json!({"subject_id": ORG, "list": "black", "category": "serious_illegal_enterprise",
                       "authority": MARKET, "basis": "洪市监列〔2026〕3号", "decided_at": "2026-10-15"});
    assert_eq!(
        call(addr, "PUT", "/v1/entries/SIE-1", Some(&admin), Some(&entry)).status,
        201
    );

    // Decided Thursday 24 September 2026 (Mid-Autumn and National Day
    // follow, Saturday 10 October is worked): on time up to 12 October.
    let mut late = penalty("2026-09-24", "2026-10-13", "general");
    late["entry_id"] = "SIE-1".into();
    let res = call(
        addr,
        "PUT",
        "/v1/disclosures/P-LATE",
        Some(&market),
        Some(&late),
    );
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["changes"][0]["type"], "disclosure_published");
    assert_eq!(res.json()["changes"][0]["disclosure_id"], "P-LATE");
    let on_time = penalty("2026-09-24", "2026-10-12", "general");
    assert_eq!(
        call(
            addr,
            "PUT",
            "/v1/disclosures/P-ON-TIME",
            Some(&market),
            Some(&on_time)
        )
        .status,
        201
    );

    // Scoped publishing: another authority's key, a key without the role,
    // no key; and a stored disclosure cannot be taken over.
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-X",
            Some(&ecology),
            Some(&late),
        ),
        403,
        "forbidden",
        MARKET,
    );
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-X",
            Some(&query),
            Some(&late),
        ),
        403,
        "forbidden",
        "publish",
    );
    refused(
        &call(addr, "PUT", "/v1/disclosures/P-X", None, Some(&late)),
        401,
        "unauthorized",
        "API key",
    );
    let mut taken = on_time.clone();
    taken["authority"] = ECOLOGY.into();
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-ON-TIME",
            Some(&ecology),
            Some(&taken),
        ),
        403,
        "forbidden",
        MARKET,
    );

    // Bad records name their field.
    let mut no_severity = on_time.clone();
    no_severity.as_object_mut().unwrap().remove("severity");
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-Y",
            Some(&market),
            Some(&no_severity),
        ),
        400,
        "invalid_body",
        "\"severity\"",
    );
    let mut wrong_entry = on_time.clone();
    wrong_entry["entry_id"] = "JXFY-2022-0000000247-0".into();
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-Y",
            Some(&market),
            Some(&wrong_entry),
        ),
        400,
        "invalid_body",
        "not the counterpart",
    );
    let mut future = on_time.clone();
    future["published_at"] = "2026-12-01".into();
    refused(
        &call(
            addr,
            "PUT",
            "/v1/disclosures/P-Y",
            Some(&market),
            Some(&future),
        ),
        400,
        "invalid_body",
        "\"published_at\"",
    );

    // A licence for a person, and a minor penalty that is never public.
    let licence = json!({"kind": "licence", "number": "洪卫许〔2026〕88号", "name": "食品经营许可",
                         "category": "普通", "content": "食品销售", "basis": "《食品安全法》第三十五条",
                         "subject_name": "张三丰", "subject_id": PERSON, "result": "准予许可",
                         "decided_at": "2026-11-20", "published_at": "2026-11-24", "authority": MARKET,
                         "valid_until": "2031-11-19"});
    assert_eq!(
        call(
            addr,
            "PUT",
            "/v1/disclosures/L-1",
            Some(&market),
            Some(&licence)
        )
        .status,
        201
    );
    let minor = penalty("2026-11-02", "2026-11-03", "minor");
    assert_eq!(
        call(
            addr,
            "PUT",
            "/v1/disclosures/P-MINOR",
            Some(&market),
            Some(&minor)
        )
        .status,
        201
    );
    // Decided a year ago, general: public until 2026-11-26.
    let ending = penalty("2025-11-26", "2025-11-27", "general");
    assert_eq!(
        call(
            addr,
            "PUT",
            "/v1/disclosures/P-ENDING",
            Some(&market),
            Some(&ending)
        )
        .status,
        201
    );
    // Serious, decided 2025-06-01: repairable from 2026-06-01.
    let serious = penalty("2025-06-01", "2025-06-03", "serious");
    assert_eq!(
        call(
            addr,
            "PUT",
            "/v1/disclosures/P-SERIOUS",
            Some(&market),
            Some(&serious)
        )
        .status,
        201
    );

    // The public query: no key, masked, only what is public today.
    let page = call(addr, "GET", "/v1/disclosures", None, None);
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let page = page.json();
    // Newest decision first; one day's in reverse id order.
    assert_eq!(
        ids(&page),
        ["L-1", "P-ON-TIME", "P-LATE", "P-ENDING", "P-SERIOUS"]
    );
    let l1 = &page["disclosures"][0];
    assert_eq!(l1["counterpart"]["id"], PERSON_MASKED);
    assert_eq!(l1["counterpart"]["name"], "张**");
    assert_eq!(
        l1["name"], "食品经营许可",
        "a decision's name is not a person's"
    );
    assert_eq!(
        page["disclosures"][1]["counterpart"]["id"], ORG,
        "organizations stay public"
    );
    assert!(!page.to_string().contains(PERSON));
    // Timeliness in working days.
    let timeliness = |id: &str| {
        page["disclosures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["disclosure_id"] == id)
            .unwrap()["timeliness"]
            .clone()
    };
    assert_eq!(
        timeliness("P-LATE"),
        json!({"deadline": "2026-10-12", "working_days": 8, "late": true, "calendar_covered": true})
    );
    assert_eq!(timeliness("P-ON-TIME")["working_days"], 7);
    assert_eq!(timeliness("P-ON-TIME")["late"], false);
    // Filters.
    let q = |query: &str| call(addr, "GET", &format!("/v1/disclosures?{query}"), None, None);
    assert_eq!(ids(&q("kind=licence").json()), ["L-1"]);
    assert_eq!(
        ids(&q(&format!("subject={ORG}&from=2026-01-01")).json()),
        ["P-ON-TIME", "P-LATE"]
    );
    assert_eq!(ids(&q("to=2025-12-31&limit=1").json()), ["P-ENDING"]);
    assert_eq!(q("to=2025-12-31&limit=1").json()["complete"], false);
    assert!(ids(&q(&format!("authority={ECOLOGY}")).json()).is_empty());
    refused(
        &q("kind=fine"),
        400,
        "invalid_parameter",
        "licence or penalty",
    );
    refused(&q("from=2026-02-30"), 400, "invalid_date", "\"from\"");
    refused(
        &q("from=2026-03-01&to=2026-02-01"),
        400,
        "invalid_parameter",
        "after",
    );
    refused(&q("subject=123"), 400, "invalid_id", "\"subject\"");
    refused(&q("colour=red"), 400, "unknown_parameter", "colour");
    refused(
        &call(
            addr,
            "GET",
            "/v1/disclosures",
            Some("cgk_000000000000_00"),
            None,
        ),
        401,
        "unauthorized",
        "not known",
    );
    // A minor penalty: unknown to the public, seen by its authority and the admin.
    refused(
        &call(addr, "GET", "/v1/disclosures/P-MINOR", None, None),
        404,
        "unknown_disclosure",
        "P-MINOR",
    );
    refused(
        &call(addr, "GET", "/v1/disclosures/P-MINOR", Some(&ecology), None),
        404,
        "unknown_disclosure",
        "P-MINOR",
    );
    let own = call(addr, "GET", "/v1/disclosures/P-MINOR", Some(&market), None).json();
    assert_eq!(own["disclosure"]["shown"], "not_published");
    assert_eq!(
        ids(&call(
            addr,
            "GET",
            "/v1/disclosures?kind=penalty",
            Some(&admin),
            None
        )
        .json())
        .len(),
        5
    );
    // The admin sees personal data.
    let full = call(addr, "GET", "/v1/disclosures/L-1", Some(&admin), None).json();
    assert_eq!(full["disclosure"]["counterpart"]["id"], PERSON);

    // The penalty and its entry show each other.
    let p = call(addr, "GET", "/v1/disclosures/P-LATE", None, None).json();
    assert_eq!(p["disclosure"]["entry_id"], "SIE-1");
    assert_eq!(p["history"][0]["change"], "disclosure_published");
    let e = call(addr, "GET", "/v1/entries/SIE-1", Some(&admin), None).json();
    assert_eq!(e["disclosures"][0]["disclosure_id"], "P-LATE");
    assert_eq!(e["disclosures"][0]["shown"], "public");

    // Repairs: every refusal, then one that ends publication.
    let repair = |id: &str, body: Value, key: &str| {
        call(
            addr,
            "POST",
            &format!("/v1/disclosures/{id}/repair"),
            Some(key),
            Some(&body),
        )
    };
    let ok = json!({"note": "已缴纳罚款并作出信用承诺", "obligations_met": true, "pledge": true});
    let early = repair("P-LATE", ok.clone(), &market);
    assert_eq!(early.status, 409);
    assert_eq!(early.json()["error"]["code"], "conflict");
    assert_eq!(early.json()["error"]["possible_from"], "2026-12-24");
    let no_pledge = repair(
        "P-SERIOUS",
        json!({"note": "n", "obligations_met": true, "pledge": false}),
        &market,
    );
    assert_eq!(no_pledge.status, 409);
    assert!(
        no_pledge.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("pledge")
    );
    assert_eq!(no_pledge.json()["error"]["possible_from"], Value::Null);
    let unmet = repair(
        "P-SERIOUS",
        json!({"note": "n", "obligations_met": false, "pledge": true}),
        &market,
    );
    assert!(
        unmet.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("obligations")
    );
    refused(
        &repair("L-1", ok.clone(), &market),
        409,
        "conflict",
        "licence",
    );
    refused(
        &repair("P-MINOR", ok.clone(), &market),
        409,
        "conflict",
        "minor",
    );
    refused(
        &repair("P-SERIOUS", ok.clone(), &ecology),
        403,
        "forbidden",
        MARKET,
    );
    refused(
        &repair("P-NONE", ok.clone(), &market),
        404,
        "unknown_disclosure",
        "P-NONE",
    );
    refused(
        &repair("P-SERIOUS", json!({"note": "n"}), &market),
        400,
        "invalid_body",
        "obligations_met",
    );
    let done = repair("P-SERIOUS", ok.clone(), &market);
    assert_eq!(done.status, 200, "{}", String::from_utf8_lossy(&done.body));
    assert_eq!(done.json()["disclosure"]["shown"], "repaired");
    assert_eq!(done.json()["change"]["type"], "disclosure_repaired");
    refused(
        &repair("P-SERIOUS", ok.clone(), &market),
        409,
        "conflict",
        "repaired already",
    );
    refused(
        &call(addr, "GET", "/v1/disclosures/P-SERIOUS", None, None),
        404,
        "unknown_disclosure",
        "P-SERIOUS",
    );

    // Statistics: per authority, late ones counted.
    let stats = call(addr, "GET", "/v1/stats", Some(&admin), None).json();
    let market_stats = &stats["disclosures"]["by_authority"][MARKET];
    assert_eq!(market_stats["published"]["penalty"], 5);
    assert_eq!(market_stats["published"]["licence"], 1);
    assert_eq!(market_stats["late"]["total"], 1);
    assert_eq!(stats["disclosures"]["late"], 1);

    // The feed carries every disclosure change.
    let feed = call(
        addr,
        "GET",
        &format!("/v1/changes?since={start_seq}&limit=100"),
        Some(&admin),
        None,
    )
    .json();
    let kinds: Vec<&str> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            c["disclosure_id"]
                .as_str()
                .map(|_| c["type"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "disclosure_published")
            .count(),
        6
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "disclosure_repaired")
            .count(),
        1
    );

    // A window ends with no write: the next day, the server started again
    // on the same store no longer shows P-ENDING.
    let seq = last_seq(addr, &admin);
    drop(server);
    server = Server::start(
        dir,
        &[
            "--data",
            "store",
            "--today",
            "2026-11-26",
            "--keys",
            "keys.json",
        ],
    );
    let addr = server.addr;
    assert_eq!(last_seq(addr, &admin), seq, "nothing was written");
    let page = call(addr, "GET", "/v1/disclosures?to=2025-12-31", None, None).json();
    assert!(ids(&page).is_empty(), "{page}");
    refused(
        &call(addr, "GET", "/v1/disclosures/P-ENDING", None, None),
        404,
        "unknown_disclosure",
        "P-ENDING",
    );
    let own = call(addr, "GET", "/v1/disclosures/P-ENDING", Some(&market), None).json();
    assert_eq!(own["disclosure"]["shown"], "ended");
    assert_eq!(own["disclosure"]["window"]["until"], "2026-11-26");
}

#[test]
fn a_disclosures_file_is_imported_and_listed() {
    let tmp = tempdir();
    let dir = tmp.path();
    let line = |id: &str, v: Value| {
        let mut v = v;
        v["disclosure_id"] = id.into();
        v.to_string()
    };
    let mut licence_with_severity = penalty("2026-03-02", "2026-03-05", "general");
    licence_with_severity["kind"] = "licence".into();
    let mut with_unknown = penalty("2026-03-02", "2026-03-20", "serious");
    with_unknown["fine_yuan"] = 50_000.into();
    let file = [
        line("D-1", penalty("2026-03-02", "2026-03-05", "general")),
        line("D-2", licence_with_severity),
        "{not json".to_string(),
        line("D-3", with_unknown),
    ]
    .join("\n");
    std::fs::write(dir.join("disclosures.ndjson"), file).unwrap();
    let out = creditgate(dir, &["import", "--data", "store", "disclosures.ndjson"]);
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("disclosures.ndjson:2: severity: only a penalty has a severity"),
        "{stderr}"
    );
    assert!(stderr.contains("disclosures.ndjson:3: line:"), "{stderr}");
    assert!(
        stderr.contains("4 disclosures read: 2 inserted"),
        "{stderr}"
    );
    assert!(
        stderr.contains("fine_yuan"),
        "the field left out is named: {stderr}"
    );
    let out = creditgate(
        dir,
        &["disclosures", "--data", "store", "--at", "2026-11-25"],
    );
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    let listed: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = listed
        .iter()
        .map(|d| d["disclosure_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["D-3", "D-1"]);
    // D-3 was published 14 working days after its decision.
    assert_eq!(listed[0]["timeliness"]["working_days"], 14);
    assert_eq!(listed[0]["timeliness"]["late"], true);
    let late = texts(&creditgate(
        dir,
        &["disclosures", "--data", "store", "--late"],
    ))
    .0;
    assert_eq!(late.lines().count(), 1);
    // An operator's calendar replaces the bundled one; a broken one is
    // refused with its file and year.
    std::fs::write(
        dir.join("cal.toml"),
        "[[year]]\nyear = 2026\nsource = \"test\"\nverified = false\nholidays = [\"2026-03-03\"]\nworkdays = [\"2026-03-04\"]\n",
    )
    .unwrap();
    let out = creditgate(
        dir,
        &[
            "--calendar",
            "cal.toml",
            "import",
            "--data",
            "store",
            "disclosures.ndjson",
        ],
    );
    let (_, stderr) = texts(&out);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("cal.toml: year 2026: workdays: 2026-03-04 is a weekday"),
        "{stderr}"
    );
    // Importing the same file again changes nothing.
    let again = texts(&creditgate(
        dir,
        &["import", "--data", "store", "disclosures.ndjson"],
    ))
    .1;
    assert!(
        again.contains("0 inserted, 0 replaced, 2 unchanged"),
        "{again}"
    );
}
