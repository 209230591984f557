//! The peer: what a team would build instead of creditgate, measured on
//! the same data. A private PostgreSQL cluster (Debian's package) on a
//! loopback port, in the run's work directory:
//!
//! * `subjects (id text primary key, kind, name)`, `names (id, name)` with
//!   every name a subject goes by (registered name and aliases) under a GIN
//!   `gin_trgm_ops` index, and `entries (entry_id primary key, subject_id,
//!   list, category, status, decided_at, expires_at)` indexed by subject;
//!   loaded with `COPY`, then indexed and analysed (timed as its import);
//! * an exact lookup is the subject's row and its entries, one statement
//!   (what a check must read), sent by a Rust client (the `postgres`
//!   crate) from as many connections as the load tool uses, closed loop,
//!   ids drawn like the load tool's default mix;
//! * a name search is `pg_trgm`'s similarity: the names within the
//!   threshold (`%`), ranked by `similarity`, one row per subject, the
//!   first ten.
//!
//! The cluster gets the settings a team would give a bulk load: 1 GB of
//! shared buffers, 1 GB for index builds, a large WAL between checkpoints;
//! durability stays on. It is initialised with a UTF-8 locale (C.UTF-8):
//! under the C locale `pg_trgm` drops every Chinese character. It runs as
//! the `postgres` system user when this runs as root (initdb refuses
//! root), and is stopped and removed at the end, whatever happened.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use creditgate_gen::variants::Variant;
use hdrhistogram::Histogram;
use serde::Deserialize;

use crate::procs::{free_port, output};
use crate::report::{Peer, Run};
use crate::rng::Rng;
use crate::search;

/// The similarity threshold of `%` (pg_trgm's default is 0.3, under which
/// a short Chinese name with one character changed is often not found).
const SIMILARITY_THRESHOLD: f64 = 0.2;

/// A name search that takes longer is cancelled and counts as finding
/// nothing (`Peer::search_timeouts`): trigram search on Chinese names
/// scans most of the index, seconds per query at millions of names.
const STATEMENT_TIMEOUT: &str = "5s";

/// Clean ids drawn for lookups, and the share of flagged ones (the load
/// tool's defaults).
const CLEAN_POOL: usize = 200_000;
const FLAGGED_SHARE: f64 = 0.01;

/// A private cluster; stopped and removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    /// Its programs run as the `postgres` user (this runs as root).
    as_postgres: bool,
}

impl Cluster {
    /// Runs one of PostgreSQL's programs (`initdb`, `pg_ctl`).
    fn run(&self, program: &str, args: &[&str]) -> anyhow::Result<()> {
        let path = self.bin.join(program);
        if self.as_postgres {
            let path = path.to_str().context("PostgreSQL's path is not UTF-8")?;
            let mut with = vec!["-u", "postgres", "--", path];
            with.extend_from_slice(args);
            output(Path::new("runuser"), &with)?;
        } else {
            output(&path, args)?;
        }
        Ok(())
    }

    fn start(work: &Path) -> anyhow::Result<Cluster> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL is not installed (apt-get install postgresql postgresql-contrib; tools/dev bench --peer postgres installs it)")?
            .flatten()
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").is_file())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        let dir = work.join("postgres");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("cannot remove {}", dir.display()))?;
        }
        std::fs::create_dir_all(&dir)?;
        let root = output(Path::new("id"), &["-u"])?.trim() == "0";
        if root {
            output(
                Path::new("chown"),
                &["postgres:postgres", &dir.display().to_string()],
            )?;
        }
        let cluster = Cluster {
            bin,
            dir,
            port: free_port()?,
            as_postgres: root,
        };
        let data = cluster.dir.join("data");
        let data = data
            .to_str()
            .context("a work directory that is not UTF-8")?;
        cluster.run(
            "initdb",
            &[
                "-D",
                data,
                "-U",
                "bench",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
        )?;
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 -c shared_buffers=1GB -c maintenance_work_mem=1GB -c max_wal_size=8GB",
            cluster.port,
            cluster.dir.display()
        );
        let log = cluster.dir.join("postgres.log");
        cluster.run(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                log.to_str().unwrap_or("postgres.log"),
                "-w",
                "start",
            ],
        )?;
        Ok(cluster)
    }

    fn connect(&self) -> anyhow::Result<postgres::Client> {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port={} user=bench dbname=postgres",
                self.port
            ),
            postgres::NoTls,
        )
        .context("cannot connect to the private PostgreSQL")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if let Some(data) = data.to_str() {
            let _ = self.run("pg_ctl", &["-D", data, "-m", "fast", "-w", "stop"]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[derive(Deserialize)]
struct SubjectLine {
    id: String,
    kind: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
}

#[derive(Deserialize)]
struct EntryLine {
    entry_id: String,
    subject_id: String,
    list: String,
    category: String,
    status: String,
    decided_at: String,
    expires_at: Option<String>,
}

/// `text` as a field of COPY's text format.
fn copy_field(out: &mut Vec<u8>, text: &str) {
    for b in text.bytes() {
        match b {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(b),
        }
    }
}

/// One row of COPY's text format: the fields tab-separated, `None` as
/// NULL.
fn copy_row(out: &mut Vec<u8>, fields: &[Option<&str>]) {
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b'\t');
        }
        match field {
            Some(text) => copy_field(out, text),
            None => out.extend_from_slice(b"\\N"),
        }
    }
    out.push(b'\n');
}

