//! The running server: spawn, end-to-end token + API call over HTTP, parallel replay, no
//! outbound fetch for `jku`/`x5u`, expiry, memory bound, faults, admin API and TLS.

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{AssertionSigner, Clock as _, ManualClock};
use bearing_gateway::{GatewayConfig, StateOptions, spawn, spawn_with};
use serde_json::{Value, json};

use crate::support::{CLIENT, keys, sign_with};

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

fn signer(token_url: &str, clock: Option<ManualClock>) -> AssertionSigner {
    let mut b = AssertionSigner::builder(Arc::clone(&keys().rsa), CLIENT).audience(token_url);
    if let Some(c) = clock {
        b = b.clock(Arc::new(c));
    }
    b.build().expect("signer")
}

async fn get_token(c: &reqwest::Client, token_url: &str, assertion: &str) -> (u16, Value) {
    let r = c
        .post(token_url)
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion),
        ])
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

// spawn() serves the token endpoint and the default API over real HTTP; health and metrics answer.
#[tokio::test]
async fn spawn_end_to_end() {
    let gw = spawn(GatewayConfig::sandbox(vec![(
        CLIENT.into(),
        keys().cert.clone(),
    )]))
    .await
    .expect("spawn");
    assert!(gw.base_url.starts_with("http://127.0.0.1:"));
    assert_eq!(gw.token_url, format!("{}/oauth/token", gw.base_url));
    let c = http();
    let a = signer(&gw.token_url, None).sign().expect("sign");
    let (status, body) = get_token(&c, &gw.token_url, a.expose()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 30);
    let token = body["access_token"].as_str().expect("token");
    let api = gw.api_url("inventory").expect("api url");
    let r = c.get(&api).bearer_auth(token).send().await.expect("api");
    assert_eq!(r.status(), 200);
    let r = c
        .post(&api)
        .bearer_auth(token)
        .header(
            "content-type",
            "application/soap+xml;charset=UTF-8; action=\"store\"",
        )
        .body("<soap/>")
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").contains("InventoryResponse"));
    let r = c
        .get(format!("{}/health", gw.base_url))
        .send()
        .await
        .expect("health");
    assert_eq!(r.status(), 200);
    let m = c
        .get(format!("{}/metrics", gw.base_url))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    assert!(
        m.contains("bearing_token_requests_total{outcome=\"issued\",error=\"\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("bearing_api_requests_total{api=\"inventory\",status=\"200\"} 2"),
        "{m}"
    );
    gw.shutdown().await;
}

// Ten parallel requests with one identical assertion yield exactly one token (race-free replay store).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_identical_assertions_yield_one_token() {
    let gw = spawn(GatewayConfig::sandbox(vec![(
        CLIENT.into(),
        keys().cert.clone(),
    )]))
    .await
    .expect("spawn");
    let c = http();
    for _round in 0..3 {
        let a = signer(&gw.token_url, None)
            .sign()
            .expect("sign")
            .into_compact();
        let barrier = Arc::new(tokio::sync::Barrier::new(10));
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (c, url, a, b) = (
                    c.clone(),
                    gw.token_url.clone(),
                    a.clone(),
                    Arc::clone(&barrier),
                );
                tokio::spawn(async move {
                    b.wait().await;
                    get_token(&c, &url, &a).await
                })
            })
            .collect();
        let mut ok = 0;
        for t in tasks {
            let (status, body) = t.await.expect("task");
            match status {
                200 => ok += 1,
                400 => assert_eq!(body["error"], "invalid_grant"),
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(ok, 1);
    }
    gw.shutdown().await;
}

