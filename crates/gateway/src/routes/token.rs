//! `POST /oauth/token`: the JWT bearer grant (RFC 7523 §2.1, RFC 7521 §4.1, RFC 6749 §3.2,
//! §5). Form body only, each parameter at most once, empty values treated as omitted,
//! unknown parameters ignored, bounded body, parameters never taken from the URL.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use bearing_auth::{ExpiresInFormat, GatewayProfile};
use http::{HeaderValue, StatusCode, header, request::Parts};

use super::{apply_faults, json_response, token_error};
use crate::observer::{EventKind, EventOutcome, GatewayEvent};
use crate::registry::Client;
use crate::state::AppState;
use crate::tokens::TokenEntry;
use crate::validate::{Accepted, AssertionInfo, RejectReason};

/// The grant type of RFC 7523 §2.1.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Parameters this endpoint knows; each may appear at most once (RFC 6749 §3.2).
const KNOWN: [&str; 7] = [
    "grant_type",
    "assertion",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
];

/// A refusal on its way to becoming a response.
struct Fail {
    status: StatusCode,
    code: String,
    description: String,
    reason: Option<RejectReason>,
    basic_challenge: bool,
}

fn fail(status: StatusCode, code: &str, description: impl Into<String>) -> Fail {
    Fail {
        status,
        code: code.into(),
        description: description.into(),
        reason: None,
        basic_challenge: false,
    }
}

fn invalid_request(description: impl Into<String>) -> Fail {
    fail(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// What the event needs beyond the outcome.
#[derive(Default)]
struct Seen {
    info: Option<AssertionInfo>,
    grant_type: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
    token: Option<String>,
    params_in_query: bool,
    received_ms: i64,
    form_params: Option<Vec<String>>,
    token_expires_ms: Option<i64>,
    retry_after_s: Option<u64>,
}

struct Issued {
    body: Vec<u8>,
}

/// 405 for every method but POST (RFC 6749 §3.2), as a JSON `invalid_request`.
pub(super) async fn wrong_method(State(st): State<AppState>) -> Response {
    let mut r = token_error(
        st.profile().error_style,
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "the token endpoint only accepts POST",
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}

/// The token endpoint handler.
pub(super) async fn token(State(st): State<AppState>, req: Request) -> Response {
    let start = Instant::now();
    let received_ms = if st.wants_events() { st.now_ms() } else { 0 };
    let (parts, body) = req.into_parts();
    if let Some(r) = apply_faults(
        &st,
        "token",
        parts.extensions.get::<crate::conn::ConnControl>(),
    )
    .await
    {
        if st.wants_events() {
            emit(
                &st,
                &parts,
                Seen {
                    received_ms,
                    retry_after_s: GatewayEvent::retry_after_of(r.headers()),
                    ..Seen::default()
                },
                EventOutcome::Fault,
                r.status(),
                None,
                None,
                start,
            );
        }
        return r;
    }
    let now_ms = st.now_ms();
    let mut seen = Seen {
        received_ms,
        ..Seen::default()
    };
    let want = st.wants_events();
    let result = handle(&st, &parts, body, now_ms, &mut seen, want).await;
    let elapsed = start.elapsed();
    match result {
        Ok(issued) => {
            st.metrics().token_issued(elapsed);
            let mut r = json_response(StatusCode::OK, issued.body);
            let h = r.headers_mut();
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if st.profile().pragma_no_cache {
                h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            }
            if want {
                emit(
                    &st,
                    &parts,
                    seen,
                    EventOutcome::Accepted,
                    StatusCode::OK,
                    None,
                    None,
                    start,
                );
            }
            r
        }
        Err(f) => {
            st.metrics().token_error(&f.code, elapsed);
            tracing::debug!(code = %f.code, reason = ?f.reason, "token request refused");
            let mut r = token_error(st.profile().error_style, f.status, &f.code, &f.description);
            if f.basic_challenge {
                let v = format!("Basic realm=\"{}\"", st.config().realm);
                if let Ok(v) = HeaderValue::from_str(&v) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
            }
            if want {
                emit(
                    &st,
                    &parts,
                    seen,
                    EventOutcome::Rejected,
                    f.status,
                    Some(f.code),
                    f.reason,
                    start,
                );
            }
            r
        }
    }
}

#[expect(
    clippy::too_many_arguments,
    reason = "one event, assembled from the handler's pieces"
)]
fn emit(
    st: &AppState,
    parts: &Parts,
    seen: Seen,
    outcome: EventOutcome,
    status: StatusCode,
    error: Option<String>,
    reason: Option<RejectReason>,
    start: Instant,
) {
    st.emit(GatewayEvent {
        kind: EventKind::TokenRequest,
        timestamp_ms: st.now_ms(),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        content_type: header_str(parts, header::CONTENT_TYPE),
        params_in_query: seen.params_in_query,
        client_id: seen.client_id,
        assertion: seen.info,
        grant_type: seen.grant_type,
        scope: seen.scope,
        api: None,
        token: seen.token.as_deref().map(bearing_auth::redact),
        token_transport: Vec::new(),
        auth_scheme: header_str(parts, header::AUTHORIZATION)
            .map(|a| a.split(' ').next().unwrap_or_default().to_owned()),
        basic_client_id: basic_client_id(parts),
        outcome,
        status: status.as_u16(),
        error,
        reason,
        latency_us: u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX),
        received_ms: seen.received_ms,
        peer: GatewayEvent::peer_of(parts),
        query_params: GatewayEvent::query_names(&parts.uri),
        form_params: seen.form_params,
        token_expires_ms: seen.token_expires_ms,
        retry_after_s: seen.retry_after_s,
    });
}

