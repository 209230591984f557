//! The engine: a store, the catalog and the status index behind two questions,
//! *check* (may S do A on date t?) and *show* (what is known about S?).
//!
//! Both answers are plain serde structs in the shapes of SPEC §6, so the CLI
//! prints exactly what the HTTP service will serve.
//!
//! The check path: the status index says whether the subject is flagged, and
//! the known set whether the platform has its record. A clean subject is
//! decided from these two, in memory, without touching the store. A flagged
//! subject's entries, and those of the organizations where it holds a role,
//! are read from the store and passed to [`decide`].
//!
//! Both in-memory structures are built when the engine opens. Writes made
//! through the engine ([`Engine::put_subjects`], [`Engine::put_entries`],
//! [`Engine::transition`]) are synced to the store, then published to
//! readers as a new [`Snapshot`] (an overlay over the structures built at
//! open, `index::live`) before the call returns: a check that starts after
//! a write was acknowledged sees it. The name index catches up from the
//! change log on [`Engine::refresh_names`], which the server calls every
//! second.

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use arc_swap::ArcSwap;

use serde::Serialize;

use crate::catalog::{ActionId, Catalog};
use crate::date::Date;
use crate::decide::{BenefitSource, Decision, OrgRole, Reason, SubjectView, Verdict, decide};
use crate::id::{IdReadings, SubjectKey};
use crate::index::known::{KnownSet, KnownSetBuilder};
use crate::index::live::{Base, FOLD_AT, Reclaimer, Snapshot};
use crate::index::prints::{self, NamePrints};
use crate::index::saved::stamp_of;
use crate::index::status::StatusIndex;
use crate::lifecycle::Transition;
use crate::model::{Entry, EntryStatus, Note, PersonLink, Role, Subject};
use crate::search::{Hit, NameIndex, SearchError, SearchQuery};
use crate::store::{
    Applied, Change, Durability, Reach, Replace, Store, StoreError, WriteError, Written,
    status_from,
};

/// The engine over one store.
pub struct Engine {
    store: Arc<Store>,
    catalog: Catalog,
    /// What checks read: the indexes and the subjects written since open.
    live: Arc<ArcSwap<Snapshot>>,
    /// Frees the generations writes and folds replace.
    reclaimer: Arc<Reclaimer>,
    clean_json: CleanJson,
    names: ArcSwap<NameIndex>,
    /// Held across a write and its publishing, so that snapshots follow
    /// the writes in the order they were committed
    /// ([`crate::index::follow`]).
    publish: Mutex<()>,
    /// Set while a fold of the overlay runs.
    folding: Arc<AtomicBool>,
    /// The next change sequence, for long polls of the change feed.
    next_seq: tokio::sync::watch::Sender<u64>,
    /// Tells this engine's entries in [`CLEAN_TAILS`] from another's.
    serial: u64,
    /// How the open went.
    opened: Opened,
}

/// How long each step of [`Engine::open`] took, for the operator watching
/// a start (`creditgate serve` prints it).
#[derive(Clone, Debug)]
pub struct Opened {
    /// RocksDB opened.
    pub store: std::time::Duration,
    /// The status index loaded or built (and then saved).
    pub status: std::time::Duration,
    /// Whether the status index was loaded from its saved file.
    pub status_loaded: bool,
    /// The known set loaded or built (and then saved).
    pub known: std::time::Duration,
    /// Whether the known set was loaded from its saved file.
    pub known_loaded: bool,
    /// Caught up with the change log since the saved indexes' stamp:
    /// changes read, subjects read again, time taken.
    pub caught_up: Option<(u64, usize, std::time::Duration)>,
    /// The name index opened.
    pub names: std::time::Duration,
}

impl std::fmt::Display for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let made = |loaded| if loaded { "loaded" } else { "built" };
        write!(
            f,
            "store {:.2} s, then side by side status index {} {:.2} s and known set {} {:.2} s",
            self.store.as_secs_f64(),
            made(self.status_loaded),
            self.status.as_secs_f64(),
            made(self.known_loaded),
            self.known.as_secs_f64(),
        )?;
        if let Some((changes, subjects, took)) = self.caught_up {
            write!(
                f,
                ", caught up with {changes} changes ({subjects} subjects read again) in {:.2} s",
                took.as_secs_f64()
            )?;
        }
        write!(f, ", names {:.2} s", self.names.as_secs_f64())
    }
}

/// How many clean-answer tails each thread keeps (an action, known or not,
/// and a date each); when full, the list starts over.
const CLEAN_TAILS_KEPT: usize = 64;

/// Engine serial, action, known, date.
type CleanTailKey = (u64, ActionId, bool, Date);
/// A clean answer's verdict and tail, `None` when the general path must
/// write it.
type CleanTail = Option<(Verdict, Box<[u8]>)>;

