//! `bearing report …`: work on report sets already written. `report merge` merges the shard
//! reports of one sharded run (`bearing load --shard i/N`) into the report set of a single
//! run, exactly: histograms added, counts summed, thresholds evaluated again (issue 8).
//! Exits 0 when merged and every threshold held, 1 when a shard is missing or failed or a
//! threshold was missed, 2 when the shards are not one run (another profile, another N, a
//! duplicate) or a file is malformed.

mod evidence;

use std::path::PathBuf;
use std::time::Duration;

use bearing_load::{MergeOutcome, merge};

use crate::exit::Exit;
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
                let quiet = g.quiet;
                bearing_load::wait_for_shards(&m.dirs, limit, |ready, total, waited| {
                    if !quiet {
                        eprintln!(
                            "waiting for shard reports: {ready}/{total} finished ({:.0}s of {})",
                            waited.as_secs_f64(),
                            humantime::format_duration(limit)
                        );
                    }
                })
                .await;
            }
            run_merge(&m, g)
        }
        ReportCommand::Diff(d) => evidence::run_diff(&d, g),
        ReportCommand::Bundle(b) => evidence::run_bundle(&b, g),
        ReportCommand::Verify(v) => evidence::run_verify(&v, g),
    }
}

fn run_merge(a: &MergeArgs, g: &Global) -> anyhow::Result<Exit> {
    let (merged, s) = match bearing_load::merge_shards(&a.dirs, &a.out, a.whole_run)? {
        MergeOutcome::Merged(m, s) => (m, s),
        MergeOutcome::Refused(e) => return refused(&e, g),
    };
    let json = || bearing_load::merged_json(&a.out, &merged.info, &s);
    crate::output::emit(g, json, |o| {
        bearing_load::report::text::write_merged(o, &s, &merged.info, &a.out)
    })?;
    Ok(if s.passed { Exit::Ok } else { Exit::Failed })
}

/// Says why the merge was refused (every issue) and picks the exit code.
fn refused(e: &merge::MergeError, g: &Global) -> anyhow::Result<Exit> {
    match g.output {
        Format::Json => crate::output::print_json(&bearing_load::refused_json(e))?,
        Format::Text => bearing_load::write_refused(e, &mut std::io::stderr().lock())?,
    }
    Ok(if e.is_unusable() {
        Exit::BadInput
    } else {
        Exit::Failed
    })
}
