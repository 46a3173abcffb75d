//! Against a trivial stand-in server: closed and open model, coordinated-omission
//! correction, thresholds, profile errors, shards.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bearing_load::{LoadProfile, Phase};

use crate::support;

// A closed-model API run: every API call the server saw is counted, none failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_closed_model_adds_up() {
    let _g = support::serial().lock().await;
    let srv = support::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        &srv.base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let r = support::run(
        "duration: 1s\nusers: 4\nscenarios: [{name: api, kind: api}]\n",
        &t,
    )
    .await;
    let api = r.scenarios[0].phase_stats(Phase::Api, r.seconds());
    assert!(api.count > 100, "{api:?}");
    assert_eq!(api.count, srv.state.api_calls.load(Ordering::Relaxed));
    assert_eq!(api.errors, 0);
    assert!(
        r.elapsed >= Duration::from_secs(1) && r.elapsed < Duration::from_millis(1500),
        "{:?}",
        r.elapsed
    );
}

// The even pacer delivers the asked rate in the open model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_model_delivers_the_rate() {
    let _g = support::serial().lock().await;
    let srv = support::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        &srv.base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let r = support::run(
        "duration: 1s\nusers: 8\nrate: 500/s\nscenarios: [{name: api, kind: api}]\n",
        &t,
    )
    .await;
    let s = &r.scenarios[0];
    let api = s.phase_stats(Phase::Api, r.seconds());
    assert_eq!(s.planned, Some(500));
    assert_eq!(s.started, 500);
    assert_eq!(api.count, 500);
}

// Coordinated omission: the server stalls every request for 500 ms; with 4 users and an
// arrival rate of 1000/s about half the arrivals are late, so the corrected p99 shows the
// stall while the uncorrected p99 (only the 4 stalled requests are slow) does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrected_latency_shows_a_stall() {
    let _g = support::serial().lock().await;
    let srv = support::start().await;
    *srv.state.stall.lock().expect("lock") =
        Some((Duration::from_millis(250), Duration::from_millis(500)));
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        &srv.base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let r = support::run(
        "duration: 1s\nusers: 4\nrate: 1000/s\nscenarios: [{name: api, kind: api}]\n",
        &t,
    )
    .await;
    let api = r.scenarios[0].phase_stats(Phase::Api, r.seconds());
    assert!(api.count >= 990, "{}", api.count);
    assert!(
        api.corrected.p99 >= 300_000,
        "corrected p99 {} µs: {api:?}",
        api.corrected.p99
    );
    assert!(
        api.uncorrected.p99 < 50_000,
        "uncorrected p99 {} µs",
        api.uncorrected.p99
    );
    assert!(
        api.uncorrected.max >= 400_000,
        "the stalled requests themselves were slow: {}",
        api.uncorrected.max
    );
}

// Thresholds: met ones pass, missed ones fail with the measured value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_pass_and_fail() {
    let _g = support::serial().lock().await;
    let srv = support::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        &srv.base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let pass = support::run(
        "duration: 500ms\nusers: 2\nthresholds: ['p99 < 5s', 'error_rate < 1%', 'rate >= 10/s']\nscenarios: [{name: api, kind: api, thresholds: ['api.count > 10']}]\n",
        &t,
    )
    .await;
    assert!(pass.passed(), "{:?}", pass.all_thresholds());
    let fail = support::run(
        "duration: 500ms\nusers: 2\nthresholds: ['p99 < 5s', 'rate >= 10000000/s']\nscenarios: [{name: api, kind: api}]\n",
        &t,
    )
    .await;
    assert!(!fail.passed());
    let missed: Vec<_> = fail
        .all_thresholds()
        .into_iter()
        .filter(|t| !t.passed)
        .collect();
    assert_eq!(missed.len(), 1);
    assert_eq!(missed[0].expr, "rate >= 10000000/s");
    assert_eq!(missed[0].scope, "run");
    assert!(missed[0].actual_display.ends_with("/s"));
}

// A malformed profile file: the error names file:line:col and the problem.
#[test]
fn malformed_profile_names_the_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = dir.path().join("bad.yaml");
    std::fs::write(
        &p,
        "duration: 1s\nscenarios:\n  - name: a\n    kind: api\n    thresholds: ['p99 < soon']\n",
    )
    .expect("write");
    let e = LoadProfile::from_file(&p).expect_err("invalid").to_string();
    assert!(e.contains("bad.yaml:5:"), "{e}");
    assert!(e.contains("p99 < soon"), "{e}");
    assert!(e.contains("not a duration"), "{e}");
}

// A shard signs with its own jti prefix and takes its share of the rate.
#[test]
fn shard_jtis_are_disjoint() {
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        "http://127.0.0.1:9",
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let a = bearing_load::LoadTarget::from_target(&t, &bearing_load::run::jti_prefix(Some((1, 3))))
        .expect("target");
    let jti = a
        .signer(true)
        .expect("signer")
        .sign()
        .expect("sign")
        .jti()
        .map(str::to_owned);
    assert!(jti.is_some_and(|j| j.starts_with("s1-")));
}
