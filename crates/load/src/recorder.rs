//! Recording without a lock per request: each user owns a [`Recorder`] holding the current
//! second's histograms for each phase; once a second (and when it is dropped) it hands them to
//! the shared [`Collector`], which adds them into per-second interval data and run totals.
//!
//! Intervals are aligned on whole wall-clock seconds, so the interval logs of shards of one
//! run line up for an exact merge (issue 8). An interval is closed (turned into a log entry and
//! a chart point, then freed) two seconds after it ends; data arriving later for it is kept as
//! an extra log entry with the same timestamp, so the log always adds up to the totals.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::stats::{Phase, PhaseData};

/// How a timed attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// Success, with the HTTP status when there was one.
    Ok(Option<u16>),
    /// Failure of a kind (`status_503`, `connect`, `timeout`, …), with the status if any.
    Failed {
        /// The kind, as counted in `errors_by_kind`.
        kind: std::borrow::Cow<'static, str>,
        /// The HTTP status, when the server answered.
        status: Option<u16>,
    },
}

/// One closed interval of one scenario and phase: its figures (for the charts) and its
/// histograms, serialized at once (V2 + deflate, Base64) so a long run's memory stays flat.
#[derive(Debug, Clone)]
pub struct Interval {
    /// Whole seconds since the run's base time (the wall-clock second it started in).
    pub second: u64,
    /// The phase.
    pub phase: Phase,
    /// Attempts completed in it.
    pub count: u64,
    /// Failures among them.
    pub errors: u64,
    /// Corrected latency: p50, p90, p99, max (µs).
    pub corrected: [u64; 4],
    /// Uncorrected latency: p50, p90, p99, max (µs).
    pub uncorrected: [u64; 4],
    /// The corrected histogram, serialized (HdrHistogram V2 deflate, Base64).
    pub corrected_encoded: String,
    /// The uncorrected histogram, serialized.
    pub uncorrected_encoded: String,
}

impl Interval {
    fn new(second: u64, phase: Phase, d: &PhaseData) -> Self {
        let pts = |h: &hdrhistogram::Histogram<u64>| {
            if h.is_empty() {
                [0; 4]
            } else {
                [
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.9),
                    h.value_at_quantile(0.99),
                    h.max(),
                ]
            }
        };
        Self {
            second,
            phase,
            count: d.count,
            errors: d.errors,
            corrected: pts(&d.corrected),
            uncorrected: pts(&d.uncorrected),
            corrected_encoded: encode(&d.corrected),
            uncorrected_encoded: encode(&d.uncorrected),
        }
    }
}

/// Serializes a histogram as HdrHistogram interval logs hold it: V2 + deflate, Base64.
pub fn encode(h: &hdrhistogram::Histogram<u64>) -> String {
    use base64::Engine as _;
    use hdrhistogram::serialization::Serializer as _;
    let mut buf = Vec::new();
    // Serializing into a Vec only fails on a histogram too large for the format.
    if hdrhistogram::serialization::V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .is_err()
    {
        return String::new();
    }
    base64::engine::general_purpose::STANDARD.encode(buf)
}

/// Reads a histogram serialized by [`encode`] (or any V2 / V2 deflate Base64 histogram).
///
/// # Errors
/// A message when the text is not a serialized histogram.
pub fn decode(s: &str) -> Result<hdrhistogram::Histogram<u64>, String> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s.trim())
        .map_err(|e| e.to_string())?;
    let mut h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .map_err(|e| format!("{e:?}"))?;
    h.auto(true);
    Ok(h)
}

/// Per-scenario collected data.
#[derive(Debug, Default)]
struct ScenarioData {
    totals: [PhaseData; Phase::COUNT],
    open: BTreeMap<u64, [Option<PhaseData>; Phase::COUNT]>,
    closed: Vec<Interval>,
    closed_upto: u64,
}

/// Shared sink of all recorders of a run. Locked about once per user per second.
#[derive(Debug)]
pub struct Collector {
    origin: Instant,
    /// The run's base time: the whole wall-clock second the run started in.
    base_epoch_secs: u64,
    /// Offset of `origin` past `base_epoch_secs`.
    origin_offset: Duration,
    inner: Mutex<Vec<ScenarioData>>,
    live_count: AtomicU64,
    live_errors: AtomicU64,
}

