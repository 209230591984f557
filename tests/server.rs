//! The HTTP service over real sockets: `creditgate serve` as a process, and
//! the server library with test handlers for what the API cannot provoke
//! (a panicking handler, a slow one during shutdown).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use creditgate::catalog::Catalog;
use creditgate::engine::Engine;
use creditgate::id::SubjectKey;

use crate::http::{Conn, Server, get, metric};
use crate::util::{SAMPLE_TODAY as AT, import_sample, load_sample, tempdir};

/// Every subject of the sample (and every linked person), each action in
/// turn: the HTTP answer is the engine's answer, which the import tests
/// prove equal to the decision rule.
#[test]
fn check_over_http_answers_as_the_engine_for_every_sample_subject() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = Catalog::bundled();
    let actions: Vec<String> = catalog.actions().iter().map(|a| a.code.clone()).collect();
    let (subjects, entries) = load_sample();
    let mut keys: Vec<SubjectKey> = subjects.iter().map(|s| s.id).collect();
    keys.extend(
        subjects
            .iter()
            .flat_map(|s| s.persons.iter().map(|l| l.person)),
    );
    keys.extend(entries.iter().map(|e| e.subject));
    // And ids the platform has never seen (valid identity numbers born 2006+).
    keys.extend((0..50).map(|i| {
        let body = format!("3601022006{:02}{:02}{:03}", 1 + i % 12, 1 + i % 28, i);
        let id =
            creditgate::id::build::identity_number(body.as_bytes().try_into().unwrap()).unwrap();
        SubjectKey::parse(std::str::from_utf8(&id).unwrap()).unwrap()
    }));
    let mut seen = HashSet::new();
    keys.retain(|k| seen.insert(*k));
    let at = AT.parse().unwrap();
    let expected: Vec<serde_json::Value> = {
        let engine = Engine::open(&tmp.path().join("store"), catalog.clone()).unwrap();
        keys.iter()
            .enumerate()
            .map(|(i, k)| {
                let action = catalog.action_by_code(&actions[i % actions.len()]).unwrap();
                serde_json::to_value(engine.check(*k, action, at).unwrap()).unwrap()
            })
            .collect()
    };
    // Not warmed: the freshly opened store's block cache is cold, so the
    // first round's flagged checks are answered by the disk readers; the
    // second finds everything they read in memory.
    let server = Server::start(tmp.path(), &["--data", "store", "--no-warm"]);
    let mut conn = Conn::open(server.addr);
    let mut decisions = HashSet::new();
    let mut from_disk = Vec::new();
    for _ in 0..2 {
        for (i, (key, want)) in keys.iter().zip(&expected).enumerate() {
            let res = conn.get(&format!(
                "/v1/check?id={key}&action={}&at={AT}",
                actions[i % actions.len()]
            ));
            assert_eq!(res.status, 200, "{key}");
            assert_eq!(
                res.header("content-type"),
                Some("application/json; charset=utf-8")
            );
            assert_eq!(&res.json(), want, "{key}");
            decisions.insert(want["decision"].as_str().unwrap().to_string());
        }
        from_disk.push(metric(server.addr, "creditgate_checks_from_disk_total"));
    }
    assert!(from_disk[0] > 0.0, "a cold check went to a disk reader");
    assert_eq!(from_disk[1], from_disk[0], "a warm one did not");
    assert_eq!(decisions.len(), 3, "allow, caution and deny all occur");
    assert!(expected.iter().any(|v| v["known"] == false));
}

/// Once the server has read the entries into the block cache, no flagged
/// check needs the disk.
#[test]
fn a_warmed_server_answers_flagged_checks_from_memory() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (_, entries) = load_sample();
    let mut server = Server::start(tmp.path(), &["--data", "store"]);
    let said = server.said("block cache");
    assert!(said.contains("warmed with the entries"), "{said}");
    let mut conn = Conn::open(server.addr);
    let listed: HashSet<SubjectKey> = entries.iter().map(|e| e.subject).collect();
    let mut restricted = 0;
    for key in &listed {
        let res = conn.get(&format!("/v1/check?id={key}&action=flight&at={AT}"));
        assert_eq!(res.status, 200, "{key}");
        restricted += usize::from(res.json()["decision"] != "allow");
    }
    assert!(restricted > 0);
    assert_eq!(
        metric(server.addr, "creditgate_checks_from_disk_total"),
        0.0
    );
}

