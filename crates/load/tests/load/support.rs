//! Test support: a trivial axum gateway stand-in on 127.0.0.1:0 (token endpoint, one API
//! that answers 401 to unknown tokens, an optional global stall), keys and targets.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use bearing_auth::{Algorithm, ApiSpec, SigningKey, Target};

/// Shared state of the stand-in server.
#[derive(Debug, Default)]
pub struct Stub {
    pub token_requests: AtomicU64,
    pub api_calls: AtomicU64,
    pub valid: Mutex<HashSet<String>>,
    /// `(after, length)`: from `after` past the first request on, for `length`, every
    /// arriving request waits until the window ends (the whole server stalls).
    pub stall: Mutex<Option<(Duration, Duration)>>,
    first: std::sync::OnceLock<Instant>,
    next: AtomicU64,
}

async fn token(State(s): State<Arc<Stub>>, body: String) -> (StatusCode, HeaderMap, String) {
    s.token_requests.fetch_add(1, Ordering::Relaxed);
    stall(&s).await;
    let mut h = HeaderMap::new();
    h.insert("content-type", "application/json".parse().expect("static"));
    h.insert("cache-control", "no-store".parse().expect("static"));
    if !body.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer") {
        return (
            StatusCode::BAD_REQUEST,
            h,
            r#"{"error":"unsupported_grant_type"}"#.into(),
        );
    }
    let t = format!("tok{}", s.next.fetch_add(1, Ordering::Relaxed));
    s.valid.lock().expect("lock").insert(t.clone());
    (
        StatusCode::OK,
        h,
        format!(r#"{{"access_token":"{t}","token_type":"Bearer","expires_in":180}}"#),
    )
}

async fn api(State(s): State<Arc<Stub>>, headers: HeaderMap) -> StatusCode {
    s.api_calls.fetch_add(1, Ordering::Relaxed);
    stall(&s).await;
    let tok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .to_owned();
    if s.valid.lock().expect("lock").contains(&tok) {
        StatusCode::OK
    } else {
        StatusCode::UNAUTHORIZED
    }
}

async fn revoke(State(s): State<Arc<Stub>>) -> String {
    let mut v = s.valid.lock().expect("lock");
    let n = v.len();
    v.clear();
    format!(r#"{{"revoked":{n}}}"#)
}

async fn stall(s: &Stub) {
    let now = Instant::now();
    let first = *s.first.get_or_init(|| now);
    let plan = *s.stall.lock().expect("lock");
    if let Some((after, length)) = plan {
        let (from, until) = (first + after, first + after + length);
        if now >= from && now < until {
            tokio::time::sleep_until(until.into()).await;
        }
    }
}

/// A running stand-in.
pub struct Server {
    pub base: String,
    pub state: Arc<Stub>,
}

/// Starts the stand-in on 127.0.0.1:0.
pub async fn start() -> Server {
    let state = Arc::new(Stub::default());
    let app = Router::new()
        .route("/oauth/token", post(token))
        .route("/api", get(api).post(api))
        .route("/admin/revoke", post(revoke))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Server {
        base: format!("http://{addr}"),
        state,
    }
}

/// A key file (ES256: fast to sign, so tests measure the loop, not RSA).
pub fn key_file(dir: &std::path::Path, alg: Algorithm) -> PathBuf {
    let key = SigningKey::generate(alg, 2048).expect("generate key");
    let p = dir.join("key.pem");
    std::fs::write(&p, key.to_pkcs8_pem().as_bytes()).expect("write key");
    p
}

/// A target pointing at `base` (token endpoint, API, admin).
pub fn target(base: &str, key: PathBuf) -> Target {
    Target {
        token_url: format!("{base}/oauth/token").parse().expect("url"),
        audience: None,
        client_id: "SampleConfId".into(),
        private_key: key,
        certificate: None,
        profile: None,
        apis: vec![ApiSpec {
            name: "inventory".into(),
            method: "GET".into(),
            url: format!("{base}/api").parse().expect("url"),
            headers: Default::default(),
            body_file: None,
            body: None,
        }],
        tls: Default::default(),
        assertion: Default::default(),
        http2: false,
        admin_url: Some(format!("{base}/admin").parse().expect("url")),
        admin_secret: Some("s3cret".into()),
        identities: Vec::new(),
        identities_dir: None,
        fleet: Vec::new(),
        origin: None,
    }
}

/// A sandbox gateway (bearing-gateway, in-process on 127.0.0.1:0) with a fresh RS256
/// identity registered, and a target for it.
pub async fn sandbox(
    token_lifetime: Option<Duration>,
) -> (bearing_gateway::RunningGateway, Target, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = SigningKey::generate(Algorithm::RS256, 2048).expect("key");
    let cert = bearing_auth::Certificate::self_signed(&key, "SampleConfId", 1).expect("cert");
    let kp = dir.path().join("key.pem");
    std::fs::write(&kp, key.to_pkcs8_pem().as_bytes()).expect("write key");
    let mut config =
        bearing_gateway::GatewayConfig::sandbox(vec![("SampleConfId".to_owned(), cert)]);
    if token_lifetime.is_some() {
        config.token_lifetime = token_lifetime;
    }
    let gw = bearing_gateway::spawn(config)
        .await
        .expect("sandbox starts");
    let mut t = target(&gw.base_url, kp);
    t.token_url = gw.token_url.parse().expect("url");
    t.apis[0].url = gw
        .api_url("inventory")
        .expect("inventory api")
        .parse()
        .expect("url");
    t.admin_url = Some(gw.admin_url.parse().expect("url"));
    t.admin_secret = Some(gw.admin_secret.clone());
    (gw, t, dir)
}

/// Runs a profile (bounded in time) and returns the result.
pub async fn run(profile: &str, target: &Target) -> bearing_load::RunResult {
    let p = bearing_load::LoadProfile::from_yaml(profile, "test.yaml").expect("valid profile");
    let lt = bearing_load::LoadTarget::from_target(target, "").expect("target");
    tokio::time::timeout(
        RUN_LIMIT,
        bearing_load::run(&p, &lt, &bearing_load::RunOptions::default()),
    )
    .await
    .expect("the run ends in time")
    .expect("the run runs")
}

/// Runs goose runs one at a time: goose keeps process-wide state (its logger, its ctrl-c
/// killswitch), and the machine has two cores.
pub fn serial() -> &'static tokio::sync::Mutex<()> {
    static M: std::sync::OnceLock<tokio::sync::Mutex<()>> = std::sync::OnceLock::new();
    M.get_or_init(|| tokio::sync::Mutex::new(()))
}

/// Upper bound for one ~1 s run, setup included.
pub const RUN_LIMIT: Duration = Duration::from_secs(20);
