//! Combining checked shards into one [`RunResult`]: histograms added, counts summed, the
//! time series re-based onto the earliest shard's base second, thresholds evaluated again.

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;

use super::read::{Key, Shard};
use super::{Issue, MERGE_SCHEMA_ID, MergeInfo, Merged, ShardEntry};
use crate::profile::{LoadProfile, PoolSpec, Rate, ScenarioKind, ScenarioSpec};
use crate::recorder::{Interval, encode};
use crate::result::{RunResult, ScenarioResult, SigningInfo, StormInfo, TokenStats};
use crate::stats::{Phase, PhaseData, new_histogram};
use crate::threshold::{Threshold, ThresholdResult};

fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v).unwrap_or_default()
}

fn parse_thresholds(s: &Shard, results: &[ThresholdResult]) -> Result<Vec<Threshold>, Issue> {
    results
        .iter()
        .map(|t| {
            t.expr.parse::<Threshold>().map_err(|e| {
                Issue::unusable(&s.dir, format!("summary.json: threshold {:?}: {e}", t.expr))
            })
        })
        .collect()
}

/// Histograms and counts of one interval being merged.
struct Acc {
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    count: u64,
    errors: u64,
}

impl Default for Acc {
    fn default() -> Self {
        Self {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            count: 0,
            errors: 0,
        }
    }
}

fn points(h: &Histogram<u64>) -> [u64; 4] {
    if h.is_empty() {
        [0; 4]
    } else {
        [
            h.value_at_quantile(0.5),
            h.value_at_quantile(0.9),
            h.value_at_quantile(0.99),
            h.max(),
        ]
    }
}

/// The merged intervals of one scenario, re-based onto `base` (Unix seconds).
fn intervals(shards: &[Shard], scenario: &str, base: u64) -> Vec<Interval> {
    let mut acc: BTreeMap<(u64, Phase), Acc> = BTreeMap::new();
    for s in shards {
        for phase in Phase::ALL {
            let key: Key = (scenario.to_owned(), phase);
            let logged = s.intervals.get(&key);
            for (sec, li) in logged.into_iter().flatten() {
                let a = acc.entry((*sec, phase)).or_default();
                // Auto-resizing histograms of one precision always add.
                let _ = a.corrected.add(&li.corrected);
                let _ = a.uncorrected.add(&li.uncorrected);
                if s.counts.is_none() {
                    // A log without counts lines: only timed attempts are known.
                    a.count += li.uncorrected.len();
                }
            }
            if let Some(counts) = s.counts.as_ref().and_then(|c| c.get(&key)) {
                for (sec, (n, e)) in counts {
                    let a = acc.entry((*sec, phase)).or_default();
                    a.count += n;
                    a.errors += e;
                }
            }
        }
    }
    acc.into_iter()
        .map(|((sec, phase), a)| Interval {
            second: sec.saturating_sub(base),
            phase,
            count: a.count,
            errors: a.errors,
            corrected: points(&a.corrected),
            uncorrected: points(&a.uncorrected),
            corrected_encoded: encode(&a.corrected),
            uncorrected_encoded: encode(&a.uncorrected),
        })
        .collect()
}

