//! What operators ask of the platform itself (跟踪问效): `GET /v1/stats`
//! and `GET /v1/audit`, for keys with the `operator` role.
//!
//! * `GET /v1/stats[?from=&to=]`: entries by list, category, authority and
//!   status (derived as of today: `expired` and `pending` counted apart);
//!   objections open and overdue past their deadline; checks and denials by
//!   action and by key between `from` and `to` (days, China Standard Time,
//!   both included; default today).
//! * `GET /v1/audit[?subject=&key=&from=&to=&limit=]`: the audit records of
//!   the window, oldest first, at most `limit` (1–10,000, default 1,000),
//!   filtered by subject and key id.
//!
//! Both scan (the entries, the audit segments of the window) on the
//! blocking pool.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::errors::{Code, Refusal, store_failed};
use super::query::{Query, optional, refuse_unknown};
use super::served::{Caller, Served, blocking};
use super::{Handled, Reply, json_ok};
use crate::audit::{
    AuditLog, AuditQuery, Detail, Event, KEY_ID_BYTES, Outcome, Record, RefusedFor, key_bytes,
    key_text,
};
use crate::date::Date;
use crate::engine::Engine;
use crate::id::{SubjectKey, SubjectKind};
use crate::model::{EntryStatus, ListKind};

/// The query parameters of `/v1/stats`.
pub(super) const STATS_PARAMS: [&str; 2] = ["from", "to"];
/// The query parameters of `/v1/audit`.
pub(super) const AUDIT_PARAMS: [&str; 6] = ["subject", "key", "request", "from", "to", "limit"];

/// Most audit records one answer carries.
const MAX_AUDIT_LIMIT: usize = 10_000;

/// What was asked.
enum Asked {
    Stats {
        from_ms: u64,
        to_ms: u64,
        from: Date,
        to: Date,
    },
    Audit(AuditQuery, Date, Date),
}

fn window(q: &Query<'_>, today: Date) -> Result<(Date, Date), Refusal> {
    let day = |name: &str| {
        q.get(name)
            .map(|v| v.trim().parse::<Date>())
            .transpose()
            .map_err(|e| Refusal::new(Code::InvalidDate, format!("parameter {name:?}: {e}")))
    };
    let from = day("from")?.unwrap_or(today);
    let to = day("to")?.unwrap_or_else(|| today.max(from));
    if to < from {
        return Err(Refusal::new(
            Code::InvalidParameter,
            format!("parameter \"to\": {to} is before \"from\" {from}"),
        ));
    }
    Ok((from, to))
}

fn parse(path: &str, q: &Query<'_>, today: Date) -> Result<Asked, Refusal> {
    if path == "/v1/stats" {
        refuse_unknown(q, &STATS_PARAMS)?;
        let (from, to) = window(q, today)?;
        return Ok(Asked::Stats {
            from_ms: from.start_ms(),
            to_ms: Date::from_days(to.days() + 1).start_ms(),
            from,
            to,
        });
    }
    refuse_unknown(q, &AUDIT_PARAMS)?;
    let (from, to) = window(q, today)?;
    let subject = optional(q, "subject", |t| {
        SubjectKey::parse(t).map_err(|e| e.to_string())
    })?;
    let key = optional(q, "key", |t| {
        let t = t.trim();
        let bytes = key_bytes(t);
        if bytes == [0; crate::audit::KEY_ID_BYTES] {
            Err(format!("{t:?} is not a key id (12 hexadecimal characters)"))
        } else {
            Ok(bytes)
        }
    })?;
    let request = optional(q, "request", |t| {
        super::request_id::RequestId::parse(t.trim())
            .map(super::request_id::RequestId::get)
            .ok_or_else(|| {
                format!("{t:?} is not a request id (the 10 hexadecimal digits of X-Request-Id)")
            })
    })?;
    let limit = optional(q, "limit", |t| match t.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_AUDIT_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from 1 to {MAX_AUDIT_LIMIT}"
        )),
    })?
    .unwrap_or(1000);
    Ok(Asked::Audit(
        AuditQuery {
            from_ms: from.start_ms(),
            to_ms: Date::from_days(to.days() + 1).start_ms(),
            subject,
            key,
            request,
            limit,
        },
        from,
        to,
    ))
}

