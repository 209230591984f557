//! The change feed over HTTP: `GET /v1/changes?since=SEQ`, what implementing
//! departments subscribe to (失信行为推送提示).
//!
//! Parameters: `since` (the last sequence the reader has; default 0, the
//! start of the log), `limit` (1–1000, default 100), `wait` (0–60 seconds,
//! default 0: a long poll waits that long for a change when there is none
//! yet), `category` and `authority` (only entries of that category code or
//! deciding department). The answer is `{"changes":[…],"next_since","last_seq"}`:
//! a reader passes `next_since` back as `since` and so reads every change
//! exactly once, after a disconnect too. With a filter, changes it leaves
//! out still move `next_since`, so a page may be empty while the reader
//! moves on.
//!
//! A long poll waits on the engine's watch of the next sequence, which
//! every commit moves; reading the log runs on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use super::errors::{Refusal, store_failed};
use super::query::{Query, optional, parse_query};
use super::served::{Caller, Served, blocking};
use super::{Handled, Reply, json_ok};
use crate::engine::{ChangeFilter, ChangesPage, Engine};

pub(super) const PARAMS: [&str; 5] = ["since", "limit", "wait", "category", "authority"];
/// Changes per page when no limit is given.
const DEFAULT_LIMIT: usize = 100;
/// Most changes per page.
const MAX_LIMIT: usize = 1000;
/// Longest long poll, in seconds.
pub const MAX_WAIT_SECS: u64 = 60;

/// A feed request's parameters.
struct Asked {
    since: u64,
    limit: usize,
    wait: Duration,
    filter: ChangeFilter,
}

fn parse(q: &Query<'_>, engine: &Engine) -> Result<Asked, Refusal> {
    let (since, limit, wait) = position(q)?;
    let since = since.unwrap_or(0);
    let category = optional(q, "category", |t| {
        let code = t.trim();
        match engine.catalog().category_by_code(code) {
            Some(_) => Ok(code.to_string()),
            None => Err(format!(
                "unknown category {code:?}; the catalog has: {}",
                engine.catalog().category_codes().join(", ")
            )),
        }
    })?;
    let authority = optional(q, "authority", |t| match t.trim() {
        "" => Err("must not be empty".to_string()),
        a => Ok(a.to_string()),
    })?;
    Ok(Asked {
        since,
        limit,
        wait,
        filter: ChangeFilter {
            category,
            authority,
        },
    })
}

/// Reads one page of a feed: the changes after `since`, at most `limit`.
pub(super) type PageReader = Arc<dyn Fn(u64, usize) -> Result<ChangesPage, Refusal> + Send + Sync>;

/// Answers `GET /v1/changes`.
pub(super) fn start(served: Served, query: Option<&str>) -> Handled {
    let asked = match parse_query(query, &PARAMS).and_then(|q| parse(&q, &served.engine)) {
        Ok(a) => a,
        Err(r) => return served.now(Err(r)),
    };
    let (engine, today) = (Arc::clone(&served.engine), served.today);
    let filter = asked.filter;
    let read: PageReader = Arc::new(move |since, limit| {
        engine
            .changes(since, limit, &filter, today)
            .map_err(store_failed)
    });
    long_poll(&served, asked.since, asked.limit, asked.wait, read)
}

/// Answers a feed request: the first page after `since` that has changes,
/// or, waiting up to `wait` for commits, an empty one.
pub(super) fn long_poll(
    served: &Served,
    since: u64,
    limit: usize,
    wait: Duration,
    read: PageReader,
) -> Handled {
    let (engine, caller) = (Arc::clone(&served.engine), served.caller.clone());
    served.later(async move { answer(engine, since, limit, wait, read, &caller).await })
}

/// The `since`, `limit` and `wait` parameters of a feed.
pub(super) fn position(q: &Query<'_>) -> Result<(Option<u64>, usize, Duration), Refusal> {
    let number = |text: &str, max: u64| -> Result<u64, String> {
        match text.trim().parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            Ok(n) => Err(format!("{n} is more than {max}")),
            Err(_) => Err(format!("{text:?} is not a whole number")),
        }
    };
    let since = optional(q, "since", |t| number(t, u64::MAX))?;
    let limit = optional(q, "limit", |t| match number(t, MAX_LIMIT as u64)? {
        0 => Err("must be at least 1".into()),
        n => Ok(n as usize),
    })?
    .unwrap_or(DEFAULT_LIMIT);
    let wait = optional(q, "wait", |t| number(t, MAX_WAIT_SECS))?.unwrap_or(0);
    Ok((since, limit, Duration::from_secs(wait)))
}

async fn answer(
    engine: Arc<Engine>,
    mut since: u64,
    limit: usize,
    wait: Duration,
    read: PageReader,
    caller: &Caller,
) -> Result<Reply, Refusal> {
    let deadline = tokio::time::Instant::now() + wait;
    // Subscribed before the first read: a commit after it wakes the wait.
    let mut commits = engine.watch_changes();
    loop {
        let r = read.clone();
        let page = blocking("reading the change log", move || r(since, limit)).await?;
        if !page.changes.is_empty() || tokio::time::Instant::now() >= deadline {
            return Ok(json_ok(&caller.shown(&page)));
        }
        since = page.next_since;
        // Wait for a commit past what was read, or the deadline.
        let read_up_to = since;
        let woke =
            tokio::time::timeout_at(deadline, commits.wait_for(|next| *next > read_up_to + 1));
        match woke.await {
            Ok(Ok(_)) => {}
            // Deadline, or the engine is gone: answer what there is.
            _ => return Ok(json_ok(&caller.shown(&page))),
        }
    }
}
