//! Known deviations: `--expect-fail FILE` (issue 17, point 1). The file is a YAML list:
//!
//! ```yaml
//! - id: ac-aud-array                # a conform case id, a certify check id
//!   reason: gateway takes one aud only (ticket GW-123)
//!   expires: 2027-03-31             # optional: after this day the entry no longer applies
//! ```
//!
//! A listed case that fails is an *expected failure* and does not fail the run; a listed
//! case that passes is *stale* ("expected failure now passes — remove it from FILE") and
//! fails the run, so the list cannot rot; an id the suites do not know is bad input.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::html::Html;

/// One entry of the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Case or check id.
    pub id: String,
    /// Why the failure is accepted (shown in every report).
    pub reason: String,
    /// Last day (YYYY-MM-DD, UTC) the entry applies.
    #[serde(default)]
    pub expires: Option<String>,
}

/// A loaded list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectList {
    /// The file, as given.
    pub file: String,
    /// Its entries, in file order.
    pub entries: Vec<Entry>,
}

/// What a listed id did in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seen {
    /// It failed (or errored, or saw no evidence).
    Failed,
    /// It passed.
    Passed,
    /// It did not run (filtered out, skipped).
    NotRun,
}

/// How an entry applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Listed and failed: does not fail the run.
    ExpectedFailure,
    /// Listed and passed: the entry is stale; fails the run (exit 1).
    NowPasses,
    /// Past its `expires` day: the failure counts again.
    Expired,
    /// Listed but not run.
    NotRun,
}

impl Status {
    /// The words reports use.
    pub fn describe(self) -> &'static str {
        match self {
            Self::ExpectedFailure => "expected failure",
            Self::NowPasses => "expected failure now passes",
            Self::Expired => "expired: the failure counts",
            Self::NotRun => "not run",
        }
    }
}

/// One entry after the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// Case or check id.
    pub id: String,
    /// The reason from the file.
    pub reason: String,
    /// The expiry day, if any.
    pub expires: Option<String>,
    /// How it applied.
    pub status: Status,
}

/// The list as applied to one run (what summaries record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpectReport {
    /// The file.
    pub file: String,
    /// Every entry.
    pub entries: Vec<Applied>,
}

impl ExpectReport {
    /// The entry that turns `id`'s failure into an expected one.
    pub fn expected(&self, id: &str) -> Option<&Applied> {
        self.entries
            .iter()
            .find(|e| e.id == id && e.status == Status::ExpectedFailure)
    }

    /// Entries whose case now passes.
    pub fn stale(&self) -> impl Iterator<Item = &Applied> {
        self.entries
            .iter()
            .filter(|e| e.status == Status::NowPasses)
    }

    /// How many failures were expected.
    pub fn expected_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.status == Status::ExpectedFailure)
            .count()
    }
}

fn valid_day(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&s[5..7].parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&s[8..10].parse::<u8>().unwrap_or(0))
}

/// Today's date, UTC, as `YYYY-MM-DD`.
pub fn today() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()[..10].to_owned()
}

impl ExpectList {
    /// Reads and checks a list file.
    ///
    /// # Errors
    /// [`Error::Io`] (read) or [`Error::Invalid`] naming the file, the entry and the field:
    /// not YAML, an unknown field, an empty id or reason, a bad date, a duplicate id.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses list text; `file` names it in errors.
    ///
    /// # Errors
    /// As [`ExpectList::load`].
    pub fn parse(text: &str, file: &str) -> Result<Self> {
        let entries: Vec<Entry> = if text.trim().is_empty() {
            Vec::new()
        } else {
            bearing_auth::yaml::from_str(text, file)
                .map_err(|e| Error::invalid(e.place(), e.detail()))?
        };
        let mut seen = std::collections::BTreeSet::new();
        for (i, e) in entries.iter().enumerate() {
            let at = format!("{file}: entry {} ({:?})", i + 1, e.id);
            if e.id.trim().is_empty() {
                return Err(Error::invalid(at, "id is empty"));
            }
            if e.reason.trim().is_empty() {
                return Err(Error::invalid(
                    at,
                    "reason is empty: say why the failure is accepted",
                ));
            }
            if let Some(d) = e.expires.as_deref().filter(|d| !valid_day(d)) {
                return Err(Error::invalid(
                    at,
                    format!("expires {d:?}: expected YYYY-MM-DD"),
                ));
            }
            if !seen.insert(e.id.as_str()) {
                return Err(Error::invalid(at, "listed twice"));
            }
        }
        Ok(Self {
            file: file.to_owned(),
            entries,
        })
    }

