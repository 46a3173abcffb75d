//! `summary.json`: the machine-readable result of a run, pinned by
//! `schemas/load-summary.schema.json` (a test validates real output against it).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityReport;
use crate::profile::ConnectionPolicy;
use crate::result::{RunResult, SigningInfo, StormInfo, TokenStats};
use crate::stats::{LatencyStats, Phase, PhaseData};
use crate::threshold::ThresholdResult;
use crate::verdict::Verdict;

/// The schema id written in every summary.
pub const SCHEMA_ID: &str = "bearing-load-summary/v1";

/// Latency figures, µs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest.
    pub max: u64,
    /// Smallest.
    pub min: u64,
    /// Mean.
    pub mean: f64,
}

impl From<&LatencyStats> for Latency {
    fn from(l: &LatencyStats) -> Self {
        Self {
            p50: l.p50,
            p90: l.p90,
            p99: l.p99,
            p999: l.p999,
            max: l.max,
            min: l.min,
            mean: l.mean,
        }
    }
}

/// Both latency figures of a phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Latencies {
    /// From the intended start (coordinated omission corrected).
    pub corrected: Latency,
    /// From the actual start.
    pub uncorrected: Latency,
}

/// One phase's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseSummary {
    /// Attempts completed.
    pub count: u64,
    /// Successful.
    pub ok: u64,
    /// Failed.
    pub errors: u64,
    /// `errors / count`.
    pub error_rate: f64,
    /// Failures by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// HTTP statuses seen (keys are the codes as strings).
    pub statuses: BTreeMap<String, u64>,
    /// Completed attempts per second.
    pub rate: f64,
    /// Latency, µs.
    pub latency_us: Latencies,
    /// The `.hgrm` files of this phase (corrected, uncorrected), relative to the report.
    pub hgrm: Vec<String>,
}

impl PhaseSummary {
    fn new(d: &PhaseData, seconds: f64, hgrm: Vec<String>) -> Self {
        let s = d.stats(seconds);
        Self {
            count: s.count,
            ok: s.ok,
            errors: s.errors,
            error_rate: s.error_rate(),
            errors_by_kind: s.errors_by_kind.clone(),
            statuses: s
                .statuses
                .iter()
                .map(|(k, v)| (k.to_string(), *v))
                .collect(),
            rate: s.rate,
            latency_us: Latencies {
                corrected: (&s.corrected).into(),
                uncorrected: (&s.uncorrected).into(),
            },
            hgrm,
        }
    }
}

/// One scenario's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ScenarioSummary {
    /// Name.
    pub name: String,
    /// Kind (`token`, `api`, `mixed`, `refresh-storm`, `sign`).
    pub kind: String,
    /// Weight.
    pub weight: usize,
    /// Users that ran it.
    pub users: usize,
    /// Arrival rate asked for (open model), per s.
    pub target_rate: Option<f64>,
    /// Attempts started per second (what the generator offered).
    pub offered_rate: f64,
    /// Successful attempts of the main phase per second.
    pub achieved_rate: f64,
    /// Arrivals planned (open model).
    pub planned: Option<u64>,
    /// Attempts started.
    pub started: u64,
    /// Planned arrivals never started (open model; every user was busy until the end).
    pub dropped: Option<u64>,
    /// The phase thresholds without a phase read.
    pub main_phase: String,
    /// Figures per phase that ran (`sign`, `token`, `api`).
    pub phases: BTreeMap<String, PhaseSummary>,
    /// Token scenarios: how signing fed them.
    pub signing: Option<SigningInfo>,
    /// API scenarios: token manager counters.
    pub tokens: Option<TokenStats>,
    /// Refresh storms: revocation and recovery.
    pub storm: Option<StormInfo>,
    /// This scenario's thresholds.
    pub thresholds: Vec<ThresholdResult>,
    /// Connections opened on the lean path (issue 15): absent when none were (a `sign`
    /// scenario, or a summary written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<ConnectionSummary>,
}

/// The connections a scenario opened: with `connection: new`, the handshakes per second
/// are what the gateway's TLS terminator paid for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSummary {
    /// `keep-alive` (one connection per user, reopened when closed) or `new` (one per
    /// request).
    pub policy: ConnectionPolicy,
    /// TCP connections attempted (the `connect` phase's count).
    pub opened: u64,
    /// Attempted per second of the measured time.
    pub opened_per_s: f64,
    /// TLS handshakes attempted (the `handshake` phase's count; 0 over `http://`).
    pub handshakes: u64,
    /// Of them, those that resumed an earlier session (abbreviated handshakes; none with
    /// `tls: { resumption: false }`).
    #[serde(default)]
    pub resumed: u64,
    /// Successful TLS handshakes per second of the measured time: the headline figure with
    /// `connection: new`.
    pub handshakes_per_s: f64,
}

