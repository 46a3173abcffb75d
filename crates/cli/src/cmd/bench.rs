//! `bearing bench …`: benchmarks. `bench sign` measures full assertion signing on 1..=N
//! threads, one signer (and one parsed key) per thread, next to `openssl speed` for the same
//! primitive in the same run, and verifies a sample of what every thread signed.

mod measure;
mod openssl;

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bearing_auth::{Algorithm, Certificate, SigningKey};
use serde::Serialize;

use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

use measure::{KeySharing, Step, Verification};

/// Flags of `bearing bench`.
#[derive(Debug, clap::Args)]
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

/// Runs `bearing bench …`.
///
/// # Errors
/// Bad flags or key, a signing failure, an unwritable stdout.
pub fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    match a.command {
        BenchCommand::Sign(s) => run_sign(&s, g),
    }
}

/// The JSON document of `bench sign` (schemas/bench-sign.schema.json).
#[derive(Debug, Serialize)]
struct Report {
    alg: &'static str,
    key: KeyInfo,
    duration_secs: f64,
    rounds: u8,
    machine: Machine,
    openssl: Option<OpensslInfo>,
    steps: Vec<StepReport>,
    verification: Verification,
    ok: bool,
}

#[derive(Debug, Serialize)]
struct KeyInfo {
    kind: String,
    source: String,
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu_model: Option<String>,
    os: &'static str,
    arch: &'static str,
}

#[derive(Debug, Serialize)]
struct OpensslInfo {
    version: String,
    algorithm: String,
}

#[derive(Debug, Serialize)]
struct StepReport {
    threads: usize,
    assertions: u64,
    elapsed_secs: f64,
    assertions_per_sec: f64,
    per_core_per_sec: f64,
    scaling_efficiency: f64,
    latency_us: Latency,
    on_cpu_secs: Option<f64>,
    assertions_per_cpu_sec: Option<f64>,
    cpu_share: Option<f64>,
    openssl_sign_per_sec: Option<f64>,
    ratio_to_openssl: Option<f64>,
    rounds_assertions_per_sec: Vec<f64>,
    rounds_openssl_sign_per_sec: Vec<f64>,
    verification: Verification,
}

#[derive(Debug, Serialize)]
struct Latency {
    p50: f64,
    p99: f64,
    max: f64,
    mean: f64,
}

fn check_args(a: &SignArgs) -> anyhow::Result<(Algorithm, usize)> {
    let alg: Algorithm = a.alg.parse().map_err(|e| BadInput(format!("--alg: {e}")))?;
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let threads = a.threads.unwrap_or(cores);
    if threads == 0 {
        return Err(BadInput("--threads must be at least 1".into()).into());
    }
    if a.duration.is_zero() {
        return Err(BadInput("--duration must be > 0".into()).into());
    }
    if a.duration > Duration::from_secs(3600) {
        return Err(BadInput("--duration must be at most 1h".into()).into());
    }
    if threads > cores {
        tracing::warn!(
            threads,
            cores,
            "more threads than cores: rates past {cores} measure contention"
        );
    }
    Ok((alg, threads))
}

fn load_key(a: &SignArgs, alg: Algorithm) -> anyhow::Result<(SigningKey, String)> {
    let key = match &a.key {
        Some(p) => SigningKey::from_file(p)
            .with_context(|| format!("--key {}", p.display()))
            .map(|k| (k, p.display().to_string()))?,
        None => (
            SigningKey::generate(alg, a.key_bits)?,
            "generated".to_owned(),
        ),
    };
    key.0.kind().check(alg)?;
    Ok(key)
}

