//! Load profiles (`scenarios/load/*.yaml`): what to run, how hard, for how long, and what
//! counts as passing. Parsed with serde-saphyr through [`crate::yaml`] (unknown fields
//! refused, errors at `file:line:col`); values YAML cannot type are checked by
//! [`LoadProfile::validate`], whose errors name the field.
//!
//! ```yaml
//! name: api-steady
//! duration: 30s
//! users: 32                    # concurrent users (goose users); with `rate`, the most in flight
//! rate: 2000/s                 # open model: arrivals per second (omit for closed model)
//! stages:                      # or ramps, k6-style: each ramps linearly to its rate
//!   - { duration: 10s, rate: 500/s }
//!   - { duration: 20s, rate: 2000/s }
//! thresholds: ["p99 < 200ms", "error_rate < 0.1%", "rate >= 1000/s"]
//! scenarios:
//!   - { name: api, kind: api, weight: 1, api: inventory }
//! ```

use std::path::Path;
use std::time::Duration;

use bearing_auth::profile::{duration, opt_duration};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::kind::KindOption;
pub use crate::kind::ScenarioKind;
use crate::threshold::{ScopedThresholds, Threshold};

/// Longest run a profile may ask for: every load loop is bounded in time.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A rate in requests per second; written `2000/s`, `60/m` or a bare number.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

