//! `bearing load PROFILE`: runs a load profile (scenarios/load/*.yaml) against a target, or
//! against the embedded sandbox when none is given; writes the report set; exits 1 when a
//! threshold is missed. The live progress line (indicatif, stderr) is fed by the library's
//! progress callback; results go to stdout.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use bearing_load::{LoadTarget, Profile, RunOptions, report};

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
    /// refresh-storm, sign, smoke, token-burst, token).
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

/// The live progress line of a load run (shared with `bearing demo`).
pub fn progress_message(p: &bearing_load::Progress) -> String {
    if let Some((done, total)) = p.preparing {
        return format!("{}: {done}/{total} ({:.0}/s)", p.label, p.rate);
    }
    let p99 = p.p99_us.map_or("—".to_owned(), |v| {
        bearing_load::threshold::fmt_us(v as f64)
    });
    format!(
        "{} {:.1}/{:.0}s · {} requests · {:.0}/s · p99 {p99} · {} errors",
        p.label,
        p.elapsed.as_secs_f64(),
        p.duration.as_secs_f64(),
        p.requests,
        p.rate,
        p.errors
    )
}

fn bad_profile(e: bearing_load::Error) -> anyhow::Error {
    match e {
        bearing_load::Error::Auth(e) => e.into(),
        other => other.into(),
    }
}

/// The profile named on the command line: a file, or a bundled profile's name.
fn load_profile(arg: &std::path::Path) -> anyhow::Result<Profile> {
    let name = arg.to_str().filter(|s| !s.contains(['/', '.']));
    if !arg.exists()
        && let Some(name) = name
    {
        return match Profile::bundled(name) {
            Some(p) => p.map_err(bad_profile),
            None => Err(BadInput(format!(
                "no load profile {name:?}: not a file, nor a bundled profile ({})",
                bearing_load::profile::BUNDLED.map(|(n, _)| n).join(", ")
            ))
            .into()),
        };
    }
    Profile::from_file(arg).map_err(bad_profile)
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
            pb.set_message(progress_message(p));
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
    let judged = report::Summary::judged(&result, capacity, expected);
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
            print_text(s, &dir)?;
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

fn print_text(s: &report::Summary, dir: &std::path::Path) -> anyhow::Result<()> {
    use bearing_load::threshold::fmt_us;
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    write_underruns(&mut out, s)?;
    writeln!(
        out,
        "{} against {} — {:.2}s measured",
        s.profile.name, s.target, s.duration_s
    )?;
    write_scenarios(&mut out, s)?;
    if let Some(c) = &s.capacity {
        writeln!(
            out,
            "  capacity knee: {} · {:.0} s per step",
            c.describe(),
            c.step_duration_s
        )?;
        for st in &c.steps {
            writeln!(
                out,
                "    {}{:>8.0}/s → {:>8.0}/s  p50 {:>8}  p99 {:>8}  {}{}",
                if st.refine { "↳" } else { " " },
                st.rate,
                st.achieved_rate,
                fmt_us(st.p50_us as f64),
                fmt_us(st.p99_us as f64),
                if st.passed { "pass" } else { "FAIL" },
                if st.missed.is_empty() {
                    String::new()
                } else {
                    format!(": {}", st.missed.join("; "))
                }
            )?;
        }
    }
    if let Some(p) = &s.partners {
        write_partners(&mut out, p)?;
    }
    write_verdict(&mut out, s, "report", dir)?;
    Ok(())
}

/// The per-partner lines of a fleet run: spreads, then the top-k tables.
fn write_partners(
    out: &mut impl std::io::Write,
    p: &bearing_load::fleet::PartnerReport,
) -> std::io::Result<()> {
    use bearing_load::threshold::fmt_us;
    writeln!(
        out,
        "  partners: {} · requests/partner {}–{} (mean {:.1}) · token requests/partner {}–{} (mean {:.1}) · refreshes/partner {}–{} · {} without a token request · {} with errors",
        p.partners,
        p.requests.min,
        p.requests.max,
        p.requests.mean,
        p.token_requests.min,
        p.token_requests.max,
        p.token_requests.mean,
        p.refreshes.min,
        p.refreshes.max,
        p.without_token,
        p.with_errors
    )?;
    let table = |out: &mut dyn std::io::Write,
                 title: &str,
                 rows: &[bearing_load::fleet::PartnerRow]|
     -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(out, "    {title}")?;
        for r in rows {
            writeln!(
                out,
                "      {:<24} p99 {:>8}  requests {:>7}  errors {:>5}  tokens {:>4}  refreshes {:>3}",
                r.client_id,
                fmt_us(r.p99_us as f64),
                r.requests,
                r.errors,
                r.token_requests,
                r.refreshes
            )?;
        }
        Ok(())
    };
    table(
        out,
        &format!("worst {} by p99:", p.worst_p99.len()),
        &p.worst_p99,
    )?;
    table(
        out,
        &format!(
            "most errors ({} of {}):",
            p.most_errors.len(),
            p.with_errors
        ),
        &p.most_errors,
    )
}

