//! Watches (推送提示): an implementing department names the subjects it
//! follows and is told of every change that moves their decisions, by
//! reading `GET /v1/watches/{id}/changes` or by signed POSTs to its
//! callback.
//!
//! A watch's changes are the change feed filtered at read time, never
//! copied per watch: the feed is already durable and ordered, and copying
//! would multiply every write by the watches that name its subject. A
//! change to subject S concerns a watch ([`Watch::concerns`]) when
//! * the watch names S;
//! * S is an organization and the watch names a person holding a role in
//!   it (the organization's listing extends measures to that person);
//! * S is a person and the watch names an organization where S holds a
//!   role (its legal representative was listed).
//!
//! A category or action filter keeps entry changes of that category, or
//! of categories whose measures restrict or grant one of those actions;
//! subject changes (names, roles) always pass, since a new role can move
//! a decision. Disclosures (双公示) concern only a watch naming their
//! subject, without a filter.
//!
//! | module | holds |
//! |---|---|
//! | this one | the registry of watches in memory, the filter |
//! | [`callback`] | callback URLs, the address check, one POST |
//! | [`sign`] | the HMAC-SHA256 signature of a delivery |
//! | [`deliver`] | the delivery worker: order, retries, dead letters |

pub mod callback;
pub mod deliver;
pub mod sign;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use crate::catalog::{ActionId, CategoryId};
use crate::engine::Engine;
use crate::id::{SubjectKey, SubjectKind};
use crate::store::watches::WatchRecord;
use crate::store::{Change, StoreError};

/// Most subjects one watch names.
pub const MAX_WATCH_SUBJECTS: usize = 1_000_000;

/// A watch in memory: its record, its subjects and what delivery has done.
#[derive(Debug)]
pub struct Watch {
    /// As stored.
    pub record: WatchRecord,
    members: RwLock<Members>,
    category: Option<CategoryId>,
    actions: Vec<ActionId>,
    /// Set when the watch is deleted: its delivery stops.
    pub(crate) deleted: AtomicBool,
    /// Held while its cursor is written, and while it is deleted: a cursor
    /// or dead letter is never written after the watch's keys are gone.
    pub(crate) writing: Mutex<()>,
    /// Wakes its delivery (deleted, or a dead letter redelivered).
    pub(crate) wake: tokio::sync::Notify,
    /// Delivery's progress.
    pub status: Mutex<DeliveryStatus>,
    /// The last change sequence delivered (or passed over).
    pub cursor: AtomicU64,
}

/// The subjects a watch names, and how many of each kind (a watch naming
/// no person need not read an organization's roles, and the reverse).
#[derive(Debug, Default)]
struct Members {
    set: HashSet<SubjectKey>,
    orgs: usize,
    persons: usize,
}

impl Members {
    fn add(&mut self, subject: SubjectKey) -> bool {
        let new = self.set.insert(subject);
        if new {
            match subject.kind() {
                SubjectKind::Org => self.orgs += 1,
                SubjectKind::Person => self.persons += 1,
            }
        }
        new
    }

    fn remove(&mut self, subject: SubjectKey) -> bool {
        let had = self.set.remove(&subject);
        if had {
            match subject.kind() {
                SubjectKind::Org => self.orgs -= 1,
                SubjectKind::Person => self.persons -= 1,
            }
        }
        had
    }
}

/// What delivery to a watch's callback has done, for `GET /v1/watches/{id}`.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct DeliveryStatus {
    /// Changes the receiver acknowledged since the server started.
    pub delivered: u64,
    /// Changes filed as dead letters since the server started.
    pub dead_lettered: u64,
    /// Failed attempts in a row at the change being delivered.
    pub failures: u32,
    /// What the last failed attempt met.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When the last attempt was made (China Standard Time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_attempt: Option<String>,
    /// Why delivery is paused, if it is (the key was revoked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub paused: Option<String>,
}

impl Watch {
    /// The watch of `record` naming `subjects`, its filter resolved
    /// against the engine's catalog (codes the catalog no longer has match
    /// nothing).
    pub fn new(
        record: WatchRecord,
        subjects: Vec<SubjectKey>,
        engine: &Engine,
        cursor: u64,
    ) -> Watch {
        let catalog = engine.catalog();
        let mut members = Members::default();
        for s in subjects {
            members.add(s);
        }
        Watch {
            category: record
                .category
                .as_deref()
                .map(|c| catalog.category_by_code(c).unwrap_or(CategoryId(u16::MAX))),
            actions: record
                .actions
                .iter()
                .map(|a| catalog.action_by_code(a).unwrap_or(ActionId(u16::MAX)))
                .collect(),
            members: RwLock::new(members),
            record,
            deleted: AtomicBool::new(false),
            writing: Mutex::new(()),
            wake: tokio::sync::Notify::new(),
            status: Mutex::default(),
            cursor: AtomicU64::new(cursor),
        }
    }

    fn members(&self) -> std::sync::RwLockReadGuard<'_, Members> {
        self.members.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether the watch names `subject`.
    pub fn names(&self, subject: SubjectKey) -> bool {
        self.members().set.contains(&subject)
    }

