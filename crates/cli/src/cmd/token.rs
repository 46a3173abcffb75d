//! `bearing token`: one token request, exactly as the portal requires, and what came back —
//! including every way the answer departs from RFC 6749 §5.1. The token is shown redacted
//! unless `--show-token`.

use bearing_auth::token::{Severity, TokenResponse};

use crate::cmd::common::TargetArgs;
use crate::exit::Exit;
use crate::output::{Format, Global};

/// Flags of `bearing token`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing token                      # against the embedded sandbox\n  \
    bearing token --target target.yaml --show-token"
)]
pub struct Args {
    /// Target and identity; the embedded sandbox when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Print the access token in full (it is a credential: it is redacted otherwise).
    #[arg(long)]
    pub show_token: bool,
    /// A `scope` form parameter.
    #[arg(long)]
    pub scope: Option<String>,
    /// Give up when the token endpoint has not answered within this long, e.g. 10s.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Runs `bearing token`.
///
/// # Errors
/// Bad identity input (exit 2), or transport / token endpoint errors (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let (target, sandbox) = crate::cmd::common::target_or_sandbox(&a.target).await?;
    let id = target.load_identity()?;
    let mut opts = target.token_client_options();
    opts.scope.clone_from(&a.scope);
    opts.request_timeout = a.timeout;
    opts.connect_timeout = opts.connect_timeout.min(a.timeout);
    let client = bearing_auth::token::TokenClient::new(target.token_url.clone(), &opts)?;
    let assertion = id.signer.sign()?;
    let result = client.request_token(&assertion).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let resp = result?;
    print(&resp, &target.token_url, assertion.jti(), a.show_token, g)?;
    Ok(Exit::Ok)
}

fn print(
    r: &TokenResponse,
    url: &url::Url,
    jti: Option<&str>,
    show: bool,
    g: &Global,
) -> anyhow::Result<()> {
    let token = if show {
        r.access_token.expose().to_owned()
    } else {
        r.access_token.redacted()
    };
    let deviations: Vec<serde_json::Value> = r
        .deviations
        .iter()
        .map(|d| {
            serde_json::json!({"id": d.id(), "severity": d.severity(), "detail": d.to_string()})
        })
        .collect();
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "token_url": url.as_str(),
            "status": r.status,
            "access_token": token,
            "token_type": r.token_type,
            "expires_in": r.expires_in.map(|d| d.as_secs()),
            "scope": r.scope,
            "assertion_jti": jti,
            "latency_ms": r.latency.as_secs_f64() * 1e3,
            "deviations": deviations,
        }))?,
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "token_url:    {url}")?;
            writeln!(out, "status:       {}", r.status)?;
            writeln!(out, "access_token: {token}")?;
            writeln!(
                out,
                "token_type:   {}",
                r.token_type.as_deref().unwrap_or("(absent)")
            )?;
            match r.expires_in {
                Some(d) => writeln!(out, "expires_in:   {}s", d.as_secs())?,
                None => writeln!(out, "expires_in:   (absent or unusable)")?,
            }
            if let Some(s) = &r.scope {
                writeln!(out, "scope:        {s}")?;
            }
            writeln!(out, "latency:      {:.1} ms", r.latency.as_secs_f64() * 1e3)?;
            if r.deviations.is_empty() {
                writeln!(out, "conformance:  no deviation from RFC 6749 §5.1")?;
            }
            for d in &r.deviations {
                let tag = match d.severity() {
                    Severity::Note => "note",
                    Severity::Warning => "warning",
                    Severity::Violation => "VIOLATION",
                };
                writeln!(out, "{tag:>12}: {d}")?;
            }
        }
    }
    Ok(())
}
