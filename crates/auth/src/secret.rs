//! Secret values — access tokens, assertions, private key bytes — whose `Debug` and
//! `Display` never show the secret. A token is shown as its first 8 characters and `…`
//! (DESIGN.md "Reports"); an assertion and key material show nothing of themselves.

use std::fmt;
use zeroize::Zeroizing;

/// Shows the first 8 characters of `s` followed by `…`, or `…` alone for short values.
///
/// ```
/// assert_eq!(bearing_auth::redact("abcdefghijklmnop"), "abcdefgh…");
/// assert_eq!(bearing_auth::redact("short"), "…");
/// ```
pub fn redact(s: &str) -> String {
    if s.chars().count() <= 12 {
        return "…".to_owned();
    }
    let head: String = s.chars().take(8).collect();
    format!("{head}…")
}

/// An OAuth 2.0 access token (RFC 6749 §1.4). Redacted in `Debug`/`Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(Zeroizing<String>);

impl AccessToken {
    /// Wraps a token value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(Zeroizing::new(value.into()))
    }
    /// The token itself, for the `Authorization` header.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The redacted form: first 8 characters and `…`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl std::hash::Hash for AccessToken {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_str().hash(state);
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessToken({})", self.redacted())
    }
}

impl fmt::Display for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A signed JWT assertion (RFC 7523 §2.1): a bearer credential in its own right.
#[derive(Clone, PartialEq, Eq)]
pub struct Assertion {
    compact: String,
    jti: Option<String>,
    exp: i64,
}

impl Assertion {
    /// Wraps a compact JWS with the `jti` and `exp` it carries.
    pub fn new(compact: String, jti: Option<String>, exp: i64) -> Self {
        Self { compact, jti, exp }
    }
    /// The compact serialization, for the token request body.
    pub fn expose(&self) -> &str {
        &self.compact
    }
    /// Consumes the assertion, returning the compact serialization.
    pub fn into_compact(self) -> String {
        self.compact
    }
    /// The `jti` claim, when one was set.
    pub fn jti(&self) -> Option<&str> {
        self.jti.as_deref()
    }
    /// The `exp` claim (seconds since the epoch).
    pub fn exp(&self) -> i64 {
        self.exp
    }
}

impl fmt::Debug for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assertion")
            .field("jti", &self.jti)
            .field("exp", &self.exp)
            .field("compact", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Assertion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<assertion redacted>")
    }
}

/// Private key bytes (DER), zeroized on drop, never shown.
#[derive(Clone)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Wraps bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }
    /// The bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Neither Debug nor Display may show more than the first 8 characters of a token.
    #[test]
    fn token_is_redacted() {
        let t = AccessToken::new("0123456789abcdefSECRETSECRET");
        assert_eq!(format!("{t}"), "01234567…");
        assert!(!format!("{t:?}").contains("SECRET"));
        assert_eq!(t.expose(), "0123456789abcdefSECRETSECRET");
    }

    // An assertion shows its jti and exp, never its compact form.
    #[test]
    fn assertion_is_redacted() {
        let a = Assertion::new("eyJhbGciOi.eyJzdWIi.c2ln".into(), Some("j1".into()), 5);
        assert!(!format!("{a:?}").contains("eyJ"));
        assert!(!format!("{a}").contains("eyJ"));
        assert!(format!("{a:?}").contains("j1"));
    }

    // Key bytes never show in Debug.
    #[test]
    fn secret_bytes_are_redacted() {
        let s = SecretBytes::new(vec![0x30, 0x82, 0x01]);
        assert_eq!(format!("{s:?}"), "SecretBytes(<3 bytes redacted>)");
    }
}
