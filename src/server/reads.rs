//! The reads of SPEC §6 that need no body: `GET /v1/check`,
//! `GET /v1/search`, `GET /v1/subjects/{id}`, `GET /healthz` and
//! `GET /metrics`.
//!
//! A check is the hot path: answered on the runtime worker from memory, or
//! handed to a disk reader ([`super::disk`]) when its entries or record are
//! not in the block cache.

use std::sync::Arc;
use std::time::Instant;

use hyper::StatusCode;
use hyper::header::{CONTENT_TYPE, HeaderValue};

use super::api::Node;
use super::disk::DiskReaders;
use super::errors::{Answer, Code, Refusal, internal, store_failed};
use super::metrics::EngineFigures;
use super::query::{Query, date_param, decode_path_segment, optional, parse_query, required};
use super::served::{Served, blocking};
use super::{Handled, Reply, json_ok, json_reply};
use crate::audit::{Detail, Event, Fields, Outcome};
use crate::catalog::ActionId;
use crate::date::Date;
use crate::engine::{Answered, Engine};
use crate::id::SubjectKey;
use crate::search::{self, SearchQuery};
use crate::store::{Reach, StoreError};

/// The query parameters of `/v1/check`.
pub(super) const CHECK_PARAMS: [&str; 4] = ["id", "action", "at", "name"];
/// The query parameters of `GET /v1/subjects/{id}`.
pub(super) const SUBJECT_PARAMS: [&str; 1] = ["at"];
/// The query parameters of `/v1/search`.
pub(super) const SEARCH_PARAMS: [&str; 5] = ["q", "kind", "limit", "id_prefix", "born"];

