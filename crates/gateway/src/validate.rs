//! Assertion validation (RFC 7523 §3, RFC 7519 §4/§7.2, RFC 7515, RFC 8725) as the active
//! [`GatewayProfile`] says. Order: strict parsing → header (alg allow-list, `crit`, `b64`, `typ`) →
//! issuer lookup → signature with the issuer's registered keys only (header `jwk`/`x5c` are
//! ignored and `jku`/`x5u` never fetched) → `exp`/`nbf`/`iat`/lifetime → `sub` → `aud` →
//! `jti` → replay (recorded last, so only fully valid assertions consume their `jti`).

use std::sync::Arc;

use bearing_auth::Algorithm;
use bearing_auth::{GatewayProfile, JtiScope, ReplayProtection, SubPolicy};
use serde_json::{Map, Value};

use crate::jws::{CompactJws, parse_compact};
use crate::registry::{Client, Registry};
use crate::replay::ReplayStore;

/// Largest NumericDate accepted: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: f64 = 253_402_300_799.0;
/// Longest `jti` remembered (bounds the replay store's memory per entry).
pub const MAX_JTI_LEN: usize = 256;

/// Why an assertion was refused: a stable, machine-readable reason (events, metrics, tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RejectReason {
    /// Not a strict compact JWS, or header/payload not a JSON object without duplicates.
    Malformed,
    /// `alg` missing, not allowed (`none`, HMAC, off the allow-list) or not fitting the key.
    AlgNotAllowed,
    /// A `crit` header (no extension is understood) or `b64` other than true (RFC 7797 §7).
    CriticalHeader,
    /// `typ` names another kind of JWT (`at+jwt`, RFC 8725 §3.11).
    WrongType,
    /// `iss` missing or not a string.
    IssInvalid,
    /// `iss` is not a registered client.
    UnknownIssuer,
    /// The signature does not verify with any registered certificate of `iss`.
    BadSignature,
    /// The registered certificate is outside its validity window (profile `check_cert_validity`).
    CertificateNotValid,
    /// A claim has the wrong JSON type or an out-of-range NumericDate.
    ClaimType,
    /// `exp` missing.
    ExpMissing,
    /// Expired (beyond the exp leeway).
    Expired,
    /// `nbf` in the future beyond the leeway.
    NotYetValid,
    /// `iat` missing while the profile requires it.
    IatMissing,
    /// `iat` in the future beyond the leeway.
    IatInFuture,
    /// `exp − iat` (or `exp − now`) exceeds the profile's maximum lifetime.
    LifetimeTooLong,
    /// `sub` missing while required.
    SubMissing,
    /// `sub` differs from `iss` under `sub_policy: equal-iss`.
    SubMismatch,
    /// `aud` missing.
    AudMissing,
    /// `aud` does not name this gateway (or is an array where the profile forbids one).
    AudMismatch,
    /// `jti` missing while required.
    JtiMissing,
    /// `jti` empty or longer than [`MAX_JTI_LEN`].
    JtiInvalid,
    /// `jti` already used (replay).
    Replay,
}

/// A refusal: reason plus a description safe to send (RFC 6749 §5.2 charset, no input echo
/// beyond claim names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason.
    pub reason: RejectReason,
    /// Human-readable detail.
    pub description: String,
}

fn reject<T>(reason: RejectReason, description: impl Into<String>) -> Result<T, Rejection> {
    Err(Rejection {
        reason,
        description: description.into(),
    })
}

