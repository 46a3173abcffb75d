//! What a run produced, before it is written as a report: per scenario, per phase data
//! (histograms, counts, intervals) and the scenario-specific figures.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::profile::{LoadProfile, ScenarioSpec};
use crate::recorder::Interval;
use crate::stats::{Phase, PhaseData, PhaseStats};
use crate::threshold::ThresholdResult;

/// How signing fed a token scenario, and whether it limited the offered load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningInfo {
    /// `pool` (minted ahead on all cores) or `inline` (each user signs before its request).
    pub mode: String,
    /// One core's RS256/… signing rate measured just before the run (assertions/s).
    pub single_core_rate: f64,
    /// Rate at which assertions were minted during the run (pool) or signed (inline), per s.
    pub signing_rate: f64,
    /// Token requests started per second, divided by `single_core_rate`.
    pub offered_vs_single_core: f64,
    /// Assertions consumed by token requests (each used once).
    pub assertions_used: u64,
    /// Pool: assertions minted before the clock started.
    pub prefilled: u64,
    /// Pool: assertions minted in all.
    pub minted: u64,
    /// Pool: times a user found the pool empty and waited.
    pub waits: u64,
    /// Pool: total time users waited for assertions, ms.
    pub wait_ms: f64,
    /// Whether signing held the offered load below what the profile asked for.
    pub limited: bool,
}

/// Token-manager figures of the API scenarios (summed over users).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TokenStats {
    /// Token requests sent by the managers (retries included).
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Refreshes ahead of expiry.
    pub refreshes_ahead: u64,
    /// API calls retried after a 401 (the expected 401s).
    pub unauthorized_retries: u64,
    /// Fetches that ended without a token.
    pub failures: u64,
}

/// What happened around the mass revocation of a `refresh-storm` scenario.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StormInfo {
    /// When every token was revoked, ms after the start (`None` if it failed).
    pub revoked_at_ms: Option<f64>,
    /// Tokens the gateway reported revoked.
    pub revoked_tokens: u64,
    /// Time from the revocation until the last user had a successful call again, ms.
    pub recovery_ms: Option<f64>,
    /// Users that got a successful call after the revocation / users of the scenario.
    pub users_recovered: u64,
    /// Token requests from the revocation to recovery (the burst).
    pub burst_token_requests: u64,
    /// Highest token-request rate after the revocation, over 100 ms windows, per s.
    pub peak_token_rate: f64,
    /// Why the revocation failed, if it did.
    pub error: Option<String>,
}

/// One scenario's results.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    /// The scenario as profiled.
    pub spec: ScenarioSpec,
    /// Goose users that ran it.
    pub users: usize,
    /// Average arrival rate asked for (open model), per s.
    pub target_rate: Option<f64>,
    /// Arrivals planned (open model).
    pub planned: Option<u64>,
    /// Attempts started.
    pub started: u64,
    /// Data per phase (indexed by [`Phase`]).
    pub phases: [PhaseData; Phase::COUNT],
    /// TLS handshakes that resumed a session (of the `handshake` phase's count).
    pub resumed_handshakes: u64,
    /// Closed per-second intervals.
    pub intervals: Vec<Interval>,
    /// Signing, for token scenarios.
    pub signing: Option<SigningInfo>,
    /// Token manager figures, for API scenarios.
    pub tokens: Option<TokenStats>,
    /// Refresh-storm figures.
    pub storm: Option<StormInfo>,
    /// This scenario's thresholds.
    pub thresholds: Vec<ThresholdResult>,
}

impl ScenarioResult {
    /// Figures of one phase over `seconds`.
    pub fn phase_stats(&self, phase: Phase, seconds: f64) -> PhaseStats {
        self.phases[phase as usize].stats(seconds)
    }
}

/// A whole run.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The profile as run (a shard's share when sharded).
    pub profile: LoadProfile,
    /// FNV-64 of the profile as written (before sharding), for merge checks.
    pub profile_hash: String,
    /// `(index, count)` when this was one shard of a run.
    pub shard: Option<(u32, u32)>,
    /// Wall-clock time the measured window started.
    pub started_at: SystemTime,
    /// Unix second interval timestamps count from.
    pub base_epoch_secs: u64,
    /// Offset of the start past `base_epoch_secs`.
    pub start_offset: Duration,
    /// Length of the measured window (start until the last user finished).
    pub elapsed: Duration,
    /// The token URL (never a secret).
    pub target: String,
    /// Server certificates went unchecked (`tls.insecure` / `--insecure` without a pin):
    /// every report says so in its header.
    pub tls_insecure: bool,
    /// Per scenario.
    pub scenarios: Vec<ScenarioResult>,
    /// Run-level thresholds (each scenario's main phase merged).
    pub thresholds: Vec<ThresholdResult>,
    /// Time goose took around the measured window (launching and stopping users), ms.
    pub goose_overhead_ms: f64,
    /// Per-partner figures of a fleet run (`partners: N`, N > 1).
    pub partners: Option<crate::fleet::PartnerReport>,
}

impl RunResult {
    /// Every threshold result.
    pub fn all_thresholds(&self) -> Vec<&ThresholdResult> {
        self.thresholds
            .iter()
            .chain(self.scenarios.iter().flat_map(|s| &s.thresholds))
            .collect()
    }

    /// Seconds of the measured window.
    pub fn seconds(&self) -> f64 {
        self.elapsed.as_secs_f64()
    }

    /// The run-level data of a phase: every scenario's data merged.
    pub fn merged(&self, phase: Phase) -> PhaseData {
        let mut d = PhaseData::default();
        for s in &self.scenarios {
            d.merge(&s.phases[phase as usize]);
        }
        d
    }

    /// The run-level "main" data: each scenario's main phase merged.
    pub fn merged_main(&self) -> PhaseData {
        let mut d = PhaseData::default();
        for s in &self.scenarios {
            d.merge(&s.phases[s.spec.kind.main_phase() as usize]);
        }
        d
    }

    /// Evaluates every threshold of the run on its (merged) data, as a single run does.
    pub(crate) fn evaluate_thresholds(&mut self) {
        self.evaluate_thresholds_over(self.seconds());
    }

    /// Evaluates every threshold of the run, rates over `seconds`: each scenario's on its
    /// data (a threshold without a phase reads the kind's main phase), the run's on every
    /// scenario's data merged.
    pub(crate) fn evaluate_thresholds_over(&mut self, seconds: f64) {
        for s in &mut self.scenarios {
            let main = s.spec.kind.main_phase();
            s.thresholds = s
                .spec
                .thresholds
                .iter()
                .map(|t| {
                    t.evaluate(
                        &s.phase_stats(t.phase.unwrap_or(main), seconds),
                        &s.spec.name,
                    )
                })
                .collect();
        }
        self.thresholds = self
            .profile
            .thresholds
            .iter()
            .map(|t| {
                let d = match t.phase {
                    Some(p) => self.merged(p),
                    None => self.merged_main(),
                };
                t.evaluate(&d.stats(seconds), "run")
            })
            .collect();
    }
}