impl Serialize for Rate {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/s", self.0))
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a rate such as 2000/s, 60/m or 500")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> std::result::Result<Rate, E> {
                Ok(Rate(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> std::result::Result<Rate, E> {
                if v < 0 {
                    return Err(E::custom(format!("rate {v} is negative")));
                }
                Ok(Rate(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> std::result::Result<Rate, E> {
                if !(v.is_finite() && v >= 0.0) {
                    return Err(E::custom(format!("rate {v} is not a positive number")));
                }
                Ok(Rate(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Rate, E> {
                crate::threshold::parse_per_second(v)
                    .map(Rate)
                    .ok_or_else(|| {
                        E::custom(format!(
                            "invalid rate {v:?}: expected e.g. 2000/s, 60/m or 500"
                        ))
                    })
            }
        }
        d.deserialize_any(V)
    }
}

/// One scenario of a profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioSpec {
    /// Unique name; used in reports and file names.
    pub name: String,
    /// What it does.
    pub kind: ScenarioKind,
    /// Share of users (and of the arrival rate). Defaults to 1.
    #[serde(default = "one")]
    pub weight: usize,
    /// `api`, `mixed`, `refresh-storm`: which API of the target to call (defaults to its first).
    #[serde(default)]
    pub api: Option<String>,
    /// `mixed`: API calls per second per user. Required for `mixed`.
    #[serde(default)]
    pub calls_per_second: Option<f64>,
    /// `refresh-storm`: when to revoke every token, from the start. Defaults to half the run.
    #[serde(default, with = "opt_duration")]
    pub revoke_at: Option<Duration>,
    /// `token`: take assertions from the pool minted ahead on all cores (default `true`);
    /// `false` signs inline, which caps a generator at its own signing rate.
    #[serde(default)]
    pub pool: Option<bool>,
    /// Thresholds on this scenario alone.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// `token`, `api`, `mixed`, `refresh-storm`: how each user holds its connection (issue
    /// 15) — to the token endpoint for `token`, to the API otherwise: `keep-alive` (the
    /// default) or `new` (a new TCP + TLS connection per request, as many partner clients
    /// do for their token request).
    #[serde(default, skip_serializing_if = "ConnectionPolicy::is_keep_alive")]
    pub connection: ConnectionPolicy,
    /// `token`, `api`, `mixed`, `refresh-storm`: TLS options of those connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ScenarioTls>,
}

impl ScopedThresholds for LoadProfile {
    fn scoped_thresholds(&self) -> Vec<(&Threshold, &str)> {
        let run = self.thresholds.iter().map(|t| (t, "run"));
        let scenarios = self
            .scenarios
            .iter()
            .flat_map(|s| s.thresholds.iter().map(move |t| (t, s.name.as_str())));
        run.chain(scenarios).collect()
    }
}

impl ScenarioSpec {
    /// Whether this scenario sets `option` (away from its default).
    fn sets(&self, option: KindOption) -> bool {
        match option {
            KindOption::Api => self.api.is_some(),
            KindOption::CallsPerSecond => self.calls_per_second.is_some(),
            KindOption::RevokeAt => self.revoke_at.is_some(),
            KindOption::Pool => self.pool.is_some(),
            KindOption::Connection => self.connection != ConnectionPolicy::KeepAlive,
            KindOption::Tls => self.tls.is_some(),
        }
    }
}

fn one() -> usize {
    1
}

/// How a user holds its API connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConnectionPolicy {
    /// One connection per user, reused while the server keeps it open.
    #[default]
    KeepAlive,
    /// A new TCP (+ TLS) connection for every request, closed after the response.
    New,
}

impl ConnectionPolicy {
    fn is_keep_alive(&self) -> bool {
        *self == Self::KeepAlive
    }
}

/// TLS options of a scenario's API connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioTls {
    /// Resume TLS sessions on new connections (tickets / session ids, rustls' in-memory
    /// cache). Defaults to true; `false` makes every new connection a full handshake.
    #[serde(default = "yes")]
    pub resumption: bool,
}

fn yes() -> bool {
    true
}

/// One stage of an arrival-rate ramp: from the previous stage's rate to `rate` in `duration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// How long the ramp takes.
    #[serde(with = "duration")]
    pub duration: Duration,
    /// The rate reached at its end.
    pub rate: Rate,
}

/// The assertion pool of `token` scenarios.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoolSpec {
    /// Assertions held ready. Defaults to 20,000 (or the run's planned token requests, if
    /// fewer).
    pub capacity: usize,
    /// Signing threads; defaults to every core.
    pub workers: Option<usize>,
    /// Fill the pool before the clock starts (up to `capacity`), so a short run's offered
    /// load is not limited by signing. Defaults to true.
    pub prefill: bool,
    /// Keep minting during the run as assertions are used. Defaults to true. `false` (with
    /// `prefill`) mints everything before the clock starts and none during the run, so no
    /// core signs while the run measures: for a gateway on the same machine, or to measure
    /// the offered rate alone. A run that outlasts the pool counts the rest as errors.
    pub refill: bool,
}

impl Default for PoolSpec {
    fn default() -> Self {
        Self {
            capacity: 20_000,
            workers: None,
            prefill: true,
            refill: true,
        }
    }
}

/// How `--find-capacity` steps the arrival rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CapacitySpec {
    /// First rate tried. Defaults to 100/s.
    pub start: Rate,
    /// Added to the rate after each passing step (unless `factor` is given). Defaults to 100/s.
    pub step: Rate,
    /// Multiply the rate by this after each passing step instead of adding `step` (when > 1).
    pub factor: Option<f64>,
    /// Highest rate tried. Defaults to 50,000/s.
    pub max: Rate,
    /// How long each step runs. Defaults to 5 s.
    #[serde(with = "duration")]
    pub step_duration: Duration,
}

impl Default for CapacitySpec {
    fn default() -> Self {
        Self {
            start: Rate(100.0),
            step: Rate(100.0),
            factor: None,
            max: Rate(50_000.0),
            step_duration: Duration::from_secs(5),
        }
    }
}

