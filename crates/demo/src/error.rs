//! Errors of bearing-demo: bad flags kept apart from steps that could not run, so the CLI maps
//! kinds to exit codes without reading messages. Each message names its step or file once; the
//! cause follows in the chain.

use std::path::PathBuf;
use std::time::Duration;

/// Result with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What can go wrong in a demo step.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A duration flag is zero or longer than [`crate::MAX_DURATION`].
    #[error("{flag} must be > 0 and at most 10m")]
    Duration {
        /// The flag (`--duration`).
        flag: &'static str,
    },
    /// `--duration` makes the bundled load profile invalid.
    #[error("--duration: {0}")]
    ProfileDuration(String),
    /// The bundled load profile does not parse.
    #[error("the bundled demo profile")]
    BundledProfile(#[source] bearing_load::Error),
    /// The conformance step did not end within [`crate::CONFORM_DEADLINE`].
    #[error("the conformance suites did not finish within {}", humantime::format_duration(*.0))]
    ConformTimeout(Duration),
    /// The conformance suites could not run.
    #[error("running the conformance suites")]
    Conform(#[source] bearing_conform::Error),
    /// The conformance reports could not be written.
    #[error("writing the conformance reports to {}", .dir.display())]
    ConformReport {
        /// The report folder.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: bearing_conform::Error,
    },
    /// The sandbox target does not make a load target.
    #[error("preparing the load target")]
    LoadTarget(#[source] bearing_load::Error),
    /// The load step did not end within its duration and [`crate::LOAD_GRACE`].
    #[error("the load profile did not finish in time")]
    LoadTimeout,
    /// The load profile could not run.
    #[error("running the load profile")]
    Load(#[source] bearing_load::Error),
    /// The load report could not be written.
    #[error("writing the load report to {}", .dir.display())]
    LoadReport {
        /// The report folder.
        dir: PathBuf,
        /// The cause.
        #[source]
        source: bearing_load::Error,
    },
    /// The benchmark's thread ended without a result.
    #[error("the signing benchmark thread")]
    BenchThread(#[source] tokio::task::JoinError),
    /// The signing benchmark failed.
    #[error(transparent)]
    Bench(#[from] bearing_bench::Error),
    /// A report folder could not be created.
    #[error("creating {}", .path.display())]
    Create {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written.
    #[error("writing {}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The bundled conformance suites do not load.
    #[error("the bundled conformance suites")]
    BundledSuites(#[source] bearing_conform::Error),
    /// The built-in gateway profile does not resolve.
    #[error("the built-in rfc-strict profile")]
    BuiltinProfile(#[source] bearing_auth::Error),
    /// The demo's report folder could not be created.
    #[error("creating the report folder {}", .path.display())]
    CreateOut {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The embedded sandbox could not start.
    #[error(transparent)]
    Sandbox(#[from] bearing_gateway::embedded::SandboxError),
    /// A document could not be serialised.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

impl Error {
    /// Whether the error comes from the caller's flags (exit 2 in the CLI).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Self::Duration { .. } | Self::ProfileDuration(_) => true,
            Self::Bench(e) => e.is_bad_input(),
            _ => false,
        }
    }
}
