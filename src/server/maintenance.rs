//! The server's background work: the name index follows the change log,
//! and entries whose term ended are reported to the feed.
//!
//! Two threads, both stopped (and joined) before the store is closed:
//! * **names**: every second, [`Engine::refresh_names`] indexes the subjects
//!   written since the last refresh, so a write shows in `/v1/search`
//!   within a couple of seconds (the issue allows five). Searches keep using
//!   the previous index until the new one is swapped in. The thread runs
//!   under `SCHED_IDLE` (`priority`): when checks keep both cores busy,
//!   they come first and search visibility waits.
//! * **expiry**: at start and whenever the date (China Standard Time) turns,
//!   [`Engine::sweep_expired`] logs one `entry_expired` change per entry
//!   that lapsed. Decisions do not wait for it: an entry stops counting on
//!   its `expires_at` whatever the sweep has done.
//!
//! * **keys**: every second, the keys file is read again when its
//!   modification time changed, so a key made or revoked with
//!   `creditgate keys` takes effect within a second. A file that cannot be
//!   read keeps the keys in force.
//! * **audit retention**: when the date turns, audit segments older than
//!   the retention are deleted.
//!
//! A failure is logged and retried on the next turn; it never stops the
//! server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use std::path::PathBuf;

use arc_swap::ArcSwap;

use crate::access::{Keyring, KeysFile};
use crate::audit::AuditLog;
use crate::date::DayClock;
use crate::engine::Engine;

/// What else the server keeps up beside the engine.
#[derive(Default)]
pub struct Upkeep {
    /// The keys file and the ring it is loaded into.
    pub keys: Option<(PathBuf, Arc<ArcSwap<Keyring>>)>,
    /// The audit log, pruned to the retention.
    pub audit: Option<Arc<AuditLog>>,
    /// Days of audit kept.
    pub audit_retention_days: u32,
    /// Whether this node writes (the expiry sweep, settling a write the
    /// replicated log may hold); a read replica does not: its writes come
    /// from the primary's log.
    pub writes: bool,
}

fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

fn prune(audit: &AuditLog, today: crate::date::Date, days: u32) {
    let first_kept = crate::date::Date::from_days(today.days() - days as i32);
    match audit.prune(first_kept.start_ms()) {
        Ok(0) => {}
        Ok(n) => tracing::info!("audit: {n} hourly segments before {first_kept} deleted"),
        Err(e) => tracing::warn!("audit pruning failed (retried): {e}"),
    }
}

/// How often the name index catches up.
const NAMES_EVERY: Duration = Duration::from_secs(1);
/// How often the expiry thread looks at the date.
const DATE_EVERY: Duration = Duration::from_secs(1);

/// The running background threads.
pub struct Maintenance {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts the threads over `engine`, dates from `clock`. The first expiry
    /// sweep runs before this returns, so the feed is current when the
    /// server starts answering.
    pub fn start(engine: Arc<Engine>, clock: Arc<DayClock>, upkeep: Upkeep) -> Maintenance {
        let stop = Arc::new(AtomicBool::new(false));
        let mut swept = None;
        let today = clock.today(Instant::now());
        match if upkeep.writes {
            engine.sweep_expired(today)
        } else {
            Ok(Vec::new())
        } {
            Ok(lapsed) => {
                swept = Some(today);
                if !lapsed.is_empty() {
                    tracing::info!("{} entries lapsed since the last start", lapsed.len());
                }
            }
            Err(e) => tracing::warn!("expiry sweep failed (retried): {e}"),
        }
        let mut threads = Vec::new();
        let names = {
            let (engine, stop) = (engine.clone(), stop.clone());
            move || {
                // Holds no lock others wait for; see `priority`.
                crate::priority::lower_priority();
                while !sleep_unless_stopped(&stop, NAMES_EVERY) {
                    if let Err(e) = engine.refresh_names() {
                        tracing::warn!("name index refresh failed (retried): {e}");
                    }
                }
            }
        };
        if let Some(audit) = &upkeep.audit {
            prune(audit, today, upkeep.audit_retention_days);
        }
        let expiry = {
            let stop = stop.clone();
            let Upkeep {
                keys,
                audit,
                audit_retention_days,
                writes,
            } = upkeep;
            let mut keys_seen = keys.as_ref().and_then(|(path, _)| modified(path));
            move || {
                while !sleep_unless_stopped(&stop, DATE_EVERY) {
                    if let Some((path, ring)) = &keys {
                        let now = modified(path);
                        if now != keys_seen {
                            match KeysFile::load(path) {
                                Ok(file) => {
                                    ring.store(Arc::new(Keyring::reloaded(&file, &ring.load())));
                                    keys_seen = now;
                                    tracing::info!(
                                        "keys reloaded from {} ({} keys)",
                                        path.display(),
                                        file.keys.len()
                                    );
                                }
                                Err(e) => tracing::warn!(
                                    "keys file not reloaded, the previous keys stay: {e}"
                                ),
                            }
                        }
                    }
                    if writes && let Err(e) = engine.settle_pending() {
                        tracing::warn!(
                            "a write the replicated log may hold is not settled yet (retried): {e}"
                        );
                    }
                    let today = clock.today(Instant::now());
                    if swept == Some(today) {
                        continue;
                    }
                    // A replica's expiries come from the primary's log.
                    match if writes {
                        engine.sweep_expired(today).map(|_| ())
                    } else {
                        Ok(())
                    } {
                        Ok(()) => swept = Some(today),
                        Err(e) => tracing::warn!("expiry sweep failed (retried): {e}"),
                    }
                    if let Some(audit) = &audit {
                        prune(audit, today, audit_retention_days);
                    }
                }
            }
        };
        for (name, work) in [
            (
                "creditgate-names",
                Box::new(names) as Box<dyn FnOnce() + Send>,
            ),
            ("creditgate-expiry", Box::new(expiry)),
        ] {
            match std::thread::Builder::new().name(name.into()).spawn(work) {
                Ok(t) => threads.push(t),
                Err(e) => tracing::warn!("cannot start {name}: {e}"),
            }
        }
        Maintenance { stop, threads }
    }

    /// Stops the threads and waits for them (a refresh under way finishes).
    pub fn stop(self) {
        self.stop.store(true, Ordering::Release);
        for t in self.threads {
            let _ = t.join();
        }
    }
}

/// Sleeps `period` in short steps; whether `stop` was set.
fn sleep_unless_stopped(stop: &AtomicBool, period: Duration) -> bool {
    let step = Duration::from_millis(50);
    let mut slept = Duration::ZERO;
    while slept < period {
        if stop.load(Ordering::Acquire) {
            return true;
        }
        std::thread::sleep(step);
        slept += step;
    }
    stop.load(Ordering::Acquire)
}
