//! Reporters on real run output: a sandbox without replay protection (failures and
//! warnings) plus a case whose API is unreachable (an error). summary.json validates against
//! its JSON Schema and holds no secret; junit.xml keeps failures apart from errors;
//! report.html is self-contained; the terminal table groups by category.

use std::sync::Arc;

use bearing_auth::ReplayProtection;
use bearing_conform::{CaseOutcome, RunConfig, RunTargetSpec, report};

use crate::support::{profile, sandbox};

const UNREACHABLE: &str = "suite: unreachable\ncases:\n  - id: zz-unreachable-api\n    title: an api nobody listens on\n    category: resource-401\n    level: MUST\n    citation: test\n    steps:\n      - api:\n          api: dead\n          expect: { status: 401 }\n";

// One run, every reporter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_from_a_real_run() {
    let mut broken = profile("rfc-strict");
    broken.replay_protection = ReplayProtection::None;
    let sb = sandbox(broken).await;
    let mut target = sb.target.clone();
    let mut dead = target.apis[0].clone();
    dead.name = "dead".into();
    dead.url = "http://127.0.0.1:9/nothing".parse().expect("url");
    target.apis.push(dead);
    let mut suites = bearing_conform::load_suites(&[
        "replay".into(),
        "token-request".into(),
        "transport".into(),
    ])
    .expect("suites");
    suites.push(bearing_conform::parse_suite(UNREACHABLE, "unreachable.yaml").expect("suite"));
    let spec = RunTargetSpec {
        target,
        profile: profile("rfc-strict"),
        second: None,
    };
    let s = bearing_conform::run(
        &suites,
        spec,
        RunConfig::default(),
        Arc::new(bearing_conform::Quiet),
    )
    .await
    .expect("run");
    assert!(
        s.counts.fail > 0 && s.counts.warn > 0 && s.counts.error == 1 && s.counts.skip > 0,
        "{:?}",
        s.counts
    );

    let dir = tempfile::tempdir().expect("tmp");
    let files = report::write_all(&s, dir.path()).expect("reports");

    // summary.json: valid against the schema, and no secret anywhere.
    let text = std::fs::read_to_string(&files.summary).expect("summary");
    let schema_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/conform-summary.schema.json"
    );
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).expect("schema"))
            .expect("schema json");
    let instance: serde_json::Value = serde_json::from_str(&text).expect("summary json");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        !text.contains("eyJhbGciOiJSUzI1NiIs"),
        "an assertion leaked"
    );
    assert!(
        !text.contains(&sb.gateway.admin_secret),
        "the admin secret leaked"
    );
    assert!(!text.contains("PRIVATE KEY"));
    for case in instance["cases"].as_array().expect("cases") {
        for x in case["exchanges"].as_array().expect("exchanges") {
            if let Ok(body) =
                serde_json::from_str::<serde_json::Value>(x["response_body"].as_str().unwrap_or(""))
                && let Some(t) = body.get("access_token").and_then(|t| t.as_str())
            {
                assert!(
                    t.ends_with('…') && t.chars().count() <= 9,
                    "token not redacted: {t}"
                );
            }
        }
    }

    // junit.xml: failures and errors apart.
    let junit = std::fs::read_to_string(&files.junit).expect("junit");
    assert!(
        junit.contains("<failure") && junit.contains("<error") && junit.contains("<skipped"),
        "{junit}"
    );
    assert!(junit.contains("name=\"rp-same-assertion\""));

    // report.html: self-contained.
    let html = std::fs::read_to_string(&files.html).expect("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in ["<script", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "report.html contains {banned}");
    }
    assert!(html.contains("rp-same-assertion") && html.contains("<svg"));

    // The terminal table: grouped by category, the failures listed.
    let mut out = Vec::new();
    report::terminal::write_table(&s, &mut out, report::terminal::TableOptions::default())
        .expect("table");
    let table = String::from_utf8(out).expect("utf-8");
    assert!(
        table.contains("replay") && table.contains("token-request"),
        "{table}"
    );
    assert!(table.contains("fail  rp-same-assertion"), "{table}");
    assert!(table.contains("error zz-unreachable-api"), "{table}");
    assert!(
        s.cases
            .iter()
            .any(|c| c.id == "zz-unreachable-api" && c.outcome == CaseOutcome::Error)
    );
    sb.gateway.shutdown().await;
}
