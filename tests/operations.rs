//! Running creditgate as a service: the configuration file and
//! `config check`, request ids (header, audit, log), the structured log and
//! what it leaves out, online backups taken during writes, and the Debian
//! package (install, unit, serve, remove).

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use crate::http::{Conn, Server, get, send_json};
use crate::lifecycle::{ORG, entry_record, org_record, read_feed};
use crate::util::{SAMPLE_TODAY as TODAY, creditgate, import_sample, root, tempdir, texts};

/// A subject of the bundled sample that is denied flights.
const DENIED: &str = "36102519400601500X";

#[test]
fn a_config_file_sets_serve_flags_and_the_command_line_overrides_it() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let config = tmp.path().join("creditgate.toml");
    // `today` from the file decides; `listen` from the file is overridden
    // by the test's --listen 127.0.0.1:0 (the port 1 would fail to bind).
    std::fs::write(
        &config,
        "# a test\ndata = \"store\"\nlisten = \"127.0.0.1:1\"\ntoday = \"2030-01-01\"\nmax_connections = 1_000\nno_audit = true\n",
    )
    .unwrap();
    let server = Server::start(tmp.path(), &["--config", config.to_str().unwrap()]);
    let answer = get(server.addr, &format!("/v1/check?id={DENIED}&action=flight")).json();
    assert_eq!(answer["at"], "2030-01-01", "{answer}");
    // no_audit = true: the audit is off.
    let audit = get(server.addr, "/v1/audit");
    assert_eq!(
        audit.status,
        404,
        "{}",
        String::from_utf8_lossy(&audit.body)
    );
    drop(server);

    // A flag on the command line beats its key.
    let server = Server::start(
        tmp.path(),
        &["--config", config.to_str().unwrap(), "--today", TODAY],
    );
    let answer = get(server.addr, &format!("/v1/check?id={DENIED}&action=flight")).json();
    assert_eq!(answer["at"], TODAY);
}

#[test]
fn bad_config_files_are_refused_with_file_and_line_and_config_check_says_so() {
    let tmp = tempdir();
    let write = |name: &str, text: &str| {
        let path = tmp.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let unknown = write("unknown.toml", "listen = \"127.0.0.1:0\"\n\nthread = 4\n");
    let out = creditgate(tmp.path(), &["serve", "--config", &unknown]);
    let (_, err) = texts(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("unknown.toml:3: unknown key `thread`") && err.contains("threads"),
        "{err}"
    );
    let out = creditgate(tmp.path(), &["config", "check", &unknown]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        texts(&out)
            .1
            .contains("unknown.toml:3: unknown key `thread`")
    );

    for (text, says) in [
        ("threads = \"four\"\n", "bad.toml:1: `threads`"),
        ("no_audit = 1\n", "bad.toml:1: `no_audit`: expected true"),
        ("[serve]\nlisten = \"127.0.0.1:0\"\n", "bad.toml:1"),
        (
            "listen = \"127.0.0.1:0\"\nlisten = \"127.0.0.1:1\"\n",
            "bad.toml:2",
        ),
        (
            "log_level = \"creditgate=loud\"\n",
            "bad.toml:1: `log_level`",
        ),
    ] {
        let bad = write("bad.toml", text);
        let out = creditgate(tmp.path(), &["config", "check", &bad]);
        let (_, err) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(says), "{text}: {err} should say {says}");
    }
    // Keys that parse one by one but not together, and what serve would
    // refuse: an open API beyond loopback, a keys file that is not one.
    for (text, says) in [
        ("primary = \"http://a:8080\"\n", "the keys do not combine"),
        ("listen = \"0.0.0.0:8080\"\n", "loopback only"),
        ("keys = \"missing.json\"\n", "missing.json"),
    ] {
        let bad = write("bad.toml", text);
        let out = creditgate(tmp.path(), &["config", "check", &bad]);
        let (_, err) = texts(&out);
        assert_eq!(out.status.code(), Some(1), "{text}: {err}");
        assert!(err.contains(says), "{text}: {err} should say {says}");
    }

    // The commented example passes and lists what it sets.
    let example = root().join("docs/creditgate.toml");
    let out = creditgate(tmp.path(), &["config", "check", example.to_str().unwrap()]);
    let (stdout, err) = texts(&out);
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains("valid"), "{stdout}");
    assert!(
        stdout.contains("listen = 127.0.0.1:8080  (line "),
        "{stdout}"
    );
}

