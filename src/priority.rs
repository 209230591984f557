//! Thread priority for background work.
//!
//! Bulk screening, folding the live overlay into a new base and refreshing
//! the name index all run beside checks whose p99 must stay well under a
//! millisecond on a 2-core machine. Their threads lower themselves to Linux
//! `SCHED_IDLE`: they run only when no ordinary thread wants the core and
//! yield it at once when one wakes (BENCHMARKS.md: check p99 beside a
//! screening 1.2 ms → 75 µs). A thread that holds a lock other requests
//! wait for must not do this: starved, it would hold them up (priority
//! inversion), which is why the expiry sweep, which takes the store's writer
//! lock, keeps its priority, and why the blocking pool's writes only lower
//! their nice value ([`yield_to_requests`]): a writer holding the store's
//! writer lock still runs, at a tenth of a contended core. A thread that
//! wakes often for a little work (webhook delivery) is a batch thread as
//! well ([`batch_in_background`]): it never preempts a check on waking.

/// Lowers the calling thread (only it, not the process) to `SCHED_IDLE`.
/// Failure leaves the policy as it was, which is harmless.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: a plain system call on the calling thread (pid 0) with a valid
    // parameter block.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

/// Lowers the calling thread to nice 10: it still gets a tenth of a
/// contended core (it is never starved while holding a lock, unlike
/// `SCHED_IDLE`), but yields to the runtime workers serving checks. For the
/// blocking pool's writes, feed reads and statistics.
pub fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread (its tid); failure
    // leaves the priority as it was, which is harmless.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, tid, 10);
    }
}

/// Makes the calling thread a batch thread at nice 10 (`SCHED_BATCH`): the
/// scheduler never lets it preempt a running thread when it wakes, so a
/// thread that wakes often for a little work (webhook delivery wakes at
/// every commit) does not cut into the checks it shares a core with; it
/// still gets its share of a contended core, so a lock or a RocksDB write
/// group it holds is never held up for long, unlike `SCHED_IDLE`.
pub fn batch_in_background() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread (pid 0, its tid) with
    // a valid parameter block; failure leaves the policy as it was.
    unsafe {
        let param = libc::sched_param { sched_priority: 0 };
        libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
    }
    yield_to_requests();
}
