//! JWT assertions for the jwt-bearer grant (RFC 7523 §2.1, §3): claims, header, compact
//! serialization (RFC 7515 §7.1) and signing with a key parsed once.
//!
//! The header is serialized and base64url-encoded once per [`AssertionSigner`]; each
//! assertion then costs one claims serialization, one base64url pass and one signature.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use crate::alg::Algorithm;
use crate::clock::{SharedClock, SystemClock};
use crate::error::{Error, Result};
use crate::key::SigningKey;
use crate::secret::Assertion;

/// The `aud` claim: one string or an array (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences; the gateway must find its own identity among them.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `id` is one of the audiences (simple string comparison, RFC 7523 §3 #3).
    pub fn contains(&self, id: &str) -> bool {
        match self {
            Self::One(a) => a == id,
            Self::Many(v) => v.iter().any(|a| a == id),
        }
    }
}

impl From<&str> for Audience {
    fn from(s: &str) -> Self {
        Self::One(s.to_owned())
    }
}

/// The claims of one assertion (RFC 7523 §3, RFC 7519 §4.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// `iss`: the client id (RFC 7523 §3 #1).
    pub iss: String,
    /// `sub`: the principal; the client id when the client acts for itself (§3 #2).
    pub sub: String,
    /// `aud`: the token endpoint URL or another agreed identity (§3 #3).
    pub aud: Audience,
    /// `iat`: issued at, seconds since the epoch (§3 #6).
    pub iat: i64,
    /// `exp`: expiry, seconds since the epoch (§3 #4).
    pub exp: i64,
    /// `nbf`: not before (§3 #5).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub nbf: Option<i64>,
    /// `jti`: unique id, lets the gateway refuse replays (§3 #7).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub jti: Option<String>,
    /// `scope`: a claim some gateways read (Google) instead of the form parameter.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
    /// Any other claims (§3 #8).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Makes `jti` values: 128 random bits, base64url (22 characters), with an optional prefix
/// so shards of a distributed run draw from disjoint spaces.
pub trait JtiSource: Send + Sync + std::fmt::Debug {
    /// A fresh `jti`.
    fn next_jti(&self) -> String;
}

/// Random `jti`s from the system CSPRNG.
#[derive(Debug, Clone, Default)]
pub struct RandomJti {
    prefix: String,
}

impl RandomJti {
    /// `jti`s of the form `{prefix}{22 base64url characters}`.
    pub fn with_prefix(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }
}

impl JtiSource for RandomJti {
    fn next_jti(&self) -> String {
        let mut bytes = [0u8; 16];
        // The system RNG failing is unrecoverable for any crypto; fall back to rand's
        // thread RNG rather than emit a predictable jti.
        if aws_lc_rs::rand::fill(&mut bytes).is_err() {
            bytes = rand::random();
        }
        let mut s = String::with_capacity(self.prefix.len() + 22);
        s.push_str(&self.prefix);
        B64.encode_string(bytes, &mut s);
        s
    }
}

/// Deterministic `jti`s from a seed, for reproducible tests.
#[derive(Debug)]
pub struct SeededJti(std::sync::Mutex<rand::rngs::StdRng>);

impl SeededJti {
    /// A source seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        use rand::SeedableRng as _;
        Self(std::sync::Mutex::new(rand::rngs::StdRng::seed_from_u64(
            seed,
        )))
    }
}

impl JtiSource for SeededJti {
    fn next_jti(&self) -> String {
        use rand::RngCore as _;
        let mut bytes = [0u8; 16];
        match self.0.lock() {
            Ok(mut rng) => rng.fill_bytes(&mut bytes),
            Err(poisoned) => poisoned.into_inner().fill_bytes(&mut bytes),
        }
        B64.encode(bytes)
    }
}

/// Adapts a [`SigningKey`] to `jsonwebtoken`'s [`JwtSigner`](jsonwebtoken::crypto::JwtSigner)
/// trait, so code built on that crate signs with a key parsed once.
#[derive(Debug, Clone)]
pub struct JwsSigner {
    key: Arc<SigningKey>,
    alg: Algorithm,
}

impl JwsSigner {
    /// A signer for `alg` with `key`.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] or [`Error::WeakKey`].
    pub fn new(key: Arc<SigningKey>, alg: Algorithm) -> Result<Self> {
        key.kind().check(alg)?;
        Ok(Self { key, alg })
    }
}

