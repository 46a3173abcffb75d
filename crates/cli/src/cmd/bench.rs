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
#[command(
    after_help = "Examples:\n  bearing bench sign                               # RS256 on 1..N threads, next to openssl\n  \
    bearing bench sign --alg ES256 --threads 2 --duration 5s"
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
pub struct Report {
    /// The JWS algorithm.
    pub alg: &'static str,
    /// The key signed with.
    pub key: KeyInfo,
    /// Signing time per thread count and round, seconds.
    pub duration_secs: f64,
    /// Rounds per thread count.
    pub rounds: u8,
    /// The machine it ran on.
    pub machine: Machine,
    /// The openssl reference, when it ran.
    pub openssl: Option<OpensslInfo>,
    /// One step per thread count.
    pub steps: Vec<StepReport>,
    /// Sampled assertions verified with the key's certificate, all steps.
    pub verification: Verification,
    /// Whether every sampled assertion verified.
    pub ok: bool,
}

/// The key of a benchmark.
#[derive(Debug, Serialize)]
pub struct KeyInfo {
    /// `RSA-2048`, `EC P-256`, …
    pub kind: String,
    /// `generated` or the key file's path.
    pub source: String,
}

/// The machine a benchmark ran on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Cores available.
    pub cpus: usize,
    /// `/proc/cpuinfo`'s model name.
    pub cpu_model: Option<String>,
    /// Operating system.
    pub os: &'static str,
    /// CPU architecture.
    pub arch: &'static str,
}

/// The `openssl speed` reference.
#[derive(Debug, Serialize)]
pub struct OpensslInfo {
    /// `openssl version`.
    pub version: String,
    /// The `openssl speed` test (`rsa2048`).
    pub algorithm: String,
}

/// One thread count.
#[derive(Debug, Serialize)]
pub struct StepReport {
    /// Threads signing at once.
    pub threads: usize,
    /// Assertions signed (median round).
    pub assertions: u64,
    /// Wall time, seconds.
    pub elapsed_secs: f64,
    /// Assertions per second, all threads.
    pub assertions_per_sec: f64,
    /// Assertions per second per thread.
    pub per_core_per_sec: f64,
    /// Rate over `threads` × the one-thread rate.
    pub scaling_efficiency: f64,
    /// Time per signature.
    pub latency_us: Latency,
    /// Time the threads were on a CPU (Linux only).
    pub on_cpu_secs: Option<f64>,
    /// Assertions per second of CPU time.
    pub assertions_per_cpu_sec: Option<f64>,
    /// Share of `threads × elapsed` spent on a CPU.
    pub cpu_share: Option<f64>,
    /// `openssl speed`'s sign/s with as many processes.
    pub openssl_sign_per_sec: Option<f64>,
    /// Our rate over openssl's.
    pub ratio_to_openssl: Option<f64>,
    /// Our rate in each round.
    pub rounds_assertions_per_sec: Vec<f64>,
    /// openssl's rate in each round.
    pub rounds_openssl_sign_per_sec: Vec<f64>,
    /// Sampled assertions of this step verified.
    pub verification: Verification,
}

/// Time per signature, µs.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
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
    let format = if a.json { Format::Json } else { g.output };
    let progress = !g.quiet;
    let measured = measure_sign(a, &|line: &str| {
        if progress {
            eprintln!("{line}");
        }
    })?;
    if let Some(why) = measured.openssl_skipped.as_ref().filter(|_| !a.no_openssl) {
        tracing::warn!("{why}: no hardware reference");
    }
    let report = measured.report;
    match format {
        Format::Json => crate::output::print_json(&serde_json::to_value(&report)?)?,
        Format::Text => print_text(&report, &mut std::io::stdout().lock())?,
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

/// What [`measure_sign`] measured, and why openssl was not run (when it was not).
#[derive(Debug)]
pub struct Measured {
    /// The report (`--output json` of `bench sign`).
    pub report: Report,
    /// Why there is no openssl reference: `--no-openssl`, not on the PATH, no matching test.
    pub openssl_skipped: Option<String>,
}

/// Runs the signing benchmark described by `a` (each thread count 1..=N, alternating with
/// `openssl speed` when it is on the PATH) and returns the report; `progress` gets one line
/// per measurement as it starts. Shared by `bench sign` and `bearing demo`.
///
/// # Errors
/// Bad flags or key (exit 2), a signing failure.
pub fn measure_sign(a: &SignArgs, progress: &dyn Fn(&str)) -> anyhow::Result<Measured> {
    let (alg, max_threads) = check_args(a)?;
    let (key, source) = load_key(a, alg)?;
    let key = Arc::new(key);
    let cert = Certificate::self_signed(&key, "bearing-bench", 1)?;
    let (openssl, openssl_skipped) = if a.no_openssl {
        (None, Some("openssl not run (--no-openssl)".to_owned()))
    } else {
        match (openssl::version(), openssl::speed_name(alg, key.kind())) {
            (Some(version), Some(algorithm)) => (Some(OpensslInfo { version, algorithm }), None),
            (None, _) => (None, Some("openssl not found".to_owned())),
            (Some(_), None) => (
                None,
                Some(format!(
                    "openssl speed has no test for {alg} with a {} key",
                    key.kind()
                )),
            ),
        }
    };
    let sharing = if a.shared_key {
        KeySharing::Shared
    } else {
        KeySharing::PerThread
    };
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
            let d = humantime::format_duration(a.duration);
            progress(&format!(
                "bench sign: {alg}, {n} thread(s), {d}, round {round}/{}…",
                a.rounds
            ));
            let step = measure::run_step(&key, alg, n, a.duration, sharing)?;
            let rv = measure::verify(&step, &cert, alg);
            v.sampled += rv.sampled;
            v.valid += rv.valid;
            v.threads_sampled = v.threads_sampled.max(rv.threads_sampled);
            ours.push(step);
            if let Some(o) = &openssl {
                progress(&format!(
                    "bench sign: openssl speed {}, {n} process(es)…",
                    o.algorithm
                ));
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
    Ok(Measured {
        report,
        openssl_skipped,
    })
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
