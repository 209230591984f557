//! The HTTP/1.1 server: connections, limits, time-outs, panics and graceful
//! shutdown, around any [`Handler`].
//!
//! The server knows nothing about credit: [`api::Api`] is the handler that
//! answers SPEC §6, and the load tool's empty-handler baseline runs the same
//! server with a handler that returns a constant body, so the two are compared
//! on equal plumbing.
//!
//! Handlers are synchronous. The hot path is an in-memory probe plus, for
//! flagged subjects, a few RocksDB point reads that hit the block cache, so
//! it runs on the tokio worker that read the request; handing it to a
//! blocking pool would cost more than the work itself. A handler whose
//! answer must wait (screening waits for the upload's first lines) returns
//! a future instead ([`Handled::Later`]), and a response body may be a
//! stream fed from another thread ([`Body::Stream`]).
//!
//! What protects the process:
//! * request heads larger than [`Limits::max_header_bytes`] get 431 (hyper,
//!   with the JSON error body added by `automatic.rs`);
//!   declared bodies larger than [`Limits::max_body_bytes`] (or the route's
//!   own limit, [`Handler::max_body`]) get 413;
//! * a client that does not send a complete request head within
//!   [`Limits::header_read_timeout`], first or next on a kept-alive
//!   connection, is disconnected;
//! * at most [`Limits::max_connections`] connections are served at once;
//!   further ones wait in the listen backlog;
//! * a panicking handler is answered with 500 and counted; the connection
//!   and the server carry on;
//! * on shutdown the listener closes, each connection finishes the request
//!   it is serving and closes, and [`serve`] returns once all are done (or
//!   after [`Limits::shutdown_grace`]).

pub mod api;
mod automatic;
mod console;
mod decisions;
mod disclosures;
mod disk;
pub mod errors;
mod feed;
mod lifecycle;
pub mod maintenance;
pub mod metrics;
mod openapi;
mod oversight;
mod query;
mod reads;
pub mod request_id;
mod routes;
pub mod screen;
mod served;
mod spool;
mod watches;

/// What `crate::fuzzing` reaches of the server's parsers.
pub(crate) mod fuzz_entry {
    pub(crate) use super::lifecycle::read_bodies;
    pub(crate) use super::query::{Query, decode_path_segment};
}

use errors::Code;
use request_id::{RequestId, RequestIds};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// A response.
pub type Reply = Response<Body>;

/// A response body: all at once, or a stream of chunks sent from elsewhere
/// (a screening's answer lines). The stream ends when its senders are gone;
/// an `Err` chunk aborts it, so that the client sees a cut-off transfer
/// rather than a complete answer.
pub enum Body {
    /// The whole body (taken when sent).
    Full(Option<Bytes>),
    /// Chunks as they come.
    Stream(tokio::sync::mpsc::Receiver<std::io::Result<Bytes>>),
}

impl Body {
    /// A body of `bytes`.
    pub fn full(bytes: impl Into<Bytes>) -> Body {
        Body::Full(Some(bytes.into()))
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Body::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Body::Stream(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| c.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Body::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Body::Full(None) => SizeHint::with_exact(0),
            Body::Stream(_) => SizeHint::default(),
        }
    }
}

/// A handler's answer: now, or once a future completes.
pub enum Handled {
    /// The response.
    Now(Reply),
    /// The response, later.
    Later(Pin<Box<dyn Future<Output = Reply> + Send>>),
}

impl From<Reply> for Handled {
    fn from(reply: Reply) -> Handled {
        Handled::Now(reply)
    }
}

/// Answers requests. Called on a runtime worker; must not block for long.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request, known as `id` (the response carries it in
    /// `X-Request-Id`). A handler that reads the body takes it.
    fn handle(&self, req: Request<Incoming>, id: RequestId) -> Handled;

    /// How the log names the request: by default its method and path
    /// (never the query string, which may carry personal data).
    fn log_name(&self, req: &Request<Incoming>) -> String {
        format!("{} {}", req.method(), req.uri().path())
    }

    /// The largest body the request's route accepts, when not the server's
    /// [`Limits::max_body_bytes`].
    fn max_body(&self, _req: &Request<Incoming>) -> Option<u64> {
        None
    }

    /// The handler panicked on a request; it was answered with 500.
    fn panicked(&self) {}

    /// A connection was accepted.
    fn connection_opened(&self) {}

    /// A connection ended.
    fn connection_closed(&self) {}

    /// A request was refused by the server before reaching the handler
    /// (e.g. 413), for counting.
    fn refused(&self, _status: StatusCode) {}
}

/// Limits and time-outs.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Largest declared request body, in bytes.
    pub max_body_bytes: u64,
    /// Time a client has to send a complete request head, including the
    /// idle time before the next request on a kept-alive connection.
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_header_bytes: 16 << 10,
            max_body_bytes: 1 << 20,
            header_read_timeout: Duration::from_secs(30),
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// A JSON response with `status`.
pub fn json_reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut res = Response::new(Body::full(body));
    *res.status_mut() = status;
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    res
}