    /// Checks every id against the ids the run knows (every case of the suites, every
    /// check of the catalog).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first unknown id (and a close known one).
    pub fn check_known<'a>(&self, known: impl IntoIterator<Item = &'a str> + Clone) -> Result<()> {
        for e in &self.entries {
            if !known.clone().into_iter().any(|k| k == e.id) {
                let near = known
                    .into_iter()
                    .find(|k| k.starts_with(&e.id) || e.id.starts_with(k));
                let hint = near
                    .map(|n| format!(" (did you mean {n:?}?)"))
                    .unwrap_or_default();
                return Err(Error::invalid(
                    &self.file,
                    format!("unknown case, check or threshold id {:?}{hint}", e.id),
                ));
            }
        }
        Ok(())
    }

    /// Applies the list: `seen(id)` says what the id did in this run; `today` is
    /// `YYYY-MM-DD` (injected so expiry is tested without a clock).
    pub fn apply(&self, mut seen: impl FnMut(&str) -> Seen, today: &str) -> ExpectReport {
        let entries = self
            .entries
            .iter()
            .map(|e| {
                let expired = e.expires.as_deref().is_some_and(|d| d < today);
                let status = match (seen(&e.id), expired) {
                    (Seen::NotRun, _) => Status::NotRun,
                    (_, true) => Status::Expired,
                    (Seen::Failed, false) => Status::ExpectedFailure,
                    (Seen::Passed, false) => Status::NowPasses,
                };
                Applied {
                    id: e.id.clone(),
                    reason: e.reason.clone(),
                    expires: e.expires.clone(),
                    status,
                }
            })
            .collect();
        ExpectReport {
            file: self.file.clone(),
            entries,
        }
    }
}

/// Writes the applied list for a terminal: expected failures, then stale entries with what
/// to do.
///
/// # Errors
/// Write errors.
pub fn write_text(out: &mut impl Write, r: &ExpectReport) -> io::Result<()> {
    writeln!(
        out,
        "expected failures ({}): {} of {} listed",
        r.file,
        r.expected_count(),
        r.entries.len()
    )?;
    for e in &r.entries {
        match e.status {
            Status::NowPasses => writeln!(
                out,
                "  {}: expected failure now passes — remove it from {}",
                e.id, r.file
            )?,
            s => writeln!(out, "  {}: {} — {}", e.id, s.describe(), e.reason)?,
        }
    }
    Ok(())
}

/// Writes the applied list as an HTML section (heading and table).
///
/// # Errors
/// Write errors.
pub fn write_html<W: Write>(h: &mut Html<W>, r: &ExpectReport) -> io::Result<()> {
    h.el("h2", &[], &format!("Expected failures ({})", r.file))?;
    h.open("table", &[])?;
    h.header_row(&["id", "status", "reason", "expires"])?;
    for e in &r.entries {
        h.row(&[
            &e.id,
            e.status.describe(),
            &e.reason,
            e.expires.as_deref().unwrap_or("—"),
        ])?;
    }
    h.close("table")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = "- id: a\n  reason: known\n- id: b\n  reason: fixed upstream\n  expires: 2026-01-31\n- id: c\n  reason: later\n";

    // Failed → expected, passed → stale, expired → counts again, not run → not run.
    #[test]
    fn statuses() {
        let l = ExpectList::parse(LIST, "x.yaml").expect("parse");
        l.check_known(["a", "b", "c"]).expect("known");
        let r = l.apply(
            |id| match id {
                "a" => Seen::Failed,
                "b" => Seen::Failed,
                _ => Seen::Passed,
            },
            "2026-02-01",
        );
        let st: Vec<_> = r.entries.iter().map(|e| e.status).collect();
        assert_eq!(
            st,
            [Status::ExpectedFailure, Status::Expired, Status::NowPasses]
        );
        assert!(r.expected("a").is_some() && r.expected("b").is_none());
    }

    // Unknown ids, bad dates, duplicates and unknown fields are refused with the entry named.
    #[test]
    fn bad_lists() {
        let l = ExpectList::parse(LIST, "x.yaml").expect("parse");
        let e = l.check_known(["a", "b"]).expect_err("unknown");
        assert!(e.to_string().contains("\"c\""), "{e}");
        for bad in [
            "- id: a\n  reason: r\n  expires: 31/01/2026\n",
            "- id: a\n  reason: r\n- id: a\n  reason: r\n",
            "- id: a\n  reason: r\n  why: x\n",
            "- id: a\n  reason: ''\n",
        ] {
            let e = ExpectList::parse(bad, "x.yaml").expect_err(bad);
            assert!(e.to_string().starts_with("x.yaml"), "{e}");
        }
    }
}