    /// How many subjects it names.
    pub fn subject_count(&self) -> usize {
        self.members().set.len()
    }

    /// Whether the watch has a filter.
    fn filtered(&self) -> bool {
        self.category.is_some() || !self.actions.is_empty()
    }

    /// Whether entries of `category` (a code) pass the filter.
    fn admits_category(&self, engine: &Engine, code: &str) -> bool {
        let catalog = engine.catalog();
        let Some(category) = catalog.category_by_code(code) else {
            return !self.filtered();
        };
        if self.category.is_some_and(|c| c != category) {
            return false;
        }
        self.actions.is_empty()
            || self.actions.iter().any(|&action| {
                action.0 != u16::MAX
                    && (!catalog.restricting(category, action).is_empty()
                        || catalog
                            .granting(category)
                            .any(|m| catalog.measure(m).actions.contains(&action)))
            })
    }

    /// Whether `change` concerns the watch (see the module).
    pub fn concerns(&self, engine: &Engine, change: &Change) -> Result<bool, StoreError> {
        let Some(subject) = change.subject_key() else {
            return Ok(false);
        };
        if change.kind.is_disclosure() {
            return Ok(!self.filtered() && self.names(subject));
        }
        if change.entry_id.is_some() {
            let passes = match &change.entry {
                Some(entry) => self.admits_category(engine, entry.category_code()),
                // A change logged before entries were kept with it.
                None => !self.filtered(),
            };
            if !passes {
                return Ok(false);
            }
        }
        let (named, orgs, persons) = {
            let m = self.members();
            (m.set.contains(&subject), m.orgs > 0, m.persons > 0)
        };
        if named {
            return Ok(true);
        }
        let store = engine.store();
        Ok(match subject.kind() {
            SubjectKind::Org if persons => store
                .subject(subject)?
                .is_some_and(|s| s.persons.iter().any(|p| self.names(p.person))),
            SubjectKind::Person if orgs => store
                .orgs_of(subject)?
                .iter()
                .any(|(org, _)| self.names(*org)),
            _ => false,
        })
    }
}

/// Every watch of this node, by id.
pub struct Watches {
    engine: Arc<Engine>,
    by_id: RwLock<BTreeMap<String, Arc<Watch>>>,
    /// Tells the delivery worker of a new watch with a callback.
    added: tokio::sync::mpsc::UnboundedSender<Arc<Watch>>,
    added_rx: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Arc<Watch>>>>,
    /// Changes receivers acknowledged since the server started.
    pub(crate) delivered: AtomicU64,
    /// Changes filed as dead letters since the server started.
    pub(crate) dead_lettered: AtomicU64,
    /// POSTs that failed since the server started.
    pub(crate) failed: AtomicU64,
    /// Held while a watch's subjects change.
    changing: Mutex<()>,
}

