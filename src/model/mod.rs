//! Subjects and list entries: the NDJSON interchange records (SPEC §3) and the
//! validated values the engine works on.
//!
//! A line is read in two steps. First serde turns it into a *record*
//! ([`SubjectRecord`], [`EntryRecord`]): JSON types and enumerations checked,
//! unknown fields ignored, and a type error names the field path
//! (`persons[1].role`). Then `validate` turns the record into a [`Subject`] or
//! [`Entry`]: identifiers parsed into keys, the category looked up in the
//! catalog, dates put in order. Nothing past this module sees a raw string id
//! or an unchecked category.
//!
//! ```
//! use creditgate::catalog::Catalog;
//! use creditgate::model::{parse_entry_line, ListKind};
//! let catalog = Catalog::bundled();
//! let line = r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black",
//!   "category":"dishonest_debtor","authority":"江西省高级人民法院","basis":"(2019)赣01执123号",
//!   "decided_at":"2019-03-01","expires_at":"2024-03-01"}"#;
//! let entry = parse_entry_line(line, &catalog).unwrap();
//! assert_eq!(entry.list, ListKind::Black);
//! assert_eq!(entry.effective_from.to_string(), "2019-03-01");
//! ```

mod parse;

pub use parse::{
    RecordFields, json_error, parse_entry_line, parse_record, parse_record_leaving_out,
    parse_subject_line,
};

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, CategoryId};
use crate::date::Date;
use crate::id::{IdError, SubjectKey, SubjectKind};
pub use crate::vocab::{ListKind, Role, RoleSet};

/// Longest name or alias accepted, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// Most aliases one subject may carry.
pub const MAX_ALIASES: usize = 32;
/// Most person links one organization may carry.
pub const MAX_PERSONS: usize = 256;
/// Longest entry id, in characters.
pub const MAX_ENTRY_ID_CHARS: usize = 64;
/// Longest authority or basis text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;

/// The stored lifecycle status of an entry. Expiry is not a status: it is
/// derived from `expires_at` and the date asked.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryStatus {
    /// In force.
    #[default]
    Active,
    /// Under objection: measures suspended while it is verified.
    Disputed,
    /// Credit repaired: measures lifted, the record kept in history.
    Repaired,
    /// Revoked: as if never published.
    Revoked,
}

impl EntryStatus {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryStatus::Active => "active",
            EntryStatus::Disputed => "disputed",
            EntryStatus::Repaired => "repaired",
            EntryStatus::Revoked => "revoked",
        }
    }
}

/// A person's link to an organization, as a line of `subjects.ndjson` writes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonLinkRecord {
    /// The person's identity number.
    pub id: String,
    /// The person's role.
    pub role: Role,
}

/// One line of `subjects.ndjson` as written. Fields it does not have are
/// refused ([`parse_record`]) or left out and counted
/// ([`parse_record_leaving_out`]), never silently ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectRecord {
    /// Credit code or identity number.
    pub id: String,
    /// `org` or `person`.
    pub kind: SubjectKind,
    /// Current name.
    pub name: String,
    /// Former names (曾用名), English names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Persons linked to an organization, with their roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub persons: Vec<PersonLinkRecord>,
}

/// One line of `entries.ndjson` as written. Fields it does not have are
/// refused ([`parse_record`]) or left out and counted
/// ([`parse_record_leaving_out`]), never silently ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRecord {
    /// Unique id; a later line with the same id replaces the earlier.
    pub entry_id: String,
    /// The listed subject.
    pub subject_id: String,
    /// `black` or `red`.
    pub list: ListKind,
    /// A category code from the catalog.
    pub category: String,
    /// The department that decided the listing.
    pub authority: String,
    /// The legal basis or document number.
    pub basis: String,
    /// Date of the decision.
    pub decided_at: Date,
    /// First day the entry applies; defaults to `decided_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_from: Option<Date>,
    /// First day it no longer applies; none: no term.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Date>,
    /// Lifecycle status; defaults to `active`.
    #[serde(default)]
    pub status: EntryStatus,
}

/// A person linked to an organization.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Encode, Decode)]
pub struct PersonLink {
    /// The person.
    pub person: SubjectKey,
    /// The role held.
    pub role: Role,
}