impl ConnectionSummary {
    fn new(s: &crate::result::ScenarioResult, secs: f64) -> Option<Self> {
        let connect = &s.phases[Phase::Connect.index()];
        let handshake = &s.phases[Phase::Handshake.index()];
        if connect.count == 0 {
            return None;
        }
        let per_s = |n: u64| n as f64 / secs.max(1e-9);
        Some(Self {
            policy: s.spec.connection,
            resumed: s.resumed_handshakes,
            opened: connect.count,
            opened_per_s: per_s(connect.count),
            handshakes: handshake.count,
            handshakes_per_s: per_s(handshake.count - handshake.errors),
        })
    }
}

/// Profile identity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileInfo {
    /// Name.
    pub name: String,
    /// FNV-64 hash of the profile as written (shards of one run share it).
    pub hash: String,
    /// Description.
    pub description: Option<String>,
    /// Open model (`rate`/`stages`) or closed (users as fast as answers come).
    pub model: String,
}

/// Which shard of a sharded run this is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardInfo {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

/// The whole summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoadSummary {
    /// Always [`SCHEMA_ID`].
    pub schema: String,
    /// `bearing-load <version>`.
    pub tool: String,
    /// The profile.
    pub profile: ProfileInfo,
    /// The shard, when sharded.
    pub shard: Option<ShardInfo>,
    /// Token URL of the target.
    pub target: String,
    /// Server certificates went unchecked (`tls.insecure` / `--insecure` without a pin):
    /// nothing proved the figures came from the gateway named. Absent when they were checked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tls_insecure: bool,
    /// Successful TLS handshakes per second over the scenarios with `connection: new` (the
    /// headline of a handshake-cost run); absent when no scenario opens a connection per
    /// request over TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handshakes_per_s: Option<f64>,
    /// When the measured window started (RFC 3339, UTC).
    pub started_at: String,
    /// Unix second the interval log's timestamps count from.
    pub base_epoch_secs: u64,
    /// Planned run length, s.
    pub planned_duration_s: f64,
    /// Measured window, s.
    pub duration_s: f64,
    /// Whether the run passed: every threshold held and nothing in `verdict` blocks it.
    pub passed: bool,
    /// Why the run passed or not beyond its thresholds: every request failed, the default
    /// error guard, generator-limited scenarios, dropped and cancelled requests. Absent in
    /// summaries written before it existed.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Every threshold (run-level first, then per scenario).
    pub thresholds: Vec<ThresholdResult>,
    /// `--expect-fail FILE` as applied to the thresholds (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failures: Option<bearing_report::expect::ExpectReport>,
    /// Per phase over all scenarios.
    pub totals: BTreeMap<String, PhaseSummary>,
    /// Per scenario.
    pub scenarios: Vec<ScenarioSummary>,
    /// Time goose spent launching and stopping users around the window, ms.
    pub goose_overhead_ms: f64,
    /// The interval log (relative path).
    pub interval_log: String,
    /// Capacity search, when `--find-capacity` ran.
    pub capacity: Option<CapacityReport>,
    /// Per-partner figures of a fleet run (`partners: N`): top-k tables and spreads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<crate::fleet::PartnerReport>,
}

/// File stem of a phase's `.hgrm` files.
pub fn hgrm_names(scenario: &str, phase: Phase) -> [String; 2] {
    [
        format!("{scenario}.{}.hgrm", phase.name()),
        format!("{scenario}.{}.uncorrected.hgrm", phase.name()),
    ]
}

/// The failure kinds (keys of `errors_by_kind`) that mean the request never reached the
/// gateway: a refused or failed connection to the API, or to the token endpoint before a call.
pub const UNREACHABLE_KINDS: [&str; 2] = ["connect", "token_transport"];

/// Whether a run reached its gateway at all (how `bearing load` and `bearing report merge`
/// tell "could not run" from "ran and failed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Nothing was attempted over the network (a signing-only run).
    NotAttempted,
    /// At least one network attempt got an answer or failed after connecting.
    Reached,
    /// Every network attempt, this many, failed to connect.
    Unreachable(u64),
}

