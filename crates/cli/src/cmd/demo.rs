//! `bearing demo`: a new user's first command (issue 10). Starts one embedded sandbox
//! gateway, runs the bundled conformance suites and a short load profile
//! (`scenarios/load/demo.yaml`) against it, then a signing benchmark (RS256, one thread, next
//! to `openssl speed` when it is on the PATH); prints a one-screen summary and the path of
//! one `report.html` that links the three reports. Everything stays on 127.0.0.1 and every
//! step is bounded in time. Exits 0 when every conformance case passed and every load
//! threshold held, 1 otherwise, 2 on bad flags, 3 when a step could not run.

mod html;
mod summary;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use bearing_conform::{RunConfig, RunTargetSpec};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cmd::bench::{Measured, SignArgs};
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};
use summary::Summary;

/// The demo's load profile; the file is the source of truth for its shape, `--duration`
/// overrides only its length.
const DEMO_PROFILE: &str = include_str!("../../../../scenarios/load/demo.yaml");

/// The gateway profile of the sandbox and of the conformance expectations.
const GATEWAY_PROFILE: &str = "rfc-strict";

/// Upper bound on the conformance step (the bundled suites take seconds on the sandbox).
const CONFORM_DEADLINE: Duration = Duration::from_secs(300);

/// Time allowed past the load profile's duration (start-up, draining, report).
const LOAD_GRACE: Duration = Duration::from_secs(120);

/// Longest `--duration` / `--bench-duration` accepted: a demo is short.
const MAX_DURATION: Duration = Duration::from_secs(600);

/// Flags of `bearing demo`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing demo                                   # about 35 s; prints the path of report.html\n  \
    cargo run --release -- demo                    # the same, from a fresh checkout\n  \
    bearing demo --duration 5s --no-bench          # a quicker look\n  \
    bearing demo --out demo-report/ --output json  # the summary as JSON, for scripts\n\n\
    Exit codes: 0 every conformance case passed and every load threshold held, 1 otherwise, \
    2 bad flags, 3 a step could not run.")]
pub struct Args {
    /// How long the load profile runs (scenarios/load/demo.yaml sets everything else).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "15s")]
    pub duration: Duration,
    /// How long the signing benchmark signs (and `openssl speed` runs as long).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "3s")]
    pub bench_duration: Duration,
    /// Where the reports go; defaults to reports/<UTC timestamp>-demo.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Skip the signing benchmark.
    #[arg(long)]
    pub no_bench: bool,
    /// Do not run `openssl speed` next to the signing benchmark.
    #[arg(long)]
    pub no_openssl: bool,
}

/// The demo's load profile with `duration` as its length.
fn load_profile(duration: Duration) -> anyhow::Result<bearing_load::Profile> {
    let mut p = bearing_load::Profile::from_yaml(DEMO_PROFILE, "scenarios/load/demo.yaml")
        .context("the bundled demo profile")?;
    p.duration = Some(duration);
    p.stages.clear();
    p.start_rate = None;
    p.validate()
        .map_err(|m| BadInput(format!("--duration: {m}")))?;
    Ok(p)
}

fn check_duration(flag: &str, d: Duration) -> anyhow::Result<()> {
    if d.is_zero() || d > MAX_DURATION {
        return Err(BadInput(format!("{flag} must be > 0 and at most 10m")).into());
    }
    Ok(())
}

/// Progress on stderr: a live bar per step on a terminal, one line per step otherwise,
/// nothing with `--quiet`.
struct Ui {
    quiet: bool,
    live: bool,
    steps: usize,
}

/// One step's progress.
#[derive(Clone)]
struct StepUi {
    bar: Option<ProgressBar>,
    label: String,
    quiet: bool,
    started: Instant,
}

impl Ui {
    fn new(g: &Global, steps: usize) -> Self {
        Self {
            quiet: g.quiet,
            live: !g.quiet && std::io::stderr().is_terminal(),
            steps,
        }
    }

