//! Shared fixtures: keys generated once per test binary, a gateway state on a manual clock,
//! raw assertion signing and `oneshot` request helpers.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use bearing_auth::{Algorithm, Certificate, GatewayProfile, ManualClock, SigningKey, sign_raw};
use bearing_gateway::{AppState, GatewayConfig, StateOptions, router};
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The main client id.
pub const CLIENT: &str = "SampleConfId";
/// A second registered client.
pub const OTHER: &str = "OtherClient";
/// The token URL under `oneshot` (no bound address).
pub const TOKEN_URL: &str = "http://127.0.0.1/oauth/token";
/// The RFC 7523 grant type, form-encoded.
pub const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";
/// A fixed start time (2026-11-28T00:00:00Z), ms.
pub const T0: i64 = 1_795_824_000_000;

/// Keys shared by every test (RSA generation is the slow part).
pub struct Keys {
    /// The main client's RSA key.
    pub rsa: Arc<SigningKey>,
    /// Its certificate.
    pub cert: Certificate,
    /// The second client's key.
    pub other: Arc<SigningKey>,
    /// Its certificate.
    pub other_cert: Certificate,
    /// A key nobody registered.
    pub stranger: Arc<SigningKey>,
}

/// The shared keys.
pub fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let rsa = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("rsa key"));
        let other = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("rsa key"));
        let stranger = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("rsa key"));
        Keys {
            cert: Certificate::self_signed(&rsa, CLIENT, 30).expect("cert"),
            other_cert: Certificate::self_signed(&other, OTHER, 30).expect("cert"),
            rsa,
            other,
            stranger,
        }
    })
}

/// A gateway state with both clients on a manual clock at [`T0`].
pub struct Fixture {
    /// The state.
    pub state: AppState,
    /// The router.
    pub router: Router,
    /// The clock.
    pub clock: ManualClock,
    /// The profile.
    pub profile: GatewayProfile,
}

/// The default configuration for fixtures: both clients; `OTHER` may call no API.
pub fn config(profile: &GatewayProfile) -> GatewayConfig {
    let k = keys();
    let mut c = GatewayConfig::sandbox(vec![
        (CLIENT.into(), k.cert.clone()),
        (OTHER.into(), k.other_cert.clone()),
    ]);
    c.profile_override = Some(profile.clone());
    c.token_lifetime = None;
    if let Some(cl) = c.clients.get_mut(CLIENT) {
        cl.scopes = vec!["inventory".into(), "orders".into()];
    }
    c.apis.push(bearing_gateway::ApiConfig {
        name: "orders".into(),
        path: "/bnpapi/v1/orders".into(),
        methods: vec!["GET".into()],
        scope: Some("orders".into()),
        response: None,
    });
    if let Some(cl) = c.clients.get_mut(OTHER) {
        cl.apis = vec!["orders".into()];
    }
    c
}

impl Fixture {
    /// A fixture for `profile` with the default configuration.
    pub fn new(profile: &GatewayProfile) -> Self {
        Self::with_config(profile, config(profile))
    }

    /// A fixture with a custom configuration.
    pub fn with_config(profile: &GatewayProfile, c: GatewayConfig) -> Self {
        let clock = ManualClock::new(T0);
        let state = AppState::with_options(
            c,
            StateOptions {
                clock: Some(Arc::new(clock.clone())),
                ..Default::default()
            },
        )
        .expect("state");
        Self {
            router: router(state.clone()),
            state,
            clock,
            profile: profile.clone(),
        }
    }

    /// Baseline claims (B-JWT of catalog §3): iss = sub = client, aud = token URL, 60 s, jti.
    pub fn claims(&self) -> Value {
        let now = self.clock_secs();
        json!({
            "iss": CLIENT, "sub": CLIENT, "aud": TOKEN_URL,
            "iat": now, "exp": now + 60, "jti": format!("jti-{}", rand::random::<u64>()),
        })
    }

    /// Current clock, seconds.
    pub fn clock_secs(&self) -> i64 {
        use bearing_auth::Clock as _;
        self.clock.now_secs()
    }

    /// Baseline header.
    pub fn header() -> Value {
        json!({ "alg": "RS256", "typ": "JWT" })
    }

    /// Signs `claims` with the main key and the baseline header.
    pub fn sign(&self, claims: &Value) -> String {
        sign_with(&keys().rsa, &Self::header(), claims)
    }

    /// A valid assertion.
    pub fn assertion(&self) -> String {
        self.sign(&self.claims())
    }

    /// `POST /oauth/token` with a form body.
    pub async fn token_form(&self, body: String) -> Reply {
        self.send(
            Request::post("/oauth/token")
                .header(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=UTF-8",
                )
                .body(Body::from(body))
                .expect("request"),
        )
        .await
    }

    /// The baseline token request for `assertion`.
    pub async fn token(&self, assertion: &str) -> Reply {
        self.token_form(format!("grant_type={GRANT}&assertion={assertion}"))
            .await
    }

    /// Gets a token or panics.
    pub async fn access_token(&self) -> String {
        let r = self.token(&self.assertion()).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    /// Sends any request through the router.
    pub async fn send(&self, req: Request<Body>) -> Reply {
        let resp = self.router.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

/// Signs raw JSON values with `key` (RS256 over the given header).
pub fn sign_with(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let alg = header["alg"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .unwrap_or(Algorithm::RS256);
    let alg = if key.kind().fits(alg) {
        alg
    } else {
        Algorithm::RS256
    };
    sign_raw(
        key,
        alg,
        header.to_string().as_bytes(),
        claims.to_string().as_bytes(),
    )
    .expect("sign")
}

/// Signs raw bytes (for duplicate-key JSON that `Value` cannot hold).
pub fn sign_bytes(key: &SigningKey, header: &[u8], claims: &[u8]) -> String {
    sign_raw(key, Algorithm::RS256, header, claims).expect("sign")
}

/// base64url without padding.
pub fn b64(b: &[u8]) -> String {
    B64.encode(b)
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// JSON body (Null when not JSON).
    pub body: Value,
    /// Raw body.
    pub text: String,
}

impl Reply {
    /// The machine-readable error code under either error style.
    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]
            .as_str()
            .or_else(|| self.body["ErrorCode"].as_str())
    }

    /// Asserts a token-endpoint refusal: status, code, JSON and `no-store`.
    pub fn assert_token_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.error_code(), Some(code), "body: {}", self.text);
        assert!(self.body.get("access_token").is_none());
        assert_eq!(self.headers["content-type"], "application/json");
        assert_eq!(self.headers["cache-control"], "no-store");
        let desc = self.body["error_description"]
            .as_str()
            .or_else(|| self.body["Error"].as_str())
            .unwrap_or("");
        assert!(
            desc.bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
            "error_description charset (RFC 6749 §5.2): {desc}"
        );
    }

    /// Asserts a token was issued.
    pub fn assert_issued(&self) {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.text);
        assert!(
            self.body["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        assert_eq!(self.headers["cache-control"], "no-store");
        assert_eq!(self.headers["pragma"], "no-cache");
    }
}
