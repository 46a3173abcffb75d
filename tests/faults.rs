//! Faults (issue 9): the token manager, `bearing token` and `bearing call` against a gateway
//! that stalls, resets connections, answers HTML instead of JSON, returns 429 with
//! `Retry-After`, or goes away and comes back. Every failure is counted and reported with
//! its kind, nothing hangs past its timeout, nothing panics, and the client recovers once
//! the fault ends. The sandbox's own fault injection (`PUT /admin/faults/{route}`) supplies
//! stalls, resets and 429s; a raw TCP server of this file supplies the HTML pages, silent
//! closes and truncated bodies.
//!
//! `scripts/faults.sh` runs this file (ignored cases included: the CLI's 30 s default
//! request timeout) with `BEARING_FAULTS_REPORT` set and prints the figures.

mod common;
#[path = "faults/support.rs"]
mod support;

use std::net::SocketAddr;
use std::process::Output;
use std::time::{Duration, Instant};

use bearing_auth::Error;
use bearing_auth::token::{ErrorBodyFormat, TokenError};
use serde_json::json;
use support::{
    Broken, Figure, Mode, clear_faults, gateway, identity, manager, record, set_fault, timed,
};

fn any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A short description of a fetch error's kind, for the figures.
fn kind(e: &Error) -> String {
    match e {
        Error::Http {
            reason, retryable, ..
        } => format!("http (retryable={retryable}): {reason}"),
        Error::Token(TokenError::Rejected(r)) => format!(
            "rejected {} {:?} retry_after={:?}",
            r.status,
            r.format,
            r.retry_after.map(|d| d.as_secs())
        ),
        Error::Token(TokenError::Malformed { status, reason, .. }) => {
            format!("malformed {status}: {reason}")
        }
        other => other.to_string(),
    }
}