/// The JSON objects of a JSON log.
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?} is not JSON: {e}")))
        .collect()
}

#[test]
fn requests_carry_an_id_into_the_header_the_audit_and_the_log_without_personal_data() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(
        tmp.path(),
        &[
            "--data",
            "store",
            "--today",
            TODAY,
            "--log-format",
            "json",
            "--log-level",
            "info,creditgate::server=debug",
        ],
    );
    let addr = server.addr;
    let mut conn = Conn::open(addr);
    let mut ids = HashSet::new();
    for _ in 0..5 {
        let res = conn.get(&format!("/v1/check?id={DENIED}&action=flight"));
        let id = res
            .header("x-request-id")
            .expect("an X-Request-Id")
            .to_string();
        assert!(
            id.len() == 10 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        ids.insert(id);
    }
    assert_eq!(ids.len(), 5, "each request has its own id");
    // Errors carry one too, and a client's own id is logged beside ours.
    let res = conn.request("GET", "/v1/nowhere", &["X-Request-Id: airline-PNR-42"]);
    assert_eq!(res.status, 404);
    let not_found = res.header("x-request-id").unwrap().to_string();

    let res = conn.get(&format!("/v1/check?id={DENIED}&action=flight"));
    let id = res.header("x-request-id").unwrap().to_string();
    // The audit finds the check by its id (the writer flushes every 20 ms).
    let mut found = Value::Null;
    for _ in 0..100 {
        // The server's --today is the sample's date; records bear the
        // clock's time.
        let audit = get(
            addr,
            &format!("/v1/audit?request={id}&from=2026-01-01&to=2099-12-31"),
        )
        .json();
        if audit["records"].as_array().is_some_and(|r| !r.is_empty()) {
            found = audit;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let records = found["records"]
        .as_array()
        .expect("the check's audit record");
    assert_eq!(records.len(), 1, "{found}");
    assert_eq!(records[0]["request_id"], id.as_str());
    assert_eq!(records[0]["subject_id"], DENIED);
    assert_eq!(records[0]["decision"], "deny");
    let bad = get(addr, "/v1/audit?request=xyz");
    assert_eq!(bad.status, 400);

    // The log: one JSON object per line; the request at debug with its id
    // and route's pattern, no identity number anywhere.
    server.terminate();
    let startup = server.startup.clone();
    let (code, rest) = server.wait(Duration::from_secs(20));
    assert_eq!(code, Some(0), "{rest}");
    let log = format!("{startup}{rest}");
    let lines = json_lines(&log);
    assert!(
        lines.iter().any(
            |l| l["level"] == "INFO" && l["message"].as_str().unwrap().contains("listening on")
        ),
        "{log}"
    );
    let logged = lines
        .iter()
        .find(|l| l["request_id"] == id.as_str())
        .unwrap_or_else(|| panic!("the check {id} is logged: {log}"));
    assert_eq!(logged["level"], "DEBUG");
    assert_eq!(logged["message"], "GET /v1/check");
    assert_eq!(logged["status"], 200);
    assert!(logged["micros"].is_u64());
    let missing = lines
        .iter()
        .find(|l| l["request_id"] == not_found.as_str())
        .expect("the 404 is logged");
    assert_eq!(missing["client_request_id"], "airline-PNR-42");
    assert_eq!(missing["status"], 404);
    assert!(
        !log.contains(DENIED),
        "an identity number in the log: {log}"
    );

    // With --log-personal-data the query string is logged as sent.
    let mut server = Server::start(
        tmp.path(),
        &[
            "--data",
            "store",
            "--log-level",
            "debug",
            "--log-personal-data",
        ],
    );
    let res = get(server.addr, &format!("/v1/check?id={DENIED}&action=flight"));
    let id = res.header("x-request-id").unwrap().to_string();
    let line = server.said(&id);
    assert!(line.contains(DENIED), "{line}");
}

/// Runs `creditgate backup` and returns its JSON report.
fn backup(dir: &Path, out: &str) -> Value {
    let run = creditgate(dir, &["backup", "--data", "store", "--out", out]);
    let (stdout, err) = texts(&run);
    assert!(run.status.success(), "backup failed: {err}");
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{stdout:?}: {e}"))
}

#[test]
fn a_backup_taken_during_writes_holds_every_acknowledged_write_and_ends_where_it_says() {
    let tmp = tempdir();
    import_sample(tmp.path());
    let server = Server::start(tmp.path(), &["--data", "store", "--today", TODAY]);
    let addr = server.addr;
    assert_eq!(
        send_json(addr, "PUT", &format!("/v1/subjects/{ORG}"), &org_record()).status,
        201
    );
    // Writers count what was acknowledged; the backup starts after
    // `before` were, and writes go on while it runs.
    let acked: Arc<Mutex<Vec<String>>> = Arc::default();
    let (stop, written) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let (acked, stop, written) = (acked.clone(), stop.clone(), written.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("BK-{w}-{i}");
                    let body = entry_record("dishonest_debtor", &format!("(2026)赣01执{w}{i}号"));
                    let res = conn.send(
                        "PUT",
                        &format!("/v1/entries/{id}"),
                        &[],
                        body.to_string().as_bytes(),
                    );
                    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
                    acked.lock().unwrap().push(id);
                    written.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                }
            })
        })
        .collect();
    while written.load(Ordering::Relaxed) < 50 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before: Vec<String> = acked.lock().unwrap().clone();
    let report = backup(tmp.path(), "backup-1");
    let during = written.load(Ordering::Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    assert_eq!(report["served"], true, "{report}");
    let next = report["next_change_seq"].as_u64().unwrap();
    assert_eq!(report["last_change"].as_u64().unwrap(), next - 1);
    assert!(
        written.load(Ordering::Relaxed) > during,
        "writes went on after the backup"
    );
    // The staging directory the server wrote into is empty again.
    assert!(
        std::fs::read_dir(tmp.path().join("store/backups"))
            .map_or(true, |mut d| d.next().is_none()),
        "a staged backup was left behind"
    );
    drop(server);

    // Restore is opening the copy.
    let copy = Server::start(tmp.path(), &["--data", "backup-1", "--today", TODAY]);
    for id in &before {
        let res = get(copy.addr, &format!("/v1/entries/{id}"));
        assert_eq!(
            res.status, 200,
            "{id} acknowledged before the backup is missing"
        );
    }
    let (changes, next_since) = read_feed(copy.addr, 0, 1000, "");
    let last = changes.last().expect("changes")["seq"].as_u64().unwrap();
    assert_eq!(last, next - 1, "the copy's feed ends where the backup said");
    assert_eq!(next_since, last);
    let seqs: Vec<u64> = changes.iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "a gap in the copy's feed"
    );
    // A check answers from the copy: the sample's restricted subject.
    let answer = get(copy.addr, &format!("/v1/check?id={DENIED}&action=flight")).json();
    assert_eq!(answer["decision"], "deny");
    drop(copy);

    // A store no server holds is copied directly; the same report.
    let report = backup(tmp.path(), "backup-2");
    assert_eq!(report["served"], false, "{report}");
    assert!(report["next_change_seq"].as_u64().unwrap() >= next);
    assert!(tmp.path().join("backup-2/audit").is_dir());
    // A backup goes to a new directory.
    let run = creditgate(
        tmp.path(),
        &["backup", "--data", "store", "--out", "backup-2"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(texts(&run).1.contains("exists"));
}

/// Whether this process may install packages (root, or sudo without a
/// password).
fn may_install() -> Option<Vec<&'static str>> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        return Some(vec![]);
    }
    let sudo = Command::new("sudo").args(["-n", "true"]).status().ok()?;
    sudo.success().then(|| vec!["sudo", "-n"])
}

