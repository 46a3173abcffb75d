//! Strict compact JWS parsing (RFC 7515 §7.1, RFC 7519 §7.2): exactly three segments,
//! base64url without padding or whitespace (RFC 7515 §2), UTF-8 JSON objects with no
//! duplicate member names (RFC 7515 §5.2, RFC 7519 §4 — serde_json silently keeps the last
//! one, so duplicates are detected explicitly here).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Largest compact assertion accepted, in bytes.
pub const MAX_COMPACT_LEN: usize = 16 * 1024;

/// A compact JWS split and decoded, not yet verified.
#[derive(Debug, Clone)]
pub struct CompactJws<'a> {
    /// `BASE64URL(header) . BASE64URL(payload)`: what the signature covers.
    pub signing_input: &'a [u8],
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// The signature bytes.
    pub signature: Vec<u8>,
}

/// Why a compact JWS was refused; the message is safe to send back (it holds no input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwsError(pub String);

impl fmt::Display for JwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(m: impl Into<String>) -> JwsError {
    JwsError(m.into())
}

/// Splits and decodes `compact` strictly.
///
/// # Errors
/// [`JwsError`] naming the segment and the rule broken.
pub fn parse_compact(compact: &str) -> Result<CompactJws<'_>, JwsError> {
    if compact.len() > MAX_COMPACT_LEN {
        return Err(err(format!(
            "assertion is longer than {MAX_COMPACT_LEN} bytes"
        )));
    }
    let bytes = compact.as_bytes();
    let mut dots = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'.')
        .map(|(i, _)| i);
    let (Some(d1), Some(d2), None) = (dots.next(), dots.next(), dots.next()) else {
        let n = bytes.iter().filter(|b| **b == b'.').count() + 1;
        return Err(err(format!(
            "not a compact JWS: expected 3 dot-separated segments, found {n}"
        )));
    };
    let segs = [
        (&compact[..d1], "header"),
        (&compact[d1 + 1..d2], "payload"),
        (&compact[d2 + 1..], "signature"),
    ];
    for (s, name) in segs {
        if s.is_empty() {
            return Err(err(format!("{name} segment is empty")));
        }
        if let Some(b) = s
            .bytes()
            .find(|b| !(b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_'))
        {
            let what = match b {
                b'=' => "padding '='".to_owned(),
                b' ' | b'\t' | b'\r' | b'\n' => "whitespace".to_owned(),
                b'+' | b'/' => format!("standard-base64 character '{}'", b as char),
                _ => format!("byte 0x{b:02x}"),
            };
            return Err(err(format!(
                "{name} segment is not base64url without padding: {what}"
            )));
        }
    }
    let decode = |s: &str, name: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|e| err(format!("{name} segment is not valid base64url ({e})")))
    };
    let header_bytes = decode(segs[0].0, "header")?;
    let payload_bytes = decode(segs[1].0, "payload")?;
    let signature = decode(segs[2].0, "signature")?;
    let header = strict_object(&header_bytes, "header")?;
    let claims = strict_object(&payload_bytes, "payload")?;
    Ok(CompactJws {
        signing_input: &bytes[..d2],
        header,
        claims,
        signature,
    })
}

/// Parses `bytes` as a UTF-8 JSON object, refusing duplicate member names at any depth.
///
/// # Errors
/// [`JwsError`] when the bytes are not UTF-8 JSON, not an object, or repeat a name.
pub fn strict_object(bytes: &[u8], what: &str) -> Result<Map<String, Value>, JwsError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(err(format!("{what} is not UTF-8 (RFC 8725 §3.7)")));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de).map_err(|e| {
        let m = e.to_string();
        if m.starts_with("duplicate member") {
            err(format!(
                "{what} has a {}",
                m.split(" at line").next().unwrap_or(&m)
            ))
        } else {
            err(format!("{what} is not JSON ({m})"))
        }
    })?;
    de.end()
        .map_err(|e| err(format!("{what} has trailing data ({e})")))?;
    match value {
        Value::Object(m) => Ok(m),
        other => Err(err(format!(
            "{what} is a JSON {}, not an object",
            kind(&other)
        ))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A `serde_json::Value` seed that fails on a repeated object member name.
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = seq.next_element_seed(StrictValue)? {
            v.push(x);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            if m.contains_key(&k) {
                let shown: String = k
                    .chars()
                    .take(32)
                    .filter(|c| c.is_ascii_graphic())
                    .collect();
                return Err(de::Error::custom(format_args!(
                    "duplicate member name '{shown}'"
                )));
            }
            let v = map.next_value_seed(StrictValue)?;
            m.insert(k, v);
        }
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn jws(h: &str, p: &str) -> String {
        format!(
            "{}.{}.{}",
            b64(h.as_bytes()),
            b64(p.as_bytes()),
            b64(b"sig")
        )
    }

    // A well-formed JWS parses and the signing input stops before the second dot.
    #[test]
    fn parses() {
        let s = jws(r#"{"alg":"RS256"}"#, r#"{"iss":"a"}"#);
        let j = parse_compact(&s).expect("parse");
        assert_eq!(j.header["alg"], "RS256");
        assert_eq!(j.claims["iss"], "a");
        assert_eq!(j.signature, b"sig");
        assert_eq!(j.signing_input, &s.as_bytes()[..s.rfind('.').expect("dot")]);
    }

    // Segment count, padding, whitespace and std-base64 characters are refused.
    #[test]
    fn strict_segments() {
        let good = jws(r#"{"alg":"RS256"}"#, r#"{"iss":"a"}"#);
        let cases = [
            ("a.b".to_owned(), "3 dot-separated"),
            (format!("{good}.x"), "found 4"),
            (format!("{good}="), "padding"),
            (good.replacen('.', ". ", 1), "whitespace"),
            (good.replacen('.', "\n.", 1), "whitespace"),
            (
                format!("{}.", &good[..good.rfind('.').expect("dot")]),
                "signature segment is empty",
            ),
            (format!("+{good}"), "standard-base64"),
        ];
        for (s, want) in cases {
            let e = parse_compact(&s).expect_err(&s);
            assert!(e.0.contains(want), "{s}: {e}");
        }
    }

    // Duplicate names are refused at any depth; non-objects and non-UTF-8 too.
    #[test]
    fn strict_json() {
        for (h, p, want) in [
            (
                r#"{"alg":"RS256","alg":"none"}"#,
                "{}",
                "header has a duplicate member name 'alg'",
            ),
            (
                r#"{"alg":"RS256"}"#,
                r#"{"iss":"A","iss":"B"}"#,
                "duplicate member name 'iss'",
            ),
            (r#"{"alg":"RS256"}"#, r#"{"x":{"a":1,"a":2}}"#, "duplicate"),
            (r#"{"alg":"RS256"}"#, "[]", "array, not an object"),
            (r#"{"alg":"RS256"}"#, "null", "null, not an object"),
            (r#"{"alg":"RS256"}"#, "{} x", "trailing data"),
            (r#"{"alg":"RS256"}"#, "{", "not JSON"),
        ] {
            let e = parse_compact(&jws(h, p)).expect_err(p);
            assert!(e.0.contains(want), "{p}: {e}");
        }
        let utf16: Vec<u8> = "{}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(strict_object(&utf16, "payload").is_err());
        assert!(
            strict_object(&[0xff, b'{', b'}'], "payload")
                .expect_err("utf8")
                .0
                .contains("UTF-8")
        );
    }
}