/// What was read from an assertion, for the observer (filled as far as parsing got).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AssertionInfo {
    /// Header `alg`.
    pub alg: Option<String>,
    /// Header `typ`.
    pub typ: Option<String>,
    /// Header `kid`.
    pub kid: Option<String>,
    /// Names of all header parameters, sorted.
    pub header_params: Vec<String>,
    /// `iss`, when a string.
    pub iss: Option<String>,
    /// `sub`, when a string.
    pub sub: Option<String>,
    /// `aud` values that are strings.
    pub aud: Option<Vec<String>>,
    /// `exp` as sent (seconds).
    pub exp: Option<f64>,
    /// `nbf` as sent.
    pub nbf: Option<f64>,
    /// `iat` as sent.
    pub iat: Option<f64>,
    /// `jti`, when a string.
    pub jti: Option<String>,
    /// Time claims (`exp`, `nbf`, `iat`) present but not JSON numbers, so a report can say
    /// "exp is not a number" rather than "exp is missing".
    pub non_numeric: Vec<String>,
}

/// A valid assertion.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The authenticated client (`iss`).
    pub client: Arc<Client>,
    /// The algorithm it was signed with.
    pub alg: Algorithm,
    /// Its `jti`, if any.
    pub jti: Option<String>,
    /// `exp` in ms.
    pub exp_ms: i64,
    /// A `scope` claim (Google-style), if present and a string.
    pub scope_claim: Option<String>,
}

/// Validates assertions against one profile and this gateway's audiences.
#[derive(Debug, Clone)]
pub struct Validator {
    profile: Arc<GatewayProfile>,
    audiences: Arc<[String]>,
}

impl Validator {
    /// A validator accepting `aud` values in `audiences` (exact strings).
    pub fn new(profile: Arc<GatewayProfile>, audiences: Vec<String>) -> Self {
        Self {
            profile,
            audiences: audiences.into(),
        }
    }

    /// The audiences accepted.
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }

    /// The profile.
    pub fn profile(&self) -> &GatewayProfile {
        &self.profile
    }

    /// Validates `compact` at `now_ms`; records its `jti` in `replay` when it is valid.
    /// `info`, when given, receives what could be read even if validation fails.
    ///
    /// # Errors
    /// A [`Rejection`] naming the first rule broken.
    pub fn validate(
        &self,
        compact: &str,
        registry: &Registry,
        replay: &ReplayStore,
        now_ms: i64,
        info: Option<&mut AssertionInfo>,
    ) -> Result<Accepted, Rejection> {
        let p = &*self.profile;
        // Dangerous (test-only, profile `dangerous.accept_alg_none`): an unsigned
        // `header.payload.` gets a placeholder signature so it parses; see `unsigned` below.
        let padded;
        let compact = if p.dangerous.accept_alg_none && compact.ends_with('.') {
            padded = format!("{compact}AA");
            padded.as_str()
        } else {
            compact
        };
        let jws = match parse_compact(compact) {
            Ok(j) => j,
            Err(e) => return reject(RejectReason::Malformed, e.0),
        };
        if let Some(i) = info {
            fill_info(i, &jws.header, &jws.claims);
        }
        let (alg, unsigned) = check_header(p, &jws.header)?;
        let c = &jws.claims;
        let (iss, client) = check_issuer(registry, c, alg, unsigned)?;
        if !unsigned {
            check_signature(p, &client, alg, &jws, now_ms)?;
        }
        let exp_ms = check_time(p, c, now_ms)?;
        check_subject(p, c, iss)?;
        self.check_audience(c)?;
        let jti = check_jti(p, c)?;
        let scope_claim = match c.get("scope") {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        record_jti(p, replay, iss, jti.as_deref(), exp_ms, now_ms)?;
        Ok(Accepted {
            client,
            alg,
            jti,
            exp_ms,
            scope_claim,
        })
    }

    /// Audience (RFC 7523 §3 #3, RFC 7519 §4.1.3): exact string comparison.
    /// Dangerous (test-only, `dangerous.skip_audience_check`): presence only.
    fn check_audience(&self, c: &Map<String, Value>) -> Result<(), Rejection> {
        let p = &*self.profile;
        let own =
            |a: &str| p.dangerous.skip_audience_check || self.audiences.iter().any(|x| x == a);
        match c.get("aud") {
            None => return reject(RejectReason::AudMissing, "aud is missing"),
            Some(Value::String(a)) => {
                if !own(a) {
                    return reject(
                        RejectReason::AudMismatch,
                        "aud does not name this token endpoint",
                    );
                }
            }
            Some(Value::Array(v)) => {
                if !p.audiences.allow_array {
                    return reject(RejectReason::AudMismatch, "aud must be a single string");
                }
                if v.iter().any(|x| !x.is_string()) {
                    return reject(RejectReason::ClaimType, "aud array holds a non-string");
                }
                if !v.iter().any(|x| x.as_str().is_some_and(own)) {
                    return reject(
                        RejectReason::AudMismatch,
                        "aud does not name this token endpoint",
                    );
                }
            }
            Some(_) => {
                return reject(
                    RejectReason::ClaimType,
                    "aud is neither a string nor an array",
                );
            }
        }
        Ok(())
    }
}

