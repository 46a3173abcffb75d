//! The self-contained HTML report of `bench verify` (and of a `bench sign` run): per
//! algorithm, bars of bearing's rate next to `openssl speed`'s for the same primitive, the
//! breakdown of one validation and the sizing sentence. No scripts, no network fetches.
//! Text goes through one escaping writer; no HTML is built with `format!` from input.

use std::io::{self, Write};

use crate::{SignReport, Sizing, VerifyReport};

const STYLE: &str = concat!(
    "<style>",
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;\
color:#222}h1,h2{font-weight:600}table{border-collapse:collapse;margin:.5em 0 1em}\
td,th{padding:.2em .7em;border-bottom:1px solid #ddd;text-align:right}th:first-child,\
td:first-child{text-align:left}.bars{margin:.4em 0 1.2em}.row{display:flex;align-items:center;\
margin:.15em 0}.label{width:16em}.track{flex:1;background:#f1f1f1}.bar{display:block;height:1.1em;\
background:#3a6ea5}.bar.ref{background:#999}.bar.part{background:#c77d1a}.value{width:11em;\
text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}",
    "</style>"
);

/// bearing-report's escaping writer with the two shapes this report draws (tables, bars).
struct Html<W: Write> {
    h: bearing_report::Html<W>,
}

impl<W: Write> Html<W> {
    fn raw(&mut self, s: &'static str) -> io::Result<()> {
        self.h.fixed(s)
    }

    fn el(&mut self, tag: &'static str, class: Option<&'static str>, text: &str) -> io::Result<()> {
        match class {
            Some(c) => self.h.el(tag, &[("class", c)], text),
            None => self.h.el(tag, &[], text),
        }
    }

    fn head(&mut self, title: &str) -> io::Result<()> {
        self.h.head(title, STYLE)
    }

    fn table(&mut self, header: &[&str], rows: &[Vec<String>]) -> io::Result<()> {
        self.raw("<table><tr>")?;
        for h in header {
            self.el("th", None, h)?;
        }
        self.raw("</tr>")?;
        for r in rows {
            self.raw("<tr>")?;
            for c in r {
                self.el("td", None, c)?;
            }
            self.raw("</tr>")?;
        }
        self.raw("</table>")
    }

    /// Horizontal bars scaled to the largest value; `kind` picks the colour.
    fn bars(&mut self, bars: &[(String, f64, String, &'static str)]) -> io::Result<()> {
        let max = bars.iter().map(|b| b.1).fold(0.0_f64, f64::max);
        self.raw("<div class=\"bars\">")?;
        for (label, value, shown, kind) in bars {
            let pct = if max > 0.0 { value / max * 100.0 } else { 0.0 };
            self.raw("<div class=\"row\">")?;
            self.el("span", Some("label"), label)?;
            self.h.open("span", &[("class", "track")])?;
            let width = format!("width:{pct:.1}%");
            self.h.open("span", &[("class", kind), ("style", &width)])?;
            self.h.close("span")?;
            self.h.close("span")?;
            self.el("span", Some("value"), shown)?;
            self.raw("</div>")?;
        }
        self.raw("</div>")
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_owned(), f)
}

/// Writes the report of a `bench verify` run over one or more algorithms.
///
/// # Errors
/// A write error.
pub fn write_verify(reports: &[VerifyReport], out: impl Write) -> io::Result<()> {
    let mut h = Html {
        h: bearing_report::Html::new(out),
    };
    h.head("bearing bench verify")?;
    h.el(
        "h1",
        None,
        "Assertion verification and signing, per algorithm",
    )?;
    h.el(
        "p",
        None,
        "Validation through the sandbox gateway's own path (strict parse, header checks, \
         issuer lookup, signature with the registered certificate, claims, jti replay store) \
         next to openssl speed's verify/s for the same primitive, measured in the same run \
         with rounds alternating; per core, one thread / one process.",
    )?;
    if let Some(r) = reports.first() {
        let m = &r.machine;
        h.el(
            "p",
            Some("muted"),
            &format!(
                "{} cores, {}, {}/{}; {}. Cores shared with other work show as an on-CPU \
                 share under 100 %.",
                m.cpus,
                m.cpu_model.as_deref().unwrap_or("unknown cpu"),
                m.os,
                m.arch,
                r.openssl
                    .as_ref()
                    .map_or("no openssl reference", |o| o.version.as_str())
            ),
        )?;
    }
    h.el("h2", None, "One core, per algorithm")?;
    h.bars(&per_core_bars(reports, "verify", |s| {
        (s.verify_per_core_per_sec, s.openssl_verify_per_sec)
    }))?;
    h.bars(&per_core_bars(reports, "sign", |s| {
        (s.sign_per_core_per_sec, s.openssl_sign_per_sec)
    }))?;
    h.el("h2", None, "Sizing")?;
    for r in reports {
        h.el("p", None, &r.sizing.sentence())?;
    }
    for r in reports {
        algorithm_section(&mut h, r)?;
    }
    h.raw("</body></html>\n")
}

/// Bars of one operation per core and algorithm: bearing, then openssl beside it. `rates`
/// picks (bearing, openssl) per-core rates from a report's sizing.
fn per_core_bars(
    reports: &[VerifyReport],
    op: &str,
    rates: impl Fn(&Sizing) -> (f64, Option<f64>),
) -> Vec<(String, f64, String, &'static str)> {
    let mut bars = Vec::new();
    for r in reports {
        let (ours, openssl) = rates(&r.sizing);
        let label = format!("{} ({})", r.alg, r.key.kind);
        bars.push((
            format!("{label} {op}, bearing"),
            ours,
            format!("{ours:.0}/s"),
            "bar",
        ));
        if let Some(o) = openssl {
            bars.push((
                format!("{label} {op}, openssl"),
                o,
                format!("{o:.0}/s"),
                "bar ref",
            ));
        }
    }
    bars
}

/// One algorithm: the table per thread count, then where one validation's time goes.
fn algorithm_section<W: Write>(h: &mut Html<W>, r: &VerifyReport) -> io::Result<()> {
    h.el("h2", None, &format!("{} ({})", r.alg, r.key.kind))?;
    let rows: Vec<Vec<String>> = r
        .steps
        .iter()
        .map(|s| {
            vec![
                s.threads.to_string(),
                format!("{:.0}", s.verified_per_sec),
                format!("{:.0}", s.per_core_per_sec),
                format!("{:.1}", s.latency_us.p50),
                format!("{:.1}", s.latency_us.p99),
                opt(s.cpu_share, |v| format!("{:.0}%", v * 100.0)),
                opt(s.verified_per_cpu_sec, |v| format!("{v:.0}")),
                opt(s.openssl_verify_per_sec, |v| format!("{v:.0}")),
                opt(s.ratio_to_openssl, |v| format!("{v:.2}×")),
            ]
        })
        .collect();
    h.table(
        &[
            "threads",
            "verified/s",
            "per core/s",
            "p50 µs",
            "p99 µs",
            "on CPU",
            "per CPU-second",
            "openssl verify/s",
            "ratio",
        ],
        &rows,
    )?;
    let b = &r.breakdown;
    h.el(
        "p",
        Some("muted"),
        &format!(
            "One validation, {:.2} µs (median of {} interleaved slices, one thread):",
            b.total_us, b.slices
        ),
    )?;
    let parts = [
        ("signature", b.signature_us),
        ("base64url + segment checks", b.base64_us),
        ("JSON (strict)", b.json_us),
        ("claims and header checks", b.claims_us),
        ("replay store", b.replay_us),
    ];
    let bars: Vec<_> = parts
        .iter()
        .map(|(n, us)| {
            let share = if b.total_us > 0.0 {
                us / b.total_us * 100.0
            } else {
                0.0
            };
            (
                (*n).to_owned(),
                *us,
                format!("{us:.2} µs ({share:.0}%)"),
                "bar part",
            )
        })
        .collect();
    h.bars(&bars)?;
    Ok(())
}

/// Writes the report of a `bench sign` run (one algorithm, per thread count).
///
/// # Errors
/// A write error.
pub fn write_sign(r: &SignReport, out: impl Write) -> io::Result<()> {
    let mut h = Html {
        h: bearing_report::Html::new(out),
    };
    h.head("bearing bench sign")?;
    h.el("h1", None, &format!("Signing, {} ({})", r.alg, r.key.kind))?;
    h.el(
        "p",
        None,
        "Full assertion signing (claims, header, signature, base64url), one signer per \
         thread, next to openssl speed [-multi N] for the same primitive in the same run.",
    )?;
    let mut bars = Vec::new();
    for s in &r.steps {
        bars.push((
            format!("{} thread(s), bearing", s.threads),
            s.assertions_per_sec,
            format!("{:.0}/s", s.assertions_per_sec),
            "bar",
        ));
        if let Some(o) = s.openssl_sign_per_sec {
            bars.push((
                format!("{} process(es), openssl", s.threads),
                o,
                format!("{o:.0}/s"),
                "bar ref",
            ));
        }
    }
    h.bars(&bars)?;
    let rows: Vec<Vec<String>> = r
        .steps
        .iter()
        .map(|s| {
            vec![
                s.threads.to_string(),
                format!("{:.0}", s.assertions_per_sec),
                opt(s.openssl_sign_per_sec, |v| format!("{v:.0}")),
                opt(s.ratio_to_openssl, |v| format!("{v:.2}×")),
                format!("{:.1}", s.latency_us.p50),
                format!("{:.1}", s.latency_us.p99),
                opt(s.cpu_share, |v| format!("{:.0}%", v * 100.0)),
                opt(s.assertions_per_cpu_sec, |v| format!("{v:.0}")),
            ]
        })
        .collect();
    h.table(
        &[
            "threads",
            "assertions/s",
            "openssl sign/s",
            "ratio",
            "p50 µs",
            "p99 µs",
            "on CPU",
            "per CPU-second",
        ],
        &rows,
    )?;
    h.raw("</body></html>\n")
}
