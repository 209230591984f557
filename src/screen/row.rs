//! One row of a screening: which subject it names, its decision, and the
//! line written for it.
//!
//! How a row finds its subject:
//!
//! * **an identifier**: the subject it identifies, decided as `/v1/check`
//!   decides it. A name given beside it is compared with the record's
//!   current and former names: `name_match` says whether it is one of them
//!   after normalization, and `match` how alike the closest one is.
//! * **a name alone**: the subjects within [`PLAUSIBLE_CHANGES`] of the
//!   name, and those scoring at least [`CANDIDATE_FLOOR`], are candidates,
//!   each with its own decision. The row is decided on a subject only when
//!   the name means it unambiguously: no other subject is explained by as
//!   few changes ([`crate::search::explain`]), it needs at most the
//!   maximum changes (1 unless asked otherwise), and it scores at least the
//!   minimum score. A person's name alone never decides. Without a match,
//!   `no_match` says why, `worst_decision` is the worst decision any
//!   candidate would get, and the row's decision is `allow` when every
//!   candidate was seen and every one would be allowed (whoever it is, the
//!   answer is the same), `review` otherwise: a person must choose among
//!   the candidates listed.
//! * **a masked identifier and a name**: as a name alone, among the subjects
//!   whose identifiers show the visible characters; a person is decided on
//!   only when exactly one fits them and the name needs no change.
//! * **an invalid identifier and a name**: as a name alone, with the
//!   identifier's problem reported in `id_error`.
//!
//! A row with neither, a masked identifier without a name, or an invalid
//! identifier without a name gets an `error` and no decision.

use std::io::Write;

use serde::Serialize;

use super::input::{Fields, Format, Ref, Row, RowError};
use crate::catalog::ActionId;
use crate::date::Date;
use crate::decide::Verdict;
use crate::engine::{CheckAnswer, Engine};
use crate::id::{MaskedId, SubjectKey};
use crate::search::{self, Found, Hit, PLAUSIBLE_CHANGES, SearchQuery};
use crate::store::{Reach, StoreError};

/// Names scoring below this are not candidates, unless they are plausible
/// (within [`PLAUSIBLE_CHANGES`]).
pub const CANDIDATE_FLOOR: f64 = 0.6;
/// The minimum score of a match unless asked otherwise.
pub const DEFAULT_MIN_SCORE: f64 = 0.7;
/// The most changes a match may need unless asked otherwise.
pub const DEFAULT_MAX_CHANGES: u8 = 1;
/// Candidates looked at for one name.
pub const CANDIDATES_CONSIDERED: usize = 50;
/// Candidates listed in a row's answer.
const CANDIDATES_SHOWN: usize = 5;

/// Reads a minimum score in (0, 1].
pub fn parse_score(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s > 0.0 && s <= 1.0 => Ok(s),
        _ => Err(format!(
            "expected a score above 0 and at most 1, found {text:?}"
        )),
    }
}

/// Reads a maximum number of changes: 0 to [`PLAUSIBLE_CHANGES`].
pub fn parse_changes(text: &str) -> Result<u8, String> {
    match text.trim().parse::<u8>() {
        Ok(n) if n <= PLAUSIBLE_CHANGES => Ok(n),
        _ => Err(format!(
            "expected a whole number from 0 to {PLAUSIBLE_CHANGES}, found {text:?}"
        )),
    }
}

/// The columns of a CSV answer.
pub const CSV_HEADER: &str = "row,line,ref,id,known,decision,reasons,name_match,match_by,match_name,match_score,match_method,candidates,match_changes,no_match,worst_decision,error\n";
/// How many columns a CSV answer has; `error` is the last.
pub const CSV_COLUMNS: usize = 17;

/// Counts over the rows screened.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Rows read.
    pub rows: u64,
    /// Rows decided allow.
    pub allow: u64,
    /// Rows decided caution.
    pub caution: u64,
    /// Rows decided deny.
    pub deny: u64,
    /// Rows a person must review.
    pub review: u64,
    /// Rows with an error and no decision.
    pub errors: u64,
    /// Rows matched by identifier.
    pub by_id: u64,
    /// Rows matched by name.
    pub by_name: u64,
    /// Rows matched by masked identifier and name.
    pub by_masked_id: u64,
    /// Rows whose name matched no subject.
    pub unmatched: u64,
    /// Rows whose name is not the identified subject's.
    pub name_mismatches: u64,
    /// Rows whose identifier was invalid, matched by name instead.
    pub id_errors: u64,
}

