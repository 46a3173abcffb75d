//! Errors of bearing-conform. A *failure* (a gateway did not behave as expected) is never an
//! error: it is an [`crate::Outcome`]. These are the reasons a suite cannot be loaded or a run
//! cannot start or write its reports.

use std::path::PathBuf;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can stop bearing-conform before or after the cases run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A suite file is malformed: the message starts with `file:line:col`.
    #[error("{0}")]
    Suite(String),
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
    #[error("cannot access {path}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The target (or its identity) is unusable: missing key file, bad profile, …
    #[error("target: {0}")]
    Target(String),
    /// An error from bearing-auth (keys, certificates, signing).
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// The run could not be set up (HTTP client, local listener, admin API).
    #[error("cannot run: {0}")]
    Setup(String),
    /// A report could not be produced.
    #[error("report: {0}")]
    Report(String),
}

impl Error {
    /// Whether the error comes from the user's input (exit code 2) rather than from the
    /// environment (exit code 3).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Suite(_) | Self::Target(_) | Self::Read { .. } => true,
            Self::Auth(e) => !matches!(
                e,
                bearing_auth::Error::Http { .. } | bearing_auth::Error::Signing(_)
            ),
            Self::Io { .. } | Self::Setup(_) | Self::Report(_) => false,
        }
    }
}

/// A report file that could not be written (bearing-report's helpers) is an [`Error::Io`].
impl From<bearing_report::FileError> for Error {
    fn from(e: bearing_report::FileError) -> Self {
        Self::Io {
            path: e.path,
            source: e.source,
        }
    }
}
