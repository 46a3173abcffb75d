//! A small scripted gateway for the token tests: a real axum server on 127.0.0.1:0 whose
//! token endpoint checks the request exactly as the portal specifies, counts requests,
//! records each assertion's `jti`, and answers from a script (then with fresh tokens);
//! and whose `/api` accepts only tokens it issued and has not revoked.

use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bearing_auth::FORM_CONTENT_TYPE;
use bearing_auth::{Algorithm, AssertionSigner, DecodedJwt, SharedClock, SigningKey};
use serde_json::{Value, json};

pub mod tls;

/// One scripted answer of the token endpoint.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, &'static str)>,
    pub body: String,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            headers: vec![("content-type", "application/json")],
            body: body.to_string(),
        }
    }
    pub fn with_header(mut self, name: &'static str, value: &'static str) -> Self {
        self.headers.push((name, value));
        self
    }
}

/// What the gateway saw and how it behaves.
#[derive(Debug)]
pub struct GatewayState {
    pub token_requests: AtomicUsize,
    pub api_calls: AtomicUsize,
    /// `jti` of every assertion received, in order.
    pub jtis: Mutex<Vec<String>>,
    /// Requests that broke the portal's request format, with why.
    pub bad_requests: Mutex<Vec<String>>,
    /// `expires_in` of issued tokens, as JSON (number or string).
    pub expires_in: Mutex<Value>,
    /// Answers given before falling back to issuing tokens.
    pub script: Mutex<VecDeque<Reply>>,
    /// Held before answering a token request, so concurrent callers overlap.
    pub token_delay: Mutex<Duration>,
    /// When set, `/api` answers 401 whatever the token.
    pub api_always_401: AtomicBool,
    valid: Mutex<HashSet<String>>,
    issued: AtomicUsize,
}

impl GatewayState {
    pub fn token_requests(&self) -> usize {
        self.token_requests.load(Ordering::SeqCst)
    }
    pub fn api_calls(&self) -> usize {
        self.api_calls.load(Ordering::SeqCst)
    }
    pub fn jtis(&self) -> Vec<String> {
        self.jtis.lock().expect("jtis").clone()
    }
    pub fn bad_requests(&self) -> Vec<String> {
        self.bad_requests.lock().expect("bad").clone()
    }
    pub fn push(&self, reply: Reply) {
        self.script.lock().expect("script").push_back(reply);
    }
    pub fn set_expires_in(&self, v: Value) {
        *self.expires_in.lock().expect("expires_in") = v;
    }
    pub fn set_token_delay(&self, d: Duration) {
        *self.token_delay.lock().expect("delay") = d;
    }
    /// Revokes every token issued so far (the API will answer 401 to them).
    pub fn revoke_all(&self) {
        self.valid.lock().expect("valid").clear();
    }
}

/// A running gateway.
pub struct Gateway {
    pub addr: SocketAddr,
    pub state: Arc<GatewayState>,
    /// Whether it speaks TLS (https URLs).
    pub tls: bool,
}

impl Gateway {
    pub fn token_url(&self) -> url::Url {
        url::Url::parse(&format!("{}://{}/oauth/token", self.scheme(), self.addr)).expect("url")
    }
    pub fn api_url(&self) -> String {
        format!("{}://{}/api", self.scheme(), self.addr)
    }
    pub fn moved_url(&self) -> url::Url {
        url::Url::parse(&format!("{}://{}/moved", self.scheme(), self.addr)).expect("url")
    }
    fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// Starts the gateway. The listener is bound before this returns, so connections are
/// accepted (queued by the kernel) from then on: no readiness wait is needed.
pub async fn start() -> Gateway {
    let state = new_state();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = router(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Gateway {
        addr,
        state,
        tls: false,
    }
}

fn new_state() -> Arc<GatewayState> {
    Arc::new(GatewayState {
        token_requests: AtomicUsize::new(0),
        api_calls: AtomicUsize::new(0),
        jtis: Mutex::new(Vec::new()),
        bad_requests: Mutex::new(Vec::new()),
        expires_in: Mutex::new(json!(180)),
        script: Mutex::new(VecDeque::new()),
        token_delay: Mutex::new(Duration::ZERO),
        api_always_401: AtomicBool::new(false),
        valid: Mutex::new(HashSet::new()),
        issued: AtomicUsize::new(0),
    })
}

fn router(state: Arc<GatewayState>) -> Router {
    Router::new()
        .route("/oauth/token", post(token))
        .route("/api", get(api))
        .route("/moved", post(moved))
        .with_state(state)
}

async fn token(State(s): State<Arc<GatewayState>>, headers: HeaderMap, body: Bytes) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    check_request(&s, &headers, &body);
    let delay = *s.token_delay.lock().expect("delay");
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let scripted = s.script.lock().expect("script").pop_front();
    if let Some(r) = scripted {
        let mut resp = (StatusCode::from_u16(r.status).expect("status"), r.body).into_response();
        for (k, v) in r.headers {
            resp.headers_mut()
                .insert(k, v.parse().expect("header value"));
        }
        return resp;
    }
    let n = s.issued.fetch_add(1, Ordering::SeqCst) + 1;
    let tok = format!("tok{n:04}-{}", "x".repeat(24));
    s.valid.lock().expect("valid").insert(tok.clone());
    let expires_in = s.expires_in.lock().expect("expires_in").clone();
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        json!({"access_token": tok, "token_type": "Bearer", "expires_in": expires_in}).to_string(),
    )
        .into_response()
}

/// Checks the portal's request format; records what is wrong and the assertion's jti.
fn check_request(s: &GatewayState, headers: &HeaderMap, body: &[u8]) {
    let mut bad = Vec::new();
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct != FORM_CONTENT_TYPE {
        bad.push(format!("content-type {ct:?}"));
    }
    let text = std::str::from_utf8(body).unwrap_or("");
    const PREFIX: &str =
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=";
    if !text.starts_with(PREFIX) {
        bad.push(format!("body does not start with {PREFIX}"));
    }
    let assertion = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    match DecodedJwt::parse(&assertion) {
        Ok(jwt) => {
            let jti = jwt
                .claims
                .get("jti")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned();
            s.jtis.lock().expect("jtis").push(jti);
        }
        Err(e) => bad.push(format!("assertion does not decode: {e}")),
    }
    s.bad_requests.lock().expect("bad").extend(bad);
}

/// A token URL that moved: 307 keeps the method and body, so following it would resend
/// the assertion.
async fn moved() -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, "/oauth/token")],
    )
        .into_response()
}

async fn api(State(s): State<Arc<GatewayState>>, headers: HeaderMap) -> StatusCode {
    s.api_calls.fetch_add(1, Ordering::SeqCst);
    if s.api_always_401.load(Ordering::SeqCst) {
        return StatusCode::UNAUTHORIZED;
    }
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tok = auth.strip_prefix("Bearer ").unwrap_or("");
    if s.valid.lock().expect("valid").contains(tok) {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

/// An ES256 signer for `aud` on `clock` (ES256 keys generate in microseconds).
pub fn signer(aud: &str, clock: SharedClock) -> AssertionSigner {
    signer_with(Algorithm::ES256, aud, clock)
}

/// A signer with a freshly generated key for `alg`.
pub fn signer_with(alg: Algorithm, aud: &str, clock: SharedClock) -> AssertionSigner {
    let bits = if alg == Algorithm::RS256 { 2048 } else { 0 };
    let key = Arc::new(SigningKey::generate(alg, bits).expect("key"));
    AssertionSigner::builder(key, "SampleConfId")
        .audience(aud)
        .clock(clock)
        .build()
        .expect("signer")
}
