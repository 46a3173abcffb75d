//! Runs a profile on goose 0.19: one goose scenario per profile scenario (weights → share of
//! users), every user running its scenario's loop once (`iterations = 1`) to the deadline.
//! goose is configured in code, never from argv, with no telnet/WebSocket controller, no
//! dashboard and no per-request metrics (its per-request bookkeeping is what made stock goose
//! 0.58× oha, reference/anchors.md); requests and timing are ours.
//!
//! [`run`] reads as its steps: check the target, plan the schedule, prepare signing (the
//! single-core rate, the assertion pool), wait for the start barrier, share the scenarios'
//! state, run the goose attack (`attack.rs`) with its side tasks, collect the results.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bearing_auth::AssertionPool;
use goose::prelude::GooseAttack;

mod attack;
mod pool;
mod storm;

use attack::{build_attack, execute};
use pool::{measure_single_core, signing_info, start_pool};
use storm::{revoke_later, sample_token_requests, storm_info, wait_open};

use crate::error::{Error, Result};
use crate::pacer::Schedule;
use crate::profile::LoadProfile;
use crate::recorder::Collector;
use crate::result::{RunResult, ScenarioResult};
use crate::scenario::{Gate, ScenarioShared, StormState};
use crate::stats::Phase;
use crate::target::LoadTarget;

/// Receives progress about four times a second. Must be cheap; it runs on a runtime thread.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// A progress report.
#[derive(Debug, Clone)]
pub struct Progress {
    /// What is running (`filling assertion pool`, the profile name, a capacity step).
    pub label: String,
    /// Time since the measured window started (zero while preparing).
    pub elapsed: Duration,
    /// Planned length of the window.
    pub duration: Duration,
    /// Attempts completed so far.
    pub requests: u64,
    /// Failed attempts so far.
    pub errors: u64,
    /// Attempts per second over the last report interval.
    pub rate: f64,
    /// Corrected p99 so far of the main phase, µs (updated once a second).
    pub p99_us: Option<u64>,
    /// While preparing: `(done, total)` of the preparation (pool prefill).
    pub preparing: Option<(u64, u64)>,
}

/// Options of one run that are not part of the profile.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// `(index, count)`: run shard `index` (0-based) of `count`: 1/count of rate and users.
    pub shard: Option<(u32, u32)>,
    /// Progress callback.
    pub progress: Option<ProgressFn>,
    /// Label for progress (defaults to the profile name).
    pub label: Option<String>,
    /// Run the users on a runtime of their own with this many worker threads (default: on
    /// the caller's runtime).
    pub worker_threads: Option<usize>,
    /// When the clock starts: a start barrier shared with the other shards, or a wall-clock
    /// instant (issue 19; see [`crate::barrier`]). Waited for after preparation.
    pub start: Option<crate::barrier::Start>,
    /// Live Prometheus metrics of the run (issue 19; see [`crate::live`]).
    pub metrics: Option<Arc<crate::live::LiveMetrics>>,
}

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("shard", &self.shard)
            .field("label", &self.label)
            .field("worker_threads", &self.worker_threads)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// The `jti` prefix of a shard (`s{index}-`), so shards draw from disjoint spaces.
pub fn jti_prefix(shard: Option<(u32, u32)>) -> String {
    shard.map(|(i, _)| format!("s{i}-")).unwrap_or_default()
}

/// Runs `profile` against `target` and returns the results (thresholds evaluated).
///
/// # Errors
/// [`Error::Target`] when the target cannot serve a scenario; [`Error::Goose`] when goose
/// refuses its configuration; signing/pool errors. Failed *requests* are results, not errors.
pub async fn run(
    profile: &LoadProfile,
    target: &LoadTarget,
    opts: &RunOptions,
) -> Result<RunResult> {
    let profile_hash = profile.hash_hex();
    // The fleet is the whole profile's; a shard keeps partners i, i+N, …
    let fleet_target = target.with_partners(profile.partner_count(), opts.shard)?;
    let fleet = Arc::new(crate::fleet::Fleet::new(fleet_target.partners()));
    let profile = match opts.shard {
        Some((i, n)) => profile.for_shard(i, n),
        None => profile.clone(),
    };
    let label = opts
        .label
        .clone()
        .unwrap_or_else(|| profile.display_name().to_owned());
    check_target(&profile, &fleet_target)?;
    let target = Arc::new(fleet_target);
    let plan = Plan::new(&profile);
    let signing = prepare_signing(&profile, &target, &fleet, &plan, &label, opts).await?;
    wait_for_start(opts, &profile_hash, plan.duration).await?;
    let run = share_scenarios(&profile, &target, &fleet, &plan, signing.pool.as_ref());
    if let Some(m) = &opts.metrics {
        m.attach(crate::live::Sources {
            collector: Arc::clone(&run.collector),
            scenarios: run.shared.clone(),
            pool: signing.pool.clone(),
            gate: Arc::clone(&run.gate),
            duration: plan.duration,
        });
    }
    let attack = build_attack(&profile, &target, &run.shared, plan.timeout)?;
    let window = attack_and_wait(attack, &profile, &run, &plan, &signing, &label, opts).await?;
    Ok(collect_results(
        profile,
        profile_hash,
        &target,
        &fleet,
        &plan,
        &signing,
        &run,
        &window,
        opts,
    ))
}