/// A load profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadProfile {
    /// Name used in report folders; defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    /// What the profile measures, for people.
    #[serde(default)]
    pub description: Option<String>,
    /// How long the run lasts. With `stages`, defaults to their sum.
    #[serde(default, with = "opt_duration")]
    pub duration: Option<Duration>,
    /// Concurrent users (goose users). With a rate, the most requests in flight. Defaults to 16.
    #[serde(default = "default_users")]
    pub users: usize,
    /// Partner fleet: this many distinct identities (client id, key, certificate, `jti`
    /// space, token manager); users are assigned to partners round-robin. Defaults to 1 (the
    /// target's own identity). Against the embedded sandbox they are generated and
    /// registered; a target file names them (`identities:` or `identities_dir:`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partners: Option<usize>,
    /// Start the users evenly over this time (closed model ramp). Defaults to all at once.
    #[serde(default, with = "opt_duration")]
    pub ramp_users: Option<Duration>,
    /// Open model: arrivals per second across all scenarios (split by weight).
    #[serde(default)]
    pub rate: Option<Rate>,
    /// Open model with ramps: rate at time 0 for `stages` (defaults to 0).
    #[serde(default)]
    pub start_rate: Option<Rate>,
    /// Open model with ramps, k6-style.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// Upper bound on attempts per scenario (every loop is bounded in count and time).
    #[serde(default)]
    pub max_requests: Option<u64>,
    /// Per-request timeout. Defaults to 30 s.
    #[serde(default, with = "opt_duration")]
    pub timeout: Option<Duration>,
    /// Thresholds on the whole run (each scenario's main phase merged).
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// The scenarios.
    pub scenarios: Vec<ScenarioSpec>,
    /// The assertion pool of `token` scenarios.
    #[serde(default)]
    pub pool: PoolSpec,
    /// `--find-capacity` settings (required by `--find-capacity`).
    #[serde(default)]
    pub capacity: Option<CapacitySpec>,
    /// Accept a run whose generator offered less than 95% of the asked arrivals (the results
    /// then describe the offered rate). Default false: such a run fails.
    #[serde(default)]
    pub allow_underrun: bool,
}

/// The most users one `bearing load` process accepts: each is a task with its own connection
/// and buffers, and users are allocated up front (10⁹ users asked for 112 GB).
pub const MAX_USERS: usize = 100_000;

/// The most partners one profile may ask for (the per-partner report keeps top-k tables, so
/// its size stays bounded; each partner keeps one small latency histogram in memory).
pub const MAX_PARTNERS: usize = 10_000;

fn default_users() -> usize {
    16
}

/// The load profiles shipped in `scenarios/load/`, by name: `bearing load smoke` runs
/// `scenarios/load/smoke.yaml` from any folder, as `bearing conform` takes suite names.
pub const BUNDLED: [(&str, &str); 9] = [
    ("api", include_str!("../../../scenarios/load/api.yaml")),
    ("demo", include_str!("../../../scenarios/load/demo.yaml")),
    ("mixed", include_str!("../../../scenarios/load/mixed.yaml")),
    (
        "refresh-storm",
        include_str!("../../../scenarios/load/refresh-storm.yaml"),
    ),
    ("sign", include_str!("../../../scenarios/load/sign.yaml")),
    ("smoke", include_str!("../../../scenarios/load/smoke.yaml")),
    (
        "token-burst",
        include_str!("../../../scenarios/load/token-burst.yaml"),
    ),
    ("token", include_str!("../../../scenarios/load/token.yaml")),
    (
        "token-handshakes",
        include_str!("../../../scenarios/load/token-handshakes.yaml"),
    ),
];

impl LoadProfile {
    /// A bundled profile by name (see [`BUNDLED`]); `None` for an unknown name.
    ///
    /// # Errors
    /// [`Error::Profile`] if the bundled text is malformed (a test keeps them valid).
    pub fn bundled(name: &str) -> Option<Result<Self>> {
        let (n, text) = BUNDLED.iter().find(|(n, _)| *n == name)?;
        Some(
            Self::from_yaml(text, &format!("bundled profile {n}")).map(|mut p| {
                if p.name.is_none() {
                    p.name = Some((*n).to_owned());
                }
                p
            }),
        )
    }

