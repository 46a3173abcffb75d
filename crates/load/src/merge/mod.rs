//! `bearing report merge` (issue 8): the report sets of the shards of one sharded run
//! (`bearing load --shard i/N`) merged into the report set of a single run, exactly.
//!
//! - Histograms are **added**, never averaged: the run's histograms are the sums of every
//!   shard's interval-log histograms (full precision, V2 deflate), so the merged percentiles
//!   are those of one histogram holding every sample.
//! - Counts, errors by kind and statuses are summed from each `summary.json`.
//! - The time series is aligned on wall-clock seconds: each shard's interval log counts from
//!   its own `BaseTime` (a whole Unix second), re-based onto the earliest one.
//! - Checks before anything is written: every directory holds a shard report, all ran the
//!   same profile (hash) and the same `N`, indices are `0..N-1` with no gap and no duplicate,
//!   and every shard completed (its interval log adds up to its summary; it reached the
//!   gateway). Thresholds are evaluated again on the merged data.
//!
//! A shard's own threshold verdict is not the run's: thresholds of a shard are evaluated on
//! its 1/N share (a `rate >= 1000/s` threshold fails on every shard of a passing 3-shard run),
//! so only the merged evaluation decides.

mod combine;
mod overlap;
mod read;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::report::{self, Written};
use crate::result::RunResult;

pub use crate::report::merged::{Judge, MergeInfo, Overlap, Ramp, ShardEntry};

/// File written beside the merged report set, naming the shards it came from (schema in
/// `schemas/load-merge.schema.json`).
pub const SHARDS_FILE: &str = "shards.json";

/// Schema id written in [`SHARDS_FILE`].
pub const MERGE_SCHEMA_ID: &str = "bearing-load-merge/v1";

/// Something that stops a merge. [`Issue::is_unusable`] separates input that cannot be merged
/// at all (exit 2) from a shard that is missing or failed (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Issue {
    /// A directory holds no shard report: it does not exist, or has no `summary.json`
    /// (the shard never finished).
    Missing {
        /// The directory as given.
        dir: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// No directory held shard `index` of `count`.
    Gap {
        /// The 0-based index nobody reported.
        index: u32,
        /// The number of shards the others say the run had.
        count: u32,
    },
    /// A shard that ran but did not complete: it could not reach the gateway, nothing ran,
    /// or its interval log does not add up to its summary.
    Failed {
        /// Its index.
        index: u32,
        /// Its directory.
        dir: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// Input that cannot be merged: unreadable or malformed files, another profile, a
    /// duplicate index, shards that disagree on `N`.
    Unusable {
        /// The directory at fault (empty when the whole input is).
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl Issue {
    /// Whether the input itself is unusable (exit 2) rather than a shard missing or failed
    /// (exit 1).
    pub fn is_unusable(&self) -> bool {
        matches!(self, Self::Unusable { .. })
    }

    pub(crate) fn unusable(dir: &Path, reason: impl Into<String>) -> Self {
        Self::Unusable {
            dir: dir.to_owned(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing { dir, reason } => {
                write!(f, "{}: missing shard: {reason}", dir.display())
            }
            Self::Gap { index, count } => {
                write!(
                    f,
                    "shard {index}/{count}: missing: no directory holds its report"
                )
            }
            Self::Failed { index, dir, reason } => {
                write!(f, "{}: shard {index} failed: {reason}", dir.display())
            }
            Self::Unusable { dir, reason } if dir.as_os_str().is_empty() => {
                write!(f, "cannot merge: {reason}")
            }
            Self::Unusable { dir, reason } => {
                write!(f, "{}: cannot merge: {reason}", dir.display())
            }
        }
    }
}

/// Why a merge was refused: every issue found (not just the first), so one look at a
/// broken run says everything that is wrong with it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} problem(s) with the shards: {}", .issues.len(), join(.issues))]
pub struct MergeError {
    /// Every issue, in the order the directories were given.
    pub issues: Vec<Issue>,
}

fn join(issues: &[Issue]) -> String {
    issues
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl MergeError {
    /// Whether any issue makes the input unusable (exit 2 rather than 1).
    pub fn is_unusable(&self) -> bool {
        self.issues.iter().any(Issue::is_unusable)
    }
}

/// A merged run: a [`RunResult`] like a single run's (thresholds evaluated on the merged
/// data), and where it came from.
#[derive(Debug, Clone)]
pub struct Merged {
    /// The run, as if one generator had run it.
    pub result: RunResult,
    /// The shards.
    pub info: MergeInfo,
}

/// Reads the shard reports in `dirs` and merges them.
///
/// The merged run's measured window (`duration_s`, the denominator of every rate) is the
/// mean of the shards' windows: shards run concurrently, so the merged rate is the sum of
/// theirs, whatever their start skew.
///
/// # Errors
/// [`MergeError`] listing every missing, failed or unusable shard; nothing is merged then.
pub fn merge(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    merge_judged(dirs, Judge::WholeRun)
}

/// [`merge`], with the thresholds judged on the overlap window or the whole run.
///
/// # Errors
/// As [`merge`].
pub fn merge_judged(dirs: &[PathBuf], judge: Judge) -> Result<Merged, MergeError> {
    if dirs.is_empty() {
        return Err(MergeError {
            issues: vec![Issue::unusable(Path::new(""), "no shard directories given")],
        });
    }
    let mut shards = Vec::new();
    let mut issues = Vec::new();
    for dir in dirs {
        match read::read_shard(dir) {
            Ok(s) => shards.push(s),
            Err(i) => issues.push(i),
        }
    }
    let set_issues = read::check_set(&shards, &issues);
    issues.extend(set_issues);
    if !issues.is_empty() {
        return Err(MergeError { issues });
    }
    shards.sort_by_key(|s| s.index);
    combine::combine(&shards, judge).map_err(|i| MergeError { issues: vec![i] })
}

/// Writes the report set of a merged run into `out` — the same files a single run writes
/// (`summary.json`, `*.hgrm`, `intervals.hlog`, `report.html`) — plus [`SHARDS_FILE`].
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written.
pub fn write(m: &Merged, out: &Path) -> crate::error::Result<Written> {
    let mut w = report::write(&m.result, None, out)?;
    let p = out.join(SHARDS_FILE);
    let json = serde_json::to_vec_pretty(&m.info).map_err(|source| Error::Encode {
        what: "merge.json",
        source,
    })?;
    std::fs::write(&p, json).map_err(|e| Error::io(&p, e))?;
    w.files.push(SHARDS_FILE.to_owned());
    Ok(w)
}
