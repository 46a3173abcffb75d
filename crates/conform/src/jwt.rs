//! Building assertions from the baseline (B-JWT) and a list of [`Mutation`]s. Structural
//! changes (claims, header, keys) apply first, in order; then the JSON texts are produced and
//! the text-level changes (duplicate members, raw replacements, encodings) applied; then the
//! JWS is signed over exactly what is sent; then signature and serialization changes.
//! Signing goes through bearing-auth ([`bearing_auth::SigningKey::sign`]); only the HMAC of
//! the key-confusion attack is computed here.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};

use bearing_auth::{Algorithm, Certificate, SigningKey};

use crate::expr::{ProfileJson, Vars};
use crate::model::Mutation;
use crate::model::mutation::{
    Base64Variant, Duplicate, HmacKey, JsonKind, KeyRef, Position, SignatureChange, TextEncoding,
};

/// The keys a mutation may sign with.
#[derive(Debug, Clone)]
pub struct Keys {
    /// The key of the registered certificate.
    pub registered: Arc<SigningKey>,
    /// The registered certificate, when the target names one.
    pub registered_cert: Option<Certificate>,
    /// The identity's signing algorithm (RS256 for RSA keys).
    pub default_alg: Algorithm,
    /// The attacker's (fresh, unregistered) key.
    pub attacker: Arc<SigningKey>,
    /// The attacker's self-signed certificate, CN = the client id.
    pub attacker_cert: Certificate,
    /// The second client's key, when there is one.
    pub second: Option<Arc<SigningKey>>,
}

/// Resolves a template placeholder (`name`, optional argument) to its value.
pub type Lookup<'a> = dyn FnMut(&str, Option<&str>) -> Result<String, String> + 'a;

/// Why an assertion could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// The target lacks what the mutation needs (no certificate, no second client): skip.
    Unavailable(String),
    /// Anything else: the case errors.
    Failed(String),
}

/// A built assertion with the claims a later step may need.
#[derive(Debug, Clone)]
pub struct Built {
    /// The assertion as sent. A secret: never logged or reported.
    pub compact: String,
    /// Its `jti`, when a string.
    pub jti: Option<String>,
    /// Its `exp`, when a number.
    pub exp: Option<f64>,
}

enum Signer {
    Key(KeyRef, Option<Algorithm>),
    Hmac(HmacKey, &'static str),
}

enum TextOp<'a> {
    DupClaim(&'a Duplicate),
    DupHeader(&'a Duplicate),
    RawClaims(&'a str),
    RawHeader(&'a str),
}

fn fail(m: impl Into<String>) -> BuildError {
    BuildError::Failed(m.into())
}

fn number(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        // Integral and exactly representable: write as an integer.
        #[expect(
            clippy::cast_possible_truncation,
            reason = "checked integral and in range"
        )]
        Value::from(v as i64)
    } else {
        serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
    }
}

fn retype(v: &Value, to: JsonKind) -> Value {
    match to {
        JsonKind::Array => Value::Array(vec![v.clone()]),
        JsonKind::Number => match v {
            Value::Number(_) => v.clone(),
            Value::String(s) => s.parse::<f64>().map_or_else(|_| Value::from(12345), number),
            _ => Value::from(12345),
        },
        JsonKind::String => match v {
            Value::String(_) => v.clone(),
            Value::Null => Value::String(String::new()),
            other => Value::String(other.to_string()),
        },
        JsonKind::Object => serde_json::json!({ "value": v }),
        JsonKind::Boolean => Value::Bool(true),
        JsonKind::Null => Value::Null,
    }
}

/// The RSA modulus and exponent of an `RSAPublicKey` DER (RFC 8017 A.1.1), for a JWK.
fn rsa_n_e(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    fn read(b: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
        if b.first() != Some(&tag) {
            return None;
        }
        let first = *b.get(1)?;
        let (len, start) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7f);
            let bytes = b.get(2..2 + n)?;
            (
                bytes
                    .iter()
                    .fold(0usize, |acc, &x| (acc << 8) | usize::from(x)),
                2 + n,
            )
        };
        let body = b.get(start..start + len)?;
        Some((body, &b[start + len..]))
    }
    let (seq, _) = read(der, 0x30)?;
    let (n, rest) = read(seq, 0x02)?;
    let (e, _) = read(rest, 0x02)?;
    let strip = |x: &[u8]| {
        x.iter()
            .skip_while(|&&b| b == 0)
            .copied()
            .collect::<Vec<u8>>()
    };
    Some((strip(n), strip(e)))
}