    /// Starts step `n` (1-based); `len` gives it a bar of that length instead of a spinner.
    fn step(&self, n: usize, name: &str, what: &str, len: Option<u64>) -> StepUi {
        let label = format!("[{n}/{}] {name}", self.steps);
        let bar = self.live.then(|| {
            let (bar, template) = match len {
                Some(l) => (
                    ProgressBar::with_draw_target(Some(l), ProgressDrawTarget::stderr()),
                    "{prefix} {bar:30} {pos}/{len} {wide_msg}",
                ),
                None => (
                    ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
                    "{prefix} {spinner} {wide_msg}",
                ),
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(label.clone());
            bar.set_message(what.to_owned());
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if !self.quiet && bar.is_none() {
            eprintln!("{label}: {what}");
        }
        StepUi {
            bar,
            label,
            quiet: self.quiet,
            started: Instant::now(),
        }
    }
}

impl StepUi {
    fn message(&self, m: String) {
        if let Some(b) = &self.bar {
            b.set_message(m);
        }
    }

    /// Ends the step with a line that stays on the screen.
    fn done(&self, result: &str) {
        let line = format!(
            "{}: {result} ({:.1} s)",
            self.label,
            self.started.elapsed().as_secs_f64()
        );
        match &self.bar {
            Some(b) => {
                b.finish_and_clear();
                eprintln!("{line}");
            }
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }
}

impl bearing_conform::Observer for StepUi {
    fn case_finished(&self, r: &bearing_conform::CaseResult) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(r.id.clone());
        }
    }

    fn waiting(&self, id: &str, remaining: Duration, why: &str) {
        self.message(format!("{id}: {} s left ({why})", remaining.as_secs()));
    }
}

/// Runs `bearing demo`.
///
/// # Errors
/// Bad flags (exit 2); the sandbox, a step or the reports could not run or be written
/// (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    check_duration("--duration", a.duration)?;
    check_duration("--bench-duration", a.bench_duration)?;
    let profile = load_profile(a.duration)?;
    let suites = bearing_conform::bundled().context("the bundled conformance suites")?;
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let out = a.out.clone().unwrap_or_else(|| {
        bearing_load::report::default_dir(Path::new("reports"), "demo", started_at)
    });
    std::fs::create_dir_all(&out)
        .with_context(|| format!("creating the report folder {}", out.display()))?;
    let ui = Ui::new(g, if a.no_bench { 2 } else { 3 });

    // One sandbox for conformance and load; it behaves by the profile conformance expects.
    let mut expect = bearing_auth::Profile::resolve(GATEWAY_PROFILE)
        .context("the built-in rfc-strict profile")?;
    expect.access_token_lifetime = crate::cmd::conform::SANDBOX_TOKEN_LIFETIME;
    let sandbox = crate::sandbox::start(crate::sandbox::SandboxOptions {
        profile: Some(GATEWAY_PROFILE.into()),
        token_lifetime: Some(crate::cmd::conform::SANDBOX_TOKEN_LIFETIME),
    })
    .await?;
    let address = sandbox.gateway.local_addr.to_string();
    let target = sandbox.target.clone();
    let networked = async {
        let conform = run_conform(&ui, &suites, target.clone(), expect, &out).await?;
        let load = run_load(&ui, &profile, &target, &out).await?;
        anyhow::Ok((conform, load))
    }
    .await;
    sandbox.shutdown().await;
    let (conform, load) = networked?;

    // The benchmark runs after the sandbox stopped, on a quiet machine.
    let bench = if a.no_bench {
        None
    } else {
        Some(run_bench(&ui, &a, &out).await?)
    };

    let bench_brief = bench.as_ref().and_then(summary::Bench::from_measured);
    let conformance = summary::Conformance::from_summary(&conform);
    let load = summary::Load::from_summary(&load);
    let passed =
        conformance.passed && load.passed && bench_brief.as_ref().is_none_or(|b| b.verified);
    let summary = Summary {
        schema: summary::SCHEMA_ID,
        tool: concat!("bearing ", env!("CARGO_PKG_VERSION")).into(),
        started_at: humantime::format_rfc3339_seconds(started_at).to_string(),
        duration_s: clock.elapsed().as_secs_f64(),
        passed,
        sandbox: summary::SandboxInfo {
            address,
            profile: GATEWAY_PROFILE.into(),
            client_id: crate::sandbox::CLIENT_ID.into(),
        },
        report_dir: out.display().to_string(),
        reports: summary::Reports {
            index: "report.html".into(),
            conform: "conform/report.html".into(),
            load: "load/report.html".into(),
            bench: bench.as_ref().map(|_| "bench/report.html".into()),
        },
        conformance,
        load,
        bench: bench_brief,
    };
    write_reports(&summary, &out)?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::to_value(&summary)?)?,
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if !g.quiet {
                eprintln!();
            }
            summary::write_text(
                &summary,
                &mut std::io::stdout().lock(),
                summary::TextOptions { color },
            )?;
        }
    }
    Ok(if passed { Exit::Ok } else { Exit::Failed })
}

async fn run_conform(
    ui: &Ui,
    suites: &[bearing_conform::Suite],
    target: bearing_auth::Target,
    profile: bearing_auth::Profile,
    out: &Path,
) -> anyhow::Result<bearing_conform::RunSummary> {
    let cases: usize = suites.iter().map(|s| s.cases.len()).sum();
    let step = ui.step(
        1,
        "conformance",
        &format!("{cases} cases of {} bundled suites", suites.len()),
        u64::try_from(cases).ok(),
    );
    let spec = RunTargetSpec {
        target,
        profile,
        second: None,
    };
    let run = bearing_conform::run(suites, spec, RunConfig::default(), Arc::new(step.clone()));
    let summary = tokio::time::timeout(CONFORM_DEADLINE, run)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "the conformance suites did not finish within {}",
                humantime::format_duration(CONFORM_DEADLINE)
            )
        })?
        .context("running the conformance suites")?;
    let dir = out.join("conform");
    bearing_conform::report::write_all(&summary, &dir)
        .with_context(|| format!("writing the conformance reports to {}", dir.display()))?;
    let n = &summary.counts;
    step.done(&format!(
        "{} passed, {} failed, {} skipped",
        n.pass, n.fail, n.skip
    ));
    Ok(summary)
}