/// Streams `file`'s lines through `row` into `COPY table FROM STDIN`.
fn copy<T: for<'de> Deserialize<'de>>(
    client: &mut postgres::Client,
    table: &str,
    file: &Path,
    mut row: impl FnMut(&mut Vec<u8>, T),
) -> anyhow::Result<()> {
    let input =
        std::fs::File::open(file).with_context(|| format!("cannot read {}", file.display()))?;
    let mut writer = client.copy_in(&format!("COPY {table} FROM STDIN"))?;
    let mut buf = Vec::with_capacity(1 << 20);
    for (n, line) in BufReader::with_capacity(1 << 20, input).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", file.display(), n + 1))?;
        let parsed: T = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", file.display(), n + 1))?;
        row(&mut buf, parsed);
        if buf.len() > 1 << 20 {
            writer.write_all(&buf)?;
            buf.clear();
        }
    }
    writer.write_all(&buf)?;
    writer.finish()?;
    Ok(())
}

fn load(client: &mut postgres::Client, data: &Path) -> anyhow::Result<()> {
    client.batch_execute(
        "CREATE EXTENSION pg_trgm;
         CREATE TABLE subjects (id text, kind text, name text);
         CREATE TABLE names (id text, name text);
         CREATE TABLE entries (entry_id text, subject_id text, list text, category text,
                               status text, decided_at date, expires_at date);",
    )?;
    copy(
        client,
        "subjects",
        &data.join("subjects.ndjson"),
        |out, s: SubjectLine| copy_row(out, &[Some(&s.id), Some(&s.kind), Some(&s.name)]),
    )?;
    copy(
        client,
        "names",
        &data.join("subjects.ndjson"),
        |out, s: SubjectLine| {
            for name in std::iter::once(&s.name).chain(&s.aliases) {
                copy_row(out, &[Some(&s.id), Some(name)]);
            }
        },
    )?;
    copy(
        client,
        "entries",
        &data.join("entries.ndjson"),
        |out, e: EntryLine| {
            copy_row(
                out,
                &[
                    Some(&e.entry_id),
                    Some(&e.subject_id),
                    Some(&e.list),
                    Some(&e.category),
                    Some(&e.status),
                    Some(&e.decided_at),
                    e.expires_at.as_deref(),
                ],
            )
        },
    )?;
    client.batch_execute(
        "ALTER TABLE subjects ADD PRIMARY KEY (id);
         ALTER TABLE entries ADD PRIMARY KEY (entry_id);
         CREATE INDEX entries_subject ON entries (subject_id);
         CREATE INDEX names_trgm ON names USING gin (name gin_trgm_ops);
         ANALYZE;",
    )?;
    Ok(())
}

/// Ids for lookups: the first clean subjects of subjects.ndjson and the
/// flagged ones, as the load tool draws them.
fn lookup_ids(data: &Path) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let mut flagged = std::collections::HashSet::new();
    for line in BufReader::new(std::fs::File::open(data.join("entries.ndjson"))?).lines() {
        let e: EntryLine = serde_json::from_str(&line?)?;
        flagged.insert(e.subject_id);
    }
    let mut clean = Vec::new();
    for line in BufReader::new(std::fs::File::open(data.join("subjects.ndjson"))?)
        .lines()
        .take(CLEAN_POOL)
    {
        let s: SubjectLine = serde_json::from_str(&line?)?;
        if !flagged.contains(&s.id) {
            clean.push(s.id);
        }
    }
    let mut flagged: Vec<String> = flagged.into_iter().collect();
    flagged.sort();
    Ok((clean, flagged))
}