#[test]
fn check_name_match_and_subject_route() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (subjects, entries) = load_sample();
    let listed = entries.iter().map(|e| e.subject).collect::<HashSet<_>>();
    let org = subjects
        .iter()
        .find(|s| listed.contains(&s.id) && !s.aliases.is_empty())
        .expect("a listed subject with an alias");
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let mut conn = Conn::open(server.addr);
    let id = org.id.to_string();
    let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
    let name_match = |conn: &mut Conn, name: &str| {
        let res = conn.get(&format!(
            "/v1/check?id={id}&action=flight&at={AT}&name={}",
            enc(name)
        ));
        assert_eq!(res.status, 200);
        res.json()["name_match"].clone()
    };
    assert_eq!(name_match(&mut conn, &org.name), true);
    assert_eq!(
        name_match(&mut conn, &format!(" {} ", org.aliases[0])),
        true
    );
    assert_eq!(name_match(&mut conn, "完全不同的名字有限公司"), false);
    let res = conn.get(&format!("/v1/check?id={id}&action=flight"));
    assert_eq!(res.json()["name_match"], serde_json::Value::Null);

    // The subject route, with the id lower-cased and percent-encoded.
    let res = conn.get(&format!("/v1/subjects/{}?at={AT}", enc(&id.to_lowercase())));
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(v["id"], id);
    assert_eq!(v["name"], org.name.as_str());
    let got: HashSet<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entry_id"].as_str().unwrap())
        .collect();
    let want: HashSet<&str> = entries
        .iter()
        .filter(|e| e.subject == org.id)
        .map(|e| e.entry_id.as_str())
        .collect();
    assert_eq!(got, want);
    assert!(!v["history"].as_array().unwrap().is_empty());
}

#[test]
fn every_error_class_has_its_status_and_code() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--header-timeout", "1"]);
    let addr = server.addr;
    let ok_id = "36102519400601500X";
    let cases: [(&str, u16, &str, &str); 14] = [
        (
            "/v1/check?id=91360100705500005H&action=flight",
            400,
            "invalid_id",
            "expected 'G'",
        ),
        (
            "/v1/check?id=123&action=flight",
            400,
            "invalid_id",
            "parameter \"id\"",
        ),
        (
            "/v1/check?action=flight",
            400,
            "missing_parameter",
            "\"id\" is required",
        ),
        (
            "/v1/check?id=36102519400601500X",
            400,
            "missing_parameter",
            "\"action\"",
        ),
        (
            "/v1/check?id=36102519400601500X&action=fly",
            400,
            "unknown_action",
            "the catalog has: ",
        ),
        (
            "/v1/check?id=36102519400601500X&action=flight&at=2026-02-30",
            400,
            "invalid_date",
            "parameter \"at\"",
        ),
        (
            "/v1/check?id=36102519400601500X&action=flight&at=tomorrow",
            400,
            "invalid_date",
            "YYYY-MM-DD",
        ),
        (
            "/v1/check?id=36102519400601500X&action=flight&acton=x",
            400,
            "unknown_parameter",
            "\"acton\"",
        ),
        (
            "/v1/check?id=36102519400601500X&action=flight&action=rail",
            400,
            "bad_query",
            "more than once",
        ),
        (
            "/v1/check?id=%ZZ&action=flight",
            400,
            "bad_query",
            "percent-escape",
        ),
        ("/v1/nothing", 404, "not_found", "/v1/check"),
        (
            "/v1/subjects/91360100705500005G",
            404,
            "unknown_subject",
            "no record",
        ),
        (
            "/v1/subjects/not-an-id",
            400,
            "invalid_id",
            "path identifier",
        ),
        (
            "/v1/subjects/91360100705500005G?when=now",
            400,
            "unknown_parameter",
            "\"when\"",
        ),
    ];
    let mut conn = Conn::open(addr);
    for (path, status, code, message) in cases {
        let res = conn.get(path);
        assert_eq!(res.status, status, "{path}: {:?}", res.json());
        assert_eq!(res.error_code(), code, "{path}");
        let text = res.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(text.contains(message), "{path}: {text}");
    }
    // The connection survived every error.
    assert_eq!(
        conn.get(&format!("/v1/check?id={ok_id}&action=flight"))
            .status,
        200
    );

    // 405 with Allow.
    let res = conn.request("POST", "/v1/check?id=1", &["Content-Length: 0"]);
    assert_eq!(res.status, 405);
    assert_eq!(res.error_code(), "method_not_allowed");
    assert_eq!(res.header("allow"), Some("GET, HEAD"));

    // 413 for a declared body over the limit; the connection is closed.
    let mut big = Conn::open(addr);
    let res = big.request("GET", "/v1/check", &["Content-Length: 100000000"]);
    assert_eq!(res.status, 413);
    assert_eq!(res.error_code(), "payload_too_large");
    assert!(big.closed_within(Duration::from_secs(5)));

    // 431 for a head over the limit.
    let mut fat = Conn::open(addr);
    let huge = format!("X-Filler: {}", "a".repeat(64 << 10));
    fat.send_raw(format!("GET /healthz HTTP/1.1\r\nHost: t\r\n{huge}\r\n\r\n").as_bytes())
        .ok();
    let res = fat.read_response().expect("an answer before the close");
    assert_eq!(res.status, 431);
    // With the error body every error has, though hyper answers it.
    assert_eq!(res.error_code(), "headers_too_large");
    assert!(
        res.header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );

    // A malformed request line gets 400 from hyper, with the body too.
    let mut bad = Conn::open(addr);
    bad.send_raw(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    let res = bad.read_response().expect("an answer");
    assert_eq!(res.status, 400);
    assert_eq!(res.error_code(), "malformed_request");
    let mut bad = Conn::open(addr);
    bad.send_raw(b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n")
        .unwrap();
    let res = bad.read_response().expect("an answer");
    assert_eq!(
        (res.status, res.error_code().as_str()),
        (400, "malformed_request")
    );

    // A slow client (half a head) and an idle kept-alive connection are
    // both closed after the header time-out (1 s here).
    let mut slow = Conn::open(addr);
    slow.send_raw(b"GET /healthz HTTP/1.1\r\nHo").unwrap();
    assert!(slow.closed_within(Duration::from_secs(5)));
    let mut idle = Conn::open(addr);
    assert_eq!(idle.get("/healthz").status, 200);
    assert!(idle.closed_within(Duration::from_secs(5)));

    // The server is still healthy and counted the errors.
    let res = get(addr, "/healthz");
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "ok");
    let metrics = get(addr, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain")
    );
    let text = String::from_utf8(metrics.body).unwrap();
    for needle in [
        "creditgate_requests_total{route=\"/v1/check\",status=\"400\"} 10",
        "creditgate_requests_total{route=\"/v1/check\",status=\"200\"} 1",
        "creditgate_requests_total{route=\"/v1/check\",status=\"405\"} 1",
        "creditgate_requests_total{route=\"other\",status=\"413\"} 1",
        "creditgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 12",
        "creditgate_status_index_subjects ",
        "creditgate_known_subjects ",
        "creditgate_store_estimate_num_keys{family=\"subjects\"} ",
    ] {
        assert!(text.contains(needle), "{needle} missing from\n{text}");
    }
}

