//! `bearing sign`: prints one signed assertion for a target or for explicit key/client/aud.

use std::time::Duration;

use bearing_auth::AssertionSettings;

use crate::cmd::common::TargetArgs;
use crate::exit::Exit;
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
    let settings = AssertionSettings {
        ttl: a.ttl,
        alg: a.alg.clone(),
        sub: a.sub.clone(),
        claims: a.claims.clone(),
    };
    let signed = bearing_auth::sign_assertion(&mut t, &settings);
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let (assertion, alg) = signed?;
    match g.output {
        Format::Json => crate::output::print_json(&serde_json::json!({
            "assertion": assertion.expose(),
            "jti": assertion.jti(),
            "exp": assertion.exp(),
            "alg": alg.as_str(),
        }))?,
        Format::Text => {
            use std::io::Write as _;
            writeln!(std::io::stdout().lock(), "{}", assertion.expose())?;
        }
    }
    Ok(Exit::Ok)
}
