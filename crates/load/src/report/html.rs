//! `report.html`: one self-contained page (inline CSS and SVG, no script, no external URL —
//! partner networks are often closed). Every text from outside goes through [`escape`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::summary::{LoadSummary, PhaseSummary};
use super::svg::{Scale, Series, line_chart};
use crate::result::RunResult;
use crate::stats::Phase;
use crate::threshold::fmt_us;

use bearing_report::escape;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\
h1{font-size:22px}h2{font-size:18px;margin-top:32px;border-bottom:1px solid #ddd}h3{font-size:15px}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ddd;padding:3px 8px;text-align:right}\
th{background:#f5f5f5}td.l,th.l{text-align:left}.pass{color:#17803d;font-weight:600}.fail{color:#c0262d;font-weight:600}\
.chart{display:block;margin:8px 0}.tick{font-size:10px;fill:#555}.axis{font-size:11px;fill:#333}.legend{font-size:11px}\
.muted{color:#777}";

const COLORS: [&str; 5] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"];

fn verdict(ok: bool) -> &'static str {
    if ok {
        r#"<span class="pass">PASS</span>"#
    } else {
        r#"<span class="fail">FAIL</span>"#
    }
}

fn phase_table(out: &mut String, phases: &BTreeMap<String, PhaseSummary>) {
    out.push_str("<table><tr><th class=l>phase</th><th>count</th><th>rate/s</th><th>errors</th>\
        <th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>p50 uncorr.</th><th>p99 uncorr.</th><th class=l>errors by kind</th></tr>");
    let mut phases: Vec<_> = phases.iter().collect();
    phases.sort_by_key(|(name, _)| Phase::report_rank(name));
    for (name, p) in phases {
        let c = &p.latency_us.corrected;
        let u = &p.latency_us.uncorrected;
        let kinds: Vec<String> = p
            .errors_by_kind
            .iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        let _ = write!(
            out,
            "<tr><td class=l>{}</td><td>{}</td><td>{:.1}</td><td>{} ({:.3}%)</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=l>{}</td></tr>",
            escape(name),
            p.count,
            p.rate,
            p.errors,
            p.error_rate * 100.0,
            fmt_us(c.p50 as f64),
            fmt_us(c.p90 as f64),
            fmt_us(c.p99 as f64),
            fmt_us(c.p999 as f64),
            fmt_us(c.max as f64),
            fmt_us(u.p50 as f64),
            fmt_us(u.p99 as f64),
            escape(&kinds.join(", "))
        );
    }
    out.push_str("</table>");
}

/// Generator-limited lines, reasons for FAIL beyond the thresholds, dropped and cancelled
/// requests: at the top, before any figure they qualify.
fn verdict_block(o: &mut String, s: &LoadSummary) {
    let Some(v) = &s.verdict else { return };
    for u in &v.generator_limited {
        let _ = write!(
            o,
            "<p class=fail><b>{}</b></p>",
            escape(&crate::verdict::underrun_line(u))
        );
    }
    let rest: Vec<&String> = v
        .reasons
        .iter()
        .filter(|r| !r.starts_with("generator-limited"))
        .collect();
    if !rest.is_empty() {
        o.push_str("<ul>");
        for r in rest {
            let _ = write!(o, "<li class=fail>{}</li>", escape(r));
        }
        o.push_str("</ul>");
    }
    let _ = write!(
        o,
        "<p>Dropped arrivals (never started): <b>{}</b> · requests cancelled in flight at the end: <b>{}</b> (grace {:.0} s after the planned duration){}</p>",
        v.dropped,
        v.cancelled,
        v.grace_s,
        v.error_guard
            .as_ref()
            .map(|g| format!(
                " · default error guard <code>{}</code>: {} {}",
                escape(&g.expr),
                escape(&g.actual_display),
                verdict(g.passed)
            ))
            .unwrap_or_default()
    );
}

/// Renders the page.
pub fn render(r: &RunResult, s: &LoadSummary) -> String {
    let mut o = String::new();
    let title = format!("bearing load: {}", s.profile.name);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let _ = write!(o, "<h1>{} {}</h1>", escape(&title), verdict(s.passed));
    if s.tls_insecure {
        let _ = write!(
            o,
            "<p class=fail><b>{}</b></p>",
            escape(&super::text::insecure_warning(&s.target))
        );
    }
    verdict_block(&mut o, s);
    let _ = write!(
        o,
        "<p>Target <code>{}</code> · started {} · {:.2} s measured ({:.0} s planned) · {} model · profile hash <code>{}</code>{}</p>",
        escape(&s.target),
        escape(&s.started_at),
        s.duration_s,
        s.planned_duration_s,
        escape(&s.profile.model),
        escape(&s.profile.hash),
        s.shard
            .as_ref()
            .map(|sh| format!(" · shard {}/{}", sh.index, sh.count))
            .unwrap_or_default()
    );
    if let Some(d) = &s.profile.description {
        let _ = write!(o, "<p class=muted>{}</p>", escape(d));
    }
    if let Some(h) = s.handshakes_per_s {
        let _ = write!(
            o,
            "<p>TLS handshakes: <b>{h:.1}/s</b> (connection: new — a TCP + TLS connection per request; the <code>connect</code> and <code>handshake</code> rows below time each step)</p>"
        );
    }
    if !s.thresholds.is_empty() {
        o.push_str("<h2>Thresholds</h2><table><tr><th class=l>scope</th><th class=l>threshold</th><th>actual</th><th class=l>result</th></tr>");
        for t in &s.thresholds {
            let _ = write!(
                o,
                "<tr><td class=l>{}</td><td class=l><code>{}</code></td><td>{}</td><td class=l>{}</td></tr>",
                escape(&t.scope),
                escape(&t.expr),
                escape(&t.actual_display),
                match s.expected_failures.as_ref().and_then(|x| {
                    x.entries.iter().find(|e| {
                        e.status == bearing_report::expect::Status::ExpectedFailure
                            && t.is_named(&e.id)
                    })
                }) {
                    Some(_) if !t.passed => "<span class=muted>expected failure</span>",
                    _ => verdict(t.passed),
                }
            );
        }
        o.push_str("</table>");
    }
    if let Some(x) = &s.expected_failures {
        let mut h = bearing_report::html::Html::new(Vec::new());
        if bearing_report::expect::write_html(&mut h, x).is_ok() {
            o.push_str(&String::from_utf8_lossy(&h.into_inner()));
        }
    }
    if let Some(c) = &s.capacity {
        o.push_str("<h2>Capacity search</h2>");
        let _ = write!(
            o,
            "<p>Knee (highest passing rate): <b>{}</b> · {:.0} s per step; after the first failing step the rate is bisected between the last pass and the first fail until they are within ±5%.</p>",
            escape(&c.describe()),
            c.step_duration_s
        );
        // The hockey stick: latency against the offered rate, every step in rate order.
        let mut by_rate: Vec<_> = c.steps.iter().collect();
        by_rate.sort_by(|a, b| a.rate.total_cmp(&b.rate));
        let line = |label: &str, color, f: &dyn Fn(&crate::capacity::CapacityStep) -> u64| Series {
            label: label.to_owned(),
            color,
            points: by_rate
                .iter()
                .map(|st| (st.rate, f(st) as f64 / 1_000.0))
                .collect(),
        };
        o.push_str(&line_chart(
            "latency vs offered rate",
            "rate asked (/s)",
            "corrected latency (ms)",
            &[
                line("p50", "#1f77b4", &|st| st.p50_us),
                line("p99", "#d62728", &|st| st.p99_us),
            ],
            Scale::Log,
            None,
        ));
        o.push_str("<table><tr><th>rate asked</th><th>achieved</th><th>p50</th><th>p99</th><th>error rate</th><th class=l>result</th><th class=l>missed</th></tr>");
        for st in &c.steps {
            let _ = write!(
                o,
                "<tr><td>{}{:.0}/s</td><td>{:.0}/s</td><td>{}</td><td>{}</td><td>{:.3}%</td><td class=l>{}</td><td class=l>{}</td></tr>",
                if st.refine { "↳ " } else { "" },
                st.rate,
                st.achieved_rate,
                fmt_us(st.p50_us as f64),
                fmt_us(st.p99_us as f64),
                st.error_rate * 100.0,
                verdict(st.passed),
                escape(&st.missed.join("; "))
            );
        }
        o.push_str("</table>");
    }
    for (sc, ss) in r.scenarios.iter().zip(&s.scenarios) {
        let _ = write!(
            o,
            "<h2>Scenario {} <span class=muted>({}, {} users)</span></h2>",
            escape(&ss.name),
            escape(&ss.kind),
            ss.users
        );
        let _ = write!(
            o,
            "<p>Offered {:.1}/s{} · achieved {:.1}/s{}</p>",
            ss.offered_rate,
            ss.target_rate
                .map(|t| format!(" (asked {t:.1}/s)"))
                .unwrap_or_default(),
            ss.achieved_rate,
            ss.dropped
                .filter(|d| *d > 0)
                .map(|d| format!(" · {d} planned arrivals never started"))
                .unwrap_or_default()
        );
        phase_table(&mut o, &ss.phases);
        if let Some(c) = &ss.connections {
            let _ = write!(
                o,
                "<p>Connections: {} · {} opened ({:.1}/s) · {} TLS handshakes ({:.1}/s ok, {} resumed)</p>",
                match c.policy {
                    crate::profile::ConnectionPolicy::New => "a new one per request",
                    crate::profile::ConnectionPolicy::KeepAlive => "one kept alive per user",
                },
                c.opened,
                c.opened_per_s,
                c.handshakes,
                c.handshakes_per_s,
                c.resumed
            );
        }
        if let Some(sg) = &ss.signing {
            let _ = write!(
                o,
                "<p>Signing: {} · one core signs {:.0}/s · offered {:.2}× that · {} · pool waits {} ({:.1} ms)</p>",
                escape(&sg.mode),
                sg.single_core_rate,
                sg.offered_vs_single_core,
                if sg.limited {
                    "<span class=fail>signing limited the offered load</span>"
                } else {
                    "signing did not limit the offered load"
                },
                sg.waits,
                sg.wait_ms
            );
        }
        if let Some(t) = &ss.tokens {
            let _ = write!(
                o,
                "<p>Token manager: {} token requests, {} refreshes ahead of expiry, {} API calls retried after a 401, {} failed fetches</p>",
                t.token_requests, t.refreshes_ahead, t.unauthorized_retries, t.failures
            );
        }
        if let Some(st) = &ss.storm {
            let _ = write!(
                o,
                "<p>Refresh storm: revoked {} tokens at {} · recovery {} · {} of {} users recovered · burst {} token requests, peak {:.0}/s{}</p>",
                st.revoked_tokens,
                st.revoked_at_ms
                    .map_or("—".into(), |v| format!("{v:.0} ms")),
                st.recovery_ms
                    .map_or("not complete".into(), |v| format!("{v:.0} ms")),
                st.users_recovered,
                ss.users,
                st.burst_token_requests,
                st.peak_token_rate,
                st.error
                    .as_ref()
                    .map(|e| format!(" · <span class=fail>{}</span>", escape(e)))
                    .unwrap_or_default()
            );
        }
        charts(&mut o, r, sc);
    }
    o.push_str("<p class=muted>Latencies are in the generator's own µs HdrHistograms (3 significant figures); corrected latency counts from each request's intended start (coordinated omission). Files: summary.json, *.hgrm, intervals.hlog.</p></body></html>");
    o
}

fn charts(o: &mut String, r: &RunResult, sc: &crate::result::ScenarioResult) {
    let base = r.start_offset.as_secs_f64();
    let main = sc.spec.kind.main_phase();
    let mut lat: [Vec<(f64, f64)>; 4] = Default::default();
    let mut thr: BTreeMap<Phase, Vec<(f64, f64)>> = BTreeMap::new();
    let mut errs: Vec<(f64, f64)> = Vec::new();
    for i in &sc.intervals {
        // Seconds since the measured window started (interval midpoints).
        let x = (i.second as f64 + 0.5 - base).max(0.0);
        thr.entry(i.phase).or_default().push((x, i.count as f64));
        if i.phase == main {
            lat[0].push((x, i.corrected[0] as f64 / 1e3));
            lat[1].push((x, i.corrected[2] as f64 / 1e3));
            lat[2].push((x, i.uncorrected[2] as f64 / 1e3));
            lat[3].push((x, i.corrected[3] as f64 / 1e3));
            errs.push((x, i.errors as f64));
        }
    }
    let series = |labels: &[&str], data: Vec<Vec<(f64, f64)>>| -> Vec<Series> {
        labels
            .iter()
            .zip(data)
            .enumerate()
            .map(|(k, (l, p))| Series {
                label: (*l).to_owned(),
                color: COLORS[k % COLORS.len()],
                points: p,
            })
            .collect()
    };
    let _ = write!(o, "<h3>{} latency over time</h3>", main.name());
    o.push_str(&line_chart(
        "latency percentiles over time",
        "seconds",
        "ms",
        &series(&["p50", "p99", "p99 uncorrected", "max"], lat.to_vec()),
        Scale::Log,
        None,
    ));
    o.push_str("<h3>Throughput over time</h3>");
    let mut labels: Vec<String> = thr.keys().map(|p| format!("{}/s", p.name())).collect();
    labels.push(format!("{} errors/s", main.name()));
    let mut data: Vec<Vec<(f64, f64)>> = thr.into_values().collect();
    data.push(errs);
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    o.push_str(&line_chart(
        "throughput over time",
        "seconds",
        "per second",
        &series(&label_refs, data),
        Scale::Linear,
        None,
    ));
    o.push_str("<h3>Latency distribution</h3>");
    let dist = |h: &hdrhistogram::Histogram<u64>| -> Vec<(f64, f64)> {
        if h.is_empty() {
            return Vec::new();
        }
        h.iter_quantiles(5)
            .filter(|v| v.quantile_iterated_to() < 0.99999)
            .map(|v| {
                (
                    (1.0 / (1.0 - v.quantile_iterated_to())).log10(),
                    v.value_iterated_to() as f64 / 1e3,
                )
            })
            .collect()
    };
    let d = &sc.phases[main as usize];
    let ticks: [(f64, &str); 6] = [
        (0.0, "0%"),
        (1.0, "90%"),
        (2.0, "99%"),
        (3.0, "99.9%"),
        (4.0, "99.99%"),
        (5.0, "99.999%"),
    ];
    o.push_str(&line_chart(
        "latency by percentile",
        "percentile",
        "ms",
        &series(
            &["corrected", "uncorrected"],
            vec![dist(&d.corrected), dist(&d.uncorrected)],
        ),
        Scale::Log,
        Some(&ticks),
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    // Everything from outside is escaped.
    #[test]
    fn escapes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
