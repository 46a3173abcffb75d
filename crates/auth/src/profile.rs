//! Gateway **profiles**: one named set of the behaviours RFC 7523 and RFC 6749 leave open
//! (conformance catalog §5). The same [`GatewayProfile`] drives both sides: the sandbox gateway
//! (`bearing-gateway`) behaves by it and the conformance runner expects it, which is why it
//! lives here rather than in the gateway.
//!
//! Three profiles are built in ([`GatewayProfile::rfc_strict`], the default, [`GatewayProfile::apigee`] and
//! [`GatewayProfile::interop`]);
//! more are loaded from YAML (`scenarios/profiles/*.yaml`) with [`GatewayProfile::from_file`].
//! Every field has a default (the `rfc-strict` value), so a YAML profile only names what it
//! changes; unknown fields are refused and durations are written as `"30s"`.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alg::Algorithm;
use crate::error::{Error, Result};

/// The names of the built-in profiles.
pub const BUILTIN_PROFILES: [&str; 3] = ["rfc-strict", "apigee", "interop"];

/// A gateway behaviour profile (conformance catalog §5). Field docs name the catalog knob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayProfile {
    /// The profile's name (`rfc-strict`, `apigee`, …).
    pub name: String,
    /// One line saying what the profile models.
    pub description: String,
    /// Clock-skew allowances, set separately (`clock_skew.exp`, `.nbf`, `.iat_future`).
    pub leeway: Leeway,
    /// Largest accepted `exp − iat` (or `exp − now` when `iat` is absent), `max_assertion_lifetime`.
    /// `None` accepts any lifetime. RFC 7523 §3 #4: the AS MAY reject `exp` far in the future.
    #[serde(with = "opt_duration")]
    pub max_assertion_lifetime: Option<Duration>,
    /// Whether `iat` must be present (`iat_required`, RFC 7523 §3 #6 makes it optional).
    pub iat_required: bool,
    /// Whether `jti` must be present (`jti_required`, RFC 7523 §3 #7 makes it optional).
    pub jti_required: bool,
    /// Whether a `jti` seen before is refused (`replay_protection`). Applies to every
    /// assertion that carries a `jti`; the `jti` is remembered until `exp` + exp leeway.
    pub replay_protection: ReplayProtection,
    /// Whether `jti`s are unique per issuer or across all issuers (`jti_scope`).
    pub jti_scope: JtiScope,
    /// Whether `sub` must be present (`sub_required`). RFC 7523 §3 #2 says MUST (so
    /// `rfc-strict` requires it), but the mainstream libraries (Google's among them) omit it
    /// when a client acts for itself (so `interop` does not).
    pub sub_required: bool,
    /// What `sub` may be when present (`sub_policy`).
    pub sub_policy: SubPolicy,
    /// Which `aud` values name this gateway (`accepted_audiences`).
    pub audiences: AudiencePolicy,
    /// JWS algorithms accepted (`allowed_algs`); `none` and HMAC can never be listed.
    /// Defaults to `[RS256]`, the algorithm RFC 7523 §5 makes mandatory.
    pub allowed_algs: Vec<Algorithm>,
    /// Whether an assertion signed while the registered certificate is outside its validity
    /// window is refused (`check_cert_validity`).
    pub check_cert_validity: bool,
    /// How `expires_in` is written in a token response (`expires_in_format`).
    pub expires_in_format: ExpiresInFormat,
    /// The `token_type` value sent (`token_type_values`); `Bearer` per RFC 6750.
    pub token_type: String,
    /// Lifetime of issued access tokens (`access_token_lifetime`); the gateway config may
    /// override it. Defaults to 180 s, the portal's value.
    #[serde(with = "duration")]
    pub access_token_lifetime: Duration,
    /// Whether a token response carries `Pragma: no-cache` besides `Cache-Control: no-store`.
    pub pragma_no_cache: bool,
    /// The shape of error bodies (`error_profile.body_format`).
    pub error_style: ErrorStyle,
    /// The `error` codes used where gateways differ (`error_profile.*`).
    pub errors: ErrorCodes,
    /// Whether the resource server sends `WWW-Authenticate: Bearer …` with 401/403
    /// (`rs_challenge_profile`); RFC 6750 §3 says MUST.
    pub rs_challenge: bool,
    /// Status for a valid token that may not call the API (`rs_insufficient_scope_status`):
    /// 403 per RFC 6750 §3.1, 401 on some gateways.
    pub rs_insufficient_scope_status: u16,
    /// Whether a token in the `access_token` query parameter is accepted (`allow_query_token`,
    /// RFC 6750 §2.3 says SHOULD NOT).
    pub allow_query_token: bool,
    /// Deliberate non-conformance, only for showing that the conformance runner catches it
    /// (the broken-sandbox tests). Off by default, and left out of YAML while off.
    #[serde(skip_serializing_if = "Dangerous::is_off")]
    pub dangerous: Dangerous,
}

