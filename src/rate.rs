//! Per-key rate limits: a token bucket per second and a daily quota, set
//! per key in the keys file (`rate_per_second`, `burst`, `daily_quota`).
//!
//! A key that may ask about passengers may also try every birth date
//! behind a masked identity number, one check each; the limits bound how
//! fast and how much. Over either, a request gets 429 with `Retry-After`
//! and is audited as refused.
//!
//! Both limits are one atomic word each, updated by compare-and-swap, so
//! the check path pays a few nanoseconds for a limited key and nothing for
//! an unlimited one:
//!
//! * the bucket is kept as the generic cell rate algorithm keeps it: the
//!   theoretical arrival time of the next request (`tat`), which each
//!   admitted request pushes one emission interval (1 s / rate) later; a
//!   request is refused while `tat` is more than `burst − 1` intervals
//!   ahead of now;
//! * the quota is the day (China Standard Time) and the count of requests
//!   admitted on it, packed in one word; a new day starts the count over.
//!
//! The counts live in memory: a restart starts the day's count over. They
//! survive a reload of the keys file (the server keeps each key's limiter
//! across reloads; a changed limit applies at once).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A key's limits as the keys file sets them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Limits {
    /// Requests a second, sustained; `None`: no bucket.
    pub per_second: Option<u32>,
    /// Requests the bucket admits at once after a quiet spell; at least 1
    /// (default: one second's worth).
    pub burst: Option<u32>,
    /// Requests a day (China Standard Time); `None`: no quota.
    pub daily: Option<u64>,
}

impl Limits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.per_second.is_some() || self.daily.is_some()
    }
}

/// Why a request is over a limit, and when to try again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Over {
    /// Over the rate: the bucket is empty.
    Rate {
        /// The rate.
        per_second: u32,
        /// The burst.
        burst: u32,
        /// Until a request would be admitted.
        retry_after: Duration,
    },
    /// The day's quota is used up.
    Quota {
        /// The quota.
        daily: u64,
        /// Until the next day (00:00 China Standard Time).
        retry_after: Duration,
    },
}

impl Over {
    /// Whole seconds to wait, at least 1 (for `Retry-After`).
    pub fn retry_after_secs(&self) -> u64 {
        let wait = match self {
            Over::Rate { retry_after, .. } | Over::Quota { retry_after, .. } => *retry_after,
        };
        (wait.as_nanos().div_ceil(1_000_000_000) as u64).max(1)
    }
}

/// The moment every limiter measures from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// China Standard Time offset, in milliseconds.
const CST_MS: u64 = 8 * 3_600_000;
const DAY_MS: u64 = 86_400_000;
/// Bits of the quota word that hold the count (the rest hold the day).
const COUNT_BITS: u32 = 40;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// One key's limiter state.
#[derive(Debug, Default)]
pub struct Limiter {
    /// Theoretical arrival time of the next request, nanoseconds since
    /// [`origin`].
    tat: AtomicU64,
    /// Day (days since the epoch, CST) << 40 | requests admitted on it.
    day_count: AtomicU64,
}

impl Limiter {
    /// Admits a request arriving at `now` under `limits`, or says which
    /// limit it is over. The wall clock is read only for a quota.
    pub fn admit(&self, limits: Limits, now: Instant) -> Result<(), Over> {
        if let Some(per_second) = limits.per_second {
            self.take_token(per_second, limits.burst, now)?;
        }
        if let Some(daily) = limits.daily {
            self.take_from_quota(daily, 1, crate::date::epoch_ms())
                .map_err(|retry_after| Over::Quota { daily, retry_after })?;
        }
        Ok(())
    }

