//! The `bearing keygen` operation (issue 13: the CLI parses flags, the library does the
//! work): [`KeygenSettings`] in; one identity (`private.pem` 0600, `cert.pem`) or a fleet of
//! them with `certificates.txt` written; a [`Keygen`] out for the CLI to print through
//! [`crate::WrittenIdentity`] / [`crate::WrittenFleet`]. Errors are typed ([`KeygenError`]).

use std::path::PathBuf;
use std::time::Duration;

use crate::{Algorithm, Certificate, FleetMember, KeyFileError, SigningKey};

/// What `bearing keygen` was asked to do.
#[derive(Debug, Clone)]
pub struct KeygenSettings {
    /// The client id (with `fleet`: the prefix, default `partner`).
    pub client_id: Option<String>,
    /// Write a fleet of this many identities.
    pub fleet: Option<u32>,
    /// The folder to write into.
    pub out: PathBuf,
    /// The algorithm's name.
    pub alg: String,
    /// RSA modulus size.
    pub key_bits: usize,
    /// Certificate validity in days.
    pub days: u32,
    /// Overwrite existing files.
    pub force: bool,
}

/// What `bearing keygen` wrote.
#[derive(Debug)]
pub enum Keygen {
    /// One identity.
    Identity {
        /// The client id.
        client_id: String,
        /// The algorithm.
        alg: Algorithm,
        /// The key (its kind is printed).
        key: Box<SigningKey>,
        /// `OUT/private.pem`.
        key_path: PathBuf,
        /// `OUT/cert.pem`.
        cert_path: PathBuf,
        /// The certificate.
        cert: Box<Certificate>,
    },
    /// A fleet.
    Fleet {
        /// The algorithm.
        alg: Algorithm,
        /// `OUT/certificates.txt`.
        list: PathBuf,
        /// The identities.
        members: Vec<FleetMember>,
        /// How long generating them took.
        generated: Duration,
    },
}

/// Why `bearing keygen` stopped.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    /// Bad input named by its flag or file: exit 2.
    #[error("{0}")]
    Input(String),
    /// Key or certificate generation.
    #[error(transparent)]
    Auth(#[from] crate::Error),
    /// A key or certificate file.
    #[error(transparent)]
    File(#[from] KeyFileError),
    /// A folder or file could not be created or written (`creating`, `writing`).
    #[error("{action} {}", .path.display())]
    Io {
        /// `creating` or `writing`.
        action: &'static str,
        /// The folder or file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn input(m: String) -> KeygenError {
    KeygenError::Input(m)
}

/// Runs `bearing keygen`.
///
/// # Errors
/// Bad flags, existing files without `force`, generation or write failures.
pub fn keygen(s: &KeygenSettings) -> Result<Keygen, KeygenError> {
    let alg: Algorithm = s.alg.parse().map_err(|e| input(format!("--alg: {e}")))?;
    if let Some(n) = s.fleet {
        return fleet(s, alg, n as usize);
    }
    let client_id = s.client_id.clone().unwrap_or_default();
    if client_id.trim().is_empty() {
        return Err(input("--client-id is empty".into()));
    }
    let key = SigningKey::generate(alg, s.key_bits).map_err(|e| input(e.to_string()))?;
    let cert = Certificate::self_signed(&key, &client_id, s.days)?;
    if s.out.exists() && !s.out.is_dir() {
        return Err(input(format!(
            "--out {}: is a file; give a folder to write private.pem and cert.pem into",
            s.out.display()
        )));
    }
    std::fs::create_dir_all(&s.out).map_err(|source| KeygenError::Io {
        action: "creating",
        path: s.out.clone(),
        source,
    })?;
    let key_path = s.out.join("private.pem");
    let cert_path = s.out.join("cert.pem");
    for p in [&key_path, &cert_path] {
        if p.exists() && !s.force {
            return Err(input(format!(
                "{} exists; use --force to overwrite",
                p.display()
            )));
        }
    }
    crate::write_private_key(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem()).map_err(|source| KeygenError::Io {
        action: "writing",
        path: cert_path.clone(),
        source,
    })?;
    Ok(Keygen::Identity {
        client_id,
        alg,
        key: Box::new(key),
        key_path,
        cert_path,
        cert: Box::new(cert),
    })
}

/// `fleet`: N identities under `out`, and the certificates file.
fn fleet(s: &KeygenSettings, alg: Algorithm, n: usize) -> Result<Keygen, KeygenError> {
    let prefix = s.client_id.as_deref().unwrap_or("partner");
    if prefix.trim().is_empty() || prefix.contains(['/', '\\']) {
        return Err(input(format!(
            "--client-id {prefix:?}: a fleet prefix must be non-empty, without slashes"
        )));
    }
    if s.out.exists() && !s.out.is_dir() {
        return Err(input(format!(
            "--out {}: is a file; give a folder",
            s.out.display()
        )));
    }
    let list = s.out.join("certificates.txt");
    if list.exists() && !s.force {
        return Err(input(format!(
            "{} exists; use --force to overwrite",
            list.display()
        )));
    }
    // Checked before generating: a bad key size fails once, not N times.
    SigningKey::generate(alg, s.key_bits).map_err(|e| input(e.to_string()))?;
    let started = std::time::Instant::now();
    let members = crate::generate_fleet(n, prefix, alg, s.key_bits, s.days)?;
    let generated = started.elapsed();
    crate::write_fleet(&s.out, &members)?;
    let list = crate::write_fleet_list(&s.out, &members)?;
    Ok(Keygen::Fleet {
        alg,
        list,
        members,
        generated,
    })
}
