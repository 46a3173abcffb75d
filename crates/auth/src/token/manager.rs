//! The token manager: one cached access token per client, refreshed ahead of expiry,
//! fetched by a single task however many need it, replaced once after a 401.
//!
//! - **Refresh-ahead** (portal contract, catalog case rf-proactive-renewal): a token is
//!   refreshed at `min(fraction × lifetime, lifetime − margin)`, the margin never moving the
//!   refresh before half the lifetime, so a 2 s token is usable for 1 s. While one task
//!   refreshes, the others keep using the still-valid token.
//! - **Single-flight**: fetches happen under a `tokio::sync::Mutex`; a task that waited for
//!   another's fetch takes that fetch's result (token *or* error) instead of fetching again,
//!   so 1,000 concurrent callers cause one token request, and a failing endpoint one failure.
//! - **401**: [`TokenManager::call`] drops the token that got the 401 (only if it is still
//!   the current one), fetches a new one with a new assertion (new `jti`) and retries once.
//! - **Retries**: a token request is retried with exponential backoff and jitter on 5xx,
//!   429 and network errors only, honouring `Retry-After`, at most
//!   [`ManagerConfig::max_attempts`] times; each attempt signs a fresh assertion.
//!
//! Expiry reads the injected [`Clock`](crate::Clock); backoff sleeps use `tokio::time`.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use super::client::TokenClient;
use super::response::Deviation;
use crate::assertion::AssertionSigner;
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::secret::AccessToken;

/// How the manager refreshes and retries.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagerConfig {
    /// Refresh when less than this is left of a token's lifetime (but never before half of
    /// it has passed). Defaults to 30 s.
    pub refresh_margin: Duration,
    /// Refresh once this fraction of a token's lifetime has passed, in (0, 1]. Defaults to 0.8.
    pub refresh_fraction: f64,
    /// Token request attempts per fetch, the first included. Defaults to 3.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled for each next one, with jitter.
    /// Defaults to 200 ms.
    pub initial_backoff: Duration,
    /// Longest backoff between attempts. Defaults to 10 s.
    pub max_backoff: Duration,
    /// Longest `Retry-After` honoured; a longer one ends the fetch with the error at once
    /// instead of waiting. Defaults to 60 s.
    pub max_retry_after: Duration,
    /// Lifetime assumed when the endpoint sends no usable `expires_in`; `None` keeps such a
    /// token until a 401 invalidates it. Defaults to `None`.
    pub assumed_lifetime: Option<Duration>,
}

impl Default for ManagerConfig {
    fn default() -> Self {
        Self {
            refresh_margin: Duration::from_secs(30),
            refresh_fraction: 0.8,
            max_attempts: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            assumed_lifetime: None,
        }
    }
}

impl ManagerConfig {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field: a fraction outside (0, 1], zero attempts.
    pub fn validate(&self) -> Result<()> {
        if !(self.refresh_fraction > 0.0 && self.refresh_fraction <= 1.0) {
            return Err(Error::Config(format!(
                "refresh_fraction {} must be in (0, 1]",
                self.refresh_fraction
            )));
        }
        if self.max_attempts == 0 {
            return Err(Error::Config("max_attempts must be at least 1".into()));
        }
        Ok(())
    }

    /// How long after issue a token of `lifetime` is refreshed.
    pub fn refresh_after(&self, lifetime: Duration) -> Duration {
        // `Duration::mul_f64` panics when the product does not fit: a gateway may send any
        // `expires_in` (u64::MAX × 1.0 rounds up past it in f64), so convert checked.
        let by_fraction =
            Duration::try_from_secs_f64(lifetime.as_secs_f64() * self.refresh_fraction)
                .unwrap_or(lifetime)
                .min(lifetime);
        let by_margin = lifetime
            .saturating_sub(self.refresh_margin)
            .max(lifetime / 2);
        by_fraction.min(by_margin)
    }

