//! `bearing conform`: runs conformance suites against a gateway — the embedded sandbox when
//! no target is given — and says case by case whether it behaves as the RFCs and the chosen
//! profile require. Writes summary.json, junit.xml and report.html; exits 0 when every
//! binding case passed, 1 when a case failed, 2 on bad suites or target, 3 when cases could
//! not run.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use bearing_conform::report::terminal::{Progress, TableOptions};
use bearing_conform::{ConformSession, ConformSettings};

use crate::cmd::common::TargetArgs;
use crate::cmd::evidence;
use crate::exit::Exit;
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

/// Runs `bearing conform`.
///
/// # Errors
/// Bad suites, profile or target (exit 2); the run could not start or reports could not be
/// written (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    // Bad input stops everything before any request is made.
    let mut session = ConformSession::prepare(ConformSettings {
        suites: a.suites.clone(),
        profiles: a.profile.clone(),
        report_dir: a.report_dir.clone(),
        no_report: a.no_report,
        second_target: a.second_target.clone(),
        only: a.only.clone(),
        concurrency: usize::from(a.concurrency),
        expect_fail: a.expect_fail.clone(),
        rerun_failed: a.rerun_failed.clone(),
        evidence: a.evidence.settings(),
        insecure_verdicts: a.insecure_verdicts,
        sandbox_token_lifetime: SANDBOX_TOKEN_LIFETIME,
    })?;
    let (target, sandbox) = if a.target.is_empty() {
        session.judge(None)?;
        let sandbox = crate::sandbox::start(crate::sandbox::SandboxOptions {
            profile: Some(session.sandbox_profile()),
            token_lifetime: Some(SANDBOX_TOKEN_LIFETIME),
        })
        .await?;
        (sandbox.target.clone(), Some(sandbox))
    } else {
        let target = a.target.resolve()?;
        session.judge(Some(&target))?;
        (target, None)
    };
    let show_progress = !g.quiet && std::io::stderr().is_terminal();
    let insecure = target.tls.insecure && target.tls.pin_sha256.is_none();
    let result = session
        .run(&target, || {
            Progress::new(if show_progress {
                indicatif::ProgressDrawTarget::stderr()
            } else {
                indicatif::ProgressDrawTarget::hidden()
            })
        })
        .await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let done = session.finish(result?)?;
    let (summary, others, dir) = (&done.summary, &done.others, done.dir.as_deref());
    match g.output {
        Format::Json => {
            let v = bearing_conform::runs_json(summary, others, dir, insecure)?;
            crate::output::print_json(&v)?;
        }
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if insecure {
                writeln!(out, "{}", crate::cmd::common::INSECURE_WARNING)?;
            }
            let all_cases = a.all;
            let options = TableOptions { color, all_cases };
            bearing_conform::write_runs_text(summary, others, options, dir, &mut out)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &done.manifest) {
                let signed = a.evidence.sign_key.is_some();
                writeln!(out, "{}", evidence::bundle_line(b, m, signed))?;
            }
        }
    }
    Ok(match done.judgement()? {
        bearing_conform::Judgement::Passed => Exit::Ok,
        bearing_conform::Judgement::Failed => Exit::Failed,
        bearing_conform::Judgement::CouldNotRun => Exit::CouldNotRun,
    })
}
