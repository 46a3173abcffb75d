//! Certification plans (`scenarios/certify/*.yaml`): the schedule `bearing certify` drives a
//! partner's client through. A plan is a list of phases; each phase sets, for its duration,
//! the access-token lifetime (short lifetimes make the client refresh), whether to revoke
//! the client's tokens at its start (the client must get a 401 and recover), an injected 503
//! or 429 with `Retry-After` on the token endpoint (the client must back off), and added
//! latency on every route.
//!
//! ```yaml
//! name: smoke
//! description: a few seconds of everything
//! start: first-request        # the schedule starts at the client's first request (or: immediately)
//! token_lifetime: 10s         # baseline lifetime of access tokens (default: the profile's)
//! wait_for_client: 5m         # give up when no client came by then
//! scopes: [read]               # scopes every registered client may request (default: none)
//! settle: 1s                  # observation at the baseline after the last phase
//! phases:
//!   - name: short-lifetime
//!     duration: 3s
//!     token_lifetime: 1s      # whole seconds, >= 1 s (expires_in is whole seconds)
//!   - name: revoke
//!     duration: 1s
//!     revoke: true
//!   - name: token-503
//!     duration: 800ms
//!     revoke: true
//!     token_fault: { status: 503, retry_after: 1s }   # probability defaults to 1
//!   - name: slow
//!     duration: 2s
//!     latency: 300ms
//! ```
//!
//! The first phase's settings are in force while the plan waits for the client, so the
//! client's very first token already has that phase's lifetime. Parsing is strict
//! (`deny_unknown_fields`) and every error names `file:line:col`.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_saphyr::Spanned;

use crate::error::{Error, Result};

/// The bundled plans, by name.
const BUILTIN: [(&str, &str); 2] = [
    (
        "default",
        include_str!("../../../scenarios/certify/default.yaml"),
    ),
    (
        "smoke",
        include_str!("../../../scenarios/certify/smoke.yaml"),
    ),
];

/// When the schedule starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Start {
    /// At the first request of a registered client (the partner starts their client after
    /// `bearing certify`).
    #[default]
    FirstRequest,
    /// As soon as the gateway listens.
    Immediately,
}

/// A certification plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Short name, shown in reports.
    pub name: String,
    /// What the plan exercises.
    pub description: Option<String>,
    /// When the schedule starts. Defaults to the first request.
    pub start: Start,
    /// Baseline access-token lifetime; `None` keeps the gateway's (profile's).
    pub token_lifetime: Option<Duration>,
    /// How long to wait for the client's first request. Defaults to 5 minutes.
    pub wait_for_client: Duration,
    /// Observation at the baseline after the last phase. Defaults to 0.
    pub settle: Duration,
    /// The phases, in order.
    pub phases: Vec<Phase>,
    /// Scopes every registered client may request (`scopes: [read, write]`), added to those
    /// registered per client (`--client-scopes`). Empty: only the per-client ones.
    pub scopes: Vec<String>,
    /// Where the plan came from (file name or `builtin:NAME`).
    pub origin: String,
}

/// One phase of a plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    /// Unique name within the plan.
    pub name: String,
    /// How long it lasts (> 0).
    pub duration: Duration,
    /// Lifetime of tokens issued during the phase; `None` is the plan's baseline.
    pub token_lifetime: Option<Duration>,
    /// Revoke the watched clients' tokens at the phase start.
    pub revoke: bool,
    /// An injected error on the token endpoint during the phase.
    pub token_fault: Option<TokenFault>,
    /// Added latency on every route during the phase.
    pub latency: Option<Duration>,
}

/// A transient error answered by the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFault {
    /// 503 Service Unavailable or 429 Too Many Requests.
    #[serde(deserialize_with = "fault_status")]
    pub status: u16,
    /// The `Retry-After` sent (whole seconds, >= 1 s). Defaults to 1 s.
    #[serde(default = "one_second", deserialize_with = "whole_seconds")]
    pub retry_after: Duration,
    /// Share of token requests answered with the error, in [0, 1]. Defaults to 1.
    #[serde(default = "one", deserialize_with = "probability")]
    pub probability: f64,
}

