//! The terminal reporter: a progress bar while the run goes on ([`Progress`], an
//! [`Observer`] drawing with indicatif to whatever target the caller chooses, with the
//! countdown of long waits), then a table of outcomes grouped by category and the cases that
//! did not pass ([`write_table`], to any `impl Write`).

use std::io::Write;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::model::Category;
use crate::outcome::{CaseOutcome, CaseResult, Counts, RunSummary};
use crate::runner::Observer;

/// Progress of a run as an indicatif bar.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar drawing to `target` (`ProgressDrawTarget::stderr()`, or `hidden()`).
    pub fn new(target: ProgressDrawTarget) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), target);
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed:>4} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        Self { bar }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for Progress {
    fn started(&self, total: usize) {
        self.bar
            .set_length(u64::try_from(total).unwrap_or(u64::MAX));
    }

    fn case_started(&self, id: &str) {
        self.bar.set_message(id.to_owned());
    }

    fn case_finished(&self, r: &CaseResult) {
        self.bar.inc(1);
        if matches!(r.outcome, CaseOutcome::Fail | CaseOutcome::Error) {
            self.bar
                .println(format!("{:5} {} {}", r.outcome, r.id, r.reason));
        }
    }

    fn waiting(&self, id: &str, remaining: Duration, why: &str) {
        self.bar
            .set_message(format!("{id}: {} s left ({why})", remaining.as_secs()));
    }
}

fn paint(o: CaseOutcome, text: &str, color: bool) -> String {
    if !color {
        return text.to_owned();
    }
    let code = match o {
        CaseOutcome::Pass => "32",
        CaseOutcome::Fail => "31",
        CaseOutcome::Warn => "33",
        CaseOutcome::Error => "35",
        CaseOutcome::Skip => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Options of [`write_table`].
#[derive(Debug, Clone, Copy, Default)]
pub struct TableOptions {
    /// ANSI colours.
    pub color: bool,
    /// List every case, not only those that did not pass.
    pub all_cases: bool,
}

/// Writes the table grouped by category, then the cases that did not pass (or all), then
/// a one-line verdict.
///
/// # Errors
/// Write errors.
pub fn write_table(
    s: &RunSummary,
    out: &mut impl Write,
    opts: TableOptions,
) -> std::io::Result<()> {
    writeln!(
        out,
        "bearing conform — {} as client {}, profile {}",
        s.target.token_url, s.target.client_id, s.profile
    )?;
    writeln!(out)?;
    write!(out, "{:<22}", "category")?;
    for o in CaseOutcome::ALL {
        write!(out, "{:>7}", o.as_str())?;
    }
    writeln!(out)?;
    for cat in Category::ALL {
        let counts = Counts::of(s.cases.iter().filter(|c| c.category == cat));
        if counts.total() == 0 {
            continue;
        }
        write!(out, "{:<22}", cat.as_str())?;
        for o in CaseOutcome::ALL {
            let n = counts.get(o);
            let cell = format!("{n:>7}");
            write!(
                out,
                "{}",
                if n > 0 && o != CaseOutcome::Pass {
                    paint(o, &cell, opts.color)
                } else {
                    cell
                }
            )?;
        }
        writeln!(out)?;
    }
    write!(out, "{:<22}", "total")?;
    for o in CaseOutcome::ALL {
        write!(out, "{:>7}", s.counts.get(o))?;
    }
    writeln!(out)?;
    let listed: Vec<&CaseResult> = s
        .cases
        .iter()
        .filter(|c| opts.all_cases || c.outcome != CaseOutcome::Pass)
        .collect();
    if !listed.is_empty() {
        writeln!(out)?;
        for cat in Category::ALL {
            for c in listed.iter().filter(|c| c.category == cat) {
                let tag = paint(c.outcome, &format!("{:<5}", c.outcome.as_str()), opts.color);
                writeln!(
                    out,
                    "{tag} {:<32} {:<8} {}",
                    c.id,
                    c.level.as_str(),
                    c.reason
                )?;
            }
        }
    }
    writeln!(out)?;
    if let Some(c) = &s.continues {
        writeln!(
            out,
            "re-run of {} case(s) that failed in {} ({})",
            c.cases.len(),
            c.summary,
            c.started_at
        )?;
    }
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_text(out, x)?;
    }
    let unexpected = s.unexpected_failures();
    let verdict = if unexpected == 0 && s.counts.fail + s.counts.error > 0 {
        format!(
            "{} case(s) failed, every one listed as an expected failure",
            s.counts.fail + s.counts.error
        )
    } else if s.counts.fail > 0 {
        format!("{} case(s) failed", s.counts.fail)
    } else if s.counts.error > 0 {
        format!("{} case(s) could not run", s.counts.error)
    } else {
        "every binding (MUST/CONFIG) expectation held".to_owned()
    };
    writeln!(
        out,
        "{} cases in {:.1} s: {verdict}",
        s.counts.total(),
        s.duration.as_secs_f64()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // The progress bar takes every observer call without a terminal.
    #[test]
    fn progress_observer() {
        let p = Progress::new(ProgressDrawTarget::hidden());
        p.started(2);
        p.case_started("tr-happy-path");
        p.waiting("ex-token-lifetime", Duration::from_secs(12), "token expiry");
        assert!(p.bar.message().contains("12 s left"));
        p.finish();
    }
}