/// Test-only switches that make a sandbox gateway non-conformant on purpose (STYLE.md: what
/// weakens security is named `dangerous`). Never set them for anything a partner relies on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Dangerous {
    /// Check only that `aud` is present, not its value (as Authlib does; RFC 7523 §3 #3 says
    /// the AS MUST reject a JWT without its own identity as an audience). Defaults to false.
    pub skip_audience_check: bool,
    /// Accept assertions whose `alg` is `none` (any case) without checking any signature
    /// (RFC 8725 §3.2 forbids it). Defaults to false.
    pub accept_alg_none: bool,
}

impl Dangerous {
    /// Whether every switch is off.
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }
}

/// Clock-skew allowances (catalog §5 `clock_skew`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Leeway {
    /// How long after `exp` an assertion is still accepted. Defaults to 30 s.
    #[serde(with = "duration")]
    pub exp: Duration,
    /// How long before `nbf` an assertion is already accepted. Defaults to 30 s.
    #[serde(with = "duration")]
    pub nbf: Duration,
    /// How far in the future `iat` may be. Defaults to 30 s (the OpenID suite expects
    /// +8 s accepted and +62 s refused).
    #[serde(with = "duration")]
    pub iat_future: Duration,
}

impl Default for Leeway {
    fn default() -> Self {
        let d = Duration::from_secs(30);
        Self {
            exp: d,
            nbf: d,
            iat_future: d,
        }
    }
}

/// Replay protection (catalog §5 `replay_protection`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayProtection {
    /// Assertions may be replayed.
    None,
    /// A `jti` is accepted once (RFC 7523 §3 #7).
    Jti,
}

/// Where a `jti` must be unique (catalog §5 `jti_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum JtiScope {
    /// Per issuer: two clients may use the same `jti`.
    PerIssuer,
    /// Across all issuers (Hydra's global table).
    Global,
}

/// What `sub` may be (catalog §5 `sub_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubPolicy {
    /// Any string (the grant's principal, RFC 7523 §3 #2).
    Any,
    /// Must equal `iss` (the client acts for itself; Apigee sample).
    EqualIss,
}

/// Which `aud` values the gateway takes as its own identity (RFC 7523 §3 #3, simple string
/// comparison; catalog §5 `accepted_audiences`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudiencePolicy {
    /// Accept the gateway's token endpoint URL, exactly. Defaults to true.
    pub token_url: bool,
    /// Accept the gateway's base URL (its issuer identifier), exactly. Defaults to false.
    pub base_url: bool,
    /// Further accepted values, compared exactly.
    pub extra: Vec<String>,
    /// Whether `aud` may be an array containing an accepted value (RFC 7519 §4.1.3).
    /// Defaults to true.
    pub allow_array: bool,
}

impl Default for AudiencePolicy {
    fn default() -> Self {
        Self {
            token_url: true,
            base_url: false,
            extra: Vec::new(),
            allow_array: true,
        }
    }
}

/// How `expires_in` is written (catalog §5 `expires_in_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpiresInFormat {
    /// A JSON number, as RFC 6749 §5.1 / App. A.14 require.
    Number,
    /// A JSON string such as `"180"`, as the Apigee portal sends.
    String,
}

