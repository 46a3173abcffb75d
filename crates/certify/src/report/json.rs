//! `summary.json` (pinned by `schemas/certify-summary.schema.json`) and `events.jsonl`, the
//! recorded log (redacted tokens and assertion claims only), one event per line.

use std::io::Write;

use crate::error::{Error, Result};
use crate::event::Event;
use crate::summary::CertifySummary;

/// Writes the summary as pretty JSON.
///
/// # Errors
/// [`Error::Report`] when writing fails.
pub fn write_summary(w: &mut impl Write, summary: &CertifySummary) -> Result<()> {
    serde_json::to_writer_pretty(&mut *w, summary).map_err(|e| Error::Report(e.to_string()))?;
    writeln!(w).map_err(|e| Error::Report(e.to_string()))
}

/// Writes the events as JSON lines.
///
/// # Errors
/// [`Error::Report`] when writing fails.
pub fn write_events(w: &mut impl Write, events: &[Event]) -> Result<()> {
    for e in events {
        serde_json::to_writer(&mut *w, e).map_err(|e| Error::Report(e.to_string()))?;
        writeln!(w).map_err(|e| Error::Report(e.to_string()))?;
    }
    Ok(())
}
