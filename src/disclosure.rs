//! 双公示: administrative licensing (行政许可) and penalty (行政处罚)
//! decisions, published within 7 working days of the decision (the plan's
//! item 十六) and shown to the public as the rules allow.
//!
//! A disclosure is a record of its own, beside the lists: the fields the
//! national standard uses (decision number, name, category, content, basis,
//! the counterpart's name and identifier, result, decision date, authority)
//! and, for a penalty, its severity and the black-list entry it led to, if
//! any. What follows from them is derived here, not stored:
//!
//! * **timeliness**: the working days from decision to publication
//!   ([`crate::calendar`]); more than 7 is late;
//! * **the publication window**: a licence stays public; a penalty is
//!   public from its publication until the longest window of its severity
//!   after the decision ([`crate::catalog::Window`]), and a minor one is
//!   never public;
//! * **repair** (信用修复): once the shortest window has passed, the
//!   obligations are met and a credit pledge is made, a penalty's
//!   publication may end early ([`Disclosure::may_repair`]).
//!
//! ```
//! use creditgate::catalog::Catalog;
//! use creditgate::disclosure::{DisclosureRecord, Shown};
//! let catalog = Catalog::bundled();
//! let record: DisclosureRecord = serde_json::from_str(r#"{"disclosure_id":"XZCF-2026-001",
//!   "kind":"penalty","number":"洪市监罚〔2026〕12号","name":"行政处罚决定书",
//!   "category":"罚款","content":"销售不合格产品","basis":"《产品质量法》第四十九条",
//!   "subject_name":"南昌华远科技有限公司","subject_id":"91360100705500005G",
//!   "result":"罚款人民币五万元","decided_at":"2026-03-02","published_at":"2026-03-05",
//!   "authority":"南昌市市场监督管理局","severity":"general"}"#).unwrap();
//! let today = "2026-12-05".parse().unwrap();
//! let d = record.validate(&catalog, today).unwrap();
//! // General: public for a year from the decision; repair after 3 months.
//! let window = d.window(&catalog);
//! assert_eq!(window.until.unwrap().to_string(), "2027-03-02");
//! assert_eq!(window.repair_from.unwrap().to_string(), "2026-06-02");
//! assert_eq!(d.shown(&catalog, today), Shown::Public);
//! assert_eq!(d.shown(&catalog, "2027-03-02".parse().unwrap()), Shown::Ended);
//! ```

use serde::{Deserialize, Serialize};

use crate::calendar::{DISCLOSURE_WORKING_DAYS, WorkCalendar};
use crate::catalog::Catalog;
use crate::date::Date;
use crate::id::SubjectKey;
use crate::model::{
    MAX_ENTRY_ID_CHARS, MAX_NAME_CHARS, MAX_TEXT_CHARS, Note, Problem, RecordError, clean_text,
    decided_by, field_error, not_before_decision,
};
use crate::vocab::Severity;

/// Longest content (事由/内容) or result, in characters: facts of a case
/// run longer than a basis.
pub const MAX_CONTENT_CHARS: usize = 4000;

/// A licensing or a penalty decision.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DisclosureKind {
    /// 行政许可.
    Licence,
    /// 行政处罚.
    Penalty,
}

impl DisclosureKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DisclosureKind::Licence => "licence",
            DisclosureKind::Penalty => "penalty",
        }
    }

    /// The kind with this wire name.
    pub fn parse(name: &str) -> Option<DisclosureKind> {
        match name {
            "licence" => Some(DisclosureKind::Licence),
            "penalty" => Some(DisclosureKind::Penalty),
            _ => None,
        }
    }
}