fn run_sign(a: &SignArgs, g: &Global) -> anyhow::Result<Exit> {
    let (alg, max_threads) = check_args(a)?;
    let format = if a.json { Format::Json } else { g.output };
    let (key, source) = load_key(a, alg)?;
    let key = Arc::new(key);
    let cert = Certificate::self_signed(&key, "bearing-bench", 1)?;
    let openssl = if a.no_openssl {
        None
    } else {
        match (openssl::version(), openssl::speed_name(alg, key.kind())) {
            (Some(version), Some(algorithm)) => Some(OpensslInfo { version, algorithm }),
            (None, _) => {
                tracing::warn!("openssl is not on the PATH: no hardware reference");
                None
            }
            (Some(_), None) => {
                tracing::warn!(
                    "openssl speed has no test for {alg} with a {} key",
                    key.kind()
                );
                None
            }
        }
    };
    let sharing = if a.shared_key {
        KeySharing::Shared
    } else {
        KeySharing::PerThread
    };
    let progress = !g.quiet;
    let mut steps = Vec::with_capacity(max_threads);
    let mut total = Verification::default();
    let mut rate_1 = None;
    for n in 1..=max_threads {
        // Rounds alternate bearing and openssl so both see the same machine; the median
        // round of each side is reported (a shared machine disturbs single rounds).
        let mut ours = Vec::with_capacity(usize::from(a.rounds));
        let mut theirs = Vec::with_capacity(usize::from(a.rounds));
        let mut v = Verification::default();
        for round in 1..=a.rounds {
            if progress {
                let d = humantime::format_duration(a.duration);
                eprintln!(
                    "bench sign: {alg}, {n} thread(s), {d}, round {round}/{}…",
                    a.rounds
                );
            }
            let step = measure::run_step(&key, alg, n, a.duration, sharing)?;
            let rv = measure::verify(&step, &cert, alg);
            v.sampled += rv.sampled;
            v.valid += rv.valid;
            v.threads_sampled = v.threads_sampled.max(rv.threads_sampled);
            ours.push(step);
            if let Some(o) = &openssl {
                if progress {
                    eprintln!(
                        "bench sign: openssl speed {}, {n} process(es)…",
                        o.algorithm
                    );
                }
                match openssl::speed(&o.algorithm, a.duration, n) {
                    Ok(r) => theirs.push(r),
                    Err(e) => tracing::warn!("{e:#}"),
                }
            }
        }
        total.sampled += v.sampled;
        total.valid += v.valid;
        total.threads_sampled += v.threads_sampled;
        ours.sort_by(|x, y| x.rate().total_cmp(&y.rate()));
        theirs.sort_by(f64::total_cmp);
        let step = &ours[ours.len() / 2];
        let ossl = theirs.get(theirs.len() / 2).copied();
        let rate_1 = *rate_1.get_or_insert(step.rate());
        let mut r = step_report(step, rate_1, ossl, v);
        r.rounds_assertions_per_sec = ours.iter().map(Step::rate).collect();
        r.rounds_openssl_sign_per_sec = theirs;
        steps.push(r);
    }
    let ok = total.valid == total.sampled && total.sampled > 0;
    let report = Report {
        alg: alg.as_str(),
        key: KeyInfo {
            kind: key.kind().to_string(),
            source,
        },
        duration_secs: a.duration.as_secs_f64(),
        rounds: a.rounds,
        machine: machine(),
        openssl,
        steps,
        verification: total,
        ok,
    };
    match format {
        Format::Json => crate::output::print_json(&serde_json::to_value(&report)?)?,
        Format::Text => print_text(&report, &mut std::io::stdout().lock())?,
    }
    if ok {
        Ok(Exit::Ok)
    } else {
        eprintln!(
            "error: {} of {} sampled assertions did not verify with the key's certificate",
            total.sampled - total.valid,
            total.sampled
        );
        Ok(Exit::Failed)
    }
}

fn step_report(step: &Step, rate_1: f64, openssl: Option<f64>, v: Verification) -> StepReport {
    let rate = step.rate();
    #[expect(clippy::cast_precision_loss, reason = "small counts and ns values")]
    let (n, us) = (step.threads as f64, |ns: u64| ns as f64 / 1000.0);
    let h = &step.latency_ns;
    StepReport {
        threads: step.threads,
        assertions: step.assertions,
        elapsed_secs: step.elapsed.as_secs_f64(),
        assertions_per_sec: rate,
        per_core_per_sec: rate / n,
        scaling_efficiency: if rate_1 > 0.0 {
            rate / (n * rate_1)
        } else {
            0.0
        },
        latency_us: Latency {
            p50: us(h.value_at_quantile(0.5)),
            p99: us(h.value_at_quantile(0.99)),
            max: us(h.max()),
            mean: h.mean() / 1000.0,
        },
        on_cpu_secs: step.on_cpu.map(|d| d.as_secs_f64()),
        assertions_per_cpu_sec: step.rate_per_cpu_sec(),
        cpu_share: step.cpu_share(),
        openssl_sign_per_sec: openssl,
        ratio_to_openssl: openssl.filter(|o| *o > 0.0).map(|o| rate / o),
        rounds_assertions_per_sec: vec![rate],
        rounds_openssl_sign_per_sec: openssl.into_iter().collect(),
        verification: v,
    }
}

