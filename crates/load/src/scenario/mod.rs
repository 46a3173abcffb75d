//! What each user of a scenario does, and the state its users share. A goose user runs
//! its scenario's single transaction once (goose `iterations = 1`); the transaction is our
//! loop, bounded in time (the run's deadline) and count (`max_requests`), so goose keeps
//! user lifecycle and scheduling while the per-request path is ours: the user's own
//! connection for API calls and token requests (plain or TLS: see `http1`; the token
//! manager's requests use the user's `reqwest` client), our own histograms, no message per
//! request.

mod api;
mod h2;
mod http1;
mod sign;
mod token;

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bearing_auth::AssertionPool;
use bearing_auth::token::TokenManager;

use crate::kind::UserLoop;
use crate::pacer::{Pacer, Schedule};
use crate::profile::ScenarioSpec;
use crate::recorder::{AttemptOutcome, Collector};
use crate::result::TokenStats;
use crate::target::{ApiCall, LoadTarget};

/// The grace after the deadline. Paced users may still start arrivals that were due before
/// the deadline (late because every user was busy) until it ends; the rest are counted as
/// dropped. When it ends every request still in flight is cancelled and counted as a
/// `cancelled` failure at its elapsed time, so a run lasts at most its duration plus this.
pub(crate) const LATE_GRACE: Duration = Duration::from_secs(2);

/// Runs `fut` until the end of the grace after `deadline`; `None` when it was cancelled.
pub(crate) async fn until_hard_stop<F: std::future::Future>(
    deadline: Instant,
    fut: F,
) -> Option<F::Output> {
    tokio::time::timeout_at((deadline + LATE_GRACE).into(), fut)
        .await
        .ok()
}

/// The failure of an attempt cancelled at the end of the grace.
pub(crate) fn cancelled() -> AttemptOutcome {
    AttemptOutcome::Failed {
        kind: "cancelled".into(),
        status: None,
    }
}

/// Opens the run when every user has arrived (or at the first, for a user ramp): fixes
/// the start instant and the deadline, starts the pacers.
#[derive(Debug)]
pub(crate) struct Gate {
    expected: usize,
    arrived: AtomicUsize,
    wait_for_all: bool,
    duration: Duration,
    pub(crate) t0: OnceLock<Instant>,
    /// µs after t0 at which the last user finished its loop.
    pub(crate) last_done_us: AtomicU64,
    notify: tokio::sync::Notify,
    scenarios: OnceLock<Vec<Arc<ScenarioShared>>>,
}

impl Gate {
    pub(crate) fn new(expected: usize, wait_for_all: bool, duration: Duration) -> Arc<Self> {
        Arc::new(Self {
            expected,
            arrived: AtomicUsize::new(0),
            wait_for_all,
            duration,
            t0: OnceLock::new(),
            last_done_us: AtomicU64::new(0),
            notify: tokio::sync::Notify::new(),
            scenarios: OnceLock::new(),
        })
    }

    pub(crate) fn set_scenarios(&self, s: Vec<Arc<ScenarioShared>>) {
        let _ = self.scenarios.set(s);
    }

    /// The deadline, once open.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.t0.get().map(|t| *t + self.duration)
    }

    fn open(&self) {
        let t0 = Instant::now();
        if self.t0.set(t0).is_ok() {
            for s in self.scenarios.get().into_iter().flatten() {
                s.on_open(t0);
            }
        }
        self.notify.notify_waiters();
    }

    /// Called by each user as it starts; returns once the run is open (at most 10 s).
    async fn arrive(&self) {
        let n = self.arrived.fetch_add(1, Ordering::AcqRel) + 1;
        if !self.wait_for_all || n >= self.expected {
            self.open();
            return;
        }
        let wait = async {
            loop {
                let notified = self.notify.notified();
                if self.t0.get().is_some() {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), wait)
            .await
            .is_err()
        {
            tracing::warn!(
                arrived = n,
                expected = self.expected,
                "not every user started within 10 s; starting anyway"
            );
            self.open();
        }
    }
}

