//! The `bearing load` operation (issue 13: the CLI parses flags, the library does the work):
//! [`LoadSettings`] in, a checked [`LoadSession`] (profile, `--expect-fail` list, report
//! folder, bundle), the run or the capacity search, and a [`LoadFinished`] with the summary
//! to print and the [`LoadVerdict`] the exit code follows. Progress goes to the caller's
//! [`LoadObserver`]; errors are typed ([`LoadRunError`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bearing_auth::Target;
use bearing_report::bundle::Manifest;
use bearing_report::{EvidenceError, EvidenceSettings, ExpectList, StagedRun};

use crate::capacity::StepFn;
use crate::live::LiveMetrics;
use crate::report::summary::Reach;
use crate::{
    CapacityReport, Error, LoadProfile, LoadSummary, LoadTarget, ProgressFn, RunOptions, RunResult,
    report,
};

/// What `bearing load` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct LoadSettings {
    /// A profile file, or a bundled profile's name.
    pub profile: PathBuf,
    /// The report folder (default: reports/<UTC timestamp>-<profile name>[-shardIofN]/).
    pub report_dir: Option<PathBuf>,
    /// Shard i of N.
    pub shard: Option<(u32, u32)>,
    /// Step the rate up until a threshold is missed.
    pub find_capacity: bool,
    /// Worker threads for the users.
    pub threads: Option<usize>,
    /// Replaces the profile's duration (and drops its stages).
    pub duration: Option<Duration>,
    /// Known deviations.
    pub expect_fail: Option<PathBuf>,
    /// How the clock starts (barrier or instant).
    pub start: Option<crate::barrier::Start>,
    /// Report folder and bundle.
    pub evidence: EvidenceSettings,
}

/// Where a run's progress goes (the CLI draws it; the library never prints).
#[derive(Clone, Default)]
pub struct LoadObserver {
    /// The live progress of a run.
    pub progress: Option<ProgressFn>,
    /// Each step of a capacity search.
    pub on_step: Option<StepFn>,
    /// Live Prometheus metrics ([`serve_metrics`]).
    pub metrics: Option<Arc<LiveMetrics>>,
}

