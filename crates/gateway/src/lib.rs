//! bearing-gateway: the sandbox gateway — a faithful, fast, configurable stand-in for the
//! partner gateway (issue 3). It issues access tokens for RFC 7523 JWT bearer assertions at
//! `POST /oauth/token` and protects APIs with them per RFC 6750, behaving as the active
//! [`GatewayProfile`](bearing_auth::Profile) says.
//!
//! - [`GatewayConfig`]: YAML configuration (`deny_unknown_fields`), [`GatewayConfig::sandbox`].
//! - [`router`]: the axum router, shared by the server and `oneshot` tests.
//! - [`spawn`] / [`serve`]: run it in-process on 127.0.0.1:0 (the embedded default every
//!   `bearing` command uses) or until a shutdown signal (`bearing serve`).
//! - [`AppState`]: registry, token and replay stores, injected clock, counters, faults, and the
//!   observer hook ([`GatewayEvent`]) that `bearing certify` builds on.
//! - [`Validator`]: the assertion rules (RFC 7523 §3) on their own, with the [`Registry`] of
//!   clients and the [`ReplayStore`] — what `bearing bench verify` measures; [`parse_compact`]
//!   and [`strict_object`] are its strict JWS parsing.
//! - [`TokenStore`] and [`Faults`]: the issued tokens and the fault table behind
//!   [`AppState`].
//!
//! Every module is private: the names above (and the types their signatures use) are the
//! whole public surface, re-exported here. The room holds the sandbox's server, routes,
//! validation and state; profiles (what a gateway should do) live in bearing-auth.
//!
//! ```no_run
//! # async fn demo(cert: bearing_auth::Certificate) -> bearing_gateway::Result<()> {
//! let gw = bearing_gateway::spawn(bearing_gateway::GatewayConfig::sandbox(vec![
//!     ("SampleConfId".to_owned(), cert),
//! ]))
//! .await?;
//! println!("POST assertions to {}", gw.token_url);
//! gw.shutdown().await;
//! # Ok(()) }
//! ```

mod clock;
mod config;
mod conn;
mod error;
mod fault;
mod jws;
mod metrics;
mod observer;
mod registry;
mod replay;
mod routes;
mod server;
mod state;
mod tls;
mod tokens;
mod validate;

pub use clock::GatewayClock;
pub use config::{
    ApiConfig, ApiResponse, ClientConfig, DEFAULT_API_PATH, DEFAULT_MAX_BODY, GatewayConfig,
    TOKEN_PATH, TlsConfig,
};
pub use conn::{ConnControl, PeerAddr};
pub use error::{Error, Result};
pub use fault::{FaultSpec, Faults, LatencyDistribution};
pub use jws::{CompactJws, JwsError, MAX_COMPACT_LEN, parse_compact, strict_object};
pub use metrics::CounterSnapshot;
pub use observer::{EventKind, EventOutcome, GatewayEvent};
pub use registry::{Client, RegisteredCert, Registry};
pub use replay::ReplayStore;
pub use routes::router;
pub use server::{GatewayHandle, RunningGateway, serve, spawn, spawn_with};
pub use state::{AppState, StateOptions};

/// The embedded sandbox every `bearing` command starts when given no target: this gateway on
/// 127.0.0.1 with a fresh identity, and a [`Target`](bearing_auth::Target) describing it.
pub mod embedded;

mod overrides;
pub use overrides::{
    OverrideError, ServeSettings, certify_config, serve_config, serve_json, write_serve_banner,
};
pub use tls::PeerCertificates;
pub use tokens::{TokenEntry, TokenProblem, TokenStore};
pub use validate::{Accepted, AssertionInfo, MAX_JTI_LEN, RejectReason, Rejection, Validator};
