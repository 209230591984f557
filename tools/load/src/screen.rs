//! `creditgate-load screen`: one screening upload, sent whole before the
//! answer is read (as most HTTP clients do), the answer read at full speed
//! or at a capped rate (a slow reader), and the server's resident memory
//! sampled meanwhile when its pid is given.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;

#[derive(clap::Args)]
pub struct ScreenArgs {
    /// Server address, e.g. 127.0.0.1:8080
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// The file to upload (NDJSON or CSV).
    #[arg(long)]
    file: PathBuf,
    /// The query string after `/v1/screen?`.
    #[arg(long, default_value = "action=flight")]
    query: String,
    /// Read the answer at most this many KiB per second (default: as fast
    /// as it comes).
    #[arg(long)]
    read_kib_per_s: Option<u64>,
    /// Stop capping the read rate after this many seconds.
    #[arg(long, default_value_t = 20.0)]
    slow_for: f64,
    /// The server's pid: its resident memory is sampled while the answer is
    /// read.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print one JSON object (status, rows, seconds, bytes) instead of
    /// text.
    #[arg(long)]
    json: bool,
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub fn screen(args: &ScreenArgs) -> anyhow::Result<()> {
    let body = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let started = Instant::now();
    let mut stream = TcpStream::connect(&args.addr)
        .with_context(|| format!("cannot connect to {}", args.addr))?;
    let head = format!(
        "POST /v1/screen?{} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        args.query,
        args.addr,
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    let uploaded = started.elapsed();
    let rss_before = args.server_pid.and_then(rss_kib);
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut status = String::new();
    reader.read_line(&mut status)?;
    let mut received = 0u64;
    let mut buf = vec![0u8; 64 << 10];
    let mut tail: Vec<u8> = Vec::new();
    let mut rss_max = rss_before.unwrap_or(0);
    let mut last_sample = Instant::now();
    let reading = Instant::now();
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        received += n as u64;
        // The last few KB hold the summary line.
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 1 << 20 {
            tail.drain(..tail.len() - (64 << 10));
        }
        if let Some(rate) = args.read_kib_per_s
            && reading.elapsed().as_secs_f64() < args.slow_for
        {
            let due = Duration::from_secs_f64(received as f64 / (rate as f64 * 1024.0));
            if let Some(wait) = due.checked_sub(reading.elapsed()) {
                std::thread::sleep(wait);
            }
        }
        if let Some(pid) = args.server_pid
            && last_sample.elapsed() > Duration::from_millis(200)
        {
            rss_max = rss_max.max(rss_kib(pid).unwrap_or(0));
            last_sample = Instant::now();
        }
    }
    let total = started.elapsed();
    let tail = String::from_utf8_lossy(&tail);
    let summary = tail
        .lines()
        .rev()
        .find(|l| l.starts_with("{\"summary\""))
        .map(str::to_string);
    let rows = summary
        .as_deref()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
        .and_then(|v| v["summary"]["rows"].as_u64());
    if args.json {
        anyhow::ensure!(
            rows.is_some(),
            "the answer had no summary line ({})",
            status.trim()
        );
        println!(
            "{}",
            serde_json::json!({
                "status": status.trim(),
                "rows": rows,
                "seconds": total.as_secs_f64(),
                "upload_seconds": uploaded.as_secs_f64(),
                "bytes_sent": body.len(),
                "bytes_received": received,
                "server_rss_kib_max": args.server_pid.map(|_| rss_max),
            })
        );
        return Ok(());
    }
    println!("status: {}", status.trim());
    println!(
        "upload: {} bytes in {:.2} s; answer: {} bytes; total {:.2} s",
        body.len(),
        uploaded.as_secs_f64(),
        received,
        total.as_secs_f64()
    );
    match rows {
        Some(rows) => println!(
            "rows: {rows}, {:.0} rows/s end to end",
            rows as f64 / total.as_secs_f64()
        ),
        None => println!("no summary line: the answer is incomplete"),
    }
    if let Some(before) = rss_before {
        println!(
            "server RSS: {before} KiB after the upload, at most {rss_max} KiB while the answer was read"
        );
    }
    anyhow::ensure!(rows.is_some(), "the answer had no summary line");
    Ok(())
}
