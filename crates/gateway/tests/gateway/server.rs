//! The running server: spawn, end-to-end token + API call over HTTP, parallel replay, no
//! outbound fetch for `jku`/`x5u`, expiry, memory bound, faults, admin API and TLS.

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{AssertionSigner, Clock as _, ManualClock};
use bearing_gateway::{GatewayConfig, StateOptions, spawn, spawn_with};
use serde_json::{Value, json};

use crate::support::{CLIENT, keys, sign_with};

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client")
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
        .form(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("assertion", assertion)])
        .send()
        .await
        .expect("token request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

// spawn() serves the token endpoint and the default API over real HTTP; health and metrics answer.
#[tokio::test]
async fn spawn_end_to_end() {
    let gw = spawn(GatewayConfig::sandbox(vec![(CLIENT.into(), keys().cert.clone())])).await.expect("spawn");
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
        .header("content-type", "application/soap+xml;charset=UTF-8; action=\"store\"")
        .body("<soap/>")
        .send()
        .await
        .expect("api");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").contains("InventoryResponse"));
    let r = c.get(format!("{}/health", gw.base_url)).send().await.expect("health");
    assert_eq!(r.status(), 200);
    let m = c.get(format!("{}/metrics", gw.base_url)).send().await.expect("metrics").text().await.expect("text");
    assert!(m.contains("bearing_token_requests_total{outcome=\"issued\",error=\"\"} 1"), "{m}");
    assert!(m.contains("bearing_api_requests_total{api=\"inventory\",status=\"200\"} 2"), "{m}");
    gw.shutdown().await;
}
