//! Connection realism over TLS (issue 15): `bearing load` against the HTTPS sandbox records
//! the TCP connect and the TLS handshake as phases of their own. With `connection: new`
//! every token request opens (and pays for) its own connection, so connect and handshake
//! counts equal the request count and handshakes per second is the headline; with the
//! default keep-alive each user opens about one. `--insecure` marks every report.

mod common;

use std::path::Path;
use std::process::Output;

use common::{CLIENT, Server, bearing, keygen, serve};

/// The HTTPS sandbox for a fresh identity in `dir`; its certificate in `dir/ca.pem`, and
/// two targets: `target.yaml` (that CA) and `target-bare.yaml` (no CA: needs --insecure).
fn https_sandbox(dir: &Path) -> Server {
    keygen(dir, CLIENT);
    let cert = dir.join("cert.pem");
    let sb = serve(&[
        "--output",
        "json",
        "--listen",
        "127.0.0.1:0",
        "--tls-self-signed",
        "--client",
        &format!("{CLIENT}={}", cert.display()),
    ]);
    let pem = sb.info["tls_certificate_pem"]
        .as_str()
        .expect("certificate");
    std::fs::write(dir.join("ca.pem"), pem).expect("write ca");
    let target = |tls: &str| {
        format!(
            "token_url: {}\nclient_id: {CLIENT}\nprivate_key: private.pem\ncertificate: cert.pem\n\
             {tls}apis:\n  - {{ name: api, method: GET, url: {} }}\n",
            sb.info["token_url"].as_str().expect("token_url"),
            sb.info["api_url"].as_str().expect("api_url"),
        )
    };
    std::fs::write(
        dir.join("target.yaml"),
        target("tls: { ca_bundle: ca.pem }\n"),
    )
    .expect("t");
    std::fs::write(dir.join("target-bare.yaml"), target("")).expect("t");
    sb
}

const PROFILE: &str = "name: tls-phases\nduration: 1s\nusers: 6\nrate: 300/s\n\
    thresholds: ['connect.p99 < 10s', 'handshake.count >= 1']\n\
    scenarios:\n\
    \x20 - { name: tok-new, kind: token, connection: new, tls: { resumption: false } }\n\
    \x20 - { name: api-keep, kind: api }\n\
    \x20 - { name: tok-resume, kind: token, connection: new }\n";

fn load(dir: &Path, target: &str, report: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    std::fs::write(dir.join("p.yaml"), PROFILE).expect("profile");
    let out = bearing()
        .current_dir(dir)
        .args(["load", "p.yaml", "--target", target, "--report-dir", report])
        .args(["--threads", "1", "--quiet"])
        .args(extra)
        .output()
        .expect("run bearing load");
    let summary = std::fs::read(dir.join(report).join("summary.json"))
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    (out, serde_json::from_slice(&summary).expect("summary json"))
}

fn count(sc: &serde_json::Value, phase: &str) -> u64 {
    sc["phases"][phase]["count"].as_u64().unwrap_or(0)
}

fn validate(summary: &serde_json::Value) {
    common::assert_schema("load-summary.schema.json", summary);
}

// `connection: new` over https: one connect and one full handshake per token request, each
// timed (corrected ≥ uncorrected), handshakes/s in the summary, the terminal and the page;
// keep-alive API users open one connection each; with resumption on, new connections resume
// the session. Thresholds read the new phases.
#[test]
fn new_connections_are_timed_per_request_keep_alive_per_user() {
    let dir = tempfile::tempdir().expect("tmp");
    let _sb = https_sandbox(dir.path());
    let (out, s) = load(dir.path(), "target.yaml", "r", &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    validate(&s);
    let tok = &s["scenarios"][0];
    let requests = count(tok, "token");
    assert!(requests >= 50, "{tok}");
    assert_eq!(count(tok, "connect"), requests, "{tok}");
    assert_eq!(count(tok, "handshake"), requests, "{tok}");
    assert_eq!(tok["phases"]["handshake"]["errors"], 0, "{tok}");
    let hs = &tok["phases"]["handshake"]["latency_us"];
    assert!(hs["corrected"]["p50"].as_u64() >= hs["uncorrected"]["p50"].as_u64());
    assert!(hs["uncorrected"]["min"].as_u64() > Some(0), "{hs}");
    assert_eq!(tok["connections"]["policy"], "new");
    assert_eq!(tok["connections"]["resumed"], 0, "tls.resumption: false");
    let per_s = s["handshakes_per_s"].as_f64().expect("headline");
    assert!(per_s > 25.0, "{per_s}");
    assert!(stdout.contains("TLS handshakes: "), "{stdout}");
    assert!(stdout.contains("    handshake "), "{stdout}");

    let api = &s["scenarios"][1];
    let users = api["users"].as_u64().expect("users");
    assert!(count(api, "api") >= 50, "{api}");
    let opened = count(api, "connect");
    assert!(
        (1..=users).contains(&opened),
        "{opened} for {users} users: {api}"
    );
    assert_eq!(count(api, "handshake"), opened, "{api}");
    assert_eq!(api["connections"]["policy"], "keep-alive");
    assert!(
        s.get("tls_insecure").is_none(),
        "verified run is not marked"
    );

    // Resumption on (the default): after a user's first, handshakes resume its session.
    let resume = &s["scenarios"][2];
    let n = count(resume, "handshake");
    assert_eq!(n, count(resume, "token"), "{resume}");
    let resumed = resume["connections"]["resumed"].as_u64().expect("resumed");
    assert!(resumed > 0 && resumed <= n, "{resumed} of {n}: {resume}");

    let thresholds = s["thresholds"].to_string();
    assert!(thresholds.contains("connect.p99 < 10s"), "{thresholds}");
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).expect("html");
    assert!(html.contains("TLS handshakes: <b>"), "headline in the page");
    assert!(html.contains(">handshake<"), "phase row in the page");
    assert!(!html.contains("tls.insecure"));
}

// `--insecure`: the run works without the CA, and summary.json, the terminal and the page
// all say the certificates went unchecked.
#[test]
fn insecure_runs_are_marked_in_every_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let _sb = https_sandbox(dir.path());
    let (out, s) = load(dir.path(), "target-bare.yaml", "r", &["--insecure"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    validate(&s);
    assert_eq!(s["tls_insecure"], true);
    assert!(stdout.starts_with("WARNING: tls.insecure"), "{stdout}");
    let html = std::fs::read_to_string(dir.path().join("r/report.html")).expect("html");
    assert!(html.contains("WARNING: tls.insecure"));
}
