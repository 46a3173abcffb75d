//! Fault injection per route (issue 3 "Tokens, faults, control"): added latency (fixed,
//! uniform or exponential), 503 and 429-with-`Retry-After` error rates and connection resets.
//! Routes are `token`, an API name, or `*` for all; the table can be changed at run time
//! through the admin API.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::response::{IntoResponse, Response};
use bearing_auth::profile::{duration, opt_duration};
use http::{HeaderValue, StatusCode, header};
use serde::{Deserialize, Serialize};

/// Faults for one route. Probabilities are in `[0, 1]` and add up to at most 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FaultSpec {
    /// Added latency: the fixed delay, the lower bound (`uniform`) or the mean (`exponential`).
    #[serde(with = "opt_duration")]
    pub latency: Option<Duration>,
    /// Upper bound of a `uniform` latency.
    #[serde(with = "opt_duration")]
    pub latency_max: Option<Duration>,
    /// How latency is drawn.
    pub distribution: LatencyDistribution,
    /// Probability of answering 503 Service Unavailable.
    pub error_503: f64,
    /// Probability of answering 429 Too Many Requests with `Retry-After`.
    pub error_429: f64,
    /// The `Retry-After` of injected 429 and 503 answers. Defaults to 1 s.
    #[serde(with = "duration")]
    pub retry_after: Duration,
    /// Probability of resetting the connection (TCP RST) instead of answering.
    pub reset: f64,
    /// Capacity emulation (issue 18): every request holds one of `workers` workers for this
    /// long, queueing first-come first-served for a free one, so the route serves at most
    /// `workers / service_time` requests per second (its known knee) and its latency grows
    /// without bound above it. Worker times are kept on a virtual clock, so timer resolution
    /// adds latency but never lowers the capacity.
    #[serde(with = "opt_duration")]
    pub service_time: Option<Duration>,
    /// Workers of the capacity emulation. Defaults to 1.
    pub workers: usize,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            latency: None,
            latency_max: None,
            distribution: LatencyDistribution::Fixed,
            error_503: 0.0,
            error_429: 0.0,
            retry_after: Duration::from_secs(1),
            reset: 0.0,
            service_time: None,
            workers: 1,
        }
    }
}

/// How injected latency is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyDistribution {
    /// Always `latency`.
    #[default]
    Fixed,
    /// Uniform between `latency` and `latency_max`.
    Uniform,
    /// Exponential with mean `latency`, capped at 20× the mean.
    Exponential,
}

impl FaultSpec {
    /// Checks the probabilities and latency bounds.
    ///
    /// # Errors
    /// A message naming the field at fault.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("error_503", self.error_503),
            ("error_429", self.error_429),
            ("reset", self.reset),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("{name} {p} is not a probability in [0, 1]"));
            }
        }
        if self.error_503 + self.error_429 + self.reset > 1.0 + 1e-9 {
            return Err("error_503 + error_429 + reset exceed 1".into());
        }
        if self.distribution == LatencyDistribution::Uniform {
            match (self.latency, self.latency_max) {
                (Some(lo), Some(hi)) if lo <= hi => {}
                _ => return Err("uniform latency needs latency <= latency_max".into()),
            }
        }
        if self.distribution == LatencyDistribution::Exponential && self.latency.is_none() {
            return Err("exponential latency needs latency (the mean)".into());
        }
        if self.workers == 0 || self.workers > 100_000 {
            return Err(format!("workers {} is not in 1..=100000", self.workers));
        }
        if self.service_time.is_some_and(|d| d.is_zero()) {
            return Err("service_time must be > 0".into());
        }
        if self.retry_after.is_zero() && self.error_429 > 0.0 {
            return Err("retry_after must be > 0".into());
        }
        Ok(())
    }

    fn draw_latency(&self) -> Option<Duration> {
        let base = self.latency?;
        // Checked: any latency that parses may come through the admin API (`584942417355y`)
        // and `Duration::mul_f64` panics when the product does not fit (issue 9 proptest).
        let scale = |d: Duration, f: f64| {
            Duration::try_from_secs_f64(d.as_secs_f64() * f).unwrap_or(Duration::MAX)
        };
        Some(match self.distribution {
            LatencyDistribution::Fixed => base,
            LatencyDistribution::Uniform => {
                let hi = self.latency_max.unwrap_or(base).max(base);
                base.saturating_add(scale(hi - base, rand::random::<f64>()))
                    .min(hi)
            }
            LatencyDistribution::Exponential => {
                let u: f64 = rand::random::<f64>().max(f64::MIN_POSITIVE);
                scale(base, (-u.ln()).min(20.0))
            }
        })
    }
}

/// What an injected fault asks of the handler.
#[derive(Debug)]
pub enum FaultOutcome {
    /// Answer with this response instead of serving the request.
    Respond(Response),
    /// Reset the connection (the handler still returns a response, which is never sent when
    /// the server can reset; under `oneshot` it is a 503 marked `X-Bearing-Fault: reset`).
    Reset(Response),
}

/// The run-time fault table.
#[derive(Debug, Default)]
pub struct Faults {
    table: RwLock<Arc<BTreeMap<String, FaultSpec>>>,
    active: AtomicBool,
    /// Capacity emulation: per table entry, when each worker is next free (virtual time).
    workers: Mutex<BTreeMap<String, Vec<Instant>>>,
}

impl Faults {
    /// A table holding `specs`.
    pub fn new(specs: BTreeMap<String, FaultSpec>) -> Self {
        let active = !specs.is_empty();
        Self {
            table: RwLock::new(Arc::new(specs)),
            active: AtomicBool::new(active),
            workers: Mutex::new(BTreeMap::new()),
        }
    }