/// Answers `GET /v1/stats` or `GET /v1/audit` (`path`).
pub(super) fn start(served: Served, path: &str, query: Option<&str>) -> Handled {
    let asked = match Query::parse(query)
        .map_err(|e| Refusal::new(Code::BadQuery, e.to_string()))
        .and_then(|q| parse(path, &q, served.today))
    {
        Ok(a) => a,
        Err(r) => return served.now(Err(r)),
    };
    let (engine, audit, caller, today) = (
        Arc::clone(&served.engine),
        served.audit.as_ref().clone(),
        served.caller.clone(),
        served.today,
    );
    served.later(async move {
        let work = move || answer(&engine, audit.as_deref(), asked, today, &caller);
        blocking("computing the answer", work).await
    })
}

fn audit_failed(e: std::io::Error) -> Refusal {
    let code = Code::AuditError;
    Refusal::new(code, code.logged("reading the audit log", &e))
}

fn no_audit() -> Refusal {
    Refusal::new(
        Code::AuditOff,
        "this server keeps no audit log (started with --no-audit)",
    )
}

fn answer(
    engine: &Engine,
    audit: Option<&AuditLog>,
    asked: Asked,
    today: Date,
    caller: &Caller,
) -> Result<Reply, Refusal> {
    let catalog = engine.catalog();
    let action_code = |a: Option<u8>| {
        a.map(|a| {
            catalog
                .actions()
                .get(usize::from(a))
                .map_or("?", |x| x.code.as_str())
        })
    };
    match asked {
        Asked::Audit(q, from, to) => {
            let log = audit.ok_or_else(no_audit)?;
            let records = log.query(&q).map_err(audit_failed)?;
            let out: Vec<Value> = records
                .iter()
                .map(|r| {
                    let mut record = json!({
                        "time": Date::cst_timestamp(r.at_ms),
                        "at_ms": r.at_ms,
                        "key": key_text(&r.key),
                        "event": r.event.as_str(),
                        "action": action_code(r.action),
                        "decision": r.outcome.as_str(),
                        "subject_id": r.subject.map(|s| s.to_string()),
                        "status": r.status,
                    });
                    if r.request != 0 {
                        record["request_id"] =
                            json!(super::request_id::RequestId::from_u64(r.request).to_string());
                    }
                    match r.detail {
                        Detail::None => {}
                        Detail::Check {
                            unknown,
                            named,
                            name_mismatch,
                        } => {
                            if r.event == Event::Check {
                                record["known"] = json!(!unknown);
                            }
                            if named {
                                record["name_match"] = json!(!name_mismatch);
                            }
                        }
                        Detail::Refused { route, reason } => {
                            record["route"] = json!(route.and_then(super::routes::path_of));
                            record["reason"] = json!(reason.as_str());
                        }
                    }
                    record
                })
                .collect();
            let complete = out.len() < q.limit;
            Ok(json_ok(&caller.shown(&json!({
                "from": from, "to": to, "records": out, "complete": complete,
            }))))
        }
        Asked::Stats {
            from_ms,
            to_ms,
            from,
            to,
        } => {
            let mut by_list: BTreeMap<&str, u64> = BTreeMap::new();
            let mut by_category: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_authority: BTreeMap<String, u64> = BTreeMap::new();
            let mut by_status: BTreeMap<&str, u64> = BTreeMap::new();
            let (mut total, mut open, mut overdue) = (0u64, 0u64, 0u64);
            let mut overdue_entries = Vec::new();
            engine
                .store()
                .for_each_entry(catalog, |e| {
                    total += 1;
                    *by_list
                        .entry(match e.list {
                            ListKind::Black => "black",
                            ListKind::Red => "red",
                        })
                        .or_default() += 1;
                    *by_category
                        .entry(catalog.category(e.category).code.clone())
                        .or_default() += 1;
                    *by_authority.entry(e.authority.clone()).or_default() += 1;
                    let status = match e.status {
                        EntryStatus::Active if today < e.effective_from => "pending",
                        EntryStatus::Active if !e.in_term(today) => "expired",
                        s => s.as_str(),
                    };
                    *by_status.entry(status).or_default() += 1;
                    if e.status == EntryStatus::Disputed {
                        open += 1;
                        if let Some(o) = &e.lifecycle.objection
                            && o.outcome.is_none()
                            && today > o.deadline
                        {
                            overdue += 1;
                            if overdue_entries.len() < 100 {
                                overdue_entries.push(json!({
                                    "entry_id": e.entry_id, "authority": e.authority,
                                    "filed_on": o.filed_on, "deadline": o.deadline,
                                }));
                            }
                        }
                    }
                })
                .map_err(store_failed)?;
            let (checks, keys, refusals) = match audit {
                None => (Value::Null, Value::Null, Value::Null),
                Some(log) => {
                    let mut by_action: BTreeMap<String, (u64, u64)> = BTreeMap::new();
                    let mut by_key: BTreeMap<String, (u64, u64)> = BTreeMap::new();
                    let (mut checks, mut denials) = (0u64, 0u64);
                    // Per day (China Standard Time), for the console's chart.
                    let mut by_day: BTreeMap<String, (u64, u64)> = BTreeMap::new();
                    let mut by_day_action: BTreeMap<String, BTreeMap<String, (u64, u64)>> =
                        BTreeMap::new();
                    let mut callers = Callers::default();
                    log.scan(from_ms, to_ms, |r| {
                        callers.add(r);
                        if r.event == Event::Check {
                            let denied = u64::from(r.outcome == Outcome::Deny);
                            checks += 1;
                            denials += denied;
                            let date = Date::cst_timestamp(r.at_ms)[..10].to_string();
                            let action = action_code(r.action).unwrap_or("?").to_string();
                            let per_action = by_day_action
                                .entry(date.clone())
                                .or_default()
                                .entry(action)
                                .or_default();
                            per_action.0 += 1;
                            per_action.1 += denied;
                            let day = by_day.entry(date).or_default();
                            day.0 += 1;
                            day.1 += denied;
                            let a = by_action
                                .entry(action_code(r.action).unwrap_or("?").to_string())
                                .or_default();
                            a.0 += 1;
                            a.1 += denied;
                            let k = by_key
                                .entry(key_text(&r.key).unwrap_or_else(|| "open".into()))
                                .or_default();
                            k.0 += 1;
                            k.1 += denied;
                        }
                        true
                    })
                    .map_err(audit_failed)?;
                    let pairs = |m: BTreeMap<String, (u64, u64)>| -> Value {
                        m.into_iter()
                            .map(|(k, (c, d))| (k, json!({"checks": c, "denials": d})))
                            .collect::<serde_json::Map<_, _>>()
                            .into()
                    };
                    (
                        json!({"from": from, "to": to, "checks": checks, "denials": denials,
                               "by_action": pairs(by_action), "by_key": pairs(by_key),
                               "by_day": pairs(by_day),
                               "by_day_action": by_day_action.into_iter()
                                   .map(|(day, m)| (day, pairs(m)))
                                   .collect::<serde_json::Map<_, _>>()}),
                        callers.keys(),
                        callers.refusals(),
                    )
                }
            };
            let disclosures = disclosure_stats(engine)?;
            let feedback = feedback_stats(engine, today)?;
            Ok(json_ok(&json!({
                "at": today,
                "entries": {"total": total, "by_list": by_list, "by_category": by_category,
                            "by_authority": by_authority, "by_status": by_status},
                "objections": {"open": open, "overdue": overdue, "overdue_entries": overdue_entries},
                "checks": checks,
                "keys": keys,
                "refusals": refusals,
                "disclosures": disclosures,
                "feedback": feedback,
            })))
        }
    }
}

