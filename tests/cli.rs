//! The `creditgate` binary's foundation subcommands: exit codes and messages.

use crate::util::{creditgate, creditgate_with_stdin, root, sample_dir, tempdir, texts};

#[test]
fn id_prints_canonical_forms_and_precise_errors() {
    let out = creditgate(
        &root(),
        &[
            "id",
            " 91360100705500005g",
            "11010519491231002x",
            "110105491231002",
            "91360100705500005H",
            "9136010070550000",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "invalid ids make exit code 1");
    let (stdout, _) = texts(&out);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "91360100705500005G\torg");
    assert_eq!(lines[1], "11010519491231002X\tperson");
    assert_eq!(
        lines[2], "11010519491231002X\tperson",
        "legacy 15-digit number converted"
    );
    assert_eq!(
        lines[3],
        "91360100705500005H\terror\tnot a valid unified social credit code \"91360100705500005H\": check character at position 18 is 'H', expected 'G'"
    );
    assert!(
        lines[4].contains("expected 18 (or 15 for a legacy identity number), found 16 characters"),
        "{}",
        lines[4]
    );
}

#[test]
fn id_reads_stdin_and_succeeds_when_all_are_valid() {
    let out = creditgate_with_stdin(
        &root(),
        &["id"],
        b"91110000600037341L\n11010519491231002X\n",
    );
    assert!(out.status.success());
    assert_eq!(texts(&out).0.lines().count(), 2);
}

#[test]
fn validate_accepts_the_bundled_sample() {
    let dir = sample_dir();
    let out = creditgate(&dir, &["validate", "subjects.ndjson", "entries.ndjson"]);
    let (_, stderr) = texts(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("subjects.ndjson: 10000 subjects: 10000 valid, 0 rejected"),
        "{stderr}"
    );
    assert!(
        stderr.contains("entries.ndjson: ") && stderr.contains(" valid, 0 rejected"),
        "{stderr}"
    );
}

#[test]
fn validate_reports_each_bad_line_and_counts_the_good_ones() {
    let tmp = tempdir();
    let path = tmp.path().join("entries.ndjson");
    let good = r#"{"entry_id":"E1","subject_id":"91360100705500005G","list":"black","category":"dishonest_debtor","authority":"江西省高级人民法院","basis":"(2019)赣01执123号","decided_at":"2019-03-01"}"#;
    let lines = [
        good.to_string(),
        good.replace("dishonest_debtor", "dishonest"),
        "{broken".to_string(),
        String::new(),
        good.replace("2019-03-01", "2019-02-30"),
        good.replace("91360100705500005G", "91360100705500005H"),
        good.replace("E1", "E2"),
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let out = creditgate(tmp.path(), &["validate", "entries.ndjson"]);
    assert_eq!(out.status.code(), Some(1));
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("entries.ndjson:2: category: unknown category \"dishonest\""),
        "{stderr}"
    );
    assert!(stderr.contains("entries.ndjson:3: line: "), "{stderr}");
    assert!(
        stderr.contains("entries.ndjson:5: decided_at: \"2019-02-30\" is not a calendar date"),
        "{stderr}"
    );
    assert!(
        stderr.contains("entries.ndjson:6: subject_id: not a valid unified social credit code"),
        "{stderr}"
    );
    assert!(
        stderr.contains("entries.ndjson: 6 entries: 2 valid, 4 rejected"),
        "{stderr}"
    );
}

#[test]
fn a_broken_catalog_stops_with_file_and_item() {
    let tmp = tempdir();
    let text = creditgate::catalog::BUNDLED_TOML.replacen(
        "restricts = [\"exit\"]",
        "restricts = [\"exitt\"]",
        1,
    );
    std::fs::write(tmp.path().join("catalog.toml"), text).unwrap();
    let out = creditgate(tmp.path(), &["--catalog", "catalog.toml", "catalog"]);
    assert_eq!(out.status.code(), Some(2));
    let (_, stderr) = texts(&out);
    assert!(
        stderr.contains("catalog.toml: measure \"debtor_exit\": unknown action \"exitt\""),
        "{stderr}"
    );
}

#[test]
fn catalog_summary_lists_every_category() {
    let out = creditgate(&root(), &["catalog"]);
    assert!(out.status.success());
    let (stdout, _) = texts(&out);
    assert!(stdout.starts_with("catalog OK: "), "{stdout}");
    for c in creditgate::catalog::Catalog::bundled().categories() {
        assert!(stdout.contains(&c.code), "{} missing", c.code);
    }
}
