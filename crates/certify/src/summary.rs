//! The certification summary: every check's verdict per client, with the run's metadata and
//! the plan's timeline. It is what `summary.json` holds (schema:
//! `schemas/certify-summary.schema.json`) and what every reporter renders.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::checks::{CheckResult, ClientView, Verdict, evaluate_client, refusals};
use crate::event::{EndReason, Event, EventOutcome, Mark};
use crate::runner::Recording;

/// Version of the summary's shape; bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overall {
    /// Every check of every client passed.
    Pass,
    /// At least one check failed.
    Fail,
    /// Nothing failed, but some checks saw no evidence: not certified yet.
    Incomplete,
}

impl Overall {
    /// `pass`, `fail` or `incomplete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Incomplete => "incomplete",
        }
    }
}

/// One phase as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseInfo {
    /// Name.
    pub name: String,
    /// Length, ms.
    pub duration_ms: u64,
    /// Token lifetime in force, ms (`None`: the baseline).
    pub token_lifetime_ms: Option<u64>,
    /// Whether tokens are revoked at its start.
    pub revoke: bool,
    /// Injected token-endpoint status (503/429), if any.
    pub token_fault_status: Option<u16>,
    /// Its `Retry-After`, seconds.
    pub retry_after_s: Option<u64>,
    /// Added latency, ms.
    pub latency_ms: Option<u64>,
}

/// The plan as the summary shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanInfo {
    /// Name.
    pub name: String,
    /// Where it came from.
    pub origin: String,
    /// What it exercises.
    pub description: Option<String>,
    /// Baseline token lifetime, ms.
    pub token_lifetime_ms: Option<u64>,
    /// The phases.
    pub phases: Vec<PhaseInfo>,
}

/// Counts of verdicts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// Passed checks.
    pub pass: u64,
    /// Failed checks.
    pub fail: u64,
    /// Checks without evidence.
    pub no_evidence: u64,
}

impl Totals {
    fn add(&mut self, v: Verdict) {
        match v {
            Verdict::Pass => self.pass += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::NoEvidence => self.no_evidence += 1,
        }
    }

    fn overall(self) -> Overall {
        if self.fail > 0 {
            Overall::Fail
        } else if self.no_evidence > 0 || self.pass == 0 {
            Overall::Incomplete
        } else {
            Overall::Pass
        }
    }
}

/// What became of the token requests that asked for one `scope` value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeOutcome {
    /// The `scope` parameter as sent.
    pub scope: String,
    /// Token requests with it that got a token.
    pub granted: u64,
    /// Token requests with it that were refused, by reason (`invalid_scope`, …).
    pub refused: BTreeMap<String, u64>,
}

impl Totals {
    /// `1 check failed, 15 without evidence`: the counts behind a verdict, in words.
    pub fn describe(self) -> String {
        let checks = |n: u64| if n == 1 { "check" } else { "checks" };
        let mut parts = Vec::new();
        if self.fail > 0 {
            parts.push(format!("{} {} failed", self.fail, checks(self.fail)));
        }
        if self.no_evidence > 0 {
            parts.push(format!("{} without evidence", self.no_evidence));
        }
        if parts.is_empty() {
            parts.push(format!("{} {} passed", self.pass, checks(self.pass)));
        }
        parts.join(", ")
    }
}

