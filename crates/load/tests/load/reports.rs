//! The report set of a real run: summary.json valid against the checked-in schema, the
//! interval log adds up exactly to the totals, .hgrm files, a self-contained HTML page,
//! and no secret anywhere.

use std::collections::BTreeMap;

use bearing_load::report;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use crate::support;

fn schema() -> serde_json::Value {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../schemas/load-summary.schema.json");
    serde_json::from_slice(&std::fs::read(&p).expect("schema file")).expect("schema is JSON")
}

// A token + API run (with thresholds) written as a report set, checked file by file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_set_is_valid_and_exact() {
    let _g = support::serial().lock().await;
    let (gw, t, _dir) = support::sandbox(None).await;
    let r = support::run(
        "name: report-test\nduration: 1500ms\nusers: 6\nrate: 300/s\nthresholds: ['p99 < 5s']\nscenarios:\n  - { name: tok, kind: token }\n  - { name: api, kind: api, thresholds: ['error_rate < 1%'] }\n",
        &t,
    )
    .await;
    let out = tempfile::tempdir().expect("tmp");
    let w = report::write(&r, None, out.path()).expect("report written");

    // summary.json against the schema.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.path().join("summary.json")).expect("summary"))
            .expect("json");
    let v = jsonschema::validator_for(&schema()).expect("schema compiles");
    let errors: Vec<String> = v
        .iter_errors(&summary)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(summary["passed"], true);
    assert_eq!(
        summary["scenarios"][0]["phases"]["token"]["count"],
        summary["scenarios"][0]["signing"]["assertions_used"]
    );

    // The interval log: every entry decodes, and per tag the entries add up to the totals.
    let log = std::fs::read(out.path().join(report::INTERVAL_LOG)).expect("hlog");
    let mut by_tag: BTreeMap<String, hdrhistogram::Histogram<u64>> = BTreeMap::new();
    for e in IntervalLogIterator::new(&log) {
        if let LogEntry::Interval(h) = e.expect("parses") {
            let tag = h.tag().expect("tagged").as_str().to_owned();
            let hist = bearing_load::recorder::decode(h.encoded_histogram()).expect("decodes");
            by_tag
                .entry(tag)
                .or_insert_with(bearing_load::stats::new_histogram)
                .add(hist)
                .expect("adds");
        }
    }
    for s in &r.scenarios {
        let main = s.spec.kind.main_phase();
        let d = &s.phases[main as usize];
        let c = &by_tag[&format!("{}.{}.corrected", s.spec.name, main.name())];
        let u = &by_tag[&format!("{}.{}.uncorrected", s.spec.name, main.name())];
        assert_eq!(c.len(), d.corrected.len());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(c.value_at_quantile(q), d.corrected.value_at_quantile(q));
            assert_eq!(u.value_at_quantile(q), d.uncorrected.value_at_quantile(q));
        }
    }

    // .hgrm percentile distributions.
    let hgrm = std::fs::read_to_string(out.path().join("api.api.hgrm")).expect("hgrm");
    assert!(
        hgrm.contains("Percentile") && hgrm.contains("#[Max"),
        "{hgrm}"
    );
    assert!(
        w.files.iter().any(|f| f == "tok.token.uncorrected.hgrm"),
        "{:?}",
        w.files
    );

    // Self-contained HTML with the three charts; no script, no external resource.
    let html = std::fs::read_to_string(out.path().join("report.html")).expect("html");
    for needle in [
        "latency percentiles over time",
        "throughput over time",
        "latency by percentile",
        "<svg",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    for banned in ["<script", "<link", "src=\"http", "href=\"http", "@import"] {
        assert!(!html.contains(banned), "{banned}");
    }

    // No secret in any file.
    for f in &w.files {
        let text = std::fs::read_to_string(out.path().join(f)).expect("read");
        assert!(
            !text.contains(&gw.admin_secret),
            "{f} holds the admin secret"
        );
        assert!(!text.contains("eyJ"), "{f} holds a JWT");
    }
    gw.shutdown().await;
}
