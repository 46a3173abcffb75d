//! Flags and steps shared by the runs that write a report folder (conform, certify, load):
//! the folder checked before anything runs and written whole or not at all (issue 21,
//! class 3), `--expect-fail FILE`, and `--bundle FILE` with `--sign-key` (issue 17).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bearing_auth::{Algorithm, SigningKey};
use bearing_report::ReportDir;
use bearing_report::bundle::{self, Manifest, Signer};
use bearing_report::expect::ExpectList;

use crate::exit::BadInput;

/// The bearing version that writes bundles.
pub const TOOL: &str = concat!("bearing ", env!("CARGO_PKG_VERSION"));

/// Flags for the report folder and the bundle of a run.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct EvidenceArgs {
    /// Replace a non-empty --report-dir (the old run is removed once the new one is in place).
    #[arg(long)]
    pub force: bool,
    /// Also pack the report folder into this tar.gz with a SHA-256 manifest (signed with
    /// --sign-key); refused if the file exists. Check it with `bearing report verify`.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    /// Sign the bundle's manifest with this private key (PEM/DER; e.g. the partner's own key,
    /// whose certificate the gateway team holds).
    #[arg(long, value_name = "KEY", requires = "bundle")]
    pub sign_key: Option<PathBuf>,
    /// The JWS algorithm of the signature (default: RS256 for RSA, ES256/ES384 for EC,
    /// EdDSA for Ed25519 keys).
    #[arg(long, value_name = "ALG", requires = "sign_key")]
    pub sign_alg: Option<String>,
}

/// A `bearing_report` error as the CLI sees it: bad input exits 2.
pub fn report_error(e: bearing_report::Error) -> anyhow::Error {
    if e.is_bad_input() {
        BadInput(e.to_string()).into()
    } else {
        e.into()
    }
}

/// The key and algorithm a manifest is signed with.
#[derive(Debug)]
pub struct SignWith {
    key: Arc<SigningKey>,
    alg: Algorithm,
}

impl SignWith {
    /// Loads `--sign-key` and picks the algorithm.
    ///
    /// # Errors
    /// Unreadable key, unknown or unfitting algorithm (exit 2).
    pub fn load(key: &Path, alg: Option<&str>) -> anyhow::Result<Self> {
        let k = SigningKey::from_file(key).map_err(|e| BadInput(format!("--sign-key: {e}")))?;
        let alg = match alg {
            Some(a) => a
                .parse::<Algorithm>()
                .map_err(|e| BadInput(format!("--sign-alg: {e}")))?,
            None => k.kind().default_algorithm(),
        };
        k.kind()
            .check(alg)
            .map_err(|e| BadInput(format!("--sign-alg {alg}: {e}")))?;
        Ok(Self {
            key: Arc::new(k),
            alg,
        })
    }

    /// The signer for [`bundle::create`].
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            key: &self.key,
            alg: self.alg,
        }
    }
}

/// Everything checked before a run starts: the report folder (staged), the bundle file
/// and the signing key.
#[derive(Debug)]
pub struct Prepared {
    /// The staged report folder (None with `--no-report`).
    pub dir: Option<ReportDir>,
    bundle: Option<PathBuf>,
    sign: Option<SignWith>,
}

/// Checks the report folder, the bundle path and the key before anything runs (exit 2).
///
/// # Errors
/// A folder that is a file, not empty (without --force), or not writable; a bundle file
/// that exists or cannot be written; an unusable key.
pub fn prepare(dir: Option<&Path>, a: &EvidenceArgs) -> anyhow::Result<Prepared> {
    let sign = match &a.sign_key {
        Some(k) => Some(SignWith::load(k, a.sign_alg.as_deref())?),
        None => None,
    };
    if let Some(b) = &a.bundle {
        if dir.is_none() {
            return Err(
                BadInput("--bundle needs a report folder (drop --no-report)".into()).into(),
            );
        }
        bearing_report::check_new_file(b, "--bundle").map_err(report_error)?;
    }
    let dir = dir
        .map(|d| ReportDir::prepare(d, a.force))
        .transpose()
        .map_err(report_error)?;
    Ok(Prepared {
        dir,
        bundle: a.bundle.clone(),
        sign,
    })
}

impl Prepared {
    /// Where the reporters write now (the staging folder).
    pub fn path(&self) -> Option<&Path> {
        self.dir.as_ref().map(ReportDir::path)
    }

    /// Moves the report folder into place and writes the bundle; returns the folder and
    /// the manifest.
    ///
    /// # Errors
    /// The rename or the bundle failed.
    pub fn finish(self) -> anyhow::Result<(Option<PathBuf>, Option<Manifest>)> {
        let Some(d) = self.dir else {
            return Ok((None, None));
        };
        let dir = d.commit().map_err(report_error)?;
        let manifest = match &self.bundle {
            Some(b) => {
                let signer = self.sign.as_ref().map(SignWith::signer);
                Some(bundle::create(&dir, b, signer.as_ref(), TOOL).map_err(report_error)?)
            }
            None => None,
        };
        Ok((Some(dir), manifest))
    }
}

/// Loads `--expect-fail FILE` and checks its ids against `known` (exit 2 on an unknown id).
///
/// # Errors
/// Unreadable or malformed list, unknown id.
pub fn expect_list<'a>(
    file: Option<&Path>,
    known: impl IntoIterator<Item = &'a str> + Clone,
) -> anyhow::Result<Option<ExpectList>> {
    let Some(f) = file else { return Ok(None) };
    let l = ExpectList::load(f).map_err(|e| BadInput(format!("--expect-fail: {e}")))?;
    l.check_known(known)
        .map_err(|e| BadInput(format!("--expect-fail: {e}")))?;
    Ok(Some(l))
}

/// One line saying where the bundle went and whether it is signed.
pub fn bundle_line(path: &Path, m: &Manifest, signed: bool) -> String {
    format!(
        "bundle: {} ({} files, {})",
        path.display(),
        m.files.len(),
        if signed {
            "manifest signed"
        } else {
            "unsigned"
        }
    )
}
