//! Reading one shard's report set (`summary.json` and the interval log), checking that it is
//! complete, and checking that a set of shards is one whole run.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry, LogIteratorError};

use super::Issue;
use crate::report::summary::{Latency, LoadSummary, SCHEMA_ID};
use crate::stats::{LatencyStats, Phase, new_histogram};

/// `(scenario, phase)`.
pub(crate) type Key = (String, Phase);

/// `(attempts, failures)` per Unix second, per `(scenario, phase)`.
pub(crate) type CountsByKey = BTreeMap<Key, BTreeMap<u64, (u64, u64)>>;

/// One interval of one scenario and phase, as logged (several entries of one second add up).
#[derive(Debug, Clone)]
pub(crate) struct LoggedInterval {
    /// Unix second it covers.
    #[allow(dead_code, reason = "kept for diagnostics in Debug output")]
    pub epoch_second: u64,
    pub corrected: Histogram<u64>,
    pub uncorrected: Histogram<u64>,
}

/// A shard's report set, read and checked.
#[derive(Debug, Clone)]
pub(crate) struct Shard {
    pub dir: PathBuf,
    pub index: u32,
    pub count: u32,
    pub summary: LoadSummary,
    pub started_at: SystemTime,
    /// Interval histograms per `(scenario, phase)`, merged per Unix second.
    pub intervals: BTreeMap<Key, BTreeMap<u64, LoggedInterval>>,
    /// Attempts and failures per `(scenario, phase)` and Unix second, when the log has them
    /// (`#[Counts: …]` lines).
    pub counts: Option<CountsByKey>,
}

fn failed(dir: &Path, index: u32, reason: impl Into<String>) -> Issue {
    Issue::Failed {
        index,
        dir: dir.to_owned(),
        reason: reason.into(),
    }
}

/// Reads and checks the shard report in `dir`.
pub(crate) fn read_shard(dir: &Path) -> Result<Shard, Issue> {
    let missing = |reason: String| Issue::Missing {
        dir: dir.to_owned(),
        reason,
    };
    if !dir.exists() {
        return Err(missing("no such directory".into()));
    }
    if !dir.is_dir() {
        return Err(Issue::unusable(dir, "not a directory"));
    }
    let sp = dir.join("summary.json");
    if !sp.exists() {
        return Err(missing("no summary.json (the shard did not finish)".into()));
    }
    let bytes =
        std::fs::read(&sp).map_err(|e| Issue::unusable(dir, format!("summary.json: {e}")))?;
    let summary: LoadSummary = serde_json::from_slice(&bytes).map_err(|e| {
        Issue::unusable(
            dir,
            format!("summary.json is not a bearing-load summary: {e}"),
        )
    })?;
    if summary.schema != SCHEMA_ID {
        return Err(Issue::unusable(
            dir,
            format!(
                "summary.json: schema {:?}, expected {SCHEMA_ID:?}",
                summary.schema
            ),
        ));
    }
    if summary.capacity.is_some() {
        return Err(Issue::unusable(
            dir,
            "the shard ran --find-capacity; capacity searches are not merged",
        ));
    }
    let (index, count) = summary
        .shard
        .as_ref()
        .map_or((0, 1), |s| (s.index, s.count));
    if count == 0 || index >= count {
        return Err(Issue::unusable(
            dir,
            format!("summary.json: shard {index}/{count} is not a valid i/N"),
        ));
    }
    let started_at = humantime::parse_rfc3339(&summary.started_at).map_err(|e| {
        Issue::unusable(
            dir,
            format!("summary.json: started_at {:?}: {e}", summary.started_at),
        )
    })?;
    let log_name = &summary.interval_log;
    if log_name.is_empty() || log_name.contains(['/', '\\']) || log_name.starts_with('.') {
        return Err(Issue::unusable(
            dir,
            format!("summary.json: interval_log {log_name:?} is not a file name in the report"),
        ));
    }
    let lp = dir.join(log_name);
    if !lp.exists() {
        return Err(failed(
            dir,
            index,
            format!("incomplete: no {log_name} beside summary.json"),
        ));
    }
    let log = std::fs::read(&lp).map_err(|e| Issue::unusable(dir, format!("{log_name}: {e}")))?;
    // The writer ends every line: a log that stops mid-line was cut short while written.
    if !log.ends_with(b"\n") {
        return Err(failed(
            dir,
            index,
            format!("incomplete: {log_name} ends mid-line (cut short while being written)"),
        ));
    }
    let (intervals, counts) = parse_log(&log, summary.base_epoch_secs)
        .map_err(|e| Issue::unusable(dir, format!("{log_name}: {e}")))?;
    let shard = Shard {
        dir: dir.to_owned(),
        index,
        count,
        summary,
        started_at,
        intervals,
        counts,
    };
    check_complete(&shard)?;
    Ok(shard)
}

