//! `bearing call`: calls a protected API with a managed token — fetched, cached, refreshed
//! ahead of expiry, and renewed once (new assertion, new `jti`) after a 401.

use std::collections::BTreeMap;

use anyhow::Context as _;

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

struct Request {
    method: reqwest::Method,
    url: url::Url,
    headers: BTreeMap<String, String>,
    body: Option<Vec<u8>>,
}

fn build_request(a: &Args, target: &bearing_auth::Target) -> anyhow::Result<Request> {
    let mut req = match (&a.api, &a.method, &a.url) {
        (_, Some(m), Some(u)) => Request {
            method: reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                .map_err(|_| BadInput(format!("invalid HTTP method {m:?}")))?,
            url: u.clone(),
            headers: BTreeMap::new(),
            body: None,
        },
        (name, _, _) => {
            let spec = match name {
                Some(n) => target.api(n).ok_or_else(|| {
                    let known: Vec<&str> = target.apis.iter().map(|a| a.name.as_str()).collect();
                    BadInput(format!(
                        "no api named {n:?} in the target (known: {known:?})"
                    ))
                })?,
                None => target.apis.first().ok_or_else(|| {
                    BadInput("the target names no api: give --api NAME or METHOD URL".into())
                })?,
            };
            Request {
                method: reqwest::Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
                    .map_err(|_| BadInput(format!("api {:?}: invalid method", spec.name)))?,
                url: spec.url.clone(),
                headers: spec.headers.clone(),
                body: spec.load_body()?,
            }
        }
    };
    if let Some(d) = &a.data {
        req.body = Some(match d.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map_err(|e| BadInput(format!("-d @{path}: cannot read {path}: {e}")))?,
            None => d.clone().into_bytes(),
        });
    }
    for h in &a.headers {
        let (k, v) = h
            .split_once(':')
            .ok_or_else(|| BadInput(format!("-H {h:?}: expected 'Name: value'")))?;
        let (k, v) = (k.trim(), v.trim());
        reqwest::header::HeaderName::from_bytes(k.as_bytes())
            .map_err(|_| BadInput(format!("-H {h:?}: {k:?} is not a valid header name")))?;
        reqwest::header::HeaderValue::from_str(v).map_err(|_| {
            BadInput(format!(
                "-H {h:?}: the value holds a control character (CR, LF, …); refused"
            ))
        })?;
        req.headers.insert(k.to_owned(), v.to_owned());
    }
    check_url(&req.url, a.url.is_some(), target)?;
    Ok(req)
}

/// The API URL must be http(s), carry no credentials, and not take the bearer token over
/// plain http to another machine unless the target allows it (RFC 6750 §5.3: tokens only
/// over TLS).
fn check_url(url: &url::Url, from_flag: bool, target: &bearing_auth::Target) -> anyhow::Result<()> {
    let what = if from_flag {
        "URL"
    } else {
        "the target's api url"
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(BadInput(format!(
            "{what} {}: scheme {:?} is not http or https",
            bearing_auth::token::mask_url(url),
            url.scheme()
        ))
        .into());
    }
    bearing_auth::token::refuse_url_credentials(url, what).map_err(|e| BadInput(e.to_string()))?;
    if url.scheme() == "http" && !bearing_auth::token::is_loopback(url) && !target.tls.allow_http {
        return Err(BadInput(format!(
            "{what} {url} uses plain http to a host that is not loopback: the bearer token would \
             cross the network in clear text (RFC 6750 §5.3); use https, or pass --allow-http \
             (tls.allow_http in a target file) for a test gateway"
        ))
        .into());
    }
    Ok(())
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
    let req = build_request(&a, &target)?;
    let mut opts = target.token_client_options();
    opts.request_timeout = a.timeout;
    opts.connect_timeout = opts.connect_timeout.min(a.timeout);
    let manager = target.token_manager_with(&opts)?;
    let http = manager.client().http().clone();
    let call = manager.call(|token| {
        let mut b = http
            .request(req.method.clone(), req.url.clone())
            .bearer_auth(token.expose());
        for (k, v) in &req.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &req.body {
            b = b.body(body.clone());
        }
        async move {
            let resp = b.send().await?;
            let status = resp.status().as_u16();
            let headers: Vec<(String, String)> = resp
                .headers()
                .iter()
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect();
            let body = resp.bytes().await?;
            Ok::<_, reqwest::Error>((status, (headers, body)))
        }
    });
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
    let (status, (headers, body)) = outcome
        .response
        .with_context(|| format!("calling {} {}", req.method, req.url))?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "method": req.method.as_str(),
            "url": req.url.as_str(),
            "status": status,
            "retried_after_401": outcome.retried,
            "token_requests": stats.token_requests,
            "headers": headers.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
            "body": String::from_utf8_lossy(&body),
        }))?,
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            if a.include {
                writeln!(out, "HTTP {status}")?;
                for (k, v) in &headers {
                    writeln!(out, "{k}: {v}")?;
                }
                writeln!(out)?;
            }
            out.write_all(&body)?;
            if !body.ends_with(b"\n") {
                writeln!(out)?;
            }
            if outcome.retried {
                tracing::warn!(
                    "the API answered 401; a new token was fetched and the call retried once"
                );
            }
        }
    }
    Ok(if (200..300).contains(&status) {
        Exit::Ok
    } else {
        Exit::Failed
    })
}
