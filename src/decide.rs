//! The decision rule (SPEC §5): may subject S do action A on date t?
//!
//! [`decide`] is a pure function of the subject's entries, the entries of the
//! organizations where it holds a role, the catalog, the action and the date.
//! It reads nothing else, so the HTTP check, the CLI, screening and the tests
//! all answer the same way, and a decision can be replayed for any date.
//!
//! 1. Entries that apply: the subject's own, plus those of organizations where
//!    it holds a role that the entry's measure extends to (reported `via`).
//! 2. An entry counts when `effective_from <= t < expires_at` and it is
//!    `active`. A `disputed` entry in its term is reported as *suspended* and
//!    does not count (信息核实期间暂不执行); `repaired` and `revoked` do not count.
//! 3. `deny` if a counted mandatory measure restricts A; else `caution` if a
//!    counted recommended one does; else `allow`.
//! 4. Benefits: the incentives of the subject's counted red entries, and the
//!    catalog's clean-record incentives for a known subject without a black
//!    entry in the last N years. Benefits are withheld while any black entry
//!    counts against the subject (directly, or via a role it extends to).
//!
//! ```
//! use creditgate::{catalog::Catalog, date::Date, decide::{decide, SubjectView, Verdict}};
//! let catalog = Catalog::bundled();
//! let flight = catalog.action_by_code("flight").unwrap();
//! let unknown = SubjectView { known: false, entries: &[], roles: &[] };
//! let d = decide(&catalog, &unknown, flight, Date::today());
//! assert_eq!(d.verdict, Verdict::Allow);
//! ```

use crate::catalog::{ActionId, Catalog, MeasureId};
use crate::date::Date;
use crate::id::SubjectKey;
use crate::model::{Entry, EntryStatus, ListKind, Role};

/// What the rule needs to know about a subject.
#[derive(Clone, Copy, Debug)]
pub struct SubjectView<'a> {
    /// Whether the subject has a record at all.
    pub known: bool,
    /// Entries on the subject itself.
    pub entries: &'a [Entry],
    /// Organizations where the subject holds a role, with their entries.
    pub roles: &'a [OrgRole<'a>],
}

/// A role the subject holds in an organization, and that organization's entries.
#[derive(Clone, Copy, Debug)]
pub struct OrgRole<'a> {
    /// The organization.
    pub org: SubjectKey,
    /// The role held.
    pub role: Role,
    /// The organization's entries.
    pub entries: &'a [Entry],
}

/// The answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Nothing restricts the action.
    Allow,
    /// Only recommended measures restrict it.
    Caution,
    /// A mandatory measure restricts it.
    Deny,
}

impl Verdict {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Caution => "caution",
            Verdict::Deny => "deny",
        }
    }
}

/// How an organization's entry reaches a person.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Via {
    /// The listed organization.
    pub org: SubjectKey,
    /// The person's role in it.
    pub role: Role,
}

/// One measure of one entry that restricts the action.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reason<'a> {
    /// The entry.
    pub entry: &'a Entry,
    /// The measure.
    pub measure: MeasureId,
    /// Whether the measure is mandatory.
    pub mandatory: bool,
    /// `None` for the subject's own entry.
    pub via: Option<Via>,
}

/// Where a benefit comes from.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum BenefitSource<'a> {
    /// A red-list entry.
    Entry(&'a Entry),
    /// The clean-record rule: no black entry in this many years.
    CleanRecord {
        /// Years without a black entry.
        years: u16,
    },
}

/// An incentive the subject enjoys.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Benefit<'a> {
    /// The incentive measure.
    pub measure: MeasureId,
    /// Why the subject has it.
    pub source: BenefitSource<'a>,
}

/// The decision and everything that explains it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision<'a> {
    /// allow, caution or deny.
    pub verdict: Verdict,
    /// Counted measures restricting the action: mandatory first, own entries
    /// before `via` ones, then by entry id.
    pub reasons: Vec<Reason<'a>>,
    /// Measures that would restrict the action but whose entry is disputed.
    pub suspended: Vec<Reason<'a>>,
    /// Incentives, one per measure.
    pub benefits: Vec<Benefit<'a>>,
}

