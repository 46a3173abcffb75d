//! The recorded log: one [`Event`] per token request or API call the gateway saw, attributed
//! to a client, plus the [`Mark`]s of what the plan did when. Checks are pure functions over
//! these, so they are tested with synthetic logs. Nothing here is secret: access tokens are
//! kept as their redacted prefix (`abcdefgh…`), assertions only as the claims read from them.

use serde::{Deserialize, Serialize};

/// Which endpoint an event is about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `POST /oauth/token`.
    #[default]
    TokenRequest,
    /// A protected API call.
    ApiCall,
}

/// How the gateway answered.
pub use bearing_gateway::EventOutcome;

/// The header and claims read from an assertion (never the assertion itself).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ObservedClaims {
    /// Header `alg`.
    pub alg: Option<String>,
    /// Header `typ`.
    pub typ: Option<String>,
    /// Header `kid`.
    pub kid: Option<String>,
    /// `iss`.
    pub iss: Option<String>,
    /// `sub`.
    pub sub: Option<String>,
    /// `aud` (string values).
    pub aud: Option<Vec<String>>,
    /// `exp`, seconds.
    pub exp: Option<f64>,
    /// `nbf`, seconds.
    pub nbf: Option<f64>,
    /// `iat`, seconds.
    pub iat: Option<f64>,
    /// `jti`.
    pub jti: Option<String>,
    /// Time claims (`exp`, `nbf`, `iat`) present but not JSON numbers (a string `"exp"`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_numeric: Vec<String>,
}

/// One token request or API call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    /// Order of arrival in the log.
    pub seq: u64,
    /// Token request or API call.
    pub kind: Kind,
    /// When the request arrived (gateway clock, ms since the epoch).
    pub at_ms: i64,
    /// When it was answered (gateway clock, ms since the epoch).
    pub answered_ms: i64,
    /// The client it is attributed to; `None` when it could not be.
    pub client: Option<String>,
    /// Whether the gateway authenticated the client by a valid assertion signature (token
    /// requests that got past signature verification).
    pub authenticated: bool,
    /// The peer's socket address.
    pub peer: Option<String>,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// `Content-Type` as sent.
    pub content_type: Option<String>,
    /// Names of the URL query parameters (never values).
    pub query_params: Vec<String>,
    /// Names of the form body parameters in order, repeats kept; `None` when not read.
    pub form_params: Option<Vec<String>>,
    /// `grant_type` as sent (when read).
    pub grant_type: Option<String>,
    /// The assertion's header and claims, when they could be read.
    pub claims: Option<ObservedClaims>,
    /// The token issued (token requests) or presented (API calls), redacted.
    pub token: Option<String>,
    /// Expiry of the token issued (token requests), ms since the epoch.
    pub token_expires_ms: Option<i64>,
    /// How the API call carried its token: `header`, `query`, `body`.
    pub transport: Vec<String>,
    /// The `Authorization` scheme as sent.
    pub auth_scheme: Option<String>,
    /// Outcome.
    pub outcome: EventOutcome,
    /// HTTP status answered.
    pub status: u16,
    /// OAuth `error` code answered.
    pub error: Option<String>,
    /// The gateway's machine-readable rejection reason for assertions (snake_case).
    pub reason: Option<String>,
    /// `Retry-After` sent with an injected fault, seconds.
    pub retry_after_s: Option<u64>,
    /// `scope` as requested (token requests), when the body was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl Event {
    /// Whether this is a token request.
    pub fn is_token_request(&self) -> bool {
        self.kind == Kind::TokenRequest
    }

    /// Whether this is an API call.
    pub fn is_api_call(&self) -> bool {
        self.kind == Kind::ApiCall
    }

    /// Whether an injected fault answered.
    pub fn is_fault(&self) -> bool {
        self.outcome == EventOutcome::Fault
    }
}

/// What the plan did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// The schedule started.
    PlanStarted,
    /// A phase started.
    PhaseStarted {
        /// Its name.
        name: String,
    },
    /// Tokens issued from now on have this lifetime.
    TokenLifetime {
        /// Lifetime, ms.
        ms: u64,
    },
    /// The watched clients' tokens were revoked.
    Revoked {
        /// How many tokens.
        tokens: u64,
    },
    /// The token endpoint answers an injected error from now on.
    TokenFault {
        /// 503 or 429.
        status: u16,
        /// `Retry-After`, seconds.
        retry_after_s: u64,
        /// Share of requests answered with it.
        probability: f64,
    },
    /// Every route is slowed down by this much from now on.
    Latency {
        /// Added latency, ms.
        ms: u64,
    },
    /// Injected faults and latency were removed.
    FaultsCleared,
    /// The last phase ended; settling at the baseline.
    Settling,
    /// The run ended.
    Ended {
        /// Why: see [`EndReason`].
        reason: EndReason,
    },
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The plan ran to its end.
    PlanComplete,
    /// The `--duration` cap was reached.
    Duration,
    /// Stopped from outside (ctrl-c).
    Interrupted,
    /// No client came within `wait_for_client`.
    NoClient,
}

impl EndReason {
    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlanComplete => "plan-complete",
            Self::Duration => "duration",
            Self::Interrupted => "interrupted",
            Self::NoClient => "no-client",
        }
    }
}

/// One entry of the plan's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// Gateway-clock time, ms since the epoch.
    pub at_ms: i64,
    /// What happened.
    #[serde(flatten)]
    pub action: Action,
}
