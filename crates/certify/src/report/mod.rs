//! The certification reporters, one per file: [`terminal`] (text for a terminal or a pipe),
//! [`json`] (`summary.json` and the `events.jsonl` log), [`html`] (a self-contained page)
//! and [`junit`] (`junit.xml`). Each writes to an `impl Write`; [`write_all`] puts them in a
//! report folder. Nothing secret reaches them: tokens are redacted prefixes, assertions are
//! never kept.

pub mod html;
pub mod json;
pub mod junit;
pub mod terminal;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bearing_report::{create_file as create, file_error as io};

use crate::error::Result;
use crate::event::Event;
use crate::summary::CertifySummary;

/// The files a report folder holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The folder.
    pub dir: PathBuf,
    /// `summary.json`.
    pub summary: PathBuf,
    /// `report.html`.
    pub html: PathBuf,
    /// `junit.xml`.
    pub junit: PathBuf,
    /// `events.jsonl`: the recorded log, one event per line.
    pub events: PathBuf,
}

/// `reports/<UTC timestamp>-certify` under `base` (e.g. `reports/20261128T043000Z-certify`).
pub fn default_dir(base: &Path, at: SystemTime) -> PathBuf {
    bearing_report::default_dir(base, "certify", at)
}

/// Writes `summary.json`, `report.html`, `junit.xml` and `events.jsonl` into `dir` (created
/// if needed).
///
/// # Errors
/// [`Error::Io`](crate::Error::Io) naming the file that could not be written;
/// [`Error::Report`](crate::Error::Report) when a serializer fails.
pub fn write_all(summary: &CertifySummary, events: &[Event], dir: &Path) -> Result<Written> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let w = Written {
        dir: dir.to_owned(),
        summary: dir.join("summary.json"),
        html: dir.join("report.html"),
        junit: dir.join("junit.xml"),
        events: dir.join("events.jsonl"),
    };
    let mut f = create(&w.summary)?;
    json::write_summary(&mut f, summary)?;
    f.flush().map_err(io(&w.summary))?;
    let mut f = create(&w.html)?;
    html::write(&mut f, summary, events).map_err(io(&w.html))?;
    f.flush().map_err(io(&w.html))?;
    let mut f = create(&w.junit)?;
    junit::write(&mut f, summary)?;
    f.flush().map_err(io(&w.junit))?;
    let mut f = create(&w.events)?;
    json::write_events(&mut f, events)?;
    f.flush().map_err(io(&w.events))?;
    Ok(w)
}
