//! Results of a phase, computed from its µs HdrHistograms: counts, errors by kind, rate and
//! latency percentiles, corrected for coordinated omission and uncorrected.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A measured step of an iteration. Each has its own histograms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Signing one assertion (no network).
    Sign,
    /// One token request (`POST /oauth/token`).
    Token,
    /// One call of a protected API.
    Api,
    /// Opening a TCP connection (issue 15): recorded only when a request opens one — every
    /// request with `connection: new`, about once per user with `keep-alive`. Its time is
    /// inside the request's (`token` or `api`) time, which stays what the user waited.
    Connect,
    /// The TLS handshake on a new connection (`https://` only), after `connect`.
    Handshake,
}

impl Phase {
    /// How many phases there are (the length of per-phase arrays).
    pub const COUNT: usize = 5;

    /// Every phase, in report order.
    pub const ALL: [Phase; Self::COUNT] = [
        Phase::Sign,
        Phase::Token,
        Phase::Api,
        Phase::Connect,
        Phase::Handshake,
    ];

    /// The name used in files, thresholds and JSON (`sign`, `token`, `api`, `connect`,
    /// `handshake`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Token => "token",
            Self::Api => "api",
            Self::Connect => "connect",
            Self::Handshake => "handshake",
        }
    }

    /// Whether it is a part of opening a connection (timed inside a request, not a request
    /// of its own: not counted in the progress line's requests).
    pub fn is_connection(self) -> bool {
        matches!(self, Self::Connect | Self::Handshake)
    }

    /// Reports list phases in the order they happen: `sign`, `connect`, `handshake`, then
    /// the request (`token`, `api`).
    pub fn report_rank(name: &str) -> usize {
        ["sign", "connect", "handshake", "token", "api"]
            .iter()
            .position(|n| *n == name)
            .unwrap_or(usize::MAX)
    }

    /// Parses a phase name.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }

    /// Index into per-phase arrays.
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// A new µs histogram: 3 significant figures, growing as needed (so idle phases cost
/// almost nothing and no sample is ever refused).
pub fn new_histogram() -> Histogram<u64> {
    let mut h = Histogram::new(3).expect("3 significant figures is a valid precision");
    h.auto(true);
    h
}

/// Records `v` into an auto-resizing histogram (`saturating_record` would clamp to the
/// current highest value instead of growing).
pub fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Latency figures of one histogram, in µs.
#[derive(Clone, Serialize, Deserialize)]
pub struct LatencyStats {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest sample.
    pub max: u64,
    /// Smallest sample.
    pub min: u64,
    /// Mean.
    pub mean: f64,
    /// The histogram itself (not serialized; written to `.hgrm` and the interval log).
    #[serde(skip, default = "new_histogram")]
    pub histogram: Histogram<u64>,
}

impl std::fmt::Debug for LatencyStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LatencyStats")
            .field("p50", &self.p50)
            .field("p90", &self.p90)
            .field("p99", &self.p99)
            .field("p999", &self.p999)
            .field("max", &self.max)
            .field("mean", &self.mean)
            .finish_non_exhaustive()
    }
}

impl LatencyStats {
    /// Figures of `h`.
    pub fn from_histogram(h: Histogram<u64>) -> Self {
        let q = |p: f64| {
            if h.is_empty() {
                0
            } else {
                h.value_at_quantile(p)
            }
        };
        Self {
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
            min: if h.is_empty() { 0 } else { h.min() },
            mean: if h.is_empty() { 0.0 } else { h.mean() },
            histogram: h,
        }
    }

    /// Any percentile (0..=100), in µs.
    pub fn percentile(&self, p: f64) -> f64 {
        if self.histogram.is_empty() {
            0.0
        } else {
            self.histogram.value_at_quantile(p / 100.0) as f64
        }
    }
}

/// Everything measured about one phase.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseStats {
    /// Completed attempts (answered or failed).
    pub count: u64,
    /// Attempts that succeeded (expected status, valid body).
    pub ok: u64,
    /// Attempts that failed.
    pub errors: u64,
    /// Failures by kind (`status_503`, `connect`, `timeout`, `invalid_response`, …).
    pub errors_by_kind: BTreeMap<String, u64>,
    /// HTTP status codes seen, with counts.
    pub statuses: BTreeMap<u16, u64>,
    /// Completed attempts per second of the measured time.
    pub rate: f64,
    /// Latency from the *intended* start (coordinated-omission corrected), µs.
    pub corrected: LatencyStats,
    /// Latency from the actual start, µs.
    pub uncorrected: LatencyStats,
}

impl PhaseStats {
    /// `errors / count` (0 when nothing ran).
    pub fn error_rate(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.errors as f64 / self.count as f64
        }
    }
}

/// Counts and histograms of one phase, over one interval or a whole run; mergeable exactly.
#[derive(Debug, Clone)]
pub struct PhaseData {
    /// Latency from intended start, µs.
    pub corrected: Histogram<u64>,
    /// Latency from actual start, µs.
    pub uncorrected: Histogram<u64>,
    /// Completed attempts.
    pub count: u64,
    /// Failed attempts.
    pub errors: u64,
    /// Failures by kind.
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Status codes seen.
    pub statuses: BTreeMap<u16, u64>,
}

impl Default for PhaseData {
    fn default() -> Self {
        Self {
            corrected: new_histogram(),
            uncorrected: new_histogram(),
            count: 0,
            errors: 0,
            errors_by_kind: BTreeMap::new(),
            statuses: BTreeMap::new(),
        }
    }
}

impl PhaseData {
    /// Adds `other` into `self` (histograms added, never averaged).
    pub fn merge(&mut self, other: &PhaseData) {
        // Auto-resizing histograms of equal precision always add.
        let _ = self.corrected.add(&other.corrected);
        let _ = self.uncorrected.add(&other.uncorrected);
        self.count += other.count;
        self.errors += other.errors;
        for (k, v) in &other.errors_by_kind {
            *self.errors_by_kind.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
    }

    /// The figures of this data over `seconds` of measured time.
    pub fn stats(&self, seconds: f64) -> PhaseStats {
        PhaseStats {
            count: self.count,
            ok: self.count - self.errors,
            errors: self.errors,
            errors_by_kind: self.errors_by_kind.clone(),
            statuses: self.statuses.clone(),
            rate: if seconds > 0.0 {
                self.count as f64 / seconds
            } else {
                0.0
            },
            corrected: LatencyStats::from_histogram(self.corrected.clone()),
            uncorrected: LatencyStats::from_histogram(self.uncorrected.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Merging adds samples exactly: the merged percentiles equal one histogram of all samples.
    #[test]
    fn merge_is_exact() {
        let mut a = PhaseData::default();
        let mut b = PhaseData::default();
        let mut all = new_histogram();
        for v in 1..=5000u64 {
            let d = if v % 2 == 0 { &mut a } else { &mut b };
            record(&mut d.corrected, v * 7);
            d.count += 1;
            record(&mut all, v * 7);
        }
        b.errors_by_kind.insert("timeout".into(), 2);
        b.errors = 2;
        a.merge(&b);
        assert_eq!(a.count, 5000);
        assert_eq!(a.corrected.len(), all.len());
        for q in [0.5, 0.9, 0.99, 0.999, 1.0] {
            assert_eq!(a.corrected.value_at_quantile(q), all.value_at_quantile(q));
        }
        let s = a.stats(2.0);
        assert_eq!((s.rate, s.errors_by_kind["timeout"]), (2500.0, 2));
    }
}
