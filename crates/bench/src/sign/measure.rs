//! The signing measurement: `n` threads, each with its own parsed key and signer (no lock
//! shared on the hot path), sign full assertions until the deadline; each records the time
//! of every signature in its own HdrHistogram and keeps a few assertions for verification.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bearing_auth::{Algorithm, Assertion, AssertionSigner, Certificate, DecodedJwt, SigningKey};
use hdrhistogram::Histogram;

use crate::machine::on_cpu_ns;
use crate::{CLIENT_ID, Error, Result};

/// What one run on `threads` threads measured.
#[derive(Debug)]
pub struct Step {
    /// Threads signing at once.
    pub threads: usize,
    /// Assertions signed, all threads.
    pub assertions: u64,
    /// Wall time from the common start to the last thread's end.
    pub elapsed: Duration,
    /// Time per signature, nanoseconds, all threads merged.
    pub latency_ns: Histogram<u64>,
    /// Assertions kept for verification, per thread.
    pub samples: Vec<Vec<Assertion>>,
    /// Time the threads actually ran on a CPU, summed (Linux schedstat; `None` elsewhere).
    /// On a shared machine it is less than `threads × elapsed`.
    pub on_cpu: Option<Duration>,
}

impl Step {
    /// Assertions per second, all threads.
    pub fn rate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let n = self.assertions as f64;
        n / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Assertions per second of CPU time actually used (immune to other processes).
    pub fn rate_per_cpu_sec(&self) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let n = self.assertions as f64;
        self.on_cpu
            .map(|c| n / c.as_secs_f64().max(f64::MIN_POSITIVE))
    }

    /// Share of `threads × elapsed` the threads were on a CPU: 1.0 on an idle machine.
    pub fn cpu_share(&self) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        let n = self.threads as f64;
        let wall = (n * self.elapsed.as_secs_f64()).max(f64::MIN_POSITIVE);
        self.on_cpu.map(|c| c.as_secs_f64() / wall)
    }
}

/// How the threads get their signer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySharing {
    /// Each thread parses the key itself: nothing shared on the hot path.
    PerThread,
    /// All threads sign with one parsed key (aws-lc then locks the RSA blinding cache).
    Shared,
}

/// Signs on `threads` threads for `duration`.
///
/// # Errors
/// When a key cannot be re-parsed, a thread cannot start, or a signature fails.
pub fn run_step(
    key: &Arc<SigningKey>,
    alg: Algorithm,
    threads: usize,
    duration: Duration,
    sharing: KeySharing,
) -> Result<Step> {
    let signers = (0..threads)
        .map(|_| {
            let k = match sharing {
                KeySharing::PerThread => Arc::new(SigningKey::from_pkcs8(
                    key.pkcs8_der().expose(),
                    key.origin(),
                )?),
                KeySharing::Shared => Arc::clone(key),
            };
            crate::signer(k, alg)
        })
        .collect::<Result<Vec<_>>>()?;
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles = signers
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            let b = Arc::clone(&barrier);
            std::thread::Builder::new()
                .name(format!("bench-sign-{i}"))
                .spawn(move || sign_until(&s, &b, duration))
                .map_err(|source| Error::Thread { index: i, source })
        })
        .collect::<Result<Vec<_>>>()?;
    barrier.wait();
    let start = Instant::now();
    let mut step = Step {
        threads,
        assertions: 0,
        elapsed: Duration::ZERO,
        latency_ns: new_histogram()?,
        samples: Vec::with_capacity(threads),
        on_cpu: Some(Duration::ZERO),
    };
    for h in handles {
        let r = h.join().map_err(|_| Error::Panicked)??;
        step.assertions += r.count;
        step.latency_ns
            .add(&r.latency_ns)
            .map_err(|e| Error::Histogram(e.to_string()))?;
        step.samples.push(r.samples);
        step.on_cpu = step
            .on_cpu
            .zip(r.on_cpu_ns)
            .map(|(t, ns)| t + Duration::from_nanos(ns));
    }
    step.elapsed = start.elapsed();
    Ok(step)
}

struct ThreadResult {
    count: u64,
    latency_ns: Histogram<u64>,
    samples: Vec<Assertion>,
    on_cpu_ns: Option<u64>,
}

/// A latency histogram: 1 ns .. 60 s, 3 significant figures.
pub(crate) fn new_histogram() -> Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 60_000_000_000, 3).map_err(|e| Error::Histogram(e.to_string()))
}

