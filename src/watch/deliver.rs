//! The delivery worker: POSTs each watch's changes to its callback, in
//! order, at least once.
//!
//! One thread of its own runs a single-threaded runtime as a batch thread
//! at nice 10 ([`crate::priority::batch_in_background`]): waking at every
//! commit, it never preempts a worker serving checks, and takes only what
//! the checks leave of the cores; it reads the change log from the store,
//! never through the check path's snapshot. Each watch with a callback is
//! one task: it reads the next page of its changes after its cursor
//! ([`super::Watch::concerns`]), POSTs them one at a time, and moves its
//! cursor after each acknowledged POST (written, not synced: a cursor is
//! never ahead of what the receiver acknowledged, so a write lost to a
//! power cut only sends changes again). After a
//! `kill -9` delivery resumes after the last acknowledged change, so a
//! receiver may see the change in flight again (the `X-Creditgate-Delivery`
//! header lets it drop the duplicate), and never misses one.
//!
//! A failed POST is retried after 1 s, then 2 s, 4 s… up to 5 minutes
//! between tries. After 8 failed tries the change is filed as a dead letter
//! (`GET /v1/watches/{id}/dead-letters`) and delivery moves on to the next
//! change: one change a receiver cannot take does not hold up the rest.
//! A watch whose key is revoked or removed is paused until the key is back;
//! one made on a server without keys is paused on a server with them.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio_rustls::TlsConnector;

use super::callback::{self, Callback};
use super::sign;
use super::{Watch, Watches};
use crate::date::{Date, epoch_ms};
use crate::engine::ChangeOut;
use crate::store::watches::DeadLetter;

/// How delivery retries.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// Callbacks may reach loopback, private and link-local addresses.
    pub allow_private: bool,
    /// Tries per change before it becomes a dead letter.
    pub attempts: u32,
    /// The wait after the first failure; each further failure doubles it.
    pub first_backoff: Duration,
    /// The longest wait between tries.
    pub max_backoff: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> DeliveryOptions {
        DeliveryOptions {
            allow_private: false,
            attempts: 8,
            first_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(300),
        }
    }
}

