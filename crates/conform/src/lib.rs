//! bearing-conform: conformance suites for gateways that issue tokens through the JWT bearer
//! grant (RFC 7523 §2.1) and protect APIs with them (RFC 6750).
//!
//! The public surface (everything is re-exported here; the modules behind it are private
//! but for the suite schema and the reporters):
//!
//! - [`model`]: the YAML suite model (cases with catalog ids, levels and citations; steps;
//!   the mutation vocabulary; expectations) — [`Suite`], [`Case`], [`Step`], …
//! - [`load_suites`], [`parse_suite`], [`bundled`]: the strict loader and the bundled suites.
//! - [`run`]: runs cases against a target over HTTP ([`RunTargetSpec`], [`RunConfig`]) —
//!   parallel where independent, alone where they change gateway-wide state — telling an
//!   [`Observer`] as it goes, and returns a [`RunSummary`] of [`CaseResult`]s.
//! - [`report`]: terminal table and progress, `summary.json`, `junit.xml`, `report.html`.
//! - [`detect`]: `bearing profile detect` — probes a gateway knob by knob and ranks the
//!   shipped profiles ([`Detection`]).
//! - [`ConformSession`]: the `bearing conform` operation — [`ConformSettings`] in, suites,
//!   lists, profiles and report folder checked, one run per profile, reports written, a
//!   [`ConformFinished`] for the CLI to print; typed [`ConformRunError`].
//!
//! Inside (private): the assertion builder and its mutations (`jwt`), the `WWW-Authenticate`
//! parser (`challenge`), the profile expressions and templates of the suites (`expr`,
//! `template`) and the HTTP exchange recorder (`http`).
//!
//! A *failure* (the gateway misbehaved) is an [`CaseOutcome`]; an [`Error`] means the suites or
//! the target could not be used at all.

mod challenge;
mod detect;
mod error;
mod expr;
mod http;
mod jwt;
mod loader;
pub mod model;
mod outcome;
pub mod report;
mod runner;
mod template;

pub use detect::{DetectConfig, Detection, Observation, Rank, detect};
pub use error::{Error, Result};
pub use http::Exchange;
pub use loader::{bundled, load as load_suites, parse as parse_suite};
pub use model::{Case, Category, Level, Step, Suite};
pub use outcome::{CaseOutcome, CaseResult, Counts, Finding, RunSummary, RunTarget};
pub use runner::{Observer, Quiet, RunConfig, RunTargetSpec, run};

mod detect_report;
pub use detect_report::write_detect_text;

mod profiles_report;
pub use profiles_report::{
    Judgement, profile_folder, run_profiles, runs_json, write_profile_reports, write_runs_text,
};

mod session;
pub use session::{
    ConformFinished, ConformRunError, ConformSession, ConformSettings, detect_profile,
};
