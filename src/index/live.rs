//! What readers see while writes arrive: the indexes built at open (the
//! *base*) and a small overlay of the subjects written since.
//!
//! The status index and the known set are large (10^7 subjects: hundreds
//! of MB) and read on every check, so a write cannot rebuild them, and
//! readers must not wait for a lock a writer holds. Instead a write works
//! out the new state of each subject it changed (has a record, its entry
//! ids, its roles in listed organizations: [`super::follow`]) and publishes
//! a new [`Snapshot`]: the same base and a copy of the overlay with those
//! subjects in it. Readers load the current snapshot (`arc-swap`: no lock,
//! no reference count in the common case) and ask the overlay first; while
//! it is empty that costs one branch.
//!
//! The overlay has two levels, so that a write copies little: `recent`
//! (at most [`RECENT_AT`] subjects), copied by every write, and `settled`,
//! shared by `Arc` and rebuilt only when `recent` is full (a write then
//! copies `settled` once, for the next [`RECENT_AT`] writes). A profile of
//! 200 writes/s over a one-level overlay of 12,000 subjects spent a quarter
//! of the server's CPU copying and dropping it. Past [`FOLD_AT`] subjects
//! the overlay is folded into a new base on a thread of its own
//! ([`Snapshot::fold`]), and the subjects written meanwhile stay in the
//! overlay of the snapshot that follows ([`Snapshot::rebased`]).
//!
//! Who frees a replaced generation: the [`Reclaimer`], on a thread of its
//! own, once no reader holds it any more. Left to reference counting, the
//! last holder frees it, and that can be a check that loaded the snapshot
//! just before a write replaced it: dropping a whole base took such a
//! check tens of milliseconds, and a settled level of 10^5 subjects is
//! 10^5 frees. Nor does a writer wait for a level to become unshared (it
//! used to, holding the publish lock, up to 50 ms per write during a
//! fold).

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::TryRecvError;

use super::known::KnownSet;
use super::prints::{NamePrints, Print};
use super::status::{EntryIds, Flags, KeyMap, StatusIndex};
use crate::id::SubjectKey;
use crate::model::Role;

/// Overlay size from which the overlay is folded into a new base: at 200
/// writes/s (about 145 new subject states a second: status changes add
/// none), every 15 minutes. A fold copies the
/// base (at 10^7 subjects a 128 MB known set and 1.3M status entries);
/// between folds a write copies at most [`RECENT_AT`] subjects, and every
/// [`RECENT_AT`] writes the settled level once.
pub const FOLD_AT: usize = 131_072;

/// Subjects the overlay's `recent` level holds before they are settled.
pub const RECENT_AT: usize = 512;

/// Subjects written since the base, by key.
type Overlay = KeyMap<Arc<LiveState>>;

/// The indexes built at open or by a fold.
pub struct Base {
    /// Flagged subjects.
    pub status: StatusIndex,
    /// Subjects with a record.
    pub known: KnownSet,
}

/// A subject's state as a write left it.
#[derive(Debug, Default)]
pub struct LiveState {
    /// It has a record.
    pub known: bool,
    /// Its own entries' ids, ascending.
    pub entry_ids: Box<[Box<str>]>,
    /// Its roles in organizations that have entries.
    pub org_roles: Box<[(SubjectKey, Role)]>,
    /// The prints of its names (none without a record).
    pub names: NamePrints,
}

/// One generation of the indexes: a base and the subjects written since.
pub struct Snapshot {
    base: Arc<Base>,
    /// Subjects written since the base, but the latest few.
    settled: Arc<Overlay>,
    /// The latest subjects written; they win over `settled`.
    recent: Overlay,
}

impl Snapshot {
    /// The first generation: the base alone.
    pub fn new(base: Base) -> Snapshot {
        Snapshot {
            base: Arc::new(base),
            settled: Arc::default(),
            recent: Overlay::default(),
        }
    }

    /// The next generation: the same base, this overlay with `states`
    /// replacing the subjects they name.
    pub fn with(&self, states: impl IntoIterator<Item = (SubjectKey, Arc<LiveState>)>) -> Snapshot {
        let mut recent = self.recent.clone();
        recent.extend(states);
        let mut settled = self.settled.clone();
        if recent.len() > RECENT_AT {
            let mut all = (*settled).clone();
            all.extend(recent.drain());
            settled = Arc::new(all);
        }
        Snapshot {
            base: self.base.clone(),
            settled,
            recent,
        }
    }

