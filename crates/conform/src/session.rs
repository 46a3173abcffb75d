//! The `bearing conform` operation (issue 13: the CLI parses flags, the library does the
//! work): [`ConformSettings`] in; suites, `--expect-fail` list, `--rerun-failed` run and
//! second target checked ([`ConformSession::prepare`]); the profiles, the TLS policy and
//! the report folder checked against the target ([`ConformSession::judge`]); the runs, one
//! per profile; the reports written ([`ConformSession::finish`]) into a [`ConformFinished`]
//! the CLI prints. Errors are typed ([`ConformRunError`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bearing_auth::{GatewayProfile, Target};
use bearing_report::bundle::Manifest;
use bearing_report::{EvidenceError, EvidenceSettings, ExpectList, Previous, StagedRun};

use crate::report::terminal::Progress;
use crate::{Error, RunConfig, RunSummary, Suite};

/// What `bearing conform` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ConformSettings {
    /// Suite files, folders or bundled names (every bundled suite when empty).
    pub suites: Vec<String>,
    /// Gateway profiles, the first judged (default: the target's, else rfc-strict).
    pub profiles: Vec<String>,
    /// The report folder (default reports/<UTC timestamp>-conform).
    pub report_dir: Option<PathBuf>,
    /// Write no report files.
    pub no_report: bool,
    /// A target file with a second registered identity.
    pub second_target: Option<PathBuf>,
    /// Only cases whose id equals or starts with one of these.
    pub only: Vec<String>,
    /// Cases run at once.
    pub concurrency: usize,
    /// Known deviations.
    pub expect_fail: Option<PathBuf>,
    /// A previous run whose failed cases are run again.
    pub rerun_failed: Option<PathBuf>,
    /// Report folder and bundle.
    pub evidence: EvidenceSettings,
    /// Give verdicts over unverified TLS.
    pub insecure_verdicts: bool,
    /// The token lifetime the embedded sandbox is judged with (when it is the target).
    pub sandbox_token_lifetime: Duration,
}

