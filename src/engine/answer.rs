//! The answers' shapes (SPEC §6), in one place: the serde structs every
//! answer is serialized from, and the hand-written JSON of a clean
//! subject's check answer, which must be byte for byte what serializing a
//! [`CheckAnswer`] gives (`tests/import.rs` checks it for every subject,
//! action and date of the sample).

use serde::Serialize;

use crate::catalog::Catalog;
use crate::date::Date;
use crate::decide::Verdict;
use crate::model::{EntryStatus, Note, PersonLink};
use crate::store::{Change, status_from};

/// The catalog's strings as JSON, encoded once at open, for the answers to
/// clean subjects (nearly all checks), which are written without serde.
pub(super) struct CleanJson {
    /// Per action: its code as a JSON string.
    pub(super) actions: Vec<Box<[u8]>>,
    /// Per measure: its whole entry in `benefits` as a clean-record benefit.
    pub(super) benefits: Vec<Box<[u8]>>,
}

impl CleanJson {
    pub(super) fn new(catalog: &Catalog) -> CleanJson {
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

/// Writes the head of a check answer, up to its date:
/// `{"id":"…","known":…,"action":"…","at":"2026-12-05`. `action` is the
/// action's code already as a JSON string; `id` is `null` when `None`.
#[inline]
pub(super) fn write_head(
    out: &mut Vec<u8>,
    id: Option<&[u8]>,
    known: bool,
    action: &[u8],
    at: Date,
) {
    // Whole literals: this runs for nearly every check.
    match id {
        Some(id) => {
            out.extend_from_slice(b"{\"id\":\"");
            out.extend_from_slice(id);
            out.extend_from_slice(if known {
                b"\",\"known\":true,\"action\":"
            } else {
                b"\",\"known\":false,\"action\":"
            });
        }
        None => out.extend_from_slice(if known {
            b"{\"id\":null,\"known\":true,\"action\":"
        } else {
            b"{\"id\":null,\"known\":false,\"action\":"
        }),
    }
    out.extend_from_slice(action);
    let mut date = [0u8; 10];
    at.write_iso(&mut date);
    out.extend_from_slice(b",\"at\":\"");
    out.extend_from_slice(&date);
}

/// The rest of an answer with no reasons and no suspended measures, after
/// its date: the decision and `benefits` (each already a JSON object),
/// ending with a null name match.
pub(super) fn clean_tail<'b>(
    decision: &str,
    benefits: impl Iterator<Item = &'b [u8]>,
) -> Box<[u8]> {
    let mut out = b"\",\"decision\":\"".to_vec();
    out.extend_from_slice(decision.as_bytes());
    out.extend_from_slice(b"\",\"reasons\":[],\"suspended\":[],\"benefits\":[");
    for (i, b) in benefits.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b);
    }
    out.extend_from_slice(b"]");
    out.extend_from_slice(NULL_MATCH_END);
    out.into_boxed_slice()
}

/// Writes a [`clean_tail`] with the name match asked about.
#[inline]
pub(super) fn write_tail(out: &mut Vec<u8>, tail: &[u8], name_match: Option<bool>) {
    match name_match {
        None => out.extend_from_slice(tail),
        Some(m) => {
            out.extend_from_slice(&tail[..tail.len() - NULL_MATCH_END.len()]);
            out.extend_from_slice(if m {
                b",\"name_match\":true}"
            } else {
                b",\"name_match\":false}"
            });
        }
    }
}

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
    /// The disclosure concerned (双公示 changes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_id: Option<String>,
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
    /// The disclosure concerned (双公示 changes only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_id: Option<String>,
    /// The entry's status after the change.
    pub status: Option<&'static str>,
    /// The reason or note given with a transition.
    pub note: Option<String>,
}

/// Serialises an answer into `out`.
pub(super) fn write_answer(out: &mut Vec<u8>, answer: &CheckAnswer) {
    serde_json::to_writer(out, answer).expect("serialising plain fields into a Vec cannot fail");
}

pub(super) fn history_out(c: &Change) -> HistoryOut {
    HistoryOut {
        seq: c.seq,
        at_ms: c.at_ms,
        change: c.kind.as_str(),
        entry_id: (!c.kind.is_disclosure())
            .then(|| c.entry_id.clone())
            .flatten(),
        disclosure_id: c.kind.is_disclosure().then(|| c.entry_id.clone()).flatten(),
        status: c
            .status
            .and_then(|s| status_from(s).ok())
            .map(EntryStatus::as_str),
        note: c.note.clone(),
    }
}

/// An organization's persons as answers list them.
pub(super) fn links_out(persons: &[PersonLink]) -> Vec<LinkOut> {
    persons
        .iter()
        .map(|l| LinkOut {
            id: l.person.to_string(),
            role: l.role.as_str(),
        })
        .collect()
}

pub(super) fn note_out(n: &Note) -> NoteOut {
    NoteOut {
        on: n.on,
        note: n.note.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    /// The hand-written clean answer is the serde form of the same
    /// [`CheckAnswer`], byte for byte, with and without a name match.
    #[test]
    fn a_clean_answer_is_written_as_serde_writes_it() {
        let catalog = Catalog::bundled();
        let json = CleanJson::new(&catalog);
        let at: Date = "2026-12-05".parse().unwrap();
        let (action, measure) = (&catalog.actions()[0], &catalog.measures()[0]);
        for name_match in [None, Some(true), Some(false)] {
            let expected = CheckAnswer {
                id: "91360100705500005G".into(),
                known: true,
                action: action.code.clone(),
                at,
                decision: Verdict::Allow,
                reasons: vec![],
                suspended: vec![],
                benefits: vec![BenefitOut {
                    measure: measure.code.clone(),
                    name: measure.name.clone(),
                    source: "clean_record",
                    entry_id: None,
                    category: None,
                }],
                name_match,
            };
            let mut out = Vec::new();
            write_head(
                &mut out,
                Some(expected.id.as_bytes()),
                true,
                &json.actions[0],
                at,
            );
            let tail = clean_tail("allow", std::iter::once(&*json.benefits[0]));
            write_tail(&mut out, &tail, name_match);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&expected).unwrap()
            );
        }
    }
}
