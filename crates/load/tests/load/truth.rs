//! Known truth (issue 18): against a sandbox whose capacity and latency are set by its
//! emulation knobs, bearing reports the capacity and the latency that were set.

use std::time::Duration;

use bearing_auth::{Algorithm, SigningKey};
use bearing_gateway::{FaultSpec, GatewayConfig};
use bearing_load::{LoadProfile, Phase};

use crate::support;

/// A sandbox with `faults` on `route`, an RS256 identity (what the sandbox accepts) and a target.
async fn sandbox(
    route: &str,
    fault: FaultSpec,
) -> (
    bearing_gateway::RunningGateway,
    bearing_auth::Target,
    tempfile::TempDir,
) {
    let dir = tempfile::tempdir().expect("tmp");
    let key = SigningKey::generate(Algorithm::RS256, 2048).expect("key");
    let cert = bearing_auth::Certificate::self_signed(&key, "SampleConfId", 1).expect("cert");
    let kp = dir.path().join("key.pem");
    std::fs::write(&kp, key.to_pkcs8_pem().as_bytes()).expect("write key");
    let mut config = GatewayConfig::sandbox(vec![("SampleConfId".to_owned(), cert)]);
    config.faults.insert(route.to_owned(), fault);
    let gw = bearing_gateway::spawn(config)
        .await
        .expect("sandbox starts");
    let mut t = support::target(&gw.base_url, kp);
    t.token_url = gw.token_url.parse().expect("url");
    t.apis[0].url = gw
        .api_url("inventory")
        .expect("inventory api")
        .parse()
        .expect("url");
    (gw, t, dir)
}

/// The emulated knee: 2 workers × 20 ms = 100/s, low enough that a heavily loaded 2-core
/// machine (load average 17 while this was written) reproduces it.
const KNEE: f64 = 100.0;

// --find-capacity finds the emulated knee within ±10%, on the token route and an API route:
// a ×1.5 ladder from 50/s, then bisection to ±5%, 3 s per step. Past the knee the queue
// grows steadily: at +5% the median reaches ~95 ms over a step, past the 80 ms ceiling.
// Below it a hiccup of the loaded machine drains slowly (at 94% of the knee a 400 ms stall
// left a p99 of 390 ms) but leaves the median near the 20 ms service time, so the ceiling is
// on p50.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_search_finds_the_emulated_knee() {
    let _g = support::serial().lock().await;
    for (route, kind) in [("token", "token"), ("inventory", "api")] {
        let (gw, t, _dir) = sandbox(
            route,
            FaultSpec {
                service_time: Some(Duration::from_millis(20)),
                workers: 2,
                ..FaultSpec::default()
            },
        )
        .await;
        let p = LoadProfile::from_yaml(
            &format!(
                "users: 64\nrate: 100/s\nduration: 3s\nthresholds: ['p50 < 80ms']\n\
                 capacity: {{ start: 50/s, factor: 1.5, max: 500/s, step_duration: 3s }}\n\
                 scenarios: [{{name: {kind}, kind: {kind}}}]\n"
            ),
            "knee.yaml",
        )
        .expect("profile");
        let lt = bearing_load::LoadTarget::from_target(&t, "").expect("target");
        let (c, _) = tokio::time::timeout(
            Duration::from_secs(120),
            bearing_load::find_capacity(&p, &lt, &bearing_load::RunOptions::default()),
        )
        .await
        .expect("the search ends in time")
        .expect("the search runs");
        let knee = c.knee.unwrap_or_else(|| panic!("{route}: no knee: {c:#?}"));
        let [lo, hi] = c.interval.expect("an interval");
        assert!(
            (knee - KNEE).abs() <= 0.10 * KNEE,
            "{route}: knee {knee} not within 10% of {KNEE}: {c:#?}"
        );
        assert!(hi - lo <= 0.1 * (hi + lo) / 2.0 + 1e-6, "{c:#?}");
        assert!(c.steps.iter().any(|s| s.refine), "{c:#?}");
        gw.shutdown().await;
    }
}

// A fixed injected latency of 20 ms is reported as such: the median is at least 20 ms and
// at most 26 ms above the same sandbox's median without it (the floor: loopback,
// validation), corrected and uncorrected alike at a rate the users easily carry; p99 stays
// within the floor's p99 + the 20 ms + 30 ms of scheduling noise (p99 of 200 samples is
// the second-worst one, and a busy 2-core machine delays single wake-ups by tens of ms). The issue asked for 20 ms ± 1 ms; on this 2-core machine
// shared by 8 builds (load average 17) the sandbox's own 20 ms sleep took 23.6 ms at the
// median (tokio's 1 ms timer plus scheduling delay), so the upper bound is the sandbox's,
// not bearing's: a reading *below* 20 ms would be a measuring error, and is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixed_latency_is_reported() {
    let _g = support::serial().lock().await;
    let profile = "duration: 2s\nusers: 16\nrate: 100/s\nscenarios: [{name: api, kind: api}]\n";
    let mut figures = Vec::new();
    for latency in [None, Some(Duration::from_millis(20))] {
        let (gw, t, _dir) = sandbox(
            "inventory",
            FaultSpec {
                latency,
                ..FaultSpec::default()
            },
        )
        .await;
        let r = support::run(profile, &t).await;
        let api = r.scenarios[0].phase_stats(Phase::Api, r.seconds());
        assert_eq!(api.errors, 0, "{api:?}");
        figures.push(api);
        gw.shutdown().await;
    }
    let (floor, with) = (&figures[0], &figures[1]);
    for (what, f, w) in [
        ("corrected", &floor.corrected, &with.corrected),
        ("uncorrected", &floor.uncorrected, &with.uncorrected),
    ] {
        let added = w.p50 as i64 - f.p50 as i64;
        assert!(
            (20_000..=26_000).contains(&added),
            "{what}: p50 {} µs is {added} µs above the floor's {} µs, not 20–26 ms",
            w.p50,
            f.p50
        );
        assert!(
            w.p99 <= f.p99 + 20_000 + 30_000,
            "{what}: p99 {} µs vs the floor's {} µs",
            w.p99,
            f.p99
        );
    }
}
