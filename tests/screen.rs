//! Bulk screening over real sockets (`POST /v1/screen` on `creditgate
//! serve`) and through the binary (`creditgate screen`), on the bundled
//! sample.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use creditgate::catalog::Catalog;
use creditgate::engine::Engine;
use creditgate::id::SubjectKey;

use crate::http::{Conn, Server, get, metric};
use crate::util::{
    SAMPLE_TODAY as AT, creditgate, creditgate_with_stdin, import_sample, load_sample, tempdir,
    texts,
};

/// The lines of an NDJSON answer: the rows, then the summary.
fn lines(body: &[u8]) -> (Vec<serde_json::Value>, serde_json::Value) {
    let mut rows: Vec<serde_json::Value> = std::str::from_utf8(body)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let summary = rows.pop().expect("a summary line");
    assert!(summary.get("summary").is_some(), "last line: {summary}");
    (rows, summary["summary"].clone())
}

/// The check answer's fields of a screened row.
fn check_part(row: &serde_json::Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for k in [
        "id",
        "known",
        "action",
        "at",
        "decision",
        "reasons",
        "suspended",
        "benefits",
        "name_match",
    ] {
        out.insert(k.to_string(), row[k].clone());
    }
    serde_json::Value::Object(out)
}

/// Every sample subject and linked person by id, shuffled with bad rows
/// among them: one answer per row, in input order, each the check answer
/// the engine gives; the bad rows say what is wrong and the others go on.
/// Then names, masked ids and mismatched names, and CSV in GBK and with a
/// byte-order mark.
#[test]
fn screening_over_http() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = Catalog::bundled();
    let (subjects, _) = load_sample();
    let mut ids: Vec<SubjectKey> = subjects.iter().map(|s| s.id).collect();
    ids.extend(
        subjects
            .iter()
            .flat_map(|s| s.persons.iter().map(|l| l.person)),
    );
    // A fixed shuffle (multiplicative step), so batches mix kinds.
    let n = ids.len();
    let step = (0..).map(|k| 7919 + k).find(|s| gcd(*s, n) == 1).unwrap();
    let ids: Vec<SubjectKey> = (0..n).map(|i| ids[(i * step) % n]).collect();
    let at = AT.parse().unwrap();
    let deny_action = catalog.action_by_code("flight").unwrap();
    let (expected, by_name) = {
        let engine = Engine::open(&tmp.path().join("store"), catalog.clone()).unwrap();
        let expected: Vec<serde_json::Value> = ids
            .iter()
            .map(|k| serde_json::to_value(engine.check(*k, deny_action, at).unwrap()).unwrap())
            .collect();
        // Organizations by name, with their decisions.
        let by_name: HashMap<String, (String, String)> = subjects
            .iter()
            .filter(|s| s.id.kind() == creditgate::id::SubjectKind::Org)
            .map(|s| {
                let d = engine.check(s.id, deny_action, at).unwrap().decision;
                (s.name.clone(), (s.id.to_string(), d.as_str().to_string()))
            })
            .collect();
        (expected, by_name)
    };
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let path = format!("/v1/screen?action=flight&at={AT}");

    // 1. Every id, bad rows interleaved every 997 rows.
    let mut body = String::new();
    let mut bad_at = Vec::new();
    let mut row_no = 0;
    for (i, k) in ids.iter().enumerate() {
        if i % 997 == 500 {
            row_no += 1;
            bad_at.push(row_no);
            body.push_str(
                [
                    "{\"ref\":\"bad\",\"id\":\"123\"}",
                    "{not json",
                    "{\"ref\":\"x\"}",
                ][bad_at.len() % 3],
            );
            body.push('\n');
        }
        row_no += 1;
        body.push_str(&format!("{{\"ref\":\"r{i}\",\"id\":\"{k}\"}}\n"));
    }
    let res = Conn::open(server.addr).post(&path, &[], body.as_bytes());
    assert_eq!(res.status, 200);
    assert_eq!(
        res.header("content-type"),
        Some("application/x-ndjson; charset=utf-8")
    );
    let (rows, summary) = lines(&res.body);
    assert_eq!(rows.len(), row_no);
    let mut next_id = 0;
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["row"], i + 1);
        assert_eq!(row["line"], i + 1);
        if bad_at.contains(&(i + 1)) {
            assert!(row["error"]["code"].is_string(), "{row}");
            assert!(row.get("decision").is_none(), "{row}");
            continue;
        }
        assert_eq!(row["ref"], format!("r{next_id}"), "order kept");
        assert_eq!(check_part(row), expected[next_id], "row {}", i + 1);
        assert_eq!(row["match"]["by"], "id");
        next_id += 1;
    }
    assert_eq!(next_id, ids.len());
    assert_eq!(summary["rows"], row_no);
    assert_eq!(summary["errors"], bad_at.len());
    let deny = expected.iter().filter(|e| e["decision"] == "deny").count();
    assert!(deny > 0);
    assert_eq!(summary["decisions"]["deny"], deny);

    // 2. One row of each kind.
    let (org, org_name, org_alias) = subjects
        .iter()
        .find_map(|s| Some((s.id, s.name.clone(), s.aliases.first()?.clone())))
        .unwrap();
    let (denied_name, (denied_id, _)) = by_name
        .iter()
        .filter(|(_, (_, d))| d == "deny")
        .min()
        .unwrap();
    let person = subjects
        .iter()
        .find(|s| s.id.kind() == creditgate::id::SubjectKind::Person)
        .unwrap();
    let pid = person.id.to_string();
    let masked = format!("{}********{}", &pid[..6], &pid[14..]);
    let traditional = org_name
        .replace('华', "華")
        .replace('发', "發")
        .replace('国', "國");
    let long = "长".repeat(70_000);
    let rows_in = [
        format!(r#"{{"ref":"id+name","id":"{org}","name":"{org_name}"}}"#),
        format!(r#"{{"ref":"id+alias","id":"{org}","name":" {org_alias} "}}"#),
        format!(r#"{{"ref":"id+traditional","id":"{org}","name":"{traditional}"}}"#),
        format!(r#"{{"ref":"id+wrong","id":"{org}","name":"完全无关商贸有限公司"}}"#),
        format!(r#"{{"ref":"name","name":"{denied_name}"}}"#),
        format!(
            r#"{{"ref":"masked","id":"{masked}","name":"{}"}}"#,
            person.name
        ),
        format!(
            r#"{{"ref":"masked-nobody","id":"999999********0000","name":"{}"}}"#,
            person.name
        ),
        format!(r#"{{"ref":"masked-alone","id":"{masked}"}}"#),
        r#"{"ref":"masked-bad","id":"36**************I0","name":"张三"}"#.to_string(),
        format!(r#"{{"ref":"bad-id+name","id":"91360100705500005X","name":"{denied_name}"}}"#),
        r#"{"ref":"bad-id","id":"91360100705500005X"}"#.to_string(),
        r#"{"ref":"empty"}"#.to_string(),
        r#"{"ref":7,"name":5}"#.to_string(),
        format!(r#"{{"ref":"long","name":"{long}"}}"#),
        r#"{"ref":"absent","name":"子虚乌有量子咨询有限公司"}"#.to_string(),
        r#"{"ref":"after","id":"91360100705500005G"}"#.to_string(),
    ];
    let res = Conn::open(server.addr).post(&path, &[], rows_in.join("\n").as_bytes());
    assert_eq!(res.status, 200);
    let (rows, summary) = lines(&res.body);
    let row = |r: &str| {
        rows.iter()
            .find(|x| x["ref"] == r)
            .unwrap_or_else(|| panic!("no row {r}"))
    };
    assert_eq!(rows.len(), rows_in.len());
    assert_eq!(row("id+name")["name_match"], true);
    assert_eq!(row("id+name")["match"]["method"], "exact");
    assert_eq!(row("id+alias")["name_match"], true);
    assert_eq!(row("id+alias")["match"]["matched_name"], org_alias.as_str());
    assert_eq!(row("id+traditional")["name_match"], true, "{traditional}");
    let wrong = row("id+wrong");
    assert_eq!(wrong["name_match"], false);
    assert_eq!(wrong["id"], org.to_string(), "the id still decides");
    assert_eq!(wrong["match"]["name"], org_name.as_str());
    assert_eq!(row("name")["match"]["by"], "name");
    assert_eq!(row("name")["id"], denied_id.as_str());
    assert_eq!(row("name")["decision"], "deny");
    assert_eq!(row("masked")["match"]["by"], "masked_id");
    assert_eq!(row("masked")["id"], pid.as_str());
    assert_eq!(row("masked-nobody")["match"], serde_json::Value::Null);
    assert_eq!(row("masked-nobody")["decision"], "allow");
    assert_eq!(row("masked-nobody")["candidates"], serde_json::json!([]));
    assert_eq!(row("masked-alone")["error"]["code"], "missing_field");
    let e = &row("masked-bad")["error"];
    assert_eq!(e["code"], "invalid_id");
    assert!(
        e["message"].as_str().unwrap().contains("character 17"),
        "{e}"
    );
    let fallback = row("bad-id+name");
    assert_eq!(fallback["id_error"]["code"], "invalid_id");
    assert!(
        fallback["id_error"]["message"]
            .as_str()
            .unwrap()
            .contains("check character"),
        "{fallback}"
    );
    assert_eq!(
        fallback["id"],
        denied_id.as_str(),
        "matched by name instead"
    );
    assert_eq!(row("bad-id")["error"]["code"], "invalid_id");
    assert_eq!(row("empty")["error"]["code"], "missing_field");
    let e = &rows[12]["error"];
    assert_eq!(rows[12]["ref"], serde_json::Value::Null);
    assert!(e["message"].as_str().unwrap().contains("name"), "{e}");
    let e = &rows[13]["error"];
    assert!(
        e["message"].as_str().unwrap().contains("longer than"),
        "{e}"
    );
    assert_eq!(row("absent")["match"], serde_json::Value::Null);
    assert_eq!(row("absent")["decision"], "allow");
    assert_eq!(row("after")["decision"], "allow", "rows after errors go on");
    assert_eq!(summary["name_mismatches"], 1);
    assert_eq!(summary["id_errors"], 1);
    assert_eq!(summary["matched_by"]["masked_id"], 1);

    // 3. Names alone, every organization and person of the sample: a match
    // is decided as its subject; no match is allow only when every
    // candidate is allowed, else review.
    let mut body = String::new();
    for s in &subjects {
        body.push_str(&serde_json::json!({"ref": s.id.to_string(), "name": s.name}).to_string());
        body.push('\n');
    }
    let res = Conn::open(server.addr).post(&path, &[], body.as_bytes());
    let (rows, summary) = lines(&res.body);
    assert_eq!(rows.len(), subjects.len());
    let mut reviews = 0;
    for row in &rows {
        let candidates = row["candidates"].as_array().unwrap();
        if row["match"].is_null() {
            let all_allowed = candidates.iter().all(|c| c["decision"] == "allow");
            match row["decision"].as_str().unwrap() {
                "allow" => assert!(all_allowed, "{row}"),
                "review" => reviews += 1,
                other => panic!("unmatched rows are allow or review, not {other}: {row}"),
            }
        } else {
            // Decided only on an unambiguous match (issue #26).
            assert!(row["match"]["score"].as_f64().unwrap() >= 0.7, "{row}");
            assert!(row["match"]["changes"].as_u64().unwrap() <= 1, "{row}");
            assert!(
                row["match"]["margin"].is_null() || row["match"]["margin"].as_i64().unwrap() >= 1,
                "{row}"
            );
            // Organization names are unique in the sample: each finds itself.
            if let Some((id, decision)) =
                by_name.get(row["match"]["matched_name"].as_str().unwrap())
                && row["ref"] == id.as_str()
            {
                assert_eq!(&row["decision"], decision.as_str(), "{row}");
            }
        }
    }
    assert!(
        reviews > 0,
        "common person names with a flagged holder need review"
    );
    assert_eq!(summary["decisions"]["review"], reviews);
    // Every organization's name as registered finds it, unless another
    // subject's name needs no change to be it (a twin such as 江西华达食品有限
    // 公司 and 江西省华达食品有限责任公司): then no guess, a person chooses.
    let org_ids: std::collections::HashSet<&str> =
        by_name.values().map(|(id, _)| id.as_str()).collect();
    let mut orgs_found = 0;
    for r in rows
        .iter()
        .filter(|r| org_ids.contains(r["ref"].as_str().unwrap()))
    {
        if r["match"]["id"] == r["ref"] {
            orgs_found += 1;
            continue;
        }
        assert_eq!(r["no_match"], "ambiguous", "{r}");
        let twin = r["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["changes"] == 0);
        assert!(twin, "{r}");
    }
    assert!(
        orgs_found * 100 >= by_name.len() * 99,
        "{orgs_found} of {}",
        by_name.len()
    );

    // 4. CSV: UTF-8 with a byte-order mark, GBK said by parameter, GBK said
    // by Content-Type; all answer alike.
    let mut csv = String::from("序号,姓名,证件号码,备注\r\n");
    for (i, s) in subjects.iter().take(3000).enumerate() {
        csv.push_str(&format!("{i},\"{}\",{},x\r\n", s.name, s.id));
    }
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(csv.as_bytes());
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&csv);
    assert!(!unmappable);
    let answers = [
        Conn::open(server.addr).post(&path, &[], &bom),
        Conn::open(server.addr).post(&format!("{path}&encoding=gbk"), &[], &gbk),
        Conn::open(server.addr).post(&path, &["Content-Type: text/csv; charset=GBK"], &gbk),
    ];
    let rows_of = |body: &[u8]| {
        let (rows, summary) = lines(body);
        assert_eq!(summary["errors"], 0);
        rows
    };
    let first = rows_of(&answers[0].body);
    assert_eq!(first.len(), 3000);
    assert_eq!(first[0]["line"], 2, "the header is line 1");
    assert!(
        first.iter().all(|r| r["name_match"] == true),
        "names read right"
    );
    for a in &answers[1..] {
        assert_eq!(rows_of(&a.body), first);
    }
    // GBK read as UTF-8: the header already says what is wrong.
    let misread = Conn::open(server.addr).post(&path, &[], &gbk);
    assert_eq!(misread.status, 400);
    assert!(
        misread.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("encoding=gbk")
    );
    // In NDJSON, each row with Chinese says it.
    let (gbk_rows, _, _) =
        encoding_rs::GBK.encode("{\"name\":\"张伟\"}\n{\"id\":\"91360100705500005G\"}\n");
    let (rows, _) = lines(&Conn::open(server.addr).post(&path, &[], &gbk_rows).body);
    assert!(
        rows[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("encoding=gbk")
    );
    assert_eq!(rows[1]["decision"], "allow");
    // CSV out.
    let res = Conn::open(server.addr).post(&format!("{path}&output=csv"), &[], &bom);
    assert_eq!(res.header("content-type"), Some("text/csv; charset=utf-8"));
    let text = String::from_utf8(res.body).unwrap();
    let mut out = text.lines();
    assert!(out.next().unwrap().starts_with("row,line,ref,id,"));
    assert_eq!(text.lines().count(), 3000 + 2);
    assert!(text.lines().last().unwrap().starts_with("summary,"));

    // 5. Refusals before the answer starts.
    let mut conn = Conn::open(server.addr);
    let res = conn.post(&path, &[], b"a,b\n1,2\n");
    assert_eq!(res.status, 400);
    assert_eq!(res.error_code(), "bad_header");
    let mut conn = Conn::open(server.addr);
    assert_eq!(
        conn.post("/v1/screen", &[], b"").error_code(),
        "missing_parameter"
    );
    let mut conn = Conn::open(server.addr);
    assert_eq!(
        conn.post("/v1/screen?action=flight&encoding=klingon", &[], b"")
            .error_code(),
        "invalid_parameter"
    );
    let mut conn = Conn::open(server.addr);
    let res = conn.get("/v1/screen?action=flight");
    assert_eq!((res.status, res.header("allow")), (405, Some("POST")));
    // An empty upload is zero rows.
    let (rows, summary) = lines(&Conn::open(server.addr).post(&path, &[], b"").body);
    assert!(rows.is_empty());
    assert_eq!(summary["rows"], 0);
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// A client that sends part of a declared upload and disconnects, and one
/// that stops sending: the server ends both screenings, stays healthy, and
/// screens the next upload.
#[test]
fn an_aborted_upload_leaves_the_server_healthy() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--screen-stall", "2"]);
    let row = "{\"ref\":\"r\",\"id\":\"91360100705500005G\"}\n";
    let part: String = row.repeat(20_000);
    // Cut off mid-upload.
    {
        let mut conn = Conn::open(server.addr);
        let head = format!(
            "POST /v1/screen?action=flight HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
            part.len() * 10
        );
        conn.send_raw(head.as_bytes()).unwrap();
        conn.send_raw(part.as_bytes()).unwrap();
    }
    // Stalled: sends a few rows (their answers fit in the socket buffers),
    // then nothing, and keeps the connection.
    let mut stalled = Conn::open(server.addr);
    let few = row.repeat(500);
    let head = format!(
        "POST /v1/screen?action=flight HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        few.len() * 10
    );
    stalled.send_raw(head.as_bytes()).unwrap();
    stalled.send_raw(few.as_bytes()).unwrap();
    let metric_now = |name: &str| metric(server.addr, name);
    let deadline = Instant::now() + Duration::from_secs(30);
    while metric_now("creditgate_screens_active") > 0.0
        || metric_now("creditgate_screens_failed_total") < 2.0
    {
        assert!(Instant::now() < deadline, "the screenings did not end");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The stalled one was told why in its answer's last line, and the
    // transfer was cut off after it (no closing chunk).
    let raw = String::from_utf8(stalled.read_until_closed()).unwrap();
    assert!(raw.starts_with("HTTP/1.1 200"), "{raw:.200}");
    assert_eq!(raw.matches("\"decision\":\"allow\"").count(), 500);
    let error_line = raw
        .lines()
        .find(|l| l.starts_with("{\"error\""))
        .expect("an error line");
    let last: serde_json::Value = serde_json::from_str(error_line).unwrap();
    assert_eq!(last["error"]["code"], "upload_failed", "{last}");
    assert!(
        last["error"]["message"]
            .as_str()
            .unwrap()
            .contains("stalled")
    );
    assert!(!raw.ends_with("0\r\n\r\n"), "no closing chunk");
    assert_eq!(get(server.addr, "/healthz").status, 200);
    let res = Conn::open(server.addr).post("/v1/screen?action=flight", &[], part.as_bytes());
    let (rows, _) = lines(&res.body);
    assert_eq!(rows.len(), 20_000);
    // An upload declared over the limit is refused before it is read.
    drop(server);
    let server = Server::start(tmp.path(), &["--data", "store", "--screen-max-mib", "1"]);
    let mut conn = Conn::open(server.addr);
    conn.send_raw(
        b"POST /v1/screen?action=flight HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\n\r\n",
    )
    .unwrap();
    let res = conn.read_response().unwrap();
    assert_eq!(res.status, 413);
}

/// `creditgate screen` on a file and on standard input, NDJSON and CSV.
#[test]
fn screen_command() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (subjects, _) = load_sample();
    let mut body = String::new();
    for s in subjects.iter().take(2500) {
        body.push_str(&format!("{{\"ref\":\"{}\",\"id\":\"{}\"}}\n", s.name, s.id));
    }
    body.push_str("{\"ref\":\"broken\",\"id\":\"1\"}\n");
    std::fs::write(tmp.path().join("rows.ndjson"), &body).unwrap();
    let out = creditgate(
        tmp.path(),
        &[
            "screen",
            "rows.ndjson",
            "--action",
            "flight",
            "--data",
            "store",
            "--at",
            AT,
        ],
    );
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(1), "a row had an error: {stderr}");
    let (rows, summary) = lines(stdout.as_bytes());
    assert_eq!(rows.len(), 2501);
    assert_eq!(rows[2500]["error"]["code"], "invalid_id");
    assert_eq!(summary["errors"], 1);
    assert!(stderr.contains("screened 2501 rows"), "{stderr}");
    for (row, s) in rows.iter().take(2500).zip(&subjects) {
        assert_eq!(row["ref"], s.name.as_str());
        assert_eq!(row["id"], s.id.to_string());
    }
    // Standard input to a file, CSV.
    let out = creditgate_with_stdin(
        tmp.path(),
        &[
            "screen",
            "--action",
            "flight",
            "--data",
            "store",
            "--output-format",
            "csv",
            "-o",
            "out.csv",
        ],
        b"id,name\n91360100705500005G,\n",
    );
    assert!(out.status.success(), "{}", texts(&out).1);
    let csv = std::fs::read_to_string(tmp.path().join("out.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    // Unknown action: refused before reading.
    let out = creditgate(
        tmp.path(),
        &[
            "screen",
            "rows.ndjson",
            "--action",
            "fly",
            "--data",
            "store",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(texts(&out).1.contains("unknown action"));
}

/// The same rows screened by 1, 2 and 7 workers give the same answer, byte
/// for byte (but the summary's timing): order and content do not depend on
/// which worker took which batch. Rows of every kind, good and bad, mixed
/// over several batches.
#[test]
fn the_answer_does_not_depend_on_the_number_of_workers() {
    use creditgate::screen::input::Format;
    use creditgate::screen::input::Input;
    use creditgate::screen::{Options, screen};

    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = Catalog::bundled();
    let engine = Engine::open(&tmp.path().join("store"), catalog.clone()).unwrap();
    let (subjects, _) = load_sample();
    let mut body = String::new();
    for (i, s) in subjects.iter().enumerate().take(4000) {
        let id = s.id.to_string();
        let row = match i % 8 {
            0 => serde_json::json!({"ref": i, "id": id}),
            1 => serde_json::json!({"ref": i, "id": id, "name": s.name}),
            2 => serde_json::json!({"ref": i, "name": s.name}),
            3 => {
                serde_json::json!({"ref": i, "id": format!("{}********{}", &id[..6], &id[14..]), "name": s.name})
            }
            4 => serde_json::json!({"ref": i, "id": &id[..17]}),
            5 => serde_json::json!({"ref": i, "id": id, "name": "另一家公司"}),
            6 => serde_json::json!({"ref": i, "name": s.name.chars().rev().collect::<String>()}),
            _ => serde_json::json!({"ref": i}),
        };
        body.push_str(&row.to_string());
        body.push('\n');
        if i % 333 == 0 {
            body.push_str("{broken\n");
        }
    }
    let at = AT.parse().unwrap();
    let answers: Vec<(String, String)> = [1, 2, 7]
        .iter()
        .flat_map(|&workers| [Format::Ndjson, Format::Csv].map(|o| (workers, o)))
        .map(|(workers, output)| {
            let input =
                Input::open(std::io::Cursor::new(body.clone().into_bytes()), None, None).unwrap();
            let options = Options {
                action: catalog.action_by_code("flight").unwrap(),
                at,
                min_score: 0.8,
                max_changes: 1,
                output,
                workers,
                background: false,
                oversight: Default::default(),
            };
            let mut out = Vec::new();
            let summary = screen(&engine, &options, input, &mut out, &mut |_| {}).unwrap();
            assert_eq!(summary.tally.rows, 4000 + 13);
            let text = String::from_utf8(out).unwrap();
            // All but the last line (the summary, which has timings).
            let (rows, last) = text.trim_end().rsplit_once('\n').unwrap();
            assert!(last.contains("summary"), "{last}");
            (format!("{output:?}"), rows.to_string())
        })
        .collect();
    for (format, rows) in &answers[2..] {
        let first = &answers[if format == "Ndjson" { 0 } else { 1 }];
        assert_eq!(&first.0, format);
        assert!(&first.1 == rows, "{format} differs between worker counts");
    }
    let (rows, _) = lines(format!("{}\n{{\"summary\":{{}}}}", answers[0].1).as_bytes());
    assert_eq!(rows.len(), 4013);
    for kind in ["id", "name", "masked_id"] {
        assert!(rows.iter().any(|r| r["match"]["by"] == kind), "{kind}");
    }
    assert!(rows.iter().any(|r| r["error"]["code"] == "bad_row"));
    assert!(rows.iter().any(|r| r["error"]["code"] == "invalid_id"));
    assert!(rows.iter().any(|r| r["name_match"] == false));
}
