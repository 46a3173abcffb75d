//! `bearing decode`: prints a JWT's header and claims (times made readable), and verifies
//! its signature when given the certificate.

use std::io::Read as _;
use std::path::PathBuf;

use bearing_auth::{Certificate, Clock as _, DecodedJwt, SystemClock};

use crate::exit::{BadInput, Exit};
use crate::output::Global;

/// Flags of `bearing decode`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  bearing decode eyJhbGciOi…\n  \
    bearing sign -t target.yaml | bearing decode - --cert keys/cert.pem")]
pub struct Args {
    /// The JWT (compact serialization), or `-` to read it from stdin.
    pub jwt: String,
    /// Verify the signature with this certificate (PEM, DER or Base64 DER).
    #[arg(long)]
    pub cert: Option<PathBuf>,
}

/// Runs `bearing decode`. Exits 1 when a certificate is given and the signature fails.
///
/// # Errors
/// A malformed JWT or certificate.
pub fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    let jwt = if a.jwt == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            BadInput(format!(
                "decode -: cannot read a JWT from stdin: {e} (a JWT is ASCII text)"
            ))
        })?;
        s.trim().to_owned()
    } else {
        a.jwt.trim().to_owned()
    };
    let d = DecodedJwt::parse(&jwt).map_err(|e| BadInput(e.to_string()))?;
    let verified: bearing_auth::Verified = match &a.cert {
        Some(p) => {
            let cert = Certificate::from_file(p)?;
            Some(d.verify(&jwt, &cert).map_err(|e| e.to_string()))
        }
        None => None,
    };
    let now = SystemClock.now_secs();
    let json = || bearing_auth::decoded_json(&d, &verified);
    crate::output::emit(g, json, |o| {
        bearing_auth::write_decoded(&d, &verified, now, o)
    })?;
    Ok(match verified {
        Some(Err(_)) => Exit::Failed,
        _ => Exit::Ok,
    })
}
