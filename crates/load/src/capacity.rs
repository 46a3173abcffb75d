//! `--find-capacity`: steps the arrival rate up (by `capacity.step` or × `capacity.factor`)
//! until a threshold is missed, and reports the highest passing rate (the knee) with the
//! table of steps. Besides the profile's thresholds, every step must achieve 95% of the rate
//! it asked for — a gateway that cannot keep up is past its capacity even if the latency of
//! what it did answer looks fine.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profile::{Profile, Rate, ScenarioKind};
use crate::result::RunResult;
use crate::run::{RunOptions, run};
use crate::target::LoadTarget;
use crate::threshold::{Metric, Op, Threshold};

/// Share of the asked rate a step must achieve to pass.
pub const MIN_ACHIEVED: f64 = 0.95;

/// One step of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// Arrival rate asked for, per s.
    pub rate: f64,
    /// Successful completions per second of the main phases.
    pub achieved_rate: f64,
    /// Corrected p99 of the main phases, µs.
    pub p99_us: u64,
    /// Error rate of the main phases.
    pub error_rate: f64,
    /// Whether every threshold held and the rate was achieved.
    pub passed: bool,
    /// What was missed.
    pub missed: Vec<String>,
}

/// The result of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    /// Highest passing rate, per s (`None` when the first step failed).
    pub knee: Option<f64>,
    /// Every step, in order.
    pub steps: Vec<CapacityStep>,
    /// Length of each step, s.
    pub step_duration_s: f64,
}

/// Runs the search. Returns the report and the run at the knee (or the first step when
/// none passed), whose report set is written with the table.
///
/// # Errors
/// As [`run`]; [`Error::Profile`] when a scenario cannot be rate-driven (`mixed`).
pub async fn find_capacity(
    profile: &Profile,
    target: &LoadTarget,
    opts: &RunOptions,
) -> Result<(CapacityReport, RunResult)> {
    if profile
        .scenarios
        .iter()
        .any(|s| s.kind == ScenarioKind::Mixed)
    {
        return Err(Error::Profile(
            "--find-capacity steps the arrival rate; mixed scenarios pace each user themselves"
                .into(),
        ));
    }
    let c = &profile.capacity;
    let mut rate = c.start.0;
    let mut steps = Vec::new();
    let mut knee: Option<(f64, RunResult)> = None;
    let mut first: Option<RunResult> = None;
    // Bounded: at most 200 steps whatever the settings.
    for _ in 0..200 {
        if rate > c.max.0 {
            break;
        }
        let mut p = profile.clone();
        p.rate = Some(Rate(rate));
        p.stages.clear();
        p.start_rate = None;
        p.duration = Some(c.step_duration);
        // A `rate >= …` floor is written for the profile's own rate; at a lower step it would
        // fail for no fault of the gateway. Each step is held to its own asked rate instead
        // (below). Ceilings (`rate <= …`) still apply.
        let keep = |t: &Threshold| !(t.metric == Metric::Rate && matches!(t.op, Op::Ge | Op::Gt));
        p.thresholds.retain(keep);
        for s in &mut p.scenarios {
            s.thresholds.retain(keep);
        }
        let mut o = opts.clone();
        o.label = Some(format!("{} @ {rate:.0}/s", profile.display_name()));
        let r = Box::pin(run(&p, target, &o)).await?;
        let main = r.merged_main();
        let st = main.stats(r.seconds());
        let achieved = (st.count - st.errors) as f64 / r.seconds().max(1e-9);
        let asked = rate / opts.shard.map_or(1.0, |(_, n)| f64::from(n));
        let mut missed: Vec<String> = r
            .all_thresholds()
            .iter()
            .filter(|t| !t.passed)
            .map(|t| format!("{} (was {})", t.expr, t.actual_display))
            .collect();
        if achieved < MIN_ACHIEVED * asked {
            missed.push(format!(
                "achieved {achieved:.0}/s < {:.0}% of {asked:.0}/s",
                MIN_ACHIEVED * 100.0
            ));
        }
        let passed = missed.is_empty();
        steps.push(CapacityStep {
            rate,
            achieved_rate: achieved,
            p99_us: st.corrected.p99,
            error_rate: st.error_rate(),
            passed,
            missed,
        });
        tracing::info!(rate, achieved, passed, "capacity step");
        if !passed {
            if first.is_none() {
                first = Some(r);
            }
            break;
        }
        knee = Some((rate, r));
        rate = match c.factor {
            Some(f) if f > 1.0 => rate * f,
            _ => rate + c.step.0,
        };
    }
    let report = CapacityReport {
        knee: knee.as_ref().map(|(k, _)| *k),
        steps,
        step_duration_s: c.step_duration.as_secs_f64(),
    };
    let Some(run) = knee.map(|(_, r)| r).or(first) else {
        return Err(Error::Profile(
            "capacity.start is above capacity.max: no step ran".into(),
        ));
    };
    Ok((report, run))
}