/// The attacker's public key as a JWK (RFC 7517), for `jwk` headers and the JWKS listener.
pub fn attacker_jwk(key: &SigningKey) -> Value {
    match rsa_n_e(key.public_key_bytes()) {
        Some((n, e)) => serde_json::json!({
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(n),
            "e": URL_SAFE_NO_PAD.encode(e),
            "alg": "RS256",
            "use": "sig",
            "kid": "attacker",
        }),
        None => Value::Null,
    }
}

fn inject(text: &str, d: &Duplicate, value: &Value) -> String {
    let member = format!("{}:{}", Value::String(d.name.clone()), value);
    let inner = text.trim();
    let Some(body) = inner.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
        return text.to_owned();
    };
    let body = body.trim();
    match (body.is_empty(), d.position) {
        (true, _) => format!("{{{member}}}"),
        (false, Position::First) => format!("{{{member},{body}}}"),
        (false, Position::Last) => format!("{{{body},{member}}}"),
    }
}

fn encode(bytes: &[u8], variant: Option<Base64Variant>) -> String {
    match variant {
        None => URL_SAFE_NO_PAD.encode(bytes),
        Some(Base64Variant::Padded) => URL_SAFE.encode(bytes),
        Some(Base64Variant::Standard) => STANDARD.encode(bytes),
    }
}

fn hmac_key_bytes(keys: &Keys, which: HmacKey) -> Result<Vec<u8>, BuildError> {
    let cert = || {
        keys.registered_cert.as_ref().ok_or_else(|| {
            BuildError::Unavailable("the target names no registered certificate".into())
        })
    };
    let spki = || {
        keys.registered
            .public_key_spki_der()
            .map_err(|e| fail(e.to_string()))
    };
    Ok(match which {
        HmacKey::SpkiDer => spki()?,
        HmacKey::SpkiPem => bearing_auth::pem_encode("PUBLIC KEY", &spki()?).into_bytes(),
        HmacKey::CertDer => cert()?.der().to_vec(),
        HmacKey::CertPem => cert()?.to_pem().into_bytes(),
    })
}

fn hmac(alg: &str, key: &[u8], msg: &[u8]) -> Vec<u8> {
    use aws_lc_rs::hmac;
    let algorithm = match alg {
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    hmac::sign(&hmac::Key::new(algorithm, key), msg)
        .as_ref()
        .to_vec()
}

/// What the mutations change below the JSON objects (text edits, encodings, the signer,
/// the signature, the serialization): collected while the objects are edited, applied once
/// the texts exist.
struct Wire<'m> {
    signer: Signer,
    text_ops: Vec<TextOp<'m>>,
    encoding: Option<TextEncoding>,
    sig_change: Option<SignatureChange>,
    b64: Option<Base64Variant>,
    whitespace: Option<String>,
    json_serialization: bool,
    extra_segment: Option<String>,
    unencoded: bool,
    oversize: Option<usize>,
}

/// Builds one assertion: `header` and `claims` are the baseline, `vars` its times.
///
/// # Errors
/// [`BuildError::Unavailable`] when the target lacks what a mutation needs;
/// [`BuildError::Failed`] for template or signing failures.
pub fn build(
    mut header: Map<String, Value>,
    mut claims: Map<String, Value>,
    mutations: &[Mutation],
    keys: &Keys,
    vars: Vars,
    profile: &ProfileJson,
    lookup: &mut Lookup<'_>,
) -> Result<Built, BuildError> {
    let wire = apply_mutations(
        &mut header,
        &mut claims,
        mutations,
        keys,
        &vars,
        profile,
        lookup,
    )?;
    if let Some(n) = wire.oversize {
        claims.insert(
            "pad".into(),
            Value::String("A".repeat(n.saturating_mul(3) / 4)),
        );
    }
    let jti = claims.get("jti").and_then(Value::as_str).map(str::to_owned);
    let exp = claims.get("exp").and_then(Value::as_f64);
    let (header_text, claims_text) = json_texts(header, claims, &wire.text_ops, lookup)?;
    let claims_bytes = match wire.encoding {
        Some(TextEncoding::Utf16le) => {
            let mut out = vec![0xFF, 0xFE];
            out.extend(claims_text.encode_utf16().flat_map(u16::to_le_bytes));
            out
        }
        None => claims_text.into_bytes(),
    };
    let header_seg = encode(header_text.as_bytes(), wire.b64);
    let payload_seg = if wire.unencoded {
        String::from_utf8_lossy(&claims_bytes).into_owned()
    } else {
        encode(&claims_bytes, wire.b64)
    };
    let signing_input = format!("{header_seg}.{payload_seg}");
    let mut signature = sign(keys, &wire.signer, &signing_input)?;
    change_signature(&mut signature, wire.sig_change.as_ref());
    let compact = serialize(&wire, &signing_input, &header_seg, &payload_seg, &signature);
    Ok(Built { compact, jti, exp })
}

