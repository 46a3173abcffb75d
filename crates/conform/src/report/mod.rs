//! Reporters, one per file (hurl's layout): [`terminal`] (progress bar and the table grouped
//! by category), [`json`] (`summary.json`, pinned by `schemas/conform-summary.schema.json`),
//! [`junit`] (`junit.xml`, failures apart from errors) and [`html`] (a self-contained
//! `report.html`). Each writes to an `impl Write`; [`write_all`] puts the files in a folder.

pub mod compare;
pub mod html;
pub mod json;
pub mod junit;
pub mod terminal;

use std::path::{Path, PathBuf};

use bearing_report::{create_file as create, file_error as io};

use crate::error::Result;
use crate::outcome::RunSummary;

/// The files a run wrote.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    /// The folder.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: PathBuf,
    /// `junit.xml`.
    pub junit: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
}

/// `reports/<UTC timestamp>-conform` under `base` (e.g. `reports/20261128T043000Z-conform`).
pub fn default_dir(base: &Path, at: std::time::SystemTime) -> PathBuf {
    bearing_report::default_dir(base, "conform", at)
}

/// Writes `summary.json`, `junit.xml` and `report.html` into `dir` (created if needed).
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) naming the file; [`Error::Report`](crate::Error::Report)
/// if JUnit serialization fails.
pub fn write_all(summary: &RunSummary, dir: &Path) -> Result<ReportFiles> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let files = ReportFiles {
        dir: dir.to_owned(),
        summary: dir.join("summary.json"),
        junit: dir.join("junit.xml"),
        html: dir.join("report.html"),
    };
    let mut w = create(&files.summary)?;
    json::write(summary, &mut w).map_err(io(&files.summary))?;
    w.flush().map_err(io(&files.summary))?;
    let mut w = create(&files.junit)?;
    junit::write(summary, &mut w)?;
    w.flush().map_err(io(&files.junit))?;
    let mut w = create(&files.html)?;
    html::write(summary, &mut w).map_err(io(&files.html))?;
    w.flush().map_err(io(&files.html))?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The default folder name is a compact UTC timestamp.
    #[test]
    fn folder_name() {
        let d = default_dir(Path::new("reports"), std::time::UNIX_EPOCH);
        assert_eq!(d, Path::new("reports/19700101T000000Z-conform"));
    }
}
