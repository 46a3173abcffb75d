//! The certification checks: pure functions over one client's part of the recorded log
//! ([`ClientView`]) and what the gateway expects ([`CheckContext`]). Each yields a
//! [`CheckResult`]: a verdict — pass, fail, or no-evidence (never pass without evidence) —
//! with counts, measured values, timestamped findings and the rule it comes from.
//!
//! | id | rule |
//! |---|---|
//! | `assertion.alg` … `assertion.signature` | RFC 7523 §3, RFC 7519 §4.1, RFC 8725, the profile |
//! | `token_request.*` | RFC 7523 §2.1, RFC 6749 §3.2 and §2.3.1 |
//! | `token_use.*` | RFC 6750 §2, portal contract (reuse, refresh before expiry) |
//! | `recovery.*` | portal contract (one new token and one retry after a 401), RFC 9110 §10.2.3 |

mod assertion;
mod recovery;
mod request;
mod usage;

use std::collections::{BTreeMap, BTreeSet};

use bearing_auth::GatewayProfile;
use bearing_auth::SubPolicy;
use serde::{Deserialize, Serialize};

use crate::event::Event;

/// Most findings kept per check (the total is counted).
pub const MAX_FINDINGS: usize = 10;

/// What the gateway expects of a client, taken from the profile and the gateway's URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckContext {
    /// The `aud` values the gateway accepts (exact strings).
    pub audiences: Vec<String>,
    /// Allowed JWS algorithms.
    pub allowed_algs: Vec<String>,
    /// Longest `exp - iat` accepted, ms; `None` when unlimited.
    pub max_assertion_lifetime_ms: Option<i64>,
    /// How far `iat` may be from the gateway clock, ms.
    pub iat_tolerance_ms: i64,
    /// Whether `sub` must equal `iss` (profile `sub_policy: equal-iss`).
    pub sub_must_equal_iss: bool,
    /// Whether `sub` must be present (profile `sub_required`; RFC 7523 §3 #2 MUST).
    #[serde(default = "yes")]
    pub sub_required: bool,
    /// Whether `iat` must be present (profile `iat_required`; RFC 7523 §3 #6 MAY).
    #[serde(default)]
    pub iat_required: bool,
    /// Whether `jti` must be present (profile `jti_required`; RFC 7523 §3 #7 MAY). A `jti`
    /// that is present must be fresh either way.
    #[serde(default)]
    pub jti_required: bool,
    /// When the run ended (gateway clock, ms): recoveries cut short by the end are not judged.
    pub run_end_ms: i64,
}

impl Default for CheckContext {
    fn default() -> Self {
        Self {
            audiences: Vec::new(),
            allowed_algs: vec!["RS256".into()],
            max_assertion_lifetime_ms: Some(3_600_000),
            iat_tolerance_ms: 30_000,
            sub_must_equal_iss: false,
            sub_required: true,
            iat_required: false,
            jti_required: false,
            run_end_ms: i64::MAX,
        }
    }
}

fn yes() -> bool {
    true
}

impl CheckContext {
    /// The expectations of `profile` for a gateway accepting `audiences`.
    pub fn from_profile(profile: &GatewayProfile, audiences: Vec<String>) -> Self {
        let ms = |d: std::time::Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Self {
            audiences,
            allowed_algs: profile
                .allowed_algs
                .iter()
                .map(|a| a.as_str().to_owned())
                .collect(),
            max_assertion_lifetime_ms: profile.max_assertion_lifetime.map(ms),
            iat_tolerance_ms: ms(profile.leeway.iat_future),
            sub_must_equal_iss: profile.sub_policy == SubPolicy::EqualIss,
            sub_required: profile.sub_required,
            iat_required: profile.iat_required,
            jti_required: profile.jti_required,
            run_end_ms: i64::MAX,
        }
    }
}

/// A check's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Evidence was seen and every piece of it complies.
    Pass,
    /// Evidence shows a violation.
    Fail,
    /// The client never did what the check needs to see (no API call, never hit expiry…).
    NoEvidence,
}

impl Verdict {
    /// `pass`, `fail` or `no-evidence`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::NoEvidence => "no-evidence",
        }
    }
}

/// One observation backing a verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// When (gateway clock, ms since the epoch).
    pub at_ms: i64,
    /// What was seen (no secrets).
    pub detail: String,
}

