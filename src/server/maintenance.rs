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
//! A failure is logged and retried on the next turn; it never stops the
//! server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::date::DayClock;
use crate::engine::Engine;

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
    pub fn start(engine: Arc<Engine>, clock: Arc<DayClock>) -> Maintenance {
        let stop = Arc::new(AtomicBool::new(false));
        let mut swept = None;
        let today = clock.today(Instant::now());
        match engine.sweep_expired(today) {
            Ok(lapsed) => {
                swept = Some(today);
                if !lapsed.is_empty() {
                    eprintln!(
                        "creditgate: {} entries lapsed since the last start",
                        lapsed.len()
                    );
                }
            }
            Err(e) => eprintln!("creditgate: expiry sweep failed (retried): {e}"),
        }
        let mut threads = Vec::new();
        let names = {
            let (engine, stop) = (engine.clone(), stop.clone());
            move || {
                // Holds no lock others wait for; see `priority`.
                crate::priority::lower_priority();
                while !sleep_unless_stopped(&stop, NAMES_EVERY) {
                    if let Err(e) = engine.refresh_names() {
                        eprintln!("creditgate: name index refresh failed (retried): {e}");
                    }
                }
            }
        };
        let expiry = {
            let stop = stop.clone();
            move || {
                while !sleep_unless_stopped(&stop, DATE_EVERY) {
                    let today = clock.today(Instant::now());
                    if swept == Some(today) {
                        continue;
                    }
                    match engine.sweep_expired(today) {
                        Ok(_) => swept = Some(today),
                        Err(e) => eprintln!("creditgate: expiry sweep failed (retried): {e}"),
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
                Err(e) => eprintln!("creditgate: cannot start {name}: {e}"),
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
