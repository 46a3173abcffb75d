//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, nothing fetched —
//! partner networks are often closed). Built with a small escaping writer: tag and attribute
//! names are static strings, every piece of run data (gateway answers included) goes through
//! [`escape`], so a hostile error description cannot inject markup.

use std::io::{self, Write};

use crate::model::Category;
use crate::outcome::{CaseOutcome, CaseResult, Counts, RunSummary};

use bearing_report::Html;
pub use bearing_report::escape;

const STYLE: &str = "<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
.pass{color:#176f2c}.fail{color:#b3261e;font-weight:bold}.warn{color:#8a5a00}.error{color:#7b1fa2;font-weight:bold}.skip{color:#777}
pre{background:#f6f6f6;padding:6px;white-space:pre-wrap;word-break:break-all;font-size:12px}
details summary{cursor:pointer}.meta td{border:none;padding:1px 8px 1px 0}
</style>";

fn colour(o: CaseOutcome) -> &'static str {
    match o {
        CaseOutcome::Pass => "#2e7d32",
        CaseOutcome::Fail => "#c62828",
        CaseOutcome::Warn => "#f9a825",
        CaseOutcome::Error => "#8e24aa",
        CaseOutcome::Skip => "#9e9e9e",
    }
}

/// An inline SVG bar of the outcome counts.
fn bar<W: Write>(h: &mut Html<W>, counts: &Counts) -> io::Result<()> {
    let total = counts.total().max(1);
    h.open(
        "svg",
        &[
            ("width", "600"),
            ("height", "24"),
            ("role", "img"),
            ("aria-label", "outcomes"),
        ],
    )?;
    let mut x = 0.0;
    for o in CaseOutcome::ALL {
        let n = counts.get(o);
        if n == 0 {
            continue;
        }
        #[expect(clippy::cast_precision_loss, reason = "case counts are small")]
        let w = 600.0 * n as f64 / total as f64;
        let (xs, ws) = (format!("{x:.1}"), format!("{w:.1}"));
        h.open(
            "rect",
            &[
                ("x", &xs),
                ("y", "0"),
                ("width", &ws),
                ("height", "24"),
                ("fill", colour(o)),
            ],
        )?;
        h.el("title", &[], &format!("{}: {n}", o.as_str()))?;
        h.close("rect")?;
        x += w;
    }
    h.close("svg")
}

fn case_row<W: Write>(h: &mut Html<W>, c: &CaseResult) -> io::Result<()> {
    h.open("tr", &[("id", &c.id)])?;
    h.el("td", &[("class", c.outcome.as_str())], c.outcome.as_str())?;
    h.open("td", &[])?;
    h.open("details", &[])?;
    h.open("summary", &[])?;
    h.el("code", &[], &c.id)?;
    h.text(" — ")?;
    h.text(&c.title)?;
    h.close("summary")?;
    if !c.findings.is_empty() {
        h.open("ul", &[])?;
        for f in &c.findings {
            let class = match (f.passed, f.binding) {
                (true, _) => "pass",
                (false, true) => "fail",
                (false, false) => "warn",
            };
            h.open("li", &[("class", class)])?;
            h.text(&format!("step {}: {}", f.step, f.message))?;
            h.close("li")?;
        }
        h.close("ul")?;
    }
    for x in &c.exchanges {
        let mut text = format!("{} {}\n", x.method, x.url);
        for (k, v) in &x.request_headers {
            text.push_str(&format!("{k}: {v}\n"));
        }
        if !x.request_body.is_empty() {
            text.push_str(&format!("\n{}\n", x.request_body));
        }
        match (x.status, &x.error) {
            (Some(s), _) => text.push_str(&format!(
                "\n→ {s} ({:.1} ms)\n",
                x.duration.as_secs_f64() * 1000.0
            )),
            (None, Some(e)) => text.push_str(&format!("\n→ no answer: {e}\n")),
            (None, None) => {}
        }
        for (k, v) in &x.response_headers {
            text.push_str(&format!("{k}: {v}\n"));
        }
        if !x.response_body.is_empty() {
            text.push_str(&format!("\n{}\n", x.response_body));
        }
        h.el("pre", &[("title", &x.label)], &text)?;
    }
    h.close("details")?;
    h.close("td")?;
    h.el("td", &[], c.level.as_str())?;
    h.el("td", &[], &c.citation)?;
    h.el(
        "td",
        &[],
        &format!("{:.0} ms", c.duration.as_secs_f64() * 1000.0),
    )?;
    h.el("td", &[], &c.reason)?;
    h.close("tr")
}

/// Writes the page.
///
/// # Errors
/// Write errors.
pub fn write(s: &RunSummary, out: impl Write) -> io::Result<()> {
    let mut h = Html::new(out);
    h.fixed("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    h.el(
        "title",
        &[],
        &format!("bearing conform — {}", s.target.token_url),
    )?;
    h.fixed(STYLE)?;
    h.fixed("</head><body>")?;
    h.el("h1", &[], "bearing conform")?;
    h.open("table", &[("class", "meta")])?;
    for (k, v) in [
        ("token endpoint", s.target.token_url.clone()),
        ("client id", s.target.client_id.clone()),
        ("profile", s.profile.clone()),
        ("started", s.started_at.clone()),
        ("duration", format!("{:.1} s", s.duration.as_secs_f64())),
        ("suites", s.suites.join(", ")),
        ("bearing", s.tool_version.clone()),
    ] {
        h.open("tr", &[])?;
        h.el("td", &[], k)?;
        h.el("td", &[], &v)?;
        h.close("tr")?;
    }
    h.close("table")?;
    h.open("p", &[])?;
    for o in CaseOutcome::ALL {
        h.el(
            "span",
            &[("class", o.as_str())],
            &format!("{} {}   ", s.counts.get(o), o.as_str()),
        )?;
    }
    h.close("p")?;
    bar(&mut h, &s.counts)?;
    if let Some(c) = &s.continues {
        h.el(
            "p",
            &[],
            &format!(
                "Re-run of the {} case(s) that failed or errored in {} (started {}).",
                c.cases.len(),
                c.summary,
                c.started_at
            ),
        )?;
    }
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_html(&mut h, x)?;
    }
    for cat in Category::ALL {
        let cases: Vec<&CaseResult> = s.cases.iter().filter(|c| c.category == cat).collect();
        if cases.is_empty() {
            continue;
        }
        let counts = Counts::of(cases.iter().copied());
        h.el(
            "h2",
            &[],
            &format!(
                "{} — {} pass, {} fail, {} warn, {} error, {} skip",
                cat.as_str(),
                counts.pass,
                counts.fail,
                counts.warn,
                counts.error,
                counts.skip
            ),
        )?;
        h.open("table", &[])?;
        h.open("tr", &[])?;
        for th in ["outcome", "case", "level", "citation", "time", "reason"] {
            h.el("th", &[], th)?;
        }
        h.close("tr")?;
        for c in cases {
            case_row(&mut h, c)?;
        }
        h.close("table")?;
    }
    h.fixed("</body></html>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Run data is escaped wherever it lands.
    #[test]
    fn escapes() {
        assert_eq!(
            escape(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }
}
