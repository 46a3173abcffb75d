//! Error answers of the token endpoint (RFC 6749 §5.2) and the shapes real gateways use
//! instead: Apigee Edge `{"ErrorCode","Error"}`, Apigee faults `{"fault":{…}}`, nested
//! `{"error":{"code","message"}}` objects, Salesforce-style arrays, and non-JSON pages
//! (an HTML 502 from a load balancer). Parsing never panics, whatever the body.
//!
//! Text taken from a body is scrubbed before it is kept: anything that looks like a JWT or a
//! long token is shown as its first 8 characters and `…` (a gateway may echo the assertion).

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE};
use serde_json::Value;

/// The `error` code of an RFC 6749 §5.2 error response, or whatever machine-readable code a
/// non-conformant gateway sent instead.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated or malformed.
    InvalidRequest,
    /// `invalid_client`: client authentication failed.
    InvalidClient,
    /// `invalid_grant`: the assertion was refused (RFC 7523 §3.1).
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`: the grant type is unknown to the server.
    UnsupportedGrantType,
    /// `invalid_scope`: the requested scope is invalid or exceeds what was granted.
    InvalidScope,
    /// Any other code, as sent (`jti_known`, `oauth.v2.InvalidClientIdentifier`, `401.05`, …).
    Other(String),
}

impl ErrorCode {
    /// Maps a code to its variant; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        match code {
            "invalid_request" => Self::InvalidRequest,
            "invalid_client" => Self::InvalidClient,
            "invalid_grant" => Self::InvalidGrant,
            "unauthorized_client" => Self::UnauthorizedClient,
            "unsupported_grant_type" => Self::UnsupportedGrantType,
            "invalid_scope" => Self::InvalidScope,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The code as sent on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::Other(s) => s,
        }
    }

    /// Whether the code is one of the six registered in RFC 6749 §5.2.
    pub fn is_registered(&self) -> bool {
        !matches!(self, Self::Other(_))
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which shape an error body had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorBodyFormat {
    /// `{"error":"invalid_grant","error_description":…}` (RFC 6749 §5.2).
    Rfc6749,
    /// `{"ErrorCode":"invalid_client","Error":"…"}` (Apigee Edge OAuthV2 default).
    ApigeeEdge,
    /// `{"fault":{"faultstring":…,"detail":{"errorcode":…}}}` (Apigee policy faults).
    ApigeeFault,
    /// `{"error":{"code":…,"message":…,"status":…}}` (Google, the Apigee portal sample).
    NestedErrorObject,
    /// `[{"errorCode":…,"message":…}]` (Salesforce).
    ErrorArray,
    /// Some other JSON value.
    OtherJson,
    /// Not JSON at all (an HTML error page, plain text).
    NonJson,
    /// No body.
    Empty,
}

/// A non-success answer of the token endpoint, with everything a caller or a conformance
/// check needs: status, code, description, `Retry-After`, and for bodies without a
/// recognisable code a short redacted excerpt.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ErrorResponse {
    /// The HTTP status.
    pub status: u16,
    /// The machine-readable code, when the body carried one.
    pub code: Option<ErrorCode>,
    /// `error_description` (or the gateway's equivalent), scrubbed of token-like strings.
    pub description: Option<String>,
    /// `error_uri`.
    pub uri: Option<String>,
    /// The `Retry-After` header as a delay (RFC 9110 §10.2.3; delay-seconds form only).
    pub retry_after: Option<Duration>,
    /// The `WWW-Authenticate` header, expected with a 401 `invalid_client` (RFC 6749 §5.2).
    pub www_authenticate: Option<String>,
    /// The `Location` header of a 3xx: redirects are never followed, so the assertion is
    /// only ever sent to the configured token URL.
    pub location: Option<String>,
    /// The body's shape.
    pub format: ErrorBodyFormat,
    /// A short, scrubbed excerpt of the body when it had no recognisable code.
    pub excerpt: Option<String>,
}

impl ErrorResponse {
    /// Parses an error answer. Never fails and never panics: an unknown body becomes
    /// [`ErrorBodyFormat::OtherJson`] / [`ErrorBodyFormat::NonJson`] with an excerpt.
    pub fn parse(status: u16, headers: &HeaderMap, body: &[u8]) -> Self {
        let mut out = Self {
            status,
            code: None,
            description: None,
            uri: None,
            retry_after: retry_after(headers),
            www_authenticate: header_str(headers, WWW_AUTHENTICATE.as_str()).map(|s| scrub(&s)),
            location: header_str(headers, LOCATION.as_str()).map(|s| scrub(&s)),
            format: ErrorBodyFormat::Empty,
            excerpt: None,
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            return out;
        }
        let Ok(json) = serde_json::from_slice::<Value>(body) else {
            out.format = ErrorBodyFormat::NonJson;
            out.excerpt = Some(excerpt(body));
            return out;
        };
        out.format = ErrorBodyFormat::OtherJson;
        match &json {
            Value::Object(map) => {
                if let Some(err) = map.get("error") {
                    match err {
                        Value::String(code) => {
                            out.format = ErrorBodyFormat::Rfc6749;
                            out.code = Some(ErrorCode::parse(code));
                            out.description = text(map.get("error_description"));
                            out.uri = text(map.get("error_uri"));
                        }
                        Value::Object(inner) => {
                            out.format = ErrorBodyFormat::NestedErrorObject;
                            out.code = code_of(inner.get("status"))
                                .or_else(|| code_of(inner.get("code")))
                                .map(|c| ErrorCode::parse(&c));
                            out.description = text(inner.get("message"));
                        }
                        _ => {}
                    }
                } else if map.contains_key("ErrorCode") {
                    out.format = ErrorBodyFormat::ApigeeEdge;
                    out.code = code_of(map.get("ErrorCode")).map(|c| ErrorCode::parse(&c));
                    out.description = text(map.get("Error"));
                } else if let Some(Value::Object(fault)) = map.get("fault") {
                    out.format = ErrorBodyFormat::ApigeeFault;
                    out.code = fault
                        .get("detail")
                        .and_then(|d| code_of(d.get("errorcode")))
                        .map(|c| ErrorCode::parse(&c));
                    out.description = text(fault.get("faultstring"));
                }
            }
            Value::Array(items) => {
                if let Some(Value::Object(first)) = items.first()
                    && first.contains_key("errorCode")
                {
                    out.format = ErrorBodyFormat::ErrorArray;
                    out.code = code_of(first.get("errorCode")).map(|c| ErrorCode::parse(&c));
                    out.description = text(first.get("message"));
                }
            }
            _ => {}
        }
        if out.code.is_none() {
            out.excerpt = Some(excerpt(body));
        }
        out
    }

    /// Whether retrying the same request later may succeed: 5xx and 429.
    pub fn is_retryable(&self) -> bool {
        self.status >= 500 || self.status == 429
    }
}

impl fmt::Display for ErrorResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token endpoint answered {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " {code}")?;
        }
        if let Some(d) = &self.description {
            write!(f, ": {d}")?;
        }
        match self.format {
            ErrorBodyFormat::NonJson | ErrorBodyFormat::OtherJson => {
                let kind = if self.format == ErrorBodyFormat::NonJson {
                    "non-JSON"
                } else {
                    "JSON"
                };
                let ex = self.excerpt.as_deref().unwrap_or("");
                write!(f, " ({kind} body without an error code: \"{ex}\")")?;
            }
            ErrorBodyFormat::Empty => f.write_str(" (empty body)")?,
            _ => {}
        }
        if let Some(loc) = &self.location {
            write!(f, " (redirect to {loc} not followed)")?;
        }
        if let Some(ra) = self.retry_after {
            write!(f, " (retry after {}s)", ra.as_secs())?;
        }
        Ok(())
    }
}

/// Why a token request produced no token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The endpoint answered with a non-success status (RFC 6749 §5.2 or otherwise).
    #[error("{0}")]
    Rejected(Box<ErrorResponse>),
    /// The endpoint answered 2xx but the body is not a usable token response.
    #[error("unusable token response (http {status}): {reason}")]
    Malformed {
        /// The HTTP status.
        status: u16,
        /// The field at fault (`access_token`, …), when one is.
        field: Option<&'static str>,
        /// What is wrong, naming the field.
        reason: String,
        /// A short, scrubbed excerpt of the body.
        excerpt: Option<String>,
    },
}

impl TokenError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        match self {
            Self::Rejected(r) => r.status,
            Self::Malformed { status, .. } => *status,
        }
    }

    /// The error code, when the endpoint sent one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Self::Rejected(r) => r.code.as_ref(),
            Self::Malformed { .. } => None,
        }
    }

    /// The parsed error answer, for a [`TokenError::Rejected`].
    pub fn response(&self) -> Option<&ErrorResponse> {
        match self {
            Self::Rejected(r) => Some(r),
            Self::Malformed { .. } => None,
        }
    }

    /// The `Retry-After` delay the endpoint asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        self.response().and_then(|r| r.retry_after)
    }

    /// Whether a later retry may succeed: 5xx and 429 answers. A 4xx such as
    /// `invalid_grant` and an unusable 2xx body are final.
    pub fn is_retryable(&self) -> bool {
        self.response().is_some_and(ErrorResponse::is_retryable)
    }
}

impl From<ErrorResponse> for TokenError {
    fn from(r: ErrorResponse) -> Self {
        Self::Rejected(Box::new(r))
    }
}

/// A header as a string, when present and visible ASCII.
pub(crate) fn header_str(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_owned())
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is ignored (the caller then
/// falls back to its own backoff), so no wall clock is read here.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    header_str(headers, RETRY_AFTER.as_str())?
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A string-ish JSON value as a code (`401.05` stays as written).
fn code_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON string as scrubbed text, capped in length.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(truncate(&scrub(s), 500)),
        _ => None,
    }
}

/// Longest excerpt kept from a body, in characters.
const EXCERPT_CHARS: usize = 160;

/// A short, single-line, scrubbed excerpt of a body: HTML tags are dropped, whitespace
/// collapsed, control characters removed, token-like runs redacted.
pub(crate) fn excerpt(body: &[u8]) -> String {
    // Never scan a huge body: the first 64 KiB are plenty for a title or a message.
    let head = &body[..body.len().min(64 * 1024)];
    let raw = String::from_utf8_lossy(head);
    let trimmed = raw.trim_start();
    let looks_html = trimmed.starts_with('<');
    let mut flat = String::with_capacity(raw.len().min(4096));
    let mut in_tag = false;
    let mut rest = trimmed;
    while let Some(c) = rest.chars().next() {
        if looks_html && c == '<' && !in_tag {
            // Inside <script>/<style> there is nothing readable: jump past the closing tag.
            let close = if starts_with_ci(rest, "<script") {
                Some("</script>")
            } else if starts_with_ci(rest, "<style") {
                Some("</style>")
            } else {
                None
            };
            flat.push(' ');
            if let Some(end) = close {
                rest = find_ci(rest, end).map_or("", |i| &rest[i + end.len()..]);
                continue;
            }
            in_tag = true;
        } else if in_tag {
            in_tag = c != '>';
        } else {
            flat.push(if c.is_control() { ' ' } else { c });
        }
        rest = &rest[c.len_utf8()..];
        if flat.len() > 4 * EXCERPT_CHARS {
            break;
        }
    }
    let collapsed = flat.split_whitespace().collect::<Vec<_>>().join(" ");
    truncate(&scrub(&collapsed), EXCERPT_CHARS)
}

fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.len() >= prefix.len() && s.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

fn find_ci(s: &str, needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    s.as_bytes()
        .windows(n.len())
        .position(|w| w.eq_ignore_ascii_case(n))
}

fn truncate(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max_chars).collect();
    out.push('…');
    out
}

/// Characters that make up tokens, JWTs and base64 values.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~' | '+' | '/' | '=')
}

/// Redacts token-like runs: a JWT (`eyJ…`), or 20+ token characters mixing letters and
/// digits. Words, paths and host names (no digits) are kept so messages stay readable.
pub(crate) fn scrub(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run_start: Option<usize> = None;
    let flush = |out: &mut String, run: &str| {
        let has_digit = run.chars().any(|c| c.is_ascii_digit());
        let has_alpha = run.chars().any(|c| c.is_ascii_alphabetic());
        let jwt_like = run.starts_with("eyJ") && run.len() >= 16;
        if jwt_like || (run.len() >= 20 && has_digit && has_alpha) {
            out.push_str(&crate::secret::redact(run));
        } else {
            out.push_str(run);
        }
    };
    for (i, c) in s.char_indices() {
        if is_token_char(c) {
            run_start.get_or_insert(i);
        } else {
            if let Some(start) = run_start.take() {
                flush(&mut out, &s[start..i]);
            }
            out.push(c);
        }
    }
    if let Some(start) = run_start {
        flush(&mut out, &s[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    // The RFC shape keeps code, description and uri.
    #[test]
    fn rfc_error_body() {
        let body = br#"{"error":"invalid_grant","error_description":"assertion expired","error_uri":"https://x/e"}"#;
        let r = ErrorResponse::parse(400, &HeaderMap::new(), body);
        assert_eq!(r.format, ErrorBodyFormat::Rfc6749);
        assert_eq!(r.code, Some(ErrorCode::InvalidGrant));
        assert_eq!(r.description.as_deref(), Some("assertion expired"));
        assert_eq!(r.uri.as_deref(), Some("https://x/e"));
        assert!(r.excerpt.is_none());
        assert!(!r.is_retryable());
        assert_eq!(
            r.to_string(),
            "token endpoint answered 400 invalid_grant: assertion expired"
        );
    }

    // Unregistered codes are kept as sent.
    #[test]
    fn unregistered_code() {
        let r = ErrorResponse::parse(400, &HeaderMap::new(), br#"{"error":"jti_known"}"#);
        assert_eq!(r.code, Some(ErrorCode::Other("jti_known".into())));
        assert!(!r.code.as_ref().is_some_and(ErrorCode::is_registered));
    }

    // Apigee Edge's default OAuthV2 error body.
    #[test]
    fn apigee_edge_body() {
        let body = br#"{"ErrorCode":"invalid_client","Error":"ClientId is Invalid"}"#;
        let r = ErrorResponse::parse(401, &HeaderMap::new(), body);
        assert_eq!(r.format, ErrorBodyFormat::ApigeeEdge);
        assert_eq!(r.code, Some(ErrorCode::InvalidClient));
        assert_eq!(r.description.as_deref(), Some("ClientId is Invalid"));
    }

    // Apigee policy faults carry the code under fault.detail.errorcode.
    #[test]
    fn apigee_fault_body() {
        let body = br#"{"fault":{"faultstring":"Invalid Access Token","detail":{"errorcode":"keymanagement.service.invalid_access_token"}}}"#;
        let r = ErrorResponse::parse(401, &HeaderMap::new(), body);
        assert_eq!(r.format, ErrorBodyFormat::ApigeeFault);
        assert_eq!(
            r.code,
            Some(ErrorCode::Other(
                "keymanagement.service.invalid_access_token".into()
            ))
        );
        assert_eq!(r.description.as_deref(), Some("Invalid Access Token"));
    }

    // The portal sample's nested object with a numeric code, and Salesforce's array.
    #[test]
    fn nested_and_array_bodies() {
        let r = ErrorResponse::parse(
            401,
            &HeaderMap::new(),
            br#"{"error":{"code":401.05,"message":"JWT invalid"}}"#,
        );
        assert_eq!(r.format, ErrorBodyFormat::NestedErrorObject);
        assert_eq!(r.code, Some(ErrorCode::Other("401.05".into())));
        let r = ErrorResponse::parse(
            401,
            &HeaderMap::new(),
            br#"[{"message":"Session expired","errorCode":"INVALID_SESSION_ID"}]"#,
        );
        assert_eq!(r.format, ErrorBodyFormat::ErrorArray);
        assert_eq!(r.code, Some(ErrorCode::Other("INVALID_SESSION_ID".into())));
    }

    // A load balancer's HTML 502 becomes a short, readable, retryable error.
    #[test]
    fn html_502_body() {
        let body = b"<html>\r\n<head><title>502 Bad Gateway</title><style>body{color:red}</style></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        let r = ErrorResponse::parse(502, &HeaderMap::new(), body);
        assert_eq!(r.format, ErrorBodyFormat::NonJson);
        assert_eq!(r.code, None);
        assert_eq!(
            r.excerpt.as_deref(),
            Some("502 Bad Gateway 502 Bad Gateway nginx")
        );
        assert!(r.is_retryable());
        let e = TokenError::from(r);
        assert_eq!(e.status(), 502);
        assert!(e.is_retryable());
        assert!(e.to_string().contains("non-JSON body"), "{e}");
    }

    // Retry-After in seconds is kept; the HTTP-date form and garbage are ignored.
    #[test]
    fn retry_after_header() {
        let r = ErrorResponse::parse(503, &headers(&[("retry-after", "7")]), b"");
        assert_eq!(r.retry_after, Some(Duration::from_secs(7)));
        assert_eq!(r.format, ErrorBodyFormat::Empty);
        let r = ErrorResponse::parse(
            429,
            &headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")]),
            b"",
        );
        assert_eq!(r.retry_after, None);
        assert!(r.is_retryable());
        let r = ErrorResponse::parse(503, &headers(&[("retry-after", "-3")]), b"");
        assert_eq!(r.retry_after, None);
    }

    // An echoed assertion or token never survives into the error.
    #[test]
    fn secrets_are_scrubbed() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhIn0.c2lnbmF0dXJlX2J5dGVz";
        let body =
            format!(r#"{{"error":"invalid_grant","error_description":"bad assertion {jwt}"}}"#);
        let r = ErrorResponse::parse(400, &HeaderMap::new(), body.as_bytes());
        let d = r.description.expect("description");
        assert!(!d.contains("c2lnbmF0"), "{d}");
        assert!(d.starts_with("bad assertion eyJhbGci…"), "{d}");
        let text = "upstream said: token=Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5 at https://gw.example.com/oauth/token";
        let ex = excerpt(text.as_bytes());
        assert!(!ex.contains("MTIzNDU2"), "{ex}");
        assert!(ex.contains("https://gw.example.com/oauth/token"), "{ex}");
    }

    // No body makes parsing panic: binary, invalid UTF-8, truncated JSON, huge input.
    #[test]
    fn hostile_bodies_do_not_panic() {
        let bodies: Vec<Vec<u8>> = vec![
            vec![0xff, 0xfe, 0x00, 0x80],
            b"{\"error\":".to_vec(),
            b"<".to_vec(),
            b"<script>".to_vec(),
            "<p>é\u{200b}</p>".as_bytes().to_vec(),
            b"null".to_vec(),
            b"[]".to_vec(),
            b"{\"error\":42}".to_vec(),
            b"{\"fault\":\"x\"}".to_vec(),
            vec![b'a'; 1_000_000],
        ];
        for b in &bodies {
            let r = ErrorResponse::parse(500, &HeaderMap::new(), b);
            assert!(
                r.excerpt
                    .as_ref()
                    .is_none_or(|e| e.chars().count() <= EXCERPT_CHARS + 1)
            );
            let _ = r.to_string();
        }
    }

    // Codes round-trip through parse and as_str.
    #[test]
    fn error_code_round_trip() {
        for c in [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "x",
        ] {
            assert_eq!(ErrorCode::parse(c).as_str(), c);
        }
    }
}
