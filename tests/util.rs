//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The bundled sample directory.
pub fn sample_dir() -> PathBuf {
    root().join("data/sample")
}

/// Runs the real `creditgate` binary with `args` in `dir`.
pub fn creditgate(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_creditgate"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the creditgate binary runs")
}

/// Runs the real `creditgate` binary with `args` in `dir`, `input` on its
/// standard input.
pub fn creditgate_with_stdin(dir: &Path, args: &[&str], input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(env!("CARGO_BIN_EXE_creditgate"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the creditgate binary runs");
    child
        .stdin
        .take()
        .expect("a piped stdin")
        .write_all(input)
        .expect("the input is written");
    child.wait_with_output().expect("the binary finishes")
}

/// Standard output and error of a finished command, as text.
pub fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A fresh temporary directory, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("creditgate-test-")
        .tempdir()
        .expect("a temporary directory")
}

/// The date the bundled sample was generated for.
pub const SAMPLE_TODAY: &str = "2026-11-25";

/// The bundled sample's subjects and entries, validated.
pub fn load_sample() -> (
    Vec<creditgate::model::Subject>,
    Vec<creditgate::model::Entry>,
) {
    use creditgate::model::{EntryRecord, SubjectRecord, parse_record};
    let catalog = creditgate::catalog::Catalog::bundled();
    let today: creditgate::date::Date = SAMPLE_TODAY.parse().expect("a date");
    let read = |name: &str| std::fs::read_to_string(sample_dir().join(name)).expect("the sample");
    let subjects = read("subjects.ndjson")
        .lines()
        .map(|l| {
            parse_record::<SubjectRecord>(l)
                .and_then(|r| r.validate(today))
                .expect("valid")
        })
        .collect();
    let entries = read("entries.ndjson")
        .lines()
        .map(|l| {
            parse_record::<EntryRecord>(l)
                .and_then(|r| r.validate(&catalog, today))
                .expect("valid")
        })
        .collect();
    (subjects, entries)
}

/// Generates `subjects` subjects for `SAMPLE_TODAY` into `out`, in-process.
pub fn generate(subjects: u64, out: &Path) {
    creditgate_gen::generate(&creditgate_gen::Options {
        subjects,
        seed: 1,
        today: SAMPLE_TODAY.parse().expect("a date"),
        out: out.to_path_buf(),
        threads: 2,
    })
    .expect("the generator writes its files");
}

/// Imports the bundled sample into `dir/store` with the real binary; its
/// standard output and error.
pub fn import_sample(dir: &Path) -> (String, String) {
    let s = sample_dir();
    let out = creditgate(
        dir,
        &[
            "import",
            "--data",
            "store",
            s.join("subjects.ndjson").to_str().unwrap(),
            s.join("entries.ndjson").to_str().unwrap(),
        ],
    );
    let t = texts(&out);
    assert!(out.status.success(), "{}", t.1);
    t
}

/// A small deterministic generator (xorshift) so failures reproduce.
pub struct Rand(pub u64);

impl Rand {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick(&mut self, s: &str) -> char {
        s.chars().nth(self.below(s.chars().count())).unwrap()
    }
}