/// Stalled token endpoint: each attempt ends at the request timeout, the fetch fails after
/// `max_attempts`, counted; the manager recovers as soon as the stall ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_survives_a_stall() {
    let gw = gateway(any_port()).await;
    set_fault(&gw, "token", json!({ "latency": "5s" })).await;
    let m = manager(&gw.token_url, Duration::from_millis(300), 2);
    let (r, took) = timed(m.token()).await;
    let e = r.expect_err("a stalled gateway yields no token");
    assert!(
        matches!(
            e,
            Error::Http {
                retryable: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("timed out"), "{e}");
    assert!(
        took < Duration::from_secs(2),
        "bounded by 2 × 300 ms + backoff: {took:?}"
    );
    let s = m.stats();
    assert_eq!(
        (s.token_requests, s.failures, s.token_request_retries),
        (2, 1, 1)
    );
    clear_faults(&gw).await;
    let (ok, recovery) = timed(m.token()).await;
    ok.expect("recovers once the stall ends");
    record(&Figure {
        fault: "stall (5 s latency)",
        client: "manager",
        requests: s.token_requests,
        failures: s.failures,
        retries: Some(s.token_request_retries),
        elapsed: took,
        recovery: Some(recovery),
        reported: kind(&e),
    });
}

/// Connection resets: retryable transport errors, retried, counted, then recovery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_survives_connection_resets() {
    let gw = gateway(any_port()).await;
    set_fault(&gw, "token", json!({ "reset": 1.0 })).await;
    let m = manager(&gw.token_url, Duration::from_secs(2), 3);
    let (r, took) = timed(m.token()).await;
    let e = r.expect_err("reset");
    assert!(
        matches!(
            e,
            Error::Http {
                retryable: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(took < Duration::from_secs(3), "{took:?}");
    let s = m.stats();
    assert_eq!(
        (s.token_requests, s.failures, s.token_request_retries),
        (3, 1, 2)
    );
    clear_faults(&gw).await;
    let (ok, recovery) = timed(m.token()).await;
    ok.expect("recovers once resets stop");
    record(&Figure {
        fault: "connection reset",
        client: "manager",
        requests: s.token_requests,
        failures: s.failures,
        retries: Some(s.token_request_retries),
        elapsed: took,
        recovery: Some(recovery),
        reported: kind(&e),
    });
}

/// HTML instead of JSON, a silent close, a truncated body, a stall — from a server that is
/// no gateway at all: each becomes a typed error of its own kind, never a panic or a hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_survives_broken_servers() {
    let cases = [
        (Mode::Html200, "HTML login page (200)", 1u64, false),
        (Mode::Html502, "HTML proxy error (502)", 3, true),
        (Mode::Close, "close without answer", 3, true),
        (Mode::Truncated, "truncated JSON body", 3, true),
        (Mode::Stall, "stall (never answers)", 3, true),
    ];
    for (mode, fault, requests, retried) in cases {
        let srv = Broken::start(mode).await;
        let m = manager(&srv.token_url(), Duration::from_millis(300), 3);
        let (r, took) = timed(m.token()).await;
        let e = r.expect_err(fault);
        match mode {
            Mode::Html200 => {
                let Error::Token(TokenError::Malformed {
                    status: 200,
                    reason,
                    excerpt,
                    ..
                }) = &e
                else {
                    panic!("{fault}: {e:?}")
                };
                assert!(
                    reason.contains("not JSON") && reason.contains("text/html"),
                    "{reason}"
                );
                assert!(
                    excerpt
                        .as_deref()
                        .is_some_and(|x| x.contains("Please sign in"))
                );
            }
            Mode::Html502 => {
                let Error::Token(TokenError::Rejected(r)) = &e else {
                    panic!("{fault}: {e:?}")
                };
                assert_eq!((r.status, r.format), (502, ErrorBodyFormat::NonJson));
                assert!(
                    r.excerpt
                        .as_deref()
                        .is_some_and(|x| x.contains("502 Bad Gateway"))
                );
            }
            _ => assert!(
                matches!(
                    e,
                    Error::Http {
                        retryable: true,
                        ..
                    }
                ),
                "{fault}: {e:?}"
            ),
        }
        let s = m.stats();
        assert_eq!(s.token_requests, requests, "{fault}");
        assert_eq!(s.failures, 1, "{fault}");
        assert_eq!(s.token_request_retries > 0, retried, "{fault}");
        assert!(took < Duration::from_secs(3), "{fault}: {took:?}");
        record(&Figure {
            fault,
            client: "manager",
            requests: srv.requests.load(std::sync::atomic::Ordering::Relaxed),
            failures: s.failures,
            retries: Some(s.token_request_retries),
            elapsed: took,
            recovery: None,
            reported: kind(&e),
        });
        srv.set(Mode::Close);
    }
}

/// 429 with `Retry-After: 1`: the manager waits what it is told between attempts, reports
/// the 429 with its delay, refuses to wait longer than `max_retry_after`, and recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_honours_429_retry_after() {
    let gw = gateway(any_port()).await;
    set_fault(
        &gw,
        "token",
        json!({ "error_429": 1.0, "retry_after": "1s" }),
    )
    .await;
    let m = manager(&gw.token_url, Duration::from_secs(2), 3);
    let (r, took) = timed(m.token()).await;
    let e = r.expect_err("429");
    let Error::Token(t) = &e else { panic!("{e:?}") };
    assert_eq!(t.status(), 429);
    assert_eq!(t.retry_after(), Some(Duration::from_secs(1)));
    assert!(took >= Duration::from_secs(2), "two waits of 1 s: {took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    let s = m.stats();
    assert_eq!(
        (s.token_requests, s.failures, s.token_request_retries),
        (3, 1, 2)
    );
    record(&Figure {
        fault: "429 Retry-After: 1",
        client: "manager",
        requests: s.token_requests,
        failures: s.failures,
        retries: Some(s.token_request_retries),
        elapsed: took,
        recovery: None,
        reported: kind(&e),
    });

    // Longer than max_retry_after (5 s): given up at once, not slept on.
    set_fault(
        &gw,
        "token",
        json!({ "error_429": 1.0, "retry_after": "60s" }),
    )
    .await;
    let (r, took) = timed(m.token()).await;
    assert!(r.is_err());
    assert!(took < Duration::from_secs(1), "{took:?}");
    assert_eq!(m.stats().token_requests, 4);
    clear_faults(&gw).await;
    let (ok, recovery) = timed(m.token()).await;
    ok.expect("recovers once the 429s stop");
    record(&Figure {
        fault: "429 Retry-After: 60 (> max)",
        client: "manager",
        requests: 1,
        failures: 1,
        retries: None,
        elapsed: took,
        recovery: Some(recovery),
        reported: "given up at once: Retry-After exceeds max_retry_after".into(),
    });
}

/// The gateway goes away and comes back on the same port with a fresh token store. While
/// it is gone, calls and fetches fail fast (connection refused) and are reported; once it is
/// back, the cached token draws a 401, the manager fetches a new one and retries once: 200.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_survives_gateway_restart() {
    let gw = gateway(any_port()).await;
    let addr = gw.local_addr;
    let api = gw.api_url("inventory").expect("api");
    let m = manager(&gw.token_url, Duration::from_secs(2), 3);
    let http = m.client().http().clone();
    let call = || {
        let (m, http, api) = (m.clone(), http.clone(), api.clone());
        async move {
            m.call(|t| {
                let req = http.get(&api).bearer_auth(t.expose());
                async move { req.send().await.map(|r| r.status().as_u16()) }
            })
            .await
        }
    };
    let first = call().await.expect("token");
    assert_eq!(first.response.as_ref().ok(), Some(&200));
    gw.shutdown().await;

    // Gone: the API call with the cached token fails at the transport, reported as such.
    let (gone, took_call) = timed(call()).await;
    let gone = gone.expect("the cached token is still valid");
    let api_err = gone.response.expect_err("nobody listens");
    // Connection refused, or (when the pooled keep-alive connection's close raced the call)
    // a send error on it: a transport failure either way, never an HTTP status.
    assert!(api_err.is_connect() || api_err.is_request(), "{api_err}");
    assert!(took_call < Duration::from_secs(2), "{took_call:?}");

    let back_at = Instant::now();
    let gw = gateway(addr).await;
    let (again, _) = timed(call()).await;
    let again = again.expect("a new token from the new gateway");
    let recovery = back_at.elapsed();
    assert!(
        again.retried,
        "the stale token must draw a 401 and one retry"
    );
    assert_eq!(again.response.as_ref().ok(), Some(&200));
    assert_eq!(m.stats().unauthorized_retries, 1);

    // Gone again with nothing cached: the fetch fails fast, counted, retryable.
    gw.shutdown().await;
    m.invalidate(&m.cached().expect("cached").token);
    let before = m.stats();
    let (r, took) = timed(m.token()).await;
    let e = r.expect_err("gateway is gone");
    assert!(
        matches!(
            e,
            Error::Http {
                retryable: true,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        took < Duration::from_secs(2),
        "refused connections fail fast: {took:?}"
    );
    let s = m.stats();
    assert_eq!(s.failures - before.failures, 1);
    record(&Figure {
        fault: "gateway gone, back on same port",
        client: "manager",
        requests: s.token_requests - before.token_requests,
        failures: s.failures,
        retries: Some(s.token_request_retries - before.token_request_retries),
        elapsed: took,
        recovery: Some(recovery),
        reported: format!("{} / API call: {api_err}", kind(&e)),
    });
}

// --- the command line -----------------------------------------------------------------

/// Runs `bearing <args…>` with the identity, off the async workers.
async fn bearing(args: Vec<String>) -> (Output, Duration) {
    let id = identity();
    let (key, cert) = (id.key_path.clone(), id.cert_path.clone());
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = common::bearing()
            .args(&args[..1])
            .args(["--client-id", support::CLIENT])
            .arg("--key")
            .arg(key)
            .arg("--cert")
            .arg(cert)
            .args(&args[1..])
            .output()
            .expect("run bearing");
        (out, started.elapsed())
    })
    .await
    .expect("join")
}

fn token_args(url: &str) -> Vec<String> {
    vec!["token".into(), "--token-url".into(), url.into()]
}

fn call_args(url: &str, api: &str) -> Vec<String> {
    vec![
        "call".into(),
        "--token-url".into(),
        url.into(),
        "GET".into(),
        api.into(),
    ]
}

/// Checks a CLI run ended with `code` and its message names the fault; records it.
fn check_cli(
    fault: &str,
    client: &str,
    out: &Output,
    took: Duration,
    code: i32,
    names: &[&str],
    requests: u64,
) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{client} / {fault}: {err}");
    let last = err
        .lines()
        .rfind(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        names.iter().any(|n| last.to_lowercase().contains(n)),
        "{client} / {fault}: {last}"
    );
    assert!(!err.contains("panicked"), "{err}");
    record(&Figure {
        fault,
        client,
        requests,
        failures: u64::from(code != 0),
        retries: None,
        elapsed: took,
        recovery: None,
        reported: last.trim_start_matches("error: ").to_owned(),
    });
}

