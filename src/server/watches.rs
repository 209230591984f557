//! Watches over HTTP (推送提示): what an implementing department wires into
//! its approval system to hear of the subjects it follows.
//!
//! | method and path | does |
//! |---|---|
//! | `POST /v1/watches` | creates a watch: `201` with its id and, once only, its signing secret |
//! | `GET /v1/watches` | the caller's watches |
//! | `GET /v1/watches/{id}` | the watch, its cursor and its delivery's state |
//! | `DELETE /v1/watches/{id}` | deletes it (`204`); delivery stops |
//! | `GET /v1/watches/{id}/changes?since=&limit=&wait=` | its changes, as `GET /v1/changes` pages them |
//! | `GET /v1/watches/{id}/dead-letters?after=&limit=` | the changes delivery gave up on, each with the change |
//! | `DELETE /v1/watches/{id}/dead-letters?through=SEQ` | drains them up to `SEQ` |
//! | `POST /v1/watches/{id}/subjects` | `{"add":[…],"remove":[…]}`: changes the subjects it names |
//!
//! A watch is created from a JSON body,
//! `{"ids":[…],"category"?,"actions"?:[…],"callback"?}`, or from an
//! uploaded file of ids (`Content-Type: text/csv`, one id per line in the
//! first column, an `id` header allowed; or `application/x-ndjson`, one
//! JSON string or `{"id":…}` per line) with `category`, `action` (comma
//! separated) and `callback` as query parameters. At most 10^6 distinct
//! subjects; a malformed id is a 400 naming its line or index.
//!
//! A watch belongs to the key that created it: any other key gets the
//! same 404 as for a watch that does not exist. Without `since`, its
//! changes start after the last change logged when it was created.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::errors::{Code, Refusal, store_failed};
use super::feed::{PageReader, long_poll, position};
use super::lifecycle::read_body_within;
use super::query::{Query, optional, parse_query, required};
use super::routes::Watches as Endpoint;
use super::served::{Caller, Served, blocking};
use super::{Handled, Reply, json_ok, json_reply};
use crate::date::Date;
use crate::id::SubjectKey;
use crate::store::watches::WatchRecord;
use crate::watch::callback::Callback;
use crate::watch::{MAX_WATCH_SUBJECTS, Watch, Watches};

/// The query parameters of `POST /v1/watches` (with an uploaded file).
pub(super) const CREATE_PARAMS: [&str; 3] = ["category", "action", "callback"];
/// The query parameters of `GET /v1/watches/{id}/changes`.
pub(super) const CHANGES_PARAMS: [&str; 3] = ["since", "limit", "wait"];
/// The query parameters of `GET /v1/watches/{id}/dead-letters`.
pub(super) const DEAD_PARAMS: [&str; 2] = ["after", "limit"];
/// The query parameter of `DELETE /v1/watches/{id}/dead-letters`.
pub(super) const DRAIN_PARAMS: [&str; 1] = ["through"];
/// Most dead letters one answer lists.
const MAX_DEAD_LIMIT: usize = 1000;

/// What the watch routes are served with beside the request.
#[derive(Clone)]
pub(super) struct WatchHost {
    /// The node's watches; `None` when they could not be opened.
    pub(super) watches: Option<Arc<Watches>>,
    /// Callbacks may reach private addresses.
    pub(super) allow_private: bool,
    /// The upload limit.
    pub(super) max_body_bytes: u64,
}

fn unknown(id: &str) -> Refusal {
    Refusal::new(
        Code::UnknownWatch,
        format!("no watch {id:?} (a watch is visible only to the key that created it)"),
    )
}

/// The watch `id` if the caller's key owns it.
fn owned(watches: &Watches, caller: &Caller, id: &str) -> Result<Arc<Watch>, Refusal> {
    let watch = watches.get(id).ok_or_else(|| unknown(id))?;
    let key = caller.key.as_ref().map(|k| k.id.as_str());
    if watch.record.key.as_deref() != key {
        return Err(unknown(id));
    }
    Ok(watch)
}

