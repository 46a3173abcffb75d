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
use bearing_auth::Certificate;
use bearing_certify::report::{self, terminal};
use bearing_certify::{Action, Certification, CertifyOptions, Mark, Plan, Summary};
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
    let mut c = GatewayConfig {
        listen: a.listen,
        ..GatewayConfig::default()
    };
    if let Some(p) = &a.profile {
        c.profile.clone_from(p);
    }
    for spec in &a.clients {
        let (id, path) = spec
            .split_once('=')
            .filter(|(id, path)| !id.is_empty() && !path.is_empty())
            .ok_or_else(|| BadInput(format!("--client {spec:?}: expected ID=cert.pem")))?;
        let cert = Certificate::from_file(Path::new(path))?;
        c.add_client(id, cert);
    }
    for spec in &a.client_scopes {
        let (id, list) = spec
            .split_once('=')
            .filter(|(id, list)| !id.is_empty() && !list.is_empty())
            .ok_or_else(|| BadInput(format!("--client-scopes {spec:?}: expected ID=scope,…")))?;
        let client = c.clients.get_mut(id).ok_or_else(|| {
            BadInput(format!(
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
    c.validate().map_err(|e| BadInput(e.to_string()))?;
    c.load_profile()
        .map_err(|e| BadInput(format!("--profile: {e}")))?;
    Ok(c)
}

fn describe(m: &Mark) -> Option<String> {
    Some(match &m.action {
        Action::PlanStarted => "client seen: plan started".to_owned(),
        Action::PhaseStarted { name } => format!("phase {name}"),
        Action::TokenLifetime { ms } => format!("  tokens now live {:.0} s", *ms as f64 / 1000.0),
        Action::Revoked { tokens } => {
            format!("  revoked {tokens} tokens: the client must get a 401 and recover")
        }
        Action::TokenFault {
            status,
            retry_after_s,
            ..
        } => format!("  token endpoint answers {status} with Retry-After: {retry_after_s}"),
        Action::Latency { ms } => format!("  {ms} ms added latency"),
        Action::Settling => "settling: observing at the baseline".to_owned(),
        Action::FaultsCleared => return None,
        Action::Ended { reason } => format!("ended: {}", reason.as_str()),
    })
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
    {
        let gw = run.gateway();
        let p = run.plan();
        let lines = [
            format!(
                "bearing certify: sandbox gateway listening on {}",
                gw.base_url
            ),
            format!("token endpoint: {}", gw.token_url),
            format!(
                "inventory API:  {}",
                gw.api_url("inventory").unwrap_or_default()
            ),
            format!("aud to sign:    {}", gw.token_url),
            format!("clients:        {}", gw.state.registry().ids().join(", ")),
            format!(
                "plan:           {} ({}), {} phases, {:.1} s, starting at your client's first request",
                p.name,
                p.origin,
                p.phases.len(),
                p.length().as_secs_f64()
            ),
            "press ctrl-c to stop (the report is written either way)".to_owned(),
        ];
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
    }
    let printer = tokio::spawn(async move {
        // The first phase is set up before the client arrives (so its first token already
        // follows the phase), but is announced only once the plan starts.
        let mut before_start = Some(Vec::new());
        while let Some(m) = rx.recv().await {
            let Some(line) = describe(&m).filter(|_| text) else {
                continue;
            };
            match (&mut before_start, &m.action) {
                (Some(_), Action::PlanStarted) => {
                    println!("{line}");
                    for l in before_start.take().unwrap_or_default() {
                        println!("{l}");
                    }
                }
                (Some(held), Action::PhaseStarted { .. } | Action::TokenLifetime { .. })
                | (Some(held), Action::TokenFault { .. } | Action::Latency { .. }) => {
                    held.push(line);
                }
                _ => println!("{line}"),
            }
        }
    });
    let recording = run.run(stop).await;
    let _ = printer.await;
    let mut summary = Summary::from_recording(&recording);
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
            let mut v = serde_json::to_value(&summary)?;
            if let (Some(d), Some(obj)) = (&final_dir, v.as_object_mut()) {
                obj.insert("report_dir".into(), d.display().to_string().into());
            }
            crate::output::print_json(&v)?;
        }
        Format::Text => {
            let mut out = std::io::stdout().lock();
            writeln!(out)?;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            terminal::write(&mut out, &summary, terminal::Options { color, findings: 3 })?;
            if let Some(x) = &summary.expected_failures {
                bearing_report::expect::write_text(&mut out, x)?;
            }
            if let Some(d) = &final_dir {
                writeln!(out, "reports: {}", d.join("report.html").display())?;
            }
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
