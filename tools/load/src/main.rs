//! `creditgate-load`: drives `GET /v1/check` the way a booking system does.
//!
//! * `creditgate-load run --url URL --dataset DIR`: N keep-alive HTTP/1.1
//!   connections, each sending one request at a time. Closed loop by
//!   default (hyper's client; the next request when the answer arrives,
//!   which measures throughput); `--rate R` sends at a fixed total rate
//!   instead (which measures latency at a given load; `fixed.rs`, lean on
//!   purpose since the tool shares the server's cores). Ids are drawn from the
//!   generator's dataset: `--flagged` of them (default 1%) from subjects with
//!   entries, the rest from subjects without; `--named` of them carry the
//!   subject's name (`&name=`), as a booking system passes the passenger's
//!   name to be matched. Latencies go into an HDR
//!   histogram; the report gives throughput and p50/p90/p99/p99.9/max, as
//!   text or, with `--json`, as one JSON object.
//! * `creditgate-load writes --addr ADDR --dataset DIR --rate R`: lifecycle
//!   writes at a fixed rate (`writes.rs`), to run beside `run`.
//! * `creditgate-load receive --listen ADDR`: a webhook receiver that
//!   counts deliveries (`receive.rs`), for `tools/latency-under-webhooks`.
//! * `creditgate-load stalls`: how often this machine's cores stop running
//!   a spinning thread (`stalls.rs`), the floor under any latency figure.
//! * `creditgate-load baseline --listen ADDR`: the empty-handler baseline,
//!   creditgate's own server answering every request with a constant body, so
//!   the engine's share of the cost can be measured as a ratio.
//!
//! At a fixed rate, a pacer thread sends one request every `1 / rate`
//! seconds, round-robin over the connections. A request that could not be
//! sent on time because the previous answer on its connection was late is
//! timed from when it was due (no coordinated omission); one sent late only
//! because the tool itself woke late is timed from when it was sent.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::{Parser, Subcommand};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Empty};
use hyper::Request;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpStream;

mod conn;
mod fixed;
mod receive;
mod rng;
mod screen;
mod stalls;
mod writes;

use rng::Rng;

/// The same allocator as `creditgate` itself (see `baseline`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "creditgate-load", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Send /v1/check requests and report throughput and latency.
    Run(RunArgs),
    /// Serve the empty-handler baseline (a constant body) until Ctrl-C.
    Baseline(BaselineArgs),
    /// Print request paths drawn like `run` draws them, one per line (for
    /// outside load tools such as wrk with tools/wrk-mix.lua).
    Paths(PathsArgs),
    /// Upload one file to /v1/screen, then read the answer (optionally
    /// slowly), watching the server's memory.
    Screen(screen::ScreenArgs),
    /// Publish entries and file objections at a fixed rate (run beside
    /// `run` to measure checks while writes flow).
    Writes(writes::WritesArgs),
    /// Spin a thread per core and count the gaps in which it did not run
    /// (the floor under any latency this machine measures).
    Stalls(stalls::StallsArgs),
    /// Receive webhooks: answer every POST with 200 and count it; GET
    /// answers the count.
    Receive(receive::ReceiveArgs),
}

/// Which requests to send: ids drawn from a generator dataset.
#[derive(clap::Args)]
struct MixArgs {
    /// Generator output directory (subjects.ndjson, entries.ndjson) to draw
    /// ids from.
    #[arg(long, value_name = "DIR")]
    dataset: PathBuf,
    /// Share of requests for flagged subjects.
    #[arg(long, default_value_t = 0.01)]
    flagged: f64,
    /// Actions to ask about, comma-separated; drawn uniformly.
    #[arg(long, default_value = "flight")]
    actions: String,
    /// Clean ids to draw from (read from the start of subjects.ndjson).
    #[arg(long, default_value_t = 200_000)]
    pool: usize,
    /// Share of requests that carry the subject's name (`&name=`), which
    /// the server matches against the record (`name_match`).
    #[arg(long, default_value_t = 0.0)]
    named: f64,
}

