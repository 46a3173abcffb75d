//! What `bearing keygen` wrote, as a person or a script reads it: one identity (the
//! certificate to paste into a portal) or a fleet (the import list), as text to a
//! caller-supplied writer or as a JSON document.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{Algorithm, Certificate, FleetMember, KeyKind};

/// One identity written to disk.
#[derive(Debug)]
pub struct WrittenIdentity<'a> {
    /// The client id (the certificate's common name).
    pub client_id: &'a str,
    /// The algorithm the key is for.
    pub alg: Algorithm,
    /// The key's kind (`RSA-2048`).
    pub kind: KeyKind,
    /// Where the private key went (mode 0600).
    pub key_path: &'a Path,
    /// Where the certificate went.
    pub cert_path: &'a Path,
    /// The certificate.
    pub cert: &'a Certificate,
}

impl WrittenIdentity<'_> {
    /// The JSON document.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "client_id": self.client_id,
            "alg": self.alg.as_str(),
            "private_key": self.key_path,
            "certificate": self.cert_path,
            "certificate_base64_der": self.cert.to_base64_der(),
            "x5t#S256": self.cert.x5t_s256(),
        })
    }

    /// The text: the files, the thumbprint and the Base64 DER certificate to register.
    ///
    /// # Errors
    /// A write error.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        writeln!(
            out,
            "private key: {} (mode 0600, {})",
            self.key_path.display(),
            self.kind
        )?;
        writeln!(out, "certificate: {}", self.cert_path.display())?;
        writeln!(out, "x5t#S256:    {}", self.cert.x5t_s256())?;
        writeln!(
            out,
            "\nRegister this Base64 DER certificate for client id {}:\n",
            self.client_id
        )?;
        writeln!(out, "{}", self.cert.to_base64_der())
    }
}

/// Writes `dir/certificates.txt` (`client_id<TAB>Base64 DER` per line, for a portal import)
/// and returns its path.
///
/// # Errors
/// The file could not be written.
pub fn write_fleet_list(
    dir: &Path,
    members: &[FleetMember],
) -> Result<PathBuf, crate::KeyFileError> {
    let list = dir.join("certificates.txt");
    let mut lines = String::new();
    for (id, _, cert) in members {
        lines.push_str(&format!("{id}\t{}\n", cert.to_base64_der()));
    }
    std::fs::write(&list, lines).map_err(|source| crate::KeyFileError {
        action: "writing",
        path: list.clone(),
        source,
    })?;
    Ok(list)
}

/// A fleet written to disk.
#[derive(Debug)]
pub struct WrittenFleet<'a> {
    /// The algorithm of the keys.
    pub alg: Algorithm,
    /// The folder of the identities.
    pub dir: &'a Path,
    /// The import list.
    pub list: &'a Path,
    /// The identities, sorted.
    pub members: &'a [FleetMember],
    /// How long generating them took.
    pub generated: Duration,
}

impl WrittenFleet<'_> {
    fn first_last(&self) -> (Option<&str>, Option<&str>) {
        (
            self.members.first().map(|m| m.0.as_str()),
            self.members.last().map(|m| m.0.as_str()),
        )
    }

    /// The JSON document.
    pub fn json(&self) -> serde_json::Value {
        let (first, last) = self.first_last();
        serde_json::json!({
            "fleet": self.members.len(),
            "alg": self.alg.as_str(),
            "dir": self.dir,
            "certificates": self.list,
            "first": first,
            "last": last,
            "generate_ms": self.generated.as_secs_f64() * 1e3,
        })
    }

    /// The text: how many, which ids, where, and how to use them.
    ///
    /// # Errors
    /// A write error.
    pub fn write_text(&self, out: &mut impl Write) -> io::Result<()> {
        let (first, last) = self.first_last();
        writeln!(
            out,
            "{} {} identities ({} … {}) in {} (generated in {:.0} ms)",
            self.members.len(),
            self.alg.as_str(),
            first.unwrap_or(""),
            last.unwrap_or(""),
            self.dir.display(),
            self.generated.as_secs_f64() * 1e3
        )?;
        writeln!(
            out,
            "portal import (client_id<TAB>Base64 DER): {}\nin a target file: identities_dir: {}",
            self.list.display(),
            self.dir.display()
        )
    }
}
