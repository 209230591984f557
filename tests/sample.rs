//! The bundled sample: it is what the generator makes, it validates, and it
//! exercises every part of the decision rule.

use std::collections::HashMap;

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::decide::{OrgRole, SubjectView, Verdict, decide};
use creditgate::id::SubjectKey;
use creditgate::model::{Entry, EntryStatus};

use crate::util::{SAMPLE_TODAY, generate, load_sample, sample_dir, tempdir};

#[test]
fn sample_is_exactly_what_the_generator_makes() {
    let tmp = tempdir();
    generate(10_000, tmp.path());
    for file in ["subjects.ndjson", "entries.ndjson"] {
        let made = std::fs::read(tmp.path().join(file)).unwrap();
        let shipped = std::fs::read(sample_dir().join(file)).unwrap();
        assert!(
            made == shipped,
            "data/sample/{file} differs from the generator's output: regenerate it"
        );
    }
}

#[test]
fn sample_exercises_every_decision_outcome() {
    let catalog = Catalog::bundled();
    let (subjects, entries) = load_sample();
    let at: Date = SAMPLE_TODAY.parse().unwrap();
    let mut by_subject: HashMap<SubjectKey, Vec<Entry>> = HashMap::new();
    for e in entries {
        by_subject.entry(e.subject).or_default().push(e);
    }
    let mut roles: HashMap<SubjectKey, Vec<(SubjectKey, creditgate::model::Role)>> = HashMap::new();
    for s in &subjects {
        for l in &s.persons {
            roles.entry(l.person).or_default().push((s.id, l.role));
        }
    }
    let empty = Vec::new();
    let mut verdicts: HashMap<Verdict, u32> = HashMap::new();
    let (mut via, mut suspended, mut benefits, mut expired) = (0, 0, 0, 0);
    for action in catalog
        .actions()
        .iter()
        .map(|a| catalog.action_by_code(&a.code).unwrap())
    {
        for s in &subjects {
            let own = by_subject.get(&s.id).unwrap_or(&empty);
            let links: Vec<OrgRole> = roles
                .get(&s.id)
                .into_iter()
                .flatten()
                .map(|(org, role)| OrgRole {
                    org: *org,
                    role: *role,
                    entries: by_subject.get(org).unwrap_or(&empty),
                })
                .collect();
            let d = decide(
                &catalog,
                &SubjectView {
                    known: true,
                    entries: own,
                    roles: &links,
                },
                action,
                at,
            );
            *verdicts.entry(d.verdict).or_default() += 1;
            via += d.reasons.iter().filter(|r| r.via.is_some()).count();
            suspended += d.suspended.len();
            benefits += d.benefits.len();
            expired += own
                .iter()
                .filter(|e| {
                    e.status == EntryStatus::Active && e.expires_at.is_some_and(|x| x <= at)
                })
                .count();
            // Every reason's entry counts on this date.
            for r in &d.reasons {
                assert!(r.entry.in_term(at) && r.entry.status == EntryStatus::Active);
            }
            assert_eq!(
                d.verdict == Verdict::Deny,
                d.reasons.iter().any(|r| r.mandatory)
            );
        }
    }
    for v in [Verdict::Allow, Verdict::Caution, Verdict::Deny] {
        assert!(
            verdicts.get(&v).copied().unwrap_or(0) > 0,
            "no {v:?} in the sample"
        );
    }
    assert!(via > 0, "no decision via a legal representative");
    assert!(suspended > 0, "no suspended (disputed) measure");
    assert!(benefits > 0, "no red-list benefit");
    assert!(expired > 0, "no expired entry");
}