/// Most overdue decision ids a statistics answer lists.
const OVERDUE_LISTED: usize = 100;

/// Feedback the decisions demanded (执行反馈, 跟踪问效), per department and
/// action: decisions kept, answered, answered late, overdue (past their due
/// day without feedback) and pending (not yet due), and the oldest overdue
/// decisions by id, for the operator to chase.
fn feedback_stats(engine: &Engine, today: Date) -> Result<Value, Refusal> {
    #[derive(Default)]
    struct Tally {
        demanded: u64,
        answered: u64,
        late: u64,
        overdue: u64,
        pending: u64,
    }
    let mut by: BTreeMap<String, BTreeMap<String, Tally>> = BTreeMap::new();
    let mut overdue: Vec<(u64, String)> = Vec::new();
    let mut total = Tally::default();
    engine
        .store()
        .for_each_decision(|d| {
            let t = by
                .entry(d.department.clone())
                .or_default()
                .entry(d.action.clone())
                .or_default();
            for t in [&mut *t, &mut total] {
                t.demanded += 1;
                match &d.feedback {
                    Some(f) => {
                        t.answered += 1;
                        t.late += u64::from(f.late);
                    }
                    None if d.due_day < today.days() => t.overdue += 1,
                    None => t.pending += 1,
                }
            }
            if d.feedback.is_none() && d.due_day < today.days() {
                overdue.push((d.at_ms, d.id));
            }
            Ok(())
        })
        .map_err(store_failed)?;
    overdue.sort();
    let out = |t: &Tally| {
        json!({"demanded": t.demanded, "answered": t.answered, "late": t.late,
               "overdue": t.overdue, "pending": t.pending})
    };
    Ok(json!({
        "total": out(&total),
        "by_department": by.iter().map(|(dept, actions)| {
            (dept.clone(), actions.iter()
                .map(|(a, t)| (a.clone(), out(t)))
                .collect::<serde_json::Map<_, _>>().into())
        }).collect::<serde_json::Map<String, Value>>(),
        "overdue_decisions": overdue.iter().take(OVERDUE_LISTED).map(|(_, id)| id).collect::<Vec<_>>(),
    }))
}

