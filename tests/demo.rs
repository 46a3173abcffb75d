//! End-to-end tests of `bearing demo` (shortened) and `bearing completions`: the real binary
//! runs the bundled suites, the demo load profile and the signing benchmark against its
//! embedded sandbox; its summary is on stdout, summary.json validates against
//! schemas/demo-summary.schema.json, and report.html links three reports that exist, none of
//! which fetches or links anything off this machine.

mod common;

use std::path::Path;
use std::process::Output;
use std::sync::Mutex;

use common::run as bearing;

/// The demos run one at a time: each uses both cores of a small machine, and the
/// conformance suites' expiry cases should not be timed on a machine busy with another run.
static ONE_DEMO_AT_A_TIME: Mutex<()> = Mutex::new(());

fn demo(args: &[&str]) -> Output {
    let _one = ONE_DEMO_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut all = vec!["demo"];
    all.extend_from_slice(args);
    bearing(&all)
}

fn assert_valid(doc: &serde_json::Value) {
    common::assert_schema("demo-summary.schema.json", doc);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every `http://` / `https://` in `html`, with its byte offset.
fn urls(html: &str) -> Vec<(usize, &str)> {
    let mut found = Vec::new();
    for scheme in ["http://", "https://"] {
        found.extend(html.match_indices(scheme).map(|(i, _)| {
            let end = html[i..]
                .find(|c: char| c.is_whitespace() || "<\"'&)".contains(c))
                .map_or(html.len(), |e| i + e);
            (i, &html[i..end])
        }));
    }
    found
}

/// A sub-report fetches and links nothing: no URL in an attribute or a style, and any URL in
/// the text is the sandbox's own (127.0.0.1) or quoted inside a recorded HTTP exchange
/// (`<pre>`, e.g. the SOAP body's XML namespace).
fn assert_nothing_external(path: &Path) {
    let html = read(path);
    for bad in [
        "href=\"http",
        "src=\"http",
        "srcset=",
        "url(",
        "@import",
        "<script",
        "<link",
        "<iframe",
    ] {
        assert!(!html.contains(bad), "{} contains {bad:?}", path.display());
    }
    for (at, url) in urls(&html) {
        let local = url.starts_with("http://127.0.0.1:");
        let quoted = html[..at].rfind("<pre") > html[..at].rfind("</pre>");
        assert!(
            local || quoted,
            "{} holds the external URL {url} outside a quoted exchange",
            path.display()
        );
    }
}

// The brief's command, shortened: exit 0, the counts and rates on stdout, a valid
// summary.json, and one report.html that links three existing reports without any URL.
#[test]
fn demo_runs_and_links_three_reports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("demo");
    let out = demo(&[
        "--duration",
        "3s",
        "--bench-duration",
        "1s",
        "--out",
        out_dir.to_str().expect("utf-8 path"),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");

    let doc: serde_json::Value =
        serde_json::from_str(&read(&out_dir.join("summary.json"))).expect("summary.json");
    assert_valid(&doc);
    assert_eq!(doc["passed"], true, "{doc:#}");

    // The screen carries what summary.json says.
    let n = &doc["conformance"]["counts"];
    let counts = format!(
        "{} cases in {:.1} s: {} passed, 0 failed, {} skipped",
        doc["conformance"]["cases"],
        doc["conformance"]["duration_s"].as_f64().expect("duration"),
        n["pass"],
        n["skip"]
    );
    assert!(stdout.contains(&counts), "{counts:?} not in\n{stdout}");
    assert!(n["pass"].as_u64().expect("pass") > 100, "{n}");
    for phase in ["token", "api"] {
        let p = &doc["load"][phase];
        assert!(p["count"].as_u64().expect("count") > 0, "{phase}: {p}");
        let rate = format!("{:.1}/s", p["rate"].as_f64().expect("rate"));
        let line = stdout
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{phase} ")))
            .unwrap_or_else(|| panic!("no {phase} line in\n{stdout}"));
        assert!(
            line.contains(&rate) && line.contains("p50") && line.contains("p99"),
            "{line}"
        );
    }
    let b = &doc["bench"];
    assert_eq!(b["alg"], "RS256");
    assert!(b["assertions_per_sec"].as_f64().expect("rate") > 0.0, "{b}");
    assert!(stdout.contains("assertions/s"), "{stdout}");
    // With openssl on the PATH a ratio, without it the note; never neither.
    match b["ratio_to_openssl"].as_f64() {
        Some(r) => assert!(r > 0.0 && stdout.contains("× openssl"), "{stdout}"),
        None => assert!(stdout.contains("ratio skipped"), "{stdout}"),
    }
    let index = out_dir.join("report.html");
    assert!(
        stdout.contains(&format!("report: {}", index.display())),
        "{stdout}"
    );

    // The index links the three reports, relatively, and they exist.
    let html = read(&index);
    for sub in [
        "conform/report.html",
        "load/report.html",
        "bench/report.html",
    ] {
        assert!(
            html.contains(&format!("href=\"{sub}\"")),
            "report.html does not link {sub}"
        );
        assert!(out_dir.join(sub).is_file(), "{sub} missing");
    }
    // The pages written by the demo itself hold no URL at all; the sub-reports quote the
    // sandbox's address but fetch and link nothing.
    for own in ["report.html", "bench/report.html"] {
        let text = read(&out_dir.join(own));
        assert!(
            !text.contains("http://") && !text.contains("https://"),
            "{own} holds a URL"
        );
        assert!(!text.contains("<script"), "{own} holds a script");
    }
    for sub in ["conform/report.html", "load/report.html"] {
        assert_nothing_external(&out_dir.join(sub));
    }
}

// `--output json` prints the summary alone on stdout, valid against the schema; `--quiet`
// keeps stderr empty; `--no-bench` leaves the benchmark out.
#[test]
fn demo_json_output_parses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = demo(&[
        "--duration",
        "2s",
        "--no-bench",
        "--out",
        dir.path().to_str().expect("utf-8 path"),
        "--output",
        "json",
        "--quiet",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.trim().is_empty(), "--quiet printed: {stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_valid(&doc);
    assert!(doc["bench"].is_null() && doc["reports"]["bench"].is_null());
    assert_eq!(doc["load"]["profile"], "demo");
    let on_disk: serde_json::Value =
        serde_json::from_str(&read(&dir.path().join("summary.json"))).expect("summary.json");
    assert_eq!(on_disk, doc, "stdout and summary.json differ");
}

// Bad durations are bad input (exit 2) and start nothing.
#[test]
fn demo_refuses_bad_durations() {
    for args in [
        &["demo", "--duration", "0s"][..],
        &["demo", "--bench-duration", "2h"],
        &["demo", "--duration", "soon"],
    ] {
        let out = bearing(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

// The bash script completes every subcommand; every shell gets a script.
#[test]
fn completions() {
    let out = bearing(&["completions", "bash"]);
    assert!(out.status.success());
    let script = String::from_utf8(out.stdout).expect("utf-8");
    assert!(
        script.contains("complete -F"),
        "not a bash completion script"
    );
    for sub in [
        "demo",
        "conform",
        "load",
        "bench",
        "certify",
        "keygen",
        "completions",
        "--duration",
    ] {
        assert!(
            script.contains(sub),
            "{sub} missing from the bash completions"
        );
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = bearing(&["completions", shell]);
        assert!(out.status.success() && out.stdout.len() > 1000, "{shell}");
    }
    assert_eq!(bearing(&["completions", "tcsh"]).status.code(), Some(2));
}
