//! A sandbox gateway in this process with a fresh identity, and a target describing it, so
//! the runner reaches it over HTTP exactly as it would a real gateway.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, ApiSpec, Certificate, GatewayProfile, SigningKey, Target};
use bearing_conform::{CaseOutcome, RunConfig, RunSummary, RunTargetSpec};
use bearing_gateway::{ApiConfig, GatewayConfig, RunningGateway};

/// The client id the test sandbox registers.
pub const CLIENT_ID: &str = "SampleConfId";

/// A running sandbox and the target that reaches it.
pub struct Sandbox {
    pub gateway: RunningGateway,
    pub target: Target,
    _dir: tempfile::TempDir,
}

/// Starts a sandbox that behaves by `gateway_profile`, with the portal's inventory API and a
/// second API (`orders`) so a client can be registered that may not call inventory.
pub async fn sandbox(gateway_profile: GatewayProfile) -> Sandbox {
    sandbox_with(gateway_profile, Vec::new()).await
}

/// Like [`sandbox`], with more clients registered in the configuration.
pub async fn sandbox_with(
    gateway_profile: GatewayProfile,
    extra: Vec<(String, Certificate)>,
) -> Sandbox {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
    let cert = Certificate::self_signed(&key, CLIENT_ID, 1).expect("cert");
    let dir = tempfile::tempdir().expect("tempdir");
    let key_path = dir.path().join("private.pem");
    let cert_path = dir.path().join("cert.pem");
    std::fs::write(&key_path, key.to_pkcs8_pem().as_bytes()).expect("write key");
    std::fs::write(&cert_path, cert.to_pem()).expect("write cert");
    let mut clients = vec![(CLIENT_ID.to_owned(), cert)];
    clients.extend(extra);
    let mut config = GatewayConfig::sandbox(clients);
    config.token_lifetime = None;
    config.profile_override = Some(gateway_profile);
    config.apis.push(ApiConfig {
        name: "orders".into(),
        path: "/bnpapi/v1/store/orders".into(),
        methods: vec!["GET".into(), "POST".into()],
        scope: None,
        response: None,
    });
    let gateway = bearing_gateway::spawn(config)
        .await
        .expect("sandbox starts");
    let api_url = gateway.api_url("inventory").expect("inventory api");
    let target = Target {
        token_url: gateway.token_url.parse().expect("url"),
        audience: None,
        client_id: CLIENT_ID.into(),
        private_key: key_path,
        certificate: Some(cert_path),
        profile: None,
        apis: vec![ApiSpec {
            name: "inventory".into(),
            method: "GET".into(),
            url: api_url.parse().expect("url"),
            headers: BTreeMap::new(),
            body_file: None,
            body: None,
        }],
        tls: Default::default(),
        assertion: Default::default(),
        http2: false,
        admin_url: Some(gateway.admin_url.parse().expect("url")),
        admin_secret: Some(gateway.admin_secret.clone()),
        identities: Vec::new(),
        identities_dir: None,
        fleet: Vec::new(),
        origin: None,
    };
    Sandbox {
        gateway,
        target,
        _dir: dir,
    }
}

/// A built-in profile with the sandbox's short token lifetime (30 s), the way the same profile
/// drives both sides.
pub fn profile(name: &str) -> GatewayProfile {
    let mut p = GatewayProfile::builtin(name).expect("built-in profile");
    p.access_token_lifetime = Duration::from_secs(30);
    p
}

/// Runs every bundled suite against `target`, expecting `profile`.
pub async fn run_bundled(target: Target, profile: GatewayProfile) -> RunSummary {
    let suites = bearing_conform::bundled().expect("bundled suites");
    let spec = RunTargetSpec {
        target,
        profile,
        second: None,
    };
    let config = RunConfig {
        concurrency: 4,
        ..RunConfig::default()
    };
    bearing_conform::run(&suites, spec, config, Arc::new(bearing_conform::Quiet))
        .await
        .expect("run")
}

/// The ids of cases with this outcome.
pub fn ids(s: &RunSummary, o: CaseOutcome) -> Vec<String> {
    s.cases
        .iter()
        .filter(|c| c.outcome == o)
        .map(|c| c.id.clone())
        .collect()
}

/// A one-line-per-case account of everything that did not pass, for assertion messages.
pub fn not_passed(s: &RunSummary) -> String {
    s.cases
        .iter()
        .filter(|c| c.outcome != CaseOutcome::Pass)
        .map(|c| format!("{} {}: {}", c.outcome, c.id, c.reason))
        .collect::<Vec<_>>()
        .join("\n")
}
