//! What changed between two runs (issue 17, point 3).
//!
//! - conform: cases whose outcome changed; certify: checks (per client) whose verdict
//!   changed. A *regression* is a case or check that is bad now (fail/error, fail/no-evidence)
//!   and was not before (or did not exist); regressions come first, each with the evidence
//!   line of both sides.
//! - load: per scenario and phase, the rate, error rate and the corrected p50/p90/p99/p99.9
//!   with the change in %. **Noise rule**: for a percentile q of a phase with n samples, the
//!   95 % distribution-free confidence interval of the q-quantile lies between the order
//!   statistics at ranks n·q ± 1.96·√(n·q·(1−q)); both bounds are read off the phase's
//!   corrected `.hgrm` distribution. A percentile moved *beyond noise* when the two runs'
//!   intervals do not overlap. A latency percentile is a regression when it rose by more
//!   than the tolerance (default 10 %) and beyond noise (by tolerance alone when a `.hgrm`
//!   is missing); the rate when it fell by more than the tolerance; the error rate when it
//!   rose by more than the error tolerance (default 0.1 percentage point).

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::html::Html;
use crate::run::{RunFolder, RunKind};

/// How a verdict changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    /// Bad now, not bad before.
    Regression,
    /// Bad before, not bad now.
    Fixed,
    /// Another change (pass → warn, skip → pass, added, removed).
    Changed,
}

/// One case or check whose verdict changed.
#[derive(Debug, Clone, Serialize)]
pub struct VerdictChange {
    /// Case id, or `client/check` for certify.
    pub id: String,
    /// What kind of change.
    pub change: Change,
    /// Old verdict (`None`: not in the old run).
    pub old: Option<String>,
    /// New verdict.
    pub new: Option<String>,
    /// Old evidence line.
    pub old_evidence: Option<String>,
    /// New evidence line.
    pub new_evidence: Option<String>,
}

/// One load figure of one phase.
#[derive(Debug, Clone, Serialize)]
pub struct Metric {
    /// `rate` (/s), `error_rate` (fraction), `p50`…`p99.9` (µs, corrected).
    pub name: String,
    /// Old value.
    pub old: f64,
    /// New value.
    pub new: f64,
    /// Change in % of the old value (`None` when the old value is 0).
    pub change_pct: Option<f64>,
    /// Percentiles: whether the move is beyond the noise rule (`None`: no `.hgrm`).
    pub beyond_noise: Option<bool>,
    /// Whether this figure is a regression.
    pub regression: bool,
}

/// One scenario phase present in both load runs.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseDiff {
    /// Scenario name.
    pub scenario: String,
    /// Phase (`token`, `api`, `sign`).
    pub phase: String,
    /// Samples, old.
    pub old_count: u64,
    /// Samples, new.
    pub new_count: u64,
    /// The figures.
    pub metrics: Vec<Metric>,
}

/// Tolerances for load diffs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Tolerance {
    /// Latency rise / rate fall beyond which a change is a regression, %.
    pub percent: f64,
    /// Error-rate rise beyond which it is a regression, percentage points.
    pub error_points: f64,
}

impl Default for Tolerance {
    fn default() -> Self {
        Self {
            percent: 10.0,
            error_points: 0.1,
        }
    }
}

/// The noise rule, as stated in reports.
pub const NOISE_RULE: &str = "a percentile moved beyond noise when the runs' 95% confidence \
    intervals of that quantile (order statistics at ranks n*q +- 1.96*sqrt(n*q*(1-q)), read \
    off each phase's corrected .hgrm) do not overlap";

/// A whole diff (what `--output json` prints; schema `schemas/report-diff.schema.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// Which command wrote both runs.
    pub kind: RunKind,
    /// The old run's summary file.
    pub old: String,
    /// The new run's summary file.
    pub new: String,
    /// Old start time.
    pub old_started_at: Option<String>,
    /// New start time.
    pub new_started_at: Option<String>,
    /// Number of regressions.
    pub regressions: usize,
    /// conform/certify: verdict changes, regressions first.
    pub verdicts: Vec<VerdictChange>,
    /// load: per phase present in both runs.
    pub phases: Vec<PhaseDiff>,
    /// load: scenario phases in only one of the runs.
    pub unmatched: Vec<String>,
    /// load: the tolerances applied.
    pub tolerance: Option<Tolerance>,
    /// load: the noise rule.
    pub noise_rule: Option<&'static str>,
}