/// A check's result for one client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Stable id, e.g. `assertion.aud`.
    pub id: String,
    /// What is checked.
    pub title: String,
    /// The rule it comes from (RFC section or portal contract).
    pub rule: String,
    /// The verdict.
    pub verdict: Verdict,
    /// One line: what was seen.
    pub summary: String,
    /// Counts (observed, violations, …).
    pub counts: BTreeMap<String, u64>,
    /// Measured values; the unit is in the name (`lead_ms_min`, `calls_per_token_mean`).
    pub values: BTreeMap<String, f64>,
    /// First and last evidence timestamps (gateway clock, ms).
    pub first_ms: Option<i64>,
    /// Last evidence timestamp.
    pub last_ms: Option<i64>,
    /// Up to [`MAX_FINDINGS`] findings: violations when failing, else examples.
    pub findings: Vec<Finding>,
    /// How many findings there were in all.
    pub findings_total: u64,
}

/// The evidence a check gathers; becomes a [`CheckResult`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Evidence {
    verdict: Option<Verdict>,
    summary: String,
    counts: BTreeMap<String, u64>,
    values: BTreeMap<String, f64>,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    findings: Vec<Finding>,
    findings_total: u64,
}

impl Evidence {
    pub(crate) fn count(&mut self, key: &str, n: u64) -> &mut Self {
        self.counts.insert(key.to_owned(), n);
        self
    }
    pub(crate) fn value(&mut self, key: &str, v: f64) -> &mut Self {
        if v.is_finite() {
            self.values
                .insert(key.to_owned(), (v * 1000.0).round() / 1000.0);
        }
        self
    }
    /// Widens the evidence span to include `at`.
    pub(crate) fn seen(&mut self, at: i64) {
        self.first_ms = Some(self.first_ms.map_or(at, |f| f.min(at)));
        self.last_ms = Some(self.last_ms.map_or(at, |l| l.max(at)));
    }
    pub(crate) fn finding(&mut self, at_ms: i64, detail: impl Into<String>) {
        self.findings_total += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                at_ms,
                detail: detail.into(),
            });
        }
    }
    pub(crate) fn pass(mut self, summary: impl Into<String>) -> Self {
        self.verdict = Some(Verdict::Pass);
        self.summary = summary.into();
        self
    }
    pub(crate) fn fail(mut self, summary: impl Into<String>) -> Self {
        self.verdict = Some(Verdict::Fail);
        self.summary = summary.into();
        self
    }
    pub(crate) fn none(mut self, summary: impl Into<String>) -> Self {
        self.verdict = Some(Verdict::NoEvidence);
        self.summary = summary.into();
        self
    }
    /// Fail when any finding is a violation, pass when `observed > 0`, else no evidence.
    pub(crate) fn judge(
        self,
        observed: u64,
        violations: u64,
        pass: String,
        fail: String,
        none: &str,
    ) -> Self {
        if violations > 0 {
            self.fail(fail)
        } else if observed > 0 {
            self.pass(pass)
        } else {
            self.none(none)
        }
    }
}

/// The part of the log that belongs to one client, in arrival order.
#[derive(Debug, Clone)]
pub struct ClientView<'a> {
    /// The client id.
    pub client: &'a str,
    /// Its events, by arrival.
    pub events: Vec<&'a Event>,
}

/// A token issued to the client.
#[derive(Debug, Clone)]
pub(crate) struct Issued<'a> {
    pub(crate) token: &'a str,
    pub(crate) at_ms: i64,
    pub(crate) expires_ms: i64,
}

impl<'a> ClientView<'a> {
    /// The events of `client` in `log`, by arrival time.
    pub fn of(client: &'a str, log: &'a [Event]) -> Self {
        let mut events: Vec<&Event> = log
            .iter()
            .filter(|e| e.client.as_deref() == Some(client))
            .collect();
        events.sort_by_key(|e| (e.at_ms, e.seq));
        Self { client, events }
    }

    pub(crate) fn token_requests(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.events.iter().copied().filter(|e| e.is_token_request())
    }

    pub(crate) fn api_calls(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.events.iter().copied().filter(|e| e.is_api_call())
    }

    /// API calls the gateway judged (not answered by an injected fault).
    pub(crate) fn judged_calls(&self) -> impl Iterator<Item = &'a Event> + '_ {
        self.api_calls().filter(|e| !e.is_fault())
    }