#[derive(clap::Args)]
struct PathsArgs {
    #[command(flatten)]
    mix: MixArgs,
    /// Paths to print.
    #[arg(long, default_value_t = 10_000)]
    count: usize,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Server base URL, e.g. http://127.0.0.1:8080
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    #[command(flatten)]
    mix: MixArgs,
    /// Keep-alive connections.
    #[arg(long, short = 'c', default_value_t = 32)]
    connections: usize,
    /// Measured duration in seconds.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Seconds of load before measuring starts.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// Total requests per second (fixed rate); closed loop when absent.
    #[arg(long)]
    rate: Option<f64>,
    /// Path to request instead of /v1/check (e.g. / for the baseline).
    #[arg(long)]
    path: Option<String>,
    /// Runtime threads of the load tool.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// An API key's token, for a server started with `--keys`.
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
}

#[derive(clap::Args)]
struct BaselineArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// Runtime worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// A subject requests ask about.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pick {
    id: String,
    /// Its name, percent-encoded for a query string; empty when the
    /// dataset was loaded without names (or the record has none).
    name: String,
}

impl Pick {
    fn id(id: &str) -> Pick {
        Pick {
            id: id.to_string(),
            name: String::new(),
        }
    }
}

/// The subjects requests are drawn from.
struct Dataset {
    clean: Vec<Pick>,
    flagged: Vec<Pick>,
}

#[derive(Deserialize)]
struct Line {
    id: Option<String>,
    subject_id: Option<String>,
    name: Option<String>,
}

/// Calls `f` with lines `skip..` of `path` until it returns false.
fn read_lines(path: &Path, skip: usize, mut f: impl FnMut(Line) -> bool) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    for (n, line) in BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .skip(skip)
    {
        let line = line.with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        if !f(parsed) {
            break;
        }
    }
    Ok(())
}

/// Flagged subjects whose names a named run reads before it stops reading
/// subjects.ndjson (all of them when the dataset has fewer).
const NAMED_FLAGGED: usize = 100_000;

impl Dataset {
    /// The dataset's flagged subjects, and as clean ones those without
    /// entries among subjects `skip..skip + pool` of subjects.ndjson. With
    /// `names`, each with its name; the flagged ones are then those of the
    /// first [`NAMED_FLAGGED`] found in subjects.ndjson.
    fn load(dir: &Path, skip: usize, pool: usize, names: bool) -> anyhow::Result<Dataset> {
        let mut flagged = HashSet::new();
        read_lines(&dir.join("entries.ndjson"), 0, |l| {
            flagged.extend(l.subject_id);
            true
        })?;
        let mut clean = Vec::new();
        let mut named = std::collections::HashMap::new();
        let mut seen = 0;
        read_lines(&dir.join("subjects.ndjson"), skip, |l| {
            let (Some(id), name) = (l.id, l.name) else {
                return true;
            };
            let name = match name {
                Some(n) if names => conn::query_encoded(&n),
                _ => String::new(),
            };
            if seen < pool {
                seen += 1;
                if !flagged.contains(&id) {
                    clean.push(Pick { id, name });
                    return true;
                }
            }
            if names && flagged.contains(&id) {
                named.insert(id, name);
            }
            // Past the pool, only the names of flagged subjects are needed,
            // and a sample of them will do: at 10^8 subjects reading the
            // whole file takes minutes.
            seen < pool || (names && named.len() < NAMED_FLAGGED.min(flagged.len()))
        })?;
        let mut flagged: Vec<Pick> = flagged
            .into_iter()
            .filter_map(|id| match named.remove(&id) {
                Some(name) => Some(Pick { name, id }),
                // With names, every flagged pick carries one.
                None if names => None,
                None => Some(Pick {
                    name: String::new(),
                    id,
                }),
            })
            .collect();
        flagged.sort_by(|a, b| a.id.cmp(&b.id));
        if clean.is_empty() || flagged.is_empty() {
            bail!(
                "{}: need subjects without entries (among lines {}..{} of subjects.ndjson) and subjects with entries; found {} and {}{}",
                dir.display(),
                skip + 1,
                skip.saturating_add(pool),
                clean.len(),
                flagged.len(),
                if clean.is_empty() && skip > 0 {
                    " (a small dataset needs a smaller --skip)"
                } else {
                    ""
                }
            );
        }
        Ok(Dataset { clean, flagged })
    }
}