    /// Reads and validates a profile file; the name defaults to the file stem.
    ///
    /// # Errors
    /// [`Error::Profile`] naming `file:line:col` or the field; [`Error::Io`].
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut p = Self::from_yaml(&text, &path.display().to_string())?;
        if p.name.is_none() {
            p.name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
        }
        Ok(p)
    }

    /// Parses and validates profile text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`Error::Profile`] naming `origin:line:col` or the field.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Self> {
        let p: Self = bearing_auth::yaml::from_str(text, origin)
            .map_err(|e| Error::Profile(e.to_string()))?;
        p.validate()
            .map_err(|m| Error::Profile(format!("{origin}: {m}")))?;
        Ok(p)
    }

    /// The profile's name (or `load`).
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("load")
    }

    /// How long the run lasts.
    pub fn run_duration(&self) -> Duration {
        self.duration
            .unwrap_or_else(|| self.stages.iter().map(|s| s.duration).sum())
    }

    /// Whether arrivals are paced (open model).
    pub fn is_open(&self) -> bool {
        self.rate.is_some() || !self.stages.is_empty()
    }

    /// Checks what YAML cannot type; the message names the field.
    ///
    /// # Errors
    /// A message naming the field at fault.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.scenarios.is_empty() {
            return Err("scenarios: at least one scenario is needed".into());
        }
        let d = self.run_duration();
        if self.duration.is_none() && self.stages.is_empty() {
            return Err("duration: missing (give duration, or stages)".into());
        }
        if d.is_zero() || d > MAX_DURATION {
            return Err(format!(
                "duration: {} must be > 0 and at most 24h",
                fmt_d(d)
            ));
        }
        if self.users == 0 {
            return Err("users: must be at least 1".into());
        }
        if self.users > MAX_USERS {
            return Err(format!(
                "users: {} is more than the {MAX_USERS} one generator can hold \
                 (each user is a task with its own connection); split the run with --shard",
                self.users
            ));
        }
        if self.users < self.scenarios.len() {
            return Err(format!(
                "users: {} users cannot run {} scenarios (one user each at least)",
                self.users,
                self.scenarios.len()
            ));
        }
        if let Some(n) = self.partners {
            if n == 0 || n > MAX_PARTNERS {
                return Err(format!(
                    "partners: {n} must be at least 1 and at most {MAX_PARTNERS}"
                ));
            }
            if self.users < n {
                return Err(format!(
                    "partners: {n} partners need at least as many users (users: {}); \
                     each user runs as one partner",
                    self.users
                ));
            }
        }
        if self.rate.is_some() && !self.stages.is_empty() {
            return Err("rate: give either rate or stages, not both".into());
        }
        if let Some(r) = self.rate
            && r.0 <= 0.0
        {
            return Err("rate: must be > 0 (omit it for the closed model)".into());
        }
        if self.start_rate.is_some() && self.stages.is_empty() {
            return Err("start_rate: only applies with stages".into());
        }
        for (i, s) in self.stages.iter().enumerate() {
            if s.duration.is_zero() {
                return Err(format!("stages[{i}].duration: must be > 0"));
            }
        }
        if !self.stages.is_empty() && self.stages.iter().all(|s| s.rate.0 == 0.0) {
            return Err("stages: every stage has rate 0".into());
        }
        if self.max_requests == Some(0) {
            return Err("max_requests: must be at least 1".into());
        }
        let mut names = std::collections::HashSet::new();
        for (i, s) in self.scenarios.iter().enumerate() {
            let at = format!("scenarios[{i}] ({})", s.name);
            if s.name.trim().is_empty()
                || !s
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
            {
                return Err(format!(
                    "scenarios[{i}].name: {:?} must be letters, digits, - or _",
                    s.name
                ));
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("{at}.name: appears twice"));
            }
            if s.weight == 0 {
                return Err(format!("{at}.weight: must be at least 1"));
            }
            let k = s.kind;
            for option in KindOption::ALL {
                if s.sets(option) && !k.reads(option) {
                    return Err(format!(
                        "{at}.{}: only applies to {} scenarios, not {}",
                        option.field(),
                        ScenarioKind::readers_of(option),
                        k.name()
                    ));
                }
            }
            if k.traits().paced_per_user {
                match s.calls_per_second {
                    Some(c) if c > 0.0 && c.is_finite() => {}
                    Some(c) => return Err(format!("{at}.calls_per_second: {c} must be > 0")),
                    None => {
                        return Err(format!(
                            "{at}.calls_per_second: required for {} scenarios",
                            k.name()
                        ));
                    }
                }
                if self.is_open() {
                    return Err(format!(
                        "{at}: {} scenarios pace each user themselves; remove rate/stages",
                        k.name()
                    ));
                }
            }
            if let Some(r) = s.revoke_at
                && r >= d
            {
                return Err(format!(
                    "{at}.revoke_at: {} is not before the end of the run ({})",
                    fmt_d(r),
                    fmt_d(d)
                ));
            }
        }
        let default_capacity = CapacitySpec::default();
        let c = self.capacity.as_ref().unwrap_or(&default_capacity);
        if c.start.0 <= 0.0 || c.max.0 < c.start.0 {
            return Err("capacity: need 0 < start <= max".into());
        }
        if c.factor.is_none_or(|f| f <= 1.0) && c.step.0 <= 0.0 {
            return Err("capacity.step: must be > 0 (or give factor > 1)".into());
        }
        if c.step_duration.is_zero() {
            return Err("capacity.step_duration: must be > 0".into());
        }
        if self.pool.capacity == 0 || self.pool.workers == Some(0) {
            return Err("pool: capacity and workers must be at least 1".into());
        }
        if !self.pool.refill && !self.pool.prefill {
            return Err("pool: refill: false needs prefill: true (nothing would be minted)".into());
        }
        Ok(())
    }

    /// The part of this profile that shard `index` (0-based) of `count` runs: 1/count of
    /// the rate, users and request bound (each at least 1).
    pub fn for_shard(&self, index: u32, count: u32) -> Self {
        let n = f64::from(count.max(1));
        let mut p = self.clone();
        let share = |v: usize| v.div_ceil(count.max(1) as usize).max(1);
        p.users = share(p.users).max(p.scenarios.len());
        p.rate = p.rate.map(|r| Rate(r.0 / n));
        p.start_rate = p.start_rate.map(|r| Rate(r.0 / n));
        for s in &mut p.stages {
            s.rate = Rate(s.rate.0 / n);
        }
        p.max_requests = p
            .max_requests
            .map(|m| m.div_ceil(u64::from(count.max(1))).max(1));
        if let Some(c) = &mut p.capacity {
            c.start = Rate(c.start.0 / n);
            c.step = Rate(c.step.0 / n);
            c.max = Rate(c.max.0 / n);
        }
        p.pool.capacity = share(p.pool.capacity);
        // The fleet is split, not copied: shard i runs partners i, i+count, …
        p.partners = p.partners.map(|n| {
            n.saturating_sub(index as usize)
                .div_ceil(count.max(1) as usize)
        });
        p
    }

    /// The number of partner identities the run uses (1 without `partners:`).
    pub fn partner_count(&self) -> usize {
        self.partners.unwrap_or(1).max(1)
    }

    /// A stable 64-bit hash (FNV-1a of the canonical JSON), so shards can check they ran
    /// the same profile.
    pub fn hash_hex(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in json {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        format!("{h:016x}")
    }
}