/// Closed-loop lookups from `connections` clients for `seconds`.
fn lookups(
    cluster: &Cluster,
    data: &Path,
    connections: usize,
    seconds: f64,
) -> anyhow::Result<Run> {
    let (clean, flagged) = lookup_ids(data)?;
    anyhow::ensure!(
        !clean.is_empty() && !flagged.is_empty(),
        "no clean or no flagged subjects to look up"
    );
    let warm_until = Instant::now() + Duration::from_secs_f64((seconds / 5.0).max(0.5));
    let end = warm_until + Duration::from_secs_f64(seconds);
    let (clean, flagged) = (&clean, &flagged);
    let results = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..connections.max(1))
            .map(|k| {
                scope.spawn(move || -> anyhow::Result<(Histogram<u64>, u64)> {
                    let mut client = cluster.connect()?;
                    let statement = client.prepare(
                        "SELECT s.id, s.kind, s.name, e.entry_id, e.list, e.category, e.status, e.decided_at, e.expires_at
                         FROM subjects s LEFT JOIN entries e ON e.subject_id = s.id WHERE s.id = $1",
                    )?;
                    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
                    let mut errors = 0;
                    let mut rng = Rng(
                        0x9E37_79B9_7F4A_7C15 ^ (k as u64 + 1).wrapping_mul(0xBF58_476D_1CE4_E5B9),
                    );
                    loop {
                        let pick = if rng.chance(FLAGGED_SHARE) {
                            &flagged[rng.below(flagged.len())]
                        } else {
                            &clean[rng.below(clean.len())]
                        };
                        let started = Instant::now();
                        if started >= end {
                            break;
                        }
                        let ok = client.query(&statement, &[pick]).is_ok();
                        if started >= warm_until {
                            if ok {
                                latency.saturating_record(started.elapsed().as_nanos() as u64);
                            } else {
                                errors += 1;
                            }
                        }
                    }
                    Ok((latency, errors))
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .map_err(|_| anyhow::anyhow!("a lookup client panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut errors = 0;
    for (h, e) in &results {
        latency.add(h)?;
        errors += e;
    }
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    Ok(Run {
        target_rps: None,
        throughput_rps: (latency.len() + errors) as f64 / seconds,
        p50_us: us(0.5),
        p99_us: us(0.99),
        p999_us: us(0.999),
        max_us: latency.max() as f64 / 1000.0,
        non_200: 0,
        errors,
    })
}

/// Loads `data` into a private PostgreSQL and measures lookups and name
/// search on it.
pub fn postgres(
    work: &Path,
    data: &Path,
    subjects: u64,
    connections: usize,
    seconds: f64,
    set: &[Variant],
) -> anyhow::Result<Peer> {
    let cluster = Cluster::start(work)?;
    let mut client = cluster.connect()?;
    let version: String = client.query_one("SHOW server_version", &[])?.get(0);
    let started = Instant::now();
    load(&mut client, data)?;
    let import_seconds = started.elapsed().as_secs_f64();
    let store_bytes: i64 = client
        .query_one("SELECT pg_database_size(current_database())", &[])?
        .get(0);
    let lookup = lookups(&cluster, data, connections, seconds)?;
    let timeouts = std::sync::atomic::AtomicUsize::new(0);
    let search = search::run(
        set,
        4,
        || -> anyhow::Result<(postgres::Client, postgres::Statement)> {
            let mut client = cluster.connect()?;
            client.batch_execute(&format!(
                "SET pg_trgm.similarity_threshold = {SIMILARITY_THRESHOLD}; SET statement_timeout = '{STATEMENT_TIMEOUT}'"
            ))?;
            let statement = client.prepare(
                "SELECT id FROM names WHERE name % $1
                 GROUP BY id ORDER BY max(similarity(name, $1)) DESC, id LIMIT 10",
            )?;
            Ok((client, statement))
        },
        |(client, statement), q| match client.query(&*statement, &[&q]) {
            Ok(rows) => Ok(rows.iter().map(|row| row.get::<_, String>(0)).collect()),
            Err(e) if e.code() == Some(&postgres::error::SqlState::QUERY_CANCELED) => {
                timeouts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Vec::new())
            }
            Err(e) => Err(e.into()),
        },
    )?;
    drop(client);
    drop(cluster);
    Ok(Peer {
        name: "PostgreSQL".into(),
        version,
        import_seconds,
        import_subjects_per_s: subjects as f64 / import_seconds,
        store_bytes: u64::try_from(store_bytes).unwrap_or(0),
        lookup,
        search,
        search_timeouts: timeouts.into_inner(),
        statement_timeout: STATEMENT_TIMEOUT.into(),
        similarity_threshold: SIMILARITY_THRESHOLD,
    })
}
