//! The partner-side one-shot operations (issue 13: the CLI parses flags, the library does
//! the work): `bearing sign` ([`sign_assertion`] with [`AssertionSettings`]) and `bearing
//! call` ([`call_api`] with [`CallSettings`]), `bearing token` ([`request_token`]). Each takes a resolved [`Target`] and returns
//! what the CLI prints; errors are typed ([`PartnerError`]).

use std::time::Duration;

use crate::{Algorithm, ApiAnswer, ApiRequest, Assertion, RequestError, Target};

/// What `bearing sign` changes about the target's assertion.
#[derive(Debug, Clone, Default)]
pub struct AssertionSettings {
    /// Lifetime.
    pub ttl: Option<Duration>,
    /// Algorithm name.
    pub alg: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// Extra claims, `NAME=VALUE` (JSON, else a string; `scope` sets the scope).
    pub claims: Vec<String>,
}

/// What `bearing call` sends.
#[derive(Debug, Clone)]
pub struct CallSettings {
    /// A named API of the target.
    pub api: Option<String>,
    /// Or a method and URL.
    pub method_url: Option<(String, url::Url)>,
    /// The body (`@file` reads a file).
    pub data: Option<String>,
    /// Extra headers, `Name: value`.
    pub headers: Vec<String>,
    /// One deadline over everything.
    pub timeout: Duration,
}

/// What `bearing call` got back.
#[derive(Debug)]
pub struct Called {
    /// The request as sent.
    pub request: ApiRequest,
    /// The answer.
    pub answer: ApiAnswer,
    /// Whether a 401 made it fetch a new token and retry once.
    pub retried: bool,
    /// Token requests made.
    pub token_requests: u64,
}

/// Why a partner operation stopped.
#[derive(Debug, thiserror::Error)]
pub enum PartnerError {
    /// Bad input named by its flag: exit 2.
    #[error("{0}")]
    Input(String),
    /// The identity the target names could not be loaded.
    #[error("loading the partner identity")]
    Identity(#[source] crate::Error),
    /// Signing, token client or transport.
    #[error(transparent)]
    Auth(#[from] crate::Error),
    /// The request could not be built.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// Nothing answered within the deadline.
    #[error("no answer within {} ({method} {url}, or its token endpoint {token_url})", humantime::format_duration(*.timeout))]
    Timeout {
        /// The deadline.
        timeout: Duration,
        /// The request's method.
        method: String,
        /// The request's URL.
        url: String,
        /// The token endpoint.
        token_url: String,
    },
    /// The API call failed in transport.
    #[error("calling {method} {url}")]
    Call {
        /// The request's method.
        method: String,
        /// The request's URL.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
}

/// `bearing token`: one token request with the target's identity (`scope` overrides the
/// target's), within `timeout`; returns the response and the assertion's `jti`.
///
/// # Errors
/// An identity that does not load, a token client that cannot be built, the request failed.
pub async fn request_token(
    target: &Target,
    scope: Option<&str>,
    timeout: Duration,
) -> Result<(crate::TokenResponse, Option<String>), crate::Error> {
    let id = target.load_identity()?;
    let mut opts = target.token_client_options();
    opts.scope = scope.map(str::to_owned);
    opts.request_timeout = timeout;
    opts.connect_timeout = opts.connect_timeout.min(timeout);
    let client = crate::TokenClient::new(target.token_url.clone(), &opts)?;
    let assertion = id.signer.sign()?;
    let resp = client.request_token(&assertion).await?;
    Ok((resp, assertion.jti().map(str::to_owned)))
}

/// Parses `--claim NAME=VALUE`: JSON when it parses, else a string.
///
/// # Errors
/// No `=`, or an empty name.
pub fn parse_claim(s: &str) -> Result<(String, serde_json::Value), PartnerError> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| PartnerError::Input(format!("--claim {s:?}: expected NAME=VALUE")))?;
    if k.is_empty() {
        return Err(PartnerError::Input(format!("--claim {s:?}: empty name")));
    }
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_owned(), value))
}

/// `bearing sign`: applies `s` to the target's assertion and signs one.
///
/// # Errors
/// A bad algorithm or claim, an identity that does not load, a signing failure.
pub fn sign_assertion(
    t: &mut Target,
    s: &AssertionSettings,
) -> Result<(Assertion, Algorithm), PartnerError> {
    if let Some(ttl) = s.ttl {
        t.assertion.ttl = ttl;
    }
    if let Some(alg) = &s.alg {
        let alg = alg.parse();
        t.assertion.alg = Some(alg.map_err(|e| PartnerError::Input(format!("--alg: {e}")))?);
    }
    if let Some(sub) = &s.sub {
        t.assertion.subject = Some(sub.clone());
    }
    for c in &s.claims {
        let (k, v) = parse_claim(c)?;
        if k == "scope" {
            t.assertion.scope = v.as_str().map(str::to_owned);
        } else {
            t.assertion.claims.insert(k, v);
        }
    }
    let id = t.load_identity().map_err(PartnerError::Identity)?;
    Ok((id.signer.sign()?, id.signer.algorithm()))
}

/// `bearing call`: calls the API with a managed token, within one deadline (a gateway that
/// accepts connections and never answers must not hold the command for retries × timeout).
///
/// # Errors
/// A zero timeout, a bad request, no answer in time, a transport failure.
pub async fn call_api(target: &Target, s: &CallSettings) -> Result<Called, PartnerError> {
    let req = ApiRequest::build(
        target,
        s.api.as_deref(),
        s.method_url.as_ref().map(|(m, u)| (m.as_str(), u)),
        s.data.as_deref(),
        &s.headers,
    )?;
    let mut opts = target.token_client_options();
    opts.request_timeout = s.timeout;
    opts.connect_timeout = opts.connect_timeout.min(s.timeout);
    let manager = target.token_manager_with(&opts)?;
    let call = crate::send_api_request(&manager, &req);
    let outcome = tokio::time::timeout(s.timeout, call).await;
    let token_requests = manager.stats().token_requests;
    let outcome = outcome.map_err(|_| PartnerError::Timeout {
        timeout: s.timeout,
        method: req.method.to_string(),
        url: req.url.to_string(),
        token_url: target.token_url.to_string(),
    })??;
    let answer = outcome.response.map_err(|source| PartnerError::Call {
        method: req.method.to_string(),
        url: req.url.to_string(),
        source,
    })?;
    Ok(Called {
        request: req,
        answer,
        retried: outcome.retried,
        token_requests,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values that are JSON stay JSON; anything else is a string; a missing '=' is bad input.
    #[test]
    fn claims_parse() {
        assert_eq!(parse_claim("n=5").expect("ok").1, serde_json::json!(5));
        assert_eq!(
            parse_claim("s=read write").expect("ok").1,
            serde_json::json!("read write")
        );
        assert_eq!(
            parse_claim("a=[1,2]").expect("ok").1,
            serde_json::json!([1, 2])
        );
        assert!(parse_claim("novalue").is_err());
        assert!(parse_claim("=x").is_err());
    }
}