/// Compares two report folders (or their `summary.json`).
///
/// # Errors
/// Bad input: unreadable or non-bearing summaries, or runs of different kinds.
pub fn diff(old: &Path, new: &Path, tol: Tolerance) -> Result<Diff> {
    let a = RunFolder::open(old)?;
    let b = RunFolder::open(new)?;
    if a.kind != b.kind {
        return Err(Error::Mismatch(format!(
            "cannot compare a {} run ({}) with a {} run ({})",
            a.kind.as_str(),
            a.file.display(),
            b.kind.as_str(),
            b.file.display()
        )));
    }
    let mut d = Diff {
        kind: a.kind,
        old: a.file.display().to_string(),
        new: b.file.display().to_string(),
        old_started_at: a.str_at("/started_at").map(str::to_owned),
        new_started_at: b.str_at("/started_at").map(str::to_owned),
        regressions: 0,
        verdicts: Vec::new(),
        phases: Vec::new(),
        unmatched: Vec::new(),
        tolerance: None,
        noise_rule: None,
    };
    match a.kind {
        RunKind::Conform => {
            d.verdicts = verdicts(
                conform_rows(&a.summary),
                conform_rows(&b.summary),
                &["fail", "error"],
            );
        }
        RunKind::Certify => {
            d.verdicts = verdicts(
                certify_rows(&a.summary),
                certify_rows(&b.summary),
                &["fail", "no-evidence"],
            );
        }
        RunKind::Load => {
            load_diff(&a, &b, tol, &mut d);
            d.tolerance = Some(tol);
            d.noise_rule = Some(NOISE_RULE);
        }
    }
    d.regressions = d
        .verdicts
        .iter()
        .filter(|v| v.change == Change::Regression)
        .count()
        + d.phases
            .iter()
            .flat_map(|p| &p.metrics)
            .filter(|m| m.regression)
            .count();
    Ok(d)
}

type Row = (String, String, String);