    fn take_token(&self, per_second: u32, burst: Option<u32>, now: Instant) -> Result<(), Over> {
        let per_second = per_second.max(1);
        let burst = burst.unwrap_or(per_second).max(1);
        let interval = 1_000_000_000 / u64::from(per_second);
        let tolerance = interval * u64::from(burst - 1);
        let now = now.saturating_duration_since(origin()).as_nanos() as u64;
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let start = tat.max(now);
            if start - now > tolerance {
                return Err(Over::Rate {
                    per_second,
                    burst,
                    retry_after: Duration::from_nanos(start - now - tolerance),
                });
            }
            match self.tat.compare_exchange_weak(
                tat,
                start + interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(seen) => tat = seen,
            }
        }
    }

    /// Takes `n` from the day's quota of `daily` at wall-clock `epoch_ms`,
    /// or says how long until the quota renews.
    pub fn take_from_quota(&self, daily: u64, n: u64, epoch_ms: u64) -> Result<(), Duration> {
        let local = epoch_ms.saturating_add(CST_MS);
        let today = local / DAY_MS;
        let mut word = self.day_count.load(Ordering::Relaxed);
        loop {
            let count = if word >> COUNT_BITS == today {
                word & COUNT_MASK
            } else {
                0
            };
            if count + n > daily {
                return Err(Duration::from_millis(DAY_MS - local % DAY_MS));
            }
            let next = today << COUNT_BITS | (count + n).min(COUNT_MASK);
            match self.day_count.compare_exchange_weak(
                word,
                next,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(seen) => word = seen,
            }
        }
    }

    /// Requests admitted today under the quota (0 without one).
    pub fn used_today(&self, epoch_ms: u64) -> u64 {
        let word = self.day_count.load(Ordering::Relaxed);
        let today = epoch_ms.saturating_add(CST_MS) / DAY_MS;
        if word >> COUNT_BITS == today {
            word & COUNT_MASK
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_admits_its_burst_then_its_rate() {
        let limiter = Limiter::default();
        let limits = Limits {
            per_second: Some(10),
            burst: Some(3),
            daily: None,
        };
        let t0 = origin() + Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(limiter.admit(limits, t0), Ok(()));
        }
        let Err(Over::Rate { retry_after, .. }) = limiter.admit(limits, t0) else {
            panic!("the fourth at once is over the burst");
        };
        assert_eq!(retry_after, Duration::from_millis(100));
        // A tenth of a second later, one more.
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(limiter.admit(limits, t1), Ok(()));
        assert!(limiter.admit(limits, t1).is_err());
        // After a quiet second, the burst again, and no more.
        let t2 = t1 + Duration::from_secs(1);
        for _ in 0..3 {
            assert_eq!(limiter.admit(limits, t2), Ok(()));
        }
        assert!(limiter.admit(limits, t2).is_err());
    }

    #[test]
    fn a_sustained_rate_is_admitted_exactly() {
        let limiter = Limiter::default();
        let limits = Limits {
            per_second: Some(1000),
            burst: None,
            daily: None,
        };
        let t0 = origin() + Duration::from_secs(10);
        // 5,000 requests spread over 2 s: the burst (1,000) and 2 s at the
        // rate (2,000) are admitted, not more.
        let admitted = (0..5000)
            .filter(|i| {
                limiter
                    .admit(limits, t0 + Duration::from_micros(i * 400))
                    .is_ok()
            })
            .count();
        assert!((2990..=3001).contains(&admitted), "{admitted}");
    }

    #[test]
    fn the_quota_counts_a_day_and_renews_at_midnight_cst() {
        let limiter = Limiter::default();
        // 2026-12-05 23:59:59 CST.
        let late = 1_796_486_399_000;
        assert_eq!(limiter.take_from_quota(2, 1, late), Ok(()));
        assert_eq!(limiter.take_from_quota(2, 1, late), Ok(()));
        assert_eq!(limiter.used_today(late), 2);
        assert_eq!(
            limiter.take_from_quota(2, 1, late),
            Err(Duration::from_secs(1))
        );
        // A second later, the next day.
        assert_eq!(limiter.take_from_quota(2, 1, late + 1000), Ok(()));
        assert_eq!(limiter.used_today(late + 1000), 1);
        // More than the quota at once is refused; less is taken.
        assert!(limiter.take_from_quota(2, 2, late + 1000).is_err());
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        let rate = |ms| Over::Rate {
            per_second: 1,
            burst: 1,
            retry_after: Duration::from_millis(ms),
        };
        assert_eq!(rate(0).retry_after_secs(), 1);
        assert_eq!(rate(1).retry_after_secs(), 1);
        assert_eq!(rate(1000).retry_after_secs(), 1);
        assert_eq!(rate(1001).retry_after_secs(), 2);
    }

    #[test]
    fn contended_limiters_admit_no_more_than_the_quota() {
        let limiter = std::sync::Arc::new(Limiter::default());
        let now = crate::date::epoch_ms();
        let admitted: usize = (0..4)
            .map(|_| {
                let l = limiter.clone();
                std::thread::spawn(move || {
                    (0..10_000)
                        .filter(|_| l.take_from_quota(25_000, 1, now).is_ok())
                        .count()
                })
            })
            .map(|t| t.join().unwrap())
            .sum();
        assert_eq!(admitted, 25_000);
    }
}
