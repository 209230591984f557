//! The pure pieces of the hot path: parsing an identifier and applying the
//! decision rule to in-memory entries.

use criterion::{Criterion, criterion_group, criterion_main};

use creditgate::catalog::Catalog;
use creditgate::date::Date;
use creditgate::decide::{SubjectView, decide};
use creditgate::id::SubjectKey;
use creditgate::model::{EntryRecord, parse_record};

fn bench(c: &mut Criterion) {
    c.bench_function("parse_identity_number", |b| {
        b.iter(|| SubjectKey::parse(std::hint::black_box("11010519491231002X")).unwrap())
    });
    c.bench_function("parse_credit_code", |b| {
        b.iter(|| SubjectKey::parse(std::hint::black_box("91360100705500005G")).unwrap())
    });
    let catalog = Catalog::bundled();
    let entry = parse_record::<EntryRecord>(
        r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"法院","basis":"(2019)赣01执1号","decided_at":"2019-03-01"}"#,
    )
    .unwrap()
    .validate(&catalog, Date::today())
    .unwrap();
    let entries = [entry];
    let flight = catalog.action_by_code("flight").unwrap();
    let at: Date = "2024-01-01".parse().unwrap();
    c.bench_function("decide_one_black_entry", |b| {
        b.iter(|| {
            let view = SubjectView {
                known: true,
                entries: &entries,
                roles: &[],
            };
            decide(&catalog, &view, flight, at).verdict
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
