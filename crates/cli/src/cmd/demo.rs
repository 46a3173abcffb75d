//! `bearing demo`: a new user's first command (issue 10). Starts one embedded sandbox
//! gateway, runs the bundled conformance suites and a short load profile
//! (`scenarios/load/demo.yaml`) against it, then a signing benchmark (RS256, one thread, next
//! to `openssl speed` when it is on the PATH); prints a one-screen summary and the path of
//! one `report.html` that links the three reports. Everything stays on 127.0.0.1 and every
//! step is bounded in time. Exits 0 when every conformance case passed and every load
//! threshold held, 1 otherwise, 2 on bad flags, 3 when a step could not run.
//!
//! The steps, the summary and its text and HTML live in bearing-demo; this module holds the
//! flags, the progress display on stderr and the exit code.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use bearing_demo::GATEWAY_PROFILE;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::exit::Exit;
use crate::output::{Format, Global};

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
    bearing_demo::check_duration("--duration", a.duration)?;
    bearing_demo::check_duration("--bench-duration", a.bench_duration)?;
    let profile = bearing_demo::load_profile(a.duration)?;
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
    let mut expect = bearing_auth::GatewayProfile::resolve(GATEWAY_PROFILE)
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

    let summary = bearing_demo::summarize(&bearing_demo::Ran {
        tool: concat!("bearing ", env!("CARGO_PKG_VERSION")),
        started_at,
        wall: clock.elapsed(),
        address: &address,
        client_id: crate::sandbox::CLIENT_ID,
        out: &out,
        conform: &conform,
        load: &load,
        bench: bench.as_ref(),
    });
    bearing_demo::write_reports(&summary, &out)?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::to_value(&summary)?)?,
        Format::Text => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            if !g.quiet {
                eprintln!();
            }
            bearing_demo::write_text(
                &summary,
                &mut std::io::stdout().lock(),
                bearing_demo::TextOptions { color },
            )?;
        }
    }
    Ok(if summary.passed {
        Exit::Ok
    } else {
        Exit::Failed
    })
}

async fn run_conform(
    ui: &Ui,
    suites: &[bearing_conform::Suite],
    target: bearing_auth::Target,
    profile: bearing_auth::GatewayProfile,
    out: &Path,
) -> anyhow::Result<bearing_conform::RunSummary> {
    let cases: usize = suites.iter().map(|s| s.cases.len()).sum();
    let step = ui.step(
        1,
        "conformance",
        &format!("{cases} cases of {} bundled suites", suites.len()),
        u64::try_from(cases).ok(),
    );
    let summary =
        bearing_demo::conform_step(suites, target, profile, out, Arc::new(step.clone())).await?;
    let n = &summary.counts;
    step.done(&format!(
        "{} passed, {} failed, {} skipped",
        n.pass, n.fail, n.skip
    ));
    Ok(summary)
}

async fn run_load(
    ui: &Ui,
    profile: &bearing_load::LoadProfile,
    target: &bearing_auth::Target,
    out: &Path,
) -> anyhow::Result<bearing_load::LoadSummary> {
    let step = ui.step(
        2,
        "load",
        &format!(
            "profile {}, {}",
            profile.display_name(),
            humantime::format_duration(profile.run_duration())
        ),
        None,
    );
    let s = step.clone();
    let progress = Arc::new(move |p: &bearing_load::Progress| {
        s.message(bearing_load::report::text::progress_line(p));
    });
    let summary = bearing_demo::load_step(profile, target, out, progress).await?;
    step.done(if summary.passed {
        "every threshold held"
    } else {
        "a threshold was missed"
    });
    Ok(summary)
}

async fn run_bench(ui: &Ui, a: &Args, out: &Path) -> anyhow::Result<bearing_bench::SignMeasured> {
    let step = ui.step(
        3,
        "signing",
        &format!(
            "RS256, 1 thread, {}",
            humantime::format_duration(a.bench_duration)
        ),
        None,
    );
    let s = step.clone();
    let measured = bearing_demo::bench_step(a.bench_duration, !a.no_openssl, out, move |line| {
        s.message(line.trim_start_matches("bench sign: ").to_owned());
    })
    .await?;
    let rate = measured
        .report
        .steps
        .first()
        .map_or(0.0, |s| s.assertions_per_sec);
    step.done(&format!("{rate:.0} assertions/s"));
    Ok(measured)
}