/// A profile duration in ms, saturating (the leeways and the maximum lifetime).
fn millis(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

/// Header (RFC 7515 §4.1.1, §4.1.11; RFC 7797 §7; RFC 8725 §3.1, §3.11): the algorithm, and
/// whether the assertion is accepted unsigned (dangerous `accept_alg_none`).
fn check_header(
    p: &GatewayProfile,
    h: &Map<String, Value>,
) -> Result<(Algorithm, bool), Rejection> {
    let alg_name = match h.get("alg") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return reject(RejectReason::AlgNotAllowed, "header alg is not a string"),
        None => return reject(RejectReason::AlgNotAllowed, "header has no alg"),
    };
    let unsigned = p.dangerous.accept_alg_none && alg_name.eq_ignore_ascii_case("none");
    let alg = match alg_name.parse::<Algorithm>() {
        Ok(a) if p.allows_alg(a) => a,
        _ if unsigned => Algorithm::RS256,
        _ => {
            let shown: String = alg_name
                .chars()
                .take(16)
                .filter(char::is_ascii_alphanumeric)
                .collect();
            return reject(
                RejectReason::AlgNotAllowed,
                format!("alg '{shown}' is not allowed"),
            );
        }
    };
    if h.contains_key("crit") {
        return reject(
            RejectReason::CriticalHeader,
            "crit header lists extensions this gateway does not understand",
        );
    }
    if h.get("b64").is_some_and(|v| v != &Value::Bool(true)) {
        return reject(
            RejectReason::CriticalHeader,
            "b64 other than true is not allowed in a JWT (RFC 7797 section 7)",
        );
    }
    match h.get("typ") {
        None => {}
        Some(Value::String(t)) => {
            let t = t.to_ascii_lowercase();
            if t == "at+jwt" || t == "application/at+jwt" {
                return reject(
                    RejectReason::WrongType,
                    "typ at+jwt is an access token, not an assertion",
                );
            }
        }
        Some(_) => return reject(RejectReason::WrongType, "header typ is not a string"),
    }
    Ok((alg, unsigned))
}

/// Issuer (RFC 7523 §3 #1, RFC 8725 §3.8): a registered client that may use `alg`.
fn check_issuer<'c>(
    registry: &Registry,
    c: &'c Map<String, Value>,
    alg: Algorithm,
    unsigned: bool,
) -> Result<(&'c str, Arc<Client>), Rejection> {
    let iss = match c.get("iss") {
        Some(Value::String(s)) if !s.is_empty() => s.as_str(),
        Some(_) => return reject(RejectReason::IssInvalid, "iss is not a non-empty string"),
        None => return reject(RejectReason::IssInvalid, "iss is missing"),
    };
    let Some(client) = registry.get(iss) else {
        return reject(
            RejectReason::UnknownIssuer,
            "iss is not a registered client",
        );
    };
    if !unsigned && !client.algs.is_empty() && !client.algs.contains(&alg) {
        return reject(
            RejectReason::AlgNotAllowed,
            format!("alg {alg} is not registered for this client"),
        );
    }
    Ok((iss, client))
}

