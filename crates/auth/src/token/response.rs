//! Lenient parsing of a token endpoint's success answer (RFC 6749 §5.1), recording every
//! deviation from the RFC instead of failing on it: real gateways send `expires_in` as a
//! string (`"180"`, Apigee), omit it (Salesforce), or call the type `BearerToken`.
//! The conformance runner and `bearing token` report the [`Deviation`]s; the token manager
//! only needs the token and its lifetime.

use std::fmt;
use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, PRAGMA};
use serde::Serialize;
use serde_json::Value;

use super::error::{ErrorResponse, TokenError, excerpt, header_str};
use crate::secret::AccessToken;

/// A way a success answer departs from RFC 6749 §5.1 (or from the canonical form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Deviation {
    /// The status was a 2xx other than `200 OK`.
    StatusNot200(u16),
    /// `Content-Type` was not `application/json` (the value seen, if any).
    ContentTypeNotJson(Option<String>),
    /// `expires_in` was a JSON string (`"180"`); §5.1 and Appendix A.14 require a number.
    ExpiresInString,
    /// `expires_in` was absent (RECOMMENDED by §5.1).
    ExpiresInMissing,
    /// `expires_in` was present but unusable (negative, zero, fractional, not a number);
    /// the value seen. The token is then treated as having no known lifetime.
    ExpiresInInvalid(String),
    /// `token_type` was absent (REQUIRED by §5.1).
    TokenTypeMissing,
    /// `token_type` was not `Bearer` in any case (`BearerToken` from Apigee); the value seen.
    TokenTypeNotBearer(String),
    /// `token_type` was `bearer` in another case than `Bearer`: conformant (§5.1 says
    /// case-insensitive), noted for completeness.
    TokenTypeCase(String),
    /// `Cache-Control: no-store` was missing (MUST, §5.1).
    MissingCacheControlNoStore,
    /// `Pragma: no-cache` was missing (MUST in RFC 6749 §5.1; dropped by OAuth 2.1).
    MissingPragmaNoCache,
    /// A `refresh_token` was issued; assertion grants normally issue none (RFC 6749 §4.4.3
    /// spirit, RFC 7521 §5.2). It is ignored and never kept.
    RefreshTokenIssued,
    /// `scope` was present but not a string.
    ScopeNotString,
}

/// How much a [`Deviation`] matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Conformant; recorded for information.
    Note,
    /// Departs from a SHOULD/RECOMMENDED, or from a MUST that newer specs dropped.
    Warning,
    /// Breaks a MUST of RFC 6749.
    Violation,
}

impl Deviation {
    /// How much this deviation matters under RFC 6749 alone (profiles may relax it).
    pub fn severity(&self) -> Severity {
        match self {
            Self::TokenTypeCase(_) | Self::RefreshTokenIssued => Severity::Note,
            Self::ExpiresInMissing | Self::MissingPragmaNoCache | Self::StatusNot200(_) => {
                Severity::Warning
            }
            Self::ContentTypeNotJson(_)
            | Self::ExpiresInString
            | Self::ExpiresInInvalid(_)
            | Self::TokenTypeMissing
            | Self::TokenTypeNotBearer(_)
            | Self::MissingCacheControlNoStore
            | Self::ScopeNotString => Severity::Violation,
        }
    }

    /// A stable snake_case identifier, for reports and profile keys.
    pub fn id(&self) -> &'static str {
        match self {
            Self::StatusNot200(_) => "status_not_200",
            Self::ContentTypeNotJson(_) => "content_type_not_json",
            Self::ExpiresInString => "expires_in_string",
            Self::ExpiresInMissing => "expires_in_missing",
            Self::ExpiresInInvalid(_) => "expires_in_invalid",
            Self::TokenTypeMissing => "token_type_missing",
            Self::TokenTypeNotBearer(_) => "token_type_not_bearer",
            Self::TokenTypeCase(_) => "token_type_case",
            Self::MissingCacheControlNoStore => "missing_cache_control_no_store",
            Self::MissingPragmaNoCache => "missing_pragma_no_cache",
            Self::RefreshTokenIssued => "refresh_token_issued",
            Self::ScopeNotString => "scope_not_string",
        }
    }
}