/// 双公示 timeliness (跟踪问效): disclosures published and those more than 7
/// working days after their decision, per authority and kind, from the
/// tallies kept with every write.
fn disclosure_stats(engine: &crate::Engine) -> Result<Value, Refusal> {
    let tallies = engine.store().disclosure_tallies().map_err(store_failed)?;
    let (mut published, mut late) = (0u64, 0u64);
    let mut by_authority = serde_json::Map::new();
    for (authority, t) in tallies {
        let kinds = |n: [u64; 2]| json!({"licence": n[0], "penalty": n[1], "total": n[0] + n[1]});
        published += t.published.iter().sum::<u64>();
        late += t.late.iter().sum::<u64>();
        by_authority.insert(
            authority,
            json!({"published": kinds(t.published), "late": kinds(t.late)}),
        );
    }
    Ok(json!({"published": published, "late": late, "by_authority": by_authority}))
}

/// Distinct unknown identity numbers one key asked about that look the same
/// masked (division code and last four alike, birth dates differing) from
/// which the key is flagged as guessing hidden digits.
pub(super) const PROBE_IDS: usize = 20;
/// Named checks of known subjects whose name did not match, from which
/// (and at least [`MISMATCH_SHARE`] of its named checks of known subjects)
/// a key is flagged as guessing names.
pub(super) const MISMATCHES: u64 = 20;
/// See [`MISMATCHES`].
pub(super) const MISMATCH_SHARE: f64 = 0.2;
/// Masked forms tracked at most while looking for guessing; past it, the
/// figure says it is incomplete rather than use unbounded memory.
const PROBE_FORMS_TRACKED: usize = 1 << 21;

/// What one key did in the window, for the `keys` section of the statistics.
#[derive(Default)]
struct KeyFigures {
    checks: u64,
    unknown: u64,
    named_known: u64,
    mismatches: u64,
    refused: BTreeMap<&'static str, u64>,
    /// The masked form with the most distinct unknown identity numbers
    /// behind it, and how many.
    probe: Option<(String, usize)>,
}

