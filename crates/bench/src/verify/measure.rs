//! The verification measurement: `n` threads validate pre-signed assertions through the
//! sandbox gateway's own [`Validator`] (strict parse, header, issuer lookup in a shared
//! registry, signature with the verifier parsed at registration, claims, the shared `jti`
//! replay store) until the deadline, exactly what `POST /oauth/token` does besides HTTP.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use bearing_auth::{Algorithm, AssertionSigner, Certificate, SigningKey};
use bearing_gateway::{Client, Registry, ReplayStore, Validator};
use hdrhistogram::Histogram;

use crate::machine::on_cpu_ns;
use crate::sign::measure::new_histogram;
use crate::{AUDIENCE, CLIENT_ID, Error, Result};

/// Distinct assertions each thread cycles through (each `jti` is valid once; the thread
/// clears the replay store when it starts over, a cost spread over the pool).
pub(crate) const POOL: usize = 1024;

/// The sandbox side of a verification benchmark: validator, registry and replay store,
/// shared by all threads as the sandbox shares them between connections.
#[derive(Debug)]
pub struct Sandbox {
    /// The sandbox's validator for the profile (`rfc-strict` allowing the benchmark's alg).
    pub validator: Validator,
    /// One registered client with the key's certificate.
    pub registry: Registry,
    /// The replay store.
    pub replay: ReplayStore,
    /// The certificate registered.
    pub cert: Certificate,
}

impl Sandbox {
    /// Registers `key`'s self-signed certificate for [`CLIENT_ID`] under the `rfc-strict`
    /// profile with `alg` as its allowed algorithm.
    ///
    /// # Errors
    /// When the certificate cannot be made or registered.
    pub fn new(key: &SigningKey, alg: Algorithm) -> Result<Self> {
        let cert = Certificate::self_signed(key, CLIENT_ID, 1)?;
        let registry = Registry::new();
        registry.insert(Client::new(
            CLIENT_ID,
            vec![cert.clone()],
            vec![],
            vec![],
            vec![],
        )?);
        let mut profile = bearing_auth::GatewayProfile::rfc_strict();
        profile.allowed_algs = vec![alg];
        Ok(Self {
            validator: Validator::new(Arc::new(profile), vec![AUDIENCE.to_owned()]),
            registry,
            replay: ReplayStore::new(),
            cert,
        })
    }

    /// Validates one assertion at `now_ms`, as `POST /oauth/token` does.
    ///
    /// # Errors
    /// [`Error::Refused`] with the sandbox's reason.
    pub fn validate(&self, compact: &str, now_ms: i64) -> Result<()> {
        self.validator
            .validate(compact, &self.registry, &self.replay, now_ms, None)
            .map(drop)
            .map_err(|r| Error::Refused(r.description))
    }
}

/// A pool of assertions signed by one thread, and how long signing them took.
#[derive(Debug)]
pub struct Pool {
    /// Compact assertions, each with its own `jti`.
    pub assertions: Vec<String>,
    /// Wall time spent signing them on one thread.
    pub signing: Duration,
    /// The validation time: inside every assertion's lifetime.
    pub now_ms: i64,
}

impl Pool {
    /// Signs `n` assertions with `signer` on the calling thread.
    ///
    /// # Errors
    /// A signing failure.
    pub fn sign(signer: &AssertionSigner, n: usize) -> Result<Self> {
        let start = Instant::now();
        let assertions = (0..n)
            .map(|_| signer.sign().map(bearing_auth::Assertion::into_compact))
            .collect::<Result<Vec<_>, _>>()?;
        let signing = start.elapsed();
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Ok(Self {
            assertions,
            signing,
            now_ms,
        })
    }

    /// Assertions signed per second while the pool was minted (one thread).
    pub fn sign_rate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        let n = self.assertions.len() as f64;
        n / self.signing.as_secs_f64().max(f64::MIN_POSITIVE)
    }
}

/// What one run on `threads` threads measured.
#[derive(Debug)]
pub struct VerifyRun {
    /// Threads validating at once.
    pub threads: usize,
    /// Assertions validated, all threads.
    pub validated: u64,
    /// Wall time from the common start to the last thread's end.
    pub elapsed: Duration,
    /// Time per validation, ns, all threads merged.
    pub latency_ns: Histogram<u64>,
    /// CPU time the threads got, summed (Linux; `None` elsewhere).
    pub on_cpu: Option<Duration>,
    /// One-thread signing rate while the first pool was minted.
    pub sign_rate: f64,
}

