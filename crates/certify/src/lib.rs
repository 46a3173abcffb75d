//! bearing-certify: partner client certification (issue 6). `bearing certify` starts the
//! sandbox gateway in observing mode, the partner points their client at it, and this crate
//! records every token request and API call per client, drives the client through a plan
//! (short token lifetimes, revocations, 503/429 with `Retry-After`, added latency) and
//! judges what the client did against the portal contract and the RFCs.
//!
//! - [`Plan`]: the YAML schedule (`scenarios/certify/*.yaml`).
//! - [`Certification`]: starts the gateway ([`Certification::start`]) and drives the plan
//!   ([`Certification::run`]), returning a [`Recording`] of [`Event`]s and [`Mark`]s.
//! - [`evaluate_client`] and the [`catalog`] of [`Check`]s: pure functions over the log —
//!   pass, fail or no-evidence, with evidence and the rule each comes from; unit-tested on
//!   synthetic logs.
//! - [`CertifySummary`] and [`report`]: terminal, `summary.json`, `report.html`, `junit.xml`.
//! - [`run_certify`]: the whole `bearing certify` operation ([`CertifySettings`] in, a
//!   [`CertifyFinished`] out, typed [`CertifyRunError`]).
//!
//! Everything above is re-exported here; the modules behind it are private but for
//! [`report`] (the reporters, one per file).
//!
//! ```no_run
//! # async fn demo(cert: bearing_auth::Certificate) -> bearing_certify::Result<()> {
//! use bearing_certify::{CertifyOptions, Certification, CertifySummary, Plan};
//! let config = bearing_gateway::GatewayConfig::sandbox(vec![("SampleConfId".into(), cert)]);
//! let plan = Plan::builtin("smoke").expect("bundled");
//! let cert = Certification::start(CertifyOptions::new(config, plan)).await?;
//! println!("point the client at {}", cert.token_url());
//! let recording = cert.run(async { let _ = tokio::signal::ctrl_c().await; }).await;
//! let summary = CertifySummary::from_recording(&recording);
//! bearing_certify::report::write_all(&summary, &recording.events, "reports/x-certify".as_ref())?;
//! # Ok(()) }
//! ```

mod checks;
mod error;
mod event;
mod plan;
mod recorder;
pub mod report;
mod runner;
mod summary;

pub use checks::{
    Check, CheckContext, CheckResult, ClientView, Finding, MAX_FINDINGS, Verdict, catalog,
    evaluate_client, failed_ids,
};
pub use error::{Error, Result};
pub use event::{Action, EndReason, Event, EventOutcome, Kind, Mark, ObservedClaims};
pub use plan::{Phase, Plan, Start, TokenFault};
pub use recorder::Recorder;
pub use runner::{Certification, CertifyOptions, Recording};

mod progress_text;
pub use progress_text::{MarkLines, banner_lines, describe_mark};

mod run_text;
pub use run_text::{summary_json, write_run_text};
pub use summary::{
    CertifySummary, ClientReport, Overall, PhaseInfo, PlanInfo, SCHEMA_VERSION, ScopeOutcome,
    Totals,
};

mod session;
pub use session::{CertifyFinished, CertifyRunError, CertifySettings, run_certify};
