//! One call of a protected API with a managed token (`bearing call`): the request built
//! from the target and the caller's settings, sent through a [`TokenManager`] (one retry with
//! a new token after a 401), and the answer as JSON or as text (`curl -i` style).

use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::Target;
use crate::token::{CallOutcome, TokenManager};

/// What `bearing call` sends: a request to an API of the target (by name, or the first
/// one) or to a method and URL given directly, with an optional body and extra headers.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: reqwest::Method,
    /// The URL.
    pub url: url::Url,
    /// Headers besides `Authorization`.
    pub headers: BTreeMap<String, String>,
    /// The body, if any.
    pub body: Option<Vec<u8>>,
}

/// What the API answered.
#[derive(Debug, Clone)]
pub struct ApiAnswer {
    /// The HTTP status.
    pub status: u16,
    /// The response headers, in order.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
}

/// Why a request cannot be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// A flag or the target's API entry is unusable (the message names it).
    #[error("{0}")]
    Bad(String),
    /// The API's body file could not be read.
    #[error(transparent)]
    Auth(#[from] crate::Error),
}

fn bad(m: String) -> RequestError {
    RequestError::Bad(m)
}

impl ApiRequest {
    /// The request for `api` (a name in the target; the first API when `None`), or for
    /// `method_url` when given; `data` replaces the body (`@file` reads a file), `headers`
    /// (`Name: value`) are added. Refuses URLs that would leak the token (see
    /// [`check_api_url`]).
    ///
    /// # Errors
    /// [`RequestError`] naming the flag or API at fault.
    pub fn build(
        target: &Target,
        api: Option<&str>,
        method_url: Option<(&str, &url::Url)>,
        data: Option<&str>,
        headers: &[String],
    ) -> Result<Self, RequestError> {
        let mut req = match (api, method_url) {
            (_, Some((m, u))) => Self {
                method: reqwest::Method::from_bytes(m.to_ascii_uppercase().as_bytes())
                    .map_err(|_| bad(format!("invalid HTTP method {m:?}")))?,
                url: u.clone(),
                headers: BTreeMap::new(),
                body: None,
            },
            (name, None) => {
                let spec = match name {
                    Some(n) => target.api(n).ok_or_else(|| {
                        let known: Vec<&str> =
                            target.apis.iter().map(|a| a.name.as_str()).collect();
                        bad(format!(
                            "no api named {n:?} in the target (known: {known:?})"
                        ))
                    })?,
                    None => target.apis.first().ok_or_else(|| {
                        bad("the target names no api: give --api NAME or METHOD URL".into())
                    })?,
                };
                Self {
                    method: reqwest::Method::from_bytes(
                        spec.method.to_ascii_uppercase().as_bytes(),
                    )
                    .map_err(|_| bad(format!("api {:?}: invalid method", spec.name)))?,
                    url: spec.url.clone(),
                    headers: spec.headers.clone(),
                    body: spec.load_body()?,
                }
            }
        };
        if let Some(d) = data {
            req.body = Some(match d.strip_prefix('@') {
                Some(path) => std::fs::read(path)
                    .map_err(|e| bad(format!("-d @{path}: cannot read {path}: {e}")))?,
                None => d.as_bytes().to_vec(),
            });
        }
        for h in headers {
            let (k, v) = h
                .split_once(':')
                .ok_or_else(|| bad(format!("-H {h:?}: expected 'Name: value'")))?;
            let (k, v) = (k.trim(), v.trim());
            reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| bad(format!("-H {h:?}: {k:?} is not a valid header name")))?;
            reqwest::header::HeaderValue::from_str(v).map_err(|_| {
                bad(format!(
                    "-H {h:?}: the value holds a control character (CR, LF, …); refused"
                ))
            })?;
            req.headers.insert(k.to_owned(), v.to_owned());
        }
        check_api_url(&req.url, method_url.is_some(), target)?;
        Ok(req)
    }
}

/// The API URL must be http(s), carry no credentials, and not take the bearer token over
/// plain http to another machine unless the target allows it (RFC 6750 §5.3: tokens only
/// over TLS).
///
/// # Errors
/// [`RequestError::Bad`] saying why.
pub fn check_api_url(url: &url::Url, from_flag: bool, target: &Target) -> Result<(), RequestError> {
    let what = if from_flag {
        "URL"
    } else {
        "the target's api url"
    };
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(format!(
            "{what} {}: scheme {:?} is not http or https",
            crate::token::mask_url(url),
            url.scheme()
        )));
    }
    crate::token::refuse_url_credentials(url, what).map_err(|e| bad(e.to_string()))?;
    if url.scheme() == "http" && !crate::token::is_loopback(url) && !target.tls.allow_http {
        return Err(bad(format!(
            "{what} {url} uses plain http to a host that is not loopback: the bearer token would \
             cross the network in clear text (RFC 6750 §5.3); use https, or pass --allow-http \
             (tls.allow_http in a target file) for a test gateway"
        )));
    }
    Ok(())
}

/// Sends `req` with a token from `manager`; after a 401 once more with a new token.
///
/// # Errors
/// A token could not be fetched (the call's own transport error is in the outcome).
pub async fn send_api_request(
    manager: &TokenManager,
    req: &ApiRequest,
) -> crate::Result<CallOutcome<Result<ApiAnswer, reqwest::Error>>> {
    let http = manager.client().http().clone();
    let outcome = manager
        .call(|token| {
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
        })
        .await?;
    Ok(CallOutcome {
        response: outcome.response.map(|(status, (headers, body))| ApiAnswer {
            status,
            headers,
            body: body.to_vec(),
        }),
        retried: outcome.retried,
    })
}

/// The JSON document of `bearing call`.
pub fn answer_json(
    req: &ApiRequest,
    answer: &ApiAnswer,
    retried: bool,
    token_requests: u64,
) -> serde_json::Value {
    serde_json::json!({
        "method": req.method.as_str(),
        "url": req.url.as_str(),
        "status": answer.status,
        "retried_after_401": retried,
        "token_requests": token_requests,
        "headers": answer.headers.iter().map(|(k, v)| serde_json::json!([k, v])).collect::<Vec<_>>(),
        "body": String::from_utf8_lossy(&answer.body),
    })
}

/// Writes the answer's body (ending in a newline), after the status line and headers when
/// `include`.
///
/// # Errors
/// A write error.
pub fn write_answer(answer: &ApiAnswer, include: bool, out: &mut impl Write) -> io::Result<()> {
    if include {
        writeln!(out, "HTTP {}", answer.status)?;
        for (k, v) in &answer.headers {
            writeln!(out, "{k}: {v}")?;
        }
        writeln!(out)?;
    }
    out.write_all(&answer.body)?;
    if !answer.body.ends_with(b"\n") {
        writeln!(out)?;
    }
    Ok(())
}
