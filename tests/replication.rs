//! Replication over a real 3-node NATS JetStream cluster on loopback
//! (`tools/nats-cluster`; `tools/dev setup` installs `nats-server`): a
//! primary and two read replicas bootstrapped from a snapshot, writes
//! visible on both with equal digests, writes refused on a replica,
//! `Min-Seq` reads, a replica killed with SIGKILL catching up, and the
//! loss of one and then two NATS nodes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::http::{Conn, Server, get, send_json};
use crate::util::{SAMPLE_TODAY as TODAY, creditgate, import_sample, tempdir, texts};

/// A running cluster, stopped when dropped.
struct Cluster {
    dir: PathBuf,
    urls: String,
}

fn nats_cluster(args: &[&str]) -> String {
    let out = Command::new(crate::util::root().join("tools/nats-cluster"))
        .args(args)
        .output()
        .expect("tools/nats-cluster runs");
    let (stdout, stderr) = texts(&out);
    assert!(
        out.status.success(),
        "tools/nats-cluster {args:?} failed (is nats-server installed? tools/dev setup installs it): {stderr}"
    );
    stdout
}

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        // Ports apart from other test runs on the machine.
        let base = 20_000 + (std::process::id() % 400) * 10;
        let dir = dir.join("nats");
        nats_cluster(&["start", dir.to_str().unwrap(), &base.to_string()]);
        let urls = nats_cluster(&["urls", dir.to_str().unwrap()])
            .trim()
            .to_string();
        Cluster { dir, urls }
    }

    fn kill(&self, n: u8) {
        nats_cluster(&["kill", self.dir.to_str().unwrap(), &n.to_string()]);
    }

    fn up(&self, n: u8) {
        nats_cluster(&["up", self.dir.to_str().unwrap(), &n.to_string()]);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(crate::util::root().join("tools/nats-cluster"))
            .args(["stop", self.dir.to_str().unwrap()])
            .output();
    }
}

const ORG: &str = "91360100705500005G";

fn entry(id: u32) -> Value {
    json!({"subject_id": ORG, "list":"black", "category":"dishonest_debtor",
           "authority":"南昌市中级人民法院", "basis": format!("(2026)赣01执{id}号"),
           "decided_at":"2026-10-01"})
}

/// Asserts a write was acknowledged (200, or 201 for a new record).
fn written(res: &crate::http::Resp) {
    assert!(
        res.status == 200 || res.status == 201,
        "{}: {}",
        res.status,
        String::from_utf8_lossy(&res.body)
    );
}

fn healthz(addr: SocketAddr) -> Value {
    let res = get(addr, "/healthz");
    assert_eq!(res.status, 200);
    res.json()
}

fn position(addr: SocketAddr) -> u64 {
    healthz(addr)["stream_position"].as_u64().unwrap_or(0)
}

