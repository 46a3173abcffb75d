//! `bearing report …`: work on report sets already written. `report merge` merges the shard
//! reports of one sharded run (`bearing load --shard i/N`) into the report set of a single
//! run, exactly: histograms added, counts summed, thresholds evaluated again (issue 8).
//! Exits 0 when merged and every threshold held, 1 when a shard is missing or failed or a
//! threshold was missed, 2 when the shards are not one run (another profile, another N, a
//! duplicate) or a file is malformed.

mod evidence;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use bearing_load::merge::{self, MergeInfo};
use bearing_load::report::Summary;

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// The report commands.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Merge the shard reports of one sharded load run into one report, exactly.
    Merge(MergeArgs),
    /// What changed between two runs (verdicts, or load percentiles); exit 1 on a regression.
    Diff(evidence::DiffArgs),
    /// Pack a report folder into a tar.gz with a SHA-256 manifest, signed as a JWS.
    Bundle(evidence::BundleArgs),
    /// Check a bundle's hashes and signature and print what it claims.
    Verify(evidence::VerifyArgs),
}

/// Flags of `bearing report merge`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing load scenarios/load/api.yaml --shard 0/3 --report-dir run/shard-0   # on each of 3 machines\n  \
    bearing report merge run/shard-0 run/shard-1 run/shard-2 --out run/merged\n  \
    bearing report merge run/shard-* --out run/merged --output json\n\n\
    Every shard must have run the same profile (hash) with the same N, and indices 0..N-1 must \
    each appear once. Histograms are added (never averaged), counts and errors summed, the time \
    series aligned on wall-clock seconds, and the profile's thresholds evaluated again on the \
    merged data (a shard's own verdict is on its 1/N share).\n\n\
    Exit codes: 0 merged and every threshold held, 1 a shard is missing or failed or a threshold \
    was missed, 2 the directories are not the shards of one run, 3 the report could not be written.")]
pub struct MergeArgs {
    /// The shards' report directories (`bearing load --shard i/N --report-dir DIR`).
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where to write the merged report set (summary.json, *.hgrm, intervals.hlog,
    /// report.html, shards.json).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Wait up to this long (e.g. 30m) for every directory to hold a finished shard report
    /// (its summary.json) before merging: for a merge Job started beside the shards' Job.
    /// Whatever is still missing then is reported as missing.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub wait: Option<Duration>,
    /// Judge the thresholds on the whole merged run, ramp-in and ramp-out included (default:
    /// on the overlap window, the whole seconds when every shard ran).
    #[arg(long)]
    pub whole_run: bool,
}

/// Runs `bearing report …`.
///
/// # Errors
/// `--out` is one of the shards (exit 2); the merged report cannot be written (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    match a.command {
        ReportCommand::Merge(m) => {
            if let Some(limit) = m.wait {
                wait_for_shards(&m.dirs, limit, g).await;
            }
            run_merge(&m, g)
        }
        ReportCommand::Diff(d) => evidence::run_diff(&d, g),
        ReportCommand::Bundle(b) => evidence::run_bundle(&b, g),
        ReportCommand::Verify(v) => evidence::run_verify(&v, g),
    }
}

/// Polls until every directory holds a `summary.json` (written last, so a finished report)
/// or `limit` has passed.
async fn wait_for_shards(dirs: &[PathBuf], limit: Duration, g: &Global) {
    let start = Instant::now();
    let mut last = usize::MAX;
    loop {
        let ready = dirs
            .iter()
            .filter(|d| d.join("summary.json").is_file())
            .count();
        if ready == dirs.len() {
            return;
        }
        if ready != last && !g.quiet {
            eprintln!(
                "waiting for shard reports: {ready}/{} finished ({:.0}s of {})",
                dirs.len(),
                start.elapsed().as_secs_f64(),
                humantime::format_duration(limit)
            );
            last = ready;
        }
        if start.elapsed() >= limit {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1).min(limit)).await;
    }
}

/// Whether `a` and `b` name the same directory (by canonical path when both exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

