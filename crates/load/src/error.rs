//! Errors of bearing-load: one enum, matched on by kind, never by message.

use std::path::PathBuf;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that stops a load run from starting or finishing.
///
/// A request that fails *during* a run is not an error of this kind: it is counted by kind in
/// the run's results. Messages are lower-case and never carry a key, assertion or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A load profile is malformed: `file:line:col: message`, or the field at fault.
    #[error("invalid load profile {0}")]
    Profile(String),
    /// A threshold expression could not be parsed.
    #[error("invalid threshold {expr:?}: {reason}")]
    Threshold {
        /// The expression as written.
        expr: String,
        /// What is wrong, and what would be accepted.
        reason: String,
    },
    /// The target cannot serve this profile (no API, no admin URL for a refresh storm, …).
    #[error("target cannot run this profile: {0}")]
    Target(String),
    /// bearing-auth refused something (key, certificate, signer).
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// goose refused the configuration or failed while running.
    #[error("goose: {0}")]
    Goose(String),
    /// A file given by the user (a profile) could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The start barrier failed: a shard never became ready, or the start time passed.
    #[error(transparent)]
    Barrier(#[from] crate::barrier::BarrierError),
    /// Histogram (de)serialization failed.
    #[error("histogram: {0}")]
    Histogram(String),
    /// A report document could not be encoded as JSON.
    #[error("cannot encode {what} as json")]
    Encode {
        /// The document (`summary.json`, …).
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