/// `bearing token` and `bearing call` against resets, 429s, HTML and a gateway that is
/// gone: exit 3 (could not run) with the fault named, in bounded time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reports_each_fault() {
    let gw = gateway(any_port()).await;
    let api = gw.api_url("inventory").expect("api");
    // Requests the gateway answered with an injected fault.
    let faults = |gw: &bearing_gateway::RunningGateway| gw.state.counters().faults;
    for (fault, spec, names) in [
        (
            "connection reset",
            json!({ "reset": 1.0 }),
            &["connection", "reset", "closed", "error sending request"][..],
        ),
        (
            "429 Retry-After: 1",
            json!({ "error_429": 1.0, "retry_after": "1s" }),
            &["429"][..],
        ),
    ] {
        set_fault(&gw, "token", spec).await;
        let n = faults(&gw);
        let (out, took) = bearing(token_args(&gw.token_url)).await;
        assert!(took < Duration::from_secs(10), "{took:?}");
        check_cli(
            fault,
            "bearing token",
            &out,
            took,
            3,
            names,
            faults(&gw) - n,
        );
        let n = faults(&gw);
        let (out, took) = bearing(call_args(&gw.token_url, &api)).await;
        assert!(took < Duration::from_secs(10), "{took:?}");
        check_cli(fault, "bearing call", &out, took, 3, names, faults(&gw) - n);
    }
    clear_faults(&gw).await;

    // A 503 on the API itself: the call runs and reports the status (exit 1), no retry storm.
    set_fault(&gw, "inventory", json!({ "error_503": 1.0 })).await;
    let (out, took) = bearing(call_args(&gw.token_url, &api)).await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("injected fault"));
    record(&Figure {
        fault: "API answers 503",
        client: "bearing call",
        requests: 1,
        failures: 1,
        retries: None,
        elapsed: took,
        recovery: None,
        reported: "exit 1, body printed".into(),
    });
    clear_faults(&gw).await;

    let html = Broken::start(Mode::Html200).await;
    let (out, took) = bearing(token_args(&html.token_url())).await;
    check_cli(
        "HTML login page (200)",
        "bearing token",
        &out,
        took,
        3,
        &["not json"],
        1,
    );
    html.set(Mode::Html502);
    let (out, took) = bearing(call_args(&html.token_url(), &format!("{}/api", html.base))).await;
    check_cli(
        "HTML proxy error (502)",
        "bearing call",
        &out,
        took,
        3,
        &["502"],
        3,
    );

    // Gone: connection refused, at once.
    let addr = gw.local_addr;
    gw.shutdown().await;
    let url = format!("http://{addr}/oauth/token");
    let (out, took) = bearing(token_args(&url)).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    check_cli(
        "gateway gone",
        "bearing token",
        &out,
        took,
        3,
        &["connect", "refused"],
        0,
    );
    let (out, took) = bearing(call_args(&url, &api)).await;
    assert!(took < Duration::from_secs(5), "{took:?}");
    check_cli(
        "gateway gone",
        "bearing call",
        &out,
        took,
        3,
        &["connect", "refused"],
        0,
    );
    // Back on the same port: the next run succeeds.
    let _gw = gateway(addr).await;
    let (out, took) = bearing(token_args(&url)).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    record(&Figure {
        fault: "gateway back on same port",
        client: "bearing token",
        requests: 1,
        failures: 0,
        retries: None,
        elapsed: took,
        recovery: Some(took),
        reported: "exit 0".into(),
    });
}