/// Answers a watch route.
pub(super) fn start(
    served: Served,
    req: Request<Incoming>,
    endpoint: Endpoint,
    raw_id: &str,
    host: &WatchHost,
) -> Handled {
    let Some(watches) = host.watches.clone() else {
        return served.now(Err(Refusal::new(
            Code::Internal,
            "this server's watches could not be opened (see its log)",
        )));
    };
    match endpoint {
        Endpoint::Create => return create(served, req, watches, host),
        Endpoint::List => {
            let answer = parse_query(req.uri().query(), &[]).and_then(|_| list(&served, &watches));
            return served.now(answer);
        }
        _ => {}
    }
    let id = match super::lifecycle::decode(raw_id) {
        Ok(id) => id,
        Err(r) => return served.now(Err(r)),
    };
    let watch = match owned(&watches, &served.caller, &id) {
        Ok(w) => w,
        Err(r) => return served.now(Err(r)),
    };
    let query = req.uri().query();
    match endpoint {
        Endpoint::Get => {
            served.now(parse_query(query, &[]).and_then(|_| describe(&served, &watch)))
        }
        Endpoint::Delete => {
            if let Err(r) = parse_query(query, &[]) {
                return served.now(Err(r));
            }
            let audit = served.detach();
            served.later(async move {
                let res = blocking("deleting the watch", move || {
                    watches.delete(&id).map_err(store_failed)?;
                    let mut res = json_reply(StatusCode::NO_CONTENT, Vec::new());
                    res.headers_mut().remove(CONTENT_TYPE);
                    Ok(res)
                })
                .await?;
                audit.audit(crate::audit::Event::Write, None, 204);
                Ok(res)
            })
        }
        Endpoint::Changes => changes(&served, query, watch),
        Endpoint::DeadLetters => dead_letters(&served, query, watch),
        Endpoint::Drain => drain(&served, query, watch),
        Endpoint::Subjects => change_subjects(served, req, watches, watch, host),
        Endpoint::Create | Endpoint::List => unreachable!("answered above"),
    }
}

/// The caller's watches, each as `GET /v1/watches/{id}` shows it.
fn list(served: &Served, watches: &Watches) -> Result<Reply, Refusal> {
    let key = served.caller.key.as_ref().map(|k| k.id.as_str());
    let mine: Vec<Value> = watches
        .all()
        .iter()
        .filter(|w| w.record.key.as_deref() == key)
        .map(|w| shown(served, w))
        .collect::<Result<_, _>>()?;
    Ok(json_ok(&json!({ "watches": mine })))
}

/// The watch as `GET` shows it (never its secret).
fn describe(served: &Served, watch: &Watch) -> Result<Reply, Refusal> {
    Ok(json_ok(&shown(served, watch)?))
}

fn shown(served: &Served, watch: &Watch) -> Result<Value, Refusal> {
    let r = &watch.record;
    let store = served.engine.store();
    let dead = store
        .dead_letters(&r.id, 0, usize::MAX)
        .map_err(store_failed)?
        .len();
    let mut out = json!({
        "watch_id": r.id,
        "subjects": watch.subject_count(),
        "category": r.category,
        "actions": r.actions,
        "callback": r.callback,
        "created": Date::cst_timestamp(r.created_ms),
        "since": r.start_seq,
        "cursor": watch.cursor.load(std::sync::atomic::Ordering::Acquire),
        "last_seq": store.next_change_seq().saturating_sub(1),
        "dead_letters": dead,
    });
    if r.callback.is_some() {
        let status = watch
            .status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        out["delivery"] = serde_json::to_value(status).unwrap_or_default();
    }
    Ok(out)
}

fn changes(served: &Served, query: Option<&str>, watch: Arc<Watch>) -> Handled {
    let (since, limit, wait) = match parse_query(query, &CHANGES_PARAMS).and_then(|q| position(&q))
    {
        Ok(p) => p,
        Err(r) => return served.now(Err(r)),
    };
    let since = since.unwrap_or(watch.record.start_seq);
    let (engine, today) = (Arc::clone(&served.engine), served.today);
    let read: PageReader = Arc::new(move |since, limit| {
        engine
            .changes_where(since, limit, today, |c| watch.concerns(&engine, c))
            .map_err(store_failed)
    });
    long_poll(served, since, limit, wait, read)
}

