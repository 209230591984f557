//! The change feed as answers: pages of the change log, filtered by
//! category and authority, each change with the entry or record after it.

use super::Engine;
use super::answer::{ChangeOut, ChangesPage, SubjectOut, links_out};
use crate::date::Date;
use crate::store::{Change, StoreError};

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

/// Most changes scanned for one page when a filter passes few of them; the
/// page then ends early and `next_since` says where the scan stopped.
pub(super) const FEED_SCAN_CAP: usize = 50_000;

impl Engine {
    /// The changes after `since` that `filter` admits, at most `limit`.
    pub fn changes(
        &self,
        since: u64,
        limit: usize,
        filter: &ChangeFilter,
        at: Date,
    ) -> Result<ChangesPage, StoreError> {
        self.changes_where(since, limit, at, |c| Ok(filter.admits(c)))
    }

    /// The changes after `since` that `admits`, at most `limit`, scanning
    /// at most 50,000 changes (a page then ends early, `next_since` saying
    /// where the scan stopped).
    pub fn changes_where(
        &self,
        since: u64,
        limit: usize,
        at: Date,
        mut admits: impl FnMut(&Change) -> Result<bool, StoreError>,
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
                if admits(&c)? {
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
            entry_id: (!c.kind.is_disclosure())
                .then(|| c.entry_id.clone())
                .flatten(),
            disclosure_id: c.kind.is_disclosure().then(|| c.entry_id.clone()).flatten(),
            note: c.note.clone(),
            entry,
            subject,
        })
    }
}