/// The hot loop. Keeps the 1st, 2nd, 4th, 8th … assertion and the last one: a bounded
/// sample spread over the whole run.
fn sign_until(
    signer: &AssertionSigner,
    start: &Barrier,
    duration: Duration,
) -> Result<ThreadResult> {
    let mut latency_ns = new_histogram()?;
    let mut samples = Vec::new();
    let mut last = None;
    let mut count: u64 = 0;
    start.wait();
    let cpu_start = on_cpu_ns();
    let end = Instant::now() + duration;
    loop {
        let t = Instant::now();
        if t >= end {
            break;
        }
        let a = signer.sign()?;
        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        latency_ns.saturating_record(ns);
        count += 1;
        if count.is_power_of_two() {
            samples.push(a);
        } else {
            last = Some(a);
        }
    }
    let on_cpu_ns = cpu_start.zip(on_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
    samples.extend(last);
    Ok(ThreadResult {
        count,
        latency_ns,
        samples,
        on_cpu_ns,
    })
}

/// Outcome of verifying the kept assertions of one step (or of all steps).
#[derive(Debug, Default, Clone, Copy, serde::Serialize)]
pub struct Verification {
    /// Assertions checked.
    pub sampled: usize,
    /// Of which verified with the public key and carried the expected claims.
    pub valid: usize,
    /// Threads that contributed at least one sample: per step, at most its thread count;
    /// over a sweep, the largest step's (threads are new in every step, so summing the
    /// steps would count "3 threads" for a 1-and-2-thread sweep).
    pub threads_sampled: usize,
}

/// Verifies every kept assertion with `cert` (made from the key's public half): signature,
/// `alg`, `iss` and a `jti` unique within the samples.
pub fn verify(step: &Step, cert: &Certificate, alg: Algorithm) -> Verification {
    let mut v = Verification::default();
    let mut jtis = std::collections::HashSet::new();
    for thread in &step.samples {
        if !thread.is_empty() {
            v.threads_sampled += 1;
        }
        for a in thread {
            v.sampled += 1;
            let ok = DecodedJwt::parse(a.expose()).is_ok_and(|d| {
                d.verify(a.expose(), cert).is_ok_and(|got| got == alg)
                    && d.claims["iss"] == CLIENT_ID
                    && d.claims["jti"].as_str() == a.jti()
                    && a.jti().is_some_and(|j| jtis.insert(j.to_owned()))
            });
            if ok {
                v.valid += 1;
            }
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    // Two threads sign for a moment; every sampled assertion verifies with the certificate.
    #[test]
    fn samples_from_every_thread_verify() {
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let cert = Certificate::self_signed(&key, CLIENT_ID, 1).expect("cert");
        let step = run_step(
            &key,
            Algorithm::ES256,
            2,
            Duration::from_millis(50),
            KeySharing::PerThread,
        )
        .expect("step");
        assert_eq!(step.samples.len(), 2);
        assert!(step.assertions > 0);
        assert_eq!(step.latency_ns.len(), step.assertions);
        if cfg!(target_os = "linux") {
            let share = step.cpu_share().expect("schedstat on linux");
            // On-CPU time is at most threads × elapsed, give or take the threads' start-up.
            assert!(share > 0.0 && share < 1.5, "{share}");
            // The per-CPU-second rate is the count over the CPU time, which is the wall rate
            // spread over the busy threads.
            let per_cpu = step.rate_per_cpu_sec().expect("rate");
            let expected = step.rate() / (2.0 * share);
            assert!(
                (per_cpu - expected).abs() <= expected * 1e-6,
                "{per_cpu} vs {expected}"
            );
        }
        let v = verify(&step, &cert, Algorithm::ES256);
        assert_eq!(v.threads_sampled, 2);
        assert!(v.sampled >= 2);
        assert_eq!(v.valid, v.sampled);
    }

    // Assertions signed by another key do not verify.
    #[test]
    fn wrong_key_is_caught() {
        let key = Arc::new(SigningKey::generate(Algorithm::EdDSA, 0).expect("key"));
        let other = SigningKey::generate(Algorithm::EdDSA, 0).expect("key");
        let cert = Certificate::self_signed(&other, CLIENT_ID, 1).expect("cert");
        let step = run_step(
            &key,
            Algorithm::EdDSA,
            1,
            Duration::from_millis(10),
            KeySharing::Shared,
        )
        .expect("step");
        let v = verify(&step, &cert, Algorithm::EdDSA);
        assert!(v.sampled > 0);
        assert_eq!(v.valid, 0);
    }
}