impl Tally {
    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &Tally) {
        self.rows += other.rows;
        self.allow += other.allow;
        self.caution += other.caution;
        self.deny += other.deny;
        self.review += other.review;
        self.errors += other.errors;
        self.by_id += other.by_id;
        self.by_name += other.by_name;
        self.by_masked_id += other.by_masked_id;
        self.unmatched += other.unmatched;
        self.name_mismatches += other.name_mismatches;
        self.id_errors += other.id_errors;
    }
}

/// A row's decision: a subject's verdict, or `review`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowDecision {
    Verdict(Verdict),
    Review,
}

impl RowDecision {
    fn as_str(self) -> &'static str {
        match self {
            RowDecision::Verdict(v) => v.as_str(),
            RowDecision::Review => "review",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum By {
    Id,
    Name,
    MaskedId,
}

impl By {
    fn as_str(self) -> &'static str {
        match self {
            By::Id => "id",
            By::Name => "name",
            By::MaskedId => "masked_id",
        }
    }
}

/// How a row's subject was found.
struct Match {
    id: SubjectKey,
    name: Option<String>,
    matched_name: Option<String>,
    score: f64,
    method: Option<&'static str>,
    /// Matched by name: the changes and the margin over the next subject.
    explained: Option<(search::Changes, Option<i16>)>,
}

/// Why a row matched by name has no match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NoMatch {
    /// Another subject needs as few changes.
    Ambiguous,
    /// The closest subject needs more changes, or scores less, than a
    /// match may.
    TooDifferent,
    /// A person's name alone (or with a masked id that more than the name
    /// fits) does not decide.
    PersonName,
    /// No candidate at all.
    NotFound,
}

impl NoMatch {
    fn as_str(self) -> &'static str {
        match self {
            NoMatch::Ambiguous => "ambiguous",
            NoMatch::TooDifferent => "too_different",
            NoMatch::PersonName => "person_name",
            NoMatch::NotFound => "not_found",
        }
    }
}

/// What a row comes to.
struct Outcome {
    by: By,
    /// The subject decided for, if one was found.
    matched: Option<Match>,
    name_match: Option<bool>,
    /// Without a match: allow or review.
    unmatched_decision: RowDecision,
    /// Without a match: why.
    no_match: Option<NoMatch>,
    /// Without a match: the worst decision of any candidate.
    worst: Option<Verdict>,
    candidates: Vec<(Hit, Verdict)>,
    id_error: Option<RowError>,
}

enum Failure {
    Row(RowError),
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        Failure::Store(e)
    }
}

/// Screens rows for one action on one date.
pub struct Screener<'e> {
    engine: &'e Engine,
    action: ActionId,
    at: Date,
    /// For identity numbers' birth dates (not in the future).
    today: Date,
    min_score: f64,
    max_changes: u8,
    output: Format,
    oversight: super::Oversight,
}