/// Applies the decision rule. Pure: same inputs, same answer.
pub fn decide<'a>(
    catalog: &Catalog,
    subject: &SubjectView<'a>,
    action: ActionId,
    date: Date,
) -> Decision<'a> {
    let mut reasons = Vec::new();
    let mut suspended = Vec::new();
    let mut benefits: Vec<Benefit<'a>> = Vec::new();
    let mut black_counts = false;

    let own = subject.entries.iter().map(|e| (e, None));
    let linked = subject.roles.iter().flat_map(|r| {
        r.entries.iter().map(move |e| {
            (
                e,
                Some(Via {
                    org: r.org,
                    role: r.role,
                }),
            )
        })
    });
    for (entry, via) in own.chain(linked) {
        if !entry.in_term(date) {
            continue;
        }
        let category = catalog.category(entry.category);
        let reaches =
            |m: MeasureId| via.is_none_or(|v| catalog.measure(m).extends_to.contains(v.role));
        match (entry.list, entry.status) {
            (ListKind::Black, EntryStatus::Active | EntryStatus::Disputed) => {
                let out = if entry.status == EntryStatus::Active {
                    &mut reasons
                } else {
                    &mut suspended
                };
                for &m in catalog.restricting(entry.category, action) {
                    if reaches(m) {
                        out.push(Reason {
                            entry,
                            measure: m,
                            mandatory: catalog.measure(m).mandatory,
                            via,
                        });
                    }
                }
                if entry.status == EntryStatus::Active
                    && via.is_none_or(|v| category.extends_to.contains(v.role))
                {
                    black_counts = true;
                }
            }
            (ListKind::Red, EntryStatus::Active) if via.is_none() => {
                for m in catalog.granting(entry.category) {
                    if !benefits.iter().any(|b| b.measure == m) {
                        benefits.push(Benefit {
                            measure: m,
                            source: BenefitSource::Entry(entry),
                        });
                    }
                }
            }
            _ => {}
        }
    }

    if let Some(rule) = catalog.clean_record()
        && subject.known
        && !black_counts
    {
        let since = date.add_years(-i32::from(rule.years));
        let blemished = subject.entries.iter().any(|e| {
            e.list == ListKind::Black
                && e.status != EntryStatus::Revoked
                && e.effective_from <= date
                && e.expires_at.is_none_or(|x| x > since)
        });
        if !blemished {
            for &m in &rule.measures {
                if !benefits.iter().any(|b| b.measure == m) {
                    benefits.push(Benefit {
                        measure: m,
                        source: BenefitSource::CleanRecord { years: rule.years },
                    });
                }
            }
        }
    }
    if black_counts {
        benefits.clear();
    }

    // Mandatory first, own entries before `via` ones, then by entry id. A
    // comparator that borrows: sorting allocates nothing.
    let order = |a: &Reason<'_>, b: &Reason<'_>| {
        (
            !a.mandatory,
            a.via.is_some(),
            a.entry.entry_id.as_str(),
            a.measure,
        )
            .cmp(&(
                !b.mandatory,
                b.via.is_some(),
                b.entry.entry_id.as_str(),
                b.measure,
            ))
    };
    reasons.sort_by(order);
    suspended.sort_by(order);
    let verdict = if reasons.iter().any(|r| r.mandatory) {
        Verdict::Deny
    } else if reasons.is_empty() {
        Verdict::Allow
    } else {
        Verdict::Caution
    };
    Decision {
        verdict,
        reasons,
        suspended,
        benefits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::CategoryId;

    const ORG: &str = "91360100705500005G";

    fn date(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn cat(c: &Catalog, code: &str) -> CategoryId {
        c.category_by_code(code).unwrap()
    }

    fn entry(
        c: &Catalog,
        id: &str,
        category: &str,
        from: &str,
        to: Option<&str>,
        status: EntryStatus,
    ) -> Entry {
        let category = cat(c, category);
        Entry {
            entry_id: id.into(),
            subject: SubjectKey::parse(ORG).unwrap(),
            list: c.category(category).list,
            category,
            authority: "江西省高级人民法院".into(),
            basis: "(2019)赣01执123号".into(),
            decided_at: date(from),
            effective_from: date(from),
            expires_at: to.map(date),
            status,
            lifecycle: Default::default(),
        }
    }

    /// An entry of a test case: category, effective from, expires at, status.
    type Row = (
        &'static str,
        &'static str,
        Option<&'static str>,
        EntryStatus,
    );

    /// One row of the decision table.
    struct Case {
        name: &'static str,
        known: bool,
        own: Vec<Row>,
        via: Option<(Role, Vec<Row>)>,
        action: &'static str,
        at: &'static str,
        verdict: Verdict,
        reasons: &'static [&'static str],
        suspended: &'static [&'static str],
        benefits: &'static [&'static str],
    }

    use EntryStatus::*;

    /// The measures a dishonest debtor's honours are denied by.
    const HONORS_DENY: &[&str] = &["debtor_honors", "market_honors"];

    /// A person asking for honours, linked by `role` to an organization
    /// with `entry`: denied by `reasons`, or allowed when there are none.
    fn honors(
        name: &'static str,
        role: Role,
        entry: Row,
        reasons: &'static [&'static str],
    ) -> Case {
        Case {
            name,
            known: true,
            own: vec![],
            via: Some((role, vec![entry])),
            action: "honors",
            at: "2020-01-01",
            verdict: if reasons.is_empty() {
                Verdict::Allow
            } else {
                Verdict::Deny
            },
            reasons,
            suspended: &[],
            benefits: if reasons.is_empty() {
                &["tolerance_acceptance"]
            } else {
                &[]
            },
        }
    }

    fn cases() -> Vec<Case> {
        let debtor = |status| ("dishonest_debtor", "2019-03-01", Some("2024-03-01"), status);
        vec![
            Case {
                name: "direct restriction",
                known: true,
                own: vec![debtor(Active)],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Deny,
                reasons: &["debtor_flight"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "via legal representative",
                known: true,
                own: vec![],
                via: Some((Role::LegalRep, vec![debtor(Active)])),
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Deny,
                reasons: &["debtor_flight"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "role the category does not extend to",
                known: true,
                own: vec![],
                via: Some((Role::Shareholder, vec![debtor(Active)])),
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &["tolerance_acceptance"],
            },
            Case {
                name: "recommended measure does not follow the legal rep",
                known: true,
                own: vec![],
                via: Some((Role::LegalRep, vec![debtor(Active)])),
                action: "financing",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "disputed is suspended, not counted",
                known: true,
                own: vec![debtor(Disputed)],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &["debtor_flight"],
                benefits: &[],
            },
            Case {
                name: "expired on the date asked",
                known: true,
                own: vec![debtor(Active)],
                via: None,
                action: "flight",
                at: "2024-03-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "last day of the term still counts",
                known: true,
                own: vec![debtor(Active)],
                via: None,
                action: "flight",
                at: "2024-02-29",
                verdict: Verdict::Deny,
                reasons: &["debtor_flight"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "not yet effective",
                known: true,
                own: vec![debtor(Active)],
                via: None,
                action: "flight",
                at: "2019-02-28",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &["tolerance_acceptance"],
            },
            Case {
                name: "repaired",
                known: true,
                own: vec![debtor(Repaired)],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "revoked",
                known: true,
                own: vec![debtor(Revoked)],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &["tolerance_acceptance"],
            },
            Case {
                name: "recommended only is caution",
                known: true,
                own: vec![("work_safety", "2019-03-01", None, Active)],
                via: None,
                action: "financing",
                at: "2020-01-01",
                verdict: Verdict::Caution,
                reasons: &["market_financing"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "mandatory and recommended together deny, mandatory first",
                known: true,
                own: vec![("environmental", "2019-03-01", None, Active)],
                via: None,
                action: "financing",
                at: "2020-01-01",
                verdict: Verdict::Deny,
                reasons: &["env_financing", "market_financing"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "action the category does not restrict",
                known: true,
                own: vec![debtor(Active)],
                via: None,
                action: "customs_cert",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "red-list benefits",
                known: true,
                own: vec![("a_grade_taxpayer", "2023-01-01", Some("2026-01-01"), Active)],
                via: None,
                action: "flight",
                at: "2024-06-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[
                    "green_channel",
                    "tolerance_acceptance",
                    "priority_service",
                    "reduced_inspection",
                    "credit_bonus",
                    "financing_convenience",
                ],
            },
            Case {
                name: "red-list benefits withheld while a black entry counts",
                known: true,
                own: vec![
                    ("a_grade_taxpayer", "2023-01-01", None, Active),
                    debtor(Active),
                ],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Deny,
                reasons: &["debtor_flight"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "expired red entry gives nothing but the clean record",
                known: true,
                own: vec![("a_grade_taxpayer", "2020-01-01", Some("2021-01-01"), Active)],
                via: None,
                action: "flight",
                at: "2024-06-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &["tolerance_acceptance"],
            },
            Case {
                name: "three clean years earn tolerance acceptance",
                known: true,
                own: vec![debtor(Repaired)],
                via: None,
                action: "flight",
                at: "2027-03-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &["tolerance_acceptance"],
            },
            Case {
                name: "a black entry within three years blocks the clean record",
                known: true,
                own: vec![debtor(Repaired)],
                via: None,
                action: "flight",
                at: "2027-02-28",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
            // Honours follow the persons (the plan's 文明单位/道德模范/身边好人
            // sentence): the legal representative, the principal, senior
            // managers and those directly responsible, firmly for a
            // dishonest debtor and as the recommended market measure for
            // the other black categories; a director, shareholder or
            // supervisor not linked as directly responsible keeps them.
            honors(
                "honours via legal representative",
                Role::LegalRep,
                debtor(Active),
                HONORS_DENY,
            ),
            honors(
                "honours via principal",
                Role::Principal,
                debtor(Active),
                HONORS_DENY,
            ),
            honors(
                "honours via senior manager",
                Role::SeniorManager,
                debtor(Active),
                HONORS_DENY,
            ),
            honors(
                "honours via director directly responsible",
                Role::DirectResponsible,
                debtor(Active),
                HONORS_DENY,
            ),
            honors(
                "honours not via a director",
                Role::Director,
                debtor(Active),
                &[],
            ),
            honors(
                "honours not via a shareholder",
                Role::Shareholder,
                debtor(Active),
                &[],
            ),
            honors(
                "honours not via a supervisor",
                Role::Supervisor,
                debtor(Active),
                &[],
            ),
            Case {
                name: "honours via senior manager of a seriously illegal enterprise: recommended",
                known: true,
                own: vec![],
                via: Some((
                    Role::SeniorManager,
                    vec![("serious_illegal_enterprise", "2019-03-01", None, Active)],
                )),
                action: "honors",
                at: "2020-01-01",
                verdict: Verdict::Caution,
                reasons: &["market_honors"],
                suspended: &[],
                benefits: &[],
            },
            Case {
                name: "unknown subject",
                known: false,
                own: vec![],
                via: None,
                action: "flight",
                at: "2020-01-01",
                verdict: Verdict::Allow,
                reasons: &[],
                suspended: &[],
                benefits: &[],
            },
        ]
    }

    #[test]
    fn decision_table() {
        let c = Catalog::bundled();
        let org = SubjectKey::parse(ORG).unwrap();
        for case in cases() {
            let build = |list: &[Row], prefix: &str| -> Vec<Entry> {
                list.iter()
                    .enumerate()
                    .map(|(i, (category, from, to, status))| {
                        entry(&c, &format!("{prefix}{i}"), category, from, *to, *status)
                    })
                    .collect()
            };
            let own = build(&case.own, "E");
            let via_entries = case
                .via
                .as_ref()
                .map(|(_, l)| build(l, "V"))
                .unwrap_or_default();
            let roles: Vec<OrgRole> = case
                .via
                .as_ref()
                .map(|(role, _)| OrgRole {
                    org,
                    role: *role,
                    entries: &via_entries,
                })
                .into_iter()
                .collect();
            let view = SubjectView {
                known: case.known,
                entries: &own,
                roles: &roles,
            };
            let action = c.action_by_code(case.action).unwrap();
            let d = decide(&c, &view, action, date(case.at));
            let codes = |rs: &[Reason]| {
                rs.iter()
                    .map(|r| c.measure(r.measure).code.as_str())
                    .collect::<Vec<_>>()
            };
            assert_eq!(d.verdict, case.verdict, "{}", case.name);
            assert_eq!(codes(&d.reasons), case.reasons, "{}: reasons", case.name);
            assert_eq!(
                codes(&d.suspended),
                case.suspended,
                "{}: suspended",
                case.name
            );
            let benefits: Vec<_> = d
                .benefits
                .iter()
                .map(|b| c.measure(b.measure).code.as_str())
                .collect();
            assert_eq!(benefits, case.benefits, "{}: benefits", case.name);
            if let Some((role, _)) = case.via {
                for r in &d.reasons {
                    assert_eq!(r.via, Some(Via { org, role }), "{}", case.name);
                }
            } else {
                assert!(d.reasons.iter().all(|r| r.via.is_none()), "{}", case.name);
            }
        }
    }

    #[test]
    fn clean_record_benefit_names_its_source() {
        let c = Catalog::bundled();
        let view = SubjectView {
            known: true,
            entries: &[],
            roles: &[],
        };
        let d = decide(
            &c,
            &view,
            c.action_by_code("flight").unwrap(),
            date("2025-01-01"),
        );
        assert_eq!(d.benefits.len(), 1);
        assert_eq!(
            d.benefits[0].source,
            BenefitSource::CleanRecord { years: 3 }
        );
    }

    #[test]
    fn own_entries_come_before_via_entries() {
        let c = Catalog::bundled();
        let org = SubjectKey::parse(ORG).unwrap();
        let own = vec![entry(
            &c,
            "Z-own",
            "dishonest_debtor",
            "2019-01-01",
            None,
            Active,
        )];
        let theirs = vec![entry(
            &c,
            "A-org",
            "dishonest_debtor",
            "2019-01-01",
            None,
            Active,
        )];
        let roles = [OrgRole {
            org,
            role: Role::Principal,
            entries: &theirs,
        }];
        let view = SubjectView {
            known: true,
            entries: &own,
            roles: &roles,
        };
        let d = decide(
            &c,
            &view,
            c.action_by_code("exit").unwrap(),
            date("2020-01-01"),
        );
        let ids: Vec<_> = d
            .reasons
            .iter()
            .map(|r| r.entry.entry_id.as_str())
            .collect();
        assert_eq!(ids, ["Z-own", "A-org"]);
    }
}
