//! Each scenario for about a second against the in-process sandbox gateway: counts add up
//! against what the gateway itself counted.

use std::time::Duration;

use bearing_load::Phase;

use crate::support;

fn api_calls(gw: &bearing_gateway::RunningGateway) -> (u64, u64) {
    let c = gw.state.counters();
    let by = c.api_calls.get("inventory").cloned().unwrap_or_default();
    (
        by.get(&200).copied().unwrap_or(0),
        by.get(&401).copied().unwrap_or(0),
    )
}

// token: every token request used one assertion; pooled and inline signing both work, and
// the gateway issued exactly the tokens we counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_equal_assertions_used() {
    let _g = support::serial().lock().await;
    let (gw, t, _dir) = support::sandbox(None).await;
    let r = support::run(
        "duration: 1s\nusers: 8\nrate: 300/s\nscenarios:\n  - { name: pooled, kind: token, weight: 2 }\n  - { name: inline, kind: token, pool: false }\n",
        &t,
    )
    .await;
    let mut ours = 0;
    for s in &r.scenarios {
        let tok = s.phase_stats(Phase::Token, r.seconds());
        let sig = s.signing.as_ref().expect("token scenarios report signing");
        assert_eq!(
            tok.count, sig.assertions_used,
            "{}: token requests = assertions used",
            s.spec.name
        );
        assert_eq!(tok.errors, 0, "{}: {:?}", s.spec.name, tok.errors_by_kind);
        let planned = s.planned.expect("open model");
        assert!(
            tok.count as f64 >= 0.9 * planned as f64,
            "{}: {} of {planned}",
            s.spec.name,
            tok.count
        );
        ours += tok.statuses.get(&200).copied().unwrap_or(0);
    }
    assert_eq!(
        r.scenarios[0].signing.as_ref().map(|s| s.mode.as_str()),
        Some("pool")
    );
    let inline = &r.scenarios[1];
    assert_eq!(
        inline.signing.as_ref().map(|s| s.mode.as_str()),
        Some("inline")
    );
    assert_eq!(
        inline.phase_stats(Phase::Sign, 1.0).count,
        inline.phase_stats(Phase::Token, 1.0).count
    );
    assert_eq!(gw.state.counters().tokens_issued, ours);
    gw.shutdown().await;
}

// api: API calls = 200s + expected 401s, as the gateway counted them; one token per user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_calls_add_up() {
    let _g = support::serial().lock().await;
    let (gw, t, _dir) = support::sandbox(None).await;
    let r = support::run(
        "duration: 1s\nusers: 4\nmax_requests: 20000\nscenarios: [{name: api, kind: api}]\n",
        &t,
    )
    .await;
    let s = &r.scenarios[0];
    let api = s.phase_stats(Phase::Api, r.seconds());
    let (ok, unauthorized) = api_calls(&gw);
    assert!(api.count > 100, "{api:?}");
    assert_eq!(api.errors, 0, "{:?}", api.errors_by_kind);
    assert_eq!(api.count, ok + unauthorized);
    assert_eq!(api.statuses.get(&200).copied().unwrap_or(0), ok);
    let tokens = s.tokens.as_ref().expect("token stats");
    assert_eq!(tokens.token_requests, 4, "one token per user");
    gw.shutdown().await;
}

// mixed: N calls/s per user, one token per lifetime per user (1 s tokens refresh ahead).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_paces_users_and_refreshes_ahead() {
    let _g = support::serial().lock().await;
    let (gw, t, _dir) = support::sandbox(Some(Duration::from_secs(1))).await;
    let r = support::run("duration: 1500ms\nusers: 4\nscenarios: [{name: partner, kind: mixed, calls_per_second: 40}]\n", &t).await;
    let s = &r.scenarios[0];
    let api = s.phase_stats(Phase::Api, r.seconds());
    let expected = 4.0 * 40.0 * 1.5;
    assert!(
        (api.count as f64) > 0.85 * expected && (api.count as f64) <= expected + 4.0,
        "{} vs {expected}",
        api.count
    );
    let tokens = s.tokens.as_ref().expect("token stats");
    assert!(tokens.refreshes_ahead >= 4, "{tokens:?}");
    let (ok, unauthorized) = api_calls(&gw);
    assert_eq!(api.count, ok + unauthorized);
    assert_eq!(api.errors, 0, "{:?}", api.errors_by_kind);
    gw.shutdown().await;
}

// refresh-storm: every token revoked mid-run; each user's next call gets a 401, the manager
// fetches a new token and retries; all recover.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_storm_recovers() {
    let _g = support::serial().lock().await;
    let (gw, t, _dir) = support::sandbox(None).await;
    let r = support::run(
        "duration: 1200ms\nusers: 4\nmax_requests: 50000\nscenarios: [{name: storm, kind: refresh-storm, revoke_at: 500ms}]\n",
        &t,
    )
    .await;
    let s = &r.scenarios[0];
    let api = s.phase_stats(Phase::Api, r.seconds());
    let storm = s.storm.as_ref().expect("storm info");
    let tokens = s.tokens.as_ref().expect("token stats");
    assert!(storm.error.is_none(), "{storm:?}");
    assert!(storm.revoked_tokens >= 4, "{storm:?}");
    assert!(storm.recovery_ms.is_some(), "{storm:?}");
    assert_eq!(storm.users_recovered, 4);
    let expected_401 = api.statuses.get(&401).copied().unwrap_or(0);
    assert!(expected_401 >= 4, "{api:?}");
    assert_eq!(expected_401, tokens.unauthorized_retries);
    assert_eq!(tokens.token_requests, 4 + tokens.unauthorized_retries);
    assert_eq!(api.errors, 0, "{:?}", api.errors_by_kind);
    let (ok, unauthorized) = api_calls(&gw);
    assert_eq!(api.count, ok + unauthorized);
    assert!(storm.burst_token_requests >= 1, "{storm:?}");
    gw.shutdown().await;
}

// sign: signing alone, no network.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_measures_signing() {
    let _g = support::serial().lock().await;
    let dir = tempfile::tempdir().expect("tmp");
    // Nothing listens here: the sign scenario must not send a request.
    let t = support::target(
        "http://127.0.0.1:9",
        support::key_file(dir.path(), bearing_auth::Algorithm::RS256),
    );
    let r = support::run(
        "duration: 500ms\nusers: 2\nscenarios: [{name: sign, kind: sign}]\n",
        &t,
    )
    .await;
    let s = r.scenarios[0].phase_stats(Phase::Sign, r.seconds());
    assert!(s.count > 50, "{s:?}");
    assert_eq!(s.errors, 0);
    assert!(
        s.uncorrected.p50 > 50,
        "an RS256 signature takes more than 50 µs: {s:?}"
    );
}