/// Why `bearing load` stopped.
#[derive(Debug, thiserror::Error)]
pub enum LoadRunError {
    /// Bad input named by its flag or value: exit 2.
    #[error("{0}")]
    Input(String),
    /// The profile, thresholds or run failed; its kind decides.
    #[error(transparent)]
    Load(Error),
    /// The target could not be turned into a load target.
    #[error("preparing the target")]
    Target(#[source] Error),
    /// The report folder, bundle or `--expect-fail` list.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// `--metrics-listen` could not bind.
    #[error("--metrics-listen {addr}: cannot listen")]
    Metrics {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The report could not be written; the cause (load or evidence) follows.
    #[error("writing the report into {}", dir.display())]
    Write {
        /// The report folder.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// `bearing report merge --out` is one of the shards.
    #[error("--out {} is one of the shard directories: the merge would overwrite {}", .out.display(), .shard.display())]
    MergeOverShard {
        /// `--out`.
        out: PathBuf,
        /// The shard it would overwrite.
        shard: PathBuf,
    },
    /// The merged report could not be written.
    #[error("writing the merged report into {}", .0.display())]
    MergeWrite(PathBuf, #[source] Error),
    /// Every request failed to connect.
    #[error(
        "could not reach the gateway at {target}: all {requests} requests failed to connect (report in {})",
        dir.display()
    )]
    Unreachable {
        /// The target URL as the summary names it.
        target: String,
        /// The requests that failed.
        requests: u64,
        /// The report folder.
        dir: PathBuf,
    },
}

/// How a finished run is judged (the exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadVerdict {
    /// Thresholds held (a capacity search: a knee was found).
    Passed,
    /// A threshold was missed.
    Failed,
    /// A shard missed a threshold on its share: informative, `bearing report merge` judges.
    ShardInformative(u32, u32),
}

/// The stderr line of one step of a capacity search (`step 3 (bisection): 800/s → …`).
pub fn capacity_step_line(i: usize, st: &crate::capacity::CapacityStep) -> String {
    format!(
        "step {i}{}: {:.0}/s → achieved {:.0}/s, p50 {}, p99 {}: {}",
        if st.refine { " (bisection)" } else { "" },
        st.rate,
        st.achieved_rate,
        crate::threshold::fmt_us(st.p50_us as f64),
        crate::threshold::fmt_us(st.p99_us as f64),
        if st.passed { "pass" } else { "FAIL" }
    )
}

/// Binds `addr` and serves live metrics of the run there; returns them and the bound address.
///
/// # Errors
/// [`LoadRunError::Metrics`] when the address cannot be bound.
pub async fn serve_metrics(
    addr: SocketAddr,
    shard: Option<(u32, u32)>,
) -> Result<(Arc<LiveMetrics>, SocketAddr), LoadRunError> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| LoadRunError::Metrics { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let live = LiveMetrics::new(shard);
    tokio::spawn(Arc::clone(&live).serve(listener));
    Ok((live, bound))
}

/// The profile named on the command line: a file, or a bundled profile's name.
///
/// # Errors
/// Neither a file nor a bundled name (input), or the profile's own errors.
pub fn resolve_profile(arg: &Path) -> Result<LoadProfile, LoadRunError> {
    let name = arg.to_str().filter(|s| !s.contains(['/', '.']));
    if !arg.exists()
        && let Some(name) = name
    {
        return match LoadProfile::bundled(name) {
            Some(p) => p.map_err(LoadRunError::Load),
            None => Err(LoadRunError::Input(format!(
                "no load profile {name:?}: not a file, nor a bundled profile ({})",
                crate::profile::BUNDLED.map(|(n, _)| n).join(", ")
            ))),
        };
    }
    LoadProfile::from_file(arg).map_err(LoadRunError::Load)
}

/// A checked `bearing load`: nothing has run yet.
#[derive(Debug)]
pub struct LoadSession {
    settings: LoadSettings,
    profile: LoadProfile,
    expect: Option<ExpectList>,
    dir: PathBuf,
    staged: StagedRun,
}

impl LoadSession {
    /// Reads the profile, applies `duration`, checks the `--expect-fail` list, the report
    /// folder, bundle and key (issue 21: before anything runs).
    ///
    /// # Errors
    /// Bad profile, list, folder, bundle or key.
    pub fn prepare(settings: LoadSettings) -> Result<Self, LoadRunError> {
        let mut profile = resolve_profile(&settings.profile)?;
        if let Some(d) = settings.duration {
            profile.duration = Some(d);
            profile.stages.clear();
            profile.start_rate = None;
            profile
                .validate()
                .map_err(|m| LoadRunError::Input(format!("--duration: {m}")))?;
        }
        let ids = crate::threshold::ids(&profile);
        let expect = bearing_report::expect_list(
            settings.expect_fail.as_deref(),
            ids.iter().map(String::as_str),
        )?;
        let dir = match &settings.report_dir {
            Some(d) => d.clone(),
            None => {
                let mut name = profile.display_name().to_owned();
                if let Some((i, n)) = settings.shard {
                    name.push_str(&format!("-shard{i}of{n}"));
                }
                report::default_dir(Path::new("reports"), &name, SystemTime::now())
            }
        };
        let staged = bearing_report::prepare_run(Some(&dir), &settings.evidence)?;
        Ok(Self {
            settings,
            profile,
            expect,
            dir,
            staged,
        })
    }

    /// The profile (after `duration`).
    pub fn profile(&self) -> &LoadProfile {
        &self.profile
    }

    /// Runs the profile (or the capacity search) against `target`.
    ///
    /// # Errors
    /// The target cannot be used, the run could not start or failed.
    pub async fn run(
        &self,
        target: &Target,
        observer: LoadObserver,
    ) -> Result<(RunResult, Option<CapacityReport>), LoadRunError> {
        let s = &self.settings;
        let load_target = LoadTarget::from_target(target, &crate::run::jti_prefix(s.shard))
            .map_err(LoadRunError::Target)?;
        let opts = RunOptions {
            shard: s.shard,
            worker_threads: s.threads,
            start: s.start.clone(),
            metrics: observer.metrics,
            progress: observer.progress,
            ..RunOptions::default()
        };
        let outcome = if s.find_capacity {
            crate::capacity::find_capacity_with(
                &self.profile,
                &load_target,
                &opts,
                observer.on_step,
            )
            .await
            .map(|(c, r)| (r, Some(c)))
        } else {
            Box::pin(crate::run(&self.profile, &load_target, &opts))
                .await
                .map(|r| (r, None))
        };
        outcome.map_err(LoadRunError::Load)
    }

