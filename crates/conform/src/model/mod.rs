//! The suite model: what a YAML conformance suite says, as types. Parsing is strict
//! (`deny_unknown_fields` everywhere; an unknown mutation, step or expectation key is a
//! `file:line:col` error and nothing runs). The runner ([`crate::run`]) executes it; the
//! reporters never see it except through [`crate::CaseResult`].
//!
//! ```yaml
//! suite: assertion-claims
//! cases:
//!   - id: ac-aud-trailing-slash
//!     title: aud with a trailing slash is not the token endpoint
//!     category: assertion-claims
//!     level: MUST
//!     citation: RFC 7523 §3 #3 (simple string comparison)
//!     steps:
//!       - token:
//!           mutate:
//!             - set_claim: { aud: "{token_url}/" }
//!           expect: { verdict: rejected }
//! ```

pub mod expect;
pub mod mutation;

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use expect::{
    Branch, ChallengeCheck, Expect, HeaderCheck, JsonCheck, OneOrMany, StatusSpec, Verdict,
};
pub use mutation::{Mutation, RequestChange};

use crate::expr::Predicate;

/// A suite file: a named list of cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The suite's name (by convention the category of its cases).
    pub suite: String,
    /// What the suite covers.
    #[serde(default)]
    pub description: Option<String>,
    /// The cases, in report order.
    pub cases: Vec<Case>,
    /// Where the suite was read from (not part of the YAML).
    #[serde(skip)]
    pub origin: String,
}

/// The catalog category of a case (conformance catalog §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Category {
    /// Form-level token request rules (RFC 6749 §3.2, §5).
    #[serde(rename = "token-request")]
    TokenRequest,
    /// Assertion claims (RFC 7523 §3).
    #[serde(rename = "assertion-claims")]
    AssertionClaims,
    /// Assertion signature and JWS parsing (RFC 7523 §3 #9, RFC 7515).
    #[serde(rename = "assertion-signature")]
    AssertionSignature,
    /// JOSE header parameters (RFC 7515 §4, RFC 8725 §3.10).
    #[serde(rename = "jose-header")]
    JoseHeader,
    /// Replay protection (RFC 7523 §3 #7).
    #[serde(rename = "replay")]
    Replay,
    /// Time claims and token lifetime.
    #[serde(rename = "expiry")]
    Expiry,
    /// The protected resource's 401/403 behaviour (RFC 6750 §3).
    #[serde(rename = "resource-401")]
    Resource401,
    /// Re-tokening and refresh (portal contract, RFC 6749 §5.2).
    #[serde(rename = "refresh")]
    Refresh,
    /// TLS and transport (RFC 6749 §3.2, RFC 6750 §5.3, RFC 8996).
    #[serde(rename = "transport")]
    Transport,
}

impl Category {
    /// Every category, in report order.
    pub const ALL: [Category; 9] = [
        Self::TokenRequest,
        Self::AssertionClaims,
        Self::AssertionSignature,
        Self::JoseHeader,
        Self::Replay,
        Self::Expiry,
        Self::Resource401,
        Self::Refresh,
        Self::Transport,
    ];

    /// The name used in suites and reports (`token-request`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TokenRequest => "token-request",
            Self::AssertionClaims => "assertion-claims",
            Self::AssertionSignature => "assertion-signature",
            Self::JoseHeader => "jose-header",
            Self::Replay => "replay",
            Self::Expiry => "expiry",
            Self::Resource401 => "resource-401",
            Self::Refresh => "refresh",
            Self::Transport => "transport",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The requirement level governing a case (catalog §3 "Level").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    /// A spec MUST: a miss is a failure.
    #[serde(rename = "MUST")]
    Must,
    /// A spec SHOULD: a miss is a warning.
    #[serde(rename = "SHOULD")]
    Should,
    /// A spec MAY: a miss is a warning.
    #[serde(rename = "MAY")]
    May,
    /// Implementation-defined; the profile decides, so a miss is a failure.
    #[serde(rename = "CONFIG")]
    Config,
    /// Widespread practice, not spec-mandated: a miss is a warning.
    #[serde(rename = "PRACTICE")]
    Practice,
}

impl Level {
    /// Whether a miss at this level fails the case (otherwise it warns).
    pub fn is_binding(self) -> bool {
        matches!(self, Self::Must | Self::Config)
    }

