//! Integration tests of the token client and manager against a real HTTP server on
//! 127.0.0.1:0 that checks the portal's request format and counts what it receives:
//! refresh-ahead on an injected clock, single-flight under 1,000 callers, one retry after
//! a 401, no storm against an always-401 API, retries on 503 + Retry-After only, typed
//! errors for HTML 502 pages, and the TLS options (CA bundle, mTLS).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bearing_auth::TlsFailure;
use bearing_auth::{Algorithm, Error, ManualClock, SharedClock};
use bearing_auth::{
    Deviation, ErrorBodyFormat, ErrorCode, ManagerConfig, TokenClient, TokenClientOptions,
    TokenError, TokenManager,
};
use common::{Gateway, Reply};
use serde_json::json;

fn client(gw: &Gateway) -> TokenClient {
    TokenClient::new(gw.token_url(), &TokenClientOptions::default()).expect("client")
}

fn manager_with(gw: &Gateway, clock: &ManualClock, config: ManagerConfig) -> TokenManager {
    let shared: SharedClock = Arc::new(clock.clone());
    let signer = common::signer(gw.token_url().as_str(), Arc::clone(&shared));
    TokenManager::new(signer, client(gw), shared, config).expect("manager")
}

fn manager(gw: &Gateway, clock: &ManualClock) -> TokenManager {
    manager_with(gw, clock, ManagerConfig::default())
}

/// Calls the gateway's API through the manager, returning the final status.
async fn call_api(m: &TokenManager, url: &str) -> (u16, bool) {
    let http = m.client().http().clone();
    let out = m
        .call(|token| {
            let req = http.get(url).bearer_auth(token.expose());
            async move { req.send().await }
        })
        .await
        .expect("token");
    (
        out.response.expect("api reachable").status().as_u16(),
        out.retried,
    )
}

// The request is byte-exact (checked server-side) and a string expires_in is understood
// and flagged; latency is measured.
#[tokio::test]
async fn request_format_and_string_expires_in() {
    let gw = common::start().await;
    gw.state.set_expires_in(json!("180"));
    let clock: SharedClock = Arc::new(ManualClock::starting_now());
    let signer = common::signer(gw.token_url().as_str(), clock);
    let a = signer.sign().expect("assertion");
    let r = client(&gw).request_token(&a).await.expect("token");
    assert_eq!(gw.state.bad_requests(), Vec::<String>::new());
    assert_eq!(gw.state.jtis(), vec![a.jti().expect("jti").to_owned()]);
    assert_eq!(r.expires_in, Some(Duration::from_secs(180)));
    assert_eq!(r.deviations, vec![Deviation::ExpiresInString]);
    assert!(r.latency > Duration::ZERO);
    assert!(r.access_token.expose().starts_with("tok0001"));
}

// Refresh-ahead on a manual clock: cached until 80 % of 180 s, then exactly one refresh;
// an expired token is never handed out.
#[tokio::test]
async fn refresh_ahead_with_manual_clock() {
    let gw = common::start().await;
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let t1 = m.token().await.expect("t1");
    clock.advance(Duration::from_secs(143));
    assert_eq!(m.token().await.expect("cached"), t1);
    assert_eq!(gw.state.token_requests(), 1);
    clock.advance(Duration::from_secs(2)); // 145 s > 144 s: refresh ahead of expiry
    let t2 = m.token().await.expect("t2");
    assert_ne!(t2, t1);
    assert_eq!(m.token().await.expect("cached"), t2);
    assert_eq!(gw.state.token_requests(), 2);
    assert_eq!(m.stats().refreshes_ahead, 1);
    clock.advance(Duration::from_secs(181)); // t2 has expired: a blocking fetch
    let t3 = m.token().await.expect("t3");
    assert_ne!(t3, t2);
    assert_eq!(gw.state.token_requests(), 3);
    assert_eq!(m.stats().refreshes_ahead, 1);
    let jtis: HashSet<_> = gw.state.jtis().into_iter().collect();
    assert_eq!(jtis.len(), 3, "every request carries a new jti");
}

