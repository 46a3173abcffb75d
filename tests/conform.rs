//! End-to-end tests of `bearing conform`: the bundled suites against the embedded sandbox,
//! against a separately started `bearing serve` process over TLS reached only through a
//! target file (admin API included), against one without an admin API (as a real gateway:
//! sandbox-only cases skipped, the real `expires_in` waited out), and bad input (exit 2,
//! nothing runs).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Server, assert_stderr_has, lossy as text, run_in, serve, utf8};

/// A partner identity made with `bearing keygen`, a profile file and a gateway config.
fn setup(dir: &Path, profile: &bearing_auth::GatewayProfile, tls: bool) {
    let out = run_in(
        dir,
        &["keygen", "--client-id", "SampleConfId", "--out", "keys"],
    );
    assert!(out.status.success(), "keygen: {}", text(&out.stderr));
    std::fs::write(dir.join("profile.yaml"), profile.to_yaml().expect("yaml"))
        .expect("write profile");
    let config = format!(
        "listen: 127.0.0.1:0\nprofile: profile.yaml\nclients:\n  SampleConfId:\n    certificates: [keys/cert.pem]\napis:\n  - name: inventory\n    path: /bnpapi/v1/store/inventory\n  - name: orders\n    path: /bnpapi/v1/store/orders\n{}",
        if tls {
            "tls: { self_signed: true }\n"
        } else {
            ""
        }
    );
    std::fs::write(dir.join("gateway.yaml"), config).expect("write config");
}

fn target_file(dir: &Path, s: &Server, admin: bool) {
    let mut t = format!(
        "token_url: {}\nclient_id: SampleConfId\nprivate_key: keys/private.pem\ncertificate: keys/cert.pem\nprofile: profile.yaml\napis:\n  - name: inventory\n    method: GET\n    url: {}\n",
        s.token_url, s.api_url
    );
    if !s.ca_pem.is_empty() {
        std::fs::write(dir.join("ca.pem"), &s.ca_pem).expect("write ca");
        t.push_str("tls:\n  ca_bundle: ca.pem\n");
    }
    if admin {
        t.push_str(&format!(
            "admin_url: {}\nadmin_secret: {}\n",
            s.admin_url, s.admin_secret
        ));
    }
    std::fs::write(dir.join("target.yaml"), t).expect("write target");
}

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