/// One line of `disclosures.ndjson`, or the body of `PUT
/// /v1/disclosures/{id}`, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureRecord {
    /// Unique id; a later record with the same id replaces the earlier.
    pub disclosure_id: String,
    /// `licence` or `penalty`.
    pub kind: DisclosureKind,
    /// The decision's document number (文号).
    pub number: String,
    /// Its name (行政许可决定书名称, 案件名称).
    pub name: String,
    /// Its category (许可类别: 普通, 特许…; 处罚类别: 警告, 罚款…).
    pub category: String,
    /// What it grants, or the facts of the case (内容 / 违法事实).
    pub content: String,
    /// The legal basis (依据).
    pub basis: String,
    /// The counterpart's name (行政相对人名称).
    pub subject_name: String,
    /// The counterpart's credit code or identity number.
    pub subject_id: String,
    /// The result (处罚结果, 许可结果).
    pub result: String,
    /// Date of the decision.
    pub decided_at: Date,
    /// Date it was published; defaults to the day it reaches the platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<Date>,
    /// The deciding department.
    pub authority: String,
    /// A penalty's severity (轻微, 一般, 严重); a licence has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// A licence's last day of validity (有效期至), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// The black-list entry a penalty led to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
}

impl crate::model::RecordFields for DisclosureRecord {
    const FIELDS: &'static [&'static str] = &[
        "disclosure_id",
        "kind",
        "number",
        "name",
        "category",
        "content",
        "basis",
        "subject_name",
        "subject_id",
        "result",
        "decided_at",
        "published_at",
        "authority",
        "severity",
        "valid_until",
        "entry_id",
    ];
}

/// A validated disclosure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Disclosure {
    /// Unique id.
    pub disclosure_id: String,
    /// Licence or penalty.
    pub kind: DisclosureKind,
    /// Document number.
    pub number: String,
    /// Name.
    pub name: String,
    /// Category.
    pub category: String,
    /// Content or facts.
    pub content: String,
    /// Legal basis.
    pub basis: String,
    /// The counterpart.
    pub subject: SubjectKey,
    /// The counterpart's name.
    pub subject_name: String,
    /// Result.
    pub result: String,
    /// Date of the decision.
    pub decided_at: Date,
    /// Date of publication.
    pub published_at: Date,
    /// Deciding department.
    pub authority: String,
    /// A penalty's severity.
    pub severity: Option<Severity>,
    /// A licence's last day of validity.
    pub valid_until: Option<Date>,
    /// The black-list entry a penalty led to.
    pub entry_id: Option<String>,
    /// The credit repair that ended a penalty's publication early.
    pub repair: Option<Note>,
}

impl DisclosureRecord {
    /// Validates the record: texts trimmed and bounded, the counterpart's
    /// identifier parsed, dates in order and not after `today`, a penalty
    /// with a severity the catalog windows, a licence without one.
    pub fn validate(&self, catalog: &Catalog, today: Date) -> Result<Disclosure, RecordError> {
        let disclosure_id = clean_text("disclosure_id", &self.disclosure_id, MAX_ENTRY_ID_CHARS)?;
        let number = clean_text("number", &self.number, MAX_TEXT_CHARS)?;
        let name = clean_text("name", &self.name, MAX_TEXT_CHARS)?;
        let category = clean_text("category", &self.category, MAX_TEXT_CHARS)?;
        let content = clean_text("content", &self.content, MAX_CONTENT_CHARS)?;
        let basis = clean_text("basis", &self.basis, MAX_TEXT_CHARS)?;
        let subject_name = clean_text("subject_name", &self.subject_name, MAX_NAME_CHARS)?;
        let subject = SubjectKey::parse_readings_at(&self.subject_id, today)
            .map_err(|e| field_error("subject_id", e))?
            .first;
        let result = clean_text("result", &self.result, MAX_CONTENT_CHARS)?;
        let authority = clean_text("authority", &self.authority, MAX_TEXT_CHARS)?;
        decided_by(self.decided_at, today)?;
        let published_at = self.published_at.unwrap_or(today);
        not_before_decision("published_at", published_at, self.decided_at)?;
        if published_at > today {
            return Err(field_error(
                "published_at",
                Problem::Rule(format!(
                    "{published_at} is after today ({today}): a disclosure is dated the day it was published"
                )),
            ));
        }
        match self.kind {
            DisclosureKind::Penalty => {
                let Some(severity) = self.severity else {
                    return Err(field_error(
                        "severity",
                        Problem::Rule(
                            "a penalty needs its severity: minor, general or serious".into(),
                        ),
                    ));
                };
                if catalog.window(severity).is_none() {
                    return Err(field_error(
                        "severity",
                        Problem::Rule(
                            "the loaded catalog has no publication windows ([[window]]), so penalties cannot be disclosed".into(),
                        ),
                    ));
                }
                if self.valid_until.is_some() {
                    return Err(field_error(
                        "valid_until",
                        Problem::Rule(
                            "a penalty has no validity; its publication window follows from its severity".into(),
                        ),
                    ));
                }
            }
            DisclosureKind::Licence => {
                for (field, given) in [
                    ("severity", self.severity.is_some()),
                    ("entry_id", self.entry_id.is_some()),
                ] {
                    if given {
                        return Err(field_error(
                            field,
                            Problem::Rule(format!("only a penalty has a {field}")),
                        ));
                    }
                }
                if let Some(until) = self.valid_until {
                    not_before_decision("valid_until", until, self.decided_at)?;
                }
            }
        }
        let entry_id = self
            .entry_id
            .as_deref()
            .map(|id| clean_text("entry_id", id, MAX_ENTRY_ID_CHARS))
            .transpose()?;
        Ok(Disclosure {
            disclosure_id,
            kind: self.kind,
            number,
            name,
            category,
            content,
            basis,
            subject,
            subject_name,
            result,
            decided_at: self.decided_at,
            published_at,
            authority,
            severity: self.severity,
            valid_until: self.valid_until,
            entry_id,
            repair: None,
        })
    }
}

