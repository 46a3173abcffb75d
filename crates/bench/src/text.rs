//! The terminal reports of `bench sign` and `bench verify`: aligned tables written to a
//! caller-supplied writer (the CLI passes stdout), next to [`crate::html`].

use std::io::Write;

use crate::{Machine, SignReport, VerifyReport};

fn dash(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), f)
}

fn machine(out: &mut impl Write, m: &Machine) -> std::io::Result<()> {
    write!(
        out,
        "{} cores ({}, {}/{})",
        m.cpus,
        m.cpu_model.as_deref().unwrap_or("unknown cpu"),
        m.os,
        m.arch
    )
}

/// Writes the terminal report of a `bench sign` run: the machine and reference, one row per
/// thread count, the busy-machine note and the verification line.
///
/// # Errors
/// A write error.
pub fn write_sign_text(r: &SignReport, out: &mut impl Write) -> std::io::Result<()> {
    write!(
        out,
        "{}, key {} ({}), {}s × {} round(s) per thread count; ",
        r.alg, r.key.kind, r.key.source, r.duration_secs, r.rounds,
    )?;
    machine(out, &r.machine)?;
    writeln!(out)?;
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
        "\n{:>7} {:>13} {:>11} {:>8} {:>9} {:>9} {:>7} {:>11} {:>14} {:>7}",
        "threads",
        "assertions/s",
        "per core/s",
        "scaling",
        "p50 µs",
        "p99 µs",
        "on CPU",
        "per CPU-s",
        "openssl sign/s",
        "ratio"
    )?;
    for s in &r.steps {
        writeln!(
            out,
            "{:>7} {:>13.0} {:>11.0} {:>7.0}% {:>9.1} {:>9.1} {:>7} {:>11} {:>14} {:>7}",
            s.threads,
            s.assertions_per_sec,
            s.per_core_per_sec,
            s.scaling_efficiency * 100.0,
            s.latency_us.p50,
            s.latency_us.p99,
            dash(s.cpu_share, |v| format!("{:.0}%", v * 100.0)),
            dash(s.assertions_per_cpu_sec, |v| format!("{v:.0}")),
            dash(s.openssl_sign_per_sec, |v| format!("{v:.0}")),
            dash(s.ratio_to_openssl, |v| format!("{v:.2}×")),
        )?;
    }
    busy_note(out, r.steps.iter().filter_map(|s| s.cpu_share))?;
    let v = &r.verification;
    let most = r.steps.last().map_or(0, |s| s.threads);
    let who = if v.threads_sampled == most {
        format!("every thread of every step, up to {most}")
    } else {
        format!(
            "{} of the {most} threads of the largest step",
            v.threads_sampled
        )
    };
    writeln!(
        out,
        "\nverified {} of {} sampled assertions (from {who}) with the key's certificate: {}",
        v.valid,
        v.sampled,
        if r.ok { "all valid" } else { "FAILED" }
    )
}

fn busy_note(out: &mut impl Write, mut shares: impl Iterator<Item = f64>) -> std::io::Result<()> {
    if shares.any(|c| c < 0.9) {
        writeln!(
            out,
            "\nnote: \"on CPU\" under 90%: other processes took CPU time, so the wall-clock \
             rates are understated; \"per CPU-s\" is the rate per second actually on a CPU"
        )?;
    }
    Ok(())
}

