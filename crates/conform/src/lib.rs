//! bearing-conform: conformance suites for gateways that issue tokens through the JWT bearer
//! grant (RFC 7523 §2.1) and protect APIs with them (RFC 6750).
//!
//! - [`model`] and [`loader`]: the YAML suite model (cases with catalog ids, levels and
//!   citations; steps; the mutation vocabulary; expectations) and its strict loader.
//! - [`jwt`]: builds mutated assertions; [`challenge`]: parses `WWW-Authenticate`.
//! - [`runner`]: runs cases against a target over HTTP — parallel where independent, alone
//!   where they change gateway-wide state — and returns a [`RunSummary`].
//! - [`report`]: terminal table and progress, `summary.json`, `junit.xml`, `report.html`.
//!
//! A *failure* (the gateway misbehaved) is an [`Outcome`]; an [`Error`] means the suites or
//! the target could not be used at all.

pub mod challenge;
pub mod detect;
pub mod error;
pub mod expr;
pub mod http;
pub mod jwt;
pub mod loader;
pub mod model;
pub mod outcome;
pub mod report;
pub mod runner;
pub mod template;

pub use error::{Error, Result};
pub use model::{Case, Category, Level, Step, Suite};
pub use outcome::{CaseResult, Counts, Finding, Outcome, RunSummary, RunTarget};
pub use runner::{Observer, Quiet, RunConfig, RunTargetSpec, run};
