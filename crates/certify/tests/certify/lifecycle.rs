//! How a run ends: stopped from outside (ctrl-c), capped by `--duration`, or no client came
//! — and a recording comes back every time.

use std::time::Duration;

use bearing_auth::{Algorithm, Certificate, SigningKey};
use bearing_certify::{
    Action, Certification, CertifyOptions, CertifySummary, EndReason, Overall, Plan, Verdict,
};
use bearing_gateway::GatewayConfig;

const PLAN: &str = "name: lifecycle\nstart: immediately\nwait_for_client: 300ms\nphases:\n  - name: long\n    duration: 30s\n    token_lifetime: 2s\n";

fn config() -> GatewayConfig {
    let key = SigningKey::generate(Algorithm::ES256, 0).expect("key");
    let cert = Certificate::self_signed(&key, "lifecycle", 1).expect("cert");
    GatewayConfig::sandbox(vec![("lifecycle".into(), cert)])
}

// The stop future (ctrl-c in the CLI) ends a 30 s phase at once; the recording says so and
// every check is no-evidence, not pass.
#[tokio::test]
async fn interrupted_run_still_records() {
    let plan = Plan::from_yaml_str(PLAN, "lifecycle.yaml").expect("plan");
    let run = Certification::start(CertifyOptions::new(config(), plan))
        .await
        .expect("start");
    assert_eq!(run.gateway().state.token_lifetime(), Duration::from_secs(2));
    let rec = run
        .run(tokio::time::sleep(Duration::from_millis(200)))
        .await;
    assert_eq!(rec.ended_by, EndReason::Interrupted);
    let s = CertifySummary::from_recording(&rec);
    assert_eq!(s.verdict, Overall::Incomplete);
    let c = s.client("lifecycle").expect("registered client reported");
    assert!(
        c.checks.iter().all(|r| r.verdict == Verdict::NoEvidence),
        "{c:?}"
    );
    assert!(matches!(
        s.timeline.last().map(|m| &m.action),
        Some(Action::Ended {
            reason: EndReason::Interrupted
        })
    ));
}

// --duration cuts the plan short.
#[tokio::test]
async fn duration_caps_the_plan() {
    let plan = Plan::from_yaml_str(PLAN, "lifecycle.yaml").expect("plan");
    let mut opts = CertifyOptions::new(config(), plan);
    opts.duration = Some(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let rec = Certification::start(opts)
        .await
        .expect("start")
        .run(std::future::pending())
        .await;
    assert_eq!(rec.ended_by, EndReason::Duration);
    assert!(started.elapsed() < Duration::from_secs(5));
}

// A plan waiting for its first request gives up after wait_for_client.
#[tokio::test]
async fn no_client_ends_the_wait() {
    let text = PLAN.replace("start: immediately", "start: first-request");
    let plan = Plan::from_yaml_str(&text, "lifecycle.yaml").expect("plan");
    let rec = Certification::start(CertifyOptions::new(config(), plan))
        .await
        .expect("start")
        .run(std::future::pending())
        .await;
    assert_eq!(rec.ended_by, EndReason::NoClient);
    assert!(rec.plan_started_ms.is_none());
    assert!(rec.events.is_empty());
}

// A phase's fault and latency go into the gateway's fault table (token route and every
// route), and the timeline records them.
#[tokio::test]
async fn phase_settings_reach_the_gateway() {
    let text = "name: faults\nstart: immediately\nphases:\n  - name: slow-429\n    duration: 200ms\n    latency: 150ms\n    token_fault: { status: 429, retry_after: 3s, probability: 0.5 }\n";
    let plan = Plan::from_yaml_str(text, "faults.yaml").expect("plan");
    let run = Certification::start(CertifyOptions::new(config(), plan))
        .await
        .expect("start");
    let table = run.gateway().state.faults().snapshot();
    let token = &table["token"];
    assert_eq!(
        (token.error_429, token.retry_after, token.latency),
        (
            0.5,
            Duration::from_secs(3),
            Some(Duration::from_millis(150))
        )
    );
    assert_eq!(table["*"].latency, Some(Duration::from_millis(150)));
    let rec = run.run(std::future::pending()).await;
    assert_eq!(rec.ended_by, EndReason::PlanComplete);
    let actions: Vec<&Action> = rec.marks.iter().map(|m| &m.action).collect();
    assert!(
        actions.contains(&&Action::Latency { ms: 150 }),
        "{actions:?}"
    );
    assert!(
        actions.contains(&&Action::TokenFault {
            status: 429,
            retry_after_s: 3,
            probability: 0.5
        }),
        "{actions:?}"
    );
    assert!(actions.contains(&&Action::FaultsCleared), "{actions:?}");
}
