//! `creditgate-load`: drives `GET /v1/check` the way a booking system does.
//!
//! * `creditgate-load run --url URL --dataset DIR`: N keep-alive HTTP/1.1
//!   connections, each sending one request at a time. Closed loop by
//!   default (hyper's client; the next request when the answer arrives,
//!   which measures throughput); `--rate R` sends at a fixed total rate
//!   instead (which measures latency at a given load; `fixed.rs`, lean on
//!   purpose since the tool shares the server's cores). Ids are drawn from the
//!   generator's dataset: `--flagged` of them (default 1%) from subjects with
//!   entries, the rest from subjects without. Latencies go into an HDR
//!   histogram; the report gives throughput and p50/p90/p99/p99.9/max, as
//!   text or, with `--json`, as one JSON object.
//! * `creditgate-load writes --addr ADDR --dataset DIR --rate R`: lifecycle
//!   writes at a fixed rate (`writes.rs`), to run beside `run`.
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
mod screen;
mod stalls;
mod writes;

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

/// The ids requests are drawn from.
struct Dataset {
    clean: Vec<String>,
    flagged: Vec<String>,
}

#[derive(Deserialize)]
struct Line {
    id: Option<String>,
    subject_id: Option<String>,
}

/// The `field` of lines `skip..` of `path`, at most `limit` of them.
fn read_ids(
    path: &Path,
    field: fn(Line) -> Option<String>,
    skip: usize,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut ids = Vec::new();
    for (n, line) in BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .skip(skip)
    {
        if ids.len() >= limit {
            break;
        }
        let line = line.with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("{}: line {}", path.display(), n + 1))?;
        if let Some(id) = field(parsed) {
            ids.push(id);
        }
    }
    Ok(ids)
}

impl Dataset {
    /// The dataset's flagged subjects, and as clean ones those without
    /// entries among subjects `skip..skip + pool` of subjects.ndjson.
    fn load(dir: &Path, skip: usize, pool: usize) -> anyhow::Result<Dataset> {
        let flagged: HashSet<String> =
            read_ids(&dir.join("entries.ndjson"), |l| l.subject_id, 0, usize::MAX)?
                .into_iter()
                .collect();
        let mut flagged: Vec<String> = flagged.into_iter().collect();
        flagged.sort();
        let set: HashSet<&str> = flagged.iter().map(String::as_str).collect();
        let clean: Vec<String> = read_ids(&dir.join("subjects.ndjson"), |l| l.id, skip, pool)?
            .into_iter()
            .filter(|id| !set.contains(id.as_str()))
            .collect();
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
    /// A `/v1/check` path: a flagged id with probability `flagged`, else a
    /// clean one; an action drawn uniformly.
    fn draw(&self, rng: &mut Rng, flagged: f64, actions: &[String]) -> String {
        let mut path = String::new();
        self.draw_into(&mut path, rng, flagged, actions);
        path
    }

    /// [`Dataset::draw`], appended to `path`.
    fn draw_into(&self, path: &mut String, rng: &mut Rng, flagged: f64, actions: &[String]) {
        let id = if rng.chance(flagged) {
            &self.flagged[rng.below(self.flagged.len())]
        } else {
            &self.clean[rng.below(self.clean.len())]
        };
        let action = &actions[rng.below(actions.len())];
        path.push_str("/v1/check?id=");
        path.push_str(id);
        path.push_str("&action=");
        path.push_str(action);
    }
}

fn split_actions(actions: &str) -> Vec<String> {
    actions.split(',').map(|a| a.trim().to_string()).collect()
}

fn paths(args: &PathsArgs) -> anyhow::Result<()> {
    let data = Dataset::load(&args.mix.dataset, 0, args.mix.pool)?;
    let actions = split_actions(&args.mix.actions);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for _ in 0..args.count {
        writeln!(out, "{}", data.draw(&mut rng, args.mix.flagged, &actions))?;
    }
    out.flush()?;
    Ok(())
}

/// xorshift64*: a fast, seedable generator (ids need not be cryptographic).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
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
    addr: SocketAddr,
    path: Option<String>,
    actions: Vec<String>,
    flagged_share: f64,
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
            None => data.draw(&mut rng, plan.flagged_share, &plan.actions),
        };
        let req = Request::get(uri)
            .header(hyper::header::HOST, plan.host.as_str())
            .body(Empty::<Bytes>::new())?;
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
            clean: vec![String::new()],
            flagged: vec![String::new()],
        },
        None => Dataset::load(&args.mix.dataset, 0, args.mix.pool)?,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?;
    let start = Instant::now() + Duration::from_millis(50);
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let plan = Arc::new(Plan {
        host: host.clone(),
        addr,
        path: args.path.clone(),
        actions: split_actions(&args.mix.actions),
        flagged_share: args.mix.flagged,
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
    }
}
