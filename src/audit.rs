//! The audit log: every check, search, screened row and write, with the key
//! that asked, kept off the hot path (惩戒实施情况可查, 跟踪问效).
//!
//! A request hands a fixed-size [`Record`] to a bounded channel; one writer
//! thread appends records to hourly segment files
//! (`<store>/audit/2026120118.log`, the hour in China Standard Time),
//! draining the channel and flushing every 20 ms and syncing every second.
//! The hot path therefore costs one channel push (no wake-up: the writer
//! is never blocked on the channel), not a RocksDB write: appending 40-byte
//! records to a file is a small fraction of a core at the server's full
//! rate, where three RocksDB puts per check (by time, subject and key)
//! would not be.
//!
//! Refused calls (401, 403, 429) are recorded too ([`Event::Refused`]),
//! with the key presented, the route and the reason; a check records
//! whether its subject was unknown and whether a name given with it
//! failed to match, so that operators can see a key guessing identity
//! numbers.
//!
//! Queries ([`AuditLog::query`]) scan the segments of the asked time window
//! and filter by subject and key; statistics ([`AuditLog::scan`]) count
//! checks and denials per action and key the same way. Retention deletes
//! whole segments older than the configured number of days.
//!
//! What is lost in a crash: the records of the last second at most (a
//! record is written before the request's answer would need it, but not
//! synced). When the writer cannot keep up, senders wait (the channel holds
//! 65,536 records): the audit is never silently incomplete.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use crate::id::SubjectKey;

/// The audit log's directory in the store directory.
pub const DIR: &str = "audit";

/// Bytes of one record on disk.
pub const RECORD_BYTES: usize = 40;

/// What was asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Event {
    /// `GET /v1/check`.
    Check = 1,
    /// `GET /v1/search`.
    Search = 2,
    /// One row of a screening.
    ScreenRow = 3,
    /// `GET /v1/subjects/{id}` or `/v1/entries/{id}`.
    Read = 4,
    /// A lifecycle write.
    Write = 5,
    /// Execution feedback.
    Feedback = 6,
    /// A call refused for its credentials, rights or rate (401, 403, 429).
    Refused = 7,
}

impl Event {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Check => "check",
            Event::Search => "search",
            Event::ScreenRow => "screen_row",
            Event::Read => "read",
            Event::Write => "write",
            Event::Feedback => "feedback",
            Event::Refused => "refused",
        }
    }

    fn from_code(code: u8) -> Option<Event> {
        Some(match code {
            1 => Event::Check,
            2 => Event::Search,
            3 => Event::ScreenRow,
            4 => Event::Read,
            5 => Event::Write,
            6 => Event::Feedback,
            7 => Event::Refused,
            _ => return None,
        })
    }
}

/// The decision an answer gave, as the audit keeps it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Outcome {
    /// No decision (searches, reads, refusals).
    None = 0,
    /// allow.
    Allow = 1,
    /// caution.
    Caution = 2,
    /// deny.
    Deny = 3,
    /// review (screening).
    Review = 4,
}

impl Outcome {
    /// The wire name.
    pub fn as_str(self) -> Option<&'static str> {
        match self {
            Outcome::None => None,
            Outcome::Allow => Some("allow"),
            Outcome::Caution => Some("caution"),
            Outcome::Deny => Some("deny"),
            Outcome::Review => Some("review"),
        }
    }

    fn from_code(code: u8) -> Outcome {
        match code {
            1 => Outcome::Allow,
            2 => Outcome::Caution,
            3 => Outcome::Deny,
            4 => Outcome::Review,
            _ => Outcome::None,
        }
    }
}

impl From<crate::decide::Verdict> for Outcome {
    fn from(v: crate::decide::Verdict) -> Outcome {
        match v {
            crate::decide::Verdict::Allow => Outcome::Allow,
            crate::decide::Verdict::Caution => Outcome::Caution,
            crate::decide::Verdict::Deny => Outcome::Deny,
        }
    }
}

/// Why a call was refused ([`Event::Refused`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RefusedFor {
    /// No `Authorization` header (401).
    NoKey = 1,
    /// A header that is not a creditgate bearer token (401).
    MalformedKey = 2,
    /// A token no key has (401).
    UnknownKey = 3,
    /// A revoked key (401).
    RevokedKey = 4,
    /// A key without the route's role (403).
    Role = 5,
    /// An action the key may not ask about (403).
    Action = 6,
    /// An authority the key does not publish for (403).
    Authority = 7,
    /// A filter or pattern testing what the key sees masked (403).
    MaskedData = 8,
    /// Over the key's rate per second (429).
    RateLimited = 9,
    /// Over the key's daily quota (429).
    QuotaExhausted = 10,
}