    /// The delay before retry number `retry` (1 for the first), before jitter is applied:
    /// `initial_backoff × 2^(retry−1)`, capped at `max_backoff`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1).min(30));
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Counters of one manager (and its clones) since it was built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ManagerStats {
    /// HTTP requests sent to the token endpoint, retries included.
    pub token_requests: u64,
    /// Token requests that returned a token.
    pub tokens_issued: u64,
    /// Fetches started because a still-valid token reached its refresh point.
    pub refreshes_ahead: u64,
    /// API calls retried after a 401.
    pub unauthorized_retries: u64,
    /// Token requests retried after a 5xx, 429 or network error.
    pub token_request_retries: u64,
    /// Fetches that ended without a token (after their retries).
    pub failures: u64,
    /// Assertions signed, each with its own `jti`.
    pub jtis_used: u64,
    /// `token()` calls answered from the cache.
    pub cache_hits: u64,
}

/// The cached token and its schedule, as [`TokenManager::cached`] shows it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenInfo {
    /// The token (redacted in `Debug`).
    pub token: AccessToken,
    /// When the request that got it started (ms since the epoch, manager's clock).
    pub obtained_at_ms: i64,
    /// When it will be refreshed ahead of expiry; `i64::MAX` when never.
    pub refresh_at_ms: i64,
    /// When it expires; `None` when its lifetime is unknown.
    pub expires_at_ms: Option<i64>,
    /// The deviations seen in the answer that carried it.
    pub deviations: Vec<Deviation>,
}

impl TokenInfo {
    fn usable_at(&self, now: i64) -> bool {
        self.expires_at_ms.is_none_or(|exp| now < exp)
    }
}

/// Something carrying an HTTP status, so [`TokenManager::call`] can spot a 401.
pub trait HttpStatus {
    /// The status, or `None` when there is none (a transport error).
    fn http_status(&self) -> Option<u16>;
}

impl HttpStatus for u16 {
    fn http_status(&self) -> Option<u16> {
        Some(*self)
    }
}

impl HttpStatus for reqwest::StatusCode {
    fn http_status(&self) -> Option<u16> {
        Some(self.as_u16())
    }
}

impl HttpStatus for reqwest::Response {
    fn http_status(&self) -> Option<u16> {
        Some(self.status().as_u16())
    }
}

impl<T> HttpStatus for (u16, T) {
    fn http_status(&self) -> Option<u16> {
        Some(self.0)
    }
}

impl<T: HttpStatus, E> HttpStatus for std::result::Result<T, E> {
    fn http_status(&self) -> Option<u16> {
        self.as_ref().ok().and_then(HttpStatus::http_status)
    }
}

/// What [`TokenManager::call`] returns: the closure's last result and whether it ran twice.
#[derive(Debug)]
pub struct CallOutcome<R> {
    /// The result of the last run of the closure (the retry's, after a 401).
    pub response: R,
    /// Whether the first run got a 401 and the closure ran again with a new token.
    pub retried: bool,
}

/// Caches and renews the access token of one client. Cheap to clone: clones share the
/// cache, the single-flight lock and the counters.
#[derive(Debug, Clone)]
pub struct TokenManager {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    signer: AssertionSigner,
    client: TokenClient,
    clock: SharedClock,
    config: ManagerConfig,
    /// The current token; a std mutex, only ever held for a clone or a swap.
    current: Mutex<Option<Arc<TokenInfo>>>,
    /// Held by the one task fetching (across awaits, hence tokio's).
    fetch: tokio::sync::Mutex<()>,
    /// Bumped when a fetch ends, so waiters know one ended while they waited.
    fetch_epoch: AtomicU64,
    /// The error the last fetch ended with, for the tasks that waited on it.
    last_error: Mutex<Option<Error>>,
    stats: Counters,
}

#[derive(Debug, Default)]
struct Counters {
    token_requests: AtomicU64,
    tokens_issued: AtomicU64,
    refreshes_ahead: AtomicU64,
    unauthorized_retries: AtomicU64,
    token_request_retries: AtomicU64,
    failures: AtomicU64,
    jtis_used: AtomicU64,
    cache_hits: AtomicU64,
}

