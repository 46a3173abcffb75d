//! Thresholds, like k6's (issue 7): `p99 < 200ms`, `error_rate < 0.1%`, `rate >= 1000/s`,
//! optionally naming a phase (`token.p99 < 50ms`, `sign.rate >= 5000/s`, `connect.p99 < 5ms`,
//! `handshake.rate >= 500/s`) and the uncorrected
//! figure (`api.p99:uncorrected < 5ms`). A missed threshold makes `bearing load` exit 1.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::stats::{Phase, PhaseStats};

/// What a threshold measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency percentile, in 0..=100 (`p99.9` is 99.9).
    Percentile(f64),
    /// The largest latency.
    Max,
    /// The mean latency.
    Mean,
    /// Failed requests / all requests.
    ErrorRate,
    /// Completed requests per second of the phase's run time.
    Rate,
    /// Number of completed requests.
    Count,
    /// Number of failed requests.
    Errors,
}

impl Metric {
    fn is_latency(self) -> bool {
        matches!(self, Self::Percentile(_) | Self::Max | Self::Mean)
    }
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl Op {
    fn holds(self, actual: f64, limit: f64) -> bool {
        match self {
            Self::Lt => actual < limit,
            Self::Le => actual <= limit,
            Self::Gt => actual > limit,
            Self::Ge => actual >= limit,
        }
    }
}

/// One parsed threshold. Latency limits are held in µs, rates in requests/s, error rates as
/// a fraction.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// The expression as written.
    pub expr: String,
    /// The phase it reads; `None` means the scenario's main phase.
    pub phase: Option<Phase>,
    /// What it measures.
    pub metric: Metric,
    /// Whether a latency threshold reads the uncorrected figure (default: corrected).
    pub uncorrected: bool,
    /// The comparison.
    pub op: Op,
    /// The limit, in µs / requests per second / fraction / count.
    pub limit: f64,
}

/// The outcome of one threshold on one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// The expression as written.
    pub expr: String,
    /// Where it was evaluated: a scenario name, or `run`.
    pub scope: String,
    /// The measured value, in the threshold's unit (µs, req/s, fraction, count).
    pub actual: f64,
    /// The limit, in the same unit.
    pub limit: f64,
    /// The measured value as a person reads it (`212.4ms`, `0.02%`, `987.0/s`).
    pub actual_display: String,
    /// Whether it held.
    pub passed: bool,
}

fn bad(expr: &str, reason: impl Into<String>) -> Error {
    Error::Threshold {
        expr: expr.to_owned(),
        reason: reason.into(),
    }
}

const HELP: &str = "expected METRIC OP VALUE, e.g. `p99 < 200ms`, `error_rate < 0.1%`, \
    `rate >= 1000/s`; METRIC is p50|p90|p95|p99|p99.9|max|mean|error_rate|rate|count|errors, \
    optionally prefixed by a phase (sign., token., api., connect., handshake.) and suffixed by :uncorrected";

impl FromStr for Threshold {
    type Err = Error;

    fn from_str(expr: &str) -> Result<Self> {
        let s = expr.trim();
        let (pos, op_len, op) = ["<=", ">=", "<", ">"]
            .iter()
            .find_map(|o| s.find(o).map(|p| (p, o.len(), *o)))
            .ok_or_else(|| bad(expr, format!("no comparison (<, <=, >, >=): {HELP}")))?;
        let op = match op {
            "<=" => Op::Le,
            ">=" => Op::Ge,
            "<" => Op::Lt,
            _ => Op::Gt,
        };
        let lhs = s[..pos].trim();
        let rhs = s[pos + op_len..].trim();
        if lhs.is_empty() || rhs.is_empty() {
            return Err(bad(expr, HELP));
        }
        let (lhs, uncorrected) = match lhs.strip_suffix(":uncorrected") {
            Some(l) => (l.trim(), true),
            None => (lhs, false),
        };
        let (phase, metric_name) = match lhs.split_once('.') {
            Some((p, m)) if Phase::from_name(p).is_some() => (Phase::from_name(p), m),
            _ => (None, lhs),
        };
        let metric = parse_metric(metric_name)
            .ok_or_else(|| bad(expr, format!("unknown metric {metric_name:?}: {HELP}")))?;
        if uncorrected && !metric.is_latency() {
            return Err(bad(expr, ":uncorrected only applies to latency metrics"));
        }
        let limit = match metric {
            m if m.is_latency() => parse_latency_us(rhs).ok_or_else(|| {
                bad(
                    expr,
                    format!("{rhs:?} is not a duration (use us, µs, ms, s: `200ms`)"),
                )
            })?,
            Metric::ErrorRate => parse_fraction(rhs).ok_or_else(|| {
                bad(
                    expr,
                    format!("{rhs:?} is not a rate of errors (use `0.1%` or `0.001`)"),
                )
            })?,
            Metric::Rate => parse_per_second(rhs).ok_or_else(|| {
                bad(
                    expr,
                    format!("{rhs:?} is not a rate (use `1000/s`, `60/m` or a number)"),
                )
            })?,
            _ => rhs
                .parse::<u64>()
                .map_err(|_| bad(expr, format!("{rhs:?} is not a whole number")))?
                as f64,
        };
        Ok(Self {
            expr: s.to_owned(),
            phase,
            metric,
            uncorrected,
            op,
            limit,
        })
    }
}