impl LoadSummary {
    /// Whether the run reached the gateway: the request phases (`token`, `api`) count;
    /// `connect` and `handshake` are parts of them.
    pub fn reach(&self) -> Reach {
        let network: Vec<_> = self
            .totals
            .iter()
            .filter(|(k, _)| [Phase::Token.name(), Phase::Api.name()].contains(&k.as_str()))
            .map(|(_, v)| v)
            .collect();
        let attempted: u64 = network.iter().map(|p| p.count).sum();
        let unreachable: u64 = network
            .iter()
            .flat_map(|p| {
                UNREACHABLE_KINDS
                    .iter()
                    .map(|k| p.errors_by_kind.get(*k).copied().unwrap_or(0))
            })
            .sum();
        match attempted {
            0 => Reach::NotAttempted,
            n if unreachable == n => Reach::Unreachable(n),
            _ => Reach::Reached,
        }
    }

    /// Builds the summary of `r`.
    pub fn new(r: &RunResult, capacity: Option<CapacityReport>) -> Self {
        Self::judged(r, capacity, None)
    }

    /// The summary of `r` with an `--expect-fail` list applied
    /// ([`crate::verdict::apply_expected`]).
    pub fn judged(
        r: &RunResult,
        capacity: Option<CapacityReport>,
        expected: Option<bearing_report::expect::ExpectReport>,
    ) -> Self {
        let secs = r.seconds();
        let verdict = Verdict::judge(r, expected.as_ref());
        let mut scenarios = Vec::new();
        for s in &r.scenarios {
            let mut phases = BTreeMap::new();
            for p in Phase::ALL {
                let d = &s.phases[p as usize];
                if d.count > 0 {
                    phases.insert(
                        p.name().to_owned(),
                        PhaseSummary::new(d, secs, hgrm_names(&s.spec.name, p).to_vec()),
                    );
                }
            }
            let main = s.spec.kind.main_phase();
            let main_data = &s.phases[main as usize];
            let connections = ConnectionSummary::new(s, secs);
            scenarios.push(ScenarioSummary {
                name: s.spec.name.clone(),
                kind: s.spec.kind.name().to_owned(),
                weight: s.spec.weight,
                users: s.users,
                target_rate: s.target_rate,
                offered_rate: s.started as f64 / secs.max(1e-9),
                achieved_rate: (main_data.count - main_data.errors) as f64 / secs.max(1e-9),
                planned: s.planned,
                started: s.started,
                dropped: s.planned.map(|p| p.saturating_sub(s.started)),
                main_phase: main.name().to_owned(),
                phases,
                signing: s.signing.clone(),
                tokens: s.tokens.clone(),
                storm: s.storm.clone(),
                thresholds: s.thresholds.clone(),
                connections,
            });
        }
        let per_request: Vec<&ConnectionSummary> = scenarios
            .iter()
            .filter_map(|s| s.connections.as_ref())
            .filter(|c| c.policy == ConnectionPolicy::New && c.handshakes > 0)
            .collect();
        let handshakes_per_s =
            (!per_request.is_empty()).then(|| per_request.iter().map(|c| c.handshakes_per_s).sum());
        let mut totals = BTreeMap::new();
        for p in Phase::ALL {
            let d = r.merged(p);
            if d.count > 0 {
                totals.insert(p.name().to_owned(), PhaseSummary::new(&d, secs, Vec::new()));
            }
        }
        Self {
            schema: SCHEMA_ID.into(),
            tool: concat!("bearing-load ", env!("CARGO_PKG_VERSION")).into(),
            profile: ProfileInfo {
                name: r.profile.display_name().to_owned(),
                hash: r.profile_hash.clone(),
                description: r.profile.description.clone(),
                model: if r.profile.is_open() {
                    "open"
                } else {
                    "closed"
                }
                .into(),
            },
            shard: r.shard.map(|(index, count)| ShardInfo { index, count }),
            target: r.target.clone(),
            tls_insecure: r.tls_insecure,
            handshakes_per_s,
            started_at: humantime::format_rfc3339_millis(r.started_at).to_string(),
            base_epoch_secs: r.base_epoch_secs,
            planned_duration_s: r.profile.run_duration().as_secs_f64(),
            duration_s: secs,
            passed: verdict.passed,
            verdict: Some(verdict),
            thresholds: r.all_thresholds().into_iter().cloned().collect(),
            expected_failures: expected,
            totals,
            scenarios,
            goose_overhead_ms: r.goose_overhead_ms,
            interval_log: super::INTERVAL_LOG.into(),
            capacity,
            partners: r.partners.clone(),
        }
    }
}