    /// Judges the run and writes the report set; the summary is there to print whatever
    /// happened to the files (issue 21: nothing lost).
    pub fn finish(self, result: &RunResult, capacity: Option<CapacityReport>) -> LoadFinished {
        let expected = self
            .expect
            .as_ref()
            .map(|l| crate::verdict::apply_expected(result, l, &bearing_report::expect::today()));
        let mut summary = LoadSummary::judged(result, capacity, expected);
        let judged = summary.clone();
        let done = bearing_report::finish_run(self.staged, |p| {
            report::write_summary(result, judged, p).map(|w| summary = w.summary)
        });
        let (manifest, dir) = (done.manifest, self.dir.clone());
        let error = done.error.map(|source| LoadRunError::Write { dir, source });
        LoadFinished {
            summary,
            dir: self.dir,
            manifest,
            error,
            shard: self.settings.shard,
        }
    }
}

/// A finished run: the summary to print, where it went, and the verdict.
#[derive(Debug)]
pub struct LoadFinished {
    /// The judged summary.
    pub summary: LoadSummary,
    /// The report folder.
    pub dir: PathBuf,
    /// The bundle's manifest, when one was written.
    pub manifest: Option<Manifest>,
    error: Option<LoadRunError>,
    shard: Option<(u32, u32)>,
}

impl LoadFinished {
    /// The verdict the exit code follows.
    ///
    /// # Errors
    /// The report could not be written, or nothing reached the gateway.
    pub fn verdict(self) -> Result<LoadVerdict, LoadRunError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let s = &self.summary;
        if let Reach::Unreachable(requests) = s.reach() {
            return Err(LoadRunError::Unreachable {
                target: s.target.clone(),
                requests,
                dir: self.dir,
            });
        }
        // A capacity search passes when it found a knee (its report is the run at the knee).
        let passed = match &s.capacity {
            Some(c) => c.knee.is_some(),
            None => s.passed,
        };
        // A shard's thresholds judge its 1/N share: only `bearing report merge` decides
        // (exiting 1 would also make Kubernetes count the pod as failed, issue 8).
        Ok(match (self.shard, passed, &s.capacity) {
            (_, true, _) => LoadVerdict::Passed,
            (Some((i, n)), false, None) => LoadVerdict::ShardInformative(i, n),
            _ => LoadVerdict::Failed,
        })
    }
}

/// What `bearing report merge` got: the merged run and its written summary, or why the
/// shards were refused (every issue).
#[derive(Debug)]
pub enum MergeOutcome {
    /// Merged and written.
    Merged(Box<crate::Merged>, Box<LoadSummary>),
    /// Refused.
    Refused(crate::MergeError),
}

/// `bearing report merge`: merges the shard reports in `dirs` into `out`, judging the
/// thresholds on the overlap window or, with `whole_run`, on the whole run.
///
/// # Errors
/// `out` is one of the shards; the merged report cannot be written.
pub fn merge_shards(
    dirs: &[PathBuf],
    out: &Path,
    whole_run: bool,
) -> Result<MergeOutcome, LoadRunError> {
    if let Some(d) = crate::out_is_a_shard(dirs, out) {
        return Err(LoadRunError::MergeOverShard {
            out: out.to_owned(),
            shard: d.to_owned(),
        });
    }
    let judge = if whole_run {
        crate::merge::Judge::WholeRun
    } else {
        crate::merge::Judge::Overlap
    };
    let merged = match crate::merge::merge_judged(dirs, judge) {
        Ok(m) => m,
        Err(e) => return Ok(MergeOutcome::Refused(e)),
    };
    let written = crate::merge::write(&merged, out)
        .map_err(|e| LoadRunError::MergeWrite(out.to_owned(), e))?;
    Ok(MergeOutcome::Merged(
        Box::new(merged),
        Box::new(written.summary),
    ))
}
