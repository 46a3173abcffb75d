//! bearing-load: the load generator behind `bearing load` and `bearing report merge`
//! (issues 7, 8, 19).
//!
//! The room: a [`LoadProfile`] (YAML: scenarios with weights, users or an arrival rate with
//! ramps, thresholds, per-scenario options) is run by [`run`] against a [`LoadTarget`] on
//! goose 0.19, which keeps user lifecycle and scheduling; every request and its timing are
//! ours. API calls and the `token` scenario's token requests go over each user's own lean
//! connection (hyper's HTTP/1.1 connection over plain TCP or tokio-rustls, or an `h2`
//! connection over TLS on a target with `http2: true`; no pool, no connector per request); only the token manager of the API scenarios sends its token
//! requests with the user's `reqwest` client. Latencies go into our own µs HdrHistograms
//! (3 significant figures) per phase and per user, merged without a lock per request, and
//! open-model arrivals come from an even pacer with coordinated-omission correction. A
//! scenario kind ([`ScenarioKind`]) is described once, in one table that the run loop,
//! `--find-capacity` and profile validation ask; each kind's user loop is one module.
//!
//! The flat surface: [`LoadSession`], the `bearing load` operation ([`LoadSettings`] in;
//! profile, report folder and bundle checked; run or capacity search; [`LoadFinished`] with
//! the summary and the [`LoadVerdict`]; typed [`LoadRunError`]); [`run`] → [`RunResult`] (thresholds evaluated, [`Verdict`] on top);
//! [`find_capacity`] → [`CapacityReport`]; [`merge`] of a sharded run's report sets →
//! [`Merged`]; the shard helpers ([`wait_for_shards`], [`merged_json`], …); the report set
//! through [`report`]. Modules that stay public, because callers (the CLI, the demo,
//! tests) name items by their path:
//!
//! - [`report`]: `summary.json`, `*.hgrm`, HdrHistogram interval logs, `report.html` and the
//!   terminal text reports (`report::write`, `report::text::*`, `report::default_dir`).
//! - [`merge`]: `bearing report merge`, the shards of a sharded run merged exactly
//!   (`merge::merge_judged`, `merge::write`, `merge::Judge`, `merge::MergeError`).
//! - [`capacity`]: `--find-capacity` with a per-step callback (`capacity::find_capacity_with`,
//!   `capacity::CapacityStep`, `capacity::StepFn`).
//! - [`barrier`]: the start barrier of a sharded run (`barrier::Start`); [`live`]: live
//!   Prometheus metrics (`live::LiveMetrics`).
//! - [`run`] (also a function): `run::jti_prefix`, the `jti` space of a shard.
//! - [`profile`]: the schema types and the bundled profiles (`profile::BUNDLED`).
//! - [`verdict`]: what keeps a run from PASS besides its thresholds, and `--expect-fail`
//!   (`verdict::apply_expected`, `verdict::underrun_line`).
//! - [`threshold`]: threshold parsing and formatting (`threshold::fmt_us`, `threshold::ids`).
//! - [`stats`], [`recorder`]: phases, histograms and the interval-log codec the crate's
//!   report tests read back (`stats::new_histogram`, `recorder::decode`).
//!
//! Private: the error type, target, fleet, pacer, results and the scenario kinds and user
//! loops; what callers need of them is re-exported here.
//!
//! The library never prints: progress goes to a caller-supplied callback.

pub mod barrier;
pub mod capacity;
mod error;
mod fleet;
mod kind;
pub mod live;
pub mod merge;
mod pacer;
pub mod profile;
pub mod recorder;
pub mod report;
mod result;
pub mod run;
mod scenario;
pub mod stats;
mod target;
pub mod threshold;
pub mod verdict;

pub use capacity::{CapacityReport, find_capacity};
pub use error::{Error, Result};
pub use fleet::{PartnerReport, PartnerRow, Spread};
pub use merge::{Issue, MergeError, Merged, merge};
pub use profile::{LoadProfile, Rate, ScenarioKind, ScenarioSpec};
pub use report::LoadSummary;
pub use result::{RunResult, ScenarioResult, SigningInfo, StormInfo, TokenStats};
pub use run::{Progress, ProgressFn, RunOptions, run};
pub use stats::{Phase, PhaseStats};
pub use target::{Admin, ApiCall, LoadTarget, Partner};
pub use threshold::{Threshold, ThresholdResult};
pub use verdict::Verdict;

mod shards;
pub use shards::{merged_json, out_is_a_shard, refused_json, wait_for_shards, write_refused};

mod session;
pub use session::{
    LoadFinished, LoadObserver, LoadRunError, LoadSession, LoadSettings, LoadVerdict, MergeOutcome,
    capacity_step_line, merge_shards, resolve_profile, serve_metrics,
};
