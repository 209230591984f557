//! 双公示 over HTTP: publishing licensing and penalty decisions, the public
//! query, and a penalty's credit repair.
//!
//! | method and path | who | does |
//! |---|---|---|
//! | `GET /v1/disclosures?subject=&authority=&kind=&from=&to=&limit=` | anyone | disclosures by decision date, newest first |
//! | `GET /v1/disclosures/{id}` | anyone | one disclosure with its changes |
//! | `PUT /v1/disclosures/{id}` | publish, for its authority | publishes or replaces it |
//! | `POST /v1/disclosures/{id}/repair` | publish, for its authority | `{"note","repaired_on"?,"obligations_met","pledge"}`: ends a penalty's publication early |
//!
//! The reads are public: they need no key, even on a server with keys, so
//! that the one-stop query (一站式查询) works for anyone. The public sees a
//! disclosure only while it is public ([`crate::disclosure::Shown`]):
//! licences always, a penalty inside its window and not repaired, a minor
//! penalty never; identity numbers and persons' names come masked. A
//! request that presents a key is authenticated: the key's own
//! authorities' disclosures (all of them, for an operator or admin) are
//! shown whatever their window, and a key with personal data sees it. An
//! open server (no keys) is trusted on loopback and shows everything.
//!
//! A repair refused by the rules is 409 with `error.possible_from` when
//! time is what is missing.

use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;

use super::errors::{Answer, Code, Refusal, store_failed};
use super::lifecycle::{
    day, decode, invalid, object, put_answer, read_body, record, text, with_path_id,
};
use super::query::{Query, optional, parse_query};
use super::routes::{Disclosures, Params};
use super::served::{Served, blocking};
use super::{Handled, Reply, json_ok, json_reply};
use crate::audit::Event;
use crate::date::Date;
use crate::disclosure::{DisclosureKind, DisclosureRecord, Published, Shown};
use crate::engine::RepairError;
use crate::id::SubjectKey;
use crate::model::Note;
use crate::store::{DisclosureScan, WriteError};

/// The query parameters of `GET /v1/disclosures`.
pub(super) const LIST_PARAMS: [&str; 6] = ["subject", "authority", "kind", "from", "to", "limit"];

/// Disclosures a query returns unless it asks for fewer.
const DEFAULT_LIMIT: usize = 100;
/// Most disclosures a query returns.
pub const MAX_LIMIT: usize = 1000;
/// Most disclosures one query reads before it answers with what it found
/// (`complete: false`): narrow it by date.
const READ_AT_MOST: usize = 100_000;

/// What the caller may see.
struct Sight {
    /// Every disclosure, whatever its window (an open server, an operator
    /// or admin key).
    all: bool,
    /// The authorities whose disclosures it sees whatever their window.
    authorities: Vec<String>,
    /// Whether personal data is masked.
    masks: bool,
}

impl Sight {
    fn of(served: &Served, open: bool) -> Sight {
        use crate::access::Role;
        match &served.caller.key {
            None => Sight {
                all: open,
                authorities: Vec::new(),
                masks: !open,
            },
            Some(key) => Sight {
                all: key.roles.contains(&Role::Admin) || key.roles.contains(&Role::Operator),
                authorities: if key.roles.contains(&Role::Publish) {
                    key.authorities.clone()
                } else {
                    Vec::new()
                },
                masks: !key.sees_personal(),
            },
        }
    }

    /// Whether the caller sees `p` on `today`.
    fn sees(&self, served: &Served, p: &Published) -> bool {
        self.all
            || self.authorities.contains(&p.disclosure.authority)
            || p.disclosure.shown(served.engine.catalog(), served.today) == Shown::Public
    }

    fn shown(&self, mut value: serde_json::Value) -> serde_json::Value {
        if self.masks {
            crate::access::mask_json(&mut value);
        }
        value
    }
}

/// The disclosure id a route's path names, decoded (`""` for the query).
pub(super) fn path_id(endpoint: Disclosures, params: Params<'_>) -> Result<String, Refusal> {
    match endpoint {
        Disclosures::List => Ok(String::new()),
        _ => decode(params.get(0)),
    }
}

