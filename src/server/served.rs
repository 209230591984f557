//! What a routed request is served with: who asks ([`Caller`]) and the
//! engine, counters, audit log, date and route it is answered under
//! ([`Served`]). The dispatcher ([`super::api`]) builds one per request and
//! hands it to the endpoint's module; endpoints import this module, never
//! the dispatcher.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use hyper::Method;

use super::errors::{Code, Refusal, internal};
use super::metrics::{Metrics, Route};
use super::request_id::RequestId;
use super::{Handled, Reply};
use crate::access::{Key, Role};
use crate::audit::{AuditLog, Detail, Event, Fields, KEY_ID_BYTES, Outcome, RefusedFor};
use crate::date::Date;
use crate::engine::Engine;
use crate::id::SubjectKey;

/// Who is asking: their key and its limiter (none on an open server).
#[derive(Clone, Default)]
pub(super) struct Caller {
    /// The request asking (kept in its audit records).
    pub(super) request: RequestId,
    pub(super) key: Option<Arc<Key>>,
    pub(super) limiter: Option<Arc<crate::rate::Limiter>>,
}

impl Caller {
    /// Whether personal data in answers must be masked.
    pub(super) fn masks(&self) -> bool {
        self.key.as_ref().is_some_and(|k| !k.sees_personal())
    }

    /// Records `fields` under this caller's key, now (when there is a log).
    pub(super) fn audit(&self, log: Option<&AuditLog>, fields: Fields) {
        if let Some(log) = log {
            log.record(fields.stamped(self.audit_key(), self.request.get()));
        }
    }

    /// The key id as audit records keep it.
    pub(super) fn audit_key(&self) -> [u8; KEY_ID_BYTES] {
        self.key
            .as_ref()
            .map_or([0; KEY_ID_BYTES], |k| crate::audit::key_bytes(&k.id))
    }

    /// The caller as refusals name it (`key 0123456789ab (民航局)`).
    pub(super) fn who_asks(&self) -> String {
        self.key
            .as_deref()
            .map_or_else(|| "an open server's caller".into(), Self::who)
    }

    fn who(key: &Key) -> String {
        format!("key {} ({})", key.id, key.department)
    }

    /// Refuses a role the key lacks for `method path` (named in the refusal
    /// only: nothing is formatted for a call that is allowed).
    pub(super) fn may(&self, role: Role, method: &Method, path: &str) -> Result<(), Refusal> {
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
            )
            .audited(RefusedFor::Role)),
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
            )
            .audited(RefusedFor::Action)),
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
            )
            .audited(RefusedFor::Authority)),
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

/// A routed request's surroundings: borrowed from the handler while a
/// request is answered on the worker that read it (no reference count
/// touched on the hot path), owned ([`Served::detach`]) by an answer that
/// comes later.
#[derive(Clone)]
pub(super) struct Served<'a> {
    /// The engine.
    pub(super) engine: Cow<'a, Arc<Engine>>,
    /// The counters.
    pub(super) metrics: Cow<'a, Arc<Metrics>>,
    /// The audit log, when kept.
    pub(super) audit: Cow<'a, Option<Arc<AuditLog>>>,
    /// Who asks.
    pub(super) caller: Caller,
    /// The default date of an answer.
    pub(super) today: Date,
    /// When the request arrived.
    pub(super) started: Instant,
    /// The label it is counted under (from the route table).
    pub(super) metric: Route,
    /// The route, for the audit of refusals.
    pub(super) row: &'static super::routes::Row,
}

impl Served<'_> {
    /// The same surroundings, owned: for an answer that outlives the
    /// handler's call.
    pub(super) fn detach(&self) -> Served<'static> {
        Served {
            engine: Cow::Owned(Arc::clone(&self.engine)),
            metrics: Cow::Owned(Arc::clone(&self.metrics)),
            audit: Cow::Owned(self.audit.as_ref().clone()),
            caller: self.caller.clone(),
            today: self.today,
            started: self.started,
            metric: self.metric,
            row: self.row,
        }
    }

    /// Records an audited request with no action or decision.
    pub(super) fn audit(&self, event: Event, subject: Option<SubjectKey>, status: u16) {
        self.audit_fields(Fields {
            event,
            action: None,
            outcome: Outcome::None,
            subject,
            status,
            detail: crate::audit::Detail::None,
        });
    }

    /// Records an audited request.
    pub(super) fn audit_fields(&self, fields: Fields) {
        self.caller.audit(self.audit.as_deref(), fields);
    }

    /// Counts `res` under the route and sends it.
    pub(super) fn done(&self, res: Reply) -> Reply {
        self.metrics
            .record(self.metric, res.status().as_u16(), self.started.elapsed());
        res
    }

    /// The reply, or the refusal's error reply (audited when it refuses the
    /// caller's credentials, rights or rate).
    fn settle(&self, answer: Result<Reply, Refusal>) -> Reply {
        match answer {
            Ok(reply) => reply,
            Err(refusal) => {
                if let Some(reason) = refusal.2 {
                    self.audit_fields(Fields {
                        event: Event::Refused,
                        action: None,
                        outcome: Outcome::None,
                        subject: None,
                        status: refusal.0.status().as_u16(),
                        detail: Detail::Refused {
                            route: super::routes::number(self.row),
                            reason,
                        },
                    });
                }
                refusal.reply()
            }
        }
    }

    /// Answers now: the reply, or the refusal's error reply; counted.
    pub(super) fn now(&self, answer: Result<Reply, Refusal>) -> Handled {
        Handled::Now(self.done(self.settle(answer)))
    }

    /// Answers once `answer` completes; counted then.
    pub(super) fn later(
        &self,
        answer: impl Future<Output = Result<Reply, Refusal>> + Send + 'static,
    ) -> Handled {
        let served = self.detach();
        Handled::Later(Box::pin(async move {
            let res = served.settle(answer.await);
            served.done(res)
        }))
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
