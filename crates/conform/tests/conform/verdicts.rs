//! Verdicts that hold up (issue #14): each test reproduces, with a sandbox profile or a
//! scripted gateway, a verdict bearing used to get wrong.

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{GatewayProfile, Target};
use bearing_conform::{CaseOutcome, RunConfig, RunSummary, RunTargetSpec};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::{not_passed, profile, sandbox};

async fn run_only(
    target: Target,
    expect: GatewayProfile,
    suites: &[&str],
    only: &[&str],
) -> RunSummary {
    let suites =
        bearing_conform::load_suites(&suites.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
            .expect("suites");
    let config = RunConfig {
        only: only.iter().map(|s| (*s).to_owned()).collect(),
        ..RunConfig::default()
    };
    let spec = RunTargetSpec {
        target,
        profile: expect,
        second: None,
    };
    bearing_conform::run(&suites, spec, config, Arc::new(bearing_conform::Quiet))
        .await
        .expect("run")
}

fn outcome(s: &RunSummary, id: &str) -> (CaseOutcome, String) {
    let c = s.cases.iter().find(|c| c.id == id).expect(id);
    (c.outcome, c.reason.clone())
}

fn failed(s: &RunSummary) -> Vec<String> {
    let mut v: Vec<String> = s
        .cases
        .iter()
        .filter(|c| c.outcome == CaseOutcome::Fail)
        .map(|c| c.id.clone())
        .collect();
    v.sort();
    v
}

// A gateway that accepts assertions without sub and allows 60 s of clock skew (the interop
// profile) fails rfc-strict: RFC 7523 §3 "The JWT MUST contain a "sub" (subject) claim", and
// the leeway is probed at rfc-strict's own boundary (30 s + 15 s must be refused).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lenient_gateway_fails_rfc_strict_on_sub_and_leeway() {
    let mut lenient = profile("interop");
    lenient.access_token_lifetime = Duration::from_secs(30);
    let sb = sandbox(lenient).await;
    let s = run_only(
        sb.target.clone(),
        profile("rfc-strict"),
        &["assertion-claims", "expiry"],
        &["ac-", "ex-exp-past", "ex-nbf", "ex-iat"],
    )
    .await;
    assert_eq!(
        failed(&s),
        vec![
            "ac-sub-missing".to_owned(),
            "ex-exp-past-within-skew".to_owned(),
            "ex-nbf-iat-small-future".to_owned(),
        ],
        "\n{}",
        not_passed(&s)
    );
    sb.gateway.shutdown().await;
}

// Without a declared scope list (no admin API to register a scoped client) the scope cases
// are not run, with the reason: RFC 6749 §3.3 lets a server ignore the requested scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scope_cases_not_run_without_a_scope_list() {
    let sb = sandbox(profile("rfc-strict")).await;
    let mut target = sb.target.clone();
    target.admin_url = None;
    target.admin_secret = None;
    let s = run_only(
        target,
        profile("rfc-strict"),
        &["token-request", "replay"],
        &["tr-scope-not-allowed", "rp-retry-after-error"],
    )
    .await;
    for id in ["tr-scope-not-allowed", "rp-retry-after-error"] {
        let (o, why) = outcome(&s, id);
        assert!(
            o == CaseOutcome::Skip && why.contains("admin API"),
            "{id}: {o:?} {why}"
        );
    }
    sb.gateway.shutdown().await;
}

// Without an admin API the 401-recovery case still runs: a well-formed token the gateway never
// issued provokes the 401, and the token manager must re-token once and retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_after_401_runs_without_admin_api() {
    let sb = sandbox(profile("rfc-strict")).await;
    let mut target = sb.target.clone();
    target.admin_url = None;
    target.admin_secret = None;
    let s = run_only(
        target,
        profile("rfc-strict"),
        &["refresh"],
        &["rs-401-then-retoken"],
    )
    .await;
    assert_eq!(
        outcome(&s, "rs-401-then-retoken").0,
        CaseOutcome::Pass,
        "{}",
        not_passed(&s)
    );
    sb.gateway.shutdown().await;
}

// A gateway whose tokens live 5 s under a profile that says 30 s: renewal works, so the MUST
// case passes; only the PRACTICE case on the lifetime's value warns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_is_judged_apart_from_the_lifetime_value() {
    let mut short = profile("rfc-strict");
    short.access_token_lifetime = Duration::from_secs(5);
    let sb = sandbox(short).await;
    let s = run_only(
        sb.target.clone(),
        profile("rfc-strict"),
        &["refresh", "expiry"],
        &["rf-proactive-renewal", "ex-expires-in-value"],
    )
    .await;
    assert_eq!(
        outcome(&s, "rf-proactive-renewal").0,
        CaseOutcome::Pass,
        "{}",
        not_passed(&s)
    );
    assert_eq!(
        outcome(&s, "ex-expires-in-value").0,
        CaseOutcome::Warn,
        "{}",
        not_passed(&s)
    );
    sb.gateway.shutdown().await;
}

