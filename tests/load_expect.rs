//! `bearing load --expect-fail FILE` (issue 17, point 1): thresholds listed as known
//! deviations, end to end against the embedded sandbox with a profile whose thresholds no
//! gateway can meet (p50 under 1 µs).

mod common;

use std::path::Path;
use std::process::Output;

use common::{bearing, load_summary, text};

const PROFILE: &str = "name: impossible\nduration: 1s\nusers: 2\nmax_requests: 200\n\
thresholds:\n  - \"p50 < 1us\"\n  - \"error_rate < 1%\"\n\
scenarios:\n  - { name: token, kind: token, pool: false, thresholds: [\"p99 < 1us\"] }\n";

fn load(dir: &Path, list: &str, report: &str) -> Output {
    std::fs::write(dir.join("p.yaml"), PROFILE).expect("profile");
    std::fs::write(dir.join("x.yaml"), list).expect("list");
    bearing()
        .current_dir(dir)
        .args([
            "load",
            "p.yaml",
            "--expect-fail",
            "x.yaml",
            "--report-dir",
            report,
        ])
        .output()
        .expect("run bearing")
}

// Both impossible thresholds listed (one by `EXPR [SCOPE]`, one by bare expression): the run
// passes, shows them as expected failures in terminal, summary.json and report.html.
#[test]
fn listed_missed_thresholds_do_not_fail_the_run() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = load(
        d.path(),
        "- id: p50 < 1us [run]\n  reason: no gateway answers in a microsecond\n\
         - id: p99 < 1us\n  reason: nor does its token endpoint\n",
        "r",
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}");
    assert!(
        out.contains("✗ p50 < 1us [run]") && out.contains("(expected failure: no gateway"),
        "{out}"
    );
    assert!(
        out.contains("expected failures (x.yaml): 2 of 2 listed"),
        "{out}"
    );
    let s = load_summary(&d.path().join("r"));
    assert_eq!(s["passed"], true);
    let st: Vec<&str> = s["expected_failures"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["status"].as_str().expect("status"))
        .collect();
    assert_eq!(st, ["expected-failure", "expected-failure"]);
    let html = std::fs::read_to_string(d.path().join("r/report.html")).expect("html");
    assert!(
        html.contains("Expected failures (x.yaml)") && html.contains("no gateway answers"),
        "expected failures missing from report.html"
    );
}

// A listed threshold that holds makes the list stale: exit 1 saying to remove it; an id the
// profile does not have is bad input (exit 2) before anything runs.
#[test]
fn stale_and_unknown_entries() {
    let d = tempfile::tempdir().expect("tempdir");
    let o = load(
        d.path(),
        "- id: p50 < 1us\n  reason: r\n- id: p99 < 1us [token]\n  reason: r\n\
         - id: error_rate < 1% [run]\n  reason: was flaky\n",
        "stale",
    );
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(
        out.contains("error_rate < 1% [run]: expected failure now passes — remove it from x.yaml"),
        "{out}"
    );
    let s = load_summary(&d.path().join("stale"));
    assert_eq!(s["passed"], false);
    assert_eq!(s["expected_failures"]["entries"][2]["status"], "now-passes");

    let o = load(d.path(), "- id: p42 < 1us\n  reason: typo\n", "unknown");
    let out = text(&o);
    assert_eq!(o.status.code(), Some(2), "{out}");
    assert!(
        out.contains("x.yaml") && out.contains("\"p42 < 1us\""),
        "{out}"
    );
    assert!(
        !d.path().join("unknown").exists(),
        "nothing written for bad input"
    );
}
