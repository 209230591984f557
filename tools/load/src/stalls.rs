//! `creditgate-load stalls`: how often this machine's cores stop running
//! a thread that never sleeps.
//!
//! One thread per core reads the clock in a loop for `--duration` seconds;
//! a gap between two reads is time the thread did not run (the kernel ran
//! something else, or the hypervisor did not run the virtual CPU). On a
//! quiet dedicated machine gaps stay in the tens of microseconds; on a
//! shared virtual machine they reach milliseconds, and every such gap is
//! a check answered that much later, whatever the server does. The figure
//! is printed beside latency benchmarks so that a p99 can be read against
//! the floor of the machine that measured it.

use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct StallsArgs {
    /// Seconds to watch.
    #[arg(long, short = 'd', default_value_t = 10.0)]
    duration: f64,
    /// Spinning threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// Gaps of one thread: counts above 100 µs, 1 ms and 5 ms, and the longest.
#[derive(Default)]
struct Gaps {
    over_100us: u64,
    over_1ms: u64,
    over_5ms: u64,
    longest: Duration,
}

fn watch(until: Instant) -> Gaps {
    let mut gaps = Gaps::default();
    let mut previous = Instant::now();
    while previous < until {
        let now = Instant::now();
        let gap = now - previous;
        previous = now;
        if gap > Duration::from_micros(100) {
            gaps.over_100us += 1;
            gaps.over_1ms += u64::from(gap > Duration::from_millis(1));
            gaps.over_5ms += u64::from(gap > Duration::from_millis(5));
            gaps.longest = gaps.longest.max(gap);
        }
    }
    gaps
}

pub fn stalls(args: &StallsArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from))
        .max(1);
    let until = Instant::now() + Duration::from_secs_f64(args.duration.max(0.1));
    let watchers: Vec<_> = (0..threads)
        .map(|_| std::thread::spawn(move || watch(until)))
        .collect();
    let mut total = Gaps::default();
    for w in watchers {
        let g = w
            .join()
            .map_err(|_| anyhow::anyhow!("a watcher panicked"))?;
        total.over_100us += g.over_100us;
        total.over_1ms += g.over_1ms;
        total.over_5ms += g.over_5ms;
        total.longest = total.longest.max(g.longest);
    }
    let per_s = |n: u64| n as f64 / args.duration / threads as f64;
    println!(
        "stalls: {threads} spinning threads, {:.0} s: per thread and second {:.1} gaps > 100 µs, {:.2} > 1 ms, {:.3} > 5 ms; longest {:.2} ms",
        args.duration,
        per_s(total.over_100us),
        per_s(total.over_1ms),
        per_s(total.over_5ms),
        total.longest.as_secs_f64() * 1e3
    );
    Ok(())
}
