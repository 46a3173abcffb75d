//! `bearing serve`: runs the sandbox gateway until ctrl-c or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bearing_auth::Certificate;
use bearing_gateway::{GatewayConfig, TlsConfig};

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing serve`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing keygen --client-id SampleConfId --out keys/\n  \
    bearing serve --listen 127.0.0.1:8443 --client SampleConfId=keys/cert.pem --profile apigee\n  \
    bearing serve --config gateway.yaml --tls-self-signed"
)]
pub struct Args {
    /// A gateway configuration file (YAML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Listen address (default 127.0.0.1:8080 without --config).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Register a client: `ID=cert.pem` (PEM, DER or Base64 DER). Repeatable.
    #[arg(long = "client", value_name = "ID=CERT")]
    pub clients: Vec<String>,
    /// Profile: a shipped profile (`bearing profile list`) or a profile YAML file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Access-token lifetime, e.g. 180s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub token_lifetime: Option<Duration>,
    /// The admin API secret (generated and printed when absent).
    #[arg(long, env = "BEARING_ADMIN_SECRET", hide_env_values = true)]
    pub admin_secret: Option<String>,
    /// Serve HTTPS with a generated self-signed certificate.
    #[arg(long, conflicts_with_all = ["tls_cert"])]
    pub tls_self_signed: bool,
    /// Serve HTTPS with this certificate chain (PEM).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates chaining to this CA (mTLS).
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// Capacity emulation: each request holds one of --workers workers this long, so the
    /// route serves at most workers/service-time per second (a known knee), e.g. 2ms.
    #[arg(long, value_parser = humantime::parse_duration, help_heading = "Capacity emulation")]
    pub service_time: Option<Duration>,
    /// Workers of the capacity emulation (default 1).
    #[arg(long, requires = "service_time", help_heading = "Capacity emulation")]
    pub workers: Option<usize>,
    /// Capacity emulation as a rate: one worker of service time 1/RATE, e.g. 2000.
    #[arg(
        long,
        value_name = "PER_SECOND",
        conflicts_with = "service_time",
        help_heading = "Capacity emulation"
    )]
    pub max_rate: Option<f64>,
    /// The route the capacity emulation applies to: `token`, an API name, or `*` (default:
    /// every route, one shared set of workers).
    #[arg(long, default_value = "*", help_heading = "Capacity emulation")]
    pub capacity_route: String,
}

/// Builds the gateway configuration from the file and flags (flags win).
///
/// # Errors
/// Bad flags or files.
pub fn config_from(a: &Args) -> anyhow::Result<GatewayConfig> {
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
        return Err(BadInput("--token-lifetime: must be more than 0s".into()).into());
    }
    if a.token_lifetime.is_some() {
        c.token_lifetime = a.token_lifetime;
    }
    if a.admin_secret.is_some() {
        c.admin_secret.clone_from(&a.admin_secret);
    }
    let mut seen = std::collections::HashSet::new();
    for spec in &a.clients {
        let (id, path) = spec
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--client {spec:?}: expected ID=cert.pem")))?;
        if !seen.insert(id) {
            return Err(BadInput(format!(
                "--client {id}: the client id is given twice; give each client once \
                 (a second certificate for rotation goes through the admin API)"
            ))
            .into());
        }
        let cert = Certificate::from_file(std::path::Path::new(path))?;
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
        // An unknown name or a bad profile file is bad input (exit 2), named before binding.
        if a.config.is_none() {
            bearing_auth::Profile::resolve(p).map_err(|e| BadInput(format!("--profile: {e}")))?;
        }
        c.load_profile()
            .map_err(|e| BadInput(format!("--profile: {e}")))?;
    }
    let service_time = match a.max_rate {
        Some(r) if !(r.is_finite() && r > 0.0 && r <= 1e7) => {
            return Err(
                BadInput(format!("--max-rate {r}: expected a rate in (0, 10000000]")).into(),
            );
        }
        Some(r) => Some(Duration::from_secs_f64(1.0 / r)),
        None => a.service_time,
    };
    if let Some(st) = service_time {
        let spec = c.faults.entry(a.capacity_route.clone()).or_default();
        spec.service_time = Some(st);
        spec.workers = a.workers.unwrap_or(1);
        spec.validate()
            .map_err(|m| BadInput(format!("--service-time/--workers/--max-rate: {m}")))?;
    }
    c.validate()?;
    if c.clients.is_empty() {
        tracing::warn!(
            "no client registered: add --client ID=cert.pem (or register one through the admin API)"
        );
    }
    Ok(c)
}

/// Runs `bearing serve` until ctrl-c / SIGTERM, then shuts down gracefully.
///
/// # Errors
/// Bad configuration (exit 2), or a listener that cannot bind (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let config = config_from(&a)?;
    // A secret the user chose is theirs: never echoed (only a generated one is printed).
    let supplied_secret = config.admin_secret.is_some();
    let gw = bearing_gateway::spawn(config)
        .await
        .context("starting the gateway")?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "base_url": gw.base_url,
            "token_url": gw.token_url,
            "api_url": gw.api_url("inventory"),
            "admin_url": gw.admin_url,
            "admin_secret": (!supplied_secret).then_some(&gw.admin_secret),
            "tls_certificate_pem": gw.tls_certificate_pem,
        }))?,
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
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
            out.flush()?;
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    gw.shutdown().await;
    Ok(Exit::Ok)
}

/// Resolves on ctrl-c or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
