//! Runs the sandbox gateway for an external load tool: registers a fresh client, obtains a
//! one-hour access token over HTTP, prints `API_URL=…` and `TOKEN=…` lines, then serves until
//! SIGINT (ctrl-c). Used by `scripts/api-throughput.sh` (wrk or oha against the
//! protected API route).
//!
//! Run: `cargo run --release -p bearing-gateway --example api_server`.

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, AssertionSigner, Certificate, SigningKey};
use bearing_gateway::GatewayConfig;

#[tokio::main]
async fn main() {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
    let cert = Certificate::self_signed(&key, "SampleConfId", 1).expect("cert");
    let mut cfg = GatewayConfig::sandbox(vec![("SampleConfId".to_owned(), cert)]);
    cfg.token_lifetime = Some(Duration::from_secs(3600));
    if let Ok(addr) = std::env::var("LISTEN") {
        cfg.listen = addr.parse().expect("LISTEN is host:port");
    }
    let gw = bearing_gateway::spawn(cfg).await.expect("gateway starts");
    let assertion = AssertionSigner::builder(key, "SampleConfId")
        .audience(gw.token_url.as_str())
        .build()
        .expect("signer")
        .sign()
        .expect("sign");
    let body: serde_json::Value = reqwest::Client::new()
        .post(&gw.token_url)
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", assertion.expose()),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    println!("API_URL={}", gw.api_url("inventory").expect("api"));
    println!(
        "TOKEN={}",
        body["access_token"].as_str().expect("access_token")
    );
    println!("ADMIN_URL={}", gw.admin_url);
    println!("ADMIN_SECRET={}", gw.admin_secret);
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("cannot wait for ctrl-c: {e}");
    }
    gw.shutdown().await;
}