/// Refuses a target that cannot serve a scenario: an API route for the kinds that call one,
/// the admin API for the kinds that revoke tokens.
fn check_target(profile: &LoadProfile, target: &LoadTarget) -> Result<()> {
    for s in &profile.scenarios {
        let kind = s.kind.traits();
        if kind.calls_api {
            target.api(s.api.as_deref())?;
        }
        if kind.revokes_tokens && target.admin.is_none() {
            return Err(Error::Target(format!(
                "scenario {:?} revokes every token through the sandbox admin API; the target has no admin_url/admin_secret",
                s.name
            )));
        }
    }
    Ok(())
}

/// The run's shape, read once from the profile.
struct Plan {
    duration: Duration,
    /// The whole run's arrival schedule (open model); each scenario gets its weight's share.
    schedule: Option<Schedule>,
    total_weight: usize,
    max_requests: u64,
    timeout: Duration,
}

impl Plan {
    fn new(profile: &LoadProfile) -> Self {
        let duration = profile.run_duration();
        let schedule = match (&profile.rate, profile.stages.is_empty()) {
            (Some(r), _) => Some(Schedule::constant(r.0, duration)),
            (None, false) => {
                let st: Vec<_> = profile
                    .stages
                    .iter()
                    .map(|s| (s.duration, s.rate.0))
                    .collect();
                Some(Schedule::stages(
                    profile.start_rate.map_or(0.0, |r| r.0),
                    &st,
                ))
            }
            (None, true) => None,
        };
        Self {
            duration,
            schedule,
            total_weight: profile.scenarios.iter().map(|s| s.weight).sum(),
            max_requests: profile.max_requests.unwrap_or(u64::MAX),
            timeout: profile.timeout.unwrap_or(Duration::from_secs(30)),
        }
    }
}

/// What the run knows about signing before it starts.
struct Signing {
    /// Assertions one core signs per second (0 when no scenario signs per iteration).
    single_core_rate: f64,
    pool: Option<Arc<AssertionPool>>,
    /// Assertions minted before the window opened.
    prefilled: u64,
    minted_before: u64,
}

/// Measures the signing capacity (before anything else loads the cores) and fills the
/// assertion pool, when a scenario signs per iteration.
async fn prepare_signing(
    profile: &LoadProfile,
    target: &Arc<LoadTarget>,
    fleet: &crate::fleet::Fleet,
    plan: &Plan,
    label: &str,
    opts: &RunOptions,
) -> Result<Signing> {
    let single_core_rate = if profile
        .scenarios
        .iter()
        .any(|s| s.kind.traits().token_per_iteration)
    {
        measure_single_core(target)?
    } else {
        0.0
    };
    // The pool signs as one identity: a fleet's token users sign inline as their partner.
    let pooled = !fleet.is_fleet()
        && profile
            .scenarios
            .iter()
            .any(|s| s.kind.takes_from_pool(s.pool));
    let (pool, prefilled) = if pooled {
        let planned = plan
            .schedule
            .as_ref()
            .map(|s| s.total_arrivals().ceil() as usize);
        let (p, n) = start_pool(profile, target, planned, label, opts.progress.as_ref()).await?;
        (Some(p), n)
    } else {
        (None, 0)
    };
    let minted_before = pool.as_ref().map_or(0, |p| p.stats().minted);
    Ok(Signing {
        single_core_rate,
        pool,
        prefilled,
        minted_before,
    })
}

