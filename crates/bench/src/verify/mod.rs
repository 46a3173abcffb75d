//! `bench verify`: assertion validation throughput through the sandbox gateway's own
//! validation path on 1..=N threads, next to `openssl speed`'s verify/s for the same
//! primitive in the same run (rounds alternate the two), with a breakdown of one
//! validation's time (base64url, JSON, signature, claims, replay store).

mod breakdown;
pub mod measure;

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, SigningKey};
use serde::Serialize;

use crate::machine::{Machine, check_duration, check_threads};
use crate::openssl::{self, OpensslInfo};
use crate::sign::KeyInfo;
use crate::sizing::Sizing;
use crate::{Error, Latency, Result, median_by};
pub use breakdown::Breakdown;
use measure::{Pool, Sandbox, VerifyRun};

/// What to measure.
#[derive(Debug, Clone)]
pub struct VerifyConfig {
    /// The JWS algorithm.
    pub alg: Algorithm,
    /// The key whose assertions are verified (its self-signed certificate is registered).
    pub key: Arc<SigningKey>,
    /// `generated` or the key file's path (for the report).
    pub key_source: String,
    /// Highest thread count; every count 1..=N is measured.
    pub threads: usize,
    /// Validation time per thread count and round.
    pub duration: Duration,
    /// Rounds per thread count, alternating with openssl; the median round is reported.
    pub rounds: u8,
    /// Run `openssl speed` next to each round (when it is on the PATH).
    pub openssl: bool,
    /// Grants per second the sizing line plans for.
    pub grants_per_sec: f64,
}

/// The JSON document of `bench verify` (schemas/bench-verify.schema.json).
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    /// The JWS algorithm.
    pub alg: &'static str,
    /// The key whose certificate verifies.
    pub key: KeyInfo,
    /// What is measured, in words.
    pub path: &'static str,
    /// Validation time per thread count and round, seconds.
    pub duration_secs: f64,
    /// Rounds per thread count.
    pub rounds: u8,
    /// The machine it ran on.
    pub machine: Machine,
    /// The openssl reference, when it ran.
    pub openssl: Option<OpensslInfo>,
    /// One step per thread count.
    pub steps: Vec<VerifyStep>,
    /// Where one validation's time goes (one thread).
    pub breakdown: Breakdown,
    /// The capacity-plan figures.
    pub sizing: Sizing,
}

/// One thread count.
#[derive(Debug, Serialize)]
pub struct VerifyStep {
    /// Threads validating at once.
    pub threads: usize,
    /// Assertions validated (median round).
    pub validated: u64,
    /// Wall time, seconds.
    pub elapsed_secs: f64,
    /// Validations per second, all threads.
    pub verified_per_sec: f64,
    /// Validations per second per thread.
    pub per_core_per_sec: f64,
    /// Rate over `threads` × the one-thread rate.
    pub scaling_efficiency: f64,
    /// Time per validation.
    pub latency_us: Latency,
    /// Time the threads were on a CPU (Linux only).
    pub on_cpu_secs: Option<f64>,
    /// Validations per second of CPU time.
    pub verified_per_cpu_sec: Option<f64>,
    /// Share of `threads × elapsed` spent on a CPU.
    pub cpu_share: Option<f64>,
    /// `openssl speed`'s verify/s with as many processes.
    pub openssl_verify_per_sec: Option<f64>,
    /// Our rate over openssl's.
    pub ratio_to_openssl: Option<f64>,
    /// Our rate in each round, ascending.
    pub rounds_verified_per_sec: Vec<f64>,
    /// openssl's verify/s in each round, ascending.
    pub rounds_openssl_verify_per_sec: Vec<f64>,
}

/// What [`measure_verify`] measured, and why openssl was not run (when it was not).
#[derive(Debug)]
pub struct VerifyMeasured {
    /// The report.
    pub report: VerifyReport,
    /// Why there is no openssl reference.
    pub openssl_skipped: Option<String>,
}