/// When a disclosure is public, and from when its credit can be repaired.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PublicWindow {
    /// Whether it is ever public (a minor penalty is not).
    pub published: bool,
    /// First day public.
    pub from: Date,
    /// First day no longer public; none: no end (a licence).
    pub until: Option<Date>,
    /// First day a repair may be asked (a penalty).
    pub repair_from: Option<Date>,
}

/// What the public sees of a disclosure on a day.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shown {
    /// Public.
    Public,
    /// A minor penalty: never published.
    NotPublished,
    /// Not yet published on that day.
    NotYet,
    /// Its window ended.
    Ended,
    /// Its publication ended early by credit repair.
    Repaired,
}

impl Shown {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Shown::Public => "public",
            Shown::NotPublished => "not_published",
            Shown::NotYet => "not_yet",
            Shown::Ended => "ended",
            Shown::Repaired => "repaired",
        }
    }
}

/// How timely a publication was: the working days after the decision it
/// came, against the 7 allowed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Timeliness {
    /// The last day it could be published on time.
    pub deadline: Date,
    /// Working days from decision to publication.
    pub working_days: u32,
    /// More than 7.
    pub late: bool,
    /// False when the calendar lacked a year counted (counted Monday to
    /// Friday).
    pub calendar_covered: bool,
}

/// A disclosure as the platform holds it: the record, and how timely its
/// publication was, counted with the calendar in force when it was
/// published (so that the figures an authority was told do not move).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The disclosure.
    pub disclosure: Disclosure,
    /// Its timeliness.
    pub timeliness: Timeliness,
}

/// What a disclosure query asks for, beside who may see what: the server's
/// public query and the CLI read the same fields.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this deciding department.
    pub authority: Option<String>,
    /// Only licences or penalties.
    pub kind: Option<DisclosureKind>,
    /// Decided on or after this day.
    pub from: Option<Date>,
    /// Decided on or before this day.
    pub to: Option<Date>,
}

impl Filter {
    /// Whether `p` is asked for.
    pub fn admits(&self, p: &Published) -> bool {
        let d = &p.disclosure;
        self.authority.as_deref().is_none_or(|a| d.authority == a)
            && self.kind.is_none_or(|k| d.kind == k)
            && self.from.is_none_or(|f| d.decided_at >= f)
            && self.to.is_none_or(|t| d.decided_at <= t)
    }
}

