//! The terminal report of a load run and of a merged sharded run: the lines `bearing load`
//! and `bearing report merge` print (the CLI only chooses where they go).

use std::io::{self, Write};
use std::path::Path;

use super::LoadSummary;
use super::merged::{Judge, MergeInfo};
use crate::threshold::fmt_us;

/// The live progress line of a load run (shared with `bearing demo`).
pub fn progress_line(p: &crate::run::Progress) -> String {
    if let Some((done, total)) = p.preparing {
        return format!("{}: {done}/{total} ({:.0}/s)", p.label, p.rate);
    }
    let p99 = p
        .p99_us
        .map_or("—".to_owned(), |v| crate::threshold::fmt_us(v as f64));
    format!(
        "{} {:.1}/{:.0}s · {} requests · {:.0}/s · p99 {p99} · {} errors",
        p.label,
        p.elapsed.as_secs_f64(),
        p.duration.as_secs_f64(),
        p.requests,
        p.rate,
        p.errors
    )
}

/// The text report of one run (`bearing load`): generator-limited lines first, the
/// scenarios, the capacity steps, the partners, the thresholds and the verdict with the path
/// of `report.html` in `dir`.
///
/// # Errors
/// Writing to `out` failed.
pub fn write_run(out: &mut impl Write, s: &LoadSummary, dir: &Path) -> io::Result<()> {
    write_insecure(out, s)?;
    write_underruns(out, s)?;
    writeln!(
        out,
        "{} against {} — {:.2}s measured",
        s.profile.name, s.target, s.duration_s
    )?;
    write_handshakes(out, s)?;
    write_scenarios(out, s)?;
    if let Some(c) = &s.capacity {
        writeln!(
            out,
            "  capacity knee: {} · {:.0} s per step",
            c.describe(),
            c.step_duration_s
        )?;
        for st in &c.steps {
            writeln!(
                out,
                "    {}{:>8.0}/s → {:>8.0}/s  p50 {:>8}  p99 {:>8}  {}{}",
                if st.refine { "↳" } else { " " },
                st.rate,
                st.achieved_rate,
                fmt_us(st.p50_us as f64),
                fmt_us(st.p99_us as f64),
                if st.passed { "pass" } else { "FAIL" },
                if st.missed.is_empty() {
                    String::new()
                } else {
                    format!(": {}", st.missed.join("; "))
                }
            )?;
        }
    }
    if let Some(p) = &s.partners {
        write_partners(out, p)?;
    }
    write_verdict(out, s, "report", dir)
}

/// The per-partner lines of a fleet run: spreads, then the top-k tables.
fn write_partners(out: &mut impl Write, p: &crate::fleet::PartnerReport) -> io::Result<()> {
    writeln!(
        out,
        "  partners: {} · requests/partner {}–{} (mean {:.1}) · token requests/partner {}–{} (mean {:.1}) · refreshes/partner {}–{} · {} without a token request · {} with errors",
        p.partners,
        p.requests.min,
        p.requests.max,
        p.requests.mean,
        p.token_requests.min,
        p.token_requests.max,
        p.token_requests.mean,
        p.refreshes.min,
        p.refreshes.max,
        p.without_token,
        p.with_errors
    )?;
    let table = |out: &mut dyn Write,
                 title: &str,
                 rows: &[crate::fleet::PartnerRow]|
     -> io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        writeln!(out, "    {title}")?;
        for r in rows {
            writeln!(
                out,
                "      {:<24} p99 {:>8}  requests {:>7}  errors {:>5}  tokens {:>4}  refreshes {:>3}",
                r.client_id,
                fmt_us(r.p99_us as f64),
                r.requests,
                r.errors,
                r.token_requests,
                r.refreshes
            )?;
        }
        Ok(())
    };
    table(
        out,
        &format!("worst {} by p99:", p.worst_p99.len()),
        &p.worst_p99,
    )?;
    table(
        out,
        &format!(
            "most errors ({} of {}):",
            p.most_errors.len(),
            p.with_errors
        ),
        &p.most_errors,
    )
}

