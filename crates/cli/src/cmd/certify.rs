//! `bearing certify`: starts the sandbox gateway in observing mode, waits for the partner's
//! client, drives it through a certification plan (short token lifetimes, revocation,
//! 503/429 with Retry-After, added latency) and writes a report of what the client did:
//! terminal summary, summary.json, report.html, junit.xml. Ends when the plan completes or
//! on ctrl-c, and writes the report either way. Exit 0 when every check passed, 1 when a
//! check failed or saw no evidence, 2 on bad input, 3 when the gateway could not start.

use std::io::{IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use bearing_certify::report;
use bearing_certify::{Certification, CertifyOptions, CertifySummary, Mark, Plan};
use bearing_gateway::GatewayConfig;

use crate::cmd::evidence;
use crate::exit::{BadInput, Exit};
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

fn config_from(a: &Args) -> anyhow::Result<GatewayConfig> {
    Ok(bearing_gateway::certify_config(
        a.listen,
        a.profile.as_deref(),
        &a.clients,
        &a.client_scopes,
    )?)
}

/// Runs `bearing certify`.
///
/// # Errors
/// Bad flags, certificate or plan (exit 2); a gateway that cannot start (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    if a.duration.is_some_and(|d| d.is_zero()) {
        return Err(BadInput("--duration: must be more than 0s".into()).into());
    }
    let config = config_from(&a)?;
    let plan = Plan::resolve(&a.plan).context("--plan")?;
    let expect = evidence::expect_list(
        a.expect_fail.as_deref(),
        bearing_certify::catalog()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
    )?;
    // The report folder, bundle and key are checked before the gateway starts (issue 21).
    let dir = a
        .report_dir
        .clone()
        .unwrap_or_else(|| report::default_dir(Path::new("reports"), std::time::SystemTime::now()));
    let prepared = evidence::prepare(Some(&dir), &a.evidence)?;
    let text = g.output == Format::Text;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Mark>();
    let mut opts = CertifyOptions::new(config, plan);
    opts.duration = a.duration;
    opts.progress = Some(tx);
    let run = Certification::start(opts)
        .await
        .context("starting the certification gateway")?;
    // Handlers are installed before the banner says "press ctrl-c", so no signal is lost.
    let stop = stop_signal();
    let lines = bearing_certify::banner_lines(&run);
    if text {
        let mut out = std::io::stdout().lock();
        for l in &lines {
            writeln!(out, "{l}")?;
        }
        out.flush()?;
    } else {
        for l in &lines {
            eprintln!("{l}");
        }
    }
    let printer = tokio::spawn(async move {
        let mut lines = bearing_certify::MarkLines::default();
        while let Some(m) = rx.recv().await {
            for l in lines.push(&m).into_iter().filter(|_| text) {
                println!("{l}");
            }
        }
    });
    let recording = run.run(stop).await;
    let _ = printer.await;
    let mut summary = CertifySummary::from_recording(&recording);
    if let Some(l) = &expect {
        summary.apply_expected(l, &bearing_report::expect::today());
    }
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let written = match prepared.path() {
        Some(p) => report::write_all(&summary, &recording.events, p).map(|_| ()),
        None => Ok(()),
    };
    let finished = match written {
        Ok(()) => prepared.finish(),
        Err(e) => Err(anyhow::Error::new(e)),
    };
    let (final_dir, manifest) = match &finished {
        Ok((d, m)) => (d.clone(), m.clone()),
        Err(_) => (None, None),
    };
    match g.output {
        Format::Json => {
            let v = bearing_certify::summary_json(&summary, final_dir.as_deref())?;
            crate::output::print_json(&v)?;
        }
        Format::Text => {
            let mut out = std::io::stdout().lock();
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            bearing_certify::write_run_text(&summary, color, final_dir.as_deref(), &mut out)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &manifest) {
                writeln!(
                    out,
                    "{}",
                    evidence::bundle_line(b, m, a.evidence.sign_key.is_some())
                )?;
            }
        }
    }
    finished.with_context(|| format!("writing the reports into {}", dir.display()))?;
    Ok(if summary.is_certified_with_expected() {
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