/// The threshold lines and the verdict with the report's path: shared by `bearing load` and
/// `bearing report merge` (`what` names the report: "report", "merged report").
pub(crate) fn write_verdict(
    out: &mut impl std::io::Write,
    s: &report::Summary,
    what: &str,
    dir: &std::path::Path,
) -> std::io::Result<()> {
    let guard = s.verdict.as_ref().and_then(|v| v.error_guard.as_ref());
    for t in s.thresholds.iter().chain(guard) {
        let expected = s.expected_failures.as_ref().and_then(|x| {
            x.entries.iter().find(|e| {
                e.status == bearing_report::expect::Status::ExpectedFailure && t.is_named(&e.id)
            })
        });
        writeln!(
            out,
            "  {} {} [{}]: {}{}",
            if t.passed { "✓" } else { "✗" },
            t.expr,
            t.scope,
            t.actual_display,
            match expected {
                Some(e) if !t.passed => format!(" (expected failure: {})", e.reason),
                _ => String::new(),
            }
        )?;
    }
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_text(out, x)?;
    }
    if let Some(v) = &s.verdict {
        if v.dropped > 0 || v.cancelled > 0 {
            writeln!(
                out,
                "  dropped {} arrivals (never started) · cancelled {} requests in flight at the end \
                 (grace {:.0} s after the planned duration)",
                v.dropped, v.cancelled, v.grace_s
            )?;
        }
        for r in &v.reasons {
            writeln!(out, "  ✗ {r}")?;
        }
    }
    writeln!(
        out,
        "{} · {what}: {}",
        if s.passed { "PASS" } else { "FAIL" },
        dir.join("report.html").display()
    )
}

/// The generator-limited lines, printed first: the results describe the offered rate.
pub(crate) fn write_underruns(
    out: &mut impl std::io::Write,
    s: &report::Summary,
) -> std::io::Result<()> {
    for u in s.verdict.iter().flat_map(|v| &v.generator_limited) {
        writeln!(out, "{}", bearing_load::verdict::underrun_line(u))?;
    }
    Ok(())
}

/// The per-scenario lines of a load summary (rates, percentiles, signing, tokens, storm):
/// shared by `bearing load` and `bearing report merge`.
pub(crate) fn write_scenarios(
    out: &mut impl std::io::Write,
    s: &report::Summary,
) -> std::io::Result<()> {
    use bearing_load::threshold::fmt_us;
    for sc in &s.scenarios {
        writeln!(
            out,
            "  {} ({}, {} users): offered {:.1}/s, achieved {:.1}/s{}{}",
            sc.name,
            sc.kind,
            sc.users,
            sc.offered_rate,
            sc.achieved_rate,
            sc.target_rate
                .map(|t| format!(" (asked {t:.1}/s)"))
                .unwrap_or_default(),
            sc.dropped
                .filter(|d| *d > 0)
                .map(|d| format!(", {d} dropped"))
                .unwrap_or_default()
        )?;
        for (name, p) in &sc.phases {
            let c = &p.latency_us.corrected;
            writeln!(
                out,
                "    {name:<6} {:>8} × {:>9.1}/s  p50 {:>8}  p90 {:>8}  p99 {:>8}  p99.9 {:>8}  max {:>8}  errors {} ({:.3}%)",
                p.count,
                p.rate,
                fmt_us(c.p50 as f64),
                fmt_us(c.p90 as f64),
                fmt_us(c.p99 as f64),
                fmt_us(c.p999 as f64),
                fmt_us(c.max as f64),
                p.errors,
                p.error_rate * 100.0
            )?;
        }
        if let Some(sg) = &sc.signing {
            writeln!(
                out,
                "    signing: {} · one core {:.0}/s · offered {:.2}× one core · {}",
                sg.mode,
                sg.single_core_rate,
                sg.offered_vs_single_core,
                if sg.limited {
                    "signing LIMITED the offered load"
                } else {
                    "not limited by signing"
                }
            )?;
        }
        if let Some(t) = &sc.tokens {
            writeln!(
                out,
                "    tokens: {} requests, {} refreshes ahead, {} 401 retries, {} failures",
                t.token_requests, t.refreshes_ahead, t.unauthorized_retries, t.failures
            )?;
        }
        if let Some(st) = &sc.storm {
            writeln!(
                out,
                "    storm: {} tokens revoked, recovery {}, burst {} token requests (peak {:.0}/s)",
                st.revoked_tokens,
                st.recovery_ms
                    .map_or("incomplete".into(), |v| format!("{v:.0} ms")),
                st.burst_token_requests,
                st.peak_token_rate
            )?;
        }
    }
    Ok(())
}
