//! The lifecycle over HTTP (SPEC §6 writes): publishing subjects and
//! entries, and an entry's objection, outcome, repair and revocation.
//!
//! | method and path | body | does |
//! |---|---|---|
//! | `PUT /v1/subjects/{id}` | a `subjects.ndjson` record | inserts or replaces the subject and its person links |
//! | `PUT /v1/entries/{entry_id}` | an `entries.ndjson` record | publishes or replaces the entry's fields |
//! | `GET /v1/entries/{entry_id}` | | the entry, its lifecycle and its changes |
//! | `POST /v1/entries/{entry_id}/objection` | `{"reason","filed_on"?}` | disputed, measures suspended, deadline in 20 days |
//! | `POST /v1/entries/{entry_id}/outcome` | `{"outcome","note","decided_on"?,"entry"?}` | upheld, corrected (with `entry`) or revoked |
//! | `POST /v1/entries/{entry_id}/repair` | `{"note","repaired_on"?}` | repaired: measures lifted, the record kept |
//! | `POST /v1/entries/{entry_id}/revoke` | `{"reason","revoked_on"?}` | revoked |
//! | `POST /v1/feedback` | `{"entry_id","measure","action","outcome","implementer"?,"at"?,"note"?}` | execution feedback, kept per entry |
//!
//! With keys, a publishing key writes only entries of its own authorities:
//! the entry's stored authority and, for a new record or a correction, the
//! one it names; anything else is 403 before anything is written.
//! A write is answered only once it is synced to the store and visible to
//! checks. The body is read with a limit (413 past it) and a time limit
//! (408); the write itself runs on the blocking pool, so that a disk sync
//! never holds up the runtime workers serving checks. Malformed bodies are
//! 400 naming the field; transitions the entry's state forbids are 409
//! (`lifecycle`); an unknown entry is 404.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::errors::{Answer, Code, Refusal, store_failed};
use super::query::{date_param, parse_query};
use super::routes::{Lifecycle, Params};
use super::served::{Served, blocking};
use super::{Handled, Reply, json_ok, json_reply};
use crate::audit::Event;
use crate::date::Date;
use crate::id::SubjectKey;
use crate::lifecycle::Transition;
use crate::model::{
    EntryRecord, MAX_TEXT_CHARS, OutcomeKind, RecordError, SubjectRecord, clean_text, json_error,
};
use crate::store::feedback::Feedback;
use crate::store::{Applied, Change, WriteError};

/// The query parameters of `GET /v1/entries/{entry_id}`.
pub(super) const ENTRY_PARAMS: [&str; 1] = ["at"];

/// Largest write body, in bytes: a subject with 256 persons and 32 aliases
/// fits many times over.
pub const MAX_WRITE_BODY: usize = 256 << 10;

/// Time a client has to send a write's body once its head is in.
const BODY_TIME: Duration = Duration::from_secs(30);

/// A lifecycle request, routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum WriteRoute {
    /// `PUT /v1/subjects/{id}`.
    PutSubject(String),
    /// `PUT /v1/entries/{entry_id}`.
    PutEntry(String),
    /// `GET /v1/entries/{entry_id}`.
    GetEntry(String),
    /// `POST /v1/entries/{entry_id}/{step}`.
    Step(String, Step),
    /// `POST /v1/feedback`.
    Feedback,
}

/// A lifecycle transition's path segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step {
    Objection,
    Outcome,
    Repair,
    Revoke,
}

