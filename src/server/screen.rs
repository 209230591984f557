//! `POST /v1/screen?action=A`: a file of rows in the body, the answer
//! streamed back line by line while the upload is still arriving.
//!
//! The request body is spooled to a temporary file (`spool.rs`); a
//! thread of its own runs the screening pipeline ([`crate::screen`]) over
//! it and sends the answer in chunks down a small channel that the response
//! body drains. A client that reads slowly leaves the channel full: the
//! pipeline waits, and nothing grows but the spool of the upload.
//!
//! The status is 200 once the input's layout is known (for CSV, its header
//! read); a problem found before that is a 400. A failure after it (the
//! upload cut off or stalled, the store failing) can only be told in the
//! answer itself: its last line is then `{"error":{…}}` instead of the
//! summary, and the transfer is cut off after it (no closing chunk), so
//! that no HTTP client takes the answer for complete. An answer is complete
//! exactly when it ends with the summary.

use super::errors::Code;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response};
use tokio::sync::mpsc::error::SendTimeoutError;

use super::errors::Refusal;
use super::metrics::Metrics;
use super::query::{date_param, optional, parse_query, required};
use super::served::Served;
use super::{Body, Handled, Reply, error_reply};
use crate::catalog::ActionId;
use crate::date::Date;
use crate::screen::input::{Format, Input, InputError, parse_encoding};
use crate::screen::row::{DEFAULT_MAX_CHANGES, DEFAULT_MIN_SCORE, parse_changes, parse_score};
use crate::screen::{Options, Oversight, ScreenError, screen};

/// Limits of the screening route.
#[derive(Debug, Clone)]
pub struct ScreenLimits {
    /// Largest upload, in bytes.
    pub max_body_bytes: u64,
    /// Screenings at once; more are refused with 503.
    pub max_concurrent: usize,
    /// How long an upload may send nothing, and a client read nothing,
    /// before the screening is abandoned.
    pub stall: Duration,
    /// Where uploads are spooled.
    pub spool_dir: PathBuf,
    /// Worker threads per screening.
    pub workers: usize,
}

impl Default for ScreenLimits {
    fn default() -> ScreenLimits {
        ScreenLimits {
            max_body_bytes: 4 << 30,
            max_concurrent: 4,
            stall: Duration::from_secs(60),
            spool_dir: std::env::temp_dir(),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
        }
    }
}

pub(super) const PARAMS: [&str; 7] = [
    "action",
    "at",
    "format",
    "encoding",
    "output",
    "min_score",
    "max_changes",
];

/// What a screening request asked for, its parameters read.
struct ScreenRequest {
    /// The action.
    action: ActionId,
    /// The date.
    at: Date,
    /// The input's layout, if stated.
    format: Option<Format>,
    /// The input's encoding, if stated.
    encoding: Option<&'static encoding_rs::Encoding>,
    /// The answer's layout.
    output: Format,
    /// Lowest score of a name match.
    min_score: f64,
    /// Most changes of a name match.
    max_changes: u8,
}

/// Reads a screening's parameters from the query and the headers.
fn request(req: &Request<Incoming>, served: &Served) -> Result<ScreenRequest, Refusal> {
    let q = parse_query(req.uri().query(), &PARAMS)?;
    let (hinted_format, hinted_encoding) =
        content_type_hints(req).map_err(|e| Refusal::new(Code::InvalidHeader, e))?;
    let output = optional(&q, "output", Format::parse)?.unwrap_or_else(|| {
        if accepts_csv(req) {
            Format::Csv
        } else {
            Format::Ndjson
        }
    });
    let action = super::reads::action(&served.engine, required(&q, "action")?)?;
    served
        .caller
        .may_ask(&served.engine.catalog().action(action).code)?;
    Ok(ScreenRequest {
        action,
        at: date_param(&q, served.today)?,
        format: optional(&q, "format", Format::parse)?.or(hinted_format),
        encoding: optional(&q, "encoding", parse_encoding)?.or(hinted_encoding),
        output,
        min_score: optional(&q, "min_score", parse_score)?.unwrap_or(DEFAULT_MIN_SCORE),
        max_changes: optional(&q, "max_changes", parse_changes)?.unwrap_or(DEFAULT_MAX_CHANGES),
    })
}

/// What the `Content-Type` header says of the layout and encoding.
fn content_type_hints(
    req: &Request<Incoming>,
) -> Result<(Option<Format>, Option<&'static encoding_rs::Encoding>), String> {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return Ok((None, None));
    };
    let value = value
        .to_str()
        .map_err(|_| "header Content-Type: not ASCII".to_string())?;
    let mut parts = value.split(';');
    let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    let format = match media.as_str() {
        "text/csv" | "text/tab-separated-values" => Some(Format::Csv),
        "application/x-ndjson" | "application/jsonl" | "application/json" => Some(Format::Ndjson),
        _ => None,
    };
    let mut encoding = None;
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && k.trim().eq_ignore_ascii_case("charset")
        {
            let label = v.trim().trim_matches('"');
            encoding =
                Some(parse_encoding(label).map_err(|e| format!("header Content-Type: {e}"))?);
        }
    }
    Ok((format, encoding))
}

