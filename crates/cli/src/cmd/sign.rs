//! `bearing sign`: prints one signed assertion for a target or for explicit key/client/aud.

use std::time::Duration;

use anyhow::Context as _;

use crate::cmd::common::TargetArgs;
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing sign`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing sign                                   # for the embedded sandbox (a throwaway key)\n  \
    bearing sign --target scenarios/targets/example-remote.yaml\n  \
    bearing sign --key keys/private.pem --client-id SampleConfId --aud https://gw/oauth/token --ttl 30s --claim scope=read"
)]
pub struct Args {
    /// Target and identity; the embedded sandbox's (a throwaway key) when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// Assertion lifetime (`exp - iat`), e.g. 60s.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub ttl: Option<Duration>,
    /// Signing algorithm (defaults to the key's: RS256 for RSA).
    #[arg(long)]
    pub alg: Option<String>,
    /// `sub` claim (defaults to the client id).
    #[arg(long)]
    pub sub: Option<String>,
    /// Extra claim `name=value`; the value is parsed as JSON when it is valid JSON.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub claims: Vec<String>,
}

/// Parses `name=value`, the value as JSON when valid, else as a string.
pub fn parse_claim(s: &str) -> Result<(String, serde_json::Value), BadInput> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| BadInput(format!("--claim {s:?}: expected NAME=VALUE")))?;
    if k.is_empty() {
        return Err(BadInput(format!("--claim {s:?}: empty name")));
    }
    let value = serde_json::from_str(v).unwrap_or_else(|_| serde_json::Value::String(v.into()));
    Ok((k.to_owned(), value))
}

/// Runs `bearing sign`.
///
/// # Errors
/// Missing identity values, key/certificate errors, bad claims.
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    // Nothing names an identity: sign as the embedded sandbox's client, for its token URL
    // (`bearing sign | bearing decode -` shows what an assertion holds). `--aud` alone, or
    // `--key`/`--client-id`, still mean the user's own identity.
    let t0 = &a.target;
    let (mut t, sandbox) = if t0.is_empty()
        && t0.audience.is_none()
        && t0.client_id.is_none()
        && t0.private_key.is_none()
    {
        let s = crate::sandbox::start(crate::sandbox::SandboxOptions::default()).await?;
        if !g.quiet {
            eprintln!(
                "note: signed for the embedded sandbox with a throwaway key; give --target, or \
                 --key, --client-id and --aud, for your own identity"
            );
        }
        (s.target.clone(), Some(s))
    } else {
        (a.target.resolve()?, None)
    };
    if let Some(ttl) = a.ttl {
        t.assertion.ttl = ttl;
    }
    if let Some(alg) = &a.alg {
        t.assertion.alg = Some(alg.parse().map_err(|e| BadInput(format!("--alg: {e}")))?);
    }
    if let Some(s) = &a.sub {
        t.assertion.subject = Some(s.clone());
    }
    for c in &a.claims {
        let (k, v) = parse_claim(c)?;
        if k == "scope" {
            t.assertion.scope = v.as_str().map(str::to_owned);
        } else {
            t.assertion.claims.insert(k, v);
        }
    }
    let id = t.load_identity().context("loading the partner identity")?;
    let assertion = id.signer.sign()?;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "assertion": assertion.expose(),
            "jti": assertion.jti(),
            "exp": assertion.exp(),
            "alg": id.signer.algorithm().as_str(),
        }))?,
        Format::Text => {
            use std::io::Write as _;
            writeln!(std::io::stdout().lock(), "{}", assertion.expose())?;
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Values that are JSON stay JSON; anything else is a string; a missing '=' is bad input.
    #[test]
    fn claims_parse() {
        assert_eq!(parse_claim("n=5").expect("ok").1, serde_json::json!(5));
        assert_eq!(
            parse_claim("s=read write").expect("ok").1,
            serde_json::json!("read write")
        );
        assert_eq!(
            parse_claim("a=[1,2]").expect("ok").1,
            serde_json::json!([1, 2])
        );
        assert!(parse_claim("novalue").is_err());
        assert!(parse_claim("=x").is_err());
    }
}