/// A validated subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    /// Its key; the kind is the key's kind.
    pub id: SubjectKey,
    /// Current name, trimmed.
    pub name: String,
    /// Former and other names, trimmed, without duplicates.
    pub aliases: Vec<String>,
    /// Linked persons (organizations only), without duplicates.
    pub persons: Vec<PersonLink>,
}

/// A validated list entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Unique id.
    pub entry_id: String,
    /// The listed subject.
    pub subject: SubjectKey,
    /// Black or red.
    pub list: ListKind,
    /// Category in the catalog.
    pub category: CategoryId,
    /// Deciding department.
    pub authority: String,
    /// Legal basis.
    pub basis: String,
    /// Date of the decision.
    pub decided_at: Date,
    /// First day it applies.
    pub effective_from: Date,
    /// First day it no longer applies.
    pub expires_at: Option<Date>,
    /// Lifecycle status.
    pub status: EntryStatus,
    /// What the lifecycle recorded: the objection, the repair, the
    /// revocation (empty for an entry as published).
    pub lifecycle: Lifecycle,
}

/// The notes an entry's lifecycle leaves on it, beside its status: the last
/// objection (with its deadline and outcome), the repair, the revocation.
/// Each transition is also in the change log, with its time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lifecycle {
    /// The last objection filed against the entry.
    pub objection: Option<Objection>,
    /// The credit repair, once repaired.
    pub repair: Option<Note>,
    /// The revocation, once revoked.
    pub revocation: Option<Note>,
}

/// An objection (异议): filed on a day, to be verified within
/// [`OBJECTION_DAYS`] days, and its outcome once decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Objection {
    /// The day it was received.
    pub filed_on: Date,
    /// The last day of its verification: `filed_on` + 20 days.
    pub deadline: Date,
    /// What the subject objects to.
    pub reason: String,
    /// The outcome, once decided.
    pub outcome: Option<Outcome>,
}

/// Days an initiating department has to verify an objection (自收到异议之日起
/// 20 日内, the plan's §二十一).
pub const OBJECTION_DAYS: i32 = 20;

/// How an objection was decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Upheld, corrected or revoked.
    pub kind: OutcomeKind,
    /// The day it was decided.
    pub on: Date,
    /// The department's note.
    pub note: String,
}

/// The three outcomes of an objection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    /// The entry was right: active again.
    Upheld,
    /// The entry was wrong in part: its fields replaced, active again.
    Corrected,
    /// The entry was wrong: revoked.
    Revoked,
}

impl OutcomeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Upheld => "upheld",
            OutcomeKind::Corrected => "corrected",
            OutcomeKind::Revoked => "revoked",
        }
    }
}

/// A dated note: a repair's explanation (修复说明), a revocation's reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// The day.
    pub on: Date,
    /// The text.
    pub note: String,
}

impl Entry {
    /// Whether `date` falls inside the entry's term: `effective_from <= date <
    /// expires_at`.
    pub fn in_term(&self, date: Date) -> bool {
        self.effective_from <= date && self.expires_at.is_none_or(|e| date < e)
    }
}

