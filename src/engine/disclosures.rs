//! 双公示 through the engine: publishing disclosures (timeliness counted
//! with the engine's working-day calendar), repairing a penalty's credit,
//! and the answers that show them.

use serde::Serialize;

use super::Engine;
use crate::catalog::Catalog;
use crate::date::Date;
use crate::disclosure::{Disclosure, PublicWindow, Published, Timeliness};
use crate::model::Note;
use crate::store::{Applied, Change, DisclosureScan, Durability, Scanned, StoreError, WriteError};

/// A disclosure as answers show it.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct DisclosureOut {
    /// Unique id.
    pub disclosure_id: String,
    /// `licence` or `penalty`.
    pub kind: &'static str,
    /// Document number (文号).
    pub number: String,
    /// Name.
    pub name: String,
    /// Category (许可类别, 处罚类别).
    pub category: String,
    /// Content or facts.
    pub content: String,
    /// Legal basis.
    pub basis: String,
    /// The counterpart (行政相对人).
    pub counterpart: CounterpartOut,
    /// Result.
    pub result: String,
    /// Date of the decision.
    pub decided_at: Date,
    /// Date of publication.
    pub published_at: Date,
    /// Deciding department.
    pub authority: String,
    /// A penalty's severity.
    pub severity: Option<&'static str>,
    /// A licence's last day of validity.
    pub valid_until: Option<Date>,
    /// The black-list entry a penalty led to.
    pub entry_id: Option<String>,
    /// When it is public, and from when its credit can be repaired.
    pub window: PublicWindow,
    /// What the public sees of it on `at`: `public`, `not_published`
    /// (minor), `not_yet`, `ended` or `repaired`.
    pub shown: &'static str,
    /// How timely its publication was.
    pub timeliness: Timeliness,
    /// The credit repair that ended its publication early.
    pub repair: Option<RepairOut>,
}

/// A disclosure's counterpart.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct CounterpartOut {
    /// Credit code or identity number.
    pub id: String,
    /// `org` or `person`.
    pub kind: &'static str,
    /// Name.
    pub name: String,
}

/// A credit repair.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct RepairOut {
    /// The day.
    pub on: Date,
    /// The note.
    pub note: String,
}

impl Engine {
    /// Publishes disclosures, each with its timeliness counted now.
    /// Synced, and in the change feed, when this returns.
    pub fn put_disclosures(
        &self,
        disclosures: Vec<Disclosure>,
    ) -> Result<(Applied, Vec<Change>), WriteError> {
        let published: Vec<Published> = disclosures
            .into_iter()
            .map(|disclosure| Published {
                timeliness: disclosure.timeliness(&self.calendar),
                disclosure,
            })
            .collect();
        let _order = self.in_order();
        self.settle_in_order()?;
        let (applied, written) = self
            .store
            .write_disclosures(&published, Durability::Synced)?;
        self.publish(&written);
        Ok((applied, written.changes))
    }

    /// Records a credit repair of a penalty disclosure on `on`, if its
    /// rules allow it ([`Disclosure::may_repair`]); otherwise
    /// [`WriteError::Refused`] says why and from when.
    pub fn repair_disclosure(
        &self,
        disclosure_id: &str,
        note: Note,
        obligations_met: bool,
        pledge: bool,
    ) -> Result<(Published, Change), RepairError> {
        let _order = self.in_order();
        self.settle_in_order().map_err(WriteError::from)?;
        let mut refused = None;
        let result = self.store.repair_disclosure(disclosure_id, |current| {
            match current
                .disclosure
                .may_repair(&self.catalog, note.on, obligations_met, pledge)
            {
                Ok(()) => Ok(note),
                Err(r) => {
                    let message = r.message.clone();
                    refused = Some(r);
                    Err(message)
                }
            }
        });
        match result {
            Ok((published, written)) => {
                self.publish(&written);
                let change = written
                    .changes
                    .into_iter()
                    .next()
                    .expect("a repair logs one change");
                Ok((published, change))
            }
            Err(WriteError::Refused(_)) if refused.is_some() => {
                Err(RepairError::Refused(refused.expect("checked")))
            }
            Err(e) => Err(RepairError::Write(e)),
        }
    }

    /// The disclosure with this id.
    pub fn disclosure(&self, disclosure_id: &str) -> Result<Option<Published>, StoreError> {
        self.store.disclosure(disclosure_id)
    }

    /// Disclosures by decision date, newest first ([`crate::store::Store::scan_disclosures`]).
    pub fn scan_disclosures(&self, scan: &DisclosureScan<'_>) -> Result<Scanned, StoreError> {
        self.store.scan_disclosures(scan)
    }

    /// A disclosure as answers show it, what the public sees derived as of
    /// `at`.
    pub fn disclosure_out(&self, p: &Published, at: Date) -> DisclosureOut {
        disclosure_out(p, &self.catalog, at)
    }
}

/// Why a repair was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RepairError {
    /// The rules refuse it (409), perhaps until a date.
    #[error(transparent)]
    Refused(crate::disclosure::RepairRefused),
    /// No such disclosure, or the store failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// A disclosure as answers show it under `catalog`'s windows, what the
/// public sees derived as of `at`.
pub fn disclosure_out(p: &Published, catalog: &Catalog, at: Date) -> DisclosureOut {
    let d = &p.disclosure;
    DisclosureOut {
        disclosure_id: d.disclosure_id.clone(),
        kind: d.kind.as_str(),
        number: d.number.clone(),
        name: d.name.clone(),
        category: d.category.clone(),
        content: d.content.clone(),
        basis: d.basis.clone(),
        counterpart: CounterpartOut {
            id: d.subject.to_string(),
            kind: d.subject.kind().as_str(),
            name: d.subject_name.clone(),
        },
        result: d.result.clone(),
        decided_at: d.decided_at,
        published_at: d.published_at,
        authority: d.authority.clone(),
        severity: d.severity.map(|s| s.as_str()),
        valid_until: d.valid_until,
        entry_id: d.entry_id.clone(),
        window: d.window(catalog),
        shown: d.shown(catalog, at).as_str(),
        timeliness: p.timeliness,
        repair: d.repair.as_ref().map(|r| RepairOut {
            on: r.on,
            note: r.note.clone(),
        }),
    }
}
