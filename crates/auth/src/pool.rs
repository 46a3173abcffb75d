//! The assertion pool: assertions minted ahead of need on every core, for load tests of a
//! token endpoint.
//!
//! Signing an RS256 assertion costs the client about as much CPU as the gateway spends on the
//! whole token request (shared/reference/anchors.md, "the hardware limit"), so a load generator
//! that signs on demand measures itself. An [`AssertionPool`] keeps up to `capacity`
//! assertions ready: `workers` std threads, each with its own signer, fill it continuously;
//! [`AssertionPool::take`] / [`AssertionPool::try_take`] hand each assertion out exactly once
//! and never one whose `exp - margin` has passed (those are discarded and counted).
//!
//! The lock guards only the queue (a push or a pop); signing happens outside it. Dropping the
//! pool stops and joins every worker: each worker loop checks the shutdown flag between
//! signatures and waits on a condition variable with a timeout, so no thread outlives the pool.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::assertion::AssertionSigner;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::secret::Assertion;

/// How long a worker blocked on a full pool sleeps before it looks for stale assertions
/// again (time may pass on the clock without anyone taking from the pool).
const PURGE_INTERVAL: Duration = Duration::from_millis(50);

/// Settings of an [`AssertionPool`].
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Maximum number of assertions held ready. Defaults to 1024.
    pub capacity: usize,
    /// Worker threads minting assertions. Defaults to the number of available cores.
    pub workers: usize,
    /// An assertion is handed out only while `now < exp - margin`, leaving it this long to
    /// reach the gateway and be checked. Defaults to 10 s. Must be shorter than the
    /// signer's ttl.
    pub margin: Duration,
    /// The clock staleness is judged by: give the signer's clock. Defaults to the system clock.
    pub clock: SharedClock,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            capacity: 1024,
            workers: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            margin: Duration::from_secs(10),
            clock: Arc::new(SystemClock),
        }
    }
}

impl PoolConfig {
    /// Checks the settings against the lifetime of the assertions the pool will hold.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: zero capacity or workers, or a margin not
    /// shorter than `ttl` (every assertion would be stale when minted).
    pub fn validate(&self, ttl: Duration) -> Result<()> {
        if self.capacity == 0 {
            return Err(Error::Config("assertion pool capacity must be > 0".into()));
        }
        if self.workers == 0 {
            return Err(Error::Config("assertion pool workers must be > 0".into()));
        }
        if self.margin >= ttl {
            return Err(Error::Config(format!(
                "assertion pool margin ({}ms) must be shorter than the assertion ttl ({}ms)",
                self.margin.as_millis(),
                ttl.as_millis()
            )));
        }
        Ok(())
    }
}

/// Counters of an [`AssertionPool`], read with [`AssertionPool::stats`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolStats {
    /// Assertions signed by the workers.
    pub minted: u64,
    /// Assertions handed to consumers (each exactly once).
    pub handed_out: u64,
    /// Assertions thrown away because `exp - margin` had passed before anyone took them.
    pub discarded_stale: u64,
    /// Calls to [`AssertionPool::take`] that found the pool empty and had to wait.
    pub consumer_waits: u64,
    /// Total time those calls waited, in µs.
    pub consumer_wait_micros: u64,
    /// Calls to [`AssertionPool::try_take`] that found the pool empty.
    pub try_take_misses: u64,
    /// Signatures that failed (a worker stops at its first failure).
    pub sign_errors: u64,
    /// Assertions ready now.
    pub ready: usize,
    /// Time since the pool started.
    pub elapsed: Duration,
    /// `minted / elapsed`: the rate the workers fill the pool at.
    pub fill_rate_per_sec: f64,
}

#[derive(Debug, Default)]
struct Counters {
    minted: AtomicU64,
    handed_out: AtomicU64,
    discarded_stale: AtomicU64,
    consumer_waits: AtomicU64,
    consumer_wait_micros: AtomicU64,
    try_take_misses: AtomicU64,
    sign_errors: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    queue: Mutex<VecDeque<Assertion>>,
    /// Workers wait here while the queue is full.
    not_full: Condvar,
    /// Consumers in [`AssertionPool::take`] wait here while the queue is empty.
    available: tokio::sync::Notify,
    shutdown: AtomicBool,
    /// Set by [`AssertionPool::stop_minting`]: workers exit, what is ready is still handed out.
    minting_stopped: AtomicBool,
    live_workers: AtomicUsize,
    capacity: usize,
    margin_millis: i64,
    clock: SharedClock,
    counters: Counters,
    started: Instant,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, VecDeque<Assertion>> {
        // A panic while holding the lock leaves the queue intact (push/pop are atomic), so a
        // poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn is_stopped(&self) -> bool {
        self.shutdown.load(Ordering::Acquire)
    }

    /// Whether workers must stop minting: shut down, or minting stopped.
    fn stop_workers(&self) -> bool {
        self.is_stopped() || self.minting_stopped.load(Ordering::Acquire)
    }

    /// Whether `a` may still be handed out at `now_millis`: `now < exp - margin`.
    fn is_fresh(&self, a: &Assertion, now_millis: i64) -> bool {
        now_millis
            < a.exp()
                .saturating_mul(1000)
                .saturating_sub(self.margin_millis)
    }

