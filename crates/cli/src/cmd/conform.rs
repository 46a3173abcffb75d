//! `bearing conform`: runs conformance suites against a gateway — the embedded sandbox when
//! no target is given — and says case by case whether it behaves as the RFCs and the chosen
//! profile require. Writes summary.json, junit.xml and report.html; exits 0 when every
//! binding case passed, 1 when a case failed, 2 on bad suites or target, 3 when cases could
//! not run.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bearing_auth::{GatewayProfile, Target};
use bearing_conform::report::terminal::{Progress, TableOptions};
use bearing_conform::{RunConfig, report};

use crate::cmd::common::TargetArgs;
use crate::cmd::evidence;
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// The embedded sandbox's token lifetime when it is judged; the expectation profile carries
/// the same value.
pub use bearing_gateway::embedded::JUDGED_TOKEN_LIFETIME as SANDBOX_TOKEN_LIFETIME;

/// Flags of `bearing conform`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing conform                                  # every bundled suite, embedded sandbox\n  \
    bearing conform replay expiry --profile apigee\n  \
    bearing conform --target target.yaml --report-dir out/\n  \
    bearing conform my-suite.yaml --case ac-aud\n  \
    bearing conform --profile rfc-strict --profile apigee --profile okta   # side by side\n\n\
    Several --profile: the suites run once per profile against the same gateway (each profile \
    expects different answers to the same probes) and a table case × profile follows; the FIRST \
    profile is judged for the exit code and the embedded sandbox behaves by it, the others are \
    informative. Its reports go to the report folder as usual, the others' to \
    profiles/NAME/ inside it.\n\n\
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
    /// The profile whose behaviour counts as conformant: a shipped profile (`bearing profile
    /// list`) or a YAML file.
    /// Defaults to the target's `profile`, else rfc-strict. The embedded sandbox behaves by it.
    /// Repeatable: verdicts under each profile side by side, the first one judged (see below).
    #[arg(long, short = 'p', value_name = "PROFILE")]
    pub profile: Vec<String>,
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
    /// Known deviations (YAML list of `id`, `reason`, optional `expires: YYYY-MM-DD`): a
    /// listed case that fails does not fail the run; one that now passes exits 1.
    #[arg(long, value_name = "FILE")]
    pub expect_fail: Option<PathBuf>,
    /// Run only the cases that failed or errored in a previous run (its summary.json or
    /// report folder), with the same suites and profile.
    #[arg(long, value_name = "PREV/summary.json")]
    pub rerun_failed: Option<PathBuf>,
    /// Report folder and bundle.
    #[command(flatten)]
    pub evidence: crate::cmd::evidence::EvidenceArgs,
    /// Give verdicts even though --insecure / tls.insecure turns TLS verification off
    /// (refused otherwise: a verdict about a gateway bearing did not authenticate).
    #[arg(long)]
    pub insecure_verdicts: bool,
}

fn conform_error(e: bearing_conform::Error) -> anyhow::Error {
    // Kept whole: `exit::classify` reads its kind, and `{:#}` prints its cause once.
    anyhow::Error::new(e)
}

/// The gateway profile `name`; `origin` names where it was given (`--profile`, or the
/// target file's `profile:` field).
fn resolve_profile(name: &str, origin: &str) -> anyhow::Result<GatewayProfile> {
    GatewayProfile::resolve(name)
        .map_err(|e| anyhow::Error::new(BadInput(format!("{origin}: {e}"))))
}