    /// Every subject of the overlay with its latest state.
    fn overlay(&self) -> impl Iterator<Item = (&SubjectKey, &Arc<LiveState>)> {
        self.recent.iter().chain(
            self.settled
                .iter()
                .filter(|(k, _)| !self.recent.contains_key(*k)),
        )
    }

    /// This generation's overlay folded into a new base (the expensive part,
    /// done without any lock), then [`Snapshot::rebased`] on whatever is
    /// current when it is done.
    pub fn fold(&self) -> Base {
        let mut known = self.base.known.with_records(
            self.overlay()
                .filter(|(_, s)| s.known)
                .map(|(k, s)| (*k, &s.names)),
        );
        for (key, state) in self.overlay() {
            if !state.entry_ids.is_empty() || !state.org_roles.is_empty() {
                known.mark_flagged(*key);
            }
        }
        let status = self.base.status.with_changes(
            self.overlay()
                .map(|(k, s)| (*k, &*s.entry_ids, &*s.org_roles)),
        );
        Base { status, known }
    }

    /// `current` on the folded base of `folded_from`: the subjects written
    /// after the fold's generation stay in the overlay.
    pub fn rebased(current: &Snapshot, folded_from: &Snapshot, base: Arc<Base>) -> Snapshot {
        let overlay: Overlay = current
            .overlay()
            .filter(|(k, s)| {
                folded_from
                    .live_arc(**k)
                    .is_none_or(|folded| !Arc::ptr_eq(folded, s))
            })
            .map(|(k, s)| (*k, s.clone()))
            .collect();
        Snapshot {
            base,
            settled: Arc::new(overlay),
            recent: Overlay::default(),
        }
    }

    /// Subjects in the overlay.
    pub fn overlay_len(&self) -> usize {
        self.settled.len()
            + self
                .recent
                .keys()
                .filter(|k| !self.settled.contains_key(*k))
                .count()
    }

    fn live_arc(&self, key: SubjectKey) -> Option<&Arc<LiveState>> {
        self.recent.get(&key).or_else(|| self.settled.get(&key))
    }

    #[inline]
    fn live(&self, key: SubjectKey) -> Option<&LiveState> {
        if self.recent.is_empty() && self.settled.is_empty() {
            return None;
        }
        self.live_arc(key).map(|s| &**s)
    }

    /// The subject's flags (`None`: clean) and whether it has a record (or
    /// entries of its own). No I/O.
    #[inline]
    pub fn lookup(&self, key: SubjectKey) -> (Option<Flags>, bool) {
        if let Some(s) = self.live(key) {
            let own = !s.entry_ids.is_empty();
            return (Flags::of(own, !s.org_roles.is_empty()), s.known || own);
        }
        let probe = self.base.known.probe(key);
        let flags = if probe.maybe_flagged {
            self.base.status.get(key)
        } else {
            None
        };
        (flags, probe.known || flags.is_some_and(Flags::own))
    }

    /// Whether the subject has a record (entries alone do not count). No
    /// I/O.
    pub fn has_record(&self, key: SubjectKey) -> bool {
        match self.live(key) {
            Some(s) => s.known,
            None => self.base.known.probe(key).known,
        }
    }

    /// Whether `given`, a name's print, is the subject's current name or an
    /// alias (false without a record). No I/O.
    pub fn has_name(&self, key: SubjectKey, given: Print) -> bool {
        match self.live(key) {
            Some(s) => s.known && s.names.has(given),
            None => self.base.known.has_name(key, given),
        }
    }

    /// The prints of the subject's names.
    pub fn name_prints(&self, key: SubjectKey) -> NamePrints {
        match self.live(key) {
            Some(s) => s.names.clone(),
            None => self.base.known.name_prints(key),
        }
    }

