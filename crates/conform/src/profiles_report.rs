//! Runs of the same suites under several gateway profiles (`bearing conform --profile A
//! --profile B …`): running them one after the other against one target, writing their
//! reports (the judged profile's in the folder, the others' under `profiles/NAME/`), and
//! presenting them together as one JSON document or one terminal report with the
//! case × profile table. The CLI decides the exit code from the judged run.

use std::io::{self, Write};
use std::path::Path;
use std::sync::Arc;

use bearing_auth::{GatewayProfile, Target};

use crate::report::terminal::{Progress, TableOptions};
use crate::{Result, RunConfig, RunSummary, RunTargetSpec, Suite, report};

/// Runs `suites` against `target` once per profile, the judged (first) one first; stops at
/// the first run that could not run. `progress` makes each run's progress display.
///
/// # Errors
/// The first run that could not run.
pub async fn run_profiles(
    suites: &[Suite],
    target: &Target,
    second: Option<&Target>,
    profiles: Vec<GatewayProfile>,
    config: &RunConfig,
    progress: impl Fn() -> Progress,
) -> Result<Vec<RunSummary>> {
    let mut summaries = Vec::new();
    for profile in profiles {
        let p = progress();
        let spec = RunTargetSpec {
            target: target.clone(),
            profile,
            second: second.cloned(),
        };
        let result = crate::run(suites, spec, config.clone(), Arc::new(p.clone())).await;
        p.finish();
        summaries.push(result?);
    }
    Ok(summaries)
}

/// The folder under `profiles/` for a profile's reports (its name, or a file path made safe).
pub fn profile_folder(profile: &str) -> String {
    profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes the judged run's reports into `dir` and each other run's into
/// `dir/profiles/NAME/`.
///
/// # Errors
/// A report could not be written.
pub fn write_profile_reports(judged: &RunSummary, others: &[RunSummary], dir: &Path) -> Result<()> {
    report::write_all(judged, dir)?;
    for s in others {
        report::write_all(s, &dir.join("profiles").join(profile_folder(&s.profile)))?;
    }
    Ok(())
}

/// The JSON document of a conform run: the judged summary, or with other profiles
/// `{judged_by, summaries}`; with `report_dir` and `tls_insecure` when they apply.
///
/// # Errors
/// A summary that does not serialise.
pub fn runs_json(
    judged: &RunSummary,
    others: &[RunSummary],
    report_dir: Option<&Path>,
    insecure: bool,
) -> serde_json::Result<serde_json::Value> {
    let mut v = serde_json::to_value(judged)?;
    if !others.is_empty() {
        let mut all = vec![v];
        for s in others {
            all.push(serde_json::to_value(s)?);
        }
        v = serde_json::json!({ "judged_by": judged.profile, "summaries": all });
    }
    if let (Some(d), Some(obj)) = (report_dir, v.as_object_mut()) {
        obj.insert("report_dir".into(), d.display().to_string().into());
    }
    if let (true, Some(obj)) = (insecure, v.as_object_mut()) {
        obj.insert("tls_insecure".into(), true.into());
    }
    Ok(v)
}

/// Writes the terminal report of a conform run: the judged run's table, the case × profile
/// comparison when there are other profiles, and where the reports are.
///
/// # Errors
/// A write error.
pub fn write_runs_text(
    judged: &RunSummary,
    others: &[RunSummary],
    options: TableOptions,
    report_dir: Option<&Path>,
    out: &mut impl Write,
) -> io::Result<()> {
    let all_cases = options.all_cases;
    report::terminal::write_table(judged, &mut *out, options)?;
    if !others.is_empty() {
        let all: Vec<_> = std::iter::once(judged).chain(others).cloned().collect();
        writeln!(out)?;
        report::compare::write_compare(&all, &mut *out, all_cases)?;
    }
    if let Some(d) = report_dir {
        writeln!(out, "reports: {}", d.join("report.html").display())?;
        if !others.is_empty() {
            writeln!(
                out,
                "the other profiles' reports: {}",
                d.join("profiles").display()
            )?;
        }
    }
    Ok(())
}

/// How the judged run of `bearing conform` ended, expected failures taken into account:
/// the CLI maps it to its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Judgement {
    /// Every binding case passed (or failed as expected).
    Passed,
    /// A case failed unexpectedly, or an expected failure is stale (it passes now).
    Failed,
    /// No case failed, but a case could not run.
    CouldNotRun,
}

impl RunSummary {
    /// The [`Judgement`] of this run.
    pub fn judgement(&self) -> Judgement {
        let stale = self
            .expected_failures
            .as_ref()
            .is_some_and(|x| x.stale().next().is_some());
        let unexpected: Vec<_> = self
            .cases
            .iter()
            .filter(|c| self.expected_failure(&c.id).is_none())
            .collect();
        if stale
            || unexpected
                .iter()
                .any(|c| c.outcome == crate::CaseOutcome::Fail)
        {
            Judgement::Failed
        } else if unexpected
            .iter()
            .any(|c| c.outcome == crate::CaseOutcome::Error)
        {
            Judgement::CouldNotRun
        } else {
            Judgement::Passed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shipped names stay as they are; a file path becomes one safe folder name.
    #[test]
    fn folder_names() {
        assert_eq!(profile_folder("rfc-strict"), "rfc-strict");
        assert_eq!(
            profile_folder("../my profiles/x.yaml"),
            "___my_profiles_x_yaml"
        );
    }
}
