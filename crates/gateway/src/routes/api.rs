//! Protected APIs (RFC 6750): the bearer token from the `Authorization` header (scheme
//! case-insensitive, RFC 9110 §11.1), the form body (§2.2) or — only when the profile allows
//! — the query (§2.3). 401 with `WWW-Authenticate: Bearer realm="…"` and no `error` when no
//! credentials came (§3.1), `error="invalid_token"` for unknown/expired/revoked tokens, 403
//! `insufficient_scope` when the client may not call the API, 400 `invalid_request` when the
//! token came more than one way (§2).

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bearing_auth::{ErrorStyle, GatewayProfile};
use http::{HeaderValue, StatusCode, header, request::Parts};

use super::{apply_faults, json_response, sanitize_description, simple_error};
use crate::observer::{EventKind, EventOutcome, GatewayEvent};
use crate::state::AppState;
use crate::tokens::{TokenEntry, TokenProblem};

/// 405 for a method the API does not serve.
pub(super) async fn wrong_method() -> Response {
    simple_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "method not allowed for this api",
    )
}

/// A refusal of an API call.
struct Denied {
    status: StatusCode,
    /// RFC 6750 §3.1 code; `None` when no credentials came.
    code: Option<&'static str>,
    /// Apigee fault code.
    apigee: &'static str,
    description: &'static str,
    scope: Option<String>,
}

/// What the event needs.
#[derive(Default)]
struct Seen {
    transports: Vec<String>,
    scheme: Option<String>,
    token: Option<String>,
    client_id: Option<String>,
    in_query: bool,
    received_ms: i64,
    retry_after_s: Option<u64>,
}

/// Serves API number `idx`.
pub(super) async fn call(State(st): State<AppState>, idx: usize, req: Request) -> Response {
    let start = Instant::now();
    let received_ms = if st.wants_events() { st.now_ms() } else { 0 };
    let (parts, body) = req.into_parts();
    let Some(api) = st.apis().get(idx) else {
        return simple_error(StatusCode::NOT_FOUND, "not_found", "no such api");
    };
    if let Some(r) = apply_faults(
        &st,
        &api.name,
        parts.extensions.get::<crate::conn::ConnControl>(),
    )
    .await
    {
        st.metrics()
            .api_call(idx, r.status().as_u16(), start.elapsed());
        if st.wants_events() {
            emit(
                &st,
                &parts,
                idx,
                Seen {
                    received_ms,
                    retry_after_s: GatewayEvent::retry_after_of(r.headers()),
                    ..Seen::default()
                },
                EventOutcome::Fault,
                r.status(),
                None,
                start,
            );
        }
        return r;
    }
    let mut seen = Seen {
        received_ms,
        ..Seen::default()
    };
    let result = authorize(&st, &parts, body, idx, &mut seen).await;
    let (outcome, status, code, response) = match result {
        Ok(()) => (
            EventOutcome::Accepted,
            StatusCode::OK,
            None,
            success(&st, &parts, idx, &seen),
        ),
        Err(d) => {
            let status = d.status;
            let code = d.code;
            (EventOutcome::Rejected, status, code, denied(&st, &d))
        }
    };
    st.metrics()
        .api_call(idx, response.status().as_u16(), start.elapsed());
    if st.wants_events() {
        emit(&st, &parts, idx, seen, outcome, status, code, start);
    }
    response
}

#[expect(
    clippy::too_many_arguments,
    reason = "one event, assembled from the handler's pieces"
)]
fn emit(
    st: &AppState,
    parts: &Parts,
    idx: usize,
    seen: Seen,
    outcome: EventOutcome,
    status: StatusCode,
    code: Option<&str>,
    start: Instant,
) {
    st.emit(GatewayEvent {
        kind: EventKind::ApiCall,
        timestamp_ms: st.now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        content_type: parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        params_in_query: seen.in_query,
        client_id: seen.client_id,
        assertion: None,
        grant_type: None,
        scope: None,
        api: st.apis().get(idx).map(|a| a.name.clone()),
        token: seen.token.as_deref().map(bearing_auth::redact),
        token_transport: seen.transports,
        auth_scheme: seen.scheme,
        basic_client_id: None,
        outcome,
        status: status.as_u16(),
        error: code.map(str::to_owned),
        reason: None,
        latency_us: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        received_ms: seen.received_ms,
        peer: GatewayEvent::peer_of(parts),
        query_params: GatewayEvent::query_names(&parts.uri),
        form_params: None,
        token_expires_ms: None,
        retry_after_s: seen.retry_after_s,
    });
}