    /// The ids of the subject's own entries.
    pub fn entry_ids(&self, key: SubjectKey) -> EntryIds<'_> {
        match self.live(key) {
            Some(s) => EntryIds::Listed(&s.entry_ids),
            None => self.base.status.entry_ids(key),
        }
    }

    /// The person's roles in organizations with entries.
    pub fn org_roles(&self, key: SubjectKey) -> &[(SubjectKey, Role)] {
        match self.live(key) {
            Some(s) => &s.org_roles,
            None => self.base.status.org_roles(key),
        }
    }

    /// Hints that `key` is about to be looked up (`name`: with a name).
    #[inline]
    pub fn prefetch(&self, key: SubjectKey, name: bool) {
        self.base.known.prefetch(key, name);
    }

    /// The base's status index.
    pub fn base_status(&self) -> &StatusIndex {
        &self.base.status
    }

    /// The base's known set.
    pub fn base_known(&self) -> &KnownSet {
        &self.base.known
    }

    /// Flagged subjects, the overlay counted in.
    pub fn flagged(&self) -> usize {
        let mut n = self.base.status.len() as i64;
        for (key, s) in self.overlay() {
            let before = self.base.status.get(*key).is_some();
            let now = !s.entry_ids.is_empty() || !s.org_roles.is_empty();
            n += i64::from(now) - i64::from(before);
        }
        n.max(0) as usize
    }

    /// Subjects with a record, the overlay counted in.
    pub fn known(&self) -> usize {
        let mut n = self.base.known.len() as i64;
        for (key, s) in self.overlay() {
            n += i64::from(s.known) - i64::from(self.base.known.contains(*key));
        }
        n.max(0) as usize
    }
}

