//! Counters and latency histograms, lock-free on the hot path, rendered as Prometheus text
//! (`GET /metrics`) and as JSON (`GET /admin/counters`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use dashmap::DashMap;
use serde::Serialize;

/// Histogram bucket upper bounds, in µs.
const BUCKETS_US: [u64; 14] = [
    50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
    5_000_000,
];

/// A cumulative latency histogram (Prometheus semantics).
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        if let Some(i) = BUCKETS_US.iter().position(|b| us <= *b) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(us, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cum = 0;
        for (i, b) in BUCKETS_US.iter().enumerate() {
            cum += self.buckets[i].load(Ordering::Relaxed);
            let le = *b as f64 / 1e6;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cum}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let sum = self.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// All gateway counters.
#[derive(Debug, Default)]
pub struct Metrics {
    tokens_issued: AtomicU64,
    token_errors: DashMap<String, AtomicU64>,
    api_calls: DashMap<(usize, u16), AtomicU64>,
    api_names: Vec<String>,
    faults: AtomicU64,
    token_latency: Histogram,
    api_latency: Histogram,
    /// TLS connections by the protocol ALPN chose: `[http/1.1, h2]` (issue 15).
    tls_connections: [AtomicU64; 2],
}

/// A JSON snapshot of the counters (`GET /admin/counters`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CounterSnapshot {
    /// Tokens issued.
    pub tokens_issued: u64,
    /// Token requests refused, by `error` code.
    pub token_errors: std::collections::BTreeMap<String, u64>,
    /// API calls by API name and status.
    pub api_calls: std::collections::BTreeMap<String, std::collections::BTreeMap<u16, u64>>,
    /// Injected faults.
    pub faults: u64,
    /// Live (unswept) access tokens.
    pub tokens_active: u64,
    /// Remembered `jti`s.
    pub replay_entries: u64,
    /// Registered clients.
    pub clients: u64,
    /// Current clock shift, ms.
    pub clock_offset_ms: i64,
}

impl Metrics {
    /// Counters for a gateway serving the APIs named `api_names` (indexed as in the config).
    pub fn new(api_names: Vec<String>) -> Self {
        Self {
            api_names,
            ..Self::default()
        }
    }

    /// Counts an issued token.
    pub fn token_issued(&self, latency: Duration) {
        self.tokens_issued.fetch_add(1, Ordering::Relaxed);
        self.token_latency.observe(latency);
    }

