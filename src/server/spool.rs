//! A request body copied to an unnamed temporary file as it arrives, and
//! read back by a blocking thread as fast as it is written.
//!
//! Why a file and not a channel: a screening answers while its upload is
//! still coming in, and many HTTP clients (Python's `requests`, most
//! libraries built on a send-then-receive model) do not read the answer
//! until they have sent the whole body. Were the server to stop reading the
//! upload whenever its answer could not be sent, such a client and the
//! server would each wait for the other for ever. With the spool the upload
//! is always read to its end whatever the answer does, the screening
//! follows it, memory stays bounded, and the disk holds at most one upload
//! (the route's body limit) per screening; the file has no name and
//! vanishes with its last handle.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;

/// How the upload is going.
#[derive(Default)]
struct State {
    /// Bytes in the file.
    written: u64,
    /// `Some` once the upload ended: well, or with the reason it did not.
    end: Option<Result<(), String>>,
    /// The reading side is gone: stop copying.
    abandoned: bool,
}

struct Shared {
    state: Mutex<State>,
    grown: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain counters.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The reading side: a blocking [`Read`] of the upload, waiting for more
/// while the upload goes on.
pub struct SpoolReader {
    file: File,
    at: u64,
    shared: Arc<Shared>,
}

impl Drop for SpoolReader {
    fn drop(&mut self) {
        self.shared.lock().abandoned = true;
    }
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.shared.lock();
        loop {
            if self.at < state.written {
                let n = (state.written - self.at).min(buf.len() as u64) as usize;
                drop(state);
                let n = self.file.read_at(&mut buf[..n], self.at)?;
                self.at += n as u64;
                return Ok(n);
            }
            match &state.end {
                Some(Ok(())) => return Ok(0),
                Some(Err(e)) => return Err(io::Error::other(e.clone())),
                None => {
                    state = self
                        .shared
                        .grown
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

/// Starts copying `body` into a temporary file in `dir` on the runtime and
/// returns the reading side. The upload fails (and the reader sees an
/// error) past `max` bytes, or when no data comes for `idle`.
pub fn spool(body: Incoming, dir: &Path, max: u64, idle: Duration) -> io::Result<SpoolReader> {
    let mut file = tempfile::tempfile_in(dir)?;
    let read_side = file.try_clone()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        grown: Condvar::new(),
    });
    let writer = shared.clone();
    tokio::spawn(async move {
        let mut body = body;
        let mut total = 0u64;
        let end = loop {
            if writer.lock().abandoned {
                break Err("the screening stopped".to_string());
            }
            let frame = match tokio::time::timeout(idle, body.frame()).await {
                Err(_) => {
                    break Err(format!(
                        "the upload stalled: no data for {} s",
                        idle.as_secs()
                    ));
                }
                Ok(None) => break Ok(()),
                Ok(Some(Err(e))) => break Err(format!("the upload was cut off: {e}")),
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            total += data.len() as u64;
            if total > max {
                break Err(format!(
                    "the upload is larger than {max} bytes, the most this route accepts"
                ));
            }
            // Into the page cache: a plain write does not hold the worker
            // for long.
            if let Err(e) = file.write_all(&data) {
                break Err(format!("cannot spool the upload: {e}"));
            }
            writer.lock().written = total;
            writer.grown.notify_all();
        };
        writer.lock().end = Some(end);
        writer.grown.notify_all();
    });
    Ok(SpoolReader {
        file: read_side,
        at: 0,
        shared,
    })
}
