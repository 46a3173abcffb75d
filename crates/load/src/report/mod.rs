//! The report set of a run (DESIGN.md "Reports"), written into
//! `reports/<UTC timestamp>-<name>/` or `--report-dir`: `summary.json` (schema in
//! `schemas/load-summary.schema.json`), `<scenario>.<phase>[.uncorrected].hgrm`,
//! `intervals.hlog` (HdrHistogram interval log), and a self-contained `report.html`.
//! No secret ever reaches a report: only URLs, counts and timings.

pub mod hgrm;
pub mod hlog;
pub mod html;
pub mod merged;
pub mod summary;
pub mod svg;
pub mod text;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::capacity::CapacityReport;
use crate::error::{Error, Result};
use crate::result::RunResult;
use crate::stats::Phase;
pub use summary::LoadSummary;

/// File name of the interval log.
pub const INTERVAL_LOG: &str = "intervals.hlog";

/// `root/<UTC timestamp>-<name>` (e.g. `reports/20261128T043122Z-api-steady`).
pub fn default_dir(root: &Path, name: &str, now: SystemTime) -> PathBuf {
    bearing_report::default_dir(root, name, now)
}

/// What [`write`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The folder.
    pub dir: PathBuf,
    /// The summary (as written to `summary.json`).
    pub summary: LoadSummary,
    /// Every file written, relative to `dir`.
    pub files: Vec<String>,
}

fn put(dir: &Path, name: &str, data: &[u8], files: &mut Vec<String>) -> Result<()> {
    let p = dir.join(name);
    std::fs::write(&p, data).map_err(|e| Error::io(&p, e))?;
    files.push(name.to_owned());
    Ok(())
}

/// Writes the report set of `r` (and of a capacity search, when given) into `dir`.
///
/// `summary.json` is written last, through a temporary file renamed into place: its
/// presence says the report set is complete, which is how `bearing report merge` tells a
/// shard that finished from one that died while writing (issue 8).
///
/// # Errors
/// [`Error::Io`] naming the file that could not be written.
pub fn write(r: &RunResult, capacity: Option<CapacityReport>, dir: &Path) -> Result<Written> {
    write_summary(r, LoadSummary::new(r, capacity), dir)
}

/// Writes the report set of `r` judged as `summary` says (e.g. [`LoadSummary::judged`] with an
/// `--expect-fail` list).
///
/// # Errors
/// As [`write`].
pub fn write_summary(r: &RunResult, summary: LoadSummary, dir: &Path) -> Result<Written> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = Vec::new();
    let json = serde_json::to_vec_pretty(&summary).map_err(|source| Error::Encode {
        what: "summary.json",
        source,
    })?;
    for s in &r.scenarios {
        for p in Phase::ALL {
            let d = &s.phases[p as usize];
            if d.count == 0 {
                continue;
            }
            let [c, u] = summary::hgrm_names(&s.spec.name, p);
            put(dir, &c, hgrm::render(&d.corrected).as_bytes(), &mut files)?;
            put(dir, &u, hgrm::render(&d.uncorrected).as_bytes(), &mut files)?;
        }
    }
    put(dir, INTERVAL_LOG, hlog::render(r).as_bytes(), &mut files)?;
    put(
        dir,
        "report.html",
        html::render(r, &summary).as_bytes(),
        &mut files,
    )?;
    let tmp = dir.join(".summary.json.partial");
    std::fs::write(&tmp, &json).map_err(|e| Error::io(&tmp, e))?;
    let p = dir.join("summary.json");
    std::fs::rename(&tmp, &p).map_err(|e| Error::io(&p, e))?;
    files.insert(0, "summary.json".to_owned());
    Ok(Written {
        dir: dir.to_owned(),
        summary,
        files,
    })
}