/// A gateway that never answers: `bearing token` gives up at its 30 s request timeout and
/// `bearing call` after three such attempts (`--timeout` bounds both: see
/// `cli_timeout_flag_bounds_a_stall`). Ignored in CI for its length;
/// `scripts/faults.sh` runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "takes 2 minutes: the CLI's default request timeout is 30 s"]
async fn cli_gives_up_on_a_stall() {
    let srv = Broken::start(Mode::Stall).await;
    let (out, took) = bearing(token_args(&srv.token_url())).await;
    assert!(took < Duration::from_secs(40), "{took:?}");
    check_cli(
        "stall (never answers)",
        "bearing token",
        &out,
        took,
        3,
        &["timed out", "timeout"],
        1,
    );
    let (out, took) = bearing(call_args(&srv.token_url(), &format!("{}/api", srv.base))).await;
    assert!(took < Duration::from_secs(120), "{took:?}");
    let seen = srv.requests.load(std::sync::atomic::Ordering::Relaxed);
    check_cli(
        "stall (never answers)",
        "bearing call",
        &out,
        took,
        3,
        &["timed out", "timeout"],
        seen - 1,
    );
}

// `--timeout` bounds the whole command on a gateway that accepts and never answers: token
// and call give up within it (plus process start), exit 3, and say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_timeout_flag_bounds_a_stall() {
    let srv = Broken::start(Mode::Stall).await;
    let mut args = token_args(&srv.token_url());
    args.extend(["--timeout".into(), "1s".into()]);
    let (out, took) = bearing(args).await;
    assert!(took < Duration::from_secs(6), "{took:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("timed out") || err.contains("timeout"),
        "{err}"
    );

    let mut args = call_args(&srv.token_url(), &format!("{}/api", srv.base));
    args.extend(["--timeout".into(), "2s".into()]);
    let (out, took) = bearing(args).await;
    assert!(took < Duration::from_secs(7), "{took:?}");
    let err = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("no answer within 2s"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}
