//! `bearing report merge` around the merge itself: waiting for the shards of a sharded run
//! to finish, refusing an output folder that is one of them, and the documents and lines
//! that say what was merged or why not. Values and writers only; the CLI prints.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::merge::{MergeError, MergeInfo};
use crate::report::LoadSummary;

/// Polls until every directory holds a `summary.json` (written last, so a finished report)
/// or `limit` has passed; `progress(ready, total, waited)` is called whenever the count of
/// finished shards changes.
pub async fn wait_for_shards(
    dirs: &[PathBuf],
    limit: Duration,
    mut progress: impl FnMut(usize, usize, Duration),
) {
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
        if ready != last {
            progress(ready, dirs.len(), start.elapsed());
            last = ready;
        }
        if start.elapsed() >= limit {
            return;
        }
        tokio::time::sleep(Duration::from_secs(1).min(limit)).await;
    }
}

/// The shard directory that `out` names, if it names one (by canonical path when both
/// exist): merging into it would overwrite a shard.
pub fn out_is_a_shard<'a>(dirs: &'a [PathBuf], out: &Path) -> Option<&'a PathBuf> {
    let same = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    };
    dirs.iter().find(|d| same(d, out))
}

/// The JSON document of a merge that was written to `out`.
pub fn merged_json(out: &Path, info: &MergeInfo, summary: &LoadSummary) -> serde_json::Value {
    serde_json::json!({
        "merged": true,
        "report_dir": out.display().to_string(),
        "shards": info,
        "summary": summary,
    })
}

/// The JSON document of a refused merge: every issue.
pub fn refused_json(e: &MergeError) -> serde_json::Value {
    serde_json::json!({
        "merged": false,
        "issues": e.issues,
        "message": e.to_string(),
    })
}

/// Writes why the merge was refused: every issue on its own line.
///
/// # Errors
/// A write error.
pub fn write_refused(e: &MergeError, out: &mut impl Write) -> io::Result<()> {
    writeln!(out, "error: not merged: {} problem(s)", e.issues.len())?;
    for i in &e.issues {
        writeln!(out, "  {i}")?;
    }
    Ok(())
}
