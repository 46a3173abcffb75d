//! Scenario kinds (issue 7), each described once: what it needs from the target, what it
//! signs, which phase its thresholds read, which loop its users run, which bookkeeping
//! applies and which profile options it reads. The run loop, `--find-capacity` and profile
//! validation ask [`ScenarioKind::traits`] instead of matching kinds, so adding a kind
//! touches this file (its variant and its row), its user loop in `scenario/` and the
//! profile schema, nothing else (issue 13).

use serde::{Deserialize, Serialize};

use crate::stats::Phase;

/// What a scenario does each iteration (issue 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScenarioKind {
    /// A fresh assertion and a token request per iteration: the token endpoint's capacity.
    Token,
    /// API calls with a token per user kept by the token manager.
    Api,
    /// A partner's traffic: one token per lifetime per user, `calls_per_second` API calls each.
    Mixed,
    /// API calls while every token is revoked at once mid-run (sandbox admin API).
    RefreshStorm,
    /// Signing alone, no network.
    Sign,
}

/// The loop a user of a kind runs (one module of `scenario/` each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UserLoop {
    /// Sign assertions, no network (`scenario/sign.rs`).
    Sign,
    /// A token request per iteration (`scenario/token.rs`).
    Token,
    /// API calls with a managed token (`scenario/api.rs`).
    Api,
}

/// A per-scenario option of the profile that only some kinds read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KindOption {
    /// `api`: which API of the target to call.
    Api,
    /// `calls_per_second`: each user's own pace.
    CallsPerSecond,
    /// `revoke_at`: when the storm revokes every token.
    RevokeAt,
    /// `pool`: assertions from the pool or signed inline.
    Pool,
    /// `connection`: keep-alive or a new connection per request.
    Connection,
    /// `tls`: TLS options of the scenario's connections.
    Tls,
}

impl KindOption {
    /// Every option, in schema order.
    pub(crate) const ALL: [Self; 6] = [
        Self::Api,
        Self::CallsPerSecond,
        Self::RevokeAt,
        Self::Pool,
        Self::Connection,
        Self::Tls,
    ];

    /// The field's name in a profile.
    pub(crate) fn field(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::CallsPerSecond => "calls_per_second",
            Self::RevokeAt => "revoke_at",
            Self::Pool => "pool",
            Self::Connection => "connection",
            Self::Tls => "tls",
        }
    }
}

/// Everything that differs between kinds. One row per kind in [`ScenarioKind::traits`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct KindTraits {
    /// Name as written in profiles.
    pub(crate) name: &'static str,
    /// The phase whose figures a threshold without a phase reads.
    pub(crate) main_phase: Phase,
    /// The loop its users run.
    pub(crate) user_loop: UserLoop,
    /// Sends requests at all.
    pub(crate) uses_network: bool,
    /// Signs a fresh assertion and requests a token each iteration: the single-core
    /// signing rate is measured before the run, signing figures are reported, and the
    /// assertions may come from the shared pool.
    pub(crate) token_per_iteration: bool,
    /// Calls an API route of the target with a managed token: the target must name one;
    /// token-manager figures and token-request samples are reported.
    pub(crate) calls_api: bool,
    /// Revokes every token mid-run through the sandbox admin API: the target needs admin
    /// access; storm bookkeeping (revocation task, recovery figures) applies.
    pub(crate) revokes_tokens: bool,
    /// Each user paces itself at `calls_per_second` (required): no arrival rate, so
    /// neither `rate`/`stages` nor `--find-capacity`.
    pub(crate) paced_per_user: bool,
    /// The per-scenario options it reads; any other is refused by validation.
    pub(crate) options: &'static [KindOption],
}

impl ScenarioKind {
    /// Every kind, in schema order.
    pub const ALL: [Self; 5] = [
        Self::Token,
        Self::Api,
        Self::Mixed,
        Self::RefreshStorm,
        Self::Sign,
    ];

    /// The description of this kind: the one place that says what a kind decides.
    pub(crate) fn traits(self) -> &'static KindTraits {
        use KindOption as O;
        match self {
            Self::Token => &KindTraits {
                name: "token",
                main_phase: Phase::Token,
                user_loop: UserLoop::Token,
                uses_network: true,
                token_per_iteration: true,
                calls_api: false,
                revokes_tokens: false,
                paced_per_user: false,
                options: &[O::Pool, O::Connection, O::Tls],
            },
            Self::Api => &KindTraits {
                name: "api",
                main_phase: Phase::Api,
                user_loop: UserLoop::Api,
                uses_network: true,
                token_per_iteration: false,
                calls_api: true,
                revokes_tokens: false,
                paced_per_user: false,
                options: &[O::Api, O::Connection, O::Tls],
            },
            Self::Mixed => &KindTraits {
                name: "mixed",
                main_phase: Phase::Api,
                user_loop: UserLoop::Api,
                uses_network: true,
                token_per_iteration: false,
                calls_api: true,
                revokes_tokens: false,
                paced_per_user: true,
                options: &[O::Api, O::CallsPerSecond, O::Connection, O::Tls],
            },
            Self::RefreshStorm => &KindTraits {
                name: "refresh-storm",
                main_phase: Phase::Api,
                user_loop: UserLoop::Api,
                uses_network: true,
                token_per_iteration: false,
                calls_api: true,
                revokes_tokens: true,
                paced_per_user: false,
                options: &[O::Api, O::RevokeAt, O::Connection, O::Tls],
            },
            Self::Sign => &KindTraits {
                name: "sign",
                main_phase: Phase::Sign,
                user_loop: UserLoop::Sign,
                uses_network: false,
                token_per_iteration: false,
                calls_api: false,
                revokes_tokens: false,
                paced_per_user: false,
                options: &[],
            },
        }
    }

    /// The phase whose figures a threshold without a phase reads.
    pub fn main_phase(self) -> Phase {
        self.traits().main_phase
    }

    /// Name as written in profiles.
    pub fn name(self) -> &'static str {
        self.traits().name
    }

    /// Whether it sends requests.
    pub fn uses_network(self) -> bool {
        self.traits().uses_network
    }

    /// Whether a scenario of this kind with `pool` set as given takes its assertions from
    /// the shared pool (the default for kinds that sign per iteration).
    pub(crate) fn takes_from_pool(self, pool: Option<bool>) -> bool {
        self.traits().token_per_iteration && pool != Some(false)
    }

    /// Whether this kind reads `option`.
    pub(crate) fn reads(self, option: KindOption) -> bool {
        self.traits().options.contains(&option)
    }

    /// The kinds that read `option`, as a profile error names them (`api, mixed and
    /// refresh-storm`).
    pub(crate) fn readers_of(option: KindOption) -> String {
        let names: Vec<&str> = Self::ALL
            .into_iter()
            .filter(|k| k.reads(option))
            .map(Self::name)
            .collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The error names the kinds from the table, as the hand-written lists did.
    #[test]
    fn readers_of_lists_the_kinds_in_schema_order() {
        assert_eq!(
            ScenarioKind::readers_of(KindOption::Api),
            "api, mixed and refresh-storm"
        );
        assert_eq!(ScenarioKind::readers_of(KindOption::Pool), "token");
        assert_eq!(
            ScenarioKind::readers_of(KindOption::Tls),
            "token, api, mixed and refresh-storm"
        );
    }

    // The row's name is the serde name, so a profile and a report spell a kind alike.
    #[test]
    fn names_match_the_schema() {
        for k in ScenarioKind::ALL {
            let json = serde_json::to_value(k).unwrap_or_default();
            assert_eq!(json.as_str(), Some(k.name()));
        }
    }
}