/// The order disclosures are listed in: newest decision first, one day's
/// by id from the last (as the store's date index reads them backwards).
pub fn newest_first(a: &Published, b: &Published) -> std::cmp::Ordering {
    (b.disclosure.decided_at, &b.disclosure.disclosure_id)
        .cmp(&(a.disclosure.decided_at, &a.disclosure.disclosure_id))
}

/// Why a repair cannot be recorded (a 409), and from when it could be.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RepairRefused {
    /// What stands in the way.
    pub message: String,
    /// The first day a repair becomes possible, when time is what is
    /// missing.
    pub possible_from: Option<Date>,
}

impl Disclosure {
    /// Its publication window under `catalog`'s windows.
    pub fn window(&self, catalog: &Catalog) -> PublicWindow {
        let window = self.severity.and_then(|s| catalog.window(s));
        match (self.kind, window) {
            (DisclosureKind::Penalty, Some(w)) => PublicWindow {
                published: w.published,
                from: self.published_at,
                until: Some(self.decided_at.add_months(i32::from(w.max_months))),
                repair_from: Some(self.decided_at.add_months(i32::from(w.min_months))),
            },
            // A penalty under a catalog without windows is kept, not shown.
            (DisclosureKind::Penalty, None) => PublicWindow {
                published: false,
                from: self.published_at,
                until: None,
                repair_from: None,
            },
            (DisclosureKind::Licence, _) => PublicWindow {
                published: true,
                from: self.published_at,
                until: None,
                repair_from: None,
            },
        }
    }

    /// What the public sees of it on `day`.
    pub fn shown(&self, catalog: &Catalog, day: Date) -> Shown {
        let w = self.window(catalog);
        if !w.published {
            Shown::NotPublished
        } else if day < w.from {
            Shown::NotYet
        } else if self.repair.as_ref().is_some_and(|r| r.on <= day) {
            Shown::Repaired
        } else if w.until.is_some_and(|until| day >= until) {
            Shown::Ended
        } else {
            Shown::Public
        }
    }

    /// How timely its publication was.
    pub fn timeliness(&self, calendar: &WorkCalendar) -> Timeliness {
        let count = calendar.working_days_between(self.decided_at, self.published_at);
        Timeliness {
            deadline: calendar.nth_working_day_after(self.decided_at, DISCLOSURE_WORKING_DAYS),
            working_days: count.days,
            late: count.days > DISCLOSURE_WORKING_DAYS,
            calendar_covered: count.covered,
        }
    }

    /// Whether its credit may be repaired on `on`: a published penalty,
    /// not repaired or ended, past its shortest window, its obligations met
    /// and a credit pledge made.
    pub fn may_repair(
        &self,
        catalog: &Catalog,
        on: Date,
        obligations_met: bool,
        pledge: bool,
    ) -> Result<(), RepairRefused> {
        let refused = |message: String, possible_from: Option<Date>| {
            Err(RepairRefused {
                message,
                possible_from,
            })
        };
        let id = &self.disclosure_id;
        if self.kind == DisclosureKind::Licence {
            return refused(
                format!("{id} is a licence: only a penalty's credit is repaired"),
                None,
            );
        }
        let w = self.window(catalog);
        match self.shown(catalog, on) {
            Shown::NotPublished => {
                return refused(
                    format!("{id} is a minor penalty, never published: there is nothing to repair"),
                    None,
                );
            }
            Shown::Repaired => return refused(format!("{id} was repaired already"), None),
            Shown::Ended => {
                return refused(
                    format!(
                        "{id}'s publication ended on {} (its longest window): there is nothing to repair",
                        w.until.map(|d| d.to_string()).unwrap_or_default()
                    ),
                    None,
                );
            }
            Shown::NotYet | Shown::Public => {}
        }
        if let Some(from) = w.repair_from
            && on < from
        {
            return refused(
                format!(
                    "{id}'s shortest publication window runs until {from}: a repair can be asked from {from}"
                ),
                Some(from),
            );
        }
        if !obligations_met {
            return refused(
                format!(
                    "{id}: a repair needs the penalty's obligations met (obligations_met: true)"
                ),
                None,
            );
        }
        if !pledge {
            return refused(
                format!("{id}: a repair needs a public credit pledge (pledge: true)"),
                None,
            );
        }
        Ok(())
    }