thread_local! {
    /// Per thread, recent clean-answer tails ([`Engine::clean_tail`]): a
    /// clean subject's decision depends only on the action, whether it is
    /// known and the date, so it is decided once per thread and day rather
    /// than once per request.
    static CLEAN_TAILS: std::cell::RefCell<Vec<(CleanTailKey, CleanTail)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// The catalog's strings as JSON, encoded once at open, for the answers to
/// clean subjects (nearly all checks), which are written without serde.
struct CleanJson {
    /// Per action: its code as a JSON string.
    actions: Vec<Box<[u8]>>,
    /// Per measure: its whole entry in `benefits` as a clean-record benefit.
    benefits: Vec<Box<[u8]>>,
}

impl CleanJson {
    fn new(catalog: &Catalog) -> CleanJson {
        let string = |s: &str| serde_json::to_vec(s).expect("a string always encodes");
        CleanJson {
            actions: catalog
                .actions()
                .iter()
                .map(|a| string(&a.code).into_boxed_slice())
                .collect(),
            benefits: catalog
                .measures()
                .iter()
                .map(|m| {
                    let mut b = b"{\"measure\":".to_vec();
                    b.extend_from_slice(&string(&m.code));
                    b.extend_from_slice(b",\"name\":");
                    b.extend_from_slice(&string(&m.name));
                    b.extend_from_slice(
                        b",\"source\":\"clean_record\",\"entry_id\":null,\"category\":null}",
                    );
                    b.into_boxed_slice()
                })
                .collect(),
        }
    }
}

/// How a clean answer's tail ends: no name was given.
const NULL_MATCH_END: &[u8] = b",\"name_match\":null}";

/// SPEC §6 `GET /v1/check` answer.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct CheckAnswer {
    /// Canonical identifier.
    pub id: String,
    /// Whether the platform has a record of the subject.
    pub known: bool,
    /// Action asked about.
    pub action: String,
    /// The date the decision is for.
    pub at: Date,
    /// allow, caution or deny.
    pub decision: Verdict,
    /// Counted measures restricting the action.
    pub reasons: Vec<ReasonOut>,
    /// Measures suspended by an objection.
    pub suspended: Vec<ReasonOut>,
    /// Incentives the subject enjoys.
    pub benefits: Vec<BenefitOut>,
    /// Whether a given name matches the record (null: no name given).
    pub name_match: Option<bool>,
}

/// One reason, as SPEC §6 prints it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ReasonOut {
    /// The entry.
    pub entry_id: String,
    /// black or red.
    pub list: &'static str,
    /// Category code.
    pub category: String,
    /// Measure code.
    pub measure: String,
    /// Measure name.
    pub measure_name: String,
    /// Mandatory (强制性) or recommended.
    pub mandatory: bool,
    /// Deciding department.
    pub authority: String,
    /// Legal basis.
    pub basis: String,
    /// End of the term.
    pub expires_at: Option<Date>,
    /// How an organization's entry reaches this person.
    pub via: Option<ViaOut>,
}

/// `via` of a reason.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ViaOut {
    /// The listed organization.
    pub org_id: String,
    /// The person's role in it.
    pub role: &'static str,
}

/// One benefit.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct BenefitOut {
    /// Incentive measure code.
    pub measure: String,
    /// Its name.
    pub name: String,
    /// `red_list` or `clean_record`.
    pub source: &'static str,
    /// The red entry, for `red_list`.
    pub entry_id: Option<String>,
    /// Its category, for `red_list`.
    pub category: Option<String>,
}

/// SPEC §6 `GET /v1/subjects/{id}` answer.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct SubjectAnswer {
    /// Canonical identifier.
    pub id: String,
    /// org or person.
    pub kind: &'static str,
    /// Whether a subject record exists.
    pub known: bool,
    /// Current name.
    pub name: Option<String>,
    /// Former and other names.
    pub aliases: Vec<String>,
    /// For an organization: its persons and their roles.
    pub persons: Vec<LinkOut>,
    /// For a person: the organizations where they hold a role.
    pub organizations: Vec<LinkOut>,
    /// Every entry with its status as of `at`.
    pub entries: Vec<EntryOut>,
    /// Changes concerning the subject, oldest first.
    pub history: Vec<HistoryOut>,
    /// The date derived statuses are for.
    pub at: Date,
}

/// A person–organization link.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct LinkOut {
    /// The other side's identifier.
    pub id: String,
    /// The role.
    pub role: &'static str,
}

/// An entry with its derived status.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct EntryOut {
    /// Entry id.
    pub entry_id: String,
    /// The listed subject.
    pub subject_id: String,
    /// black or red.
    pub list: &'static str,
    /// Category code.
    pub category: String,
    /// Category name.
    pub category_name: String,
    /// Deciding department.
    pub authority: String,
    /// Legal basis.
    pub basis: String,
    /// Decision date.
    pub decided_at: Date,
    /// First day in force.
    pub effective_from: Date,
    /// First day no longer in force.
    pub expires_at: Option<Date>,
    /// Stored status.
    pub status: &'static str,
    /// Status as of `at`: the stored one, or `expired` / `pending` for an
    /// active entry outside its term.
    pub derived_status: &'static str,
    /// The last objection, if any.
    pub objection: Option<ObjectionOut>,
    /// The credit repair, once repaired.
    pub repair: Option<NoteOut>,
    /// The revocation, once revoked.
    pub revocation: Option<NoteOut>,
}

/// An entry's objection.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ObjectionOut {
    /// The day it was received.
    pub filed_on: Date,
    /// The last day of its verification (20 days on).
    pub deadline: Date,
    /// What was objected to.
    pub reason: String,
    /// Still undecided after its deadline, as of `at`.
    pub overdue: bool,
    /// `upheld`, `corrected` or `revoked`; null while pending.
    pub outcome: Option<&'static str>,
    /// The day of the outcome.
    pub decided_on: Option<Date>,
    /// The outcome's note.
    pub outcome_note: Option<String>,
}