/// What the run collected, per scenario.
#[derive(Debug, Clone)]
pub struct Collected {
    /// Base time (Unix seconds) that interval seconds count from.
    pub base_epoch_secs: u64,
    /// Totals per scenario per phase.
    pub totals: Vec<[PhaseData; Phase::COUNT]>,
    /// Closed intervals per scenario, in order of second (late data after).
    pub intervals: Vec<Vec<Interval>>,
}

impl Collector {
    /// A collector for `scenarios` scenarios whose clock starts now.
    pub fn new(scenarios: usize) -> Arc<Self> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Arc::new(Self {
            origin: Instant::now(),
            base_epoch_secs: now.as_secs(),
            origin_offset: Duration::from_nanos(u64::from(now.subsec_nanos())),
            inner: Mutex::new((0..scenarios).map(|_| ScenarioData::default()).collect()),
            live_count: AtomicU64::new(0),
            live_errors: AtomicU64::new(0),
        })
    }

    /// The interval (second since base time) that `at` falls in.
    pub fn second_of(&self, at: Instant) -> u64 {
        (at.saturating_duration_since(self.origin) + self.origin_offset).as_secs()
    }

    /// The base time (Unix seconds).
    pub fn base_epoch_secs(&self) -> u64 {
        self.base_epoch_secs
    }

    /// A recorder for one user of scenario `scenario`.
    pub fn recorder(self: &Arc<Self>, scenario: usize) -> Recorder {
        Recorder {
            collector: Arc::clone(self),
            scenario,
            second: 0,
            slot: Default::default(),
        }
    }

    /// Attempts and failures so far (for the progress line; updated per request).
    pub fn live_counts(&self) -> (u64, u64) {
        (
            self.live_count.load(Ordering::Relaxed),
            self.live_errors.load(Ordering::Relaxed),
        )
    }

    /// The corrected p99 so far of `phase` across scenarios, in µs (updated once a second).
    pub fn p99_so_far(&self, phase: Phase) -> Option<u64> {
        let g = self.inner.lock().ok()?;
        let mut h = crate::stats::new_histogram();
        for s in g.iter() {
            let _ = h.add(&s.totals[phase.index()].corrected);
        }
        (!h.is_empty()).then(|| h.value_at_quantile(0.99))
    }

    /// The run totals so far, per scenario (for live metrics; users flush once a second).
    pub(crate) fn totals_now(&self) -> Vec<[PhaseData; Phase::COUNT]> {
        self.inner
            .lock()
            .map(|g| g.iter().map(|s| s.totals.clone()).collect())
            .unwrap_or_default()
    }

    fn absorb(&self, scenario: usize, second: u64, slot: &mut [Option<PhaseData>; Phase::COUNT]) {
        let now_second = self.second_of(Instant::now());
        let Ok(mut g) = self.inner.lock() else { return };
        let Some(s) = g.get_mut(scenario) else { return };
        for (i, d) in slot.iter_mut().enumerate() {
            let Some(d) = d.take() else { continue };
            s.totals[i].merge(&d);
            if second < s.closed_upto {
                // Late: its interval is already written; keep it as an extra entry.
                s.closed.push(Interval::new(second, Phase::ALL[i], &d));
            } else {
                let e = s.open.entry(second).or_default();
                match &mut e[i] {
                    Some(x) => x.merge(&d),
                    None => e[i] = Some(d),
                }
            }
        }
        // Close intervals that ended two seconds ago or more.
        let close_before = now_second.saturating_sub(2);
        close(s, close_before);
    }

    /// Closes every interval and returns everything collected.
    pub fn finish(&self) -> Collected {
        let mut totals = Vec::new();
        let mut intervals = Vec::new();
        if let Ok(mut g) = self.inner.lock() {
            for s in g.iter_mut() {
                close(s, u64::MAX);
                totals.push(s.totals.clone());
                intervals.push(std::mem::take(&mut s.closed));
            }
        }
        Collected {
            base_epoch_secs: self.base_epoch_secs,
            totals,
            intervals,
        }
    }
}

fn close(s: &mut ScenarioData, before: u64) {
    while let Some(entry) = s.open.first_entry() {
        if *entry.key() >= before {
            break;
        }
        let second = *entry.key();
        let phases = entry.remove();
        for (i, d) in phases.into_iter().enumerate() {
            if let Some(data) = d {
                s.closed.push(Interval::new(second, Phase::ALL[i], &data));
            }
        }
        s.closed_upto = s.closed_upto.max(second + 1);
    }
}