fn parse_metric(m: &str) -> Option<Metric> {
    Some(match m {
        "max" => Metric::Max,
        "mean" | "avg" => Metric::Mean,
        "error_rate" => Metric::ErrorRate,
        "rate" => Metric::Rate,
        "count" => Metric::Count,
        "errors" => Metric::Errors,
        "p999" => Metric::Percentile(99.9),
        _ => {
            let p: f64 = m.strip_prefix('p')?.parse().ok()?;
            if !(0.0..=100.0).contains(&p) {
                return None;
            }
            Metric::Percentile(p)
        }
    })
}

/// Parses `200ms`, `1.5s`, `250us`, `250µs` into µs.
pub fn parse_latency_us(s: &str) -> Option<f64> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let factor = match unit.trim() {
        "us" | "µs" => 1.0,
        "ms" => 1_000.0,
        "s" => 1_000_000.0,
        _ => return None,
    };
    Some(n * factor).filter(|v| v.is_finite() && *v >= 0.0)
}

fn parse_fraction(s: &str) -> Option<f64> {
    let v = match s.strip_suffix('%') {
        Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
        None => s.parse::<f64>().ok()?,
    };
    Some(v).filter(|v| (0.0..=1.0).contains(v))
}

/// Parses `1000/s`, `60/m`, `1000` into requests per second.
pub fn parse_per_second(s: &str) -> Option<f64> {
    let (num, per) = match s.split_once('/') {
        Some((n, u)) => (n.trim(), u.trim()),
        None => (s.trim(), "s"),
    };
    let n: f64 = num.parse().ok()?;
    let div = match per {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    Some(n / div).filter(|v| v.is_finite() && *v >= 0.0)
}

/// Formats µs as a person reads them: `850µs`, `12.3ms`, `1.20s`.
pub fn fmt_us(us: f64) -> String {
    if us < 1_000.0 {
        format!("{us:.0}µs")
    } else if us < 1_000_000.0 {
        format!("{:.1}ms", us / 1_000.0)
    } else {
        format!("{:.2}s", us / 1_000_000.0)
    }
}

impl ThresholdResult {
    /// The id `--expect-fail` lists it by (issue 17): the expression and its scope as the
    /// terminal prints them, `p99 < 200ms [run]` or `p99 < 50ms [token]`.
    pub fn id(&self) -> String {
        threshold_id(&self.expr, &self.scope)
    }

    /// Whether an `--expect-fail` id names this result: its [`ThresholdResult::id`], or the
    /// bare expression (then every scope where it is written).
    pub fn is_named(&self, id: &str) -> bool {
        id == self.expr || id == self.id()
    }
}

fn threshold_id(expr: &str, scope: &str) -> String {
    format!("{expr} [{scope}]")
}

/// What holds thresholds in scopes: a load profile (its own, scope `run`, and each
/// scenario's, scoped by its name). Here rather than a `LoadProfile` argument so thresholds
/// do not import the profile that imports them.
pub trait ScopedThresholds {
    /// Every threshold with its scope.
    fn scoped_thresholds(&self) -> Vec<(&Threshold, &str)>;
}

/// Every id `--expect-fail` may name for `profile`'s thresholds: each expression bare and
/// with its scope (`run` for the profile's own, the scenario's name for a scenario's).
pub fn ids(profile: &impl ScopedThresholds) -> Vec<String> {
    profile
        .scoped_thresholds()
        .into_iter()
        .flat_map(|(t, scope)| [t.expr.clone(), threshold_id(&t.expr, scope)])
        .collect()
}

impl Threshold {
    /// Evaluates against a phase's results; `scope` names where (scenario or `run`).
    pub fn evaluate(&self, stats: &PhaseStats, scope: &str) -> ThresholdResult {
        let lat = if self.uncorrected {
            &stats.uncorrected
        } else {
            &stats.corrected
        };
        let (actual, display) = match self.metric {
            Metric::Percentile(p) => {
                let v = lat.percentile(p);
                (v, fmt_us(v))
            }
            Metric::Max => (lat.max as f64, fmt_us(lat.max as f64)),
            Metric::Mean => (lat.mean, fmt_us(lat.mean)),
            Metric::ErrorRate => {
                let r = stats.error_rate();
                (r, format!("{:.3}%", r * 100.0))
            }
            Metric::Rate => (stats.rate, format!("{:.1}/s", stats.rate)),
            Metric::Count => (stats.count as f64, stats.count.to_string()),
            Metric::Errors => (stats.errors as f64, stats.errors.to_string()),
        };
        // No samples: a latency or rate ceiling cannot be judged as met by silence.
        let passed = if stats.count == 0 && self.metric.is_latency() {
            false
        } else {
            self.op.holds(actual, self.limit)
        };
        ThresholdResult {
            expr: self.expr.clone(),
            scope: scope.to_owned(),
            actual,
            limit: self.limit,
            actual_display: display,
            passed,
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

impl Serialize for Threshold {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.expr)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: Error| serde::de::Error::custom(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The three forms the issue names parse to the right units.
    #[test]
    fn parses_the_issue_examples() {
        let t: Threshold = "p99 < 200ms".parse().expect("p99");
        assert_eq!(
            (t.metric, t.op, t.limit, t.phase),
            (Metric::Percentile(99.0), Op::Lt, 200_000.0, None)
        );
        let t: Threshold = "error_rate < 0.1%".parse().expect("error rate");
        assert!((t.limit - 0.001).abs() < 1e-12);
        let t: Threshold = "rate >= 1000/s".parse().expect("rate");
        assert_eq!((t.metric, t.op, t.limit), (Metric::Rate, Op::Ge, 1000.0));
        let t: Threshold = "token.p99.9:uncorrected <= 1.5s".parse().expect("phase");
        assert_eq!(
            (t.phase, t.metric, t.uncorrected, t.limit),
            (
                Some(Phase::Token),
                Metric::Percentile(99.9),
                true,
                1_500_000.0
            )
        );
        let t: Threshold = "rate > 60/m".parse().expect("per minute");
        assert!((t.limit - 1.0).abs() < 1e-12);
    }

    // The connection phases (issue 15) are thresholds' phases too.
    #[test]
    fn connection_phases_parse() {
        let t: Threshold = "connect.p99 < 5ms".parse().expect("connect");
        assert_eq!(
            (t.phase, t.metric, t.limit),
            (Some(Phase::Connect), Metric::Percentile(99.0), 5_000.0)
        );
        let t: Threshold = "handshake.rate >= 500/s".parse().expect("handshake");
        assert_eq!((t.phase, t.metric), (Some(Phase::Handshake), Metric::Rate));
    }

    // Bad expressions say what is wrong and what is accepted.
    #[test]
    fn clear_errors() {
        for (expr, needle) in [
            ("p99 200ms", "no comparison"),
            ("p101 < 2ms", "unknown metric"),
            ("p99 < 200", "not a duration"),
            ("error_rate < 5", "not a rate of errors"),
            ("rate >= fast", "not a rate"),
            ("rate:uncorrected > 1", "only applies to latency"),
            ("< 3ms", "expected METRIC OP VALUE"),
        ] {
            let e = expr.parse::<Threshold>().expect_err(expr).to_string();
            assert!(e.contains(needle), "{expr}: {e}");
            assert!(e.contains(expr.trim()), "{expr}: {e}");
        }
    }
}