impl<'e> Screener<'e> {
    /// The screener deciding on a name only when it needs at most
    /// `max_changes` changes.
    pub fn max_changes(mut self, max_changes: u8) -> Screener<'e> {
        self.max_changes = max_changes;
        self
    }

    /// The screener auditing and masking as `oversight` says.
    pub fn overseen(mut self, oversight: super::Oversight) -> Screener<'e> {
        self.oversight = oversight;
        self
    }

    /// Hands a batch's audit records to the audit log.
    pub fn audit(&self, audited: Vec<crate::audit::Record>) {
        if let Some(log) = &self.oversight.audit {
            log.record_all(audited);
        }
    }

    /// Whether `key`'s identifier and names are masked in the answer.
    fn masks(&self, key: SubjectKey) -> bool {
        self.oversight.mask && key.kind() == crate::id::SubjectKind::Person
    }

    /// `key`'s identifier as the answer shows it.
    fn shown_id(&self, key: SubjectKey) -> String {
        let id = key.to_string();
        if self.masks(key) {
            crate::access::mask_id(&id)
        } else {
            id
        }
    }

    /// Appends `key`'s identifier as the answer shows it (no allocation
    /// unless it is masked).
    fn push_shown_id(&self, key: SubjectKey, out: &mut Vec<u8>) {
        let mut id = key.to_ascii();
        if self.masks(key) {
            crate::access::mask_id_in_place(&mut id);
        }
        out.extend_from_slice(&id);
    }

    /// A name of `key` as the answer shows it.
    fn shown_name<'a>(&self, key: SubjectKey, name: &'a str) -> std::borrow::Cow<'a, str> {
        if self.masks(key) {
            crate::access::mask_name(name).into()
        } else {
            name.into()
        }
    }

    /// A screener over `engine`.
    pub fn new(
        engine: &'e Engine,
        action: ActionId,
        at: Date,
        min_score: f64,
        output: Format,
    ) -> Screener<'e> {
        Screener {
            engine,
            action,
            at,
            today: Date::today(),
            min_score,
            max_changes: DEFAULT_MAX_CHANGES,
            output,
            oversight: super::Oversight::default(),
        }
    }

    /// Screens `row`, appends its line to `out` and counts it in `tally`.
    /// Only a failing store is an error; a bad row is a line with `error`.
    pub fn row(
        &self,
        row: Row<'_>,
        out: &mut Vec<u8>,
        tally: &mut Tally,
        audited: &mut Vec<crate::audit::Record>,
    ) -> Result<(), StoreError> {
        tally.rows += 1;
        let reference = row.fields.as_ref().ok().and_then(|f| f.reference.clone());
        let outcome = match (row.fields, self.over_quota()) {
            (_, Some(e)) | (Err(e), None) => Err(Failure::Row(e)),
            (Ok(fields), None) => self.resolve(&fields),
        };
        match outcome {
            Ok(o) => self.write(
                (row.row, row.line),
                reference.as_ref(),
                &o,
                out,
                tally,
                audited,
            ),
            Err(Failure::Store(e)) => Err(e),
            Err(Failure::Row(e)) => {
                tally.errors += 1;
                match self.output {
                    Format::Ndjson => {
                        write_head(out, row.row, row.line);
                        write_ref(out, reference.as_ref());
                        out.extend_from_slice(b",\"error\":");
                        write_error(out, &e);
                        out.extend_from_slice(b"}\n");
                    }
                    Format::Csv => {
                        let mut fields = [""; CSV_COLUMNS];
                        let (r, l) = (row.row.to_string(), row.line.to_string());
                        fields[0] = &r;
                        fields[1] = &l;
                        fields[2] = reference.as_ref().map_or("", |r| &r.text);
                        let message = format!("{}: {}", e.code, e.message);
                        fields[CSV_COLUMNS - 1] = &message;
                        write_csv_record(out, &fields);
                    }
                }
                Ok(())
            }
        }
    }

    /// The row error for a row past the key's daily quota (each screened
    /// row counts as a request), if it is.
    fn over_quota(&self) -> Option<RowError> {
        let (limiter, daily) = self.oversight.quota.as_ref()?;
        let wait = limiter
            .take_from_quota(*daily, 1, crate::date::epoch_ms())
            .err()?;
        Some(RowError::new(
            "quota_exhausted",
            format!(
                "the key has made its {daily} requests for today (each screened row counts as one); the quota renews at 00:00 China Standard Time, in {} s",
                wait.as_secs().max(1)
            ),
        ))
    }

    fn resolve(&self, f: &Fields<'_>) -> Result<Outcome, Failure> {
        let name = f.name.as_deref();
        let Some(id) = f.id.as_deref() else {
            return match name {
                Some(name) => self.by_name(name, None),
                None => Err(Failure::Row(RowError::new(
                    "missing_field",
                    "the row has neither an id nor a name",
                ))),
            };
        };
        if MaskedId::looks_masked(id) {
            let mask = MaskedId::parse(id).map_err(|e| {
                Failure::Row(RowError::new("invalid_id", format!("field \"id\": {e}")))
            })?;
            if self.oversight.mask && mask.shows_masked_chars() {
                let hidden = crate::access::MASKED_ID_CHARS;
                return Err(Failure::Row(RowError::new(
                    "forbidden",
                    format!(
                        "field \"id\": {mask} shows some of characters {}–{} (an identity number's birth date), which this key sees masked and may not test; hide them as public lists do (360102********1234), or send an organization's full code",
                        hidden.start + 1,
                        hidden.end
                    ),
                )));
            }
            return match name {
                Some(name) => self.by_name(name, Some(&mask)),
                None => Err(Failure::Row(RowError::new(
                    "missing_field",
                    format!(
                        "field \"id\" is masked ({mask}); a masked id is matched by its name, and the row has none"
                    ),
                ))),
            };
        }
        match SubjectKey::parse_readings_at(id, self.today) {
            Ok(readings) => self.by_id(self.engine.pick_reading(readings), name),
            Err(e) => {
                let error = RowError::new("invalid_id", format!("field \"id\": {e}"));
                match name {
                    Some(name) => {
                        let mut o = self.by_name(name, None)?;
                        o.id_error = Some(error);
                        Ok(o)
                    }
                    None => Err(Failure::Row(error)),
                }
            }
        }
    }

    fn by_id(&self, key: SubjectKey, name: Option<&str>) -> Result<Outcome, Failure> {
        let mut m = Match {
            id: key,
            name: None,
            matched_name: None,
            score: 1.0,
            method: Some("id"),
            explained: None,
        };
        let mut name_match = None;
        if let Some(typed) = name {
            let subject = self.engine.store().subject(key)?;
            let compared = subject.as_ref().and_then(|s| {
                let names: Vec<&str> = std::iter::once(s.name.as_str())
                    .chain(s.aliases.iter().map(String::as_str))
                    .collect();
                search::compare(typed, &names).map(|c| (c, names[c.index].to_string()))
            });
            name_match = Some(compared.as_ref().is_some_and(|(c, _)| c.same_name()));
            m.name = subject.map(|s| s.name);
            m.score = compared.as_ref().map_or(0.0, |(c, _)| c.score);
            m.method = compared.as_ref().map(|(c, _)| c.method.as_str());
            m.matched_name = compared.map(|(_, n)| n);
        }
        Ok(Outcome {
            by: By::Id,
            matched: Some(m),
            name_match,
            unmatched_decision: RowDecision::Review,
            no_match: None,
            worst: None,
            candidates: Vec::new(),
            id_error: None,
        })
    }

    fn by_name(&self, name: &str, mask: Option<&MaskedId>) -> Result<Outcome, Failure> {
        let query = |settle_only: bool, limit: usize| SearchQuery {
            text: name,
            kind: mask.and_then(MaskedId::kind),
            limit,
            id_prefix: None,
            born: None,
            mask,
            min_score: CANDIDATE_FLOOR,
            settle_only,
        };
        let bad_name = |e: search::SearchError| {
            Failure::Row(RowError::new(
                "invalid_name",
                format!("field \"name\": {e}"),
            ))
        };
        // A first look that stops once it is clear whether one subject is
        // meant (most names in a file are typed as registered); the whole
        // search only for rows a person will see or that every candidate
        // must answer alike.
        let first_look = || {
            self.engine
                .search_found(&query(true, CANDIDATES_SHOWN + 1))
                .map_err(bad_name)
        };
        let whole = || {
            self.engine
                .search_found(&query(false, CANDIDATES_CONSIDERED))
                .map_err(bad_name)
                .map(|found| {
                    let complete = found.hits.len() < CANDIDATES_CONSIDERED;
                    (found, complete)
                })
        };
        let (found, complete) = if mask.is_none() && search::normalize::reads_as_person(name) {
            // A person's name alone never decides: the first look would be
            // wasted. Should the whole search settle on a subject after all
            // (a short trade name), the row is answered from the first look
            // as any other row would be.
            let (found, complete) = whole()?;
            match self.choose(&found, mask) {
                Ok(_) => match first_look()? {
                    first if self.choose(&first, mask).is_ok() => (first, false),
                    _ => (found, complete),
                },
                Err(_) => (found, complete),
            }
        } else {
            match first_look()? {
                first if self.choose(&first, mask).is_ok() => (first, false),
                _ => whole()?,
            }
        };
        let chosen = self.choose(&found, mask);
        let chosen_key = chosen.as_ref().ok().map(|h| h.key);
        // Candidates: the plausible subjects, then the best by score.
        let mut seen = std::collections::HashSet::new();
        let mut candidates = Vec::new();
        let mut worst = Verdict::Allow;
        for hit in found.plausible.into_iter().chain(found.hits) {
            if Some(hit.key) == chosen_key || !seen.insert(hit.key) {
                continue;
            }
            let verdict = self.engine.verdict(hit.key, self.action, self.at)?;
            worst = worst.max(verdict);
            candidates.push((hit, verdict));
        }
        let by = if mask.is_some() {
            By::MaskedId
        } else {
            By::Name
        };
        let (matched, no_match) = match chosen {
            Ok(hit) => (
                Some(Match {
                    id: hit.key,
                    name: Some(hit.name),
                    matched_name: Some(hit.matched_name),
                    score: hit.score,
                    method: Some(hit.method.as_str()),
                    explained: Some((hit.changed, hit.margin)),
                }),
                None,
            ),
            Err(why) => (None, Some(why)),
        };
        // Those that would change the answer first, then the fewest
        // changes, then by likeness.
        candidates.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(a.0.changes.cmp(&b.0.changes))
                .then(b.0.score.total_cmp(&a.0.score))
        });
        candidates.truncate(CANDIDATES_SHOWN);
        Ok(Outcome {
            by,
            name_match: None,
            unmatched_decision: if complete && worst == Verdict::Allow {
                RowDecision::Verdict(Verdict::Allow)
            } else {
                RowDecision::Review
            },
            worst: matched.is_none().then_some(worst),
            matched,
            no_match,
            candidates,
            id_error: None,
        })
    }

    /// The subject a name means, or why there is none: explained by fewer
    /// changes than any other subject, by at most the maximum, scoring at
    /// least the minimum; a person only with a masked id that the name fits
    /// as written.
    fn choose(&self, found: &Found, mask: Option<&MaskedId>) -> Result<Hit, NoMatch> {
        let Some(best) = found.plausible.first().or_else(|| found.hits.first()) else {
            return Err(NoMatch::NotFound);
        };
        if best.ambiguous {
            return Err(NoMatch::Ambiguous);
        }
        if best.key.kind() == crate::id::SubjectKind::Person && (mask.is_none() || best.changes > 0)
        {
            return Err(NoMatch::PersonName);
        }
        match found.unambiguous(self.max_changes) {
            Some(hit) if hit.score >= self.min_score => Ok(hit.clone()),
            _ => Err(NoMatch::TooDifferent),
        }
    }

    fn write(
        &self,
        at: (u64, u64),
        reference: Option<&Ref<'_>>,
        o: &Outcome,
        out: &mut Vec<u8>,
        tally: &mut Tally,
        audited: &mut Vec<crate::audit::Record>,
    ) -> Result<(), StoreError> {
        match o.matched {
            Some(_) => match o.by {
                By::Id => tally.by_id += 1,
                By::Name => tally.by_name += 1,
                By::MaskedId => tally.by_masked_id += 1,
            },
            None => tally.unmatched += 1,
        }
        if o.name_match == Some(false) {
            tally.name_mismatches += 1;
        }
        if o.id_error.is_some() {
            tally.id_errors += 1;
        }
        let decision = match self.output {
            Format::Ndjson => self.write_json(at, reference, o, out)?,
            Format::Csv => self.write_csv(at, reference, o, out)?,
        };
        match decision {
            RowDecision::Verdict(Verdict::Allow) => tally.allow += 1,
            RowDecision::Verdict(Verdict::Caution) => tally.caution += 1,
            RowDecision::Verdict(Verdict::Deny) => tally.deny += 1,
            RowDecision::Review => tally.review += 1,
        }
        if self.oversight.audit.is_some() {
            audited.push(
                crate::audit::Fields {
                    event: crate::audit::Event::ScreenRow,
                    action: Some(self.action),
                    outcome: match decision {
                        RowDecision::Verdict(v) => v.into(),
                        RowDecision::Review => crate::audit::Outcome::Review,
                    },
                    subject: o.matched.as_ref().map(|m| m.id),
                    status: 200,
                    // Whether the subject is known is not looked up again
                    // for the audit; a name that failed is recorded.
                    detail: crate::audit::Detail::Check {
                        unknown: false,
                        named: o.name_match.is_some(),
                        name_mismatch: o.name_match == Some(false),
                    },
                }
                .stamped(self.oversight.key, self.oversight.request),
            );
        }
        Ok(())
    }

    fn write_json(
        &self,
        (row, line): (u64, u64),
        reference: Option<&Ref<'_>>,
        o: &Outcome,
        out: &mut Vec<u8>,
    ) -> Result<RowDecision, StoreError> {
        write_head(out, row, line);
        write_ref(out, reference);
        let decision = match &o.matched {
            Some(m) => {
                // The check answer's fields follow the row's own: its opening
                // brace becomes a comma.
                let at = out.len();
                let verdict = self
                    .engine
                    .check_json_with(m.id, self.action, self.at, o.name_match, Reach::Disk, out)?
                    .verdict;
                debug_assert_eq!(out[at], b'{');
                if self.masks(m.id) {
                    crate::access::mask_answer_id(&mut out[at..]);
                }
                out[at] = b',';
                out.pop();
                RowDecision::Verdict(verdict)
            }
            None => {
                let d = o.unmatched_decision;
                let at = out.len();
                self.engine
                    .write_unmatched(self.action, self.at, d.as_str(), out);
                out[at] = b',';
                out.pop();
                d
            }
        };
        out.extend_from_slice(b",\"match\":");
        match &o.matched {
            Some(m) => {
                out.extend_from_slice(b"{\"by\":\"");
                out.extend_from_slice(o.by.as_str().as_bytes());
                out.extend_from_slice(b"\",\"id\":\"");
                self.push_shown_id(m.id, out);
                out.extend_from_slice(b"\",\"name\":");
                json_opt_str(
                    out,
                    m.name
                        .as_deref()
                        .map(|n| self.shown_name(m.id, n))
                        .as_deref(),
                );
                out.extend_from_slice(b",\"matched_name\":");
                json_opt_str(
                    out,
                    m.matched_name
                        .as_deref()
                        .map(|n| self.shown_name(m.id, n))
                        .as_deref(),
                );
                write!(out, ",\"score\":{}", m.score).expect("writing to a Vec cannot fail");
                out.extend_from_slice(b",\"method\":");
                json_opt_str(out, m.method);
                if let Some((changed, margin)) = &m.explained {
                    write_changes(out, changed);
                    match margin {
                        Some(m) => write!(out, ",\"margin\":{m}"),
                        None => write!(out, ",\"margin\":null"),
                    }
                    .expect("writing to a Vec cannot fail");
                }
                out.push(b'}');
            }
            None => out.extend_from_slice(b"null"),
        }
        if let Some(why) = o.no_match {
            out.extend_from_slice(b",\"no_match\":\"");
            out.extend_from_slice(why.as_str().as_bytes());
            out.push(b'"');
        }
        if let Some(worst) = o.worst {
            out.extend_from_slice(b",\"worst_decision\":\"");
            out.extend_from_slice(worst.as_str().as_bytes());
            out.push(b'"');
        }
        if o.by != By::Id {
            out.extend_from_slice(b",\"candidates\":[");
            for (i, (hit, verdict)) in o.candidates.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"id\":\"");
                self.push_shown_id(hit.key, out);
                out.push(b'"');
                out.extend_from_slice(b",\"name\":");
                json_str(out, &self.shown_name(hit.key, &hit.name));
                out.extend_from_slice(b",\"matched_name\":");
                json_str(out, &self.shown_name(hit.key, &hit.matched_name));
                write!(out, ",\"score\":{},\"method\":\"", hit.score)
                    .expect("writing to a Vec cannot fail");
                out.extend_from_slice(hit.method.as_str().as_bytes());
                out.push(b'"');
                write_changes(out, &hit.changed);
                write!(out, ",\"ambiguous\":{}", hit.ambiguous)
                    .expect("writing to a Vec cannot fail");
                out.extend_from_slice(b",\"decision\":\"");
                out.extend_from_slice(verdict.as_str().as_bytes());
                out.extend_from_slice(b"\"}");
            }
            out.push(b']');
        }
        if let Some(e) = &o.id_error {
            out.extend_from_slice(b",\"id_error\":");
            write_error(out, e);
        }
        out.extend_from_slice(b"}\n");
        Ok(decision)
    }

    fn write_csv(
        &self,
        (row, line): (u64, u64),
        reference: Option<&Ref<'_>>,
        o: &Outcome,
        out: &mut Vec<u8>,
    ) -> Result<RowDecision, StoreError> {
        let (row, line) = (row.to_string(), line.to_string());
        let answer: Option<CheckAnswer> = match &o.matched {
            Some(m) => Some(self.engine.check(m.id, self.action, self.at)?),
            None => None,
        };
        let decision = answer
            .as_ref()
            .map_or(o.unmatched_decision, |a| RowDecision::Verdict(a.decision));
        let reasons = answer.as_ref().map_or(String::new(), |a| {
            a.reasons
                .iter()
                .map(|r| format!("{} {} {}", r.entry_id, r.category, r.measure))
                .collect::<Vec<_>>()
                .join("; ")
        });
        let candidates = o
            .candidates
            .iter()
            .map(|(h, v)| {
                format!(
                    "{} {} {} {} {}",
                    self.shown_id(h.key),
                    self.shown_name(h.key, &h.name),
                    h.score,
                    v.as_str(),
                    h.changes
                )
            })
            .collect::<Vec<_>>()
            .join("; ");
        let id = o
            .matched
            .as_ref()
            .map(|m| self.shown_id(m.id))
            .unwrap_or_default();
        let match_name = o
            .matched
            .as_ref()
            .and_then(|m| {
                m.name
                    .as_deref()
                    .map(|n| self.shown_name(m.id, n).into_owned())
            })
            .unwrap_or_default();
        let score = o
            .matched
            .as_ref()
            .map(|m| m.score.to_string())
            .unwrap_or_default();
        let id_error = o
            .id_error
            .as_ref()
            .map(|e| format!("{}: {}", e.code, e.message))
            .unwrap_or_default();
        let fields = [
            row.as_str(),
            line.as_str(),
            reference.map_or("", |r| &r.text),
            &id,
            answer
                .as_ref()
                .map_or("false", |a| if a.known { "true" } else { "false" }),
            decision.as_str(),
            &reasons,
            match o.name_match {
                None => "",
                Some(true) => "true",
                Some(false) => "false",
            },
            if o.matched.is_some() {
                o.by.as_str()
            } else {
                ""
            },
            &match_name,
            &score,
            o.matched.as_ref().and_then(|m| m.method).unwrap_or(""),
            &candidates,
            &o.matched
                .as_ref()
                .and_then(|m| m.explained.as_ref())
                .map(|(c, _)| c.count().to_string())
                .unwrap_or_default(),
            o.no_match.map_or("", NoMatch::as_str),
            o.worst.map_or("", Verdict::as_str),
            &id_error,
        ];
        write_csv_record(out, &fields);
        Ok(decision)
    }
}

