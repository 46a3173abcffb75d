//! The assertion pool of token scenarios and the signing figures: one core's signing rate
//! measured before the run, the pool started (a signer with its own parsed key per worker)
//! and prefilled before the clock starts, and whether signing limited the offered load.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bearing_auth::{AssertionPool, PoolConfig};

use super::{Progress, ProgressFn};
use crate::error::Result;
use crate::profile::LoadProfile;
use crate::result::SigningInfo;
use crate::scenario::ScenarioShared;
use crate::stats::{Phase, PhaseData};
use crate::target::LoadTarget;

/// One core's signing rate: sign for ~200 ms on this thread.
pub(super) fn measure_single_core(target: &LoadTarget) -> Result<f64> {
    let signer = target.signer(true)?;
    signer.sign()?;
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(200) {
        signer.sign()?;
        n += 1;
    }
    Ok(f64::from(n) / start.elapsed().as_secs_f64())
}

pub(super) async fn start_pool(
    profile: &LoadProfile,
    target: &Arc<LoadTarget>,
    planned: Option<usize>,
    label: &str,
    progress: Option<&ProgressFn>,
) -> Result<(Arc<AssertionPool>, u64)> {
    let capacity = planned.map_or(profile.pool.capacity, |p| {
        p.clamp(64, profile.pool.capacity.max(64))
    });
    let mut cfg = PoolConfig {
        capacity,
        ..PoolConfig::default()
    };
    if let Some(w) = profile.pool.workers {
        cfg.workers = w;
    }
    let ttl = target.signer(false)?.ttl();
    cfg.margin = cfg.margin.min(ttl / 2);
    let t = Arc::clone(target);
    let pool = Arc::new(AssertionPool::start(cfg, move |_| t.signer(true))?);
    let mut prefilled = 0;
    if profile.pool.prefill {
        // Fill before the clock starts, bounded: never longer than half the assertions'
        // validity (or 60 s), so none goes stale before use.
        let want = capacity as u64;
        let limit = Instant::now() + (ttl / 2).min(Duration::from_secs(60));
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        loop {
            tick.tick().await;
            let ready = pool.len() as u64;
            if let Some(cb) = progress {
                cb(&Progress {
                    label: format!("{label}: filling assertion pool"),
                    elapsed: Duration::ZERO,
                    duration: profile.run_duration(),
                    requests: 0,
                    errors: 0,
                    rate: pool.stats().fill_rate_per_sec,
                    p99_us: None,
                    preparing: Some((ready, want)),
                });
            }
            if ready >= want || Instant::now() >= limit || pool.is_stopped() {
                prefilled = ready;
                break;
            }
        }
        if !profile.pool.refill {
            pool.stop_minting();
        }
    }
    Ok((pool, prefilled))
}

#[expect(
    clippy::too_many_arguments,
    reason = "one call site; the figures come from all over the run"
)]
pub(super) fn signing_info(
    sh: &ScenarioShared,
    phases: &[PhaseData; Phase::COUNT],
    pool: Option<&AssertionPool>,
    prefilled: u64,
    minted_before: u64,
    single_core_rate: f64,
    seconds: f64,
    profile: &LoadProfile,
) -> SigningInfo {
    let started = sh.assertions_used.load(Ordering::Relaxed) as f64;
    let offered = started / seconds;
    let planned_rate = sh
        .schedule
        .as_ref()
        .map(|s| s.total_arrivals() / profile.run_duration().as_secs_f64());
    let short = planned_rate.is_some_and(|p| offered < 0.95 * p);
    match (&sh.pool, pool) {
        (Some(_), Some(p)) => {
            let st = p.stats();
            let wait_ms = st.consumer_wait_micros as f64 / 1e3;
            let users = sh.users.load(Ordering::Relaxed).max(1) as f64;
            // Users spent more than 5% of their time waiting for assertions, or the open
            // model fell short while they waited at all.
            let limited =
                wait_ms / 1e3 > 0.05 * users * seconds || (short && st.consumer_waits > 0);
            SigningInfo {
                mode: "pool".into(),
                single_core_rate,
                signing_rate: st.minted.saturating_sub(minted_before) as f64 / seconds,
                offered_vs_single_core: if single_core_rate > 0.0 {
                    offered / single_core_rate
                } else {
                    0.0
                },
                assertions_used: started as u64,
                prefilled,
                minted: st.minted,
                waits: st.consumer_waits,
                wait_ms,
                limited,
            }
        }
        _ => {
            let sign = &phases[Phase::Sign as usize];
            let users = sh.users.load(Ordering::Relaxed).max(1) as f64;
            let busy_s = sign.uncorrected.mean() * sign.uncorrected.len() as f64 / 1e6;
            SigningInfo {
                mode: "inline".into(),
                single_core_rate,
                signing_rate: sign.count as f64 / seconds,
                offered_vs_single_core: if single_core_rate > 0.0 {
                    offered / single_core_rate
                } else {
                    0.0
                },
                assertions_used: started as u64,
                prefilled: 0,
                minted: sign.count,
                waits: 0,
                wait_ms: 0.0,
                // Signing took most of the users' time, or the open model fell short.
                limited: busy_s > 0.5 * users * seconds || short,
            }
        }
    }
}
