//! Open-model driving (issue 7): arrivals follow a piecewise-linear rate schedule, one start
//! every 1/rate (never in bursts), and every request keeps its *intended* start time so its
//! latency can be corrected for coordinated omission: corrected = completion − intended.
//!
//! A dedicated thread releases one permit per arrival at its intended time (std sleeps are
//! precise to ~60 µs; tokio's timer only to 1 ms). Users take a permit, then a ticket whose
//! number gives the intended time. When every user is busy (the server stalls), permits pile
//! up and the late starts show in the corrected latency, not just the few stalled requests.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

/// Arrival rate over time: linear segments `(duration, rate at start, rate at end)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    segments: Vec<(f64, f64, f64)>,
}

impl Schedule {
    /// A constant `rate` (per second) for `duration`.
    pub fn constant(rate: f64, duration: Duration) -> Self {
        Self {
            segments: vec![(duration.as_secs_f64(), rate, rate)],
        }
    }

    /// Ramps from `start` through each `(duration, rate)` stage, k6-style.
    pub fn stages(start: f64, stages: &[(Duration, f64)]) -> Self {
        let mut from = start;
        let segments = stages
            .iter()
            .map(|(d, to)| {
                let s = (d.as_secs_f64(), from, *to);
                from = *to;
                s
            })
            .collect();
        Self { segments }
    }

    /// The same schedule with every rate multiplied by `f` (a scenario's weight share).
    pub fn scaled(&self, f: f64) -> Self {
        Self {
            segments: self
                .segments
                .iter()
                .map(|(d, a, b)| (*d, a * f, b * f))
                .collect(),
        }
    }

    /// Arrivals planned over the whole schedule.
    pub fn total_arrivals(&self) -> f64 {
        self.segments
            .iter()
            .map(|(d, a, b)| d * (a + b) / 2.0)
            .sum()
    }

    /// The rate at `t` seconds.
    #[cfg(test)]
    pub fn rate_at(&self, t: f64) -> f64 {
        let mut t0 = 0.0;
        for (d, a, b) in &self.segments {
            if t < t0 + d {
                return a + (b - a) * (t - t0) / d;
            }
            t0 += d;
        }
        0.0
    }

    /// When arrival number `k` (0-based) is due, in seconds from the start; `None` past the
    /// end. Arrival k is due when the integral of the rate reaches `k` (the first at 0 for a
    /// constant rate), so starts are spaced exactly 1/rate apart.
    pub fn time_of(&self, k: u64) -> Option<f64> {
        let mut n = k as f64;
        let mut t0 = 0.0;
        for (d, a, b) in &self.segments {
            let area = d * (a + b) / 2.0;
            if n < area || (n == 0.0 && area > 0.0) {
                // Solve a·t + (b−a)/(2d)·t² = n for t in [0, d].
                let slope = (b - a) / d;
                let t = if slope.abs() < 1e-12 {
                    n / a
                } else {
                    let disc = (a * a + 2.0 * slope * n).max(0.0);
                    (-a + disc.sqrt()) / slope
                };
                return Some(t0 + t.clamp(0.0, *d));
            }
            n -= area;
            t0 += d;
        }
        None
    }
}

/// Releases arrivals on schedule to the users of one scenario.
#[derive(Debug)]
pub struct Pacer {
    schedule: Schedule,
    permits: Arc<Semaphore>,
    next_ticket: AtomicU64,
    max: u64,
    start: Instant,
    stop: Arc<AtomicBool>,
    released: AtomicU64,
}

/// Permits added at the end so that no user waits forever (far more than any user count).
const END_PERMITS: usize = 1 << 24;

