//! The demo's steps against one sandbox: conformance, load, signing; then the summary and
//! the index page. Each step writes its own report folder inside the demo's and returns what
//! the summary needs; progress goes to the caller (the CLI draws it).

use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bearing_auth::{Algorithm, SigningKey};
use bearing_bench::{KeySharing, SignConfig, SignMeasured};
use bearing_conform::{RunConfig, RunTargetSpec};

use crate::error::{Error, Result};
use crate::summary::{self, DemoSummary};

/// The demo's load profile; the file is the source of truth for its shape, `--duration`
/// overrides only its length.
const DEMO_PROFILE: &str = include_str!("../../../scenarios/load/demo.yaml");

/// The gateway profile of the sandbox and of the conformance expectations.
pub const GATEWAY_PROFILE: &str = "rfc-strict";

/// Upper bound on the conformance step (the bundled suites take seconds on the sandbox).
pub const CONFORM_DEADLINE: Duration = Duration::from_secs(300);

/// Time allowed past the load profile's duration (start-up, draining, report).
pub const LOAD_GRACE: Duration = Duration::from_secs(120);

/// Longest `--duration` / `--bench-duration` accepted: a demo is short.
pub const MAX_DURATION: Duration = Duration::from_secs(600);

/// The demo's load profile with `duration` as its length.
///
/// # Errors
/// The bundled profile does not parse, or `duration` makes it invalid.
pub fn load_profile(duration: Duration) -> Result<bearing_load::LoadProfile> {
    let mut p = bearing_load::LoadProfile::from_yaml(DEMO_PROFILE, "scenarios/load/demo.yaml")
        .map_err(Error::BundledProfile)?;
    p.duration = Some(duration);
    p.stages.clear();
    p.start_rate = None;
    p.validate().map_err(Error::ProfileDuration)?;
    Ok(p)
}

/// Checks a duration flag: more than zero, at most [`MAX_DURATION`].
///
/// # Errors
/// [`Error::Duration`] naming `flag`.
pub fn check_duration(flag: &'static str, d: Duration) -> Result<()> {
    if d.is_zero() || d > MAX_DURATION {
        return Err(Error::Duration { flag });
    }
    Ok(())
}

/// Runs the bundled suites against `target`, expecting `profile`, within
/// [`CONFORM_DEADLINE`]; writes their reports to `out/conform`.
///
/// # Errors
/// The suites could not run or finish, or the reports could not be written.
pub async fn conform_step(
    suites: &[bearing_conform::Suite],
    target: bearing_auth::Target,
    profile: bearing_auth::GatewayProfile,
    out: &Path,
    observer: Arc<dyn bearing_conform::Observer>,
) -> Result<bearing_conform::RunSummary> {
    let spec = RunTargetSpec {
        target,
        profile,
        second: None,
    };
    let run = bearing_conform::run(suites, spec, RunConfig::default(), observer);
    let summary = tokio::time::timeout(CONFORM_DEADLINE, run)
        .await
        .map_err(|_| Error::ConformTimeout(CONFORM_DEADLINE))?
        .map_err(Error::Conform)?;
    let dir = out.join("conform");
    bearing_conform::report::write_all(&summary, &dir)
        .map_err(|source| Error::ConformReport { dir, source })?;
    Ok(summary)
}

/// Runs `profile` against `target` within its duration and [`LOAD_GRACE`]; writes the report
/// to `out/load`. `progress` sees the run's progress about once a second.
///
/// # Errors
/// The target does not fit, the run could not run or finish, or the report could not be
/// written.
pub async fn load_step(
    profile: &bearing_load::LoadProfile,
    target: &bearing_auth::Target,
    out: &Path,
    progress: Arc<dyn Fn(&bearing_load::Progress) + Send + Sync>,
) -> Result<bearing_load::LoadSummary> {
    let duration = profile.run_duration();
    let load_target =
        bearing_load::LoadTarget::from_target(target, "").map_err(Error::LoadTarget)?;
    let mut opts = bearing_load::RunOptions {
        label: Some(profile.display_name().to_owned()),
        ..Default::default()
    };
    opts.progress = Some(progress);
    let run = Box::pin(bearing_load::run(profile, &load_target, &opts));
    let result = tokio::time::timeout(duration + LOAD_GRACE, run)
        .await
        .map_err(|_| Error::LoadTimeout)?
        .map_err(Error::Load)?;
    let dir = out.join("load");
    let written = bearing_load::report::write(&result, None, &dir)
        .map_err(|source| Error::LoadReport { dir, source })?;
    Ok(written.summary)
}