/// One phase's totals over every shard: histograms from the interval logs (full precision),
/// counts from the summaries.
fn phase_data(shards: &[Shard], i: usize, phase: Phase) -> Result<PhaseData, Issue> {
    let mut d = PhaseData::default();
    for s in shards {
        let sc = &s.summary.scenarios[i];
        let key: Key = (sc.name.clone(), phase);
        for li in s.intervals.get(&key).into_iter().flat_map(BTreeMap::values) {
            let _ = d.corrected.add(&li.corrected);
            let _ = d.uncorrected.add(&li.uncorrected);
        }
        let Some(ps) = sc.phases.get(phase.name()) else {
            continue;
        };
        d.count += ps.count;
        d.errors += ps.errors;
        for (k, v) in &ps.errors_by_kind {
            *d.errors_by_kind.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &ps.statuses {
            let code: u16 = k.parse().map_err(|_| {
                Issue::unusable(
                    &s.dir,
                    format!(
                        "summary.json: {}.{}: status {k:?} is not an HTTP status code",
                        sc.name,
                        phase.name()
                    ),
                )
            })?;
            *d.statuses.entry(code).or_default() += v;
        }
    }
    Ok(d)
}

fn sum_opt<T: std::iter::Sum<T>>(v: impl Iterator<Item = Option<T>> + Clone) -> Option<T> {
    if v.clone().any(|x| x.is_some()) {
        Some(v.flatten().sum())
    } else {
        None
    }
}

fn signing(v: &[&SigningInfo]) -> SigningInfo {
    let n = v.len().max(1) as f64;
    let single = v.iter().map(|s| s.single_core_rate).sum::<f64>() / n;
    // Each shard's token requests started per second, summed.
    let offered: f64 = v
        .iter()
        .map(|s| s.offered_vs_single_core * s.single_core_rate)
        .sum();
    let mut modes: Vec<&str> = v.iter().map(|s| s.mode.as_str()).collect();
    modes.dedup();
    SigningInfo {
        mode: modes.join("+"),
        single_core_rate: single,
        signing_rate: v.iter().map(|s| s.signing_rate).sum(),
        offered_vs_single_core: if single > 0.0 { offered / single } else { 0.0 },
        assertions_used: v.iter().map(|s| s.assertions_used).sum(),
        prefilled: v.iter().map(|s| s.prefilled).sum(),
        minted: v.iter().map(|s| s.minted).sum(),
        waits: v.iter().map(|s| s.waits).sum(),
        wait_ms: v.iter().map(|s| s.wait_ms).sum(),
        limited: v.iter().any(|s| s.limited),
    }
}

fn tokens(v: &[&TokenStats]) -> TokenStats {
    TokenStats {
        token_requests: v.iter().map(|t| t.token_requests).sum(),
        tokens_issued: v.iter().map(|t| t.tokens_issued).sum(),
        refreshes_ahead: v.iter().map(|t| t.refreshes_ahead).sum(),
        unauthorized_retries: v.iter().map(|t| t.unauthorized_retries).sum(),
        failures: v.iter().map(|t| t.failures).sum(),
    }
}

/// Each shard revokes the tokens of its own users: the earliest revocation, the slowest
/// recovery, summed counts; the peak rate is the sum of the shards' peaks (an upper bound:
/// their 100 ms windows need not coincide).
fn storm(v: &[(u32, &StormInfo)]) -> StormInfo {
    let all_recovered = v.iter().all(|(_, s)| s.recovery_ms.is_some());
    StormInfo {
        revoked_at_ms: v
            .iter()
            .filter_map(|(_, s)| s.revoked_at_ms)
            .min_by(f64::total_cmp),
        revoked_tokens: v.iter().map(|(_, s)| s.revoked_tokens).sum(),
        recovery_ms: if all_recovered {
            v.iter()
                .filter_map(|(_, s)| s.recovery_ms)
                .max_by(f64::total_cmp)
        } else {
            None
        },
        users_recovered: v.iter().map(|(_, s)| s.users_recovered).sum(),
        burst_token_requests: v.iter().map(|(_, s)| s.burst_token_requests).sum(),
        peak_token_rate: v.iter().map(|(_, s)| s.peak_token_rate).sum(),
        error: v
            .iter()
            .find_map(|(i, s)| s.error.as_ref().map(|e| format!("shard {i}: {e}"))),
    }
}

/// Combines `shards` (sorted by index, non-empty, checked) into one run, its thresholds
/// judged as `judge` says.
pub(crate) fn combine(shards: &[Shard], judge: super::Judge) -> Result<Merged, Issue> {
    let first = &shards[0];
    let n = shards.len() as f64;
    let base = shards
        .iter()
        .map(|s| s.summary.base_epoch_secs)
        .min()
        .unwrap_or(first.summary.base_epoch_secs);
    let started = shards
        .iter()
        .map(|s| s.started_at)
        .min()
        .unwrap_or(first.started_at);
    let last_start = shards
        .iter()
        .map(|s| s.started_at)
        .max()
        .unwrap_or(first.started_at);
    let start_offset = started
        .duration_since(UNIX_EPOCH + Duration::from_secs(base))
        .unwrap_or_default();
    let elapsed = secs(shards.iter().map(|s| s.summary.duration_s).sum::<f64>() / n);

    let mut scenarios = Vec::new();
    let mut scenario_threshold_count = 0;
    for (i, rs) in first.summary.scenarios.iter().enumerate() {
        let kind: ScenarioKind = serde_json::from_value(serde_json::Value::String(rs.kind.clone()))
            .map_err(|_| {
                Issue::unusable(
                    &first.dir,
                    format!(
                        "summary.json: scenario {:?}: unknown kind {:?}",
                        rs.name, rs.kind
                    ),
                )
            })?;
        scenario_threshold_count += rs.thresholds.len();
        let spec = ScenarioSpec {
            name: rs.name.clone(),
            kind,
            weight: rs.weight,
            api: None,
            calls_per_second: None,
            revoke_at: None,
            pool: None,
            thresholds: parse_thresholds(first, &rs.thresholds)?,
            connection: rs
                .connections
                .as_ref()
                .map(|c| c.policy)
                .unwrap_or_default(),
            tls: None,
        };
        let all: Vec<_> = shards.iter().map(|s| &s.summary.scenarios[i]).collect();
        let mut phases: [PhaseData; Phase::COUNT] = Default::default();
        for p in Phase::ALL {
            phases[p.index()] = phase_data(shards, i, p)?;
        }
        let sg: Vec<&SigningInfo> = all.iter().filter_map(|s| s.signing.as_ref()).collect();
        let tk: Vec<&TokenStats> = all.iter().filter_map(|s| s.tokens.as_ref()).collect();
        let st: Vec<(u32, &StormInfo)> = shards
            .iter()
            .zip(&all)
            .filter_map(|(sh, s)| s.storm.as_ref().map(|x| (sh.index, x)))
            .collect();
        scenarios.push(ScenarioResult {
            users: all.iter().map(|s| s.users).sum(),
            target_rate: sum_opt(all.iter().map(|s| s.target_rate)),
            planned: sum_opt(all.iter().map(|s| s.planned)),
            started: all.iter().map(|s| s.started).sum(),
            phases,
            resumed_handshakes: all
                .iter()
                .filter_map(|s| s.connections.as_ref())
                .map(|c| c.resumed)
                .sum(),
            intervals: intervals(shards, &rs.name, base),
            signing: (!sg.is_empty()).then(|| signing(&sg)),
            tokens: (!tk.is_empty()).then(|| tokens(&tk)),
            storm: (!st.is_empty()).then(|| storm(&st)),
            thresholds: Vec::new(),
            spec,
        });
    }
    let all_thresholds = &first.summary.thresholds;
    let run_level = all_thresholds
        .len()
        .checked_sub(scenario_threshold_count)
        .map(|k| &all_thresholds[..k])
        .filter(|ts| ts.iter().all(|t| t.scope == "run"))
        .ok_or_else(|| {
            Issue::unusable(
                &first.dir,
                "summary.json: thresholds do not list the run's before the scenarios'",
            )
        })?;
    let summary = &first.summary;
    let open = summary.profile.model == "open";
    let profile = LoadProfile {
        name: Some(summary.profile.name.clone()),
        description: summary.profile.description.clone(),
        duration: Some(secs(summary.planned_duration_s)),
        users: scenarios.iter().map(|s| s.users).sum::<usize>().max(1),
        partners: None,
        ramp_users: None,
        rate: open.then(|| Rate(scenarios.iter().filter_map(|s| s.target_rate).sum())),
        start_rate: None,
        stages: Vec::new(),
        max_requests: None,
        timeout: None,
        thresholds: parse_thresholds(first, run_level)?,
        scenarios: scenarios.iter().map(|s| s.spec.clone()).collect(),
        pool: PoolSpec::default(),
        capacity: None,
        allow_underrun: summary.verdict.as_ref().is_some_and(|v| v.allow_underrun),
    };
    let mut targets: Vec<&str> = Vec::new();
    for s in shards {
        if !targets.contains(&s.summary.target.as_str()) {
            targets.push(&s.summary.target);
        }
    }
    let mut result = RunResult {
        profile,
        profile_hash: summary.profile.hash.clone(),
        shard: None,
        started_at: started,
        base_epoch_secs: base,
        start_offset,
        elapsed,
        target: targets.join(", "),
        tls_insecure: shards.iter().any(|s| s.summary.tls_insecure),
        scenarios,
        thresholds: Vec::new(),
        goose_overhead_ms: shards
            .iter()
            .map(|s| s.summary.goose_overhead_ms)
            .fold(0.0, f64::max),
        // Per-partner tables are per shard (each shard's report has its own).
        partners: None,
    };
    result.evaluate_thresholds();
    let overlap = super::overlap::judge(shards, &mut result, judge);
    let info = MergeInfo {
        schema: MERGE_SCHEMA_ID.into(),
        profile_hash: result.profile_hash.clone(),
        shard_count: first.count,
        shards: shards.iter().map(entry).collect(),
        start_skew_s: last_start
            .duration_since(started)
            .unwrap_or_default()
            .as_secs_f64(),
        passed: result.passed(),
        overlap,
        judged_on: judge,
    };
    Ok(Merged { result, info })
}

fn entry(s: &Shard) -> ShardEntry {
    ShardEntry {
        index: s.index,
        dir: s.dir.display().to_string(),
        started_at: s.summary.started_at.clone(),
        duration_s: s.summary.duration_s,
        count: s.summary.totals.values().map(|p| p.count).sum(),
        errors: s.summary.totals.values().map(|p| p.errors).sum(),
        passed: s.summary.passed,
    }
}
