//! The terminal lines about bundles: where one was written (`bundle_line`) and what
//! `bearing report verify` found (`write_verification`), to a caller-supplied writer.

use std::io::{self, Write};
use std::path::Path;

use crate::bundle::{Manifest, Signature, Verification};

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

/// Writes what `bearing report verify` found: what the bundle claims, each problem, the
/// signature's state and the verdict line. `bundle` and `cert` are the paths as given.
///
/// # Errors
/// A write error.
pub fn write_verification(
    v: &Verification,
    bundle: &Path,
    cert: Option<&Path>,
    out: &mut impl Write,
) -> io::Result<()> {
    let m = &v.manifest;
    writeln!(
        out,
        "bundle {}: {} report by {}",
        bundle.display(),
        m.kind.as_str(),
        m.report_tool.as_deref().unwrap_or(&m.tool)
    )?;
    writeln!(
        out,
        "  target     {} (client {})",
        m.target.token_url.as_deref().unwrap_or("—"),
        m.target.client_id.as_deref().unwrap_or("—")
    )?;
    writeln!(
        out,
        "  profile    {} (sha256 {})",
        m.profile.name,
        m.profile.sha256.as_deref().unwrap_or("unknown")
    )?;
    writeln!(
        out,
        "  ran        {} → {}",
        m.started_at.as_deref().unwrap_or("?"),
        m.ended_at.as_deref().unwrap_or("?")
    )?;
    writeln!(out, "  verdict    {}", m.verdict)?;
    writeln!(out, "  bundled    {} by {}", m.bundled_at, m.tool)?;
    writeln!(
        out,
        "  files      {} of {} hashes checked",
        v.files_checked,
        m.files.len()
    )?;
    for p in &v.problems {
        writeln!(out, "  FAILED {}: {}", p.file, p.problem)?;
    }
    let cert = cert.map(|c| c.display().to_string()).unwrap_or_default();
    match &v.signature {
        Signature::Unsigned => writeln!(
            out,
            "  signature  none: the bundle is unsigned (hashes checked only)"
        )?,
        Signature::NotChecked { alg } => writeln!(
            out,
            "  signature  {alg}, not checked: pass --cert with the signer's certificate"
        )?,
        Signature::Valid { alg } => writeln!(out, "  signature  {alg}, verified with {cert}")?,
        Signature::Invalid { reason } => writeln!(out, "  FAILED signature: {reason} ({cert})")?,
    }
    writeln!(
        out,
        "{}",
        if v.is_ok() {
            "OK: every file matches the manifest"
        } else {
            "NOT OK: the bundle does not match what was signed"
        }
    )?;
    Ok(())
}