    /// Tokens issued to the client, in order.
    pub(crate) fn issued(&self) -> Vec<Issued<'a>> {
        self.token_requests()
            .filter(|e| e.outcome == crate::event::EventOutcome::Accepted)
            .filter_map(|e| {
                Some(Issued {
                    token: e.token.as_deref()?,
                    at_ms: e.at_ms,
                    expires_ms: e.token_expires_ms?,
                })
            })
            .collect()
    }
}

/// One check of the catalog.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// Stable id.
    pub id: &'static str,
    /// What is checked.
    pub title: &'static str,
    /// The rule it comes from.
    pub rule: &'static str,
    run: fn(&ClientView<'_>, &CheckContext) -> Evidence,
}

const CATALOG: &[Check] = &[
    Check {
        id: "assertion.alg",
        title: "assertion signed with an allowed algorithm",
        rule: "RFC 7523 §5 (RS256), RFC 8725 §3.1; profile allowed_algs",
        run: assertion::alg,
    },
    Check {
        id: "assertion.iss",
        title: "iss is the registered client id",
        rule: "RFC 7523 §3 item 1; portal contract (client id = iss)",
        run: assertion::iss,
    },
    Check {
        id: "assertion.sub",
        title: "sub present (equal to iss when the profile says so)",
        rule: "RFC 7523 §3 item 2; profile sub_policy",
        run: assertion::sub,
    },
    Check {
        id: "assertion.aud",
        title: "aud names this gateway's token endpoint",
        rule: "RFC 7523 §3 item 3, RFC 7519 §4.1.3 (exact string)",
        run: assertion::aud,
    },
    Check {
        id: "assertion.lifetime",
        title: "exp present and exp - iat within the profile maximum",
        rule: "RFC 7523 §3 item 4; profile max_assertion_lifetime",
        run: assertion::lifetime,
    },
    Check {
        id: "assertion.iat",
        title: "iat present and close to the gateway clock",
        rule: "RFC 7523 §3 item 6; portal contract (iat); profile leeway.iat_future",
        run: assertion::iat,
    },
    Check {
        id: "assertion.jti",
        title: "a fresh jti on every token request",
        rule: "RFC 7523 §3 item 7, RFC 7519 §4.1.7; portal contract (new assertion per token request)",
        run: assertion::jti,
    },
    Check {
        id: "assertion.signature",
        title: "signed by the key of the registered certificate",
        rule: "RFC 7523 §3 item 9, RFC 8725 §3.8; portal contract (registered certificate)",
        run: assertion::signature,
    },
    Check {
        id: "token_request.form_post",
        title: "POST with a form-encoded body",
        rule: "RFC 6749 §3.2, RFC 7523 §2.1",
        run: request::form_post,
    },
    Check {
        id: "token_request.grant_type",
        title: "grant_type is urn:ietf:params:oauth:grant-type:jwt-bearer",
        rule: "RFC 7523 §2.1, RFC 7521 §4.1",
        run: request::grant_type,
    },
    Check {
        id: "token_request.single_params",
        title: "each parameter sent once",
        rule: "RFC 6749 §3.2 (parameters MUST NOT be included more than once)",
        run: request::single_params,
    },
    Check {
        id: "token_request.no_query",
        title: "nothing in the URL query",
        rule: "RFC 6749 §3.2 (entity body), §2.3.1 (credentials MUST NOT be in the URI)",
        run: request::no_query,
    },
    Check {
        id: "token_use.bearer_header",
        title: "token sent as Authorization: Bearer (not query or body)",
        rule: "RFC 6750 §2.1, §2 (one method), §2.3 (query SHOULD NOT)",
        run: usage::bearer_header,
    },
    Check {
        id: "token_use.reuse",
        title: "token reused across calls, not fetched per call",
        rule: "portal contract (token valid for expires_in); RFC 6749 §5.1",
        run: usage::reuse,
    },
    Check {
        id: "token_use.refresh_ahead",
        title: "new token requested before the current one expires",
        rule: "portal contract (re-token before expires_in runs out)",
        run: usage::refresh_ahead,
    },
    Check {
        id: "token_use.not_expired",
        title: "no API call with an expired token",
        rule: "RFC 6750 §3.1 (invalid_token); portal contract",
        run: usage::not_expired,
    },
    Check {
        id: "recovery.after_401",
        title: "after a 401: one new token request and one retry, no loop",
        rule: "portal contract (new token on any 401), RFC 6750 §3.1",
        run: recovery::after_401,
    },
    Check {
        id: "recovery.backoff",
        title: "backs off after 503/429 (honours Retry-After), no retry storm",
        rule: "RFC 9110 §10.2.3 and §15.6.4, RFC 6585 §4",
        run: recovery::backoff,
    },
];

