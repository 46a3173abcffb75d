//! `bearing report diff | bundle | verify` (issue 17): what changed between two runs, and
//! report folders packed into signed bundles that anyone holding the signer's certificate
//! can check.

use std::path::PathBuf;

use bearing_report::diff;

use crate::exit::Exit;
use crate::output::{Format, Global};

/// Flags of `bearing report diff`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing report diff reports/20261201T090000Z-conform reports/20261205T090000Z-conform\n  \
    bearing report diff old/summary.json new/summary.json --output json\n  \
    bearing report diff load-a load-b --tolerance 5 --html diff.html\n\n\
    conform/certify: every case or check whose verdict changed, regressions first, with the \
    evidence line of each side. load: rate, error rate and corrected p50/p90/p99/p99.9 per \
    scenario and phase, % change, and whether a percentile moved beyond noise (the runs' 95% \
    confidence intervals of that quantile, read off the .hgrm files, do not overlap).\n\n\
    Exit codes: 0 no regression, 1 a regression, 2 unreadable runs or runs of different kinds.")]
pub struct DiffArgs {
    /// The old run (report folder or its summary.json).
    pub old: PathBuf,
    /// The new run.
    pub new: PathBuf,
    /// load: a latency percentile up, or the rate down, by more than this % is a regression.
    #[arg(long, default_value_t = 10.0, value_name = "PCT")]
    pub tolerance: f64,
    /// load: an error-rate rise of more than this many percentage points is a regression.
    #[arg(long, default_value_t = 0.1, value_name = "POINTS")]
    pub error_tolerance: f64,
    /// Also write the diff as a self-contained HTML page (refused if the file exists).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// Flags of `bearing report bundle`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing report bundle reports/20261205T090000Z-conform --out conform.tar.gz --sign-key keys/private.pem\n  \
    bearing report verify conform.tar.gz --cert keys/cert.pem\n\n\
    The bundle holds the report folder, manifest.json (SHA-256 of every file, tool version, \
    token URL and client id, profile and its hash, start and end, verdict; never a key, an \
    assertion or a token) and manifest.jws (the manifest signed with --sign-key).\n\n\
    Exit codes: 0 written, 2 not a report folder, --out exists, unusable key.")]
pub struct BundleArgs {
    /// The report folder (written by conform, certify or load).
    pub dir: PathBuf,
    /// The bundle to write (tar.gz); refused if it exists.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Sign the manifest with this private key (unsigned without it).
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// The JWS algorithm (default from the key: RS256, ES256, ES384, EdDSA).
    #[arg(long, value_name = "ALG", requires = "sign_key")]
    pub sign_alg: Option<String>,
}

/// Flags of `bearing report verify`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing report verify conform.tar.gz --cert partner-cert.pem\n  \
    bearing report verify conform.tar.gz --output json\n\n\
    Checks every file against the manifest's SHA-256 and the manifest's signature against the \
    certificate, then prints what the bundle claims.\n\n\
    Exit codes: 0 every hash matched and the signature verified (or the bundle is unsigned, \
    which is said), 1 a file was edited, added or removed or the signature does not verify, \
    2 not a bundle (corrupt, truncated, manifest not JSON, alg none/HMAC).")]
pub struct VerifyArgs {
    /// The bundle.
    pub file: PathBuf,
    /// The signer's certificate (PEM, DER or Base64 DER).
    #[arg(long, value_name = "CERT")]
    pub cert: Option<PathBuf>,
}

/// Runs `bearing report diff`.
///
/// # Errors
/// Bad input (exit 2); the HTML page cannot be written (exit 3).
pub fn run_diff(a: &DiffArgs, g: &Global) -> anyhow::Result<Exit> {
    let d = bearing_report::diff_runs(&bearing_report::DiffSettings {
        old: a.old.clone(),
        new: a.new.clone(),
        tolerance: a.tolerance,
        error_tolerance: a.error_tolerance,
        html: a.html.clone(),
    })?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::to_value(&d)?)?,
        Format::Text => diff::write_text(&mut std::io::stdout().lock(), &d)?,
    }
    if let Some(h) = &a.html {
        bearing_report::write_diff_html(&d, h)?;
        if g.output == Format::Text {
            println!("html: {}", h.display());
        }
    }
    Ok(if d.regressions > 0 {
        Exit::Failed
    } else {
        Exit::Ok
    })
}

/// Runs `bearing report bundle`.
///
/// # Errors
/// Bad input (exit 2); the bundle cannot be written (exit 3).
pub fn run_bundle(a: &BundleArgs, g: &Global) -> anyhow::Result<Exit> {
    let key = a.sign_key.as_deref().map(|k| (k, a.sign_alg.as_deref()));
    let m = bearing_report::bundle_folder(&a.dir, &a.out, key)?;
    let signed = a.sign_key.is_some();
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "bundle": a.out.display().to_string(),
            "signed": signed,
            "manifest": m,
        }))?,
        Format::Text => println!("{}", bearing_report::bundle_line(&a.out, &m, signed)),
    }
    Ok(Exit::Ok)
}

/// Runs `bearing report verify`.
///
/// # Errors
/// Bad input: unreadable certificate, not a bundle (exit 2).
pub fn run_verify(a: &VerifyArgs, g: &Global) -> anyhow::Result<Exit> {
    let v = bearing_report::verify_bundle(&a.file, a.cert.as_deref())?;
    let json = || serde_json::json!({ "ok": v.is_ok(), "verification": v });
    crate::output::emit(g, json, |o| {
        bearing_report::write_verification(&v, &a.file, a.cert.as_deref(), o)
    })?;
    Ok(if v.is_ok() { Exit::Ok } else { Exit::Failed })
}
