//! `bearing keygen`: a private key (PKCS#8 PEM, mode 0600) and a self-signed certificate, and
//! the Base64 DER certificate to paste into a portal.

use std::path::PathBuf;

use bearing_auth::{Keygen, KeygenSettings};

use crate::exit::Exit;
use crate::output::Global;

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
    let done = bearing_auth::keygen(&KeygenSettings {
        client_id: a.client_id.clone(),
        fleet: a.fleet,
        out: a.out.clone(),
        alg: a.alg.clone(),
        key_bits: a.key_bits,
        days: a.days,
        force: a.force,
    })?;
    match done {
        Keygen::Identity {
            client_id,
            alg,
            key,
            key_path,
            cert_path,
            cert,
        } => {
            let written = bearing_auth::WrittenIdentity {
                client_id: &client_id,
                alg,
                kind: key.kind(),
                key_path: &key_path,
                cert_path: &cert_path,
                cert: &cert,
            };
            crate::output::emit(g, || written.json(), |out| written.write_text(out))?;
        }
        Keygen::Fleet {
            alg,
            list,
            members,
            generated,
        } => {
            let written = bearing_auth::WrittenFleet {
                alg,
                dir: &a.out,
                list: &list,
                members: &members,
                generated,
            };
            crate::output::emit(g, || written.json(), |out| written.write_text(out))?;
        }
    }
    Ok(Exit::Ok)
}
