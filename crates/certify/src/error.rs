//! Errors of bearing-certify: a bad plan (with `file:line:col`), a gateway that cannot start,
//! a report that cannot be written.

use std::path::PathBuf;

/// What can go wrong while certifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The plan is malformed or invalid; the message starts with `file:line:col` when known.
    #[error("invalid certification plan: {0}")]
    Plan(String),
    /// A file given by the user could not be read (missing, a folder, not UTF-8).
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The sandbox gateway could not start or be configured.
    #[error(transparent)]
    Gateway(#[from] bearing_gateway::Error),
    /// A report could not be produced.
    #[error("report: {0}")]
    Report(String),
}

/// The result type of bearing-certify.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A report file that could not be written (bearing-report's helpers) is an [`Error::Io`].
impl From<bearing_report::FileError> for Error {
    fn from(e: bearing_report::FileError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}