/// The threshold lines and the verdict with the report's path: shared by `bearing load` and
/// `bearing report merge` (`what` names the report: "report", "merged report").
fn write_verdict(out: &mut impl Write, s: &LoadSummary, what: &str, dir: &Path) -> io::Result<()> {
    let guard = s.verdict.as_ref().and_then(|v| v.error_guard.as_ref());
    for t in s.thresholds.iter().chain(guard) {
        let expected = s.expected_failures.as_ref().and_then(|x| {
            x.entries.iter().find(|e| {
                e.status == bearing_report::expect::Status::ExpectedFailure && t.is_named(&e.id)
            })
        });
        writeln!(
            out,
            "  {} {} [{}]: {}{}",
            if t.passed { "✓" } else { "✗" },
            t.expr,
            t.scope,
            t.actual_display,
            match expected {
                Some(e) if !t.passed => format!(" (expected failure: {})", e.reason),
                _ => String::new(),
            }
        )?;
    }
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_text(out, x)?;
    }
    if let Some(v) = &s.verdict {
        if v.dropped > 0 || v.cancelled > 0 {
            writeln!(
                out,
                "  dropped {} arrivals (never started) · cancelled {} requests in flight at the end \
                 (grace {:.0} s after the planned duration)",
                v.dropped, v.cancelled, v.grace_s
            )?;
        }
        for r in &v.reasons {
            writeln!(out, "  ✗ {r}")?;
        }
    }
    writeln!(
        out,
        "{} · {what}: {}",
        if s.passed { "PASS" } else { "FAIL" },
        dir.join("report.html").display()
    )
}

/// The warning that leads every report of a run whose server certificates went unchecked.
pub fn insecure_warning(target: &str) -> String {
    format!(
        "WARNING: tls.insecure — server certificates were NOT verified; nothing proves these \
         figures came from {target} (use tls.pin_sha256 or tls.ca_bundle instead)"
    )
}

fn write_insecure(out: &mut impl Write, s: &LoadSummary) -> io::Result<()> {
    if s.tls_insecure {
        writeln!(out, "{}", insecure_warning(&s.target))?;
    }
    Ok(())
}

/// The headline of a run that opens a connection per request over TLS.
fn write_handshakes(out: &mut impl Write, s: &LoadSummary) -> io::Result<()> {
    if let Some(h) = s.handshakes_per_s {
        writeln!(
            out,
            "  TLS handshakes: {h:.1}/s (connection: new — a TCP + TLS connection per request)"
        )?;
    }
    Ok(())
}

/// The generator-limited lines, printed first: the results describe the offered rate.
fn write_underruns(out: &mut impl Write, s: &LoadSummary) -> io::Result<()> {
    for u in s.verdict.iter().flat_map(|v| &v.generator_limited) {
        writeln!(out, "{}", crate::verdict::underrun_line(u))?;
    }
    Ok(())
}

