//! Errors of bearing-auth: one enum, matched on by kind, never by message.

use std::path::PathBuf;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong on the partner's side of the flow.
///
/// Messages are lower-case and name the value or file at fault. No variant ever
/// carries a private key, an assertion or an access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Key material could not be parsed.
    #[error("invalid private key{}: {reason}", origin_suffix(.origin))]
    InvalidKey {
        /// Where the key came from (a path or `environment`), when known.
        origin: Option<String>,
        /// Why it was refused.
        reason: String,
    },
    /// A certificate could not be parsed.
    #[error("invalid certificate{}: {reason}", origin_suffix(.origin))]
    InvalidCertificate {
        /// Where the certificate came from, when known.
        origin: Option<String>,
        /// Why it was refused.
        reason: String,
    },
    /// The certificate does not carry the public half of the private key.
    #[error("certificate {certificate} does not match private key {key}: {reason}")]
    KeyMismatch {
        /// The key's origin.
        key: String,
        /// The certificate's origin.
        certificate: String,
        /// What differs.
        reason: String,
    },
    /// An RSA key below 2048 bits (RFC 7518 §3.3).
    #[error("rsa key of {bits} bits is too small: RFC 7518 §3.3 requires at least 2048")]
    WeakKey {
        /// The modulus size.
        bits: usize,
    },
    /// The algorithm is unknown or refused (`none`, HMAC).
    #[error("unsupported alg \"{0}\"")]
    UnsupportedAlgorithm(String),
    /// The algorithm does not fit the key (e.g. ES256 with an RSA key).
    #[error("alg {alg} cannot be used with a {key} key")]
    AlgorithmMismatch {
        /// The requested algorithm.
        alg: String,
        /// The kind of key held.
        key: String,
    },
    /// Signing failed inside the crypto library.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A JWT could not be decoded or verified.
    #[error("invalid jwt: {0}")]
    InvalidJwt(String),
    /// Claims could not be built (bad custom claim, reserved name, …).
    #[error("invalid claim {name}: {reason}")]
    InvalidClaim {
        /// The claim name.
        name: String,
        /// Why.
        reason: String,
    },
    /// A configuration value is invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The token endpoint answered with an error (RFC 6749 §5.2 or otherwise).
    #[error(transparent)]
    Token(#[from] crate::token::TokenError),
    /// The HTTP transport failed (connect, TLS, timeout, body read).
    #[error("http request to {url} failed: {reason}")]
    Http {
        /// The URL (never with secrets: token URLs carry none).
        url: String,
        /// Why, including the source chain.
        reason: String,
        /// Whether a retry may help (connect error, timeout).
        retryable: bool,
    },
}

fn origin_suffix(origin: &Option<String>) -> String {
    origin
        .as_ref()
        .map(|o| format!(" in {o}"))
        .unwrap_or_default()
}

impl Error {
    /// An [`Error::InvalidKey`] with an origin.
    pub(crate) fn key(origin: Option<&str>, reason: impl Into<String>) -> Self {
        Self::InvalidKey {
            origin: origin.map(str::to_owned),
            reason: reason.into(),
        }
    }

    /// An [`Error::InvalidCertificate`] with an origin.
    pub(crate) fn cert(origin: Option<&str>, reason: impl Into<String>) -> Self {
        Self::InvalidCertificate {
            origin: origin.map(str::to_owned),
            reason: reason.into(),
        }
    }
}
