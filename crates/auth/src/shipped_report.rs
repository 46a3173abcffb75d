//! The shipped profiles as a person or a script reads them: `bearing profile list`, `show`
//! and `diff` as text tables (to a caller-supplied writer) and as JSON documents, and the
//! lookup of a profile by shipped name or YAML file. The CLI picks the output and prints.

use std::io::{self, Write};
use std::path::Path;

use crate::GatewayProfile;
use crate::shipped::{self, Shipped};

/// A profile named on the command line is neither shipped nor a readable profile file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Not a shipped name, and no such file.
    #[error("unknown profile \"{name}\": not one of {known} nor a file")]
    Unknown {
        /// The name as given.
        name: String,
        /// The shipped names, comma-separated.
        known: String,
    },
    /// The file exists but cannot be read (the reason is part of the message).
    #[error("cannot read {path}: {reason}")]
    Read {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: io::Error,
    },
    /// The file is not a profile (the parser's message).
    #[error("{0}")]
    Parse(String),
}

/// A shipped profile by name (with sources), or a YAML file (sources from its comments when
/// it has them).
///
/// # Errors
/// [`LookupError`]: an unknown name, an unreadable or invalid file.
pub fn find_profile(name: &str, all: &[Shipped]) -> Result<Shipped, LookupError> {
    if let Some(s) = all.iter().find(|s| s.profile.name == name) {
        return Ok(s.clone());
    }
    let path = Path::new(name);
    if !path.exists() {
        let names: Vec<&str> = all.iter().map(|s| s.profile.name.as_str()).collect();
        return Err(LookupError::Unknown {
            name: name.to_owned(),
            known: names.join(", "),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|reason| LookupError::Read {
        path: path.display().to_string(),
        reason,
    })?;
    let origin = path.display().to_string();
    match shipped::parse_shipped(&text, &origin) {
        Ok(s) => Ok(s),
        Err(_) => {
            let profile = GatewayProfile::from_yaml_str(&text, &origin)
                .map_err(|e| LookupError::Parse(e.to_string()))?;
            Ok(Shipped {
                file: origin,
                profile,
                sources: Default::default(),
            })
        }
    }
}

/// The JSON document of `profile list`: name, description and file of each profile.
pub fn list_json(all: &[Shipped]) -> serde_json::Value {
    let v: Vec<serde_json::Value> = all
        .iter()
        .map(|s| {
            serde_json::json!({
                "name": s.profile.name,
                "description": s.profile.description,
                "file": s.file,
            })
        })
        .collect();
    serde_json::Value::Array(v)
}

/// Writes `profile list`: one line per profile, then where they live.
///
/// # Errors
/// A write error.
pub fn write_list(all: &[Shipped], out: &mut impl Write) -> io::Result<()> {
    let w = all.iter().map(|s| s.profile.name.len()).max().unwrap_or(4);
    for s in all {
        writeln!(out, "{:<w$}  {}", s.profile.name, s.profile.description)?;
    }
    writeln!(
        out,
        "\n{} profiles in {}; `bearing profile show NAME` lists every knob with its source",
        all.len(),
        shipped::SHIPPED_DIR
    )
}

/// The JSON document of `profile show`: every knob with its value and source.
pub fn show_json(s: &Shipped) -> serde_json::Value {
    let v: Vec<serde_json::Value> = shipped::knobs(&s.profile)
        .iter()
        .map(|k| serde_json::json!({"knob": k.key, "value": k.value, "source": s.source(&k.key)}))
        .collect();
    serde_json::json!({
        "name": s.profile.name,
        "description": s.profile.description,
        "file": s.file,
        "knobs": v,
    })
}

/// Writes `profile show`: the profile's name and file, then every knob with value and source.
///
/// # Errors
/// A write error.
pub fn write_show(s: &Shipped, out: &mut impl Write) -> io::Result<()> {
    let knobs = shipped::knobs(&s.profile);
    writeln!(
        out,
        "{} — {}\n{}\n",
        s.profile.name, s.profile.description, s.file
    )?;
    let kw = knobs.iter().map(|k| k.key.len()).max().unwrap_or(4);
    let vw = knobs
        .iter()
        .map(|k| k.value.len())
        .max()
        .unwrap_or(5)
        .min(40);
    writeln!(out, "{:<kw$}  {:<vw$}  source", "knob", "value")?;
    for k in &knobs {
        let src = s.source(&k.key);
        writeln!(
            out,
            "{:<kw$}  {:<vw$}  {}",
            k.key,
            k.value,
            if src.is_empty() {
                "(no source comment)"
            } else {
                src
            }
        )?;
    }
    Ok(())
}

/// The JSON document of `profile diff`: the knobs that differ, with both values and sources.
pub fn diff_json(sa: &Shipped, sb: &Shipped) -> serde_json::Value {
    let v: Vec<serde_json::Value> = shipped::diff(&sa.profile, &sb.profile)
        .iter()
        .map(|(k, x, y)| {
            serde_json::json!({
                "knob": k, "a": x, "b": y,
                "a_source": sa.source(k), "b_source": sb.source(k),
            })
        })
        .collect();
    serde_json::Value::Array(v)
}

/// Writes `profile diff`: the knobs where two profiles differ, side by side.
///
/// # Errors
/// A write error.
pub fn write_diff(sa: &Shipped, sb: &Shipped, out: &mut impl Write) -> io::Result<()> {
    let d = shipped::diff(&sa.profile, &sb.profile);
    if d.is_empty() {
        writeln!(
            out,
            "{} and {} agree on every knob",
            sa.profile.name, sb.profile.name
        )?;
        return Ok(());
    }
    let kw = d.iter().map(|(k, _, _)| k.len()).max().unwrap_or(4);
    let aw = d
        .iter()
        .map(|(_, x, _)| x.len())
        .max()
        .unwrap_or(1)
        .max(sa.profile.name.len());
    let bw = d
        .iter()
        .map(|(_, _, y)| y.len())
        .max()
        .unwrap_or(1)
        .max(sb.profile.name.len());
    writeln!(
        out,
        "{:<kw$}  {:<aw$}  {:<bw$}",
        "knob", sa.profile.name, sb.profile.name
    )?;
    for (k, x, y) in &d {
        writeln!(out, "{k:<kw$}  {x:<aw$}  {y:<bw$}")?;
    }
    writeln!(
        out,
        "\n{} of {} knobs differ; `bearing profile show NAME` gives each value's source",
        d.len(),
        shipped::knobs(&sa.profile).len()
    )?;
    Ok(())
}
