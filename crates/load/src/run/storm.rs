//! Side tasks and figures of the API scenarios: the refresh storm's revocation through the
//! sandbox admin API, the token-request sampler (for the burst) and the token-manager counts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::result::StormInfo;
use crate::scenario::{Gate, ScenarioShared};

pub(super) fn storm_info(sh: &ScenarioShared, series: &[(u64, u64)]) -> StormInfo {
    let st = &sh.storm;
    let revoked = st.revoked_at_us.load(Ordering::Acquire);
    let recovered = st.recovered_at_us.load(Ordering::Acquire);
    let users = sh.users.load(Ordering::Relaxed) as u64;
    let n_rec = st.users_recovered.load(Ordering::Relaxed);
    let mut info = StormInfo {
        revoked_at_ms: (revoked > 0).then(|| revoked as f64 / 1e3),
        revoked_tokens: st.revoked.load(Ordering::Relaxed),
        recovery_ms: (revoked > 0 && recovered >= revoked && n_rec >= users)
            .then(|| (recovered - revoked) as f64 / 1e3),
        users_recovered: n_rec,
        error: st.error.lock().ok().and_then(|e| e.clone()),
        ..StormInfo::default()
    };
    if revoked > 0 {
        let until = if recovered >= revoked {
            recovered + 200_000
        } else {
            u64::MAX
        };
        let at = |t: u64| {
            series
                .iter()
                .take_while(|(ts, _)| *ts <= t)
                .last()
                .map_or(0, |(_, n)| *n)
        };
        info.burst_token_requests = at(until).saturating_sub(at(revoked));
        info.peak_token_rate = series
            .windows(2)
            .filter(|w| w[1].0 >= revoked)
            .map(|w| (w[1].1 - w[0].1) as f64 / ((w[1].0 - w[0].0).max(1) as f64 / 1e6))
            .fold(0.0, f64::max);
    }
    info
}

pub(super) async fn wait_open(gate: &Gate, done: &AtomicBool) -> Option<Instant> {
    loop {
        if let Some(t) = gate.t0.get() {
            return Some(*t);
        }
        if done.load(Ordering::Acquire) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub(super) async fn revoke_later(sh: Arc<ScenarioShared>, at: Duration, done: Arc<AtomicBool>) {
    let Some(t0) = wait_open(&sh.gate, &done).await else {
        return;
    };
    tokio::time::sleep_until((t0 + at).into()).await;
    if done.load(Ordering::Acquire) {
        return;
    }
    let Some(admin) = &sh.target.admin else {
        return;
    };
    let url = format!("{}/revoke", admin.url.as_str().trim_end_matches('/'));
    let client = reqwest::Client::new();
    let sent = client
        .post(&url)
        .header("X-Admin-Secret", &admin.secret)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let now = Instant::now();
    let err = match sent {
        Ok(r) if r.status().is_success() => {
            let n = r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v["revoked"].as_u64())
                .unwrap_or(0);
            sh.storm.revoked.store(n, Ordering::Relaxed);
            sh.storm
                .revoked_at_us
                .store(sh.us_since_t0(now).max(1), Ordering::Release);
            tracing::info!(revoked = n, "every token revoked");
            None
        }
        Ok(r) => Some(format!("{url} answered {}", r.status().as_u16())),
        Err(e) => Some(format!("{url}: {e}")),
    };
    if let Some(e) = err {
        tracing::warn!(error = %e, "revocation failed");
        if let Ok(mut slot) = sh.storm.error.lock() {
            *slot = Some(e);
        }
    }
}

/// Samples the managers' token-request counters every 100 ms (for the storm's burst).
pub(super) async fn sample_token_requests(
    shared: Vec<Arc<ScenarioShared>>,
    out: Arc<Mutex<Vec<(u64, u64)>>>,
    done: Arc<AtomicBool>,
) {
    let Some(first) = shared.first() else { return };
    let Some(t0) = wait_open(&first.gate, &done).await else {
        return;
    };
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    while !done.load(Ordering::Acquire) {
        tick.tick().await;
        let total: u64 = shared
            .iter()
            .filter_map(|s| {
                s.managers
                    .lock()
                    .ok()
                    .map(|m| m.iter().map(|x| x.stats().token_requests).sum::<u64>())
            })
            .sum();
        let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
        if let Ok(mut o) = out.lock() {
            o.push((us, total));
        }
    }
}