/// Why `bearing conform` stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConformRunError {
    /// Bad input named by its flag or value: exit 2.
    #[error("{0}")]
    Input(String),
    /// Suites, target or run; its kind decides.
    #[error(transparent)]
    Conform(#[from] Error),
    /// The report folder, bundle, lists or previous run.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    /// The second target file.
    #[error("--second-target {}", .0.display())]
    SecondTarget(PathBuf, #[source] bearing_auth::Error),
    /// The observed profile could not be serialised.
    #[error("writing the observed profile")]
    ObservedProfile(#[source] bearing_auth::Error),
    /// A file could not be written.
    #[error("writing {}", .0.display())]
    WriteFile(PathBuf, #[source] std::io::Error),
    /// The reports could not be written; the cause follows.
    #[error("writing reports")]
    Write(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A checked `bearing conform`.
#[derive(Debug)]
pub struct ConformSession {
    settings: ConformSettings,
    suites: Vec<Suite>,
    expect: Option<ExpectList>,
    previous: Option<Previous>,
    second: Option<Target>,
    profiles: Vec<GatewayProfile>,
    staged: Option<StagedRun>,
}

/// The gateway profile `name`; `origin` names where it was given.
fn resolve_profile(name: &str, origin: &str) -> Result<GatewayProfile, ConformRunError> {
    GatewayProfile::resolve(name).map_err(|e| ConformRunError::Input(format!("{origin}: {e}")))
}

impl ConformSession {
    /// Loads the suites, the `--expect-fail` list, the previous run and the second target.
    ///
    /// # Errors
    /// Bad suites, list, previous run or second target.
    pub fn prepare(settings: ConformSettings) -> Result<Self, ConformRunError> {
        let mut suites = crate::load_suites(&settings.suites)?;
        let expect = bearing_report::expect_list(
            settings.expect_fail.as_deref(),
            suites
                .iter()
                .flat_map(|s| s.cases.iter().map(|c| c.id.as_str()))
                .collect::<Vec<_>>(),
        )?;
        let previous = match &settings.rerun_failed {
            Some(p) => {
                let prev = Previous::load(p).map_err(EvidenceError::from)?;
                for s in &mut suites {
                    s.cases.retain(|c| prev.continues.cases.contains(&c.id));
                }
                Some(prev)
            }
            None => None,
        };
        let second = match &settings.second_target {
            Some(p) => Some(
                Target::from_file(p).map_err(|e| ConformRunError::SecondTarget(p.clone(), e))?,
            ),
            None => None,
        };
        Ok(Self {
            settings,
            suites,
            expect,
            previous,
            second,
            profiles: Vec::new(),
            staged: None,
        })
    }

    /// The profile the embedded sandbox behaves by.
    pub fn sandbox_profile(&self) -> String {
        let first = self.settings.profiles.first().cloned();
        first.unwrap_or_else(|| "rfc-strict".into())
    }

    /// Resolves the profiles for `target` (`None`: the embedded sandbox), applies the TLS
    /// policy and checks the report folder, bundle and key (issue 21: before any request).
    ///
    /// # Errors
    /// An unknown profile, unverified TLS without `insecure_verdicts`, a rerun with several
    /// profiles or of other suites, a bad report folder.
    pub fn judge(&mut self, target: Option<&Target>) -> Result<(), ConformRunError> {
        let s = &self.settings;
        let judged = match target {
            None => {
                let mut p = resolve_profile(&self.sandbox_profile(), "--profile")?;
                p.access_token_lifetime = s.sandbox_token_lifetime;
                p
            }
            Some(target) => {
                let origin = match (s.profiles.first(), &target.origin) {
                    (None, Some(file)) if target.profile.is_some() => {
                        format!("{}: profile", file.display())
                    }
                    _ => "--profile".to_owned(),
                };
                if target.tls.insecure && target.tls.pin_sha256.is_none() && !s.insecure_verdicts {
                    return Err(ConformRunError::Input(
                        "conform gives verdicts about a gateway; with --insecure (tls.insecure) \
                         bearing cannot tell it is talking to that gateway: set tls.pin_sha256 or \
                         tls.ca_bundle instead, or pass --insecure-verdicts to insist"
                            .into(),
                    ));
                }
                let name = s
                    .profiles
                    .first()
                    .cloned()
                    .or_else(|| target.profile.clone());
                resolve_profile(&name.unwrap_or_else(|| "rfc-strict".into()), &origin)?
            }
        };
        let mut profiles = vec![judged];
        // The other profiles (informative): the sandbox's shortened token lifetime is
        // bearing's own setting, not the gateway's, so it is carried over to them as well.
        for name in s.profiles.iter().skip(1) {
            let mut p = resolve_profile(name, "--profile")?;
            if target.is_none() {
                p.access_token_lifetime = s.sandbox_token_lifetime;
            }
            profiles.push(p);
        }
        if self.previous.is_some() && profiles.len() > 1 {
            return Err(ConformRunError::Input(
                "--rerun-failed takes one --profile (the run it continues)".into(),
            ));
        }
        if let Some(prev) = &self.previous {
            let names: Vec<String> = self.suites.iter().map(|s| s.suite.clone()).collect();
            prev.check_same(&names, &profiles[0].name)
                .map_err(EvidenceError::from)?;
        }
        let report_dir = (!s.no_report).then(|| {
            s.report_dir.clone().unwrap_or_else(|| {
                crate::report::default_dir(Path::new("reports"), std::time::SystemTime::now())
            })
        });
        self.staged = Some(bearing_report::prepare_run(
            report_dir.as_deref(),
            &s.evidence,
        )?);
        self.profiles = profiles;
        Ok(())
    }

    /// Runs the suites once per profile, the judged one first, against `target`.
    ///
    /// # Errors
    /// The run could not start.
    pub async fn run(
        &self,
        target: &Target,
        progress: impl Fn() -> Progress,
    ) -> Result<Vec<RunSummary>, ConformRunError> {
        let config = RunConfig {
            concurrency: self.settings.concurrency,
            only: self.settings.only.clone(),
            ..RunConfig::default()
        };
        Ok(crate::run_profiles(
            &self.suites,
            target,
            self.second.as_ref(),
            self.profiles.clone(),
            &config,
            progress,
        )
        .await?)
    }

    /// Applies the `--expect-fail` list and writes the reports; the summaries are there to
    /// print whatever happened to the files (issue 21: nothing lost).
    ///
    /// # Errors
    /// No case matched the filters.
    pub fn finish(
        self,
        mut summaries: Vec<RunSummary>,
    ) -> Result<ConformFinished, ConformRunError> {
        if summaries.first().is_none_or(|s| s.cases.is_empty()) {
            return Err(ConformRunError::Input(
                "no case matches the suites and --case filters given".into(),
            ));
        }
        if let Some(l) = &self.expect {
            for s in &mut summaries {
                s.apply_expected(l, &bearing_report::expect::today());
            }
        }
        let mut summary = summaries.remove(0);
        summary.continues = self.previous.map(|p| p.continues);
        let others = summaries;
        let done = self
            .staged
            .map(|st| {
                bearing_report::finish_run(st, |p| {
                    crate::write_profile_reports(&summary, &others, p)
                })
            })
            .unwrap_or_default();
        let (dir, manifest) = (done.dir, done.manifest);
        let error = done.error.map(ConformRunError::Write);
        Ok(ConformFinished {
            summary,
            others,
            dir,
            manifest,
            error,
        })
    }
}

/// Finished runs: the judged summary, the informative ones, where the reports went.
#[derive(Debug)]
pub struct ConformFinished {
    /// The judged profile's run.
    pub summary: RunSummary,
    /// The other profiles' runs.
    pub others: Vec<RunSummary>,
    /// The report folder, when written.
    pub dir: Option<PathBuf>,
    /// The bundle's manifest, when one was written.
    pub manifest: Option<Manifest>,
    error: Option<ConformRunError>,
}

impl ConformFinished {
    /// The judgement the exit code follows.
    ///
    /// # Errors
    /// The reports could not be written.
    pub fn judgement(self) -> Result<crate::Judgement, ConformRunError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.summary.judgement()),
        }
    }
}

/// `bearing profile detect`: probes `target` knob by knob (at most `max_probes` requests),
/// ranks `shipped`, and writes the observed profile to `out` when given.
///
/// # Errors
/// A target that cannot be probed; the observed profile cannot be written.
pub async fn detect_profile(
    target: &Target,
    shipped: &[bearing_auth::shipped::Shipped],
    max_probes: usize,
    out: Option<&Path>,
) -> Result<crate::Detection, ConformRunError> {
    let profiles: Vec<GatewayProfile> = shipped.iter().map(|s| s.profile.clone()).collect();
    let cfg = crate::DetectConfig {
        max_probes,
        ..crate::DetectConfig::default()
    };
    let d = crate::detect(target, &profiles, cfg).await.map_err(|e| {
        if e.is_bad_input() {
            ConformRunError::Input(e.to_string())
        } else {
            ConformRunError::Conform(e)
        }
    })?;
    if let Some(path) = out {
        let yaml = d.to_yaml().map_err(ConformRunError::ObservedProfile)?;
        std::fs::write(path, yaml).map_err(|e| ConformRunError::WriteFile(path.to_owned(), e))?;
    }
    Ok(d)
}