/// Waits until `replica` holds the primary's position.
fn caught_up(primary: SocketAddr, replica: SocketAddr) {
    let want = position(primary);
    let deadline = Instant::now() + Duration::from_secs(30);
    while position(replica) < want {
        assert!(
            Instant::now() < deadline,
            "the replica stayed at {} of {want}: {}",
            position(replica),
            healthz(replica)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn digest(addr: SocketAddr) -> Value {
    let res = get(addr, "/v1/digest");
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

fn check(addr: SocketAddr) -> Value {
    let res = get(
        addr,
        &format!("/v1/check?id={ORG}&action=flight&at={TODAY}"),
    );
    assert_eq!(res.status, 200);
    res.json()
}

fn replica(dir: &Path, data: &str, urls: &str, primary: SocketAddr) -> Server {
    Server::start(
        dir,
        &[
            "--data",
            data,
            "--today",
            TODAY,
            "--follow",
            urls,
            "--primary",
            &format!("http://{primary}"),
        ],
    )
}

#[test]
fn replicas_follow_the_primary_through_kills_of_a_replica_and_of_nats_nodes() {
    let tmp = tempdir();
    import_sample(tmp.path());
    for r in ["r1", "r2"] {
        let out = creditgate(tmp.path(), &["snapshot", "--data", "store", "--out", r]);
        assert!(out.status.success(), "{}", texts(&out).1);
    }
    let cluster = Cluster::start(tmp.path());
    let primary = Server::start(
        tmp.path(),
        &[
            "--data",
            "store",
            "--today",
            TODAY,
            "--nats",
            &cluster.urls,
            "--snapshot-dir",
            "snapshots",
        ],
    );
    let p = primary.addr;
    let r1 = replica(tmp.path(), "r1", &cluster.urls, p);
    let mut r2 = replica(tmp.path(), "r2", &cluster.urls, p);

    // Writes on the primary reach both replicas, which answer alike.
    let org = json!({"kind":"org","name":"江西赣江测绘科技有限公司","persons":[]});
    written(&send_json(p, "PUT", &format!("/v1/subjects/{ORG}"), &org));
    for i in 0..5 {
        written(&send_json(
            p,
            "PUT",
            &format!("/v1/entries/REP-{i}"),
            &entry(i),
        ));
    }
    let res = send_json(
        p,
        "POST",
        "/v1/entries/REP-0/objection",
        &json!({"reason":"已履行"}),
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    for r in [r1.addr, r2.addr] {
        caught_up(p, r);
        assert_eq!(check(r), check(p));
        assert_eq!(digest(r), digest(p));
        // The name index follows the log within its second of refresh, on
        // each node.
        let search = "/v1/search?q=%E6%B1%9F%E8%A5%BF%E8%B5%A3%E6%B1%9F%E6%B5%8B%E7%BB%98%E7%A7%91%E6%8A%80%E6%9C%89%E9%99%90%E5%85%AC%E5%8F%B8";
        let found = |a: SocketAddr| {
            let results = get(a, search).json()["results"].clone();
            (results[0]["id"] == ORG).then_some(results)
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let (Some(on_r), Some(on_p)) = (found(r), found(p)) {
                assert_eq!(on_r, on_p);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the new organization is not found"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            get(r, "/v1/changes?since=0&limit=1000").json(),
            get(p, "/v1/changes?since=0&limit=1000").json()
        );
    }
    assert_eq!(check(p)["decision"], "deny");

    // A replica refuses writes and names the primary.
    let res = send_json(r1.addr, "PUT", "/v1/entries/REP-X", &entry(99));
    assert_eq!(res.status, 421);
    assert_eq!(res.error_code(), "not_primary");
    let message = res.json()["error"]["message"].as_str().unwrap().to_string();
    assert!(message.contains(&p.to_string()), "{message}");

    // Read-your-writes: a read that carries the write's change sequence.
    let res = send_json(p, "PUT", "/v1/entries/REP-5", &entry(5));
    written(&res);
    let seq = res.json()["changes"][0]["seq"].as_u64().unwrap();
    let res = Conn::open(r1.addr).request(
        "GET",
        &format!("/v1/entries/REP-5?at={TODAY}"),
        &[&format!("Min-Seq: {seq}")],
    );
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let res = Conn::open(r1.addr).request(
        "GET",
        "/healthz",
        &[&format!("Min-Seq: {}", seq + 1_000_000)],
    );
    assert_eq!(res.status, 503);
    assert_eq!(res.error_code(), "not_caught_up");

    // A replica killed with SIGKILL while writes flow restarts and
    // catches up exactly.
    r2.child.kill().unwrap();
    r2.child.wait().unwrap();
    for i in 10..30 {
        written(&send_json(
            p,
            "PUT",
            &format!("/v1/entries/REP-{i}"),
            &entry(i),
        ));
    }
    drop(r2);
    let r2 = replica(tmp.path(), "r2", &cluster.urls, p);
    caught_up(p, r2.addr);
    assert_eq!(digest(r2.addr), digest(p));

    // One NATS node lost: writes go on.
    cluster.kill(3);
    let mut acknowledged = Vec::new();
    for i in 30..40 {
        written(&send_json(
            p,
            "PUT",
            &format!("/v1/entries/REP-{i}"),
            &entry(i),
        ));
        acknowledged.push(i);
    }
    // Two lost: writes are refused with 503; reads go on.
    cluster.kill(2);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = send_json(p, "PUT", "/v1/entries/REP-100", &entry(100));
        if res.status == 503 {
            assert_eq!(res.error_code(), "replication_unavailable");
            break;
        }
        written(&res);
        assert!(
            Instant::now() < deadline,
            "writes never refused with 2 of 3 NATS nodes down"
        );
    }
    assert_eq!(check(p)["decision"], "deny");
    assert_eq!(check(r1.addr)["decision"], "deny");
    // Both back: writes resume (a refused write's fate settles first).
    cluster.up(2);
    cluster.up(3);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = send_json(p, "PUT", "/v1/entries/REP-200", &entry(200));
        if res.status == 200 || res.status == 201 {
            break;
        }
        assert_eq!(res.status, 503, "{}", String::from_utf8_lossy(&res.body));
        assert!(
            Instant::now() < deadline,
            "writes did not resume: {}",
            String::from_utf8_lossy(&res.body)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // Nothing acknowledged is missing anywhere, and the nodes agree.
    for r in [r1.addr, r2.addr] {
        caught_up(p, r);
        assert_eq!(digest(r), digest(p));
        for i in &acknowledged {
            assert_eq!(
                get(r, &format!("/v1/entries/REP-{i}")).status,
                200,
                "REP-{i}"
            );
        }
        assert_eq!(get(r, "/v1/entries/REP-200").status, 200);
    }

    // A new replica, bootstrapped from a snapshot the primary writes while
    // writes flow on it, converges.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let i = 1_000 + n;
                written(&send_json(
                    p,
                    "PUT",
                    &format!("/v1/entries/REP-{i}"),
                    &entry(i),
                ));
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            n
        })
    };
    let res = send_json(p, "POST", "/v1/snapshot", &json!({}));
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let snapshot = res.json()["path"].as_str().unwrap().to_string();
    let r3 = replica(tmp.path(), &snapshot, &cluster.urls, p);
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let during = writer.join().unwrap();
    assert!(during > 0);
    for r in [r1.addr, r2.addr, r3.addr] {
        caught_up(p, r);
        assert_eq!(digest(r), digest(p));
    }

    // Promotion: the primary is lost; a replica that has applied the
    // stream is restarted as the primary and continues the change
    // sequence with no gap; the other replicas follow it.
    let next_seq = healthz(p)["next_change_seq"].as_u64().unwrap();
    drop(primary);
    r1.terminate();
    r1.wait(Duration::from_secs(20));
    let promoted = Server::start(
        tmp.path(),
        &["--data", "r1", "--today", TODAY, "--nats", &cluster.urls],
    );
    let q = promoted.addr;
    assert_eq!(healthz(q)["next_change_seq"].as_u64().unwrap(), next_seq);
    let res = send_json(q, "PUT", "/v1/entries/REP-300", &entry(300));
    written(&res);
    assert_eq!(res.json()["changes"][0]["seq"].as_u64().unwrap(), next_seq);
    for r in [r2.addr, r3.addr] {
        caught_up(q, r);
        assert_eq!(digest(r), digest(q));
    }
}