/// Answers a disclosures route; `id` from [`path_id`], `open` for a server
/// without keys.
pub(super) fn start(
    served: Served,
    req: Request<Incoming>,
    endpoint: Disclosures,
    id: String,
    open: bool,
) -> Handled {
    match endpoint {
        Disclosures::List => {
            let answer = list(&served, req.uri().query(), open);
            served.now(answer)
        }
        Disclosures::Get => {
            let answer = get(&served, &id, req.uri().query(), open);
            served.now(answer)
        }
        Disclosures::Put | Disclosures::Repair => {
            let inner = Arc::new(served.detach());
            served.later(async move {
                let body = read_body(req.into_body()).await?;
                let writer = inner.clone();
                let answer = blocking("the write", move || {
                    if endpoint == Disclosures::Put {
                        put(&writer, &id, &body)
                    } else {
                        repair(&writer, &id, &body)
                    }
                })
                .await;
                let (reply, subject) = answer?;
                inner.audit(Event::Write, subject, reply.status().as_u16());
                Ok(reply)
            })
        }
    }
}

fn list(served: &Served, query: Option<&str>, open: bool) -> Answer {
    let q: Query<'_> = parse_query(query, &LIST_PARAMS)?;
    let subject = optional(&q, "subject", |raw| {
        SubjectKey::parse(raw.trim()).map_err(|e| e.to_string())
    })
    .map_err(|Refusal(_, m, why)| Refusal(Code::InvalidId, m, why))?;
    let authority = q.get("authority").map(str::trim).filter(|a| !a.is_empty());
    let kind = optional(&q, "kind", |raw| {
        DisclosureKind::parse(raw.trim()).ok_or_else(|| "expected licence or penalty".to_string())
    })?;
    let date = |name: &'static str| {
        optional(&q, name, |raw| {
            raw.trim().parse::<Date>().map_err(|e| e.to_string())
        })
        .map_err(|Refusal(_, m, why)| Refusal(Code::InvalidDate, m, why))
    };
    let (from, to) = (date("from")?, date("to")?);
    if let (Some(f), Some(t)) = (from, to)
        && f > t
    {
        return Err(Refusal::new(
            Code::InvalidParameter,
            format!("parameter \"from\": {f} is after \"to\" {t}"),
        ));
    }
    let limit = optional(&q, "limit", |raw| match raw.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from 1 to {MAX_LIMIT}")),
    })?
    .unwrap_or(DEFAULT_LIMIT);
    let sight = Sight::of(served, open);
    let engine = &served.engine;
    let filter = crate::disclosure::Filter {
        authority: authority.map(str::to_string),
        kind,
        from,
        to,
    };
    let wanted = |p: &Published| filter.admits(p) && sight.sees(served, p);
    let (found, complete) = match subject {
        Some(key) => {
            let mut all: Vec<Published> = engine
                .store()
                .disclosures_of(key)
                .map_err(store_failed)?
                .into_iter()
                .filter(|p| wanted(p))
                .collect();
            let complete = all.len() <= limit;
            all.sort_by(crate::disclosure::newest_first);
            all.truncate(limit);
            (all, complete)
        }
        None => {
            let scanned = engine
                .scan_disclosures(&DisclosureScan {
                    from,
                    to,
                    wanted: &wanted,
                    limit,
                    read_at_most: READ_AT_MOST,
                })
                .map_err(store_failed)?;
            (scanned.found, scanned.complete)
        }
    };
    served.audit(Event::Read, subject, 200);
    let out: Vec<_> = found
        .iter()
        .map(|p| engine.disclosure_out(p, served.today))
        .collect();
    Ok(json_ok(&sight.shown(serde_json::json!({
        "disclosures": out,
        "complete": complete,
        "today": served.today,
    }))))
}

fn unknown(id: &str) -> Refusal {
    Refusal::new(
        Code::UnknownDisclosure,
        format!("the platform shows no disclosure {id:?}"),
    )
}

fn get(served: &Served, id: &str, query: Option<&str>, open: bool) -> Answer {
    parse_query(query, &[])?;
    let engine = &served.engine;
    let sight = Sight::of(served, open);
    let p = engine
        .disclosure(id)
        .map_err(store_failed)?
        .filter(|p| sight.sees(served, p))
        .ok_or_else(|| unknown(id))?;
    let history: Vec<_> = engine
        .store()
        .history_of(p.disclosure.subject)
        .map_err(store_failed)?
        .iter()
        .filter(|c| c.kind.is_disclosure() && c.entry_id.as_deref() == Some(id))
        .map(|c| {
            serde_json::json!({
                "seq": c.seq,
                "change": c.kind.as_str(),
                "time": Date::cst_timestamp(c.at_ms),
                "note": c.note,
            })
        })
        .collect();
    served.audit(Event::Read, Some(p.disclosure.subject), 200);
    Ok(json_ok(&sight.shown(serde_json::json!({
        "disclosure": engine.disclosure_out(&p, served.today),
        "history": history,
    }))))
}

