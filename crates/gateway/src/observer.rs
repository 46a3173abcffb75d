//! The observer hook: every token request and API call produces a [`GatewayEvent`] sent to
//! the subscribers of [`crate::AppState::subscribe`] (a `tokio::sync::broadcast`, lossy when
//! a subscriber lags) and to an optional lossless `mpsc` sink. `bearing certify` builds its
//! report of what a partner's client did on these events. Events are only built when
//! someone listens, so the hot path pays nothing otherwise.
//!
//! Events never carry secrets: the access token appears as its redacted prefix
//! ([`bearing_auth::redact`]), the assertion only as the claims read from it.

use serde::{Deserialize, Serialize};

use crate::validate::{AssertionInfo, RejectReason};

/// Which endpoint an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `POST /oauth/token`.
    TokenRequest,
    /// A protected API call.
    ApiCall,
}

/// How the request ended (also what `bearing certify` records and reads back).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventOutcome {
    /// Token issued / API served.
    #[default]
    Accepted,
    /// Refused with a 4xx.
    Rejected,
    /// An injected fault answered (503/429/reset).
    Fault,
}

/// One token request or API call as the gateway saw it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GatewayEvent {
    /// Token request or API call.
    pub kind: EventKind,
    /// Gateway-clock time of the request, ms since the epoch.
    pub timestamp_ms: i64,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// The request `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Whether any parameter (token request) or `access_token` (API) was in the URL query.
    pub params_in_query: bool,
    /// The client: the authenticated `iss` (token) or the token's owner (API).
    pub client_id: Option<String>,
    /// The assertion's header and claims as far as they could be read (token requests).
    pub assertion: Option<AssertionInfo>,
    /// `grant_type` as sent.
    pub grant_type: Option<String>,
    /// `scope` as requested.
    pub scope: Option<String>,
    /// The API name (API calls).
    pub api: Option<String>,
    /// The access token issued (token requests) or presented (API calls), redacted.
    pub token: Option<String>,
    /// How the token was sent to the API: `header`, `query`, `body`, or several.
    pub token_transport: Vec<String>,
    /// The `Authorization` scheme as sent (API calls), e.g. `Bearer`, `bearer`, `Basic`.
    pub auth_scheme: Option<String>,
    /// The client id of `Authorization: Basic` credentials on a token request (never the
    /// password), so a request refused before its body is read can still be attributed.
    pub basic_client_id: Option<String>,
    /// Outcome.
    pub outcome: EventOutcome,
    /// HTTP status answered.
    pub status: u16,
    /// The `error` code answered, if any.
    pub error: Option<String>,
    /// The machine-readable rejection reason for assertions.
    pub reason: Option<RejectReason>,
    /// Time spent handling, µs.
    pub latency_us: u64,
    /// Gateway-clock time the request arrived (before injected latency), ms since the epoch.
    pub received_ms: i64,
    /// The peer's socket address (attributes answers that carry no client, e.g. faults).
    pub peer: Option<String>,
    /// Names of the URL query parameters, in order (values are never kept: they may be secrets).
    pub query_params: Vec<String>,
    /// Names of the form body parameters in order, repeats kept (token requests);
    /// `None` when the body was not read.
    pub form_params: Option<Vec<String>>,
    /// Expiry of the access token issued (token requests), gateway clock, ms since the epoch.
    pub token_expires_ms: Option<i64>,
    /// The `Retry-After` sent with an injected 429/503, in seconds.
    pub retry_after_s: Option<u64>,
}

impl GatewayEvent {
    /// Names of the query parameters of `uri` (no values).
    pub fn query_names(uri: &http::Uri) -> Vec<String> {
        uri.query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, _)| k.into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The peer address request extension, as text.
    pub fn peer_of(parts: &http::request::Parts) -> Option<String> {
        parts
            .extensions
            .get::<crate::conn::PeerAddr>()
            .map(|p| p.0.to_string())
    }

    /// The `Retry-After` header of `headers` in seconds, when numeric.
    pub fn retry_after_of(headers: &http::HeaderMap) -> Option<u64> {
        headers
            .get(http::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse()
            .ok()
    }
}