fn machine() -> Machine {
    let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
        s.lines().find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
    });
    Machine {
        cpus: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
        cpu_model,
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
    }
}

fn print_text(r: &Report, out: &mut impl Write) -> std::io::Result<()> {
    let m = &r.machine;
    writeln!(
        out,
        "{}, key {} ({}), {}s × {} round(s) per thread count; {} cores ({}, {}/{})",
        r.alg,
        r.key.kind,
        r.key.source,
        r.duration_secs,
        r.rounds,
        m.cpus,
        m.cpu_model.as_deref().unwrap_or("unknown cpu"),
        m.os,
        m.arch
    )?;
    match &r.openssl {
        Some(o) => writeln!(
            out,
            "reference: {} `openssl speed -elapsed {}` in the same run",
            o.version, o.algorithm
        )?,
        None => writeln!(out, "reference: none (openssl not run)")?,
    }
    writeln!(
        out,
        "\n{:>7} {:>13} {:>11} {:>10} {:>9} {:>9} {:>7} {:>14} {:>8}",
        "threads",
        "assertions/s",
        "per core/s",
        "scaling",
        "p50 µs",
        "p99 µs",
        "on CPU",
        "openssl sign/s",
        "ratio"
    )?;
    for s in &r.steps {
        let ossl = s
            .openssl_sign_per_sec
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.0}"));
        let ratio = s
            .ratio_to_openssl
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}×"));
        let on_cpu = s
            .cpu_share
            .map_or_else(|| "-".to_owned(), |v| format!("{:.0}%", v * 100.0));
        writeln!(
            out,
            "{:>7} {:>13.0} {:>11.0} {:>9.0}% {:>9.1} {:>9.1} {:>7} {:>14} {:>8}",
            s.threads,
            s.assertions_per_sec,
            s.per_core_per_sec,
            s.scaling_efficiency * 100.0,
            s.latency_us.p50,
            s.latency_us.p99,
            on_cpu,
            ossl,
            ratio
        )?;
    }
    if r.steps.iter().any(|s| s.cpu_share.is_some_and(|c| c < 0.9)) {
        writeln!(
            out,
            "\nnote: \"on CPU\" under 90%: other processes took CPU time; rates are understated"
        )?;
    }
    let v = &r.verification;
    writeln!(
        out,
        "\nverified {} of {} sampled assertions (from {} threads) with the key's certificate: {}",
        v.valid,
        v.sampled,
        v.threads_sampled,
        if r.ok { "all valid" } else { "FAILED" }
    )
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
        assert!(check_args(&a).is_ok());
        for bad in [
            &["--alg", "HS256"][..],
            &["--threads", "0"],
            &["--duration", "0s"],
        ] {
            let e = check_args(&args(bad)).expect_err("bad input");
            assert_eq!(crate::exit::classify(&e), Exit::BadInput, "{bad:?}");
        }
    }

    // The text table shows each thread count with its ratio, and the verification line.
    #[test]
    fn text_output() {
        let key = Arc::new(SigningKey::generate(Algorithm::EdDSA, 0).expect("key"));
        let cert = Certificate::self_signed(&key, "bearing-bench", 1).expect("cert");
        let step = measure::run_step(
            &key,
            Algorithm::EdDSA,
            1,
            Duration::from_millis(20),
            KeySharing::PerThread,
        )
        .expect("step");
        let v = measure::verify(&step, &cert, Algorithm::EdDSA);
        let r = Report {
            alg: "EdDSA",
            key: KeyInfo {
                kind: "Ed25519".into(),
                source: "generated".into(),
            },
            duration_secs: 0.02,
            rounds: 1,
            machine: machine(),
            openssl: Some(OpensslInfo {
                version: "OpenSSL 3.0.19".into(),
                algorithm: "ed25519".into(),
            }),
            steps: vec![step_report(&step, step.rate(), Some(step.rate() / 2.0), v)],
            verification: v,
            ok: true,
        };
        let mut out = Vec::new();
        print_text(&r, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("2.00×"), "{text}");
        assert!(text.contains("100%"), "{text}");
        assert!(text.contains("all valid"), "{text}");
    }
}
