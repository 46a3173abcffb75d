//! A decoded JWT as a person or a script reads it (`bearing decode`): header and claims,
//! the NumericDates as times relative to now, the signature's size and whether it verified.

use std::io::{self, Write};

use crate::{Algorithm, DecodedJwt};

/// Whether and how the signature was checked: `None` when no certificate was given,
/// else the algorithm it verified with or why it did not.
pub type Verified = Option<Result<Algorithm, String>>;

/// The JSON document of `bearing decode`.
pub fn decoded_json(d: &DecodedJwt, verified: &Verified) -> serde_json::Value {
    serde_json::json!({
        "header": d.header,
        "claims": d.claims,
        "signature_bytes": d.signature.len(),
        "verified": verified.as_ref().map(|r| r.is_ok()),
        "verify_error": verified.as_ref().and_then(|r| r.as_ref().err()),
    })
}

/// Writes the text of `bearing decode`; `now` is the current NumericDate.
///
/// # Errors
/// A write error (or a header that does not serialise, reported as one).
pub fn write_decoded(
    d: &DecodedJwt,
    verified: &Verified,
    now: i64,
    out: &mut impl Write,
) -> io::Result<()> {
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
    match verified {
        Some(Ok(alg)) => writeln!(out, "verified: yes ({alg})"),
        Some(Err(e)) => writeln!(out, "verified: NO ({e})"),
        None => writeln!(out, "verified: not checked (give --cert)"),
    }
}

/// Formats a NumericDate relative to now: `2026-11-28T04:22:07Z (in 59s)`.
pub fn describe_time(secs: i64, now: i64) -> String {
    let when = std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_secs(
            u64::try_from(secs).unwrap_or(0),
        ))
        .map(|t| humantime::format_rfc3339_seconds(t).to_string())
        .unwrap_or_else(|| secs.to_string());
    let delta = secs - now;
    let rel = humantime::format_duration(std::time::Duration::from_secs(delta.unsigned_abs()));
    if delta >= 0 {
        format!("{when} (in {rel})")
    } else {
        format!("{when} ({rel} ago)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Past and future times say which side of now they are on.
    #[test]
    fn relative_times() {
        assert_eq!(describe_time(60, 0), "1970-01-01T00:01:00Z (in 1m)");
        assert_eq!(describe_time(0, 59), "1970-01-01T00:00:00Z (59s ago)");
    }
}
