//! The managed step: bearing-auth's [`TokenManager`] calls an API, and a recording proxy on
//! `127.0.0.1:0` ("the tap") sits between it and the gateway, so the case checks what went
//! over the wire — token requests made, distinct `jti`s among their assertions, API calls,
//! the final status — rather than what the manager says about itself. The tap forwards with
//! the run's HTTP client (the target's TLS settings), so it works against real gateways too.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response as AxumResponse};
use bearing_auth::SystemClock;
use bearing_auth::{ManagerConfig, TokenClient, TokenManager};

use super::case::{CaseCtx, StepEnd};
use super::check::{Side, Wire};
use crate::http::{Request, Response};
use crate::model::{Invalidate, ManagedStep};

#[derive(Default)]
struct Seen {
    token_requests: u32,
    jtis: HashSet<String>,
    api_calls: u32,
    exchanges: Vec<(String, Request, Result<Response, String>, Duration)>,
    /// Without an admin API to revoke: the next API call's token is replaced by a
    /// well-formed token the gateway never issued, which provokes the same 401.
    spoil_next: bool,
}

/// A token of the same length and alphabet as `t` that the gateway never issued: every
/// letter and digit shifted by one (`a`→`b`, `z`→`a`, `9`→`0`), other characters kept.
fn unknown_like(t: &str) -> String {
    t.chars()
        .map(|c| match c {
            'a'..='y' | 'A'..='Y' | '0'..='8' => char::from(c as u8 + 1),
            'z' => 'a',
            'Z' => 'A',
            '9' => '0',
            other => other,
        })
        .collect()
}

#[derive(Clone)]
struct Tap {
    http: reqwest::Client,
    token_url: url::Url,
    api_url: url::Url,
    timeout: Duration,
    seen: Arc<Mutex<Seen>>,
}

fn lock(m: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn jti_of_form(body: &[u8]) -> Option<String> {
    let assertion = url::form_urlencoded::parse(body)
        .find(|(k, _)| k == "assertion")?
        .1
        .into_owned();
    let d = bearing_auth::DecodedJwt::parse(&assertion).ok()?;
    d.claims
        .get("jti")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

const FORWARDED: [&str; 4] = ["content-type", "accept", "authorization", "soapaction"];

async fn forward(
    State(tap): State<Tap>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    let is_token = uri.path() == "/token";
    let mut url = if is_token {
        tap.token_url.clone()
    } else {
        tap.api_url.clone()
    };
    if !is_token && let Some(q) = uri.query() {
        url.set_query(Some(q));
    }
    let spoil = !is_token && std::mem::take(&mut lock(&tap.seen).spoil_next);
    let req = Request {
        method: method.as_str().to_owned(),
        url,
        headers: headers
            .iter()
            .filter(|(n, _)| FORWARDED.contains(&n.as_str()))
            .map(|(n, v)| {
                let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                let v = match v.split_once(' ') {
                    Some((scheme, t)) if spoil && n == "authorization" => {
                        format!("{scheme} {}", unknown_like(t))
                    }
                    _ => v,
                };
                (n.as_str().to_owned(), v)
            })
            .collect(),
        body: (!body.is_empty()).then(|| body.to_vec()),
    };
    let started = Instant::now();
    let resp = crate::http::send(&tap.http, &req, tap.timeout).await;
    {
        let mut seen = lock(&tap.seen);
        if is_token {
            seen.token_requests += 1;
            if let Some(j) = jti_of_form(&body) {
                seen.jtis.insert(j);
            }
        } else {
            seen.api_calls += 1;
        }
        let label = if is_token {
            "token (via tap)"
        } else if spoil {
            "api (via tap, token replaced by a well-formed unknown one)"
        } else {
            "api (via tap)"
        };
        seen.exchanges
            .push((label.to_owned(), req, resp.clone(), started.elapsed()));
    }
    match resp {
        Ok(r) => {
            let mut out = axum::http::Response::builder()
                .status(StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY));
            for (n, v) in &r.headers {
                if !matches!(
                    n.as_str(),
                    "content-length" | "transfer-encoding" | "connection"
                ) {
                    out = out.header(n.as_str(), v.as_str());
                }
            }
            out.body(axum::body::Body::from(r.body))
                .unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response())
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("tap: upstream failed: {e}"),
        )
            .into_response(),
    }
}