/// A record that cannot be accepted: which field, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct RecordError {
    /// The field path (`persons[2].id`), or `line` for the whole line.
    pub field: String,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Not JSON, a wrong JSON type, a missing field, or an unknown enumeration
    /// value (serde's message).
    #[error("{0}")]
    Json(String),
    /// A malformed identifier.
    #[error(transparent)]
    Id(#[from] IdError),
    /// The identifier is of the kind the record does not declare.
    #[error("{found} given, but kind is {declared:?}", found = found.id_name(), declared = declared.as_str())]
    KindMismatch {
        /// Kind declared by the `kind` field.
        declared: SubjectKind,
        /// Kind of the identifier.
        found: SubjectKind,
    },
    /// Empty or blank text.
    #[error("must not be empty")]
    Empty,
    /// Text longer than allowed.
    #[error("{found} characters, at most {max} allowed")]
    TooLong {
        /// Characters found.
        found: usize,
        /// Limit.
        max: usize,
    },
    /// A list longer than allowed.
    #[error("{found} items, at most {max} allowed")]
    TooMany {
        /// Items found.
        found: usize,
        /// Limit.
        max: usize,
    },
    /// A control character in text.
    #[error("contains a control character (U+{0:04X})")]
    ControlChar(u32),
    /// `persons` on a person subject, or an organization linking itself.
    #[error("{0}")]
    BadLink(&'static str),
    /// A category the catalog does not have.
    #[error("unknown category {found:?}; the catalog has: {known}")]
    UnknownCategory {
        /// The code given.
        found: String,
        /// The codes the catalog has, comma-separated.
        known: String,
    },
    /// The category belongs to the other list.
    #[error("category {category} is on the {actual} list, not {given}", actual = actual.as_str(), given = given.as_str())]
    ListMismatch {
        /// Category code.
        category: String,
        /// The list the category belongs to.
        actual: ListKind,
        /// The list the record names.
        given: ListKind,
    },
    /// The category does not hold subjects of this kind.
    #[error("category {category} does not hold {kind} subjects", kind = kind.as_str())]
    KindNotInCategory {
        /// Category code.
        category: String,
        /// The subject's kind.
        kind: SubjectKind,
    },
    /// Dates out of order.
    #[error("{later} is not after {earlier_field} {earlier}")]
    DateOrder {
        /// The earlier date (that should be).
        earlier: Date,
        /// The field holding it.
        earlier_field: &'static str,
        /// The later date (that is not).
        later: Date,
    },
    /// A rule between fields (a penalty needs a severity, a licence has
    /// none…).
    #[error("{0}")]
    Rule(String),
    /// A decision dated after today.
    #[error(
        "{found} is after today ({today}): a decision is dated the day it was made; a later start belongs in effective_from"
    )]
    DecidedInFuture {
        /// The date given.
        found: Date,
        /// Today.
        today: Date,
    },
}

impl Problem {
    /// A stable short code for the kind of problem, for counting rejected
    /// lines by reason.
    pub fn code(&self) -> &'static str {
        use crate::id::IdProblem;
        match self {
            Problem::Json(_) => "json",
            Problem::Id(e) => match e.problem {
                IdProblem::Empty => "id_empty",
                IdProblem::Length { .. } => "id_length",
                IdProblem::BadChar { .. } => "id_bad_char",
                IdProblem::DivisionCode { .. } => "id_division_code",
                IdProblem::BirthDate { .. } => "id_birth_date",
                IdProblem::CheckChar { .. } => "id_check_char",
                IdProblem::WrongKind { .. } => "id_wrong_kind",
            },
            Problem::KindMismatch { .. } => "kind_mismatch",
            Problem::Empty => "empty",
            Problem::TooLong { .. } => "too_long",
            Problem::TooMany { .. } => "too_many",
            Problem::ControlChar(_) => "control_char",
            Problem::BadLink(_) => "bad_link",
            Problem::UnknownCategory { .. } => "unknown_category",
            Problem::ListMismatch { .. } => "list_mismatch",
            Problem::KindNotInCategory { .. } => "kind_not_in_category",
            Problem::DateOrder { .. } => "date_order",
            Problem::DecidedInFuture { .. } => "decided_in_future",
            Problem::Rule(_) => "rule",
        }
    }
}

/// The error of `field`.
pub(crate) fn field_error(field: impl Into<String>, problem: impl Into<Problem>) -> RecordError {
    RecordError {
        field: field.into(),
        problem: problem.into(),
    }
}

/// Refuses a decision dated after `today`: a decision is dated the day it
/// was made.
pub(crate) fn decided_by(decided_at: Date, today: Date) -> Result<(), RecordError> {
    if decided_at > today {
        return Err(field_error(
            "decided_at",
            Problem::DecidedInFuture {
                found: decided_at,
                today,
            },
        ));
    }
    Ok(())
}

/// Refuses `field`'s `date` before the decision.
pub(crate) fn not_before_decision(
    field: &'static str,
    date: Date,
    decided_at: Date,
) -> Result<(), RecordError> {
    if date < decided_at {
        return Err(field_error(
            field,
            Problem::DateOrder {
                earlier: decided_at,
                earlier_field: "decided_at",
                later: date,
            },
        ));
    }
    Ok(())
}

