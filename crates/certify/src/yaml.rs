//! The one place bearing-certify parses YAML (STYLE.md "Config"): serde-saphyr, which is
//! panic-free and bounds alias expansion. Errors carry `origin:line:col` when known.

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// Parses YAML text into `T`; `origin` (a file name) prefixes error positions.
///
/// # Errors
/// [`Error::Plan`] with `origin:line:col: message`.
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    serde_saphyr::from_str::<T>(text).map_err(|e| Error::Plan(located(origin, &e)))
}

/// `origin:line:col` of a location.
pub fn at(origin: &str, loc: &serde_saphyr::Location) -> String {
    format!("{origin}:{}:{}", loc.line(), loc.column())
}

fn located(origin: &str, e: &serde_saphyr::Error) -> String {
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or_default().trim().to_owned();
    match e.location() {
        Some(loc) => format!("{}: {first}", at(origin, &loc)),
        None => format!("{origin}: {first}"),
    }
}