impl Dataset {
    /// A `/v1/check` path: a flagged id with probability `mix.flagged`,
    /// else a clean one; an action drawn uniformly; the subject's name with
    /// probability `mix.named`.
    fn draw(&self, rng: &mut Rng, mix: &Mix) -> String {
        let mut path = String::new();
        self.draw_into(&mut path, rng, mix);
        path
    }

    /// [`Dataset::draw`], appended to `path`.
    fn draw_into(&self, path: &mut String, rng: &mut Rng, mix: &Mix) {
        let pick = if rng.chance(mix.flagged) {
            &self.flagged[rng.below(self.flagged.len())]
        } else {
            &self.clean[rng.below(self.clean.len())]
        };
        let action = &mix.actions[rng.below(mix.actions.len())];
        path.push_str("/v1/check?id=");
        path.push_str(&pick.id);
        path.push_str("&action=");
        path.push_str(action);
        if mix.named > 0.0 && !pick.name.is_empty() && rng.chance(mix.named) {
            path.push_str("&name=");
            path.push_str(&pick.name);
        }
    }
}

/// How requests are drawn: shares of flagged and named ones, and the
/// actions.
struct Mix {
    flagged: f64,
    named: f64,
    actions: Vec<String>,
}

impl MixArgs {
    fn mix(&self) -> Mix {
        Mix {
            flagged: self.flagged,
            named: self.named,
            actions: split_actions(&self.actions),
        }
    }

    fn load(&self) -> anyhow::Result<Dataset> {
        Dataset::load(&self.dataset, 0, self.pool, self.named > 0.0)
    }
}

fn split_actions(actions: &str) -> Vec<String> {
    actions.split(',').map(|a| a.trim().to_string()).collect()
}

fn paths(args: &PathsArgs) -> anyhow::Result<()> {
    let data = args.mix.load()?;
    let mix = args.mix.mix();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..args.count {
        writeln!(out, "{}", data.draw(&mut rng, &mix))?;
    }
    out.flush()?;
    Ok(())
}

/// What one connection saw.
struct ConnReport {
    latency: Histogram<u64>,
    ok: u64,
    non_200: u64,
    errors: u64,
}

struct Plan {
    host: String,
    /// An API key's token, sent as `Authorization: Bearer`.
    token: Option<String>,
    addr: SocketAddr,
    path: Option<String>,
    mix: Mix,
    start: Instant,
    measure_from: Instant,
    end: Instant,
}

