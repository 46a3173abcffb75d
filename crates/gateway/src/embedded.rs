//! The embedded sandbox: every command that is given no target starts `bearing-gateway`
//! in-process on 127.0.0.1 with a fresh key pair, registers it, and talks to it over HTTP
//! like any other gateway. It lives here, beside the gateway it starts, so that every
//! caller (each `bearing` command, tests) gets the same sandbox and the CLI keeps only flags.

use std::path::PathBuf;
use std::sync::Arc;

use bearing_auth::{Algorithm, ApiSpec, Certificate, SigningKey, Target};

use crate::{GatewayConfig, RunningGateway};

/// Why the embedded sandbox could not start; the cause follows in the chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The sandbox identity's key or certificate could not be generated.
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// The sandbox identity's files could not be written.
    #[error(transparent)]
    KeyFile(#[from] bearing_auth::KeyFileError),
    /// The temporary folder of the identity could not be created.
    #[error("creating a folder for the sandbox identity")]
    Folder(#[source] std::io::Error),
    /// The certificate file could not be written.
    #[error("writing {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The sandbox profile could not be loaded.
    #[error("loading the sandbox profile")]
    Profile(#[source] crate::Error),
    /// The gateway could not start.
    #[error("starting the embedded sandbox")]
    Start(#[source] crate::Error),
    /// The gateway has no inventory API.
    #[error("the sandbox has no inventory API")]
    NoInventory,
    /// A URL the gateway reported does not parse.
    #[error(transparent)]
    Url(#[from] url::ParseError),
}

/// The client id the sandbox registers.
pub const CLIENT_ID: &str = "SampleConfId";

/// The token lifetime of an embedded sandbox that conformance judges (`bearing conform`,
/// `bearing demo`): short, so expiry cases run in seconds; the expectation profile carries
/// the same value.
pub const JUDGED_TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(30);

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
pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
    start_with_fleet(opts, 0).await
}

/// Starts the embedded sandbox with a fresh RS256 identity and, when `partners` > 1, a
/// partner fleet: that many more identities (ES256, fast to generate) registered with the
/// gateway and named in the target's `identities_dir`.
///
/// # Errors
/// Key generation or gateway start-up failures.
pub async fn start_with_fleet(
    opts: SandboxOptions,
    partners: usize,
) -> Result<Sandbox, SandboxError> {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048)?);
    let cert = Certificate::self_signed(&key, CLIENT_ID, 1)?;
    let dir = tempfile::tempdir().map_err(SandboxError::Folder)?;
    let key_path = dir.path().join("private.pem");
    let cert_path = dir.path().join("cert.pem");
    bearing_auth::write_private_key(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem()).map_err(|source| SandboxError::Write {
        path: cert_path.clone(),
        source,
    })?;
    let mut clients = vec![(CLIENT_ID.to_owned(), cert)];
    // The fleet stays in memory: writing and removing 2 files per partner cost more than
    // generating them on this machine's disk.
    let mut fleet = Vec::new();
    if partners > 1 {
        let started = std::time::Instant::now();
        for (client_id, key, certificate) in
            bearing_auth::generate_fleet(partners, "partner", Algorithm::ES256, 0, 1)?
        {
            clients.push((client_id.clone(), certificate.clone()));
            fleet.push(bearing_auth::FleetIdentity {
                client_id,
                key: Arc::new(key),
                certificate: Some(certificate),
            });
        }
        tracing::info!(
            partners,
            ms = started.elapsed().as_millis() as u64,
            "sandbox partner fleet generated"
        );
    }
    let mut config = GatewayConfig::sandbox(clients);
    if let Some(p) = &opts.profile {
        config.profile.clone_from(p);
    }
    if opts.token_lifetime.is_some() {
        config.token_lifetime = opts.token_lifetime;
    }
    if !fleet.is_empty() {
        // The fleet's keys are ES256 (RSA generation would dominate a short run): the
        // sandbox's profile accepts ES256 besides its own list.
        let mut p = config.load_profile().map_err(SandboxError::Profile)?;
        if !p.allowed_algs.contains(&Algorithm::ES256) {
            p.allowed_algs.push(Algorithm::ES256);
        }
        config.profile_override = Some(p);
    }
    // A second API, so a client can be registered that may not call inventory (conformance
    // case rs-insufficient-scope).
    config.apis.push(crate::ApiConfig {
        name: "orders".into(),
        path: "/bnpapi/v1/store/orders".into(),
        methods: vec!["GET".into(), "POST".into()],
        scope: None,
        response: None,
    });
    let gateway = crate::spawn(config).await.map_err(SandboxError::Start)?;
    let api = |method: &str, body: Option<String>| -> Result<ApiSpec, SandboxError> {
        let url = gateway
            .api_url("inventory")
            .ok_or(SandboxError::NoInventory)?;
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
        http2: false,
        admin_url: Some(gateway.admin_url.parse()?),
        admin_secret: Some(gateway.admin_secret.clone()),
        identities: Vec::new(),
        identities_dir: None,
        fleet,
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
