//! The embedded sandbox: every command that is given no target starts `bearing-gateway`
//! in-process on 127.0.0.1 with a fresh key pair, registers it, and talks to it over HTTP
//! like any other gateway.

use std::sync::Arc;

use anyhow::Context as _;
use bearing_auth::{Algorithm, ApiSpec, Certificate, SigningKey, Target};
use bearing_gateway::{GatewayConfig, RunningGateway};

/// The client id the sandbox registers.
pub const CLIENT_ID: &str = "SampleConfId";

/// The sample SOAP body of the portal's inventory API.
pub const INVENTORY_BODY: &str = include_str!("../../../scenarios/targets/bodies/inventory.xml");

/// A running embedded sandbox and a target describing it.
pub struct Sandbox {
    /// The running gateway.
    pub gateway: RunningGateway,
    /// A target for it: token URL, a registered identity, the APIs, the admin API.
    pub target: Target,
    /// Holds the key and certificate files for the sandbox's lifetime.
    _dir: tempfile::TempDir,
}

/// Options of the embedded sandbox.
#[derive(Debug, Clone, Default)]
pub struct SandboxOptions {
    /// Profile name or file (`rfc-strict` by default).
    pub profile: Option<String>,
    /// Token lifetime (the sandbox default is short: 30 s).
    pub token_lifetime: Option<std::time::Duration>,
}

/// Starts the embedded sandbox with a fresh RS256 identity.
///
/// # Errors
/// Key generation or gateway start-up failures.
pub async fn start(opts: SandboxOptions) -> anyhow::Result<Sandbox> {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048)?);
    let cert = Certificate::self_signed(&key, CLIENT_ID, 1)?;
    let dir = tempfile::tempdir().context("creating a folder for the sandbox identity")?;
    let key_path = dir.path().join("private.pem");
    let cert_path = dir.path().join("cert.pem");
    crate::cmd::keygen::write_private(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem())?;
    let mut config = GatewayConfig::sandbox(vec![(CLIENT_ID.to_owned(), cert)]);
    if let Some(p) = &opts.profile {
        config.profile.clone_from(p);
    }
    if opts.token_lifetime.is_some() {
        config.token_lifetime = opts.token_lifetime;
    }
    // A second API, so a client can be registered that may not call inventory (conformance
    // case rs-insufficient-scope).
    config.apis.push(bearing_gateway::ApiConfig {
        name: "orders".into(),
        path: "/bnpapi/v1/store/orders".into(),
        methods: vec!["GET".into(), "POST".into()],
        scope: None,
        response: None,
    });
    let gateway = bearing_gateway::spawn(config)
        .await
        .context("starting the embedded sandbox")?;
    let api = |method: &str, body: Option<String>| -> anyhow::Result<ApiSpec> {
        let url = gateway
            .api_url("inventory")
            .context("the sandbox has no inventory API")?;
        let mut headers = std::collections::BTreeMap::new();
        if body.is_some() {
            headers.insert(
                "Content-Type".to_owned(),
                r#"application/soap+xml;charset=UTF-8; action="store""#.to_owned(),
            );
        }
        Ok(ApiSpec {
            name: if method == "POST" {
                "inventory".into()
            } else {
                "inventory-get".into()
            },
            method: method.into(),
            url: url.parse()?,
            headers,
            body_file: None,
            body,
        })
    };
    let target = Target {
        token_url: gateway.token_url.parse()?,
        audience: None,
        client_id: CLIENT_ID.into(),
        private_key: key_path,
        certificate: Some(cert_path),
        profile: opts.profile.clone(),
        apis: vec![
            api("POST", Some(INVENTORY_BODY.to_owned()))?,
            api("GET", None)?,
        ],
        tls: Default::default(),
        assertion: Default::default(),
        admin_url: Some(gateway.admin_url.parse()?),
        admin_secret: Some(gateway.admin_secret.clone()),
        origin: None,
    };
    tracing::info!(token_url = %gateway.token_url, "embedded sandbox gateway started");
    Ok(Sandbox {
        gateway,
        target,
        _dir: dir,
    })
}

impl Sandbox {
    /// Stops the gateway.
    pub async fn shutdown(self) {
        self.gateway.shutdown().await;
    }
}