#[test]
fn many_concurrent_clients_get_their_own_answers() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (subjects, _) = load_sample();
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let addr = server.addr;
    let ids: Arc<Vec<String>> = Arc::new(
        subjects
            .iter()
            .take(3200)
            .map(|s| s.id.to_string())
            .collect(),
    );
    let threads: Vec<_> = (0..32)
        .map(|t| {
            let ids = ids.clone();
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for i in (t..ids.len()).step_by(32) {
                    let res = conn.get(&format!("/v1/check?id={}&action=flight", ids[i]));
                    assert_eq!(res.status, 200);
                    assert_eq!(res.json()["id"], ids[i].as_str());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread");
    }
    let text = String::from_utf8(get(addr, "/metrics").body).unwrap();
    assert!(
        text.contains("creditgate_requests_total{route=\"/v1/check\",status=\"200\"} 3200\n"),
        "{text}"
    );
}

#[test]
fn sigterm_stops_gracefully_and_the_store_reopens() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let addr = server.addr;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Clients keep asking while the signal arrives: every answer that
    // arrives is whole, and no request hangs.
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut answered = 0u32;
                let mut conn = Conn::open(addr);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if conn
                        .send_raw(b"GET /v1/check?id=36102519400601500X&action=flight HTTP/1.1\r\nHost: t\r\n\r\n")
                        .is_err()
                    {
                        break;
                    }
                    match conn.read_response() {
                        Ok(res) => {
                            assert_eq!(res.status, 200);
                            assert_eq!(res.json()["decision"], "deny");
                            answered += 1;
                        }
                        Err(_) => break,
                    }
                }
                answered
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    server.terminate();
    let (code, stderr) = server.wait(Duration::from_secs(15));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered: u32 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(answered > 0);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("shutting down") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "no longer listening"
    );
    // The store was closed cleanly and opens again.
    Engine::open(&tmp.path().join("store"), Catalog::bundled()).expect("the store reopens");
}