/// `{"row":R,"line":L`: a row's line starts with where it came from.
fn write_head(out: &mut Vec<u8>, row: u64, line: u64) {
    write!(out, "{{\"row\":{row},\"line\":{line}").expect("writing to a Vec cannot fail");
}

fn write_ref(out: &mut Vec<u8>, reference: Option<&Ref<'_>>) {
    out.extend_from_slice(b",\"ref\":");
    match reference {
        Some(r) if r.number => out.extend_from_slice(r.text.as_bytes()),
        Some(r) => json_str(out, &r.text),
        None => out.extend_from_slice(b"null"),
    }
}

/// `,"changes":N,"changed":[…]`.
fn write_changes(out: &mut Vec<u8>, changed: &search::Changes) {
    write!(out, ",\"changes\":{},\"changed\":", changed.count())
        .expect("writing to a Vec cannot fail");
    serde_json::to_writer(&mut *out, changed).expect("changes always encode");
}

fn write_error(out: &mut Vec<u8>, e: &RowError) {
    out.extend_from_slice(b"{\"code\":");
    json_str(out, e.code);
    out.extend_from_slice(b",\"message\":");
    json_str(out, &e.message);
    out.push(b'}');
}

fn json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("a string always encodes");
}

fn json_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Appends one CSV record, quoting fields that need it.
pub fn write_csv_record(out: &mut Vec<u8>, fields: &[&str]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        if f.contains([',', '"', '\n', '\r']) {
            out.push(b'"');
            out.extend_from_slice(f.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        } else {
            out.extend_from_slice(f.as_bytes());
        }
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records_quote_what_needs_it() {
        let mut out = Vec::new();
        write_csv_record(&mut out, &["a", "b,c", "say \"x\"", ""]);
        assert_eq!(out, b"a,\"b,c\",\"say \"\"x\"\"\",\n");
    }

    #[test]
    fn the_csv_header_has_its_columns_and_ends_with_error() {
        assert_eq!(CSV_HEADER.split(',').count(), CSV_COLUMNS);
        assert!(CSV_HEADER.ends_with(",error\n"));
    }

    #[test]
    fn tallies_add_up() {
        let mut a = Tally {
            rows: 2,
            deny: 1,
            ..Tally::default()
        };
        a.add(&Tally {
            rows: 3,
            deny: 2,
            errors: 1,
            ..Tally::default()
        });
        assert_eq!((a.rows, a.deny, a.errors), (5, 3, 1));
    }
}