    /// Counts a refused token request.
    pub fn token_error(&self, code: &str, latency: Duration) {
        if let Some(c) = self.token_errors.get(code) {
            c.fetch_add(1, Ordering::Relaxed);
        } else {
            self.token_errors
                .entry(code.to_owned())
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
        self.token_latency.observe(latency);
    }

    /// Counts a call of the API with index `api` (in config order).
    pub fn api_call(&self, api: usize, status: u16, latency: Duration) {
        let key = (api, status);
        if let Some(c) = self.api_calls.get(&key) {
            c.fetch_add(1, Ordering::Relaxed);
        } else {
            self.api_calls
                .entry(key)
                .or_default()
                .fetch_add(1, Ordering::Relaxed);
        }
        self.api_latency.observe(latency);
    }

    /// Counts an accepted TLS connection, by whether ALPN chose `h2`.
    pub fn tls_connection(&self, h2: bool) {
        self.tls_connections[usize::from(h2)].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an injected fault.
    pub fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
    }

    /// Tokens issued so far.
    pub fn tokens_issued(&self) -> u64 {
        self.tokens_issued.load(Ordering::Relaxed)
    }

    /// A snapshot; gauges are passed in by the caller.
    pub fn snapshot(
        &self,
        tokens_active: u64,
        replay_entries: u64,
        clients: u64,
        clock_offset_ms: i64,
    ) -> CounterSnapshot {
        let mut api_calls: std::collections::BTreeMap<
            String,
            std::collections::BTreeMap<u16, u64>,
        > = Default::default();
        for e in &self.api_calls {
            let name = self
                .api_names
                .get(e.key().0)
                .cloned()
                .unwrap_or_else(|| e.key().0.to_string());
            api_calls
                .entry(name)
                .or_default()
                .insert(e.key().1, e.value().load(Ordering::Relaxed));
        }
        CounterSnapshot {
            tokens_issued: self.tokens_issued(),
            token_errors: self
                .token_errors
                .iter()
                .map(|e| (e.key().clone(), e.value().load(Ordering::Relaxed)))
                .collect(),
            api_calls,
            faults: self.faults.load(Ordering::Relaxed),
            tokens_active,
            replay_entries,
            clients,
            clock_offset_ms,
        }
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self, s: &CounterSnapshot) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP bearing_token_requests_total Token requests by outcome and error code.\n",
        );
        out.push_str("# TYPE bearing_token_requests_total counter\n");
        let _ = writeln!(
            out,
            "bearing_token_requests_total{{outcome=\"issued\",error=\"\"}} {}",
            s.tokens_issued
        );
        for (code, n) in &s.token_errors {
            let _ = writeln!(
                out,
                "bearing_token_requests_total{{outcome=\"rejected\",error=\"{}\"}} {n}",
                escape(code)
            );
        }
        out.push_str("# HELP bearing_api_requests_total Protected API calls by api and status.\n");
        out.push_str("# TYPE bearing_api_requests_total counter\n");
        for (api, by_status) in &s.api_calls {
            for (status, n) in by_status {
                let _ = writeln!(
                    out,
                    "bearing_api_requests_total{{api=\"{}\",status=\"{status}\"}} {n}",
                    escape(api)
                );
            }
        }
        out.push_str("# HELP bearing_faults_injected_total Injected faults.\n# TYPE bearing_faults_injected_total counter\n");
        let _ = writeln!(out, "bearing_faults_injected_total {}", s.faults);
        for (name, help, v) in [
            (
                "bearing_tokens_active",
                "Access tokens held (not yet swept).",
                s.tokens_active,
            ),
            (
                "bearing_replay_entries",
                "Remembered assertion jti values.",
                s.replay_entries,
            ),
            ("bearing_clients", "Registered clients.", s.clients),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        out.push_str(
            "# HELP bearing_tls_connections_total TLS connections by the protocol ALPN chose.\n\
             # TYPE bearing_tls_connections_total counter\n",
        );
        for (protocol, n) in ["http/1.1", "h2"].iter().zip(&self.tls_connections) {
            let n = n.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "bearing_tls_connections_total{{protocol=\"{protocol}\"}} {n}"
            );
        }
        out.push_str("# HELP bearing_request_duration_seconds Time to handle a request.\n");
        out.push_str("# TYPE bearing_request_duration_seconds histogram\n");
        self.token_latency.render(
            &mut out,
            "bearing_request_duration_seconds",
            "route=\"token\"",
        );
        self.api_latency.render(
            &mut out,
            "bearing_request_duration_seconds",
            "route=\"api\"",
        );
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Counters show in both renderings; histogram buckets are cumulative.
    #[test]
    fn renders() {
        let m = Metrics::new(vec!["inventory".into()]);
        m.token_issued(Duration::from_micros(40));
        m.token_error("invalid_grant", Duration::from_micros(300));
        m.api_call(0, 200, Duration::from_micros(60));
        let s = m.snapshot(1, 2, 3, 0);
        assert_eq!(s.token_errors["invalid_grant"], 1);
        assert_eq!(s.api_calls["inventory"][&200], 1);
        let text = m.render(&s);
        assert!(text.contains("bearing_token_requests_total{outcome=\"issued\",error=\"\"} 1"));
        assert!(
            text.contains(
                "bearing_request_duration_seconds_bucket{route=\"token\",le=\"0.00005\"} 1"
            )
        );
        assert!(
            text.contains(
                "bearing_request_duration_seconds_bucket{route=\"token\",le=\"0.0005\"} 2"
            )
        );
        assert!(text.contains("bearing_request_duration_seconds_count{route=\"api\"} 1"));
        m.tls_connection(true);
        let text = m.render(&s);
        assert!(text.contains("bearing_tls_connections_total{protocol=\"h2\"} 1"));
        assert!(text.contains("bearing_tls_connections_total{protocol=\"http/1.1\"} 0"));
    }
}