fn deny(
    status: StatusCode,
    code: Option<&'static str>,
    apigee: &'static str,
    description: &'static str,
) -> Denied {
    Denied {
        status,
        code,
        apigee,
        description,
        scope: None,
    }
}

/// Whether `t` is an RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// RFC 6750 step by step: find the token (§2), exactly one way; its shape (§2.1); the token
/// store (expired, unknown or revoked: §3.1 `invalid_token`); the client's right to the api
/// and its scope (§3.1 `insufficient_scope`).
async fn authorize(
    st: &AppState,
    parts: &Parts,
    body: Body,
    idx: usize,
    seen: &mut Seen,
) -> Result<(), Denied> {
    let found = find_tokens(st, parts, body, seen).await?;
    let token = one_token(st.profile(), found)?;
    let entry = lookup(st, token, seen)?;
    check_access(st, &entry, idx)
}

/// Every access token the request carries: the `Authorization: Bearer` header (RFC 6750
/// §2.1), the `access_token` query parameter (§2.3) and form body parameter (§2.2).
async fn find_tokens(
    st: &AppState,
    parts: &Parts,
    body: Body,
    seen: &mut Seen,
) -> Result<Vec<(&'static str, String)>, Denied> {
    let mut found: Vec<(&'static str, String)> = Vec::with_capacity(1);
    let mut auth_headers = parts.headers.get_all(header::AUTHORIZATION).iter();
    if let Some(h) = auth_headers.next() {
        if auth_headers.next().is_some() {
            return Err(deny(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                "oauth.v2.InvalidRequest",
                "more than one Authorization header",
            ));
        }
        let h = h.to_str().unwrap_or_default();
        let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
        seen.scheme = Some(scheme.to_owned());
        if scheme.eq_ignore_ascii_case("bearer") {
            found.push(("header", rest.trim_start_matches(' ').to_owned()));
        }
    }
    if let Some(q) = parts.uri.query()
        && let Some((_, v)) =
            form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "access_token")
    {
        seen.in_query = true;
        found.push(("query", v.into_owned()));
    }
    if super::token::is_form(parts) && parts.method != http::Method::GET {
        let bytes = super::token::read_body(parts, body, st.config().max_body_bytes)
            .await
            .map_err(|_| {
                deny(
                    StatusCode::BAD_REQUEST,
                    Some("invalid_request"),
                    "oauth.v2.InvalidRequest",
                    "request body too large or unreadable",
                )
            })?;
        if let Some((_, v)) = form_urlencoded::parse(&bytes).find(|(k, _)| k == "access_token") {
            found.push(("body", v.into_owned()));
        }
    }
    seen.transports = found.iter().map(|(t, _)| (*t).to_owned()).collect();
    Ok(found)
}