// jku / x5u pointing at a local listener: the assertion is refused and the listener gets no connection.
#[tokio::test]
async fn jku_and_x5u_are_never_fetched() {
    let trap = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let trap_url = format!("http://{}/keys", trap.local_addr().expect("addr"));
    let gw = spawn(GatewayConfig::sandbox(vec![(
        CLIENT.into(),
        keys().cert.clone(),
    )]))
    .await
    .expect("spawn");
    let c = http();
    let now = bearing_auth::SystemClock.now_secs();
    let claims =
        json!({"iss": CLIENT, "sub": CLIENT, "aud": gw.token_url, "iat": now, "exp": now + 60});
    for param in ["jku", "x5u"] {
        // Signed by an attacker key that the URL would serve: must be refused.
        let h = json!({"alg": "RS256", param: trap_url});
        let a = sign_with(&keys().stranger, &h, &claims);
        let (status, body) = get_token(&c, &gw.token_url, &a).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant")),
            "{body}"
        );
        // Signed by the registered key: accepted on that key alone, still no fetch.
        let mut cl = claims.clone();
        cl["jti"] = json!(format!("j-{param}"));
        let a = sign_with(&keys().rsa, &h, &cl);
        assert_eq!(get_token(&c, &gw.token_url, &a).await.0, 200);
    }
    // A fetch would have connected before the answer was sent: the backlog must be empty.
    use futures::FutureExt as _;
    assert!(
        trap.accept().now_or_never().is_none(),
        "the gateway contacted the jku/x5u URL"
    );
    gw.shutdown().await;
}

// Expiry with a real 1 s token lifetime: valid at once, 401 invalid_token once it lapsed.
#[tokio::test]
async fn short_lifetime_expires() {
    let mut cfg = GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]);
    cfg.token_lifetime = Some(Duration::from_secs(1));
    let gw = spawn(cfg).await.expect("spawn");
    let c = http();
    let (status, body) = get_token(
        &c,
        &gw.token_url,
        signer(&gw.token_url, None).sign().expect("sign").expose(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["expires_in"], 1);
    let token = body["access_token"].as_str().expect("token").to_owned();
    let api = gw.api_url("inventory").expect("api");
    assert_eq!(
        c.get(&api)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call")
            .status(),
        200
    );
    // Poll until the token lapses (bounded), rather than sleeping a fixed time.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let r = loop {
        let r = c.get(&api).bearer_auth(&token).send().await.expect("call");
        if r.status() != 200 || std::time::Instant::now() > deadline {
            break r;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(r.status(), 401);
    let h = r.headers()["www-authenticate"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(h.contains("error=\"invalid_token\""), "{h}");
    gw.shutdown().await;
}

// The admin API: secret required; clock shift expires tokens; lifetime, revoke, counters, runtime clients.
#[tokio::test]
async fn admin_api() {
    let clock = ManualClock::new(1_795_824_000_000);
    let opts = StateOptions {
        clock: Some(Arc::new(clock.clone())),
        ..Default::default()
    };
    let gw = spawn_with(GatewayConfig::sandbox(vec![]), opts)
        .await
        .expect("spawn");
    let c = http();
    let admin = |path: &str| format!("{}{path}", gw.admin_url);
    let r = c.get(admin("/counters")).send().await.expect("counters");
    assert_eq!(r.status(), 401);
    let r = c
        .get(admin("/counters"))
        .header("x-admin-secret", "wrong-secret")
        .send()
        .await
        .expect("counters");
    assert_eq!(r.status(), 401);
    // Register the client at run time with its Base64 DER certificate.
    let r = c
        .post(admin("/clients"))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&json!({"client_id": CLIENT, "certificate": keys().cert.to_base64_der()}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 201);
    let r = c
        .post(admin("/clients"))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&json!({"client_id": "x", "certificate": "not base64 at all"}))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), 400);
    let r = c
        .put(admin("/token-lifetime"))
        .bearer_auth(&gw.admin_secret)
        .json(&json!({"duration": "90s"}))
        .send()
        .await
        .expect("lifetime");
    assert_eq!(r.status(), 200);
    let s = signer(&gw.token_url, Some(clock.clone()));
    let (status, body) = get_token(&c, &gw.token_url, s.sign().expect("sign").expose()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 90);
    let token = body["access_token"].as_str().expect("token").to_owned();
    let api = gw.api_url("inventory").expect("api");
    assert_eq!(
        c.get(&api)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call")
            .status(),
        200
    );
    // Shift the gateway clock past the lifetime: the token is expired.
    let r: Value = c
        .post(admin("/clock/shift"))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&json!({"seconds": 91}))
        .send()
        .await
        .expect("shift")
        .json()
        .await
        .expect("json");
    assert_eq!(r["offset_ms"], 91_000);
    assert_eq!(
        c.get(&api)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call")
            .status(),
        401
    );
    c.post(admin("/clock/reset"))
        .header("x-admin-secret", &gw.admin_secret)
        .send()
        .await
        .expect("reset");
    assert_eq!(
        c.get(&api)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call")
            .status(),
        200
    );
    // Revoke the client's tokens.
    let r: Value = c
        .post(admin(&format!("/revoke/{CLIENT}")))
        .header("x-admin-secret", &gw.admin_secret)
        .send()
        .await
        .expect("revoke")
        .json()
        .await
        .expect("json");
    assert_eq!(r["revoked"], 1);
    assert_eq!(
        c.get(&api)
            .bearer_auth(&token)
            .send()
            .await
            .expect("call")
            .status(),
        401
    );
    let counters: Value = c
        .get(admin("/counters"))
        .header("x-admin-secret", &gw.admin_secret)
        .send()
        .await
        .expect("counters")
        .json()
        .await
        .expect("json");
    assert_eq!(counters["tokens_issued"], 1);
    assert_eq!(counters["api_calls"]["inventory"]["200"], 2);
    assert_eq!(counters["api_calls"]["inventory"]["401"], 2);
    assert_eq!(counters["clients"], 1);
    gw.shutdown().await;
}

