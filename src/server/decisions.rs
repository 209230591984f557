//! Decisions that demand feedback, over HTTP (执行反馈).
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `GET /v1/decisions/{decision_id}` | | the decision, the answer it gave, its feedback and due day |
//! | `POST /v1/decisions/{decision_id}/feedback` | `{"outcome":"applied"\|"not_applied","reason"?}` | records what the implementer did |
//!
//! A deny or caution on an action the catalog marks with `feedback_days`
//! carries a `decision_id` and a `feedback_due` day ([`super::reads`]).
//! The key that asked, another key of its department, or an operator may
//! read the decision; the key that asked or its department reports on it.
//! `not_applied` needs a `reason`. The first report stands: the same report
//! again is answered `200` with what is stored, a different one `409`.
//! Feedback after the due day is recorded and counted late
//! (`GET /v1/stats`, `feedback`). The decision keeps the check's request
//! id and the feedback's, so `GET /v1/audit?request=` finds either record.
//!
//! Decisions are kept by the node that answered the check, a replica
//! included, and their feedback goes to that node.

use std::sync::Arc;

use hyper::Request;
use hyper::StatusCode;
use hyper::body::Incoming;
use serde::Deserialize;
use serde_json::json;

use super::errors::{Code, Refusal, store_failed};
use super::lifecycle::{object, read_body, record, text};
use super::query::parse_query;
use super::routes::Decisions as Endpoint;
use super::served::{Caller, Served, blocking};
use super::{Handled, json_ok, json_reply};
use crate::access::Role;
use crate::audit::{Detail, Event, Fields, Outcome};
use crate::date::Date;
use crate::store::decisions::{Decision, DecisionFeedback};

fn unknown(id: &str) -> Refusal {
    Refusal::new(
        Code::UnknownDecision,
        format!(
            "no decision {id:?} (a decision is visible to the key that asked, its department and operators)"
        ),
    )
}

/// Whether the caller may see (`report`: report on) the decision.
fn may(caller: &Caller, d: &Decision, report: bool) -> bool {
    match &caller.key {
        None => true,
        Some(k) => {
            d.key.as_deref() == Some(k.id.as_str())
                || k.department == d.department
                || (!report && k.has(Role::Operator))
        }
    }
}

fn out(d: &Decision) -> serde_json::Value {
    let answer: serde_json::Value = serde_json::from_str(&d.answer).unwrap_or_default();
    json!({
        "decision_id": d.id,
        "request_id": d.request,
        "key": d.key,
        "department": d.department,
        "action": d.action,
        "subject_id": d.subject,
        "decision": d.decision,
        "time": Date::cst_timestamp(d.at_ms),
        "feedback_due": Date::from_days(d.due_day),
        "answer": answer,
        "feedback": d.feedback.as_ref().map(|f| json!({
            "outcome": f.outcome,
            "reason": f.reason,
            "key": f.key,
            "request_id": f.request,
            "recorded": Date::cst_timestamp(f.recorded_ms),
            "late": f.late,
        })),
    })
}

/// The body of a feedback report.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    outcome: Applied,
    reason: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum Applied {
    Applied,
    NotApplied,
}

impl Applied {
    fn as_str(self) -> &'static str {
        match self {
            Applied::Applied => "applied",
            Applied::NotApplied => "not_applied",
        }
    }
}

/// Answers a decision route.
pub(super) fn start(
    served: Served,
    req: Request<Incoming>,
    endpoint: Endpoint,
    raw_id: &str,
) -> Handled {
    let id = match super::lifecycle::decode(raw_id) {
        Ok(id) => id,
        Err(r) => return served.now(Err(r)),
    };
    if let Err(r) = parse_query(req.uri().query(), &[]) {
        return served.now(Err(r));
    }
    let inner = Arc::new(served.detach());
    served.later(async move {
        match endpoint {
            Endpoint::Get => {
                let s = inner.clone();
                blocking("reading the decision", move || {
                    let d = s.engine.store().decision(&id).map_err(store_failed)?;
                    match d {
                        Some(d) if may(&s.caller, &d, false) => {
                            Ok(json_ok(&s.caller.shown(&out(&d))))
                        }
                        _ => Err(unknown(&id)),
                    }
                })
                .await
            }
            Endpoint::Feedback => {
                let body = read_body(req.into_body()).await?;
                let s = inner.clone();
                blocking("recording the feedback", move || feedback(&s, &id, &body)).await
            }
        }
    })
}

fn feedback(served: &Served, id: &str, body: &[u8]) -> Result<super::Reply, Refusal> {
    let b: FeedbackBody = record(object(body)?, "")?;
    let reason = b.reason.as_deref().map(|r| text("reason", r)).transpose()?;
    if b.outcome == Applied::NotApplied && reason.is_none() {
        return Err(Refusal::new(
            Code::InvalidBody,
            "field \"reason\": required when the outcome is not_applied (say why the measure was not applied)",
        ));
    }
    let store = served.engine.store();
    let stored = store.decision(id).map_err(store_failed)?;
    let Some(d) = stored.filter(|d| may(&served.caller, d, true)) else {
        return Err(unknown(id));
    };
    let now = crate::date::epoch_ms();
    let report = DecisionFeedback {
        outcome: b.outcome.as_str().to_string(),
        reason,
        key: served.caller.key.as_ref().map(|k| k.id.clone()),
        request: served.caller.request.to_string(),
        recorded_ms: now,
        late: served.today.days() > d.due_day,
    };
    let (d, new) = store
        .set_decision_feedback(id, report.clone())
        .map_err(store_failed)?
        .ok_or_else(|| unknown(id))?;
    let first = d
        .feedback
        .as_ref()
        .expect("set_decision_feedback keeps feedback");
    if !new && (first.outcome != report.outcome || first.reason != report.reason) {
        return Err(Refusal::new(
            Code::Conflict,
            format!(
                "decision {id:?} already has feedback {:?}, recorded {}; the first report stands",
                first.outcome,
                Date::cst_timestamp(first.recorded_ms)
            ),
        ));
    }
    if new {
        let action = served.engine.catalog().action_by_code(&d.action);
        served.audit_fields(Fields {
            event: Event::Feedback,
            action,
            outcome: Outcome::None,
            subject: crate::id::SubjectKey::parse(&d.subject).ok(),
            status: 201,
            detail: Detail::None,
        });
    }
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(json_reply(
        status,
        serde_json::to_vec(&served.caller.shown(&out(&d))).unwrap_or_default(),
    ))
}
