//! The demo's summary: one document built from the three runs (conformance, load, signing),
//! written to `summary.json` (pinned by `schemas/demo-summary.schema.json`), printed as JSON
//! with `--output json`, and printed as the one-screen text summary otherwise.

use std::io::{self, Write};

use serde::Serialize;

use bearing_bench::SignMeasured as Measured;

/// `schema` of the document.
pub const SCHEMA_ID: &str = "bearing-demo-summary/v1";

/// The whole demo.
#[derive(Debug, Clone, Serialize)]
pub struct DemoSummary {
    /// [`SCHEMA_ID`].
    pub schema: &'static str,
    /// `bearing <version>`.
    pub tool: String,
    /// RFC 3339 start time (UTC).
    pub started_at: String,
    /// Wall time of the whole demo, seconds.
    pub duration_s: f64,
    /// Every conformance case passed, every load threshold held, every sampled assertion of
    /// the benchmark verified (exit code 0).
    pub passed: bool,
    /// The embedded sandbox everything ran against.
    pub sandbox: SandboxInfo,
    /// The folder of the report set.
    pub report_dir: String,
    /// The reports, relative to `report_dir`.
    pub reports: Reports,
    /// The conformance suites.
    pub conformance: Conformance,
    /// The load profile.
    pub load: Load,
    /// The signing benchmark; `null` with `--no-bench`.
    pub bench: Option<Bench>,
}

/// The embedded sandbox.
#[derive(Debug, Clone, Serialize)]
pub struct SandboxInfo {
    /// `127.0.0.1:PORT` (plain HTTP, this machine only).
    pub address: String,
    /// The gateway profile it behaved by (and conformance expected).
    pub profile: String,
    /// The partner identity registered for the demo.
    pub client_id: String,
}

/// The report files, relative to the report folder.
#[derive(Debug, Clone, Serialize)]
pub struct Reports {
    /// The index page linking the others.
    pub index: String,
    /// The conformance report.
    pub conform: String,
    /// The load report.
    pub load: String,
    /// The signing benchmark report; `null` with `--no-bench`.
    pub bench: Option<String>,
}

/// What the conformance suites found.
#[derive(Debug, Clone, Serialize)]
pub struct Conformance {
    /// No case failed or errored.
    pub passed: bool,
    /// The suites that ran.
    pub suites: Vec<String>,
    /// Cases run.
    pub cases: usize,
    /// Cases per outcome.
    pub counts: bearing_conform::Counts,
    /// Wall time, seconds.
    pub duration_s: f64,
    /// The cases that did not pass (reasons are in the conformance report).
    pub not_passed: Vec<CaseBrief>,
}

/// A case that did not pass.
#[derive(Debug, Clone, Serialize)]
pub struct CaseBrief {
    /// The catalog id.
    pub id: String,
    /// `fail`, `warn`, `error` or `skip`.
    pub outcome: String,
    /// The case's title.
    pub title: String,
    /// Why it did not pass (may quote the sandbox's address).
    pub reason: String,
}

/// What the load profile measured.
#[derive(Debug, Clone, Serialize)]
pub struct Load {
    /// The profile's name.
    pub profile: String,
    /// The profile's description.
    pub description: Option<String>,
    /// Every threshold held.
    pub passed: bool,
    /// Measured window, seconds.
    pub duration_s: f64,
    /// Token requests, every scenario; `null` if none were made.
    pub token: Option<PhaseBrief>,
    /// API calls, every scenario; `null` if none were made.
    pub api: Option<PhaseBrief>,
    /// The profile's thresholds.
    pub thresholds: Vec<ThresholdBrief>,
}

/// One kind of request: how many, how fast, how long (coordinated-omission corrected).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseBrief {
    /// Attempts.
    pub count: u64,
    /// Failed attempts.
    pub errors: u64,
    /// Attempts per second.
    pub rate: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
}

/// One threshold.
#[derive(Debug, Clone, Serialize)]
pub struct ThresholdBrief {
    /// As written in the profile.
    pub expr: String,
    /// `run` or a scenario name.
    pub scope: String,
    /// The measured value as a person reads it.
    pub actual: String,
    /// Whether it held.
    pub passed: bool,
}

