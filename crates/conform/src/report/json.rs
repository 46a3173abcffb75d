//! `summary.json`: the whole [`RunSummary`] — per case id, category, level, outcome, reason,
//! citation, duration, findings and redacted exchanges. Its shape is pinned by
//! `schemas/conform-summary.schema.json`, and a test validates real output against it.

use std::io::Write;

use crate::outcome::RunSummary;

/// Writes the summary as pretty JSON with a trailing newline.
///
/// # Errors
/// Write errors.
pub fn write(summary: &RunSummary, mut out: impl Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut out, summary).map_err(std::io::Error::other)?;
    writeln!(out)
}