// Without a lifetime cap, refusing exp = 1e20 does not follow from RFC 7523 §3 ("MAY
// reject"): a gateway that accepts it (scripted: it issues a token for any exp >= 0) passes;
// a negative exp is still refused. Under a profile with a cap the same gateway fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_exp_refusal_follows_the_lifetime_cap() {
    let (addr, task) = scripted_gateway(Script::AcceptAnyExp).await;
    let sb = sandbox(profile("rfc-strict")).await;
    let mut target = sb.target.clone();
    target.token_url = format!("http://{addr}/oauth/token").parse().expect("url");
    target.admin_url = None;
    target.admin_secret = None;
    let mut uncapped = profile("rfc-strict");
    uncapped.max_assertion_lifetime = None;
    let s = run_only(target.clone(), uncapped, &["expiry"], &["ex-exp-overflow"]).await;
    assert_eq!(
        outcome(&s, "ex-exp-overflow").0,
        CaseOutcome::Pass,
        "{}",
        not_passed(&s)
    );
    let s = run_only(
        target,
        profile("rfc-strict"),
        &["expiry"],
        &["ex-exp-overflow"],
    )
    .await;
    assert_eq!(
        outcome(&s, "ex-exp-overflow").0,
        CaseOutcome::Fail,
        "{}",
        not_passed(&s)
    );
    task.abort();
    sb.gateway.shutdown().await;
}

/// How the scripted gateway answers token requests.
#[derive(Clone, Copy)]
enum Script {
    /// `400 invalid_grant` to everything.
    RefuseAll,
    /// A token for any assertion whose `exp` is a number >= 0, else `400 invalid_grant`.
    AcceptAnyExp,
}

/// The `exp` of the assertion in a form body, if it is a number.
fn exp_of(body: &str) -> Option<f64> {
    use base64::Engine as _;
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "assertion")?
        .1
        .into_owned();
    let payload = assertion.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    claims.get("exp")?.as_f64()
}

/// A scripted gateway: token requests answered by `script`, every API call a 401 whose
/// Bearer challenge has no realm (allowed, RFC 6750 §3).
async fn scripted_gateway(script: Script) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head and, for a POST, the body (Content-Length).
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let body = head.split_once("\r\n\r\n").map_or("", |(_, b)| b);
                let issue = matches!(script, Script::AcceptAnyExp)
                    && exp_of(body).is_some_and(|e| e >= 0.0);
                let resp = if head.starts_with("POST /oauth/token") && issue {
                    let body = r#"{"access_token":"scripted-token","token_type":"Bearer","expires_in":60}"#;
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncache-control: no-store\r\npragma: no-cache\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else if head.starts_with("POST /oauth/token") {
                    let body = r#"{"error":"invalid_grant","error_description":"client mismatch"}"#;
                    format!(
                        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncache-control: no-store\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                } else {
                    "HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Bearer error=\"invalid_token\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned()
                };
                let _ = s.write_all(resp.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (addr, task)
}

// A challenge without realm passes rs-challenge-syntax (RFC 6750 §3: realm MAY be included),
// and an allowed 400 invalid_grant to foreign Basic credentials owes no Basic challenge
// (RFC 6749 §5.2 asks for WWW-Authenticate only with 401).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn realm_and_basic_challenge_are_not_demanded() {
    let (addr, task) = scripted_gateway(Script::RefuseAll).await;
    let sb = sandbox(profile("rfc-strict")).await;
    let mut target = sb.target.clone();
    target.token_url = format!("http://{addr}/oauth/token").parse().expect("url");
    target.apis[0].url = format!("http://{addr}/api").parse().expect("url");
    target.admin_url = None;
    target.admin_secret = None;
    let s = run_only(
        target,
        profile("rfc-strict"),
        &["resource-401", "token-request"],
        &["rs-challenge-syntax", "tr-client-credentials-mismatch"],
    )
    .await;
    for id in ["rs-challenge-syntax", "tr-client-credentials-mismatch"] {
        assert_eq!(
            outcome(&s, id).0,
            CaseOutcome::Pass,
            "{id}\n{}",
            not_passed(&s)
        );
    }
    task.abort();
    sb.gateway.shutdown().await;
}