impl Watches {
    /// The watches stored in the engine's store.
    pub fn open(engine: Arc<Engine>) -> Result<Watches, StoreError> {
        let mut by_id = BTreeMap::new();
        for (record, cursor) in engine.store().watches()? {
            let subjects = engine.store().watch_subjects(&record.id)?;
            let id = record.id.clone();
            by_id.insert(id, Arc::new(Watch::new(record, subjects, &engine, cursor)));
        }
        let (added, added_rx) = tokio::sync::mpsc::unbounded_channel();
        Ok(Watches {
            engine,
            by_id: RwLock::new(by_id),
            added,
            added_rx: Mutex::new(Some(added_rx)),
            delivered: AtomicU64::new(0),
            dead_lettered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            changing: Mutex::new(()),
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// How many watches there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<Watch>>> {
        self.by_id.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The watch with this id.
    pub fn get(&self, id: &str) -> Option<Arc<Watch>> {
        self.read().get(id).cloned()
    }

    /// Every watch, in id order.
    pub fn all(&self) -> Vec<Arc<Watch>> {
        self.read().values().cloned().collect()
    }

    /// Every watch with a callback.
    pub fn with_callbacks(&self) -> Vec<Arc<Watch>> {
        self.read()
            .values()
            .filter(|w| w.record.callback.is_some())
            .cloned()
            .collect()
    }

    /// Stores and registers a new watch; it reports the changes after the
    /// last one logged now.
    pub fn create(
        &self,
        mut record: WatchRecord,
        subjects: Vec<SubjectKey>,
    ) -> Result<Arc<Watch>, StoreError> {
        let store = self.engine.store();
        record.start_seq = store.next_change_seq().saturating_sub(1);
        record.subjects = subjects.len() as u64;
        store.put_watch(&record, &subjects)?;
        let start = record.start_seq;
        let watch = Arc::new(Watch::new(record, subjects, &self.engine, start));
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(watch.record.id.clone(), watch.clone());
        if watch.record.callback.is_some() {
            // No worker (a replica, a test without delivery): nothing to tell.
            let _ = self.added.send(watch.clone());
        }
        Ok(watch)
    }

    /// Adds and removes subjects of a watch (stored, then visible to its
    /// filter); what was added and removed (subjects it already named, or
    /// did not, change nothing). Refused, changing nothing, when the watch
    /// would name more than [`MAX_WATCH_SUBJECTS`] or none.
    pub fn change_subjects(
        &self,
        watch: &Watch,
        add: &[SubjectKey],
        remove: &[SubjectKey],
    ) -> Result<Result<(usize, usize), String>, StoreError> {
        // One change at a time: the stored count follows the set.
        let _one = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let (added, removed, total) = {
            let m = watch.members();
            let removed: Vec<SubjectKey> = remove
                .iter()
                .copied()
                .filter(|s| m.set.contains(s))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let added: Vec<SubjectKey> = add
                .iter()
                .copied()
                .filter(|s| !m.set.contains(s) && !remove.contains(s))
                .collect::<HashSet<_>>()
                .into_iter()
                .collect();
            let total = m.set.len() + added.len() - removed.len();
            (added, removed, total)
        };
        if total > MAX_WATCH_SUBJECTS {
            return Ok(Err(format!(
                "the watch would name {total} subjects; a watch names at most {MAX_WATCH_SUBJECTS}"
            )));
        }
        if total == 0 {
            return Ok(Err(
                "the watch would name no subject; delete it instead".to_string()
            ));
        }
        let mut record = watch.record.clone();
        record.subjects = total as u64;
        {
            let _writing = watch.writing.lock().unwrap_or_else(|p| p.into_inner());
            if watch.deleted.load(Ordering::Acquire) {
                return Ok(Err("the watch was deleted meanwhile".to_string()));
            }
            self.engine
                .store()
                .change_watch_subjects(&record, &added, &removed)?;
        }
        let mut m = watch.members.write().unwrap_or_else(|p| p.into_inner());
        for s in &added {
            m.add(*s);
        }
        for s in &removed {
            m.remove(*s);
        }
        Ok(Ok((added.len(), removed.len())))
    }

    /// Deletes a watch; `false` when there is none with this id.
    pub fn delete(&self, id: &str) -> Result<bool, StoreError> {
        let Some(watch) = self.get(id) else {
            return Ok(false);
        };
        {
            let _writing = watch.writing.lock().unwrap_or_else(|p| p.into_inner());
            watch.deleted.store(true, Ordering::Release);
            self.engine.store().delete_watch(id)?;
        }
        watch.wake.notify_one();
        self.by_id
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        Ok(true)
    }

    /// The receiver of watches created after the delivery worker started
    /// (taken once, by the worker).
    pub(crate) fn take_added(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<Arc<Watch>>> {
        self.added_rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }

    /// Appends the watches' series to a Prometheus text answer: how many
    /// there are, what delivery did since the server started, and how far
    /// the furthest-behind callback is from the log's end.
    pub fn render_metrics(&self, out: &mut String) {
        use std::fmt::Write;
        let last = self.engine.store().next_change_seq().saturating_sub(1);
        let (mut callbacks, mut failing, mut paused, mut lag) = (0u64, 0u64, 0u64, 0u64);
        for w in self.read().values().filter(|w| w.record.callback.is_some()) {
            callbacks += 1;
            let status = w.status.lock().unwrap_or_else(|p| p.into_inner());
            failing += u64::from(status.failures > 0);
            paused += u64::from(status.paused.is_some());
            lag = lag.max(last.saturating_sub(w.cursor.load(Ordering::Acquire)));
        }
        let series: [(&str, &str, &str, u64); 8] = [
            (
                "creditgate_watches",
                "gauge",
                "Watches on this node.",
                self.len() as u64,
            ),
            (
                "creditgate_watches_with_callbacks",
                "gauge",
                "Watches delivered to a callback.",
                callbacks,
            ),
            (
                "creditgate_webhook_deliveries_total",
                "counter",
                "Changes receivers acknowledged since the server started.",
                self.delivered.load(Ordering::Relaxed),
            ),
            (
                "creditgate_webhook_failures_total",
                "counter",
                "Webhook POSTs that failed (each retry counts) since the server started.",
                self.failed.load(Ordering::Relaxed),
            ),
            (
                "creditgate_webhook_dead_letters_total",
                "counter",
                "Changes filed as dead letters since the server started.",
                self.dead_lettered.load(Ordering::Relaxed),
            ),
            (
                "creditgate_webhook_failing_watches",
                "gauge",
                "Callback watches whose last POST failed (retrying).",
                failing,
            ),
            (
                "creditgate_webhook_paused_watches",
                "gauge",
                "Callback watches paused (their key revoked or gone).",
                paused,
            ),
            (
                "creditgate_webhook_lag_changes",
                "gauge",
                "Changes logged after the furthest-behind callback watch's cursor.",
                lag,
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }
}

/// A new watch id: 16 random hex digits.
pub fn new_id() -> std::io::Result<String> {
    Ok(crate::hex::encode(&crate::access::random_bytes(8)?))
}

/// A new signing secret: `whsec_` and 32 random bytes in hex.
pub fn new_secret() -> std::io::Result<String> {
    Ok(format!(
        "whsec_{}",
        crate::hex::encode(&crate::access::random_bytes(32)?)
    ))
}
