//! bearing-load: the load generator behind `bearing load` (issue 7).
//!
//! - [`LoadProfile`]: YAML load profiles — scenarios with weights, users or an arrival rate with
//!   ramps, thresholds, per-scenario options.
//! - [`run`]: runs a profile against a gateway over HTTP on goose 0.19 (users, scheduling),
//!   sending each request with the goose user's own `reqwest` client and recording into our
//!   own µs HdrHistograms (3 significant figures) per phase, per user, merged without a lock
//!   per request.
//! - [`pacer`]: open-model driving with an even pacer and coordinated-omission correction.
//! - [`report`]: `summary.json`, `*.hgrm`, HdrHistogram interval logs, `report.html`.
//! - [`capacity`]: `--find-capacity`, stepping the rate up until a threshold is missed.
//! - [`verdict`]: what keeps a run from PASS besides its thresholds (all failed, the
//!   default error guard, a generator-limited run), dropped and cancelled requests.
//! - [`merge`]: `bearing report merge`, the shards of a sharded run merged exactly.
//! - [`barrier`]: the start barrier of a sharded run; [`live`]: live Prometheus metrics.
//! - [`LoadSession`]: the `bearing load` operation — [`LoadSettings`] in, profile, report
//!   folder and bundle checked, run or capacity search, [`LoadFinished`] with the summary and
//!   the [`LoadVerdict`]; typed [`LoadRunError`].
//!
//! The library never prints: progress goes to a caller-supplied callback.

pub mod barrier;
pub mod capacity;
pub mod error;
pub mod fleet;
pub mod live;
pub mod merge;
pub mod pacer;
pub mod profile;
pub mod recorder;
pub mod report;
pub mod result;
pub mod run;
mod scenario;
pub mod stats;
pub mod target;
pub mod threshold;
pub mod verdict;

pub use capacity::{CapacityReport, find_capacity};
pub use error::{Error, Result};
pub use merge::{Issue, MergeError, Merged, merge};
pub use profile::{LoadProfile, Rate, ScenarioKind, ScenarioSpec};
pub use report::LoadSummary;
pub use result::{RunResult, ScenarioResult};
pub use run::{Progress, ProgressFn, RunOptions, run};
pub use stats::{Phase, PhaseStats};
pub use target::LoadTarget;
pub use threshold::{Threshold, ThresholdResult};
pub use verdict::Verdict;

mod shards;
pub use shards::{merged_json, out_is_a_shard, refused_json, wait_for_shards, write_refused};

mod session;
pub use session::{
    LoadFinished, LoadObserver, LoadRunError, LoadSession, LoadSettings, LoadVerdict, MergeOutcome,
    capacity_step_line, merge_shards, resolve_profile, serve_metrics,
};