async fn run_load(
    ui: &Ui,
    profile: &bearing_load::Profile,
    target: &bearing_auth::Target,
    out: &Path,
) -> anyhow::Result<bearing_load::report::Summary> {
    let duration = profile.run_duration();
    let step = ui.step(
        2,
        "load",
        &format!(
            "profile {}, {}",
            profile.display_name(),
            humantime::format_duration(duration)
        ),
        None,
    );
    let load_target =
        bearing_load::LoadTarget::from_target(target, "").context("preparing the load target")?;
    let mut opts = bearing_load::RunOptions {
        label: Some(profile.display_name().to_owned()),
        ..Default::default()
    };
    let s = step.clone();
    opts.progress = Some(Arc::new(move |p: &bearing_load::Progress| {
        s.message(bearing_load::report::text::progress_line(p));
    }));
    let run = Box::pin(bearing_load::run(profile, &load_target, &opts));
    let result = tokio::time::timeout(duration + LOAD_GRACE, run)
        .await
        .map_err(|_| anyhow::anyhow!("the load profile did not finish in time"))?
        .context("running the load profile")?;
    let dir = out.join("load");
    let written = bearing_load::report::write(&result, None, &dir)
        .with_context(|| format!("writing the load report to {}", dir.display()))?;
    step.done(if written.summary.passed {
        "every threshold held"
    } else {
        "a threshold was missed"
    });
    Ok(written.summary)
}

async fn run_bench(ui: &Ui, a: &Args, out: &Path) -> anyhow::Result<Measured> {
    let step = ui.step(
        3,
        "signing",
        &format!(
            "RS256, 1 thread, {}",
            humantime::format_duration(a.bench_duration)
        ),
        None,
    );
    let args = SignArgs {
        alg: "RS256".into(),
        key_bits: 2048,
        threads: Some(1),
        duration: a.bench_duration,
        key: None,
        json: false,
        no_openssl: a.no_openssl,
        rounds: 1,
        shared_key: false,
    };
    let s = step.clone();
    // Signing blocks a thread for the whole duration: off the async workers.
    let measured = tokio::task::spawn_blocking(move || {
        crate::cmd::bench::measure_sign(&args, &|line: &str| {
            s.message(line.trim_start_matches("bench sign: ").to_owned());
        })
    })
    .await
    .context("the signing benchmark thread")??;
    let dir = out.join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_vec_pretty(&measured.report)?;
    let path = dir.join("summary.json");
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    let path = dir.join("report.html");
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?,
    );
    html::write_bench(&measured.report, &mut w)
        .and_then(|()| std::io::Write::flush(&mut w))
        .with_context(|| format!("writing {}", path.display()))?;
    let rate = measured
        .report
        .steps
        .first()
        .map_or(0.0, |s| s.assertions_per_sec);
    step.done(&format!("{rate:.0} assertions/s"));
    Ok(measured)
}

/// Writes `summary.json` and the index `report.html` into `out`.
fn write_reports(s: &Summary, out: &Path) -> anyhow::Result<()> {
    let path = out.join("summary.json");
    std::fs::write(&path, serde_json::to_vec_pretty(s)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let path = out.join("report.html");
    let mut w = std::io::BufWriter::new(
        std::fs::File::create(&path).with_context(|| format!("writing {}", path.display()))?,
    );
    html::write_index(s, &mut w)
        .and_then(|()| std::io::Write::flush(&mut w))
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // The bundled profile parses, and --duration replaces only its length.
    #[test]
    fn demo_profile() {
        let p = load_profile(Duration::from_secs(3)).expect("valid");
        assert_eq!(p.display_name(), "demo");
        assert_eq!(p.run_duration(), Duration::from_secs(3));
        assert!(p.is_open());
        let kinds: Vec<_> = p.scenarios.iter().map(|s| s.kind.name()).collect();
        assert_eq!(kinds, ["token", "api"]);
    }

    // Zero and overlong durations are bad input, not a hang.
    #[test]
    fn durations() {
        for d in [Duration::ZERO, Duration::from_secs(3600)] {
            let e = check_duration("--duration", d).expect_err("bad");
            assert_eq!(crate::exit::classify(&e), Exit::BadInput);
        }
        assert!(check_duration("--duration", Duration::from_secs(15)).is_ok());
    }
}
