//! Expectations: what a step's answer must look like. Every field is optional; the ones given
//! are all checked. Values written `profile.<field>` are read from the profile at run time.
//!
//! ```yaml
//! expect:
//!   verdict: rejected                 # or accepted; see Verdict
//!   status: [400, 401]                # or 400, or "4xx"
//!   error: [invalid_grant, invalid_client]
//!   headers: { cache-control: { contains: no-store } }
//!   challenge: { scheme: Bearer, lacks: [error], min_params: 1 }
//!   json: { expires_in: { type: profile.expires_in_format } }
//!   no_request_to: [jwks]
//!   max_duration: 5s
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::expr::{NumExpr, Predicate, ProfileText};

/// One value or a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    /// A single value.
    One(T),
    /// A list.
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values as a slice.
    pub fn as_slice(&self) -> &[T] {
        match self {
            Self::One(v) => std::slice::from_ref(v),
            Self::Many(v) => v,
        }
    }
}

/// Accepted HTTP statuses: codes, classes (`4xx`) and profile values
/// (`profile.rs_insufficient_scope_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSpec(pub Vec<StatusItem>);

/// One accepted status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusItem {
    /// An exact code.
    Code(u16),
    /// A class: 4 for `4xx`.
    Class(u16),
    /// A status read from the profile.
    Profile(String),
}

impl StatusSpec {
    /// Whether `status` is accepted under `profile`.
    pub fn accepts(&self, status: u16, profile: &crate::expr::ProfileJson) -> bool {
        self.0.iter().any(|i| match i {
            StatusItem::Code(c) => *c == status,
            StatusItem::Class(c) => status / 100 == *c,
            StatusItem::Profile(p) => crate::expr::ProfileText::Profile(p.clone())
                .resolve(profile)
                .parse::<u16>()
                .is_ok_and(|c| c == status),
        })
    }

    /// The spec with profile values resolved, for messages.
    pub fn describe(&self, profile: &crate::expr::ProfileJson) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|i| match i {
                StatusItem::Code(c) => c.to_string(),
                StatusItem::Class(c) => format!("{c}xx"),
                StatusItem::Profile(p) => {
                    crate::expr::ProfileText::Profile(p.clone()).resolve(profile)
                }
            })
            .collect();
        parts.join(" or ")
    }
}

fn status_item(raw: RawStatus) -> Result<StatusItem, String> {
    match raw {
        RawStatus::Code(c) if (100..=599).contains(&c) => Ok(StatusItem::Code(c)),
        RawStatus::Code(c) => Err(format!("status {c} is not an HTTP status")),
        RawStatus::Text(s) if s.starts_with("profile.") => {
            crate::expr::check_profile_path(&s)?;
            Ok(StatusItem::Profile(s))
        }
        RawStatus::Text(s) => {
            let b = s.as_bytes();
            if b.len() == 3 && (b'1'..=b'5').contains(&b[0]) && s[1..].eq_ignore_ascii_case("xx") {
                Ok(StatusItem::Class(u16::from(b[0] - b'0')))
            } else if let Ok(c) = s.parse::<u16>() {
                status_item(RawStatus::Code(c))
            } else {
                Err(format!(
                    "status \"{s}\": expected a code like 400 or a class like 4xx"
                ))
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawStatus {
    Code(u16),
    Text(String),
}

impl<'de> Deserialize<'de> for StatusSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = OneOrMany::<RawStatus>::deserialize(d)?;
        let items = match raw {
            OneOrMany::One(r) => vec![r],
            OneOrMany::Many(v) => v,
        };
        if items.is_empty() {
            return Err(serde::de::Error::custom("status list is empty"));
        }
        items
            .into_iter()
            .map(status_item)
            .collect::<Result<Vec<_>, _>>()
            .map(StatusSpec)
            .map_err(serde::de::Error::custom)
    }
}

/// The shorthand outcomes of a token request (conformance catalog §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 200 with a JSON body carrying a non-empty `access_token`, `token_type` equal (ignoring
    /// case) to the profile's, and a positive `expires_in` (number or numeric string).
    Accepted,
    /// REJECT: a 400 (or 401 with `invalid_client`) without `access_token`, whose error code
    /// (read the profile's way) is `invalid_grant` or one of the step's `error` codes.
    Rejected,
}

/// A check on one response header (names compare case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeaderCheck {
    /// Whether the header must be present (true) or absent (false).
    #[serde(default)]
    pub present: Option<bool>,
    /// The exact value, ignoring ASCII case.
    #[serde(default)]
    pub equals: Option<String>,
    /// One comma-separated element equal to this, ignoring case (`no-store`).
    #[serde(default)]
    pub contains: Option<String>,
    /// The value starts with this, ignoring case (`application/json`).
    #[serde(default)]
    pub starts_with: Option<String>,
}