/// A dated note (repair, revocation).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct NoteOut {
    /// The day.
    pub on: Date,
    /// The text.
    pub note: String,
}

/// One change of the feed (`GET /v1/changes`).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ChangeOut {
    /// Position in the change log: gap-free, increasing by one.
    pub seq: u64,
    /// What happened (`entry_inserted`, `objection_filed`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// When it was committed, RFC 3339 in China Standard Time.
    pub time: String,
    /// The same moment in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The subject concerned.
    pub subject_id: String,
    /// The entry concerned.
    pub entry_id: Option<String>,
    /// The reason or note given with a transition.
    pub note: Option<String>,
    /// For entry changes: the entry as it stood after the change (statuses
    /// derived as of the feed's date).
    pub entry: Option<EntryOut>,
    /// For subject changes: the subject's record as it is now.
    pub subject: Option<SubjectOut>,
}

/// A subject's record in the feed.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct SubjectOut {
    /// org or person.
    pub kind: &'static str,
    /// Current name.
    pub name: String,
    /// Former and other names.
    pub aliases: Vec<String>,
    /// Its persons and their roles.
    pub persons: Vec<LinkOut>,
}

/// Which changes a feed reader wants.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// Only entries of this category (code).
    pub category: Option<String>,
    /// Only entries of this deciding department.
    pub authority: Option<String>,
}

impl ChangeFilter {
    fn admits(&self, c: &Change) -> bool {
        if self.category.is_none() && self.authority.is_none() {
            return true;
        }
        let Some(entry) = &c.entry else {
            return false;
        };
        self.category
            .as_deref()
            .is_none_or(|code| entry.category_code() == code)
            && self
                .authority
                .as_deref()
                .is_none_or(|a| entry.authority() == a)
    }
}

/// A page of the feed.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ChangesPage {
    /// The changes after `since` that pass the filter, oldest first.
    pub changes: Vec<ChangeOut>,
    /// Pass as `since` to continue: every change up to it has been read
    /// (returned or filtered out), none after it.
    pub next_since: u64,
    /// The newest change in the log (0: none yet).
    pub last_seq: u64,
}

/// Most changes scanned for one page when a filter passes few of them; the
/// page then ends early and `next_since` says where the scan stopped.
const FEED_SCAN_CAP: usize = 50_000;

/// One change in a subject's history.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct HistoryOut {
    /// Change-log sequence.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub change: &'static str,
    /// The entry concerned.
    pub entry_id: Option<String>,
    /// The entry's status after the change.
    pub status: Option<&'static str>,
    /// The reason or note given with a transition.
    pub note: Option<String>,
}

/// The known set saved beside the store (with its stamp: the change
/// sequence it covers, at most the store's; [`crate::index`]'s saved
/// files), or, when there is none that fits, built from the store.
pub fn known_set(store: &Store) -> Result<(KnownSet, Option<u64>), StoreError> {
    let path = store.path().join(KNOWN_SET_FILE);
    if let Some((set, stamp)) = KnownSet::load(&path, store.next_change_seq()) {
        return Ok((set, Some(stamp)));
    }
    Ok((build_known_set(store)?, None))
}

/// The known set built from the subject records and saved at the store's
/// change sequence (best effort: a read-only directory only costs the next
/// open a rebuild).
pub fn build_known_set(store: &Store) -> Result<KnownSet, StoreError> {
    let path = store.path().join(KNOWN_SET_FILE);
    let stamp = store.next_change_seq();
    // Sized from RocksDB's estimate, a little over: growing a list of 10^8
    // rows copies it while both copies are held.
    let estimate = store.estimated_subjects();
    let mut builder = KnownSetBuilder::with_capacity(estimate + estimate / 50);
    store.for_each_subject(|s| {
        builder.add(
            s.id,
            &NamePrints::of(&s.name, s.aliases.iter().map(String::as_str)),
        );
    })?;
    let set = builder.finish();
    if let Err(e) = set.save(&path, stamp) {
        eprintln!("creditgate: cannot save {}: {e}", path.display());
    }
    Ok(set)
}

/// The known set's file in the store directory.
pub const KNOWN_SET_FILE: &str = "known-set.idx";

/// The status index's file in the store directory.
pub const STATUS_FILE: &str = "status.idx";

/// The status index saved beside the store, with its stamp, or built from
/// the store and saved, as [`known_set`].
pub fn status_index(store: &Store) -> Result<(StatusIndex, Option<u64>), StoreError> {
    let path = store.path().join(STATUS_FILE);
    if let Some((index, stamp)) = StatusIndex::load(&path, store.next_change_seq()) {
        return Ok((index, Some(stamp)));
    }
    Ok((build_status_index(store)?, None))
}

/// The status index built from the store and saved, as
/// [`build_known_set`].
pub fn build_status_index(store: &Store) -> Result<StatusIndex, StoreError> {
    let path = store.path().join(STATUS_FILE);
    let stamp = store.next_change_seq();
    let index = StatusIndex::build(store)?;
    if let Err(e) = index.save(&path, stamp) {
        eprintln!("creditgate: cannot save {}: {e}", path.display());
    }
    Ok(index)
}