impl Pacer {
    /// Starts the releasing thread: arrivals from `start` on, at most `max`.
    ///
    /// # Errors
    /// When the thread cannot be spawned.
    pub fn start(schedule: Schedule, start: Instant, max: u64) -> std::io::Result<Arc<Self>> {
        let pacer = Arc::new(Self {
            schedule,
            permits: Arc::new(Semaphore::new(0)),
            next_ticket: AtomicU64::new(0),
            max,
            start,
            stop: Arc::new(AtomicBool::new(false)),
            released: AtomicU64::new(0),
        });
        let p = Arc::clone(&pacer);
        std::thread::Builder::new()
            .name("bearing-pacer".into())
            .spawn(move || p.release_loop())?;
        Ok(pacer)
    }

    fn release_loop(&self) {
        let mut k: u64 = 0;
        loop {
            if self.stop.load(Ordering::Relaxed) || k >= self.max {
                break;
            }
            let Some(t) = self.schedule.time_of(k) else {
                break;
            };
            let due = self.start + Duration::from_secs_f64(t);
            let now = Instant::now();
            if due > now {
                // Sleep in slices so a stop is noticed within 50 ms.
                std::thread::sleep((due - now).min(Duration::from_millis(50)));
                continue;
            }
            // Release every arrival that is due now (more than one only when behind).
            let mut n = 0usize;
            let now = Instant::now();
            while k < self.max {
                match self.schedule.time_of(k) {
                    Some(t) if self.start + Duration::from_secs_f64(t) <= now => {
                        k += 1;
                        n += 1;
                    }
                    _ => break,
                }
            }
            self.released.fetch_add(n as u64, Ordering::Release);
            self.permits.add_permits(n);
        }
        // The end: enough permits for every waiting user to take one and find no ticket
        // left. (Closing the semaphore instead could lose a permit already handed to a
        // waiter that has not been polled yet.)
        self.permits.add_permits(END_PERMITS);
    }

    /// Waits for the next arrival and returns its intended start; `None` when the schedule
    /// (or the request bound) has ended.
    pub async fn next(&self) -> Option<Instant> {
        let permit = self.permits.acquire().await.ok()?;
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        permit.forget();
        let k = self.next_ticket.fetch_add(1, Ordering::Relaxed);
        if k >= self.max || k >= self.released.load(Ordering::Acquire) {
            return None;
        }
        let t = self.schedule.time_of(k)?;
        Some(self.start + Duration::from_secs_f64(t))
    }

    /// Stops releasing; waiting users get `None`.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.permits.add_permits(END_PERMITS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Constant rate: starts exactly 1/rate apart; a ramp integrates to its area.
    #[test]
    fn schedule_spacing() {
        let s = Schedule::constant(2000.0, Duration::from_secs(1));
        assert_eq!(s.time_of(0), Some(0.0));
        let gap = s.time_of(11).expect("in range") - s.time_of(10).expect("in range");
        assert!((gap - 0.0005).abs() < 1e-9);
        assert_eq!(s.time_of(2000), None);
        let r = Schedule::stages(0.0, &[(Duration::from_secs(2), 100.0)]);
        assert!((r.total_arrivals() - 100.0).abs() < 1e-9);
        // Half the arrivals of a linear ramp from 0 arrive by t = d/√2.
        let t = r.time_of(50).expect("in range");
        assert!((t - 2.0 / 2f64.sqrt()).abs() < 1e-6, "{t}");
        assert!((r.rate_at(1.0) - 50.0).abs() < 1e-9);
    }

    // The pacer releases on time and ends; tickets carry evenly spaced intended times.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn pacer_releases_evenly() {
        let start = Instant::now() + Duration::from_millis(20);
        let p = Pacer::start(
            Schedule::constant(1000.0, Duration::from_millis(200)),
            start,
            u64::MAX,
        )
        .expect("thread");
        let mut prev: Option<Instant> = None;
        let mut n = 0;
        while let Some(intended) = p.next().await {
            let now = Instant::now();
            assert!(
                now + Duration::from_millis(1) >= intended,
                "never released early"
            );
            if let Some(pv) = prev {
                let gap = (intended - pv).as_secs_f64();
                assert!((gap - 0.001).abs() < 2e-6, "{gap}");
            }
            prev = Some(intended);
            n += 1;
        }
        assert_eq!(n, 200);
    }
}
