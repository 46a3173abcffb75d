//! One certification run shared by the tests below: every client at once against one
//! gateway through the `smoke` plan (about 4.4 s), then one test per client asserting that
//! exactly the matching checks fail.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bearing_auth::{Algorithm, Certificate, SigningKey};
use bearing_certify::{
    Certification, CertifyOptions, CertifySummary, EndReason, Plan, Recording, Verdict, failed_ids,
};
use bearing_gateway::GatewayConfig;

use crate::clients::{Flaw, Scripted, Seen, token_manager};

/// The token manager's client id.
pub const MANAGER: &str = "manager";

/// Scripted clients: id, flaw, the checks that must fail.
pub const SCRIPTED: [(&str, Flaw, &[&str]); 10] = [
    ("good", Flaw::None, &[]),
    ("reuses-jti", Flaw::ReusesJti, &["assertion.jti"]),
    ("token-per-call", Flaw::TokenPerCall, &["token_use.reuse"]),
    ("ignores-401", Flaw::Ignores401, &["recovery.after_401"]),
    ("wrong-aud", Flaw::WrongAud, &["assertion.aud"]),
    (
        "assertion-in-query",
        Flaw::AssertionInQuery,
        &["token_request.no_query"],
    ),
    ("retry-storm", Flaw::RetryStorm, &["recovery.backoff"]),
    (
        "uses-expired-token",
        Flaw::UsesExpiredToken,
        &["token_use.refresh_ahead", "token_use.not_expired"],
    ),
    // Refused invalid_client before the body is read: nothing fails, nothing passes.
    ("empty-basic-secret", Flaw::EmptyBasicSecret, &[]),
    ("scoped", Flaw::RequestsScope, &[]),
];

/// The shared run.
pub struct Shared {
    pub recording: Recording,
    pub summary: CertifySummary,
    /// Every full access token a client received.
    pub tokens: Vec<String>,
}

static RUN: OnceLock<Shared> = OnceLock::new();

/// Runs the certification once (the first test to ask pays ~5 s; the others wait for it).
pub fn shared() -> &'static Shared {
    RUN.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(certify_all())
    })
}

async fn certify_all() -> Shared {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
    let cert = Certificate::self_signed(&key, "certify-test", 1).expect("cert");
    let mut ids = vec![(MANAGER.to_owned(), cert.clone())];
    ids.extend(
        SCRIPTED
            .iter()
            .map(|(id, ..)| ((*id).to_owned(), cert.clone())),
    );
    let mut plan = Plan::builtin("smoke").expect("bundled smoke plan");
    // The scoped client must send scope=read; the plan registers it for every client.
    plan.scopes = vec!["read".into()];
    let run = Certification::start(CertifyOptions::new(GatewayConfig::sandbox(ids), plan))
        .await
        .expect("start");
    let token_url = run.token_url().to_owned();
    let api_url = run.api_url("inventory").expect("inventory api");
    let stop = Arc::new(AtomicBool::new(false));
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn({
        let (key, t, a, s, stop) = (
            Arc::clone(&key),
            token_url.clone(),
            api_url.clone(),
            Arc::clone(&seen),
            Arc::clone(&stop),
        );
        async move { token_manager(&key, MANAGER, &t, &a, s, stop).await }
    }));
    for (id, flaw, _) in SCRIPTED {
        let c = Scripted::new(flaw, &key, id, &token_url, &api_url, Arc::clone(&seen));
        tasks.push(tokio::spawn(c.run(Arc::clone(&stop))));
    }
    let recording = run.run(std::future::pending()).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
    }
    let summary = CertifySummary::from_recording(&recording);
    let tokens = seen.lock().expect("lock").clone();
    Shared {
        recording,
        summary,
        tokens,
    }
}

fn failed(id: &str) -> BTreeSet<String> {
    let c = shared()
        .summary
        .client(id)
        .unwrap_or_else(|| panic!("client {id} in the summary"));
    failed_ids(&c.checks)
}

fn explain(id: &str) -> String {
    let c = shared().summary.client(id).expect("client");
    c.checks
        .iter()
        .map(|r| {
            format!(
                "  {} {}: {} {:?}\n",
                r.verdict.as_str(),
                r.id,
                r.summary,
                r.findings.first()
            )
        })
        .collect()
}

fn expect_failed(id: &str) {
    let (_, _, want) = SCRIPTED.iter().find(|(i, ..)| *i == id).expect("listed");
    let want: BTreeSet<String> = want.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(failed(id), want, "client {id}:\n{}", explain(id));
}

fn expect_all_pass(id: &str) {
    let c = shared().summary.client(id).expect("client");
    let not: Vec<_> = c
        .checks
        .iter()
        .filter(|r| r.verdict != Verdict::Pass)
        .map(|r| r.id.clone())
        .collect();
    assert!(
        not.is_empty(),
        "client {id}: not passing {not:?}\n{}",
        explain(id)
    );
}

// bearing-auth's own token manager, calling the API in a loop, passes every check — with
// evidence for each, none left as no-evidence.
#[test]
fn token_manager_passes_every_check() {
    expect_all_pass(MANAGER);
}

