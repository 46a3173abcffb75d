//! The admin API under `/admin/*`, guarded by the admin secret (`X-Admin-Secret: S` or
//! `Authorization: Bearer S`): revoke tokens, set the token lifetime, shift the clock, read
//! counters, register clients, change faults, sweep.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `GET /admin/counters` | | counters JSON |
//! | `POST /admin/revoke` | | `{"revoked": n}` (every token) |
//! | `POST /admin/revoke/{client_id}` | | `{"revoked": n}` |
//! | `PUT /admin/token-lifetime` | `{"seconds": 30}` or `{"duration": "30s"}` | `{"lifetime_ms": …}` |
//! | `GET /admin/clock` | | `{"now_ms": …, "offset_ms": …}` |
//! | `POST /admin/clock/shift` | `{"seconds": -5}` or `{"duration": "2m"}` | `{"now_ms", "offset_ms"}` |
//! | `POST /admin/clock/reset` | | `{"now_ms", "offset_ms"}` |
//! | `GET /admin/clients` | | `{"clients": [ids]}` |
//! | `POST /admin/clients` | `{"client_id", "certificate": "<Base64 DER or PEM>", "scopes"?, "apis"?}` | 201 |
//! | `DELETE /admin/clients/{client_id}` | | 204 / 404 |
//! | `GET /admin/faults` | | the fault table |
//! | `PUT /admin/faults/{route}` | a fault spec | 200 |
//! | `DELETE /admin/faults/{route}`, `DELETE /admin/faults` | | 204 |
//! | `POST /admin/sweep` | | `{"tokens": n, "jtis": n}` |

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use bearing_auth::Certificate;
use http::{StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::simple_error;
use crate::fault::FaultSpec;
use crate::state::AppState;

pub(super) fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/counters", get(counters))
        .route("/revoke", post(revoke_all))
        .route("/revoke/{client_id}", post(revoke_client))
        .route("/token-lifetime", put(set_lifetime).post(set_lifetime))
        .route("/clock", get(clock))
        .route("/clock/shift", post(shift_clock))
        .route("/clock/reset", post(reset_clock))
        .route("/clients", get(list_clients).post(add_client))
        .route("/clients/{client_id}", axum::routing::delete(remove_client))
        .route("/faults", get(get_faults).delete(clear_faults))
        .route("/faults/{route}", put(set_fault).delete(remove_fault))
        .route("/sweep", post(sweep))
        .route_layer(middleware::from_fn_with_state(state, guard))
}

