//! `bearing conform --rerun-failed PREV/summary.json` (issue 17, point 2): the cases that
//! failed or errored in a previous run, provided it ran the same suites with the same
//! profile; the new summary records the run it continues ([`Continues`]).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::run::{RunFolder, RunKind};

/// The run a re-run continues (recorded in the new summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continues {
    /// The previous run's `summary.json`.
    pub summary: String,
    /// Its start time.
    pub started_at: String,
    /// The cases re-run (failed or errored there).
    pub cases: Vec<String>,
}

/// The previous run, read and checked.
#[derive(Debug, Clone)]
pub struct Previous {
    /// What the new summary records.
    pub continues: Continues,
    /// Its suites.
    pub suites: Vec<String>,
    /// Its profile.
    pub profile: String,
}

impl Previous {
    /// Reads a previous conform run and lists its failed and errored cases.
    ///
    /// # Errors
    /// Bad input: unreadable, not a conform summary, or nothing failed.
    pub fn load(path: &Path) -> Result<Self> {
        let run = RunFolder::open(path)?;
        if run.kind != RunKind::Conform {
            return Err(Error::invalid(
                run.file.display(),
                format!(
                    "is a {} summary; --rerun-failed takes a conform summary",
                    run.kind.as_str()
                ),
            ));
        }
        let s = &run.summary;
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .into_iter()
                .flatten()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        };
        let cases: Vec<String> = s["cases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| matches!(c["outcome"].as_str(), Some("fail" | "error")))
            .filter_map(|c| c["id"].as_str().map(str::to_owned))
            .collect();
        if cases.is_empty() {
            return Err(Error::invalid(
                run.file.display(),
                "no case failed or errored in that run: nothing to re-run",
            ));
        }
        Ok(Self {
            continues: Continues {
                summary: run.file.display().to_string(),
                started_at: run.str_at("/started_at").unwrap_or_default().to_owned(),
                cases,
            },
            suites: strings(&s["suites"]),
            profile: run.str_at("/profile").unwrap_or_default().to_owned(),
        })
    }

    /// Checks this run uses the same suites and profile.
    ///
    /// # Errors
    /// [`Error::Mismatch`] saying what differs.
    pub fn check_same(&self, suites: &[String], profile: &str) -> Result<()> {
        let mut problems = Vec::new();
        if self.profile != profile {
            problems.push(format!(
                "profile {profile:?} but the previous run used {:?} (pass --profile {})",
                self.profile, self.profile
            ));
        }
        let mut a = self.suites.clone();
        let mut b = suites.to_vec();
        a.sort();
        b.sort();
        if a != b {
            let missing: Vec<_> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
            let extra: Vec<_> = b.iter().filter(|x| !a.contains(x)).cloned().collect();
            problems.push(format!(
                "suites differ from the previous run (missing: [{}]; not in it: [{}])",
                missing.join(", "),
                extra.join(", ")
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::Mismatch(format!(
                "--rerun-failed {}: {}",
                self.continues.summary,
                problems.join("; ")
            )))
        }
    }
}
