//! One token response as a person or a script reads it (`bearing token`): the fields, the
//! latency and every deviation from RFC 6749 §5.1, the access token redacted unless asked.

use std::io::{self, Write};

use crate::token::{Severity, TokenResponse};

fn token_shown(r: &TokenResponse, show: bool) -> String {
    if show {
        r.access_token.expose().to_owned()
    } else {
        r.access_token.redacted()
    }
}

/// The JSON document of `bearing token`; `jti` is the assertion's, `show` reveals the token.
pub fn token_response_json(
    r: &TokenResponse,
    url: &url::Url,
    jti: Option<&str>,
    show: bool,
) -> serde_json::Value {
    let token = token_shown(r, show);
    let deviations: Vec<serde_json::Value> = r
        .deviations
        .iter()
        .map(|d| {
            serde_json::json!({"id": d.id(), "severity": d.severity(), "detail": d.to_string()})
        })
        .collect();
    serde_json::json!({
        "token_url": url.as_str(),
        "status": r.status,
        "access_token": token,
        "token_type": r.token_type,
        "expires_in": r.expires_in.map(|d| d.as_secs()),
        "scope": r.scope,
        "assertion_jti": jti,
        "latency_ms": r.latency.as_secs_f64() * 1e3,
        "deviations": deviations,
    })
}

/// Writes the text of `bearing token`: one field per line, then the deviations.
///
/// # Errors
/// A write error.
pub fn write_token_response(
    r: &TokenResponse,
    url: &url::Url,
    show: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let token = token_shown(r, show);
    writeln!(out, "token_url:    {url}")?;
    writeln!(out, "status:       {}", r.status)?;
    writeln!(out, "access_token: {token}")?;
    writeln!(
        out,
        "token_type:   {}",
        r.token_type.as_deref().unwrap_or("(absent)")
    )?;
    match r.expires_in {
        Some(d) => writeln!(out, "expires_in:   {}s", d.as_secs())?,
        None => writeln!(out, "expires_in:   (absent or unusable)")?,
    }
    if let Some(s) = &r.scope {
        writeln!(out, "scope:        {s}")?;
    }
    writeln!(out, "latency:      {:.1} ms", r.latency.as_secs_f64() * 1e3)?;
    if r.deviations.is_empty() {
        writeln!(out, "conformance:  no deviation from RFC 6749 §5.1")?;
    }
    for d in &r.deviations {
        let tag = match d.severity() {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Violation => "VIOLATION",
        };
        writeln!(out, "{tag:>12}: {d}")?;
    }
    Ok(())
}
