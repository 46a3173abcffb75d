//! The `bearing bench sign` and `bearing bench verify` operations (issue 13: the CLI parses
//! flags, the library does the work): [`SignSettings`] / [`VerifySettings`] checked into the
//! engine's configuration, measured, the HTML report written; the results returned for the
//! CLI to print. Errors are typed ([`BenchRunError`]): bad settings apart from the machine.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, SigningKey};

use crate::{Error, KeySharing, SignConfig, SignMeasured, VerifyDocument, VerifyPlan};

/// What `bearing bench sign` was asked to do.
#[derive(Debug, Clone)]
pub struct SignSettings {
    /// The algorithm's name.
    pub alg: String,
    /// RSA modulus size of a generated key.
    pub key_bits: usize,
    /// Highest thread count (default: the cores).
    pub threads: Option<usize>,
    /// How long each thread count signs.
    pub duration: Duration,
    /// Sign with this key instead of a generated one.
    pub key: Option<PathBuf>,
    /// Run `openssl speed` beside.
    pub openssl: bool,
    /// Rounds per thread count.
    pub rounds: u8,
    /// All threads share one parsed key.
    pub shared_key: bool,
}

/// What `bearing bench verify` was asked to do.
#[derive(Debug, Clone)]
pub struct VerifySettings {
    /// The algorithms' names.
    pub algs: Vec<String>,
    /// RSA modulus size of the generated keys.
    pub key_bits: usize,
    /// Highest thread count (default: the cores).
    pub threads: Option<usize>,
    /// How long each thread count validates.
    pub duration: Duration,
    /// Rounds per thread count.
    pub rounds: u8,
    /// Run `openssl speed` beside.
    pub openssl: bool,
    /// The grant rate the sizing line plans for.
    pub grants_per_sec: f64,
    /// Also write the HTML report here.
    pub report: Option<PathBuf>,
}

/// Why a benchmark did not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchRunError {
    /// A bad setting, named by its flag: exit 2.
    #[error("{0}")]
    Input(String),
    /// The measurement failed.
    #[error(transparent)]
    Bench(Error),
    /// `--key` could not be read.
    #[error("--key {}", .0.display())]
    Key(PathBuf, #[source] bearing_auth::Error),
    /// The key could not be generated or does not fit the algorithm.
    #[error(transparent)]
    Auth(#[from] bearing_auth::Error),
    /// The HTML report could not be written.
    #[error("writing {}", .0.display())]
    Write(PathBuf, #[source] std::io::Error),
}

impl From<Error> for BenchRunError {
    /// Bad settings of the engine are bad input like bad flags.
    fn from(e: Error) -> Self {
        if e.is_bad_input() {
            Self::Input(e.to_string())
        } else {
            Self::Bench(e)
        }
    }
}

fn parse_alg(s: &str) -> Result<Algorithm, BenchRunError> {
    s.parse()
        .map_err(|e| BenchRunError::Input(format!("--alg: {e}")))
}

fn threads(t: Option<usize>) -> Result<usize, BenchRunError> {
    let n = t.unwrap_or_else(crate::cores);
    let n = crate::check_threads(n).map_err(|e| BenchRunError::Input(e.to_string()))?;
    if n > crate::cores() {
        tracing::warn!(
            threads = n,
            cores = crate::cores(),
            "more threads than cores: rates past the core count measure contention"
        );
    }
    Ok(n)
}

fn check_duration(d: Duration) -> Result<(), BenchRunError> {
    crate::check_duration(d).map_err(|e| BenchRunError::Input(e.to_string()))?;
    Ok(())
}

/// The engine's configuration from `s`: algorithm, threads, duration and key checked.
///
/// # Errors
/// A bad setting or key.
pub fn sign_config(s: &SignSettings) -> Result<SignConfig, BenchRunError> {
    let alg = parse_alg(&s.alg)?;
    let threads = threads(s.threads)?;
    check_duration(s.duration)?;
    let (key, key_source) = match &s.key {
        Some(p) => (
            SigningKey::from_file(p).map_err(|e| BenchRunError::Key(p.clone(), e))?,
            p.display().to_string(),
        ),
        None => (
            SigningKey::generate(alg, s.key_bits)?,
            "generated".to_owned(),
        ),
    };
    key.kind().check(alg)?;
    Ok(SignConfig {
        alg,
        key: Arc::new(key),
        key_source,
        threads,
        duration: s.duration,
        rounds: s.rounds,
        openssl: s.openssl,
        sharing: if s.shared_key {
            KeySharing::Shared
        } else {
            KeySharing::PerThread
        },
    })
}

/// Runs `bearing bench sign`; `progress` sees the progress lines.
///
/// # Errors
/// A bad setting or key, a signing failure.
pub fn run_sign(s: &SignSettings, progress: &dyn Fn(&str)) -> Result<SignMeasured, BenchRunError> {
    let c = sign_config(s)?;
    Ok(crate::measure_sign(&c, progress)?)
}

/// Runs `bearing bench verify` and writes its HTML report; `progress` sees the progress
/// lines.
///
/// # Errors
/// A bad setting, a measurement failure, an unwritable report.
pub fn run_verify(
    s: &VerifySettings,
    progress: &dyn Fn(&str),
) -> Result<VerifyDocument, BenchRunError> {
    let algs = s
        .algs
        .iter()
        .map(|a| parse_alg(a.trim()))
        .collect::<Result<Vec<_>, _>>()?;
    if algs.is_empty() {
        return Err(BenchRunError::Input(
            "--alg: name at least one algorithm".into(),
        ));
    }
    let threads = threads(s.threads)?;
    check_duration(s.duration)?;
    if !(s.grants_per_sec.is_finite() && s.grants_per_sec > 0.0) {
        return Err(BenchRunError::Input(
            "--grants-per-sec must be a positive number".into(),
        ));
    }
    let plan = VerifyPlan {
        algs,
        key_bits: s.key_bits,
        threads,
        duration: s.duration,
        rounds: s.rounds,
        openssl: s.openssl,
        grants_per_sec: s.grants_per_sec,
    };
    let reports = crate::measure_verify_all(&plan, progress)?;
    if let Some(path) = &s.report {
        let write = |e| BenchRunError::Write(path.clone(), e);
        let mut w = std::io::BufWriter::new(std::fs::File::create(path).map_err(write)?);
        crate::write_verify_html(&reports, &mut w)
            .and_then(|()| w.flush())
            .map_err(write)?;
    }
    Ok(VerifyDocument {
        algorithms: reports,
    })
}