impl fmt::Display for Deviation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StatusNot200(s) => write!(f, "status {s} instead of 200 (RFC 6749 §5.1)"),
            Self::ContentTypeNotJson(Some(ct)) => {
                write!(
                    f,
                    "content-type \"{ct}\" instead of application/json (RFC 6749 §5.1)"
                )
            }
            Self::ContentTypeNotJson(None) => f.write_str("no content-type (RFC 6749 §5.1)"),
            Self::ExpiresInString => {
                f.write_str("expires_in is a JSON string, not a number (RFC 6749 §5.1, A.14)")
            }
            Self::ExpiresInMissing => {
                f.write_str("expires_in is absent (RECOMMENDED, RFC 6749 §5.1)")
            }
            Self::ExpiresInInvalid(v) => {
                write!(
                    f,
                    "expires_in {v} is not a positive whole number of seconds (RFC 6749 A.14)"
                )
            }
            Self::TokenTypeMissing => f.write_str("token_type is absent (REQUIRED, RFC 6749 §5.1)"),
            Self::TokenTypeNotBearer(t) => {
                write!(f, "token_type \"{t}\" is not Bearer (RFC 6750 §4)")
            }
            Self::TokenTypeCase(t) => {
                write!(
                    f,
                    "token_type \"{t}\" (case-insensitive match of Bearer, RFC 6749 §5.1)"
                )
            }
            Self::MissingCacheControlNoStore => {
                f.write_str("Cache-Control: no-store is missing (MUST, RFC 6749 §5.1)")
            }
            Self::MissingPragmaNoCache => {
                f.write_str("Pragma: no-cache is missing (MUST in RFC 6749 §5.1)")
            }
            Self::RefreshTokenIssued => f.write_str("a refresh_token was issued (ignored)"),
            Self::ScopeNotString => f.write_str("scope is not a string (RFC 6749 §3.3)"),
        }
    }
}

/// A token endpoint's success answer, read leniently.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenResponse {
    /// The HTTP status (200 unless a deviation says otherwise).
    pub status: u16,
    /// `access_token` (redacted in `Debug`/`Display`).
    pub access_token: AccessToken,
    /// `token_type` as sent, when sent.
    pub token_type: Option<String>,
    /// `expires_in`, whether sent as a number or a string; `None` when absent or unusable.
    pub expires_in: Option<Duration>,
    /// `scope`, when sent as a string.
    pub scope: Option<String>,
    /// Whether a `refresh_token` was present (its value is dropped at once).
    pub refresh_token_issued: bool,
    /// Names of other top-level fields (`issued_at`, `instance_url`, …); values not kept.
    pub extra_fields: Vec<String>,
    /// Every departure from RFC 6749 §5.1 seen, in a stable order.
    pub deviations: Vec<Deviation>,
    /// From sending the request to having read the whole body; zero when parsed offline.
    pub latency: Duration,
}

