//! The primary's side: [`JetStreamLog`] appends each committed batch to the
//! stream and returns once the stream's leader has stored it on a quorum of
//! its replicas (JetStream's publish acknowledgement), or says whether the
//! batch was certainly not stored ([`AppendError::Refused`]) or may have
//! been ([`AppendError::Unknown`], a time-out).

use async_nats::jetstream::Context;
use async_nats::jetstream::context::PublishErrorKind;
use async_nats::jetstream::message::PublishMessage;
use bytes::Bytes;
use tokio::runtime::Handle;

use crate::store::{AppendError, Replicate};

/// The replicated stream, as the store's log.
pub struct JetStreamLog {
    js: Context,
    stream: String,
    subject: String,
    runtime: Handle,
}

impl JetStreamLog {
    /// Appends to `stream` through `js`; publishes run on `runtime` (the
    /// store calls [`Replicate::append`] from threads that may block).
    pub fn new(js: Context, stream: &str, runtime: Handle) -> JetStreamLog {
        JetStreamLog {
            js,
            stream: stream.to_string(),
            subject: super::subject_of(stream),
            runtime,
        }
    }

    /// One publish; an error says whether publishing again may help (no
    /// stream leader, no answer) or not (another writer).
    async fn publish(&self, position: u64, record: &[u8]) -> Result<(), (bool, AppendError)> {
        let message = PublishMessage::build()
            .payload(Bytes::copy_from_slice(record))
            .message_id(position.to_string())
            .expected_last_sequence(position - 1);
        let unknown = |what: &dyn std::fmt::Display| {
            (
                true,
                AppendError::Unknown(format!(
                    "the replicated log (NATS stream {}) did not confirm the write in time ({what}); it is refused, and settled before the next write",
                    self.stream
                )),
            )
        };
        let refused = |what: &dyn std::fmt::Display| {
            (
                true,
                AppendError::Refused(format!(
                    "the replicated log (NATS stream {}) cannot take writes now ({what}); reads go on",
                    self.stream
                )),
            )
        };
        let sent = match self.js.send_publish(self.subject.clone(), message).await {
            Ok(sent) => sent,
            Err(e) => {
                return Err(match e.kind() {
                    PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => unknown(&e),
                    _ => refused(&e),
                });
            }
        };
        match sent.await {
            Ok(ack) if ack.sequence == position => Ok(()),
            Ok(ack) => Err((
                false,
                AppendError::Refused(format!(
                    "the replicated log stored the write at position {} instead of {position}: another writer uses stream {}",
                    ack.sequence, self.stream
                )),
            )),
            Err(e) => Err(match e.kind() {
                PublishErrorKind::TimedOut | PublishErrorKind::BrokenPipe => unknown(&e),
                PublishErrorKind::WrongLastSequence => (
                    false,
                    AppendError::Refused(format!(
                        "the replicated log (NATS stream {}) has moved past this primary's position {}: another node writes to it; this node must not take writes",
                        self.stream,
                        position - 1
                    )),
                ),
                // No stream leader (an election, or a quorum lost): nothing
                // was stored.
                _ => refused(&e),
            }),
        }
    }
}

/// How long a write waits for the stream before it is refused: a stream
/// leader lost takes 4–8 s to be replaced (NATS.md), and a write then
/// waits rather than fail.
pub const WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

impl Replicate for JetStreamLog {
    /// Publishes, and publishes again (the same message id, so the stream
    /// stores it once) while the stream has no leader or does not answer,
    /// until [`WRITE_WAIT`] has passed.
    fn append(&self, position: u64, record: &[u8]) -> Result<(), AppendError> {
        self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + WRITE_WAIT;
            // Once an attempt went unanswered, the stream may hold the
            // batch whatever later attempts say, until one is acknowledged.
            let mut unanswered = None;
            loop {
                match self.publish(position, record).await {
                    Ok(()) => return Ok(()),
                    Err((retry, e)) if !retry || tokio::time::Instant::now() >= deadline => {
                        return Err(match (e, unanswered) {
                            (AppendError::Refused(_), Some(why)) => AppendError::Unknown(why),
                            (e, _) => e,
                        });
                    }
                    Err((_, AppendError::Unknown(why))) => unanswered = Some(why),
                    Err(_) => {}
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        })
    }
}