impl RefusedFor {
    /// Every reason.
    pub const ALL: [RefusedFor; 10] = [
        RefusedFor::NoKey,
        RefusedFor::MalformedKey,
        RefusedFor::UnknownKey,
        RefusedFor::RevokedKey,
        RefusedFor::Role,
        RefusedFor::Action,
        RefusedFor::Authority,
        RefusedFor::MaskedData,
        RefusedFor::RateLimited,
        RefusedFor::QuotaExhausted,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusedFor::NoKey => "no_key",
            RefusedFor::MalformedKey => "malformed_key",
            RefusedFor::UnknownKey => "unknown_key",
            RefusedFor::RevokedKey => "revoked_key",
            RefusedFor::Role => "role",
            RefusedFor::Action => "action",
            RefusedFor::Authority => "authority",
            RefusedFor::MaskedData => "masked_data",
            RefusedFor::RateLimited => "rate_limited",
            RefusedFor::QuotaExhausted => "quota_exhausted",
        }
    }

    fn from_code(code: u8) -> Option<RefusedFor> {
        RefusedFor::ALL.into_iter().find(|r| *r as u8 == code)
    }
}

/// What a record says beyond its common fields, by event.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum Detail {
    /// Nothing more.
    #[default]
    None,
    /// A check: whether the platform had no record of its subject, and
    /// whether a name given with it fitted none of the subject's names
    /// (what someone guessing identity numbers would read).
    Check {
        /// The subject is unknown.
        unknown: bool,
        /// A name was given with it.
        named: bool,
        /// A name was given and did not match.
        name_mismatch: bool,
    },
    /// A refusal: the route (its index in the server's route table) and why.
    Refused {
        /// The route, when the path was one.
        route: Option<u8>,
        /// Why.
        reason: RefusedFor,
    },
}

/// Length of a key id in a record (the 12 hex characters of `cgk_<id>_…`
/// as 6 bytes); all zero when the server runs without keys.
pub const KEY_ID_BYTES: usize = 6;

/// One audited request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// When, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The key that asked.
    pub key: [u8; KEY_ID_BYTES],
    /// What was asked.
    pub event: Event,
    /// The action asked about (catalog index), if any.
    pub action: Option<u8>,
    /// The decision answered.
    pub outcome: Outcome,
    /// The subject concerned, if any.
    pub subject: Option<SubjectKey>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// What else the event says.
    pub detail: Detail,
    /// The request's id (`X-Request-Id`, 40 bits); 0: none (records older
    /// than ids, and a screening's rows share their upload's).
    pub request: u64,
}

impl Record {
    fn encode(&self, out: &mut [u8; RECORD_BYTES]) {
        out.fill(0);
        out[0..8].copy_from_slice(&self.at_ms.to_le_bytes());
        out[8..14].copy_from_slice(&self.key);
        out[14] = self.event as u8;
        out[15] = self.action.map_or(0xFF, |a| a);
        out[16] = self.outcome as u8;
        if let Some(s) = self.subject {
            out[17] = 1;
            out[18..30].copy_from_slice(&s.to_bytes());
        }
        out[30..32].copy_from_slice(&self.status.to_le_bytes());
        match self.detail {
            Detail::None => {}
            Detail::Check {
                unknown,
                named,
                name_mismatch,
            } => out[32] = u8::from(unknown) | u8::from(name_mismatch) << 1 | u8::from(named) << 2,
            Detail::Refused { route, reason } => {
                out[33] = route.unwrap_or(0xFF);
                out[34] = reason as u8;
            }
        }
        out[35..40].copy_from_slice(&self.request.to_le_bytes()[..5]);
    }

    fn decode(b: &[u8; RECORD_BYTES]) -> Option<Record> {
        Some(Record {
            at_ms: u64::from_le_bytes(b[0..8].try_into().ok()?),
            key: b[8..14].try_into().ok()?,
            event: Event::from_code(b[14])?,
            action: (b[15] != 0xFF).then_some(b[15]),
            outcome: Outcome::from_code(b[16]),
            subject: if b[17] == 1 {
                Some(SubjectKey::from_bytes(&b[18..30])?)
            } else {
                None
            },
            status: u16::from_le_bytes(b[30..32].try_into().ok()?),
            detail: match Event::from_code(b[14])? {
                Event::Check | Event::ScreenRow => Detail::Check {
                    unknown: b[32] & 1 != 0,
                    named: b[32] & 4 != 0,
                    name_mismatch: b[32] & 2 != 0,
                },
                Event::Refused => Detail::Refused {
                    route: (b[33] != 0xFF).then_some(b[33]),
                    reason: RefusedFor::from_code(b[34])?,
                },
                _ => Detail::None,
            },
            request: {
                let mut id = [0u8; 8];
                id[..5].copy_from_slice(&b[35..40]);
                u64::from_le_bytes(id)
            },
        })
    }
}