impl jsonwebtoken::signature::Signer<Vec<u8>> for JwsSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, jsonwebtoken::signature::Error> {
        self.key
            .sign(self.alg, msg)
            .map_err(jsonwebtoken::signature::Error::from_source)
    }
}

impl jsonwebtoken::crypto::JwtSigner for JwsSigner {
    fn algorithm(&self) -> jsonwebtoken::Algorithm {
        self.alg.to_jsonwebtoken()
    }
}

/// Signs `header_json` and `claims_json` (raw bytes, used as given) into a compact JWS.
/// The conformance runner uses it to sign deliberately odd headers and payloads.
///
/// # Errors
/// As [`SigningKey::sign`].
pub fn sign_raw(
    key: &SigningKey,
    alg: Algorithm,
    header_json: &[u8],
    claims_json: &[u8],
) -> Result<String> {
    let mut out = String::with_capacity((header_json.len() + claims_json.len()) * 4 / 3 + 400);
    B64.encode_string(header_json, &mut out);
    out.push('.');
    B64.encode_string(claims_json, &mut out);
    let sig = key.sign(alg, out.as_bytes())?;
    out.push('.');
    B64.encode_string(sig, &mut out);
    Ok(out)
}

/// What every assertion of one client carries; see [`AssertionSigner::builder`].
#[derive(Debug)]
pub struct AssertionBuilder {
    key: Arc<SigningKey>,
    alg: Option<Algorithm>,
    client_id: String,
    subject: Option<String>,
    audience: Option<Audience>,
    ttl: Duration,
    not_before: bool,
    scope: Option<String>,
    extra: serde_json::Map<String, serde_json::Value>,
    kid: Option<String>,
    x5t_s256: Option<String>,
    typ: Option<String>,
    clock: SharedClock,
    jti: Option<Arc<dyn JtiSource>>,
}

const RESERVED: [&str; 8] = ["iss", "sub", "aud", "iat", "exp", "nbf", "jti", "scope"];

impl AssertionBuilder {
    /// The algorithm; defaults to the key's natural one (RS256 for RSA).
    pub fn algorithm(mut self, alg: Algorithm) -> Self {
        self.alg = Some(alg);
        self
    }
    /// `sub`; defaults to the client id.
    pub fn subject(mut self, sub: impl Into<String>) -> Self {
        self.subject = Some(sub.into());
        self
    }
    /// `aud`; required (the token URL by convention).
    pub fn audience(mut self, aud: impl Into<Audience>) -> Self {
        self.audience = Some(aud.into());
        self
    }
    /// Lifetime: `exp = iat + ttl`. Defaults to 60 s.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }
    /// Whether to send `nbf = iat`. Defaults to false.
    pub fn not_before(mut self, yes: bool) -> Self {
        self.not_before = yes;
        self
    }
    /// A `scope` claim.
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }
    /// A custom claim. Registered names (`iss`, `exp`, …) are refused by [`Self::build`].
    pub fn claim(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.extra.insert(name.into(), value);
        self
    }
    /// A `kid` header.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }
    /// An `x5t#S256` header (see [`crate::Certificate::x5t_s256`]).
    pub fn x5t_s256(mut self, thumbprint: impl Into<String>) -> Self {
        self.x5t_s256 = Some(thumbprint.into());
        self
    }
    /// The `typ` header; defaults to `JWT`. `None` omits it.
    pub fn typ(mut self, typ: Option<String>) -> Self {
        self.typ = typ;
        self
    }
    /// The clock (defaults to the system clock).
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }
    /// The `jti` source (defaults to [`RandomJti`]).
    pub fn jti_source(mut self, jti: Arc<dyn JtiSource>) -> Self {
        self.jti = Some(jti);
        self
    }

    /// Checks the settings and serializes the header once.
    ///
    /// # Errors
    /// [`Error::InvalidClaim`] for a missing audience, an empty client id or a custom claim
    /// with a registered name; [`Error::AlgorithmMismatch`] / [`Error::WeakKey`].
    pub fn build(self) -> Result<AssertionSigner> {
        let alg = self
            .alg
            .unwrap_or_else(|| self.key.kind().default_algorithm());
        let signer = JwsSigner::new(Arc::clone(&self.key), alg)?;
        if self.client_id.is_empty() {
            return Err(Error::InvalidClaim {
                name: "iss".into(),
                reason: "client id is empty".into(),
            });
        }
        let aud = self.audience.ok_or_else(|| Error::InvalidClaim {
            name: "aud".into(),
            reason: "no audience given (the token URL, by convention)".into(),
        })?;
        if let Some(name) = self.extra.keys().find(|k| RESERVED.contains(&k.as_str())) {
            return Err(Error::InvalidClaim {
                name: name.clone(),
                reason: "is set by bearing; use the matching option".into(),
            });
        }
        if self.ttl.is_zero() {
            return Err(Error::InvalidClaim {
                name: "exp".into(),
                reason: "ttl must be > 0".into(),
            });
        }
        let mut header = jsonwebtoken::Header::new(alg.to_jsonwebtoken());
        header.typ = self.typ;
        header.kid = self.kid;
        header.x5t_s256 = self.x5t_s256;
        let header_json = serde_json::to_vec(&header).map_err(|e| Error::InvalidClaim {
            name: "header".into(),
            reason: e.to_string(),
        })?;
        let header_b64 = B64.encode(header_json);
        Ok(AssertionSigner {
            signer,
            header_b64,
            template: Claims {
                iss: self.client_id.clone(),
                sub: self.subject.unwrap_or(self.client_id),
                aud,
                iat: 0,
                exp: 0,
                nbf: None,
                jti: None,
                scope: self.scope,
                extra: self.extra,
            },
            ttl_secs: i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2),
            not_before: self.not_before,
            clock: self.clock,
            jti: self.jti.unwrap_or_else(|| Arc::new(RandomJti::default())),
        })
    }
}