/// A check on the `WWW-Authenticate` challenge (RFC 6750 §3, RFC 9110 §11.6.1).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeCheck {
    /// Whether a challenge must be present (default true when the block is given).
    #[serde(default)]
    pub present: Option<bool>,
    /// The auth scheme, compared ignoring case (`Bearer`).
    #[serde(default)]
    pub scheme: Option<String>,
    /// At least this many auth-params (RFC 6750 §3 wants at least one).
    #[serde(default)]
    pub min_params: Option<usize>,
    /// Params with their expected values.
    #[serde(default)]
    pub params: BTreeMap<String, ProfileText>,
    /// Params that must be present.
    #[serde(default)]
    pub has: Vec<String>,
    /// Params that must be absent (`error` when no credentials were sent, §3.1).
    #[serde(default)]
    pub lacks: Vec<String>,
    /// The header must parse strictly per RFC 9110 §11 and `error_description` must use only
    /// the RFC 6749 §5.2 characters.
    #[serde(default)]
    pub strict_syntax: bool,
    /// Only judge the challenge when the answer has this status (a Basic challenge is owed
    /// with a 401 `invalid_client`, not with an allowed 400, RFC 6749 §5.2).
    #[serde(default)]
    pub on_status: Option<u16>,
}

/// Character sets for JSON string checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// `%x20-21 / %x23-5B / %x5D-7E` (RFC 6749 §5.2 `error`, `error_description`).
    ErrorText,
}

/// A check on one JSON body field, by dotted path (`fault.detail.errorcode`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonCheck {
    /// Whether the field must be present (true) or absent (false).
    #[serde(default)]
    pub present: Option<bool>,
    /// JSON type: `string`, `number`, `integer`, `boolean`, `object`, `array`, `null`, or
    /// `numeric` (a number or a string of digits); may be `profile.expires_in_format`.
    #[serde(default, rename = "type")]
    pub kind: Option<ProfileText>,
    /// Exact JSON value.
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    /// A string equal ignoring ASCII case.
    #[serde(default)]
    pub equals_ci: Option<ProfileText>,
    /// A non-empty string, array or object.
    #[serde(default)]
    pub nonempty: Option<bool>,
    /// One of these strings.
    #[serde(default)]
    pub one_of: Vec<String>,
    /// A number (or numeric string) within `[low, high]`.
    #[serde(default)]
    pub between: Option<(NumExpr, NumExpr)>,
    /// When present, a string made only of these characters.
    #[serde(default)]
    pub charset: Option<Charset>,
    /// When present, a string that parses as an absolute URI.
    #[serde(default)]
    pub uri: bool,
}

/// Expectations on one answer. Every given field is checked.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The shorthand for the catalog's 200 / REJECT.
    #[serde(default)]
    pub verdict: Option<Verdict>,
    /// Accepted statuses.
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Accepted error codes (read from `error`, or `ErrorCode` under Apigee-style bodies, or
    /// the challenge's `error` on a resource). Defaults to `invalid_grant` for `rejected`.
    #[serde(default)]
    pub error: Option<OneOrMany<ProfileText>>,
    /// Whether the body may carry an `access_token`.
    #[serde(default)]
    pub access_token: Option<bool>,
    /// Header checks by name.
    #[serde(default)]
    pub headers: BTreeMap<String, HeaderCheck>,
    /// The `WWW-Authenticate` challenge.
    #[serde(default)]
    pub challenge: Option<ChallengeCheck>,
    /// JSON body checks by dotted path.
    #[serde(default)]
    pub json: BTreeMap<String, JsonCheck>,
    /// Local listeners (see `{listener:NAME}`) that must have received no request.
    #[serde(default)]
    pub no_request_to: Vec<String>,
    /// The answer must come within this time.
    #[serde(
        default,
        deserialize_with = "bearing_auth::profile::opt_duration::deserialize"
    )]
    pub max_duration: Option<Duration>,
    /// Parallel requests: at most this many may be accepted.
    #[serde(default)]
    pub max_accepted: Option<u32>,
    /// Managed flow: token requests seen on the wire.
    #[serde(default)]
    pub token_requests: Option<u32>,
    /// Managed flow: distinct `jti`s among those requests.
    #[serde(default)]
    pub distinct_jtis: Option<u32>,
    /// Managed flow: API calls seen on the wire.
    #[serde(default)]
    pub api_calls: Option<u32>,
}

/// One branch of `expect_by_profile`: the first whose `when` holds applies; the last branch
/// has no `when` and catches the rest.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    /// The profile predicate; absent on the catch-all branch.
    #[serde(default)]
    pub when: Option<Predicate>,
    /// The expectations at the case's level.
    pub expect: Expect,
    /// Warning-level expectations.
    #[serde(default)]
    pub should: Option<Expect>,
}
