//! The threads that finish the checks whose data is not in memory.
//!
//! A check runs on one of the runtime's workers (one per core) and reads the
//! store at [`Reach::Memory`](crate::store::Reach::Memory): a clean subject
//! reads nothing, and a flagged one's entries are usually in the block
//! cache. When they are not, the read may wait for the disk (8–31 ms was
//! seen on a VM whose kernel pages out idle file pages), and every request
//! queued on that worker would wait with it. Such a check is handed to one
//! of these threads, which reads wherever the data is; the worker goes on
//! with the next request.
//!
//! Not tokio's blocking pool: its threads run writes, feed reads and
//! statistics at nice 10 and keep that priority, and a check must neither
//! queue behind those nor run at their priority.

use std::panic::AssertUnwindSafe;

use crossbeam_channel::{Sender, TrySendError};

/// Reader threads: reads that wait for the disk overlap.
pub const READERS: usize = 4;

/// Checks waiting for a reader beyond which the next one is read on the
/// worker itself (as before this pool existed): the queue is bounded, and
/// a worker that waits is backpressure.
const QUEUED_AT_MOST: usize = 1024;

type Job = Box<dyn FnOnce() + Send>;

/// A pool of threads that may wait for the disk.
pub struct DiskReaders {
    jobs: Sender<Job>,
    /// Threads started; with none, work runs where it is asked.
    readers: usize,
}

impl DiskReaders {
    /// Starts `readers` threads (fewer if the system refuses some). They
    /// end once the pool is dropped and their work is done.
    pub fn start(readers: usize) -> DiskReaders {
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(QUEUED_AT_MOST);
        let started = (0..readers)
            .filter(|i| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("creditgate-disk-{i}"))
                    .spawn(move || {
                        for job in queue {
                            // A panic is on stderr, and drops the job's
                            // answer channel: its caller sees `None`.
                            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                        }
                    })
                    .is_ok()
            })
            .count();
        DiskReaders {
            jobs,
            readers: started,
        }
    }

    /// Runs `work` on a reader thread; `None` if it panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        if self.readers == 0 {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        } else if let Err(TrySendError::Full(job) | TrySendError::Disconnected(job)) =
            self.jobs.try_send(job)
        {
            let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
        }
        answered.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn work_runs_on_a_reader_thread_and_its_answer_comes_back() {
        let readers = DiskReaders::start(2);
        let here = std::thread::current().id();
        let (there, name) = block_on(readers.run(|| {
            let t = std::thread::current();
            (t.id(), t.name().map(str::to_owned))
        }))
        .unwrap();
        assert_ne!(there, here);
        assert!(name.unwrap().starts_with("creditgate-disk-"));
    }

    #[test]
    fn a_panic_is_none_and_the_reader_goes_on() {
        let readers = DiskReaders::start(1);
        assert_eq!(block_on(readers.run(|| -> u32 { panic!("boom") })), None);
        assert_eq!(block_on(readers.run(|| 7)), Some(7));
    }

    #[test]
    fn with_the_queue_full_the_work_runs_in_place() {
        let readers = DiskReaders::start(1);
        // Hold the one reader, then fill the queue behind it.
        let (release, held) = crossbeam_channel::bounded::<()>(0);
        let (busy, is_busy) = crossbeam_channel::bounded::<()>(0);
        readers
            .jobs
            .try_send(Box::new(move || {
                busy.send(()).unwrap();
                held.recv().unwrap();
            }))
            .unwrap();
        is_busy.recv().unwrap();
        for _ in 0..QUEUED_AT_MOST {
            readers.jobs.try_send(Box::new(|| {})).unwrap();
        }
        let here = std::thread::current().id();
        assert_eq!(
            block_on(readers.run(|| std::thread::current().id())),
            Some(here)
        );
        release.send(()).unwrap();
    }
}