/// The user-id of `Authorization: Basic base64(id:secret)` (RFC 7617 §2), never the secret.
fn basic_client_id(parts: &Parts) -> Option<String> {
    use base64::Engine as _;
    let v = header_str(parts, header::AUTHORIZATION)?;
    let (scheme, creds) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(creds.trim())
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let id = text.split_once(':').map_or(text.as_str(), |(id, _)| id);
    (!id.is_empty()).then(|| id.to_owned())
}

fn header_str(parts: &Parts, name: header::HeaderName) -> Option<String> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Whether the `Content-Type` is `application/x-www-form-urlencoded` (parameters allowed).
pub(super) fn is_form(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Reads the body up to `limit` bytes; `Err` is the refusal (413 when too large).
/// The most of a refused (oversized) body the gateway still reads and discards, and for how
/// long, so that a client still sending it reads the 413 instead of a reset connection (a
/// "lingering close"; without it hyper clients report a broken pipe, not the answer).
const DRAIN_MAX_BYTES: u64 = 8 * 1024 * 1024;
const DRAIN_MAX_TIME: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads and discards what is left of a refused body, bounded in bytes and time.
async fn drain(mut body: Body, mut left: u64) {
    use http_body_util::BodyExt as _;
    let _ = tokio::time::timeout(DRAIN_MAX_TIME, async {
        while left > 0 {
            match body.frame().await {
                Some(Ok(frame)) => {
                    let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                    left = left.saturating_sub(n);
                }
                _ => break,
            }
        }
    })
    .await;
}

pub(super) async fn read_body(
    parts: &Parts,
    body: Body,
    limit: usize,
) -> Result<bytes::Bytes, (StatusCode, String)> {
    use http_body_util::BodyExt as _;
    let too_large = || {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {limit} bytes"),
        )
    };
    if let Some(len) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
    {
        match len.parse::<u64>() {
            Ok(n) if n <= limit as u64 => {}
            Ok(n) if n <= DRAIN_MAX_BYTES => {
                drain(body, n).await;
                return Err(too_large());
            }
            _ => return Err(too_large()),
        }
    }
    let mut body = body;
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err((
                StatusCode::BAD_REQUEST,
                "request body could not be read".into(),
            ));
        };
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                drain(body, DRAIN_MAX_BYTES).await;
                return Err(too_large());
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}

