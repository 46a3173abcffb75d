//! The one place bearing-conform parses YAML (STYLE.md "Config"): serde-saphyr, panic-free and
//! bounded on alias expansion. Errors name `file:line:col`.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parses YAML text into `T`; `origin` names the source in errors.
///
/// # Errors
/// [`Error::Suite`] with `origin:line:col: message`.
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|e| Error::Suite(located(origin, &e)))
}

/// Formats a serde-saphyr error as `origin:line:col: message`, keeping the whole message
/// (serde's "unknown field `x`, expected one of …" lists what is allowed).
fn located(origin: &str, e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let mut first = text.lines().next().unwrap_or("invalid yaml").trim();
    // serde-saphyr prefixes "error: line N column M: "; the position is given our way.
    first = first.strip_prefix("error: ").unwrap_or(first);
    if first.starts_with("line ")
        && let Some((_, rest)) = first.split_once(": ")
    {
        first = rest;
    }
    match e.location() {
        Some(loc) if loc.line() > 0 => format!("{origin}:{}:{}: {first}", loc.line(), loc.column()),
        _ => format!("{origin}: {first}"),
    }
}
