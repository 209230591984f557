//! The SPEC §6 handler: authenticates the caller, routes the request by the
//! route table (`routes.rs`), checks the route's role and hands the
//! request to the endpoint's module with what it is served with
//! (`served.rs`).
//!
//! Every error is `{"error":{"code","message"}}` with a stable `code` for
//! programs ([`super::errors`]) and a `message` that names the parameter and
//! what was expected.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ALLOW, AUTHORIZATION, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Request, StatusCode};

use super::disk::{DiskReaders, READERS};
use super::errors::{Code, Refusal};
use super::lifecycle::MAX_WRITE_BODY;
use super::metrics::{Metrics, Route};
use super::request_id::RequestId;
use super::routes::{BodyLimit, Endpoint, Routed, Row};
use super::screen::ScreenLimits;
use super::served::{Caller, Served};
use super::{Handled, Handler, Reply, error_reply, json_reply};
use crate::access::{AuthError, Keyring, presented_key_id};
use crate::audit::{AuditLog, Detail, Event, Fields, KEY_ID_BYTES, Outcome, RefusedFor, key_bytes};
use crate::date::DayClock;
use crate::engine::Engine;
use crate::rate::Over;
use crate::replication::follow::FollowStatus;

/// What a server is in a replicated deployment.
#[derive(Clone, Default)]
pub enum Node {
    /// Alone: writes go to its store only.
    #[default]
    Standalone,
    /// Appends every write to the replicated log first.
    Primary {
        /// The JetStream stream.
        stream: String,
    },
    /// Follows the primary's log; refuses writes.
    Replica {
        /// The JetStream stream.
        stream: String,
        /// Where writes go, for the refusal's message.
        primary: Option<String>,
        /// What following has done.
        status: Arc<FollowStatus>,
    },
}

/// The longest a read carrying `Min-Seq` waits for that change.
pub const MIN_SEQ_WAIT: Duration = Duration::from_secs(5);

/// The SPEC §6 handler over an engine.
#[derive(Clone)]
pub struct Api {
    engine: Arc<Engine>,
    metrics: Arc<Metrics>,
    started: Instant,
    day_clock: Arc<DayClock>,
    screen_limits: ScreenLimits,
    /// The keys accepted; `None`: an open server (loopback only).
    keys: Option<Arc<ArcSwap<Keyring>>>,
    /// Where requests are recorded; `None`: not audited.
    audit: Option<Arc<AuditLog>>,
    /// Where a check whose data is not in memory is finished.
    disk: Arc<DiskReaders>,
    /// Primary, replica or alone.
    node: Node,
    /// Where snapshots go.
    snapshot_dir: Option<std::path::PathBuf>,
    /// Whether the access log shows query strings and paths as sent.
    log_personal_data: bool,
    /// Watches and what their routes need.
    watches: super::watches::WatchHost,
}

/// How an [`Api`] is set up beside its engine.
#[derive(Default)]
pub struct ApiOptions {
    /// Screening limits.
    pub screen_limits: ScreenLimits,
    /// Today's date.
    pub clock: Arc<DayClock>,
    /// The keys accepted (reloaded by whoever holds the other `Arc`);
    /// `None` serves everyone everything.
    pub keys: Option<Arc<ArcSwap<Keyring>>>,
    /// The audit log.
    pub audit: Option<Arc<AuditLog>>,
    /// Primary, replica or alone.
    pub node: Node,
    /// Where `POST /v1/snapshot` writes snapshots; `None`: it is refused.
    pub snapshot_dir: Option<std::path::PathBuf>,
    /// Whether the access log (debug level) may show query strings and
    /// paths as sent, identity numbers and names included.
    pub log_personal_data: bool,
    /// The node's watches; `None`: opened from the engine's store (and
    /// not delivered).
    pub watches: Option<Arc<crate::watch::Watches>>,
    /// Callbacks may reach loopback, private and link-local addresses.
    pub allow_private_webhooks: bool,
}

impl Api {
    /// Serves `engine` to everyone, unaudited, with the default limits.
    pub fn new(engine: Engine) -> Api {
        Api::with_options(Arc::new(engine), ApiOptions::default())
    }

