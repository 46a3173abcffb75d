//! The verdict of a run: its thresholds, and what makes a run not PASS whatever its
//! thresholds say (issues 18 and 21):
//!
//! - nothing completed, or every request failed;
//! - the error rate exceeds [`DEFAULT_MAX_ERROR_RATE`] when the profile sets no `error_rate`
//!   (or `errors`) threshold of its own;
//! - the generator offered less than [`MIN_OFFERED`] of the arrivals the profile asked for
//!   (its own limit: signing, an assertion pool that ran dry, too few users for the latency,
//!   CPU), unless the profile says `allow_underrun: true`. The results then describe the
//!   rate that was offered, not the one asked for.
//!
//! It also counts what did not run: arrivals never started (dropped, like k6's
//! `dropped_iterations`) and requests cancelled at the end of the grace.

use serde::{Deserialize, Serialize};

use crate::result::{RunResult, ScenarioResult};
use bearing_report::expect::{ExpectList, ExpectReport, Seen};

use crate::threshold::{Metric, Threshold, ThresholdResult};

/// Error rate above which a run fails when its profile sets no error threshold of its own.
pub const DEFAULT_MAX_ERROR_RATE: f64 = 0.01;

/// The expression of the default error guard.
pub const DEFAULT_ERROR_GUARD: &str = "error_rate < 1%";

/// Share of the planned arrivals the generator must start, and of the asked rate it must
/// offer over the measured window, for its results to describe the asked rate.
pub const MIN_OFFERED: f64 = 0.95;

/// One scenario whose generator offered less than asked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Underrun {
    /// The scenario.
    pub scenario: String,
    /// Arrival rate asked for, per s.
    pub asked_rate: f64,
    /// Arrivals started per second of the measured window.
    pub offered_rate: f64,
    /// Arrivals planned.
    pub planned: u64,
    /// Arrivals started.
    pub started: u64,
    /// The cause bearing can see (signing, the pool, too few users for the latency, CPU).
    pub cause: String,
}

/// Why a run passed or not, beyond its own thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the run passed: thresholds held, something completed and not everything
    /// failed, the default error guard (if applied) held, and no unallowed underrun.
    pub passed: bool,
    /// Whether every threshold of the profile held.
    pub thresholds_passed: bool,
    /// Why the run did not pass, besides missed thresholds (empty when it passed).
    pub reasons: Vec<String>,
    /// The default error guard, when the profile sets no error threshold of its own.
    pub error_guard: Option<ThresholdResult>,
    /// Scenarios whose generator offered less than [`MIN_OFFERED`] of the asked arrivals.
    pub generator_limited: Vec<Underrun>,
    /// Whether the profile accepts an underrun (`allow_underrun: true`).
    pub allow_underrun: bool,
    /// Planned arrivals never started, over all scenarios (k6's `dropped_iterations`).
    pub dropped: u64,
    /// Requests in flight at the end of the grace, cancelled (counted as `cancelled` errors).
    pub cancelled: u64,
    /// The grace after the planned duration, s: late arrivals may start until it ends, then
    /// requests in flight are cancelled.
    pub grace_s: f64,
}

impl Verdict {
    /// The verdict of `r`.
    pub fn of(r: &RunResult) -> Self {
        Self::judge(r, None)
    }

    /// The verdict of `r` with an `--expect-fail` list applied (issue 17): a listed
    /// threshold that missed does not fail the run; a listed one that held does (the list
    /// must not go stale).
    pub fn judge(r: &RunResult, expected: Option<&ExpectReport>) -> Self {
        let excused = |t: &ThresholdResult| {
            expected.is_some_and(|x| {
                x.entries.iter().any(|e| {
                    e.status == bearing_report::expect::Status::ExpectedFailure && t.is_named(&e.id)
                })
            })
        };
        let seconds = r.seconds();
        let thresholds_passed = r.all_thresholds().iter().all(|t| t.passed || excused(t));
        let mut reasons = Vec::new();
        let main = r.merged_main().stats(seconds);
        if main.count == 0 {
            reasons.push("no request completed".to_owned());
        } else if main.ok == 0 {
            reasons.push(format!(
                "every request failed ({} of {})",
                main.errors, main.count
            ));
        }
        let has_error_threshold = r
            .profile
            .thresholds
            .iter()
            .chain(r.profile.scenarios.iter().flat_map(|s| &s.thresholds))
            .any(|t| matches!(t.metric, Metric::ErrorRate | Metric::Errors));
        let error_guard = (!has_error_threshold).then(|| {
            let t: Threshold = DEFAULT_ERROR_GUARD
                .parse()
                .expect("the default guard parses");
            t.evaluate(&main, "run (default guard)")
        });
        if let Some(g) = error_guard.as_ref().filter(|g| !g.passed) {
            reasons.push(format!(
                "error rate {} exceeds the default guard ({DEFAULT_ERROR_GUARD}; set an \
                 error_rate threshold in the profile to choose another)",
                g.actual_display
            ));
        }
        let generator_limited: Vec<Underrun> = r
            .scenarios
            .iter()
            .filter_map(|s| underrun(s, seconds))
            .collect();
        let allow_underrun = r.profile.allow_underrun;
        for u in &generator_limited {
            reasons.push(format!(
                "{}{}",
                underrun_line(u),
                if allow_underrun {
                    " (allowed by allow_underrun: true)"
                } else {
                    ""
                }
            ));
        }
        let dropped = r
            .scenarios
            .iter()
            .filter_map(|s| s.planned.map(|p| p.saturating_sub(s.started)))
            .sum();
        let cancelled = r
            .scenarios
            .iter()
            .flat_map(|s| &s.phases)
            .map(|p| p.errors_by_kind.get("cancelled").copied().unwrap_or(0))
            .sum();
        for e in expected.iter().flat_map(|x| x.stale()) {
            reasons.push(format!(
                "{}: expected failure now passes — remove it from {}",
                e.id,
                expected.map_or("", |x| x.file.as_str())
            ));
        }
        let stale = expected.is_some_and(|x| x.stale().next().is_some());
        let blocking = stale
            || main.count == 0
            || main.ok == 0
            || error_guard.as_ref().is_some_and(|g| !g.passed)
            || (!generator_limited.is_empty() && !allow_underrun);
        if allow_underrun && !blocking && thresholds_passed {
            reasons.clear();
        }
        Self {
            passed: thresholds_passed && !blocking,
            thresholds_passed,
            reasons,
            error_guard,
            generator_limited,
            allow_underrun,
            dropped,
            cancelled,
            grace_s: crate::scenario::LATE_GRACE.as_secs_f64(),
        }
    }
}

