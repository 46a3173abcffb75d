//! `bearing decode`: prints a JWT's header and claims (times made readable), and verifies
//! its signature when given the certificate.

use std::io::Read as _;
use std::path::PathBuf;

use bearing_auth::{Certificate, Clock as _, DecodedJwt, SystemClock};

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global, describe_time};

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
    let verified = match &a.cert {
        Some(p) => {
            let cert = Certificate::from_file(p)?;
            Some(d.verify(&jwt, &cert).map_err(|e| e.to_string()))
        }
        None => None,
    };
    let now = SystemClock.now_secs();
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "header": d.header,
            "claims": d.claims,
            "signature_bytes": d.signature.len(),
            "verified": verified.as_ref().map(|r| r.is_ok()),
            "verify_error": verified.as_ref().and_then(|r| r.as_ref().err()),
        }))?,
        Format::Text => {
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            writeln!(out, "header: {}", serde_json::to_string_pretty(&d.header)?)?;
            writeln!(out, "claims: {}", serde_json::to_string_pretty(&d.claims)?)?;
            for name in ["iat", "nbf", "exp"] {
                if let Some(t) = d.claims.get(name).and_then(serde_json::Value::as_f64) {
                    #[expect(
                        clippy::cast_possible_truncation,
                        reason = "NumericDate seconds fit i64"
                    )]
                    let secs = t as i64;
                    writeln!(out, "{name}: {}", describe_time(secs, now))?;
                }
            }
            writeln!(out, "signature: {} bytes", d.signature.len())?;
            match &verified {
                Some(Ok(alg)) => writeln!(out, "verified: yes ({alg})")?,
                Some(Err(e)) => writeln!(out, "verified: NO ({e})")?,
                None => writeln!(out, "verified: not checked (give --cert)")?,
            }
        }
    }
    Ok(match verified {
        Some(Err(_)) => Exit::Failed,
        _ => Exit::Ok,
    })
}