/// A record's fields but the key and the time: what a request was.
#[derive(Copy, Clone, Debug)]
pub struct Fields {
    /// What was asked.
    pub event: Event,
    /// The action asked about.
    pub action: Option<crate::catalog::ActionId>,
    /// The decision answered.
    pub outcome: Outcome,
    /// The subject concerned.
    pub subject: Option<SubjectKey>,
    /// The HTTP status of the answer.
    pub status: u16,
    /// What else the event says.
    pub detail: Detail,
}

impl Fields {
    /// The record of request `request` (its 40-bit id), asked by `key`,
    /// now.
    pub fn stamped(self, key: [u8; KEY_ID_BYTES], request: u64) -> Record {
        Record {
            request,
            at_ms: crate::date::epoch_ms(),
            key,
            event: self.event,
            // 0xFF is "no action" on disk; catalogs hold far fewer.
            action: self.action.map(|a| a.0.min(254) as u8),
            outcome: self.outcome,
            subject: self.subject,
            status: self.status,
            detail: self.detail,
        }
    }
}

/// A key id (12 hex characters) as record bytes; zero for anything else.
pub fn key_bytes(id: &str) -> [u8; KEY_ID_BYTES] {
    crate::hex::decode_into(id).unwrap_or([0; KEY_ID_BYTES])
}

/// The key id of record bytes (`None`: no key, an open server).
pub fn key_text(key: &[u8; KEY_ID_BYTES]) -> Option<String> {
    (key != &[0; KEY_ID_BYTES]).then(|| crate::hex::encode(key))
}

/// China Standard Time offset, in milliseconds.
const CST_MS: u64 = 8 * 3_600_000;
const HOUR_MS: u64 = 3_600_000;

/// The segment (hour since the epoch, CST) a moment falls in.
fn hour_of(at_ms: u64) -> u64 {
    at_ms.saturating_add(CST_MS) / HOUR_MS
}

fn segment_name(hour: u64) -> String {
    let day = crate::date::Date::from_days((hour / 24) as i32);
    let (y, m, d) = day.ymd();
    format!("{y:04}{m:02}{d:02}{:02}.log", hour % 24)
}

fn segment_hour(name: &str) -> Option<u64> {
    let stem = name.strip_suffix(".log")?;
    if stem.len() != 10 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day = crate::date::Date::from_ymd(
        stem[0..4].parse().ok()?,
        stem[4..6].parse().ok()?,
        stem[6..8].parse().ok()?,
    )?;
    let hour: u64 = stem[8..10].parse().ok()?;
    (hour < 24).then(|| day.days() as u64 * 24 + hour)
}

/// The audit log of a store: a sender for requests, queries for operators.
#[derive(Debug)]
pub struct AuditLog {
    dir: PathBuf,
    sender: Option<Sender<Message>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// What the writer receives: one request's record, or a screening batch's.
#[derive(Debug)]
enum Message {
    One(Record),
    Many(Vec<Record>),
}

/// Which records a query wants.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    /// From this moment (inclusive), milliseconds since the epoch.
    pub from_ms: u64,
    /// Up to this moment (exclusive).
    pub to_ms: u64,
    /// Only this subject.
    pub subject: Option<SubjectKey>,
    /// Only this key.
    pub key: Option<[u8; KEY_ID_BYTES]>,
    /// Only this request (its id).
    pub request: Option<u64>,
    /// At most this many.
    pub limit: usize,
}

impl AuditLog {
    /// Opens (creating) the log in `dir` and starts its writer.
    pub fn open(dir: &Path) -> std::io::Result<AuditLog> {
        std::fs::create_dir_all(dir)?;
        let (sender, receiver) = crossbeam_channel::bounded(65_536);
        let writer_dir = dir.to_path_buf();
        let writer = std::thread::Builder::new()
            .name("creditgate-audit".into())
            .spawn(move || write_loop(&writer_dir, &receiver))?;
        Ok(AuditLog {
            dir: dir.to_path_buf(),
            sender: Some(sender),
            writer: Some(writer),
        })
    }

    /// Records `record` (waits only when the writer is 65,536 messages
    /// behind).
    #[inline]
    pub fn record(&self, record: Record) {
        if let Some(s) = &self.sender {
            let _ = s.send(Message::One(record));
        }
    }

