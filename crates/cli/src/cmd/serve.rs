//! `bearing serve`: runs the sandbox gateway until ctrl-c or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use bearing_gateway::{GatewayConfig, ServeSettings};

use crate::exit::Exit;
use crate::output::Global;

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

/// Builds the gateway configuration from the file and flags (flags win); the assembly
/// lives in bearing-gateway.
///
/// # Errors
/// Bad flags or files.
pub fn config_from(a: &Args) -> anyhow::Result<GatewayConfig> {
    Ok(bearing_gateway::serve_config(&ServeSettings {
        config: a.config.clone(),
        listen: a.listen,
        clients: a.clients.clone(),
        profile: a.profile.clone(),
        token_lifetime: a.token_lifetime,
        admin_secret: a.admin_secret.clone(),
        tls_self_signed: a.tls_self_signed,
        tls_cert: a.tls_cert.clone(),
        tls_key: a.tls_key.clone(),
        client_ca: a.client_ca.clone(),
        service_time: a.service_time,
        workers: a.workers,
        max_rate: a.max_rate,
        capacity_route: a.capacity_route.clone(),
    })?)
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
    let json = || bearing_gateway::serve_json(&gw, supplied_secret);
    crate::output::emit(g, json, |o| {
        bearing_gateway::write_serve_banner(&gw, supplied_secret, o)
    })?;
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