/// The action named by `code`, or the 400 that lists the catalog's.
pub(super) fn action(engine: &Engine, code: &str) -> Result<ActionId, Refusal> {
    let catalog = engine.catalog();
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

/// Answers `GET /v1/check` from memory, or hands it to a disk reader.
pub(super) fn check(served: Served, disk: &Arc<DiskReaders>, query: Option<&str>) -> Handled {
    match check_in_memory(&served, query) {
        Ok(Checked::Answered(res)) => served.now(Ok(res)),
        Ok(Checked::OnDisk(asked, body)) => check_from_disk(served, disk, asked, body),
        Err(r) => served.now(Err(r)),
    }
}

/// A check's subject, action, date and name.
type Asked = (SubjectKey, ActionId, Date, Option<String>);

enum Checked {
    Answered(Reply),
    /// Not in memory: to finish on disk, with the body as far as written.
    OnDisk(Asked, Vec<u8>),
}

fn check_in_memory(served: &Served, query: Option<&str>) -> Result<Checked, Refusal> {
    let q = parse_query(query, &CHECK_PARAMS)?;
    let engine = &served.engine;
    let id = required(&q, "id")?;
    let readings = SubjectKey::parse_readings_at(id, served.today)
        .map_err(|e| Refusal::new(Code::InvalidId, format!("parameter \"id\": {e}")))?;
    let key = engine.pick_reading(readings);
    let name = q.get("name");
    // The probe's memory reads overlap the parsing of the other parameters.
    engine.prefetch(key, name.is_some());
    let action = action(engine, required(&q, "action")?)?;
    served
        .caller
        .may_ask(&engine.catalog().action(action).code)?;
    let at = date_param(&q, served.today)?;
    let mut body = Vec::with_capacity(1024);
    match engine.check_json(key, action, at, name, Reach::Memory, &mut body) {
        Ok(answered) => Ok(Checked::Answered(checked(
            served, key, action, answered, body,
        ))),
        Err(StoreError::NotInMemory) => Ok(Checked::OnDisk(
            (key, action, at, name.map(str::to_owned)),
            body,
        )),
        Err(e) => Err(store_failed(e)),
    }
}

/// Finishes a check on a disk reader ([`super::disk`]), `body` as the
/// memory-only attempt left it; the answer is counted when it is sent.
fn check_from_disk(
    served: Served,
    disk: &Arc<DiskReaders>,
    (key, action, at, name): Asked,
    mut body: Vec<u8>,
) -> Handled {
    served.metrics.checked_from_disk();
    let (engine, disk) = (Arc::clone(&served.engine), disk.clone());
    let metrics = Arc::clone(&served.metrics);
    let finished = served.detach();
    served.later(async move {
        let read = disk.run(move || {
            engine
                .check_json(key, action, at, name.as_deref(), Reach::Disk, &mut body)
                .map(|answered| (answered, body))
        });
        match read.await {
            Some(Ok((answered, body))) => Ok(checked(&finished, key, action, answered, body)),
            Some(Err(e)) => Err(store_failed(e)),
            None => {
                metrics.panicked();
                Err(internal("the check"))
            }
        }
    })
}

/// The reply to a check whose answer `body` holds, masked for the caller
/// and audited.
fn checked(
    served: &Served,
    key: SubjectKey,
    action: ActionId,
    answered: Answered,
    mut body: Vec<u8>,
) -> Reply {
    if served.caller.masks() && key.kind() == crate::id::SubjectKind::Person {
        crate::access::mask_answer_id(&mut body);
    }
    if answered.verdict != crate::decide::Verdict::Allow
        && let Some(days) = served.engine.catalog().action(action).feedback_days
    {
        demand_feedback(served, key, action, answered.verdict, days, &mut body);
    }
    served.audit_fields(Fields {
        event: Event::Check,
        action: Some(action),
        outcome: answered.verdict.into(),
        subject: Some(key),
        status: 200,
        detail: Detail::Check {
            unknown: !answered.known,
            named: answered.name_match.is_some(),
            name_mismatch: answered.name_match == Some(false),
        },
    });
    json_reply(StatusCode::OK, body)
}

/// Keeps a deny or caution on an action that demands feedback as a
/// decision ([`crate::store::decisions`]) and adds its `decision_id` and
/// `feedback_due` to the answer `body`. A decision that cannot be kept is
/// logged and answered without an id: the passenger's answer does not wait
/// on the bookkeeping.
fn demand_feedback(
    served: &Served,
    key: SubjectKey,
    action: ActionId,
    verdict: crate::decide::Verdict,
    days: u16,
    body: &mut Vec<u8>,
) {
    let engine = &served.engine;
    let code = &engine.catalog().action(action).code;
    let request = served.caller.request.to_string();
    let due = engine
        .calendar()
        .nth_working_day_after(served.today, u32::from(days));
    let id = format!("{request}-{code}");
    if body.last() != Some(&b'}') {
        return;
    }
    let decision = crate::store::decisions::Decision {
        id: id.clone(),
        request,
        key: served.caller.key.as_ref().map(|k| k.id.clone()),
        department: served
            .caller
            .key
            .as_ref()
            .map_or_else(|| "-".to_string(), |k| k.department.clone()),
        action: code.clone(),
        subject: key.to_string(),
        decision: Outcome::from(verdict).as_str().unwrap_or("?").to_string(),
        at_ms: crate::date::epoch_ms(),
        due_day: due.days(),
        answer: String::from_utf8_lossy(body).into_owned(),
        feedback: None,
    };
    match engine.store().put_decision(&decision) {
        Ok(()) => {
            body.pop();
            body.extend_from_slice(
                format!(",\"decision_id\":\"{id}\",\"feedback_due\":\"{due}\"}}").as_bytes(),
            );
        }
        Err(e) => {
            tracing::error!(decision = %id, error = %e, "a decision demanding feedback could not be kept")
        }
    }
}

/// Answers `GET /v1/search`.
pub(super) fn search(served: &Served, query: Option<&str>) -> Answer {
    let q = parse_query(query, &SEARCH_PARAMS)?;
    let text = required(&q, "q")?;
    let kind = optional(&q, "kind", search::parse_kind)?;
    let limit = optional(&q, "limit", search::parse_limit)?.unwrap_or(search::DEFAULT_LIMIT);
    let id_prefix = optional(&q, "id_prefix", search::parse_id_prefix)?;
    let born = q
        .get("born")
        .map(|b| b.trim().parse::<Date>())
        .transpose()
        .map_err(|e| Refusal::new(Code::InvalidDate, format!("parameter \"born\": {e}")))?;
    if served.caller.masks() {
        refuse_masked_filters(&served.caller, kind, id_prefix, born)?;
    }
    let query = SearchQuery {
        text,
        kind,
        limit,
        id_prefix,
        born,
        mask: None,
        min_score: 0.0,
        settle_only: false,
    };
    let results = served
        .engine
        .search(&query)
        .map_err(|e| Refusal::new(Code::InvalidParameter, format!("parameter \"q\": {e}")))?;
    served.audit_fields(Fields {
        event: Event::Search,
        action: None,
        outcome: Outcome::None,
        subject: results.first().map(|h| h.key),
        status: 200,
        detail: Detail::None,
    });
    Ok(json_ok(
        &serde_json::json!({ "results": served.caller.shown(&results) }),
    ))
}

/// Refuses, for a key that sees identity numbers masked, the search filters
/// that would test what masking hides: `born`, and an `id_prefix` reaching
/// past the division code (characters 7–14 are the birth date) unless only
/// organizations are asked for. Answering them would let a caller rebuild a
/// masked number a digit at a time.
fn refuse_masked_filters(
    caller: &super::served::Caller,
    kind: Option<crate::id::SubjectKind>,
    id_prefix: Option<&str>,
    born: Option<Date>,
) -> Result<(), Refusal> {
    let visible = crate::access::MASKED_ID_CHARS.start;
    let refuse = |what: String| {
        Refusal::new(
            Code::Forbidden,
            format!(
                "{what}; {} sees identity numbers masked and may not test their hidden characters",
                caller.who_asks()
            ),
        )
        .audited(crate::audit::RefusedFor::MaskedData)
    };
    if born.is_some() {
        return Err(refuse(
            "parameter \"born\" tests the birth date inside identity numbers".into(),
        ));
    }
    if let Some(prefix) = id_prefix
        && prefix.len() > visible
        && kind != Some(crate::id::SubjectKind::Org)
    {
        return Err(refuse(format!(
            "parameter \"id_prefix\" has {} characters and would test characters {}–{} of identity numbers (the birth date): give at most {visible}, or kind=org",
            prefix.len(),
            visible + 1,
            prefix.len().min(crate::access::MASKED_ID_CHARS.end)
        )));
    }
    Ok(())
}

/// Answers `GET /v1/subjects/{id}`; `raw_id` is still percent-encoded.
pub(super) fn subject(served: &Served, raw_id: &str, query: Option<&str>) -> Answer {
    let q: Query<'_> = parse_query(query, &SUBJECT_PARAMS)?;
    let id = decode_path_segment(raw_id).ok_or_else(|| {
        Refusal::new(
            Code::InvalidId,
            "path identifier: not valid percent-encoded UTF-8",
        )
    })?;
    let key = SubjectKey::parse(&id)
        .map_err(|e| Refusal::new(Code::InvalidId, format!("path identifier: {e}")))?;
    let at = date_param(&q, served.today)?;
    let answer = served.engine.show(key, at).map_err(store_failed)?;
    if !answer.known {
        return Err(Refusal::new(
            Code::UnknownSubject,
            format!("the platform has no record of {key}"),
        ));
    }
    served.audit(Event::Read, Some(key), 200);
    Ok(json_ok(&served.caller.shown(&answer)))
}

/// Answers `GET /healthz`; `up_since` is when the server started. On a
/// replicated node it says its role, the stream position applied and, on a
/// replica, how far it is behind and why following fails if it does.
pub(super) fn healthz(served: &Served, up_since: Instant, node: &Node) -> Reply {
    let store = served.engine.store();
    let mut body = serde_json::json!({
        "status": "ok",
        "flagged_subjects": served.engine.snapshot().flagged(),
        "uptime_seconds": up_since.elapsed().as_secs(),
        "next_change_seq": store.next_change_seq(),
    });
    match node {
        Node::Standalone => {}
        Node::Primary { stream } => {
            body["role"] = "primary".into();
            body["stream"] = stream.as_str().into();
            body["stream_position"] = store.stream_position().into();
        }
        Node::Replica { stream, status, .. } => {
            body["role"] = "replica".into();
            body["stream"] = stream.as_str().into();
            body["stream_position"] = store.stream_position().into();
            body["lag"] = status.lag().into();
            if let Some(e) = status.error() {
                body["status"] = "degraded".into();
                body["follow_error"] = e.into();
            }
        }
    }
    json_ok(&body)
}

/// Answers `GET /v1/digest`: the store's digest at one moment, to compare
/// nodes at the same stream position (a scan of the whole store, on the
/// blocking pool).
pub(super) fn digest(served: Served) -> Handled {
    let engine = Arc::clone(&served.engine);
    served.later(async move {
        blocking("computing the digest", move || {
            engine
                .store()
                .digest()
                .map(|d| json_ok(&d))
                .map_err(store_failed)
        })
        .await
    })
}

/// Answers `GET /metrics`; `up_since` is when the server started.
pub(super) fn metrics(
    served: &Served,
    up_since: Instant,
    node: &Node,
    watches: Option<&crate::watch::Watches>,
) -> Reply {
    let engine = &served.engine;
    let snapshot = engine.snapshot();
    let names = engine.names();
    let figures = EngineFigures {
        flagged_subjects: snapshot.flagged() as u64,
        status_index_bytes: snapshot.base_status().heap_bytes() as u64,
        known_subjects: snapshot.known() as u64,
        known_set_bytes: snapshot.base_known().heap_bytes() as u64,
        live_overlay_subjects: snapshot.overlay_len() as u64,
        indexed_names: names.name_count() as u64,
        name_index_bytes: names.bytes() as u64,
        name_delta_subjects: names.delta_subjects() as u64,
        store: engine.store().figures(),
        uptime_seconds: up_since.elapsed().as_secs_f64(),
    };
    let mut text = served.metrics.render(&figures);
    replication_figures(&mut text, engine, node);
    if let Some(watches) = watches {
        watches.render_metrics(&mut text);
    }
    let mut res = json_reply(StatusCode::OK, text);
    res.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}

/// Answers `POST /v1/snapshot`: writes a snapshot of the store (a
/// checkpoint and the saved indexes, `engine::write_snapshot`) into a new
/// directory under `dir`, named by its stream position and the time, and
/// says where. On the blocking pool; the server goes on answering.
pub(super) fn snapshot(served: Served, dir: Option<std::path::PathBuf>) -> Handled {
    let Some(dir) = dir else {
        return served.now(Err(Refusal::new(
            Code::SnapshotOff,
            "this server makes no snapshots: start it with --snapshot-dir DIR",
        )));
    };
    let engine = Arc::clone(&served.engine);
    served.later(async move {
        blocking("the snapshot", move || {
            let out = dir.join(format!("snapshot-{}", crate::date::epoch_ms()));
            let at = crate::backup::write(engine.store(), &out).map_err(store_failed)?;
            Ok(json_ok(&serde_json::json!({
                "path": out.display().to_string(),
                "stream_position": at.stream_position,
                "next_change_seq": at.next_change_seq,
            })))
        })
        .await
    })
}

/// The replication gauges: the stream position held and, on a replica, the
/// batches not applied yet and those applied since start.
fn replication_figures(out: &mut String, engine: &Engine, node: &Node) {
    use std::fmt::Write as _;
    let (role, lag, applied) = match node {
        Node::Standalone => return,
        Node::Primary { .. } => ("primary", None, None),
        Node::Replica { status, .. } => ("replica", Some(status.lag()), Some(status.batches())),
    };
    let _ = writeln!(
        out,
        "# HELP creditgate_stream_position The replicated log's position of the last batch this node holds.\n# TYPE creditgate_stream_position gauge\ncreditgate_stream_position{{role=\"{role}\"}} {}",
        engine.store().stream_position()
    );
    if let (Some(lag), Some(applied)) = (lag, applied) {
        let _ = writeln!(
            out,
            "# HELP creditgate_replica_lag_batches Batches the stream holds that this replica has not applied.\n# TYPE creditgate_replica_lag_batches gauge\ncreditgate_replica_lag_batches {lag}\n# HELP creditgate_replica_applied_batches_total Batches applied since start.\n# TYPE creditgate_replica_applied_batches_total counter\ncreditgate_replica_applied_batches_total {applied}"
        );
    }
}

/// Answers `GET /v1/catalog`: the measures catalog in force (the plan's
/// measures are public), as `creditgate catalog --json` prints it.
pub(super) fn catalog(served: &Served, query: Option<&str>) -> Answer {
    parse_query(query, &[])?;
    Ok(json_ok(&served.engine.catalog().describe()))
}

/// Answers `GET /v1/whoami`: whether the server takes keys, and what the
/// key presented (if any) may do, so that the console shows each clerk
/// only the forms their key may use. Never the token or its hash.
pub(super) fn whoami(served: &Served, query: Option<&str>, open: bool) -> Answer {
    parse_query(query, &[])?;
    let key = served.caller.key.as_ref().map(|k| {
        serde_json::json!({
            "id": k.id,
            "department": k.department,
            "roles": k.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "actions": k.actions,
            "authorities": k.authorities,
            "personal": k.sees_personal(),
        })
    });
    Ok(json_ok(&serde_json::json!({ "open": open, "key": key })))
}