impl VerifyRun {
    /// Validations per second, all threads.
    pub fn rate(&self) -> f64 {
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let n = self.validated as f64;
        n / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Validations per second of CPU time actually used.
    pub fn rate_per_cpu_sec(&self) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a rate")]
        let n = self.validated as f64;
        self.on_cpu
            .map(|c| n / c.as_secs_f64().max(f64::MIN_POSITIVE))
    }

    /// Share of `threads × elapsed` the threads were on a CPU.
    pub fn cpu_share(&self) -> Option<f64> {
        #[expect(clippy::cast_precision_loss, reason = "a small count")]
        let n = self.threads as f64;
        let wall = (n * self.elapsed.as_secs_f64()).max(f64::MIN_POSITIVE);
        self.on_cpu.map(|c| c.as_secs_f64() / wall)
    }
}

/// Validates on `threads` threads for `duration`; each thread first signs its own pool with
/// its own copy of the key (not timed).
///
/// # Errors
/// A signing failure, a thread that cannot start, or an assertion the sandbox refused.
pub fn run(
    sandbox: &Arc<Sandbox>,
    key: &SigningKey,
    alg: Algorithm,
    threads: usize,
    duration: Duration,
) -> Result<VerifyRun> {
    let barrier = Arc::new(Barrier::new(threads + 1));
    let handles = (0..threads)
        .map(|i| {
            let k = Arc::new(SigningKey::from_pkcs8(
                key.pkcs8_der().expose(),
                key.origin(),
            )?);
            let signer = crate::signer(k, alg)?;
            let (b, sb) = (Arc::clone(&barrier), Arc::clone(sandbox));
            std::thread::Builder::new()
                .name(format!("bench-verify-{i}"))
                .spawn(move || {
                    let pool = Pool::sign(&signer, POOL);
                    validate_until(&sb, pool, &b, duration)
                })
                .map_err(|source| Error::Thread { index: i, source })
        })
        .collect::<Result<Vec<_>>>()?;
    barrier.wait();
    let start = Instant::now();
    let mut run = VerifyRun {
        threads,
        validated: 0,
        elapsed: Duration::ZERO,
        latency_ns: new_histogram()?,
        on_cpu: Some(Duration::ZERO),
        sign_rate: 0.0,
    };
    let mut first_error = None;
    for h in handles {
        match h.join().map_err(|_| Error::Panicked)? {
            Ok(r) => {
                run.validated += r.count;
                run.latency_ns
                    .add(&r.latency_ns)
                    .map_err(|e| Error::Histogram(e.to_string()))?;
                run.on_cpu = run
                    .on_cpu
                    .zip(r.on_cpu_ns)
                    .map(|(t, ns)| t + Duration::from_nanos(ns));
                if run.sign_rate == 0.0 {
                    run.sign_rate = r.sign_rate;
                }
            }
            Err(e) => first_error = first_error.or(Some(e)),
        }
    }
    run.elapsed = start.elapsed();
    sandbox.replay.clear();
    first_error.map_or(Ok(run), Err)
}

struct ThreadResult {
    count: u64,
    latency_ns: Histogram<u64>,
    on_cpu_ns: Option<u64>,
    sign_rate: f64,
}

/// The hot loop. A pool that failed to sign still waits at the barrier (so the others are
/// not left hanging) and then reports its error.
fn validate_until(
    sandbox: &Sandbox,
    pool: Result<Pool>,
    start: &Barrier,
    duration: Duration,
) -> Result<ThreadResult> {
    start.wait();
    let pool = pool?;
    let mut latency_ns = new_histogram()?;
    let mut count: u64 = 0;
    let cpu_start = on_cpu_ns();
    let end = Instant::now() + duration;
    let mut i = 0;
    loop {
        let t = Instant::now();
        if t >= end {
            break;
        }
        if i == pool.assertions.len() {
            // Every jti of this pool is in the store now: forget them and start over.
            sandbox.replay.clear();
            i = 0;
        }
        sandbox.validate(&pool.assertions[i], pool.now_ms)?;
        i += 1;
        let ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
        latency_ns.saturating_record(ns);
        count += 1;
    }
    let on_cpu_ns = cpu_start.zip(on_cpu_ns()).map(|(a, b)| b.saturating_sub(a));
    Ok(ThreadResult {
        count,
        latency_ns,
        on_cpu_ns,
        sign_rate: pool.sign_rate(),
    })
}
