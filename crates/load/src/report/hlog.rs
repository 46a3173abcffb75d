//! The HdrHistogram interval log (V2 log format, as `HistogramLogWriter` writes it): one
//! entry per wall-clock second, scenario, phase and figure (corrected / uncorrected), tagged
//! `{scenario}.{phase}.{corrected|uncorrected}`, values in µs. BaseTime is the whole Unix
//! second the run started in, so the logs of shards of one run line up second for second
//! and merge exactly by adding histograms (issue 8).

use std::fmt::Write as _;

use crate::result::RunResult;

/// Renders the interval log of `r`.
pub fn render(r: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "#bearing-load interval log: profile {} (hash {})",
        r.profile.display_name(),
        r.profile_hash
    );
    if let Some((i, n)) = r.shard {
        let _ = writeln!(out, "#shard {i}/{n}");
    }
    let _ = writeln!(
        out,
        "#tags: <scenario>.<phase>.<corrected|uncorrected>; values in microseconds"
    );
    let start = r.base_epoch_secs as f64 + r.start_offset.as_secs_f64();
    let _ = writeln!(
        out,
        "#[StartTime: {start:.3} (seconds since epoch), {}]",
        humantime::format_rfc3339_millis(r.started_at)
    );
    let _ = writeln!(
        out,
        "#[BaseTime: {:.3} (seconds since epoch)]",
        r.base_epoch_secs as f64
    );
    let _ = writeln!(out, "#[MaxValueDivisor: 1000.000]");
    let _ = writeln!(
        out,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    );
    let mut lines: Vec<(u64, String)> = Vec::new();
    for s in &r.scenarios {
        for i in &s.intervals {
            // Attempts and failures of the interval (failures without an answer are not
            // timed, so the histograms alone cannot tell them): a comment line, which log
            // readers skip, read back by `bearing report merge` (issue 8).
            lines.push((
                i.second,
                format!(
                    "#[Counts: Tag={}.{},{:.3},{},{}]\n",
                    s.spec.name,
                    i.phase.name(),
                    i.second as f64,
                    i.count,
                    i.errors
                ),
            ));
            for (which, max, enc) in [
                ("corrected", i.corrected[3], &i.corrected_encoded),
                ("uncorrected", i.uncorrected[3], &i.uncorrected_encoded),
            ] {
                lines.push((
                    i.second,
                    format!(
                        "Tag={}.{}.{which},{:.3},{:.3},{:.3},{enc}\n",
                        s.spec.name,
                        i.phase.name(),
                        i.second as f64,
                        1.0,
                        max as f64 / 1000.0
                    ),
                ));
            }
        }
    }
    // Stable: late entries keep their place after the on-time entry of the same second.
    lines.sort_by_key(|(sec, _)| *sec);
    for (_, l) in lines {
        out.push_str(&l);
    }
    out
}