/// A JSON value with its template placeholders expanded.
fn lookup_json(v: &Value, lookup: &mut Lookup<'_>) -> Result<Value, BuildError> {
    crate::template::expand_json(v, &mut |n, a| lookup(n, a)).map_err(BuildError::Failed)
}

/// The structural step: edits `header` and `claims` in the order the mutations are listed
/// and collects the rest into a [`Wire`].
fn apply_mutations<'m>(
    header: &mut Map<String, Value>,
    claims: &mut Map<String, Value>,
    mutations: &'m [Mutation],
    keys: &Keys,
    vars: &Vars,
    profile: &ProfileJson,
    lookup: &mut Lookup<'_>,
) -> Result<Wire<'m>, BuildError> {
    let mut w = Wire {
        signer: Signer::Key(KeyRef::Registered, None),
        text_ops: Vec::new(),
        encoding: None,
        sig_change: None,
        b64: None,
        whitespace: None,
        json_serialization: false,
        extra_segment: None,
        unencoded: false,
        oversize: None,
    };
    for m in mutations {
        match m {
            Mutation::SetClaim(map) => {
                for (k, v) in map {
                    claims.insert(k.clone(), lookup_json(v, lookup)?);
                }
            }
            Mutation::RemoveClaim(names) => {
                for n in names.as_slice() {
                    claims.remove(n);
                }
            }
            Mutation::ClaimType { name, to } => {
                let current = claims.get(name).cloned().unwrap_or(Value::Null);
                claims.insert(name.clone(), retype(&current, *to));
            }
            Mutation::Time(map) => {
                for (k, e) in map {
                    let v = e.eval(vars, profile).ok_or_else(|| {
                        BuildError::Unavailable(format!(
                            "{} has no value under this profile",
                            e.source()
                        ))
                    })?;
                    claims.insert(k.clone(), number(v));
                }
            }
            Mutation::Shift(map) => {
                // Bases are read before any shift: `nbf` without a value starts at the
                // unshifted `iat`.
                let before = claims.clone();
                for (k, d) in map {
                    let delta = crate::expr::parse_signed_duration(d).map_err(fail)?;
                    let base = before
                        .get(k)
                        .and_then(Value::as_f64)
                        .or_else(|| {
                            (k == "nbf")
                                .then(|| before.get("iat").and_then(Value::as_f64))
                                .flatten()
                        })
                        .unwrap_or(vars.now);
                    claims.insert(k.clone(), number(base + delta));
                }
            }
            Mutation::SetHeader(map) => {
                for (k, v) in map {
                    header.insert(k.clone(), lookup_json(v, lookup)?);
                }
            }
            Mutation::RemoveHeader(names) => {
                for n in names.as_slice() {
                    header.remove(n);
                }
            }
            Mutation::DuplicateClaim(d) => w.text_ops.push(TextOp::DupClaim(d)),
            Mutation::DuplicateHeader(d) => w.text_ops.push(TextOp::DupHeader(d)),
            Mutation::RawClaims(s) => w.text_ops.push(TextOp::RawClaims(s)),
            Mutation::RawHeader(s) => w.text_ops.push(TextOp::RawHeader(s)),
            Mutation::ClaimsEncoding(e) => w.encoding = Some(*e),
            Mutation::Oversize(n) => w.oversize = Some(*n),
            Mutation::SignWith(s) => {
                let alg = s
                    .alg
                    .as_deref()
                    .map(str::parse::<Algorithm>)
                    .transpose()
                    .map_err(|e| fail(e.to_string()))?;
                if let Some(a) = alg {
                    header.insert("alg".into(), Value::String(a.as_str().into()));
                }
                w.signer = Signer::Key(s.key, alg);
            }
            Mutation::Hmac(h) => {
                let alg = match h.alg.as_deref() {
                    Some("HS384") => "HS384",
                    Some("HS512") => "HS512",
                    _ => "HS256",
                };
                header.insert("alg".into(), Value::String(alg.into()));
                w.signer = Signer::Hmac(h.key, alg);
            }
            Mutation::Signature(c) => w.sig_change = Some(c.clone()),
            Mutation::Base64(v) => w.b64 = Some(*v),
            Mutation::Whitespace(ws) => w.whitespace = Some(ws.clone()),
            Mutation::JsonSerialization => w.json_serialization = true,
            Mutation::ExtraSegment(s) => w.extra_segment = Some(s.clone()),
            Mutation::UnencodedPayload => {
                w.unencoded = true;
                header.insert("b64".into(), Value::Bool(false));
                header.insert("crit".into(), serde_json::json!(["b64"]));
            }
            Mutation::EmbedJwk => {
                header.insert("jwk".into(), attacker_jwk(&keys.attacker));
                w.signer = Signer::Key(KeyRef::Attacker, None);
            }
            Mutation::EmbedX5c => {
                header.insert(
                    "x5c".into(),
                    serde_json::json!([keys.attacker_cert.to_base64_der()]),
                );
                w.signer = Signer::Key(KeyRef::Attacker, None);
            }
        }
    }
    Ok(w)
}

