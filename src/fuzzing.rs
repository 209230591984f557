//! Entry points for coverage-guided fuzzing (issue #20), one per parser of
//! outside input: each takes raw bytes, feeds them to the parsers as the
//! server and the importer would, and must never panic (a refusal is an
//! answer). `tools/fuzz` runs them under AFL++; `tests/fuzz_corpora.rs`
//! replays every kept corpus entry and every crash found, so a crash once
//! fixed stays fixed.

use std::sync::OnceLock;

use crate::catalog::Catalog;
use crate::date::Date;

/// A target: feeds one input to a parser.
pub type Target = fn(&[u8]);

/// The targets, by name (the fuzzing binary's first argument, the corpus
/// directory's name).
pub const TARGETS: [(&str, Target); 7] = [
    ("identifiers", identifiers),
    ("records", records),
    ("screen_rows", screen_rows),
    ("query_string", query_string),
    ("names", names),
    ("lifecycle_bodies", lifecycle_bodies),
    ("keys_file", keys_file),
];

/// The target named `name`.
pub fn target(name: &str) -> Option<Target> {
    TARGETS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(Catalog::bundled)
}

fn today() -> Date {
    Date::from_ymd(2026, 11, 25).expect("a date")
}

/// Identifiers: credit codes, identity numbers (18 and 15 characters) and
/// masked ones, as a check's `id` or a screening row gives them.
pub fn identifiers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = crate::id::SubjectKey::parse_readings(&text);
    let _ = crate::id::SubjectKey::parse_readings_at(&text, today());
    if crate::id::MaskedId::looks_masked(&text)
        && let Ok(mask) = crate::id::MaskedId::parse(&text)
    {
        let _ = (mask.shows_masked_chars(), mask.kind(), mask.to_string());
    }
}

/// Import lines: each line as a subject and as an entry, validated.
pub fn records(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for line in text.lines() {
        use crate::model::{EntryRecord, SubjectRecord, parse_record_leaving_out};
        if let Ok((s, _)) = parse_record_leaving_out::<SubjectRecord>(line) {
            let _ = s.validate(today());
        }
        if let Ok((e, _)) = parse_record_leaving_out::<EntryRecord>(line) {
            let _ = e.validate(catalog(), today());
        }
    }
}

/// Screening uploads: the bytes read as each layout and encoding a client
/// may name or leave to detection (UTF-8, a byte-order mark, GBK), every
/// row's fields taken.
pub fn screen_rows(data: &[u8]) {
    use crate::screen::input::{Format, Input};
    let gbk = Some(encoding_rs::GBK);
    for (format, encoding) in [
        (None, None),
        (Some(Format::Csv), None),
        (Some(Format::Ndjson), None),
        (None, gbk),
        (Some(Format::Csv), gbk),
    ] {
        let Ok(mut input) = Input::open(std::io::Cursor::new(data.to_vec()), format, encoding)
        else {
            continue;
        };
        while let Ok(Some(batch)) = input.next_batch() {
            for row in batch.rows(input.layout()) {
                let _ = row.fields.map(|f| (f.id, f.name));
            }
        }
    }
}

/// Query strings and path segments, and the parameter values routes read.
pub fn query_string(data: &[u8]) {
    use crate::server::fuzz_entry::{Query, decode_path_segment};
    let text = String::from_utf8_lossy(data);
    let _ = decode_path_segment(&text);
    let Ok(q) = Query::parse(Some(&text)) else {
        return;
    };
    for name in [
        "id",
        "at",
        "limit",
        "kind",
        "id_prefix",
        "min_score",
        "max_changes",
        "q",
    ] {
        let Some(value) = q.get(name) else {
            continue;
        };
        let _ = value.trim().parse::<Date>();
        let _ = crate::search::parse_limit(value);
        let _ = crate::search::parse_kind(value);
        let _ = crate::search::parse_id_prefix(value);
        let _ = crate::screen::row::parse_score(value);
        let _ = crate::screen::row::parse_changes(value);
    }
    let _ = q.unknown(&["id", "action"]).count();
}

/// Names: normalization, pinyin keys, and comparison with registered names
/// as `name_match` and screening compare them.
pub fn names(data: &[u8]) {
    use crate::search::normalize::{normalize, pinyin_key, pinyin_keys};
    let text = String::from_utf8_lossy(data);
    let _ = normalize(&text);
    let _ = pinyin_key(&text);
    let _ = pinyin_keys(&text, 8);
    let registered = ["江西华远科技有限公司", "南昌市东湖区华远建材经营部", "张伟"];
    let _ = crate::search::compare(&text, &registered);
    if let Some((a, b)) = text.split_once('\n') {
        let _ = crate::search::compare(a, &[b]);
    }
}

/// The write routes' bodies: publishing records and each lifecycle step,
/// read as the server reads them, nothing applied.
pub fn lifecycle_bodies(data: &[u8]) {
    crate::server::fuzz_entry::read_bodies(data, catalog(), today());
}

/// The keys file.
pub fn keys_file(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(file) = crate::access::KeysFile::parse(&text, "fuzz") {
        let ring = crate::access::Keyring::new(&file);
        let _ = ring.authenticate(Some(b"Bearer cgk_0123456789ab_00"));
        for key in &file.keys {
            let _ = key.limits();
        }
    }
}
