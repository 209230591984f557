//! Checks at a fixed rate, with the tool's own CPU kept small.
//!
//! On a machine where the load tool shares the server's cores, every
//! microsecond the tool spends per request is taken from the server being
//! measured. hyper's client behind a pacer cost about 33 µs of CPU per
//! request at 20,000/s (13 µs of it in user space: request and header
//! maps, the pacer's channel, a task hop to the connection), more than
//! the server spent answering. Here:
//!
//! * the pacer thread writes each request itself, on the connection's
//!   socket, when it is due (one `write`, no hand-over to another thread);
//! * one runtime reads the answers (one task per connection), records the
//!   latency and, when the pacer found the connection busy and queued the
//!   request, sends the queued one as soon as the answer is in.
//!
//! The timing is `run`'s: a request sent on time is timed from when it
//! was sent (a pacer that woke late is the tool's fault, not the
//! server's); one that waited for the previous answer on its connection
//! is timed from when it was due (no coordinated omission). A connection
//! keeps one request in flight, as a booking system's does.

use std::collections::VecDeque;
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use tokio::io::AsyncReadExt;

use super::conn::{complete_answer, request_with_auth};
use super::{ConnReport, Dataset, Plan, Rng};

/// One connection as the pacer and its reader share it.
struct Slot {
    writer: TcpStream,
    rng: Rng,
    request: Vec<u8>,
    path: String,
    /// A request is in flight: when its timing starts, when it was sent.
    in_flight: Option<(Instant, Instant)>,
    /// Requests due while one was in flight, by due time.
    queued: VecDeque<Instant>,
    /// The pacer is done: close once nothing is in flight or queued.
    finished: bool,
    /// Writing failed or the server closed: every later request fails.
    broken: bool,
    /// Requests that could not be sent (counted as errors).
    unsent: u64,
}

type Shared = Arc<Mutex<Slot>>;

fn lock(slot: &Shared) -> MutexGuard<'_, Slot> {
    slot.lock().unwrap_or_else(|p| p.into_inner())
}

impl Slot {
    /// Sends the next request, timed from `from`.
    fn send(&mut self, plan: &Plan, data: &Dataset, from: Option<Instant>) {
        if self.broken {
            self.unsent += 1;
            return;
        }
        self.path.clear();
        match &plan.path {
            Some(p) => self.path.push_str(p),
            None => data.draw_into(&mut self.path, &mut self.rng, &plan.mix),
        }
        self.request.clear();
        request_with_auth(
            &mut self.request,
            "GET",
            &self.path,
            &plan.host,
            plan.token.as_deref(),
            "",
        );
        let sent = Instant::now();
        match write_all(&mut self.writer, &self.request) {
            Ok(()) => self.in_flight = Some((from.unwrap_or(sent), sent)),
            Err(_) => {
                self.broken = true;
                self.unsent += 1;
            }
        }
    }

    /// After an answer (or at the pacer's end): closes the sending side
    /// when nothing more will be sent, so that the reader sees the end.
    fn close_if_done(&mut self) {
        if self.finished && self.in_flight.is_none() && self.queued.is_empty() {
            let _ = self.writer.shutdown(Shutdown::Write);
        }
    }
}

