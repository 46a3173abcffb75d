//! Shared fixtures of the fuzz targets: one gateway router built once per process and driven
//! with `oneshot` (no socket), a registered ES256 key (fast to sign) for targets that build
//! signed assertions, and the checks every answer must pass: never a 5xx, always JSON.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Body;
use bearing_auth::{Algorithm, Certificate, GatewayProfile, SigningKey};
use bearing_gateway::{AppState, GatewayConfig, router};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

/// The registered client id.
pub const CLIENT: &str = "SampleConfId";
/// The token URL the gateway accepts as audience under `oneshot`.
pub const TOKEN_URL: &str = "http://127.0.0.1/oauth/token";
/// The form-encoded jwt-bearer grant type.
pub const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

/// A gateway state and router with one ES256 client, and a runtime to drive it.
pub struct Gateway {
    /// The state (for sweeping the stores between inputs).
    pub state: AppState,
    /// The router.
    pub router: axum::Router,
    /// Drives `oneshot`.
    pub rt: tokio::runtime::Runtime,
    /// The registered client's key.
    pub key: SigningKey,
}

/// The process-wide gateway.
pub fn gateway() -> &'static Gateway {
    static G: OnceLock<Gateway> = OnceLock::new();
    G.get_or_init(|| {
        let key = SigningKey::generate(Algorithm::ES256, 0).expect("key");
        let cert = Certificate::self_signed(&key, CLIENT, 30).expect("certificate");
        let mut config = GatewayConfig::sandbox(vec![(CLIENT.to_owned(), cert)]);
        let mut profile = GatewayProfile::rfc_strict();
        profile.allowed_algs = vec![Algorithm::RS256, Algorithm::ES256];
        config.profile_override = Some(profile);
        let state = AppState::new(config).expect("gateway state");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Gateway {
            router: router(state.clone()),
            state,
            rt,
            key,
        }
    })
}

impl Gateway {
    /// Sends a request through the router; panics (a finding) on a 5xx or a non-JSON body.
    pub fn send_and_check(&self, req: http::Request<Body>) {
        let (status, body) = self.rt.block_on(async {
            let resp = self
                .router
                .clone()
                .oneshot(req)
                .await
                .expect("the router is infallible");
            let status = resp.status().as_u16();
            let body = resp.into_body().collect().await.expect("body").to_bytes();
            (status, body)
        });
        assert!(
            status < 500,
            "status {status}: {}",
            String::from_utf8_lossy(&body)
        );
        if status != 204 {
            assert!(
                serde_json::from_slice::<serde_json::Value>(&body).is_ok(),
                "status {status}, not JSON: {}",
                String::from_utf8_lossy(&body)
            );
        }
    }

    /// A valid signed assertion for the registered client (fresh `jti`).
    pub fn assertion(&self) -> String {
        let now = now_secs();
        let claims = format!(
            r#"{{"iss":"{CLIENT}","sub":"{CLIENT}","aud":"{TOKEN_URL}","iat":{now},"exp":{},"jti":"j{}"}}"#,
            now + 60,
            next_id()
        );
        self.sign(br#"{"alg":"ES256","typ":"JWT"}"#, claims.as_bytes())
    }

    /// Signs raw header and claims bytes with the registered key.
    pub fn sign(&self, header: &[u8], claims: &[u8]) -> String {
        bearing_auth::sign_raw(&self.key, Algorithm::ES256, header, claims).expect("sign")
    }
}

/// Wall-clock seconds.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A process-unique counter, for `jti`s.
pub fn next_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Replaces the placeholders seeds use so that mutations stay near valid input:
/// `$NOW` (now), `$EXP` (now + 60 s), `$JTI` (a fresh id), `$ASSERTION` (a valid assertion).
pub fn expand(text: &str, g: &Gateway) -> String {
    let now = now_secs();
    let mut s = text
        .replace("$NOW", &now.to_string())
        .replace("$EXP", &(now + 60).to_string())
        .replace("$JTI", &format!("j{}", next_id()));
    if s.contains("$ASSERTION") {
        s = s.replace("$ASSERTION", &g.assertion());
    }
    s
}