/// The shape of error bodies (catalog §5 `error_profile.body_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorStyle {
    /// RFC 6749 §5.2 / RFC 6750 §3: `{"error":"invalid_grant","error_description":"…"}`.
    Rfc,
    /// Apigee: token errors `{"ErrorCode":"invalid_grant","Error":"…"}` (Apigee Edge OAuthV2),
    /// resource errors `{"fault":{"faultstring":"…","detail":{"errorcode":"…"}}}`. The
    /// status codes stay as under [`ErrorStyle::Rfc`].
    Apigee,
}

/// `error` codes where gateways differ (catalog §5 `error_profile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorCodes {
    /// Code for a replayed `jti`: `invalid_grant` (RFC 7521 §4.1.1) or `jti_known` (Hydra).
    pub replay: String,
    /// Code for an unknown `grant_type`: `unsupported_grant_type` (RFC 6749 §5.2).
    pub unknown_grant_type: String,
    /// Code for a missing `grant_type`: `invalid_request` (RFC 6749 §5.2).
    pub missing_grant_type: String,
}

impl Default for ErrorCodes {
    fn default() -> Self {
        Self {
            replay: "invalid_grant".into(),
            unknown_grant_type: "unsupported_grant_type".into(),
            missing_grant_type: "invalid_request".into(),
        }
    }
}

impl Default for GatewayProfile {
    fn default() -> Self {
        Self::rfc_strict()
    }
}

impl GatewayProfile {
    /// `rfc-strict`, the default: RFC 7523/6749/6750 as written. `sub` is required (RFC 7523
    /// §3 #2 "The JWT MUST contain a "sub" (subject) claim"); `jti` and `iat` are optional
    /// (§3 #6, #7: MAY) but every `jti` that is sent is checked against replay; the lifetime
    /// cap is 1 h and the clock leeway 30 s.
    pub fn rfc_strict() -> Self {
        Self {
            name: "rfc-strict".into(),
            description: "RFC 7523/6749/6750 as written: sub required, jti and iat optional, \
                          exp = iat + 1 h at most, 30 s leeway"
                .into(),
            leeway: Leeway::default(),
            max_assertion_lifetime: Some(Duration::from_secs(3600)),
            iat_required: false,
            jti_required: false,
            replay_protection: ReplayProtection::Jti,
            jti_scope: JtiScope::PerIssuer,
            sub_required: true,
            sub_policy: SubPolicy::Any,
            audiences: AudiencePolicy::default(),
            allowed_algs: vec![Algorithm::RS256],
            check_cert_validity: false,
            expires_in_format: ExpiresInFormat::Number,
            token_type: "Bearer".into(),
            access_token_lifetime: Duration::from_secs(180),
            pragma_no_cache: true,
            error_style: ErrorStyle::Rfc,
            errors: ErrorCodes::default(),
            rs_challenge: true,
            rs_insufficient_scope_status: 403,
            allow_query_token: false,
            dangerous: Dangerous::default(),
        }
    }

    /// `apigee`: the partner portal's Apigee gateway — `expires_in` as the string `"180"`,
    /// `iat` required, 300 s maximum lifetime, `sub` (when sent) equal to `iss`, Apigee error
    /// bodies and no `WWW-Authenticate` challenge on the resource side.
    pub fn apigee() -> Self {
        Self {
            name: "apigee".into(),
            description: "the partner portal's Apigee gateway: string expires_in, 180 s tokens, \
                          Apigee error bodies"
                .into(),
            max_assertion_lifetime: Some(Duration::from_secs(300)),
            iat_required: true,
            sub_required: false,
            sub_policy: SubPolicy::EqualIss,
            expires_in_format: ExpiresInFormat::String,
            error_style: ErrorStyle::Apigee,
            rs_challenge: false,
            ..Self::rfc_strict()
        }
    }