/// Frees replaced snapshots once nobody else holds them, on its own
/// thread (at nice 10, so that it yields to the request workers without
/// being starved by them), so that neither a check nor a writer pays for
/// freeing a generation.
pub struct Reclaimer {
    retired: Option<crossbeam_channel::Sender<Arc<Snapshot>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reclaimer {
    /// How long the thread sleeps before it frees what was retired: a
    /// reader holds a snapshot for the length of a check, and at 200
    /// writes/s waking for each one (and every 2 ms while one was held) was
    /// 345 wake-ups a second competing with the request workers.
    const TICK: Duration = Duration::from_millis(20);

    /// Starts the reclaiming thread.
    pub fn start() -> Reclaimer {
        let (retired, arrivals) = crossbeam_channel::unbounded::<Arc<Snapshot>>();
        let thread = std::thread::Builder::new()
            .name("creditgate-reclaim".into())
            .spawn(move || {
                crate::priority::yield_to_requests();
                let mut held: Vec<Arc<Snapshot>> = Vec::new();
                loop {
                    // Nothing held: sleep until something is retired.
                    if held.is_empty() {
                        match arrivals.recv() {
                            Ok(s) => held.push(s),
                            Err(_) => break,
                        }
                    }
                    std::thread::sleep(Self::TICK);
                    loop {
                        match arrivals.try_recv() {
                            // Held once: a second clone would count as a reader.
                            Ok(s) => {
                                if !held.iter().any(|h| Arc::ptr_eq(h, &s)) {
                                    held.push(s);
                                }
                            }
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => return,
                        }
                    }
                    held.retain(|s| Arc::strong_count(s) > 1);
                }
                // The engine is gone: what readers still hold, they free.
            })
            .ok();
        Reclaimer {
            retired: Some(retired),
            thread,
        }
    }

    /// Hands over a replaced snapshot: it is freed once no reader holds
    /// it. Without the thread (it could not be started) it is dropped here.
    /// Whoever replaced a snapshot retires it; retiring it again is
    /// harmless (it is held once).
    pub fn retire(&self, snapshot: Arc<Snapshot>) {
        if let (Some(tx), Some(_)) = (&self.retired, &self.thread) {
            let _ = tx.send(snapshot);
        }
    }
}

impl Drop for Reclaimer {
    fn drop(&mut self) {
        self.retired.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> SubjectKey {
        SubjectKey::parse(s).unwrap()
    }

    #[test]
    fn the_overlay_wins_and_a_fold_keeps_later_writes() {
        let org = key("91360100705500005G");
        let person = key("11010519491231002X");
        let base = Base {
            status: StatusIndex::default(),
            known: KnownSet::build([(org, NamePrints::of("甲乙科技有限公司", ["甲乙厂"]))]),
        };
        let s0 = Snapshot::new(base);
        let name = super::super::prints::of_name;
        assert_eq!(s0.lookup(org), (None, true));
        assert_eq!(s0.lookup(person), (None, false));
        assert!(s0.has_name(org, name("甲乙科技有限公司")));
        assert!(s0.has_name(org, name("甲乙厂")));
        assert!(!s0.has_name(person, name("甲乙厂")));
        // Listed and renamed; the old name kept as an alias.
        let s1 = s0.with([(
            org,
            Arc::new(LiveState {
                known: true,
                entry_ids: vec!["E1".into()].into(),
                org_roles: Box::default(),
                names: NamePrints::of("丙丁科技有限公司", ["甲乙科技有限公司"]),
            }),
        )]);
        assert!(s1.has_name(org, name("丙丁科技有限公司")));
        assert!(s1.has_name(org, name("甲乙科技有限公司")));
        assert!(!s1.has_name(org, name("甲乙厂")), "an alias dropped");
        assert!(
            s0.has_name(org, name("甲乙厂")),
            "the older generation unchanged"
        );
        assert_eq!(s1.lookup(org), (Flags::of(true, false), true));
        assert_eq!(s1.flagged(), 1);
        let s2 = s1.with([(
            person,
            Arc::new(LiveState {
                known: true,
                entry_ids: Box::default(),
                org_roles: vec![(org, Role::LegalRep)].into(),
                names: NamePrints::default(),
            }),
        )]);
        // Fold s1 while s2 is current: the person, written after, stays in
        // the overlay; the organization moves into the base.
        let folded = Snapshot::rebased(&s2, &s1, Arc::new(s1.fold()));
        assert_eq!(folded.overlay_len(), 1);
        assert_eq!(folded.lookup(org), (Flags::of(true, false), true));
        assert_eq!(folded.entry_ids(org).len(), 1);
        assert_eq!(folded.lookup(person), (Flags::of(false, true), true));
        assert_eq!((folded.flagged(), folded.known()), (2, 2));
        // The names folded with the organization.
        assert!(folded.has_name(org, name("丙丁科技有限公司")));
        assert!(folded.has_name(org, name("甲乙科技有限公司")));
        assert!(!folded.has_name(org, name("甲乙厂")));
        assert_eq!(folded.base_known().aliases(), 1);
    }

    #[test]
    fn a_retired_snapshot_lives_while_a_reader_holds_it_then_is_freed() {
        let reclaimer = Reclaimer::start();
        let snapshot = empty_snapshot();
        let reader = snapshot.clone();
        let weak = Arc::downgrade(&snapshot);
        reclaimer.retire(snapshot);
        std::thread::sleep(Duration::from_millis(20));
        assert!(weak.upgrade().is_some(), "freed while a reader held it");
        assert_eq!(Arc::strong_count(&reader), 2, "the reclaimer holds it");
        drop(reader);
        freed_soon(&weak);
    }

    #[test]
    fn a_snapshot_retired_twice_is_still_freed() {
        let reclaimer = Reclaimer::start();
        let snapshot = empty_snapshot();
        let weak = Arc::downgrade(&snapshot);
        reclaimer.retire(snapshot.clone());
        reclaimer.retire(snapshot);
        freed_soon(&weak);
    }

    fn empty_snapshot() -> Arc<Snapshot> {
        Arc::new(Snapshot::new(Base {
            status: StatusIndex::default(),
            known: KnownSet::build([]),
        }))
    }

    fn freed_soon(weak: &std::sync::Weak<Snapshot>) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while weak.upgrade().is_some() {
            assert!(std::time::Instant::now() < deadline, "never freed");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn recent_writes_settle_and_the_latest_state_wins() {
        let base = Base {
            status: StatusIndex::default(),
            known: KnownSet::default(),
        };
        let mut s = Snapshot::new(base);
        let keys: Vec<SubjectKey> = (0..RECENT_AT as u64 * 3)
            .map(|i| {
                let body = format!(
                    "3601021990{:02}{:02}{:03}",
                    1 + i % 12,
                    1 + i % 28,
                    i % 1000
                );
                let id =
                    crate::id::build::identity_number(body.as_bytes().try_into().unwrap()).unwrap();
                key(std::str::from_utf8(&id).unwrap())
            })
            .collect();
        for (i, k) in keys.iter().enumerate() {
            let state = LiveState {
                known: true,
                entry_ids: vec![format!("E{i}").into()].into(),
                org_roles: Box::default(),
                names: NamePrints::default(),
            };
            s = s.with([(*k, Arc::new(state))]);
            assert!(s.recent.len() <= RECENT_AT);
        }
        let unique: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(s.overlay_len(), unique.len());
        // Rewriting a settled subject: the new state wins.
        let again = s.with([(keys[0], Arc::new(LiveState::default()))]);
        assert_eq!(again.lookup(keys[0]), (None, false));
        assert_eq!(again.overlay_len(), unique.len());
        assert_eq!(again.flagged(), unique.len() - 1);
    }
}