// The scripted client without a flaw passes every check too (the baseline of the others).
#[test]
fn scripted_good_client_passes_every_check() {
    expect_all_pass("good");
}

// Each flawed client fails exactly the checks of its flaw.
#[test]
fn reusing_jti_fails_only_the_jti_check() {
    expect_failed("reuses-jti");
}

#[test]
fn token_per_call_fails_only_reuse() {
    expect_failed("token-per-call");
}

#[test]
fn ignoring_401_fails_only_recovery() {
    expect_failed("ignores-401");
    let c = shared().summary.client("ignores-401").expect("client");
    let r = c
        .checks
        .iter()
        .find(|r| r.id == "recovery.after_401")
        .expect("check");
    assert!(r.findings[0].detail.contains("same token"), "{r:?}");
}

#[test]
fn wrong_aud_fails_only_aud_and_shows_it() {
    expect_failed("wrong-aud");
    let c = shared().summary.client("wrong-aud").expect("client");
    let r = c
        .checks
        .iter()
        .find(|r| r.id == "assertion.aud")
        .expect("check");
    assert!(
        r.findings[0]
            .detail
            .contains("\"https://other.example/oauth/token\""),
        "{r:?}"
    );
}

#[test]
fn assertion_in_query_fails_only_no_query() {
    expect_failed("assertion-in-query");
}

#[test]
fn retry_storm_fails_only_backoff() {
    expect_failed("retry-storm");
    let c = shared().summary.client("retry-storm").expect("client");
    let r = c
        .checks
        .iter()
        .find(|r| r.id == "recovery.backoff")
        .expect("check");
    assert!(r.counts["early_retries"] >= 10, "{r:?}");
}

#[test]
fn expired_token_use_fails_refresh_and_expiry() {
    expect_failed("uses-expired-token");
}

// A client whose Authorization: Basic with an empty secret is refused invalid_client before
// the body is read: the refusals are counted by reason, the checks without evidence say why,
// and recovery.after_401 does not claim it "never got a 401".
#[test]
fn empty_basic_secret_is_explained() {
    expect_failed("empty-basic-secret");
    let c = shared()
        .summary
        .client("empty-basic-secret")
        .expect("client");
    assert!(
        c.refusals.get("invalid_client").is_some_and(|n| *n >= 3),
        "{:?}",
        c.refusals
    );
    let check = |id: &str| c.checks.iter().find(|r| r.id == id).expect("check");
    let alg = check("assertion.alg");
    assert!(
        alg.summary
            .contains("refused before the gateway read the assertion")
            && alg.summary.contains("invalid_client")
            && alg.summary.contains("Authorization: Basic"),
        "{alg:?}"
    );
    let r = check("recovery.after_401");
    assert!(r.summary.contains("token endpoint answered 401"), "{r:?}");
    let mut text = Vec::new();
    bearing_certify::report::terminal::write(
        &mut text,
        &shared().summary,
        bearing_certify::report::terminal::Options::default(),
    )
    .expect("terminal");
    let text = String::from_utf8(text).expect("utf-8");
    assert!(
        text.contains("token requests refused: invalid_client ×"),
        "{text}"
    );
}

// A client that must send a scope is certified once the plan registers the scope; the scope
// outcomes are in its report.
#[test]
fn scoped_client_is_certified_with_scope_outcomes() {
    expect_all_pass("scoped");
    let c = shared().summary.client("scoped").expect("client");
    let read = c
        .scopes
        .iter()
        .find(|s| s.scope == "read")
        .expect("scope read");
    assert!(read.granted >= 2 && read.refused.is_empty(), "{read:?}");
}

// The closing line counts honestly: failed checks and checks without evidence.
#[test]
fn closing_line_counts_failures_and_missing_evidence() {
    let s = &shared().summary;
    let mut text = Vec::new();
    bearing_certify::report::terminal::write(
        &mut text,
        s,
        bearing_certify::report::terminal::Options::default(),
    )
    .expect("terminal");
    let text = String::from_utf8(text).expect("utf-8");
    let last = text.lines().last().expect("a closing line");
    let want = format!(
        "NOT CERTIFIED: {} checks failed, {} without evidence",
        s.totals.fail, s.totals.no_evidence
    );
    assert!(s.totals.no_evidence > 0 && s.totals.fail > 1);
    assert_eq!(last, want);
}

// The plan ran to its end, did what it says, and every request was attributed.
#[test]
fn plan_ran_and_everything_was_attributed() {
    let s = &shared().summary;
    assert_eq!(s.ended_by, EndReason::PlanComplete);
    let revokes = s
        .timeline
        .iter()
        .filter(|m| matches!(m.action, bearing_certify::Action::Revoked { .. }))
        .count();
    assert_eq!(revokes, 2, "{:?}", s.timeline);
    assert_eq!(s.unattributed_events, 0);
    assert_eq!(s.clients.len(), 1 + SCRIPTED.len());
    let length = s.ended_ms - s.plan_started_ms.expect("started");
    assert!((4_300..6_000).contains(&length), "plan took {length} ms");
}
