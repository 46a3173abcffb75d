//! `bench sign`: full assertion signing on 1..=N threads, one signer (and one parsed key) per
//! thread, next to `openssl speed` for the same primitive in the same run (rounds alternate
//! the two), and a sample of what every thread signed verified with the key's certificate.

pub mod measure;

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, Certificate, SigningKey};
use serde::Serialize;

use crate::machine::{Machine, check_duration, check_threads};
use crate::openssl::{self, OpensslInfo};
use crate::{Latency, Result, median_by};
pub use measure::{KeySharing, Step, Verification};

/// What to measure.
#[derive(Debug, Clone)]
pub struct SignConfig {
    /// The JWS algorithm.
    pub alg: Algorithm,
    /// The key (generated or read by the caller).
    pub key: Arc<SigningKey>,
    /// `generated` or the key file's path (for the report).
    pub key_source: String,
    /// Highest thread count; every count 1..=N is measured.
    pub threads: usize,
    /// Signing time per thread count and round.
    pub duration: Duration,
    /// Rounds per thread count, alternating with openssl; the median round is reported.
    pub rounds: u8,
    /// Run `openssl speed` next to each round (when it is on the PATH).
    pub openssl: bool,
    /// Per-thread keys (default) or one shared key.
    pub sharing: KeySharing,
}

/// The JSON document of `bench sign` (schemas/bench-sign.schema.json).
#[derive(Debug, Serialize)]
pub struct SignReport {
    /// The JWS algorithm.
    pub alg: &'static str,
    /// The key signed with.
    pub key: KeyInfo,
    /// Signing time per thread count and round, seconds.
    pub duration_secs: f64,
    /// Rounds per thread count.
    pub rounds: u8,
    /// The machine it ran on.
    pub machine: Machine,
    /// The openssl reference, when it ran.
    pub openssl: Option<OpensslInfo>,
    /// One step per thread count.
    pub steps: Vec<SignStep>,
    /// Sampled assertions verified with the key's certificate, all steps.
    pub verification: Verification,
    /// Whether every sampled assertion verified.
    pub ok: bool,
}

/// The key of a benchmark.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    /// `RSA-2048`, `EC P-256`, …
    pub kind: String,
    /// `generated` or the key file's path.
    pub source: String,
}

/// One thread count.
#[derive(Debug, Serialize)]
pub struct SignStep {
    /// Threads signing at once.
    pub threads: usize,
    /// Assertions signed (median round).
    pub assertions: u64,
    /// Wall time, seconds.
    pub elapsed_secs: f64,
    /// Assertions per second, all threads.
    pub assertions_per_sec: f64,
    /// Assertions per second per thread.
    pub per_core_per_sec: f64,
    /// Rate over `threads` × the one-thread rate.
    pub scaling_efficiency: f64,
    /// Time per signature.
    pub latency_us: Latency,
    /// Time the threads were on a CPU (Linux only).
    pub on_cpu_secs: Option<f64>,
    /// Assertions per second of CPU time.
    pub assertions_per_cpu_sec: Option<f64>,
    /// Share of `threads × elapsed` spent on a CPU.
    pub cpu_share: Option<f64>,
    /// `openssl speed`'s sign/s with as many processes.
    pub openssl_sign_per_sec: Option<f64>,
    /// Our rate over openssl's.
    pub ratio_to_openssl: Option<f64>,
    /// Our rate in each round.
    pub rounds_assertions_per_sec: Vec<f64>,
    /// openssl's rate in each round.
    pub rounds_openssl_sign_per_sec: Vec<f64>,
    /// Sampled assertions of this step verified.
    pub verification: Verification,
}

/// What [`measure_sign`] measured, and why openssl was not run (when it was not).
#[derive(Debug)]
pub struct SignMeasured {
    /// The report (`--output json` of `bench sign`).
    pub report: SignReport,
    /// Why there is no openssl reference: not asked, not on the PATH, no matching test.
    pub openssl_skipped: Option<String>,
}

