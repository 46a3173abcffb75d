//! The bundled suites against conformant and deliberately broken sandboxes.

use bearing_auth::{ExpiresInFormat, ReplayProtection};
use bearing_conform::CaseOutcome;

use crate::support::{ids, not_passed, profile, run_bundled, sandbox};

/// The cases that need TLS and are skipped against a plain-HTTP loopback sandbox.
const TLS_ONLY: [&str; 3] = ["tp-plain-http", "tp-old-tls", "tp-rs-tls"];

// The conformant runs, one per shipped profile, are in profile_matrix.rs.

/// Asserts that exactly `expected` did not pass (TLS-only skips aside), with those outcomes.
fn assert_exactly(s: &bearing_conform::RunSummary, expected: &[(&str, CaseOutcome)]) {
    let mut got: Vec<(String, CaseOutcome)> = s
        .cases
        .iter()
        .filter(|c| c.outcome != CaseOutcome::Pass && !TLS_ONLY.contains(&c.id.as_str()))
        .map(|c| (c.id.clone(), c.outcome))
        .collect();
    got.sort();
    let mut want: Vec<(String, CaseOutcome)> = expected
        .iter()
        .map(|(i, o)| ((*i).to_owned(), *o))
        .collect();
    want.sort();
    assert_eq!(got, want, "\n{}", not_passed(s));
}

// A sandbox without replay protection fails the replay cases and nothing else; the
// PRACTICE/MAY/SHOULD-level parts only warn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_off_fails_replay_cases() {
    let mut broken = profile("rfc-strict");
    broken.replay_protection = ReplayProtection::None;
    let sb = sandbox(broken).await;
    let s = run_bundled(sb.target.clone(), profile("rfc-strict")).await;
    assert_exactly(
        &s,
        &[
            ("rp-same-assertion", CaseOutcome::Fail),
            ("rp-same-jti-resigned", CaseOutcome::Fail),
            ("rf-reuse-assertion-for-renewal", CaseOutcome::Fail),
            ("rp-parallel-replay", CaseOutcome::Warn),
            ("rp-replay-near-expiry", CaseOutcome::Warn),
            ("rp-retry-after-error", CaseOutcome::Warn),
        ],
    );
    sb.gateway.shutdown().await;
}

// A sandbox that checks only the presence of aud fails exactly the aud value cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aud_unchecked_fails_audience_cases() {
    let mut broken = profile("rfc-strict");
    broken.dangerous.skip_audience_check = true;
    let sb = sandbox(broken).await;
    let s = run_bundled(sb.target.clone(), profile("rfc-strict")).await;
    assert_exactly(
        &s,
        &[
            ("ac-aud-other-server", CaseOutcome::Fail),
            ("ac-aud-resource-url", CaseOutcome::Fail),
            ("ac-aud-issuer-id", CaseOutcome::Fail),
            ("ac-aud-trailing-slash", CaseOutcome::Fail),
            ("ac-aud-http-scheme", CaseOutcome::Fail),
        ],
    );
    sb.gateway.shutdown().await;
}

// A sandbox that accepts alg none fails exactly the alg-none cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alg_none_accepted_fails_alg_none_cases() {
    let mut broken = profile("apigee");
    broken.dangerous.accept_alg_none = true;
    let sb = sandbox(broken).await;
    let s = run_bundled(sb.target.clone(), profile("apigee")).await;
    let failed = ids(&s, CaseOutcome::Fail);
    assert_exactly(
        &s,
        &[
            ("as-alg-none", CaseOutcome::Fail),
            ("as-alg-none-case", CaseOutcome::Fail),
            ("rs-challenge-syntax", CaseOutcome::Skip),
        ],
    );
    assert_eq!(failed.len(), 2);
    sb.gateway.shutdown().await;
}

// A sandbox sending expires_in as a string where the profile wants a number fails exactly
// the expires_in format case and the happy path (RFC 6749 §5.1 "Numerical values are
// included as JSON numbers"): everything else reads either form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_expires_in_fails_format_case() {
    let mut broken = profile("rfc-strict");
    broken.expires_in_format = ExpiresInFormat::String;
    let sb = sandbox(broken).await;
    let s = run_bundled(sb.target.clone(), profile("rfc-strict")).await;
    assert_exactly(
        &s,
        &[
            ("ex-expires-in-format", CaseOutcome::Fail),
            ("tr-happy-path", CaseOutcome::Fail),
        ],
    );
    sb.gateway.shutdown().await;
}