impl TokenResponse {
    /// Reads an answer of the token endpoint: a 2xx becomes a [`TokenResponse`], anything
    /// else a [`TokenError::Rejected`] carrying the parsed error body.
    ///
    /// # Errors
    /// [`TokenError::Rejected`] for a non-2xx status; [`TokenError::Malformed`] for a 2xx
    /// whose body is not a JSON object with a non-empty string `access_token`.
    pub fn parse(status: u16, headers: &HeaderMap, body: &[u8]) -> Result<Self, TokenError> {
        if !(200..300).contains(&status) {
            return Err(ErrorResponse::parse(status, headers, body).into());
        }
        let content_type = header_str(headers, CONTENT_TYPE.as_str());
        let map = json_object(status, content_type.as_deref(), body)?;
        let access_token = required_access_token(&map, status, body)?;

        let mut deviations = Vec::new();
        if status != 200 {
            deviations.push(Deviation::StatusNot200(status));
        }
        if !content_type.as_deref().is_some_and(is_json_media_type) {
            deviations.push(Deviation::ContentTypeNotJson(content_type));
        }
        let token_type = token_type(map.get("token_type"), &mut deviations);
        let expires_in = expires_in(map.get("expires_in"), &mut deviations);
        if !has_directive(headers, CACHE_CONTROL.as_str(), "no-store") {
            deviations.push(Deviation::MissingCacheControlNoStore);
        }
        if !has_directive(headers, PRAGMA.as_str(), "no-cache") {
            deviations.push(Deviation::MissingPragmaNoCache);
        }
        let refresh_token_issued = map.contains_key("refresh_token");
        if refresh_token_issued {
            deviations.push(Deviation::RefreshTokenIssued);
        }
        let scope = match map.get("scope") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                deviations.push(Deviation::ScopeNotString);
                None
            }
            None => None,
        };
        const KNOWN: [&str; 5] = [
            "access_token",
            "token_type",
            "expires_in",
            "refresh_token",
            "scope",
        ];
        let extra_fields = map
            .keys()
            .filter(|k| !KNOWN.contains(&k.as_str()))
            .cloned()
            .collect();
        Ok(Self {
            status,
            access_token,
            token_type,
            expires_in,
            scope,
            refresh_token_issued,
            extra_fields,
            deviations,
            latency: Duration::ZERO,
        })
    }

    /// Whether a deviation of this kind was seen (compares [`Deviation::id`]).
    pub fn has_deviation(&self, id: &str) -> bool {
        self.deviations.iter().any(|d| d.id() == id)
    }
}

/// A 2xx answer that is not usable at all (RFC 6749 §5.1).
fn malformed(status: u16, body: &[u8], field: Option<&'static str>, reason: String) -> TokenError {
    TokenError::Malformed {
        status,
        field,
        reason,
        excerpt: Some(excerpt(body)),
    }
}

/// The body as a JSON object (RFC 6749 §5.1: `application/json`, parameters at the top level).
fn json_object(
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Result<serde_json::Map<String, Value>, TokenError> {
    let json: Value = serde_json::from_slice(body).map_err(|e| {
        let ct = content_type.unwrap_or("none");
        malformed(
            status,
            body,
            None,
            format!("body is not JSON (content-type {ct}): {e}"),
        )
    })?;
    match json {
        Value::Object(map) => Ok(map),
        other => Err(malformed(
            status,
            body,
            None,
            format!("body is JSON {}, not an object", kind(&other)),
        )),
    }
}

/// `access_token`: REQUIRED, a non-empty string.
fn required_access_token(
    map: &serde_json::Map<String, Value>,
    status: u16,
    body: &[u8],
) -> Result<AccessToken, TokenError> {
    let reason = match map.get("access_token") {
        Some(Value::String(s)) if !s.trim().is_empty() => return Ok(AccessToken::new(s.as_str())),
        Some(Value::String(_)) => "access_token is empty".to_owned(),
        Some(other) => format!("access_token is {}, not a string", kind(other)),
        None => "access_token is missing".to_owned(),
    };
    Err(malformed(status, body, Some("access_token"), reason))
}

/// `token_type` (RFC 6749 §7.1, RFC 6750 §4: `Bearer`, compared case-insensitively).
fn token_type(v: Option<&Value>, deviations: &mut Vec<Deviation>) -> Option<String> {
    match v {
        Some(Value::String(t)) => {
            if t.eq_ignore_ascii_case("bearer") {
                if t != "Bearer" {
                    deviations.push(Deviation::TokenTypeCase(t.clone()));
                }
            } else {
                deviations.push(Deviation::TokenTypeNotBearer(t.clone()));
            }
            Some(t.clone())
        }
        Some(other) => {
            deviations.push(Deviation::TokenTypeNotBearer(other.to_string()));
            None
        }
        None => {
            deviations.push(Deviation::TokenTypeMissing);
            None
        }
    }
}

/// `expires_in` as a number or a numeric string; records what was odd about it.
fn expires_in(v: Option<&Value>, deviations: &mut Vec<Deviation>) -> Option<Duration> {
    let secs = match v {
        None => {
            deviations.push(Deviation::ExpiresInMissing);
            return None;
        }
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| n.to_string()),
        Some(Value::String(s)) => {
            deviations.push(Deviation::ExpiresInString);
            s.trim().parse::<u64>().map_err(|_| format!("\"{s}\""))
        }
        Some(other) => Err(other.to_string()),
    };
    match secs {
        Ok(0) => {
            deviations.push(Deviation::ExpiresInInvalid("0".into()));
            None
        }
        Ok(n) => Some(Duration::from_secs(n)),
        Err(raw) => {
            // Cut on a character boundary: `String::truncate` panics inside a multi-byte
            // character (found by the issue 9 property tests).
            let raw: String = raw.chars().take(40).collect();
            deviations.push(Deviation::ExpiresInInvalid(raw));
            None
        }
    }
}