/// Signs RS256 assertions (2048-bit key, one thread) for `duration`, next to `openssl speed`
/// when `openssl`; writes `out/bench/{summary.json,report.html}`. Blocks its thread for the
/// whole duration, so it runs on tokio's blocking pool. `progress` sees the benchmark's
/// progress lines.
///
/// # Errors
/// The benchmark failed, or its reports could not be written.
pub async fn bench_step(
    duration: Duration,
    openssl: bool,
    out: &Path,
    progress: impl Fn(&str) + Send + 'static,
) -> Result<SignMeasured> {
    let measured = tokio::task::spawn_blocking(move || {
        let alg = Algorithm::RS256;
        bearing_bench::check_duration(duration)?;
        let c = SignConfig {
            alg,
            key: Arc::new(SigningKey::generate(alg, 2048).map_err(bearing_bench::Error::from)?),
            key_source: "generated".to_owned(),
            threads: bearing_bench::check_threads(1)?,
            duration,
            rounds: 1,
            openssl,
            sharing: KeySharing::PerThread,
        };
        bearing_bench::measure_sign(&c, &progress)
    })
    .await
    .map_err(Error::BenchThread)??;
    let dir = out.join("bench");
    std::fs::create_dir_all(&dir).map_err(|source| Error::Create {
        path: dir.clone(),
        source,
    })?;
    let json = serde_json::to_vec_pretty(&measured.report)?;
    let path = dir.join("summary.json");
    write_file(&path, |w| w.write_all(&json))?;
    write_file(&dir.join("report.html"), |w| {
        crate::html::write_bench(&measured.report, w)
    })?;
    Ok(measured)
}

/// What the three steps produced, and where, for [`summarize`].
#[derive(Debug, Clone, Copy)]
pub struct Ran<'a> {
    /// `bearing <version>`.
    pub tool: &'a str,
    /// When the demo started.
    pub started_at: SystemTime,
    /// Wall time of the whole demo.
    pub wall: Duration,
    /// The sandbox's `127.0.0.1:PORT`.
    pub address: &'a str,
    /// The partner identity registered with the sandbox.
    pub client_id: &'a str,
    /// The demo's report folder.
    pub out: &'a Path,
    /// The conformance step.
    pub conform: &'a bearing_conform::RunSummary,
    /// The load step.
    pub load: &'a bearing_load::LoadSummary,
    /// The signing step, unless skipped.
    pub bench: Option<&'a SignMeasured>,
}

/// The summary document of a demo run; `passed` when every case passed, every threshold
/// held and every sampled assertion verified.
pub fn summarize(r: &Ran<'_>) -> DemoSummary {
    let bench_brief = r.bench.and_then(summary::Bench::from_measured);
    let conformance = summary::Conformance::from_summary(r.conform);
    let load = summary::Load::from_summary(r.load);
    let passed =
        conformance.passed && load.passed && bench_brief.as_ref().is_none_or(|b| b.verified);
    DemoSummary {
        schema: summary::SCHEMA_ID,
        tool: r.tool.to_owned(),
        started_at: humantime::format_rfc3339_seconds(r.started_at).to_string(),
        duration_s: r.wall.as_secs_f64(),
        passed,
        sandbox: summary::SandboxInfo {
            address: r.address.to_owned(),
            profile: GATEWAY_PROFILE.into(),
            client_id: r.client_id.to_owned(),
        },
        report_dir: r.out.display().to_string(),
        reports: summary::Reports {
            index: "report.html".into(),
            conform: "conform/report.html".into(),
            load: "load/report.html".into(),
            bench: r.bench.map(|_| "bench/report.html".into()),
        },
        conformance,
        load,
        bench: bench_brief,
    }
}

/// Writes `summary.json` and the index `report.html` into `out`.
///
/// # Errors
/// A file could not be written.
pub fn write_reports(s: &DemoSummary, out: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(s)?;
    write_file(&out.join("summary.json"), |w| w.write_all(&json))?;
    write_file(&out.join("report.html"), |w| crate::html::write_index(s, w))
}

/// Creates `path` and writes it through a buffer with `body`.
fn write_file(
    path: &Path,
    body: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<()> {
    let write = || {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        body(&mut w)?;
        w.flush()
    };
    write().map_err(|source| Error::Write {
        path: path.to_owned(),
        source,
    })
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
            assert!(e.is_bad_input(), "{e}");
        }
        assert!(check_duration("--duration", Duration::from_secs(15)).is_ok());
    }
}
