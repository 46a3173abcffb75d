//! `bearing keygen`: a private key (PKCS#8 PEM, mode 0600) and a self-signed certificate, and
//! the Base64 DER certificate to paste into a portal.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bearing_auth::{Algorithm, Certificate, SigningKey};

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing keygen`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing keygen --client-id SampleConfId --out keys/\n  \
    # writes keys/private.pem (0600) and keys/cert.pem, prints the certificate to register\n  \
    bearing keygen --client-id SampleConfId --out keys/ --alg ES256"
)]
pub struct Args {
    /// The client id, used as the certificate's common name.
    #[arg(long)]
    pub client_id: String,
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
    if a.client_id.trim().is_empty() {
        return Err(BadInput("--client-id is empty".into()).into());
    }
    let key = SigningKey::generate(alg, a.key_bits).map_err(|e| BadInput(e.to_string()))?;
    let cert = Certificate::self_signed(&key, &a.client_id, a.days)?;
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
    write_private(&key_path, key.to_pkcs8_pem().as_bytes())?;
    std::fs::write(&cert_path, cert.to_pem())
        .with_context(|| format!("writing {}", cert_path.display()))?;
    let b64 = cert.to_base64_der();
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "client_id": a.client_id,
            "alg": alg.as_str(),
            "private_key": key_path,
            "certificate": cert_path,
            "certificate_base64_der": b64,
            "x5t#S256": cert.x5t_s256(),
        }))?,
        Format::Text => {
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "private key: {} (mode 0600, {})",
                key_path.display(),
                key.kind()
            )?;
            writeln!(out, "certificate: {}", cert_path.display())?;
            writeln!(out, "x5t#S256:    {}", cert.x5t_s256())?;
            writeln!(
                out,
                "\nRegister this Base64 DER certificate for client id {}:\n",
                a.client_id
            )?;
            writeln!(out, "{b64}")?;
        }
    }
    Ok(Exit::Ok)
}

/// Writes a private key file created with mode 0600 (never world-readable, even briefly).
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
