//! Tiny inline-SVG line charts for `report.html`: no script, no external URL. Text goes
//! through [`bearing_report::escape`].

use std::fmt::Write as _;

use bearing_report::escape;

/// One line of a chart.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// CSS colour.
    pub color: &'static str,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
}

/// Axis scale of y.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Linear from 0.
    Linear,
    /// Log10 (values ≤ 0 are clamped to the smallest positive value).
    Log,
}

const W: f64 = 760.0;
const H: f64 = 260.0;
const L: f64 = 64.0;
const R: f64 = 16.0;
const T: f64 = 16.0;
const B: f64 = 40.0;

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let e = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if v <= m * e {
            return m * e;
        }
    }
    10.0 * e
}

fn fmt_num(v: f64) -> String {
    if v.abs() >= 10.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}

/// A line chart; `x_label`/`y_label` name the axes; `x_ticks` optionally labels x positions
/// (for log-percentile axes).
pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_scale: Scale,
    x_ticks: Option<&[(f64, &str)]>,
) -> String {
    let pts = series.iter().flat_map(|s| s.points.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    let mut ymin_pos = f64::MAX;
    for (x, y) in pts {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(*y);
        if *y > 0.0 {
            ymin_pos = ymin_pos.min(*y);
        }
    }
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="chart" viewBox="0 0 {W} {H}" width="{W}" height="{H}" role="img" aria-label="{}">"#,
        escape(title)
    );
    if x0 > x1 {
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">no data</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return s;
    }
    if (x1 - x0).abs() < 1e-9 {
        x1 = x0 + 1.0;
    }
    let (ylo, yhi) = match y_scale {
        Scale::Linear => (0.0, nice_max(y1)),
        Scale::Log => {
            let lo = if ymin_pos == f64::MAX {
                1.0
            } else {
                10f64.powf(ymin_pos.log10().floor())
            };
            (lo, nice_max(y1.max(lo * 10.0)))
        }
    };
    let px = |x: f64| L + (x - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| {
        let f = match y_scale {
            Scale::Linear => (y - ylo) / (yhi - ylo),
            Scale::Log => (y.max(ylo).log10() - ylo.log10()) / (yhi.log10() - ylo.log10()),
        };
        H - B - f.clamp(0.0, 1.0) * (H - T - B)
    };
    // Axes and grid.
    let _ = write!(
        s,
        r##"<rect x="{L}" y="{T}" width="{}" height="{}" fill="#fff" stroke="#ccc"/>"##,
        W - L - R,
        H - T - B
    );
    let yticks: Vec<f64> = match y_scale {
        Scale::Linear => (0..=4)
            .map(|i| ylo + (yhi - ylo) * f64::from(i) / 4.0)
            .collect(),
        Scale::Log => {
            let mut v = Vec::new();
            let mut t = ylo;
            while t <= yhi * 1.0001 {
                v.push(t);
                t *= 10.0;
            }
            v
        }
    };
    for t in yticks {
        let y = py(t);
        let _ = write!(
            s,
            r##"<line x1="{L}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"##,
            W - R,
            L - 6.0,
            y + 4.0,
            escape(&fmt_num(t))
        );
    }
    match x_ticks {
        Some(ticks) => {
            for (x, label) in ticks {
                if *x >= x0 && *x <= x1 {
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                        px(*x),
                        H - B + 16.0,
                        escape(label)
                    );
                }
            }
        }
        None => {
            for i in 0..=5 {
                let x = x0 + (x1 - x0) * f64::from(i) / 5.0;
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                    px(x),
                    H - B + 16.0,
                    escape(&fmt_num(x))
                );
            }
        }
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
        L + (W - L - R) / 2.0,
        H - 6.0,
        escape(x_label)
    );
    let _ = write!(
        s,
        r#"<text x="14" y="{}" transform="rotate(-90 14 {})" text-anchor="middle" class="axis">{}</text>"#,
        T + (H - T - B) / 2.0,
        T + (H - T - B) / 2.0,
        escape(y_label)
    );
    for (i, ser) in series.iter().enumerate() {
        if ser.points.is_empty() {
            continue;
        }
        let mut d = String::new();
        for (j, (x, y)) in ser.points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if j == 0 { "M" } else { " L" },
                px(*x),
                py(*y)
            );
        }
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{}" stroke-width="1.6"/>"#,
            ser.color
        );
        let lx = L + 8.0 + 130.0 * i as f64;
        let _ = write!(
            s,
            r#"<rect x="{lx:.1}" y="{}" width="10" height="10" fill="{}"/><text x="{:.1}" y="{}" class="legend">{}</text>"#,
            T + 6.0,
            ser.color,
            lx + 14.0,
            T + 15.0,
            escape(&ser.label)
        );
    }
    s.push_str("</svg>");
    s
}
