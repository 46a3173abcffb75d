//! `bearing keygen`: a private key (PKCS#8 PEM, mode 0600) and a self-signed certificate, and
//! the Base64 DER certificate to paste into a portal.

use std::path::PathBuf;

use anyhow::Context as _;
use bearing_auth::{Algorithm, Certificate, SigningKey};

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing keygen`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing keygen --client-id SampleConfId --out keys/\n  \
    # writes keys/private.pem (0600) and keys/cert.pem, prints the certificate to register\n  \
    bearing keygen --client-id SampleConfId --out keys/ --alg ES256\n  \
    bearing keygen --fleet 200 --alg ES256 --out fleet/\n  \
    # writes fleet/partner-00001/{private.pem,cert.pem} … and fleet/certificates.txt\n  \
    # (client_id<TAB>Base64 DER per line, for a portal import); name it in a target with\n  \
    # identities_dir: fleet/"
)]
pub struct Args {
    /// The client id, used as the certificate's common name. With `--fleet`, the prefix of
    /// the partners' ids (default `partner`: partner-00001, …).
    #[arg(long, required_unless_present = "fleet")]
    pub client_id: Option<String>,
    /// Write a partner fleet of N identities instead: `OUT/<client_id>/{private.pem,cert.pem}`
    /// and `OUT/certificates.txt` (`client_id<TAB>Base64 DER` lines), for a target's
    /// `identities_dir`.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub fleet: Option<u32>,
    /// The folder to write `private.pem` and `cert.pem` into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The signing algorithm the key is for.
    #[arg(long, default_value = "RS256")]
    pub alg: String,
    /// RSA modulus size.
    #[arg(long, default_value_t = 2048)]
    pub key_bits: usize,
    /// Certificate validity in days (1 to 36500).
    #[arg(long, default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=MAX_DAYS))]
    pub days: u32,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// The longest validity `--days` takes: 100 years (longer overflowed to a 1970 notAfter).
const MAX_DAYS: i64 = 36_500;

/// Runs `bearing keygen`.
///
/// # Errors
/// Bad flags, existing files without `--force`, or write failures.
pub fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let alg: Algorithm = a.alg.parse().map_err(|e| BadInput(format!("--alg: {e}")))?;
    if let Some(n) = a.fleet {
        return fleet(&a, alg, n as usize, g);
    }
    let client_id = a.client_id.clone().unwrap_or_default();
    if client_id.trim().is_empty() {
        return Err(BadInput("--client-id is empty".into()).into());
    }
    let key = SigningKey::generate(alg, a.key_bits).map_err(|e| BadInput(e.to_string()))?;
    let cert = Certificate::self_signed(&key, &client_id, a.days)?;
    if a.out.exists() && !a.out.is_dir() {
        return Err(BadInput(format!(
            "--out {}: is a file; give a folder to write private.pem and cert.pem into",
            a.out.display()
        ))
        .into());
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let key_path = a.out.join("private.pem");
    let cert_path = a.out.join("cert.pem");
    for p in [&key_path, &cert_path] {
        if p.exists() && !a.force {
            return Err(
                BadInput(format!("{} exists; use --force to overwrite", p.display())).into(),
            );
        }
    }
    bearing_auth::write_private_key(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    let written = bearing_auth::WrittenIdentity {
        client_id: &client_id,
        alg,
        kind: key.kind(),
        key_path: &key_path,
        cert_path: &cert_path,
        cert: &cert,
    };
    match g.output {
        Format::Json => crate::output::print_json(&written.json())?,
        Format::Text => written.write_text(&mut std::io::stdout().lock())?,
    }
    Ok(Exit::Ok)
}

/// `--fleet N`: N identities under `--out`, and the certificates file.
fn fleet(a: &Args, alg: Algorithm, n: usize, g: &Global) -> anyhow::Result<Exit> {
    let prefix = a.client_id.as_deref().unwrap_or("partner");
    if prefix.trim().is_empty() || prefix.contains(['/', '\\']) {
        return Err(BadInput(format!(
            "--client-id {prefix:?}: a fleet prefix must be non-empty, without slashes"
        ))
        .into());
    }
    if a.out.exists() && !a.out.is_dir() {
        return Err(BadInput(format!(
            "--out {}: is a file; give a folder",
            a.out.display()
        ))
        .into());
    }
    let list = a.out.join("certificates.txt");
    if list.exists() && !a.force {
        return Err(BadInput(format!(
            "{} exists; use --force to overwrite",
            list.display()
        ))
        .into());
    }
    // Checked before generating: a bad --key-bits fails once, not N times.
    SigningKey::generate(alg, a.key_bits).map_err(|e| BadInput(e.to_string()))?;
    let started = std::time::Instant::now();
    let members = bearing_auth::generate_fleet(n, prefix, alg, a.key_bits, a.days)?;
    let generated = started.elapsed();
    bearing_auth::write_fleet(&a.out, &members)?;
    let list = bearing_auth::write_fleet_list(&a.out, &members)?;
    let written = bearing_auth::WrittenFleet {
        alg,
        dir: &a.out,
        list: &list,
        members: &members,
        generated,
    };
    match g.output {
        Format::Json => crate::output::print_json(&written.json())?,
        Format::Text => written.write_text(&mut std::io::stdout().lock())?,
    }
    Ok(Exit::Ok)
}
