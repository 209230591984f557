//! The replica's side: a task that reads the stream from the position after
//! the store's, applies each batch in order ([`Engine::apply_replicated`]),
//! and keeps following. A batch already applied is skipped, so restarting
//! anywhere is safe; a gap (the stream no longer holds the next position)
//! stops following with an error that says to bootstrap again.
//!
//! The same reading catches a primary up at start: batches the stream holds
//! beyond the store (a crash between the stream's acknowledgement and the
//! local write) are applied before the primary takes writes.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::Context;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use futures_util::StreamExt;

use super::ReplicationError;
use crate::engine::Engine;
use crate::store::Replicated;

/// What a follower has done, for `/healthz` and `/metrics`.
#[derive(Default)]
pub struct FollowStatus {
    /// The stream position applied.
    applied: AtomicU64,
    /// The stream's last position as last seen.
    last: AtomicU64,
    /// Batches applied since start.
    batches: AtomicU64,
    /// Why following stopped or is retrying, if it is.
    error: Mutex<Option<String>>,
}

impl FollowStatus {
    /// The stream position applied.
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Batches the stream holds that are not applied yet.
    pub fn lag(&self) -> u64 {
        self.last
            .load(Ordering::Acquire)
            .saturating_sub(self.applied())
    }

    /// Batches applied since start.
    pub fn batches(&self) -> u64 {
        self.batches.load(Ordering::Relaxed)
    }

    /// The last error, if following is failing.
    pub fn error(&self) -> Option<String> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set_error(&self, e: Option<String>) {
        *self.error.lock().unwrap_or_else(|p| p.into_inner()) = e;
    }
}

/// Reads the stream after the store's position and applies it: for ever
/// when `until` is `None` (a replica), else until position `until` is
/// applied (a primary catching up at start).
pub async fn apply_stream(
    engine: Arc<Engine>,
    js: Context,
    stream: String,
    status: Arc<FollowStatus>,
    until: Option<u64>,
) -> Result<(), ReplicationError> {
    let failed = |e: &dyn std::fmt::Display| ReplicationError::Stream {
        stream: stream.clone(),
        detail: e.to_string(),
    };
    status
        .applied
        .store(engine.store().stream_position(), Ordering::Release);
    loop {
        let from = engine.store().stream_position() + 1;
        if until.is_some_and(|u| from > u) {
            return Ok(());
        }
        let result: Result<(), ReplicationError> = async {
            let s = js.get_stream(&stream).await.map_err(|e| failed(&e))?;
            let consumer = s
                .create_consumer(pull::Config {
                    deliver_policy: DeliverPolicy::ByStartSequence {
                        start_sequence: from,
                    },
                    ack_policy: AckPolicy::None,
                    inactive_threshold: Duration::from_secs(60),
                    ..Default::default()
                })
                .await
                .map_err(|e| failed(&e))?;
            let mut messages = consumer.messages().await.map_err(|e| failed(&e))?;
            while let Some(message) = messages.next().await {
                let message = message.map_err(|e| failed(&e))?;
                let info = message.info().map_err(|e| failed(&e))?;
                let position = info.stream_sequence;
                status
                    .last
                    .store(position + info.pending, Ordering::Release);
                let have = engine.store().stream_position();
                if position <= have {
                    continue;
                }
                if position != have + 1 {
                    return Err(ReplicationError::Gap {
                        stream: stream.clone(),
                        wanted: have + 1,
                        found: position,
                    });
                }
                let batch = Replicated::decode(&message.payload)?;
                let (e, status2) = (engine.clone(), status.clone());
                tokio::task::spawn_blocking(move || {
                    e.apply_replicated(batch)?;
                    status2.applied.store(position, Ordering::Release);
                    status2.batches.fetch_add(1, Ordering::Relaxed);
                    Ok::<_, ReplicationError>(())
                })
                .await
                .map_err(|e| failed(&e))??;
                status.set_error(None);
                if until.is_some_and(|u| position >= u) {
                    return Ok(());
                }
            }
            Err(failed(&"the stream's messages ended"))
        }
        .await;
        match result {
            Ok(()) => return Ok(()),
            // A batch that does not follow this store: retrying cannot help.
            Err(e @ (ReplicationError::Store(_) | ReplicationError::Gap { .. })) => {
                status.set_error(Some(e.to_string()));
                return Err(e);
            }
            Err(e) => {
                status.set_error(Some(e.to_string()));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
