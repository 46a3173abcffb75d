//! The `bearing report diff | bundle | verify` operations (issue 13: the CLI parses flags,
//! the library does the work). Each checks its settings, does the work and returns the value
//! the CLI prints; errors are [`EvidenceError`]s (bad input apart from the machine).

use std::path::{Path, PathBuf};

use bearing_auth::Certificate;

use crate::bundle::{self, Manifest, Verification};
use crate::diff::{self, Diff, Tolerance};
use crate::{BundleKey, EvidenceError};

/// What `bearing report diff` was asked to do.
#[derive(Debug, Clone)]
pub struct DiffSettings {
    /// The old run.
    pub old: PathBuf,
    /// The new run.
    pub new: PathBuf,
    /// load: % a percentile may rise (or the rate fall) before it is a regression.
    pub tolerance: f64,
    /// load: error-rate rise in percentage points before it is a regression.
    pub error_tolerance: f64,
    /// Also write the HTML page here (refused if it exists).
    pub html: Option<PathBuf>,
}

/// Diffs two runs (the HTML page, if asked, is checked now and written by
/// [`write_diff_html`] after the diff is printed).
///
/// # Errors
/// Negative tolerances, an existing `--html` file, unreadable or different runs.
pub fn diff_runs(s: &DiffSettings) -> Result<Diff, EvidenceError> {
    if !(s.tolerance >= 0.0 && s.error_tolerance >= 0.0) {
        return Err(EvidenceError::Input(
            "--tolerance and --error-tolerance must be 0 or more".into(),
        ));
    }
    if let Some(h) = &s.html {
        crate::check_new_file(h, "--html")?;
    }
    let tol = Tolerance {
        percent: s.tolerance,
        error_points: s.error_tolerance,
    };
    Ok(diff::diff(&s.old, &s.new, tol)?)
}

/// Writes the diff's HTML page to `path`, atomically.
///
/// # Errors
/// The page could not be written.
pub fn write_diff_html(d: &Diff, path: &Path) -> Result<(), EvidenceError> {
    let mut page = Vec::new();
    diff::write_html(&mut page, d).map_err(|source| {
        EvidenceError::Report(crate::Error::Io {
            action: "write",
            path: path.to_owned(),
            source,
        })
    })?;
    Ok(crate::write_atomic(path, &page)?)
}

/// `bearing report bundle`: packs `dir` into `out`, signed with `sign_key` when given.
///
/// # Errors
/// An unusable key, not a report folder, `out` exists or cannot be written.
pub fn bundle_folder(
    dir: &Path,
    out: &Path,
    sign_key: Option<(&Path, Option<&str>)>,
) -> Result<Manifest, EvidenceError> {
    let sign = match sign_key {
        Some((k, alg)) => Some(crate::load_sign_key(k, alg)?),
        None => None,
    };
    let signer = sign.as_ref().map(BundleKey::signer);
    Ok(bundle::create(dir, out, signer.as_ref(), crate::TOOL)?)
}

/// `bearing report verify`: checks `file` against `cert` (when given).
///
/// # Errors
/// An unreadable certificate, not a bundle.
pub fn verify_bundle(file: &Path, cert: Option<&Path>) -> Result<Verification, EvidenceError> {
    let cert = match cert {
        Some(c) => Some(
            Certificate::from_file(c).map_err(|e| EvidenceError::Input(format!("--cert: {e}")))?,
        ),
        None => None,
    };
    Ok(bundle::verify(file, cert.as_ref())?)
}
