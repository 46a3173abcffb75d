//! The one place bearing-auth parses YAML (STYLE.md "Config"): serde-saphyr, which is
//! panic-free and bounds alias expansion. Errors carry `file:line:col` when known.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Reads and parses a YAML file into `T`.
///
/// # Errors
/// [`Error::Io`] when unreadable; [`Error::Config`] naming `file:line:col` when malformed.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    from_str(&text, &path.display().to_string())
}

/// Parses YAML text into `T`; `origin` names the source in errors.
///
/// # Errors
/// [`Error::Config`] with `origin:line:col` and the parser's message.
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|e| Error::Config(located(origin, &e)))
}

/// Formats a serde-saphyr error as `origin:line:col: message`.
pub fn located(origin: &str, e: &serde_saphyr::Error) -> String {
    match e.location() {
        Some(loc) => format!(
            "{origin}:{}:{}: {}",
            loc.line(),
            loc.column(),
            first_line(e)
        ),
        None => format!("{origin}: {}", first_line(e)),
    }
}

fn first_line(e: &serde_saphyr::Error) -> String {
    let s = e.to_string();
    s.lines().next().unwrap_or_default().trim().to_owned()
}