    /// Pops the first fresh assertion, discarding stale ones ahead of it.
    fn pop_fresh(&self) -> Option<Assertion> {
        let now = self.clock.now_millis();
        let mut q = self.lock();
        let mut discarded = 0;
        let found = loop {
            match q.pop_front() {
                Some(a) if self.is_fresh(&a, now) => break Some(a),
                Some(_) => discarded += 1,
                None => break None,
            }
        };
        drop(q);
        if discarded > 0 {
            self.counters
                .discarded_stale
                .fetch_add(discarded, Ordering::Relaxed);
        }
        if found.is_some() {
            self.counters.handed_out.fetch_add(1, Ordering::Relaxed);
        }
        // Wake as many workers as slots were freed.
        if discarded > 0 {
            self.not_full.notify_all();
        } else if found.is_some() {
            self.not_full.notify_one();
        }
        found
    }

    /// Drops stale assertions from the front of the queue (the oldest).
    fn purge_front(&self, q: &mut VecDeque<Assertion>) {
        let now = self.clock.now_millis();
        let mut discarded = 0;
        while q.front().is_some_and(|a| !self.is_fresh(a, now)) {
            q.pop_front();
            discarded += 1;
        }
        if discarded > 0 {
            self.counters
                .discarded_stale
                .fetch_add(discarded, Ordering::Relaxed);
        }
    }