impl DeliveryOptions {
    /// The wait after the `failures`th failure in a row.
    pub fn backoff(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Whether a key may still be delivered to: `Ok(masks)`, whether its
/// answers mask personal data, or `Err(why)` it is paused.
pub type KeyCheck = Arc<dyn Fn(&str) -> Result<bool, String> + Send + Sync>;

/// Changes read per page.
const PAGE: usize = 64;
/// Longest wait for a commit before a watch looks again (its key may
/// have come back).
const IDLE: Duration = Duration::from_secs(30);

/// The running worker; dropping it stops delivery.
pub struct Delivery {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Delivery {
    /// Starts delivering every watch of `watches` with a callback, and
    /// every one created later.
    pub fn start(
        watches: Arc<Watches>,
        options: DeliveryOptions,
        keys: Option<KeyCheck>,
    ) -> std::io::Result<Delivery> {
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let thread = std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || {
                crate::priority::batch_in_background();
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        tracing::error!(error = %e, "webhook delivery could not start");
                        return;
                    }
                };
                rt.block_on(run(watches, options, keys, stopped));
            })?;
        Ok(Delivery {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

impl Drop for Delivery {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

struct Context {
    watches: Arc<Watches>,
    options: DeliveryOptions,
    keys: Option<KeyCheck>,
    tls: TlsConnector,
}

async fn run(
    watches: Arc<Watches>,
    options: DeliveryOptions,
    keys: Option<KeyCheck>,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    // Taken before listing: a watch created in between is in both, and
    // started once.
    let Some(mut added) = watches.take_added() else {
        tracing::error!("webhook delivery started twice over the same watches");
        return;
    };
    let context = Arc::new(Context {
        tls: callback::tls(),
        watches: watches.clone(),
        options,
        keys,
    });
    let mut started = std::collections::HashSet::new();
    let mut tasks = tokio::task::JoinSet::new();
    for watch in watches.with_callbacks() {
        started.insert(watch.record.id.clone());
        tasks.spawn(deliver(context.clone(), watch));
    }
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            watch = added.recv() => match watch {
                Some(watch) => {
                    if started.insert(watch.record.id.clone()) {
                        tasks.spawn(deliver(context.clone(), watch));
                    }
                }
                None => break,
            },
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.abort_all();
}

impl Watch {
    fn set_status(&self, f: impl FnOnce(&mut super::DeliveryStatus)) {
        f(&mut self.status.lock().unwrap_or_else(|p| p.into_inner()));
    }

    fn is_deleted(&self) -> bool {
        self.deleted.load(Ordering::Acquire)
    }

    /// Sleeps `wait`, or less when the watch is deleted or woken.
    async fn pause(&self, wait: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = self.wake.notified() => {}
        }
    }
}

/// Moves the watch's cursor (and files a dead letter), retrying a failed
/// write until it lands or the watch is deleted: delivery never moves on
/// past a change whose acknowledgement is not written.
async fn advance(context: &Context, watch: &Watch, seq: u64, dead: Option<&DeadLetter>) -> bool {
    let store = context.watches.engine().store();
    loop {
        let written = {
            let _writing = watch.writing.lock().unwrap_or_else(|p| p.into_inner());
            if watch.is_deleted() {
                return false;
            }
            store.advance_watch(&watch.record.id, seq, dead)
        };
        match written {
            Ok(()) => {
                watch.cursor.store(seq, Ordering::Release);
                return true;
            }
            Err(e) => {
                tracing::error!(watch = %watch.record.id, error = %e, "a watch's cursor could not be written; retrying");
                watch.pause(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Delivers one watch until it is deleted.
async fn deliver(context: Arc<Context>, watch: Arc<Watch>) {
    let engine = context.watches.engine().clone();
    let Some(Ok(callback)) = watch.record.callback.as_deref().map(Callback::parse) else {
        watch.set_status(|s| s.paused = Some("the callback URL does not parse".into()));
        return;
    };
    let mut commits = engine.watch_changes();
    let mut link = None;
    while !watch.is_deleted() {
        let masks = match (&context.keys, &watch.record.key) {
            (Some(check), Some(key)) => check(key),
            // Made on an open server, now served with keys: no key owns it,
            // and nothing says what it may see.
            (Some(_), None) => Err(
                "created on a server without keys; this one has keys: create it again with a key"
                    .to_string(),
            ),
            (None, _) => Ok(false),
        };
        let masks = match masks {
            Ok(masks) => {
                watch.set_status(|s| s.paused = None);
                masks
            }
            Err(why) => {
                watch.set_status(|s| s.paused = Some(why));
                watch.pause(IDLE).await;
                continue;
            }
        };
        let since = watch.cursor.load(Ordering::Acquire);
        let page = engine.changes_where(since, PAGE, Date::today(), |c| watch.concerns(&engine, c));
        let page = match page {
            Ok(page) => page,
            Err(e) => {
                tracing::error!(watch = %watch.record.id, error = %e, "reading a watch's changes failed");
                watch.pause(Duration::from_secs(1)).await;
                continue;
            }
        };
        for change in &page.changes {
            let Some(dead) =
                deliver_one(&context, &watch, &callback, &mut link, change, masks).await
            else {
                return; // deleted
            };
            if !advance(&context, &watch, change.seq, dead.as_ref()).await {
                return;
            }
            let totals = &context.watches;
            match dead {
                Some(_) => totals.dead_lettered.fetch_add(1, Ordering::Relaxed),
                None => totals.delivered.fetch_add(1, Ordering::Relaxed),
            };
            watch.set_status(|s| match dead {
                Some(_) => s.dead_lettered += 1,
                None => s.delivered += 1,
            });
        }
        // Changes passed over that concern the watch not: no need to read
        // them again after a restart.
        if page.next_since > watch.cursor.load(Ordering::Acquire)
            && !advance(&context, &watch, page.next_since, None).await
        {
            return;
        }
        if page.changes.is_empty() && page.next_since >= page.last_seq {
            let read = page.next_since;
            tokio::select! {
                _ = commits.wait_for(|next| *next > read + 1) => {}
                _ = watch.wake.notified() => {}
                _ = tokio::time::sleep(IDLE) => {}
            }
        }
    }
}

/// POSTs one change until the receiver takes it or the tries run out:
/// `Some(None)` delivered, `Some(Some(dead))` given up, `None` the watch
/// was deleted meanwhile.
async fn deliver_one(
    context: &Context,
    watch: &Watch,
    callback: &Callback,
    link: &mut Option<callback::Link>,
    change: &ChangeOut,
    masks: bool,
) -> Option<Option<DeadLetter>> {
    let mut shown = serde_json::to_value(change).unwrap_or_default();
    if masks {
        crate::access::mask_json(&mut shown);
    }
    let body = Bytes::from(
        serde_json::to_vec(&serde_json::json!({
            "watch_id": watch.record.id,
            "change": shown,
        }))
        .unwrap_or_default(),
    );
    let options = &context.options;
    let mut failures = 0;
    loop {
        if watch.is_deleted() {
            return None;
        }
        let now_ms = epoch_ms();
        let headers = [
            (
                sign::SIGNATURE_HEADER,
                sign::signature(&watch.record.secret, now_ms / 1000, &body),
            ),
            (sign::DELIVERY_HEADER, change.seq.to_string()),
            (sign::WATCH_HEADER, watch.record.id.clone()),
        ];
        let result = callback::post(
            callback,
            link,
            options.allow_private,
            &context.tls,
            body.clone(),
            &headers,
        )
        .await;
        let attempted = Date::cst_timestamp(now_ms);
        match result {
            Ok(_) => {
                watch.set_status(|s| {
                    s.failures = 0;
                    s.last_attempt = Some(attempted);
                });
                return Some(None);
            }
            Err(error) => {
                failures += 1;
                context.watches.failed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(watch = %watch.record.id, seq = change.seq, failures, %error, "a webhook delivery failed");
                watch.set_status(|s| {
                    s.failures = failures;
                    s.last_error = Some(error.clone());
                    s.last_attempt = Some(attempted);
                });
                if failures >= options.attempts {
                    watch.set_status(|s| s.failures = 0);
                    return Some(Some(DeadLetter {
                        seq: change.seq,
                        attempts: failures,
                        error,
                        failed_ms: epoch_ms(),
                    }));
                }
                watch.pause(options.backoff(failures)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_ceiling() {
        let o = DeliveryOptions::default();
        let secs: Vec<u64> = (1..=10).map(|n| o.backoff(n).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]);
        assert_eq!(o.backoff(1000).as_secs(), 300);
    }
}
