//! The overlap window of a merged run (issue 19): the whole wall-clock seconds during which
//! every shard was running. Only then did the gateway see the whole asked load, so thresholds
//! are judged on it by default; the seconds before (ramp-in: some shards not started yet) and
//! after (ramp-out: some already done) are reported beside it. A second at the edge belongs
//! to the window when every shard ran at least 90% of it.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::read::{Key, Shard};
use super::{Overlap, Ramp};
use crate::result::RunResult;
use crate::stats::{Phase, PhaseData};

/// The part of a second a shard may miss at the window's edges, s.
const EDGE: f64 = 0.1;

fn unix_secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// Per-phase data of one scenario over the Unix seconds in `[from, to)`, from the shards'
/// interval logs (histograms) and counts lines.
fn phase_data(shards: &[Shard], scenario: &str, phase: Phase, from: u64, to: u64) -> PhaseData {
    let mut d = PhaseData::default();
    let key: Key = (scenario.to_owned(), phase);
    for s in shards {
        for (_, li) in s
            .intervals
            .get(&key)
            .into_iter()
            .flat_map(|m| m.range(from..to))
        {
            let _ = d.corrected.add(&li.corrected);
            let _ = d.uncorrected.add(&li.uncorrected);
            if s.counts.is_none() {
                d.count += li.uncorrected.len();
            }
        }
        if let Some(c) = s.counts.as_ref().and_then(|c| c.get(&key)) {
            for (n, e) in c.range(from..to).map(|(_, v)| v) {
                d.count += n;
                d.errors += e;
            }
        }
    }
    d
}

fn count_in(shards: &[Shard], result: &RunResult, from: u64, to: u64) -> u64 {
    result
        .scenarios
        .iter()
        .map(|sc| phase_data(shards, &sc.spec.name, sc.spec.kind.main_phase(), from, to).count)
        .sum()
}

/// Every Unix second any shard logged data for.
fn logged_seconds(shards: &[Shard]) -> BTreeMap<u64, ()> {
    let mut all = BTreeMap::new();
    for s in shards {
        for m in s.intervals.values() {
            all.extend(m.keys().map(|k| (*k, ())));
        }
        for m in s.counts.iter().flat_map(BTreeMap::values) {
            all.extend(m.keys().map(|k| (*k, ())));
        }
    }
    all
}

/// The overlap window of `shards` (`None` when no whole second had every shard running) and
/// the run restricted to it (phases from the seconds inside, elapsed = those seconds), ready
/// for thresholds to be evaluated on.
pub(crate) fn overlap(shards: &[Shard], merged: &RunResult) -> Option<(Overlap, RunResult)> {
    let first = shards
        .iter()
        .map(|s| unix_secs(s.started_at))
        .fold(f64::INFINITY, f64::min);
    let os = shards
        .iter()
        .map(|s| unix_secs(s.started_at))
        .fold(0.0, f64::max);
    let oe = shards
        .iter()
        .map(|s| unix_secs(s.started_at) + s.summary.duration_s)
        .fold(f64::INFINITY, f64::min);
    // A second counts as inside when every shard ran at least 90% of it: shards started by
    // the barrier open their window a few ms after the whole second (their users launch).
    let from = (os - EDGE).ceil() as u64;
    let to = (oe + EDGE).floor() as u64;
    if to <= from {
        return None;
    }
    let mut r = merged.clone();
    for sc in &mut r.scenarios {
        sc.phases = Phase::ALL.map(|p| phase_data(shards, &sc.spec.name, p, from, to));
    }
    r.elapsed = Duration::from_secs(to - from);
    let seconds = logged_seconds(shards);
    let last = seconds.keys().next_back().copied().unwrap_or(to);
    let first_logged = seconds.keys().next().copied().unwrap_or(from);
    let o = Overlap {
        start_s: from as f64 - first,
        end_s: to as f64 - first,
        seconds: to - from,
        count: count_in(shards, merged, from, to),
        ramp_in: Ramp {
            seconds: from.saturating_sub(first_logged),
            count: count_in(shards, merged, 0, from),
        },
        ramp_out: Ramp {
            seconds: (last + 1).saturating_sub(to),
            count: count_in(shards, merged, to, u64::MAX),
        },
    };
    Some((o, r))
}

/// Computes the overlap window and, when `judge` is [`super::Judge::Overlap`], evaluates the
/// thresholds of `merged` on it. Without a single whole second when every shard ran, the
/// asked load never held: every threshold fails, saying so.
pub(crate) fn judge(
    shards: &[Shard],
    merged: &mut RunResult,
    judge: super::Judge,
) -> Option<Overlap> {
    let found = overlap(shards, merged);
    if judge == super::Judge::WholeRun {
        return found.map(|(o, _)| o);
    }
    match found {
        Some((o, mut r)) => {
            r.evaluate_thresholds();
            merged.thresholds = r.thresholds;
            for (m, s) in merged.scenarios.iter_mut().zip(r.scenarios) {
                m.thresholds = s.thresholds;
            }
            Some(o)
        }
        None => {
            let all = merged.thresholds.iter_mut().chain(
                merged
                    .scenarios
                    .iter_mut()
                    .flat_map(|s| s.thresholds.iter_mut()),
            );
            for t in all {
                t.passed = false;
                t.actual_display = "no second when every shard ran".into();
            }
            None
        }
    }
}