/// Refresh-storm bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct StormState {
    /// µs after t0 when the revocation answered; 0 = not yet.
    pub(crate) revoked_at_us: AtomicU64,
    /// Tokens the gateway said it revoked.
    pub(crate) revoked: AtomicU64,
    /// Latest µs after t0 at which a user got its first success after the revocation.
    pub(crate) recovered_at_us: AtomicU64,
    /// Users that recovered.
    pub(crate) users_recovered: AtomicU64,
    /// Why the revocation failed, if it did.
    pub(crate) error: Mutex<Option<String>>,
}

/// State shared by the users of one scenario.
#[derive(Debug)]
pub(crate) struct ScenarioShared {
    pub(crate) index: usize,
    pub(crate) spec: ScenarioSpec,
    pub(crate) target: Arc<LoadTarget>,
    pub(crate) api: Option<ApiCall>,
    pub(crate) collector: Arc<Collector>,
    pub(crate) gate: Arc<Gate>,
    pub(crate) schedule: Option<Schedule>,
    pub(crate) pacer: OnceLock<Arc<Pacer>>,
    pub(crate) max_requests: u64,
    /// Attempts started.
    pub(crate) started: AtomicU64,
    pub(crate) users: AtomicUsize,
    pub(crate) pool: Option<Arc<AssertionPool>>,
    /// The run's partner fleet (shared by every scenario).
    pub(crate) fleet: Arc<crate::fleet::Fleet>,
    /// Assertions consumed by token requests (pool or inline).
    pub(crate) assertions_used: AtomicU64,
    pub(crate) managers: Mutex<Vec<TokenManager>>,
    pub(crate) storm: StormState,
    pub(crate) timeout: Duration,
    /// TLS handshakes that resumed a session (issue 15).
    pub(crate) resumed: AtomicU64,
}

impl ScenarioShared {
    fn on_open(&self, t0: Instant) {
        if let Some(s) = &self.schedule {
            match Pacer::start(s.clone(), t0, self.max_requests) {
                Ok(p) => {
                    let _ = self.pacer.set(p);
                }
                Err(e) => tracing::error!(error = %e, "cannot start the pacer thread"),
            }
        }
    }

    /// Stops the pacer, if any (end of run).
    pub(crate) fn stop(&self) {
        if let Some(p) = self.pacer.get() {
            p.stop();
        }
    }

    pub(crate) fn t0(&self) -> Instant {
        self.gate.t0.get().copied().unwrap_or_else(Instant::now)
    }

    pub(crate) fn us_since_t0(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.t0()).as_micros()).unwrap_or(u64::MAX)
    }

    /// The token managers' counts, summed over this scenario's users.
    pub(crate) fn token_stats(&self) -> TokenStats {
        let mut t = TokenStats::default();
        if let Ok(ms) = self.managers.lock() {
            for m in ms.iter() {
                let s = m.stats();
                t.token_requests += s.token_requests;
                t.tokens_issued += s.tokens_issued;
                t.refreshes_ahead += s.refreshes_ahead;
                t.unauthorized_retries += s.unauthorized_retries;
                t.failures += s.failures;
            }
        }
        t
    }
}

/// How a user decides when to start its next attempt.
#[derive(Debug)]
enum Driver {
    /// Shared even pacer (open model).
    Paced(Arc<Pacer>),
    /// This user's own schedule: one start every `gap` (mixed: N calls/s per user).
    PerUser { next: Instant, gap: Duration },
    /// As fast as answers come (closed model).
    Closed,
}

