//! SPEC §6 over HTTP: routing, parameters, answers and errors.
//!
//! Every error is `{"error":{"code","message"}}` with a stable `code` for
//! programs and a `message` that names the parameter and what was expected.
//! Unknown query parameters are refused rather than ignored: a misspelt `at`
//! silently answering for today is worse than a 400.

use super::errors::Code;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, HeaderValue, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};

use super::disk::{DiskReaders, READERS};
use super::metrics::{EngineFigures, Metrics, Route};
use super::query::{Query, decode_path_segment};
use super::screen::{ScreenLimits, ScreenRequest};
use super::{Handled, Handler, Reply, error_reply, json_reply};
use crate::access::{Key, Keyring, Role};
use crate::audit::{AuditLog, Event, Fields, Outcome};
use crate::catalog::ActionId;
use crate::date::{Date, DayClock};
use crate::engine::Engine;
use crate::id::SubjectKey;
use crate::screen::input::{Format, parse_encoding};
use crate::screen::row::{DEFAULT_MIN_SCORE, parse_score};
use crate::search::{self, SearchQuery};
use crate::store::{Reach, StoreError};

/// The SPEC §6 handler over an engine.
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
}

/// Who is asking: their key (none on an open server).
#[derive(Clone)]
pub(super) struct Caller {
    pub(super) key: Option<Arc<Key>>,
}

impl Caller {
    /// Whether personal data in answers must be masked.
    pub(super) fn masks(&self) -> bool {
        self.key.as_ref().is_some_and(|k| !k.sees_personal())
    }

    /// Records `fields` under this caller's key, now (when there is a log).
    pub(super) fn audit(&self, log: Option<&AuditLog>, fields: Fields) {
        if let Some(log) = log {
            log.record(fields.stamped(self.audit_key()));
        }
    }

    /// The key id as audit records keep it.
    pub(super) fn audit_key(&self) -> [u8; crate::audit::KEY_ID_BYTES] {
        self.key
            .as_ref()
            .map_or([0; crate::audit::KEY_ID_BYTES], |k| {
                crate::audit::key_bytes(&k.id)
            })
    }

    fn who(key: &Key) -> String {
        format!("key {} ({})", key.id, key.department)
    }