/// The socket is non-blocking (the reader's runtime needs it so); a request
/// of a hundred bytes on a connection with nothing in flight fits its send
/// buffer, so waiting here is for the rare partial write only.
fn write_all(w: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match w.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

async fn read_answers(
    slot: Shared,
    mut stream: tokio::net::TcpStream,
    plan: Arc<Plan>,
    data: Arc<Dataset>,
) -> anyhow::Result<ConnReport> {
    let mut report = ConnReport {
        latency: Histogram::new_with_bounds(1, 60_000_000_000, 3)?,
        ok: 0,
        non_200: 0,
        errors: 0,
    };
    let mut buf = Vec::with_capacity(16 << 10);
    loop {
        let n = stream.read_buf(&mut buf).await.unwrap_or(0);
        if n == 0 {
            // The end: the pacer closed an idle connection, or the server
            // closed one (what was in flight or queued is lost).
            let mut s = lock(&slot);
            if s.in_flight.take().is_some() {
                report.errors += 1;
            }
            report.errors += s.queued.drain(..).count() as u64 + s.unsent;
            s.broken = true;
            return Ok(report);
        }
        while let Some((status, len)) = complete_answer(&buf)? {
            let done = Instant::now();
            buf.drain(..len);
            let mut s = lock(&slot);
            let Some((from, sent)) = s.in_flight.take() else {
                anyhow::bail!("an answer nobody asked for");
            };
            if sent >= plan.measure_from {
                match status {
                    200 => report.ok += 1,
                    _ => report.non_200 += 1,
                }
                let ns = done.duration_since(from).as_nanos() as u64;
                report.latency.saturating_record(ns.max(1));
            }
            if let Some(due) = s.queued.pop_front() {
                s.send(&plan, &data, Some(due));
            }
            s.close_if_done();
        }
    }
}

/// Runs `connections` connections at `rate` requests a second in total;
/// request `k` is due at `start + k / rate` on connection `k mod N`.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    plan: Arc<Plan>,
    data: Arc<Dataset>,
    connections: usize,
    rate: f64,
) -> anyhow::Result<Vec<ConnReport>> {
    let mut slots: Vec<Shared> = Vec::with_capacity(connections);
    let mut readers = Vec::with_capacity(connections);
    for i in 0..connections {
        let stream = TcpStream::connect(plan.addr)
            .with_context(|| format!("cannot connect to {}", plan.addr))?;
        stream.set_nodelay(true)?;
        stream.set_nonblocking(true)?;
        let writer = stream.try_clone()?;
        let slot = Arc::new(Mutex::new(Slot {
            writer,
            rng: Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03)),
            request: Vec::with_capacity(256),
            path: String::with_capacity(128),
            in_flight: None,
            queued: VecDeque::new(),
            finished: false,
            broken: false,
            unsent: 0,
        }));
        let reader = {
            let _entered = runtime.enter();
            tokio::net::TcpStream::from_std(stream)?
        };
        readers.push(runtime.spawn(read_answers(
            slot.clone(),
            reader,
            plan.clone(),
            data.clone(),
        )));
        slots.push(slot);
    }
    let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let mut due = plan.start;
    let mut k = 0usize;
    while due < plan.end {
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let mut s = lock(&slots[k % connections]);
        if s.in_flight.is_some() {
            s.queued.push_back(due);
        } else {
            s.send(&plan, &data, None);
        }
        drop(s);
        k += 1;
        due += interval;
    }
    for slot in &slots {
        let mut s = lock(slot);
        s.finished = true;
        s.close_if_done();
    }
    let mut reports = Vec::with_capacity(connections);
    for r in readers {
        reports.push(runtime.block_on(r)??);
    }
    Ok(reports)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use crate::{Dataset, Mix, Pick, Plan};

    /// Against creditgate's own server with the constant handler, over a
    /// real socket: every request due in the window is sent, answered and
    /// counted once, on every connection, and the tool ends by itself.
    #[test]
    fn sends_every_request_due_and_counts_each_answer() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let listener = runtime
            .block_on(creditgate::server::bind("127.0.0.1:0".parse().unwrap()))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let server = runtime.spawn(creditgate::server::serve(
            listener,
            Arc::new(creditgate::server::api::Constant),
            creditgate::server::Limits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let start = Instant::now() + Duration::from_millis(20);
        let plan = Arc::new(Plan {
            token: None,
            host: addr.to_string(),
            addr,
            path: None,
            mix: Mix {
                flagged: 0.5,
                named: 0.0,
                actions: vec!["flight".into()],
            },
            start,
            measure_from: start,
            end: start + Duration::from_millis(500),
        });
        let data = Arc::new(Dataset {
            clean: vec![Pick::id("91360100MA35XXXXX0")],
            flagged: vec![Pick::id("91360100MA35YYYYY0")],
        });
        let reports = super::run(&runtime, plan, data, 4, 400.0).unwrap();
        let _ = stop.send(());
        runtime.block_on(server).unwrap();
        assert_eq!(reports.len(), 4);
        let ok: u64 = reports.iter().map(|r| r.ok).sum();
        let failed: u64 = reports.iter().map(|r| r.non_200 + r.errors).sum();
        // 400/s for 0.5 s: requests 0..=199 are due before the end.
        assert_eq!((ok, failed), (200, 0));
        assert!(reports.iter().all(|r| r.ok == 50 && r.latency.len() == 50));
    }
}
