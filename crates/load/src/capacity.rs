//! `--find-capacity`: steps the arrival rate up (by `capacity.step` or × `capacity.factor`)
//! until a step fails, then refines by bisection between the last passing and the first
//! failing rate until that interval is within ±[`RESOLUTION`] of its middle (issue 18), and
//! reports the highest passing rate (the knee), the interval and the table of steps. Every
//! step runs `capacity.step_duration` (5 s by default: long enough for a queue building up
//! past the knee to show in p99, short enough for a dozen steps in a couple of minutes).
//!
//! A step passes when the run's verdict passes (its thresholds, the default error guard, not
//! generator-limited) and it achieved [`MIN_ACHIEVED`] of the rate it asked for (successful
//! answers per second of the step) — a gateway that cannot keep up is past its capacity even
//! if the latency of what it did answer looks fine. Near the knee a step's latency grows
//! steadily (the queue), while a hiccup of the machine only adds a spike: a median ceiling
//! (`p50 < …`) tells the two apart better than p99 on a shared machine.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profile::{LoadProfile, Rate};
use crate::result::RunResult;
use crate::run::{RunOptions, run};
use crate::target::LoadTarget;
use crate::threshold::{Metric, Op, Threshold};

/// Share of the asked rate a step must achieve to pass.
pub const MIN_ACHIEVED: f64 = 0.95;

/// Bisection stops when the interval between the last pass and the first fail is within
/// ± this share of its middle.
pub const RESOLUTION: f64 = 0.05;

/// Most bisection steps (a bound, whatever the settings).
const MAX_REFINE: usize = 12;

/// One step of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityStep {
    /// Arrival rate asked for, per s.
    pub rate: f64,
    /// Successful completions per second of the main phases.
    pub achieved_rate: f64,
    /// Corrected p99 of the main phases, µs.
    pub p99_us: u64,
    /// Corrected p50 of the main phases, µs.
    #[serde(default)]
    pub p50_us: u64,
    /// Error rate of the main phases.
    pub error_rate: f64,
    /// Whether every threshold held and the rate was achieved.
    pub passed: bool,
    /// What was missed.
    pub missed: Vec<String>,
    /// Whether this step refined the knee by bisection (after the first failure).
    #[serde(default)]
    pub refine: bool,
}

/// The result of a capacity search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityReport {
    /// Highest passing rate, per s (`None` when the first step failed).
    pub knee: Option<f64>,
    /// `[last pass, first fail]` after refinement: the knee lies in between. `None` when
    /// every step passed (no knee up to `max_rate`) or the first step failed.
    #[serde(default)]
    pub interval: Option<[f64; 2]>,
    /// The highest rate the search would try (`capacity.max`).
    #[serde(default)]
    pub max_rate: f64,
    /// Every step, in order.
    pub steps: Vec<CapacityStep>,
    /// Length of each step, s.
    pub step_duration_s: f64,
}

impl CapacityReport {
    /// The knee as a person reads it: `1,020/s (between 1,000/s and 1,060/s)`, `no knee
    /// found up to 50,000/s`, or `none (the first step failed)`.
    pub fn describe(&self) -> String {
        use crate::verdict::thousands as t;
        match (self.knee, self.interval) {
            (None, _) => "none (the first step failed)".into(),
            (Some(_), None) => format!(
                "no knee found up to {}/s (every step passed)",
                t(self.max_rate)
            ),
            (Some(k), Some([lo, hi])) => format!(
                "{}/s (last pass {}/s, first fail {}/s: ±{:.0}%)",
                t(k),
                t(lo),
                t(hi),
                (hi - lo) / (hi + lo) * 100.0
            ),
        }
    }
}

/// Called after each step (progress).
pub type StepFn = Arc<dyn Fn(usize, &CapacityStep) + Send + Sync>;

/// Runs the search. Returns the report and the run at the knee (or the first step when
/// none passed), whose report set is written with the table.
///
/// # Errors
/// As [`run`]; [`Error::Profile`] when the profile has no `capacity:` block, is sharded,
/// or a scenario cannot be rate-driven (`mixed`).
pub async fn find_capacity(
    profile: &LoadProfile,
    target: &LoadTarget,
    opts: &RunOptions,
) -> Result<(CapacityReport, RunResult)> {
    find_capacity_with(profile, target, opts, None).await
}

