//! The evidence steps every run that writes a report folder shares (conform, certify, load;
//! issues 17 and 21): the `--expect-fail` list checked against the run's ids, the report
//! folder, bundle path and signing key checked before anything runs, and [`EvidenceError`],
//! whose kind says bad input (exit 2) or not.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bearing_auth::{Algorithm, SigningKey};

use crate::bundle::Manifest;
use crate::{BundleKey, Error, ExpectList, StagedRun};

/// The bearing version that writes bundles.
pub const TOOL: &str = concat!("bearing ", env!("CARGO_PKG_VERSION"));

/// How a run's report folder and bundle are written (`--force`, `--bundle`, `--sign-key`,
/// `--sign-alg`).
#[derive(Debug, Clone, Default)]
pub struct EvidenceSettings {
    /// Replace a non-empty report folder.
    pub force: bool,
    /// Also pack the folder into this tar.gz.
    pub bundle: Option<PathBuf>,
    /// Sign the bundle's manifest with this private key.
    pub sign_key: Option<PathBuf>,
    /// The JWS algorithm of that signature (default: from the key).
    pub sign_alg: Option<String>,
}

/// An evidence step that failed.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The user's input (a flag, a list, a folder): exit 2.
    #[error("{0}")]
    Input(String),
    /// The machine (a write, a rename): exit 3.
    #[error(transparent)]
    Report(Error),
}

impl From<Error> for EvidenceError {
    /// Bad input keeps its message only (as the CLI always printed it).
    fn from(e: Error) -> Self {
        if e.is_bad_input() {
            Self::Input(e.to_string())
        } else {
            Self::Report(e)
        }
    }
}

/// Loads `--sign-key` and picks the algorithm (default from the key).
///
/// # Errors
/// Unreadable key, unknown or unfitting algorithm.
pub fn load_sign_key(key: &Path, alg: Option<&str>) -> Result<BundleKey, EvidenceError> {
    let input = EvidenceError::Input;
    let k = SigningKey::from_file(key).map_err(|e| input(format!("--sign-key: {e}")))?;
    let alg = match alg {
        Some(a) => a
            .parse::<Algorithm>()
            .map_err(|e| input(format!("--sign-alg: {e}")))?,
        None => k.kind().default_algorithm(),
    };
    k.kind()
        .check(alg)
        .map_err(|e| input(format!("--sign-alg {alg}: {e}")))?;
    Ok(BundleKey {
        key: Arc::new(k),
        alg,
    })
}

/// Checks the report folder, the bundle path and the key before anything runs.
///
/// # Errors
/// A folder that is a file, not empty (without `force`), or not writable; a bundle file
/// that exists or cannot be written; an unusable key; a bundle without a folder.
pub fn prepare_run(dir: Option<&Path>, s: &EvidenceSettings) -> Result<StagedRun, EvidenceError> {
    let key = match &s.sign_key {
        Some(k) => Some(load_sign_key(k, s.sign_alg.as_deref())?),
        None => None,
    };
    if s.bundle.is_some() && dir.is_none() {
        return Err(EvidenceError::Input(
            "--bundle needs a report folder (drop --no-report)".into(),
        ));
    }
    Ok(StagedRun::prepare(dir, s.force, s.bundle.as_deref(), key)?)
}

/// Loads `--expect-fail FILE` and checks its ids against `known`.
///
/// # Errors
/// Unreadable or malformed list, unknown id.
pub fn expect_list<'a>(
    file: Option<&Path>,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> Result<Option<ExpectList>, EvidenceError> {
    let Some(f) = file else { return Ok(None) };
    let bad = |e: Error| EvidenceError::Input(format!("--expect-fail: {e}"));
    let l = ExpectList::load(f).map_err(bad)?;
    l.check_known(known).map_err(bad)?;
    Ok(Some(l))
}

/// A run's evidence at the end: the folder in place, the bundle's manifest, or why not.
#[derive(Debug, Default)]
pub struct FinishedRun {
    /// The report folder, when written.
    pub dir: Option<PathBuf>,
    /// The bundle's manifest, when one was written.
    pub manifest: Option<Manifest>,
    /// What went wrong writing, moving or bundling (kept: the results are printed first).
    pub error: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// Lets `write` fill the staged folder, then moves it into place and writes the bundle. A
/// failure of either is kept in [`FinishedRun::error`], so the caller prints the results
/// whatever happened to the files (issue 21: nothing lost).
pub fn finish_run<E>(staged: StagedRun, write: impl FnOnce(&Path) -> Result<(), E>) -> FinishedRun
where
    E: std::error::Error + Send + Sync + 'static,
{
    let written = match staged.path() {
        Some(p) => write(p).map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>),
        None => Ok(()),
    };
    let finished = written.and_then(|()| {
        staged
            .finish(TOOL)
            .map_err(|e| Box::new(EvidenceError::from(e)) as _)
    });
    match finished {
        Ok((dir, manifest)) => FinishedRun {
            dir,
            manifest,
            error: None,
        },
        Err(e) => FinishedRun {
            error: Some(e),
            ..FinishedRun::default()
        },
    }
}
