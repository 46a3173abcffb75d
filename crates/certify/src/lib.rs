//! bearing-certify: partner client certification (issue 6). `bearing certify` starts the
//! sandbox gateway in observing mode, the partner points their client at it, and this crate
//! records every token request and API call per client, drives the client through a plan
//! (short token lifetimes, revocations, 503/429 with `Retry-After`, added latency) and
//! judges what the client did against the portal contract and the RFCs.
//!
//! - [`Plan`]: the YAML schedule (`scenarios/certify/*.yaml`).
//! - [`Certification`]: starts the gateway ([`Certification::start`]) and drives the plan
//!   ([`Certification::run`]), returning a [`Recording`] of [`Event`]s and [`Mark`]s.
//! - [`checks`]: pure functions over the log — pass, fail or no-evidence, with evidence
//!   and the rule each comes from; unit-tested on synthetic logs.
//! - [`Summary`] and [`report`]: terminal, `summary.json`, `report.html`, `junit.xml`.
//!
//! ```no_run
//! # async fn demo(cert: bearing_auth::Certificate) -> bearing_certify::Result<()> {
//! use bearing_certify::{CertifyOptions, Certification, Plan, Summary};
//! let config = bearing_gateway::GatewayConfig::sandbox(vec![("SampleConfId".into(), cert)]);
//! let plan = Plan::builtin("smoke").expect("bundled");
//! let cert = Certification::start(CertifyOptions::new(config, plan)).await?;
//! println!("point the client at {}", cert.token_url());
//! let recording = cert.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! let summary = Summary::from_recording(&recording);
//! bearing_certify::report::write_all(&summary, &recording.events, "reports/x-certify".as_ref())?;
//! # Ok(()) }
//! ```

pub mod checks;
pub mod error;
pub mod event;
pub mod plan;
pub mod recorder;
pub mod report;
pub mod runner;
pub mod summary;

pub use checks::{
    CheckContext, CheckResult, ClientView, Finding, Verdict, catalog, evaluate_client, failed_ids,
};
pub use error::{Error, Result};
pub use event::{Action, Claims, EndReason, Event, Kind, Mark, Outcome};
pub use plan::{Phase, Plan, Start, TokenFault};
pub use recorder::Recorder;
pub use runner::{Certification, CertifyOptions, Recording};
pub use summary::{ClientReport, Overall, ScopeOutcome, Summary, Totals};
