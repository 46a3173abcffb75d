//! Runner behaviour that the bundled suites do not show by themselves: a second identity
//! from a target file instead of the admin API, skips with reasons when controls are
//! missing, and per-case time limits turning a stalled gateway into an error.

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, Certificate, SigningKey};
use bearing_conform::{CaseOutcome, RunConfig, RunTargetSpec};

use crate::support::{profile, sandbox_with};

fn outcome(s: &bearing_conform::RunSummary, id: &str) -> (CaseOutcome, String) {
    let c = s.cases.iter().find(|c| c.id == id).expect(id);
    (c.outcome, c.reason.clone())
}

// Without an admin API the two-client cases use --second-target, and are skipped with the
// reason when there is none; the sandbox-only cases are skipped too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_identity_from_a_target_file() {
    let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
    let cert = Certificate::self_signed(&key, "OtherClient", 1).expect("cert");
    let sb = sandbox_with(
        profile("rfc-strict"),
        vec![("OtherClient".into(), cert.clone())],
    )
    .await;
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("k.pem"), key.to_pkcs8_pem().as_bytes()).expect("key");
    std::fs::write(dir.path().join("c.pem"), cert.to_pem()).expect("cert");
    let mut second = sb.target.clone();
    second.client_id = "OtherClient".into();
    second.private_key = dir.path().join("k.pem");
    second.certificate = Some(dir.path().join("c.pem"));
    let mut target = sb.target.clone();
    target.admin_url = None;
    target.admin_secret = None;
    let suites = bearing_conform::load_suites(&["replay".into(), "assertion-signature".into()])
        .expect("suites");
    let only = vec![
        "rp-same-jti-other-issuer".into(),
        "ac-iss-other-client".into(),
        "as-weak-rsa-key".into(),
    ];
    let config = RunConfig {
        only,
        ..RunConfig::default()
    };

    let spec = RunTargetSpec {
        target: target.clone(),
        profile: profile("rfc-strict"),
        second: Some(second),
    };
    let s = bearing_conform::run(
        &suites,
        spec,
        config.clone(),
        Arc::new(bearing_conform::Quiet),
    )
    .await
    .expect("run");
    assert_eq!(s.cases.len(), 3);
    assert_eq!(
        outcome(&s, "rp-same-jti-other-issuer").0,
        CaseOutcome::Pass,
        "{:?}",
        outcome(&s, "rp-same-jti-other-issuer")
    );
    assert_eq!(outcome(&s, "ac-iss-other-client").0, CaseOutcome::Pass);
    let (o, why) = outcome(&s, "as-weak-rsa-key");
    assert!(
        o == CaseOutcome::Skip && why.contains("admin API"),
        "{o:?} {why}"
    );

    let spec = RunTargetSpec {
        target,
        profile: profile("rfc-strict"),
        second: None,
    };
    let s = bearing_conform::run(&suites, spec, config, Arc::new(bearing_conform::Quiet))
        .await
        .expect("run");
    let (o, why) = outcome(&s, "ac-iss-other-client");
    assert!(
        o == CaseOutcome::Skip && why.contains("second"),
        "{o:?} {why}"
    );
    sb.gateway.shutdown().await;
}

// A gateway that accepts connections but never answers: the case's time budget ends it as an
// error, never a pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_gateway_times_out_as_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let hold = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            open.push(s);
        }
    });
    let sb = sandbox_with(profile("rfc-strict"), Vec::new()).await;
    let mut target = sb.target.clone();
    target.token_url = format!("http://{addr}/oauth/token").parse().expect("url");
    target.admin_url = None;
    target.admin_secret = None;
    let suites = bearing_conform::load_suites(&["token-request".into()]).expect("suites");
    let config = RunConfig {
        only: vec!["tr-happy-path".into()],
        case_timeout: Duration::from_millis(500),
        ..RunConfig::default()
    };
    let spec = RunTargetSpec {
        target,
        profile: profile("rfc-strict"),
        second: None,
    };
    let started = std::time::Instant::now();
    let s = bearing_conform::run(&suites, spec, config, Arc::new(bearing_conform::Quiet))
        .await
        .expect("run");
    let (o, why) = outcome(&s, "tr-happy-path");
    assert_eq!(o, CaseOutcome::Error, "{why}");
    assert!(why.contains("timed out"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(5));
    hold.abort();
    sb.gateway.shutdown().await;
}
