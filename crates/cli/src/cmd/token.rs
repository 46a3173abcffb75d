//! `bearing token`: one token request, exactly as the portal requires, and what came back —
//! including every way the answer departs from RFC 6749 §5.1. The token is shown redacted
//! unless `--show-token`.

use crate::cmd::common::TargetArgs;
use crate::exit::Exit;
use crate::output::Global;

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
    let result = bearing_auth::request_token(&target, a.scope.as_deref(), a.timeout).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let (resp, jti) = result?;
    let jti = jti.as_deref();
    let (url, show) = (&target.token_url, a.show_token);
    let json = || bearing_auth::token_response_json(&resp, url, jti, show);
    crate::output::emit(g, json, |o| {
        bearing_auth::write_token_response(&resp, url, show, o)
    })?;
    Ok(Exit::Ok)
}