/// Signs assertions for one client: cheap to call, safe to share across tasks.
#[derive(Debug, Clone)]
pub struct AssertionSigner {
    signer: JwsSigner,
    header_b64: String,
    template: Claims,
    ttl_secs: i64,
    not_before: bool,
    clock: SharedClock,
    jti: Arc<dyn JtiSource>,
}

impl AssertionSigner {
    /// Starts a builder for assertions of `client_id` signed with `key`.
    pub fn builder(key: Arc<SigningKey>, client_id: impl Into<String>) -> AssertionBuilder {
        AssertionBuilder {
            key,
            alg: None,
            client_id: client_id.into(),
            subject: None,
            audience: None,
            ttl: Duration::from_secs(60),
            not_before: false,
            scope: None,
            extra: serde_json::Map::new(),
            kid: None,
            x5t_s256: None,
            typ: Some("JWT".into()),
            clock: Arc::new(SystemClock),
            jti: None,
        }
    }

    /// The signing algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.signer.alg
    }

    /// The signing key.
    pub fn key(&self) -> &Arc<SigningKey> {
        &self.signer.key
    }

    /// The client id (`iss`).
    pub fn client_id(&self) -> &str {
        &self.template.iss
    }

    /// The configured audience.
    pub fn audience(&self) -> &Audience {
        &self.template.aud
    }

    /// The lifetime of each assertion.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.ttl_secs).unwrap_or(0))
    }

    /// The claims the next assertion would carry, with a fresh `jti` and the clock's time.
    pub fn next_claims(&self) -> Claims {
        let now = self.clock.now_secs();
        let mut c = self.template.clone();
        c.iat = now;
        c.exp = now.saturating_add(self.ttl_secs);
        c.nbf = self.not_before.then_some(now);
        c.jti = Some(self.jti.next_jti());
        c
    }

    /// Signs a fresh assertion: new `jti`, `iat` = now, `exp` = now + ttl.
    ///
    /// # Errors
    /// [`Error::Signing`] when the crypto library fails.
    pub fn sign(&self) -> Result<Assertion> {
        self.sign_claims(&self.next_claims())
    }

    /// Signs the given claims with this signer's header and key.
    ///
    /// # Errors
    /// [`Error::Signing`] when the crypto library fails.
    pub fn sign_claims(&self, claims: &Claims) -> Result<Assertion> {
        let payload = serde_json::to_vec(claims).map_err(|e| Error::InvalidClaim {
            name: "claims".into(),
            reason: e.to_string(),
        })?;
        let mut out = String::with_capacity(self.header_b64.len() + payload.len() * 4 / 3 + 360);
        out.push_str(&self.header_b64);
        out.push('.');
        B64.encode_string(&payload, &mut out);
        let sig = jsonwebtoken::signature::Signer::try_sign(&self.signer, out.as_bytes())
            .map_err(|e| Error::Signing(e.to_string()))?;
        out.push('.');
        B64.encode_string(sig, &mut out);
        Ok(Assertion::new(out, claims.jti.clone(), claims.exp))
    }
}

