//! What a merged report records about its shards (`shards.json`, schema in
//! `schemas/load-merge.schema.json`; issues 8 and 19): the data `bearing report merge`
//! computes and the text report shows. The types live here, below both, so the merge
//! writes reports and the reporters read these without importing the merge.

use serde::{Deserialize, Serialize};

/// What the merged thresholds are judged on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    /// The whole seconds when every shard ran (the default of `bearing report merge`).
    #[default]
    Overlap,
    /// The whole merged run, ramp-in and ramp-out included (`--whole-run`).
    WholeRun,
}

/// Attempts outside the overlap window, on one side.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ramp {
    /// Whole seconds of data on that side.
    pub seconds: u64,
    /// Attempts of each scenario's main phase completed in them.
    pub count: u64,
}

/// When all N shards ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overlap {
    /// Start of the window, s after the earliest shard's start.
    pub start_s: f64,
    /// End of the window, s after the earliest shard's start.
    pub end_s: f64,
    /// Whole wall-clock seconds inside the window (what thresholds are judged on).
    pub seconds: u64,
    /// Attempts of each scenario's main phase completed in those seconds.
    pub count: u64,
    /// Before the window: some shards had not started.
    pub ramp_in: Ramp,
    /// After the window: some shards had finished.
    pub ramp_out: Ramp,
}

/// One shard, as merged (in `shards.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardEntry {
    /// 0-based index.
    pub index: u32,
    /// Its report directory, as given.
    pub dir: String,
    /// When its measured window started (RFC 3339, UTC).
    pub started_at: String,
    /// Its measured window, s.
    pub duration_s: f64,
    /// Attempts it completed (every phase).
    pub count: u64,
    /// Failures among them.
    pub errors: u64,
    /// Its own threshold verdict, on its 1/N share (informative: the merged verdict decides).
    pub passed: bool,
}

/// What `shards.json` holds: where a merged report came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeInfo {
    /// Always `bearing-load-merge/v1`.
    pub schema: String,
    /// The profile hash every shard reported.
    pub profile_hash: String,
    /// `N`.
    pub shard_count: u32,
    /// The shards, by index.
    pub shards: Vec<ShardEntry>,
    /// Latest shard start minus earliest, s (shards started by a scheduler drift apart).
    pub start_skew_s: f64,
    /// Whether every threshold held on the merged data.
    pub passed: bool,
    /// When all N shards ran (`None`: never at once for a whole second).
    pub overlap: Option<Overlap>,
    /// What the thresholds were judged on.
    pub judged_on: Judge,
}