    /// `interop`: what the mainstream RFC 7523 client libraries send and most servers
    /// accept — no `sub`, no `jti`, `exp` = `iat` + 1 h, 60 s clock leeway. Every `jti` that
    /// is sent is still accepted once only.
    pub fn interop() -> Self {
        let minute = Duration::from_secs(60);
        Self {
            name: "interop".into(),
            description: "what mainstream client libraries send and most servers accept: \
                          no sub, no jti, exp = iat + 1 h, 60 s leeway"
                .into(),
            leeway: Leeway {
                exp: minute,
                nbf: minute,
                iat_future: minute,
            },
            sub_required: false,
            ..Self::rfc_strict()
        }
    }

    /// Loads a profile from a YAML file.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::Config`] naming `file:line:col`.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_yaml_str(&text, &path.display().to_string())
    }

    /// Parses a YAML profile; `origin` names the source in errors.
    ///
    /// # Errors
    /// [`Error::Config`] as `origin:line:col: message`, or a [`GatewayProfile::validate`] failure.
    pub fn from_yaml_str(text: &str, origin: &str) -> Result<Self> {
        let profile: Self = crate::yaml::from_str(text, origin)?;
        profile
            .validate()
            .map_err(|e| Error::Config(format!("{origin}: {e}")))?;
        Ok(profile)
    }

    /// Serializes the profile as YAML.
    ///
    /// # Errors
    /// [`Error::Config`] when serialization fails.
    pub fn to_yaml(&self) -> Result<String> {
        serde_saphyr::to_string(self)
            .map_err(|e| Error::Config(format!("cannot write profile: {e}")))
    }

    /// Checks the values together.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field at fault.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::Config(m));
        if self.name.trim().is_empty() {
            return bad("profile name is empty".into());
        }
        if self.allowed_algs.is_empty() {
            return bad("allowed_algs is empty: no assertion could be accepted".into());
        }
        if !self.audiences.token_url && !self.audiences.base_url && self.audiences.extra.is_empty()
        {
            return bad("audiences accepts nothing: set token_url, base_url or extra".into());
        }
        if self.access_token_lifetime.is_zero() {
            return bad("access_token_lifetime must be > 0".into());
        }
        if self.max_assertion_lifetime.is_some_and(|d| d.is_zero()) {
            return bad("max_assertion_lifetime must be > 0 (or null for no limit)".into());
        }
        if self.token_type.trim().is_empty() {
            return bad("token_type is empty".into());
        }
        if !matches!(self.rs_insufficient_scope_status, 401 | 403) {
            return bad(format!(
                "rs_insufficient_scope_status {} must be 401 or 403",
                self.rs_insufficient_scope_status
            ));
        }
        for (field, code) in [
            ("errors.replay", &self.errors.replay),
            ("errors.unknown_grant_type", &self.errors.unknown_grant_type),
            ("errors.missing_grant_type", &self.errors.missing_grant_type),
        ] {
            // RFC 6749 §5.2: error codes are %x20-21 / %x23-5B / %x5D-7E.
            let ok = !code.is_empty()
                && code
                    .bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
            if !ok {
                return bad(format!(
                    "{field} \"{code}\" is not a valid RFC 6749 error code"
                ));
            }
        }
        Ok(())
    }

    /// Whether `alg` is on the allow-list.
    pub fn allows_alg(&self, alg: Algorithm) -> bool {
        self.allowed_algs.contains(&alg)
    }
}

/// `Duration` as a humantime string (`"30s"`, `"1h"`).
pub mod duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `d` as `"30s"`.
    ///
    /// # Errors
    /// As the serializer.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }

    /// Reads `"30s"`, `"1h 30m"`, `"250ms"`.
    ///
    /// # Errors
    /// When the string is not a humantime duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s)
            .map_err(|e| serde::de::Error::custom(format!("invalid duration \"{s}\": {e}")))
    }
}