/// Saves a folded base beside the store, stamped `covers` (best effort,
/// as at open).
fn save_base(base: &Base, dir: &Path, covers: u64) {
    let saved = [
        (
            STATUS_FILE,
            base.status.save(&dir.join(STATUS_FILE), covers),
        ),
        (
            KNOWN_SET_FILE,
            base.known.save(&dir.join(KNOWN_SET_FILE), covers),
        ),
    ];
    for (file, result) in saved {
        if let Err(e) = result {
            eprintln!("creditgate: cannot save {}: {e}", dir.join(file).display());
        }
    }
}

/// The two indexes as the base of a snapshot: the known set marks the
/// flagged subjects, so that one probe also says whether to ask the status
/// index.
fn base_of(status: StatusIndex, mut known: KnownSet) -> Base {
    for key in status.flagged_keys() {
        known.mark_flagged(key);
    }
    Base { status, known }
}

/// Runs `a` on a thread of its own and `b` on this one.
fn side_by_side<A: Send, B>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B) -> (A, B) {
    std::thread::scope(|scope| {
        let a = scope.spawn(a);
        let b = b();
        let a = a
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (a, b)
    })
}

/// Whether the saved indexes of `store` are missing or so far behind its
/// change log that the next open would rebuild them rather than catch up
/// ([`crate::index::catch_up::MAX_CHANGES`]). The import asks, to rebuild
/// them itself.
pub fn saved_indexes_stale(store: &Store) -> bool {
    let newest = store.next_change_seq();
    let behind = |stamp: Option<u64>| {
        stamp.is_none_or(|at| newest - at > crate::index::catch_up::MAX_CHANGES as u64)
    };
    behind(stamp_of(&store.path().join(STATUS_FILE)))
        || behind(stamp_of(&store.path().join(KNOWN_SET_FILE)))
}

/// Serialises an answer into `out`.
fn write_answer(out: &mut Vec<u8>, answer: &CheckAnswer) {
    serde_json::to_writer(out, answer).expect("serialising plain fields into a Vec cannot fail");
}

impl Engine {
    /// Opens the store at `path`, builds the status index and loads (or
    /// builds) the known set and the name index.
    pub fn open(path: &Path, catalog: Catalog) -> Result<Engine, StoreError> {
        let started = std::time::Instant::now();
        let store = Store::open(path)?;
        let covers = store.next_change_seq();
        let opened_store = started.elapsed();
        // The two indexes load (or build) side by side: at 10^8 subjects
        // their files are 0.5 and 1.6 GB, and one thread reading and
        // checking them in turn took 7–14 s.
        fn timed<T>(
            make: impl FnOnce() -> Result<(T, Option<u64>), StoreError>,
        ) -> Result<(T, Option<u64>, std::time::Duration), StoreError> {
            let t = std::time::Instant::now();
            make().map(|(index, stamp)| (index, stamp, t.elapsed()))
        }
        let (status, known) = side_by_side(
            || timed(|| status_index(&store)),
            || timed(|| known_set(&store)),
        );
        let ((status, status_stamp, status_took), (known, known_stamp, known_took)) =
            (status?, known?);
        let mut base = base_of(status, known);
        // Saved indexes behind the store catch up with the log: the
        // subjects it names since are read again, as the first overlay.
        let since = status_stamp
            .unwrap_or(covers)
            .min(known_stamp.unwrap_or(covers));
        let mut overlay = Vec::new();
        let mut caught_up = None;
        if since < covers {
            let t = std::time::Instant::now();
            match crate::index::catch_up::states_since(&store, &base, since)? {
                Some(states) => {
                    caught_up = Some((covers - since, states.len(), t.elapsed()));
                    overlay = states;
                }
                None => {
                    eprintln!(
                        "creditgate: the saved indexes are {} changes behind the store: rebuilding them",
                        covers - since
                    );
                    let (status, known) =
                        side_by_side(|| build_status_index(&store), || build_known_set(&store));
                    base = base_of(status?, known?);
                }
            }
        }
        let made_known = started.elapsed();
        let names = NameIndex::open(&store)?;
        let opened = Opened {
            store: opened_store,
            status: status_took,
            status_loaded: status_stamp.is_some(),
            known: known_took,
            known_loaded: known_stamp.is_some(),
            caught_up,
            names: started.elapsed() - made_known,
        };
        static ENGINES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        Ok(Engine {
            names: ArcSwap::from_pointee(names),
            store: Arc::new(store),
            serial: ENGINES.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            clean_json: CleanJson::new(&catalog),
            catalog,
            live: Arc::new(ArcSwap::from_pointee(Snapshot::new(base).with(overlay))),
            reclaimer: Arc::new(Reclaimer::start()),
            publish: Mutex::new(()),
            folding: Arc::default(),
            next_seq: tokio::sync::watch::Sender::new(covers),
            opened,
        })
    }

    /// How the open went.
    pub fn opened(&self) -> &Opened {
        &self.opened
    }