impl RunResult {
    /// Whether the run passed: every threshold (run and scenarios) held and nothing in its
    /// [`Verdict`] blocks it (every request failed, the default
    /// error guard, an underrun).
    pub fn passed(&self) -> bool {
        Verdict::of(self).passed
    }
}

/// Applies an `--expect-fail` list to `r`'s thresholds: an id whose thresholds all held
/// passed, one with a missed threshold failed; `today` is `YYYY-MM-DD`.
pub fn apply_expected(r: &RunResult, list: &ExpectList, today: &str) -> ExpectReport {
    let all = r.all_thresholds();
    list.apply(
        |id| {
            let named: Vec<_> = all.iter().filter(|t| t.is_named(id)).collect();
            if named.is_empty() {
                Seen::NotRun
            } else if named.iter().all(|t| t.passed) {
                Seen::Passed
            } else {
                Seen::Failed
            }
        },
        today,
    )
}

/// The line printed at the top of the output for an underrun.
pub fn underrun_line(u: &Underrun) -> String {
    format!(
        "generator-limited: {}: offered {}/s of {}/s asked ({} of {} planned arrivals started); \
         results describe {}/s; cause: {}",
        u.scenario,
        thousands(u.offered_rate),
        thousands(u.asked_rate),
        u.started,
        u.planned,
        thousands(u.offered_rate),
        u.cause
    )
}

/// `15890.4` → `15,890`.
pub fn thousands(v: f64) -> String {
    let n = v.round().max(0.0) as u64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn underrun(s: &ScenarioResult, seconds: f64) -> Option<Underrun> {
    let planned = s.planned?;
    let asked = s.target_rate?;
    let offered = s.started as f64 / seconds.max(1e-9);
    // Either test catches it: arrivals never started, or started so late (in the grace
    // after the deadline) that the rate offered over the measured window fell short.
    if planned == 0
        || (s.started as f64 >= MIN_OFFERED * planned as f64 && offered >= MIN_OFFERED * asked)
    {
        return None;
    }
    let main = s.phase_stats(s.spec.kind.main_phase(), seconds);
    let no_assertion = main
        .errors_by_kind
        .get("no_assertion")
        .copied()
        .unwrap_or(0);
    // Little's law: with every user busy for the mean latency, the users can start at most
    // users / latency per second.
    let mean_s = main.uncorrected.mean / 1e6;
    let users_cap = if mean_s > 0.0 {
        s.users as f64 / mean_s
    } else {
        f64::INFINITY
    };
    let cause = match &s.signing {
        Some(sg) if sg.limited => format!(
            "signing: assertions were {} at {}/s",
            if sg.mode == "pool" {
                "minted"
            } else {
                "signed"
            },
            thousands(sg.signing_rate)
        ),
        Some(sg) if no_assertion > 0 || (sg.mode == "pool" && sg.waits > 0) => format!(
            "the assertion pool ran dry ({no_assertion} requests without an assertion, {} waits)",
            sg.waits
        ),
        _ if users_cap < asked * MIN_OFFERED => format!(
            "too few users for the latency: {} users / mean {} = at most {}/s",
            s.users,
            crate::threshold::fmt_us(main.uncorrected.mean),
            thousands(users_cap)
        ),
        _ => "the generator fell behind its schedule (CPU: the generator shares this \
              machine's cores; try --threads or more shards)"
            .to_owned(),
    };
    Some(Underrun {
        scenario: s.spec.name.clone(),
        asked_rate: asked,
        offered_rate: offered,
        planned,
        started: s.started,
        cause,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(15_890.4), "15,890");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
    }
}