/// Refuses requests without the admin secret (compared in constant time).
async fn guard(State(st): State<AppState>, req: Request, next: Next) -> Response {
    let h = req.headers();
    let given = h
        .get("x-admin-secret")
        .and_then(|v| v.to_str().ok())
        .or_else(|| {
            h.get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split_once(' '))
                .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
                .map(|(_, t)| t.trim())
        });
    match given {
        Some(g) if constant_time_eq(g.as_bytes(), st.admin_secret().as_bytes()) => {
            next.run(req).await
        }
        _ => simple_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "admin secret missing or wrong",
        ),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A duration as `{"seconds": n}` (may be negative or fractional) or `{"duration": "30s"}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DurationBody {
    seconds: Option<f64>,
    duration: Option<String>,
    negative: Option<bool>,
}

impl DurationBody {
    fn millis(&self) -> Result<i64, String> {
        let bad = |m: &str| m.to_owned();
        let ms = match (&self.seconds, &self.duration) {
            (Some(s), None) if s.is_finite() && s.abs() < 1e12 => (s * 1000.0).round() as i64,
            (None, Some(d)) => {
                let d =
                    humantime::parse_duration(d).map_err(|_| bad("duration is not like 30s"))?;
                i64::try_from(d.as_millis()).map_err(|_| bad("duration too large"))?
            }
            _ => {
                return Err(bad(
                    "send exactly one of seconds (number) or duration (\"30s\")",
                ));
            }
        };
        Ok(if self.negative == Some(true) { -ms } else { ms })
    }
}

async fn counters(State(st): State<AppState>) -> Response {
    Json(st.counters()).into_response()
}

async fn revoke_all(State(st): State<AppState>) -> Response {
    Json(json!({ "revoked": st.revoke_all() })).into_response()
}

async fn revoke_client(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    Json(json!({ "revoked": st.revoke_client(&id) })).into_response()
}

async fn set_lifetime(
    State(st): State<AppState>,
    body: Result<Json<DurationBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &e.body_text()),
    };
    let ms = match b.millis() {
        Ok(ms) if ms > 0 => ms,
        Ok(_) => {
            return simple_error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "lifetime must be > 0",
            );
        }
        Err(m) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &m),
    };
    match st.set_token_lifetime(Duration::from_millis(ms.unsigned_abs())) {
        Ok(()) => Json(json!({ "lifetime_ms": ms })).into_response(),
        Err(e) => e.into_response(),
    }
}

fn clock_json(st: &AppState) -> Response {
    Json(json!({ "now_ms": st.now_ms(), "offset_ms": st.clock().offset_millis() })).into_response()
}

async fn clock(State(st): State<AppState>) -> Response {
    clock_json(&st)
}

async fn shift_clock(
    State(st): State<AppState>,
    body: Result<Json<DurationBody>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(b) = match body {
        Ok(b) => b,
        Err(e) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &e.body_text()),
    };
    match b.millis() {
        Ok(ms) => {
            st.clock().shift_millis(ms);
            clock_json(&st)
        }
        Err(m) => simple_error(StatusCode::BAD_REQUEST, "invalid_request", &m),
    }
}

async fn reset_clock(State(st): State<AppState>) -> Response {
    st.clock().reset();
    clock_json(&st)
}

async fn list_clients(State(st): State<AppState>) -> Response {
    Json(json!({ "clients": st.registry().ids() })).into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewClient {
    client_id: String,
    certificate: String,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    apis: Vec<String>,
}

async fn add_client(
    State(st): State<AppState>,
    body: Result<Json<NewClient>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(c) = match body {
        Ok(b) => b,
        Err(e) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &e.body_text()),
    };
    let cert = match Certificate::from_bytes(c.certificate.as_bytes(), Some("admin request")) {
        Ok(cert) => cert,
        Err(e) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &e.to_string()),
    };
    match st.register_client(&c.client_id, vec![cert], c.scopes, c.apis) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({ "client_id": c.client_id })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

async fn remove_client(State(st): State<AppState>, Path(id): Path<String>) -> Response {
    if st.registry().remove(&id) {
        st.revoke_client(&id);
        StatusCode::NO_CONTENT.into_response()
    } else {
        simple_error(StatusCode::NOT_FOUND, "not_found", "no such client")
    }
}

async fn get_faults(State(st): State<AppState>) -> Response {
    Json(&*st.faults().snapshot()).into_response()
}

async fn set_fault(
    State(st): State<AppState>,
    Path(route): Path<String>,
    body: Result<Json<FaultSpec>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Json(spec) = match body {
        Ok(b) => b,
        Err(e) => return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &e.body_text()),
    };
    if route != "*" && route != "token" && !st.apis().iter().any(|a| a.name == route) {
        return simple_error(
            StatusCode::NOT_FOUND,
            "not_found",
            "route is not token, * or an api name",
        );
    }
    if let Err(m) = spec.validate() {
        return simple_error(StatusCode::BAD_REQUEST, "invalid_request", &m);
    }
    st.faults().set(&route, Some(spec));
    get_faults(State(st)).await
}

async fn remove_fault(State(st): State<AppState>, Path(route): Path<String>) -> Response {
    st.faults().set(&route, None);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_faults(State(st): State<AppState>) -> Response {
    st.faults().clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn sweep(State(st): State<AppState>) -> Response {
    let (tokens, jtis) = st.sweep();
    Json(json!({ "tokens": tokens, "jtis": jtis })).into_response()
}