/// Waits for the start barrier or the start instant of a sharded run, if any.
async fn wait_for_start(opts: &RunOptions, profile_hash: &str, duration: Duration) -> Result<()> {
    let Some(start) = &opts.start else {
        return Ok(());
    };
    let progress = opts.progress.clone();
    crate::barrier::wait(start, opts.shard, profile_hash, |ready, n| {
        if let Some(cb) = &progress {
            cb(&Progress {
                label: "waiting for the other shards".into(),
                elapsed: Duration::ZERO,
                duration,
                requests: 0,
                errors: 0,
                rate: 0.0,
                p99_us: None,
                preparing: Some((ready, n)),
            });
        }
    })
    .await?;
    Ok(())
}

/// The state the users of the run share: the collector, the gate and one
/// [`ScenarioShared`] per scenario.
struct Shared {
    collector: Arc<Collector>,
    gate: Arc<Gate>,
    shared: Vec<Arc<ScenarioShared>>,
}

fn share_scenarios(
    profile: &LoadProfile,
    target: &Arc<LoadTarget>,
    fleet: &Arc<crate::fleet::Fleet>,
    plan: &Plan,
    pool: Option<&Arc<AssertionPool>>,
) -> Shared {
    let collector = Collector::new(profile.scenarios.len());
    let gate = Gate::new(profile.users, profile.ramp_users.is_none(), plan.duration);
    let mut shared = Vec::new();
    for (i, s) in profile.scenarios.iter().enumerate() {
        let share = s.weight as f64 / plan.total_weight as f64;
        shared.push(Arc::new(ScenarioShared {
            index: i,
            spec: s.clone(),
            target: Arc::clone(target),
            api: target.api(s.api.as_deref()).ok().cloned(),
            collector: Arc::clone(&collector),
            gate: Arc::clone(&gate),
            schedule: plan.schedule.as_ref().map(|b| b.scaled(share)),
            pacer: OnceLock::new(),
            max_requests: plan.max_requests,
            started: AtomicU64::new(0),
            users: Default::default(),
            fleet: Arc::clone(fleet),
            pool: if s.kind.takes_from_pool(s.pool) {
                pool.cloned()
            } else {
                None
            },
            assertions_used: AtomicU64::new(0),
            managers: Mutex::new(Vec::new()),
            storm: StormState::default(),
            timeout: plan.timeout,
            resumed: AtomicU64::new(0),
        }));
    }
    gate.set_scenarios(shared.clone());
    Shared {
        collector,
        gate,
        shared,
    }
}

/// When goose ran, and what the side tasks sampled meanwhile.
struct Window {
    goose_started: Instant,
    goose_ended: Instant,
    /// `(µs after t0, token requests so far)` samples of the API scenarios.
    token_series: Vec<(u64, u64)>,
}

/// Runs the goose attack with its side tasks (progress, storm revocations, token-request
/// samples), then stops the pacers, the side tasks and the pool.
async fn attack_and_wait(
    attack: GooseAttack,
    profile: &LoadProfile,
    run: &Shared,
    plan: &Plan,
    signing: &Signing,
    label: &str,
    opts: &RunOptions,
) -> Result<Window> {
    let done = Arc::new(AtomicBool::new(false));
    let ticker = opts.progress.clone().map(|cb| {
        tokio::spawn(progress_loop(
            cb,
            label.to_owned(),
            Arc::clone(&run.gate),
            Arc::clone(&run.collector),
            plan.duration,
            Arc::clone(&done),
            main_phase(profile),
        ))
    });
    let token_series = Arc::new(Mutex::new(Vec::<(u64, u64)>::new()));
    let mut side_tasks = Vec::new();
    for sh in run
        .shared
        .iter()
        .filter(|s| s.spec.kind.traits().revokes_tokens)
    {
        let revoke_at = sh.spec.revoke_at.unwrap_or(plan.duration / 2);
        side_tasks.push(tokio::spawn(revoke_later(
            Arc::clone(sh),
            revoke_at,
            Arc::clone(&done),
        )));
    }
    if run.shared.iter().any(|s| s.spec.kind.traits().calls_api) {
        side_tasks.push(tokio::spawn(sample_token_requests(
            run.shared.clone(),
            Arc::clone(&token_series),
            Arc::clone(&done),
        )));
    }
    let goose_started = Instant::now();
    let executed = execute(attack, opts.worker_threads).await;
    let goose_ended = Instant::now();
    done.store(true, Ordering::Release);
    for s in &run.shared {
        s.stop();
    }
    for t in side_tasks {
        let _ = t.await;
    }
    if let Some(t) = ticker {
        let _ = t.await;
    }
    if let Some(p) = &signing.pool {
        p.shutdown();
    }
    executed?;
    let token_series = token_series.lock().map(|s| s.clone()).unwrap_or_default();
    Ok(Window {
        goose_started,
        goose_ended,
        token_series,
    })
}