// A token shorter-lived than the 30 s margin is still used: 2 s tokens refresh after 1 s.
#[tokio::test]
async fn short_lifetime_below_margin_is_usable() {
    let gw = common::start().await;
    gw.state.set_expires_in(json!(2));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let t1 = m.token().await.expect("t1");
    clock.advance(Duration::from_millis(900));
    assert_eq!(m.token().await.expect("cached"), t1);
    assert_eq!(gw.state.token_requests(), 1);
    clock.advance(Duration::from_millis(200));
    assert_ne!(m.token().await.expect("t2"), t1);
    assert_eq!(gw.state.token_requests(), 2);
}

// 1,000 tasks asking at once cause exactly one token request, and all get that token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_concurrent_callers_one_request() {
    let gw = common::start().await;
    gw.state.set_token_delay(Duration::from_millis(100));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.token().await })
        })
        .collect();
    let mut tokens = HashSet::new();
    for t in tasks {
        tokens.insert(t.await.expect("join").expect("token").expose().to_owned());
    }
    assert_eq!(gw.state.token_requests(), 1);
    assert_eq!(tokens.len(), 1);
    let s = m.stats();
    assert_eq!((s.token_requests, s.tokens_issued, s.jtis_used), (1, 1, 1));
    assert_eq!(s.cache_hits, 999);
}

// Concurrent callers waiting on a failing fetch share its error: one request, not 20.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_failure() {
    let gw = common::start().await;
    gw.state.set_token_delay(Duration::from_millis(100));
    gw.state
        .push(Reply::json(400, &json!({"error": "invalid_grant"})));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let m = m.clone();
            tokio::spawn(async move { m.token().await })
        })
        .collect();
    for t in tasks {
        let e = t.await.expect("join").expect_err("refused");
        assert!(
            matches!(&e, Error::Token(t) if t.code() == Some(&ErrorCode::InvalidGrant)),
            "{e}"
        );
    }
    assert_eq!(gw.state.token_requests(), 1);
    assert_eq!(m.stats().failures, 1);
}

// A 401 from the API: the token is dropped, exactly one new token is fetched with a new
// assertion (different jti, RS256 here), and the call is retried once and succeeds.
#[tokio::test]
async fn unauthorized_gets_one_new_token_and_one_retry() {
    let gw = common::start().await;
    let clock = ManualClock::starting_now();
    let shared: SharedClock = Arc::new(clock.clone());
    let signer = common::signer_with(
        Algorithm::RS256,
        gw.token_url().as_str(),
        Arc::clone(&shared),
    );
    let m =
        TokenManager::new(signer, client(&gw), shared, ManagerConfig::default()).expect("manager");
    assert_eq!(call_api(&m, &gw.api_url()).await, (200, false));
    gw.state.revoke_all(); // the gateway forgets the token before it expires
    assert_eq!(call_api(&m, &gw.api_url()).await, (200, true));
    assert_eq!(gw.state.token_requests(), 2);
    assert_eq!(gw.state.api_calls(), 3);
    let jtis = gw.state.jtis();
    assert_eq!(jtis.len(), 2);
    assert_ne!(jtis[0], jtis[1]);
    assert_eq!(m.stats().unauthorized_retries, 1);
    assert_eq!(gw.state.bad_requests(), Vec::<String>::new());
}

// An API that always answers 401: exactly 2 calls and 2 token requests, then the 401 is
// returned to the caller. No loop.
#[tokio::test]
async fn always_401_is_not_a_storm() {
    let gw = common::start().await;
    gw.state.api_always_401.store(true, Ordering::SeqCst);
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    assert_eq!(call_api(&m, &gw.api_url()).await, (401, true));
    assert_eq!(gw.state.api_calls(), 2);
    assert_eq!(gw.state.token_requests(), 2);
}