    /// Serves `engine` as `options` say.
    pub fn with_options(engine: Arc<Engine>, options: ApiOptions) -> Api {
        let watches = options.watches.or_else(|| {
            crate::watch::Watches::open(engine.clone())
                .map(Arc::new)
                .map_err(|e| tracing::error!(error = %e, "the watches could not be opened"))
                .ok()
        });
        Api {
            watches: super::watches::WatchHost {
                watches,
                allow_private: options.allow_private_webhooks,
                max_body_bytes: options.screen_limits.max_body_bytes,
            },
            engine,
            metrics: Arc::default(),
            started: Instant::now(),
            day_clock: options.clock,
            screen_limits: options.screen_limits,
            keys: options.keys,
            audit: options.audit,
            disk: Arc::new(DiskReaders::start(READERS)),
            node: options.node,
            snapshot_dir: options.snapshot_dir,
            log_personal_data: options.log_personal_data,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Who asks, or the 401 that says why the credentials are refused
    /// (audited with the key id presented, if any, and the route).
    fn caller(
        &self,
        req: &Request<Incoming>,
        row: Option<&Row>,
        id: RequestId,
    ) -> Result<Caller, Box<Reply>> {
        let Some(keys) = &self.keys else {
            return Ok(Caller {
                request: id,
                ..Caller::default()
            });
        };
        let header = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        match keys.load().authenticate(header) {
            Ok(held) => Ok(Caller {
                request: id,
                key: Some(held.key.clone()),
                // An unlimited key's calls touch no limiter.
                limiter: held.key.limits().any().then(|| held.limiter.clone()),
            }),
            Err(e) => {
                let reason = match e {
                    AuthError::Missing => RefusedFor::NoKey,
                    AuthError::Malformed => RefusedFor::MalformedKey,
                    AuthError::Unknown => RefusedFor::UnknownKey,
                    AuthError::Revoked(_) => RefusedFor::RevokedKey,
                };
                let presented = presented_key_id(header).map_or([0; KEY_ID_BYTES], key_bytes);
                let mut res = error_reply(Code::Unauthorized, &e.to_string());
                self.audit_refused((presented, id), row, &res, reason);
                res.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"creditgate\""),
                );
                Err(Box::new(res))
            }
        }
    }

    /// Records a refused call in the audit log.
    fn audit_refused(
        &self,
        who: ([u8; KEY_ID_BYTES], RequestId),
        row: Option<&Row>,
        res: &Reply,
        reason: RefusedFor,
    ) {
        if let Some(log) = &self.audit {
            let fields = Fields {
                event: Event::Refused,
                action: None,
                outcome: Outcome::None,
                subject: None,
                status: res.status().as_u16(),
                detail: Detail::Refused {
                    route: row.and_then(super::routes::number),
                    reason,
                },
            };
            log.record(fields.stamped(who.0, who.1.get()));
        }
    }

    /// The 429 for a caller over its limits (audited), if it is.
    fn over_limits(&self, caller: &Caller, row: &Row, started: Instant) -> Option<Reply> {
        let (key, limiter) = (caller.key.as_ref()?, caller.limiter.as_ref()?);
        let over = limiter.admit(key.limits(), started).err()?;
        let (code, reason, message) = match over {
            Over::Rate {
                per_second, burst, ..
            } => (
                Code::RateLimited,
                RefusedFor::RateLimited,
                format!(
                    "key {} ({}) may make {per_second} requests a second (at most {burst} at once); try again in {} s",
                    key.id,
                    key.department,
                    over.retry_after_secs()
                ),
            ),
            Over::Quota { daily, .. } => (
                Code::QuotaExhausted,
                RefusedFor::QuotaExhausted,
                format!(
                    "key {} ({}) has made its {daily} requests for today (China Standard Time); the quota renews at 00:00, in {} s",
                    key.id,
                    key.department,
                    over.retry_after_secs()
                ),
            ),
        };
        let mut res = error_reply(code, &message);
        self.audit_refused(
            (caller.audit_key(), caller.request),
            Some(row),
            &res,
            reason,
        );
        res.headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(over.retry_after_secs()));
        Some(res)
    }

    /// The request's route, or the reply that refuses it (401, 404, 405,
    /// 403), counted.
    fn routed<'r>(
        &self,
        req: &'r Request<Incoming>,
        started: Instant,
        id: RequestId,
    ) -> Result<(&'static Row, super::routes::Params<'r>, Caller), Box<Reply>> {
        let (method, path) = (req.method(), req.uri().path());
        let found = super::routes::find(method, path);
        let refuse = |metric: Route, res: Reply| {
            self.metrics
                .record(metric, res.status().as_u16(), started.elapsed());
            Box::new(res)
        };
        // A route that needs no role (load balancers ask /healthz without a
        // key) authenticates no one; any other request authenticates first.
        let caller = match &found {
            Routed::Route(row, _)
                if row.role.is_none()
                    && !(row.endpoint.reads_optional_key()
                        && req.headers().contains_key(AUTHORIZATION)) =>
            {
                Caller {
                    request: id,
                    ..Caller::default()
                }
            }
            Routed::Route(row, _) => self
                .caller(req, Some(row), id)
                .map_err(|res| refuse(Route::Other, *res))?,
            _ => self
                .caller(req, None, id)
                .map_err(|res| refuse(Route::Other, *res))?,
        };
        match found {
            Routed::Route(row, params) => {
                if let Some(role) = row.role
                    && let Err(r) = caller.may(role, method, path)
                {
                    let res = r.reply();
                    self.audit_refused(
                        (caller.audit_key(), caller.request),
                        Some(row),
                        &res,
                        RefusedFor::Role,
                    );
                    return Err(refuse(Route::Other, res));
                }
                if let Some(res) = self.over_limits(&caller, row, started) {
                    return Err(refuse(row.metric, res));
                }
                if let Node::Replica {
                    stream, primary, ..
                } = &self.node
                    && row.endpoint.writes()
                {
                    let to = match primary {
                        Some(p) => format!("send it to the primary, {p}"),
                        None => "send it to the primary".to_string(),
                    };
                    let res = error_reply(
                        Code::NotPrimary,
                        &format!(
                            "this node is a read replica following stream {stream}: it takes no writes; {to}"
                        ),
                    );
                    return Err(refuse(row.metric, res));
                }
                Ok((row, params, caller))
            }
            Routed::NotAllowed { allow, metric } => {
                let allowed = allow.allow();
                let mut res = error_reply(
                    Code::MethodNotAllowed,
                    &format!(
                        "{method} {path} is not supported; use {}",
                        allowed.replace(", ", " or ")
                    ),
                );
                if let Ok(value) = HeaderValue::from_str(&allowed) {
                    res.headers_mut().insert(ALLOW, value);
                }
                Err(refuse(metric, res))
            }
            Routed::NotFound => Err(refuse(
                Route::Other,
                error_reply(
                    Code::NotFound,
                    &format!(
                        "no such route {path:?}; the routes are {}",
                        super::routes::listing()
                    ),
                ),
            )),
        }
    }
}