/// Runs the signing benchmark (each thread count 1..=N, alternating with `openssl speed`
/// when asked and on the PATH); `progress` gets one line per measurement as it starts.
/// Shared by `bench sign` and `bearing demo`.
///
/// # Errors
/// Bad settings or a key that does not fit `alg` ([`crate::Error::is_bad_input`]), a
/// signing failure, a thread that cannot start.
pub fn measure_sign(c: &SignConfig, progress: &dyn Fn(&str)) -> Result<SignMeasured> {
    let max_threads = check_threads(c.threads)?;
    check_duration(c.duration)?;
    if c.rounds == 0 {
        return Err(crate::Error::setting("--rounds", "must be at least 1"));
    }
    let alg = c.alg;
    let key = &c.key;
    key.kind().check(alg)?;
    let cert = Certificate::self_signed(key, "bearing-bench", 1)?;
    let (openssl, openssl_skipped) = openssl::reference(c.openssl, alg, key.kind());
    let mut steps = Vec::with_capacity(max_threads);
    let mut total = Verification::default();
    let mut rate_1 = None;
    for n in 1..=max_threads {
        // Rounds alternate bearing and openssl so both see the same machine; the median
        // round of each side is reported (a shared machine disturbs single rounds).
        let mut ours = Vec::with_capacity(usize::from(c.rounds));
        let mut theirs = Vec::with_capacity(usize::from(c.rounds));
        let mut v = Verification::default();
        for round in 1..=c.rounds {
            progress(&format!(
                "bench sign: {alg}, {n} thread(s), {:.1}s, round {round}/{}…",
                c.duration.as_secs_f64(),
                c.rounds
            ));
            let step = measure::run_step(key, alg, n, c.duration, c.sharing)?;
            let rv = measure::verify(&step, &cert, alg);
            v.sampled += rv.sampled;
            v.valid += rv.valid;
            v.threads_sampled = v.threads_sampled.max(rv.threads_sampled);
            ours.push(step);
            if let Some(o) = &openssl {
                progress(&format!(
                    "bench sign: openssl speed {}, {n} process(es)…",
                    o.algorithm
                ));
                match openssl::speed(&o.algorithm, c.duration, n) {
                    Ok(r) => theirs.push(r.sign_per_sec),
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
        total.sampled += v.sampled;
        total.valid += v.valid;
        total.threads_sampled = total.threads_sampled.max(v.threads_sampled);
        let (step, rates) = median_by(ours, Step::rate);
        theirs.sort_by(f64::total_cmp);
        let ossl = theirs.get(theirs.len() / 2).copied();
        let rate_1 = *rate_1.get_or_insert(step.rate());
        let mut r = step_report(&step, rate_1, ossl, v);
        r.rounds_assertions_per_sec = rates;
        r.rounds_openssl_sign_per_sec = theirs;
        steps.push(r);
    }
    let ok = total.valid == total.sampled && total.sampled > 0;
    let report = SignReport {
        alg: alg.as_str(),
        key: KeyInfo {
            kind: key.kind().to_string(),
            source: c.key_source.clone(),
        },
        duration_secs: c.duration.as_secs_f64(),
        rounds: c.rounds,
        machine: Machine::current(),
        openssl,
        steps,
        verification: total,
        ok,
    };
    Ok(SignMeasured {
        report,
        openssl_skipped,
    })
}

/// The report of one thread count from its median round.
pub fn step_report(step: &Step, rate_1: f64, openssl: Option<f64>, v: Verification) -> SignStep {
    let rate = step.rate();
    #[expect(clippy::cast_precision_loss, reason = "a small count")]
    let n = step.threads as f64;
    SignStep {
        threads: step.threads,
        assertions: step.assertions,
        elapsed_secs: step.elapsed.as_secs_f64(),
        assertions_per_sec: rate,
        per_core_per_sec: rate / n,
        scaling_efficiency: if rate_1 > 0.0 {
            rate / (n * rate_1)
        } else {
            0.0
        },
        latency_us: Latency::from_ns(&step.latency_ns),
        on_cpu_secs: step.on_cpu.map(|d| d.as_secs_f64()),
        assertions_per_cpu_sec: step.rate_per_cpu_sec(),
        cpu_share: step.cpu_share(),
        openssl_sign_per_sec: openssl,
        ratio_to_openssl: openssl.filter(|o| *o > 0.0).map(|o| rate / o),
        rounds_assertions_per_sec: vec![rate],
        rounds_openssl_sign_per_sec: openssl.into_iter().collect(),
        verification: v,
    }
}
