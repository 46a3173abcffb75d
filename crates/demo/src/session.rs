//! The `bearing demo` operation (issue 13: the CLI parses flags, the library does the work):
//! [`DemoSettings`] in; one embedded sandbox for the conformance and load steps, the signing
//! benchmark after it stopped, the summary and its reports written; the [`DemoSummary`] out.
//! Progress goes to the caller's [`DemoUi`] (the CLI draws bars or lines).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bearing_gateway::embedded;

use crate::error::{Error, Result};
use crate::summary::DemoSummary;

/// What `bearing demo` was asked to do.
#[derive(Debug, Clone)]
pub struct DemoSettings {
    /// How long the load profile runs.
    pub duration: Duration,
    /// How long the signing benchmark signs.
    pub bench_duration: Duration,
    /// The report folder (default reports/<UTC timestamp>-demo).
    pub out: Option<PathBuf>,
    /// Run the signing benchmark.
    pub bench: bool,
    /// Run `openssl speed` next to it.
    pub openssl: bool,
    /// `bearing <version>`, for the summary.
    pub tool: &'static str,
}

/// The progress display of one step.
pub trait DemoStep: bearing_conform::Observer + Clone + 'static {
    /// A new progress message.
    fn message(&self, m: String);
    /// The step ended with `result`.
    fn done(&self, result: &str);
}

/// The progress display of the demo.
pub trait DemoUi {
    /// One step's display.
    type Step: DemoStep;
    /// Starts step `n` of `of`; `len` gives it a bar of that length.
    fn step(&self, n: usize, of: usize, name: &str, what: &str, len: Option<u64>) -> Self::Step;
}

/// Runs the demo: checks the flags, starts the sandbox, runs the steps, writes the reports.
///
/// # Errors
/// Bad durations; the sandbox, a step or the reports could not run or be written.
pub async fn run_demo<U: DemoUi>(s: &DemoSettings, ui: &U) -> Result<DemoSummary> {
    crate::check_duration("--duration", s.duration)?;
    crate::check_duration("--bench-duration", s.bench_duration)?;
    let profile = crate::load_profile(s.duration)?;
    let suites = bearing_conform::bundled().map_err(Error::BundledSuites)?;
    let started_at = SystemTime::now();
    let clock = Instant::now();
    let out = s.out.clone().unwrap_or_else(|| {
        bearing_load::report::default_dir(Path::new("reports"), "demo", started_at)
    });
    std::fs::create_dir_all(&out).map_err(|source| Error::CreateOut {
        path: out.clone(),
        source,
    })?;
    let steps = if s.bench { 3 } else { 2 };

    // One sandbox for conformance and load; it behaves by the profile conformance expects.
    let mut expect = bearing_auth::GatewayProfile::resolve(crate::GATEWAY_PROFILE)
        .map_err(Error::BuiltinProfile)?;
    expect.access_token_lifetime = embedded::JUDGED_TOKEN_LIFETIME;
    let sandbox = embedded::start(embedded::SandboxOptions {
        profile: Some(crate::GATEWAY_PROFILE.into()),
        token_lifetime: Some(embedded::JUDGED_TOKEN_LIFETIME),
    })
    .await?;
    let address = sandbox.gateway.local_addr.to_string();
    let target = sandbox.target.clone();
    let networked = async {
        let cases: usize = suites.iter().map(|s| s.cases.len()).sum();
        let what = format!("{cases} cases of {} bundled suites", suites.len());
        let step = ui.step(1, steps, "conformance", &what, u64::try_from(cases).ok());
        let conform = crate::conform_step(
            &suites,
            target.clone(),
            expect,
            &out,
            Arc::new(step.clone()),
        )
        .await?;
        let n = &conform.counts;
        step.done(&format!(
            "{} passed, {} failed, {} skipped",
            n.pass, n.fail, n.skip
        ));
        let load = load(ui, steps, &profile, &target, &out).await?;
        Ok::<_, Error>((conform, load))
    }
    .await;
    sandbox.shutdown().await;
    let (conform, load) = networked?;

    // The benchmark runs after the sandbox stopped, on a quiet machine.
    let bench = if s.bench {
        let what = format!(
            "RS256, 1 thread, {}",
            humantime::format_duration(s.bench_duration)
        );
        let step = ui.step(3, steps, "signing", &what, None);
        let st = step.clone();
        let measured = crate::bench_step(s.bench_duration, s.openssl, &out, move |line| {
            st.message(line.trim_start_matches("bench sign: ").to_owned());
        })
        .await?;
        let rate = measured
            .report
            .steps
            .first()
            .map_or(0.0, |s| s.assertions_per_sec);
        step.done(&format!("{rate:.0} assertions/s"));
        Some(measured)
    } else {
        None
    };

    let summary = crate::summarize(&crate::Ran {
        tool: s.tool,
        started_at,
        wall: clock.elapsed(),
        address: &address,
        client_id: embedded::CLIENT_ID,
        out: &out,
        conform: &conform,
        load: &load,
        bench: bench.as_ref(),
    });
    crate::write_reports(&summary, &out)?;
    Ok(summary)
}

async fn load<U: DemoUi>(
    ui: &U,
    steps: usize,
    profile: &bearing_load::LoadProfile,
    target: &bearing_auth::Target,
    out: &Path,
) -> Result<bearing_load::LoadSummary> {
    let what = format!(
        "profile {}, {}",
        profile.display_name(),
        humantime::format_duration(profile.run_duration())
    );
    let step = ui.step(2, steps, "load", &what, None);
    let s = step.clone();
    let progress = Arc::new(move |p: &bearing_load::Progress| {
        s.message(bearing_load::report::text::progress_line(p));
    });
    let summary = crate::load_step(profile, target, out, progress).await?;
    step.done(if summary.passed {
        "every threshold held"
    } else {
        "a threshold was missed"
    });
    Ok(summary)
}
