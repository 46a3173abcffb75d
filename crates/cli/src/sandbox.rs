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

/// The client id of fleet partner `i` (0-based): `{prefix}-00001`, …
pub fn partner_id(prefix: &str, i: usize) -> String {
    format!("{prefix}-{:05}", i + 1)
}

/// A generated fleet identity: client id, key, self-signed certificate.
pub type FleetMember = (String, SigningKey, Certificate);

/// Generates `n` identities (`{prefix}-00001`, …) of `alg` with self-signed certificates
/// valid for `days`, in parallel on every core.
///
/// # Errors
/// Key or certificate generation failures.
pub fn generate_fleet(
    n: usize,
    prefix: &str,
    alg: Algorithm,
    key_bits: usize,
    days: u32,
) -> anyhow::Result<Vec<FleetMember>> {
    let one = |i: usize| -> anyhow::Result<FleetMember> {
        let id = partner_id(prefix, i);
        let key = SigningKey::generate(alg, key_bits)?;
        let cert = Certificate::self_signed(&key, &id, days)?;
        Ok((id, key, cert))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(n.max(1));
    let chunks: Vec<anyhow::Result<Vec<_>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t..n).step_by(threads).map(one).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("key generation thread panicked")))
            })
            .collect()
    });
    let mut out = Vec::with_capacity(n);
    for c in chunks {
        out.extend(c?);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Writes a fleet as `<dir>/<client_id>/{private.pem (0600),cert.pem}`.
///
/// # Errors
/// Write failures.
pub fn write_fleet(dir: &std::path::Path, fleet: &[FleetMember]) -> anyhow::Result<()> {
    for (id, key, cert) in fleet {
        let d = dir.join(id);
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
        crate::cmd::keygen::write_private(&d.join("private.pem"), key.to_pkcs8_pem().as_bytes())?;
        std::fs::write(d.join("cert.pem"), cert.to_pem())
            .with_context(|| format!("writing {}", d.join("cert.pem").display()))?;
    }
    Ok(())
}

/// Starts the embedded sandbox with a fresh RS256 identity.
///
/// # Errors
/// Key generation or gateway start-up failures.
pub async fn start(opts: SandboxOptions) -> anyhow::Result<Sandbox> {
    start_with_fleet(opts, 0).await
}

/// Starts the embedded sandbox with a fresh RS256 identity and, when `partners` > 1, a
/// partner fleet: that many more identities (ES256, fast to generate) registered with the
/// gateway and named in the target's `identities_dir`.
///
/// # Errors
/// Key generation or gateway start-up failures.
pub async fn start_with_fleet(opts: SandboxOptions, partners: usize) -> anyhow::Result<Sandbox> {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048)?);
    let cert = Certificate::self_signed(&key, CLIENT_ID, 1)?;
    let dir = tempfile::tempdir().context("creating a folder for the sandbox identity")?;
    let key_path = dir.path().join("private.pem");
    let cert_path = dir.path().join("cert.pem");
    crate::cmd::keygen::write_private(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem())?;
    let mut clients = vec![(CLIENT_ID.to_owned(), cert)];
    // The fleet stays in memory: writing and removing 2 files per partner cost more than
    // generating them on this machine's disk.
    let mut fleet = Vec::new();
    if partners > 1 {
        let started = std::time::Instant::now();
        for (client_id, key, certificate) in
            generate_fleet(partners, "partner", Algorithm::ES256, 0, 1)?
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
        let mut p = config
            .load_profile()
            .context("loading the sandbox profile")?;
        if !p.allowed_algs.contains(&Algorithm::ES256) {
            p.allowed_algs.push(Algorithm::ES256);
        }
        config.profile_override = Some(p);
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
