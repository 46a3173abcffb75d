//! Errors of bearing-report. [`Error::is_bad_input`] tells the CLI which ones are the
//! user's input (exit 2) and which are the machine's (exit 3).

use std::path::PathBuf;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong with report folders, lists, diffs and bundles.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} {path}")]
    Io {
        /// `read`, `write`, `create`, `rename`…
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The report folder cannot be used (a file, not empty, not writable).
    #[error("--report-dir {path}: {reason}")]
    ReportDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A user-supplied file is malformed (a list, a summary, a manifest).
    #[error("{file}: {reason}")]
    Invalid {
        /// The file (or `file:line:col`).
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two runs cannot be compared or continued.
    #[error("{0}")]
    Mismatch(String),
    /// A bundle is corrupt, truncated or not a bundle.
    #[error("bundle {file}: {reason}")]
    Bundle {
        /// The bundle.
        file: String,
        /// Why.
        reason: String,
    },
    /// Signing the manifest failed (key/alg).
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
}

impl Error {
    /// Whether the error is the user's input (exit 2) rather than the machine (exit 3).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Io { action, .. } => *action == "read",
            Self::ReportDir { .. }
            | Self::Invalid { .. }
            | Self::Mismatch(_)
            | Self::Bundle { .. }
            | Self::Auth(_) => true,
        }
    }

    pub(crate) fn io<'a>(
        action: &'static str,
        path: &'a std::path::Path,
    ) -> impl Fn(std::io::Error) -> Self + 'a {
        move |source| Self::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn invalid(file: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Self::Invalid {
            file: file.to_string(),
            reason: reason.into(),
        }
    }
}