impl Api {
    /// A read's `Min-Seq` header (SPEC §6, replicas): answer only once the
    /// change with this sequence is applied here.
    fn min_seq(req: &Request<Incoming>) -> Result<Option<u64>, Refusal> {
        let Some(value) = req.headers().get(&MIN_SEQ_HEADER) else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Some)
            .ok_or_else(|| {
                Refusal::new(
                    Code::InvalidHeader,
                    "header Min-Seq: expected a change sequence (a whole number)",
                )
            })
    }

    /// Answers `req` once change `n` is applied here, or `not_caught_up`
    /// after [`MIN_SEQ_WAIT`].
    fn after_change(&self, req: Request<Incoming>, n: u64, id: RequestId) -> Handled {
        let api = self.clone();
        Handled::Later(Box::pin(async move {
            let mut next = api.engine.watch_changes();
            let arrived = matches!(
                tokio::time::timeout(MIN_SEQ_WAIT, next.wait_for(|next| *next > n)).await,
                Ok(Ok(_))
            );
            if !arrived {
                let have = api.engine.store().next_change_seq().saturating_sub(1);
                return error_reply(
                    Code::NotCaughtUp,
                    &format!(
                        "this node has applied changes up to {have}; change {n} did not arrive within {} s",
                        MIN_SEQ_WAIT.as_secs()
                    ),
                );
            }
            drop(next);
            match api.handle(req, id) {
                Handled::Now(res) => res,
                Handled::Later(res) => res.await,
            }
        }))
    }
}

/// The header a read carries to see at least a given change.
pub const MIN_SEQ_HEADER: hyper::header::HeaderName =
    hyper::header::HeaderName::from_static("min-seq");

impl Handler for Api {
    fn log_name(&self, req: &Request<Incoming>) -> String {
        let (method, path) = (req.method(), req.uri().path());
        if self.log_personal_data {
            return match req.uri().query() {
                Some(q) => format!("{method} {path}?{q}"),
                None => format!("{method} {path}"),
            };
        }
        // The route's pattern: a path may carry an identity number.
        match super::routes::find(method, path) {
            Routed::Route(row, _) => format!("{method} {}", row.path),
            _ if super::console::owns(path) => format!("{method} /console/"),
            _ => format!("{method} (no route)"),
        }
    }

