//! Honest runs (issues 18 and 21): against a gateway that answers HTML 500, one that never
//! answers, and one too slow for the users given, a run never passes, its failures count in
//! the latency figures, it ends at its duration plus the grace, and what it did not send is
//! counted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use bearing_load::{Phase, Verdict};

use crate::support;

#[derive(Debug, Clone, Copy)]
enum Mode {
    /// Every request: 500 with an HTML body.
    Html500,
    /// Every request is accepted and never answered.
    Stall,
    /// Every request answered correctly after this delay.
    Slow(Duration),
}

async fn answer(
    State(m): State<Arc<Mode>>,
) -> (StatusCode, [(&'static str, &'static str); 1], String) {
    match *m {
        Mode::Html500 => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [("content-type", "text/html")],
            "<html><body><h1>500 Internal Server Error</h1></body></html>".into(),
        ),
        Mode::Stall => std::future::pending().await,
        Mode::Slow(d) => {
            tokio::time::sleep(d).await;
            (
                StatusCode::OK,
                [("content-type", "application/json")],
                r#"{"access_token":"t","token_type":"Bearer","expires_in":180}"#.into(),
            )
        }
    }
}

async fn server(mode: Mode) -> String {
    let app = Router::new()
        .route("/oauth/token", post(answer))
        .route("/api", get(answer))
        .with_state(Arc::new(mode));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

async fn run(mode: Mode, profile: &str) -> (bearing_load::RunResult, Duration) {
    let base = server(mode).await;
    let dir = tempfile::tempdir().expect("tmp");
    let t = support::target(
        &base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let began = Instant::now();
    let r = support::run(profile, &t).await;
    (r, began.elapsed())
}

const P99_ONLY: &str =
    "duration: 1s\nusers: 4\nrate: 20/s\ntimeout: 30s\nthresholds: ['p99 < 200ms']\n";

// HTML 500 on every route: every request fails; the failures are timed (p99 > 0) and the
// run does not pass whatever its only threshold (`p99 < 200ms`) says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn erroring_gateway_never_passes() {
    let _g = support::serial().lock().await;
    for scenario in ["{name: token, kind: token}", "{name: api, kind: api}"] {
        let (r, _) = run(
            Mode::Html500,
            &format!("{P99_ONLY}scenarios: [{scenario}]\n"),
        )
        .await;
        let main = r.merged_main().stats(r.seconds());
        assert!(
            main.count > 0 && main.errors == main.count,
            "{scenario}: {main:?}"
        );
        assert!(
            main.corrected.p99 > 0,
            "{scenario}: failures are timed: {main:?}"
        );
        let v = Verdict::of(&r);
        assert!(!v.passed && !r.passed(), "{v:?}");
        assert!(
            v.reasons.iter().any(|x| x.contains("every request failed")),
            "{v:?}"
        );
    }
}

// A gateway that never answers: the run ends at its duration plus the grace (not at the
// 30 s request timeout), the requests in flight are cancelled and counted at their elapsed
// time, the arrivals never started are counted as dropped, and the run does not pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_gateway_never_passes() {
    let _g = support::serial().lock().await;
    let (r, took) = run(
        Mode::Stall,
        &format!("{P99_ONLY}scenarios: [{{name: api, kind: api}}]\n"),
    )
    .await;
    assert!(
        took < Duration::from_secs(10),
        "ended at duration + grace: {took:?}"
    );
    let s = &r.scenarios[0];
    let api = s.phase_stats(Phase::Api, r.seconds());
    assert_eq!(api.errors, api.count, "{api:?}");
    assert!(
        api.corrected.p99 >= 2_000_000,
        "cancelled after ~3 s, timed: {api:?}"
    );
    let v = Verdict::of(&r);
    assert!(!v.passed, "{v:?}");
    assert_eq!(v.cancelled, 4, "one per user: {v:?}");
    assert_eq!(v.dropped, 16, "20 planned, 4 started: {v:?}");
    assert_eq!(v.generator_limited.len(), 1, "{v:?}");
}

// One user against a 50 ms gateway cannot offer 100/s: the run says so, names the cause and
// fails; `allow_underrun: true` accepts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn underrun_is_named_and_fails_unless_allowed() {
    let _g = support::serial().lock().await;
    let base = "duration: 1s\nusers: 1\nrate: 100/s\nscenarios: [{name: token, kind: token}]\n";
    let (r, _) = run(Mode::Slow(Duration::from_millis(50)), base).await;
    let v = Verdict::of(&r);
    assert!(!v.passed, "{v:?}");
    let u = &v.generator_limited[0];
    assert!(u.offered_rate < 40.0 && u.asked_rate > 99.0, "{u:?}");
    assert!(u.cause.contains("too few users"), "{u:?}");
    let line = bearing_load::verdict::underrun_line(u);
    assert!(
        line.starts_with("generator-limited: token: offered "),
        "{line}"
    );
    let (r, _) = run(
        Mode::Slow(Duration::from_millis(50)),
        // The request in flight at the end of the grace is cancelled (an error): the
        // profile's own error threshold replaces the 1% default guard.
        &format!("allow_underrun: true\nthresholds: ['error_rate < 10%']\n{base}"),
    )
    .await;
    let v = Verdict::of(&r);
    assert!(v.passed && !v.generator_limited.is_empty(), "{v:?}");
}