/// The grant, step by step: the request's shape (RFC 6749 §3.2), its form parameters, the
/// grant type, the assertion (RFC 7523 §3), the client id and scope, then the token (§5.1).
async fn handle(
    st: &AppState,
    parts: &Parts,
    body: Body,
    now_ms: i64,
    seen: &mut Seen,
    want: bool,
) -> Result<Issued, Fail> {
    let p = st.profile();
    check_request(parts, seen, want)?;
    let bytes = read_body(parts, body, st.config().max_body_bytes)
        .await
        .map_err(|(s, m)| fail(s, "invalid_request", m))?;
    if want {
        seen.form_params = Some(
            form_urlencoded::parse(&bytes)
                .map(|(k, _)| k.into_owned())
                .collect(),
        );
    }
    let params = form_params(&bytes)?;
    // Empty values count as omitted (RFC 6749 §3.2); a repeated empty value still repeats.
    let take = |i: usize| {
        params[i]
            .as_deref()
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    let (grant_type, assertion, scope, client_id) = (take(0), take(1), take(2), take(3));
    seen.grant_type.clone_from(&grant_type);
    seen.scope.clone_from(&scope);
    check_grant_type(p, grant_type.as_deref())?;
    if take(4).is_some() || take(5).is_some() || take(6).is_some() {
        return Err(fail(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication is not supported for this grant",
        ));
    }
    let Some(assertion) = assertion else {
        return Err(invalid_request("assertion is missing"));
    };
    let accepted = validate_assertion(st, &assertion, now_ms, seen, want)?;
    let client = Arc::clone(&accepted.client);
    seen.client_id = Some(client.id.clone());
    if client_id.as_deref().is_some_and(|c| c != client.id) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "client_id does not match the assertion's iss",
        ));
    }
    // Scope (RFC 6749 §3.3, §5.1): the form parameter, else a Google-style scope claim.
    let requested = scope.or(accepted.scope_claim);
    let granted = grant_scope(&client, requested.as_deref())?;
    let (issued, token, expires_ms) = issue(
        st,
        client,
        granted,
        requested.as_deref(),
        accepted.jti.as_deref(),
        now_ms,
    );
    if want {
        seen.token_expires_ms = Some(expires_ms);
        seen.token = Some(token);
    }
    Ok(issued)
}

/// The request's shape before its body is read: parameters never in the URL (RFC 6749
/// §3.2, §2.3.1), a form body, no `Authorization` (no client secrets here).
fn check_request(parts: &Parts, seen: &mut Seen, want: bool) -> Result<(), Fail> {
    if let Some(q) = parts.uri.query()
        && form_urlencoded::parse(q.as_bytes()).any(|(k, _)| KNOWN.contains(&k.as_ref()))
    {
        seen.params_in_query = true;
        if want {
            seen.info = form_urlencoded::parse(q.as_bytes())
                .find(|(k, _)| k == "assertion")
                .and_then(|(_, v)| AssertionInfo::peek(&v));
        }
        return Err(invalid_request(
            "parameters must be sent in the form body, not the URL",
        ));
    }
    if !is_form(parts) {
        return Err(invalid_request(
            "content type must be application/x-www-form-urlencoded",
        ));
    }
    if parts.headers.contains_key(header::AUTHORIZATION) {
        // RFC 6749 §5.2: client authentication through Authorization failed → 401 + challenge.
        let mut f = fail(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "this gateway registers no client secrets: authenticate with the assertion alone",
        );
        f.basic_challenge = true;
        return Err(f);
    }
    Ok(())
}

/// The [`KNOWN`] parameters of the form body, in that order; each at most once (RFC 6749
/// §3.2), unknown ones ignored.
fn form_params(bytes: &[u8]) -> Result<[Option<String>; KNOWN.len()], Fail> {
    let mut params: [Option<String>; KNOWN.len()] = Default::default();
    for (k, v) in form_urlencoded::parse(bytes) {
        let Some(i) = KNOWN.iter().position(|n| *n == k) else {
            continue;
        };
        if params[i].is_some() {
            return Err(invalid_request(format!(
                "parameter {} is repeated",
                KNOWN[i]
            )));
        }
        params[i] = Some(v.into_owned());
    }
    Ok(params)
}

