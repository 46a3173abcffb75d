//! `bearing call`: calls a protected API with a managed token — fetched, cached, refreshed
//! ahead of expiry, and renewed once (new assertion, new `jti`) after a 401.

use bearing_auth::CallSettings;

use crate::cmd::common::TargetArgs;
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing call`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing call                                   # the sandbox's inventory API\n  \
    bearing call --target target.yaml --api inventory\n  \
    bearing call --target target.yaml POST https://gw/bnpapi/v1/store/inventory -d @body.xml \\\n    \
    -H 'Content-Type: application/soap+xml;charset=UTF-8; action=\"store\"'"
)]
pub struct Args {
    /// Target and identity; the embedded sandbox when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// An API named in the target file.
    #[arg(long, conflicts_with = "method")]
    pub api: Option<String>,
    /// HTTP method (with URL) for an API not named in the target.
    #[arg(requires = "url")]
    pub method: Option<String>,
    /// URL (with METHOD).
    pub url: Option<url::Url>,
    /// Request body; `@file` reads a file.
    #[arg(short = 'd', long = "data")]
    pub data: Option<String>,
    /// Extra header `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    pub headers: Vec<String>,
    /// Also print the response status line and headers.
    #[arg(short = 'i', long)]
    pub include: bool,
    /// Give up after this long in all (token requests, the call and its one retry), e.g. 10s.
    #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
    pub timeout: std::time::Duration,
}

/// Runs `bearing call`. Exits 1 when the API does not answer 2xx.
///
/// # Errors
/// Bad input (exit 2), or transport / token errors (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    if a.timeout.is_zero() {
        return Err(BadInput("--timeout: must be more than 0s".into()).into());
    }
    let (target, sandbox) = crate::cmd::common::target_or_sandbox(&a.target).await?;
    let settings = CallSettings {
        api: a.api.clone(),
        method_url: a.method.clone().zip(a.url.clone()),
        data: a.data.clone(),
        headers: a.headers.clone(),
        timeout: a.timeout,
    };
    let called = bearing_auth::call_api(&target, &settings).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let c = called?;
    let answer = &c.answer;
    match g.output {
        Format::Json => crate::output::print_json(&bearing_auth::answer_json(
            &c.request,
            answer,
            c.retried,
            c.token_requests,
        ))?,
        Format::Text => {
            bearing_auth::write_answer(answer, a.include, &mut std::io::stdout().lock())?;
            if c.retried {
                tracing::warn!(
                    "the API answered 401; a new token was fetched and the call retried once"
                );
            }
        }
    }
    let status = answer.status;
    Ok(if (200..300).contains(&status) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}