/// What the signing benchmark measured (one thread).
#[derive(Debug, Clone, Serialize)]
pub struct Bench {
    /// The JWS algorithm.
    pub alg: String,
    /// The key (`RSA-2048`).
    pub key: String,
    /// Threads signing.
    pub threads: usize,
    /// Signing time, seconds.
    pub duration_s: f64,
    /// Assertions signed per second.
    pub assertions_per_sec: f64,
    /// Median time per assertion, µs.
    pub p50_us: f64,
    /// 99th percentile time per assertion, µs.
    pub p99_us: f64,
    /// Every sampled assertion verified with the key's certificate.
    pub verified: bool,
    /// `openssl version`, when `openssl speed` ran.
    pub openssl_version: Option<String>,
    /// `openssl speed`'s sign/s for the same primitive, one process.
    pub openssl_sign_per_sec: Option<f64>,
    /// `assertions_per_sec / openssl_sign_per_sec`.
    pub ratio_to_openssl: Option<f64>,
    /// Why there is no ratio (`openssl not found`), when there is none.
    pub openssl_skipped: Option<String>,
}

impl Load {
    /// The brief of a load report.
    pub fn from_summary(s: &bearing_load::LoadSummary) -> Self {
        let phase = |name: &str| {
            s.totals.get(name).map(|p| PhaseBrief {
                count: p.count,
                errors: p.errors,
                rate: p.rate,
                p50_ms: us_to_ms(p.latency_us.corrected.p50),
                p99_ms: us_to_ms(p.latency_us.corrected.p99),
            })
        };
        Self {
            profile: s.profile.name.clone(),
            description: s.profile.description.clone(),
            passed: s.passed,
            duration_s: s.duration_s,
            token: phase("token"),
            api: phase("api"),
            thresholds: s
                .thresholds
                .iter()
                .map(|t| ThresholdBrief {
                    expr: t.expr.clone(),
                    scope: t.scope.clone(),
                    actual: t.actual_display.clone(),
                    passed: t.passed,
                })
                .collect(),
        }
    }
}

#[expect(
    clippy::cast_precision_loss,
    reason = "latencies in µs are far below 2^52"
)]
fn us_to_ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

impl Conformance {
    /// The brief of a conformance run.
    pub fn from_summary(s: &bearing_conform::RunSummary) -> Self {
        Self {
            passed: s.is_success(),
            suites: s.suites.clone(),
            cases: s.cases.len(),
            counts: s.counts,
            duration_s: s.duration.as_secs_f64(),
            not_passed: s
                .cases
                .iter()
                .filter(|c| c.outcome != bearing_conform::CaseOutcome::Pass)
                .map(|c| CaseBrief {
                    id: c.id.clone(),
                    outcome: c.outcome.to_string(),
                    title: c.title.clone(),
                    reason: c.reason.clone(),
                })
                .collect(),
        }
    }
}

impl Bench {
    /// The brief of a signing benchmark (its first step: one thread).
    pub fn from_measured(m: &Measured) -> Option<Self> {
        let r = &m.report;
        let step = r.steps.first()?;
        Some(Self {
            alg: r.alg.to_owned(),
            key: r.key.kind.clone(),
            threads: step.threads,
            duration_s: r.duration_secs,
            assertions_per_sec: step.assertions_per_sec,
            p50_us: step.latency_us.p50,
            p99_us: step.latency_us.p99,
            verified: r.ok,
            openssl_version: r.openssl.as_ref().map(|o| o.version.clone()),
            openssl_sign_per_sec: step.openssl_sign_per_sec,
            ratio_to_openssl: step.ratio_to_openssl,
            openssl_skipped: match (&m.openssl_skipped, step.openssl_sign_per_sec) {
                (Some(why), _) => Some(format!("{why}, ratio skipped")),
                (None, None) => Some("openssl speed gave no figure, ratio skipped".into()),
                (None, Some(_)) => None,
            },
        })
    }
}

/// How the text summary is printed.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (a terminal, and `NO_COLOR` unset).
    pub color: bool,
}

/// At most this many cases that did not pass are named on the screen.
const MAX_NAMED_CASES: usize = 6;

