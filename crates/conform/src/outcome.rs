//! What a run produced: per case an [`CaseOutcome`] — pass, fail (an expectation was false), warn
//! (a SHOULD/MAY/PRACTICE expectation was false), error (the case could not run), skip (not
//! applicable, or needs a control the target lacks) — with the reason, the findings and the
//! HTTP exchanges (secrets redacted). Failure and error stay apart everywhere (STYLE.md, hurl).

use std::time::Duration;

use serde::Serialize;

use crate::http::Exchange;
use crate::model::{Category, Level};

/// The outcome of one case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseOutcome {
    /// Every expectation held.
    Pass,
    /// A binding (MUST/CONFIG) expectation was false.
    Fail,
    /// Only non-binding (SHOULD/MAY/PRACTICE) expectations were false.
    Warn,
    /// The case could not run (network error, timeout, setup failure).
    Error,
    /// The case does not apply (profile, missing admin API, plain HTTP target).
    Skip,
}

impl CaseOutcome {
    /// Every outcome, in report order.
    pub const ALL: [CaseOutcome; 5] = [Self::Pass, Self::Fail, Self::Warn, Self::Error, Self::Skip];

    /// The name used in reports (`pass`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
            Self::Error => "error",
            Self::Skip => "skip",
        }
    }
}

impl std::fmt::Display for CaseOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The step it belongs to (1-based).
    pub step: usize,
    /// Whether it held.
    pub passed: bool,
    /// Whether a miss fails the case (otherwise it warns).
    pub binding: bool,
    /// What was checked and what was seen.
    pub message: String,
}

/// The result of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// The catalog id.
    pub id: String,
    /// The case's title.
    pub title: String,
    /// The catalog category.
    pub category: Category,
    /// The requirement level.
    pub level: Level,
    /// The spec citation.
    pub citation: String,
    /// The outcome.
    pub outcome: CaseOutcome,
    /// Why (the first failed expectation, the error, the skip reason); empty on a pass.
    pub reason: String,
    /// Wall time of the case.
    #[serde(serialize_with = "ser_millis", rename = "duration_ms")]
    pub duration: Duration,
    /// Every checked expectation.
    pub findings: Vec<Finding>,
    /// The HTTP exchanges, redacted and truncated.
    pub exchanges: Vec<Exchange>,
}

fn ser_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0)
}

impl CaseResult {
    /// Derives the outcome from findings: a failed binding finding fails, a failed
    /// non-binding one warns.
    pub fn outcome_of(findings: &[Finding]) -> (CaseOutcome, String) {
        if let Some(f) = findings.iter().find(|f| !f.passed && f.binding) {
            return (CaseOutcome::Fail, format!("step {}: {}", f.step, f.message));
        }
        if let Some(f) = findings.iter().find(|f| !f.passed) {
            return (CaseOutcome::Warn, format!("step {}: {}", f.step, f.message));
        }
        (CaseOutcome::Pass, String::new())
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Passed cases.
    pub pass: usize,
    /// Failed cases.
    pub fail: usize,
    /// Cases with warnings.
    pub warn: usize,
    /// Cases that could not run.
    pub error: usize,
    /// Skipped cases.
    pub skip: usize,
}

impl Counts {
    /// Counts the outcomes of `results`.
    pub fn of<'a>(results: impl IntoIterator<Item = &'a CaseResult>) -> Self {
        let mut c = Self::default();
        for r in results {
            c.add(r.outcome);
        }
        c
    }

    /// Adds one outcome.
    pub fn add(&mut self, o: CaseOutcome) {
        match o {
            CaseOutcome::Pass => self.pass += 1,
            CaseOutcome::Fail => self.fail += 1,
            CaseOutcome::Warn => self.warn += 1,
            CaseOutcome::Error => self.error += 1,
            CaseOutcome::Skip => self.skip += 1,
        }
    }

    /// The count for one outcome.
    pub fn get(&self, o: CaseOutcome) -> usize {
        match o {
            CaseOutcome::Pass => self.pass,
            CaseOutcome::Fail => self.fail,
            CaseOutcome::Warn => self.warn,
            CaseOutcome::Error => self.error,
            CaseOutcome::Skip => self.skip,
        }
    }

    /// The total.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.error + self.skip
    }
}

/// What a run was pointed at (no secrets: the key path is not even named).
#[derive(Debug, Clone, Serialize)]
pub struct RunTarget {
    /// The token endpoint.
    pub token_url: String,
    /// The client id.
    pub client_id: String,
    /// Whether it is the embedded sandbox (or another bearing sandbox with an admin API).
    pub sandbox: bool,
}

/// A whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// bearing's version.
    pub tool_version: String,
    /// RFC 3339 start time (UTC).
    pub started_at: String,
    /// Wall time of the run.
    #[serde(serialize_with = "ser_millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The target.
    pub target: RunTarget,
    /// The profile expectations were read from.
    pub profile: String,
    /// The suites that ran.
    pub suites: Vec<String>,
    /// Counts per outcome.
    pub counts: Counts,
    /// Per case, in suite order.
    pub cases: Vec<CaseResult>,
    /// `--expect-fail FILE` as applied to this run (issue 17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_failures: Option<bearing_report::expect::ExpectReport>,
    /// `--rerun-failed PREV`: the run this one continues (issue 17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub continues: Option<bearing_report::Continues>,
}

impl RunSummary {
    /// Whether every case passed, warned, was skipped or failed as expected (exit code 0).
    pub fn is_success(&self) -> bool {
        self.unexpected_failures() == 0
    }

    /// Failed and errored cases that `--expect-fail` does not list.
    pub fn unexpected_failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, CaseOutcome::Fail | CaseOutcome::Error))
            .filter(|c| self.expected_failure(&c.id).is_none())
            .count()
    }

    /// The `--expect-fail` entry that makes case `id`'s failure an expected one.
    pub fn expected_failure(&self, id: &str) -> Option<&bearing_report::expect::Applied> {
        self.expected_failures.as_ref()?.expected(id)
    }

    /// Applies an `--expect-fail` list (fail/error = failed, pass/warn = passed, skip or
    /// absent = not run) and records it in the summary.
    pub fn apply_expected(&mut self, list: &bearing_report::expect::ExpectList, today: &str) {
        use bearing_report::expect::Seen;
        let report = list.apply(
            |id| match self.cases.iter().find(|c| c.id == id).map(|c| c.outcome) {
                Some(CaseOutcome::Fail | CaseOutcome::Error) => Seen::Failed,
                Some(CaseOutcome::Pass | CaseOutcome::Warn) => Seen::Passed,
                Some(CaseOutcome::Skip) | None => Seen::NotRun,
            },
            today,
        );
        self.expected_failures = Some(report);
    }
}