/// `application/json` in any case, with or without parameters (RFC 6749 §5.1).
fn is_json_media_type(ct: &str) -> bool {
    ct.split(';')
        .next()
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Whether any value of header `name` carries `directive` in its comma-separated list.
fn has_directive(headers: &HeaderMap, name: &str, directive: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',').any(|d| {
                d.split('=')
                    .next()
                    .is_some_and(|k| k.trim().eq_ignore_ascii_case(directive))
            })
        })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::ErrorCode;
    use reqwest::header::HeaderValue;

    fn rfc_headers() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=UTF-8"),
        );
        h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(PRAGMA, HeaderValue::from_static("no-cache"));
        h
    }

    fn parse(body: &str) -> Result<TokenResponse, TokenError> {
        TokenResponse::parse(200, &rfc_headers(), body.as_bytes())
    }

    // A fully conformant answer has no deviations.
    #[test]
    fn number_expires_in_is_conformant() {
        let r = parse(
            r#"{"access_token":"abcdefghijklmnopqrstu","token_type":"Bearer","expires_in":3599}"#,
        )
        .expect("parses");
        assert_eq!(r.expires_in, Some(Duration::from_secs(3599)));
        assert_eq!(r.access_token.expose(), "abcdefghijklmnopqrstu");
        assert!(r.deviations.is_empty(), "{:?}", r.deviations);
        assert!(!format!("{r:?}").contains("ijklmnop"));
    }

    // The portal's real answer: string expires_in, understood and flagged.
    #[test]
    fn string_expires_in_is_understood() {
        let r = parse(r#"{"access_token":"tok","token_type":"Bearer","expires_in":"180"}"#)
            .expect("parses");
        assert_eq!(r.expires_in, Some(Duration::from_secs(180)));
        assert_eq!(r.deviations, vec![Deviation::ExpiresInString]);
        assert_eq!(r.deviations[0].severity(), Severity::Violation);
    }

    // Apigee's default: BearerToken and "1799", plus metadata fields and no cache headers.
    #[test]
    fn apigee_default_answer() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let body = r#"{"access_token":"tok","token_type":"BearerToken","expires_in":"1799","issued_at":"1700000000000","refresh_token":"r"}"#;
        let r = TokenResponse::parse(200, &h, body.as_bytes()).expect("parses");
        assert_eq!(r.expires_in, Some(Duration::from_secs(1799)));
        assert_eq!(
            r.deviations,
            vec![
                Deviation::TokenTypeNotBearer("BearerToken".into()),
                Deviation::ExpiresInString,
                Deviation::MissingCacheControlNoStore,
                Deviation::MissingPragmaNoCache,
                Deviation::RefreshTokenIssued,
            ]
        );
        assert_eq!(r.extra_fields, vec!["issued_at".to_owned()]);
        assert!(r.refresh_token_issued);
        assert!(r.has_deviation("expires_in_string"));
    }

    // Lower-case bearer is conformant but noted; absent expires_in is a warning.
    #[test]
    fn lower_case_bearer_and_missing_expires_in() {
        let r = parse(r#"{"access_token":"tok","token_type":"bearer"}"#).expect("parses");
        assert_eq!(r.expires_in, None);
        assert_eq!(
            r.deviations,
            vec![
                Deviation::TokenTypeCase("bearer".into()),
                Deviation::ExpiresInMissing
            ]
        );
        assert_eq!(r.deviations[0].severity(), Severity::Note);
    }

    // Unusable expires_in values are recorded, never fatal.
    #[test]
    fn invalid_expires_in_values() {
        for (raw, seen) in [
            ("-5", "-5"),
            ("0", "0"),
            ("1.5", "1.5"),
            ("\"soon\"", "\"soon\""),
            ("null", "null"),
        ] {
            let r = parse(&format!(
                r#"{{"access_token":"t","token_type":"Bearer","expires_in":{raw}}}"#
            ))
            .expect("parses");
            assert_eq!(r.expires_in, None, "{raw}");
            assert!(
                r.deviations
                    .contains(&Deviation::ExpiresInInvalid(seen.into())),
                "{raw}: {:?}",
                r.deviations
            );
        }
    }

    // A missing, empty or non-string access_token is an error naming the field.
    #[test]
    fn missing_access_token_names_the_field() {
        for body in [
            r#"{"token_type":"Bearer"}"#,
            r#"{"access_token":""}"#,
            r#"{"access_token":12}"#,
        ] {
            let e = parse(body).expect_err("refused");
            assert!(
                matches!(
                    e,
                    TokenError::Malformed {
                        field: Some("access_token"),
                        status: 200,
                        ..
                    }
                ),
                "{e:?}"
            );
            assert!(e.to_string().contains("access_token"), "{e}");
            assert!(!e.is_retryable());
        }
    }

    // A 200 that is not JSON (a captive portal, a misrouted HTML page) is a clear error.
    #[test]
    fn non_json_200() {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static("text/html"));
        let e = TokenResponse::parse(200, &h, b"<html><body>Welcome</body></html>")
            .expect_err("refused");
        let TokenError::Malformed {
            reason,
            excerpt,
            field,
            ..
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(
            reason.contains("not JSON") && reason.contains("text/html"),
            "{reason}"
        );
        assert_eq!(excerpt.as_deref(), Some("Welcome"));
        assert_eq!(*field, None);
        let e = parse("[1,2]").expect_err("refused");
        assert!(e.to_string().contains("an array"), "{e}");
    }

    // Non-2xx statuses go to the error parser.
    #[test]
    fn error_status_is_rejected() {
        let e = TokenResponse::parse(400, &rfc_headers(), br#"{"error":"invalid_grant"}"#)
            .expect_err("refused");
        assert_eq!(e.code(), Some(&ErrorCode::InvalidGrant));
        assert_eq!(e.status(), 400);
    }

    // Cache directives are found among several values and parameters.
    #[test]
    fn cache_directives_are_found_in_lists() {
        let mut h = rfc_headers();
        h.insert(
            CACHE_CONTROL,
            HeaderValue::from_static("private, No-Store, max-age=0"),
        );
        let r = TokenResponse::parse(
            200,
            &h,
            br#"{"access_token":"t","token_type":"Bearer","expires_in":1}"#,
        )
        .expect("parses");
        assert!(r.deviations.is_empty(), "{:?}", r.deviations);
    }

    // Deviations serialize with a stable tag for JSON reports.
    #[test]
    fn deviation_serializes() {
        let v = serde_json::to_value(Deviation::TokenTypeNotBearer("BearerToken".into()))
            .expect("json");
        assert_eq!(
            v,
            serde_json::json!({"kind":"token_type_not_bearer","value":"BearerToken"})
        );
        assert_eq!(
            serde_json::to_value(Deviation::ExpiresInString).expect("json"),
            serde_json::json!({"kind":"expires_in_string"})
        );
    }
}