async fn connect(
    plan: &Plan,
) -> anyhow::Result<hyper::client::conn::http1::SendRequest<Empty<Bytes>>> {
    let stream = TcpStream::connect(plan.addr)
        .await
        .with_context(|| format!("cannot connect to {}", plan.addr))?;
    stream.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// At a fixed rate, an OS thread hands out send times: request `k` is due at
/// `start + k / rate` and goes to connection `k mod N`. A thread's sleep is
/// precise to tens of microseconds, where tokio's timer would round to the
/// millisecond and release the sends in bursts of `rate / 1000`.
fn pace(
    rate: f64,
    start: Instant,
    end: Instant,
    connections: Vec<tokio::sync::mpsc::UnboundedSender<Instant>>,
) {
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut due = start;
    let mut k = 0usize;
    while due < end {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        if connections[k % connections.len()].send(due).is_err() {
            return;
        }
        k += 1;
        due += interval;
    }
}

/// Closed loop: the next request as soon as the answer is in.
async fn drive(plan: Arc<Plan>, data: Arc<Dataset>, index: usize) -> anyhow::Result<ConnReport> {
    let mut rng =
        Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03));
    let mut report = ConnReport {
        latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)?,
        ok: 0,
        non_200: 0,
        errors: 0,
    };
    let mut sender = connect(&plan).await?;
    loop {
        let sent = Instant::now();
        if sent >= plan.end {
            break;
        }
        let uri = match &plan.path {
            Some(p) => p.clone(),
            None => data.draw(&mut rng, &plan.mix),
        };
        let mut req = Request::get(uri).header(hyper::header::HOST, plan.host.as_str());
        if let Some(token) = &plan.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req.body(Empty::<Bytes>::new())?;
        let outcome = async {
            sender.ready().await?;
            let res = sender.send_request(req).await?;
            let status = res.status();
            res.into_body().collect().await?;
            anyhow::Ok(status)
        }
        .await;
        let done = Instant::now();
        if sent >= plan.measure_from {
            match &outcome {
                Ok(s) if s.as_u16() == 200 => report.ok += 1,
                Ok(_) => report.non_200 += 1,
                Err(_) => report.errors += 1,
            }
            let ns = done.duration_since(sent).as_nanos() as u64;
            report.latency.saturating_record(ns.max(1));
        }
        if outcome.is_err() {
            // The connection broke: open a new one and go on.
            sender = connect(&plan).await?;
        }
    }
    Ok(report)
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    let rest = args
        .url
        .strip_prefix("http://")
        .context("--url must start with http://")?;
    let host = rest.trim_end_matches('/').to_string();
    let addr: SocketAddr = std::net::ToSocketAddrs::to_socket_addrs(&host)
        .with_context(|| format!("cannot resolve {host}"))?
        .next()
        .context("no address")?;
    let data = Arc::new(match &args.path {
        Some(_) => Dataset {
            clean: vec![Pick::id("")],
            flagged: vec![Pick::id("")],
        },
        None => args.mix.load()?,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let plan = Arc::new(Plan {
        host: host.clone(),
        token: args.token.clone(),
        addr,
        path: args.path.clone(),
        mix: args.mix.mix(),
        start,
        measure_from,
        end: measure_from + Duration::from_secs_f64(args.duration),
    });
    let connections = args.connections.max(1);
    let reports = match args.rate {
        Some(rate) => fixed::run(&runtime, plan, data, connections, rate)?,
        None => runtime.block_on(async {
            let tasks: Vec<_> = (0..connections)
                .map(|i| tokio::spawn(drive(plan.clone(), data.clone(), i)))
                .collect();
            let mut reports = Vec::new();
            for t in tasks {
                reports.push(t.await??);
            }
            anyhow::Ok(reports)
        })?,
    };
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let (mut ok, mut non_200, mut errors) = (0, 0, 0);
    for r in &reports {
        latency.add(&r.latency)?;
        ok += r.ok;
        non_200 += r.non_200;
        errors += r.errors;
    }
    let seconds = args.duration;
    let total = ok + non_200 + errors;
    let us = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let summary = serde_json::json!({
        "url": args.url,
        "mode": if args.rate.is_some() { "fixed_rate" } else { "closed_loop" },
        "target_rate": args.rate,
        "connections": args.connections,
        "seconds": seconds,
        "requests": total,
        "ok": ok,
        "non_200": non_200,
        "errors": errors,
        "throughput_rps": total as f64 / seconds,
        "flagged_share": args.mix.flagged,
        "named_share": args.mix.named,
        "latency_us": {
            "p50": us(0.50), "p90": us(0.90), "p99": us(0.99), "p999": us(0.999),
            "max": latency.max() as f64 / 1000.0, "mean": latency.mean() / 1000.0,
        },
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{} {} connections, {:.0} s: {} requests ({} ok, {} not 200, {} errors), {:.0} req/s",
            summary["mode"].as_str().unwrap_or(""),
            args.connections,
            seconds,
            total,
            ok,
            non_200,
            errors,
            total as f64 / seconds
        );
        println!(
            "latency µs: p50 {:.1}  p90 {:.1}  p99 {:.1}  p99.9 {:.1}  max {:.1}",
            us(0.50),
            us(0.90),
            us(0.99),
            us(0.999),
            latency.max() as f64 / 1000.0
        );
    }
    if errors > 0 || non_200 > 0 {
        eprintln!("creditgate-load: {errors} transport errors, {non_200} answers other than 200");
    }
    Ok(())
}

fn baseline(args: &BaselineArgs) -> anyhow::Result<()> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        runtime.worker_threads(n.max(1));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async {
        let listener = creditgate::server::bind(args.listen).await?;
        eprintln!(
            "creditgate-load: empty-handler baseline on http://{}",
            listener.local_addr()?
        );
        creditgate::server::serve(
            listener,
            Arc::new(creditgate::server::api::Constant),
            creditgate::server::Limits::default(),
            creditgate::server::termination(),
        )
        .await;
        anyhow::Ok(())
    })
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Run(args) => run(&args),
        Command::Baseline(args) => baseline(&args),
        Command::Paths(args) => paths(&args),
        Command::Screen(args) => screen::screen(&args),
        Command::Writes(args) => writes::writes(&args),
        Command::Stalls(args) => stalls::stalls(&args),
        Command::Receive(args) => receive::receive(&args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dataset directory of three subjects, the second with an entry.
    fn dataset() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("creditgate-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("subjects.ndjson"),
            concat!(
                r#"{"id":"A1","kind":"org","name":"江西 华远"}"#,
                "\n",
                r#"{"id":"B2","kind":"person","name":"张三"}"#,
                "\n",
                r#"{"id":"C3","kind":"person","name":"Li&Si"}"#,
                "\n",
            ),
        )
        .unwrap();
        std::fs::write(
            dir.join("entries.ndjson"),
            r#"{"entry_id":"E1","subject_id":"B2"}"#.to_string() + "\n",
        )
        .unwrap();
        dir
    }

    #[test]
    fn names_are_loaded_only_when_asked_and_encoded_for_a_query() {
        let dir = dataset();
        let plain = Dataset::load(&dir, 0, 10, false).unwrap();
        assert_eq!(plain.clean, vec![Pick::id("A1"), Pick::id("C3")]);
        assert_eq!(plain.flagged, vec![Pick::id("B2")]);
        let named = Dataset::load(&dir, 0, 10, true).unwrap();
        let names: Vec<&str> = named.clean.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            ["%E6%B1%9F%E8%A5%BF%20%E5%8D%8E%E8%BF%9C", "Li%26Si"]
        );
        // The flagged subject's name, found past the clean pool too.
        let past_pool = Dataset::load(&dir, 0, 1, true).unwrap();
        assert_eq!(past_pool.clean, vec![named.clean[0].clone()]);
        assert_eq!(past_pool.flagged[0].name, "%E5%BC%A0%E4%B8%89");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_named_share_adds_the_name_to_that_share_of_paths() {
        let data = Dataset {
            clean: vec![Pick {
                id: "A1".into(),
                name: "N".into(),
            }],
            flagged: vec![Pick::id("B2")],
        };
        let mix = |named| Mix {
            flagged: 0.0,
            named,
            actions: vec!["flight".into()],
        };
        let mut rng = Rng(7);
        assert_eq!(
            data.draw(&mut rng, &mix(1.0)),
            "/v1/check?id=A1&action=flight&name=N"
        );
        assert_eq!(
            data.draw(&mut rng, &mix(0.0)),
            "/v1/check?id=A1&action=flight"
        );
        let half = (0..1000)
            .filter(|_| data.draw(&mut rng, &mix(0.5)).contains("&name="))
            .count();
        assert!((400..600).contains(&half), "{half} of 1000 named");
    }
}
