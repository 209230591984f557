//! Watches, webhooks and the feedback decisions demand, against the real
//! server and a local receiver that fails now and then and is slow at
//! times: order kept, nothing lost across SIGKILL, signatures that verify
//! and replays detected, private callbacks refused, dead letters filled
//! and drained, another key's watch invisible, late feedback counted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use creditgate::watch::sign;
use serde_json::{Value, json};

use crate::governance::make_key;
use crate::http::{Conn, Resp, Server, get, metric, send_json};
use crate::lifecycle::{ORG, entry_record, org_record};
use crate::util::{SAMPLE_TODAY as TODAY, import_sample, tempdir};

/// The sample's first organization: changes to it concern no watch here.
const OTHER: &str = "91430100MA0000015K";
/// ORG's legal representative (tests/lifecycle.rs).
const REP: &str = "11010519491231002X";

/// How the receiver answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    /// 503 on every third request, 400 ms late on every fifth, else 200.
    Flaky,
    /// Always this status.
    Fail(u16),
    /// 302 to elsewhere.
    Redirect,
    /// Always 200.
    Ok,
}

/// One POST the receiver took (answered 200).
#[derive(Clone, Debug)]
struct Delivery {
    seq: u64,
    signature: String,
    body: Vec<u8>,
    change: Value,
}

