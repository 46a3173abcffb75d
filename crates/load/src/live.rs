//! Live metrics of a run (issue 19): `bearing load --metrics-listen ADDR` serves the run's
//! figures in the Prometheus text format while it runs, so a long sharded soak can be watched
//! in Grafana (deploy/grafana/bearing.json) instead of only read at the end.
//!
//! Nothing is added to the request path: at each scrape a `prometheus-client` [`Collector`]
//! reads the run's own totals (the same [`crate::recorder::Collector`] the report is written
//! from, which users flush into once a second), the scenarios' started counters, the token
//! managers' and the assertion pool's counters. The scraped counters therefore converge on
//! `summary.json`: they lag it by at most the last second a user had not flushed yet.
//!
//! Latency is a classic histogram of the corrected latency (from intended start), in
//! seconds, computed from the µs HdrHistogram at scrape time, with 8 buckets per decade from
//! 10 µs to 100 s (bounds 1.33× apart), fine enough for a p99 at µs–s scale.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bearing_auth::AssertionPool;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::recorder::Collector as RunCollector;
use crate::scenario::{Gate, ScenarioShared};
use crate::stats::{Phase, PhaseData};

/// What a scrape reads: handed over by the run loop once the run is set up.
#[derive(Debug)]
pub(crate) struct Sources {
    pub(crate) collector: Arc<RunCollector>,
    pub(crate) scenarios: Vec<Arc<ScenarioShared>>,
    pub(crate) pool: Option<Arc<AssertionPool>>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) duration: std::time::Duration,
}

/// The live metrics of one process: a registry whose collector reads the current run.
#[derive(Debug)]
pub struct LiveMetrics {
    registry: Registry,
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    sources: Mutex<Option<Sources>>,
}

/// Upper bounds of the latency buckets, seconds: 10^(k/8) from 10 µs to 100 s.
pub fn latency_buckets() -> Vec<f64> {
    (-40..=16).map(|k| 10f64.powf(f64::from(k) / 8.0)).collect()
}

impl LiveMetrics {
    /// Live metrics labelled with the shard (`shard="i"`, `shards="N"`) when there is one.
    pub fn new(shard: Option<(u32, u32)>) -> Arc<Self> {
        let labels = shard.map(|(i, n)| {
            vec![
                ("shard".into(), i.to_string().into()),
                ("shards".into(), n.to_string().into()),
            ]
        });
        let mut registry = match labels {
            Some(l) => Registry::with_prefix_and_labels("bearing_load", l.into_iter()),
            None => Registry::with_prefix("bearing_load"),
        };
        let state = Arc::new(State::default());
        registry.register_collector(Box::new(Arc::clone(&state)));
        Arc::new(Self { registry, state })
    }

    /// Points the metrics at a run that is starting (a capacity search attaches each step).
    pub(crate) fn attach(&self, s: Sources) {
        if let Ok(mut g) = self.state.sources.lock() {
            *g = Some(s);
        }
    }

    /// The metrics now, in the Prometheus text format (version 0.0.4).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// Serves `GET /metrics` on `listener` until the process ends (other paths: 404).
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let me = Arc::clone(&self);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: hyper::Request<_>| {
                    let me = Arc::clone(&me);
                    async move {
                        let (status, body) = if req.uri().path() == "/metrics" {
                            (200, me.encode())
                        } else {
                            (404, "not found: the metrics are at /metrics\n".to_owned())
                        };
                        hyper::Response::builder()
                            .status(status)
                            .header("content-type", "text/plain; version=0.0.4; charset=utf-8")
                            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                    }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, svc)
                    .await;
            });
        }
    }
}

