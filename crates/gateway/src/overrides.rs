//! A [`GatewayConfig`] assembled from an optional file and command-line settings (`bearing
//! serve`, `bearing certify`): the settings win over the file, each refusal names the flag it
//! came from, and the gateway's start-up banner. The CLI keeps only the flags themselves.

use std::collections::HashSet;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bearing_auth::Certificate;

use crate::{GatewayConfig, RunningGateway, TlsConfig};

/// Why the settings do not make a configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OverrideError {
    /// A setting is malformed or contradicts another (the message names the flag).
    #[error("{0}")]
    Flag(String),
    /// A certificate file could not be read or parsed.
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// The configuration file or the assembled configuration is invalid.
    #[error(transparent)]
    Gateway(#[from] crate::Error),
}

/// The settings of `bearing serve` over an optional configuration file.
#[derive(Debug, Clone, Default)]
pub struct ServeSettings {
    /// A gateway configuration file (YAML).
    pub config: Option<PathBuf>,
    /// Listen address (127.0.0.1:8080 without a file).
    pub listen: Option<SocketAddr>,
    /// `ID=cert.pem` clients.
    pub clients: Vec<String>,
    /// A shipped profile name or a profile file.
    pub profile: Option<String>,
    /// Access-token lifetime.
    pub token_lifetime: Option<Duration>,
    /// The admin API secret.
    pub admin_secret: Option<String>,
    /// HTTPS with a generated self-signed certificate.
    pub tls_self_signed: bool,
    /// HTTPS with this certificate chain.
    pub tls_cert: Option<PathBuf>,
    /// The key of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// mTLS: client certificates must chain to this CA.
    pub client_ca: Option<PathBuf>,
    /// Capacity emulation: service time per request.
    pub service_time: Option<Duration>,
    /// Capacity emulation: workers.
    pub workers: Option<usize>,
    /// Capacity emulation as a rate (one worker of service time 1/rate).
    pub max_rate: Option<f64>,
    /// The route the capacity emulation applies to.
    pub capacity_route: String,
}

fn flag(m: String) -> OverrideError {
    OverrideError::Flag(m)
}

/// Builds the gateway configuration from the file and settings (settings win).
///
/// # Errors
/// Bad settings or files.
pub fn serve_config(a: &ServeSettings) -> Result<GatewayConfig, OverrideError> {
    let mut c = match &a.config {
        // Its errors name the file (and line:column).
        Some(p) => GatewayConfig::from_file(p)?,
        None => GatewayConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            ..GatewayConfig::default()
        },
    };
    if let Some(l) = a.listen {
        c.listen = l;
    }
    if let Some(p) = &a.profile {
        c.profile.clone_from(p);
    }
    if a.token_lifetime.is_some_and(|d| d.is_zero()) {
        return Err(flag("--token-lifetime: must be more than 0s".into()));
    }
    if a.token_lifetime.is_some() {
        c.token_lifetime = a.token_lifetime;
    }
    if a.admin_secret.is_some() {
        c.admin_secret.clone_from(&a.admin_secret);
    }
    let mut seen = HashSet::new();
    for spec in &a.clients {
        let (id, path) = spec
            .split_once('=')
            .ok_or_else(|| flag(format!("--client {spec:?}: expected ID=cert.pem")))?;
        if !seen.insert(id) {
            return Err(flag(format!(
                "--client {id}: the client id is given twice; give each client once \
                 (a second certificate for rotation goes through the admin API)"
            )));
        }
        let cert = Certificate::from_file(Path::new(path))?;
        c.add_client(id, cert);
    }
    if a.tls_self_signed || a.tls_cert.is_some() || a.client_ca.is_some() {
        let tls = c.tls.get_or_insert_with(TlsConfig::default);
        tls.self_signed = a.tls_self_signed || (a.tls_cert.is_none() && tls.cert.is_none());
        if let Some(p) = &a.tls_cert {
            tls.cert = Some(p.clone());
            tls.key.clone_from(&a.tls_key);
        }
        if let Some(ca) = &a.client_ca {
            tls.client_ca = Some(ca.clone());
            tls.client_cert_required = true;
        }
    }
    if let Some(p) = &a.profile {
        // An unknown name or a bad profile file is bad input, named before binding.
        if a.config.is_none() {
            bearing_auth::GatewayProfile::resolve(p)
                .map_err(|e| flag(format!("--profile: {e}")))?;
        }
        c.load_profile()
            .map_err(|e| flag(format!("--profile: {e}")))?;
    }
    let service_time = match a.max_rate {
        Some(r) if !(r.is_finite() && r > 0.0 && r <= 1e7) => {
            return Err(flag(format!(
                "--max-rate {r}: expected a rate in (0, 10000000]"
            )));
        }
        Some(r) => Some(Duration::from_secs_f64(1.0 / r)),
        None => a.service_time,
    };
    if let Some(st) = service_time {
        let spec = c.faults.entry(a.capacity_route.clone()).or_default();
        spec.service_time = Some(st);
        spec.workers = a.workers.unwrap_or(1);
        spec.validate()
            .map_err(|m| flag(format!("--service-time/--workers/--max-rate: {m}")))?;
    }
    c.validate()?;
    if c.clients.is_empty() {
        tracing::warn!(
            "no client registered: add --client ID=cert.pem (or register one through the admin API)"
        );
    }
    Ok(c)
}