fn fmt_d(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    // A full profile parses, with rates in every written form.
    #[test]
    fn parses_a_profile() {
        let p = LoadProfile::from_yaml(
            "name: t\nduration: 2s\nusers: 4\nrate: 2000/s\nthresholds: ['p99 < 200ms', 'error_rate < 0.1%']\nscenarios:\n  - { name: a, kind: api, weight: 3 }\n  - { name: b, kind: token, pool: false, thresholds: ['rate >= 10/s'] }\n",
            "t.yaml",
        )
        .expect("valid");
        assert_eq!(p.rate, Some(Rate(2000.0)));
        assert_eq!(p.scenarios[0].weight, 3);
        assert_eq!(p.scenarios[1].kind, ScenarioKind::Token);
        let s = LoadProfile::from_yaml("stages: [{duration: 1s, rate: 60/m}, {duration: 2s, rate: 5}]\nscenarios: [{name: s, kind: sign}]\n", "s").expect("stages");
        assert_eq!(s.run_duration(), Duration::from_secs(3));
        assert_eq!(s.stages[0].rate, Rate(1.0));
    }

    // Malformed profiles: parse errors carry file:line:col, validation errors the field.
    #[test]
    fn errors_name_the_position_or_field() {
        for (text, needle) in [
            (
                "duration: 2s\nscenarios:\n  - { name: a, kind: api, wieght: 3 }\n",
                "p.yaml:3:",
            ),
            (
                "duration: 2s\nscenarios:\n  - { name: a, kind: teleport }\n",
                "p.yaml:3:",
            ),
            (
                "duration: 2s\nthresholds: ['p99 <']\nscenarios: [{name: a, kind: api}]\n",
                "p.yaml:2:",
            ),
            (
                "duration: 2s\nrate: fast\nscenarios: [{name: a, kind: api}]\n",
                "p.yaml:2:",
            ),
            (
                "duration: 2s\nscenarios: [{name: a, kind: token, revoke_at: 1s}]\n",
                "scenarios[0] (a).revoke_at: only applies",
            ),
            (
                "duration: 2s\nscenarios: [{name: a, kind: refresh-storm, revoke_at: 3s}]\n",
                "not before the end",
            ),
            (
                "duration: 2s\nscenarios: [{name: a, kind: mixed}]\n",
                "calls_per_second: required",
            ),
            ("scenarios: [{name: a, kind: api}]\n", "duration: missing"),
            (
                "duration: 2s\nusers: 1\nscenarios: [{name: a, kind: api}, {name: b, kind: api}]\n",
                "users:",
            ),
        ] {
            let e = LoadProfile::from_yaml(text, "p.yaml")
                .expect_err(text)
                .to_string();
            assert!(e.contains(needle), "{text}\n=> {e}");
        }
    }

    // A shard takes 1/N of rate and users.
    #[test]
    fn shard_takes_its_share() {
        let p = LoadProfile::from_yaml(
            "duration: 1s\nusers: 10\nrate: 900\nscenarios: [{name: a, kind: api}]\n",
            "p",
        )
        .expect("valid");
        let s = p.for_shard(1, 3);
        assert_eq!((s.users, s.rate), (4, Some(Rate(300.0))));
        assert_eq!(p.hash_hex(), LoadProfile::clone(&p).hash_hex());
    }

    // A shard takes partners i, i+N, …: 7 partners over 3 shards are 3, 2 and 2; a profile
    // without partners keeps its hash (the field is not serialized when absent).
    #[test]
    fn shard_splits_the_fleet() {
        let p = LoadProfile::from_yaml(
            "duration: 1s\nusers: 9\npartners: 7\nscenarios: [{name: a, kind: api}]\n",
            "p",
        )
        .expect("valid");
        let counts: Vec<Option<usize>> = (0..3).map(|i| p.for_shard(i, 3).partners).collect();
        assert_eq!(counts, [Some(3), Some(2), Some(2)]);
        let plain = "duration: 1s\nusers: 9\nscenarios: [{name: a, kind: api}]\n";
        let q = LoadProfile::from_yaml(plain, "p").expect("valid");
        assert!(
            !serde_json::to_string(&q)
                .expect("json")
                .contains("partners")
        );
    }
}