    /// The name as written (`MUST`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
            Self::May => "MAY",
            Self::Config => "CONFIG",
            Self::Practice => "PRACTICE",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One conformance case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// The catalog id (`ac-aud-trailing-slash`).
    pub id: String,
    /// One line saying what is checked.
    pub title: String,
    /// The catalog category.
    pub category: Category,
    /// The requirement level.
    pub level: Level,
    /// The spec citation (`RFC 7523 §3 #3`).
    pub citation: String,
    /// Only run when this profile predicate holds; otherwise the case is skipped.
    #[serde(default)]
    pub when: Option<Predicate>,
    /// Run alone: the case changes gateway-wide state (set automatically for clock shifts
    /// and lifetime changes).
    #[serde(default)]
    pub exclusive: bool,
    /// Per-case time limit; defaults to the runner's.
    #[serde(
        default,
        deserialize_with = "bearing_auth::profile::opt_duration::deserialize"
    )]
    pub timeout: Option<Duration>,
    /// The steps, run in order; the first step that cannot run ends the case as an error.
    pub steps: Vec<Step>,
    /// Steps run after the case whatever happened (restore lifetimes, clocks).
    #[serde(default)]
    pub cleanup: Vec<Step>,
    /// Free text: known behaviour of real gateways, why the expectation is what it is.
    #[serde(default)]
    pub note: Option<String>,
}

/// One step of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// A token request (`POST {token_url}`), with assertion and request mutations.
    Token(Box<TokenStep>),
    /// A call to a protected API.
    Api(Box<ApiStep>),
    /// A sandbox admin action (revoke, set lifetime, shift clock, register a client).
    Admin(Box<AdminStep>),
    /// Waiting: a fixed time, or until a saved token's or assertion's expiry ± offset.
    Wait(WaitStep),
    /// bearing-auth's token manager calling an API, observed on the wire.
    Managed(Box<ManagedStep>),
    /// A transport probe (plain HTTP, old TLS).
    Probe(ProbeStep),
}

/// Where the assertion of a token request comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssertionSource {
    /// A fresh baseline assertion (B-JWT), then the mutations.
    #[default]
    Fresh,
    /// The identical assertion string saved by an earlier step.
    Reuse(String),
    /// A fresh assertion carrying the `jti` of an earlier step's assertion.
    JtiOf(String),
    /// A literal string (`not-a-jwt`).
    Raw(String),
    /// The access token an earlier step obtained, sent as the assertion.
    AccessTokenOf(String),
}

fn primary() -> String {
    "primary".into()
}

/// A token request.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenStep {
    /// Which identity signs: `primary` (the target's, the default), `second` (a second
    /// registered client: registered through the sandbox admin API, or `--second-target`),
    /// or a name registered earlier in the case (`admin: register_client`).
    #[serde(default = "primary", rename = "as")]
    pub identity: String,
    /// Where the assertion comes from.
    #[serde(default)]
    pub assertion: AssertionSource,
    /// Assertion mutations, applied in order to the baseline.
    #[serde(default)]
    pub mutate: Vec<Mutation>,
    /// Request mutations (form parameters, method, body encoding, headers).
    #[serde(default)]
    pub request: Vec<RequestChange>,
    /// Send this many identical requests at once (replay races).
    #[serde(default)]
    pub parallel: Option<u32>,
    /// Save the assertion and the token under this name for later steps.
    #[serde(default)]
    pub save: Option<String>,
    /// Expectations at the case's level.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Expectations chosen by the profile: the first branch whose `when` holds.
    #[serde(default)]
    pub expect_by_profile: Vec<Branch>,
    /// Expectations whose miss is only a warning (SHOULD-level parts of a MUST case).
    #[serde(default)]
    pub should: Option<Expect>,
}

/// How the access token travels in an API call (RFC 6750 §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenPlacement {
    /// `Authorization: <scheme> <token>` (§2.1).
    #[default]
    Header,
    /// `?access_token=` only (§2.3).
    Query,
    /// Header and query together (two methods, forbidden by §2).
    HeaderAndQuery,
}

/// A call to a protected API.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiStep {
    /// The target API's name; defaults to the first API of the target.
    #[serde(default)]
    pub api: Option<String>,
    /// The saved token to send; none sends no credentials.
    #[serde(default)]
    pub token: Option<String>,
    /// The authorization scheme; defaults to `Bearer`.
    #[serde(default)]
    pub scheme: Option<String>,
    /// A literal `Authorization` header (templated: `Basic {basic}`, `Token {token:t1}`).
    #[serde(default)]
    pub authorization: Option<String>,
    /// Send `Bearer` + this many random characters instead of a real token.
    #[serde(default)]
    pub garbage_token: Option<usize>,
    /// Send the assertion saved under this name as the bearer token.
    #[serde(default)]
    pub assertion_as_token: Option<String>,
    /// Where the token goes.
    #[serde(default)]
    pub placement: TokenPlacement,
    /// Save nothing; expectations on the answer.
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Expectations chosen by the profile.
    #[serde(default)]
    pub expect_by_profile: Vec<Branch>,
    /// Warning-level expectations.
    #[serde(default)]
    pub should: Option<Expect>,
}

