//! `bearing conform`: runs conformance suites against a gateway — the embedded sandbox when
//! no target is given — and says case by case whether it behaves as the RFCs and the chosen
//! profile require. Writes summary.json, junit.xml and report.html; exits 0 when every
//! binding case passed, 1 when a case failed, 2 on bad suites or target, 3 when cases could
//! not run.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bearing_auth::{Profile, Target};
use bearing_conform::report::terminal::{Progress, TableOptions};
use bearing_conform::{RunConfig, RunTargetSpec, report};

use crate::cmd::common::TargetArgs;
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// The embedded sandbox's token lifetime; the expectation profile carries the same value.
pub const SANDBOX_TOKEN_LIFETIME: Duration = Duration::from_secs(30);

/// Flags of `bearing conform`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing conform                                  # every bundled suite, embedded sandbox\n  \
    bearing conform replay expiry --profile apigee\n  \
    bearing conform --target target.yaml --report-dir out/\n  \
    bearing conform my-suite.yaml --case ac-aud\n\n\
    Exit codes: 0 every MUST/CONFIG case passed, 1 a case failed, 2 bad suite or target, 3 cases could not run."
)]
pub struct Args {
    /// Suites: YAML files, folders of them, or bundled suite names (token-request,
    /// assertion-claims, assertion-signature, jose-header, replay, expiry, resource-401,
    /// refresh, transport). Every bundled suite when none is given.
    pub suites: Vec<String>,
    /// Target and identity; the embedded sandbox when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The profile whose behaviour counts as conformant: rfc-strict, apigee or a YAML file.
    /// Defaults to the target's `profile`, else rfc-strict. The embedded sandbox behaves by it.
    #[arg(long, short = 'p')]
    pub profile: Option<String>,
    /// Where the reports go; defaults to reports/<UTC timestamp>-conform.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Write no report files.
    #[arg(long, conflicts_with = "report_dir")]
    pub no_report: bool,
    /// A target file with a second registered identity, for the cases with two clients
    /// (a sandbox registers one itself).
    #[arg(long)]
    pub second_target: Option<PathBuf>,
    /// Only cases whose id equals or starts with this (repeatable).
    #[arg(long = "case", value_name = "ID")]
    pub only: Vec<String>,
    /// Cases run at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// List every case in the table, not only those that did not pass.
    #[arg(long)]
    pub all: bool,
    /// Give verdicts even though --insecure / tls.insecure turns TLS verification off
    /// (refused otherwise: a verdict about a gateway bearing did not authenticate).
    #[arg(long)]
    pub insecure_verdicts: bool,
}

fn conform_error(e: bearing_conform::Error) -> anyhow::Error {
    if e.is_bad_input() {
        anyhow::Error::new(BadInput(e.to_string()))
    } else {
        anyhow::Error::new(e)
    }
}

fn resolve_profile(name: &str) -> anyhow::Result<Profile> {
    Profile::resolve(name).map_err(|e| anyhow::Error::new(BadInput(format!("--profile: {e}"))))
}

/// Runs `bearing conform`.
///
/// # Errors
/// Bad suites, profile or target (exit 2); the run could not start or reports could not be
/// written (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    // Bad input stops everything before any request is made.
    let suites = bearing_conform::loader::load(&a.suites).map_err(conform_error)?;
    let second = match &a.second_target {
        Some(p) => Some(
            Target::from_file(p)
                .map_err(|e| anyhow::Error::new(BadInput(format!("--second-target: {e}"))))?,
        ),
        None => None,
    };
    let (target, profile, sandbox) = if a.target.is_empty() {
        let name = a.profile.clone().unwrap_or_else(|| "rfc-strict".into());
        let mut profile = resolve_profile(&name)?;
        profile.access_token_lifetime = SANDBOX_TOKEN_LIFETIME;
        let sandbox = crate::sandbox::start(crate::sandbox::SandboxOptions {
            profile: Some(name),
            token_lifetime: Some(SANDBOX_TOKEN_LIFETIME),
        })
        .await?;
        (sandbox.target.clone(), profile, Some(sandbox))
    } else {
        let target = a.target.resolve()?;
        if target.tls.insecure && target.tls.pin_sha256.is_none() && !a.insecure_verdicts {
            return Err(BadInput(
                "conform gives verdicts about a gateway; with --insecure (tls.insecure) \
                 bearing cannot tell it is talking to that gateway: set tls.pin_sha256 or \
                 tls.ca_bundle instead, or pass --insecure-verdicts to insist"
                    .into(),
            )
            .into());
        }
        let name = a
            .profile
            .clone()
            .or_else(|| target.profile.clone())
            .unwrap_or_else(|| "rfc-strict".into());
        (target, resolve_profile(&name)?, None)
    };
    let show_progress = !g.quiet && std::io::stderr().is_terminal();
    let progress = Progress::new(if show_progress {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    });
    let config = RunConfig {
        concurrency: usize::from(a.concurrency),
        only: a.only.clone(),
        ..RunConfig::default()
    };
    let insecure = target.tls.insecure && target.tls.pin_sha256.is_none();
    let spec = RunTargetSpec {
        target,
        profile,
        second,
    };
    let result = bearing_conform::run(&suites, spec, config, Arc::new(progress.clone())).await;
    progress.finish();
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let summary = result.map_err(conform_error)?;
    if summary.cases.is_empty() {
        return Err(BadInput("no case matches the suites and --case filters given".into()).into());
    }
    let files = if a.no_report {
        None
    } else {
        let dir = a.report_dir.clone().unwrap_or_else(|| {
            report::default_dir(
                std::path::Path::new("reports"),
                std::time::SystemTime::now(),
            )
        });
        Some(
            report::write_all(&summary, &dir)
                .with_context(|| format!("writing reports to {}", dir.display()))?,
        )
    };
    match g.output {
        Format::Json => {
            let mut v = serde_json::to_value(&summary)?;
            if let (Some(f), Some(obj)) = (&files, v.as_object_mut()) {
                obj.insert("report_dir".into(), f.dir.display().to_string().into());
            }
            if let (true, Some(obj)) = (insecure, v.as_object_mut()) {
                obj.insert("tls_insecure".into(), true.into());
            }
            crate::output::print_json(&v)?;
        }
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if insecure {
                writeln!(out, "{}", crate::cmd::common::INSECURE_WARNING)?;
            }
            report::terminal::write_table(
                &summary,
                &mut out,
                TableOptions {
                    color,
                    all_cases: a.all,
                },
            )?;
            if let Some(f) = &files {
                writeln!(out, "reports: {}", f.html.display())?;
            }
        }
    }
    Ok(if summary.counts.fail > 0 {
        Exit::Failed
    } else if summary.counts.error > 0 {
        Exit::CouldNotRun
    } else {
        Exit::Ok
    })
}
