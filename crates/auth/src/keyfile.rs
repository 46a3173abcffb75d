//! Key files on disk and generated identities: private keys written with mode 0600 (never
//! world-readable, even briefly), and fleets of fresh identities (client id, key, self-signed
//! certificate) generated on every core, for `bearing keygen --count` and the embedded
//! sandbox's partner fleet.

use std::path::{Path, PathBuf};

use crate::{Algorithm, Certificate, SigningKey};

/// A key or certificate file could not be created or written.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}", .path.display())]
pub struct KeyFileError {
    /// `creating` or `writing`.
    pub action: &'static str,
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

fn at(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> KeyFileError {
    let path = path.to_owned();
    move |source| KeyFileError {
        action,
        path,
        source,
    }
}

/// Writes a private key file created with mode 0600 (never world-readable, even briefly).
///
/// # Errors
/// The file could not be created or written.
pub fn write_private_key(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    use std::io::Write as _;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(at("creating", path))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(at("creating", path))?;
    }
    f.write_all(bytes).map_err(at("writing", path))
}

/// The client id of fleet partner `i` (0-based): `{prefix}-00001`, …
pub fn partner_id(prefix: &str, i: usize) -> String {
    format!("{prefix}-{:05}", i + 1)
}

/// A generated fleet identity: client id, key, self-signed certificate.
pub type FleetMember = (String, SigningKey, Certificate);

/// Generates `n` identities (`{prefix}-00001`, …) of `alg` with self-signed certificates
/// valid for `days`, in parallel on every core.
///
/// # Errors
/// Key or certificate generation failures.
pub fn generate_fleet(
    n: usize,
    prefix: &str,
    alg: Algorithm,
    key_bits: usize,
    days: u32,
) -> crate::Result<Vec<FleetMember>> {
    let one = |i: usize| -> crate::Result<FleetMember> {
        let id = partner_id(prefix, i);
        let key = SigningKey::generate(alg, key_bits)?;
        let cert = Certificate::self_signed(&key, &id, days)?;
        Ok((id, key, cert))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .min(n.max(1));
    let chunks: Vec<crate::Result<Vec<_>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| s.spawn(move || (t..n).step_by(threads).map(one).collect()))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(crate::Error::Signing(
                        "key generation thread panicked".into(),
                    ))
                })
            })
            .collect()
    });
    let mut out = Vec::with_capacity(n);
    for c in chunks {
        out.extend(c?);
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Writes a fleet as `<dir>/<client_id>/{private.pem (0600),cert.pem}`.
///
/// # Errors
/// Write failures.
pub fn write_fleet(dir: &Path, fleet: &[FleetMember]) -> Result<(), KeyFileError> {
    for (id, key, cert) in fleet {
        let d = dir.join(id);
        std::fs::create_dir_all(&d).map_err(at("creating", &d))?;
        write_private_key(&d.join("private.pem"), key.to_pkcs8_pem().as_bytes())?;
        let c = d.join("cert.pem");
        std::fs::write(&c, cert.to_pem()).map_err(at("writing", &c))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Identities are numbered from 1, sorted, and their certificates name them.
    #[test]
    fn fleet_is_numbered_and_written_private() {
        let fleet = generate_fleet(3, "p", Algorithm::ES256, 0, 1).expect("fleet");
        let ids: Vec<&str> = fleet.iter().map(|m| m.0.as_str()).collect();
        assert_eq!(ids, ["p-00001", "p-00002", "p-00003"]);
        let dir = tempfile::tempdir().expect("dir");
        write_fleet(dir.path(), &fleet).expect("write");
        let key = dir.path().join("p-00002/private.pem");
        assert!(SigningKey::from_file(&key).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&key).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
