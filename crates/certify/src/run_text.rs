//! The end of a `bearing certify` run as a script or a person reads it: the summary as JSON
//! (with where its reports went), or the terminal report with the expected-failure list and
//! the reports' path, written to a caller-supplied writer.

use std::io::{self, Write};
use std::path::Path;

use crate::CertifySummary;
use crate::report::terminal;

/// The JSON document: the summary, with `report_dir` when the reports were written.
///
/// # Errors
/// A summary that does not serialise.
pub fn summary_json(
    s: &CertifySummary,
    report_dir: Option<&Path>,
) -> serde_json::Result<serde_json::Value> {
    let mut v = serde_json::to_value(s)?;
    if let (Some(d), Some(obj)) = (report_dir, v.as_object_mut()) {
        obj.insert("report_dir".into(), d.display().to_string().into());
    }
    Ok(v)
}

/// Writes the terminal report (three findings per check), the expected failures, and the
/// path of `report.html` when the reports were written.
///
/// # Errors
/// A write error.
pub fn write_run_text(
    s: &CertifySummary,
    color: bool,
    report_dir: Option<&Path>,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(out)?;
    terminal::write(out, s, terminal::Options { color, findings: 3 })?;
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_text(out, x)?;
    }
    if let Some(d) = report_dir {
        writeln!(out, "reports: {}", d.join("report.html").display())?;
    }
    Ok(())
}