fn outcomes(s: &serde_json::Value, outcome: &str) -> Vec<String> {
    s["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["outcome"] == outcome)
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// `bearing conform` with no arguments: every bundled suite against the embedded sandbox,
// exit 0, all three reports written.
#[test]
fn embedded_sandbox_passes() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run_in(dir.path(), &["conform", "--report-dir", "out"]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("every binding (MUST/CONFIG) expectation held"),
        "{stdout}"
    );
    let out_dir = dir.path().join("out");
    for f in ["summary.json", "junit.xml", "report.html"] {
        assert!(out_dir.join(f).is_file(), "{f} missing");
    }
    let s = summary(&out_dir);
    assert!(s["cases"].as_array().expect("cases").len() >= 100);
    assert_eq!(s["counts"]["fail"], 0);
    assert_eq!(s["counts"]["error"], 0);
    assert_eq!(
        outcomes(&s, "skip"),
        ["tp-plain-http", "tp-old-tls", "tp-rs-tls"]
    );
}

// The same suites against a sandbox started as its own process, over TLS, reached only
// through a target file: every case passes, the TLS probes included.
#[test]
fn separate_process_over_tls_passes() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut profile = bearing_auth::GatewayProfile::apigee();
    profile.name = "apigee-30s".into();
    profile.access_token_lifetime = Duration::from_secs(30);
    setup(dir.path(), &profile, true);
    let server = serve(&["--config", utf8(&dir.path().join("gateway.yaml"))]);
    assert!(
        server.token_url.starts_with("https://"),
        "{}",
        server.token_url
    );
    target_file(dir.path(), &server, true);
    let out = run_in(
        dir.path(),
        &["conform", "--target", "target.yaml", "--report-dir", "out"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let s = summary(&dir.path().join("out"));
    assert_eq!(s["profile"], "apigee-30s");
    assert_eq!(
        outcomes(&s, "skip"),
        ["rs-challenge-syntax"],
        "{}",
        text(&out.stdout)
    );
    assert_eq!(outcomes(&s, "fail").len() + outcomes(&s, "error").len(), 0);
    for tls_case in ["tp-plain-http", "tp-old-tls", "tp-rs-tls"] {
        assert!(
            outcomes(&s, "pass").contains(&tls_case.to_owned()),
            "{tls_case}"
        );
    }
    let summary_text =
        std::fs::read_to_string(dir.path().join("out/summary.json")).expect("summary");
    assert!(
        !summary_text.contains(&server.admin_secret),
        "admin secret leaked"
    );
}

// A gateway without an admin API, as a real one: the sandbox-only cases are skipped with the
// reason, and token expiry waits out the real expires_in (3 s here).
#[test]
fn without_admin_api_skips_sandbox_only_cases() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut profile = bearing_auth::GatewayProfile::rfc_strict();
    profile.name = "rfc-strict-3s".into();
    profile.access_token_lifetime = Duration::from_secs(3);
    setup(dir.path(), &profile, false);
    let server = serve(&["--config", utf8(&dir.path().join("gateway.yaml"))]);
    target_file(dir.path(), &server, false);
    let out = run_in(
        dir.path(),
        &[
            "conform",
            "expiry",
            "resource-401",
            "--target",
            "target.yaml",
            "--report-dir",
            "out",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let s = summary(&dir.path().join("out"));
    let skipped = outcomes(&s, "skip");
    assert_eq!(
        skipped,
        ["rs-revoked-token", "rs-insufficient-scope"],
        "{}",
        text(&out.stdout)
    );
    let case = |id: &str| {
        s["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .expect(id)
    };
    assert!(
        case("rs-revoked-token")["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("admin API")
    );
    let lifetime = case("ex-token-lifetime");
    assert_eq!(lifetime["outcome"], "pass");
    assert!(
        lifetime["duration_ms"].as_f64().unwrap_or_default() >= 3000.0,
        "{lifetime}"
    );
}

// A malformed suite: exit 2 with file:line:col, nothing runs, no report is written.
#[test]
fn bad_suite_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().expect("tmp");
    let suite = "suite: bad\ncases:\n  - id: x-bad\n    title: t\n    category: replay\n    level: MUST\n    citation: c\n    steps:\n      - token:\n          mutate: [ { frobnicate: 1 } ]\n          expect: { verdict: accepted }\n";
    std::fs::write(dir.path().join("bad.yaml"), suite).expect("write");
    let out = run_in(dir.path(), &["conform", "bad.yaml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:10:"), "{err}");
    assert!(err.contains("frobnicate"), "{err}");
    assert!(!dir.path().join("reports").exists(), "a report was written");

    let suite = suite
        .replace("frobnicate: 1", "remove_claim: jti")
        .replace("verdict: accepted", "verdict: accepted, colour: red");
    std::fs::write(dir.path().join("bad.yaml"), suite).expect("write");
    let out = run_in(dir.path(), &["conform", "bad.yaml"]);
    assert_stderr_has(&out, 2, "bad.yaml:11:");

    let out = run_in(dir.path(), &["conform", "no-such-suite"]);
    assert_eq!(out.status.code(), Some(2));
}

// A target whose key file is missing: exit 2 naming the file.
#[test]
fn missing_key_file_is_bad_input() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("t.yaml"),
        "token_url: http://127.0.0.1:9/oauth/token\nclient_id: c\nprivate_key: keys/missing.pem\n",
    )
    .expect("write");
    let out = run_in(
        dir.path(),
        &["conform", "--target", "t.yaml", "--no-report"],
    );
    assert_stderr_has(&out, 2, "missing.pem");
}

// An unreachable gateway: every case errors, exit 3, never a pass.
#[test]
fn unreachable_gateway_could_not_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = run_in(dir.path(), &["keygen", "--client-id", "c", "--out", "keys"]);
    assert!(out.status.success());
    std::fs::write(
        dir.path().join("t.yaml"),
        "token_url: http://127.0.0.1:9/oauth/token\nclient_id: c\nprivate_key: keys/private.pem\n",
    )
    .expect("write");
    let out = run_in(
        dir.path(),
        &[
            "conform",
            "token-request",
            "--target",
            "t.yaml",
            "--report-dir",
            "out",
        ],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let s = summary(&dir.path().join("out"));
    assert_eq!(s["counts"]["pass"], 0);
    assert!(s["counts"]["error"].as_u64().unwrap_or_default() > 0);
}