/// `Option<Duration>` as a humantime string, `null` for none.
pub mod opt_duration {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `Some(d)` as `"30s"`, `None` as null.
    ///
    /// # Errors
    /// As the serializer.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    /// Reads `"30s"` or null.
    ///
    /// # Errors
    /// When the string is not a humantime duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let s = Option::<String>::deserialize(d)?;
        s.map(|s| {
            humantime::parse_duration(&s)
                .map_err(|e| serde::de::Error::custom(format!("invalid duration \"{s}\": {e}")))
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The default profile accepts Google-style assertions: 1 h lifetime, no jti required.
    #[test]
    fn default_accepts_google_style() {
        let p = GatewayProfile::default();
        assert_eq!(p.name, "rfc-strict");
        assert!(
            p.max_assertion_lifetime
                .is_some_and(|d| d >= Duration::from_secs(3600))
        );
        assert!(!p.jti_required);
        assert_eq!(p.replay_protection, ReplayProtection::Jti);
        assert_eq!(p.allowed_algs, vec![Algorithm::RS256]);
        assert_eq!(p.access_token_lifetime, Duration::from_secs(180));
    }

    // rfc-strict requires sub (RFC 7523 §3 #2 MUST); interop takes what mainstream libraries
    // send: no sub, no jti, exp = iat + 1 h, 60 s of skew.
    #[test]
    fn rfc_strict_requires_sub_interop_does_not() {
        assert!(GatewayProfile::rfc_strict().sub_required);
        let i = GatewayProfile::interop();
        assert!(!i.sub_required && !i.jti_required && !i.iat_required);
        assert_eq!(i.max_assertion_lifetime, Some(Duration::from_secs(3600)));
        assert_eq!(i.leeway.exp, Duration::from_secs(60));
        assert_eq!(i.leeway.iat_future, Duration::from_secs(60));
    }

    // Built-ins survive a YAML round trip and validate.
    #[test]
    fn builtins_round_trip() {
        for name in BUILTIN_PROFILES {
            let p = GatewayProfile::builtin(name).expect("builtin");
            p.validate().expect("valid");
            let yaml = p.to_yaml().expect("yaml");
            let back = GatewayProfile::from_yaml_str(&yaml, "mem").expect("parse");
            assert_eq!(back, p, "{yaml}");
        }
    }

    // scenarios/profiles/*.yaml mirror the built-ins exactly.
    #[test]
    fn shipped_yaml_equals_builtins() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/profiles");
        for name in BUILTIN_PROFILES {
            let p =
                GatewayProfile::from_file(&dir.join(format!("{name}.yaml"))).expect("profile file");
            assert_eq!(
                p,
                GatewayProfile::builtin(name).expect("builtin"),
                "{name}.yaml"
            );
        }
    }

    // A partial YAML profile takes the rest from rfc-strict; durations are strings.
    #[test]
    fn partial_yaml() {
        let p = GatewayProfile::from_yaml_str(
            "name: short\nmax_assertion_lifetime: 60s\nleeway:\n  exp: 5s\n",
            "mem",
        )
        .expect("parse");
        assert_eq!(p.max_assertion_lifetime, Some(Duration::from_secs(60)));
        assert_eq!(p.leeway.exp, Duration::from_secs(5));
        assert_eq!(p.leeway.nbf, Duration::from_secs(30));
        let p = GatewayProfile::from_yaml_str("name: open\nmax_assertion_lifetime: null\n", "mem")
            .expect("parse");
        assert_eq!(p.max_assertion_lifetime, None);
    }

    // Unknown fields and bad values are refused with file:line:col.
    #[test]
    fn yaml_errors_name_the_position() {
        let e =
            GatewayProfile::from_yaml_str("name: x\nbogus: 1\n", "p.yaml").expect_err("unknown");
        assert!(e.to_string().contains("p.yaml:2:"), "{e}");
        let e = GatewayProfile::from_yaml_str("name: x\nallowed_algs: [none]\n", "p.yaml")
            .expect_err("none");
        assert!(e.to_string().contains("p.yaml:2:"), "{e}");
        let e = GatewayProfile::from_yaml_str("name: x\nleeway:\n  exp: soon\n", "p.yaml")
            .expect_err("duration");
        assert!(e.to_string().contains("p.yaml:3:"), "{e}");
        let e = GatewayProfile::from_yaml_str("name: x\nallowed_algs: []\n", "p.yaml")
            .expect_err("empty");
        assert!(e.to_string().contains("allowed_algs"), "{e}");
        assert!(GatewayProfile::resolve("no-such-profile").is_err());
    }
}