/// A decoded (not verified) JWT: header and claims as JSON, plus the signed part.
#[derive(Debug, Clone)]
pub struct DecodedJwt {
    /// The JOSE header.
    pub header: serde_json::Value,
    /// The claims.
    pub claims: serde_json::Value,
    /// The signature bytes.
    pub signature: Vec<u8>,
    signing_input_len: usize,
}

impl DecodedJwt {
    /// Splits and decodes a compact JWS without verifying it.
    ///
    /// # Errors
    /// [`Error::InvalidJwt`] naming the segment at fault.
    pub fn parse(compact: &str) -> Result<Self> {
        let parts: Vec<&str> = compact.trim().split('.').collect();
        if parts.len() != 3 {
            return Err(Error::InvalidJwt(format!(
                "expected 3 dot-separated segments, found {}",
                parts.len()
            )));
        }
        let seg = |i: usize, name: &str| {
            B64.decode(parts[i])
                .map_err(|e| Error::InvalidJwt(format!("{name} segment: {e}")))
        };
        let json = |bytes: Vec<u8>, name: &str| {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| Error::InvalidJwt(format!("{name} is not JSON: {e}")))
        };
        let header = json(seg(0, "header")?, "header")?;
        let claims = json(seg(1, "payload")?, "payload")?;
        let signature = seg(2, "signature")?;
        Ok(Self {
            header,
            claims,
            signature,
            signing_input_len: parts[0].len() + 1 + parts[1].len(),
        })
    }

    /// Verifies the signature of `compact` (the string this was parsed from) with `cert`,
    /// using the `alg` in the header.
    ///
    /// # Errors
    /// [`Error::UnsupportedAlgorithm`], [`Error::AlgorithmMismatch`] or [`Error::InvalidJwt`]
    /// when the signature does not verify.
    pub fn verify(&self, compact: &str, cert: &crate::cert::Certificate) -> Result<Algorithm> {
        let alg: Algorithm = self
            .header
            .get("alg")
            .and_then(|a| a.as_str())
            .ok_or_else(|| Error::InvalidJwt("header has no alg".into()))?
            .parse()?;
        let verifier = cert.public_key().verifier(alg)?;
        let input = compact
            .trim()
            .as_bytes()
            .get(..self.signing_input_len)
            .unwrap_or_default();
        if verifier.verify(input, &self.signature) {
            Ok(alg)
        } else {
            Err(Error::InvalidJwt(
                "signature does not verify with the certificate".into(),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::Certificate;
    use crate::clock::ManualClock;

    fn signer(alg: Algorithm) -> (AssertionSigner, Certificate) {
        let key = Arc::new(SigningKey::generate(alg, 2048).expect("key"));
        let cert = Certificate::self_signed(&key, "SampleConfId", 1).expect("cert");
        let s = AssertionSigner::builder(key, "SampleConfId")
            .algorithm(alg)
            .audience("https://gw.example/oauth/token")
            .clock(Arc::new(ManualClock::new(1_700_000_000_000)))
            .build()
            .expect("build");
        (s, cert)
    }

    // Claims follow RFC 7523 §3: sub defaults to iss, exp = iat + 60, fresh jti each time.
    #[test]
    fn claims_defaults() {
        let (s, _) = signer(Algorithm::ES256);
        let a = s.next_claims();
        let b = s.next_claims();
        assert_eq!(a.iss, "SampleConfId");
        assert_eq!(a.sub, "SampleConfId");
        assert_eq!(a.iat, 1_700_000_000);
        assert_eq!(a.exp, 1_700_000_060);
        assert_eq!(a.nbf, None);
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.jti.as_deref().map(str::len), Some(22));
    }

    // Every algorithm's assertions verify with jsonwebtoken given only the certificate.
    #[test]
    fn assertions_verify_with_jsonwebtoken() {
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
        ] {
            let (s, cert) = signer(alg);
            let a = s.sign().expect("sign");
            let key = match cert.public_key().kind() {
                crate::KeyKind::Rsa { .. } => {
                    jsonwebtoken::DecodingKey::from_rsa_der(cert.public_key().bytes())
                }
                crate::KeyKind::Ed25519 => {
                    jsonwebtoken::DecodingKey::from_ed_der(cert.public_key().bytes())
                }
                _ => jsonwebtoken::DecodingKey::from_ec_der(cert.public_key().bytes()),
            };
            let mut v = jsonwebtoken::Validation::new(alg.to_jsonwebtoken());
            v.validate_exp = false;
            v.set_audience(&["https://gw.example/oauth/token"]);
            v.set_issuer(&["SampleConfId"]);
            let data = jsonwebtoken::decode::<serde_json::Value>(a.expose(), &key, &v)
                .unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(data.claims["jti"].as_str(), a.jti());
            assert_eq!(data.header.typ.as_deref(), Some("JWT"));
            // And with our own verifier.
            let d = DecodedJwt::parse(a.expose()).expect("parse");
            assert_eq!(d.verify(a.expose(), &cert).expect("verify"), alg);
        }
    }

    // A flipped signature bit fails verification.
    #[test]
    fn tampered_fails() {
        let (s, cert) = signer(Algorithm::RS256);
        let a = s.sign().expect("sign").into_compact();
        let d = DecodedJwt::parse(&a).expect("parse");
        let mut bad = d;
        bad.signature[0] ^= 1;
        assert!(bad.verify(&a, &cert).is_err());
    }

    // Registered claim names cannot be smuggled in as custom claims; aud is required.
    #[test]
    fn builder_validation() {
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let e = AssertionSigner::builder(Arc::clone(&key), "c")
            .audience("a")
            .claim("exp", serde_json::json!(1))
            .build()
            .expect_err("reserved");
        assert!(matches!(e, Error::InvalidClaim { ref name, .. } if name == "exp"));
        let e = AssertionSigner::builder(Arc::clone(&key), "c")
            .build()
            .expect_err("no aud");
        assert!(matches!(e, Error::InvalidClaim { ref name, .. } if name == "aud"));
        let e = AssertionSigner::builder(key, "c")
            .audience("a")
            .algorithm(Algorithm::RS256)
            .build()
            .expect_err("mismatch");
        assert!(matches!(e, Error::AlgorithmMismatch { .. }));
    }

    // Custom claims, scope, nbf, array audiences and header fields all reach the token.
    #[test]
    fn options_reach_the_token() {
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let s = AssertionSigner::builder(key, "c")
            .audience(Audience::Many(vec!["x".into(), "y".into()]))
            .subject("user-1")
            .scope("read")
            .not_before(true)
            .claim("x-bank", serde_json::json!("1"))
            .kid("k1")
            .x5t_s256("thumb")
            .ttl(Duration::from_secs(30))
            .jti_source(Arc::new(SeededJti::new(7)))
            .build()
            .expect("build");
        let d = DecodedJwt::parse(s.sign().expect("sign").expose()).expect("parse");
        assert_eq!(d.claims["aud"], serde_json::json!(["x", "y"]));
        assert_eq!(d.claims["sub"], "user-1");
        assert_eq!(d.claims["scope"], "read");
        assert_eq!(d.claims["x-bank"], "1");
        assert_eq!(d.claims["nbf"], d.claims["iat"]);
        assert_eq!(
            d.claims["exp"].as_i64(),
            d.claims["iat"].as_i64().map(|i| i + 30)
        );
        assert_eq!(d.header["kid"], "k1");
        assert_eq!(d.header["x5t#S256"], "thumb");
        assert_eq!(d.header["alg"], "ES256");
        // Seeded jti sources repeat across instances.
        assert_eq!(
            SeededJti::new(7).next_jti(),
            d.claims["jti"].as_str().unwrap_or_default()
        );
    }

    // Malformed compact strings are errors, not panics.
    #[test]
    fn decode_garbage() {
        for bad in [
            "",
            "a.b",
            "a.b.c.d",
            "!!.e30.AA",
            "e30.!!.AA",
            "bm90anNvbg.e30.AA",
        ] {
            assert!(DecodedJwt::parse(bad).is_err(), "{bad}");
        }
    }
}
