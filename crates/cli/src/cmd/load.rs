//! `bearing load PROFILE`: runs a load profile (scenarios/load/*.yaml) against a target, or
//! against the embedded sandbox when none is given; writes the report set; exits 1 when a
//! threshold is missed. The live progress line (indicatif, stderr) is fed by the library's
//! progress callback; results go to stdout.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bearing_load::{LoadObserver, LoadSession, LoadSettings, LoadVerdict, report};

use crate::cmd::common::TargetArgs;
use crate::exit::Exit;
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

/// Runs `bearing load`.
///
/// # Errors
/// Bad profile or target (exit 2); the run could not start or reach the gateway (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let session = LoadSession::prepare(LoadSettings {
        profile: a.profile.clone(),
        report_dir: a.report_dir.clone(),
        shard: a.shard,
        find_capacity: a.find_capacity,
        threads: a.threads,
        duration: a.duration,
        expect_fail: a.expect_fail.clone(),
        start: match (&a.barrier_dir, a.start_at) {
            (Some(dir), _) => Some(bearing_load::barrier::Start::Barrier {
                dir: dir.clone(),
                timeout: a.barrier_timeout,
                margin: Duration::from_secs(2),
            }),
            (None, Some(t)) => Some(bearing_load::barrier::Start::At(t)),
            (None, None) => None,
        },
        evidence: a.evidence.settings(),
    })?;
    let (target, sandbox) = if a.target.is_empty() && session.profile().partner_count() > 1 {
        // The fleet is generated and registered with the embedded sandbox.
        let n = session.profile().partner_count();
        let sb = crate::sandbox::start_with_fleet(Default::default(), n).await?;
        (sb.target.clone(), Some(sb))
    } else {
        crate::cmd::common::target_or_sandbox(&a.target).await?
    };
    let pb = progress_bar(g);
    let mut observer = LoadObserver::default();
    if let Some(addr) = a.metrics_listen {
        let (live, bound) = bearing_load::serve_metrics(addr, a.shard).await?;
        eprintln!("metrics: http://{bound}/metrics");
        observer.metrics = Some(live);
    }
    if let Some(pb) = pb.clone() {
        observer.progress = Some(Arc::new(move |p: &bearing_load::Progress| {
            pb.set_message(report::text::progress_line(p));
        }));
    }
    // One line per step of a capacity search on stderr (a search takes minutes).
    let pb2 = pb.clone();
    observer.on_step = (!g.quiet).then(|| {
        Arc::new(move |i: usize, st: &bearing_load::capacity::CapacityStep| {
            let line = bearing_load::capacity_step_line(i, st);
            match &pb2 {
                Some(pb) => pb.println(line),
                None => eprintln!("{line}"),
            }
        }) as bearing_load::capacity::StepFn
    });
    let outcome = session.run(&target, observer).await;
    if let Some(pb) = &pb {
        pb.finish_and_clear();
    }
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let (result, capacity) = outcome?;
    // Results are printed whatever happens to the files (issue 21: nothing lost).
    let done = session.finish(&result, capacity);
    let (s, dir) = (&done.summary, &done.dir);
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "report_dir": dir.display().to_string(),
            "summary": s,
        }))?,
        Format::Text => {
            report::text::write_run(&mut std::io::stdout().lock(), s, dir)?;
            if let (Some(b), Some(m)) = (&a.evidence.bundle, &done.manifest) {
                let signed = a.evidence.sign_key.is_some();
                println!("{}", crate::cmd::evidence::bundle_line(b, m, signed));
            }
        }
    }
    Ok(match done.verdict()? {
        LoadVerdict::Passed => Exit::Ok,
        LoadVerdict::Failed => Exit::Failed,
        LoadVerdict::ShardInformative(i, n) => {
            if !g.quiet {
                eprintln!(
                    "note: shard {i}/{n}: thresholds on this shard's share are informative; \
                     `bearing report merge` evaluates them on the whole run"
                );
            }
            Exit::Ok
        }
    })
}