/// One user's recorder: no lock, no allocation per request once warm.
#[derive(Debug)]
pub struct Recorder {
    collector: Arc<Collector>,
    scenario: usize,
    second: u64,
    slot: [Option<PhaseData>; Phase::COUNT],
}

impl Recorder {
    /// Records one attempt of `phase` that was meant to start at `intended`, started at
    /// `started` and completed at `done`. Every attempt that went out is timed, failures
    /// included: a request that timed out, was cut off or was cancelled at the end of the run
    /// counts at its elapsed time (from its intended start, like the rest), so a stalled or
    /// failing gateway shows in the percentiles. Only attempts that never reached the
    /// gateway (`connect` failures, no token, no assertion: `started == done`) are counted
    /// but not timed.
    pub fn record(
        &mut self,
        phase: Phase,
        intended: Instant,
        started: Instant,
        done: Instant,
        outcome: &AttemptOutcome,
    ) {
        let second = self.collector.second_of(done);
        if second != self.second {
            self.flush();
            self.second = second;
        }
        let d = self.slot[phase.index()].get_or_insert_with(PhaseData::default);
        d.count += 1;
        let live = !phase.is_connection();
        if live {
            self.collector.live_count.fetch_add(1, Ordering::Relaxed);
        }
        let status = match outcome {
            AttemptOutcome::Ok(s) => *s,
            AttemptOutcome::Failed { kind, status } => {
                d.errors += 1;
                if live {
                    self.collector.live_errors.fetch_add(1, Ordering::Relaxed);
                }
                match d.errors_by_kind.get_mut(kind.as_ref()) {
                    Some(n) => *n += 1,
                    None => {
                        d.errors_by_kind.insert(kind.to_string(), 1);
                    }
                }
                *status
            }
        };
        if let Some(st) = status {
            *d.statuses.entry(st).or_default() += 1;
        }
        let timed = match outcome {
            AttemptOutcome::Ok(_) => true,
            AttemptOutcome::Failed { kind, status } => {
                status.is_some()
                    || phase == Phase::Sign
                    || (kind.as_ref() != "connect" && done > started)
            }
        };
        if timed {
            let us = |x: Duration| u64::try_from(x.as_micros()).unwrap_or(u64::MAX);
            crate::stats::record(
                &mut d.corrected,
                us(done.saturating_duration_since(intended)),
            );
            crate::stats::record(
                &mut d.uncorrected,
                us(done.saturating_duration_since(started)),
            );
        }
    }

    /// Hands the current second's data to the collector.
    pub fn flush(&mut self) {
        if self.slot.iter().any(Option::is_some) {
            self.collector
                .absorb(self.scenario, self.second, &mut self.slot);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Intervals and totals add up to what was recorded, from several recorders.
    #[test]
    fn intervals_add_up_to_totals() {
        let c = Collector::new(1);
        let t0 = Instant::now();
        {
            let mut a = c.recorder(0);
            let mut b = c.recorder(0);
            for i in 0..1000u64 {
                let done = t0 + Duration::from_millis(i * 3);
                let r = if i % 2 == 0 { &mut a } else { &mut b };
                let out = if i % 100 == 0 {
                    AttemptOutcome::Failed {
                        kind: "status_503".into(),
                        status: Some(503),
                    }
                } else {
                    AttemptOutcome::Ok(Some(200))
                };
                r.record(
                    Phase::Api,
                    done - Duration::from_micros(900),
                    done - Duration::from_micros(300),
                    done,
                    &out,
                );
            }
        }
        let got = c.finish();
        let tot = &got.totals[0][Phase::Api.index()];
        assert_eq!((tot.count, tot.errors, tot.statuses[&503]), (1000, 10, 10));
        let sum: u64 = got.intervals[0].iter().map(|i| i.count).sum();
        assert_eq!(sum, 1000);
        // The serialized intervals add up to the totals, exactly.
        let mut h = crate::stats::new_histogram();
        for i in &got.intervals[0] {
            h.add(decode(&i.corrected_encoded).expect("decodes"))
                .expect("adds");
        }
        assert_eq!(h, tot.corrected);
        assert!(
            got.intervals[0].len() >= 3,
            "3 s of samples span several intervals"
        );
        assert_eq!(
            tot.corrected.value_at_quantile(0.5),
            tot.corrected.highest_equivalent(900)
        );
        assert_eq!(
            tot.uncorrected.value_at_quantile(0.5),
            tot.uncorrected.highest_equivalent(300)
        );
    }
}