fn run_merge(a: &MergeArgs, g: &Global) -> anyhow::Result<Exit> {
    if let Some(d) = a.dirs.iter().find(|d| same_dir(d, &a.out)) {
        return Err(BadInput(format!(
            "--out {} is one of the shard directories: the merge would overwrite {}",
            a.out.display(),
            d.display()
        ))
        .into());
    }
    let judge = if a.whole_run {
        merge::Judge::WholeRun
    } else {
        merge::Judge::Overlap
    };
    let merged = match merge::merge_judged(&a.dirs, judge) {
        Ok(m) => m,
        Err(e) => return refused(&e, g),
    };
    let written = merge::write(&merged, &a.out)
        .with_context(|| format!("writing the merged report into {}", a.out.display()))?;
    let s = &written.summary;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "merged": true,
            "report_dir": a.out.display().to_string(),
            "shards": merged.info,
            "summary": s,
        }))?,
        Format::Text => print_text(s, &merged.info, &a.out)?,
    }
    Ok(if s.passed { Exit::Ok } else { Exit::Failed })
}

/// Says why the merge was refused (every issue) and picks the exit code.
fn refused(e: &merge::MergeError, g: &Global) -> anyhow::Result<Exit> {
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "merged": false,
            "issues": e.issues,
            "message": e.to_string(),
        }))?,
        Format::Text => {
            let mut err = std::io::stderr().lock();
            writeln!(err, "error: not merged: {} problem(s)", e.issues.len())?;
            for i in &e.issues {
                writeln!(err, "  {i}")?;
            }
        }
    }
    Ok(if e.is_unusable() {
        Exit::BadInput
    } else {
        Exit::Failed
    })
}

fn print_text(s: &Summary, info: &MergeInfo, dir: &Path) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} — {} shards merged (profile hash {}) against {} — {:.2}s measured, start skew {:.2}s",
        s.profile.name,
        info.shard_count,
        info.profile_hash,
        s.target,
        s.duration_s,
        info.start_skew_s
    )?;
    if info.start_skew_s > 0.1 * s.duration_s {
        writeln!(
            out,
            "  warning: the shards started {:.1}s apart ({:.0}% of the run): the merged rate is \
             the sum of theirs, but they did not all load the gateway at the same time",
            info.start_skew_s,
            100.0 * info.start_skew_s / s.duration_s.max(1e-9)
        )?;
    }
    match &info.overlap {
        Some(o) => writeln!(
            out,
            "  overlap (all {} shards running): {:.0}s–{:.0}s, {} s, {} attempts ({:.1}/s) · \
             ramp-in {} s, {} attempts · ramp-out {} s, {} attempts · thresholds judged on {}",
            info.shard_count,
            o.start_s,
            o.end_s,
            o.seconds,
            o.count,
            o.count as f64 / (o.seconds.max(1) as f64),
            o.ramp_in.seconds,
            o.ramp_in.count,
            o.ramp_out.seconds,
            o.ramp_out.count,
            match info.judged_on {
                merge::Judge::Overlap => "the overlap",
                merge::Judge::WholeRun => "the whole run (--whole-run)",
            }
        )?,
        None => writeln!(
            out,
            "  overlap: none — the shards never ran together for a whole second{}",
            if info.judged_on == merge::Judge::Overlap {
                ": every threshold fails (start them with --barrier-dir or --start-at)"
            } else {
                ""
            }
        )?,
    }
    for sh in &info.shards {
        writeln!(
            out,
            "  shard {}/{}: {} attempts, {} errors, {:.1}/s over {:.2}s · {}",
            sh.index,
            info.shard_count,
            sh.count,
            sh.errors,
            if sh.duration_s > 0.0 {
                sh.count as f64 / sh.duration_s
            } else {
                0.0
            },
            sh.duration_s,
            sh.dir
        )?;
    }
    crate::cmd::load::write_underruns(&mut out, s)?;
    crate::cmd::load::write_scenarios(&mut out, s)?;
    crate::cmd::load::write_verdict(&mut out, s, "merged report", dir)?;
    Ok(())
}
