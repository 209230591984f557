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