/// Trims `text` and checks it is non-empty, short enough, and free of control
/// characters.
pub fn clean_text(field: &str, text: &str, max: usize) -> Result<String, RecordError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(field_error(field, Problem::Empty));
    }
    if let Some(c) = text.chars().find(|c| c.is_control()) {
        return Err(field_error(field, Problem::ControlChar(c as u32)));
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(field_error(field, Problem::TooLong { found: chars, max }));
    }
    Ok(text.to_string())
}

fn check_count(field: &str, found: usize, max: usize) -> Result<(), RecordError> {
    if found > max {
        return Err(field_error(field, Problem::TooMany { found, max }));
    }
    Ok(())
}

impl SubjectRecord {
    /// Validates the record; birth dates are judged against `today`.
    pub fn validate(&self, today: Date) -> Result<Subject, RecordError> {
        let id = SubjectKey::parse_readings_at(&self.id, today)
            .map_err(|e| field_error("id", e))
            .and_then(|r| {
                [Some(r.first), r.second]
                    .into_iter()
                    .flatten()
                    .find(|k| k.kind() == self.kind)
                    .ok_or_else(|| {
                        field_error(
                            "id",
                            Problem::KindMismatch {
                                declared: self.kind,
                                found: r.first.kind(),
                            },
                        )
                    })
            })?;
        let name = clean_text("name", &self.name, MAX_NAME_CHARS)?;
        check_count("aliases", self.aliases.len(), MAX_ALIASES)?;
        let mut aliases: Vec<String> = Vec::with_capacity(self.aliases.len());
        for (i, alias) in self.aliases.iter().enumerate() {
            let alias = clean_text(&format!("aliases[{i}]"), alias, MAX_NAME_CHARS)?;
            if alias != name && !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        check_count("persons", self.persons.len(), MAX_PERSONS)?;
        if self.kind == SubjectKind::Person && !self.persons.is_empty() {
            return Err(field_error(
                "persons",
                Problem::BadLink("only organizations link persons"),
            ));
        }
        let mut persons: Vec<PersonLink> = Vec::with_capacity(self.persons.len());
        for (i, link) in self.persons.iter().enumerate() {
            let person = SubjectKey::parse_as_at(&link.id, SubjectKind::Person, today)
                .map_err(|e| field_error(format!("persons[{i}].id"), e))?;
            let link = PersonLink {
                person,
                role: link.role,
            };
            if !persons.contains(&link) {
                persons.push(link);
            }
        }
        Ok(Subject {
            id,
            name,
            aliases,
            persons,
        })
    }
}

impl EntryRecord {
    /// Validates the record against the catalog; birth dates in the subject id
    /// are judged against `today`.
    pub fn validate(&self, catalog: &Catalog, today: Date) -> Result<Entry, RecordError> {
        let entry_id = clean_text("entry_id", &self.entry_id, MAX_ENTRY_ID_CHARS)?;
        let category_id = catalog.category_by_code(&self.category).ok_or_else(|| {
            field_error(
                "category",
                Problem::UnknownCategory {
                    found: self.category.clone(),
                    known: catalog.category_codes().join(", "),
                },
            )
        })?;
        let category = catalog.category(category_id);
        if category.list != self.list {
            return Err(field_error(
                "list",
                Problem::ListMismatch {
                    category: category.code.clone(),
                    actual: category.list,
                    given: self.list,
                },
            ));
        }
        let readings = SubjectKey::parse_readings_at(&self.subject_id, today)
            .map_err(|e| field_error("subject_id", e))?;
        let subject = [Some(readings.first), readings.second]
            .into_iter()
            .flatten()
            .find(|k| category.holds(k.kind()))
            .ok_or_else(|| {
                field_error(
                    "subject_id",
                    Problem::KindNotInCategory {
                        category: category.code.clone(),
                        kind: readings.first.kind(),
                    },
                )
            })?;
        let authority = clean_text("authority", &self.authority, MAX_TEXT_CHARS)?;
        let basis = clean_text("basis", &self.basis, MAX_TEXT_CHARS)?;
        decided_by(self.decided_at, today)?;
        let effective_from = self.effective_from.unwrap_or(self.decided_at);
        not_before_decision("effective_from", effective_from, self.decided_at)?;
        if let Some(expires_at) = self.expires_at
            && expires_at <= effective_from
        {
            return Err(field_error(
                "expires_at",
                Problem::DateOrder {
                    earlier: effective_from,
                    earlier_field: "effective_from",
                    later: expires_at,
                },
            ));
        }
        Ok(Entry {
            entry_id,
            subject,
            list: self.list,
            category: category_id,
            authority,
            basis,
            decided_at: self.decided_at,
            effective_from,
            expires_at: self.expires_at,
            status: self.status,
            lifecycle: Lifecycle::default(),
        })
    }
}

impl Entry {
    /// The record form, for writing NDJSON.
    pub fn to_record(&self, catalog: &Catalog) -> EntryRecord {
        EntryRecord {
            entry_id: self.entry_id.clone(),
            subject_id: self.subject.to_string(),
            list: self.list,
            category: catalog.category(self.category).code.clone(),
            authority: self.authority.clone(),
            basis: self.basis.clone(),
            decided_at: self.decided_at,
            effective_from: (self.effective_from != self.decided_at).then_some(self.effective_from),
            expires_at: self.expires_at,
            status: self.status,
        }
    }
}

/// What happened to a record.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ChangeKind {
    /// A subject seen for the first time.
    SubjectInserted,
    /// A subject's name, aliases or persons changed.
    SubjectReplaced,
    /// An entry published.
    EntryInserted,
    /// An entry replaced by a later record with the same id.
    EntryReplaced,
    /// An objection filed: the entry is disputed, its measures suspended.
    ObjectionFiled,
    /// The objection was decided against: the entry is active again.
    ObjectionUpheld,
    /// The objection was decided for in part: the entry corrected, active.
    ObjectionCorrected,
    /// The objection was decided for: the entry revoked.
    ObjectionRevoked,
    /// Credit repaired: measures lifted.
    EntryRepaired,
    /// Revoked by its department.
    EntryRevoked,
    /// The entry's term ended (logged once, on the day it lapsed or at the
    /// first start after).
    EntryExpired,
    /// A licensing or penalty decision disclosed (双公示); the change's
    /// `entry_id` holds the disclosure's id.
    DisclosurePublished,
    /// A disclosure replaced by a later record with the same id.
    DisclosureReplaced,
    /// A penalty disclosure's credit repaired: its publication ended early.
    DisclosureRepaired,
}

