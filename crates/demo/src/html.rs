//! The demo's HTML: the index `report.html` (the summary, with relative links to the three
//! reports) and `bench/report.html` (the signing benchmark, which has no HTML of its own).
//! Self-contained like every bearing report: inline CSS, no scripts, no URL at all — partner
//! networks are often closed. Built with a small escaping writer: tag and attribute names are
//! static strings; every piece of run data goes through `bearing_report::escape`.

use std::io::{self, Write};

use bearing_report::Html;

use crate::summary::{DemoSummary, PhaseBrief};
use bearing_bench::SignReport as BenchReport;

/// A PASS/FAIL badge.
fn verdict<W: Write>(h: &mut Html<W>, passed: bool) -> io::Result<()> {
    if passed {
        h.el("span", &[("class", "pass")], "PASS")
    } else {
        h.el("span", &[("class", "fail")], "FAIL")
    }
}

const STYLE: &str = "<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.8em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.4em 0}td,th{border-bottom:1px solid #e3e3e3;padding:3px 10px 3px 0;text-align:left}
td.n,th.n{text-align:right}.pass{color:#176f2c;font-weight:bold}.fail{color:#b3261e;font-weight:bold}
.muted{color:#666}.meta td{border:none;padding:1px 12px 1px 0}code{background:#f3f3f3;padding:0 3px}
ul.links{padding-left:1.2em}
</style>";

fn ms(v: f64) -> String {
    format!("{v:.2} ms")
}

/// Writes the index page.
///
/// # Errors
/// A write error.
pub fn write_index<W: Write>(s: &DemoSummary, out: W) -> io::Result<()> {
    let mut h = Html::new(out);
    h.head("bearing demo", STYLE)?;
    h.open("h1", &[])?;
    h.text("bearing demo ")?;
    verdict(&mut h, s.passed)?;
    h.close("h1")?;
    h.el(
        "p",
        &[],
        "The bundled conformance suites, a short load profile and a signing benchmark, run \
         against the embedded sandbox gateway. Each section links its full report.",
    )?;
    h.open("table", &[("class", "meta")])?;
    h.row(&["started", &s.started_at])?;
    h.row(&["wall time", &format!("{:.1} s", s.duration_s)])?;
    h.row(&[
        "gateway",
        &format!(
            "embedded sandbox on {} (plain HTTP, this machine only), profile {}",
            s.sandbox.address, s.sandbox.profile
        ),
    ])?;
    h.row(&["client id", &s.sandbox.client_id])?;
    h.row(&["tool", &s.tool])?;
    h.close("table")?;

    // Conformance.
    let c = &s.conformance;
    h.open("h2", &[])?;
    h.text("Conformance ")?;
    verdict(&mut h, c.passed)?;
    h.close("h2")?;
    h.el(
        "p",
        &[],
        &format!(
            "{} cases of {} suites ({}) in {:.1} s.",
            c.cases,
            c.suites.len(),
            c.suites.join(", "),
            c.duration_s
        ),
    )?;
    h.open("table", &[])?;
    h.header_row(&["passed", "failed", "warned", "could not run", "skipped"])?;
    let n = &c.counts;
    h.row(&[
        &n.pass.to_string(),
        &n.fail.to_string(),
        &n.warn.to_string(),
        &n.error.to_string(),
        &n.skip.to_string(),
    ])?;
    h.close("table")?;
    if !c.not_passed.is_empty() {
        h.el(
            "p",
            &[],
            "Cases that did not pass (the reasons and HTTP exchanges are in the full report):",
        )?;
        h.open("table", &[])?;
        h.header_row(&["outcome", "case", "title"])?;
        for b in &c.not_passed {
            h.row(&[&b.outcome, &b.id, &b.title])?;
        }
        h.close("table")?;
    }
    h.open("ul", &[("class", "links")])?;
    h.open("li", &[])?;
    h.link(&s.reports.conform, "conformance report")?;
    h.text(" · ")?;
    h.link("conform/junit.xml", "junit.xml")?;
    h.text(" · ")?;
    h.link("conform/summary.json", "summary.json")?;
    h.close("li")?;
    h.close("ul")?;

    // Load.
    let l = &s.load;
    h.open("h2", &[])?;
    h.text("Load ")?;
    verdict(&mut h, l.passed)?;
    h.close("h2")?;
    h.el(
        "p",
        &[],
        &format!(
            "Profile {}: {} {:.1} s measured; latency corrected for coordinated omission.",
            l.profile,
            l.description.as_deref().unwrap_or(""),
            l.duration_s
        ),
    )?;
    h.open("table", &[])?;
    h.header_row(&["", "requests", "rate", "p50", "p99", "errors"])?;
    let phase = |h: &mut Html<W>, name: &str, p: &PhaseBrief| {
        h.row(&[
            name,
            &p.count.to_string(),
            &format!("{:.1}/s", p.rate),
            &ms(p.p50_ms),
            &ms(p.p99_ms),
            &p.errors.to_string(),
        ])
    };
    if let Some(p) = &l.token {
        phase(&mut h, "token requests", p)?;
    }
    if let Some(p) = &l.api {
        phase(&mut h, "API calls", p)?;
    }
    h.close("table")?;
    h.open("table", &[])?;
    h.header_row(&["threshold", "scope", "measured", ""])?;
    for t in &l.thresholds {
        h.open("tr", &[])?;
        h.el("td", &[], &t.expr)?;
        h.el("td", &[], &t.scope)?;
        h.el("td", &[], &t.actual)?;
        h.open("td", &[])?;
        verdict(&mut h, t.passed)?;
        h.close("td")?;
        h.close("tr")?;
    }
    h.close("table")?;
    h.open("ul", &[("class", "links")])?;
    h.open("li", &[])?;
    h.link(&s.reports.load, "load report")?;
    h.text(" (charts, per-scenario figures) · ")?;
    h.link("load/summary.json", "summary.json")?;
    h.text(" · ")?;
    h.link("load/intervals.hlog", "intervals.hlog")?;
    h.close("li")?;
    h.close("ul")?;

    // Signing.
    h.el("h2", &[], "Signing benchmark")?;
    match (&s.bench, &s.reports.bench) {
        (Some(b), Some(link)) => {
            h.open("table", &[])?;
            h.header_row(&["", "assertions/s", "p50", "p99"])?;
            h.row(&[
                &format!("{} ({} key), {} thread", b.alg, b.key, b.threads),
                &format!("{:.0}", b.assertions_per_sec),
                &format!("{:.0} µs", b.p50_us),
                &format!("{:.0} µs", b.p99_us),
            ])?;
            if let Some(o) = b.openssl_sign_per_sec {
                h.row(&[
                    &format!(
                        "openssl speed, same primitive ({})",
                        super::summary::short_version(b.openssl_version.as_deref())
                    ),
                    &format!("{o:.0}"),
                    "",
                    "",
                ])?;
            }
            h.close("table")?;
            let ratio = match (b.ratio_to_openssl, &b.openssl_skipped) {
                (Some(r), _) => format!("bearing signs at {r:.2}× the rate of openssl."),
                (None, Some(why)) => why.clone(),
                (None, None) => "no openssl reference".to_owned(),
            };
            h.el("p", &[], &ratio)?;
            h.open("ul", &[("class", "links")])?;
            h.open("li", &[])?;
            h.link(link, "signing report")?;
            h.text(" · ")?;
            h.link("bench/summary.json", "summary.json")?;
            h.close("li")?;
            h.close("ul")?;
        }
        _ => h.el("p", &[("class", "muted")], "Skipped (--no-bench).")?,
    }

    h.el(
        "p",
        &[("class", "muted")],
        "This folder also holds summary.json (schemas/demo-summary.schema.json in the \
         repository).",
    )?;
    h.fixed("</body></html>\n")
}

/// Writes `bench/report.html` from the `bench sign` report.
///
/// # Errors
/// A write error.
pub fn write_bench(r: &BenchReport, out: impl Write) -> io::Result<()> {
    let mut h = Html::new(out);
    h.head("bearing bench sign", STYLE)?;
    h.open("h1", &[])?;
    h.text("Signing benchmark ")?;
    verdict(&mut h, r.ok)?;
    h.close("h1")?;
    h.el(
        "p",
        &[],
        "Full assertion signing (claims, header, signature, Base64url) per thread, next to \
         openssl speed for the same primitive in the same run, both over wall-clock time.",
    )?;
    h.open("p", &[])?;
    h.el(
        "a",
        &[("href", "../report.html")],
        "back to the demo summary",
    )?;
    h.close("p")?;
    let m = &r.machine;
    h.open("table", &[("class", "meta")])?;
    h.row(&["algorithm", r.alg])?;
    h.row(&["key", &format!("{} ({})", r.key.kind, r.key.source)])?;
    h.row(&[
        "time per step",
        &format!("{} s × {} round(s)", r.duration_secs, r.rounds),
    ])?;
    h.row(&[
        "machine",
        &format!(
            "{} cores, {}, {}/{}",
            m.cpus,
            m.cpu_model.as_deref().unwrap_or("unknown cpu"),
            m.os,
            m.arch
        ),
    ])?;
    h.row(&[
        "reference",
        &r.openssl.as_ref().map_or_else(
            || "none (openssl not run)".to_owned(),
            |o| format!("{} openssl speed -elapsed {}", o.version, o.algorithm),
        ),
    ])?;
    h.close("table")?;
    h.open("table", &[])?;
    h.header_row(&[
        "threads",
        "assertions/s",
        "per core/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "on CPU",
        "openssl sign/s",
        "ratio",
    ])?;
    let opt = |v: Option<f64>, f: &dyn Fn(f64) -> String| v.map_or_else(|| "-".to_owned(), f);
    for s in &r.steps {
        h.row(&[
            &s.threads.to_string(),
            &format!("{:.0}", s.assertions_per_sec),
            &format!("{:.0}", s.per_core_per_sec),
            &format!("{:.1}", s.latency_us.p50),
            &format!("{:.1}", s.latency_us.p99),
            &format!("{:.1}", s.latency_us.max),
            &opt(s.cpu_share, &|v| format!("{:.0}%", v * 100.0)),
            &opt(s.openssl_sign_per_sec, &|v| format!("{v:.0}")),
            &opt(s.ratio_to_openssl, &|v| format!("{v:.2}×")),
        ])?;
    }
    h.close("table")?;
    let v = &r.verification;
    h.el(
        "p",
        &[],
        &format!(
            "Verified {} of {} sampled assertions with the key's certificate.",
            v.valid, v.sampled
        ),
    )?;
    h.open("p", &[("class", "muted")])?;
    h.text("Reproduce with ")?;
    h.el(
        "code",
        &[],
        &format!(
            "bearing bench sign --alg {} --threads {} --duration {}s",
            r.alg,
            r.steps.len(),
            r.duration_secs
        ),
    )?;
    h.text("; the full sweep over every core count is the same command without --threads.")?;
    h.close("p")?;
    h.fixed("</body></html>\n")
}
