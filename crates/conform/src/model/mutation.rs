//! The mutation vocabulary, as data: what to change in the baseline assertion (B-JWT) and in
//! the baseline request (B-REQ) of conformance catalog §3. A new malformed-assertion case is a
//! few lines of YAML; the assertion builder (`jwt`) and the runner ([`crate::run`]) carry
//! the mutations out.
//!
//! Strings are templates: `{client_id}`, `{token_url}`, `{audience}`, `{base_url}`,
//! `{api_url}`, `{second_client_id}`, `{listener:NAME}`, `{attacker_x5t}`, `{random:N}`, with
//! filters `|upper`, `|swap_case`, `|swap_scheme` (`{token_url|swap_scheme}` is the `http://`
//! twin) and `|host_port`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::expect::OneOrMany;
use crate::expr::NumExpr;

/// A JSON type, for [`Mutation::ClaimType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonKind {
    /// `["value"]`.
    Array,
    /// A number (`12345`, or the numeric value of a numeric string).
    Number,
    /// The value's text (`"1767225600"`).
    String,
    /// `{"value": …}`.
    Object,
    /// `true`.
    Boolean,
    /// `null`.
    Null,
}

/// Which key signs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyRef {
    /// The key of the registered certificate.
    #[default]
    Registered,
    /// A fresh, unregistered 2048-bit RSA key (one per run).
    Fresh,
    /// The attacker key served by `{listener:…}` and embedded by `embed_jwk`/`embed_x5c`
    /// (the same as `fresh`).
    Attacker,
    /// The second client's registered key.
    Second,
}

/// Key material for an HMAC key-confusion attempt (RFC 8725 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HmacKey {
    /// The registered public key as SubjectPublicKeyInfo PEM.
    SpkiPem,
    /// The registered public key as SubjectPublicKeyInfo DER.
    SpkiDer,
    /// The registered certificate as PEM.
    CertPem,
    /// The registered certificate as DER.
    CertDer,
}

/// `sign_with`: key and algorithm (the header's `alg` follows unless set explicitly).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignWith {
    /// The key.
    #[serde(default)]
    pub key: KeyRef,
    /// The JWS algorithm (`RS384`, `PS256`); defaults to RS256.
    #[serde(default)]
    pub alg: Option<String>,
}

/// `hmac`: a MAC keyed with public material.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hmac {
    /// The key material.
    pub key: HmacKey,
    /// `HS256` (default), `HS384` or `HS512`.
    #[serde(default)]
    pub alg: Option<String>,
}

/// Signature changes, applied after signing.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureChange {
    /// Empty signature (`header.payload.`).
    Strip,
    /// Flip one bit of the signature.
    FlipBit,
    /// This many zero bytes (`r = s = 0` for ES256 is 64).
    Zeros(usize),
}

/// Where a duplicated JSON member goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Before the original (the original is then lexically last).
    First,
    /// After the original (lexically last).
    #[default]
    Last,
}

/// A duplicated member in raw JSON text.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Duplicate {
    /// The member name.
    pub name: String,
    /// The duplicate's value (strings are templates).
    pub value: serde_json::Value,
    /// Where it goes.
    #[serde(default)]
    pub position: Position,
}

/// Base64 variants (RFC 7515 §2 requires base64url without padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Base64Variant {
    /// base64url with `=` padding on every segment.
    Padded,
    /// The standard alphabet (`+`, `/`) with padding.
    Standard,
}

/// Text encodings of the claims JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    /// UTF-16 little-endian with a byte-order mark (not UTF-8, RFC 8725 §3.7).
    Utf16le,
}

/// One change to the baseline assertion.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Mutation {
    /// Set claims to JSON values (strings are templates).
    SetClaim(BTreeMap<String, serde_json::Value>),
    /// Remove claims.
    RemoveClaim(OneOrMany<String>),
    /// Re-type a claim's current value (`iss` as an array, `exp` as a string).
    ClaimType {
        /// The claim.
        name: String,
        /// The new JSON type.
        to: JsonKind,
    },
    /// Set time claims from expressions (`exp: now - 300s`, `exp: iat + 24h`). Integral
    /// results are written as integers, others as decimals (`now + 60.5s`).
    Time(BTreeMap<String, NumExpr>),
    /// Shift time claims by signed durations (`iat: +62s`); a missing `nbf` starts at `iat`.
    Shift(BTreeMap<String, String>),
    /// Set header parameters (strings are templates).
    SetHeader(BTreeMap<String, serde_json::Value>),
    /// Remove header parameters.
    RemoveHeader(OneOrMany<String>),
    /// Duplicate a claim in the raw payload JSON.
    DuplicateClaim(Duplicate),
    /// Duplicate a header parameter in the raw header JSON.
    DuplicateHeader(Duplicate),
    /// Replace the payload with this raw text (`[]`, `null`, `"x"`).
    RawClaims(String),
    /// Replace the header with this raw text.
    RawHeader(String),
    /// Encode the claims JSON in another encoding.
    ClaimsEncoding(TextEncoding),
    /// Add a `pad` claim so the assertion is about this many bytes long.
    Oversize(usize),
    /// Sign with another key and/or algorithm.
    SignWith(SignWith),
    /// MAC with public key material (`alg: HS256`).
    Hmac(Hmac),
    /// Change the signature after signing.
    Signature(SignatureChange),
    /// Encode the segments in another base64 variant (signed over what is sent).
    Base64(Base64Variant),
    /// Insert this text inside the compact JWT (after signing).
    Whitespace(String),
    /// Send the JWS JSON serialization (flattened) instead of the compact form.
    JsonSerialization,
    /// Append a fourth segment (`h.p.s.x`).
    ExtraSegment(String),
    /// RFC 7797 `b64: false` with `crit: ["b64"]`, signing the unencoded payload.
    UnencodedPayload,
    /// Put the attacker's public key in a `jwk` header and sign with the attacker key.
    EmbedJwk,
    /// Put the attacker's self-signed certificate (CN = client id) in `x5c` and sign with the
    /// attacker key.
    EmbedX5c,
}

/// One change to the baseline token request.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RequestChange {
    /// Remove a form parameter.
    DropParam(String),
    /// Set (replace) a form parameter; the value is a template, `{assertion}` the assertion.
    SetParam {
        /// The parameter.
        name: String,
        /// Its value.
        value: String,
    },
    /// Add a parameter occurrence (duplicates, unknown parameters).
    AddParam {
        /// The parameter.
        name: String,
        /// Its value (template; `{assertion}` for the assertion).
        value: String,
        /// Put it before the other parameters.
        #[serde(default)]
        first: bool,
    },
    /// The HTTP method; GET moves the parameters into the query string.
    Method(String),
    /// How the parameters travel.
    Encoding(BodyEncoding),
    /// Set a request header (template; `{basic}` is Basic credentials of another client).
    Header {
        /// The header.
        name: String,
        /// Its value.
        value: String,
    },
}

/// How the token request's parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyEncoding {
    /// `application/x-www-form-urlencoded` body (the baseline).
    Form,
    /// A JSON object body, `Content-Type: application/json`.
    Json,
    /// `multipart/form-data`.
    Multipart,
    /// The URL query of a POST with an empty body.
    Query,
}