/// `invalid_client ×19, replay ×2`; `none` when empty.
pub fn reasons_text(m: &BTreeMap<String, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(r, n)| format!("{r} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One client's certification.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    /// The client id.
    pub client_id: String,
    /// Its verdict.
    pub verdict: Overall,
    /// Verdict counts.
    pub totals: Totals,
    /// Token requests seen (faults included).
    pub token_requests: u64,
    /// Tokens issued.
    pub tokens_issued: u64,
    /// API calls seen.
    pub api_calls: u64,
    /// Requests answered by an injected fault.
    pub faults: u64,
    /// Token requests refused, by reason: the gateway's assertion reason (`replay`,
    /// `claim_type`, …) when it read the assertion, else the OAuth error (`invalid_client`,
    /// `invalid_scope`, …).
    #[serde(default)]
    pub refusals: BTreeMap<String, u64>,
    /// Token requests that asked for a scope, by scope value, and what became of them.
    #[serde(default)]
    pub scopes: Vec<ScopeOutcome>,
    /// First request (gateway clock, ms).
    pub first_ms: Option<i64>,
    /// Last request.
    pub last_ms: Option<i64>,
    /// The checks, in catalog order.
    pub checks: Vec<CheckResult>,
}

/// The whole certification summary (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CertifySummary {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `bearing-certify <version>`.
    pub tool: String,
    /// The plan.
    pub plan: PlanInfo,
    /// The gateway profile.
    pub profile: String,
    /// The gateway's base URL.
    pub base_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The `aud` values the gateway accepted.
    pub audiences: Vec<String>,
    /// When certification started (UTC, RFC 3339).
    pub started_at: String,
    /// When the plan started (gateway clock, ms since the epoch).
    pub plan_started_ms: Option<i64>,
    /// When the run ended (gateway clock, ms since the epoch).
    pub ended_ms: i64,
    /// Why it ended: `plan-complete`, `duration`, `interrupted`, `no-client`.
    pub ended_by: EndReason,
    /// What the plan did when.
    pub timeline: Vec<Mark>,
    /// Per client.
    pub clients: Vec<ClientReport>,
    /// Requests that could not be attributed to a client.
    pub unattributed_events: u64,
    /// Verdict counts over every client.
    pub totals: Totals,
    /// The overall verdict.
    pub verdict: Overall,
    /// `--expect-fail FILE` as applied to this run (issue 17).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_failures: Option<bearing_report::expect::ExpectReport>,
}