#[test]
fn serve_without_data_serves_the_bundled_sample() {
    let tmp = tempdir();
    let server = Server::start(tmp.path(), &[]);
    let res = get(
        server.addr,
        &format!("/v1/check?id=36102519400601500X&action=flight&at={AT}"),
    );
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["decision"], "deny");
}

mod library {
    //! The server library with handlers the API cannot provoke.

    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;
    use creditgate::server::request_id::RequestId;
    use creditgate::server::{self, Handled, Handler, Limits, json_reply};
    use hyper::body::Incoming;
    use hyper::{Request, StatusCode};

    use crate::http::Conn;

    /// Panics on `/panic`, sleeps on `/slow`, answers `ok` otherwise.
    struct Test;

    impl Handler for Test {
        fn handle(&self, req: Request<Incoming>, _id: RequestId) -> Handled {
            Handled::Now(match req.uri().path() {
                "/panic" => panic!("a handler bug"),
                "/slow" => {
                    std::thread::sleep(Duration::from_millis(800));
                    json_reply(StatusCode::OK, Bytes::from_static(b"\"slow\""))
                }
                _ => json_reply(StatusCode::OK, Bytes::from_static(b"\"ok\"")),
            })
        }
    }

    fn start() -> (
        std::net::SocketAddr,
        tokio::sync::oneshot::Sender<()>,
        std::thread::JoinHandle<()>,
    ) {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let listener = server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                server::serve(listener, Arc::new(Test), Limits::default(), async {
                    let _ = stop_rx.await;
                })
                .await;
            });
        });
        (addr_rx.recv().unwrap(), stop_tx, thread)
    }

    #[test]
    fn a_panicking_handler_gets_500_and_the_server_carries_on() {
        let (addr, stop, thread) = start();
        let mut conn = Conn::open(addr);
        let res = conn.get("/panic");
        assert_eq!(res.status, 500);
        assert_eq!(res.error_code(), "internal");
        // Same connection, then a new one.
        assert_eq!(conn.get("/").status, 200);
        assert_eq!(Conn::open(addr).get("/").status, 200);
        stop.send(()).unwrap();
        thread.join().unwrap();
    }

    #[test]
    fn shutdown_finishes_the_request_in_flight() {
        let (addr, stop, thread) = start();
        let mut idle = Conn::open(addr);
        assert_eq!(idle.get("/").status, 200);
        let mut busy = Conn::open(addr);
        busy.send_raw(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        stop.send(()).unwrap();
        // The request in flight is answered in full, then the connection
        // closes; the idle one is closed at once.
        let res = busy.read_response().expect("the slow answer");
        assert_eq!(res.status, 200);
        assert_eq!(res.body, b"\"slow\"");
        assert!(busy.closed_within(Duration::from_secs(5)));
        assert!(idle.closed_within(Duration::from_secs(5)));
        thread.join().unwrap();
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}

/// Percent-encodes a query value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Simplified → Traditional for a few common characters, to type names the
/// way a Hong Kong or Taiwan keyboard would.
fn traditional(name: &str) -> String {
    const PAIRS: &[(char, char)] = &[
        ('发', '發'),
        ('开', '開'),
        ('业', '業'),
        ('产', '產'),
        ('华', '華'),
        ('东', '東'),
        ('电', '電'),
        ('贸', '貿'),
        ('车', '車'),
        ('设', '設'),
        ('计', '計'),
        ('网', '網'),
        ('络', '絡'),
        ('农', '農'),
        ('医', '醫'),
        ('药', '藥'),
        ('广', '廣'),
        ('门', '門'),
        ('机', '機'),
        ('实', '實'),
        ('乐', '樂'),
        ('汇', '匯'),
        ('达', '達'),
        ('丰', '豐'),
        ('兴', '興'),
        ('长', '長'),
        ('阳', '陽'),
        ('饰', '飾'),
        ('装', '裝'),
        ('务', '務'),
        ('饮', '飲'),
        ('员', '員'),
        ('环', '環'),
        ('保', '保'),
        ('节', '節'),
        ('能', '能'),
        ('建', '建'),
        ('筑', '築'),
        ('运', '運'),
        ('输', '輸'),
        ('物', '物'),
        ('流', '流'),
        ('鑫', '鑫'),
        ('责', '責'),
        ('任', '任'),
        ('限', '限'),
        ('个', '個'),
        ('专', '專'),
    ];
    name.chars()
        .map(|c| PAIRS.iter().find(|(s, _)| *s == c).map_or(c, |(_, t)| *t))
        .collect()
}

/// `/v1/search` finds sample organizations typed as they are, in
/// Traditional characters, without region and legal form, and in pinyin;
/// narrows persons; and refuses bad parameters with their codes.
#[test]
fn search_over_http_finds_names_typed_otherwise() {
    use creditgate::search::normalize::{normalize, parse, pinyin_key};
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store"]);
    let mut conn = Conn::open(server.addr);
    let (subjects, _) = load_sample();
    let orgs: Vec<_> = subjects
        .iter()
        .filter(|s| {
            let p = parse(&normalize(&s.name));
            s.id.kind() == creditgate::id::SubjectKind::Org
                && !p.regions.is_empty()
                && p.form.is_some()
                && p.branch.is_none()
                && traditional(&s.name) != s.name
        })
        .take(40)
        .collect();
    assert!(orgs.len() >= 20);
    let mut top = |q: &str| -> serde_json::Value {
        let res = conn.get(&format!("/v1/search?q={}&kind=org&limit=5", encode(q)));
        assert_eq!(
            res.status,
            200,
            "{q}: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.json()["results"][0].clone()
    };
    let (mut first, mut total) = (0, 0);
    for s in &orgs {
        let id = s.id.to_string();
        let exact = top(&s.name);
        assert_eq!(exact["id"], id.as_str());
        assert_eq!(exact["method"], "exact");
        assert_eq!(exact["score"], 1.0);
        let t = top(&traditional(&s.name));
        assert_eq!(t["id"], id.as_str(), "{}", traditional(&s.name));
        assert_eq!(t["method"], "normalized");
        let parts = parse(&normalize(&s.name));
        // Region and legal form dropped: the same company, score ≥ 0.8.
        let bare = top(&parts.core);
        total += 1;
        if bare["id"] == id.as_str() {
            first += 1;
            assert!(bare["score"].as_f64().unwrap() >= 0.8, "{bare}");
        }
        let py = top(&pinyin_key(&s.name));
        assert_eq!(py["id"], id.as_str(), "{}", pinyin_key(&s.name));
        assert_eq!(py["method"], "pinyin");
    }
    // Without its region a name may be shared by another company.
    assert!(first * 10 >= total * 9, "{first} of {total}");

    // Persons: a common name returns many, narrowed by id prefix or birth date.
    let person = subjects
        .iter()
        .find(|s| s.id.kind() == creditgate::id::SubjectKind::Person)
        .unwrap();
    let id = person.id.to_string();
    let res = conn.get(&format!(
        "/v1/search?q={}&kind=person&id_prefix={}&born={}-{}-{}",
        encode(&person.name),
        &id[..6],
        &id[6..10],
        &id[10..12],
        &id[12..14]
    ));
    assert_eq!(res.status, 200);
    let results = res.json()["results"].as_array().unwrap().clone();
    assert!(
        results.iter().any(|r| r["id"] == id.as_str()),
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .all(|r| r["id"].as_str().unwrap().starts_with(&id[..6]))
    );

    let too_long = format!("/v1/search?q={}", "a".repeat(101));
    for (path, code, says) in [
        (
            "/v1/search?kind=org",
            "missing_parameter",
            "\"q\" is required",
        ),
        (
            "/v1/search?q=abc&kind=company",
            "invalid_parameter",
            "org or person",
        ),
        (
            "/v1/search?q=abc&limit=0",
            "invalid_parameter",
            "from 1 to 100",
        ),
        (
            "/v1/search?q=abc&limit=101",
            "invalid_parameter",
            "from 1 to 100",
        ),
        (
            "/v1/search?q=abc&id_prefix=36-01",
            "invalid_parameter",
            "letters or digits",
        ),
        (
            "/v1/search?q=abc&born=1990-13-01",
            "invalid_date",
            "\"born\"",
        ),
        (
            "/v1/search?q=abc&name=x",
            "unknown_parameter",
            "q, kind, limit",
        ),
        (
            "/v1/search?q=%E3%80%82%EF%BC%8C",
            "invalid_parameter",
            "nothing to search",
        ),
        (&too_long, "invalid_parameter", "at most 100"),
    ] {
        let res = conn.get(path);
        assert_eq!(res.status, 400, "{path}");
        let body = res.json();
        assert_eq!(body["error"]["code"], code, "{path}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    // A name that is nowhere: an empty list, not an error.
    let res = conn.get(&format!("/v1/search?q={}", encode("子虚乌有量子纠缠")));
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["results"], serde_json::json!([]));
}
