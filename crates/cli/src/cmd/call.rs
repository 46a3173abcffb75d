//! `bearing call`: calls a protected API with a managed token — fetched, cached, refreshed
//! ahead of expiry, and renewed once (new assertion, new `jti`) after a 401.

use anyhow::Context as _;
use bearing_auth::ApiRequest;

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
    let req = ApiRequest::build(
        &target,
        a.api.as_deref(),
        a.method.as_deref().zip(a.url.as_ref()),
        a.data.as_deref(),
        &a.headers,
    )?;
    let mut opts = target.token_client_options();
    opts.request_timeout = a.timeout;
    opts.connect_timeout = opts.connect_timeout.min(a.timeout);
    let manager = target.token_manager_with(&opts)?;
    let call = bearing_auth::send_api_request(&manager, &req);
    // One deadline over everything: a gateway that accepts connections and never answers
    // must not hold the command for retries × request timeout.
    let outcome = tokio::time::timeout(a.timeout, call).await;
    let stats = manager.stats();
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let outcome = outcome.map_err(|_| {
        anyhow::anyhow!(
            "no answer within {} ({} {}, or its token endpoint {})",
            humantime::format_duration(a.timeout),
            req.method,
            req.url,
            target.token_url
        )
    })??;
    let answer = outcome
        .response
        .with_context(|| format!("calling {} {}", req.method, req.url))?;
    match g.output {
        Format::Json => crate::output::print_json(&bearing_auth::answer_json(
            &req,
            &answer,
            outcome.retried,
            stats.token_requests,
        ))?,
        Format::Text => {
            bearing_auth::write_answer(&answer, a.include, &mut std::io::stdout().lock())?;
            if outcome.retried {
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