    fn handle(&self, req: Request<Incoming>, id: RequestId) -> Handled {
        let started = Instant::now();
        if super::console::owns(req.uri().path()) {
            let res = super::console::answer(req.method(), req.uri().path());
            self.metrics
                .record(Route::Console, res.status().as_u16(), started.elapsed());
            return Handled::Now(res);
        }
        let (row, params, caller) = match self.routed(&req, started, id) {
            Ok(routed) => routed,
            Err(res) => return Handled::Now(*res),
        };
        // Only a caller the route admits waits for a change.
        match Api::min_seq(&req) {
            Err(r) => return Handled::Now(r.reply()),
            Ok(Some(n)) if self.engine.store().next_change_seq() <= n => {
                // A replica waits for the primary's change; anywhere else
                // the change was never written: nothing would bring it.
                if !matches!(self.node, Node::Replica { .. }) {
                    let last = self.engine.store().next_change_seq().saturating_sub(1);
                    return Handled::Now(error_reply(
                        Code::InvalidHeader,
                        &format!(
                            "header Min-Seq: change {n} was never written here; the last change is {last}"
                        ),
                    ));
                }
                return self.after_change(req, n, id);
            }
            Ok(_) => {}
        }
        let served = Served {
            engine: Cow::Borrowed(&self.engine),
            metrics: Cow::Borrowed(&self.metrics),
            audit: Cow::Borrowed(&self.audit),
            caller,
            today: self.day_clock.today(started),
            started,
            metric: row.metric,
            row,
        };
        let query = req.uri().query();
        match row.endpoint {
            Endpoint::Check => super::reads::check(served, &self.disk, query),
            Endpoint::Search => served.now(super::reads::search(&served, query)),
            Endpoint::Subject => served.now(super::reads::subject(&served, params.get(0), query)),
            Endpoint::Healthz => {
                served.now(Ok(super::reads::healthz(&served, self.started, &self.node)))
            }
            Endpoint::OpenApi => served.now(Ok(super::openapi::document(self.keys.is_none()))),
            Endpoint::Digest => super::reads::digest(served),
            Endpoint::Snapshot => super::reads::snapshot(served, self.snapshot_dir.clone()),
            Endpoint::Metrics => {
                let watches = self.watches.watches.as_deref();
                served.now(Ok(super::reads::metrics(
                    &served,
                    self.started,
                    &self.node,
                    watches,
                )))
            }
            Endpoint::Changes => super::feed::start(served, query),
            Endpoint::Oversight => super::oversight::start(served, req.uri().path(), query),
            Endpoint::Screen => super::screen::start(served, &self.screen_limits, req),
            Endpoint::Catalog => served.now(super::reads::catalog(&served, query)),
            Endpoint::WhoAmI => {
                served.now(super::reads::whoami(&served, query, self.keys.is_none()))
            }
            Endpoint::Disclosures(endpoint) => {
                match super::disclosures::path_id(endpoint, params) {
                    Ok(id) => {
                        super::disclosures::start(served, req, endpoint, id, self.keys.is_none())
                    }
                    Err(r) => served.now(Err(r)),
                }
            }
            Endpoint::Watches(endpoint) => {
                let id = params.get(0).to_string();
                super::watches::start(served, req, endpoint, &id, &self.watches)
            }
            Endpoint::Decisions(endpoint) => {
                let id = params.get(0).to_string();
                super::decisions::start(served, req, endpoint, &id)
            }
            Endpoint::Lifecycle(endpoint) => match super::lifecycle::route(endpoint, params) {
                Ok(route) => super::lifecycle::start(served, req, route),
                Err(r) => served.now(Err(r)),
            },
        }
    }

    fn max_body(&self, req: &Request<Incoming>) -> Option<u64> {
        match super::routes::find(req.method(), req.uri().path()) {
            Routed::Route(row, _) => match row.body {
                BodyLimit::Server => None,
                BodyLimit::Write => Some(MAX_WRITE_BODY as u64),
                BodyLimit::Upload => Some(self.screen_limits.max_body_bytes),
            },
            _ => None,
        }
    }

    fn panicked(&self) {
        self.metrics.panicked();
        self.metrics
            .record(Route::Other, 500, std::time::Duration::ZERO);
    }

    fn connection_opened(&self) {
        self.metrics.connection_opened();
    }

    fn connection_closed(&self) {
        self.metrics.connection_closed();
    }

    fn refused(&self, status: StatusCode) {
        self.metrics
            .record(Route::Other, status.as_u16(), std::time::Duration::ZERO);
    }
}

/// A constant body, for [`Constant`].
const CONSTANT_BODY: &[u8] = b"{\"decision\":\"allow\"}";

/// The empty handler: answers every request with the same small body. The
/// load tool's baseline runs it on the same server as [`Api`], so the ratio
/// of the two throughputs is the cost of the engine's own work.
pub struct Constant;

impl Handler for Constant {
    fn handle(&self, _req: Request<Incoming>, _id: RequestId) -> Handled {
        Handled::Now(json_reply(
            StatusCode::OK,
            Bytes::from_static(CONSTANT_BODY),
        ))
    }
}