fn whole_number(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .map_err(|_| format!("{text:?} is not a whole number"))
}

fn dead_letters(served: &Served, query: Option<&str>, watch: Arc<Watch>) -> Handled {
    let parsed = parse_query(query, &DEAD_PARAMS).and_then(|q| {
        let after = optional(&q, "after", whole_number)?.unwrap_or(0);
        let limit = optional(&q, "limit", |t| match whole_number(t)? {
            n @ 1..=1000 => Ok(n as usize),
            _ => Err(format!("expected 1 to {MAX_DEAD_LIMIT}")),
        })?
        .unwrap_or(100);
        Ok((after, limit))
    });
    let (after, limit) = match parsed {
        Ok(p) => p,
        Err(r) => return served.now(Err(r)),
    };
    let (engine, caller, today) = (
        Arc::clone(&served.engine),
        served.caller.clone(),
        served.today,
    );
    served.later(async move {
        blocking("reading the dead letters", move || {
            let store = engine.store();
            let letters = store
                .dead_letters(&watch.record.id, after, limit)
                .map_err(store_failed)?;
            let mut out = Vec::with_capacity(letters.len());
            for d in &letters {
                let change = match store.changes(d.seq, 1).map_err(store_failed)?.first() {
                    Some(c) if c.seq == d.seq => {
                        Some(engine.change_out(c, today).map_err(store_failed)?)
                    }
                    _ => None,
                };
                out.push(json!({
                    "seq": d.seq,
                    "attempts": d.attempts,
                    "error": d.error,
                    "failed": Date::cst_timestamp(d.failed_ms),
                    "change": change,
                }));
            }
            Ok(json_ok(&caller.shown(&json!({
                "watch_id": watch.record.id,
                "dead_letters": out,
            }))))
        })
        .await
    })
}

fn drain(served: &Served, query: Option<&str>, watch: Arc<Watch>) -> Handled {
    let through = match parse_query(query, &DRAIN_PARAMS)
        .and_then(|q| required(&q, "through").map(str::to_owned))
        .and_then(|t| {
            whole_number(&t).map_err(|e| {
                Refusal::new(
                    Code::InvalidParameter,
                    format!("parameter \"through\": {e}"),
                )
            })
        }) {
        Ok(t) => t,
        Err(r) => return served.now(Err(r)),
    };
    let engine = Arc::clone(&served.engine);
    served.later(async move {
        blocking("draining the dead letters", move || {
            let store = engine.store();
            let id = &watch.record.id;
            let seqs: Vec<u64> = store
                .dead_letters(id, 0, usize::MAX)
                .map_err(store_failed)?
                .iter()
                .map(|d| d.seq)
                .filter(|s| *s <= through)
                .collect();
            let drained = store.drain_dead_letters(id, &seqs).map_err(store_failed)?;
            Ok(json_ok(
                &json!({"watch_id": id, "drained": drained, "through": through}),
            ))
        })
        .await
    })
}

/// A body changing a watch's subjects.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubjectsBody {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

/// The ids of a JSON list, or a 400 naming the first bad one by field and
/// index.
fn subjects_of(field: &str, ids: &[String]) -> Result<Vec<SubjectKey>, Refusal> {
    ids.iter()
        .enumerate()
        .map(|(i, id)| subject(id, || format!("field {field:?}[{i}]")))
        .collect()
}

fn change_subjects(
    served: Served,
    req: Request<Incoming>,
    watches: Arc<Watches>,
    watch: Arc<Watch>,
    host: &WatchHost,
) -> Handled {
    if let Err(r) = parse_query(req.uri().query(), &[]) {
        return served.now(Err(r));
    }
    let limit = usize::try_from(host.max_body_bytes).unwrap_or(usize::MAX);
    let audit = served.detach();
    served.later(async move {
        let body = read_body_within(req.into_body(), limit).await?;
        let res = blocking("changing the watch's subjects", move || {
            let text = std::str::from_utf8(&body)
                .map_err(|e| invalid(format!("the body is not UTF-8: {e}")))?;
            let de = &mut serde_json::Deserializer::from_str(text);
            let b: SubjectsBody = serde_path_to_error::deserialize(de)
                .map_err(|e| invalid(format!("field {:?}: {}", e.path().to_string(), e.inner())))?;
            let add = subjects_of("add", &b.add)?;
            let remove = subjects_of("remove", &b.remove)?;
            let (added, removed) = watches
                .change_subjects(&watch, &add, &remove)
                .map_err(store_failed)?
                .map_err(|e| Refusal::new(Code::InvalidBody, e))?;
            Ok(json_ok(&json!({
                "watch_id": watch.record.id,
                "subjects": watch.subject_count(),
                "added": added,
                "removed": removed,
            })))
        })
        .await?;
        audit.audit(crate::audit::Event::Write, None, 200);
        Ok(res)
    })
}

