//! Flags shared by the commands that talk to a gateway as a partner: which target, and the
//! identity overrides. Precedence: flag > environment (`BEARING_*`) > target file.

use std::path::PathBuf;

use anyhow::Context as _;
use bearing_auth::{MissingValue, Target, TargetOverrides};

use crate::exit::BadInput;

/// Where to send requests and as whom.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TargetArgs {
    /// A target file (YAML) describing the gateway and the partner identity.
    #[arg(long, short = 't', env = "BEARING_TARGET")]
    pub target: Option<PathBuf>,
    /// The token endpoint URL (beats the target file).
    #[arg(long, env = "BEARING_TOKEN_URL", value_parser = parse_token_url)]
    pub token_url: Option<url::Url>,
    /// The assertion audience; defaults to the token URL.
    #[arg(long = "aud", env = "BEARING_AUDIENCE")]
    pub audience: Option<String>,
    /// The client id (the assertion's iss).
    #[arg(long, env = "BEARING_CLIENT_ID")]
    pub client_id: Option<String>,
    /// The private key: a PEM/DER file, or PEM text in BEARING_PRIVATE_KEY.
    #[arg(long = "key", env = "BEARING_PRIVATE_KEY", hide_env_values = true)]
    pub private_key: Option<PathBuf>,
    /// The registered certificate, checked against the key.
    #[arg(long = "cert", env = "BEARING_CERTIFICATE")]
    pub certificate: Option<PathBuf>,
    /// Allow a plain http:// token URL on a host that is not loopback (the assertion is a
    /// credential: refused otherwise).
    #[arg(long)]
    pub allow_http: bool,
    /// DANGEROUS: accept any TLS server certificate (like curl -k). Prefer tls.pin_sha256 in
    /// the target file for a self-signed gateway. Warned on every run; conform refuses it
    /// without --insecure-verdicts.
    #[arg(long)]
    pub insecure: bool,
    /// Speak HTTP/2 to the gateway (http2: true in the target file): TLS ALPN offers only
    /// h2, so a gateway without HTTP/2 fails with a plain message. Needs https URLs.
    #[arg(long)]
    pub http2: bool,
}

impl TargetArgs {
    /// Whether anything at all names a gateway (otherwise the embedded sandbox is used).
    pub fn is_empty(&self) -> bool {
        self.target.is_none() && self.token_url.is_none()
    }

    /// Refuses credentials in the URL flags, naming the flag or the environment variable.
    fn check_urls(&self) -> anyhow::Result<()> {
        if let Some(u) = &self.token_url {
            bearing_auth::token::refuse_url_credentials(
                u,
                source_of("--token-url", "BEARING_TOKEN_URL"),
            )
            .map_err(|e| BadInput(e.to_string()))?;
        }
        Ok(())
    }

    fn overrides(&self) -> TargetOverrides {
        TargetOverrides {
            token_url: self.token_url.clone(),
            audience: self.audience.clone(),
            client_id: self.client_id.clone(),
            private_key: self.private_key.clone(),
            certificate: self.certificate.clone(),
            allow_http: self.allow_http,
            insecure: self.insecure,
            http2: self.http2,
        }
    }

    /// Builds the effective target: the file (if any) with flags and environment on top.
    ///
    /// # Errors
    /// [`BadInput`] when a required value is missing, or the file's own errors.
    pub fn resolve(&self) -> anyhow::Result<Target> {
        self.check_urls()?;
        let mut t = match &self.target {
            Some(p) => Target::from_file(p)
                .with_context(|| format!("reading target file {}", p.display()))?,
            None => Target::from_overrides(&self.overrides()).map_err(|m| {
                let (what, flag, env) = match m {
                    MissingValue::TokenUrl => ("token URL", "--token-url", "BEARING_TOKEN_URL"),
                    MissingValue::ClientId => ("client id", "--client-id", "BEARING_CLIENT_ID"),
                    MissingValue::PrivateKey => ("private key", "--key", "BEARING_PRIVATE_KEY"),
                };
                BadInput(format!("no {what}: give --target, or {flag} (or {env})"))
            })?,
        };
        t.apply(&self.overrides());
        t.validate()?;
        warn_if_insecure(&t);
        Ok(t)
    }
}

/// The warning every run with `tls.insecure` / `--insecure` prints (issue 15): it is never a
/// default and never silent.
pub const INSECURE_WARNING: &str = "WARNING: TLS server certificates are NOT verified \
     (--insecure / tls.insecure): anyone on the path can impersonate the gateway; prefer \
     tls.pin_sha256 for a self-signed gateway";

/// Prints [`INSECURE_WARNING`] to stderr when the target skips verification (a pin beats
/// `insecure`, so then nothing is printed).
pub fn warn_if_insecure(t: &Target) {
    if t.tls.insecure && t.tls.pin_sha256.is_none() {
        eprintln!("{INSECURE_WARNING}");
    }
}

/// The effective target, or — when no target is named — a freshly started embedded sandbox
/// and a target for it. The caller shuts the sandbox down when done.
///
/// # Errors
/// As [`TargetArgs::resolve`], or sandbox start-up failures.
pub async fn target_or_sandbox(
    args: &TargetArgs,
) -> anyhow::Result<(Target, Option<crate::sandbox::Sandbox>)> {
    args.check_urls()?;
    if args.is_empty() {
        let sandbox = crate::sandbox::start(Default::default()).await?;
        let mut target = sandbox.target.clone();
        target.apply(&args.overrides());
        if args.http2 {
            // The embedded sandbox is plain http: refused, naming the field.
            target.validate()?;
        }
        warn_if_insecure(&target);
        Ok((target, Some(sandbox)))
    } else {
        Ok((args.resolve()?, None))
    }
}

/// Where a value of a flag with an environment fallback came from: the flag when it is on
/// the command line, else the environment variable (so errors blame the right one).
pub fn source_of(flag: &'static str, env: &'static str) -> &'static str {
    let on_command_line = std::env::args_os().any(|a| {
        let a = a.to_string_lossy();
        a == flag || a.starts_with(&format!("{flag}="))
    });
    if on_command_line || std::env::var_os(env).is_none() {
        flag
    } else {
        env
    }
}

/// Parses `--token-url`, saying so when the bad value came from `BEARING_TOKEN_URL`.
fn parse_token_url(s: &str) -> Result<url::Url, String> {
    url::Url::parse(s).map_err(|e| match source_of("--token-url", "BEARING_TOKEN_URL") {
        "BEARING_TOKEN_URL" => format!("{e} (the value comes from BEARING_TOKEN_URL)"),
        _ => e.to_string(),
    })
}
