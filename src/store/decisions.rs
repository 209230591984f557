//! Decisions that demand feedback (执行反馈): a deny or caution on an
//! action the catalog marks with `feedback_days`, kept with the answer it
//! gave so that the implementer's report can be checked against it, and
//! the report once it comes.
//!
//! Node-local like the audit log: the node that answered the check keeps
//! the decision, and its feedback is reported to that node. The check
//! writes the decision without a sync (a check must not wait for the
//! disk; the write-ahead log still has it after `kill -9`, as the audit
//! keeps its last second); the feedback is written synced.

use bincode::{Decode, Encode};
use rocksdb::WriteOptions;

use super::codec::{self, Value};
use super::schema::CF_DECISIONS;
use super::{Store, StoreError};

/// A decision that demands feedback.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Decision {
    /// `<request id>-<action code>`.
    pub id: String,
    /// The check's request id (`X-Request-Id`).
    pub request: String,
    /// The key that asked (none on an open server).
    pub key: Option<String>,
    /// The department that asked (`-` on an open server).
    pub department: String,
    /// The action's code.
    pub action: String,
    /// The subject's identifier.
    pub subject: String,
    /// `deny` or `caution`.
    pub decision: String,
    /// When it was answered, milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// The last day feedback is on time (days since 1970-01-01, China
    /// Standard Time).
    pub due_day: i32,
    /// The answer as sent (JSON).
    pub answer: String,
    /// The implementer's report, once made.
    pub feedback: Option<DecisionFeedback>,
}

/// What the implementer reported for a decision.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct DecisionFeedback {
    /// `applied` or `not_applied`.
    pub outcome: String,
    /// Why not (required for `not_applied`), or a note.
    pub reason: Option<String>,
    /// The key that reported it.
    pub key: Option<String>,
    /// The feedback request's id: the audit record it is kept under.
    pub request: String,
    /// When it was recorded, milliseconds since the Unix epoch.
    pub recorded_ms: u64,
    /// Whether it came after the due day.
    pub late: bool,
}

impl Value for Decision {
    type V1 = Decision;
    fn from_v1(old: Decision) -> Decision {
        old
    }
}

impl Store {
    /// Keeps a decision (not synced: see the module).
    pub fn put_decision(&self, decision: &Decision) -> Result<(), StoreError> {
        self.db
            .put_cf(
                self.cf(CF_DECISIONS),
                decision.id.as_bytes(),
                codec::encode(decision),
            )
            .map_err(|e| self.rocks(e))
    }

    /// The decision with this id.
    pub fn decision(&self, id: &str) -> Result<Option<Decision>, StoreError> {
        self.db
            .get_pinned_cf(self.cf(CF_DECISIONS), id.as_bytes())
            .map_err(|e| self.rocks(e))?
            .map(|v| codec::decode::<Decision>(&v, "decision"))
            .transpose()
    }

    /// Records the feedback of a stored decision, synced; `Ok(None)` when
    /// there is no such decision, the stored decision unchanged when it
    /// already has feedback (the first report stands).
    pub fn set_decision_feedback(
        &self,
        id: &str,
        feedback: DecisionFeedback,
    ) -> Result<Option<(Decision, bool)>, StoreError> {
        // One writer at a time: two reports racing must not both win.
        let _writer = self.lock_writer();
        let Some(mut decision) = self.decision(id)? else {
            return Ok(None);
        };
        if decision.feedback.is_some() {
            return Ok(Some((decision, false)));
        }
        decision.feedback = Some(feedback);
        let mut synced = WriteOptions::default();
        synced.set_sync(true);
        self.db
            .put_cf_opt(
                self.cf(CF_DECISIONS),
                id.as_bytes(),
                codec::encode(&decision),
                &synced,
            )
            .map_err(|e| self.rocks(e))?;
        Ok(Some((decision, true)))
    }

    /// Calls `f` with every decision kept.
    pub fn for_each_decision(
        &self,
        mut f: impl FnMut(Decision) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.scan_prefix(CF_DECISIONS, b"", |_, v| {
            f(codec::decode::<Decision>(v, "decision")?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_feedback_stands() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_or_create(dir.path()).unwrap();
        let d = Decision {
            id: "00000000ab-flight".into(),
            request: "00000000ab".into(),
            key: None,
            department: "-".into(),
            action: "flight".into(),
            subject: "91360000158304807X".into(),
            decision: "deny".into(),
            at_ms: 1,
            due_day: 20_000,
            answer: "{}".into(),
            feedback: None,
        };
        store.put_decision(&d).unwrap();
        let fb = |outcome: &str| DecisionFeedback {
            outcome: outcome.into(),
            reason: None,
            key: None,
            request: "00000000ac".into(),
            recorded_ms: 2,
            late: false,
        };
        let (stored, new) = store
            .set_decision_feedback(&d.id, fb("applied"))
            .unwrap()
            .unwrap();
        assert!(new);
        assert_eq!(stored.feedback.unwrap().outcome, "applied");
        let (stored, new) = store
            .set_decision_feedback(&d.id, fb("not_applied"))
            .unwrap()
            .unwrap();
        assert!(!new);
        assert_eq!(stored.feedback.unwrap().outcome, "applied");
        assert!(
            store
                .set_decision_feedback("x", fb("applied"))
                .unwrap()
                .is_none()
        );
        let mut n = 0;
        store
            .for_each_decision(|_| {
                n += 1;
                Ok(())
            })
            .unwrap();
        assert_eq!(n, 1);
    }
}