/// The per-scenario lines of a load summary (rates, percentiles, signing, tokens, storm):
/// shared by `bearing load` and `bearing report merge`.
fn write_scenarios(out: &mut impl Write, s: &LoadSummary) -> io::Result<()> {
    for sc in &s.scenarios {
        writeln!(
            out,
            "  {} ({}, {} users): offered {:.1}/s, achieved {:.1}/s{}{}",
            sc.name,
            sc.kind,
            sc.users,
            sc.offered_rate,
            sc.achieved_rate,
            sc.target_rate
                .map(|t| format!(" (asked {t:.1}/s)"))
                .unwrap_or_default(),
            sc.dropped
                .filter(|d| *d > 0)
                .map(|d| format!(", {d} dropped"))
                .unwrap_or_default()
        )?;
        let mut phases: Vec<_> = sc.phases.iter().collect();
        phases.sort_by_key(|(name, _)| crate::stats::Phase::report_rank(name));
        for (name, p) in phases {
            let c = &p.latency_us.corrected;
            writeln!(
                out,
                "    {name:<9} {:>8} × {:>9.1}/s  p50 {:>8}  p90 {:>8}  p99 {:>8}  p99.9 {:>8}  max {:>8}  errors {} ({:.3}%)",
                p.count,
                p.rate,
                fmt_us(c.p50 as f64),
                fmt_us(c.p90 as f64),
                fmt_us(c.p99 as f64),
                fmt_us(c.p999 as f64),
                fmt_us(c.max as f64),
                p.errors,
                p.error_rate * 100.0
            )?;
        }
        if let Some(c) = &sc.connections {
            writeln!(
                out,
                "    connections: {} · {} opened ({:.1}/s) · {} TLS handshakes ({:.1}/s ok, {} resumed)",
                match c.policy {
                    crate::profile::ConnectionPolicy::New => "new per request",
                    crate::profile::ConnectionPolicy::KeepAlive => "keep-alive per user",
                },
                c.opened,
                c.opened_per_s,
                c.handshakes,
                c.handshakes_per_s,
                c.resumed
            )?;
        }
        if let Some(sg) = &sc.signing {
            writeln!(
                out,
                "    signing: {} · one core {:.0}/s · offered {:.2}× one core · {}",
                sg.mode,
                sg.single_core_rate,
                sg.offered_vs_single_core,
                if sg.limited {
                    "signing LIMITED the offered load"
                } else {
                    "not limited by signing"
                }
            )?;
        }
        if let Some(t) = &sc.tokens {
            writeln!(
                out,
                "    tokens: {} requests, {} refreshes ahead, {} 401 retries, {} failures",
                t.token_requests, t.refreshes_ahead, t.unauthorized_retries, t.failures
            )?;
        }
        if let Some(st) = &sc.storm {
            writeln!(
                out,
                "    storm: {} tokens revoked, recovery {}, burst {} token requests (peak {:.0}/s)",
                st.revoked_tokens,
                st.recovery_ms
                    .map_or("incomplete".into(), |v| format!("{v:.0} ms")),
                st.burst_token_requests,
                st.peak_token_rate
            )?;
        }
    }
    Ok(())
}

/// The text report of a merged sharded run (`bearing report merge`): the shards, their
/// overlap, then the same scenario and verdict lines as a single run.
///
/// # Errors
/// Writing to `out` failed.
pub fn write_merged(
    out: &mut impl Write,
    s: &LoadSummary,
    info: &MergeInfo,
    dir: &Path,
) -> io::Result<()> {
    write_insecure(out, s)?;
    writeln!(
        out,
        "{} — {} shards merged (profile hash {}) against {} — {:.2}s measured, start skew {:.2}s",
        s.profile.name,
        info.shard_count,
        info.profile_hash,
        s.target,
        s.duration_s,
        info.start_skew_s
    )?;
    if info.start_skew_s > 0.1 * s.duration_s {
        writeln!(
            out,
            "  warning: the shards started {:.1}s apart ({:.0}% of the run): the merged rate is \
             the sum of theirs, but they did not all load the gateway at the same time",
            info.start_skew_s,
            100.0 * info.start_skew_s / s.duration_s.max(1e-9)
        )?;
    }
    match &info.overlap {
        Some(o) => writeln!(
            out,
            "  overlap (all {} shards running): {:.0}s–{:.0}s, {} s, {} attempts ({:.1}/s) · \
             ramp-in {} s, {} attempts · ramp-out {} s, {} attempts · thresholds judged on {}",
            info.shard_count,
            o.start_s,
            o.end_s,
            o.seconds,
            o.count,
            o.count as f64 / (o.seconds.max(1) as f64),
            o.ramp_in.seconds,
            o.ramp_in.count,
            o.ramp_out.seconds,
            o.ramp_out.count,
            match info.judged_on {
                Judge::Overlap => "the overlap",
                Judge::WholeRun => "the whole run (--whole-run)",
            }
        )?,
        None => writeln!(
            out,
            "  overlap: none — the shards never ran together for a whole second{}",
            if info.judged_on == Judge::Overlap {
                ": every threshold fails (start them with --barrier-dir or --start-at)"
            } else {
                ""
            }
        )?,
    }
    for sh in &info.shards {
        writeln!(
            out,
            "  shard {}/{}: {} attempts, {} errors, {:.1}/s over {:.2}s · {}",
            sh.index,
            info.shard_count,
            sh.count,
            sh.errors,
            if sh.duration_s > 0.0 {
                sh.count as f64 / sh.duration_s
            } else {
                0.0
            },
            sh.duration_s,
            sh.dir
        )?;
    }
    write_underruns(out, s)?;
    write_handshakes(out, s)?;
    write_scenarios(out, s)?;
    write_verdict(out, s, "merged report", dir)
}