fn bump(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock left plain data behind: still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TokenManager {
    /// A manager signing with `signer`, requesting through `client`, reading time from
    /// `clock` (give the signer the same clock).
    ///
    /// # Errors
    /// [`Error::Config`] when `config` does not validate.
    pub fn new(
        signer: AssertionSigner,
        client: TokenClient,
        clock: SharedClock,
        config: ManagerConfig,
    ) -> Result<Self> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                signer,
                client,
                clock,
                config,
                current: Mutex::new(None),
                fetch: tokio::sync::Mutex::new(()),
                fetch_epoch: AtomicU64::new(0),
                last_error: Mutex::new(None),
                stats: Counters::default(),
            }),
        })
    }

    /// The token client (and through it the shared `reqwest::Client`).
    pub fn client(&self) -> &TokenClient {
        &self.inner.client
    }

    /// The assertion signer.
    pub fn signer(&self) -> &AssertionSigner {
        &self.inner.signer
    }

    /// The configuration.
    pub fn config(&self) -> &ManagerConfig {
        &self.inner.config
    }

    /// The cached token and its schedule, if any.
    pub fn cached(&self) -> Option<TokenInfo> {
        lock(&self.inner.current).as_deref().cloned()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> ManagerStats {
        let c = &self.inner.stats;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ManagerStats {
            token_requests: g(&c.token_requests),
            tokens_issued: g(&c.tokens_issued),
            refreshes_ahead: g(&c.refreshes_ahead),
            unauthorized_retries: g(&c.unauthorized_retries),
            token_request_retries: g(&c.token_request_retries),
            failures: g(&c.failures),
            jtis_used: g(&c.jtis_used),
            cache_hits: g(&c.cache_hits),
        }
    }

    /// A usable access token: the cached one, or a freshly fetched one.
    ///
    /// # Errors
    /// The error of the fetch when no usable token is cached and the fetch failed
    /// ([`Error::Token`], [`Error::Http`], or a signing error).
    pub async fn token(&self) -> Result<AccessToken> {
        let inner = &self.inner;
        let now = inner.clock.now_millis();
        let snapshot = lock(&inner.current).clone();
        if let Some(cur) = snapshot.filter(|c| c.usable_at(now)) {
            if now < cur.refresh_at_ms {
                bump(&inner.stats.cache_hits);
                return Ok(cur.token.clone());
            }
            // Refresh-ahead window: one task refreshes, the others use the valid token.
            let Ok(_guard) = inner.fetch.try_lock() else {
                bump(&inner.stats.cache_hits);
                return Ok(cur.token.clone());
            };
            if let Some(newer) = self.current_if(|c| now < c.refresh_at_ms) {
                return Ok(newer.token.clone());
            }
            bump(&inner.stats.refreshes_ahead);
            return match self.fetch().await {
                Ok(t) => Ok(t),
                Err(e) => {
                    // Keep the valid token; try again halfway to its expiry, not at once.
                    let now = inner.clock.now_millis();
                    tracing::warn!(token = %cur.token, error = %e, "refresh ahead of expiry failed; keeping the current token");
                    let mut slot = lock(&inner.current);
                    if let Some(c) = slot.as_ref().filter(|c| c.token == cur.token) {
                        let mut c = TokenInfo::clone(c);
                        let left = c.expires_at_ms.map_or(0, |exp| exp.saturating_sub(now));
                        c.refresh_at_ms = now.saturating_add(left / 2);
                        *slot = Some(Arc::new(c));
                    }
                    Ok(cur.token.clone())
                }
            };
        }
        let epoch = inner.fetch_epoch.load(Ordering::Acquire);
        let _guard = inner.fetch.lock().await;
        let now = inner.clock.now_millis();
        if let Some(cur) = self.current_if(|c| c.usable_at(now)) {
            bump(&inner.stats.cache_hits);
            return Ok(cur.token.clone());
        }
        if inner.fetch_epoch.load(Ordering::Acquire) != epoch {
            // A fetch ended while this task waited; share its failure rather than repeat it.
            if let Some(e) = lock(&inner.last_error).as_ref() {
                return Err(clone_error(e));
            }
        }
        self.fetch().await
    }

    /// Drops `token` from the cache if it is still the current one (after a 401), so the
    /// next [`Self::token`] fetches a new one. Returns whether it was dropped.
    pub fn invalidate(&self, token: &AccessToken) -> bool {
        let mut slot = lock(&self.inner.current);
        if slot.as_ref().is_some_and(|c| &c.token == token) {
            *slot = None;
            tracing::debug!(token = %token, "token invalidated");
            true
        } else {
            false
        }
    }

    /// Runs `f` with a token; if it yields a 401, drops that token, gets a new one (new
    /// assertion, new `jti`) and runs `f` once more, whatever the second status. Never loops.
    ///
    /// ```no_run
    /// # async fn demo(m: bearing_auth::TokenManager, url: &str) -> bearing_auth::Result<()> {
    /// let http = m.client().http().clone();
    /// let out = m
    ///     .call(|token| {
    ///         let req = http.get(url).bearer_auth(token.expose());
    ///         async move { req.send().await }
    ///     })
    ///     .await?;
    /// println!("retried: {}, status: {:?}", out.retried, out.response.map(|r| r.status()));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A token fetch error (before the first run, or before the retry).
    pub async fn call<F, Fut, R>(&self, mut f: F) -> Result<CallOutcome<R>>
    where
        F: FnMut(AccessToken) -> Fut,
        Fut: Future<Output = R>,
        R: HttpStatus,
    {
        let token = self.token().await?;
        let response = f(token.clone()).await;
        if response.http_status() != Some(401) {
            return Ok(CallOutcome {
                response,
                retried: false,
            });
        }
        bump(&self.inner.stats.unauthorized_retries);
        tracing::info!(token = %token, "api answered 401; retrying once with a new token");
        drop(response);
        self.invalidate(&token);
        let fresh = self.token().await?;
        let response = f(fresh).await;
        Ok(CallOutcome {
            response,
            retried: true,
        })
    }

    fn current_if(&self, pred: impl Fn(&TokenInfo) -> bool) -> Option<Arc<TokenInfo>> {
        lock(&self.inner.current)
            .as_ref()
            .filter(|c| pred(c))
            .cloned()
    }

    /// Fetches a token with retries. Called with the fetch lock held.
    async fn fetch(&self) -> Result<AccessToken> {
        let result = self.fetch_with_retries().await;
        let inner = &self.inner;
        *lock(&inner.last_error) = result.as_ref().err().map(clone_error);
        inner.fetch_epoch.fetch_add(1, Ordering::Release);
        if result.is_err() {
            bump(&inner.stats.failures);
        }
        result
    }

    async fn fetch_with_retries(&self) -> Result<AccessToken> {
        let inner = &self.inner;
        let cfg = &inner.config;
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let assertion = inner.signer.sign()?;
            bump(&inner.stats.jtis_used);
            bump(&inner.stats.token_requests);
            let started = inner.clock.now_millis();
            let err = match inner.client.request_token(&assertion).await {
                Ok(resp) => {
                    bump(&inner.stats.tokens_issued);
                    let lifetime = resp.expires_in.or(cfg.assumed_lifetime);
                    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
                    let info = TokenInfo {
                        token: resp.access_token,
                        obtained_at_ms: started,
                        refresh_at_ms: lifetime.map_or(i64::MAX, |l| {
                            started.saturating_add(ms(cfg.refresh_after(l)))
                        }),
                        expires_at_ms: lifetime.map(|l| started.saturating_add(ms(l))),
                        deviations: resp.deviations,
                    };
                    tracing::debug!(
                        token = %info.token,
                        lifetime_s = lifetime.map(|l| l.as_secs()),
                        refresh_in_ms = info.refresh_at_ms.saturating_sub(started),
                        attempt,
                        "token cached"
                    );
                    let token = info.token.clone();
                    *lock(&inner.current) = Some(Arc::new(info));
                    return Ok(token);
                }
                Err(e) => e,
            };
            let (retryable, retry_after) = match &err {
                Error::Token(t) => (t.is_retryable(), t.retry_after()),
                Error::Http { retryable, .. } => (*retryable, None),
                _ => (false, None),
            };
            if !retryable || attempt >= cfg.max_attempts {
                tracing::warn!(attempt, error = %err, "token request failed");
                return Err(err);
            }
            let delay = match retry_after {
                Some(ra) if ra > cfg.max_retry_after => {
                    tracing::warn!(attempt, retry_after_s = ra.as_secs(), error = %err, "token request failed; Retry-After exceeds max_retry_after");
                    return Err(err);
                }
                Some(ra) => ra,
                None => {
                    // Equal jitter: half fixed, half random, so clients do not retry in step.
                    let base = cfg.backoff(attempt);
                    base / 2 + (base / 2).mul_f64(rand::random::<f64>())
                }
            };
            bump(&inner.stats.token_request_retries);
            tracing::warn!(attempt, delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX), error = %err, "token request failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }
}

/// A copy of a fetch error for the tasks that waited on that fetch. `Error` holds an
/// `io::Error` in one variant, so it is not `Clone`; fetch errors never come from I/O.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Token(t) => Error::Token(t.clone()),
        Error::Http {
            url,
            reason,
            retryable,
        } => Error::Http {
            url: url.clone(),
            reason: reason.clone(),
            retryable: *retryable,
        },
        Error::Signing(s) => Error::Signing(s.clone()),
        Error::InvalidClaim { name, reason } => Error::InvalidClaim {
            name: name.clone(),
            reason: reason.clone(),
        },
        other => Error::Config(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The refresh point: the earlier of fraction and margin, never before half the lifetime.
    #[test]
    fn refresh_point() {
        let c = ManagerConfig::default();
        let s = Duration::from_secs;
        assert_eq!(c.refresh_after(s(180)), s(144)); // fraction wins (margin says 150)
        assert_eq!(c.refresh_after(s(60)), s(30)); // margin wins (fraction says 48)
        assert_eq!(c.refresh_after(s(40)), s(20)); // margin would say 10: half the lifetime
        assert_eq!(c.refresh_after(s(2)), s(1)); // shorter than the margin: still usable
        assert_eq!(
            c.refresh_after(Duration::from_millis(10)),
            Duration::from_millis(5)
        );
        let fraction_only = ManagerConfig {
            refresh_margin: Duration::ZERO,
            ..c
        };
        assert_eq!(
            fraction_only.refresh_after(s(2)),
            Duration::from_millis(1600)
        );
        // Any lifetime a gateway sends is scheduled without panicking (issue 9 proptest).
        let whole = ManagerConfig {
            refresh_fraction: 1.0,
            ..ManagerConfig::default()
        };
        assert!(whole.refresh_after(s(u64::MAX)) <= s(u64::MAX));
        assert!(c.refresh_after(Duration::MAX) <= Duration::MAX);
    }

    // Backoff doubles from the initial delay and stops at the cap, without overflow.
    #[test]
    fn backoff_schedule() {
        let c = ManagerConfig::default();
        let ms = Duration::from_millis;
        assert_eq!(c.backoff(1), ms(200));
        assert_eq!(c.backoff(2), ms(400));
        assert_eq!(c.backoff(3), ms(800));
        assert_eq!(c.backoff(10), Duration::from_secs(10));
        assert_eq!(c.backoff(u32::MAX), Duration::from_secs(10));
    }

    // Nonsense settings are refused, naming the field.
    #[test]
    fn config_validation() {
        assert!(ManagerConfig::default().validate().is_ok());
        for f in [0.0, -0.5, 1.5, f64::NAN] {
            let e = ManagerConfig {
                refresh_fraction: f,
                ..Default::default()
            }
            .validate()
            .expect_err("refused");
            assert!(e.to_string().contains("refresh_fraction"), "{e}");
        }
        let e = ManagerConfig {
            max_attempts: 0,
            ..Default::default()
        }
        .validate()
        .expect_err("refused");
        assert!(e.to_string().contains("max_attempts"));
    }

    // Results, tuples and statuses all expose their status; errors have none.
    #[test]
    fn http_status_impls() {
        assert_eq!(401u16.http_status(), Some(401));
        assert_eq!((200u16, "x").http_status(), Some(200));
        let r: std::result::Result<u16, ()> = Err(());
        assert_eq!(r.http_status(), None);
        assert_eq!(reqwest::StatusCode::UNAUTHORIZED.http_status(), Some(401));
    }

    // Waiters get an equivalent copy of the fetch error.
    #[test]
    fn clone_error_keeps_kind() {
        let e = Error::Http {
            url: "u".into(),
            reason: "r".into(),
            retryable: true,
        };
        assert!(matches!(
            clone_error(&e),
            Error::Http {
                retryable: true,
                ..
            }
        ));
    }
}
