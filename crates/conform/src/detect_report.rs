//! The terminal report of `bearing profile detect`: the observed value of each knob next
//! to each shipped profile's, the evidence, and the ranking, written to a caller-supplied
//! writer (the CLI passes stdout).

use std::io::{self, Write};
use std::path::Path;

use bearing_auth::shipped::{self, Shipped};

use crate::detect::Detection;

/// Writes the detection `d` of the gateway at `token_url` against the shipped profiles `all`;
/// `observed_file` is where the observed profile was written, if anywhere.
///
/// # Errors
/// A write error.
pub fn write_detect_text(
    d: &Detection,
    all: &[Shipped],
    token_url: &str,
    observed_file: Option<&Path>,
    out: &mut impl Write,
) -> io::Result<()> {
    writeln!(
        out,
        "bearing profile detect: {} ({} requests sent)\n",
        token_url, d.probes
    )?;
    let values: Vec<std::collections::BTreeMap<String, String>> = all
        .iter()
        .map(|s| {
            shipped::knobs(&s.profile)
                .into_iter()
                .map(|k| (k.key, k.value))
                .collect()
        })
        .collect();
    let kw = d
        .observations
        .iter()
        .map(|o| o.knob.len())
        .max()
        .unwrap_or(4);
    let ow = d
        .observations
        .iter()
        .map(|o| o.observed.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(8)
        .max(8);
    let mut header = format!("{:<kw$}  {:<ow$}", "knob", "observed");
    for s in all {
        header.push_str(&format!("  {}", s.profile.name));
    }
    writeln!(out, "{header}  | evidence")?;
    for o in &d.observations {
        let mut line = format!(
            "{:<kw$}  {:<ow$}",
            o.knob,
            o.observed.as_deref().unwrap_or("-")
        );
        for (s, v) in all.iter().zip(&values) {
            let val = v.get(&o.knob).map_or("", String::as_str);
            let w = s.profile.name.len();
            let shown: String = val.chars().take(w).collect();
            line.push_str(&format!("  {shown:<w$}"));
        }
        writeln!(out, "{line}  | {}", o.evidence)?;
    }
    writeln!(out, "\nranking (probed knobs that match):")?;
    for r in &d.ranking {
        let differs = if r.differs.is_empty() {
            String::new()
        } else {
            format!("  differs: {}", r.differs.join(", "))
        };
        writeln!(
            out,
            "  {:<28} {:>2}/{}{differs}",
            r.name, r.matches, r.compared
        )?;
    }
    if let Some(p) = observed_file {
        writeln!(
            out,
            "\nobserved profile: {} (use it as --profile)",
            p.display()
        )?;
    }
    Ok(())
}
