//! `bearing bench …`: flags, dispatch and printing. The measuring lives in bearing-bench:
//! `bench sign` (signing on 1..=N threads next to `openssl speed`) and `bench verify` (the
//! sandbox's validation path next to openssl's verify/s, a breakdown and sizing figures).

use std::path::PathBuf;
use std::time::Duration;

use bearing_bench::{SignSettings, VerifySettings};

use crate::exit::Exit;
use crate::output::{Format, Global};

/// Flags of `bearing bench`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing bench sign                               # RS256 on 1..N threads, next to openssl\n  \
    bearing bench sign --alg ES256 --threads 2 --duration 5s\n  \
    bearing bench verify --alg RS256,ES256,EdDSA --report bench.html"
)]
pub struct Args {
    /// What to benchmark.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Assertion signing throughput per core and across cores, next to `openssl speed`.
    Sign(SignArgs),
    /// Assertion validation throughput (the sandbox's path), next to `openssl speed` verify/s.
    Verify(VerifyArgs),
}

/// Flags of `bearing bench sign`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  bearing bench sign\n  \
    bearing bench sign --alg ES256 --threads 2 --duration 5s --output json\n  \
    bearing bench sign --alg RS256 --key-bits 4096 --key keys/private.pem")]
pub struct SignArgs {
    /// Signing algorithm: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    #[arg(long, default_value = "RS256")]
    pub alg: String,
    /// RSA modulus size of the generated key: 2048, 3072 or 4096 (ignored with --key).
    #[arg(long, default_value_t = 2048)]
    pub key_bits: usize,
    /// Highest thread count; every count 1, 2, … N is measured. Defaults to the cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// How long each thread count signs (openssl speed runs as long), e.g. 10s.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Sign with this private key instead of a freshly generated one.
    #[arg(long)]
    pub key: Option<PathBuf>,
    /// Print JSON (the same as `--output json`).
    #[arg(long)]
    pub json: bool,
    /// Do not run `openssl speed` even when it is on the PATH.
    #[arg(long)]
    pub no_openssl: bool,
    /// Rounds per thread count, alternating with openssl; the median round is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=15))]
    pub rounds: u8,
    /// Let all threads share one parsed key (to measure what the shared lock costs).
    #[arg(long, hide = true)]
    pub shared_key: bool,
}

/// Flags of `bearing bench verify`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  bearing bench verify                              # RS256, ES256, EdDSA on 1..N threads\n  \
    bearing bench verify --alg RS256 --key-bits 4096 --threads 1 --duration 3s\n  \
    bearing bench verify --rounds 3 --report verify.html --output json > verify.json"
)]
pub struct VerifyArgs {
    /// Algorithms, comma-separated: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    #[arg(long, value_delimiter = ',', default_value = "RS256,ES256,EdDSA")]
    pub alg: Vec<String>,
    /// RSA modulus size of the generated keys: 2048, 3072 or 4096.
    #[arg(long, default_value_t = 2048)]
    pub key_bits: usize,
    /// Highest thread count; every count 1, 2, … N is measured. Defaults to the cores.
    #[arg(long)]
    pub threads: Option<usize>,
    /// How long each thread count validates (openssl speed runs as long), e.g. 5s.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub duration: Duration,
    /// Rounds per thread count, alternating with openssl; the median round is reported.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=15))]
    pub rounds: u8,
    /// Do not run `openssl speed` even when it is on the PATH.
    #[arg(long)]
    pub no_openssl: bool,
    /// Grant rate the sizing line plans for (grants per second).
    #[arg(long, default_value_t = 10_000.0)]
    pub grants_per_sec: f64,
    /// Also write a self-contained HTML report (bars per algorithm) to this file.
    #[arg(long)]
    pub report: Option<PathBuf>,
}

/// Runs `bearing bench …`.
///
/// # Errors
/// Bad flags or key, a signing failure, an unwritable stdout.
pub fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    match a.command {
        BenchCommand::Sign(s) => run_sign(&s, g),
        BenchCommand::Verify(v) => run_verify(&v, g),
    }
}

impl SignArgs {
    fn settings(&self) -> SignSettings {
        SignSettings {
            alg: self.alg.clone(),
            key_bits: self.key_bits,
            threads: self.threads,
            duration: self.duration,
            key: self.key.clone(),
            openssl: !self.no_openssl,
            rounds: self.rounds,
            shared_key: self.shared_key,
        }
    }
}

/// Progress lines on stderr unless `--quiet`.
fn progress(g: &Global) -> impl Fn(&str) {
    let quiet = g.quiet;
    move |line: &str| {
        if !quiet {
            eprintln!("{line}");
        }
    }
}

fn run_sign(a: &SignArgs, g: &Global) -> anyhow::Result<Exit> {
    let format = if a.json { Format::Json } else { g.output };
    let measured = bearing_bench::run_sign(&a.settings(), &progress(g))?;
    if let Some(why) = measured.openssl_skipped.as_ref().filter(|_| !a.no_openssl) {
        tracing::warn!("{why}: no hardware reference");
    }
    let report = measured.report;
    match format {
        Format::Json => crate::output::print_json(&serde_json::to_value(&report)?)?,
        Format::Text => bearing_bench::write_sign_text(&report, &mut std::io::stdout().lock())?,
    }
    if report.ok {
        Ok(Exit::Ok)
    } else {
        let v = &report.verification;
        eprintln!(
            "error: {} of {} sampled assertions did not verify with the key's certificate",
            v.sampled - v.valid,
            v.sampled
        );
        Ok(Exit::Failed)
    }
}

fn run_verify(a: &VerifyArgs, g: &Global) -> anyhow::Result<Exit> {
    let settings = VerifySettings {
        algs: a.alg.clone(),
        key_bits: a.key_bits,
        threads: a.threads,
        duration: a.duration,
        rounds: a.rounds,
        openssl: !a.no_openssl,
        grants_per_sec: a.grants_per_sec,
        report: a.report.clone(),
    };
    let doc = bearing_bench::run_verify(&settings, &progress(g))?;
    let json = serde_json::to_value(&doc)?;
    crate::output::emit(
        g,
        || json,
        |o| bearing_bench::write_verify_text(&doc.algorithms, o),
    )?;
    if let Some(path) = &a.report {
        eprintln!("report: {}", path.display());
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> SignArgs {
        use clap::Parser as _;
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: SignArgs,
        }
        let argv = std::iter::once("t").chain(extra.iter().copied());
        T::try_parse_from(argv).expect("flags").a
    }

    // Defaults: RS256, 2048-bit key, 10 s, every core; bad values are bad input, not panics.
    #[test]
    fn flags() {
        let a = args(&[]);
        assert_eq!(
            (a.alg.as_str(), a.key_bits, a.duration),
            ("RS256", 2048, Duration::from_secs(10))
        );
        for bad in [
            &["--alg", "HS256"][..],
            &["--threads", "0"],
            &["--threads", "100000"],
            &["--duration", "0s"],
        ] {
            let e = bearing_bench::sign_config(&args(bad).settings()).expect_err("bad input");
            assert_eq!(crate::exit::classify(&e.into()), Exit::BadInput, "{bad:?}");
        }
    }
}