    /// Records a batch at once (a screening's rows: one send per batch,
    /// not per row).
    pub fn record_all(&self, records: Vec<Record>) {
        if let (Some(s), false) = (&self.sender, records.is_empty()) {
            let _ = s.send(Message::Many(records));
        }
    }

    /// Stops the writer after it has written everything sent, synced.
    pub fn close(&mut self) {
        self.sender.take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }

    fn segments(&self) -> std::io::Result<Vec<(u64, PathBuf)>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let entry = entry?;
            if let Some(hour) = entry.file_name().to_str().and_then(segment_hour) {
                out.push((hour, entry.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Calls `f` with every record in `[from_ms, to_ms)`, oldest first, until
    /// it returns false.
    pub fn scan(
        &self,
        from_ms: u64,
        to_ms: u64,
        mut f: impl FnMut(&Record) -> bool,
    ) -> std::io::Result<()> {
        let (first, last) = (hour_of(from_ms), hour_of(to_ms.max(1) - 1));
        for (hour, path) in self.segments()? {
            if hour < first || hour > last {
                continue;
            }
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            // Streamed a record at a time: a segment can hold an hour of a
            // busy server (hundreds of MB).
            let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
            let mut buf = [0u8; RECORD_BYTES];
            loop {
                match reader.read_exact(&mut buf) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                    Err(e) => return Err(e),
                }
                let Some(r) = Record::decode(&buf) else {
                    continue;
                };
                if r.at_ms < from_ms || r.at_ms >= to_ms {
                    continue;
                }
                if !f(&r) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }

    /// The records a query asks for, oldest first.
    pub fn query(&self, q: &AuditQuery) -> std::io::Result<Vec<Record>> {
        let mut out = Vec::new();
        self.scan(q.from_ms, q.to_ms, |r| {
            if q.subject.is_none_or(|s| r.subject == Some(s))
                && q.key.is_none_or(|k| r.key == k)
                && q.request.is_none_or(|id| r.request == id)
            {
                out.push(*r);
            }
            out.len() < q.limit
        })?;
        Ok(out)
    }

    /// Deletes the segments wholly older than `keep_from_ms`; how many.
    pub fn prune(&self, keep_from_ms: u64) -> std::io::Result<usize> {
        let first_kept = hour_of(keep_from_ms);
        let mut removed = 0;
        for (hour, path) in self.segments()? {
            if hour < first_kept {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        self.close();
    }
}

/// The open segment: its hour and its writer.
type Segment = Option<(u64, BufWriter<File>)>;

/// Appends `r` to its hour's segment, opening (and closing the previous)
/// as the hour turns.
fn append(dir: &Path, current: &mut Segment, r: &Record) {
    let hour = hour_of(r.at_ms);
    if current.as_ref().is_none_or(|(h, _)| *h != hour) {
        if let Some((_, mut w)) = current.take() {
            let _ = w.flush();
            let _ = w.get_ref().sync_data();
        }
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(segment_name(hour)))
        {
            Ok(f) => *current = Some((hour, BufWriter::with_capacity(256 << 10, f))),
            Err(e) => {
                eprintln!(
                    "creditgate: audit: cannot open a segment in {}: {e}",
                    dir.display()
                );
                return;
            }
        }
    }
    let mut buf = [0u8; RECORD_BYTES];
    r.encode(&mut buf);
    if let Some((_, w)) = current
        && let Err(e) = w.write_all(&buf)
    {
        eprintln!("creditgate: audit: write failed: {e}");
    }
}

/// How often the writer wakes to drain the channel. It never blocks on the
/// channel itself: a receiver blocked in `recv` must be woken by the sender
/// (a futex wake and a context switch per record, 20,000 a second at 20,000
/// checks a second, on the cores that answer the checks). Sleeping a fixed
/// tick instead makes a send a plain queue push; a tick's records (at most
/// 65,536) are drained and written at once.
const TICK: Duration = Duration::from_millis(20);

/// The writer: every [`TICK`], appends what was sent to the current hour's
/// segment and flushes; syncs every second, and at the end.
fn write_loop(dir: &Path, receiver: &Receiver<Message>) {
    let mut current: Segment = None;
    let mut last_sync = Instant::now();
    let mut dirty = false;
    loop {
        let open = loop {
            match receiver.try_recv() {
                Ok(Message::One(r)) => append(dir, &mut current, &r),
                Ok(Message::Many(rs)) => rs.iter().for_each(|r| append(dir, &mut current, r)),
                Err(TryRecvError::Empty) => break true,
                Err(TryRecvError::Disconnected) => break false,
            }
            dirty = true;
        };
        if !open {
            break;
        }
        if dirty && let Some((_, w)) = &mut current {
            let _ = w.flush();
            if last_sync.elapsed() >= Duration::from_secs(1) {
                let _ = w.get_ref().sync_data();
                last_sync = Instant::now();
                dirty = false;
            }
        }
        std::thread::sleep(TICK);
    }
    if let Some((_, mut w)) = current {
        let _ = w.flush();
        let _ = w.get_ref().sync_data();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(at_ms: u64, subject: &str, key: &str, outcome: Outcome) -> Record {
        Record {
            at_ms,
            key: key_bytes(key),
            event: Event::Check,
            action: Some(3),
            outcome,
            subject: Some(SubjectKey::parse(subject).unwrap()),
            status: 200,
            detail: Detail::Check {
                unknown: false,
                named: true,
                name_mismatch: outcome == Outcome::Allow,
            },
            request: at_ms & 0xFF_FFFF_FFFF,
        }
    }

    #[test]
    fn records_round_trip_and_queries_filter() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = AuditLog::open(dir.path()).unwrap();
        let t0 = 1_796_121_264_123; // 2026-12-01 18:34 CST
        let a = "91360100705500005G";
        let b = "11010519491231002X";
        log.record(record(t0, a, "0123456789ab", Outcome::Deny));
        log.record(record(t0 + 1, b, "0123456789ab", Outcome::Allow));
        log.record(record(t0 + 2 * HOUR_MS, a, "ba9876543210", Outcome::Allow));
        log.close();
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            2,
            "one segment per hour"
        );
        let log = AuditLog::open(dir.path()).unwrap();
        let all = |q: AuditQuery| log.query(&AuditQuery { limit: 100, ..q }).unwrap();
        let every = all(AuditQuery {
            from_ms: 0,
            to_ms: u64::MAX,
            ..Default::default()
        });
        assert_eq!(every.len(), 3);
        assert_eq!(every[0], record(t0, a, "0123456789ab", Outcome::Deny));
        let of_a = all(AuditQuery {
            from_ms: 0,
            to_ms: u64::MAX,
            subject: Some(SubjectKey::parse(a).unwrap()),
            ..Default::default()
        });
        assert_eq!(of_a.len(), 2);
        let of_key = all(AuditQuery {
            from_ms: 0,
            to_ms: u64::MAX,
            key: Some(key_bytes("ba9876543210")),
            ..Default::default()
        });
        assert_eq!(of_key.len(), 1);
        let window = all(AuditQuery {
            from_ms: t0 + 1,
            to_ms: t0 + HOUR_MS,
            ..Default::default()
        });
        assert_eq!(window.len(), 1);
        assert_eq!(key_text(&every[0].key).as_deref(), Some("0123456789ab"));
        // Retention: the first hour goes, the later one stays.
        assert_eq!(log.prune(t0 + 2 * HOUR_MS).unwrap(), 1);
        assert_eq!(
            all(AuditQuery {
                from_ms: 0,
                to_ms: u64::MAX,
                ..Default::default()
            })
            .len(),
            1
        );
    }

    #[test]
    fn refusals_round_trip_with_their_route_and_reason() {
        for reason in RefusedFor::ALL {
            let r = Record {
                at_ms: 1_796_121_264_123,
                key: key_bytes("0123456789ab"),
                event: Event::Refused,
                action: None,
                outcome: Outcome::None,
                subject: None,
                status: 403,
                detail: Detail::Refused {
                    route: Some(3),
                    reason,
                },
                // The largest 40-bit id survives the five bytes.
                request: (1 << 40) - 1,
            };
            let mut buf = [0u8; RECORD_BYTES];
            r.encode(&mut buf);
            assert_eq!(Record::decode(&buf), Some(r));
        }
        let mut buf = [0u8; RECORD_BYTES];
        let no_route = Record {
            at_ms: 1,
            key: [0; KEY_ID_BYTES],
            event: Event::Refused,
            action: None,
            outcome: Outcome::None,
            subject: None,
            status: 401,
            detail: Detail::Refused {
                route: None,
                reason: RefusedFor::NoKey,
            },
            request: 0,
        };
        no_route.encode(&mut buf);
        assert_eq!(Record::decode(&buf), Some(no_route));
    }

    #[test]
    fn segment_names_are_cst_hours() {
        let t0 = 1_796_121_264_123;
        assert_eq!(segment_name(hour_of(t0)), "2026120118.log");
        assert_eq!(segment_hour("2026120118.log"), Some(hour_of(t0)));
        assert_eq!(segment_hour("notes.txt"), None);
    }
}