/// [`find_capacity`] with a callback after each step.
///
/// # Errors
/// As [`find_capacity`].
pub async fn find_capacity_with(
    profile: &LoadProfile,
    target: &LoadTarget,
    opts: &RunOptions,
    on_step: Option<StepFn>,
) -> Result<(CapacityReport, RunResult)> {
    if let Some(s) = profile
        .scenarios
        .iter()
        .find(|s| s.kind.traits().paced_per_user)
    {
        return Err(Error::Profile(format!(
            "--find-capacity steps the arrival rate; {} scenarios pace each user themselves",
            s.kind.name()
        )));
    }
    if opts.shard.is_some() {
        return Err(Error::Profile(
            "--find-capacity cannot run as a shard: each step's verdict needs the whole run".into(),
        ));
    }
    let Some(c) = profile.capacity.clone() else {
        return Err(Error::Profile(format!(
            "{}: --find-capacity needs a `capacity:` block, e.g. `capacity: {{ start: 500/s, \
             factor: 1.5, max: 20000/s, step_duration: 5s }}`",
            profile.display_name()
        )));
    };
    let mut steps = Vec::new();
    let mut knee: Option<(f64, RunResult)> = None;
    let mut first_fail: Option<(f64, RunResult)> = None;
    let mut rate = c.start.0;
    // The ladder: bounded at 200 steps whatever the settings.
    for _ in 0..200 {
        if rate > c.max.0 {
            break;
        }
        let (step, r) = run_step(profile, target, opts, rate, false, c.step_duration).await?;
        notify(on_step.as_ref(), &steps, &step);
        let passed = step.passed;
        steps.push(step);
        if !passed {
            first_fail = Some((rate, r));
            break;
        }
        knee = Some((rate, r));
        rate = match c.factor {
            Some(f) if f > 1.0 => rate * f,
            _ => rate + c.step.0,
        };
    }
    // Bisection between the last pass and the first fail.
    let mut interval = None;
    if let (Some((lo0, _)), Some((hi0, _))) = (&knee, &first_fail) {
        let (mut lo, mut hi) = (*lo0, *hi0);
        for _ in 0..MAX_REFINE {
            if hi - lo <= 2.0 * RESOLUTION * (hi + lo) / 2.0 {
                break;
            }
            let mid = (lo + hi) / 2.0;
            let (step, r) = run_step(profile, target, opts, mid, true, c.step_duration).await?;
            notify(on_step.as_ref(), &steps, &step);
            let passed = step.passed;
            steps.push(step);
            if passed {
                lo = mid;
                knee = Some((mid, r));
            } else {
                hi = mid;
            }
        }
        interval = Some([lo, hi]);
    }
    let report = CapacityReport {
        knee: knee.as_ref().map(|(k, _)| *k),
        interval,
        max_rate: c.max.0,
        steps,
        step_duration_s: c.step_duration.as_secs_f64(),
    };
    let Some(run) = knee.map(|(_, r)| r).or(first_fail.map(|(_, r)| r)) else {
        return Err(Error::Profile(
            "capacity.start is above capacity.max: no step ran".into(),
        ));
    };
    Ok((report, run))
}

fn notify(f: Option<&StepFn>, steps: &[CapacityStep], step: &CapacityStep) {
    if let Some(f) = f {
        f(steps.len() + 1, step);
    }
}

/// Runs one step at `rate` and judges it.
async fn run_step(
    profile: &LoadProfile,
    target: &LoadTarget,
    opts: &RunOptions,
    rate: f64,
    refine: bool,
    duration: std::time::Duration,
) -> Result<(CapacityStep, RunResult)> {
    let mut p = profile.clone();
    p.rate = Some(Rate(rate));
    p.stages.clear();
    p.start_rate = None;
    p.duration = Some(duration);
    // A `rate >= …` floor is written for the profile's own rate; at a lower step it would
    // fail for no fault of the gateway. Each step is held to its own asked rate instead
    // (below). Ceilings (`rate <= …`) still apply.
    let keep = |t: &Threshold| !(t.metric == Metric::Rate && matches!(t.op, Op::Ge | Op::Gt));
    p.thresholds.retain(keep);
    for s in &mut p.scenarios {
        s.thresholds.retain(keep);
    }
    let mut o = opts.clone();
    o.label = Some(format!(
        "{} @ {}/s{}",
        profile.display_name(),
        crate::verdict::thousands(rate),
        if refine { " (refining)" } else { "" }
    ));
    let r = Box::pin(run(&p, target, &o)).await?;
    let main = r.merged_main();
    let st = main.stats(r.seconds());
    // Successful answers per second of the run as measured: the planned window, or longer
    // when arrivals due in it were only sent (and answered) in the grace after it. Dividing
    // by the planned window alone would credit a step that fell behind with a rate the
    // gateway never served (675/s "achieved" at a 500/s knee). What was never answered
    // (dropped, failed, cancelled at the end of the grace) is held against the step.
    let window = r.seconds().max(duration.as_secs_f64()).max(1e-9);
    let achieved = (st.count - st.errors) as f64 / window;
    let verdict = crate::verdict::Verdict::of(&r);
    let mut missed: Vec<String> = r
        .all_thresholds()
        .iter()
        .filter(|t| !t.passed)
        .map(|t| format!("{} (was {})", t.expr, t.actual_display))
        .collect();
    missed.extend(verdict.reasons.iter().filter(|_| !verdict.passed).cloned());
    if achieved < MIN_ACHIEVED * rate {
        missed.push(format!(
            "achieved {achieved:.0}/s < {:.0}% of {rate:.0}/s",
            MIN_ACHIEVED * 100.0
        ));
    }
    let passed = missed.is_empty();
    tracing::info!(rate, achieved, passed, "capacity step");
    Ok((
        CapacityStep {
            rate,
            achieved_rate: achieved,
            p99_us: st.corrected.p99,
            p50_us: st.corrected.p50,
            error_rate: st.error_rate(),
            passed,
            missed,
            refine,
        },
        r,
    ))
}