// 50 concurrent callers against an always-401 API, all holding the first token when the
// 401s arrive: each calls exactly twice and the whole group causes exactly 2 token requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn always_401_concurrent_callers_are_bounded() {
    const N: usize = 50;
    let gw = common::start().await;
    gw.state.api_always_401.store(true, Ordering::SeqCst);
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let barrier = Arc::new(tokio::sync::Barrier::new(N));
    let tasks: Vec<_> = (0..N)
        .map(|_| {
            let (m, barrier, url) = (m.clone(), Arc::clone(&barrier), gw.api_url());
            tokio::spawn(async move {
                let http = m.client().http().clone();
                m.call(|token| {
                    let (req, barrier) = (
                        http.get(&url).bearer_auth(token.expose()),
                        Arc::clone(&barrier),
                    );
                    // Every caller holds its token before any of them calls the API.
                    async move {
                        barrier.wait().await;
                        req.send().await.map(|r| r.status().as_u16())
                    }
                })
                .await
            })
        })
        .collect();
    for t in tasks {
        let out = t.await.expect("join").expect("token");
        assert_eq!(out.response.expect("reachable"), 401);
        assert!(out.retried);
    }
    assert_eq!(gw.state.api_calls(), 2 * N);
    assert_eq!(gw.state.token_requests(), 2);
    assert_eq!(m.stats().unauthorized_retries, N as u64);
}

// 503 with Retry-After: 1, then 200: retried after the delay, with a fresh assertion.
#[tokio::test]
async fn retry_after_503_is_honoured() {
    let gw = common::start().await;
    gw.state.push(
        Reply::json(503, &json!({"error": "temporarily_unavailable"}))
            .with_header("retry-after", "1"),
    );
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let started = Instant::now();
    m.token().await.expect("token after retry");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(gw.state.token_requests(), 2);
    let s = m.stats();
    assert_eq!(
        (s.token_request_retries, s.failures, s.jtis_used),
        (1, 0, 2)
    );
    let jtis = gw.state.jtis();
    assert_ne!(jtis[0], jtis[1]);
}

// A Retry-After longer than max_retry_after ends the fetch at once instead of hanging.
#[tokio::test]
async fn retry_after_beyond_cap_fails_fast() {
    let gw = common::start().await;
    gw.state
        .push(Reply::json(429, &json!({})).with_header("retry-after", "3600"));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let e = m.token().await.expect_err("refused");
    assert!(
        matches!(&e, Error::Token(t) if t.status() == 429 && t.retry_after() == Some(Duration::from_secs(3600))),
        "{e}"
    );
    assert_eq!(gw.state.token_requests(), 1);
}

// 5xx without Retry-After: bounded attempts with backoff, then the last error.
#[tokio::test]
async fn persistent_5xx_is_bounded() {
    let gw = common::start().await;
    for _ in 0..5 {
        gw.state
            .push(Reply::json(500, &json!({"error": "server_error"})));
    }
    let clock = ManualClock::starting_now();
    let config = ManagerConfig {
        initial_backoff: Duration::from_millis(5),
        ..Default::default()
    };
    let m = manager_with(&gw, &clock, config);
    let e = m.token().await.expect_err("refused");
    assert!(matches!(&e, Error::Token(t) if t.status() == 500), "{e}");
    assert_eq!(gw.state.token_requests(), 3);
    let s = m.stats();
    assert_eq!((s.token_request_retries, s.failures), (2, 1));
}

// 400 invalid_grant is final: no retry, a typed error with code and description.
#[tokio::test]
async fn invalid_grant_is_not_retried() {
    let gw = common::start().await;
    gw.state.push(Reply::json(
        400,
        &json!({"error": "invalid_grant", "error_description": "audience is invalid"}),
    ));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let e = m.token().await.expect_err("refused");
    let Error::Token(TokenError::Rejected(r)) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(r.status, 400);
    assert_eq!(r.code, Some(ErrorCode::InvalidGrant));
    assert_eq!(r.description.as_deref(), Some("audience is invalid"));
    assert_eq!(gw.state.token_requests(), 1);
    // The next call tries again (the failure is not cached), and succeeds.
    m.token().await.expect("token");
    assert_eq!(gw.state.token_requests(), 2);
}

