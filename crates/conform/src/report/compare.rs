//! `bearing conform --profile A --profile B …` (issue 16, step 3): the same gateway judged
//! under several profiles, side by side — a table case × profile, then per profile how many
//! binding (MUST/CONFIG) expectations held. The suites run once per profile against the same
//! target, because each profile sets different expectations for the same probe.

use std::io::Write;

use crate::outcome::{CaseOutcome, RunSummary};

/// Binding expectations of one run: `(held, ran, not_run)`. A binding case that passed
/// held; one that failed did not; skipped and errored cases were not run.
pub fn binding_counts(s: &RunSummary) -> (usize, usize, usize) {
    let binding = s.cases.iter().filter(|c| c.level.is_binding());
    let (mut held, mut ran, mut not_run) = (0, 0, 0);
    for c in binding {
        match c.outcome {
            CaseOutcome::Pass | CaseOutcome::Warn => {
                held += 1;
                ran += 1;
            }
            CaseOutcome::Fail => ran += 1,
            CaseOutcome::Error | CaseOutcome::Skip => not_run += 1,
        }
    }
    (held, ran, not_run)
}

fn cell(o: Option<CaseOutcome>) -> &'static str {
    match o {
        Some(CaseOutcome::Pass) => "pass",
        Some(CaseOutcome::Fail) => "FAIL",
        Some(CaseOutcome::Warn) => "warn",
        Some(CaseOutcome::Error | CaseOutcome::Skip) | None => "not run",
    }
}

/// Writes the table case × profile (every case with `all`, else only the cases that did not
/// pass under every profile) and one line per profile "N of M binding expectations held".
/// The first summary is the one that decides the exit code; the line says so.
///
/// # Errors
/// Write errors.
pub fn write_compare(
    summaries: &[RunSummary],
    out: &mut impl Write,
    all: bool,
) -> std::io::Result<()> {
    let Some(first) = summaries.first() else {
        return Ok(());
    };
    let width = first
        .cases
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let widths: Vec<usize> = summaries.iter().map(|s| s.profile.len().max(7)).collect();
    writeln!(
        out,
        "verdicts by profile (same gateway, suites run once per profile)"
    )?;
    write!(out, "{:<width$}", "case")?;
    for (s, w) in summaries.iter().zip(&widths) {
        write!(out, "  {:<w$}", s.profile)?;
    }
    writeln!(out)?;
    let mut hidden = 0;
    for c in &first.cases {
        let cells: Vec<Option<CaseOutcome>> = summaries
            .iter()
            .map(|s| s.cases.iter().find(|x| x.id == c.id).map(|x| x.outcome))
            .collect();
        if !all && cells.iter().all(|o| *o == Some(CaseOutcome::Pass)) {
            hidden += 1;
            continue;
        }
        write!(out, "{:<width$}", c.id)?;
        for (o, w) in cells.iter().zip(&widths) {
            write!(out, "  {:<w$}", cell(*o))?;
        }
        writeln!(out)?;
    }
    if hidden > 0 {
        writeln!(
            out,
            "({hidden} case(s) passed under every profile; --all lists them)"
        )?;
    }
    writeln!(out)?;
    for (i, s) in summaries.iter().enumerate() {
        let (held, ran, not_run) = binding_counts(s);
        let mut line = format!("{}: {held} of {ran} binding expectations held", s.profile);
        if not_run > 0 {
            line.push_str(&format!(" ({not_run} not run)"));
        }
        line.push_str(if i == 0 {
            " — judged (exit code)"
        } else {
            " — informative"
        });
        writeln!(out, "{line}")?;
    }
    Ok(())
}