impl Plan {
    /// A bundled plan (`default`, `smoke`).
    pub fn builtin(name: &str) -> Option<Self> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Self::from_yaml_str(text, &format!("builtin:{name}")).ok()
    }

    /// Names of the bundled plans.
    pub fn builtin_names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// A bundled plan by name, else a plan file.
    ///
    /// # Errors
    /// As [`Plan::from_file`].
    pub fn resolve(name_or_path: &str) -> Result<Self> {
        match Self::builtin(name_or_path) {
            Some(p) => Ok(p),
            None if !Path::new(name_or_path).exists() => Err(Error::Plan(format!(
                "{name_or_path:?}: not one of the bundled plans ({}) nor a file",
                BUILTIN.map(|(n, _)| n).join(", ")
            ))),
            None => Self::from_file(Path::new(name_or_path)),
        }
    }

    /// Reads a plan file.
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::Plan`] naming `file:line:col` when invalid.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses and validates plan YAML; `origin` names the source in errors.
    ///
    /// # Errors
    /// [`Error::Plan`] with `origin:line:col` and what is wrong.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self> {
        let raw: RawPlan =
            bearing_auth::yaml::from_str(text, origin).map_err(|e| Error::Plan(e.to_string()))?;
        if raw.phases.value.is_empty() {
            return Err(Error::Plan(format!(
                "{}: phases: a plan needs at least one phase",
                bearing_auth::yaml::at(origin, &raw.phases.referenced)
            )));
        }
        let mut phases: Vec<Phase> = Vec::with_capacity(raw.phases.value.len());
        for p in raw.phases.value {
            if phases.iter().any(|q| q.name == p.name.value) {
                return Err(Error::Plan(format!(
                    "{}: phase name {:?} is used twice",
                    bearing_auth::yaml::at(origin, &p.name.referenced),
                    p.name.value
                )));
            }
            phases.push(Phase {
                name: p.name.value,
                duration: p.duration,
                token_lifetime: p.token_lifetime,
                revoke: p.revoke,
                token_fault: p.token_fault,
                latency: p.latency,
            });
        }
        Ok(Self {
            name: raw.name,
            description: raw.description,
            start: raw.start,
            token_lifetime: raw.token_lifetime,
            wait_for_client: raw.wait_for_client,
            settle: raw.settle,
            phases,
            scopes: raw.scopes,
            origin: origin.to_owned(),
        })
    }

    /// The length of the schedule: every phase plus the settle time.
    pub fn length(&self) -> Duration {
        self.phases.iter().map(|p| p.duration).sum::<Duration>() + self.settle
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    start: Start,
    #[serde(default, deserialize_with = "opt_lifetime")]
    token_lifetime: Option<Duration>,
    #[serde(default = "five_minutes", deserialize_with = "positive")]
    wait_for_client: Duration,
    #[serde(default, deserialize_with = "any_duration")]
    settle: Duration,
    phases: Spanned<Vec<RawPhase>>,
    #[serde(default)]
    scopes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhase {
    name: Spanned<String>,
    #[serde(deserialize_with = "positive")]
    duration: Duration,
    #[serde(default, deserialize_with = "opt_lifetime")]
    token_lifetime: Option<Duration>,
    #[serde(default)]
    revoke: bool,
    #[serde(default)]
    token_fault: Option<TokenFault>,
    #[serde(default, deserialize_with = "opt_positive")]
    latency: Option<Duration>,
}

fn five_minutes() -> Duration {
    Duration::from_secs(300)
}

fn one_second() -> Duration {
    Duration::from_secs(1)
}

fn one() -> f64 {
    1.0
}

fn parse(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim())
        .map_err(|_| format!("{s:?} is not a duration like 30s or 500ms"))
}

fn any_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    parse(&s).map_err(serde::de::Error::custom)
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = any_duration(d)?;
    if v.is_zero() {
        return Err(serde::de::Error::custom("duration must be greater than 0"));
    }
    Ok(v)
}

fn opt_positive<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    positive(d).map(Some)
}

fn whole_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let v = any_duration(d)?;
    if v.subsec_nanos() != 0 || v.as_secs() == 0 {
        return Err(serde::de::Error::custom(
            "must be whole seconds, at least 1s (sent as delta-seconds)",
        ));
    }
    Ok(v)
}

fn opt_lifetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    whole_seconds(d).map(Some)
}

fn fault_status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    let v = u16::deserialize(d)?;
    if v != 503 && v != 429 {
        return Err(serde::de::Error::custom(format!(
            "status {v}: only 503 and 429 are transient"
        )));
    }
    Ok(v)
}

fn probability<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if !(0.0..=1.0).contains(&v) {
        return Err(serde::de::Error::custom(format!(
            "probability {v} is not in [0, 1]"
        )));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "name: t\nphases:\n  - name: a\n    duration: 1s\n    token_lifetime: 1s\n  - name: b\n    duration: 500ms\n    revoke: true\n    token_fault: { status: 429, retry_after: 2s }\n";

    // A plan parses with its defaults; its length is the phases plus the settle.
    #[test]
    fn parses_with_defaults() {
        let p = Plan::from_yaml_str(GOOD, "t.yaml").expect("plan");
        assert_eq!(p.start, Start::FirstRequest);
        assert_eq!(p.wait_for_client, Duration::from_secs(300));
        assert_eq!(p.phases[0].token_lifetime, Some(Duration::from_secs(1)));
        let f = p.phases[1].token_fault.expect("fault");
        assert_eq!(
            (f.status, f.retry_after, f.probability),
            (429, Duration::from_secs(2), 1.0)
        );
        assert_eq!(p.length(), Duration::from_millis(1500));
    }

    // Every bundled plan parses.
    #[test]
    fn builtins_parse() {
        for n in Plan::builtin_names() {
            let (_, text) = BUILTIN.iter().find(|(b, _)| *b == n).expect("listed");
            Plan::from_yaml_str(text, n).unwrap_or_else(|e| panic!("{n}: {e}"));
        }
    }

    // Errors point at file:line:col and name the problem.
    #[test]
    fn errors_are_located() {
        let cases = [
            (
                "name: t\nphases:\n  - name: a\n    duration: 1s\n    colour: red\n",
                "t.yaml:5:",
                "colour",
            ),
            (
                "name: t\nphases:\n  - name: a\n    duration: 0s\n",
                "t.yaml:4:",
                "greater than 0",
            ),
            (
                "name: t\nphases:\n  - name: a\n    duration: 1s\n    token_fault: { status: 500 }\n",
                "t.yaml:5:",
                "500",
            ),
            (
                "name: t\nphases:\n  - name: a\n    duration: 1s\n    token_lifetime: 1500ms\n",
                "t.yaml:5:",
                "whole seconds",
            ),
            (
                "name: t\nphases:\n  - name: a\n    duration: 1s\n  - name: a\n    duration: 1s\n",
                "t.yaml:5:",
                "twice",
            ),
            ("name: t\nphases: []\n", "t.yaml:2:", "at least one phase"),
            (
                "name: t\nphases:\n  - name: a\n    duration: soon\n",
                "t.yaml:4:",
                "not a duration",
            ),
        ];
        for (yaml, at, what) in cases {
            let e = Plan::from_yaml_str(yaml, "t.yaml")
                .expect_err(yaml)
                .to_string();
            assert!(e.contains(at) && e.contains(what), "{yaml:?} gave {e}");
        }
    }
}