    /// The current table.
    pub fn snapshot(&self) -> Arc<BTreeMap<String, FaultSpec>> {
        match self.table.read() {
            Ok(t) => Arc::clone(&t),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }

    /// Sets (or, with `None`, removes) the faults of `route`.
    pub fn set(&self, route: &str, spec: Option<FaultSpec>) {
        let mut guard = match self.table.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut t = (**guard).clone();
        match spec {
            Some(s) => t.insert(route.to_owned(), s),
            None => t.remove(route),
        };
        self.active.store(!t.is_empty(), Ordering::SeqCst);
        *guard = Arc::new(t);
        if let Ok(mut w) = self.workers.lock() {
            w.remove(route);
        }
    }

    /// Books the worker of `key` that is free first for `service`; returns when it is done.
    fn take_worker(&self, key: &str, workers: usize, service: Duration) -> Instant {
        let now = Instant::now();
        let mut g = match self.workers.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let free = g.entry(key.to_owned()).or_default();
        if free.len() != workers {
            *free = vec![now; workers];
        }
        let Some(first) = free.iter_mut().min() else {
            return now + service;
        };
        let done = (*first).max(now) + service;
        *first = done;
        done
    }

    /// Removes every fault.
    pub fn clear(&self) {
        let mut guard = match self.table.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *guard = Arc::new(BTreeMap::new());
        self.active.store(false, Ordering::SeqCst);
    }

    /// Applies the faults of `route` (or `*`): sleeps the drawn latency, then maybe returns
    /// an error answer or a reset. `None` means: serve the request.
    pub(crate) async fn apply(&self, route: &str) -> Option<FaultOutcome> {
        if !self.active.load(Ordering::Relaxed) {
            return None;
        }
        let table = self.snapshot();
        let (key, spec) = table
            .get_key_value(route)
            .or_else(|| table.get_key_value("*"))?;
        if let Some(service) = spec.service_time {
            let done = self.take_worker(key, spec.workers, service);
            tokio::time::sleep_until(done.into()).await;
        }
        if let Some(d) = spec.draw_latency() {
            tokio::time::sleep(d).await;
        }
        let u: f64 = rand::random();
        let retry = spec.retry_after.as_secs().max(1).to_string();
        let answer = |status: StatusCode, what: &str| {
            let body = serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": format!("injected fault: {what}"),
            });
            let mut r = (status, axum::Json(body)).into_response();
            r.headers_mut()
                .insert("x-bearing-fault", HeaderValue::from_static("injected"));
            if let Ok(v) = HeaderValue::from_str(&retry) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            r
        };
        if u < spec.reset {
            let mut r = answer(StatusCode::SERVICE_UNAVAILABLE, "connection reset");
            r.headers_mut()
                .insert("x-bearing-fault", HeaderValue::from_static("reset"));
            return Some(FaultOutcome::Reset(r));
        }
        if u < spec.reset + spec.error_503 {
            return Some(FaultOutcome::Respond(answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "503",
            )));
        }
        if u < spec.reset + spec.error_503 + spec.error_429 {
            return Some(FaultOutcome::Respond(answer(
                StatusCode::TOO_MANY_REQUESTS,
                "429",
            )));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Capacity emulation: 2 workers of 5 ms serve 40 simultaneous requests in 20 rounds
    // (≥ 100 ms), never faster, whatever the timer's resolution.
    #[tokio::test]
    async fn capacity_emulation_caps_throughput() {
        let f = Arc::new(Faults::new(BTreeMap::from([(
            "token".to_owned(),
            FaultSpec {
                service_time: Some(Duration::from_millis(5)),
                workers: 2,
                ..FaultSpec::default()
            },
        )])));
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let f = Arc::clone(&f);
                tokio::spawn(async move { f.apply("token").await.is_none() })
            })
            .collect();
        for t in tasks {
            assert!(t.await.expect("task"), "served, not refused");
        }
        assert!(
            t0.elapsed() >= Duration::from_millis(100),
            "{:?}",
            t0.elapsed()
        );
        assert!(
            FaultSpec {
                workers: 0,
                ..FaultSpec::default()
            }
            .validate()
            .is_err()
        );
    }

    // Probabilities outside [0,1] or summing past 1 are refused; uniform needs bounds.
    #[test]
    fn validation() {
        let ok = FaultSpec {
            error_503: 0.5,
            error_429: 0.5,
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        assert!(
            FaultSpec {
                error_503: 1.5,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            FaultSpec {
                error_503: 0.6,
                reset: 0.6,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        let u = FaultSpec {
            distribution: LatencyDistribution::Uniform,
            ..Default::default()
        };
        assert!(u.validate().is_err());
    }

    // A certain 429 carries Retry-After; a route without faults is served.
    #[tokio::test]
    async fn certain_429() {
        let spec = FaultSpec {
            error_429: 1.0,
            retry_after: Duration::from_secs(3),
            ..Default::default()
        };
        let f = Faults::new(BTreeMap::from([("token".to_owned(), spec)]));
        match f.apply("token").await {
            Some(FaultOutcome::Respond(r)) => {
                assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
                assert_eq!(r.headers()[header::RETRY_AFTER], "3");
            }
            other => panic!("expected 429, got {other:?}"),
        }
        assert!(f.apply("inventory").await.is_none());
        f.clear();
        assert!(f.apply("token").await.is_none());
    }

    // Uniform latency stays within its bounds.
    #[test]
    fn uniform_bounds() {
        let s = FaultSpec {
            latency: Some(Duration::from_millis(2)),
            latency_max: Some(Duration::from_millis(4)),
            distribution: LatencyDistribution::Uniform,
            ..Default::default()
        };
        for _ in 0..100 {
            let d = s.draw_latency().expect("latency");
            assert!(d >= Duration::from_millis(2) && d <= Duration::from_millis(4));
        }
    }
}