fn conform_rows(s: &Value) -> Vec<Row> {
    s["cases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["id"].as_str().unwrap_or_default().to_owned(),
                c["outcome"].as_str().unwrap_or_default().to_owned(),
                c["reason"]
                    .as_str()
                    .filter(|r| !r.is_empty())
                    .or_else(|| c["findings"][0]["message"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn certify_rows(s: &Value) -> Vec<Row> {
    let mut out = Vec::new();
    for c in s["clients"].as_array().into_iter().flatten() {
        let client = c["client_id"].as_str().unwrap_or_default();
        for k in c["checks"].as_array().into_iter().flatten() {
            out.push((
                format!("{client}/{}", k["id"].as_str().unwrap_or_default()),
                k["verdict"].as_str().unwrap_or_default().to_owned(),
                k["summary"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

fn verdicts(old: Vec<Row>, new: Vec<Row>, bad: &[&str]) -> Vec<VerdictChange> {
    let is_bad = |v: &Option<String>| v.as_deref().is_some_and(|v| bad.contains(&v));
    let mut ids: Vec<String> = new.iter().map(|r| r.0.clone()).collect();
    ids.extend(
        old.iter()
            .map(|r| r.0.clone())
            .filter(|i| !new.iter().any(|n| &n.0 == i)),
    );
    let find = |rows: &[Row], id: &str| rows.iter().find(|r| r.0 == id).cloned();
    let mut out: Vec<VerdictChange> = ids
        .into_iter()
        .filter_map(|id| {
            let o = find(&old, &id);
            let n = find(&new, &id);
            let ov = o.as_ref().map(|r| r.1.clone());
            let nv = n.as_ref().map(|r| r.1.clone());
            if ov == nv {
                return None;
            }
            let change = match (is_bad(&ov), is_bad(&nv)) {
                (false, true) => Change::Regression,
                (true, false) if nv.is_some() => Change::Fixed,
                _ => Change::Changed,
            };
            let ev = |r: Option<Row>| r.map(|r| r.2).filter(|e| !e.is_empty());
            Some(VerdictChange {
                id,
                change,
                old: ov,
                new: nv,
                old_evidence: ev(o),
                new_evidence: ev(n),
            })
        })
        .collect();
    out.sort_by_key(|v| v.change);
    out
}

/// (value µs, percentile, total count) rows of an `.hgrm`.
fn read_hgrm(path: &Path) -> Option<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path).ok()?;
    let rows: Vec<(f64, f64)> = text
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let v: f64 = it.next()?.parse().ok()?;
            let q: f64 = it.next()?.parse().ok()?;
            let _: u64 = it.next()?.parse().ok()?;
            Some((v * 1000.0, q))
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}

fn value_at(rows: &[(f64, f64)], q: f64) -> f64 {
    rows.iter()
        .find(|r| r.1 >= q)
        .or(rows.last())
        .map_or(0.0, |r| r.0)
}

/// The 95 % confidence interval of the q-quantile (see the module doc).
fn interval(rows: &[(f64, f64)], q: f64, n: u64) -> (f64, f64) {
    let n = n.max(1) as f64;
    let half = 1.96 * (q * (1.0 - q) / n).sqrt();
    (
        value_at(rows, (q - half).max(0.0)),
        value_at(rows, (q + half).min(1.0)),
    )
}

fn pct(old: f64, new: f64) -> Option<f64> {
    (old != 0.0).then(|| 100.0 * (new - old) / old)
}

fn load_diff(a: &RunFolder, b: &RunFolder, tol: Tolerance, d: &mut Diff) {
    let scen = |s: &Value| -> Vec<(String, String, Value)> {
        let mut v = Vec::new();
        for sc in s["scenarios"].as_array().into_iter().flatten() {
            let name = sc["name"].as_str().unwrap_or_default().to_owned();
            for (ph, data) in sc["phases"].as_object().into_iter().flatten() {
                v.push((name.clone(), ph.clone(), data.clone()));
            }
        }
        v
    };
    let old = scen(&a.summary);
    let new = scen(&b.summary);
    for (s, p, _) in old
        .iter()
        .filter(|o| !new.iter().any(|n| n.0 == o.0 && n.1 == o.1))
    {
        d.unmatched.push(format!("{s}.{p}: only in the old run"));
    }
    for (s, p, nd) in &new {
        let Some((_, _, od)) = old.iter().find(|o| &o.0 == s && &o.1 == p) else {
            d.unmatched.push(format!("{s}.{p}: only in the new run"));
            continue;
        };
        let f = |v: &Value, k: &str| v.pointer(k).and_then(Value::as_f64).unwrap_or(0.0);
        let (on, nn) = (f(od, "/count") as u64, f(nd, "/count") as u64);
        let hg =
            |dir: &Path, v: &Value| v["hgrm"][0].as_str().and_then(|h| read_hgrm(&dir.join(h)));
        let (oh, nh) = (hg(&a.dir, od), hg(&b.dir, nd));
        let mut metrics = Vec::new();
        let (or, nr) = (f(od, "/rate"), f(nd, "/rate"));
        let ch = pct(or, nr);
        metrics.push(Metric {
            name: "rate".into(),
            old: or,
            new: nr,
            change_pct: ch,
            beyond_noise: None,
            regression: ch.is_some_and(|c| c < -tol.percent),
        });
        let (oe, ne) = (f(od, "/error_rate"), f(nd, "/error_rate"));
        metrics.push(Metric {
            name: "error_rate".into(),
            old: oe,
            new: ne,
            change_pct: pct(oe, ne),
            beyond_noise: None,
            regression: (ne - oe) * 100.0 > tol.error_points,
        });
        for (name, key, q) in [
            ("p50", "p50", 0.5),
            ("p90", "p90", 0.9),
            ("p99", "p99", 0.99),
            ("p99.9", "p999", 0.999),
        ] {
            let ptr = format!("/latency_us/corrected/{key}");
            let (ov, nv) = (f(od, &ptr), f(nd, &ptr));
            let ch = pct(ov, nv);
            let beyond = match (&oh, &nh) {
                (Some(x), Some(y)) => {
                    let (xl, xh) = interval(x, q, on);
                    let (yl, yh) = interval(y, q, nn);
                    Some(xh < yl || yh < xl)
                }
                _ => None,
            };
            metrics.push(Metric {
                name: name.into(),
                old: ov,
                new: nv,
                change_pct: ch,
                beyond_noise: beyond,
                regression: ch.is_some_and(|c| c > tol.percent) && beyond != Some(false),
            });
        }
        d.phases.push(PhaseDiff {
            scenario: s.clone(),
            phase: p.clone(),
            old_count: on,
            new_count: nn,
            metrics,
        });
    }
}

fn fmt_metric(name: &str, v: f64) -> String {
    match name {
        "rate" => format!("{v:.1}/s"),
        "error_rate" => format!("{:.3}%", v * 100.0),
        _ if v >= 1000.0 => format!("{:.2}ms", v / 1000.0),
        _ => format!("{v:.0}µs"),
    }
}

fn fmt_change(m: &Metric) -> String {
    let c = m.change_pct.map_or("—".to_owned(), |c| format!("{c:+.1}%"));
    let noise = match m.beyond_noise {
        Some(true) => " beyond noise",
        Some(false) => " within noise",
        None => "",
    };
    format!(
        "{c}{noise}{}",
        if m.regression { "  REGRESSION" } else { "" }
    )
}

/// Writes the diff as text.
///
/// # Errors
/// Write errors.
pub fn write_text(out: &mut impl Write, d: &Diff) -> io::Result<()> {
    writeln!(out, "{} diff: {} → {}", d.kind.as_str(), d.old, d.new)?;
    if d.kind != RunKind::Load {
        if d.verdicts.is_empty() {
            writeln!(out, "no verdict changed")?;
        }
        for v in &d.verdicts {
            writeln!(
                out,
                "{:<10} {}: {} → {}",
                format!("{:?}", v.change).to_lowercase(),
                v.id,
                v.old.as_deref().unwrap_or("(absent)"),
                v.new.as_deref().unwrap_or("(absent)")
            )?;
            if let Some(e) = &v.old_evidence {
                writeln!(out, "           old: {e}")?;
            }
            if let Some(e) = &v.new_evidence {
                writeln!(out, "           new: {e}")?;
            }
        }
    } else {
        if let Some(t) = d.tolerance {
            writeln!(
                out,
                "tolerance {}% (latency up, rate down), error rate +{} points; noise: {NOISE_RULE}",
                t.percent, t.error_points
            )?;
        }
        for p in &d.phases {
            writeln!(
                out,
                "{}.{} ({} → {} samples)",
                p.scenario, p.phase, p.old_count, p.new_count
            )?;
            for m in &p.metrics {
                writeln!(
                    out,
                    "  {:<10} {:>12} → {:<12} {}",
                    m.name,
                    fmt_metric(&m.name, m.old),
                    fmt_metric(&m.name, m.new),
                    fmt_change(m)
                )?;
            }
        }
        for u in &d.unmatched {
            writeln!(out, "{u}")?;
        }
    }
    writeln!(
        out,
        "{}",
        if d.regressions == 0 {
            "no regression".to_owned()
        } else {
            format!("{} regression(s)", d.regressions)
        }
    )
}

const STYLE: &str = "<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222;padding:0 1em}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:3px 6px;text-align:left;vertical-align:top}
.regression{color:#b3261e;font-weight:bold}.fixed{color:#176f2c}.muted{color:#666}
</style>";

/// Writes the diff as a self-contained HTML page.
///
/// # Errors
/// Write errors.
pub fn write_html(out: impl Write, d: &Diff) -> io::Result<()> {
    let mut h = Html::new(out);
    h.head(&format!("bearing {} diff", d.kind.as_str()), STYLE)?;
    h.el("h1", &[], &format!("bearing {} diff", d.kind.as_str()))?;
    h.open("p", &[])?;
    h.text(&format!(
        "old: {} ({})",
        d.old,
        d.old_started_at.as_deref().unwrap_or("?")
    ))?;
    h.fixed("<br>")?;
    h.text(&format!(
        "new: {} ({})",
        d.new,
        d.new_started_at.as_deref().unwrap_or("?")
    ))?;
    h.close("p")?;
    let verdict = if d.regressions == 0 {
        "no regression".to_owned()
    } else {
        format!("{} regression(s)", d.regressions)
    };
    h.el(
        "p",
        &[(
            "class",
            if d.regressions == 0 {
                "fixed"
            } else {
                "regression"
            },
        )],
        &verdict,
    )?;
    if d.kind != RunKind::Load {
        h.open("table", &[])?;
        h.header_row(&["change", "id", "old", "new", "old evidence", "new evidence"])?;
        for v in &d.verdicts {
            let c = format!("{:?}", v.change).to_lowercase();
            h.open("tr", &[("class", &c)])?;
            for cell in [
                c.as_str(),
                &v.id,
                v.old.as_deref().unwrap_or("(absent)"),
                v.new.as_deref().unwrap_or("(absent)"),
                v.old_evidence.as_deref().unwrap_or(""),
                v.new_evidence.as_deref().unwrap_or(""),
            ] {
                h.el("td", &[], cell)?;
            }
            h.close("tr")?;
        }
        h.close("table")?;
    } else {
        h.el(
            "p",
            &[("class", "muted")],
            &format!("noise rule: {NOISE_RULE}"),
        )?;
        for p in &d.phases {
            h.el(
                "h2",
                &[],
                &format!(
                    "{}.{} ({} → {} samples)",
                    p.scenario, p.phase, p.old_count, p.new_count
                ),
            )?;
            h.open("table", &[])?;
            h.header_row(&["figure", "old", "new", "change"])?;
            for m in &p.metrics {
                h.open(
                    "tr",
                    &[("class", if m.regression { "regression" } else { "" })],
                )?;
                h.el("td", &[], &m.name)?;
                h.el("td", &[], &fmt_metric(&m.name, m.old))?;
                h.el("td", &[], &fmt_metric(&m.name, m.new))?;
                h.el("td", &[], &fmt_change(m))?;
                h.close("tr")?;
            }
            h.close("table")?;
        }
        for u in &d.unmatched {
            h.el("p", &[("class", "muted")], u)?;
        }
    }
    h.fixed("</body></html>\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, v: &str) -> Row {
        (id.into(), v.into(), format!("{id} is {v}"))
    }

    // Regressions come first; unchanged ids are left out; a new failing case regresses.
    #[test]
    fn verdict_order() {
        let old = vec![row("a", "pass"), row("b", "fail"), row("c", "pass")];
        let new = vec![
            row("a", "fail"),
            row("b", "pass"),
            row("c", "pass"),
            row("d", "error"),
        ];
        let v = verdicts(old, new, &["fail", "error"]);
        let got: Vec<_> = v.iter().map(|v| (v.id.as_str(), v.change)).collect();
        assert_eq!(
            got,
            [
                ("a", Change::Regression),
                ("d", Change::Regression),
                ("b", Change::Fixed)
            ]
        );
        assert_eq!(v[0].old_evidence.as_deref(), Some("a is pass"));
    }

    // More samples narrow the interval: the same shift is noise at n=10, not at n=1e6.
    #[test]
    fn noise_interval() {
        let rows: Vec<(f64, f64)> = (0..=1000)
            .map(|i| (f64::from(i), f64::from(i) / 1000.0))
            .collect();
        let (lo, hi) = interval(&rows, 0.5, 10);
        assert!(hi - lo > 500.0, "{lo}..{hi}");
        let (lo, hi) = interval(&rows, 0.5, 1_000_000);
        assert!(hi - lo <= 4.0, "{lo}..{hi}");
    }
}