    /// One worker: sign, wait for room, push; until shutdown or a signing failure.
    fn work(&self, signer: &AssertionSigner) {
        while !self.stop_workers() {
            let assertion = match signer.sign() {
                Ok(a) => a,
                Err(e) => {
                    self.counters.sign_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::error!(error = %e, "assertion pool worker stopped: signing failed");
                    break;
                }
            };
            self.counters.minted.fetch_add(1, Ordering::Relaxed);
            let mut q = self.lock();
            loop {
                if self.stop_workers() {
                    return;
                }
                self.purge_front(&mut q);
                if q.len() < self.capacity {
                    break;
                }
                q = self
                    .not_full
                    .wait_timeout(q, PURGE_INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            }
            if self.is_fresh(&assertion, self.clock.now_millis()) {
                q.push_back(assertion);
                drop(q);
                self.available.notify_one();
            } else {
                drop(q);
                self.counters
                    .discarded_stale
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Assertions minted ahead of need by worker threads; each handed out once, while fresh.
///
/// ```
/// # use std::sync::Arc;
/// # use bearing_auth::{Algorithm, AssertionSigner, SigningKey, AssertionPool, PoolConfig};
/// let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0)?);
/// let signer = AssertionSigner::builder(key, "client").audience("https://gw/oauth/token").build()?;
/// let pool = AssertionPool::from_signer(&signer, PoolConfig { workers: 1, capacity: 8, ..Default::default() })?;
/// let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// let a = rt.block_on(pool.take())?;
/// assert!(a.jti().is_some());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AssertionPool {
    shared: Arc<Shared>,
    workers: Mutex<Vec<JoinHandle<()>>>,
}

impl AssertionPool {
    /// Starts `config.workers` threads; worker `i` signs with `make_signer(i)`. Build each
    /// signer from its own parsed key (e.g. `SigningKey::from_pkcs8(key.pkcs8_der().expose(), ..)`)
    /// so the workers share no lock: aws-lc guards an RSA key's blinding cache with a mutex.
    ///
    /// # Errors
    /// [`Error::Config`] from [`PoolConfig::validate`], the factory's error, or
    /// [`Error::Signing`] when a thread cannot be spawned.
    pub fn start<F>(config: PoolConfig, mut make_signer: F) -> Result<Self>
    where
        F: FnMut(usize) -> Result<AssertionSigner>,
    {
        let signers = (0..config.workers)
            .map(&mut make_signer)
            .collect::<Result<Vec<_>>>()?;
        let ttl = signers
            .iter()
            .map(AssertionSigner::ttl)
            .min()
            .unwrap_or(Duration::ZERO);
        config.validate(ttl)?;
        let shared = Arc::new(Shared {
            queue: Mutex::new(VecDeque::with_capacity(config.capacity)),
            not_full: Condvar::new(),
            available: tokio::sync::Notify::new(),
            shutdown: AtomicBool::new(false),
            minting_stopped: AtomicBool::new(false),
            live_workers: AtomicUsize::new(signers.len()),
            capacity: config.capacity,
            margin_millis: i64::try_from(config.margin.as_millis()).unwrap_or(i64::MAX),
            clock: config.clock,
            counters: Counters::default(),
            started: Instant::now(),
        });
        let pool = Self {
            shared: Arc::clone(&shared),
            workers: Mutex::new(Vec::new()),
        };
        for (i, signer) in signers.into_iter().enumerate() {
            let sh = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("bearing-pool-{i}"))
                .spawn(move || {
                    sh.work(&signer);
                    sh.live_workers.fetch_sub(1, Ordering::AcqRel);
                    // Wake consumers so they notice when no worker is left.
                    sh.available.notify_waiters();
                });
            match spawned {
                Ok(h) => pool.lock_workers().push(h),
                Err(e) => {
                    shared.live_workers.fetch_sub(1, Ordering::AcqRel);
                    // `pool` is dropped here, stopping the workers already started.
                    return Err(Error::Signing(format!("cannot start pool worker {i}: {e}")));
                }
            }
        }
        Ok(pool)
    }

    /// Starts the pool with a clone of `signer` per worker. The clones share one parsed key;
    /// prefer [`Self::start`] with a key per worker for RSA on many cores.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub fn from_signer(signer: &AssertionSigner, config: PoolConfig) -> Result<Self> {
        Self::start(config, |_| Ok(signer.clone()))
    }

    fn lock_workers(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh assertion if one is ready now; never waits.
    pub fn try_take(&self) -> Option<Assertion> {
        let a = self.shared.pop_fresh();
        if a.is_none() {
            self.shared
                .counters
                .try_take_misses
                .fetch_add(1, Ordering::Relaxed);
        }
        a
    }

    /// A fresh assertion, waiting for a worker when none is ready (the wait is counted in
    /// [`PoolStats::consumer_waits`]). Cancel-safe: dropping the future loses no assertion.
    ///
    /// # Errors
    /// [`Error::Signing`] when the pool is shut down or every worker has stopped.
    pub async fn take(&self) -> Result<Assertion> {
        let mut waited_since: Option<Instant> = None;
        let result = loop {
            let notified = self.shared.available.notified();
            tokio::pin!(notified);
            // Registered before looking, so a push between the look and the await wakes us.
            notified.as_mut().enable();
            if let Some(a) = self.shared.pop_fresh() {
                break Ok(a);
            }
            if self.shared.is_stopped() {
                break Err(Error::Signing("assertion pool is shut down".into()));
            }
            if self.shared.live_workers.load(Ordering::Acquire) == 0 {
                break Err(Error::Signing(
                    if self.shared.minting_stopped.load(Ordering::Acquire) {
                        "assertion pool exhausted: minting was stopped (refill: false)"
                    } else {
                        "assertion pool has no running worker"
                    }
                    .into(),
                ));
            }
            if waited_since.is_none() {
                waited_since = Some(Instant::now());
                self.shared
                    .counters
                    .consumer_waits
                    .fetch_add(1, Ordering::Relaxed);
            }
            notified.await;
        };
        if let Some(t) = waited_since {
            let us = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.shared
                .counters
                .consumer_wait_micros
                .fetch_add(us, Ordering::Relaxed);
        }
        result
    }

    /// Assertions ready now (stale ones not yet discarded included).
    pub fn len(&self) -> usize {
        self.shared.lock().len()
    }

    /// Whether no assertion is ready.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most assertions the pool holds.
    pub fn capacity(&self) -> usize {
        self.shared.capacity
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> PoolStats {
        let c = &self.shared.counters;
        let elapsed = self.shared.started.elapsed();
        let minted = c.minted.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        #[expect(
            clippy::cast_precision_loss,
            reason = "a rate; 2^52 assertions is far off"
        )]
        let fill_rate_per_sec = if secs > 0.0 {
            minted as f64 / secs
        } else {
            0.0
        };
        PoolStats {
            minted,
            handed_out: c.handed_out.load(Ordering::Relaxed),
            discarded_stale: c.discarded_stale.load(Ordering::Relaxed),
            consumer_waits: c.consumer_waits.load(Ordering::Relaxed),
            consumer_wait_micros: c.consumer_wait_micros.load(Ordering::Relaxed),
            try_take_misses: c.try_take_misses.load(Ordering::Relaxed),
            sign_errors: c.sign_errors.load(Ordering::Relaxed),
            ready: self.len(),
            elapsed,
            fill_rate_per_sec,
        }
    }

    /// Stops minting: the workers exit after their current signature, and what is ready is
    /// still handed out; once it is gone, [`Self::take`] fails instead of waiting. For a run
    /// whose assertions were all minted ahead (prefill), so no core signs while it measures.
    /// Does not wait for the workers.
    pub fn stop_minting(&self) {
        {
            let _q = self.shared.lock();
            self.shared.minting_stopped.store(true, Ordering::Release);
        }
        self.shared.not_full.notify_all();
    }

    /// Stops the workers and waits for them (at most one signature each). Consumers waiting
    /// in [`Self::take`] get an error. Idempotent; also done on drop.
    pub fn shutdown(&self) {
        {
            // Set under the queue lock so a worker cannot miss the wake-up between its check
            // and its wait.
            let _q = self.shared.lock();
            self.shared.shutdown.store(true, Ordering::Release);
        }
        self.shared.not_full.notify_all();
        self.shared.available.notify_waiters();
        let handles = std::mem::take(&mut *self.lock_workers());
        for h in handles {
            if h.join().is_err() {
                tracing::error!("assertion pool worker panicked");
            }
        }
    }

    /// Whether every worker has stopped.
    pub fn is_stopped(&self) -> bool {
        self.shared.live_workers.load(Ordering::Acquire) == 0
    }
}

impl Drop for AssertionPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests;