// The stores stay bounded: 200k expired tokens and jtis are swept to zero and the maps shrink.
#[test]
fn stores_are_bounded_after_sweeping() {
    use bearing_gateway::{ReplayStore, TokenEntry, TokenStore};
    let client = Arc::new(
        bearing_gateway::Client::new(CLIENT, vec![keys().cert.clone()], vec![], vec![], vec![])
            .expect("client"),
    );
    let (tokens, replay) = (TokenStore::new(), ReplayStore::new());
    let baseline = tokens.capacity();
    for i in 0..200_000i64 {
        tokens.issue(TokenEntry {
            client: Arc::clone(&client),
            scope: None,
            issued_ms: 0,
            expires_ms: 1_000 + i % 7,
            jti: None,
        });
        assert!(replay.check_and_insert(CLIENT, &format!("j{i}"), 1_000, 0));
    }
    assert_eq!((tokens.len(), replay.len()), (200_000, 200_000));
    assert_eq!(tokens.sweep(2_000), 200_000);
    assert_eq!(replay.sweep(2_000), 200_000);
    assert_eq!((tokens.len(), replay.len()), (0, 0));
    assert!(
        tokens.capacity() <= baseline.max(4096),
        "capacity {} after sweep",
        tokens.capacity()
    );
}

// The background sweeper removes tokens once the (shifted) clock passes their expiry.
#[tokio::test]
async fn background_sweeper_frees_expired_tokens() {
    let clock = ManualClock::new(1_795_824_000_000);
    let opts = StateOptions {
        clock: Some(Arc::new(clock.clone())),
        ..Default::default()
    };
    let gw = spawn_with(
        GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]),
        opts,
    )
    .await
    .expect("spawn");
    let c = http();
    let s = signer(&gw.token_url, Some(clock.clone()));
    for _ in 0..3 {
        assert_eq!(
            get_token(&c, &gw.token_url, s.sign().expect("sign").expose())
                .await
                .0,
            200
        );
    }
    assert_eq!(gw.state.tokens().len(), 3);
    assert_eq!(gw.state.replay().len(), 3);
    clock.advance(Duration::from_secs(3600));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while (gw.state.tokens().len() + gw.state.replay().len()) > 0
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(gw.state.tokens().len(), 0);
    assert_eq!(gw.state.replay().len(), 0);
    gw.shutdown().await;
}