/// Signature (RFC 7523 §3 #9) with the issuer's registered keys only, inside their validity
/// window when the profile says `check_cert_validity`.
fn check_signature(
    p: &GatewayProfile,
    client: &Client,
    alg: Algorithm,
    jws: &CompactJws<'_>,
    now_ms: i64,
) -> Result<(), Rejection> {
    let mut fitting = 0;
    let mut outside_validity = false;
    let now_s = now_ms.div_euclid(1000);
    for cert in &client.certs {
        let Some(v) = cert.verifier(alg) else {
            continue;
        };
        fitting += 1;
        if v.verify(jws.signing_input, &jws.signature) {
            if p.check_cert_validity && !cert.certificate.is_valid_at(now_s) {
                outside_validity = true;
                continue;
            }
            return Ok(());
        }
    }
    if fitting == 0 {
        return reject(
            RejectReason::AlgNotAllowed,
            format!("alg {alg} does not fit the registered key"),
        );
    }
    if outside_validity {
        return reject(
            RejectReason::CertificateNotValid,
            "the registered certificate is outside its validity window",
        );
    }
    reject(
        RejectReason::BadSignature,
        "signature does not verify with the registered certificate",
    )
}

/// Time (RFC 7523 §3 #4-#6, RFC 7519 §2 NumericDate): `exp`, `nbf`, `iat` and the lifetime
/// against the profile's leeways; returns `exp` in ms.
fn check_time(p: &GatewayProfile, c: &Map<String, Value>, now_ms: i64) -> Result<i64, Rejection> {
    let exp_ms = numeric_date(c, "exp")?.ok_or(Rejection {
        reason: RejectReason::ExpMissing,
        description: "exp is missing".into(),
    })?;
    if now_ms >= exp_ms.saturating_add(millis(p.leeway.exp)) {
        return reject(RejectReason::Expired, "assertion has expired (exp)");
    }
    if let Some(nbf) = numeric_date(c, "nbf")?
        && nbf > now_ms.saturating_add(millis(p.leeway.nbf))
    {
        return reject(
            RejectReason::NotYetValid,
            "assertion is not yet valid (nbf)",
        );
    }
    let iat = numeric_date(c, "iat")?;
    match iat {
        None if p.iat_required => return reject(RejectReason::IatMissing, "iat is missing"),
        Some(iat) if iat > now_ms.saturating_add(millis(p.leeway.iat_future)) => {
            return reject(RejectReason::IatInFuture, "iat is in the future");
        }
        _ => {}
    }
    if let Some(max) = p.max_assertion_lifetime {
        let life = exp_ms - iat.unwrap_or(now_ms);
        if life > millis(max) {
            let basis = if iat.is_some() {
                "exp - iat"
            } else {
                "exp - now"
            };
            return reject(
                RejectReason::LifetimeTooLong,
                format!("assertion lifetime ({basis}) exceeds {}s", max.as_secs()),
            );
        }
    }
    Ok(exp_ms)
}

/// Subject (RFC 7523 §3 #2): present when required, equal to `iss` under `equal-iss`.
fn check_subject(p: &GatewayProfile, c: &Map<String, Value>, iss: &str) -> Result<(), Rejection> {
    match c.get("sub") {
        None if p.sub_required => reject(RejectReason::SubMissing, "sub is missing"),
        Some(Value::String(s)) if p.sub_policy == SubPolicy::EqualIss && s != iss => {
            reject(RejectReason::SubMismatch, "sub must equal iss")
        }
        None | Some(Value::String(_)) => Ok(()),
        Some(_) => reject(RejectReason::ClaimType, "sub is not a string"),
    }
}

