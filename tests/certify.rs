//! End-to-end tests of `bearing certify`: the binary runs the certification gateway, a
//! partner client (bearing-auth's `TokenManager`) talks to it over HTTP through the bundled
//! `smoke` plan, and the reports land in --report-dir; bad input exits 2 with the position;
//! SIGTERM still writes the report.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bearing_auth::token::{ManagerConfig, TokenClient, TokenClientOptions, TokenManager};
use bearing_auth::{AssertionSigner, SigningKey, SystemClock};
use common::{Server, bearing, keygen};

/// Starts `bearing certify --listen 127.0.0.1:0 <args…>` and reads its banner (the readiness
/// poll).
fn certify(args: &[&str]) -> Server {
    Server::start(
        bearing()
            .args(["certify", "--listen", "127.0.0.1:0"])
            .args(args),
    )
}

// A TokenManager client certified through the smoke plan by the real binary: exit 0, every
// check passes, and summary.json, report.html, junit.xml are in --report-dir.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_manager_is_certified_end_to_end() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert) = keygen(dir.path(), "partner");
    let reports = dir.path().join("out");
    let mut server = certify(&[
        "--client",
        &format!("partner={cert}"),
        "--plan",
        "smoke",
        "--report-dir",
        reports.to_str().expect("utf-8"),
    ]);
    let (token_url, api_url) = (server.token_url.clone(), server.api_url.clone());

    let key = Arc::new(SigningKey::from_file(Path::new(&key)).expect("key"));
    let signer = AssertionSigner::builder(key, "partner")
        .audience(token_url.as_str())
        .build()
        .expect("signer");
    let client = TokenClient::new(
        token_url.parse().expect("url"),
        &TokenClientOptions::default(),
    )
    .expect("client");
    let m = TokenManager::new(
        signer,
        client,
        Arc::new(SystemClock),
        ManagerConfig {
            max_attempts: 5,
            ..ManagerConfig::default()
        },
    )
    .expect("manager");
    let stop = Arc::new(AtomicBool::new(false));
    let tokens = Arc::new(std::sync::Mutex::new(std::collections::BTreeSet::new()));
    let worker = tokio::spawn({
        let stop = Arc::clone(&stop);
        let tokens = Arc::clone(&tokens);
        async move {
            let http = m.client().http().clone();
            while !stop.load(Ordering::Relaxed) {
                let r = m
                    .call(|t| {
                        tokens.lock().expect("lock").insert(t.expose().to_owned());
                        http.post(&api_url).bearer_auth(t.expose()).send()
                    })
                    .await;
                let pause = match r {
                    Ok(_) => Duration::from_millis(30),
                    Err(bearing_auth::Error::Token(t)) => {
                        t.retry_after().unwrap_or(Duration::from_secs(1))
                    }
                    Err(_) => Duration::from_secs(1),
                };
                tokio::time::sleep(pause).await;
            }
        }
    });
    let (status, out) = tokio::task::spawn_blocking(move || (server.wait(), server.rest()))
        .await
        .expect("join");
    stop.store(true, Ordering::Relaxed);
    let _ = worker.await;
    assert_eq!(status.code(), Some(0), "{out}");
    assert!(out.contains("CERTIFIED: every check passed"), "{out}");
    assert!(out.contains("phase token-503"), "{out}");

    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("summary.json")).expect("summary.json"),
    )
    .expect("json");
    let schema: serde_json::Value =
        serde_json::from_str(include_str!("../schemas/certify-summary.schema.json"))
            .expect("schema");
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    assert!(
        v.is_valid(&summary),
        "summary.json does not match its schema"
    );
    assert_eq!(summary["verdict"], "pass");
    assert_eq!(summary["clients"][0]["totals"]["pass"], 18);
    for f in ["report.html", "junit.xml", "events.jsonl"] {
        assert!(reports.join(f).is_file(), "{f} missing");
    }

    // Secrets never reach the reports or the terminal: no access token the client used, no
    // assertion (a compact JWS always starts `eyJ`), no line of the private key.
    let tokens = tokens.lock().expect("lock").clone();
    assert!(!tokens.is_empty());
    let key_pem = std::fs::read_to_string(dir.path().join("private.pem")).expect("key");
    let key_lines: Vec<&str> = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
        .collect();
    let mut texts = vec![("stdout".to_owned(), out)];
    for e in std::fs::read_dir(&reports).expect("reports") {
        let p = e.expect("entry").path();
        if p.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&p).expect("read")).into_owned();
            texts.push((p.display().to_string(), text));
        }
    }
    for (what, text) in &texts {
        for t in &tokens {
            assert!(!text.contains(t.as_str()), "{what} holds an access token");
        }
        let jws = text.match_indices("eyJ").any(|(i, _)| {
            let rest = &text[i..];
            let seg: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                .collect();
            seg.split('.').count() == 3 && seg.len() > 100
        });
        assert!(!jws, "{what} holds an assertion");
        for l in &key_lines {
            assert!(!text.contains(l), "{what} holds a line of the private key");
        }
    }
}

// A bad plan is bad input: exit 2, and the message points at file:line:col.
#[test]
fn bad_plan_exits_2_with_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, cert) = keygen(dir.path(), "partner");
    let plan = dir.path().join("plan.yaml");
    std::fs::write(
        &plan,
        "name: x\nphases:\n  - name: a\n    duration: 1s\n    revoke: maybe\n",
    )
    .expect("write");
    let out = bearing()
        .args([
            "certify",
            "--listen",
            "127.0.0.1:0",
            "--client",
            &format!("partner={cert}"),
            "--plan",
        ])
        .arg(&plan)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("plan.yaml:5:"), "{err}");
    let out = bearing()
        .args(["certify", "--listen", "127.0.0.1:0"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "no --client is bad input");
}

// SIGTERM (like ctrl-c) ends the wait for a client and the report is still written.
#[cfg(unix)]
#[test]
fn sigterm_still_writes_the_report() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_, cert) = keygen(dir.path(), "partner");
    let reports = dir.path().join("out");
    let mut server = certify(&[
        "--client",
        &format!("partner={cert}"),
        "--report-dir",
        reports.to_str().expect("utf-8"),
    ]);
    server.terminate();
    let status = server.wait();
    let out = server.rest();
    assert_eq!(status.code(), Some(1), "not certified: {out}");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("summary.json")).expect("summary.json"),
    )
    .expect("json");
    assert_eq!(summary["ended_by"], "interrupted");
    assert_eq!(summary["verdict"], "incomplete");
    assert!(out.contains("NOT CERTIFIED YET"), "{out}");
}