/// Whether the `Accept` header asks for CSV.
fn accepts_csv(req: &Request<Incoming>) -> bool {
    req.headers()
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("text/csv"))
}

/// Writes into the response body's channel, waiting while the client does
/// not read, up to the stall limit.
struct ChannelWriter {
    tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    runtime: tokio::runtime::Handle,
    stall: Duration,
}

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let chunk = Bytes::copy_from_slice(buf);
        self.runtime
            .block_on(self.tx.send_timeout(Ok(chunk), self.stall))
            .map_err(|e| match e {
                SendTimeoutError::Timeout(_) => io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("the client read nothing for {} s", self.stall.as_secs()),
                ),
                SendTimeoutError::Closed(_) => {
                    io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")
                }
            })?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Counts a screening as running until dropped.
struct Running(Arc<Metrics>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.screening(false);
    }
}

/// Starts screening `req`'s body; the answer comes once the input's layout
/// is known.
pub(super) fn start(served: Served, limits: &ScreenLimits, req: Request<Incoming>) -> Handled {
    let asked = match request(&req, &served) {
        Ok(asked) => asked,
        Err(r) => return served.now(Err(r)),
    };
    let oversight = Oversight {
        audit: served.audit.as_ref().clone(),
        key: served.caller.audit_key(),
        request: served.caller.request.get(),
        mask: served.caller.masks(),
        quota: served
            .caller
            .limiter
            .clone()
            .zip(served.caller.key.as_ref().and_then(|k| k.daily_quota)),
    };
    let (engine, metrics) = (Arc::clone(&served.engine), Arc::clone(&served.metrics));
    let refuse = |code: Code, message: &str| {
        let mut res = error_reply(code, message);
        // The body is not read: the connection cannot carry another request.
        res.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        Handled::Now(served.done(res))
    };
    if metrics.screens_active() >= limits.max_concurrent as u64 {
        let mut res = refuse(
            Code::Busy,
            &format!(
                "{} screenings are running, the most this server takes at once; try again shortly",
                limits.max_concurrent
            ),
        );
        if let Handled::Now(r) = &mut res {
            r.headers_mut()
                .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        return res;
    }
    let reader = match super::spool::spool(
        req.into_body(),
        &limits.spool_dir,
        limits.max_body_bytes,
        limits.stall,
    ) {
        Ok(r) => r,
        Err(e) => {
            let code = Code::SpoolFailed;
            return refuse(code, &code.logged("storing the upload", &e));
        }
    };
    metrics.screening(true);
    let running = Running(metrics.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<(), Reply>>();
    let options = Options {
        action: asked.action,
        at: asked.at,
        min_score: asked.min_score,
        max_changes: asked.max_changes,
        output: asked.output,
        workers: limits.workers,
        background: true,
        oversight,
    };
    let media = options.output.media_type();
    let writer = ChannelWriter {
        tx,
        runtime: tokio::runtime::Handle::current(),
        stall: limits.stall,
    };
    let thread_metrics = metrics.clone();
    let spawned = std::thread::Builder::new()
        .name("screen".into())
        .spawn(move || {
            let _running = running;
            let metrics = thread_metrics;
            let input = match Input::open(reader, asked.format, asked.encoding) {
                Ok(input) => input,
                Err(e) => {
                    let code = match e {
                        InputError::Header(_) => Code::BadHeader,
                        InputError::Io(_) => Code::UploadFailed,
                    };
                    let mut res = error_reply(code, &e.to_string());
                    res.headers_mut()
                        .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
                    let _ = ready_tx.send(Err(res));
                    return;
                }
            };
            if ready_tx.send(Ok(())).is_err() {
                return;
            }
            let mut out = BufWriter::with_capacity(256 << 10, writer);
            let mut counted = 0;
            let mut progress = |rows: u64| {
                metrics.screened(rows - counted);
                counted = rows;
            };
            if let Err(e) = screen(&engine, &options, input, &mut out, &mut progress) {
                metrics.screen_failed();
                tracing::warn!("a screening stopped: {e}");
                // A client that went away reads no closing line.
                let code = match &e {
                    ScreenError::Input(_) => Some(Code::UploadFailed),
                    ScreenError::Store(_) => Some(Code::StoreError),
                    ScreenError::Output(_) => None,
                };
                if let Some(code) = code {
                    let _ = out.write_all(&e.closing_line_as(code.name(), options.output));
                }
                let _ = out.flush();
                // Then cut the transfer off: no client takes it for whole.
                if let Ok(w) = out.into_inner() {
                    let _ = w
                        .runtime
                        .block_on(w.tx.send_timeout(Err(io::Error::other(e.to_string())), w.stall));
                }
            }
        });
    if let Err(e) = spawned {
        // The closure (and the running count) went with the failed spawn.
        return refuse(Code::Busy, &format!("cannot start a screening thread: {e}"));
    }
    let served = served.detach();
    Handled::Later(Box::pin(async move {
        let res = match ready_rx.await {
            Ok(Ok(())) => {
                let mut res = Response::new(Body::Stream(rx));
                res.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(media));
                res
            }
            Ok(Err(res)) => res,
            Err(_) => error_reply(
                Code::Internal,
                "the screening ended before it started; it has been logged",
            ),
        };
        served.done(res)
    }))
}