/// Publishes one disclosure: the path's id, the key's authority (the
/// stored one's too), a linked entry that exists, is on the black list and
/// lists the same counterpart.
fn put(served: &Served, id: &str, body: &[u8]) -> Result<(Reply, Option<SubjectKey>), Refusal> {
    let engine = &*served.engine;
    let caller = &served.caller;
    let map = with_path_id(object(body)?, "disclosure_id", id)?;
    let record: DisclosureRecord = record(map, "")?;
    let disclosure = record
        .validate(engine.catalog(), served.today)
        .map_err(invalid)?;
    caller.may_publish_for(&disclosure.authority)?;
    if let Some(stored) = engine.disclosure(id).map_err(store_failed)? {
        caller.may_publish_for(&stored.disclosure.authority)?;
    }
    if let Some(entry_id) = &disclosure.entry_id {
        let entry = engine
            .store()
            .entry(entry_id, engine.catalog())
            .map_err(store_failed)?
            .ok_or_else(|| {
                Refusal::new(
                    Code::InvalidBody,
                    format!("field \"entry_id\": the platform has no entry {entry_id:?}"),
                )
            })?;
        if entry.list != crate::model::ListKind::Black {
            return Err(Refusal::new(
                Code::InvalidBody,
                format!(
                    "field \"entry_id\": {entry_id} is on the red list; a penalty links a black-list entry"
                ),
            ));
        }
        if entry.subject != disclosure.subject {
            return Err(Refusal::new(
                Code::InvalidBody,
                format!(
                    "field \"entry_id\": {entry_id} lists {}, not the counterpart {}",
                    entry.subject, disclosure.subject
                ),
            ));
        }
    }
    let key = disclosure.subject;
    let (applied, changes) = engine
        .put_disclosures(vec![disclosure])
        .map_err(super::lifecycle::write_failed)?;
    let reply = put_answer(served, applied, &changes, served.today)?;
    Ok((reply, Some(key)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepairBody {
    note: String,
    repaired_on: Option<Date>,
    obligations_met: bool,
    pledge: bool,
}

fn repair(served: &Served, id: &str, body: &[u8]) -> Result<(Reply, Option<SubjectKey>), Refusal> {
    let engine = &*served.engine;
    let b: RepairBody = record(object(body)?, "")?;
    let note = Note {
        on: day("repaired_on", b.repaired_on, served.today)?,
        note: text("note", &b.note)?,
    };
    let stored = engine
        .disclosure(id)
        .map_err(store_failed)?
        .ok_or_else(|| unknown(id))?;
    served
        .caller
        .may_publish_for(&stored.disclosure.authority)?;
    match engine.repair_disclosure(id, note, b.obligations_met, b.pledge) {
        Ok((published, change)) => {
            let out = serde_json::json!({
                "disclosure": engine.disclosure_out(&published, served.today),
                "change": engine.change_out(&change, served.today).map_err(store_failed)?,
            });
            let subject = published.disclosure.subject;
            Ok((json_ok(&served.caller.shown(&out)), Some(subject)))
        }
        Err(RepairError::Refused(r)) => {
            let body = serde_json::json!({"error": {
                "code": Code::Conflict.name(),
                "message": r.message,
                "possible_from": r.possible_from,
            }});
            let reply = json_reply(
                StatusCode::CONFLICT,
                serde_json::to_vec(&body).unwrap_or_default(),
            );
            Ok((reply, Some(stored.disclosure.subject)))
        }
        Err(RepairError::Write(WriteError::NoEntry(_))) => Err(unknown(id)),
        Err(RepairError::Write(e)) => Err(super::lifecycle::write_failed(e)),
    }
}

/// The disclosure routes' bodies read as [`put`] and [`repair`] read them,
/// and what follows from a valid record (window, timeliness, the repair
/// rule), nothing written: for the fuzzing harness.
pub(super) fn read_bodies(
    map: serde_json::Map<String, serde_json::Value>,
    catalog: &crate::catalog::Catalog,
    today: Date,
) {
    if let Ok(d) = with_path_id(map.clone(), "disclosure_id", "FUZZ-1")
        .and_then(|m| record::<DisclosureRecord>(m, ""))
        .map(|r| r.validate(catalog, today))
        && let Ok(d) = d
    {
        let calendar = crate::calendar::WorkCalendar::bundled();
        let _ = (
            d.window(catalog),
            d.shown(catalog, today),
            d.timeliness(&calendar),
        );
        let _ = d.may_repair(catalog, today, true, true);
    }
    if let Ok(b) = record::<RepairBody>(map, "") {
        let _ = (
            day("repaired_on", b.repaired_on, today),
            text("note", &b.note),
        );
    }
}