    /// The catalog in use.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The current generation of the indexes checks read.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.live.load_full()
    }

    /// The name index as of its last refresh.
    pub fn names(&self) -> Arc<NameIndex> {
        self.names.load_full()
    }

    /// A receiver of the next change sequence: it changes whenever a write
    /// is committed.
    pub fn watch_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.next_seq.subscribe()
    }

    /// Subjects whose names are like the query's, best first.
    pub fn search(&self, q: &SearchQuery<'_>) -> Result<Vec<Hit>, SearchError> {
        self.names.load().search(q)
    }

    /// Only the subjects one of whose names is the query's after
    /// normalization ([`NameIndex::search_exact`]).
    pub fn search_exact(&self, q: &SearchQuery<'_>) -> Result<Vec<Hit>, SearchError> {
        self.names.load().search_exact(q)
    }

    /// The subject's flags and whether it is known, from the current
    /// snapshot ([`Snapshot::lookup`]). No I/O.
    fn lookup(&self, key: SubjectKey) -> (bool, bool) {
        let (flags, known) = self.live.load().lookup(key);
        (flags.is_some(), known)
    }

    /// Hints that `key` is about to be checked (`name`: with a name): see
    /// [`KnownSet::prefetch`].
    #[inline]
    pub fn prefetch(&self, key: SubjectKey, name: bool) {
        self.live.load().prefetch(key, name);
    }

    /// The reading of `readings` the platform knows (the first when both or
    /// neither are known).
    pub fn pick_reading(&self, readings: IdReadings) -> SubjectKey {
        if let Some(second) = readings.second
            && !self.lookup(readings.first).1
            && self.lookup(second).1
        {
            return second;
        }
        readings.first
    }

    /// Decides for the reading of `readings` the platform knows.
    pub fn check_readings(
        &self,
        readings: IdReadings,
        action: ActionId,
        at: Date,
    ) -> Result<CheckAnswer, StoreError> {
        self.check(self.pick_reading(readings), action, at)
    }

    /// Whether `name` is the subject's current name or an alias
    /// ([`crate::search::names::matches`]), from the prints of its names the snapshot
    /// holds ([`crate::index::prints`]): no I/O. A subject without a
    /// record matches no name.
    pub fn name_matches(&self, key: SubjectKey, name: &str) -> bool {
        self.live.load().has_name(key, prints::of_name(name))
    }

    /// Writes the check answer as JSON into `out`, the same document as
    /// serialising [`Engine::check`], with `name_match` from
    /// [`Engine::name_matches`] when a `name` is given; the store is read
    /// within `reach` (at [`Reach::Memory`], `out` is left as it was when
    /// that is not enough).
    pub fn check_json(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        name: Option<&str>,
        reach: Reach,
        out: &mut Vec<u8>,
    ) -> Result<Verdict, StoreError> {
        let name_match = name.map(|n| self.name_matches(key, n));
        self.check_json_with(key, action, at, name_match, reach, out)
    }

    /// [`Engine::check_json`] with `name_match` already known. A clean
    /// subject, the case of nearly every request, is written directly,
    /// without building a [`CheckAnswer`], and reads nothing. Returns the
    /// decision.
    pub fn check_json_with(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        name_match: Option<bool>,
        reach: Reach,
        out: &mut Vec<u8>,
    ) -> Result<Verdict, StoreError> {
        let (flagged, known) = self.lookup(key);
        if flagged {
            let mut answer = self.check_within(key, action, at, reach)?;
            answer.name_match = name_match;
            write_answer(out, &answer);
            return Ok(answer.decision);
        }
        let tail_key = (self.serial, action, known, at);
        let written = CLEAN_TAILS.with_borrow_mut(|tails| {
            let tail = match tails.iter().position(|(k, _)| *k == tail_key) {
                Some(i) => &tails[i].1,
                None => {
                    if tails.len() == CLEAN_TAILS_KEPT {
                        tails.clear();
                    }
                    tails.push((tail_key, self.clean_tail(action, known, at)));
                    &tails[tails.len() - 1].1
                }
            };
            let Some((verdict, tail)) = tail else {
                return None;
            };
            let mut date = [0u8; 10];
            at.write_iso(&mut date);
            out.extend_from_slice(b"{\"id\":\"");
            out.extend_from_slice(&key.to_ascii());
            out.extend_from_slice(if known {
                b"\",\"known\":true,\"action\":"
            } else {
                b"\",\"known\":false,\"action\":"
            });
            out.extend_from_slice(&self.clean_json.actions[usize::from(action.0)]);
            out.extend_from_slice(b",\"at\":\"");
            out.extend_from_slice(&date);
            match name_match {
                None => out.extend_from_slice(tail),
                Some(m) => {
                    // The tail ends with the null name match.
                    out.extend_from_slice(&tail[..tail.len() - NULL_MATCH_END.len()]);
                    out.extend_from_slice(if m {
                        b",\"name_match\":true}"
                    } else {
                        b",\"name_match\":false}"
                    });
                }
            }
            Some(*verdict)
        });
        if let Some(verdict) = written {
            return Ok(verdict);
        }
        // Not reachable without entries today; kept general all the same.
        let d = self.clean_decision(known, action, at);
        let mut answer = self.answer(key, known, action, at, &d);
        answer.name_match = name_match;
        write_answer(out, &answer);
        Ok(answer.decision)
    }

    /// The part of a clean subject's answer after its date, from
    /// `"decision"` to the end; `None` when the decision has benefits other
    /// than the clean record's, which only the general path writes.
    fn clean_tail(&self, action: ActionId, known: bool, at: Date) -> CleanTail {
        let d = self.clean_decision(known, action, at);
        if d.benefits
            .iter()
            .any(|b| !matches!(b.source, BenefitSource::CleanRecord { .. }))
        {
            return None;
        }
        let mut out = b"\",\"decision\":\"".to_vec();
        out.extend_from_slice(d.verdict.as_str().as_bytes());
        out.extend_from_slice(b"\",\"reasons\":[],\"suspended\":[],\"benefits\":[");
        for (i, b) in d.benefits.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(&self.clean_json.benefits[usize::from(b.measure.0)]);
        }
        out.extend_from_slice(b"]");
        out.extend_from_slice(NULL_MATCH_END);
        Some((d.verdict, out.into_boxed_slice()))
    }

    /// Only the decision of [`Engine::check`]: a clean subject is decided
    /// without building an answer or reading the store.
    pub fn verdict(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
    ) -> Result<Verdict, StoreError> {
        let (flagged, known) = self.lookup(key);
        if flagged {
            return Ok(self.check(key, action, at)?.decision);
        }
        Ok(self.clean_decision(known, action, at).verdict)
    }

    /// The decision for a subject with no entry of its own or through an
    /// organization.
    fn clean_decision(&self, known: bool, action: ActionId, at: Date) -> Decision<'static> {
        let view = SubjectView {
            known,
            entries: &[],
            roles: &[],
        };
        decide(&self.catalog, &view, action, at)
    }

    /// Decides whether `key` may do `action` on `at`.
    pub fn check(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
    ) -> Result<CheckAnswer, StoreError> {
        self.check_within(key, action, at, Reach::Disk)
    }

    /// [`Engine::check`], the store read within `reach`.
    pub fn check_within(
        &self,
        key: SubjectKey,
        action: ActionId,
        at: Date,
        reach: Reach,
    ) -> Result<CheckAnswer, StoreError> {
        let snapshot = self.live.load();
        let (flags, known) = snapshot.lookup(key);
        // The entry ids and roles come from the index: point reads, no scans.
        let entries_of = |k: SubjectKey| {
            self.store
                .entries_by_id(snapshot.entry_ids(k).iter(), &self.catalog, reach)
        };
        let own = match flags {
            Some(f) if f.own() => entries_of(key)?,
            _ => Vec::new(),
        };
        let links: &[(SubjectKey, Role)] = match flags {
            Some(f) if f.via() => snapshot.org_roles(key),
            _ => &[],
        };
        // A person may hold several roles in one organization: read each
        // listed organization's entries once.
        let mut org_entries: Vec<(SubjectKey, Vec<Entry>)> = Vec::new();
        for (org, _) in links {
            if !org_entries.iter().any(|(o, _)| o == org) {
                org_entries.push((*org, entries_of(*org)?));
            }
        }
        let roles: Vec<OrgRole<'_>> = links
            .iter()
            .filter_map(|(org, role)| {
                let (_, entries) = org_entries.iter().find(|(o, _)| o == org)?;
                Some(OrgRole {
                    org: *org,
                    role: *role,
                    entries,
                })
            })
            .collect();
        let view = SubjectView {
            known,
            entries: &own,
            roles: &roles,
        };
        let decision = decide(&self.catalog, &view, action, at);
        Ok(self.answer(key, known, action, at, &decision))
    }

    fn reason(&self, r: &Reason<'_>) -> ReasonOut {
        let measure = self.catalog.measure(r.measure);
        ReasonOut {
            entry_id: r.entry.entry_id.clone(),
            list: r.entry.list.as_str(),
            category: self.catalog.category(r.entry.category).code.clone(),
            measure: measure.code.clone(),
            measure_name: measure.name.clone(),
            mandatory: r.mandatory,
            authority: r.entry.authority.clone(),
            basis: r.entry.basis.clone(),
            expires_at: r.entry.expires_at,
            via: r.via.map(|v| ViaOut {
                org_id: v.org.to_string(),
                role: v.role.as_str(),
            }),
        }
    }

    fn answer(
        &self,
        key: SubjectKey,
        known: bool,
        action: ActionId,
        at: Date,
        d: &Decision<'_>,
    ) -> CheckAnswer {
        CheckAnswer {
            id: key.to_string(),
            known,
            action: self.catalog.action(action).code.clone(),
            at,
            decision: d.verdict,
            reasons: d.reasons.iter().map(|r| self.reason(r)).collect(),
            suspended: d.suspended.iter().map(|r| self.reason(r)).collect(),
            benefits: d
                .benefits
                .iter()
                .map(|b| {
                    let m = self.catalog.measure(b.measure);
                    let (source, entry_id, category) = match b.source {
                        BenefitSource::Entry(e) => (
                            "red_list",
                            Some(e.entry_id.clone()),
                            Some(self.catalog.category(e.category).code.clone()),
                        ),
                        BenefitSource::CleanRecord { .. } => ("clean_record", None, None),
                    };
                    BenefitOut {
                        measure: m.code.clone(),
                        name: m.name.clone(),
                        source,
                        entry_id,
                        category,
                    }
                })
                .collect(),
            name_match: None,
        }
    }

    /// Publishes subjects (new ones inserted, different ones replaced,
    /// equal ones unchanged). Returns once the write is synced and visible
    /// to checks.
    pub fn put_subjects(&self, subjects: &[Subject]) -> Result<(Applied, Vec<Change>), WriteError> {
        let _order = self.in_order();
        let (applied, written) = self.store.write_subjects(subjects, Durability::Synced)?;
        self.publish(&written);
        Ok((applied, written.changes))
    }

    /// Publishes or replaces entries as a department does: a stored entry
    /// keeps its status and lifecycle, and one under objection or revoked
    /// is refused ([`crate::lifecycle::check_replace`]). Synced and visible
    /// when this returns.
    pub fn put_entries(&self, entries: &[Entry]) -> Result<(Applied, Vec<Change>), WriteError> {
        let _order = self.in_order();
        let (applied, written) = self.store.write_entries(
            entries,
            &self.catalog,
            Replace::KeepState(|status, id| {
                crate::lifecycle::check_replace(status, id).map_err(|c| c.0)
            }),
            Durability::Synced,
        )?;
        self.publish(&written);
        Ok((applied, written.changes))
    }

    /// Applies a lifecycle transition to an entry. Synced and visible when
    /// this returns.
    pub fn transition(
        &self,
        entry_id: &str,
        transition: &Transition,
    ) -> Result<Change, WriteError> {
        let _order = self.in_order();
        let written = self.store.update_entry(entry_id, &self.catalog, |entry| {
            crate::lifecycle::apply(entry, transition).map_err(|c| c.0)
        })?;
        self.publish(&written);
        Ok(written
            .changes
            .into_iter()
            .next()
            .expect("a transition logs one change"))
    }

    /// Logs the entries that lapsed since the last sweep, up to `today`
    /// ([`Store::sweep_expired`]).
    pub fn sweep_expired(&self, today: Date) -> Result<Vec<Change>, StoreError> {
        let _order = self.in_order();
        let written = self.store.sweep_expired(today, &self.catalog)?;
        self.publish(&written);
        Ok(written.changes)
    }

    /// Brings the name index up to the change log; whether it changed.
    /// Searches keep using the previous index until the new one is ready.
    pub fn refresh_names(&self) -> Result<bool, StoreError> {
        let current = self.names.load_full();
        match current.refreshed(&self.store)? {
            Some(next) => {
                self.names.store(Arc::new(next));
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The publish lock, held from a write to its publishing.
    fn in_order(&self) -> std::sync::MutexGuard<'_, ()> {
        self.publish.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a committed write visible: publishes the next snapshot with
    /// the states the write left ([`crate::index::follow`]), if it changed
    /// any, and wakes the change feed's long polls. The caller holds
    /// [`Engine::in_order`] from before the write. Reads nothing, so it
    /// cannot fail once the write is committed.
    fn publish(&self, written: &Written) {
        let Some(last) = written.changes.last() else {
            return;
        };
        let covers = last.seq + 1;
        let current = self.live.load_full();
        let states = crate::index::follow::next_states(&current, written);
        // Not held past here: the reclaimer frees what a write replaces
        // once nobody holds it.
        drop(current);
        if !states.is_empty() {
            let previous = self.live.rcu(|now| now.with(states.iter().cloned()));
            // Freed once no check holds it, by the reclaimer: not by this
            // writer, and not by whichever check drops it last.
            self.reclaimer.retire(previous);
        }
        self.next_seq.send_if_modified(|seq| {
            let newer = covers > *seq;
            if newer {
                *seq = covers;
            }
            newer
        });
        if self.live.load().overlay_len() >= FOLD_AT && !self.folding.swap(true, Ordering::AcqRel) {
            let live = self.live.clone();
            let folding = self.folding.clone();
            let reclaimer = self.reclaimer.clone();
            let published = self.next_seq.subscribe();
            let dir = self.store.path().to_path_buf();
            let spawned = std::thread::Builder::new()
                .name("creditgate-fold".into())
                .spawn(move || {
                    crate::priority::lower_priority();
                    // Every write before this sequence is in the snapshot
                    // loaded next (a write is published before its sequence
                    // is sent): the stamp of the folded base.
                    let covers = *published.borrow();
                    let from = live.load_full();
                    let base = Arc::new(from.fold());
                    let replaced = live.rcu(|now| Snapshot::rebased(now, &from, base.clone()));
                    // The old base (millions of allocations at 10^7 subjects)
                    // and the settled level it replaces go to the reclaimer:
                    // dropped by a check, they stalled it tens of
                    // milliseconds. `from` was retired by whoever replaced
                    // it (a write, or this rebase).
                    reclaimer.retire(replaced);
                    drop(from);
                    // Saved, so that a restart catches up from here rather
                    // than from the last open.
                    save_base(&base, &dir, covers);
                    folding.store(false, Ordering::Release);
                });
            if spawned.is_err() {
                self.folding.store(false, Ordering::Release);
            }
        }
    }

    /// Everything known about `key`, entry statuses derived as of `at`.
    pub fn show(&self, key: SubjectKey, at: Date) -> Result<SubjectAnswer, StoreError> {
        let subject = self.store.subject(key)?;
        let entries = self.store.entries_of(key, &self.catalog)?;
        let organizations = self.store.orgs_of(key)?;
        let history = self.store.history_of(key)?;
        Ok(SubjectAnswer {
            id: key.to_string(),
            kind: key.kind().as_str(),
            known: subject.is_some() || !entries.is_empty(),
            name: subject.as_ref().map(|s| s.name.clone()),
            aliases: subject
                .as_ref()
                .map(|s| s.aliases.clone())
                .unwrap_or_default(),
            persons: subject
                .as_ref()
                .map(|s| links_out(&s.persons))
                .unwrap_or_default(),
            organizations: organizations
                .iter()
                .map(|(org, role)| LinkOut {
                    id: org.to_string(),
                    role: role.as_str(),
                })
                .collect(),
            entries: entries.iter().map(|e| self.entry_out(e, at)).collect(),
            history: history.iter().map(history_out).collect(),
            at,
        })
    }

    fn entry_out(&self, e: &Entry, at: Date) -> EntryOut {
        let category = self.catalog.category(e.category);
        let derived_status = match e.status {
            EntryStatus::Active if at < e.effective_from => "pending",
            EntryStatus::Active if !e.in_term(at) => "expired",
            s => s.as_str(),
        };
        let l = &e.lifecycle;
        EntryOut {
            entry_id: e.entry_id.clone(),
            subject_id: e.subject.to_string(),
            list: e.list.as_str(),
            category: category.code.clone(),
            category_name: category.name.clone(),
            authority: e.authority.clone(),
            basis: e.basis.clone(),
            decided_at: e.decided_at,
            effective_from: e.effective_from,
            expires_at: e.expires_at,
            status: e.status.as_str(),
            derived_status,
            objection: l.objection.as_ref().map(|o| ObjectionOut {
                filed_on: o.filed_on,
                deadline: o.deadline,
                reason: o.reason.clone(),
                overdue: o.outcome.is_none()
                    && e.status == EntryStatus::Disputed
                    && at > o.deadline,
                outcome: o.outcome.as_ref().map(|out| out.kind.as_str()),
                decided_on: o.outcome.as_ref().map(|out| out.on),
                outcome_note: o.outcome.as_ref().map(|out| out.note.clone()),
            }),
            repair: l.repair.as_ref().map(note_out),
            revocation: l.revocation.as_ref().map(note_out),
        }
    }

    /// The entry with this id, its statuses derived as of `at`, with the
    /// changes logged for it (oldest first); `None` when there is no such
    /// entry.
    pub fn entry(
        &self,
        entry_id: &str,
        at: Date,
    ) -> Result<Option<(EntryOut, Vec<HistoryOut>)>, StoreError> {
        let Some(e) = self.store.entry(entry_id, &self.catalog)? else {
            return Ok(None);
        };
        let history = self
            .store
            .history_of(e.subject)?
            .iter()
            .filter(|c| c.entry_id.as_deref() == Some(entry_id))
            .map(history_out)
            .collect();
        Ok(Some((self.entry_out(&e, at), history)))
    }

    /// The changes after `since` that `filter` admits, at most `limit`.
    pub fn changes(
        &self,
        since: u64,
        limit: usize,
        filter: &ChangeFilter,
        at: Date,
    ) -> Result<ChangesPage, StoreError> {
        let mut page = ChangesPage {
            changes: Vec::new(),
            next_since: since,
            last_seq: self.store.next_change_seq().saturating_sub(1),
        };
        let mut scanned = 0;
        'pages: while page.changes.len() < limit && scanned < FEED_SCAN_CAP {
            let batch = self.store.changes(page.next_since + 1, limit.max(256))?;
            if batch.is_empty() {
                break;
            }
            for c in batch {
                scanned += 1;
                page.next_since = c.seq;
                if filter.admits(&c) {
                    page.changes.push(self.change_out(&c, at)?);
                    if page.changes.len() == limit {
                        break 'pages;
                    }
                }
                if scanned == FEED_SCAN_CAP {
                    break 'pages;
                }
            }
        }
        Ok(page)
    }

    /// A logged change as the feed shows it, the entry's statuses derived
    /// as of `at`.
    pub fn change_out(&self, c: &Change, at: Date) -> Result<ChangeOut, StoreError> {
        let subject_key = c.subject_key().ok_or_else(|| StoreError::Corrupt {
            what: "change",
            detail: format!("bad subject key {:02x?}", c.subject),
        })?;
        let entry = match (&c.entry, &c.entry_id) {
            (Some(stored), Some(id)) => {
                Some(self.entry_out(&stored.to_entry(id.clone(), &self.catalog)?, at))
            }
            _ => None,
        };
        let subject = if c.kind.is_subject() {
            self.store.subject(subject_key)?.map(|s| SubjectOut {
                kind: s.id.kind().as_str(),
                name: s.name,
                aliases: s.aliases,
                persons: links_out(&s.persons),
            })
        } else {
            None
        };
        Ok(ChangeOut {
            seq: c.seq,
            kind: c.kind.as_str(),
            time: Date::cst_timestamp(c.at_ms),
            at_ms: c.at_ms,
            subject_id: subject_key.to_string(),
            entry_id: c.entry_id.clone(),
            note: c.note.clone(),
            entry,
            subject,
        })
    }
}

fn history_out(c: &Change) -> HistoryOut {
    HistoryOut {
        seq: c.seq,
        at_ms: c.at_ms,
        change: c.kind.as_str(),
        entry_id: c.entry_id.clone(),
        status: c
            .status
            .and_then(|s| status_from(s).ok())
            .map(EntryStatus::as_str),
        note: c.note.clone(),
    }
}

/// An organization's persons as answers list them.
fn links_out(persons: &[PersonLink]) -> Vec<LinkOut> {
    persons
        .iter()
        .map(|l| LinkOut {
            id: l.person.to_string(),
            role: l.role.as_str(),
        })
        .collect()
}

fn note_out(n: &Note) -> NoteOut {
    NoteOut {
        on: n.on,
        note: n.note.clone(),
    }
}
