//! `bearing certify`: starts the sandbox gateway in observing mode, waits for the partner's
//! client, drives it through a certification plan (short token lifetimes, revocation,
//! 503/429 with Retry-After, added latency) and writes a report of what the client did:
//! terminal summary, summary.json, report.html, junit.xml. Ends when the plan completes or
//! on ctrl-c, and writes the report either way. Exit 0 when every check passed, 1 when a
//! check failed or saw no evidence, 2 on bad input, 3 when the gateway could not start.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use bearing_certify::CertifySettings;

use crate::cmd::evidence;
use crate::exit::Exit;
use crate::output::{Format, Global};

/// Flags of `bearing certify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing certify --client SampleConfId=keys/cert.pem\n  \
    bearing certify --listen 0.0.0.0:8443 --client SampleConfId=keys/cert.pem --profile apigee --plan smoke\n  \
    bearing certify --client A=a.pem --client B=b.pem --plan my-plan.yaml --report-dir out/\n\n\
    Point your client at the printed token endpoint (the aud is that same URL) and run your normal\n\
    workload. Exit codes: 0 certified, 1 a check failed or saw no evidence, 2 bad input, 3 could not run."
)]
pub struct Args {
    /// Listen address.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Register a client to certify: `ID=cert.pem` (PEM, DER or Base64 DER). Repeatable.
    #[arg(long = "client", value_name = "ID=CERT", required = true)]
    pub clients: Vec<String>,
    /// Scopes a registered client may request: `ID=read,write`. Repeatable. A client that
    /// sends a scope it was not given is refused invalid_scope (RFC 6749 §5.2).
    #[arg(long = "client-scopes", value_name = "ID=SCOPE,…")]
    pub client_scopes: Vec<String>,
    /// Gateway profile: a shipped profile (`bearing profile list`) or a profile YAML file.
    #[arg(long)]
    pub profile: Option<String>,
    /// Certification plan: a bundled name (default, smoke) or a YAML file.
    #[arg(long, default_value = "default")]
    pub plan: String,
    /// Where the reports go; defaults to reports/<UTC timestamp>-certify.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Total observation time from the plan's start: cuts the plan short or observes longer.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Known deviations (YAML list of check `id`, `reason`, optional `expires: YYYY-MM-DD`):
    /// a listed check that fails does not fail the run; one that now passes exits 1.
    #[arg(long, value_name = "FILE")]
    pub expect_fail: Option<PathBuf>,
    /// Report folder and bundle.
    #[command(flatten)]
    pub evidence: crate::cmd::evidence::EvidenceArgs,
}

/// Runs `bearing certify`.
///
/// # Errors
/// Bad flags, certificate or plan (exit 2); a gateway that cannot start (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let settings = CertifySettings {
        listen: a.listen,
        clients: a.clients.clone(),
        client_scopes: a.client_scopes.clone(),
        profile: a.profile.clone(),
        plan: a.plan.clone(),
        report_dir: a.report_dir.clone(),
        duration: a.duration,
        expect_fail: a.expect_fail.clone(),
        evidence: a.evidence.settings(),
    };
    let text = g.output == Format::Text;
    // The banner goes to stdout in text mode (stderr otherwise); progress lines only in text.
    let lines = move |lines: Vec<String>, banner: bool| {
        if text {
            let mut out = std::io::stdout().lock();
            for l in &lines {
                let _ = writeln!(out, "{l}");
            }
            let _ = out.flush();
        } else if banner {
            for l in &lines {
                eprintln!("{l}");
            }
        }
    };
    let done = bearing_certify::run_certify(&settings, stop_signal, lines).await?;
    let (summary, final_dir) = (&done.summary, done.dir.as_deref());
    match g.output {
        Format::Json => {
            let v = bearing_certify::summary_json(summary, final_dir)?;
            crate::output::print_json(&v)?;
        }
        Format::Text => {
            let mut out = std::io::stdout().lock();
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            bearing_certify::write_run_text(summary, color, final_dir, &mut out)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &done.manifest) {
                let signed = a.evidence.sign_key.is_some();
                writeln!(out, "{}", evidence::bundle_line(b, m, signed))?;
            }
        }
    }
    Ok(if done.certified()? {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

/// A future resolving on ctrl-c or SIGTERM, with the handlers installed at once (not on
/// first poll).
fn stop_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            match (int, term) {
                (Ok(mut i), Ok(mut t)) => {
                    tokio::select! {
                        _ = i.recv() => {}
                        _ = t.recv() => {}
                    }
                }
                _ => super::serve::shutdown_signal().await,
            }
        }
    }
    #[cfg(not(unix))]
    {
        super::serve::shutdown_signal()
    }
}
