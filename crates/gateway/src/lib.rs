//! bearing-gateway: the sandbox gateway — a faithful, fast, configurable stand-in for the
//! partner gateway (issue 3). It issues access tokens for RFC 7523 JWT bearer assertions at
//! `POST /oauth/token` and protects APIs with them per RFC 6750, behaving as the active
//! [`Profile`](bearing_auth::Profile) says.
//!
//! - [`GatewayConfig`]: YAML configuration (`deny_unknown_fields`), [`GatewayConfig::sandbox`].
//! - [`router`]: the axum router, shared by the server and `oneshot` tests.
//! - [`spawn`] / [`serve`]: run it in-process on 127.0.0.1:0 (the embedded default every
//!   `bearing` command uses) or until a shutdown signal (`bearing serve`).
//! - [`AppState`]: registry, token and replay stores, injected clock, counters, faults, and the
//!   observer hook ([`GatewayEvent`]) that `bearing certify` builds on.
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

pub mod clock;
pub mod config;
pub mod error;
pub mod fault;
pub mod jws;
pub mod metrics;
pub mod observer;
pub mod registry;
pub mod replay;
mod routes;
pub mod server;
pub mod state;
pub mod tls;
pub mod tokens;
pub mod validate;

pub use clock::GatewayClock;
pub use config::{ApiConfig, ApiResponse, ClientConfig, GatewayConfig, TlsConfig};
pub use error::{Error, Result};
pub use fault::FaultSpec;
pub use metrics::CounterSnapshot;
pub use observer::{EventKind, GatewayEvent, Outcome};
pub use routes::router;
pub use server::{ConnControl, GatewayHandle, RunningGateway, serve, spawn, spawn_with};
pub use state::{AppState, StateOptions};
pub use validate::{AssertionInfo, RejectReason, Validator};

/// The embedded sandbox every `bearing` command starts when given no target: this gateway on
/// 127.0.0.1 with a fresh identity, and a [`Target`](bearing_auth::Target) describing it.
pub mod embedded;

mod overrides;
pub use overrides::{
    OverrideError, ServeSettings, certify_config, serve_config, serve_json, write_serve_banner,
};
