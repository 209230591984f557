//! Finding subjects by name, however the name was typed (SPEC §6
//! `/v1/search`).
//!
//! * [`normalize`]: what a name means apart from how it was typed, and its
//!   parts (region, core, legal form, branch);
//! * `segment`: the immutable index (`fst` keys, posting lists, records),
//!   memory-mapped from `<store>/names/`;
//! * [`score`]: how alike a query and a name are, and why.
//!
//! [`NameIndex`] is a segment plus a delta: the subjects written since the
//! segment was built (read from the store's change log at open), indexed in
//! memory the same way. A subject in the delta hides its older names in the
//! segment. When the delta would be large (after a bulk import), the segment
//! is rebuilt instead.
//!
//! A query is normalized and parsed, then candidates come from: its whole
//! normalized text (`N` keys), its core (`C`), the core's pinyin (`P`), and
//! the deletion neighbourhood of the core (`D`), which finds one typo, and
//! two when one finds too little. When the query starts with a word that is
//! also a place (泰和科技), it is also read with that word kept in the core.
//! Every candidate name is parsed and scored against the query; the best name
//! per subject counts.
//!
//! Each result also says how many changes turn the subject's name into the
//! query and whether another subject needs as few ([`explain`]): the score
//! ranks, the changes tell whether the first result is the one meant. The
//! search reads cores it would skip for the ranking while a rival of the
//! subject needing the fewest changes could still be among them.

pub mod explain;
mod index;
mod limits;
pub mod names;
pub mod normalize;
mod pipeline;
mod rank;
pub mod score;
pub(crate) mod segment;
pub(crate) mod spill;

use serde::Serialize;

use crate::date::Date;
use crate::id::{MaskedId, SubjectKey, SubjectKind};
use score::Method;

pub use explain::{Changes, PLAUSIBLE_CHANGES};
pub use index::NameIndex;
pub use rank::{NameMatch, compare};

/// The index's directory inside the store directory.
pub const NAMES_DIR: &str = "names";

pub use limits::{DEFAULT_LIMIT, MAX_LIMIT, MAX_QUERY_CHARS};

/// Reads a `kind` parameter: `org` or `person`.
pub fn parse_kind(text: &str) -> Result<SubjectKind, String> {
    match text.trim() {
        "org" => Ok(SubjectKind::Org),
        "person" => Ok(SubjectKind::Person),
        other => Err(format!("expected org or person, found {other:?}")),
    }
}

/// Reads a `limit` parameter: 1 to [`MAX_LIMIT`].
pub fn parse_limit(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(format!(
            "expected a whole number from 1 to {MAX_LIMIT}, found {text:?}"
        )),
    }
}

/// Reads an `id_prefix` parameter: 1 to 18 letters or digits.
pub fn parse_id_prefix(text: &str) -> Result<&str, String> {
    let t = text.trim();
    if (1..=18).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
        Ok(t)
    } else {
        Err(format!(
            "expected 1 to 18 letters or digits (the start of an identifier), found {text:?}"
        ))
    }
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery<'a> {
    /// The name as typed.
    pub text: &'a str,
    /// Only subjects of this kind.
    pub kind: Option<SubjectKind>,
    /// At most this many results.
    pub limit: usize,
    /// Only subjects whose identifier starts with this (persons: the region
    /// digits of the identity number, say).
    pub id_prefix: Option<&'a str>,
    /// Only persons born on this day.
    pub born: Option<Date>,
    /// Only subjects whose identifier shows these visible characters (a
    /// masked identifier from a published list).
    pub mask: Option<&'a MaskedId>,
    /// Only results scoring at least this (0: all). Candidates that cannot
    /// reach it are not looked for: above `typo_bound`, no typo lookups.
    pub min_score: f64,
    /// Look only as far as it takes to tell whether one subject needs fewer
    /// changes than any other: typos are looked up only while a rival could
    /// be among them, not to fill the ranking (screening's first look).
    pub settle_only: bool,
}

/// One result, as SPEC §6 `/v1/search` returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    /// The subject's key (`id` parsed).
    #[serde(skip)]
    pub key: SubjectKey,
    /// Canonical identifier.
    pub id: String,
    /// The subject's current name.
    pub name: String,
    /// `org` or `person`.
    pub kind: &'static str,
    /// How alike, in [0, 1], rounded to three places.
    pub score: f64,
    /// The name that matched (the current name or an alias).
    pub matched_name: String,
    /// How it matched.
    pub method: Method,
    /// How many changes turn the subject's closest name into the query
    /// ([`explain`]).
    pub changes: u8,
    /// Which changes.
    pub changed: explain::Changes,
    /// How many more changes the next subject needs (negative: it needs
    /// fewer); `null` when no other subject was found.
    pub margin: Option<i16>,
    /// Another subject needs no more changes than this one: the query does
    /// not say which of them is meant.
    pub ambiguous: bool,
}

/// What a search found: the ranked results, and apart from them every
/// subject within [`explain::PLAUSIBLE_CHANGES`] of the query, the fewest
/// changes first (screening's candidates: a rival may rank low by score).
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// Best first, at most the limit asked for.
    pub hits: Vec<Hit>,
    /// The plausible subjects, the fewest changes first, then by score.
    pub plausible: Vec<Hit>,
}

impl Found {
    /// The subject the query means, when one is explained by fewer changes
    /// than any other and by at most `max_changes`.
    pub fn unambiguous(&self, max_changes: u8) -> Option<&Hit> {
        self.plausible
            .first()
            .filter(|h| !h.ambiguous && h.changes <= max_changes)
    }
}

/// Why a search cannot run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    /// Nothing left after normalization.
    #[error("nothing to search for: the query has no letters or characters")]
    Empty,
    /// Longer than any name.
    #[error("the query has {0} characters; names are searched with at most {MAX_QUERY_CHARS}")]
    TooLong(usize),
}