impl Step {
    const ALL: [(&'static str, Step); 4] = [
        ("objection", Step::Objection),
        ("outcome", Step::Outcome),
        ("repair", Step::Repair),
        ("revoke", Step::Revoke),
    ];
}

/// The lifecycle request the route table found, its path identifiers
/// decoded.
pub(super) fn route(endpoint: Lifecycle, params: Params<'_>) -> Result<WriteRoute, Refusal> {
    Ok(match endpoint {
        Lifecycle::PutSubject => WriteRoute::PutSubject(decode(params.get(0))?),
        Lifecycle::Entry => WriteRoute::GetEntry(decode(params.get(0))?),
        Lifecycle::PutEntry => WriteRoute::PutEntry(decode(params.get(0))?),
        Lifecycle::Step => {
            let step = Step::ALL
                .iter()
                .find(|(name, _)| *name == params.get(1))
                .ok_or_else(|| {
                    Refusal::new(
                        Code::NotFound,
                        "no such lifecycle step; an entry's lifecycle steps are objection, outcome, repair and revoke",
                    )
                })?;
            WriteRoute::Step(decode(params.get(0))?, step.1)
        }
        Lifecycle::Feedback => WriteRoute::Feedback,
    })
}

pub(super) fn decode(raw: &str) -> Result<String, Refusal> {
    let id = super::query::decode_path_segment(raw).ok_or_else(|| {
        Refusal::new(
            Code::InvalidId,
            "path identifier: not valid percent-encoded UTF-8",
        )
    })?;
    if id.trim().is_empty() {
        return Err(Refusal::new(Code::InvalidId, "path identifier is empty"));
    }
    Ok(id.into_owned())
}

/// Answers a routed lifecycle request: a read at once, a write once its
/// body is in and the write is synced.
pub(super) fn start(served: Served, req: Request<Incoming>, route: WriteRoute) -> Handled {
    if let WriteRoute::GetEntry(id) = &route {
        let answer = get_entry(&served, id, req.uri().query());
        return served.now(answer);
    }
    let inner = Arc::new(served.detach());
    served.later(async move {
        let body = read_body(req.into_body()).await?;
        let today = inner.today;
        let writer = inner.clone();
        let answer = blocking("the write", move || write(&writer, route, &body, today)).await;
        match answer {
            Ok((reply, subject)) => {
                inner.audit(Event::Write, subject, reply.status().as_u16());
                Ok(reply)
            }
            Err(r) => Err(r),
        }
    })
}

fn get_entry(served: &Served, id: &str, query: Option<&str>) -> Answer {
    let q = parse_query(query, &ENTRY_PARAMS)?;
    let at = date_param(&q, served.today)?;
    let engine = &served.engine;
    match engine.entry(id, at).map_err(store_failed)? {
        Some((entry, history)) => {
            let feedback = engine.store().feedback_of(id).map_err(store_failed)?;
            // The penalties the entry came from (双公示), as the public
            // would see them today.
            let disclosures: Vec<_> = engine
                .store()
                .disclosures_of_entry(id)
                .map_err(store_failed)?
                .iter()
                .map(|p| {
                    let d = &p.disclosure;
                    serde_json::json!({
                        "disclosure_id": d.disclosure_id,
                        "kind": d.kind.as_str(),
                        "number": d.number,
                        "authority": d.authority,
                        "shown": d.shown(engine.catalog(), served.today).as_str(),
                    })
                })
                .collect();
            let subject = SubjectKey::parse(&entry.subject_id).ok();
            served.audit(Event::Read, subject, 200);
            Ok(json_ok(&served.caller.shown(&serde_json::json!({
                "entry": entry,
                "history": history,
                "feedback": feedback.iter().map(feedback_out).collect::<Vec<_>>(),
                "disclosures": disclosures,
                "at": at,
            }))))
        }
        None => Err(unknown_entry(id)),
    }
}

fn feedback_out(f: &Feedback) -> serde_json::Value {
    serde_json::json!({
        "entry_id": f.entry_id,
        "measure": f.measure,
        "action": f.action,
        "outcome": f.outcome,
        "implementer": f.implementer,
        "time": Date::cst_timestamp(f.at_ms),
        "note": f.note,
        "key": f.key,
        "recorded": Date::cst_timestamp(f.recorded_ms),
    })
}

pub(super) fn unknown_entry(id: &str) -> Refusal {
    Refusal::new(
        Code::UnknownEntry,
        format!("the platform has no entry {id:?}"),
    )
}

/// Reads a write's body, at most [`MAX_WRITE_BODY`] bytes within
/// [`BODY_TIME`].
pub(super) async fn read_body(body: Incoming) -> Result<Bytes, Refusal> {
    read_body_within(body, MAX_WRITE_BODY).await
}

/// Reads a body of at most `limit` bytes within [`BODY_TIME`].
pub(super) async fn read_body_within(body: Incoming, limit: usize) -> Result<Bytes, Refusal> {
    let collect = Limited::new(body, limit).collect();
    match tokio::time::timeout(BODY_TIME, collect).await {
        Err(_) => Err(Refusal::new(
            Code::BodyTimeout,
            format!(
                "the request body did not arrive within {} s",
                BODY_TIME.as_secs()
            ),
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(Refusal::new(
            Code::PayloadTooLarge,
            format!("the request body is larger than {limit} bytes"),
        )),
        Ok(Err(e)) => Err(Refusal::new(
            Code::BadBody,
            format!("the request body could not be read: {e}"),
        )),
    }
}

pub(super) fn invalid(e: RecordError) -> Refusal {
    Refusal::new(
        Code::InvalidBody,
        format!("field {:?}: {}", e.field, e.problem),
    )
}

/// The body as a JSON object, or a 400 saying what it is instead.
pub(super) fn object(body: &[u8]) -> Result<serde_json::Map<String, serde_json::Value>, Refusal> {
    let text = std::str::from_utf8(body)
        .map_err(|e| Refusal::new(Code::InvalidBody, format!("the body is not UTF-8: {e}")))?;
    if text.trim().is_empty() {
        return Err(Refusal::new(
            Code::InvalidBody,
            "the body is empty; a JSON object is expected",
        ));
    }
    match strict_json(text)? {
        serde_json::Value::Object(map) => Ok(map),
        other => Err(Refusal::new(
            Code::InvalidBody,
            format!("the body is JSON {}, not an object", json_type(&other)),
        )),
    }
}

/// Reads a body as JSON, refusing an object that names a key twice (at any
/// depth): which of the two a lenient reader keeps is not what the client
/// should have to guess.
fn strict_json(text: &str) -> Result<serde_json::Value, Refusal> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize::<_, Strict>(&mut de)
        .map_err(|e| invalid(json_error(e, "body")))?;
    de.end().map_err(|e| {
        Refusal::new(
            Code::InvalidBody,
            format!("the body has more after its JSON value: {e}"),
        )
    })?;
    Ok(value.0)
}

/// A JSON value whose objects name each key once.
struct Strict(serde_json::Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<serde_json::Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, Into::into))
    }

    fn visit_str<E>(self, v: &str) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_string<E>(self, v: String) -> Result<serde_json::Value, E> {
        Ok(v.into())
    }

    fn visit_unit<E>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_none<E>(self) -> Result<serde_json::Value, E> {
        Ok(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<serde_json::Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(
        self,
        mut seq: A,
    ) -> Result<serde_json::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<serde_json::Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format_args!(
                    "duplicate field `{key}`: a key is given once"
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(serde_json::Value::Object(out))
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Puts the path's identifier into `field` of a record, or refuses a body
/// that names another.
pub(super) fn with_path_id(
    mut map: serde_json::Map<String, serde_json::Value>,
    field: &str,
    id: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, Refusal> {
    match map.get(field) {
        None => {
            map.insert(field.into(), id.into());
        }
        Some(serde_json::Value::String(given)) if given.trim() == id.trim() => {}
        Some(given) => {
            return Err(Refusal::new(
                Code::InvalidBody,
                format!("field {field:?}: {given} differs from the path's {id:?}"),
            ));
        }
    }
    Ok(map)
}

/// A record read from a JSON object found at `within` in the body (`""`:
/// the body itself); an error names the field under it (`entry.category`),
/// a field missing, unknown (records and bodies take no other fields) or
/// given twice included.
pub(super) fn record<T: DeserializeOwned>(
    map: serde_json::Map<String, serde_json::Value>,
    within: &str,
) -> Result<T, Refusal> {
    serde_path_to_error::deserialize(serde_json::Value::Object(map)).map_err(|e| {
        let whole = if within.is_empty() { "body" } else { within };
        let e = json_error(e, whole);
        let field = if within.is_empty() || e.field == within {
            e.field
        } else {
            format!("{within}.{}", e.field)
        };
        Refusal::new(Code::InvalidBody, format!("field {field:?}: {}", e.problem))
    })
}

/// An entry record from a publishing body: the path's id, status left to
/// the lifecycle.
fn entry_record(
    map: serde_json::Map<String, serde_json::Value>,
    id: &str,
    field: &str,
) -> Result<EntryRecord, Refusal> {
    let map = with_path_id(map, "entry_id", id).map_err(|Refusal(c, m, why)| {
        Refusal(
            c,
            if field.is_empty() {
                m
            } else {
                format!("{field}.{m}")
            },
            why,
        )
    })?;
    if let Some(status) = map.get("status")
        && status.as_str() != Some("active")
    {
        return Err(Refusal::new(
            Code::InvalidBody,
            format!(
                "field \"{field}{}status\": {status} cannot be published; an entry's status changes through its objection, outcome, repair and revoke steps",
                if field.is_empty() { "" } else { "." }
            ),
        ));
    }
    record(map, field)
}

/// A transition body's text field: trimmed, not empty, bounded.
pub(super) fn text(field: &str, value: &str) -> Result<String, Refusal> {
    clean_text(field, value, MAX_TEXT_CHARS).map_err(invalid)
}

/// A transition's date: the one given, not after today, or today.
pub(super) fn day(field: &str, given: Option<Date>, today: Date) -> Result<Date, Refusal> {
    match given {
        Some(d) if d > today => Err(Refusal::new(
            Code::InvalidBody,
            format!("field {field:?}: {d} is in the future (today is {today})"),
        )),
        Some(d) => Ok(d),
        None => Ok(today),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ObjectionBody {
    reason: String,
    filed_on: Option<Date>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: OutcomeKind,
    note: String,
    decided_on: Option<Date>,
    entry: Option<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepairBody {
    note: String,
    repaired_on: Option<Date>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    reason: String,
    revoked_on: Option<Date>,
}

/// Reads, validates, authorizes and applies one write; the answer and the
/// subject it concerned.
fn write(
    served: &Served,
    route: WriteRoute,
    body: &[u8],
    today: Date,
) -> Result<(Reply, Option<SubjectKey>), Refusal> {
    let engine = &*served.engine;
    let caller = &served.caller;
    let map = object(body)?;
    // The stored entry's authority must be the key's too.
    let stored_authority = |id: &str| -> Result<(), Refusal> {
        match engine
            .store()
            .entry(id, engine.catalog())
            .map_err(store_failed)?
        {
            Some(e) => caller.may_publish_for(&e.authority),
            None => Ok(()),
        }
    };
    match route {
        WriteRoute::PutSubject(id) => {
            let record: SubjectRecord = record(with_path_id(map, "id", &id)?, "")?;
            let subject = record.validate(today).map_err(invalid)?;
            let key = subject.id;
            let (applied, changes) = engine.put_subjects(&[subject]).map_err(write_failed)?;
            Ok((put_answer(served, applied, &changes, today)?, Some(key)))
        }
        WriteRoute::PutEntry(id) => {
            let record = entry_record(map, &id, "")?;
            let entry = record.validate(engine.catalog(), today).map_err(invalid)?;
            caller.may_publish_for(&entry.authority)?;
            stored_authority(&id)?;
            let key = entry.subject;
            let (applied, changes) = engine.put_entries(&[entry]).map_err(write_failed)?;
            Ok((put_answer(served, applied, &changes, today)?, Some(key)))
        }
        WriteRoute::Step(id, step) => {
            let transition = transition(engine.catalog(), step, map, &id, today)?;
            stored_authority(&id)?;
            if let Transition::Decide {
                correction: Some(fixed),
                ..
            } = &transition
            {
                caller.may_publish_for(&fixed.authority)?;
            }
            let change = engine.transition(&id, &transition).map_err(|e| match e {
                WriteError::NoEntry(_) => unknown_entry(&id),
                e => write_failed(e),
            })?;
            let out = engine.change_out(&change, today).map_err(store_failed)?;
            Ok((json_ok(&caller.shown(&out)), change.subject_key()))
        }
        WriteRoute::Feedback => {
            let (feedback, subject) = feedback(served, map)?;
            let stored = engine
                .store()
                .add_feedback(feedback)
                .map_err(store_failed)?;
            let body = serde_json::to_vec(&feedback_out(&stored)).unwrap_or_default();
            Ok((json_reply(StatusCode::CREATED, body), Some(subject)))
        }
        WriteRoute::GetEntry(_) => unreachable!("answered without a body"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeedbackBody {
    entry_id: String,
    measure: String,
    action: String,
    outcome: FeedbackOutcome,
    implementer: Option<String>,
    at: Option<Date>,
    note: Option<String>,
}

/// What an implementing department did with a measure.
#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum FeedbackOutcome {
    /// The measure was applied (the ticket refused, the loan declined).
    Enforced,
    /// It was not applied (say why in the note).
    NotEnforced,
    /// The subject was exempted under a rule (say which in the note).
    Exempted,
}

impl FeedbackOutcome {
    fn as_str(self) -> &'static str {
        match self {
            FeedbackOutcome::Enforced => "enforced",
            FeedbackOutcome::NotEnforced => "not_enforced",
            FeedbackOutcome::Exempted => "exempted",
        }
    }
}

/// A feedback body checked against the entry and the catalog: the measure
/// must be one of the entry's category's, and the action one it restricts
/// or grants (惩戒事项逐一对应).
fn feedback(
    served: &Served,
    map: serde_json::Map<String, serde_json::Value>,
) -> Result<(Feedback, SubjectKey), Refusal> {
    let engine = &*served.engine;
    let catalog = engine.catalog();
    let b: FeedbackBody = record(map, "")?;
    let entry_id = text("entry_id", &b.entry_id)?;
    let entry = engine
        .store()
        .entry(&entry_id, catalog)
        .map_err(store_failed)?
        .ok_or_else(|| unknown_entry(&entry_id))?;
    let category = catalog.category(entry.category);
    let measure = category
        .measures
        .iter()
        .map(|m| catalog.measure(*m))
        .find(|m| m.code == b.measure.trim())
        .ok_or_else(|| {
            Refusal::new(
                Code::InvalidBody,
                format!(
                    "field \"measure\": {:?} is not a measure of category {}; its measures are {}",
                    b.measure,
                    category.code,
                    category
                        .measures
                        .iter()
                        .map(|m| catalog.measure(*m).code.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
    let action = catalog.action_by_code(b.action.trim()).ok_or_else(|| {
        Refusal::new(
            Code::InvalidBody,
            format!("field \"action\": unknown action {:?}", b.action),
        )
    })?;
    if !measure.actions.contains(&action) {
        return Err(Refusal::new(
            Code::InvalidBody,
            format!(
                "field \"action\": measure {} does not concern {}; it concerns {}",
                measure.code,
                b.action.trim(),
                measure
                    .actions
                    .iter()
                    .map(|a| catalog.action(*a).code.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let implementer = match (&b.implementer, &served.caller.key) {
        (Some(i), _) => text("implementer", i)?,
        (None, Some(key)) => key.department.clone(),
        (None, None) => {
            return Err(Refusal::new(
                Code::InvalidBody,
                "missing field `implementer` (the implementing department)",
            ));
        }
    };
    let note = b.note.as_deref().map(|n| text("note", n)).transpose()?;
    let now = crate::date::epoch_ms();
    let at_ms = match b.at {
        // The start of that day in China Standard Time.
        Some(day) => day.start_ms(),
        None => now,
    };
    if at_ms > now {
        return Err(Refusal::new(
            Code::InvalidBody,
            "field \"at\": the day is in the future",
        ));
    }
    Ok((
        Feedback {
            entry_id,
            measure: measure.code.clone(),
            action: catalog.action(action).code.clone(),
            outcome: b.outcome.as_str().to_string(),
            implementer,
            at_ms,
            note,
            key: served.caller.key.as_ref().map(|k| k.id.clone()),
            recorded_ms: 0,
        },
        entry.subject,
    ))
}

fn transition(
    catalog: &crate::catalog::Catalog,
    step: Step,
    map: serde_json::Map<String, serde_json::Value>,
    id: &str,
    today: Date,
) -> Result<Transition, Refusal> {
    Ok(match step {
        Step::Objection => {
            let b: ObjectionBody = record(map, "")?;
            Transition::Object {
                on: day("filed_on", b.filed_on, today)?,
                reason: text("reason", &b.reason)?,
            }
        }
        Step::Outcome => {
            let b: OutcomeBody = record(map, "")?;
            let correction = match (b.outcome, b.entry) {
                (OutcomeKind::Corrected, Some(map)) => {
                    let record = entry_record(map, id, "entry")?;
                    let entry = record.validate(catalog, today).map_err(|e| {
                        invalid(RecordError {
                            field: format!("entry.{}", e.field),
                            problem: e.problem,
                        })
                    })?;
                    Some(Box::new(entry))
                }
                (OutcomeKind::Corrected, None) => {
                    return Err(Refusal::new(
                        Code::InvalidBody,
                        "field \"entry\": a corrected outcome carries the corrected entry (an entries.ndjson record)",
                    ));
                }
                (_, Some(_)) => {
                    return Err(Refusal::new(
                        Code::InvalidBody,
                        "field \"entry\": only a corrected outcome carries an entry",
                    ));
                }
                (_, None) => None,
            };
            Transition::Decide {
                on: day("decided_on", b.decided_on, today)?,
                outcome: b.outcome,
                note: text("note", &b.note)?,
                correction,
            }
        }
        Step::Repair => {
            let b: RepairBody = record(map, "")?;
            Transition::Repair {
                on: day("repaired_on", b.repaired_on, today)?,
                note: text("note", &b.note)?,
            }
        }
        Step::Revoke => {
            let b: RevokeBody = record(map, "")?;
            Transition::Revoke {
                on: day("revoked_on", b.revoked_on, today)?,
                reason: text("reason", &b.reason)?,
            }
        }
    })
}

/// Reads `body` as each write route would read it, applying nothing: the
/// lifecycle bodies' fuzzing target (`crate::fuzzing`). Refusals are
/// answers; only a panic is a finding.
pub(crate) fn read_bodies(body: &[u8], catalog: &crate::catalog::Catalog, today: Date) {
    let Ok(map) = object(body) else {
        return;
    };
    for (_, step) in Step::ALL {
        let _ = transition(catalog, step, map.clone(), "FUZZ-1", today);
    }
    if let Ok(record) = with_path_id(map.clone(), "id", "91360100705500005G")
        .and_then(|m| self::record::<SubjectRecord>(m, ""))
    {
        let _ = record.validate(today);
    }
    if let Ok(record) = entry_record(map.clone(), "FUZZ-1", "") {
        let _ = record.validate(catalog, today);
    }
    let _ = record::<FeedbackBody>(map.clone(), "");
    super::disclosures::read_bodies(map, catalog, today);
}

pub(super) fn write_failed(e: WriteError) -> Refusal {
    match e {
        WriteError::Refused(why) => Refusal::new(Code::Conflict, why),
        WriteError::NoEntry(id) => unknown_entry(&id),
        WriteError::Store(e) => store_failed(e),
    }
}

/// `201` for a new record, `200` otherwise, with the changes logged.
pub(super) fn put_answer(
    served: &Served,
    applied: Applied,
    changes: &[Change],
    today: Date,
) -> Answer {
    let engine = &served.engine;
    let (status, result) = if applied.inserted > 0 {
        (StatusCode::CREATED, "inserted")
    } else if applied.replaced > 0 {
        (StatusCode::OK, "replaced")
    } else {
        (StatusCode::OK, "unchanged")
    };
    let changes = changes
        .iter()
        .map(|c| engine.change_out(c, today))
        .collect::<Result<Vec<_>, _>>()
        .map_err(store_failed)?;
    let body = serde_json::to_vec(
        &served
            .caller
            .shown(&serde_json::json!({ "result": result, "changes": changes })),
    )
    .unwrap_or_default();
    Ok(json_reply(status, body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::routes::{Endpoint, Routed, find};
    use hyper::Method;

    /// Routes `m p` as the dispatcher does: the lifecycle route, the
    /// refusal, or `None` for a path that is not the lifecycle's.
    fn r(m: Method, p: &str) -> Option<Result<WriteRoute, (StatusCode, &'static str)>> {
        let refused = |c: Code| Some(Err((c.status(), c.name())));
        match find(&m, p) {
            Routed::NotAllowed { .. } => refused(Code::MethodNotAllowed),
            Routed::NotFound => None,
            Routed::Route(row, params) => match row.endpoint {
                Endpoint::Lifecycle(endpoint) => {
                    Some(route(endpoint, params).map_err(|Refusal(c, ..)| (c.status(), c.name())))
                }
                _ => None,
            },
        }
    }

    #[test]
    fn routes() {
        assert_eq!(r(Method::GET, "/v1/subjects/X"), None);
        assert_eq!(
            r(Method::PUT, "/v1/subjects/X"),
            Some(Ok(WriteRoute::PutSubject("X".into())))
        );
        assert_eq!(
            r(Method::GET, "/v1/entries/E%201"),
            Some(Ok(WriteRoute::GetEntry("E 1".into())))
        );
        assert_eq!(
            r(Method::PUT, "/v1/entries/E1"),
            Some(Ok(WriteRoute::PutEntry("E1".into())))
        );
        assert_eq!(
            r(Method::POST, "/v1/entries/E1/repair"),
            Some(Ok(WriteRoute::Step("E1".into(), Step::Repair)))
        );
        assert_eq!(
            r(Method::GET, "/v1/entries/E1/repair"),
            Some(Err((StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")))
        );
        assert_eq!(
            r(Method::POST, "/v1/entries/E1/fix"),
            Some(Err((StatusCode::NOT_FOUND, "not_found")))
        );
        assert_eq!(
            r(Method::DELETE, "/v1/entries/E1"),
            Some(Err((StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed")))
        );
        assert_eq!(r(Method::GET, "/v1/check"), None);
    }
}