    /// Refuses a role the key lacks for `method path` (named in the refusal
    /// only: nothing is formatted for a call that is allowed).
    fn may(&self, role: Role, method: &Method, path: &str) -> Result<(), Refusal> {
        match &self.key {
            Some(k) if !k.has(role) => Err(Refusal::new(
                Code::Forbidden,
                format!(
                    "{} has the roles {}; {method} {path} needs the {} role",
                    Self::who(k),
                    k.roles
                        .iter()
                        .map(|r| r.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                    role.as_str()
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses an action the key may not ask about.
    pub(super) fn may_ask(&self, action: &str) -> Result<(), Refusal> {
        match &self.key {
            Some(k) if !k.may_ask(action) => Err(Refusal::new(
                Code::Forbidden,
                format!(
                    "{} may ask about {}; not {action:?}",
                    Self::who(k),
                    k.actions.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses a write for an authority the key does not publish for.
    pub(super) fn may_publish_for(&self, authority: &str) -> Result<(), Refusal> {
        match &self.key {
            Some(k) if !k.may_publish_for(authority) => Err(Refusal::new(
                Code::Forbidden,
                format!(
                    "{} publishes for {}; not for {authority:?}",
                    Self::who(k),
                    if k.authorities.is_empty() {
                        "no authority".to_string()
                    } else {
                        k.authorities.join(", ")
                    }
                ),
            )),
            _ => Ok(()),
        }
    }

    /// `value` with personal data masked when the key may not see it.
    pub(super) fn shown<T: serde::Serialize>(&self, value: &T) -> serde_json::Value {
        let mut v = serde_json::to_value(value).unwrap_or_default();
        if self.masks() {
            crate::access::mask_json(&mut v);
        }
        v
    }
}

/// The role a request needs, by method and path; `None` for what anyone
/// may ask (`/healthz`) and for unknown routes (answered 404 or 405).
fn needed_role(method: &Method, path: &str) -> Option<Role> {
    let reading = method == Method::GET || method == Method::HEAD;
    Some(match path {
        "/healthz" => return None,
        "/v1/check" | "/v1/search" | CHANGES_PATH | FEEDBACK_PATH => Role::Query,
        SCREEN_PATH => Role::Screen,
        "/metrics" | STATS_PATH | AUDIT_PATH => Role::Operator,
        p if p.starts_with("/v1/subjects/") || p.starts_with("/v1/entries/") => {
            if reading {
                Role::Query
            } else {
                Role::Publish
            }
        }
        _ => return None,
    })
}

/// A refused request: its code (which sets the status) and message.
pub(super) struct Refusal(pub(super) Code, pub(super) String);

impl Refusal {
    /// A refusal with `code` (its status from [`Code`]) and `message`.
    pub(super) fn new(code: Code, message: impl Into<String>) -> Refusal {
        Refusal(code, message.into())
    }
}

pub(super) type Answer = Result<Reply, Refusal>;

const CHECK_PARAMS: [&str; 4] = ["id", "action", "at", "name"];
const SUBJECT_PARAMS: [&str; 1] = ["at"];
const SEARCH_PARAMS: [&str; 5] = ["q", "kind", "limit", "id_prefix", "born"];
const SCREEN_PARAMS: [&str; 6] = ["action", "at", "format", "encoding", "output", "min_score"];

/// The screening route's path.
const SCREEN_PATH: &str = "/v1/screen";
/// Execution feedback.
const FEEDBACK_PATH: &str = "/v1/feedback";
/// Statistics.
const STATS_PATH: &str = "/v1/stats";
/// The audit log.
const AUDIT_PATH: &str = "/v1/audit";
/// The change feed's path.
const CHANGES_PATH: &str = "/v1/changes";

impl Api {
    /// Serves `engine` to everyone, unaudited, with the default limits.
    pub fn new(engine: Engine) -> Api {
        Api::with_options(Arc::new(engine), ApiOptions::default())
    }

    /// Serves `engine` as `options` say.
    pub fn with_options(engine: Arc<Engine>, options: ApiOptions) -> Api {
        Api {
            engine,
            metrics: Arc::default(),
            started: Instant::now(),
            day_clock: options.clock,
            screen_limits: options.screen_limits,
            keys: options.keys,
            audit: options.audit,
            disk: Arc::new(DiskReaders::start(READERS)),
        }
    }

    /// Records an audited request.
    fn audit(&self, caller: &Caller, fields: Fields) {
        caller.audit(self.audit.as_deref(), fields);
    }

    /// Who asks, or the 401 that says why the credentials are refused.
    fn caller(&self, req: &Request<Incoming>) -> Result<Caller, Box<Reply>> {
        let Some(keys) = &self.keys else {
            return Ok(Caller { key: None });
        };
        let header = req.headers().get(AUTHORIZATION).map(HeaderValue::as_bytes);
        match keys.load().authenticate(header) {
            Ok(key) => Ok(Caller { key: Some(key) }),
            Err(e) => {
                let mut res = error_reply(Code::Unauthorized, &e.to_string());
                res.headers_mut().insert(
                    WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"creditgate\""),
                );
                Err(Box::new(res))
            }
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

    /// Routes `req`; `today` is the default date of an answer. A check
    /// may be answered later ([`Api::check`]).
    fn route(
        &self,
        req: &Request<Incoming>,
        today: Date,
        caller: &Caller,
        started: Instant,
    ) -> (Route, Result<Handled, Refusal>) {
        let path = req.uri().path();
        let (route, methods_ok) = match path {
            "/v1/check" => (Route::Check, true),
            CHANGES_PATH => (Route::Changes, true),
            "/v1/search" => (Route::Search, true),
            "/healthz" => (Route::Healthz, true),
            "/metrics" => (Route::Metrics, true),
            STATS_PATH | AUDIT_PATH => (Route::Oversight, true),
            p if p.starts_with("/v1/subjects/") => (Route::Subject, true),
            _ => (Route::Other, false),
        };
        if !methods_ok {
            return (
                route,
                Err(Refusal::new(
                    Code::NotFound,
                    format!(
                        "no such route {path:?}; the routes are /v1/check, /v1/search, /v1/screen, /v1/subjects/{{id}}, /v1/entries/{{entry_id}}, /v1/changes, /v1/feedback, /v1/stats, /v1/audit, /healthz and /metrics"
                    ),
                )),
            );
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            return (
                route,
                Err(Refusal::new(
                    Code::MethodNotAllowed,
                    format!("{} {path} is not supported; use GET", req.method()),
                )),
            );
        }
        let query = match Query::parse(req.uri().query()) {
            Ok(q) => q,
            Err(e) => return (route, Err(Refusal::new(Code::BadQuery, e.to_string()))),
        };
        let answer = match route {
            Route::Check => return (route, self.check(&query, today, caller, started)),
            Route::Search => self.search(&query, caller),
            Route::Subject => self.subject(&path["/v1/subjects/".len()..], &query, today, caller),
            Route::Healthz => Ok(self.healthz()),
            Route::Metrics => Ok(self.render_metrics()),
            Route::Screen
            | Route::Changes
            | Route::Entry
            | Route::Write
            | Route::Oversight
            | Route::Other => unreachable!("routed elsewhere or refused above"),
        };
        (route, answer.map(Handled::Now))
    }

    /// Answers a check from memory, or hands it to a disk reader when its
    /// entries or record are not in the block cache ([`super::disk`]).
    fn check(
        &self,
        q: &Query<'_>,
        today: Date,
        caller: &Caller,
        started: Instant,
    ) -> Result<Handled, Refusal> {
        refuse_unknown(q, &CHECK_PARAMS)?;
        let id = required(q, "id")?;
        let readings = SubjectKey::parse_readings_at(id, today)
            .map_err(|e| Refusal::new(Code::InvalidId, format!("parameter \"id\": {e}")))?;
        let key = self.engine.pick_reading(readings);
        let name = q.get("name");
        // The probe's memory reads overlap the parsing of the other parameters.
        self.engine.prefetch(key, name.is_some());
        let action = self.action(required(q, "action")?)?;
        caller.may_ask(&self.engine.catalog().action(action).code)?;
        let at = date_param(q, today)?;
        let mut body = Vec::with_capacity(1024);
        match self
            .engine
            .check_json(key, action, at, name, Reach::Memory, &mut body)
        {
            Ok(verdict) => Ok(Handled::Now(checked(
                caller,
                self.audit.as_deref(),
                key,
                action,
                verdict,
                body,
            ))),
            Err(StoreError::NotInMemory) => Ok(self.check_from_disk(
                caller.clone(),
                (key, action, at, name.map(str::to_owned)),
                body,
                started,
            )),
            Err(e) => Err(store_failed(e)),
        }
    }

    /// Finishes a check on a disk reader ([`super::disk`]), `body` as the
    /// memory-only attempt left it; the answer is recorded when it is sent.
    fn check_from_disk(
        &self,
        caller: Caller,
        (key, action, at, name): (SubjectKey, ActionId, Date, Option<String>),
        mut body: Vec<u8>,
        started: Instant,
    ) -> Handled {
        self.metrics.checked_from_disk();
        let (engine, metrics, audit, disk) = (
            self.engine.clone(),
            self.metrics.clone(),
            self.audit.clone(),
            self.disk.clone(),
        );
        Handled::Later(Box::pin(async move {
            let read = disk
                .run(move || {
                    engine
                        .check_json(key, action, at, name.as_deref(), Reach::Disk, &mut body)
                        .map(|verdict| (verdict, body))
                })
                .await;
            let res = match read {
                Some(Ok((verdict, body))) => {
                    checked(&caller, audit.as_deref(), key, action, verdict, body)
                }
                Some(Err(e)) => refused(store_failed(e), ""),
                None => {
                    metrics.panicked();
                    refused(internal("the check"), "")
                }
            };
            metrics.record(Route::Check, res.status().as_u16(), started.elapsed());
            res
        }))
    }

    fn search(&self, q: &Query<'_>, caller: &Caller) -> Answer {
        refuse_unknown(q, &SEARCH_PARAMS)?;
        let text = required(q, "q")?;
        let kind = optional(q, "kind", search::parse_kind)?;
        let limit = optional(q, "limit", search::parse_limit)?.unwrap_or(search::DEFAULT_LIMIT);
        let id_prefix = optional(q, "id_prefix", search::parse_id_prefix)?;
        let born = q
            .get("born")
            .map(|b| b.trim().parse::<Date>())
            .transpose()
            .map_err(|e| Refusal::new(Code::InvalidDate, format!("parameter \"born\": {e}")))?;
        let query = SearchQuery {
            text,
            kind,
            limit,
            id_prefix,
            born,
            mask: None,
            min_score: 0.0,
        };
        let results = self
            .engine
            .search(&query)
            .map_err(|e| Refusal::new(Code::InvalidParameter, format!("parameter \"q\": {e}")))?;
        self.audit(
            caller,
            Fields {
                event: Event::Search,
                action: None,
                outcome: Outcome::None,
                subject: results.first().map(|h| h.key),
                status: 200,
            },
        );
        Ok(json_ok(
            &serde_json::json!({ "results": caller.shown(&results) }),
        ))
    }

    /// Reads a screening's parameters; the work starts in
    /// [`super::screen::start`].
    fn screen_request(
        &self,
        req: &Request<Incoming>,
        today: Date,
    ) -> Result<ScreenRequest, Refusal> {
        if req.method() != Method::POST {
            return Err(Refusal::new(
                Code::MethodNotAllowed,
                format!(
                    "{} {SCREEN_PATH} is not supported; POST the rows as the body",
                    req.method()
                ),
            ));
        }
        let q = Query::parse(req.uri().query())
            .map_err(|e| Refusal::new(Code::BadQuery, e.to_string()))?;
        refuse_unknown(&q, &SCREEN_PARAMS)?;
        let (hinted_format, hinted_encoding) = super::screen::content_type_hints(req)
            .map_err(|e| Refusal::new(Code::InvalidHeader, e))?;
        let output = optional(&q, "output", Format::parse)?.unwrap_or_else(|| {
            if super::screen::accepts_csv(req) {
                Format::Csv
            } else {
                Format::Ndjson
            }
        });
        Ok(ScreenRequest {
            action: self.action(required(&q, "action")?)?,
            at: date_param(&q, today)?,
            format: optional(&q, "format", Format::parse)?.or(hinted_format),
            encoding: optional(&q, "encoding", parse_encoding)?.or(hinted_encoding),
            output,
            min_score: optional(&q, "min_score", parse_score)?.unwrap_or(DEFAULT_MIN_SCORE),
        })
    }

    fn subject(&self, raw_id: &str, q: &Query<'_>, today: Date, caller: &Caller) -> Answer {
        refuse_unknown(q, &SUBJECT_PARAMS)?;
        let id = decode_path_segment(raw_id).ok_or_else(|| {
            Refusal::new(
                Code::InvalidId,
                "path identifier: not valid percent-encoded UTF-8",
            )
        })?;
        let key = SubjectKey::parse(&id)
            .map_err(|e| Refusal::new(Code::InvalidId, format!("path identifier: {e}")))?;
        let at = date_param(q, today)?;
        let answer = self.engine.show(key, at).map_err(store_failed)?;
        if !answer.known {
            return Err(Refusal::new(
                Code::UnknownSubject,
                format!("the platform has no record of {key}"),
            ));
        }
        self.audit(
            caller,
            Fields {
                event: Event::Read,
                action: None,
                outcome: Outcome::None,
                subject: Some(key),
                status: 200,
            },
        );
        Ok(json_ok(&caller.shown(&answer)))
    }

    fn healthz(&self) -> Reply {
        let body = serde_json::json!({
            "status": "ok",
            "flagged_subjects": self.engine.snapshot().flagged(),
            "uptime_seconds": self.started.elapsed().as_secs(),
        });
        json_reply(
            StatusCode::OK,
            serde_json::to_vec(&body).unwrap_or_default(),
        )
    }

    fn render_metrics(&self) -> Reply {
        let snapshot = self.engine.snapshot();
        let names = self.engine.names();
        let figures = EngineFigures {
            flagged_subjects: snapshot.flagged() as u64,
            status_index_bytes: snapshot.base_status().heap_bytes() as u64,
            known_subjects: snapshot.known() as u64,
            known_set_bytes: snapshot.base_known().heap_bytes() as u64,
            live_overlay_subjects: snapshot.overlay_len() as u64,
            indexed_names: names.name_count() as u64,
            name_index_bytes: names.bytes() as u64,
            name_delta_subjects: names.delta_subjects() as u64,
            store: self.engine.store().figures(),
            uptime_seconds: self.started.elapsed().as_secs_f64(),
        };
        let mut res = json_reply(StatusCode::OK, self.metrics.render(&figures));
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        );
        res
    }

    fn action(&self, code: &str) -> Result<ActionId, Refusal> {
        let catalog = self.engine.catalog();
        catalog.action_by_code(code.trim()).ok_or_else(|| {
            Refusal::new(
                Code::UnknownAction,
                format!(
                    "parameter \"action\": unknown action {code:?}; the catalog has: {}",
                    catalog.action_codes().join(", ")
                ),
            )
        })
    }
}

/// The reply to a check whose answer `body` holds, masked for `caller` and
/// audited.
fn checked(
    caller: &Caller,
    audit: Option<&AuditLog>,
    key: SubjectKey,
    action: ActionId,
    verdict: crate::decide::Verdict,
    mut body: Vec<u8>,
) -> Reply {
    if caller.masks() && key.kind() == crate::id::SubjectKind::Person {
        mask_answer_id(&mut body);
    }
    caller.audit(
        audit,
        Fields {
            event: Event::Check,
            action: Some(action),
            outcome: verdict.into(),
            subject: Some(key),
            status: 200,
        },
    );
    json_reply(StatusCode::OK, body)
}

/// Masks the identity number a check answer starts with
/// (`{"id":"360102199003031234",…`): the answer is written without serde,
/// and this is the only personal datum in it (a `via` names organizations).
fn mask_answer_id(body: &mut [u8]) {
    const AT: usize = b"{\"id\":\"".len();
    if body.len() >= AT + 18 && body.starts_with(b"{\"id\":\"") {
        body[AT + 6..AT + 14].fill(b'*');
    }
}

/// Runs `work` on the blocking pool at nice 10
/// ([`crate::priority::yield_to_requests`]: writes, feed reads and
/// statistics yield to the checks on the runtime workers); a panic in it
/// is a 500 saying that `what` failed (the panic itself is on stderr).
pub(super) async fn blocking<T: Send + 'static>(
    what: &'static str,
    work: impl FnOnce() -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(move || {
        crate::priority::yield_to_requests();
        work()
    })
    .await
    .unwrap_or_else(|_| Err(internal(what)))
}

/// The 500 for work (`what`) that panicked; the panic itself is on stderr.
pub(super) fn internal(what: &str) -> Refusal {
    Refusal::new(Code::Internal, format!("{what} failed; it has been logged"))
}

pub(super) fn json_ok<T: serde::Serialize>(value: &T) -> Reply {
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

pub(super) fn store_failed(e: crate::store::StoreError) -> Refusal {
    let code = Code::StoreError;
    Refusal::new(code, code.logged("the store", &e))
}

pub(super) fn required<'q>(q: &'q Query<'_>, name: &'static str) -> Result<&'q str, Refusal> {
    match q.get(name) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        Some(_) => Err(Refusal::new(
            Code::MissingParameter,
            format!("parameter {name:?} is empty"),
        )),
        None => Err(Refusal::new(
            Code::MissingParameter,
            format!("parameter {name:?} is required"),
        )),
    }
}

/// An optional parameter read by `parse`; its error is an `invalid_parameter`
/// naming the parameter.
pub(super) fn optional<'q, T>(
    q: &'q Query<'_>,
    name: &str,
    parse: impl FnOnce(&'q str) -> Result<T, String>,
) -> Result<Option<T>, Refusal> {
    q.get(name)
        .map(parse)
        .transpose()
        .map_err(|e| Refusal::new(Code::InvalidParameter, format!("parameter {name:?}: {e}")))
}

pub(super) fn date_param(q: &Query<'_>, today: Date) -> Result<Date, Refusal> {
    match q.get("at") {
        None => Ok(today),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e| Refusal::new(Code::InvalidDate, format!("parameter \"at\": {e}"))),
    }
}

pub(super) fn refuse_unknown(q: &Query<'_>, known: &[&str]) -> Result<(), Refusal> {
    match q.unknown(known).next() {
        None => Ok(()),
        Some(name) => Err(Refusal::new(
            Code::UnknownParameter,
            format!(
                "unknown parameter {name:?}; this route takes: {}",
                known.join(", ")
            ),
        )),
    }
}

pub(super) fn refused(Refusal(code, message): Refusal, allow: &'static str) -> Reply {
    let mut res = error_reply(code, &message);
    if code == Code::MethodNotAllowed {
        res.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
    }
    res
}

impl Handler for Api {
    fn handle(&self, req: Request<Incoming>) -> Handled {
        let started = Instant::now();
        let today = self.day_clock.today(started);
        // Load balancers ask /healthz without a key.
        let caller = match self.caller(&req) {
            _ if req.uri().path() == "/healthz" => Caller { key: None },
            Ok(c) => c,
            Err(res) => {
                self.metrics
                    .record(Route::Other, res.status().as_u16(), started.elapsed());
                return Handled::Now(*res);
            }
        };
        let path = req.uri().path();
        if let Some(role) = needed_role(req.method(), path)
            && let Err(refusal) = caller.may(role, req.method(), path)
        {
            let res = refused(refusal, "");
            self.metrics
                .record(Route::Other, res.status().as_u16(), started.elapsed());
            return Handled::Now(res);
        }
        if path == CHANGES_PATH && (req.method() == Method::GET || req.method() == Method::HEAD) {
            let query = req.uri().query();
            return super::feed::start(
                self.engine.clone(),
                self.metrics.clone(),
                query,
                today,
                started,
                caller,
            );
        }
        if let Some(routed) = super::lifecycle::route(req.method(), path) {
            return match routed {
                Ok(route) => super::lifecycle::start(
                    super::lifecycle::Served {
                        engine: self.engine.clone(),
                        metrics: self.metrics.clone(),
                        audit: self.audit.clone(),
                        caller,
                    },
                    req,
                    route,
                    today,
                    started,
                ),
                Err(refusal) => {
                    // A lifecycle step and feedback take POST; an entry or
                    // subject GET or PUT.
                    let allow = if path == FEEDBACK_PATH
                        || (path.starts_with("/v1/entries/") && path.matches('/').count() > 3)
                    {
                        "POST"
                    } else {
                        "GET, HEAD, PUT"
                    };
                    let res = refused(refusal, allow);
                    self.metrics
                        .record(Route::Write, res.status().as_u16(), started.elapsed());
                    Handled::Now(res)
                }
            };
        }
        if (path == STATS_PATH || path == AUDIT_PATH)
            && (req.method() == Method::GET || req.method() == Method::HEAD)
        {
            return super::oversight::start(
                self.engine.clone(),
                self.metrics.clone(),
                self.audit.clone(),
                &req,
                today,
                started,
                caller,
            );
        }
        if req.uri().path() == SCREEN_PATH {
            return match self.screen_request(&req, today).and_then(|asked| {
                caller.may_ask(&self.engine.catalog().action(asked.action).code)?;
                Ok(asked)
            }) {
                Ok(asked) => super::screen::start(
                    self.engine.clone(),
                    self.metrics.clone(),
                    &self.screen_limits,
                    req,
                    asked,
                    crate::screen::Oversight {
                        audit: self.audit.clone(),
                        key: caller.audit_key(),
                        mask: caller.masks(),
                    },
                ),
                Err(refusal) => {
                    let res = refused(refusal, "POST");
                    self.metrics
                        .record(Route::Screen, res.status().as_u16(), started.elapsed());
                    Handled::Now(res)
                }
            };
        }
        let (route, answer) = self.route(&req, today, &caller, started);
        let allow = if route == Route::Subject {
            "GET, HEAD, PUT"
        } else {
            "GET, HEAD"
        };
        let res = match answer {
            // Recorded when it is answered.
            Ok(later @ Handled::Later(_)) => return later,
            Ok(Handled::Now(res)) => res,
            Err(r) => refused(r, allow),
        };
        self.metrics
            .record(route, res.status().as_u16(), started.elapsed());
        Handled::Now(res)
    }

    fn max_body(&self, req: &Request<Incoming>) -> Option<u64> {
        let path = req.uri().path();
        if path == SCREEN_PATH {
            Some(self.screen_limits.max_body_bytes)
        } else if super::lifecycle::route(req.method(), path).is_some() {
            Some(super::lifecycle::MAX_WRITE_BODY as u64)
        } else {
            None
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
    fn handle(&self, _req: Request<Incoming>) -> Handled {
        Handled::Now(json_reply(
            StatusCode::OK,
            Bytes::from_static(CONSTANT_BODY),
        ))
    }
}
