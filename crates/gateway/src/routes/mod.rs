//! The HTTP surface: [`router`] wires the token endpoint, the protected APIs, the admin API,
//! `/health` and `/metrics`. Shared by the server and the `oneshot` tests. Bad input never
//! yields a 5xx: every refusal is a JSON 4xx in the profile's error style.

mod admin;
mod api;
mod token;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use bearing_auth::ErrorStyle;
use http::{HeaderValue, StatusCode, header};

use crate::config::TOKEN_PATH;
use crate::state::AppState;

/// Builds the gateway's router for `state`.
pub fn router(state: AppState) -> Router {
    let mut r = Router::new()
        .route(TOKEN_PATH, post(token::token).fallback(token::wrong_method))
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .nest("/admin", admin::router(state.clone()));
    for (idx, api) in state.apis().iter().enumerate() {
        let mut filter: Option<MethodFilter> = None;
        for m in &api.methods {
            let f = match m.as_str() {
                "GET" => MethodFilter::GET,
                "POST" => MethodFilter::POST,
                "PUT" => MethodFilter::PUT,
                "PATCH" => MethodFilter::PATCH,
                "DELETE" => MethodFilter::DELETE,
                _ => MethodFilter::HEAD,
            };
            filter = Some(filter.map_or(f, |x| x.or(f)));
        }
        let Some(filter) = filter else { continue };
        r = r.route(
            &api.path,
            on(
                filter,
                move |st: State<AppState>, req: axum::extract::Request| api::call(st, idx, req),
            )
            .fallback(api::wrong_method),
        );
    }
    r.fallback(not_found).with_state(state)
}

async fn health() -> Response {
    json_response(StatusCode::OK, br#"{"status":"ok"}"#.to_vec())
}

async fn metrics(State(st): State<AppState>) -> Response {
    let text = st.metrics().render(&st.counters());
    let mut r = Response::new(Body::from(text));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn not_found() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        br#"{"error":"not_found","error_description":"no such route"}"#.to_vec(),
    )
}

/// A JSON response with the given status and body bytes.
pub(crate) fn json_response(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Keeps only the characters RFC 6749 §5.2 allows in `error_description`
/// (%x20-21 / %x23-5B / %x5D-7E); others become `?`.
pub(crate) fn sanitize_description(s: &str) -> String {
    s.chars()
        .map(|c| match c as u32 {
            0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E => c,
            _ => '?',
        })
        .collect()
}

/// A token-endpoint error (RFC 6749 §5.2) in the profile's style, with `no-store`.
pub(crate) fn token_error(
    style: ErrorStyle,
    status: StatusCode,
    code: &str,
    description: &str,
) -> Response {
    let description = sanitize_description(description);
    let body = match style {
        ErrorStyle::Rfc => serde_json::json!({ "error": code, "error_description": description }),
        ErrorStyle::Apigee => serde_json::json!({ "ErrorCode": code, "Error": description }),
    };
    let mut r = json_response(status, serde_json::to_vec(&body).unwrap_or_default());
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

/// A JSON body for an admin or method error.
pub(crate) fn simple_error(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": sanitize_description(description) });
    json_response(status, serde_json::to_vec(&body).unwrap_or_default())
}

impl IntoResponse for crate::error::Error {
    fn into_response(self) -> Response {
        // Only configuration problems reach here (admin API input); they are the caller's.
        simple_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &self.to_string(),
        )
    }
}

/// Applies the faults configured for `route`; `Some` is the answer to send instead.
pub(crate) async fn apply_faults(
    st: &AppState,
    route: &str,
    conn: Option<&crate::conn::ConnControl>,
) -> Option<Response> {
    let outcome = st.faults().apply(route).await?;
    st.metrics().fault();
    Some(match outcome {
        crate::fault::FaultOutcome::Respond(r) => r,
        crate::fault::FaultOutcome::Reset(r) => {
            if let Some(c) = conn {
                c.request_reset();
            }
            r
        }
    })
}