/// A webhook receiver on loopback.
struct Receiver {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    secret: Arc<Mutex<String>>,
    taken: Arc<Mutex<Vec<Delivery>>>,
    /// Deliveries whose signature did not verify, with why.
    rejected: Arc<Mutex<Vec<String>>>,
    requests: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

impl Receiver {
    fn start(mode: Mode) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let r = Receiver {
            addr: listener.local_addr().unwrap(),
            mode: Arc::new(Mutex::new(mode)),
            secret: Arc::default(),
            taken: Arc::default(),
            rejected: Arc::default(),
            requests: Arc::default(),
            connections: Arc::default(),
        };
        let connections = r.connections.clone();
        let (mode, secret, taken, rejected, requests) = (
            r.mode.clone(),
            r.secret.clone(),
            r.taken.clone(),
            r.rejected.clone(),
            r.requests.clone(),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                connections.fetch_add(1, Ordering::SeqCst);
                let (mode, secret, taken, rejected, requests) = (
                    mode.clone(),
                    secret.clone(),
                    taken.clone(),
                    rejected.clone(),
                    requests.clone(),
                );
                std::thread::spawn(move || {
                    let _ = serve(stream, &requests, &mode, &secret, &taken, &rejected);
                });
            }
        });
        r
    }

    fn url(&self) -> String {
        format!("http://{}/hook?dept=7", self.addr)
    }

    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn taken(&self) -> Vec<Delivery> {
        self.taken.lock().unwrap().clone()
    }

    /// Waits until the receiver has taken every sequence of `seqs`.
    fn wait_for(&self, seqs: &[u64], limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let taken: Vec<u64> = self.taken().iter().map(|d| d.seq).collect();
            if seqs.iter().all(|s| taken.contains(s)) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver has {taken:?}, not yet all of {seqs:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Answers the requests of one kept-alive connection; in `Flaky` mode it
/// drops the connection after every fourth request without a word, as
/// receivers behind load balancers do.
fn serve(
    stream: TcpStream,
    requests: &AtomicUsize,
    mode: &Mutex<Mode>,
    secret: &Mutex<String>,
    taken: &Mutex<Vec<Delivery>>,
    rejected: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    for on_connection in 1u64.. {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        assert!(line.starts_with("POST /hook?dept=7 HTTP/1.1"), "{line:?}");
        let n = requests.fetch_add(1, Ordering::SeqCst) + 1;
        let mode = *mode.lock().unwrap();
        let (mut length, mut signature, mut seq, mut host) = (0, String::new(), 0, String::new());
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').unwrap();
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap(),
                sign::SIGNATURE_HEADER => signature = value,
                sign::DELIVERY_HEADER => seq = value.parse().unwrap(),
                "host" => host = value,
                _ => {}
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        assert!(host.starts_with("127.0.0.1:"), "Host: {host}");
        let status = match mode {
            Mode::Flaky if n.is_multiple_of(3) => 503,
            Mode::Flaky => {
                if n.is_multiple_of(5) {
                    std::thread::sleep(Duration::from_millis(400));
                }
                200
            }
            Mode::Fail(status) => status,
            Mode::Redirect => 302,
            Mode::Ok => 200,
        };
        if status == 200 {
            let key = secret.lock().unwrap().clone();
            if let Err(e) = sign::verify(&key, &signature, &body, unix_now(), 300) {
                rejected.lock().unwrap().push(format!("{seq}: {e}"));
            }
            let v: Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(
                v["change"]["seq"],
                json!(seq),
                "the header names the change sent"
            );
            taken.lock().unwrap().push(Delivery {
                seq,
                signature,
                body: body.clone(),
                change: v["change"].clone(),
            });
        }
        let location = if status == 302 {
            "Location: http://example.com/elsewhere\r\n"
        } else {
            ""
        };
        let out = reader.get_mut();
        write!(
            out,
            "HTTP/1.1 {status} X\r\n{location}Content-Length: 2\r\n\r\nok"
        )?;
        out.flush()?;
        if mode == Mode::Flaky && on_connection.is_multiple_of(4) {
            return Ok(());
        }
    }
    Ok(())
}

fn created(res: &Resp) -> Value {
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

fn put_entry(addr: SocketAddr, id: &str, i: usize) -> u64 {
    let res = send_json(
        addr,
        "PUT",
        &format!("/v1/entries/{id}"),
        &entry_record("dishonest_debtor", &format!("(2026)赣01执{i}号")),
    );
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()["changes"][0]["seq"].as_u64().unwrap()
}

/// Every change of a watch after its start, through its feed.
fn watch_feed(addr: SocketAddr, watch: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut since = None::<u64>;
    loop {
        let path = match since {
            Some(s) => format!("/v1/watches/{watch}/changes?since={s}&limit=7"),
            None => format!("/v1/watches/{watch}/changes?limit=7"),
        };
        let page = get(addr, &path);
        assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
        let page = page.json();
        let changes = page["changes"].as_array().unwrap().clone();
        let next = page["next_since"].as_u64().unwrap();
        if changes.is_empty() && next >= page["last_seq"].as_u64().unwrap() {
            return out;
        }
        out.extend(changes);
        since = Some(next);
    }
}

fn serve_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut args = vec!["--data", "store", "--today", TODAY];
    args.extend_from_slice(extra);
    args
}

#[test]
fn deliveries_keep_their_order_lose_nothing_across_sigkill_and_are_signed() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let args = serve_args(&["--allow-private-webhooks", "--webhook-backoff-ms", "50"]);
    let mut server = Server::start(tmp.path(), &args);
    let receiver = Receiver::start(Mode::Flaky);
    assert_eq!(
        send_json(
            server.addr,
            "PUT",
            &format!("/v1/subjects/{ORG}"),
            &org_record()
        )
        .status,
        201
    );
    let watch = created(&send_json(
        server.addr,
        "POST",
        "/v1/watches",
        &json!({"ids": [ORG], "callback": receiver.url()}),
    ));
    let id = watch["watch_id"].as_str().unwrap().to_string();
    let secret = watch["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{watch}");
    *receiver.secret.lock().unwrap() = secret.clone();
    // The person's watch hears of the organization's listing.
    let rep_watch = created(&send_json(
        server.addr,
        "POST",
        "/v1/watches",
        &json!({"ids": [REP]}),
    ));
    let rep_watch = rep_watch["watch_id"].as_str().unwrap().to_string();
    // The secret is shown once.
    let shown = get(server.addr, &format!("/v1/watches/{id}"));
    assert_eq!(shown.status, 200);
    assert!(shown.json().get("secret").is_none(), "{}", shown.json());

    let other = json!({"kind":"org","name":"长沙凯隆房地产开发有限责任公司(更名)",
        "persons":[{"id":"360428194110035449","role":"legal_rep"}]});
    let mut watched = Vec::new();
    let mut unwatched = Vec::new();
    for i in 0..40 {
        if i == 20 {
            // Kill the server while deliveries are in flight.
            receiver.wait_for(&watched[..5], Duration::from_secs(30));
            server.child.kill().expect("SIGKILL");
            server.child.wait().unwrap();
            drop(server);
            server = Server::start(tmp.path(), &args);
        }
        watched.push(put_entry(server.addr, &format!("W-{i}"), i));
        if i % 4 == 0 {
            let mut record = other.clone();
            record["name"] = json!(format!("长沙凯隆房地产开发有限责任公司{i}"));
            let res = send_json(
                server.addr,
                "PUT",
                &format!("/v1/subjects/{OTHER}"),
                &record,
            );
            assert_eq!(
                res.json()["result"],
                "replaced",
                "{}",
                String::from_utf8_lossy(&res.body)
            );
            unwatched.push(res.json()["changes"][0]["seq"].as_u64().unwrap());
        }
    }
    receiver.wait_for(&watched, Duration::from_secs(60));

    // The watch's feed is exactly the watched subject's changes.
    let feed: Vec<u64> = watch_feed(server.addr, &id)
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(feed, watched);
    let rep_feed: Vec<u64> = watch_feed(server.addr, &rep_watch)
        .iter()
        .map(|c| c["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(rep_feed, watched, "the legal representative's watch");

    // In order, each change at least once, nothing else.
    let taken = receiver.taken();
    let mut first_seen = Vec::new();
    for d in &taken {
        if !first_seen.contains(&d.seq) {
            first_seen.push(d.seq);
        }
        assert!(
            !unwatched.contains(&d.seq),
            "unwatched change {} delivered",
            d.seq
        );
        assert_eq!(d.change["subject_id"], ORG);
    }
    assert_eq!(first_seen, watched, "deliveries out of order or missing");
    let duplicates = taken.len() - first_seen.len();
    assert!(
        duplicates <= 2,
        "{duplicates} duplicates: at least once, not many times"
    );
    assert!(
        receiver.requests.load(Ordering::SeqCst) > taken.len(),
        "the receiver failed some requests, so delivery retried"
    );
    assert_eq!(*receiver.rejected.lock().unwrap(), Vec::<String>::new());
    // Connections are kept alive between deliveries, and replaced when the
    // receiver drops them.
    let connections = receiver.connections.load(Ordering::SeqCst);
    assert!(
        connections > 2 && 2 * connections < receiver.requests.load(Ordering::SeqCst),
        "{connections} connections for {} requests",
        receiver.requests.load(Ordering::SeqCst)
    );

    // A captured delivery replayed later is detected; a forged one too.
    let d = &taken[0];
    assert_eq!(
        sign::verify(&secret, &d.signature, &d.body, unix_now(), 300),
        Ok(())
    );
    assert!(matches!(
        sign::verify(&secret, &d.signature, &d.body, unix_now() + 600, 300),
        Err(sign::Rejected::Stale { .. })
    ));
    assert_eq!(
        sign::verify("whsec_guess", &d.signature, &d.body, unix_now(), 300),
        Err(sign::Rejected::Mismatch)
    );

    // The watch survived the restart, its cursor at the last change.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let w = get(server.addr, &format!("/v1/watches/{id}")).json();
        if w["cursor"].as_u64() >= watched.last().copied() {
            assert_eq!(w["subjects"], 1);
            assert_eq!(w["dead_letters"], 0);
            break;
        }
        assert!(Instant::now() < deadline, "{w}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn private_callbacks_are_refused_and_dead_letters_fill_and_drain() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &serve_args(&[]));
    assert_eq!(
        send_json(
            server.addr,
            "PUT",
            &format!("/v1/subjects/{ORG}"),
            &org_record()
        )
        .status,
        201
    );
    for (callback, says) in [
        ("http://127.0.0.1:9/hook", "--allow-private-webhooks"),
        ("http://localhost:9/hook", "not a public address"),
        ("http://10.0.0.8/hook", "not a public address"),
        ("http://169.254.169.254/latest", "not a public address"),
        ("http://[::1]:9/", "not a public address"),
        ("ftp://example.com/", "use http or https"),
    ] {
        let res = send_json(
            server.addr,
            "POST",
            "/v1/watches",
            &json!({"ids": [ORG], "callback": callback}),
        );
        assert_eq!(res.status, 400, "{callback}");
        let message = res.json()["error"]["message"].as_str().unwrap().to_string();
        assert!(message.contains(says), "{callback}: {message}");
    }
    drop(server);

    let server = Server::start(
        tmp.path(),
        &serve_args(&[
            "--allow-private-webhooks",
            "--webhook-attempts",
            "3",
            "--webhook-backoff-ms",
            "20",
        ]),
    );
    let addr = server.addr;
    let receiver = Receiver::start(Mode::Fail(500));
    let watch = created(&send_json(
        addr,
        "POST",
        "/v1/watches",
        &json!({"ids": [ORG], "callback": receiver.url(), "actions": ["flight"]}),
    ));
    let id = watch["watch_id"].as_str().unwrap().to_string();
    *receiver.secret.lock().unwrap() = watch["secret"].as_str().unwrap().to_string();
    let dead = |n: usize| -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let res = get(addr, &format!("/v1/watches/{id}/dead-letters"));
            assert_eq!(res.status, 200);
            let letters = res.json()["dead_letters"].as_array().unwrap().clone();
            if letters.len() >= n {
                return letters;
            }
            assert!(Instant::now() < deadline, "{letters:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let first = put_entry(addr, "D-1", 1);
    let second = put_entry(addr, "D-2", 2);
    let letters = dead(2);
    assert_eq!(
        letters
            .iter()
            .map(|d| d["seq"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [first, second]
    );
    for d in &letters {
        assert_eq!(d["attempts"], 3);
        assert!(d["error"].as_str().unwrap().contains("500"), "{d}");
        assert_eq!(d["change"]["subject_id"], ORG, "the change comes with it");
    }
    // A redirect is not followed: it fails like any other answer.
    receiver.set(Mode::Redirect);
    let third = put_entry(addr, "D-3", 3);
    let letters = dead(3);
    assert_eq!(letters[2]["seq"], third);
    assert!(
        letters[2]["error"]
            .as_str()
            .unwrap()
            .contains("redirects are not followed"),
        "{}",
        letters[2]
    );
    // Delivery resumed past the dead letters.
    receiver.set(Mode::Ok);
    let fourth = put_entry(addr, "D-4", 4);
    receiver.wait_for(&[fourth], Duration::from_secs(20));
    let w = get(addr, &format!("/v1/watches/{id}")).json();
    assert_eq!(w["dead_letters"], 3, "{w}");
    assert_eq!(w["delivery"]["dead_lettered"], 3, "{w}");
    assert_eq!(metric(addr, "creditgate_webhook_dead_letters_total"), 3.0);
    assert_eq!(metric(addr, "creditgate_webhook_deliveries_total"), 1.0);
    assert!(metric(addr, "creditgate_webhook_failures_total") >= 9.0);
    assert_eq!(metric(addr, "creditgate_watches_with_callbacks"), 1.0);
    // Drained in two steps.
    let mut conn = Conn::open(addr);
    let res = conn.request(
        "DELETE",
        &format!("/v1/watches/{id}/dead-letters?through={second}"),
        &[],
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["drained"], 2);
    let left = get(addr, &format!("/v1/watches/{id}/dead-letters")).json();
    assert_eq!(left["dead_letters"].as_array().unwrap().len(), 1);
    let res = conn.request(
        "DELETE",
        &format!("/v1/watches/{id}/dead-letters?through={third}"),
        &[],
    );
    assert_eq!(res.json()["drained"], 1);
    assert_eq!(
        get(addr, &format!("/v1/watches/{id}")).json()["dead_letters"],
        0
    );
    assert_eq!(
        conn.request("DELETE", &format!("/v1/watches/{id}/dead-letters"), &[])
            .status,
        400
    );
    // Deleted: gone, and nothing more is delivered.
    assert_eq!(
        conn.request("DELETE", &format!("/v1/watches/{id}"), &[])
            .status,
        204
    );
    assert_eq!(
        get(addr, &format!("/v1/watches/{id}")).error_code(),
        "unknown_watch"
    );
    let before = receiver.requests.load(Ordering::SeqCst);
    put_entry(addr, "D-5", 5);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(receiver.requests.load(Ordering::SeqCst), before);
}

#[test]
fn a_watch_is_visible_only_to_its_key_and_ids_are_checked_by_line() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let (_, airline) = make_key(tmp.path(), &["--department", "东方航空", "--role", "query"]);
    let (_, bank) = make_key(tmp.path(), &["--department", "南昌银行", "--role", "query"]);
    let server = Server::start(tmp.path(), &serve_args(&["--keys", "keys.json"]));
    let mut conn = Conn::open(server.addr);
    let auth = |token: &str| format!("Authorization: Bearer {token}");
    let (a, b) = (auth(&airline), auth(&bank));
    let csv = |body: &str, key: &str| -> Resp {
        Conn::open(server.addr).post(
            "/v1/watches?action=flight",
            &[key, "Content-Type: text/csv"],
            body.as_bytes(),
        )
    };
    let bad = csv(&format!("id\n{OTHER}\n123456\n"), &a);
    assert_eq!(bad.status, 400);
    let message = bad.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("line 3:"), "{message}");
    let res = csv(&format!("id,name\n{OTHER},x\n\n{REP}\n{OTHER}\n"), &a);
    let watch = created(&res);
    assert_eq!(watch["subjects"], 2, "{watch}");
    assert_eq!(watch["actions"], json!(["flight"]));
    let id = watch["watch_id"].as_str().unwrap().to_string();
    assert_eq!(
        res.header("location"),
        Some(format!("/v1/watches/{id}").as_str())
    );
    let ndjson = Conn::open(server.addr).post(
        "/v1/watches",
        &[&b, "Content-Type: application/x-ndjson"],
        format!("\"{OTHER}\"\n{{\"id\":\"{REP}\"}}\n").as_bytes(),
    );
    let theirs = created(&ndjson)["watch_id"].as_str().unwrap().to_string();

    let mut listed = |key: &str| -> Vec<Value> {
        let res = conn.request("GET", "/v1/watches", &[key]);
        assert_eq!(res.status, 200);
        res.json()["watches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["watch_id"].clone())
            .collect()
    };
    assert_eq!(listed(&a), [json!(id)]);
    assert_eq!(listed(&b), [json!(theirs)]);
    for path in [
        format!("/v1/watches/{id}"),
        format!("/v1/watches/{id}/changes"),
        format!("/v1/watches/{id}/dead-letters"),
    ] {
        let res = conn.request("GET", &path, &[&a]);
        assert_eq!(
            res.status,
            200,
            "{path}: {}",
            String::from_utf8_lossy(&res.body)
        );
        let res = conn.request("GET", &path, &[&b]);
        assert_eq!(
            (res.status, res.error_code()),
            (404, "unknown_watch".into()),
            "{path}"
        );
        assert_eq!(conn.request("GET", &path, &[]).status, 401, "{path}");
    }
    let res = conn.request("DELETE", &format!("/v1/watches/{id}"), &[&b]);
    assert_eq!(res.status, 404);
    // Its subjects change without losing its place.
    let change = |key: &str, body: Value| {
        let path = format!("/v1/watches/{id}/subjects");
        Conn::open(server.addr).post(&path, &[key], body.to_string().as_bytes())
    };
    let res = change(&a, json!({"add": [ORG, OTHER], "remove": [REP]}));
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["subjects"], 2);
    assert_eq!(
        (res.json()["added"].clone(), res.json()["removed"].clone()),
        (json!(1), json!(1))
    );
    assert_eq!(
        change(&b, json!({"add": [REP]})).error_code(),
        "unknown_watch"
    );
    let bad = change(&a, json!({"add": [REP, "12345"]}));
    let message = bad.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("field \"add\"[1]: "), "{message}");
    let none = change(&a, json!({"remove": [ORG, OTHER]}));
    assert!(String::from_utf8_lossy(&none.body).contains("delete it instead"));
    assert_eq!(
        conn.request("GET", &format!("/v1/watches/{id}"), &[&a])
            .json()["subjects"],
        2
    );
    assert_eq!(
        conn.request("GET", &format!("/v1/watches/{theirs}"), &[&a])
            .status,
        404
    );
    assert_eq!(
        conn.request("GET", &format!("/v1/watches/{id}"), &[&a])
            .status,
        200
    );
    let res = conn.request("DELETE", &format!("/v1/watches/{id}"), &[&a]);
    assert_eq!(res.status, 204);
    // Unknown filters are refused by name.
    let res = Conn::open(server.addr).post(
        "/v1/watches",
        &[&a, "Content-Type: application/json"],
        json!({"ids":[OTHER], "actions":["teleport"]})
            .to_string()
            .as_bytes(),
    );
    assert_eq!(res.status, 400);
    assert!(String::from_utf8_lossy(&res.body).contains("teleport"));
}

/// A copy of the bundled catalog in which `flight` demands feedback
/// within 2 working days.
fn catalog_demanding_feedback(dir: &std::path::Path) -> String {
    let text = std::fs::read_to_string(crate::util::root().join("data/catalog.toml")).unwrap();
    let marked = text.replacen(
        "code = \"flight\"\nname = \"乘坐飞机\"\n",
        "code = \"flight\"\nname = \"乘坐飞机\"\nfeedback_days = 2\n",
        1,
    );
    assert_ne!(
        marked, text,
        "the catalog's flight action is where the test expects it"
    );
    let path = dir.join("catalog.toml");
    std::fs::write(&path, marked).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn decisions_demand_feedback_and_late_feedback_is_counted() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let catalog = catalog_demanding_feedback(tmp.path());
    let start = |today: &'static str| {
        Server::start(
            tmp.path(),
            &["--catalog", &catalog, "--data", "store", "--today", today],
        )
    };
    // 2026-11-25 is a Wednesday: due two working days later.
    let server = start(TODAY);
    let addr = server.addr;
    assert_eq!(
        send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &org_record()).status,
        201
    );
    put_entry(addr, "F-1", 1);
    let check = |action: &str| {
        let res = get(addr, &format!("/v1/check?id={ORG}&action={action}"));
        assert_eq!(res.status, 200);
        (res.header("x-request-id").unwrap().to_string(), res.json())
    };
    let (request, denied) = check("flight");
    assert_eq!(denied["decision"], "deny");
    let decision = denied["decision_id"].as_str().unwrap().to_string();
    assert_eq!(decision, format!("{request}-flight"));
    assert_eq!(denied["feedback_due"], "2026-11-27");
    // An action without the mark, and an allow, demand nothing.
    assert!(check("bond_issue").1.get("decision_id").is_none());
    let clean = get(addr, &format!("/v1/check?id={OTHER}&action=flight")).json();
    assert_eq!(clean["decision"], "allow");
    assert!(clean.get("decision_id").is_none());
    let (_, unanswered) = check("flight");
    let unanswered = unanswered["decision_id"].as_str().unwrap().to_string();

    let report = |id: &str, body: Value| {
        send_json(addr, "POST", &format!("/v1/decisions/{id}/feedback"), &body)
    };
    let res = report(&decision, json!({"outcome": "not_applied"}));
    assert_eq!(res.status, 400);
    assert!(String::from_utf8_lossy(&res.body).contains("reason"));
    assert_eq!(report(&decision, json!({"outcome": "done"})).status, 400);
    assert_eq!(
        report("0000000001-flight", json!({"outcome": "applied"})).error_code(),
        "unknown_decision"
    );
    let res = report(&decision, json!({"outcome": "applied"}));
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let feedback_request = res.header("x-request-id").unwrap().to_string();
    assert_eq!(res.json()["feedback"]["late"], false);
    assert_eq!(
        report(&decision, json!({"outcome": "applied"})).status,
        200,
        "the same report again"
    );
    let res = report(
        &decision,
        json!({"outcome": "not_applied", "reason": "旅客已购票"}),
    );
    assert_eq!(res.error_code(), "conflict");

    // The decision links the check and the feedback, and the audit has both.
    let d = get(addr, &format!("/v1/decisions/{decision}")).json();
    assert_eq!(d["request_id"], request);
    assert_eq!(d["feedback"]["request_id"], feedback_request);
    assert_eq!(d["answer"]["decision"], "deny");
    for (id, event) in [(&request, "check"), (&feedback_request, "feedback")] {
        // The audit writes records within 20 ms, off the request's path.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let path = format!("/v1/audit?request={id}&from=2026-01-01&to=2027-12-31");
            let audit = get(addr, &path).json();
            let records = audit["records"].as_array().unwrap();
            if records
                .iter()
                .any(|r| r["event"] == event && r["subject_id"] == ORG)
            {
                break;
            }
            assert!(Instant::now() < deadline, "{audit}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    drop(server);

    // A week later: the unanswered decision is overdue, and its feedback
    // when it comes is late.
    let server = start("2026-12-04");
    let addr = server.addr;
    let stats = get(addr, "/v1/stats").json();
    let f = &stats["feedback"];
    assert_eq!(
        f["total"],
        json!({"demanded": 2, "answered": 1, "late": 0, "overdue": 1, "pending": 0}),
        "{f}"
    );
    assert_eq!(f["by_department"]["-"]["flight"]["overdue"], 1, "{f}");
    assert_eq!(f["overdue_decisions"], json!([unanswered]));
    let res = send_json(
        addr,
        "POST",
        &format!("/v1/decisions/{unanswered}/feedback"),
        &json!({"outcome": "not_applied", "reason": "系统故障未拦截"}),
    );
    assert_eq!(res.status, 201);
    assert_eq!(res.json()["feedback"]["late"], true);
    let f = get(addr, "/v1/stats").json()["feedback"].clone();
    assert_eq!(
        f["total"],
        json!({"demanded": 2, "answered": 2, "late": 1, "overdue": 0, "pending": 0}),
        "{f}"
    );
    assert_eq!(f["overdue_decisions"], json!([]));
}