/// The JSON texts of header and claims, with the text-level changes (duplicate members, raw
/// replacements) applied in order.
fn json_texts(
    header: Map<String, Value>,
    claims: Map<String, Value>,
    text_ops: &[TextOp<'_>],
    lookup: &mut Lookup<'_>,
) -> Result<(String, String), BuildError> {
    let mut header_text = Value::Object(header).to_string();
    let mut claims_text = Value::Object(claims).to_string();
    for op in text_ops {
        match op {
            TextOp::DupClaim(d) => {
                claims_text = inject(&claims_text, d, &lookup_json(&d.value, lookup)?);
            }
            TextOp::DupHeader(d) => {
                header_text = inject(&header_text, d, &lookup_json(&d.value, lookup)?);
            }
            TextOp::RawClaims(s) => {
                claims_text = crate::template::expand(s, |n, a| lookup(n, a)).map_err(fail)?;
            }
            TextOp::RawHeader(s) => {
                header_text = crate::template::expand(s, |n, a| lookup(n, a)).map_err(fail)?;
            }
        }
    }
    Ok((header_text, claims_text))
}

/// Signs exactly what is sent, with the key (or HMAC secret) the mutations chose.
fn sign(keys: &Keys, signer: &Signer, signing_input: &str) -> Result<Vec<u8>, BuildError> {
    Ok(match *signer {
        Signer::Hmac(which, alg) => {
            hmac(alg, &hmac_key_bytes(keys, which)?, signing_input.as_bytes())
        }
        Signer::Key(which, alg) => {
            let key = match which {
                KeyRef::Registered => &keys.registered,
                KeyRef::Fresh | KeyRef::Attacker => &keys.attacker,
                KeyRef::Second => keys.second.as_ref().ok_or_else(|| {
                    BuildError::Unavailable("no second client is available".into())
                })?,
            };
            key.sign(alg.unwrap_or(keys.default_alg), signing_input.as_bytes())
                .map_err(|e| fail(e.to_string()))?
        }
    })
}

/// Strips, flips a bit of, or replaces the signature.
fn change_signature(signature: &mut Vec<u8>, change: Option<&SignatureChange>) {
    match change {
        Some(SignatureChange::Strip) => signature.clear(),
        Some(SignatureChange::FlipBit) => {
            let mid = signature.len() / 2;
            if let Some(b) = signature.get_mut(mid) {
                *b ^= 0x01;
            }
        }
        Some(SignatureChange::Zeros(n)) => *signature = vec![0; *n],
        None => {}
    }
}

/// The assertion as sent: compact or JSON serialization, an extra segment, whitespace.
fn serialize(
    wire: &Wire<'_>,
    signing_input: &str,
    header_seg: &str,
    payload_seg: &str,
    signature: &[u8],
) -> String {
    let sig_seg = encode(signature, wire.b64);
    let mut compact = if wire.json_serialization {
        serde_json::json!({ "protected": header_seg, "payload": payload_seg, "signature": sig_seg })
            .to_string()
    } else {
        format!("{signing_input}.{sig_seg}")
    };
    if let Some(x) = &wire.extra_segment {
        compact.push('.');
        compact.push_str(x);
    }
    if let Some(ws) = &wire.whitespace {
        // One break after the header, one in the middle of the payload.
        let dot = compact.find('.').unwrap_or(0);
        let mid = dot + 1 + payload_seg.len() / 2;
        if mid < compact.len() && compact.is_char_boundary(mid) {
            compact.insert_str(mid, ws);
        }
        compact.insert_str(dot + 1, ws);
    }
    compact
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        let registered = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
        let attacker = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
        Keys {
            registered_cert: Some(Certificate::self_signed(&registered, "cid", 1).expect("cert")),
            attacker_cert: Certificate::self_signed(&attacker, "cid", 1).expect("cert"),
            registered,
            attacker,
            default_alg: Algorithm::RS256,
            second: None,
        }
    }

    fn baseline() -> (Map<String, Value>, Map<String, Value>) {
        let h = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        let c = serde_json::json!({"iss": "cid", "sub": "cid", "aud": "https://gw/token", "iat": 1000, "exp": 1060, "jti": "j1"});
        (
            h.as_object().cloned().expect("obj"),
            c.as_object().cloned().expect("obj"),
        )
    }

    fn run(muts: &str, k: &Keys) -> Result<Built, BuildError> {
        let muts: Vec<Mutation> = bearing_auth::yaml::from_str(muts, "test").expect("mutations");
        let (h, c) = baseline();
        let p = crate::expr::profile_json(&bearing_auth::GatewayProfile::default());
        let vars = Vars {
            now: 1000.0,
            iat: 1000.0,
            exp: 1060.0,
        };
        build(h, c, &muts, k, vars, &p, &mut |n, _| match n {
            "token_url" => Ok("https://gw/token".into()),
            other => Err(format!("no {other}")),
        })
    }

    fn parts(b: &Built) -> (Value, Value, Vec<u8>) {
        let d = bearing_auth::DecodedJwt::parse(&b.compact).expect("decodes");
        (d.header, d.claims, d.signature)
    }

    // The unmutated baseline verifies with the registered certificate.
    #[test]
    fn baseline_verifies() {
        let k = keys();
        let b = run("[]", &k).expect("build");
        let d = bearing_auth::DecodedJwt::parse(&b.compact).expect("decode");
        d.verify(&b.compact, k.registered_cert.as_ref().expect("cert"))
            .expect("verifies");
        assert_eq!(b.jti.as_deref(), Some("j1"));
    }

    // Claim, time and header mutations land where they should.
    #[test]
    fn structural_mutations() {
        let k = keys();
        let b = run(
            "- set_claim: { aud: '{token_url}/' }\n- remove_claim: [jti, sub]\n- time: { exp: now + 60.5s, nbf: now - 5s }\n- claim_type: { name: iss, to: array }\n- set_header: { kid: x }\n- remove_header: typ\n",
            &k,
        )
        .expect("build");
        let (h, c, _) = parts(&b);
        assert_eq!(c["aud"], "https://gw/token/");
        assert!(c.get("jti").is_none() && c.get("sub").is_none());
        assert_eq!(c["exp"], 1060.5);
        assert_eq!(c["nbf"], 995);
        assert_eq!(c["iss"], serde_json::json!(["cid"]));
        assert_eq!(h["kid"], "x");
        assert!(h.get("typ").is_none());
        let b = run("- shift: { iat: +62s, nbf: +62s, exp: +62s }\n", &k).expect("build");
        let (_, c, _) = parts(&b);
        assert_eq!(
            (c["iat"].as_i64(), c["nbf"].as_i64(), c["exp"].as_i64()),
            (Some(1062), Some(1062), Some(1122))
        );
    }

    // alg none, HMAC confusion, flipped and zeroed signatures.
    #[test]
    fn signature_mutations() {
        let k = keys();
        let b = run("- set_header: { alg: nOnE }\n- signature: strip\n", &k).expect("build");
        assert!(b.compact.ends_with('.'));
        assert_eq!(parts(&b).0["alg"], "nOnE");
        let b = run("- hmac: { key: spki_pem }\n", &k).expect("build");
        let (h, _, sig) = parts(&b);
        assert_eq!(h["alg"], "HS256");
        assert_eq!(sig.len(), 32);
        let b = run("- hmac: { key: cert_der, alg: HS512 }\n", &k).expect("build");
        assert_eq!(parts(&b).2.len(), 64);
        let good = run("[]", &k).expect("build");
        let flipped = run("- signature: flip_bit\n", &k).expect("build");
        let cert = k.registered_cert.as_ref().expect("cert");
        let d = bearing_auth::DecodedJwt::parse(&flipped.compact).expect("decode");
        assert!(d.verify(&flipped.compact, cert).is_err());
        assert_ne!(good.compact, flipped.compact);
        let b = run(
            "- set_header: { alg: ES256 }\n- signature: { zeros: 64 }\n",
            &k,
        )
        .expect("build");
        assert_eq!(parts(&b).2, vec![0u8; 64]);
        let b = run("- sign_with: { alg: PS256 }\n", &k).expect("build");
        let d = bearing_auth::DecodedJwt::parse(&b.compact).expect("decode");
        assert_eq!(
            d.verify(&b.compact, cert).expect("verifies"),
            Algorithm::PS256
        );
        let b = run("- sign_with: { key: fresh }\n", &k).expect("build");
        let d = bearing_auth::DecodedJwt::parse(&b.compact).expect("decode");
        assert!(d.verify(&b.compact, cert).is_err());
        assert!(matches!(
            run("- sign_with: { key: second }\n", &k),
            Err(BuildError::Unavailable(_))
        ));
    }

    // Text-level and serialization mutations.
    #[test]
    fn text_mutations() {
        let k = keys();
        let b = run(
            "- duplicate_claim: { name: iss, value: other, position: last }\n",
            &k,
        )
        .expect("build");
        let payload = b.compact.split('.').nth(1).expect("payload");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(payload).expect("b64")).expect("utf8");
        assert!(text.ends_with(",\"iss\":\"other\"}"), "{text}");
        let b = run(
            "- duplicate_header: { name: alg, value: none, position: first }\n",
            &k,
        )
        .expect("build");
        let header = b.compact.split('.').next().expect("header");
        let text = String::from_utf8(URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("utf8");
        assert!(
            text.starts_with("{\"alg\":\"none\",\"alg\":\"RS256\""),
            "{text}"
        );
        let b = run("- raw_claims: '[]'\n", &k).expect("build");
        assert_eq!(b.compact.split('.').nth(1), Some("W10"));
        let b = run("- claims_encoding: utf16le\n", &k).expect("build");
        let raw = URL_SAFE_NO_PAD
            .decode(b.compact.split('.').nth(1).expect("p"))
            .expect("b64");
        assert_eq!(&raw[..2], &[0xFF, 0xFE]);
        let b = run("- base64: padded\n", &k).expect("build");
        assert!(b.compact.contains('='));
        let b = run("- whitespace: \"\\r\\n\"\n", &k).expect("build");
        assert_eq!(b.compact.matches("\r\n").count(), 2);
        let b = run("- json_serialization\n", &k).expect("build");
        let v: Value = serde_json::from_str(&b.compact).expect("json");
        assert!(v.get("protected").is_some() && v.get("signature").is_some());
        let b = run("- extra_segment: x\n", &k).expect("build");
        assert_eq!(b.compact.matches('.').count(), 3);
        let b = run("- oversize: 100000\n", &k).expect("build");
        assert!(b.compact.len() > 100_000);
        let b = run("- unencoded_payload\n", &k).expect("build");
        assert!(b.compact.contains("\"iss\":\"cid\""));
        let b = run("- embed_jwk\n", &k).expect("build");
        let (h, _, _) = parts(&b);
        assert_eq!(h["jwk"]["kty"], "RSA");
        let b = run("- embed_x5c\n", &k).expect("build");
        assert!(parts(&b).0["x5c"][0].is_string());
    }
}
