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
//! are read from the store and passed to [`crate::decide::decide`].
//!
//! Both in-memory structures are built when the engine opens. Writes made
//! through the engine ([`Engine::put_subjects`], [`Engine::put_entries`],
//! [`Engine::transition`]) are synced to the store, then published to
//! readers as a new snapshot (an overlay over the structures built at
//! open, `index::live`) before the call returns: a check that starts after
//! a write was acknowledged sees it. The name index catches up from the
//! change log on [`Engine::refresh_names`], which the server calls every
//! second.

mod answer;
mod check;
mod disclosures;
mod feed;
mod indexes;
mod writes;

pub use answer::{
    BenefitOut, ChangeOut, ChangesPage, CheckAnswer, EntryOut, HistoryOut, LinkOut, NoteOut,
    ObjectionOut, ReasonOut, SubjectAnswer, SubjectOut, ViaOut,
};
pub use check::Answered;
pub use disclosures::{CounterpartOut, DisclosureOut, RepairError, RepairOut, disclosure_out};
pub use feed::ChangeFilter;
pub use indexes::{
    KNOWN_SET_FILE, STATUS_FILE, build_known_set, build_status_index, copy_dir, known_set,
    saved_indexes_stale, status_index, write_snapshot,
};

use std::path::Path;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use arc_swap::ArcSwap;

use crate::calendar::WorkCalendar;
use crate::catalog::Catalog;
use crate::date::Date;
use crate::id::SubjectKey;
use crate::index::live::{Reclaimer, Snapshot};
use crate::model::{Entry, EntryStatus};
use crate::search::{Hit, NameIndex, SearchError, SearchQuery};
use crate::store::{Store, StoreError};
use answer::{CleanJson, history_out, links_out, note_out};
use indexes::{base_of, side_by_side};

/// The engine over one store.
pub struct Engine {
    store: Arc<Store>,
    catalog: Catalog,
    /// Counts the working days of 双公示's timeliness.
    calendar: WorkCalendar,
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
                    tracing::info!(
                        "the saved indexes are {} changes behind the store: rebuilding them",
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
            calendar: WorkCalendar::bundled(),
            live: Arc::new(ArcSwap::from_pointee(Snapshot::new(base).with(overlay))),
            reclaimer: Arc::new(Reclaimer::start()),
            publish: Mutex::new(()),
            folding: Arc::default(),
            next_seq: tokio::sync::watch::Sender::new(covers),
            opened,
        })
    }

    /// The engine with `calendar` counting working days instead of the
    /// bundled one.
    pub fn with_calendar(mut self, calendar: WorkCalendar) -> Engine {
        self.calendar = calendar;
        self
    }

    /// The working-day calendar in use.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
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

    /// [`Engine::search`], with the plausible subjects apart: whether the
    /// query names one subject unambiguously.
    pub fn search_found(&self, q: &SearchQuery<'_>) -> Result<crate::search::Found, SearchError> {
        self.names.load().search_found(q)
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

    pub(super) fn entry_out(&self, e: &Entry, at: Date) -> EntryOut {
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
            .filter(|c| !c.kind.is_disclosure() && c.entry_id.as_deref() == Some(entry_id))
            .map(history_out)
            .collect();
        Ok(Some((self.entry_out(&e, at), history)))
    }
}