impl Driver {
    async fn for_user(sh: &ScenarioShared, user: usize) -> Self {
        if sh.schedule.is_some() {
            // The gate starts the pacer right after fixing t0; a user of a ramp may get
            // here in between.
            for _ in 0..10_000 {
                if let Some(p) = sh.pacer.get() {
                    return Self::Paced(Arc::clone(p));
                }
                tokio::task::yield_now().await;
            }
        }
        if sh.spec.kind.traits().paced_per_user
            && let Some(cps) = sh.spec.calls_per_second
        {
            let gap = Duration::from_secs_f64(1.0 / cps);
            // Stagger users across one gap so they do not start in step. A user's schedule
            // starts when it arrives: under `ramp_users` a late user owes no calls from
            // before it existed (counting them made the last users' p99 the ramp's length).
            let offset = gap.mul_f64((user as f64 * 0.618_034).fract());
            return Self::PerUser {
                next: sh.t0().max(Instant::now()) + offset,
                gap,
            };
        }
        Self::Closed
    }

    /// The intended start of the next attempt; `None` when the scenario is done.
    async fn next(&mut self, sh: &ScenarioShared, deadline: Instant) -> Option<Instant> {
        let now = Instant::now();
        match self {
            Self::Paced(p) => {
                if now >= deadline + LATE_GRACE {
                    return None;
                }
                let next = tokio::time::timeout_at((deadline + LATE_GRACE).into(), p.next());
                let intended = next.await.ok().flatten()?;
                sh.started.fetch_add(1, Ordering::Relaxed);
                Some(intended)
            }
            Self::PerUser { next, gap } => {
                if *next >= deadline || !sh.take_budget() {
                    return None;
                }
                tokio::time::sleep_until((*next).into()).await;
                let intended = *next;
                *next += *gap;
                Some(intended)
            }
            Self::Closed => (now < deadline && sh.take_budget()).then_some(now),
        }
    }
}

impl ScenarioShared {
    /// Counts one started attempt against `max_requests`; false when the budget is spent.
    fn take_budget(&self) -> bool {
        self.started.fetch_add(1, Ordering::Relaxed) < self.max_requests
    }
}

/// Classifies a transport error.
pub(crate) fn transport_kind(e: &reqwest::Error) -> Cow<'static, str> {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect".into()
    } else if e.is_body() || e.is_decode() {
        "body".into()
    } else {
        "transport".into()
    }
}