impl CaseCtx<'_> {
    pub(crate) async fn managed_step(&mut self, m: &ManagedStep) -> StepEnd {
        let spec = match &m.api {
            Some(n) => self.env.target.api(n),
            None => self.env.target.apis.first(),
        };
        let Some(spec) = spec.cloned() else {
            return StepEnd::Skip("the target lists no apis".into());
        };
        let body = match spec.load_body() {
            Ok(b) => b,
            Err(e) => return StepEnd::Error(format!("api body: {e}")),
        };
        let timeout = self.env.config.request_timeout;
        let seen = Arc::new(Mutex::new(Seen::default()));
        let tap = Tap {
            http: self.env.http.clone(),
            token_url: self.env.target.token_url.clone(),
            api_url: spec.url.clone(),
            timeout,
            seen: Arc::clone(&seen),
        };
        let listener = match tokio::net::TcpListener::bind("127.0.0.1:0").await {
            Ok(l) => l,
            Err(e) => return StepEnd::Error(format!("cannot start the tap: {e}")),
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(e) => return StepEnd::Error(format!("cannot start the tap: {e}")),
        };
        let app = Router::new().fallback(forward).with_state(tap);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let outcome = self
            .drive_manager(m, &spec, body, addr, timeout, &seen)
            .await;
        server.abort();
        let seen = std::mem::take(&mut *lock(&seen));
        for (_, _, r, _) in &seen.exchanges {
            if let Ok(r) = r
                && let Some(t) = r.json().and_then(|b| {
                    b.get("access_token")
                        .and_then(|v| v.as_str().map(str::to_owned))
                })
            {
                self.secrets.add(&t);
            }
        }
        for (label, req, resp, d) in &seen.exchanges {
            if let Some(a) = req.body.as_deref().and_then(|b| {
                url::form_urlencoded::parse(b)
                    .find(|(k, _)| k == "assertion")
                    .map(|(_, v)| v.into_owned())
            }) {
                self.secrets.add(&a);
            }
            self.record(label, req, resp, *d);
        }
        let last = match outcome {
            Ok(r) => r,
            Err(e) => return e,
        };
        let wire = Wire {
            token_requests: seen.token_requests,
            distinct_jtis: u32::try_from(seen.jtis.len()).unwrap_or(u32::MAX),
            api_calls: seen.api_calls,
        };
        let list = self.expectations(m.expect.as_ref(), &m.expect_by_profile, m.should.as_ref());
        self.check_all(&list, &last, Side::Resource, Some(wire));
        StepEnd::Continue
    }

    /// Runs the manager's calls through the tap; returns the last API answer.
    async fn drive_manager(
        &mut self,
        m: &ManagedStep,
        spec: &bearing_auth::ApiSpec,
        body: Option<Vec<u8>>,
        addr: std::net::SocketAddr,
        timeout: Duration,
        seen: &Arc<Mutex<Seen>>,
    ) -> Result<Response, StepEnd> {
        let setup = |e: String| StepEnd::Error(format!("setting up the token manager: {e}"));
        let plain = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .build()
            .map_err(|e| setup(e.to_string()))?;
        let token_url: url::Url = format!("http://{addr}/token")
            .parse()
            .map_err(|e: url::ParseError| setup(e.to_string()))?;
        let mut api_url: url::Url = format!("http://{addr}/api")
            .parse()
            .map_err(|e: url::ParseError| setup(e.to_string()))?;
        api_url.set_query(spec.url.query());
        let client = TokenClient::from_http(plain.clone(), token_url, None, 1024 * 1024);
        let manager = TokenManager::new(
            self.env.primary.signer.clone(),
            client,
            Arc::new(SystemClock),
            ManagerConfig {
                max_attempts: 1,
                ..ManagerConfig::default()
            },
        )
        .map_err(|e| setup(e.to_string()))?;
        let method = reqwest::Method::from_bytes(spec.method.to_ascii_uppercase().as_bytes())
            .map_err(|e| setup(e.to_string()))?;
        let mut last = None;
        for i in 0..m.calls {
            if i == 1 && m.invalidate == Invalidate::Revoke {
                if let Some(admin) = self.env.admin.clone() {
                    let started = Instant::now();
                    let (req, resp) = admin
                        .revoke_client(&self.env.primary.client_id, timeout)
                        .await;
                    self.record("admin", &req, &resp, started.elapsed());
                    if !resp.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
                        return Err(StepEnd::Error(
                            "the admin API did not revoke the token".into(),
                        ));
                    }
                } else {
                    // No admin API: a well-formed token the gateway never issued provokes the
                    // same 401 (RFC 6750 §3.1 invalid_token) on the next call.
                    lock(seen).spoil_next = true;
                }
            }
            let out = manager
                .call(|token| {
                    let mut b = plain
                        .request(method.clone(), api_url.clone())
                        .bearer_auth(token.expose());
                    for (k, v) in &spec.headers {
                        b = b.header(k.as_str(), v.as_str());
                    }
                    if let Some(body) = &body {
                        b = b.body(body.clone());
                    }
                    async move {
                        let started = Instant::now();
                        match b.send().await {
                            Ok(r) => {
                                let status = r.status().as_u16();
                                let headers = r
                                    .headers()
                                    .iter()
                                    .map(|(n, v)| {
                                        (
                                            n.as_str().to_owned(),
                                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                                        )
                                    })
                                    .collect();
                                let body = r.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
                                (
                                    status,
                                    Ok(Response {
                                        status,
                                        headers,
                                        body,
                                        elapsed: started.elapsed(),
                                    }),
                                )
                            }
                            Err(e) => (0u16, Err(crate::http::chain(&e))),
                        }
                    }
                })
                .await
                .map_err(|e| {
                    StepEnd::Error(format!("the token manager could not get a token: {e}"))
                })?;
            match out.response.1 {
                Ok(r) => last = Some(r),
                Err(e) => {
                    return Err(StepEnd::Error(format!(
                        "api call through the manager failed: {e}"
                    )));
                }
            }
        }
        last.ok_or_else(|| StepEnd::Error("no api call was made".into()))
    }
}
