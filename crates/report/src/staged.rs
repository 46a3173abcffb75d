//! A run's evidence from start to end (issue 21 class 3, issue 17): the report folder staged
//! before anything runs (so a bad folder fails first and a crash leaves the old one whole),
//! moved into place at the end, then packed into a bundle signed with the caller's key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bearing_auth::{Algorithm, SigningKey};

use crate::bundle::{self, Manifest, Signer};
use crate::{ReportDir, Result};

/// The key and algorithm a bundle's manifest is signed with.
#[derive(Debug, Clone)]
pub struct BundleKey {
    /// The private key (never written anywhere).
    pub key: Arc<SigningKey>,
    /// The JWS algorithm, checked to fit the key.
    pub alg: Algorithm,
}

impl BundleKey {
    /// The signer for [`bundle::create`].
    pub fn signer(&self) -> Signer<'_> {
        Signer {
            key: &self.key,
            alg: self.alg,
        }
    }
}

/// Everything checked before a run starts: the staged report folder, the bundle file and
/// the key.
#[derive(Debug)]
pub struct StagedRun {
    dir: Option<ReportDir>,
    bundle: Option<PathBuf>,
    key: Option<BundleKey>,
}

impl StagedRun {
    /// Stages `dir` (replacing a non-empty one only with `force`) and checks that `bundle`
    /// can be created; the caller has checked that a bundle comes with a folder.
    ///
    /// # Errors
    /// A folder that is a file, not empty (without `force`) or not writable; a bundle file
    /// that exists or cannot be written (named as `--bundle`).
    pub fn prepare(
        dir: Option<&Path>,
        force: bool,
        bundle: Option<&Path>,
        key: Option<BundleKey>,
    ) -> Result<Self> {
        if let Some(b) = bundle {
            crate::dir::check_new_file(b, "--bundle")?;
        }
        let dir = dir.map(|d| ReportDir::prepare(d, force)).transpose()?;
        Ok(Self {
            dir,
            bundle: bundle.map(Path::to_owned),
            key,
        })
    }

    /// Where the reporters write now (the staging folder).
    pub fn path(&self) -> Option<&Path> {
        self.dir.as_ref().map(ReportDir::path)
    }

    /// Moves the report folder into place and writes the bundle (by `tool`); returns the
    /// folder and the manifest.
    ///
    /// # Errors
    /// The rename or the bundle failed.
    pub fn finish(self, tool: &str) -> Result<(Option<PathBuf>, Option<Manifest>)> {
        let Some(d) = self.dir else {
            return Ok((None, None));
        };
        let dir = d.commit()?;
        let manifest = match &self.bundle {
            Some(b) => {
                let signer = self.key.as_ref().map(BundleKey::signer);
                Some(bundle::create(&dir, b, signer.as_ref(), tool)?)
            }
            None => None,
        };
        Ok((Some(dir), manifest))
    }
}