/// The configuration of `bearing certify`: `listen`, a profile, `ID=cert.pem` clients and
/// `ID=scope,…` scopes for them.
///
/// # Errors
/// Bad settings or certificate files.
pub fn certify_config(
    listen: SocketAddr,
    profile: Option<&str>,
    clients: &[String],
    client_scopes: &[String],
) -> Result<GatewayConfig, OverrideError> {
    let mut c = GatewayConfig {
        listen,
        ..GatewayConfig::default()
    };
    if let Some(p) = profile {
        p.clone_into(&mut c.profile);
    }
    for spec in clients {
        let (id, path) = spec
            .split_once('=')
            .filter(|(id, path)| !id.is_empty() && !path.is_empty())
            .ok_or_else(|| flag(format!("--client {spec:?}: expected ID=cert.pem")))?;
        let cert = Certificate::from_file(Path::new(path))?;
        c.add_client(id, cert);
    }
    for spec in client_scopes {
        let (id, list) = spec
            .split_once('=')
            .filter(|(id, list)| !id.is_empty() && !list.is_empty())
            .ok_or_else(|| flag(format!("--client-scopes {spec:?}: expected ID=scope,…")))?;
        let client = c.clients.get_mut(id).ok_or_else(|| {
            flag(format!(
                "--client-scopes {spec:?}: {id:?} is not a client given with --client"
            ))
        })?;
        client.scopes.extend(
            list.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    c.validate().map_err(|e| flag(e.to_string()))?;
    c.load_profile()
        .map_err(|e| flag(format!("--profile: {e}")))?;
    Ok(c)
}

/// The JSON document `bearing serve` prints on start; the admin secret only when it was
/// generated (a secret the user chose is never echoed).
pub fn serve_json(gw: &RunningGateway, supplied_secret: bool) -> serde_json::Value {
    serde_json::json!({
        "base_url": gw.base_url,
        "token_url": gw.token_url,
        "api_url": gw.api_url("inventory"),
        "admin_url": gw.admin_url,
        "admin_secret": (!supplied_secret).then_some(&gw.admin_secret),
        "tls_certificate_pem": gw.tls_certificate_pem,
    })
}

/// Writes the banner `bearing serve` prints on start: the URLs, the admin secret when it
/// was generated, the self-signed certificate to trust.
///
/// # Errors
/// A write error.
pub fn write_serve_banner(
    gw: &RunningGateway,
    supplied_secret: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out, "bearing sandbox gateway listening on {}", gw.base_url)?;
    writeln!(out, "token endpoint: {}", gw.token_url)?;
    if let Some(api) = gw.api_url("inventory") {
        writeln!(out, "inventory API:  {api}")?;
    }
    let secret: &str = if supplied_secret {
        "the secret you gave"
    } else {
        &gw.admin_secret
    };
    writeln!(
        out,
        "admin API:      {} (X-Admin-Secret: {secret})",
        gw.admin_url
    )?;
    writeln!(out, "metrics:        {}/metrics", gw.base_url)?;
    if let Some(pem) = &gw.tls_certificate_pem {
        // Public: what clients need as their CA bundle (`tls.ca_bundle`).
        writeln!(out, "self-signed TLS certificate (trust it as the CA):")?;
        out.write_all(pem.as_bytes())?;
    }
    writeln!(out, "press ctrl-c to stop")?;
    out.flush()
}
