//! The terminal summary: per client, one line per check (verdict, id, what was seen), the
//! findings and rule of failed checks, and the overall verdict. Colour only when asked.

use std::io::{self, Write};

use crate::checks::Verdict;
use crate::summary::{CertifySummary, Overall, reasons_text};

/// How to print.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// ANSI colours.
    pub color: bool,
    /// Findings shown per failed check.
    pub findings: usize,
}

fn paint(o: Options, code: &str, text: &str) -> String {
    if o.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn seconds(ms: i64) -> String {
    format!("{:+.3} s", ms as f64 / 1000.0)
}

/// Writes the summary.
///
/// # Errors
/// Write errors.
pub fn write(w: &mut impl Write, s: &CertifySummary, o: Options) -> io::Result<()> {
    let origin = s.plan_started_ms.unwrap_or(s.ended_ms);
    let length = s.plan_started_ms.map_or(0, |p| s.ended_ms - p);
    writeln!(
        w,
        "bearing certify: plan {} ({}), profile {}, ended by {} after {:.1} s",
        s.plan.name,
        s.plan.origin,
        s.profile,
        s.ended_by.as_str(),
        length as f64 / 1000.0
    )?;
    writeln!(w, "token endpoint {}", s.token_url)?;
    if s.clients.is_empty() {
        writeln!(w, "no client was registered or seen")?;
    }
    for c in &s.clients {
        writeln!(w)?;
        let v = match c.verdict {
            Overall::Pass => paint(o, "32;1", "PASS"),
            Overall::Fail => paint(o, "31;1", "FAIL"),
            Overall::Incomplete => paint(o, "33;1", "INCOMPLETE"),
        };
        writeln!(
            w,
            "client {}: {v}  ({} pass, {} fail, {} no evidence) - {} token requests, {} tokens issued, {} API calls, {} faults",
            c.client_id,
            c.totals.pass,
            c.totals.fail,
            c.totals.no_evidence,
            c.token_requests,
            c.tokens_issued,
            c.api_calls,
            c.faults
        )?;
        if !c.refusals.is_empty() {
            writeln!(w, "  token requests refused: {}", reasons_text(&c.refusals))?;
        }
        for sc in &c.scopes {
            writeln!(
                w,
                "  scope {:?}: {} granted, refused: {}",
                sc.scope,
                sc.granted,
                reasons_text(&sc.refused)
            )?;
        }
        let width = c.checks.iter().map(|r| r.id.len()).max().unwrap_or(0);
        for r in &c.checks {
            let tag = match r.verdict {
                Verdict::Pass => paint(o, "32", "pass"),
                Verdict::Fail => paint(o, "31;1", "FAIL"),
                Verdict::NoEvidence => paint(o, "33", "none"),
            };
            writeln!(w, "  [{tag}] {:width$}  {}", r.id, r.summary)?;
            if r.verdict == Verdict::Fail {
                for f in r.findings.iter().take(o.findings.max(1)) {
                    writeln!(
                        w,
                        "         {:>10}  {}",
                        seconds(f.at_ms - origin),
                        f.detail
                    )?;
                }
                let shown = r.findings.len().min(o.findings.max(1)) as u64;
                if r.findings_total > shown {
                    writeln!(w, "         … {} more", r.findings_total - shown)?;
                }
                writeln!(w, "         rule: {}", r.rule)?;
            }
        }
    }
    if s.unattributed_events > 0 {
        writeln!(
            w,
            "\n{} requests could not be attributed to a registered client",
            s.unattributed_events
        )?;
    }
    writeln!(w)?;
    let t = s.totals;
    let line = match s.verdict {
        Overall::Pass => paint(o, "32;1", "CERTIFIED: every check passed"),
        Overall::Fail => paint(o, "31;1", &format!("NOT CERTIFIED: {}", t.describe())),
        Overall::Incomplete => paint(
            o,
            "33;1",
            &format!(
                "NOT CERTIFIED YET: {} (run the client through the whole plan)",
                t.describe()
            ),
        ),
    };
    writeln!(w, "{line}")
}