type Parsed = (
    BTreeMap<Key, BTreeMap<u64, LoggedInterval>>,
    Option<CountsByKey>,
);

/// Splits a tag `{scenario}.{phase}[.{corrected|uncorrected}]` (scenario names hold no dot).
fn split_tag(tag: &str, with_figure: bool) -> Option<(String, Phase, bool)> {
    let mut parts = tag.rsplitn(if with_figure { 3 } else { 2 }, '.');
    let uncorrected = if with_figure {
        match parts.next()? {
            "corrected" => false,
            "uncorrected" => true,
            _ => return None,
        }
    } else {
        false
    };
    let phase = Phase::from_name(parts.next()?)?;
    let scenario = parts.next().filter(|s| !s.is_empty())?;
    Some((scenario.to_owned(), phase, uncorrected))
}

/// Parses an interval log as `report::hlog` writes it. Timestamps are seconds past the log's
/// `BaseTime`, which must be the summary's `base_epoch_secs`.
fn parse_log(log: &[u8], base: u64) -> Result<Parsed, String> {
    let mut intervals: BTreeMap<Key, BTreeMap<u64, LoggedInterval>> = BTreeMap::new();
    let mut log_base = None;
    for entry in IntervalLogIterator::new(log) {
        match entry {
            Err(LogIteratorError::ParseError { offset }) => {
                let line = log[..offset.min(log.len())]
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count()
                    + 1;
                return Err(format!("line {line}: not an interval log line"));
            }
            Ok(LogEntry::BaseTime(t)) => log_base = Some(t.as_secs()),
            Ok(LogEntry::StartTime(_)) => {}
            Ok(LogEntry::Interval(h)) => {
                let tag = h.tag().map(|t| t.as_str()).unwrap_or_default();
                let (scenario, phase, uncorrected) = split_tag(tag, true).ok_or_else(|| {
                    format!("tag {tag:?} is not <scenario>.<phase>.<corrected|uncorrected>")
                })?;
                let hist = crate::recorder::decode(h.encoded_histogram())
                    .map_err(|e| format!("tag {tag:?}: histogram does not decode: {e}"))?;
                let second = base + h.start_timestamp().as_secs();
                let slot = intervals
                    .entry((scenario, phase))
                    .or_default()
                    .entry(second)
                    .or_insert_with(|| LoggedInterval {
                        epoch_second: second,
                        corrected: new_histogram(),
                        uncorrected: new_histogram(),
                    });
                let target = if uncorrected {
                    &mut slot.uncorrected
                } else {
                    &mut slot.corrected
                };
                target
                    .add(&hist)
                    .map_err(|e| format!("tag {tag:?}: histograms do not add: {e:?}"))?;
            }
        }
    }
    match log_base {
        Some(b) if b == base => {}
        Some(b) => {
            return Err(format!(
                "BaseTime {b} differs from summary.json base_epoch_secs {base}"
            ));
        }
        None => return Err("no #[BaseTime: …] header".into()),
    }
    let counts = parse_counts(log, base)?;
    Ok((intervals, counts))
}