/// Runs `bearing conform`.
///
/// # Errors
/// Bad suites, profile or target (exit 2); the run could not start or reports could not be
/// written (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    // Bad input stops everything before any request is made.
    let mut suites = bearing_conform::load_suites(&a.suites).map_err(conform_error)?;
    let expect = evidence::expect_list(
        a.expect_fail.as_deref(),
        suites
            .iter()
            .flat_map(|s| s.cases.iter().map(|c| c.id.as_str()))
            .collect::<Vec<_>>(),
    )?;
    let previous = match &a.rerun_failed {
        Some(p) => {
            let prev = bearing_report::Previous::load(p).map_err(evidence::report_error)?;
            for s in &mut suites {
                s.cases.retain(|c| prev.continues.cases.contains(&c.id));
            }
            Some(prev)
        }
        None => None,
    };
    let second = match &a.second_target {
        Some(p) => {
            Some(Target::from_file(p).with_context(|| format!("--second-target {}", p.display()))?)
        }
        None => None,
    };
    let (target, profile, sandbox) = if a.target.is_empty() {
        let name = a
            .profile
            .first()
            .cloned()
            .unwrap_or_else(|| "rfc-strict".into());
        let mut profile = resolve_profile(&name, "--profile")?;
        profile.access_token_lifetime = SANDBOX_TOKEN_LIFETIME;
        let sandbox = crate::sandbox::start(crate::sandbox::SandboxOptions {
            profile: Some(name),
            token_lifetime: Some(SANDBOX_TOKEN_LIFETIME),
        })
        .await?;
        (sandbox.target.clone(), profile, Some(sandbox))
    } else {
        let target = a.target.resolve()?;
        let origin = match (a.profile.first(), &target.origin) {
            (None, Some(file)) if target.profile.is_some() => {
                format!("{}: profile", file.display())
            }
            _ => "--profile".to_owned(),
        };
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
            .first()
            .cloned()
            .or_else(|| target.profile.clone())
            .unwrap_or_else(|| "rfc-strict".into());
        (target, resolve_profile(&name, &origin)?, None)
    };
    // The other profiles (informative): the sandbox's shortened token lifetime is bearing's
    // own setting, not the gateway's, so it is carried over to them as well.
    let mut others = Vec::new();
    for name in a.profile.iter().skip(1) {
        let mut p = resolve_profile(name, "--profile")?;
        if sandbox.is_some() {
            p.access_token_lifetime = SANDBOX_TOKEN_LIFETIME;
        }
        others.push(p);
    }
    if previous.is_some() && !others.is_empty() {
        return Err(
            BadInput("--rerun-failed takes one --profile (the run it continues)".into()).into(),
        );
    }
    if let Some(prev) = &previous {
        let names: Vec<String> = suites.iter().map(|s| s.suite.clone()).collect();
        prev.check_same(&names, &profile.name)
            .map_err(evidence::report_error)?;
    }
    // The report folder, bundle and key are checked before any request too (issue 21).
    let report_dir = (!a.no_report).then(|| {
        a.report_dir.clone().unwrap_or_else(|| {
            report::default_dir(
                std::path::Path::new("reports"),
                std::time::SystemTime::now(),
            )
        })
    });
    let prepared = evidence::prepare(report_dir.as_deref(), &a.evidence)?;
    let show_progress = !g.quiet && std::io::stderr().is_terminal();
    let config = RunConfig {
        concurrency: usize::from(a.concurrency),
        only: a.only.clone(),
        ..RunConfig::default()
    };
    let insecure = target.tls.insecure && target.tls.pin_sha256.is_none();
    // One run per profile, the judged one first, against the same target.
    let result = bearing_conform::run_profiles(
        &suites,
        &target,
        second.as_ref(),
        std::iter::once(profile).chain(others).collect(),
        &config,
        || {
            Progress::new(if show_progress {
                indicatif::ProgressDrawTarget::stderr()
            } else {
                indicatif::ProgressDrawTarget::hidden()
            })
        },
    )
    .await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let mut summaries = result.map_err(conform_error)?;
    if summaries.first().is_none_or(|s| s.cases.is_empty()) {
        return Err(BadInput("no case matches the suites and --case filters given".into()).into());
    }
    if let Some(l) = &expect {
        for s in &mut summaries {
            s.apply_expected(l, &bearing_report::expect::today());
        }
    }
    let mut summaries = summaries.into_iter();
    let Some(mut summary) = summaries.next() else {
        unreachable!("checked above")
    };
    let others: Vec<_> = summaries.collect();
    summary.continues = previous.map(|p| p.continues);
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let written = prepared
        .path()
        .map(|p| bearing_conform::write_profile_reports(&summary, &others, p))
        .transpose();
    let finished = match written {
        Ok(_) => prepared.finish().map_err(|e| e.context("writing reports")),
        Err(e) => Err(anyhow::Error::new(e).context("writing reports")),
    };
    let (dir, manifest) = match &finished {
        Ok((d, m)) => (d.clone(), m.clone()),
        Err(_) => (None, None),
    };
    match g.output {
        Format::Json => crate::output::print_json(&bearing_conform::runs_json(
            &summary,
            &others,
            dir.as_deref(),
            insecure,
        )?)?,
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if insecure {
                writeln!(out, "{}", crate::cmd::common::INSECURE_WARNING)?;
            }
            let options = TableOptions {
                color,
                all_cases: a.all,
            };
            bearing_conform::write_runs_text(&summary, &others, options, dir.as_deref(), &mut out)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &manifest) {
                writeln!(
                    out,
                    "{}",
                    evidence::bundle_line(b, m, a.evidence.sign_key.is_some())
                )?;
            }
        }
    }
    finished?;
    Ok(match summary.judgement() {
        bearing_conform::Judgement::Passed => Exit::Ok,
        bearing_conform::Judgement::Failed => Exit::Failed,
        bearing_conform::Judgement::CouldNotRun => Exit::CouldNotRun,
    })
}