// A load balancer's HTML 502 page becomes a typed, retryable error with a short excerpt.
#[tokio::test]
async fn html_502_is_a_typed_error() {
    let gw = common::start().await;
    gw.state.push(Reply {
        status: 502,
        headers: vec![("content-type", "text/html")],
        body: "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".into(),
    });
    let clock = ManualClock::starting_now();
    let config = ManagerConfig {
        max_attempts: 1,
        ..Default::default()
    };
    let m = manager_with(&gw, &clock, config);
    let e = m.token().await.expect_err("refused");
    let Error::Token(t) = &e else { panic!("{e:?}") };
    assert!(t.is_retryable());
    let r = t.response().expect("rejected");
    assert_eq!((r.status, r.format), (502, ErrorBodyFormat::NonJson));
    assert_eq!(
        r.excerpt.as_deref(),
        Some("502 Bad Gateway 502 Bad Gateway nginx")
    );
}

// A redirect is not followed: the assertion goes to the configured URL only.
#[tokio::test]
async fn redirects_are_not_followed() {
    let gw = common::start().await;
    let clock: SharedClock = Arc::new(ManualClock::starting_now());
    let a = common::signer(gw.token_url().as_str(), clock)
        .sign()
        .expect("assertion");
    let c = TokenClient::new(gw.moved_url(), &TokenClientOptions::default()).expect("client");
    let e = c.request_token(&a).await.expect_err("redirect");
    let Error::Token(t) = &e else { panic!("{e:?}") };
    assert_eq!(t.status(), 307);
    assert_eq!(
        t.response().and_then(|r| r.location.as_deref()),
        Some("/oauth/token")
    );
    assert!(e.to_string().contains("not followed"), "{e}");
    assert_eq!(gw.state.token_requests(), 0);
}

// A CA bundle that is garbage, missing, or holds no certificate: errors naming the file.
#[test]
fn bad_ca_file_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = url::Url::parse("https://127.0.0.1:1/oauth/token").expect("url");
    let garbage = dir.path().join("garbage-ca.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .expect("write");
    let empty = dir.path().join("no-certs.pem");
    std::fs::write(&empty, "just text\n").expect("write");
    for path in [garbage, empty, dir.path().join("missing.pem")] {
        let opts = TokenClientOptions {
            ca_bundle: Some(path.clone()),
            ..Default::default()
        };
        let e = TokenClient::new(url.clone(), &opts).expect_err("refused");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
    }
}

// mTLS end to end: with the CA bundle and the client certificate the token request
// succeeds; without the certificate, or without the CA, it fails with an Http error.
#[tokio::test]
async fn mtls_and_ca_bundle() {
    let pki = common::tls::pki();
    let gw = common::tls::start_mtls(&pki).await;
    let clock: SharedClock = Arc::new(ManualClock::starting_now());
    let a = common::signer(gw.token_url().as_str(), clock)
        .sign()
        .expect("assertion");
    let full = TokenClientOptions {
        ca_bundle: Some(pki.path("ca.pem")),
        ca_bundle_only: true,
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("client.key")),
        ..Default::default()
    };
    let r = TokenClient::new(gw.token_url(), &full)
        .expect("client")
        .request_token(&a)
        .await;
    assert!(r.is_ok(), "{r:?}");

    // The CA added to the system roots instead of replacing them.
    let merged = TokenClientOptions {
        ca_bundle_only: false,
        ..full.clone()
    };
    let r = TokenClient::new(gw.token_url(), &merged)
        .expect("client")
        .request_token(&a)
        .await;
    assert!(r.is_ok(), "{r:?}");

    let no_client_cert = TokenClientOptions {
        client_cert: None,
        client_key: None,
        ..full.clone()
    };
    let e = TokenClient::new(gw.token_url(), &no_client_cert)
        .expect("client")
        .request_token(&a)
        .await
        .expect_err("server requires a client certificate");
    assert!(matches!(e, Error::Http { .. }), "{e}");

    let no_ca = TokenClientOptions {
        ca_bundle: None,
        ca_bundle_only: false,
        ..full.clone()
    };
    let e = TokenClient::new(gw.token_url(), &no_ca)
        .expect("client")
        .request_token(&a)
        .await
        .expect_err("unknown issuer");
    let Error::Http { reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert!(!reason.contains(a.expose()));
    assert_eq!(gw.state.token_requests(), 2);
}