/// Runs the verification benchmark; `progress` gets one line per measurement as it starts.
///
/// # Errors
/// Bad settings or a key that does not fit `alg` ([`Error::is_bad_input`]), a signing
/// failure, a thread that cannot start, an assertion the sandbox refused.
pub fn measure_verify(c: &VerifyConfig, progress: &dyn Fn(&str)) -> Result<VerifyMeasured> {
    let max_threads = check_threads(c.threads)?;
    check_duration(c.duration)?;
    if c.rounds == 0 {
        return Err(Error::setting("--rounds", "must be at least 1"));
    }
    if !(c.grants_per_sec.is_finite() && c.grants_per_sec > 0.0) {
        return Err(Error::setting(
            "--grants-per-sec",
            "must be a positive number",
        ));
    }
    let alg = c.alg;
    c.key.kind().check(alg)?;
    let sandbox = Arc::new(Sandbox::new(&c.key, alg)?);
    let (openssl, openssl_skipped) = openssl::reference(c.openssl, alg, c.key.kind());
    let mut steps = Vec::with_capacity(max_threads);
    let mut rate_1 = None;
    let mut sign_rate_1 = 0.0;
    let mut openssl_sign_1 = None;
    for n in 1..=max_threads {
        let mut ours = Vec::with_capacity(usize::from(c.rounds));
        let mut theirs = Vec::with_capacity(usize::from(c.rounds));
        let mut theirs_sign = Vec::new();
        for round in 1..=c.rounds {
            progress(&format!(
                "bench verify: {alg}, {n} thread(s), {:.1}s, round {round}/{}…",
                c.duration.as_secs_f64(),
                c.rounds
            ));
            ours.push(measure::run(&sandbox, &c.key, alg, n, c.duration)?);
            if let Some(o) = &openssl {
                progress(&format!(
                    "bench verify: openssl speed {}, {n} process(es)…",
                    o.algorithm
                ));
                match openssl::speed(&o.algorithm, c.duration, n) {
                    Ok(r) => {
                        theirs.push(r.verify_per_sec);
                        theirs_sign.push(r.sign_per_sec);
                    }
                    Err(e) => tracing::warn!("{e}"),
                }
            }
        }
        let (run, rates) = median_by(ours, VerifyRun::rate);
        theirs.sort_by(f64::total_cmp);
        theirs_sign.sort_by(f64::total_cmp);
        let ossl = theirs.get(theirs.len() / 2).copied();
        if n == 1 {
            sign_rate_1 = run.sign_rate;
            openssl_sign_1 = theirs_sign.get(theirs_sign.len() / 2).copied();
        }
        let rate_1 = *rate_1.get_or_insert(run.rate());
        let mut s = step_report(&run, rate_1, ossl);
        s.rounds_verified_per_sec = rates;
        s.rounds_openssl_verify_per_sec = theirs;
        steps.push(s);
    }
    progress(&format!(
        "bench verify: {alg}, breakdown of one validation…"
    ));
    let signer = crate::signer(Arc::clone(&c.key), alg)?;
    let pool = Pool::sign(&signer, measure::POOL)?;
    let slice = (c.duration / 10).clamp(Duration::from_millis(50), Duration::from_millis(500));
    let breakdown = breakdown::measure(&sandbox, alg, &pool, 7, slice)?;
    let one = &steps[0];
    let sizing = Sizing::new(
        alg,
        &c.key.kind().to_string(),
        sign_rate_1,
        one.verified_per_cpu_sec.unwrap_or(one.per_core_per_sec),
        one.openssl_verify_per_sec,
        openssl_sign_1,
        c.grants_per_sec,
    );
    let report = VerifyReport {
        alg: alg.as_str(),
        key: KeyInfo {
            kind: c.key.kind().to_string(),
            source: c.key_source.clone(),
        },
        path: "the sandbox gateway's validation path: strict compact-JWS parse, header checks, \
               issuer lookup, signature with the registered certificate, claims, jti replay store",
        duration_secs: c.duration.as_secs_f64(),
        rounds: c.rounds,
        machine: Machine::current(),
        openssl,
        steps,
        breakdown,
        sizing,
    };
    Ok(VerifyMeasured {
        report,
        openssl_skipped,
    })
}

fn step_report(run: &VerifyRun, rate_1: f64, openssl: Option<f64>) -> VerifyStep {
    let rate = run.rate();
    #[expect(clippy::cast_precision_loss, reason = "a small count")]
    let n = run.threads as f64;
    VerifyStep {
        threads: run.threads,
        validated: run.validated,
        elapsed_secs: run.elapsed.as_secs_f64(),
        verified_per_sec: rate,
        per_core_per_sec: rate / n,
        scaling_efficiency: if rate_1 > 0.0 {
            rate / (n * rate_1)
        } else {
            0.0
        },
        latency_us: Latency::from_ns(&run.latency_ns),
        on_cpu_secs: run.on_cpu.map(|d| d.as_secs_f64()),
        verified_per_cpu_sec: run.rate_per_cpu_sec(),
        cpu_share: run.cpu_share(),
        openssl_verify_per_sec: openssl,
        ratio_to_openssl: openssl.filter(|o| *o > 0.0).map(|o| rate / o),
        rounds_verified_per_sec: vec![rate],
        rounds_openssl_verify_per_sec: openssl.into_iter().collect(),
    }
}