/// `grant_type` is the JWT bearer grant (RFC 7523 §2.1), with the profile's error codes.
fn check_grant_type(p: &GatewayProfile, grant_type: Option<&str>) -> Result<(), Fail> {
    match grant_type {
        None => Err(invalid_request_code(
            &p.errors.missing_grant_type,
            "grant_type is missing",
        )),
        Some(JWT_BEARER) => Ok(()),
        Some(_) => Err(invalid_request_code(
            &p.errors.unknown_grant_type,
            "grant_type is not supported",
        )),
    }
}

/// The assertion through the [`Validator`](crate::validate::Validator); a refusal is
/// `invalid_grant` (RFC 7523 §3.1), a replay the profile's code.
fn validate_assertion(
    st: &AppState,
    assertion: &str,
    now_ms: i64,
    seen: &mut Seen,
    want: bool,
) -> Result<Accepted, Fail> {
    let p = st.profile();
    let mut info = want.then(AssertionInfo::default);
    let result =
        st.inner()
            .validator
            .validate(assertion, st.registry(), st.replay(), now_ms, info.as_mut());
    seen.info = info;
    result.map_err(|r| {
        let code = if r.reason == RejectReason::Replay {
            p.errors.replay.as_str()
        } else {
            "invalid_grant"
        };
        Fail {
            status: StatusCode::BAD_REQUEST,
            code: code.to_owned(),
            description: r.description,
            reason: Some(r.reason),
            basic_challenge: false,
        }
    })
}

/// The scope granted (RFC 6749 §3.3): every requested scope must be the client's; none
/// requested grants all of them.
fn grant_scope(client: &Client, requested: Option<&str>) -> Result<Option<String>, Fail> {
    match requested {
        Some(s) => {
            if let Some(bad) = s
                .split(' ')
                .filter(|x| !x.is_empty())
                .find(|x| !client.scopes.iter().any(|c| c == x))
            {
                let shown: String = bad.chars().take(64).collect();
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "invalid_scope",
                    format!("scope {shown} is not allowed for this client"),
                ));
            }
            Ok(Some(s.to_owned()))
        }
        None if client.scopes.is_empty() => Ok(None),
        None => Ok(Some(client.scopes.join(" "))),
    }
}

/// Issues the access token and builds the RFC 6749 §5.1 response body as the profile says
/// (`token_type`, `expires_in` as number or string); also returns the token and its expiry
/// (ms) for the event.
fn issue(
    st: &AppState,
    client: Arc<Client>,
    granted: Option<String>,
    requested: Option<&str>,
    jti: Option<&str>,
    now_ms: i64,
) -> (Issued, String, i64) {
    let p = st.profile();
    let lifetime = st.token_lifetime();
    let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX / 2);
    let token = st.tokens().issue(TokenEntry {
        client,
        scope: granted.as_deref().map(Arc::from),
        issued_ms: now_ms,
        expires_ms: now_ms.saturating_add(lifetime_ms),
        jti: jti.map(Arc::from),
    });
    let secs = lifetime.as_secs();
    let mut body = serde_json::Map::new();
    body.insert("access_token".into(), token.clone().into());
    body.insert("token_type".into(), p.token_type.clone().into());
    body.insert(
        "expires_in".into(),
        match p.expires_in_format {
            ExpiresInFormat::Number => secs.into(),
            ExpiresInFormat::String => secs.to_string().into(),
        },
    );
    // RFC 6749 §5.1: scope is REQUIRED when it differs from the request.
    if let Some(g) = &granted
        && requested != Some(g.as_str())
    {
        body.insert("scope".into(), g.clone().into());
    }
    let issued = Issued {
        body: serde_json::to_vec(&body).unwrap_or_default(),
    };
    (issued, token, now_ms.saturating_add(lifetime_ms))
}

fn invalid_request_code(code: &str, description: &str) -> Fail {
    fail(StatusCode::BAD_REQUEST, code, description)
}