impl ChangeKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::SubjectInserted => "subject_inserted",
            ChangeKind::SubjectReplaced => "subject_replaced",
            ChangeKind::EntryInserted => "entry_inserted",
            ChangeKind::EntryReplaced => "entry_replaced",
            ChangeKind::ObjectionFiled => "objection_filed",
            ChangeKind::ObjectionUpheld => "objection_upheld",
            ChangeKind::ObjectionCorrected => "objection_corrected",
            ChangeKind::ObjectionRevoked => "objection_revoked",
            ChangeKind::EntryRepaired => "entry_repaired",
            ChangeKind::EntryRevoked => "entry_revoked",
            ChangeKind::EntryExpired => "entry_expired",
            ChangeKind::DisclosurePublished => "disclosure_published",
            ChangeKind::DisclosureReplaced => "disclosure_replaced",
            ChangeKind::DisclosureRepaired => "disclosure_repaired",
        }
    }

    /// Whether the change is about a disclosure (its `entry_id` is the
    /// disclosure's id). A disclosure changes no decision.
    pub fn is_disclosure(self) -> bool {
        matches!(
            self,
            ChangeKind::DisclosurePublished
                | ChangeKind::DisclosureReplaced
                | ChangeKind::DisclosureRepaired
        )
    }

    /// Whether the change is about a subject record (not an entry).
    pub fn is_subject(self) -> bool {
        matches!(
            self,
            ChangeKind::SubjectInserted | ChangeKind::SubjectReplaced
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "91360100705500005G";
    const PERSON: &str = "11010519491231002X";

    fn today() -> Date {
        "2026-11-25".parse().unwrap()
    }

    fn subject(line: &str) -> Result<Subject, RecordError> {
        parse_record::<SubjectRecord>(line)?.validate(today())
    }

    /// An entry line as the importer reads it: fields the record does not
    /// have left out.
    fn entry(line: &str) -> Result<Entry, RecordError> {
        let (record, _) = parse_record_leaving_out::<EntryRecord>(line)?;
        record.validate(&Catalog::bundled(), today())
    }

    #[test]
    fn unknown_fields_are_refused_or_left_out_and_named() {
        let line = entry_line(&[("expire_at", "2025-01-01".into())]);
        let err = parse_record::<EntryRecord>(&line).unwrap_err();
        assert_eq!(err.field, "expire_at", "{err}");
        let (record, left_out) = parse_record_leaving_out::<EntryRecord>(&line).unwrap();
        assert_eq!(left_out, ["expire_at", "unknown_field"]);
        assert_eq!(record.expires_at, Some(Date::from_ymd(2024, 3, 1).unwrap()));
        let subject = format!(
            r#"{{"id":"{ORG}","kind":"org","name":"江西华远科技有限公司","persons":[{{"id":"{PERSON}","role":"legal_rep","share":5}}]}}"#
        );
        let err = parse_record::<SubjectRecord>(&subject).unwrap_err();
        assert_eq!(err.field, "persons[0].share", "{err}");
        let (_, left_out) = parse_record_leaving_out::<SubjectRecord>(&subject).unwrap();
        assert_eq!(left_out, ["persons[0].share"]);
        // A field given twice is refused either way.
        let twice = entry_line(&[]).replacen("\"basis\"", "\"basis\":\"x\",\"basis\"", 1);
        let err = parse_record_leaving_out::<EntryRecord>(&twice).unwrap_err();
        assert_eq!(err.field, "basis", "{err}");
        // A missing field is named.
        let err = parse_record::<EntryRecord>(&entry_line(&[
            ("category", serde_json::Value::Null),
            ("unknown_field", serde_json::Value::Null),
        ]))
        .unwrap_err();
        assert_eq!(err.field, "category", "{err}");
    }

    #[test]
    fn a_decision_after_today_is_refused() {
        let err = entry(&entry_line(&[
            ("decided_at", "2099-01-01".into()),
            ("expires_at", serde_json::Value::Null),
        ]))
        .unwrap_err();
        assert_eq!(err.field, "decided_at");
        assert_eq!(err.problem.code(), "decided_in_future");
    }

    fn entry_line(overrides: &[(&str, serde_json::Value)]) -> String {
        let mut v = serde_json::json!({
            "entry_id": "JXFY-2019-000123", "subject_id": ORG, "list": "black",
            "category": "dishonest_debtor", "authority": "江西省高级人民法院",
            "basis": "(2019)赣01执123号", "decided_at": "2019-03-01",
            "expires_at": "2024-03-01", "status": "active", "unknown_field": 1
        });
        for (k, val) in overrides {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(*k);
            } else {
                v[*k] = val.clone();
            }
        }
        v.to_string()
    }

    #[test]
    fn spec_example_lines_parse() {
        let s = subject(&format!(
            r#"{{"id":"{ORG}","kind":"org","name":" 江西华远科技有限公司 ","aliases":["南昌华远科技有限公司"],"persons":[{{"id":"{PERSON}","role":"legal_rep"}},{{"id":"{PERSON}","role":"director"}},{{"id":"{PERSON}","role":"director"}}]}}"#
        ))
        .unwrap();
        assert_eq!(s.name, "江西华远科技有限公司");
        assert_eq!(s.aliases, vec!["南昌华远科技有限公司"]);
        assert_eq!(s.persons.len(), 2, "duplicate link collapses");
        let e = entry(&entry_line(&[])).unwrap();
        assert_eq!(e.effective_from, e.decided_at);
        assert_eq!(e.status, EntryStatus::Active);
        let round = e.to_record(&Catalog::bundled());
        assert_eq!(round.validate(&Catalog::bundled(), today()).unwrap(), e);
    }

    #[test]
    fn unknown_category_names_the_field() {
        let err = entry(&entry_line(&[("category", "dishonest".into())])).unwrap_err();
        assert_eq!(err.field, "category");
        assert!(matches!(err.problem, Problem::UnknownCategory { .. }));
        assert!(err.to_string().contains("dishonest_debtor"), "{err}");
    }

    #[test]
    fn unknown_role_names_the_field_path() {
        let err = subject(&format!(
            r#"{{"id":"{ORG}","kind":"org","name":"x","persons":[{{"id":"{PERSON}","role":"legal_rep"}},{{"id":"{PERSON}","role":"boss"}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(err.field, "persons[1].role");
        assert!(err.to_string().contains("unknown variant `boss`"), "{err}");
    }

    #[test]
    fn bad_date_names_the_field() {
        let err = entry(&entry_line(&[("decided_at", "2019-02-30".into())])).unwrap_err();
        assert_eq!(err.field, "decided_at");
        assert!(err.to_string().contains("not a calendar date"), "{err}");
    }

    #[test]
    fn expiry_before_effect_is_rejected() {
        let err = entry(&entry_line(&[("expires_at", "2019-03-01".into())])).unwrap_err();
        assert_eq!(err.field, "expires_at");
        assert!(matches!(err.problem, Problem::DateOrder { .. }));
        let err = entry(&entry_line(&[("effective_from", "2019-02-01".into())])).unwrap_err();
        assert_eq!(err.field, "effective_from");
    }

    #[test]
    fn person_id_where_org_id_is_required() {
        let err = subject(&format!(r#"{{"id":"{PERSON}","kind":"org","name":"x"}}"#)).unwrap_err();
        assert_eq!(err.field, "id");
        assert!(matches!(err.problem, Problem::KindMismatch { .. }));
        let err = subject(&format!(
            r#"{{"id":"{ORG}","kind":"org","name":"x","persons":[{{"id":"{ORG}","role":"legal_rep"}}]}}"#
        ))
        .unwrap_err();
        assert_eq!(err.field, "persons[0].id");
        assert!(
            err.to_string()
                .contains("resident identity number is required"),
            "{err}"
        );
        let err = entry(&entry_line(&[
            ("category", "work_safety".into()),
            ("subject_id", PERSON.into()),
        ]))
        .unwrap_err();
        assert_eq!(err.field, "subject_id");
        assert!(matches!(err.problem, Problem::KindNotInCategory { .. }));
    }

    #[test]
    fn list_must_match_category() {
        let err = entry(&entry_line(&[("list", "red".into())])).unwrap_err();
        assert_eq!(err.field, "list");
        assert!(err.to_string().contains("is on the black list"), "{err}");
    }

    #[test]
    fn missing_and_malformed_fields() {
        let err = entry(&entry_line(&[("authority", serde_json::Value::Null)])).unwrap_err();
        assert!(
            err.to_string().contains("missing field `authority`"),
            "{err}"
        );
        let err = entry(&entry_line(&[("basis", "   ".into())])).unwrap_err();
        assert_eq!((err.field.as_str(), err.problem), ("basis", Problem::Empty));
        let err = entry(&entry_line(&[("status", "expired".into())])).unwrap_err();
        assert_eq!(err.field, "status");
        let err = entry(&entry_line(&[("subject_id", "9136010070550000".into())])).unwrap_err();
        assert_eq!(err.field, "subject_id");
        assert!(matches!(err.problem, Problem::Id(_)));
        let err = subject("{not json").unwrap_err();
        assert_eq!(err.field, "line");
        let err = subject(&format!(
            r#"{{"id":"{PERSON}","kind":"person","name":"张伟"}} trailing"#
        ))
        .unwrap_err();
        assert_eq!(err.field, "line");
        let err = subject(&format!(
            r#"{{"id":"{PERSON}","kind":"person","name":"张\u0007伟"}}"#
        ))
        .unwrap_err();
        assert!(matches!(err.problem, Problem::ControlChar(7)));
        let err = subject(&format!(r#"{{"id":"{PERSON}","kind":"person","name":"张伟","persons":[{{"id":"{PERSON}","role":"director"}}]}}"#))
            .unwrap_err();
        assert_eq!(err.field, "persons");
    }

    #[test]
    fn role_sets() {
        let set: RoleSet = [Role::LegalRep, Role::DirectResponsible]
            .into_iter()
            .collect();
        assert!(set.contains(Role::LegalRep));
        assert!(!set.contains(Role::Director));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Role::LegalRep, Role::DirectResponsible]
        );
    }
}