/// Every check, in report order.
pub fn catalog() -> &'static [Check] {
    CATALOG
}

/// Runs every check on one client's events.
pub fn evaluate_client(view: &ClientView<'_>, ctx: &CheckContext) -> Vec<CheckResult> {
    CATALOG
        .iter()
        .map(|c| {
            let e = (c.run)(view, ctx);
            CheckResult {
                id: c.id.to_owned(),
                title: c.title.to_owned(),
                rule: c.rule.to_owned(),
                verdict: e.verdict.unwrap_or(Verdict::NoEvidence),
                summary: e.summary,
                counts: e.counts,
                values: e.values,
                first_ms: e.first_ms,
                last_ms: e.last_ms,
                findings: e.findings,
                findings_total: e.findings_total,
            }
        })
        .collect()
}

/// The ids of the failed checks.
pub fn failed_ids(results: &[CheckResult]) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.id.clone())
        .collect()
}

/// Why a token request was refused, for counting: the gateway's assertion reason
/// (`replay`, `claim_type`, …) when it read the assertion, else the OAuth `error` code
/// (`invalid_client`, `invalid_scope`, …), else the status. `None` when not refused.
pub fn refusal_reason(e: &Event) -> Option<String> {
    if !e.is_token_request() || e.outcome != crate::event::EventOutcome::Rejected {
        return None;
    }
    Some(
        e.reason
            .clone()
            .or_else(|| e.error.clone())
            .unwrap_or_else(|| format!("status_{}", e.status)),
    )
}

/// Refused token requests of one client, by [`refusal_reason`].
pub fn refusals(v: &ClientView<'_>) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for e in v.token_requests() {
        if let Some(r) = refusal_reason(e) {
            *m.entry(r).or_default() += 1;
        }
    }
    m
}

/// `invalid_client ×19, replay ×2`.
pub(crate) fn refusal_list(v: &ClientView<'_>) -> String {
    refusals(v)
        .iter()
        .map(|(r, n)| format!("{r} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why no assertion was read: no token request at all, or every one refused before the
/// gateway read the assertion (e.g. `invalid_client` for an `Authorization` header).
pub(crate) fn unread(v: &ClientView<'_>) -> String {
    let n = v.token_requests().filter(|e| !e.is_fault()).count();
    if n == 0 {
        return "no assertion was read (no token request reached the gateway's parser)".into();
    }
    let basic = v.token_requests().any(|e| {
        e.auth_scheme
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("basic"))
    });
    let hint = if basic {
        "; they carried Authorization: Basic, and this gateway authenticates a client by its assertion alone (RFC 7523 §3.1): drop the header"
    } else {
        ""
    };
    format!(
        "no assertion was read: the {n} token requests were refused before the gateway read the assertion ({}){hint}",
        refusal_list(v)
    )
}

/// `350 ms`, `1.25 s`, `2 min 5 s`: a duration for findings.
pub(crate) fn human_ms(ms: i64) -> String {
    let a = ms.unsigned_abs();
    let sign = if ms < 0 { "-" } else { "" };
    if a < 1_000 {
        format!("{sign}{a} ms")
    } else if a < 120_000 {
        let s = a as f64 / 1000.0;
        format!("{sign}{s:.2} s")
    } else {
        format!("{sign}{} min {} s", a / 60_000, (a % 60_000) / 1000)
    }
}

/// The median of `v` (sorted in place); `None` when empty.
pub(crate) fn median(v: &mut [i64]) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// Shortens an identifier for display (jti values are not secret, but can be long).
pub(crate) fn short(s: &str) -> String {
    if s.chars().count() <= 16 {
        s.to_owned()
    } else {
        let head: String = s.chars().take(12).collect();
        format!("{head}…")
    }
}

#[cfg(test)]
pub(crate) mod testlog;