/// The one token sent (RFC 6750 §2: one method only), from the query only when the profile
/// allows it, shaped as a `b64token`.
fn one_token(p: &GatewayProfile, mut found: Vec<(&'static str, String)>) -> Result<String, Denied> {
    if found.len() > 1 {
        return Err(deny(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "oauth.v2.InvalidRequest",
            "the access token was sent in more than one way",
        ));
    }
    let token = match found.pop() {
        None => None,
        Some(("query", _)) if !p.allow_query_token => None,
        Some((_, t)) => Some(t),
    };
    let Some(token) = token else {
        return Err(deny(
            StatusCode::UNAUTHORIZED,
            None,
            "oauth.v2.InvalidAccessToken",
            "a bearer access token is required",
        ));
    };
    if !is_b64token(&token) {
        return Err(deny(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "keymanagement.service.invalid_access_token",
            "the access token is malformed",
        ));
    }
    Ok(token)
}

/// The token's entry in the store: expired, or unknown or revoked, is `invalid_token`.
fn lookup(st: &AppState, token: String, seen: &mut Seen) -> Result<TokenEntry, Denied> {
    let result = st.tokens().lookup(&token, st.now_ms());
    seen.token = Some(token);
    let entry = match result {
        Ok(e) => e,
        Err(TokenProblem::Expired) => {
            return Err(deny(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "keymanagement.service.access_token_expired",
                "the access token has expired",
            ));
        }
        Err(TokenProblem::Unknown) => {
            return Err(deny(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "keymanagement.service.invalid_access_token",
                "the access token is unknown or revoked",
            ));
        }
    };
    seen.client_id = Some(entry.client.id.clone());
    Ok(entry)
}

/// The client may call api `idx`, with its scope when the api names one; else the profile's
/// `rs_insufficient_scope_status`.
fn check_access(st: &AppState, entry: &TokenEntry, idx: usize) -> Result<(), Denied> {
    let api = &st.apis()[idx];
    let scope_ok = api.scope.as_ref().is_none_or(|need| {
        entry
            .scope
            .as_deref()
            .is_some_and(|have| have.split(' ').any(|s| s == need))
    });
    if !entry.client.may_call(&api.name) || !scope_ok {
        let status = StatusCode::from_u16(st.profile().rs_insufficient_scope_status)
            .unwrap_or(StatusCode::FORBIDDEN);
        let mut d = deny(
            status,
            Some("insufficient_scope"),
            "oauth.v2.InvalidAPICallAsNoApiProductMatchFound",
            "the client may not call this api",
        );
        d.scope = api.scope.clone();
        return Err(d);
    }
    Ok(())
}

fn denied(st: &AppState, d: &Denied) -> Response {
    let p = st.profile();
    let body = match p.error_style {
        ErrorStyle::Rfc => match d.code {
            Some(code) => serde_json::json!({ "error": code, "error_description": d.description }),
            None => serde_json::json!({ "error_description": d.description }),
        },
        ErrorStyle::Apigee => serde_json::json!({
            "fault": { "faultstring": d.description, "detail": { "errorcode": d.apigee } }
        }),
    };
    let mut r = json_response(d.status, serde_json::to_vec(&body).unwrap_or_default());
    if p.rs_challenge {
        // RFC 6750 §3: realm always; error only when credentials were sent.
        let v = match d.code {
            None => st.inner().challenge.clone(),
            Some(code) => {
                let mut s = format!(
                    "{}, error=\"{code}\", error_description=\"{}\"",
                    st.inner().challenge.to_str().unwrap_or("Bearer"),
                    sanitize_description(d.description)
                );
                if let Some(scope) = &d.scope {
                    s.push_str(&format!(", scope=\"{}\"", sanitize_description(scope)));
                }
                HeaderValue::from_str(&s).unwrap_or_else(|_| st.inner().challenge.clone())
            }
        };
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r
}

fn success(st: &AppState, parts: &Parts, idx: usize, seen: &Seen) -> Response {
    let api = &st.apis()[idx];
    if let Some(resp) = &api.response {
        let mut r = Response::new(Body::from(resp.body.clone()));
        *r.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
        if let Ok(v) = HeaderValue::from_str(&resp.content_type) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        return r;
    }
    let soap = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().contains("soap"));
    if soap {
        let mut r = Response::new(Body::from(SOAP_BODY));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/soap+xml;charset=UTF-8"),
        );
        return r;
    }
    let body = serde_json::json!({
        "api": api.name,
        "client_id": seen.client_id,
        "items": [{ "sku": "A-100", "quantity": 12 }, { "sku": "B-200", "quantity": 3 }],
    });
    json_response(
        StatusCode::OK,
        serde_json::to_vec(&body).unwrap_or_default(),
    )
}

const SOAP_BODY: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope">"#,
    "<soap:Body><InventoryResponse><Item sku=\"A-100\" quantity=\"12\"/>",
    "<Item sku=\"B-200\" quantity=\"3\"/></InventoryResponse></soap:Body></soap:Envelope>"
);
