//! Errors of bearing-bench: bad settings (the caller's input) kept apart from failures while
//! measuring, so the CLI maps kinds to exit codes without reading messages.

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong while setting up or running a benchmark.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting is out of range; the message names the setting and the allowed range.
    #[error("{setting}: {reason}")]
    BadSetting {
        /// The setting, named as the command line names it (`--threads`).
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A key, certificate or signature error from bearing-auth (a key that does not fit the
    /// algorithm is bad input; a failing signature is not).
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// The sandbox's registry refused the benchmark's certificate.
    #[error(transparent)]
    Gateway(#[from] bearing_gateway::Error),
    /// A measuring thread could not be started.
    #[error("cannot start benchmark thread {index}")]
    Thread {
        /// Which thread.
        index: usize,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A measuring thread panicked.
    #[error("a benchmark thread panicked")]
    Panicked,
    /// An assertion the benchmark itself signed was refused by the validation path.
    #[error("the validation path refused a benchmark assertion: {0}")]
    Refused(String),
    /// A latency histogram could not be created or merged.
    #[error("latency histogram: {0}")]
    Histogram(String),
}

impl Error {
    /// Whether the error comes from the caller's settings or key (exit 2 in the CLI) rather
    /// than from the measurement.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::BadSetting { .. } => true,
            Self::Auth(e) => !matches!(
                e,
                bearing_auth::Error::Http { .. }
                    | bearing_auth::Error::Token(_)
                    | bearing_auth::Error::Signing(_)
            ),
            _ => false,
        }
    }

    pub(crate) fn setting(setting: &'static str, reason: impl Into<String>) -> Self {
        Self::BadSetting {
            setting,
            reason: reason.into(),
        }
    }
}
