//! `report.html`: one self-contained page (inline CSS and SVG, no scripts, no URL fetched —
//! partner networks are often closed). Built with a small escaping writer: tag and attribute
//! names are static strings and every piece of run data goes through [`escape`], so nothing
//! a client sent (an `aud`, a scheme) can inject markup.

use std::io::{self, Write};

use crate::checks::{CheckResult, Verdict};
use crate::event::{Action, Event, EventOutcome};
use crate::summary::{CertifySummary, ClientReport, Overall, rfc3339_ms};

use bearing_report::Html;
pub use bearing_report::escape;

const STYLE: &str = "<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.8em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
.pass{color:#176f2c;font-weight:bold}.fail{color:#b3261e;font-weight:bold}.none{color:#8a5a00;font-weight:bold}
.meta td{border:none;padding:1px 8px 1px 0}.small{color:#666;font-size:12px}
details summary{cursor:pointer}ul{margin:4px 0}code{font-size:12px}
</style>";

const WIDTH: f64 = 1000.0;

fn verdict_class(v: Verdict) -> (&'static str, &'static str) {
    match v {
        Verdict::Pass => ("pass", "pass"),
        Verdict::Fail => ("fail", "FAIL"),
        Verdict::NoEvidence => ("none", "no evidence"),
    }
}

fn overall(o: Overall) -> (&'static str, &'static str) {
    match o {
        Overall::Pass => ("pass", "PASS — certified"),
        Overall::Fail => ("fail", "FAIL — not certified"),
        Overall::Incomplete => ("none", "INCOMPLETE — checks without evidence"),
    }
}

fn rel(ms: i64, origin: i64) -> String {
    format!("{:+.3} s", (ms - origin) as f64 / 1000.0)
}

/// Writes the report page; `events` feed the per-client timelines.
///
/// # Errors
/// Write errors.
pub fn write(w: &mut impl Write, s: &CertifySummary, events: &[Event]) -> io::Result<()> {
    let mut h = Html::new(w);
    h.fixed("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">")?;
    h.el("title", &[], &format!("bearing certify: {}", s.plan.name))?;
    h.fixed(STYLE)?;
    h.fixed("</head><body>")?;
    h.el(
        "h1",
        &[],
        &format!("Client certification — plan {}", s.plan.name),
    )?;
    let (cls, label) = overall(s.verdict);
    h.open("p", &[])?;
    h.el("span", &[("class", cls)], label)?;
    h.text(&format!(
        " · {} pass, {} fail, {} no evidence",
        s.totals.pass, s.totals.fail, s.totals.no_evidence
    ))?;
    h.close("p")?;
    meta(&mut h, s)?;
    if let Some(x) = &s.expected_failures {
        bearing_report::expect::write_html(&mut h, x)?;
    }
    timeline(&mut h, s)?;
    let origin = s.plan_started_ms.unwrap_or(s.ended_ms);
    for c in &s.clients {
        client(&mut h, s, c, events, origin)?;
    }
    h.open("p", &[("class", "small")])?;
    h.text("Tokens are shown as their first 8 characters; assertions and keys are never recorded. Times are the gateway clock, relative to the plan start.")?;
    h.close("p")?;
    h.fixed("</body></html>\n")
}

fn meta<W: Write>(h: &mut Html<W>, s: &CertifySummary) -> io::Result<()> {
    h.open("table", &[("class", "meta")])?;
    let length = s.plan_started_ms.map_or(0, |p| s.ended_ms - p);
    let rows: [(&str, String); 8] = [
        ("plan", format!("{} ({})", s.plan.name, s.plan.origin)),
        (
            "description",
            s.plan.description.clone().unwrap_or_default(),
        ),
        ("profile", s.profile.clone()),
        ("token endpoint", s.token_url.clone()),
        ("accepted aud", s.audiences.join(", ")),
        ("started", s.started_at.clone()),
        (
            "ended by",
            format!(
                "{} after {:.1} s",
                s.ended_by.as_str(),
                length as f64 / 1000.0
            ),
        ),
        ("tool", s.tool.clone()),
    ];
    for (k, v) in rows {
        h.open("tr", &[])?;
        h.el("td", &[], k)?;
        h.el("td", &[], &v)?;
        h.close("tr")?;
    }
    h.close("table")
}

fn describe(a: &Action) -> String {
    match a {
        Action::PlanStarted => "plan started".into(),
        Action::PhaseStarted { name } => format!("phase {name}"),
        Action::TokenLifetime { ms } => format!("token lifetime {:.1} s", *ms as f64 / 1000.0),
        Action::Revoked { tokens } => format!("revoked {tokens} tokens"),
        Action::TokenFault {
            status,
            retry_after_s,
            probability,
        } => {
            format!(
                "token endpoint answers {status} (Retry-After {retry_after_s} s, {:.0}% of requests)",
                probability * 100.0
            )
        }
        Action::Latency { ms } => format!("{ms} ms added latency"),
        Action::FaultsCleared => "faults cleared".into(),
        Action::Settling => "settling at the baseline".into(),
        Action::Ended { reason } => format!("ended: {}", reason.as_str()),
    }
}

fn timeline<W: Write>(h: &mut Html<W>, s: &CertifySummary) -> io::Result<()> {
    h.el("h2", &[], "Plan timeline")?;
    let origin = s.plan_started_ms.unwrap_or(s.ended_ms);
    h.open("table", &[])?;
    for m in s.timeline.iter().filter(|m| {
        !matches!(
            m.action,
            Action::TokenLifetime { .. } | Action::FaultsCleared
        )
    }) {
        h.open("tr", &[])?;
        h.el("td", &[], &rel(m.at_ms, origin))?;
        h.el("td", &[], &describe(&m.action))?;
        h.close("tr")?;
    }
    h.close("table")
}

/// Phase spans (start, end, name) from the timeline.
fn phases(s: &CertifySummary) -> Vec<(i64, i64, String)> {
    let mut out: Vec<(i64, i64, String)> = Vec::new();
    for m in &s.timeline {
        let boundary = matches!(
            m.action,
            Action::PhaseStarted { .. } | Action::Settling | Action::Ended { .. }
        );
        if boundary
            && let Some(last) = out.last_mut()
            && last.1 == i64::MAX
        {
            last.1 = m.at_ms;
        }
        // The first phase is set up before the client comes; its span starts with the plan.
        if let Action::PhaseStarted { name } = &m.action
            && let Some(p) = s.plan_started_ms
        {
            out.push((m.at_ms.max(p), i64::MAX, name.clone()));
        }
    }
    if let Some(last) = out.last_mut()
        && last.1 == i64::MAX
    {
        last.1 = s.ended_ms;
    }
    out
}

/// An inline SVG: phases as bands, token requests and API calls as bucketed ticks
/// (green accepted, red refused, orange injected fault), at most one element per pixel.
fn chart<W: Write>(
    h: &mut Html<W>,
    s: &CertifySummary,
    evs: &[&Event],
    origin: i64,
) -> io::Result<()> {
    let start = origin.min(evs.first().map_or(origin, |e| e.at_ms));
    let end = s.ended_ms.max(start + 1);
    let x = |t: i64| ((t - start) as f64 / (end - start) as f64 * WIDTH).clamp(0.0, WIDTH);
    let view = format!("0 0 {WIDTH} 130");
    h.open(
        "svg",
        &[
            ("viewBox", &view),
            ("width", "100%"),
            ("role", "img"),
            ("aria-label", "timeline"),
        ],
    )?;
    for (i, (a, b, name)) in phases(s).iter().enumerate() {
        let fill = if i % 2 == 0 { "#eef3fb" } else { "#f7f1e6" };
        let (xa, xb) = (x(*a), x(*b));
        h.empty(
            "rect",
            &[
                ("x", &format!("{xa:.1}")),
                ("y", "0"),
                ("width", &format!("{:.1}", (xb - xa).max(0.5))),
                ("height", "130"),
                ("fill", fill),
            ],
        )?;
        h.el(
            "text",
            &[
                ("x", &format!("{:.1}", xa + 2.0)),
                ("y", "12"),
                ("font-size", "10"),
                ("fill", "#555"),
            ],
            name,
        )?;
    }
    for (row, y, label) in [(true, 45.0, "token requests"), (false, 95.0, "API calls")] {
        h.el(
            "text",
            &[
                ("x", "2"),
                ("y", &format!("{:.0}", y - 16.0)),
                ("font-size", "10"),
                ("fill", "#333"),
            ],
            label,
        )?;
        let mut buckets: Vec<u8> = vec![0; WIDTH as usize + 1];
        for e in evs.iter().filter(|e| e.is_token_request() == row) {
            let b = x(e.at_ms) as usize;
            let sev = match e.outcome {
                EventOutcome::Accepted => 1,
                EventOutcome::Fault => 2,
                EventOutcome::Rejected => 3,
            };
            buckets[b] = buckets[b].max(sev);
        }
        for (px, sev) in buckets.iter().enumerate().filter(|(_, s)| **s > 0) {
            let colour = match sev {
                1 => "#2e7d32",
                2 => "#ef6c00",
                _ => "#c62828",
            };
            h.empty(
                "rect",
                &[
                    ("x", &px.to_string()),
                    ("y", &format!("{:.0}", y - 10.0)),
                    ("width", "1"),
                    ("height", "20"),
                    ("fill", colour),
                ],
            )?;
        }
    }
    h.el(
        "text",
        &[
            ("x", "2"),
            ("y", "126"),
            ("font-size", "10"),
            ("fill", "#555"),
        ],
        &rel(start, origin),
    )?;
    h.el(
        "text",
        &[
            ("x", &format!("{:.0}", WIDTH - 60.0)),
            ("y", "126"),
            ("font-size", "10"),
            ("fill", "#555"),
        ],
        &rel(end, origin),
    )?;
    h.close("svg")
}

fn client<W: Write>(
    h: &mut Html<W>,
    s: &CertifySummary,
    c: &ClientReport,
    events: &[Event],
    origin: i64,
) -> io::Result<()> {
    let (cls, label) = overall(c.verdict);
    h.open("h2", &[])?;
    h.text(&format!("Client {} — ", c.client_id))?;
    h.el("span", &[("class", cls)], label)?;
    h.close("h2")?;
    h.el(
        "p",
        &[],
        &format!(
            "{} token requests, {} tokens issued, {} API calls, {} injected faults · {} pass, {} fail, {} no evidence",
            c.token_requests, c.tokens_issued, c.api_calls, c.faults, c.totals.pass, c.totals.fail, c.totals.no_evidence
        ),
    )?;
    if !c.refusals.is_empty() {
        h.el(
            "p",
            &[],
            &format!(
                "Token requests refused: {}",
                crate::summary::reasons_text(&c.refusals)
            ),
        )?;
    }
    for sc in &c.scopes {
        h.el(
            "p",
            &[],
            &format!(
                "Scope {:?}: {} granted, refused: {}",
                sc.scope,
                sc.granted,
                crate::summary::reasons_text(&sc.refused)
            ),
        )?;
    }
    let evs: Vec<&Event> = events
        .iter()
        .filter(|e| e.client.as_deref() == Some(c.client_id.as_str()))
        .collect();
    chart(h, s, &evs, origin)?;
    h.open("table", &[])?;
    h.open("tr", &[])?;
    for t in ["verdict", "check", "what was seen", "rule"] {
        h.el("th", &[], t)?;
    }
    h.close("tr")?;
    for r in &c.checks {
        check_row(h, r, origin)?;
    }
    h.close("table")
}

fn check_row<W: Write>(h: &mut Html<W>, r: &CheckResult, origin: i64) -> io::Result<()> {
    let (cls, label) = verdict_class(r.verdict);
    h.open("tr", &[])?;
    h.open("td", &[])?;
    h.el("span", &[("class", cls)], label)?;
    h.close("td")?;
    h.open("td", &[])?;
    h.el("code", &[], &r.id)?;
    h.open("div", &[("class", "small")])?;
    h.text(&r.title)?;
    h.close("div")?;
    h.close("td")?;
    h.open("td", &[])?;
    h.text(&r.summary)?;
    let has_detail = !r.counts.is_empty() || !r.values.is_empty() || !r.findings.is_empty();
    if has_detail {
        h.open("details", &[])?;
        h.el("summary", &[("class", "small")], "evidence")?;
        h.open("ul", &[("class", "small")])?;
        if let (Some(a), Some(b)) = (r.first_ms, r.last_ms) {
            h.el(
                "li",
                &[],
                &format!(
                    "from {} to {} ({} to {})",
                    rel(a, origin),
                    rel(b, origin),
                    rfc3339_ms(a),
                    rfc3339_ms(b)
                ),
            )?;
        }
        for (k, v) in &r.counts {
            h.el("li", &[], &format!("{k}: {v}"))?;
        }
        for (k, v) in &r.values {
            h.el("li", &[], &format!("{k}: {v}"))?;
        }
        for f in &r.findings {
            h.el(
                "li",
                &[],
                &format!("{}  {}", rel(f.at_ms, origin), f.detail),
            )?;
        }
        if r.findings_total > r.findings.len() as u64 {
            h.el(
                "li",
                &[],
                &format!("… {} findings in all", r.findings_total),
            )?;
        }
        h.close("ul")?;
        h.close("details")?;
    }
    h.close("td")?;
    h.el("td", &[("class", "small")], &r.rule)?;
    h.close("tr")
}
