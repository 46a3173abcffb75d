//! The reports of the shared run: summary.json validates against the checked-in schema,
//! report.html is self-contained, junit.xml counts failures and skips, the terminal summary
//! shows verdicts with their evidence, and no secret (token, assertion) reaches any file.

use bearing_certify::report::{self, terminal};

use crate::run::{SCRIPTED, shared};

fn schema() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../schemas/certify-summary.schema.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("schema file")).expect("schema json")
}

// Every report file is written; summary.json of a real run validates against the schema.
#[test]
fn reports_are_written_and_summary_matches_schema() {
    let s = shared();
    let dir = tempfile::tempdir().expect("tmp");
    let w = report::write_all(&s.summary, &s.recording.events, dir.path()).expect("write reports");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&w.summary).expect("summary")).expect("json");
    let validator = jsonschema::validator_for(&schema()).expect("valid schema");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "summary.json does not match the schema:\n{}",
        errors.join("\n")
    );
    let back: bearing_certify::CertifySummary =
        serde_json::from_value(json).expect("summary round-trips");
    assert_eq!(back, s.summary);

    let junit = std::fs::read_to_string(&w.junit).expect("junit");
    let failures: usize = SCRIPTED.iter().map(|(_, _, f)| f.len()).sum();
    assert!(
        junit.contains(&format!("failures=\"{failures}\"")),
        "{}",
        &junit[..junit.len().min(400)]
    );
    assert!(junit.contains("<testcase name=\"assertion.aud\" classname=\"certify.wrong-aud\">"));

    // No secret in any file: no full token a client received, no JWT (base64url '{"').
    for path in [&w.summary, &w.html, &w.junit, &w.events] {
        let text = std::fs::read_to_string(path).expect("report file");
        assert!(
            !text.contains("eyJ"),
            "{} holds something like a JWT",
            path.display()
        );
        for t in &s.tokens {
            assert!(
                !text.contains(t.as_str()),
                "{} holds a full access token",
                path.display()
            );
        }
    }
}

// report.html loads nothing: no script, no stylesheet link, no src or href to a URL.
#[test]
fn html_is_self_contained() {
    let s = shared();
    let mut out = Vec::new();
    report::html::write(&mut out, &s.summary, &s.recording.events).expect("html");
    let html = String::from_utf8(out).expect("utf-8");
    for bad in ["<script", "<link", "src=", "href=", "@import", "url("] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    assert!(html.contains("<svg") && html.contains("wrong-aud"));
    // Every phase is a band of the timeline, the first one (set up before the client came) included.
    for phase in ["short-lifetime", "revoke", "token-503"] {
        assert!(
            html.contains(&format!(">{phase}</text>")),
            "no band for {phase}"
        );
    }
    // What a client sent is escaped, not markup.
    assert!(html.contains("&quot;https://other.example/oauth/token&quot;"));
}

// The terminal summary names each failed check with its evidence and rule.
#[test]
fn terminal_summary() {
    let s = shared();
    let mut out = Vec::new();
    terminal::write(
        &mut out,
        &s.summary,
        terminal::Options {
            color: false,
            findings: 2,
        },
    )
    .expect("terminal");
    let text = String::from_utf8(out).expect("utf-8");
    assert!(text.contains("client manager: PASS"), "{text}");
    assert!(text.contains("client wrong-aud: FAIL"), "{text}");
    assert!(text.contains("[FAIL] assertion.aud"), "{text}");
    assert!(text.contains("rule: RFC 7523 §3 item 3"), "{text}");
    assert!(text.contains("NOT CERTIFIED"), "{text}");
}
