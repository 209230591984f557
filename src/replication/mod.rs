//! Replication over NATS JetStream: one primary appends every committed
//! batch to a replicated stream before it writes it locally ([`log`]); read
//! replicas apply the stream in order and keep following it ([`follow`]).
//!
//! The stream is the order of writes. Each message is one batch
//! ([`crate::store::Replicated`]) at the stream position it names: the
//! primary publishes position `p` with message id `p` and
//! `expected_last_sequence` `p − 1`, so a second writer is refused by the
//! stream, and a publish retried after a time-out is deduplicated (within
//! the stream's duplicate window) instead of stored twice. Every node keeps
//! its own RocksDB and in-memory indexes; a replica's store holds the same
//! bytes as the primary's at the same position.

pub mod follow;
pub mod log;

use std::time::Duration;

use async_nats::jetstream::{self, Context};

/// The stream's name when none is given.
pub const DEFAULT_STREAM: &str = "CREDITGATE";

/// How long a publish or a request to JetStream waits for its answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Why replication cannot start or go on.
#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    /// The NATS servers cannot be reached.
    #[error("cannot connect to NATS at {urls}: {detail}")]
    Connect {
        /// The servers tried.
        urls: String,
        /// The client's complaint.
        detail: String,
    },
    /// A JetStream request failed.
    #[error("JetStream stream {stream}: {detail}")]
    Stream {
        /// The stream.
        stream: String,
        /// What failed.
        detail: String,
    },
    /// The stream no longer holds the batch this store needs next.
    #[error(
        "JetStream stream {stream}: it no longer holds position {wanted} (it starts at {found}): bootstrap this node again from a snapshot"
    )]
    Gap {
        /// The stream.
        stream: String,
        /// The position this store needs.
        wanted: u64,
        /// The first the stream gave.
        found: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The subject a stream's batches are published on.
pub fn subject_of(stream: &str) -> String {
    format!("{stream}.batches")
}

/// Connects to the NATS servers `urls` (several addresses of one cluster).
pub async fn connect(urls: &[String]) -> Result<Context, ReplicationError> {
    let joined = urls.join(",");
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(TIMEOUT)
        .connect(urls.to_vec())
        .await
        .map_err(|e| ReplicationError::Connect {
            urls: joined,
            detail: e.to_string(),
        })?;
    let mut js = jetstream::new(client);
    js.set_timeout(TIMEOUT);
    Ok(js)
}

/// Creates the stream (or finds it): file storage, replicated `replicas`
/// ways, nothing discarded, duplicates recognized for two minutes.
///
/// A cluster that is still forming (no meta leader yet, or too few peers
/// for the replicas) is waited for, up to [`STARTUP_WAIT`].
pub async fn ensure_stream(
    js: &Context,
    stream: &str,
    replicas: usize,
) -> Result<jetstream::stream::Stream, ReplicationError> {
    let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
    loop {
        let made = js
            .get_or_create_stream(jetstream::stream::Config {
                name: stream.to_string(),
                subjects: vec![subject_of(stream)],
                storage: jetstream::stream::StorageType::File,
                num_replicas: replicas.clamp(1, 5),
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await;
        match made {
            Ok(s) => return Ok(s),
            Err(e) if tokio::time::Instant::now() < deadline => {
                tracing::info!("waiting for the NATS cluster ({e})");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                return Err(ReplicationError::Stream {
                    stream: stream.to_string(),
                    detail: e.to_string(),
                });
            }
        }
    }
}

/// How long a node starting waits for the NATS cluster to form.
pub const STARTUP_WAIT: Duration = Duration::from_secs(30);

/// The stream's first and last positions (0 when empty), once it has a
/// leader to take writes (a stream just created, or whose leader was lost,
/// elects one within seconds; waited for up to [`STARTUP_WAIT`]).
pub async fn last_position(js: &Context, stream: &str) -> Result<(u64, u64), ReplicationError> {
    let failed = |e: &dyn std::fmt::Display| ReplicationError::Stream {
        stream: stream.to_string(),
        detail: e.to_string(),
    };
    let deadline = tokio::time::Instant::now() + STARTUP_WAIT;
    loop {
        let asked = async {
            let mut s = js.get_stream(stream).await.map_err(|e| failed(&e))?;
            let info = s.info().await.map_err(|e| failed(&e))?;
            let led = info.cluster.as_ref().is_none_or(|c| c.leader.is_some());
            Ok::<_, ReplicationError>((led, info.state.first_sequence, info.state.last_sequence))
        }
        .await;
        match asked {
            Ok((true, first, last)) => return Ok((first, last)),
            Ok(_) | Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(_) => return Err(failed(&"the stream has no leader")),
            Err(e) => return Err(e),
        }
    }
}