/// Per-key figures from the audit records of a window: checks, unknown
/// subjects, failed name matches, refusals, and the guessing of hidden
/// digits (many unknown identity numbers behind one masked form).
#[derive(Default)]
struct Callers {
    by_key: BTreeMap<[u8; KEY_ID_BYTES], KeyFigures>,
    /// Per key and masked form (division code and last four): the distinct
    /// unknown identity numbers asked, up to [`PROBE_IDS`].
    forms: std::collections::HashMap<([u8; KEY_ID_BYTES], [u8; 10]), Vec<SubjectKey>>,
    /// More forms than [`PROBE_FORMS_TRACKED`] were seen.
    forms_overflowed: bool,
}

impl Callers {
    fn add(&mut self, r: &Record) {
        let figures = self.by_key.entry(r.key).or_default();
        match r.detail {
            Detail::Refused { reason, .. } => {
                *figures.refused.entry(reason.as_str()).or_default() += 1;
            }
            Detail::Check {
                unknown,
                named,
                name_mismatch,
            } if r.event == Event::Check => {
                figures.checks += 1;
                figures.unknown += u64::from(unknown);
                if named && !unknown {
                    figures.named_known += 1;
                    figures.mismatches += u64::from(name_mismatch);
                }
                let Some(subject) = r
                    .subject
                    .filter(|s| unknown && s.kind() == SubjectKind::Person)
                else {
                    return;
                };
                let id = subject.to_ascii();
                let mut form = [0u8; 10];
                form[..6].copy_from_slice(&id[..6]);
                form[6..].copy_from_slice(&id[14..]);
                let tracked = self.forms.len();
                let ids = match self.forms.entry((r.key, form)) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        if tracked >= PROBE_FORMS_TRACKED {
                            self.forms_overflowed = true;
                            return;
                        }
                        e.insert(Vec::new())
                    }
                };
                if ids.len() < PROBE_IDS && !ids.contains(&subject) {
                    ids.push(subject);
                    if figures.probe.as_ref().is_none_or(|(_, n)| ids.len() > *n) {
                        figures.probe =
                            Some((crate::access::mask_id(&subject.to_string()), ids.len()));
                    }
                }
            }
            _ => {}
        }
    }

    /// The `keys` section: per key, its figures and what they flag.
    fn keys(&self) -> Value {
        let mut out = serde_json::Map::new();
        for (key, f) in &self.by_key {
            let mut flags = Vec::new();
            if f.probe.as_ref().is_some_and(|(_, n)| *n >= PROBE_IDS) {
                flags.push("guessing_hidden_digits");
            }
            if f.mismatches >= MISMATCHES
                && f.mismatches as f64 >= MISMATCH_SHARE * f.named_known as f64
            {
                flags.push("guessing_names");
            }
            if f.refused.contains_key(RefusedFor::RateLimited.as_str())
                || f.refused.contains_key(RefusedFor::QuotaExhausted.as_str())
            {
                flags.push("over_limits");
            }
            let refused: u64 = f.refused.values().sum();
            out.insert(
                key_text(key).unwrap_or_else(|| "none".into()),
                json!({
                    "checks": f.checks,
                    "unknown_subjects": f.unknown,
                    "named_checks_of_known": f.named_known,
                    "name_mismatches": f.mismatches,
                    "most_alike_unknown_ids": f.probe.as_ref().map(|(form, n)| json!({"masked": form, "ids": n})),
                    "refused": refused,
                    "refused_by_reason": f.refused,
                    "flags": flags,
                }),
            );
        }
        json!({
            "by_key": out,
            "complete": !self.forms_overflowed,
            "thresholds": {
                "alike_unknown_ids": PROBE_IDS,
                "name_mismatches": MISMATCHES,
                "name_mismatch_share": MISMATCH_SHARE,
            },
        })
    }

    /// The `refusals` section: 401, 403 and 429 by reason.
    fn refusals(&self) -> Value {
        let mut by_reason: BTreeMap<&str, u64> = BTreeMap::new();
        for f in self.by_key.values() {
            for (reason, n) in &f.refused {
                *by_reason.entry(reason).or_default() += n;
            }
        }
        json!({"total": by_reason.values().sum::<u64>(), "by_reason": by_reason})
    }
}