fn counter(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Vec<(&'static str, String)>, u64)],
) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        ConstCounter::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

fn gauge(
    enc: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    rows: &[(Vec<(&'static str, String)>, f64)],
) -> std::fmt::Result {
    let mut m = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        ConstGauge::new(*v).encode(m.encode_family(labels)?)?;
    }
    Ok(())
}

/// Cumulative bucket counts of a µs histogram at `bounds` (seconds).
fn buckets(d: &PhaseData, bounds: &[f64]) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = bounds.iter().map(|b| (*b, 0)).collect();
    for v in d.corrected.iter_recorded() {
        let s = v.value_iterated_to() as f64 / 1e6;
        // The first bucket whose bound holds the value, and every later one.
        let first = out.partition_point(|(b, _)| *b < s);
        for b in &mut out[first..] {
            b.1 += v.count_at_value();
        }
    }
    out.push((f64::INFINITY, d.corrected.len()));
    out
}

impl Collector for State {
    fn encode(&self, mut enc: DescriptorEncoder<'_>) -> std::fmt::Result {
        let Ok(g) = self.sources.lock() else {
            return Ok(());
        };
        let Some(src) = g.as_ref() else {
            return Ok(());
        };
        let totals = src.collector.totals_now();
        let mut requests = Vec::new();
        let mut errors = Vec::new();
        let mut started = Vec::new();
        let mut in_flight = Vec::new();
        let mut asked = Vec::new();
        let mut tokens: [Vec<_>; 4] = Default::default();
        let mut hist = Vec::new();
        for (sh, t) in src.scenarios.iter().zip(&totals) {
            let sc = sh.spec.name.clone();
            let main = sh.spec.kind.main_phase();
            for phase in Phase::ALL {
                let d = &t[phase.index()];
                if d.count == 0 && phase != main {
                    continue;
                }
                let labels = |k: &'static str, v: String| {
                    vec![
                        ("scenario", sc.clone()),
                        ("phase", phase.name().to_owned()),
                        (k, v),
                    ]
                };
                let with_status: u64 = d.statuses.values().sum();
                for (code, n) in &d.statuses {
                    requests.push((labels("status", code.to_string()), *n));
                }
                if d.count > with_status || d.statuses.is_empty() {
                    requests.push((labels("status", "none".into()), d.count - with_status));
                }
                for (kind, n) in &d.errors_by_kind {
                    errors.push((labels("kind", kind.clone()), *n));
                }
                hist.push((
                    vec![("scenario", sc.clone()), ("phase", phase.name().to_owned())],
                    d,
                ));
            }
            let s = sh.started.load(Ordering::Relaxed);
            started.push((vec![("scenario", sc.clone())], s));
            in_flight.push((
                vec![("scenario", sc.clone())],
                s.saturating_sub(t[main.index()].count) as f64,
            ));
            if let Some(r) = sh.schedule.as_ref() {
                let secs = src.duration.as_secs_f64().max(1e-9);
                asked.push((vec![("scenario", sc.clone())], r.total_arrivals() / secs));
            }
            if matches!(main, Phase::Api) {
                let ts = sh.token_stats();
                let l = vec![("scenario", sc.clone())];
                tokens[0].push((l.clone(), ts.token_requests));
                tokens[1].push((l.clone(), ts.refreshes_ahead));
                tokens[2].push((l.clone(), ts.unauthorized_retries));
                tokens[3].push((l, ts.failures));
            }
        }
        counter(
            &mut enc,
            "requests",
            "Attempts completed, by scenario, phase and HTTP status (none: no answer).",
            &requests,
        )?;
        counter(
            &mut enc,
            "errors",
            "Failed attempts, by scenario, phase and kind.",
            &errors,
        )?;
        counter(
            &mut enc,
            "started",
            "Attempts started (the offered load; rate() of it is the offered rate).",
            &started,
        )?;
        gauge(
            &mut enc,
            "target_rate",
            "Arrival rate the profile asks of this process, per second (open model).",
            &asked,
        )?;
        gauge(
            &mut enc,
            "in_flight",
            "Attempts started and not yet completed.",
            &in_flight,
        )?;
        counter(
            &mut enc,
            "token_requests",
            "Token requests sent by the token managers.",
            &tokens[0],
        )?;
        counter(
            &mut enc,
            "token_refreshes_ahead",
            "Token refreshes ahead of expiry.",
            &tokens[1],
        )?;
        counter(
            &mut enc,
            "token_unauthorized_retries",
            "API calls retried after a 401.",
            &tokens[2],
        )?;
        counter(
            &mut enc,
            "token_failures",
            "Token fetches that ended without a token.",
            &tokens[3],
        )?;
        if let Some(p) = &src.pool {
            let st = p.stats();
            gauge(
                &mut enc,
                "pool_ready",
                "Signed assertions waiting in the pool.",
                &[(Vec::new(), st.ready as f64)],
            )?;
            counter(
                &mut enc,
                "pool_minted",
                "Assertions signed by the pool.",
                &[(Vec::new(), st.minted)],
            )?;
            counter(
                &mut enc,
                "pool_waits",
                "Times a user found the pool empty and waited.",
                &[(Vec::new(), st.consumer_waits)],
            )?;
        }
        let elapsed = src
            .gate
            .t0
            .get()
            .map_or(0.0, |t0| Instant::now().duration_since(*t0).as_secs_f64());
        gauge(
            &mut enc,
            "elapsed_seconds",
            "Time since the measured window opened (0 while preparing).",
            &[(Vec::new(), elapsed)],
        )?;
        let bounds = latency_buckets();
        let mut m = enc.encode_descriptor(
            "latency_seconds",
            "Corrected latency (from the intended start), by scenario and phase.",
            None,
            MetricType::Histogram,
        )?;
        for (labels, d) in &hist {
            let b = buckets(d, &bounds);
            let sum = d.corrected.mean() * d.corrected.len() as f64 / 1e6;
            m.encode_family(labels)?
                .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                    sum,
                    d.corrected.len(),
                    &b,
                    None,
                )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_fine() {
        let b = latency_buckets();
        assert!(b.first().is_some_and(|f| (*f - 1e-5).abs() < 1e-12));
        assert!(b.windows(2).all(|w| w[1] / w[0] < 1.34));
        let mut d = PhaseData::default();
        for v in [50u64, 900, 900, 12_000, 2_000_000] {
            let _ = d.corrected.record(v);
        }
        let c = buckets(&d, &b);
        assert!(c.windows(2).all(|w| w[0].1 <= w[1].1));
        assert_eq!(c.last().map(|x| x.1), Some(5));
        let at = |s: f64| c.iter().find(|(b, _)| *b >= s).map(|x| x.1);
        assert_eq!(at(60e-6), Some(1));
        assert_eq!(at(1e-3), Some(3));
        assert_eq!(at(3.0), Some(5));
    }

    #[test]
    fn nothing_attached_encodes_an_empty_exposition() {
        let m = LiveMetrics::new(Some((1, 3)));
        assert!(!m.encode().contains("bearing_load_requests"));
    }
}
