//! `bearing demo`: a new user's first command (issue 10). Starts one embedded sandbox
//! gateway, runs the bundled conformance suites and a short load profile
//! (`scenarios/load/demo.yaml`) against it, then a signing benchmark (RS256, one thread, next
//! to `openssl speed` when it is on the PATH); prints a one-screen summary and the path of
//! one `report.html` that links the three reports. Everything stays on 127.0.0.1 and every
//! step is bounded in time. Exits 0 when every conformance case passed and every load
//! threshold held, 1 otherwise, 2 on bad flags, 3 when a step could not run.
//!
//! The operation ([`bearing_demo::run_demo`]), the summary and its text and HTML live in
//! bearing-demo; this module holds the flags, the progress display on stderr and the exit code.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bearing_demo::DemoStep as _;
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
    fn new(g: &Global) -> Self {
        Self {
            quiet: g.quiet,
            live: !g.quiet && std::io::stderr().is_terminal(),
        }
    }
}

impl bearing_demo::DemoUi for Ui {
    type Step = StepUi;

    /// Starts step `n` (1-based); `len` gives it a bar of that length instead of a spinner.
    fn step(&self, n: usize, of: usize, name: &str, what: &str, len: Option<u64>) -> StepUi {
        let label = format!("[{n}/{of}] {name}");
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

impl bearing_demo::DemoStep for StepUi {
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
    let settings = bearing_demo::DemoSettings {
        duration: a.duration,
        bench_duration: a.bench_duration,
        out: a.out.clone(),
        bench: !a.no_bench,
        openssl: !a.no_openssl,
        tool: concat!("bearing ", env!("CARGO_PKG_VERSION")),
    };
    let summary = bearing_demo::run_demo(&settings, &Ui::new(g)).await?;
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
