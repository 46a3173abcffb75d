//! Errors of bearing-gateway: configuration, binding and TLS setup. Request-time problems are
//! never errors of this type: they become HTTP answers (see `routes`).

use std::path::PathBuf;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while configuring or starting the gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration value is invalid; the message names the field (and `file:line:col`
    /// when it came from YAML).
    #[error("invalid gateway configuration: {0}")]
    Config(String),
    /// A file could not be read.
    #[error("cannot read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// TLS could not be set up.
    #[error("tls: {0}")]
    Tls(String),
    /// An error from bearing-auth (certificate parsing, profile loading).
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
}