/// The certificate a registered client gets (`admin: register_client`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CertKind {
    /// A fresh 2048-bit RSA key with a currently valid self-signed certificate.
    #[default]
    Valid,
    /// A fresh key whose certificate expired yesterday.
    Expired,
    /// A 1024-bit RSA certificate (RFC 7518 §3.3 requires 2048).
    WeakRsa,
}

/// `admin: register_client`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// The handle later steps use with `as: NAME` (not `primary` or `second`).
    pub name: String,
    /// The certificate to register.
    #[serde(default)]
    pub cert: CertKind,
    /// Scopes the client may request.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// APIs the client may call (empty: every API).
    #[serde(default)]
    pub apis: Vec<String>,
}

/// A sandbox admin action. Exactly one action per step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminStep {
    /// Revoke the saved token of this name.
    #[serde(default)]
    pub revoke: Option<String>,
    /// Set the access-token lifetime (`2s`), or `default` to restore it.
    #[serde(default)]
    pub set_lifetime: Option<String>,
    /// Shift the gateway clock (`+200s`, `-200s`).
    #[serde(default, deserialize_with = "opt_signed")]
    pub shift_clock: Option<f64>,
    /// Register a client.
    #[serde(default)]
    pub register_client: Option<RegisterSpec>,
    /// When the target has no admin API, skip this step instead of the whole case
    /// (a real gateway keeps its own lifetime).
    #[serde(default)]
    pub optional: bool,
    /// Expectations on the admin answer (e.g. a refused registration).
    #[serde(default)]
    pub expect: Option<Expect>,
}

fn opt_signed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let s = Option::<String>::deserialize(d)?;
    s.map(|s| crate::expr::parse_signed_duration(&s).map_err(serde::de::Error::custom))
        .transpose()
}

impl AdminStep {
    /// How many actions the step names (must be one).
    pub fn action_count(&self) -> usize {
        usize::from(self.revoke.is_some())
            + usize::from(self.set_lifetime.is_some())
            + usize::from(self.shift_clock.is_some())
            + usize::from(self.register_client.is_some())
    }

    /// Whether the action changes gateway-wide state (the case must run alone).
    pub fn is_global(&self) -> bool {
        self.set_lifetime.is_some() || self.shift_clock.is_some()
    }
}

/// Waiting.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitStep {
    /// A fixed time (`1s`).
    #[serde(
        default,
        deserialize_with = "bearing_auth::profile::opt_duration::deserialize",
        rename = "for"
    )]
    pub duration: Option<Duration>,
    /// Until the saved token's `expires_in` runs out (measured from when it was issued).
    #[serde(default)]
    pub until_expiry_of: Option<String>,
    /// Until the saved assertion's `exp`.
    #[serde(default)]
    pub until_assertion_exp_of: Option<String>,
    /// Added to the instant waited for (`-1s`: one second before).
    #[serde(
        default,
        deserialize_with = "crate::expr::signed_duration::deserialize"
    )]
    pub offset: f64,
}

/// bearing-auth's token manager calling an API, observed through a recording proxy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagedStep {
    /// The target API's name; defaults to the first.
    #[serde(default)]
    pub api: Option<String>,
    /// Before the second call: `revoke` the first token through the admin API, or `none`.
    #[serde(default)]
    pub invalidate: Invalidate,
    /// How many API calls the manager makes.
    #[serde(default = "two")]
    pub calls: u32,
    /// Expectations (`token_requests`, `distinct_jtis`, `api_calls`, `status`).
    #[serde(default)]
    pub expect: Option<Expect>,
    /// Expectations chosen by the profile.
    #[serde(default)]
    pub expect_by_profile: Vec<Branch>,
    /// Warning-level expectations.
    #[serde(default)]
    pub should: Option<Expect>,
}

fn two() -> u32 {
    2
}

/// What happens to the managed token between calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invalidate {
    /// Nothing.
    #[default]
    None,
    /// Revoke it through the admin API.
    Revoke,
}

/// A transport probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeStep {
    /// The baseline token request over `http://`: must not yield a token, nor a redirect.
    PlainHttpToken,
    /// The API call over `http://`: must be refused.
    PlainHttpApi,
    /// A TLS 1.0 ClientHello: the handshake must fail (RFC 8996).
    Tls10,
    /// A TLS 1.1 ClientHello: the handshake must fail (RFC 8996).
    Tls11,
}

impl Step {
    /// The step's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Token(_) => "token",
            Self::Api(_) => "api",
            Self::Admin(_) => "admin",
            Self::Wait(_) => "wait",
            Self::Managed(_) => "managed",
            Self::Probe(_) => "probe",
        }
    }
}