fn paint(ok: bool, text: &str, color: bool) -> String {
    match (color, ok) {
        (false, _) => text.to_owned(),
        (true, true) => format!("\x1b[32m{text}\x1b[0m"),
        (true, false) => format!("\x1b[1;31m{text}\x1b[0m"),
    }
}

/// `1234.5` as `1,235`.
fn thousands(v: f64) -> String {
    #[expect(clippy::cast_possible_truncation, reason = "rounded, display only")]
    #[expect(clippy::cast_sign_loss, reason = "rates are not negative")]
    let n = v.max(0.0).round() as u64;
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `OpenSSL 3.0.19` out of `OpenSSL 3.0.19 27 Jan 2026 (Library: …)`.
pub fn short_version(v: Option<&str>) -> String {
    v.map_or_else(
        || "openssl".to_owned(),
        |v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "),
    )
}

/// Prints the one-screen summary.
///
/// # Errors
/// A write error.
pub fn write_text(s: &DemoSummary, out: &mut impl Write, o: TextOptions) -> io::Result<()> {
    const PAD: &str = "             ";
    writeln!(
        out,
        "bearing demo: embedded sandbox gateway on {} (profile {}), {:.1} s",
        s.sandbox.address, s.sandbox.profile, s.duration_s
    )?;
    writeln!(out)?;

    let c = &s.conformance;
    let n = &c.counts;
    let mut counts = format!(
        "{} passed, {} failed, {} skipped",
        n.pass,
        paint(n.fail == 0, &n.fail.to_string(), o.color && n.fail > 0),
        n.skip
    );
    if n.warn > 0 {
        counts.push_str(&format!(", {} warned", n.warn));
    }
    if n.error > 0 {
        counts.push_str(&format!(", {} could not run", n.error));
    }
    writeln!(
        out,
        "conformance  {} cases in {:.1} s: {counts}",
        c.cases, c.duration_s
    )?;
    for outcome in ["fail", "error", "warn", "skip"] {
        let cases: Vec<&CaseBrief> = c
            .not_passed
            .iter()
            .filter(|b| b.outcome == outcome)
            .collect();
        let Some(first) = cases.first() else {
            continue;
        };
        let more = cases.len().saturating_sub(MAX_NAMED_CASES);
        let ids: Vec<&str> = cases
            .iter()
            .take(MAX_NAMED_CASES)
            .map(|b| b.id.as_str())
            .collect();
        let mut line = ids.join(", ");
        if more > 0 {
            line.push_str(&format!(" and {more} more"));
        }
        writeln!(out, "{PAD}{outcome}: {line}")?;
        // One shared reason fits on the screen; several are in the report.
        if cases.iter().all(|b| b.reason == first.reason) && !first.reason.is_empty() {
            writeln!(out, "{PAD}  ({})", first.reason)?;
        }
    }

    let l = &s.load;
    writeln!(
        out,
        "load         profile {}, {:.1} s measured",
        l.profile, l.duration_s
    )?;
    for (name, p) in [("token", &l.token), ("api", &l.api)] {
        if let Some(p) = p {
            writeln!(
                out,
                "{PAD}{name:<5} {:>8} requests {:>9}/s   p50 {:>7.2} ms   p99 {:>7.2} ms   {} errors",
                p.count,
                format!("{:.1}", p.rate),
                p.p50_ms,
                p.p99_ms,
                p.errors
            )?;
        }
    }
    let marks: Vec<String> = l
        .thresholds
        .iter()
        .map(|t| {
            let mark = paint(t.passed, if t.passed { "✓" } else { "✗" }, o.color);
            format!("{mark} {} ({})", t.expr, t.actual)
        })
        .collect();
    if !marks.is_empty() {
        writeln!(out, "{PAD}thresholds: {}", marks.join("   "))?;
    }

    match &s.bench {
        None => writeln!(out, "signing      skipped (--no-bench)")?,
        Some(b) => {
            writeln!(
                out,
                "signing      {}, {} key, {} thread: {} assertions/s (p50 {:.0} µs, p99 {:.0} µs)",
                b.alg,
                b.key,
                b.threads,
                thousands(b.assertions_per_sec),
                b.p50_us,
                b.p99_us
            )?;
            match (b.openssl_sign_per_sec, b.ratio_to_openssl) {
                (Some(ossl), Some(ratio)) => writeln!(
                    out,
                    "{PAD}openssl speed: {} sign/s → bearing at {ratio:.2}× openssl ({})",
                    thousands(ossl),
                    short_version(b.openssl_version.as_deref())
                )?,
                _ => writeln!(
                    out,
                    "{PAD}{}",
                    b.openssl_skipped
                        .as_deref()
                        .unwrap_or("openssl not run, ratio skipped")
                )?,
            }
            if !b.verified {
                writeln!(
                    out,
                    "{PAD}{}",
                    paint(false, "sampled assertions did NOT verify", o.color)
                )?;
            }
        }
    }
    writeln!(out)?;
    let verdict = if s.passed {
        "PASS: every conformance case passed and every load threshold held"
    } else {
        "FAIL: see the report for the cases and thresholds that did not hold"
    };
    writeln!(out, "{}", paint(s.passed, verdict, o.color))?;
    writeln!(out, "report: {}/{}", s.report_dir, s.reports.index)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DemoSummary {
        DemoSummary {
            schema: SCHEMA_ID,
            tool: "bearing 0.1.0".into(),
            started_at: "2026-11-28T10:00:00Z".into(),
            duration_s: 31.2,
            passed: true,
            sandbox: SandboxInfo {
                address: "127.0.0.1:40000".into(),
                profile: "rfc-strict".into(),
                client_id: "SampleConfId".into(),
            },
            report_dir: "reports/x-demo".into(),
            reports: Reports {
                index: "report.html".into(),
                conform: "conform/report.html".into(),
                load: "load/report.html".into(),
                bench: Some("bench/report.html".into()),
            },
            conformance: Conformance {
                passed: true,
                suites: vec!["replay".into()],
                cases: 3,
                counts: bearing_conform::Counts {
                    pass: 2,
                    skip: 1,
                    ..Default::default()
                },
                duration_s: 1.0,
                not_passed: vec![CaseBrief {
                    id: "tp-plain-http".into(),
                    outcome: "skip".into(),
                    title: "t".into(),
                    reason: "the target is plain HTTP: no TLS to probe".into(),
                }],
            },
            load: Load {
                profile: "demo".into(),
                description: None,
                passed: true,
                duration_s: 15.0,
                token: Some(PhaseBrief {
                    count: 3750,
                    errors: 0,
                    rate: 250.0,
                    p50_ms: 0.53,
                    p99_ms: 1.1,
                }),
                api: None,
                thresholds: vec![ThresholdBrief {
                    expr: "p99 < 200ms".into(),
                    scope: "run".into(),
                    actual: "1.1ms".into(),
                    passed: true,
                }],
            },
            bench: Some(Bench {
                alg: "RS256".into(),
                key: "RSA-2048".into(),
                threads: 1,
                duration_s: 3.0,
                assertions_per_sec: 4611.2,
                p50_us: 210.0,
                p99_us: 250.0,
                verified: true,
                openssl_version: None,
                openssl_sign_per_sec: None,
                ratio_to_openssl: None,
                openssl_skipped: Some("openssl not found, ratio skipped".into()),
            }),
        }
    }

    // The screen names counts, rates, the openssl note and the report path, without colour.
    #[test]
    fn text_summary() {
        let mut out = Vec::new();
        write_text(&sample(), &mut out, TextOptions::default()).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        for needle in [
            "3 cases in 1.0 s: 2 passed, 0 failed, 1 skipped",
            "skip: tp-plain-http",
            "(the target is plain HTTP: no TLS to probe)",
            "250.0/s",
            "✓ p99 < 200ms (1.1ms)",
            "4,611 assertions/s",
            "openssl not found, ratio skipped",
            "report: reports/x-demo/report.html",
        ] {
            assert!(text.contains(needle), "{needle:?} missing in\n{text}");
        }
        assert!(!text.contains('\x1b'), "{text}");
    }

    // Thousands separators for rates.
    #[test]
    fn separators() {
        assert_eq!(thousands(0.4), "0");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(1_234_567.0), "1,234,567");
    }
}