/// `jti` (RFC 7523 §3 #7; RFC 7519 §4.1.7): present when required, 1 to [`MAX_JTI_LEN`] bytes.
fn check_jti(p: &GatewayProfile, c: &Map<String, Value>) -> Result<Option<String>, Rejection> {
    match c.get("jti") {
        None if p.jti_required => reject(RejectReason::JtiMissing, "jti is missing"),
        None => Ok(None),
        Some(Value::String(s)) if s.is_empty() || s.len() > MAX_JTI_LEN => reject(
            RejectReason::JtiInvalid,
            format!("jti must have 1 to {MAX_JTI_LEN} bytes"),
        ),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => reject(RejectReason::ClaimType, "jti is not a string"),
    }
}

/// Replay (RFC 7523 §3 #7): records the `jti` of a fully valid assertion until its `exp`
/// (plus leeway), per issuer or gateway-wide as the profile says; a second use is refused.
fn record_jti(
    p: &GatewayProfile,
    replay: &ReplayStore,
    iss: &str,
    jti: Option<&str>,
    exp_ms: i64,
    now_ms: i64,
) -> Result<(), Rejection> {
    if let (ReplayProtection::Jti, Some(j)) = (p.replay_protection, jti) {
        let scope = if p.jti_scope == JtiScope::PerIssuer {
            iss
        } else {
            ""
        };
        let keep = exp_ms.saturating_add(millis(p.leeway.exp));
        if !replay.check_and_insert(scope, j, keep, now_ms) {
            return reject(RejectReason::Replay, "jti has already been used");
        }
    }
    Ok(())
}

/// Reads a NumericDate claim (RFC 7519 §2: a JSON number, fractions allowed) as ms.
fn numeric_date(c: &Map<String, Value>, name: &str) -> Result<Option<i64>, Rejection> {
    let Some(v) = c.get(name) else {
        return Ok(None);
    };
    let Value::Number(n) = v else {
        return reject(
            RejectReason::ClaimType,
            format!("{name} is not a JSON number (NumericDate)"),
        );
    };
    let secs = if let Some(i) = n.as_i64() {
        i as f64
    } else if let Some(u) = n.as_u64() {
        u as f64
    } else {
        n.as_f64().unwrap_or(f64::NAN)
    };
    if !secs.is_finite() || !(0.0..=MAX_NUMERIC_DATE).contains(&secs) {
        return reject(RejectReason::ClaimType, format!("{name} is out of range"));
    }
    // In range, so the product fits an i64 with ms precision.
    let ms = (secs * 1000.0).floor() as i64;
    Ok(Some(ms))
}

impl AssertionInfo {
    /// Reads the header and claims of `compact` without verifying anything (for the observer
    /// when a request is refused before validation); `None` when it does not parse.
    pub fn peek(compact: &str) -> Option<Self> {
        let jws = parse_compact(compact).ok()?;
        let mut i = Self::default();
        fill_info(&mut i, &jws.header, &jws.claims);
        Some(i)
    }
}

fn fill_info(i: &mut AssertionInfo, h: &Map<String, Value>, c: &Map<String, Value>) {
    let s = |m: &Map<String, Value>, k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    let f = |k: &str| c.get(k).and_then(Value::as_f64);
    i.alg = s(h, "alg");
    i.typ = s(h, "typ");
    i.kid = s(h, "kid");
    i.header_params = h.keys().cloned().collect();
    i.iss = s(c, "iss");
    i.sub = s(c, "sub");
    i.aud = match c.get("aud") {
        Some(Value::String(a)) => Some(vec![a.clone()]),
        Some(Value::Array(v)) => Some(
            v.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    };
    i.exp = f("exp");
    i.nbf = f("nbf");
    i.iat = f("iat");
    i.non_numeric = ["exp", "nbf", "iat"]
        .into_iter()
        .filter(|k| c.get(*k).is_some_and(|v| !v.is_number()))
        .map(str::to_owned)
        .collect();
    i.jti = s(c, "jti");
}
