//! `creditgate-load writes`: lifecycle writes at a fixed rate, the way
//! departments publish while airlines check.
//!
//! Each write publishes a new entry (`PUT /v1/entries/{id}`,
//! `dishonest_debtor`) on a subject drawn from the dataset's subjects
//! without entries, outside the pool `run` asks about (`--skip`), so that
//! the checks' mix stays what it was without writes; every fourth write
//! instead files an objection against the connection's previous entry. A pacer releases writes every `1 / rate`
//! round-robin over the connections, and latency is timed from the due time
//! when a connection was held up (no coordinated omission). Run it beside
//! `creditgate-load run --rate …` to see what writes cost the checks.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::conn::Conn;
use super::{Dataset, Rng, pace};

#[derive(clap::Args)]
pub struct WritesArgs {
    /// Server address, e.g. 127.0.0.1:8080
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Generator output directory to draw subjects from.
    #[arg(long, value_name = "DIR")]
    dataset: std::path::PathBuf,
    /// Subjects to draw from, read from subjects.ndjson after `--skip`.
    #[arg(long, default_value_t = 200_000)]
    pool: usize,
    /// Subjects of subjects.ndjson passed over before the pool. The default
    /// is `run`'s pool (the first 200,000): writes then never turn a subject
    /// the checks ask about from clean to flagged, so a run beside them
    /// asks the same mix as a run without them, and a store that took
    /// many write runs still answers `run`'s mix as it did when imported.
    #[arg(long, default_value_t = 200_000)]
    skip: usize,
    /// Writes per second.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Seconds of writes.
    #[arg(long, short = 'd', default_value_t = 20.0)]
    duration: f64,
    /// Keep-alive connections (each write waits for its disk sync).
    #[arg(long, short = 'c', default_value_t = 8)]
    connections: usize,
    /// Prefix of the entry ids written (make it differ between runs).
    #[arg(long, default_value = "LOAD")]
    prefix: String,
    /// A read replica of the server (e.g. 127.0.0.1:8081): after each
    /// acknowledged write, ask it with `Min-Seq` for the write's change and
    /// report the replication lag (from the write's answer to the
    /// replica's).
    #[arg(long)]
    replica: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// The first change sequence in a write's answer (`"seq":N`).
fn seq_in(answer: &[u8]) -> Option<u64> {
    let at = answer.windows(6).position(|w| w == b"\"seq\":")? + 6;
    let digits: Vec<u8> = answer[at..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

pub fn writes(args: &WritesArgs) -> anyhow::Result<()> {
    let data = Arc::new(Dataset::load(&args.dataset, args.skip, args.pool, false)?);
    let start = Instant::now() + Duration::from_millis(50);
    let end = start + Duration::from_secs_f64(args.duration);
    let mut senders = Vec::new();
    let mut workers = Vec::new();
    for c in 0..args.connections.max(1) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        senders.push(tx);
        let (data, addr, prefix) = (data.clone(), args.addr.clone(), args.prefix.clone());
        let replica_addr = args.replica.clone();
        workers.push(std::thread::spawn(move || -> anyhow::Result<(Histogram<u64>, Histogram<u64>, u64, u64)> {
            let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
            let mut lag = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
            let mut conn = Conn::open(&addr)?;
            let mut replica = replica_addr.as_deref().map(Conn::open).transpose()?;
            // Each run (prefix) and connection draws its own subjects.
            let run = prefix.bytes().fold(0u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
            let mut rng = Rng(0xA076_1D64_78BD_642F ^ run ^ (c as u64 + 1).wrapping_mul(0x9E37_79B9));
            let (mut ok, mut failed) = (0u64, 0u64);
            let mut previous: Option<String> = None;
            let mut prev_done = start;
            let mut k = 0u64;
            while let Some(due) = rx.blocking_recv() {
                let sent = Instant::now();
                let mut seq = None;
                let read = |answer: &[u8]| seq = seq_in(answer);
                let status = match previous.take().filter(|_| k % 4 == 3) {
                    Some(entry) => conn.exchange(
                        "POST",
                        &format!("/v1/entries/{entry}/objection"),
                        None,
                        r#"{"reason":"load test objection"}"#,
                        read,
                    ),
                    None => {
                        let id = format!("{prefix}-{c}-{k}");
                        let subject = &data.clean[rng.below(data.clean.len())].id;
                        let body = format!(
                            r#"{{"subject_id":"{subject}","list":"black","category":"dishonest_debtor","authority":"load","basis":"load {k}","decided_at":"2026-01-01"}}"#
                        );
                        let status =
                            conn.exchange("PUT", &format!("/v1/entries/{id}"), None, &body, read);
                        previous = Some(id);
                        status
                    }
                };
                let done = Instant::now();
                let from = if prev_done > due { due } else { sent };
                prev_done = done;
                latency.saturating_record(done.duration_since(from).as_nanos() as u64);
                if let (Some(r), Ok(200 | 201), Some(seq)) = (replica.as_mut(), &status, seq) {
                    let header = format!("Min-Seq: {seq}");
                    if let Ok(200) = r.exchange("GET", "/healthz", Some(&header), "", |_| {}) {
                        lag.saturating_record(done.elapsed().as_nanos() as u64);
                    }
                }
                match status {
                    Ok(200 | 201) => ok += 1,
                    Ok(_) => failed += 1,
                    Err(_) => {
                        failed += 1;
                        conn = Conn::open(&addr)?;
                    }
                }
                k += 1;
            }
            Ok((latency, lag, ok, failed))
        }));
    }
    let rate = args.rate;
    let pacer = std::thread::spawn(move || pace(rate, start, end, senders));
    let _ = pacer.join();
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let mut lag = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let (mut ok, mut failed) = (0, 0);
    for w in workers {
        let (h, l, o, f) = w
            .join()
            .map_err(|_| anyhow::anyhow!("a writer panicked"))??;
        latency.add(&h)?;
        lag.add(&l)?;
        ok += o;
        failed += f;
    }
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1e6;
    if args.json {
        let lag_ms = |q: f64| (!lag.is_empty()).then(|| lag.value_at_quantile(q) as f64 / 1e6);
        println!(
            "{}",
            serde_json::json!({
                "ok": ok,
                "failed": failed,
                "seconds": args.duration,
                "rate": ok as f64 / args.duration,
                "latency_ms": { "p50": ms(0.5), "p99": ms(0.99), "max": latency.max() as f64 / 1e6 },
                "replica_lag_ms": { "p50": lag_ms(0.5), "p99": lag_ms(0.99) },
            })
        );
        return Ok(());
    }
    println!(
        "writes: {} acknowledged, {} failed in {:.0} s ({:.0}/s); latency ms: p50 {:.2}  p99 {:.2}  max {:.2}",
        ok,
        failed,
        args.duration,
        ok as f64 / args.duration,
        ms(0.5),
        ms(0.99),
        latency.max() as f64 / 1e6
    );
    if !lag.is_empty() {
        let ms = |q: f64| lag.value_at_quantile(q) as f64 / 1e6;
        println!(
            "replica lag ms (write answered → replica answered with Min-Seq), {} writes: p50 {:.2}  p99 {:.2}  max {:.2}",
            lag.len(),
            ms(0.5),
            ms(0.99),
            lag.max() as f64 / 1e6
        );
    }
    Ok(())
}