/// Turns what the users recorded into the run's results, thresholds evaluated.
#[expect(
    clippy::too_many_arguments,
    reason = "the run's named parts, each built by one step of `run`"
)]
fn collect_results(
    profile: LoadProfile,
    profile_hash: String,
    target: &LoadTarget,
    fleet: &crate::fleet::Fleet,
    plan: &Plan,
    signing: &Signing,
    run: &Shared,
    window: &Window,
    opts: &RunOptions,
) -> RunResult {
    let duration = plan.duration;
    let t0 = run.gate.t0.get().copied().unwrap_or(window.goose_started);
    let collected = run.collector.finish();
    // The measured window: from the gate opening to the last user's last completion (the
    // deadline plus the last answer, unless a request bound ended it earlier).
    let elapsed = Duration::from_micros(run.gate.last_done_us.load(Ordering::Acquire))
        .min(duration + crate::scenario::LATE_GRACE);
    let seconds = elapsed.as_secs_f64().max(1e-6);
    let goose_overhead_ms = (window.goose_ended - window.goose_started)
        .saturating_sub(elapsed)
        .as_secs_f64()
        * 1e3;
    let started_at = SystemTime::now() - window.goose_ended.saturating_duration_since(t0);
    let start_offset = started_at
        .duration_since(SystemTime::UNIX_EPOCH + Duration::from_secs(collected.base_epoch_secs))
        .unwrap_or_default();

    let mut scenarios = Vec::new();
    for (i, sh) in run.shared.iter().enumerate() {
        let phases = collected.totals[i].clone();
        let intervals = collected.intervals[i].clone();
        let started = sh.started.load(Ordering::Relaxed).min(plan.max_requests);
        let spec = sh.spec.clone();
        let kind = spec.kind.traits();
        let signing = kind.token_per_iteration.then(|| {
            signing_info(
                sh,
                &phases,
                signing.pool.as_deref(),
                signing.prefilled,
                signing.minted_before,
                signing.single_core_rate,
                seconds,
                &profile,
            )
        });
        let tokens = kind.calls_api.then(|| sh.token_stats());
        let storm = kind
            .revokes_tokens
            .then(|| storm_info(sh, &window.token_series));
        scenarios.push(ScenarioResult {
            users: sh.users.load(Ordering::Relaxed),
            target_rate: sh
                .schedule
                .as_ref()
                .map(|s| s.total_arrivals() / duration.as_secs_f64()),
            planned: sh
                .schedule
                .as_ref()
                .map(|s| (s.total_arrivals().ceil() as u64).min(plan.max_requests)),
            started,
            phases,
            resumed_handshakes: sh.resumed.load(Ordering::Relaxed),
            intervals,
            signing,
            tokens,
            storm,
            thresholds: Vec::new(),
            spec,
        });
    }
    let mut result = RunResult {
        profile,
        profile_hash,
        shard: opts.shard,
        started_at,
        base_epoch_secs: collected.base_epoch_secs,
        start_offset,
        elapsed,
        target: target.token_url.to_string(),
        tls_insecure: target.insecure,
        scenarios,
        thresholds: Vec::new(),
        goose_overhead_ms,
        partners: fleet.report(),
    };
    result.evaluate_thresholds_over(seconds);
    result
}

fn main_phase(profile: &LoadProfile) -> Phase {
    profile
        .scenarios
        .first()
        .map_or(Phase::Api, |s| s.kind.main_phase())
}

async fn progress_loop(
    cb: ProgressFn,
    label: String,
    gate: Arc<Gate>,
    collector: Arc<Collector>,
    duration: Duration,
    done: Arc<AtomicBool>,
    phase: Phase,
) {
    let Some(t0) = wait_open(&gate, &done).await else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let mut prev = (Instant::now(), 0u64);
    while !done.load(Ordering::Acquire) {
        tick.tick().await;
        let (requests, errors) = collector.live_counts();
        let now = Instant::now();
        let dt = now.duration_since(prev.0).as_secs_f64().max(1e-3);
        let rate = (requests - prev.1) as f64 / dt;
        prev = (now, requests);
        cb(&Progress {
            label: label.clone(),
            elapsed: now.saturating_duration_since(t0),
            duration,
            requests,
            errors,
            rate,
            p99_us: collector.p99_so_far(phase),
            preparing: None,
        });
    }
}
