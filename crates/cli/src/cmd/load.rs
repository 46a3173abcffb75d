//! `bearing load PROFILE`: runs a load profile (scenarios/load/*.yaml) against a target, or
//! against the embedded sandbox when none is given; writes the report set; exits 1 when a
//! threshold is missed. The live progress line (indicatif, stderr) is fed by the library's
//! progress callback; results go to stdout.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use bearing_load::{LoadProfile, LoadTarget, RunOptions, report};

use crate::cmd::common::TargetArgs;
use crate::exit::{BadInput, CouldNotRun, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing load`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing load scenarios/load/api.yaml                 # against the embedded sandbox\n  \
    bearing load scenarios/load/token.yaml --target target.yaml --report-dir out/\n  \
    bearing load scenarios/load/api.yaml --find-capacity\n  \
    bearing load scenarios/load/api.yaml --shard 0/3 --report-dir run/shard-0   # one of three machines\n  \
    bearing report merge run/shard-0 run/shard-1 run/shard-2 --out run/merged"
)]
pub struct Args {
    /// The load profile: a YAML file, or a bundled profile name (api, demo, mixed,
    /// refresh-storm, sign, smoke, token-burst, token, token-handshakes).
    pub profile: PathBuf,
    /// Target and identity; the embedded sandbox when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where to write the report (default: reports/<UTC timestamp>-<profile name>/).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Run shard i of N (0-based): 1/N of the rate and users, and a disjoint jti space.
    /// A shard exits 0 when it ran, whatever its thresholds say about its share:
    /// `bearing report merge` evaluates them on the merged run.
    #[arg(long, value_name = "i/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Step the arrival rate up until a threshold is missed; report the knee and the steps.
    /// Exits 0 when a knee was found, 1 when even the first step failed.
    #[arg(long, conflicts_with_all = ["shard", "start_at"])]
    pub find_capacity: bool,
    /// Worker threads for the users (default: all cores, shared with an embedded sandbox).
    /// On a small machine that also runs the gateway, 1 is fastest.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Override the profile's duration (and drop its stages), e.g. 30s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Report folder and bundle.
    #[command(flatten)]
    pub evidence: crate::cmd::evidence::EvidenceArgs,
    /// Known deviations (YAML list of `id`, `reason`, optional `expires: YYYY-MM-DD`); an id
    /// is a threshold as printed, `p99 < 200ms [run]` or `p99 < 50ms [token]`, or its bare
    /// expression. A listed threshold that misses does not fail the run; one that now holds
    /// exits 1; an id the profile does not have exits 2.
    #[arg(long, value_name = "FILE", conflicts_with = "find_capacity")]
    pub expect_fail: Option<PathBuf>,
    /// Start barrier: a directory every shard sees (the shared volume). Each shard writes
    /// ready-<i>-of-<N>.json there after its preparation, waits for all N, and all start at
    /// the same wall-clock instant (the next whole second after the last ready + 2 s).
    #[arg(
        long,
        value_name = "DIR",
        requires = "shard",
        conflicts_with = "start_at"
    )]
    pub barrier_dir: Option<PathBuf>,
    /// How long a shard waits at the barrier before it gives up (exit 3).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = humantime::parse_duration)]
    pub barrier_timeout: Duration,
    /// Start the clock at this wall-clock instant (RFC 3339, e.g. 2026-12-06T05:00:00Z), for
    /// shards on machines without a shared directory (their clocks must agree).
    #[arg(long, value_name = "RFC3339", value_parser = parse_start_at)]
    pub start_at: Option<SystemTime>,
    /// Serve live Prometheus metrics of the run at http://ADDR/metrics (e.g. 0.0.0.0:9464;
    /// port 0 picks one; the address is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
}

fn parse_start_at(s: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339_weak(s)
        .map_err(|e| format!("{s:?}: not an RFC 3339 time ({e}), e.g. 2026-12-06T05:00:00Z"))
}

/// Parses `i/N` with 0 <= i < N.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected i/N, e.g. 0/3"))?;
    let i: u32 = i
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: shard index is not a number"))?;
    let n: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: shard count is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("{s:?}: need 0 <= i < N"));
    }
    Ok((i, n))
}

fn progress_bar(g: &Global) -> Option<indicatif::ProgressBar> {
    if g.quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_style(
        indicatif::ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    Some(pb)
}

fn bad_profile(e: bearing_load::Error) -> anyhow::Error {
    match e {
        bearing_load::Error::Auth(e) => e.into(),
        other => other.into(),
    }
}

/// The profile named on the command line: a file, or a bundled profile's name.
fn load_profile(arg: &std::path::Path) -> anyhow::Result<LoadProfile> {
    let name = arg.to_str().filter(|s| !s.contains(['/', '.']));
    if !arg.exists()
        && let Some(name) = name
    {
        return match LoadProfile::bundled(name) {
            Some(p) => p.map_err(bad_profile),
            None => Err(BadInput(format!(
                "no load profile {name:?}: not a file, nor a bundled profile ({})",
                bearing_load::profile::BUNDLED.map(|(n, _)| n).join(", ")
            ))
            .into()),
        };
    }
    LoadProfile::from_file(arg).map_err(bad_profile)
}

/// Runs `bearing load`.
///
/// # Errors
/// Bad profile or target (exit 2); the run could not start or reach the gateway (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let mut profile = load_profile(&a.profile)?;
    if let Some(d) = a.duration {
        profile.duration = Some(d);
        profile.stages.clear();
        profile.start_rate = None;
        profile
            .validate()
            .map_err(|m| BadInput(format!("--duration: {m}")))?;
    }
    let threshold_ids = bearing_load::threshold::ids(&profile);
    let expect = crate::cmd::evidence::expect_list(
        a.expect_fail.as_deref(),
        threshold_ids.iter().map(String::as_str),
    )?;
    // The report folder, bundle and key are checked before anything runs (issue 21).
    let dir = match &a.report_dir {
        Some(d) => d.clone(),
        None => {
            let mut name = profile.display_name().to_owned();
            if let Some((i, n)) = a.shard {
                name.push_str(&format!("-shard{i}of{n}"));
            }
            report::default_dir(std::path::Path::new("reports"), &name, SystemTime::now())
        }
    };
    let prepared = crate::cmd::evidence::prepare(Some(&dir), &a.evidence)?;
    let (target, sandbox) = if a.target.is_empty() && profile.partner_count() > 1 {
        // The fleet is generated and registered with the embedded sandbox.
        let sb =
            crate::sandbox::start_with_fleet(Default::default(), profile.partner_count()).await?;
        (sb.target.clone(), Some(sb))
    } else {
        crate::cmd::common::target_or_sandbox(&a.target).await?
    };
    let load_target = LoadTarget::from_target(&target, &bearing_load::run::jti_prefix(a.shard))
        .map_err(bad_profile)
        .context("preparing the target")?;
    let pb = progress_bar(g);
    let mut opts = RunOptions {
        shard: a.shard,
        worker_threads: a.threads,
        ..RunOptions::default()
    };
    opts.start = match (&a.barrier_dir, a.start_at) {
        (Some(dir), _) => Some(bearing_load::barrier::Start::Barrier {
            dir: dir.clone(),
            timeout: a.barrier_timeout,
            margin: Duration::from_secs(2),
        }),
        (None, Some(t)) => Some(bearing_load::barrier::Start::At(t)),
        (None, None) => None,
    };
    if let Some(addr) = a.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-listen {addr}: cannot listen"))?;
        let bound = listener.local_addr().unwrap_or(addr);
        eprintln!("metrics: http://{bound}/metrics");
        let live = bearing_load::live::LiveMetrics::new(a.shard);
        tokio::spawn(std::sync::Arc::clone(&live).serve(listener));
        opts.metrics = Some(live);
    }
    if let Some(pb) = &pb {
        let pb = pb.clone();
        opts.progress = Some(Arc::new(move |p: &bearing_load::Progress| {
            pb.set_message(report::text::progress_line(p));
        }));
    }
    let outcome = if a.find_capacity {
        // One line per step on stderr (the progress of a search that takes minutes).
        let on_step: Option<bearing_load::capacity::StepFn> = (!g.quiet).then(|| {
            let pb = pb.clone();
            Arc::new(move |i: usize, st: &bearing_load::capacity::CapacityStep| {
                let line = format!(
                    "step {i}{}: {:.0}/s → achieved {:.0}/s, p50 {}, p99 {}: {}",
                    if st.refine { " (bisection)" } else { "" },
                    st.rate,
                    st.achieved_rate,
                    bearing_load::threshold::fmt_us(st.p50_us as f64),
                    bearing_load::threshold::fmt_us(st.p99_us as f64),
                    if st.passed { "pass" } else { "FAIL" }
                );
                match &pb {
                    Some(pb) => pb.println(line),
                    None => eprintln!("{line}"),
                }
            }) as bearing_load::capacity::StepFn
        });
        bearing_load::capacity::find_capacity_with(&profile, &load_target, &opts, on_step)
            .await
            .map(|(c, r)| (r, Some(c)))
    } else {
        Box::pin(bearing_load::run(&profile, &load_target, &opts))
            .await
            .map(|r| (r, None))
    };
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let (result, capacity) = outcome.map_err(bad_profile)?;
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let staged = prepared.path().unwrap_or(&dir).to_owned();
    let expected = expect.as_ref().map(|l| {
        bearing_load::verdict::apply_expected(&result, l, &bearing_report::expect::today())
    });
    let judged = report::LoadSummary::judged(&result, capacity, expected);
    let s = match report::write_summary(&result, judged.clone(), &staged) {
        Ok(w) => Ok(w.summary),
        Err(e) => Err((judged, e)),
    };
    let (s, write_error) = match s {
        Ok(s) => (s, None),
        Err((s, e)) => (s, Some(e)),
    };
    let finished = match write_error {
        None => prepared.finish(),
        Some(e) => Err(anyhow::Error::new(e)),
    };
    let manifest = finished.as_ref().ok().and_then(|(_, m)| m.clone());
    let s = &s;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "report_dir": dir.display().to_string(),
            "summary": s,
        }))?,
        Format::Text => {
            report::text::write_run(&mut std::io::stdout().lock(), s, &dir)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &manifest) {
                println!(
                    "{}",
                    crate::cmd::evidence::bundle_line(b, m, a.evidence.sign_key.is_some())
                );
            }
        }
    }
    finished.with_context(|| format!("writing the report into {}", dir.display()))?;
    // Nothing got through at all: the gateway was not reachable.
    if let report::summary::Reach::Unreachable(n) = s.reach() {
        return Err(CouldNotRun(format!(
            "could not reach the gateway at {}: all {n} requests failed to connect (report in {})",
            s.target,
            dir.display()
        ))
        .into());
    }
    // A capacity search passes when it found a knee (its report is the run at the knee).
    let passed = match &s.capacity {
        Some(c) => c.knee.is_some(),
        None => s.passed,
    };
    // A shard's thresholds judge its 1/N share (`rate >= 1000/s` fails on every shard of a
    // passing 3-shard run): only `bearing report merge` decides. Exiting 1 here would also
    // make Kubernetes count the pod as failed (issue 8).
    if let (Some((i, n)), false, None) = (a.shard, passed, &s.capacity) {
        if !g.quiet {
            eprintln!(
                "note: shard {i}/{n}: thresholds on this shard's share are informative; \
                 `bearing report merge` evaluates them on the whole run"
            );
        }
        return Ok(Exit::Ok);
    }
    Ok(if passed { Exit::Ok } else { Exit::Failed })
}