/// Reads the `#[Counts: Tag=<scenario>.<phase>,<second>,<count>,<errors>]` lines; `None` when
/// the log has none (a log written before they existed).
fn parse_counts(log: &[u8], base: u64) -> Result<Option<CountsByKey>, String> {
    let text = String::from_utf8_lossy(log);
    let mut out: CountsByKey = BTreeMap::new();
    let mut any = false;
    for (n, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix("#[Counts: Tag=") else {
            continue;
        };
        any = true;
        let bad = || format!("line {}: malformed counts line {line:?}", n + 1);
        let body = rest.strip_suffix(']').ok_or_else(bad)?;
        let f: Vec<&str> = body.split(',').collect();
        let [tag, second, count, errors] = f.as_slice() else {
            return Err(bad());
        };
        let (scenario, phase, _) = split_tag(tag, false).ok_or_else(bad)?;
        let second: f64 = second.parse().map_err(|_| bad())?;
        let count: u64 = count.parse().map_err(|_| bad())?;
        let errors: u64 = errors.parse().map_err(|_| bad())?;
        if !(second.is_finite() && second >= 0.0) || errors > count {
            return Err(bad());
        }
        let e = out
            .entry((scenario, phase))
            .or_default()
            .entry(base + second as u64)
            .or_default();
        e.0 += count;
        e.1 += errors;
    }
    Ok(any.then_some(out))
}

fn same(a: &Latency, b: &LatencyStats) -> bool {
    (a.p50, a.p90, a.p99, a.p999, a.max, a.min) == (b.p50, b.p90, b.p99, b.p999, b.max, b.min)
}

/// A shard is complete when its interval log adds up to its summary, exactly, and it reached
/// the gateway at all.
fn check_complete(s: &Shard) -> Result<(), Issue> {
    let fail = |reason: String| failed(&s.dir, s.index, reason);
    let known: BTreeSet<Key> = s
        .summary
        .scenarios
        .iter()
        .flat_map(|sc| {
            sc.phases
                .keys()
                .filter_map(|p| Phase::from_name(p).map(|p| (sc.name.clone(), p)))
        })
        .collect();
    let logged = s
        .intervals
        .keys()
        .chain(s.counts.iter().flat_map(BTreeMap::keys));
    for (sc, p) in logged {
        if !known.contains(&(sc.clone(), *p)) {
            return Err(Issue::unusable(
                &s.dir,
                format!(
                    "the interval log has {sc}.{} which summary.json does not",
                    p.name()
                ),
            ));
        }
    }
    for sc in &s.summary.scenarios {
        for (pname, ps) in &sc.phases {
            let phase = Phase::from_name(pname).ok_or_else(|| {
                Issue::unusable(&s.dir, format!("summary.json: unknown phase {pname:?}"))
            })?;
            let key = (sc.name.clone(), phase);
            let (mut c, mut u) = (new_histogram(), new_histogram());
            for i in s.intervals.get(&key).into_iter().flat_map(BTreeMap::values) {
                let _ = c.add(&i.corrected);
                let _ = u.add(&i.uncorrected);
            }
            let (cs, us) = (
                LatencyStats::from_histogram(c),
                LatencyStats::from_histogram(u),
            );
            if !same(&ps.latency_us.corrected, &cs) || !same(&ps.latency_us.uncorrected, &us) {
                return Err(fail(format!(
                    "incomplete: the interval log of {}.{pname} does not add up to summary.json \
                     (max {}µs logged, {}µs summarized)",
                    sc.name, cs.max, ps.latency_us.corrected.max
                )));
            }
            if let Some(counts) = &s.counts {
                let (n, e) = counts
                    .get(&key)
                    .into_iter()
                    .flat_map(BTreeMap::values)
                    .fold((0, 0), |(n, e), (a, b)| (n + a, e + b));
                if (n, e) != (ps.count, ps.errors) {
                    return Err(fail(format!(
                        "incomplete: the interval log of {}.{pname} counts {n} attempts ({e} failed), \
                         summary.json {} ({} failed)",
                        sc.name, ps.count, ps.errors
                    )));
                }
            }
            if ps.ok + ps.errors != ps.count {
                return Err(Issue::unusable(
                    &s.dir,
                    format!("summary.json: {}.{pname}: ok + errors != count", sc.name),
                ));
            }
        }
    }
    // The rule `bearing load` exits 3 by: every network attempt failed to connect.
    if let crate::report::summary::Reach::Unreachable(attempted) = s.summary.reach() {
        return Err(fail(format!(
            "could not reach the gateway: all {attempted} requests failed to connect"
        )));
    }
    let started: u64 = s.summary.scenarios.iter().map(|sc| sc.started).sum();
    let completed: u64 = s.summary.totals.values().map(|p| p.count).sum();
    if started == 0 && completed == 0 {
        return Err(fail("nothing ran: no attempt started".into()));
    }
    Ok(())
}