/// The SPEC §6 error body `{"error":{"code","message"}}`.
pub fn error_reply(code: Code, message: &str) -> Reply {
    let body = serde_json::json!({"error": {"code": code.name(), "message": message}});
    json_reply(code.status(), serde_json::to_vec(&body).unwrap_or_default())
}

/// A 200 with `value` as JSON (a 500 if it cannot be encoded).
fn json_ok<T: serde::Serialize>(value: &T) -> Reply {
    // Sized for a check answer with a few reasons, so that encoding does not
    // grow the buffer several times.
    let mut body = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => json_reply(StatusCode::OK, body),
        Err(e) => error_reply(
            Code::Internal,
            &Code::Internal.logged("encoding the answer", &e),
        ),
    }
}

/// The declared body length and the route's limit when it is over it. The
/// limit is looked up only for a request that declares a body (a check
/// declares none).
fn declared_body_too_large<H: Handler>(
    handler: &H,
    limits: &Limits,
    req: &Request<Incoming>,
) -> Option<(u64, u64)> {
    let len = req.headers().get(CONTENT_LENGTH)?.to_str().ok()?;
    let len: u64 = len.trim().parse().ok()?;
    let max = handler.max_body(req).unwrap_or(limits.max_body_bytes);
    (len > max).then_some((len, max))
}

fn answer<H: Handler>(
    handler: &H,
    limits: &Limits,
    req: Request<Incoming>,
    id: RequestId,
) -> Handled {
    if let Some((len, max_body)) = declared_body_too_large(handler, limits, &req) {
        handler.refused(StatusCode::PAYLOAD_TOO_LARGE);
        let mut res = error_reply(
            Code::PayloadTooLarge,
            &format!("the request body is {len} bytes; at most {max_body} are accepted"),
        );
        // The body will not be read: the connection cannot be reused.
        res.headers_mut()
            .insert(hyper::header::CONNECTION, HeaderValue::from_static("close"));
        return Handled::Now(res);
    }
    match std::panic::catch_unwind(AssertUnwindSafe(|| handler.handle(req, id))) {
        Ok(handled) => handled,
        Err(_) => {
            tracing::error!(request_id = %id, "the handler panicked; answered 500");
            handler.panicked();
            Handled::Now(error_reply(
                Code::Internal,
                "the server failed while answering this request; it has been logged",
            ))
        }
    }
}

/// Binds `addr`.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `listener` with `handler` until `shutdown` completes, then drains.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size((limits.max_header_bytes * 2).max(8192))
        .max_header_size(limits.max_header_bytes)
        .keep_alive(true);
    let http = Arc::new(http);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let ids = Arc::new(RequestIds::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            () = &mut shutdown => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or similar: back off instead of spinning.
                    tracing::error!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let (handler, limits, http, mut stop_rx, ids) = (
            handler.clone(),
            limits.clone(),
            http.clone(),
            stop_rx.clone(),
            ids.clone(),
        );
        let stream = automatic::JsonErrors::new(stream, limits.max_header_bytes);
        handler.connection_opened();
        connections.spawn(async move {
            let service = {
                let handler = handler.clone();
                hyper::service::service_fn(move |req: Request<Incoming>| {
                    let id = ids.next();
                    let logged = tracing::enabled!(tracing::Level::DEBUG)
                        .then(|| AccessLog::start(&*handler, &req));
                    let handled = answer(&*handler, &limits, req, id);
                    async move {
                        let mut res = match handled {
                            Handled::Now(res) => res,
                            Handled::Later(res) => res.await,
                        };
                        if let Some(logged) = logged {
                            logged.finish(id, res.status());
                        }
                        res.headers_mut()
                            .insert(request_id::HEADER.clone(), id.header_value());
                        Ok::<_, Infallible>(res)
                    }
                })
            };
            let conn = http.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            handler.connection_closed();
            drop(permit);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} connections still open after {:?}; closing them",
            connections.len(),
            limits.shutdown_grace
        );
        connections.shutdown().await;
    }
}

/// A request as the debug-level access log names it, from when it was read.
struct AccessLog {
    started: std::time::Instant,
    name: String,
    client_id: Option<String>,
}

impl AccessLog {
    fn start<H: Handler>(handler: &H, req: &Request<Incoming>) -> AccessLog {
        AccessLog {
            started: std::time::Instant::now(),
            name: handler.log_name(req),
            // A client's own id, when it is a short printable one.
            client_id: req
                .headers()
                .get(&request_id::HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|v| v.len() <= 64)
                .map(str::to_string),
        }
    }

    fn finish(self, id: RequestId, status: StatusCode) {
        tracing::debug!(
            request_id = %id,
            client_request_id = self.client_id.as_deref(),
            status = status.as_u16(),
            micros = self.started.elapsed().as_micros() as u64,
            "{}",
            self.name
        );
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn termination() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler can be installed");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
