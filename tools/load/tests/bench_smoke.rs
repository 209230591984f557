//! The benchmark suite end to end at 10^5 subjects (`--quick`, with the
//! PostgreSQL peer): every section of the report is there, the JSON holds
//! every scenario's figures, no request failed, and the plots are
//! well-formed SVG. Nothing is timed: the figures of a quick run on a
//! debug build mean nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory the test binaries were built into, with the programs
/// the suite starts (built here when this package is tested alone).
fn programs() -> PathBuf {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_creditgate-bench"));
    let dir = bench.parent().expect("a directory").to_path_buf();
    let needed = ["creditgate", "creditgate-gen", "creditgate-screen-rows"];
    if needed.iter().any(|p| !dir.join(p).is_file()) {
        let mut cargo = Command::new(env!("CARGO"));
        cargo.args([
            "build",
            "-p",
            "creditgate",
            "-p",
            "creditgate-gen",
            "--bins",
        ]);
        if dir.ends_with("release") {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the programs the suite starts");
    }
    dir
}

/// Checks that `svg` is one well-formed `<svg>` element: every tag closed
/// in order, attribute values quoted, no numbers that are not numbers.
fn assert_well_formed_svg(name: &str, svg: &str) {
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{name}: not an SVG document"
    );
    assert!(
        !svg.contains("NaN") && !svg.contains("inf"),
        "{name}: a coordinate is not a number"
    );
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "{name}: a stray '>' in text {text:?}");
        let end = rest[start..]
            .find('>')
            .unwrap_or_else(|| panic!("{name}: a tag is not closed"))
            + start;
        let tag = &rest[start + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "{name}: unbalanced quotes in <{tag}>"
        );
        if let Some(closing) = tag.strip_prefix('/') {
            assert_eq!(
                open.pop(),
                Some(closing.trim()),
                "{name}: </{closing}> closes the wrong element"
            );
        } else {
            let element = tag.split_whitespace().next().unwrap_or("");
            assert!(
                !element.is_empty() && element.chars().all(|c| c.is_ascii_alphanumeric()),
                "{name}: a bad element name in <{tag}>"
            );
            if open.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                open.push(element);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "{name}: elements left open: {open:?}");
    assert_eq!(roots, 1, "{name}: one root element");
    assert!(rest.trim().is_empty(), "{name}: text after the root");
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn a_quick_run_writes_every_section_and_valid_plots() {
    let dir = programs();
    let tmp = std::env::temp_dir().join(format!("creditgate-bench-smoke-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let out = tmp.join("report");
    let status = Command::new(dir.join("creditgate-bench"))
        .args(["--subjects", "100000", "--quick", "--peer", "postgres"])
        .arg("--out")
        .arg(&out)
        .arg("--gen-dir")
        .arg(tmp.join("gen"))
        .status()
        .expect("creditgate-bench runs");
    assert!(status.success(), "creditgate-bench failed");

    let md = read(&out.join("report.md"));
    for section in [
        "# creditgate benchmark: 100,000 subjects",
        "## Summary",
        "## Checks against the empty handler",
        "## Latency at a fixed rate",
        "## Flagged and named checks",
        "## Name search",
        "## Screening",
        "## Checks beside writes",
        "## Import and open",
        "## The peer: PostgreSQL",
        "cores",
        "Linux",
    ] {
        assert!(md.contains(section), "report.md lacks {section:?}");
    }

    let json: serde_json::Value =
        serde_json::from_str(&read(&out.join("report.json"))).expect("report.json parses");
    assert_eq!(json["subjects"], 100_000);
    assert!(json["machine"]["cores"].as_u64().unwrap_or(0) >= 1);
    assert!(json["machine"]["memory_gib"].as_f64().unwrap_or(0.0) > 0.0);
    assert!(!json["machine"]["kernel"].as_str().unwrap_or("").is_empty());
    assert_eq!(
        json["imports"].as_array().map(Vec::len),
        Some(2),
        "imports at 10^4 and 10^5"
    );
    assert!(json["opened"]["rss_bytes"].as_u64().unwrap_or(0) > 0);
    // Every run answered every request with 200.
    let mut runs = vec![
        &json["flagged"],
        &json["named"],
        &json["writes"]["without"],
        &json["writes"]["with"],
        &json["peer"]["lookup"],
    ];
    runs.extend(json["ladder"].as_array().expect("a ladder"));
    assert_eq!(runs.len(), 7);
    for run in runs {
        assert!(run["throughput_rps"].as_f64().unwrap_or(0.0) > 0.0, "{run}");
        assert_eq!(
            (run["errors"].as_u64(), run["non_200"].as_u64()),
            (Some(0), Some(0)),
            "{run}"
        );
    }
    assert!(json["ratio"]["median_ratio"].as_f64().unwrap_or(0.0) > 0.0);
    assert_eq!(json["writes"]["writes_failed"], 0);
    assert!(json["writes"]["writes_acknowledged"].as_u64().unwrap_or(0) > 0);
    let search = &json["search"];
    assert_eq!(search["errors"], 0);
    assert!(
        search["by_type"].as_array().map_or(0, Vec::len) >= 8,
        "{search}"
    );
    assert!(search["queries"].as_u64().unwrap_or(0) > 0);
    let screening = json["screening"].as_array().expect("screening");
    assert_eq!(
        screening
            .iter()
            .map(|s| s["rows_of"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["id", "name"]
    );
    assert!(
        screening
            .iter()
            .all(|s| s["rows"].as_u64().unwrap_or(0) > 0)
    );
    let peer = &json["peer"];
    assert_eq!(peer["name"], "PostgreSQL");
    assert!(peer["search"]["queries"].as_u64().unwrap_or(0) > 0);
    assert!(json["search_on_peer_set"]["queries"] == peer["search"]["queries"]);

    for plot in [
        "latency-vs-rate.svg",
        "throughput-ratio.svg",
        "search-latency-cdf.svg",
        "import-rate.svg",
    ] {
        let svg = read(&out.join(plot));
        assert_well_formed_svg(plot, &svg);
        assert!(md.contains(&format!("]({plot})")), "report.md shows {plot}");
    }
    // Two lines on the search plot: creditgate and the peer.
    assert_eq!(
        read(&out.join("search-latency-cdf.svg"))
            .matches("<polyline")
            .count(),
        2
    );
    // The peer's cluster is gone.
    assert!(
        !out.join("work/postgres").exists(),
        "the PostgreSQL cluster was removed"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn the_checker_refuses_broken_svg() {
    let broken = [
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><g></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><line x1=\"1/></svg>",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><text x=\"NaN\">a</text></svg>",
    ];
    for svg in broken {
        let caught = std::panic::catch_unwind(|| assert_well_formed_svg("t", svg));
        assert!(caught.is_err(), "{svg}");
    }
    assert_well_formed_svg(
        "ok",
        "<svg xmlns=\"http://www.w3.org/2000/svg\"><g><line x1=\"1\"/></g></svg>\n",
    );
}