/// Checks that `shards` (plus the shards already known to have failed) are one whole run:
/// one profile, one `N`, each index `0..N-1` exactly once.
pub(crate) fn check_set(shards: &[Shard], earlier: &[Issue]) -> Vec<Issue> {
    let mut issues = Vec::new();
    let Some(reference) = shards.iter().min_by_key(|s| s.index) else {
        if earlier.is_empty() {
            issues.push(Issue::unusable(Path::new(""), "no shard report to merge"));
        }
        return issues;
    };
    let hash = &reference.summary.profile.hash;
    let n = reference.count;
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for e in earlier {
        if let Issue::Failed { index, dir, .. } = e {
            seen.entry(*index).or_insert(dir);
        }
    }
    for s in shards {
        if &s.summary.profile.hash != hash {
            issues.push(Issue::unusable(
                &s.dir,
                format!(
                    "ran profile {:?} (hash {}), shard {} at {} ran {:?} (hash {hash}): not one run",
                    s.summary.profile.name,
                    s.summary.profile.hash,
                    reference.index,
                    reference.dir.display(),
                    reference.summary.profile.name
                ),
            ));
        }
        if s.count != n {
            issues.push(Issue::unusable(
                &s.dir,
                format!(
                    "is shard {}/{}, but {} is shard {}/{n}: the shards disagree on N",
                    s.index,
                    s.count,
                    reference.dir.display(),
                    reference.index
                ),
            ));
        }
        let names = |x: &Shard| -> Vec<(String, String)> {
            x.summary
                .scenarios
                .iter()
                .map(|sc| (sc.name.clone(), sc.kind.clone()))
                .collect()
        };
        if names(s) != names(reference) {
            issues.push(Issue::unusable(
                &s.dir,
                format!(
                    "its scenarios differ from those of {}",
                    reference.dir.display()
                ),
            ));
        }
        if let Some(other) = seen.insert(s.index, &s.dir) {
            issues.push(Issue::unusable(
                &s.dir,
                format!(
                    "shard {}/{} appears twice: also in {}",
                    s.index,
                    s.count,
                    other.display()
                ),
            ));
        }
    }
    for index in 0..n {
        if !seen.contains_key(&index) {
            issues.push(Issue::Gap { index, count: n });
        }
    }
    for e in earlier {
        if let Issue::Failed { index, dir, .. } = e
            && *index >= n
        {
            issues.push(Issue::unusable(
                dir,
                format!("shard index {index} is out of 0..{n}"),
            ));
        }
    }
    issues
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tags split from the right, so scenario names with dashes and underscores survive.
    #[test]
    fn splits_tags() {
        assert_eq!(
            split_tag("my-api_1.token.uncorrected", true),
            Some(("my-api_1".into(), Phase::Token, true))
        );
        assert_eq!(
            split_tag("a.api", false),
            Some(("a".into(), Phase::Api, false))
        );
        assert_eq!(split_tag("a.teleport.corrected", true), None);
        assert_eq!(split_tag(".api.corrected", true), None);
        assert_eq!(split_tag("api.sideways", true), None);
    }

    // Counts lines add up per second; a malformed one names its line.
    #[test]
    fn parses_counts_lines() {
        let log = b"#x\n#[Counts: Tag=a.api,0.000,10,1]\n#[Counts: Tag=a.api,0.000,5,0]\n#[Counts: Tag=a.token,1.000,2,2]\n";
        let c = parse_counts(log, 100).expect("parses").expect("present");
        assert_eq!(c[&("a".into(), Phase::Api)][&100], (15, 1));
        assert_eq!(c[&("a".into(), Phase::Token)][&101], (2, 2));
        assert_eq!(parse_counts(b"#none\n", 0).expect("parses"), None);
        let e = parse_counts(b"\n#[Counts: Tag=a.api,0,1,2]\n", 0).expect_err("errors > count");
        assert!(e.starts_with("line 2:"), "{e}");
    }
}