fn run(prefix: &[&str], args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = prefix.to_vec();
    all.extend_from_slice(args);
    Command::new(all[0])
        .args(&all[1..])
        .output()
        .unwrap_or_else(|e| panic!("{all:?}: {e}"))
}

#[test]
fn the_debian_package_installs_verifies_serves_the_sample_and_removes_cleanly() {
    let Some(sudo) = may_install() else {
        eprintln!("the package test needs root or passwordless sudo: not run");
        return;
    };
    if run(&[], &["dpkg", "-s", "creditgate"]).status.success() {
        panic!("a creditgate package is installed on this machine; the test would replace it");
    }
    let tmp = tempdir();
    let build = Command::new(root().join("tools/package/build"))
        .args([
            env!("CARGO_BIN_EXE_creditgate"),
            tmp.path().to_str().unwrap(),
        ])
        // Quicker than xz for a debug binary.
        .env("CREDITGATE_DEB_COMPRESSION", "gzip")
        .output()
        .unwrap();
    let (deb, err) = texts(&build);
    assert!(build.status.success(), "{err}");
    let deb = deb.trim().to_string();
    let info = run(&[], &["dpkg-deb", "--info", &deb]);
    let info = texts(&info).0;
    assert!(info.contains("Package: creditgate"), "{info}");
    let listing = texts(&run(&[], &["dpkg-deb", "--contents", &deb])).0;
    for file in [
        "./usr/bin/creditgate",
        "./etc/creditgate/creditgate.toml",
        "./lib/systemd/system/creditgate.service",
    ] {
        assert!(listing.contains(file), "{file} not in {listing}");
    }

    struct Purge(Vec<&'static str>);
    impl Drop for Purge {
        fn drop(&mut self) {
            let _ = run(&self.0, &["dpkg", "--purge", "creditgate"]);
        }
    }
    let installed = run(&sudo, &["dpkg", "-i", &deb]);
    let _purge = Purge(sudo.clone());
    assert!(
        installed.status.success(),
        "dpkg -i: {}",
        texts(&installed).1
    );
    assert!(
        run(&[], &["getent", "passwd", "creditgate"])
            .status
            .success()
    );
    let verify = run(
        &[],
        &[
            "systemd-analyze",
            "verify",
            "/lib/systemd/system/creditgate.service",
        ],
    );
    let (out, err) = texts(&verify);
    assert!(
        verify.status.success(),
        "systemd-analyze verify: {out}{err}"
    );
    assert!(
        !err.contains("creditgate.service:"),
        "the unit draws warnings: {err}"
    );
    let check = run(
        &[],
        &[
            "/usr/bin/creditgate",
            "config",
            "check",
            "/etc/creditgate/creditgate.toml",
        ],
    );
    assert!(check.status.success(), "{}", texts(&check).1);

    // The installed binary, as the service's user with the installed
    // configuration, serves the sample and tells systemd it is ready.
    let home = tempdir();
    let chown = run(
        &sudo,
        &[
            "chown",
            "creditgate:creditgate",
            home.path().to_str().unwrap(),
        ],
    );
    assert!(chown.status.success());
    let notify = home.path().join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    run(&sudo, &["chmod", "0777", notify.to_str().unwrap()]);
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut prefix = sudo.clone();
    prefix.extend([
        "setpriv",
        "--reuid=creditgate",
        "--regid=creditgate",
        "--init-groups",
    ]);
    let mut child = Command::new(prefix[0])
        .args(&prefix[1..])
        .args([
            "env",
            &format!("TMPDIR={}", home.path().display()),
            &format!("NOTIFY_SOCKET={}", notify.display()),
            "/usr/bin/creditgate",
            "serve",
            "--config",
            "/etc/creditgate/creditgate.toml",
            "--listen",
            "127.0.0.1:0",
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = [0u8; 64];
    let n = socket.recv(&mut ready).expect("READY=1 within a minute");
    assert_eq!(&ready[..n], b"READY=1");
    let stderr = child.stderr.take().unwrap();
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
    let addr = loop {
        let line = lines.next().expect("a listening line").unwrap();
        if let Some(rest) = line.split("listening on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().parse().unwrap();
        }
    };
    let answer = get(addr, &format!("/v1/check?id={DENIED}&action=flight")).json();
    assert_eq!(answer["decision"], "deny", "{answer}");
    // SIGTERM: STOPPING=1, then a clean exit.
    let pid = child.id().to_string();
    // Under sudo the server is sudo's child; as root, the child itself.
    let term = if sudo.is_empty() {
        run(&[], &["kill", "-TERM", &pid])
    } else {
        run(&sudo, &["pkill", "-TERM", "-P", &pid])
    };
    assert!(term.status.success());
    let n = socket.recv(&mut ready).expect("STOPPING=1");
    assert_eq!(&ready[..n], b"STOPPING=1");
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");

    let purged = run(&sudo, &["dpkg", "--purge", "creditgate"]);
    assert!(purged.status.success(), "{}", texts(&purged).1);
    assert!(!Path::new("/usr/bin/creditgate").exists());
    assert!(!Path::new("/etc/creditgate").exists());
    assert!(!Path::new("/lib/systemd/system/creditgate.service").exists());
    assert!(
        !run(&[], &["getent", "passwd", "creditgate"])
            .status
            .success()
    );
}
