//! Request counters and latency histograms, rendered in the Prometheus text
//! exposition format for `GET /metrics`.
//!
//! Everything is a fixed array of atomics indexed by route and status, so
//! recording a request is three relaxed increments: no lock, no allocation,
//! no map lookup on the hot path. The arrays are sharded by thread (each
//! shard on its own cache lines), so the runtime's workers do not bounce
//! counters between cores; `/metrics` adds the shards up.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

/// The routes requests are counted under (the `route` label).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/check`.
    Check,
    /// `GET /v1/subjects/{id}`.
    Subject,
    /// `GET /v1/search`.
    Search,
    /// `POST /v1/screen` (timed to the start of the answer).
    Screen,
    /// `GET /v1/changes` (timed to the answer, long polls included).
    Changes,
    /// `GET /v1/entries/{entry_id}`.
    Entry,
    /// The lifecycle's writes (`PUT` and `POST` under `/v1/subjects` and
    /// `/v1/entries`), timed to the synced answer.
    Write,
    /// `GET /v1/stats` and `GET /v1/audit`.
    Oversight,
    /// `GET /healthz`.
    Healthz,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /metrics`.
    Metrics,
    /// `GET /v1/disclosures` and `GET /v1/disclosures/{id}`.
    Disclosures,
    /// The console's page and assets (`/console/…`).
    Console,
    /// `GET /v1/catalog`.
    Catalog,
    /// `GET /v1/whoami`.
    WhoAmI,
    /// Watches (`/v1/watches…`).
    Watches,
    /// Decisions and their feedback (`/v1/decisions…`).
    Decisions,
    /// Anything else (unknown paths, wrong methods).
    Other,
}

impl Route {
    const ALL: [Route; 18] = [
        Route::Check,
        Route::Subject,
        Route::Search,
        Route::Screen,
        Route::Changes,
        Route::Entry,
        Route::Write,
        Route::Oversight,
        Route::Healthz,
        Route::OpenApi,
        Route::Metrics,
        Route::Disclosures,
        Route::Console,
        Route::Catalog,
        Route::WhoAmI,
        Route::Watches,
        Route::Decisions,
        Route::Other,
    ];

    /// The label value.
    pub fn label(self) -> &'static str {
        match self {
            Route::Check => "/v1/check",
            Route::Subject => "/v1/subjects/{id}",
            Route::Search => "/v1/search",
            Route::Screen => "/v1/screen",
            Route::Changes => "/v1/changes",
            Route::Entry => "/v1/entries/{entry_id}",
            Route::Write => "write",
            Route::Oversight => "oversight",
            Route::Healthz => "/healthz",
            Route::OpenApi => "/openapi.json",
            Route::Metrics => "/metrics",
            Route::Disclosures => "/v1/disclosures",
            Route::Console => "/console",
            Route::Catalog => "/v1/catalog",
            Route::WhoAmI => "/v1/whoami",
            Route::Watches => "/v1/watches",
            Route::Decisions => "/v1/decisions",
            Route::Other => "other",
        }
    }
}

/// Status codes counted individually; anything else is counted as `other`.
const STATUSES: [u16; 18] = [
    200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 414, 421, 429, 431, 500, 503, 0,
];

fn status_slot(code: u16) -> usize {
    STATUSES
        .iter()
        .position(|&s| s == code)
        .unwrap_or(STATUSES.len() - 1)
}

/// Upper bounds of the latency buckets, in microseconds.
const BUCKETS_US: [u64; 14] = [
    25,
    50,
    100,
    250,
    500,
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    100_000,
    250_000,
    1_000_000,
    u64::MAX,
];

#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    sum_ns: AtomicU64,
}

impl Histogram {
    fn record(&self, d: Duration) {
        // Not `as_micros()`: that is a 128-bit division on every request.
        let us = d.as_secs() * 1_000_000 + u64::from(d.subsec_micros());
        let slot = BUCKETS_US.iter().position(|&b| us <= b).unwrap_or(0);
        self.buckets[slot].fetch_add(1, Relaxed);
        self.sum_ns.fetch_add(
            d.as_secs() * 1_000_000_000 + u64::from(d.subsec_nanos()),
            Relaxed,
        );
    }
}

/// Shards of the per-request counters.
const SHARDS: usize = 8;

/// One thread's counters, aligned so that shards share no cache line.
#[derive(Default)]
#[repr(align(128))]
struct Shard {
    requests: [[AtomicU64; STATUSES.len()]; Route::ALL.len()],
    latency: [Histogram; Route::ALL.len()],
}

/// The shard of the calling thread: threads take shards in turn.
fn my_shard() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static SHARD: usize = NEXT.fetch_add(1, Relaxed) % SHARDS;
    }
    SHARD.with(|s| *s)
}

/// The server's counters.
pub struct Metrics {
    shards: Box<[Shard]>,
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    panics: AtomicU64,
    checks_from_disk: AtomicU64,
    screens_active: AtomicU64,
    screens_failed: AtomicU64,
    screened_rows: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            shards: (0..SHARDS).map(|_| Shard::default()).collect(),
            connections_open: AtomicU64::new(0),
            connections_total: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            checks_from_disk: AtomicU64::new(0),
            screens_active: AtomicU64::new(0),
            screens_failed: AtomicU64::new(0),
            screened_rows: AtomicU64::new(0),
        }
    }
}

/// Figures from the engine, sampled when `/metrics` is rendered.
#[derive(Debug, Default, Clone)]
pub struct EngineFigures {
    /// Subjects in the status index.
    pub flagged_subjects: u64,
    /// Heap bytes of the status index.
    pub status_index_bytes: u64,
    /// Subjects in the known set.
    pub known_subjects: u64,
    /// Heap bytes of the known set.
    pub known_set_bytes: u64,
    /// Subjects written since the indexes' base was built (the live overlay).
    pub live_overlay_subjects: u64,
    /// Names in the name index.
    pub indexed_names: u64,
    /// Bytes of the name index.
    pub name_index_bytes: u64,
    /// Subjects in the name index's delta.
    pub name_delta_subjects: u64,
    /// RocksDB figures: (family, property name without `rocksdb.`, value).
    pub store: Vec<(&'static str, &'static str, u64)>,
    /// Seconds since the server started.
    pub uptime_seconds: f64,
}

impl Metrics {
    /// Counts one answered request.
    pub fn record(&self, route: Route, status: u16, took: Duration) {
        let r = route as usize;
        let shard = &self.shards[my_shard()];
        shard.requests[r][status_slot(status)].fetch_add(1, Relaxed);
        shard.latency[r].record(took);
    }

    /// A connection was accepted.
    pub fn connection_opened(&self) {
        self.connections_open.fetch_add(1, Relaxed);
        self.connections_total.fetch_add(1, Relaxed);
    }

    /// A connection ended.
    pub fn connection_closed(&self) {
        self.connections_open.fetch_sub(1, Relaxed);
    }

    /// A screening started (`true`) or ended (`false`).
    pub fn screening(&self, started: bool) {
        if started {
            self.screens_active.fetch_add(1, Relaxed);
        } else {
            self.screens_active.fetch_sub(1, Relaxed);
        }
    }

    /// Screenings running now.
    pub fn screens_active(&self) -> u64 {
        self.screens_active.load(Relaxed)
    }

    /// `rows` more rows screened.
    pub fn screened(&self, rows: u64) {
        self.screened_rows.fetch_add(rows, Relaxed);
    }

    /// A screening stopped before the end of its input.
    pub fn screen_failed(&self) {
        self.screens_failed.fetch_add(1, Relaxed);
    }

    /// A handler panicked (and was answered with 500).
    pub fn panicked(&self) {
        self.panics.fetch_add(1, Relaxed);
    }

    /// A check's data was not in memory: it was answered by a disk reader.
    pub fn checked_from_disk(&self) {
        self.checks_from_disk.fetch_add(1, Relaxed);
    }

    /// Requests answered so far on `route` with `status`.
    pub fn requests(&self, route: Route, status: u16) -> u64 {
        self.request_slot(route, status_slot(status))
    }

    fn request_slot(&self, route: Route, slot: usize) -> u64 {
        self.shards
            .iter()
            .map(|s| s.requests[route as usize][slot].load(Relaxed))
            .sum()
    }

    fn bucket(&self, route: Route, slot: usize) -> u64 {
        self.shards
            .iter()
            .map(|s| s.latency[route as usize].buckets[slot].load(Relaxed))
            .sum()
    }

    /// The exposition text.
    pub fn render(&self, engine: &EngineFigures) -> String {
        let mut out = String::with_capacity(8 << 10);
        out.push_str(
            "# HELP creditgate_requests_total HTTP requests answered, by route and status.\n",
        );
        out.push_str("# TYPE creditgate_requests_total counter\n");
        for route in Route::ALL {
            for (slot, &status) in STATUSES.iter().enumerate() {
                let n = self.request_slot(route, slot);
                if n == 0 {
                    continue;
                }
                let status = if status == 0 {
                    "other".to_string()
                } else {
                    status.to_string()
                };
                let _ = writeln!(
                    out,
                    "creditgate_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                    route.label()
                );
            }
        }
        out.push_str("# HELP creditgate_request_duration_seconds Time from request head to response, by route.\n");
        out.push_str("# TYPE creditgate_request_duration_seconds histogram\n");
        for route in Route::ALL {
            let buckets: Vec<u64> = (0..BUCKETS_US.len())
                .map(|b| self.bucket(route, b))
                .collect();
            let count: u64 = buckets.iter().sum();
            if count == 0 {
                continue;
            }
            let sum_ns: u64 = self
                .shards
                .iter()
                .map(|s| s.latency[route as usize].sum_ns.load(Relaxed))
                .sum();
            let mut cumulative = 0;
            for (slot, &bound) in BUCKETS_US.iter().enumerate() {
                cumulative += buckets[slot];
                let le = if bound == u64::MAX {
                    "+Inf".to_string()
                } else {
                    format!("{}", bound as f64 / 1e6)
                };
                let _ = writeln!(
                    out,
                    "creditgate_request_duration_seconds_bucket{{route=\"{}\",le=\"{le}\"}} {cumulative}",
                    route.label()
                );
            }
            let _ = writeln!(
                out,
                "creditgate_request_duration_seconds_sum{{route=\"{}\"}} {}",
                route.label(),
                sum_ns as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "creditgate_request_duration_seconds_count{{route=\"{}\"}} {count}",
                route.label()
            );
        }
        let gauges: [(&str, &str, &str, f64); 16] = [
            (
                "creditgate_screens_active",
                "gauge",
                "Screenings running now.",
                self.screens_active.load(Relaxed) as f64,
            ),
            (
                "creditgate_screens_failed_total",
                "counter",
                "Screenings stopped before the end of their input (upload cut off, reader gone, store error).",
                self.screens_failed.load(Relaxed) as f64,
            ),
            (
                "creditgate_screened_rows_total",
                "counter",
                "Rows screened.",
                self.screened_rows.load(Relaxed) as f64,
            ),
            (
                "creditgate_connections_open",
                "gauge",
                "Client connections open now.",
                self.connections_open.load(Relaxed) as f64,
            ),
            (
                "creditgate_connections_total",
                "counter",
                "Client connections accepted.",
                self.connections_total.load(Relaxed) as f64,
            ),
            (
                "creditgate_handler_panics_total",
                "counter",
                "Handlers that panicked and were answered with 500.",
                self.panics.load(Relaxed) as f64,
            ),
            (
                "creditgate_checks_from_disk_total",
                "counter",
                "Checks whose entries or record were not in the block cache, answered on a disk reader thread instead of a runtime worker.",
                self.checks_from_disk.load(Relaxed) as f64,
            ),
            (
                "creditgate_status_index_subjects",
                "gauge",
                "Flagged subjects held in the in-memory status index.",
                engine.flagged_subjects as f64,
            ),
            (
                "creditgate_status_index_bytes",
                "gauge",
                "Heap bytes of the status index.",
                engine.status_index_bytes as f64,
            ),
            (
                "creditgate_known_subjects",
                "gauge",
                "Subjects with a record, held in the in-memory known set.",
                engine.known_subjects as f64,
            ),
            (
                "creditgate_known_set_bytes",
                "gauge",
                "Heap bytes of the known set, its name prints included.",
                engine.known_set_bytes as f64,
            ),
            (
                "creditgate_name_index_names",
                "gauge",
                "Names (current and aliases) in the name index.",
                engine.indexed_names as f64,
            ),
            (
                "creditgate_name_index_bytes",
                "gauge",
                "Bytes of the name index (mapped segment files and delta).",
                engine.name_index_bytes as f64,
            ),
            (
                "creditgate_name_index_delta_subjects",
                "gauge",
                "Subjects written since the name index segment was built.",
                engine.name_delta_subjects as f64,
            ),
            (
                "creditgate_live_overlay_subjects",
                "gauge",
                "Subjects written since the status index and known set were built (folded into them past 131072).",
                engine.live_overlay_subjects as f64,
            ),
            (
                "creditgate_uptime_seconds",
                "gauge",
                "Seconds since the server started.",
                engine.uptime_seconds,
            ),
        ];
        for (name, kind, help, value) in gauges {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        let mut last = "";
        for (family, property, value) in &engine.store {
            let name = format!("creditgate_store_{}", property.replace('-', "_"));
            if *property != last {
                let _ = writeln!(
                    out,
                    "# HELP {name} RocksDB property rocksdb.{property}, by column family.\n# TYPE {name} gauge"
                );
                last = property;
            }
            let _ = writeln!(out, "{name}{{family=\"{family}\"}} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_cumulative_buckets() {
        let m = Metrics::default();
        m.record(Route::Check, 200, Duration::from_micros(30));
        m.record(Route::Check, 200, Duration::from_micros(700));
        m.record(Route::Check, 400, Duration::from_micros(10));
        m.record(Route::Other, 404, Duration::from_micros(10));
        m.record(Route::Other, 418, Duration::from_micros(10));
        let text = m.render(&EngineFigures {
            flagged_subjects: 7,
            store: vec![("subjects", "estimate-num-keys", 10_000)],
            ..EngineFigures::default()
        });
        assert!(text.contains("creditgate_requests_total{route=\"/v1/check\",status=\"200\"} 2\n"));
        assert!(text.contains("creditgate_requests_total{route=\"/v1/check\",status=\"400\"} 1\n"));
        assert!(text.contains("creditgate_requests_total{route=\"other\",status=\"other\"} 1\n"));
        assert!(text.contains(
            "creditgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.00005\"} 2\n"
        ));
        assert!(text.contains(
            "creditgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.001\"} 3\n"
        ));
        assert!(text.contains(
            "creditgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"+Inf\"} 3\n"
        ));
        assert!(
            text.contains("creditgate_request_duration_seconds_count{route=\"/v1/check\"} 3\n")
        );
        assert!(text.contains("creditgate_status_index_subjects 7\n"));
        assert!(text.contains("creditgate_store_estimate_num_keys{family=\"subjects\"} 10000\n"));
        assert_eq!(m.requests(Route::Check, 200), 2);
    }

    #[test]
    fn shards_add_up_across_threads() {
        let m = std::sync::Arc::new(Metrics::default());
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let m = m.clone();
                std::thread::spawn(move || {
                    for _ in 0..1000 {
                        m.record(Route::Check, 200, Duration::from_micros(40));
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(m.requests(Route::Check, 200), 12_000);
        let text = m.render(&EngineFigures::default());
        assert!(text.contains(
            "creditgate_request_duration_seconds_bucket{route=\"/v1/check\",le=\"0.00005\"} 12000\n"
        ));
        assert!(
            text.contains("creditgate_request_duration_seconds_count{route=\"/v1/check\"} 12000\n")
        );
    }
}
