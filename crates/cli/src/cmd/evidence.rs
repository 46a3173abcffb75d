//! Flags shared by the runs that write a report folder (conform, certify, load): the folder
//! and `--bundle FILE` with `--sign-key` (issue 17). The steps themselves (folder checked
//! before anything runs, `--expect-fail`, bundle) are bearing-report's.

use std::path::{Path, PathBuf};

use bearing_report::EvidenceSettings;
use bearing_report::bundle::Manifest;

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

impl EvidenceArgs {
    /// The library's settings for these flags.
    pub fn settings(&self) -> EvidenceSettings {
        EvidenceSettings {
            force: self.force,
            bundle: self.bundle.clone(),
            sign_key: self.sign_key.clone(),
            sign_alg: self.sign_alg.clone(),
        }
    }
}

/// One line saying where the bundle went and whether it is signed.
pub fn bundle_line(path: &Path, m: &Manifest, signed: bool) -> String {
    bearing_report::bundle_line(path, m, signed)
}