    /// The record form, for writing NDJSON.
    pub fn to_record(&self) -> DisclosureRecord {
        DisclosureRecord {
            disclosure_id: self.disclosure_id.clone(),
            kind: self.kind,
            number: self.number.clone(),
            name: self.name.clone(),
            category: self.category.clone(),
            content: self.content.clone(),
            basis: self.basis.clone(),
            subject_name: self.subject_name.clone(),
            subject_id: self.subject.to_string(),
            result: self.result.clone(),
            decided_at: self.decided_at,
            published_at: Some(self.published_at),
            authority: self.authority.clone(),
            severity: self.severity,
            valid_until: self.valid_until,
            entry_id: self.entry_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORG: &str = "91360100705500005G";
    const PERSON: &str = "11010519491231002X";

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn record(overrides: &[(&str, serde_json::Value)]) -> serde_json::Value {
        let mut v = serde_json::json!({
            "disclosure_id": "XZCF-2026-001", "kind": "penalty", "number": "洪市监罚〔2026〕12号",
            "name": "行政处罚决定书", "category": "罚款", "content": "销售不合格产品",
            "basis": "《产品质量法》第四十九条", "subject_name": "南昌华远科技有限公司",
            "subject_id": ORG, "result": "罚款人民币五万元", "decided_at": "2026-03-02",
            "published_at": "2026-03-05", "authority": "南昌市市场监督管理局", "severity": "general"
        });
        for (k, val) in overrides {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(*k);
            } else {
                v[*k] = val.clone();
            }
        }
        v
    }

    fn validate(v: serde_json::Value) -> Result<Disclosure, RecordError> {
        let r: DisclosureRecord = serde_json::from_value(v).map_err(|e| RecordError {
            field: "line".into(),
            problem: Problem::Json(e.to_string()),
        })?;
        r.validate(&Catalog::bundled(), d("2026-12-05"))
    }

    #[test]
    fn the_importer_knows_every_field() {
        use crate::model::RecordFields;
        let full = record(&[
            ("entry_id", "E1".into()),
            ("valid_until", "2030-01-01".into()),
        ]);
        let mut names: Vec<&str> = full
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        names.sort_unstable();
        let mut fields = DisclosureRecord::FIELDS.to_vec();
        fields.sort_unstable();
        assert_eq!(names, fields);
    }

    #[test]
    fn windows_by_severity() {
        let c = Catalog::bundled();
        let general = validate(record(&[])).unwrap();
        assert_eq!(general.shown(&c, d("2026-03-04")), Shown::NotYet);
        assert_eq!(general.shown(&c, d("2026-03-05")), Shown::Public);
        assert_eq!(general.shown(&c, d("2027-03-01")), Shown::Public);
        assert_eq!(general.shown(&c, d("2027-03-02")), Shown::Ended);
        let serious = validate(record(&[("severity", "serious".into())])).unwrap();
        let w = serious.window(&c);
        assert_eq!(
            (w.until, w.repair_from),
            (Some(d("2029-03-02")), Some(d("2027-03-02")))
        );
        let minor = validate(record(&[("severity", "minor".into())])).unwrap();
        assert_eq!(minor.shown(&c, d("2026-06-01")), Shown::NotPublished);
        let licence = validate(record(&[
            ("kind", "licence".into()),
            ("severity", serde_json::Value::Null),
            ("valid_until", "2031-03-01".into()),
        ]))
        .unwrap();
        assert_eq!(licence.shown(&c, d("2040-01-01")), Shown::Public);
    }

    #[test]
    fn repair_after_the_shortest_window_with_obligations_and_pledge() {
        let c = Catalog::bundled();
        let general = validate(record(&[])).unwrap();
        let early = general
            .may_repair(&c, d("2026-06-01"), true, true)
            .unwrap_err();
        assert_eq!(early.possible_from, Some(d("2026-06-02")));
        assert!(
            early.message.contains("from 2026-06-02"),
            "{}",
            early.message
        );
        let no_pledge = general
            .may_repair(&c, d("2026-06-02"), true, false)
            .unwrap_err();
        assert!(
            no_pledge.message.contains("pledge"),
            "{}",
            no_pledge.message
        );
        let unmet = general
            .may_repair(&c, d("2026-06-02"), false, true)
            .unwrap_err();
        assert!(unmet.message.contains("obligations"), "{}", unmet.message);
        assert_eq!(general.may_repair(&c, d("2026-06-02"), true, true), Ok(()));
        let ended = general
            .may_repair(&c, d("2027-03-02"), true, true)
            .unwrap_err();
        assert!(
            ended.message.contains("ended on 2027-03-02"),
            "{}",
            ended.message
        );
        let mut repaired = general.clone();
        repaired.repair = Some(Note {
            on: d("2026-07-01"),
            note: "已履行".into(),
        });
        assert_eq!(repaired.shown(&c, d("2026-06-30")), Shown::Public);
        assert_eq!(repaired.shown(&c, d("2026-07-01")), Shown::Repaired);
        assert!(
            repaired
                .may_repair(&c, d("2026-08-01"), true, true)
                .is_err()
        );
        let minor = validate(record(&[("severity", "minor".into())])).unwrap();
        assert!(
            minor
                .may_repair(&c, d("2026-08-01"), true, true)
                .unwrap_err()
                .message
                .contains("minor")
        );
    }

    #[test]
    fn timeliness_in_working_days() {
        let cal = WorkCalendar::bundled();
        // Decided Thursday 24 September 2026; the 7th working day after it
        // is 12 October (Mid-Autumn, National Day, Saturday 10 October
        // worked).
        let on_time = validate(record(&[
            ("decided_at", "2026-09-24".into()),
            ("published_at", "2026-10-12".into()),
        ]))
        .unwrap()
        .timeliness(&cal);
        assert_eq!(on_time.deadline, d("2026-10-12"));
        assert_eq!((on_time.working_days, on_time.late), (7, false));
        let late = validate(record(&[
            ("decided_at", "2026-09-24".into()),
            ("published_at", "2026-10-13".into()),
        ]))
        .unwrap()
        .timeliness(&cal);
        assert_eq!((late.working_days, late.late), (8, true));
    }

    #[test]
    fn bad_records_name_the_field() {
        let field = |v| validate(v).unwrap_err().field;
        assert_eq!(
            field(record(&[("severity", serde_json::Value::Null)])),
            "severity"
        );
        assert_eq!(field(record(&[("kind", "licence".into())])), "severity");
        assert_eq!(
            field(record(&[
                ("kind", "licence".into()),
                ("severity", serde_json::Value::Null),
                ("entry_id", "E1".into())
            ])),
            "entry_id"
        );
        assert_eq!(
            field(record(&[("valid_until", "2030-01-01".into())])),
            "valid_until"
        );
        assert_eq!(
            field(record(&[("published_at", "2026-03-01".into())])),
            "published_at"
        );
        assert_eq!(
            field(record(&[("published_at", "2027-01-01".into())])),
            "published_at"
        );
        assert_eq!(
            field(record(&[("decided_at", "2027-01-01".into())])),
            "decided_at"
        );
        assert_eq!(
            field(record(&[("subject_id", "9136010070550000".into())])),
            "subject_id"
        );
        assert_eq!(field(record(&[("number", " ".into())])), "number");
        assert_eq!(field(record(&[("colour", "red".into())])), "line");
        // A person's penalty is kept with the person's key.
        let person = validate(record(&[
            ("subject_id", PERSON.into()),
            ("subject_name", "张三".into()),
        ]))
        .unwrap();
        assert_eq!(person.subject.to_string(), PERSON);
        // Round trip.
        let general = validate(record(&[])).unwrap();
        assert_eq!(
            general
                .to_record()
                .validate(&Catalog::bundled(), d("2026-12-05"))
                .unwrap(),
            general
        );
    }
}