/// Records the connections one request opened as `connect` and `handshake` attempts. Each
/// is corrected for coordinated omission as its request is: its intended start is its
/// actual start moved back by the request's lag (`lag` = the request's actual start minus
/// its intended start; 0 for a retry). A step the request's timeout or the end of the run
/// cut (`cut_at`) is a `timeout` at its elapsed time; a refused connect is counted, not
/// timed; a failed handshake is `tls`. Resumed handshakes are also counted in `resumed`.
pub(crate) fn record_opened(
    rec: &mut crate::recorder::Recorder,
    resumed: &AtomicU64,
    lag: Duration,
    cut_at: Instant,
    opened: impl IntoIterator<Item = http1::Opened>,
) {
    use crate::stats::Phase;
    let back = |t: Instant| t.checked_sub(lag).unwrap_or(t);
    let failed = |kind: &'static str| AttemptOutcome::Failed {
        kind: kind.into(),
        status: None,
    };
    for o in opened {
        let (connected, ok) = o.connect.unwrap_or((cut_at, false));
        let outcome = match o.connect {
            Some((_, true)) => AttemptOutcome::Ok(None),
            Some((_, false)) => failed("connect"),
            None => failed("timeout"),
        };
        rec.record(
            Phase::Connect,
            back(o.started),
            o.started,
            connected,
            &outcome,
        );
        if !(ok && o.tls) {
            continue;
        }
        let (done, outcome) = match o.handshake {
            Some((done, true)) => (done, AttemptOutcome::Ok(None)),
            Some((done, false)) => (done, failed("tls")),
            None => (cut_at, failed("timeout")),
        };
        rec.record(Phase::Handshake, back(connected), connected, done, &outcome);
        if o.resumed {
            resumed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// A failure outcome for an unexpected HTTP status.
pub(crate) fn status_failure(status: u16) -> AttemptOutcome {
    AttemptOutcome::Failed {
        kind: format!("status_{status}").into(),
        status: Some(status),
    }
}

/// One goose user: waits for the gate, then runs its scenario's loop to the deadline.
pub(crate) async fn run_user(sh: Arc<ScenarioShared>, client: reqwest::Client) {
    let user = sh.users.fetch_add(1, Ordering::Relaxed);
    sh.gate.arrive().await;
    let Some(deadline) = sh.gate.deadline() else {
        return;
    };
    let mut driver = Driver::for_user(&sh, user).await;
    let mut rec = sh.collector.recorder(sh.index);
    let partner = sh.fleet.assign();
    match sh.spec.kind.traits().user_loop {
        UserLoop::Sign => sign::run(&sh, partner, &mut driver, &mut rec, deadline).await,
        UserLoop::Token => {
            token::run(&sh, partner, &client, &mut driver, &mut rec, deadline).await;
        }
        UserLoop::Api => {
            // Boxed once per user: the lean clients make the loop's future large.
            Box::pin(api::run(
                &sh,
                partner,
                &client,
                &mut driver,
                &mut rec,
                deadline,
            ))
            .await;
        }
    }
    rec.flush();
    sh.gate
        .last_done_us
        .fetch_max(sh.us_since_t0(Instant::now()), Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recorder::Collector;
    use crate::stats::Phase;

    // Each step of opening a connection is timed on its own and corrected by its request's
    // lag; a refused connect is counted untimed, a cut handshake is a timed `timeout`, and
    // none of it counts as a request in the progress line.
    #[test]
    fn opened_connections_are_phases_corrected_by_the_lag() {
        let c = Collector::new(1);
        let t = Instant::now();
        let ms = Duration::from_millis;
        let lag = ms(7);
        let resumed = AtomicU64::new(0);
        {
            let mut rec = c.recorder(0);
            let opened = [
                // connect 2 ms, handshake 5 ms
                http1::Opened {
                    started: t,
                    connect: Some((t + ms(2), true)),
                    handshake: Some((t + ms(7), true)),
                    tls: true,
                    resumed: true,
                },
                // refused
                http1::Opened {
                    started: t,
                    connect: Some((t + ms(1), false)),
                    handshake: None,
                    tls: true,
                    resumed: false,
                },
                // connected in 3 ms, handshake cut by the timeout 10 ms later
                http1::Opened {
                    started: t,
                    connect: Some((t + ms(3), true)),
                    handshake: None,
                    tls: true,
                    resumed: false,
                },
            ];
            record_opened(&mut rec, &resumed, lag, t + ms(13), opened);
        }
        assert_eq!(resumed.load(Ordering::Relaxed), 1);
        let got = c.finish();
        let connect = &got.totals[0][Phase::Connect.index()];
        let hs = &got.totals[0][Phase::Handshake.index()];
        assert_eq!((connect.count, connect.errors), (3, 1));
        assert_eq!(connect.errors_by_kind["connect"], 1);
        assert_eq!(
            connect.corrected.len(),
            2,
            "the refused connect is not timed"
        );
        let near = |h: &hdrhistogram::Histogram<u64>, q: f64, us: u64| {
            let v = h.value_at_quantile(q);
            assert!(h.equivalent(v, us), "{v} ≠ {us}");
        };
        near(&connect.uncorrected, 0.0, 2_000);
        near(&connect.corrected, 0.0, 9_000);
        near(&connect.corrected, 1.0, 10_000);
        assert_eq!((hs.count, hs.errors), (2, 1));
        assert_eq!(hs.errors_by_kind["timeout"], 1);
        near(&hs.uncorrected, 0.0, 5_000);
        near(&hs.corrected, 0.0, 12_000);
        near(&hs.uncorrected, 1.0, 10_000);
        assert_eq!(c.live_counts(), (0, 0));
    }
}