// Faults: a certain 429 carries Retry-After; a reset drops the connection without an answer.
#[tokio::test]
async fn injected_faults() {
    let mut cfg = GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]);
    cfg.faults.insert(
        "inventory".into(),
        bearing_gateway::FaultSpec {
            error_429: 1.0,
            retry_after: Duration::from_secs(2),
            ..Default::default()
        },
    );
    let gw = spawn(cfg).await.expect("spawn");
    let c = http();
    let api = gw.api_url("inventory").expect("api");
    let r = c.get(&api).send().await.expect("call");
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "2");
    // Switch to resets through the admin API.
    let r = c
        .put(format!("{}/faults/inventory", gw.admin_url))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&json!({"reset": 1.0}))
        .send()
        .await
        .expect("admin");
    assert_eq!(r.status(), 200);
    let e = c.get(&api).send().await.expect_err("reset");
    assert!(!e.is_status(), "{e}");
    // Latency: a fixed 150 ms on the token route.
    let r = c
        .put(format!("{}/faults/token", gw.admin_url))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&json!({"latency": "150ms"}))
        .send()
        .await
        .expect("admin");
    assert_eq!(r.status(), 200);
    let t0 = std::time::Instant::now();
    let (status, _) = get_token(
        &c,
        &gw.token_url,
        signer(&gw.token_url, None).sign().expect("sign").expose(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let counters = gw.state.counters();
    assert_eq!(
        counters.faults, 2,
        "a 429 and a reset; latency alone is not counted"
    );
    gw.shutdown().await;
}

// TLS with a generated self-signed certificate: token + API over https; plain http is refused.
#[tokio::test]
async fn tls_self_signed() {
    let mut cfg = GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]);
    cfg.tls = Some(bearing_gateway::TlsConfig {
        self_signed: true,
        ..Default::default()
    });
    let gw = spawn(cfg).await.expect("spawn");
    assert!(
        gw.base_url.starts_with("https://127.0.0.1:"),
        "{}",
        gw.base_url
    );
    let pem = gw
        .tls_certificate_pem
        .clone()
        .expect("generated certificate");
    let c = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem")])
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let (status, body) = get_token(
        &c,
        &gw.token_url,
        signer(&gw.token_url, None).sign().expect("sign").expose(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().expect("token");
    let r = c
        .get(gw.api_url("inventory").expect("api"))
        .bearer_auth(token)
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);
    let plain = gw.base_url.replacen("https://", "http://", 1);
    assert!(
        http().get(format!("{plain}/health")).send().await.is_err(),
        "plain http must not be served"
    );
    gw.shutdown().await;
}

// Over the wire (TLS), a client still sending a 1 MiB body reads the 413 rather than a
// reset connection: the gateway drains a refused body (bounded) before it answers. Repeated,
// because without the drain this fails only some of the time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_gets_its_413_over_tls() {
    let mut cfg = GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]);
    cfg.tls = Some(bearing_gateway::TlsConfig {
        self_signed: true,
        ..Default::default()
    });
    let gw = spawn(cfg).await.expect("spawn");
    let pem = gw.tls_certificate_pem.clone().expect("certificate");
    let body = format!(
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
        "a".repeat(1 << 20)
    );
    for i in 0..20 {
        // A fresh connection each time: the race is on the first write.
        let c = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem")])
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let r = c
            .post(&gw.token_url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("attempt {i}: {e:?}"));
        assert_eq!(r.status(), 413, "attempt {i}");
    }
    gw.shutdown().await;
}

/// A CA and a client certificate it signed, as PEM: (ca, client cert, client key).
fn client_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().expect("client key");
    let mut p = CertificateParams::new(vec!["partner-client".to_owned()]).expect("params");
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let cert = p.signed_by(&key, &issuer).expect("client cert");
    (ca.pem(), cert.pem(), key.serialize_pem())
}

// mTLS: with client_cert_required, a client without a certificate cannot connect; one with a
// certificate from the configured CA can.
#[tokio::test]
async fn mtls_client_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (ca, cert, key) = client_pki();
    std::fs::write(dir.path().join("ca.pem"), ca).expect("write");
    let mut cfg = GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())]);
    cfg.tls = Some(bearing_gateway::TlsConfig {
        self_signed: true,
        client_ca: Some(dir.path().join("ca.pem")),
        client_cert_required: true,
        ..Default::default()
    });
    let gw = spawn(cfg).await.expect("spawn");
    let server_ca =
        reqwest::Certificate::from_pem(gw.tls_certificate_pem.as_deref().expect("pem").as_bytes())
            .expect("pem");
    let health = format!("{}/health", gw.base_url);
    let anonymous = reqwest::Client::builder()
        .tls_certs_only([server_ca.clone()])
        .build()
        .expect("client");
    assert!(
        anonymous.get(&health).send().await.is_err(),
        "a client without a certificate must be refused"
    );
    let identity =
        reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).expect("identity");
    let partner = reqwest::Client::builder()
        .tls_certs_only([server_ca])
        .identity(identity)
        .build()
        .expect("client");
    assert_eq!(
        partner.get(&health).send().await.expect("health").status(),
        200
    );
    gw.shutdown().await;
}