// A client key that does not belong to the client certificate is refused up front,
// naming both files.
#[test]
fn mismatched_client_key_names_both_files() {
    let pki = common::tls::pki();
    let opts = TokenClientOptions {
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("other.key")),
        ..Default::default()
    };
    let url = url::Url::parse("https://127.0.0.1:1/oauth/token").expect("url");
    let e = TokenClient::new(url, &opts).expect_err("mismatch");
    let msg = e.to_string();
    assert!(
        msg.contains("client.pem") && msg.contains("other.key"),
        "{msg}"
    );
}

// The danger option builds (and is the only way to skip verification).
#[tokio::test]
async fn danger_accept_invalid_certs_reaches_a_self_signed_server() {
    let pki = common::tls::pki();
    let gw = common::tls::start_mtls(&pki).await;
    let clock: SharedClock = Arc::new(ManualClock::starting_now());
    let a = common::signer(gw.token_url().as_str(), clock)
        .sign()
        .expect("assertion");
    let opts = TokenClientOptions {
        danger_accept_invalid_certs: true,
        client_cert: Some(pki.path("client.pem")),
        client_key: Some(pki.path("client.key")),
        ..Default::default()
    };
    let r = TokenClient::new(gw.token_url(), &opts)
        .expect("client")
        .request_token(&a)
        .await;
    assert!(r.is_ok(), "{r:?}");
}

// With tokio's clock paused, a Retry-After of 30 s is honoured without the test waiting:
// virtual time moves by at least 30 s between the two requests.
#[tokio::test(start_paused = true)]
async fn retry_after_on_paused_clock() {
    let gw = common::start().await;
    gw.state
        .push(Reply::json(503, &json!({})).with_header("retry-after", "30"));
    let clock = ManualClock::starting_now();
    let m = manager(&gw, &clock);
    let started = tokio::time::Instant::now();
    let wall = Instant::now();
    m.token().await.expect("token after retry");
    assert!(
        started.elapsed() >= Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        wall.elapsed() < Duration::from_secs(10),
        "{:?}",
        wall.elapsed()
    );
    assert_eq!(gw.state.token_requests(), 2);
}

// Real handshakes for the certificate classes a CA bundle cannot fix: an expired
// certificate and one for another host each get their own cause and fix, are not retried,
// and never carry the assertion.
#[tokio::test]
async fn expired_and_wrong_host_are_explained() {
    let dir = tempfile::tempdir().expect("tmp");
    let ca = common::tls::ca(dir.path());
    let opts = TokenClientOptions {
        ca_bundle: Some(dir.path().join("ca.pem")),
        ..Default::default()
    };
    let localhost = rcgen::SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let other = rcgen::SanType::DnsName("other.example".try_into().expect("dns"));
    for (san, expired, class, words) in [
        (localhost.clone(), true, TlsFailure::Expired, "renew"),
        (other, false, TlsFailure::WrongHost, "subjectAltName"),
        (localhost, false, TlsFailure::Other, ""),
    ] {
        let (cert, key) = common::tls::issue(&ca, san, expired);
        let gw = common::tls::start_with(cert, key).await;
        let clock: SharedClock = Arc::new(ManualClock::starting_now());
        let a = common::signer(gw.token_url().as_str(), clock)
            .sign()
            .expect("assertion");
        let r = TokenClient::new(gw.token_url(), &opts)
            .expect("client")
            .request_token(&a)
            .await;
        if class == TlsFailure::Other {
            assert!(r.is_ok(), "a valid certificate: {r:?}");
            continue;
        }
        let e = r.expect_err("refused");
        let Error::Http {
            reason, retryable, ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(reason.contains(words), "{class:?}: {reason}");
        assert!(!retryable, "{reason}");
        assert!(!reason.contains(a.expose()));
    }
}