/// Writes the terminal report of a `bench verify` run: per algorithm one row per thread count
/// and the breakdown of one validation, then the sizing lines.
///
/// # Errors
/// A write error.
pub fn write_verify_text(reports: &[VerifyReport], out: &mut impl Write) -> std::io::Result<()> {
    let Some(first) = reports.first() else {
        return Ok(());
    };
    write!(
        out,
        "bench verify: {}s × {} round(s) per thread count; ",
        first.duration_secs, first.rounds
    )?;
    machine(out, &first.machine)?;
    writeln!(out)?;
    writeln!(out, "path: {}", first.path)?;
    match &first.openssl {
        Some(o) => writeln!(
            out,
            "reference: {} `openssl speed -elapsed [-multi N]` verify/s in the same run, rounds alternating",
            o.version
        )?,
        None => writeln!(out, "reference: none (openssl not run)")?,
    }
    for r in reports {
        writeln!(out, "\n{} ({})", r.alg, r.key.kind)?;
        writeln!(
            out,
            "{:>7} {:>11} {:>11} {:>8} {:>8} {:>7} {:>11} {:>16} {:>7}",
            "threads",
            "verified/s",
            "per core/s",
            "p50 µs",
            "p99 µs",
            "on CPU",
            "per CPU-s",
            "openssl verify/s",
            "ratio"
        )?;
        for s in &r.steps {
            writeln!(
                out,
                "{:>7} {:>11.0} {:>11.0} {:>8.1} {:>8.1} {:>7} {:>11} {:>16} {:>7}",
                s.threads,
                s.verified_per_sec,
                s.per_core_per_sec,
                s.latency_us.p50,
                s.latency_us.p99,
                dash(s.cpu_share, |v| format!("{:.0}%", v * 100.0)),
                dash(s.verified_per_cpu_sec, |v| format!("{v:.0}")),
                dash(s.openssl_verify_per_sec, |v| format!("{v:.0}")),
                dash(s.ratio_to_openssl, |v| format!("{v:.2}×")),
            )?;
        }
        let b = &r.breakdown;
        let pct = |us: f64| {
            if b.total_us > 0.0 {
                us / b.total_us * 100.0
            } else {
                0.0
            }
        };
        writeln!(
            out,
            "  one validation {:.2} µs: signature {:.2} ({:.0}%), base64url {:.2} ({:.0}%), \
             JSON {:.2} ({:.0}%), claims {:.2} ({:.0}%), replay store {:.2} ({:.0}%)",
            b.total_us,
            b.signature_us,
            pct(b.signature_us),
            b.base64_us,
            pct(b.base64_us),
            b.json_us,
            pct(b.json_us),
            b.claims_us,
            pct(b.claims_us),
            b.replay_us,
            pct(b.replay_us),
        )?;
    }
    writeln!(out, "\nsizing (one core):")?;
    for r in reports {
        writeln!(out, "  {}", r.sizing.sentence())?;
    }
    if let Some(s) = reports.first().map(|r| &r.sizing) {
        writeln!(
            out,
            "  Keycloak publishes ~{:.0} client-credentials grants/s per vCPU (HTTP, new TLS \
             connections, database, token issuance); validation alone is not a grant, so the \
             ratios ({}) are upper bounds, not a comparison of gateways",
            s.keycloak_grants_per_vcpu,
            reports
                .iter()
                .map(|r| format!("{} {:.0}×", r.alg, r.sizing.validation_vs_keycloak_grant))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    busy_note(
        out,
        reports
            .iter()
            .flat_map(|r| r.steps.iter().filter_map(|s| s.cpu_share)),
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bearing_auth::{Algorithm, SigningKey};

    use super::*;
    use crate::{KeySharing, SignConfig};

    // The text table shows each thread count with its ratio and per-CPU-second rate, and
    // the verification line counts the threads of the largest step, not a sum over steps.
    #[test]
    fn text_output() {
        let c = SignConfig {
            alg: Algorithm::EdDSA,
            key: Arc::new(SigningKey::generate(Algorithm::EdDSA, 0).expect("key")),
            key_source: "generated".into(),
            threads: 2,
            duration: Duration::from_millis(20),
            rounds: 1,
            openssl: false,
            sharing: KeySharing::PerThread,
        };
        let mut r = crate::measure_sign(&c, &|_| {}).expect("measure").report;
        for s in &mut r.steps {
            s.openssl_sign_per_sec = Some(s.assertions_per_sec / 2.0);
            s.ratio_to_openssl = Some(2.0);
        }
        let mut out = Vec::new();
        write_sign_text(&r, &mut out).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        assert!(text.contains("2.00×"), "{text}");
        assert!(text.contains("per CPU-s"), "{text}");
        assert!(text.contains("all valid"), "{text}");
        assert!(
            text.contains("(from every thread of every step, up to 2)"),
            "{text}"
        );
    }
}