/// A JSON body creating a watch.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    ids: Vec<String>,
    category: Option<String>,
    #[serde(default)]
    actions: Vec<String>,
    callback: Option<String>,
}

/// What a watch is created from.
struct Asked {
    ids: Vec<SubjectKey>,
    category: Option<String>,
    actions: Vec<String>,
    callback: Option<String>,
}

fn invalid(message: String) -> Refusal {
    Refusal::new(Code::InvalidBody, message)
}

/// How the body lists its ids.
#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
    Ndjson,
}

fn format_of(req: &Request<Incoming>) -> Result<Format, Refusal> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .map(HeaderValue::to_str)
        .transpose()
        .map_err(|_| Refusal::new(Code::InvalidHeader, "header Content-Type: not ASCII"))?
        .unwrap_or("application/json");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(Format::Json),
        "text/csv" | "text/plain" => Ok(Format::Csv),
        "application/x-ndjson" | "application/ndjson" => Ok(Format::Ndjson),
        other => Err(Refusal::new(
            Code::InvalidHeader,
            format!(
                "header Content-Type: {other:?}; send application/json, text/csv or application/x-ndjson"
            ),
        )),
    }
}

/// One id of the body, or a 400 saying `where` it is.
fn subject(text: &str, place: impl FnOnce() -> String) -> Result<SubjectKey, Refusal> {
    SubjectKey::parse(text.trim()).map_err(|e| invalid(format!("{}: {e}", place())))
}

fn parse_body(
    format: Format,
    body: &[u8],
    q: &Query<'_>,
    engine: &crate::Engine,
) -> Result<Asked, Refusal> {
    let text =
        std::str::from_utf8(body).map_err(|e| invalid(format!("the body is not UTF-8: {e}")))?;
    let mut asked = match format {
        Format::Json => {
            super::query::refuse_unknown(q, &[])?;
            let b: CreateBody = {
                let de = &mut serde_json::Deserializer::from_str(text);
                serde_path_to_error::deserialize(de).map_err(|e| {
                    invalid(format!("field {:?}: {}", e.path().to_string(), e.inner()))
                })?
            };
            let ids = subjects_of("ids", &b.ids)?;
            Asked {
                ids,
                category: b.category,
                actions: b.actions,
                callback: b.callback,
            }
        }
        Format::Csv | Format::Ndjson => {
            super::query::refuse_unknown(q, &CREATE_PARAMS)?;
            let mut ids = Vec::new();
            for (i, line) in text.lines().enumerate() {
                let n = i + 1;
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                let id = match format {
                    Format::Csv => {
                        let first = line
                            .split(',')
                            .next()
                            .unwrap_or("")
                            .trim()
                            .trim_matches('"');
                        if n == 1 && first.eq_ignore_ascii_case("id") {
                            continue;
                        }
                        first.to_string()
                    }
                    _ => match serde_json::from_str::<Value>(line) {
                        Ok(Value::String(s)) => s,
                        Ok(Value::Object(m)) => match m.get("id") {
                            Some(Value::String(s)) => s.clone(),
                            _ => {
                                return Err(invalid(format!(
                                    "line {n}: an object without a string field \"id\""
                                )));
                            }
                        },
                        Ok(_) => {
                            return Err(invalid(format!(
                                "line {n}: expected a JSON string or {{\"id\":…}}"
                            )));
                        }
                        Err(e) => return Err(invalid(format!("line {n}: not JSON: {e}"))),
                    },
                };
                ids.push(subject(&id, || format!("line {n}"))?);
            }
            Asked {
                ids,
                category: q.get("category").map(str::to_owned),
                actions: q
                    .get("action")
                    .map(|a| a.split(',').map(|s| s.trim().to_string()).collect())
                    .unwrap_or_default(),
                callback: q.get("callback").map(str::to_owned),
            }
        }
    };
    asked.ids.sort_unstable_by_key(|k| k.to_bytes());
    asked.ids.dedup();
    if asked.ids.is_empty() {
        return Err(invalid(
            "the watch names no subject; give at least one id".into(),
        ));
    }
    if asked.ids.len() > MAX_WATCH_SUBJECTS {
        return Err(Refusal::new(
            Code::PayloadTooLarge,
            format!(
                "a watch names at most {MAX_WATCH_SUBJECTS} subjects; this one names {}; split it",
                asked.ids.len()
            ),
        ));
    }
    let catalog = engine.catalog();
    if let Some(c) = &asked.category
        && catalog.category_by_code(c.trim()).is_none()
    {
        return Err(invalid(format!(
            "category: unknown category {c:?}; the catalog has: {}",
            catalog.category_codes().join(", ")
        )));
    }
    for a in &asked.actions {
        if catalog.action_by_code(a).is_none() {
            return Err(invalid(format!(
                "actions: unknown action {a:?}; the catalog has: {}",
                catalog.action_codes().join(", ")
            )));
        }
    }
    Ok(asked)
}