fn ms(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl CertifySummary {
    /// Evaluates every check for every client of the recording.
    pub fn from_recording(rec: &Recording) -> Self {
        let mut ids: BTreeSet<String> = rec.clients.iter().cloned().collect();
        ids.extend(rec.events.iter().filter_map(|e| e.client.clone()));
        let mut totals = Totals::default();
        let clients: Vec<ClientReport> = ids
            .iter()
            .map(|id| {
                let r = client_report(id, &rec.events, rec);
                totals.pass += r.totals.pass;
                totals.fail += r.totals.fail;
                totals.no_evidence += r.totals.no_evidence;
                r
            })
            .collect();
        let p = &rec.plan;
        Self {
            schema_version: SCHEMA_VERSION,
            tool: concat!("bearing-certify ", env!("CARGO_PKG_VERSION")).to_owned(),
            plan: PlanInfo {
                name: p.name.clone(),
                origin: p.origin.clone(),
                description: p.description.clone(),
                token_lifetime_ms: p.token_lifetime.map(ms),
                phases: p
                    .phases
                    .iter()
                    .map(|ph| PhaseInfo {
                        name: ph.name.clone(),
                        duration_ms: ms(ph.duration),
                        token_lifetime_ms: ph.token_lifetime.map(ms),
                        revoke: ph.revoke,
                        token_fault_status: ph.token_fault.map(|f| f.status),
                        retry_after_s: ph.token_fault.map(|f| f.retry_after.as_secs()),
                        latency_ms: ph.latency.map(ms),
                    })
                    .collect(),
            },
            profile: rec.profile.clone(),
            base_url: rec.base_url.clone(),
            token_url: rec.token_url.clone(),
            audiences: rec.context.audiences.clone(),
            started_at: rfc3339(rec.started_at),
            plan_started_ms: rec.plan_started_ms,
            ended_ms: rec.ended_ms,
            ended_by: rec.ended_by,
            timeline: rec.marks.clone(),
            unattributed_events: rec.events.iter().filter(|e| e.client.is_none()).count() as u64,
            verdict: if clients.is_empty() {
                Overall::Incomplete
            } else {
                totals.overall()
            },
            totals,
            clients,
            expected_failures: None,
        }
    }

    /// Applies an `--expect-fail` list of check ids: a check failed when it failed or saw
    /// no evidence for any client, passed when it passed for every client.
    pub fn apply_expected(&mut self, list: &bearing_report::expect::ExpectList, today: &str) {
        use bearing_report::expect::Seen;
        let report = list.apply(
            |id| {
                let verdicts: Vec<Verdict> = self
                    .clients
                    .iter()
                    .filter_map(|c| c.checks.iter().find(|r| r.id == id).map(|r| r.verdict))
                    .collect();
                if verdicts.is_empty() {
                    Seen::NotRun
                } else if verdicts.iter().all(|v| *v == Verdict::Pass) {
                    Seen::Passed
                } else {
                    Seen::Failed
                }
            },
            today,
        );
        self.expected_failures = Some(report);
    }

    /// The `--expect-fail` entry that makes check `id`'s failure an expected one.
    pub fn expected_failure(&self, id: &str) -> Option<&bearing_report::expect::Applied> {
        self.expected_failures.as_ref()?.expected(id)
    }

    /// Whether every check passed for every client, failures listed in `--expect-fail`
    /// aside (and no listed check now passes): what the exit code says.
    pub fn is_certified_with_expected(&self) -> bool {
        let Some(x) = &self.expected_failures else {
            return self.is_certified();
        };
        !self.clients.is_empty()
            && x.stale().next().is_none()
            && self.clients.iter().all(|c| {
                c.checks
                    .iter()
                    .all(|r| r.verdict == Verdict::Pass || x.expected(&r.id).is_some())
            })
    }

    /// The client report of `id`.
    pub fn client(&self, id: &str) -> Option<&ClientReport> {
        self.clients.iter().find(|c| c.client_id == id)
    }

    /// Whether every check of every client passed.
    pub fn is_certified(&self) -> bool {
        self.verdict == Overall::Pass
    }
}

fn client_report(id: &str, events: &[Event], rec: &Recording) -> ClientReport {
    let view = ClientView::of(id, events);
    let checks = evaluate_client(&view, &rec.context);
    let mut totals = Totals::default();
    for c in &checks {
        totals.add(c.verdict);
    }
    ClientReport {
        client_id: id.to_owned(),
        verdict: totals.overall(),
        totals,
        token_requests: view.events.iter().filter(|e| e.is_token_request()).count() as u64,
        tokens_issued: view
            .events
            .iter()
            .filter(|e| e.is_token_request() && e.outcome == EventOutcome::Accepted)
            .count() as u64,
        api_calls: view.events.iter().filter(|e| e.is_api_call()).count() as u64,
        faults: view.events.iter().filter(|e| e.is_fault()).count() as u64,
        refusals: refusals(&view),
        scopes: scope_outcomes(&view),
        first_ms: view.events.first().map(|e| e.at_ms),
        last_ms: view.events.last().map(|e| e.at_ms),
        checks,
    }
}

fn scope_outcomes(view: &ClientView<'_>) -> Vec<ScopeOutcome> {
    let mut by: BTreeMap<String, ScopeOutcome> = BTreeMap::new();
    for e in view.token_requests() {
        let Some(scope) = e.scope.as_deref() else {
            continue;
        };
        let o = by.entry(scope.to_owned()).or_insert_with(|| ScopeOutcome {
            scope: scope.to_owned(),
            granted: 0,
            refused: BTreeMap::new(),
        });
        if e.outcome == EventOutcome::Accepted {
            o.granted += 1;
        } else if let Some(r) = crate::checks::refusal_reason(e) {
            *o.refused.entry(r).or_default() += 1;
        }
    }
    by.into_values().collect()
}

/// `2026-11-28T04:22:07.123Z`.
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// A gateway-clock timestamp (ms since the epoch) as RFC 3339 with milliseconds.
pub fn rfc3339_ms(at_ms: i64) -> String {
    let t =
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(u64::try_from(at_ms).unwrap_or(0));
    rfc3339(t)
}