fn create(
    served: Served,
    req: Request<Incoming>,
    watches: Arc<Watches>,
    host: &WatchHost,
) -> Handled {
    let format = match format_of(&req) {
        Ok(f) => f,
        Err(r) => return served.now(Err(r)),
    };
    let query = req.uri().query().map(str::to_owned);
    let allow_private = host.allow_private;
    let limit = usize::try_from(host.max_body_bytes).unwrap_or(usize::MAX);
    let (engine, caller) = (Arc::clone(&served.engine), served.caller.clone());
    let audit = served.detach();
    served.later(async move {
        let body = read_body_within(req.into_body(), limit).await?;
        let e = engine.clone();
        let asked = blocking("reading the watch's ids", move || {
            let q = Query::parse(query.as_deref())
                .map_err(|e| Refusal::new(Code::BadQuery, e.to_string()))?;
            parse_body(format, &body, &q, &e)
        })
        .await?;
        if let Some(url) = &asked.callback {
            let callback = Callback::parse(url)
                .map_err(|e| invalid(format!("callback: {e}")))?;
            callback
                .resolve(allow_private)
                .await
                .map_err(|e| invalid(format!("callback: {e}")))?;
        }
        let made = |e: std::io::Error| {
            Refusal::new(Code::Internal, Code::Internal.logged("drawing the watch's id and secret", &e))
        };
        let record = WatchRecord {
            id: crate::watch::new_id().map_err(made)?,
            key: caller.key.as_ref().map(|k| k.id.clone()),
            category: asked.category.map(|c| c.trim().to_string()),
            actions: asked.actions,
            callback: asked.callback,
            secret: crate::watch::new_secret().map_err(made)?,
            created_ms: crate::date::epoch_ms(),
            start_seq: 0,
            subjects: 0,
        };
        let ids = asked.ids;
        let watch = blocking("storing the watch", move || {
            watches.create(record, ids).map_err(store_failed)
        })
        .await?;
        audit.audit(crate::audit::Event::Write, None, 201);
        let r = &watch.record;
        let body = json!({
            "watch_id": r.id,
            "secret": r.secret,
            "subjects": r.subjects,
            "category": r.category,
            "actions": r.actions,
            "callback": r.callback,
            "created": Date::cst_timestamp(r.created_ms),
            "since": r.start_seq,
            "note": "the secret signs every delivery (X-Creditgate-Signature) and is shown only now: keep it",
        });
        let mut res = json_reply(
            StatusCode::CREATED,
            serde_json::to_vec(&body).unwrap_or_default(),
        );
        if let Ok(v) = HeaderValue::from_str(&format!("/v1/watches/{}", r.id)) {
            res.headers_mut().insert(LOCATION, v);
        }
        Ok(res)
    })
}
