//! The one place bearing parses YAML (STYLE.md "Config"): serde-saphyr, which is panic-free
//! and bounds alias expansion. Every crate reads its YAML through here (target files and
//! gateway profiles here, the gateway's configuration, conformance suites, certification
//! plans, load profiles), so a document that does not fit is reported the same way
//! everywhere — [`YamlError`]: the file, `line:column` and the field path — and the parser
//! can be swapped in one place.

use std::cell::RefCell;
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};

/// A YAML document that does not fit its type: where, and why.
///
/// Displays as `origin:line:col: field.path: message` (the parts that are known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct YamlError {
    /// The file (or other source) the text came from.
    pub origin: String,
    /// `(line, column)`, both 1-based, when the parser knows the position.
    pub position: Option<(u64, u64)>,
    /// The field path from the document's root (`apis[0].method`), when the error is inside
    /// a value.
    pub field: Option<String>,
    /// What is wrong, as the parser says it (one line, no position prefix).
    pub message: String,
}

impl YamlError {
    /// Where: `origin:line:col`, or `origin` when the position is unknown.
    pub fn place(&self) -> String {
        match self.position {
            Some((line, col)) => format!("{}:{line}:{col}", self.origin),
            None => self.origin.clone(),
        }
    }

    /// What: `field.path: message`, or the message alone outside any field.
    pub fn detail(&self) -> String {
        match &self.field {
            Some(field) => format!("{field}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place(), self.detail())
    }
}

/// Inside bearing-auth a document that does not fit is a configuration error.
impl From<YamlError> for Error {
    fn from(e: YamlError) -> Self {
        Self::Config(e.to_string())
    }
}

/// Reads and parses a YAML file into `T`.
///
/// # Errors
/// [`Error::Io`] when unreadable; [`Error::Config`] with the [`YamlError`] text when it does
/// not fit.
pub fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(from_str(&text, &path.display().to_string())?)
}

/// Parses YAML text into `T`; `origin` (a file name) names the source in errors.
///
/// # Errors
/// A [`YamlError`] naming `origin`, `line:column` and the field path.
pub fn from_str<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, YamlError> {
    // The path is kept aside: serde-saphyr wants its own error type back from the closure,
    // which is the one that carries the position.
    let field = RefCell::new(None);
    serde_saphyr::with_deserializer_from_str(text, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            if path != "." {
                *field.borrow_mut() = Some(path);
            }
            e.into_inner()
        })
    })
    .map_err(|e| YamlError {
        origin: origin.to_owned(),
        position: e
            .location()
            .filter(|loc| loc.line() > 0)
            .map(|loc| (loc.line(), loc.column())),
        field: field.into_inner(),
        message: message(&e),
    })
}

/// `origin:line:col` of a position the parser recorded (a `serde_saphyr::Spanned` value's),
/// for checks made after parsing.
pub fn at(origin: &str, loc: &serde_saphyr::Location) -> String {
    format!("{origin}:{}:{}", loc.line(), loc.column())
}

/// The parser's message without its snippet and without its own position prefix (serde's
/// "unknown field `x`, expected one of …" is kept whole: it lists what is allowed).
fn message(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let mut first = text.lines().next().unwrap_or("invalid yaml").trim();
    // serde-saphyr prefixes "error: line N column M: "; the position is given our way.
    first = first.strip_prefix("error: ").unwrap_or(first);
    if first.starts_with("line ")
        && let Some((_, rest)) = first.split_once(": ")
    {
        first = rest;
    }
    first.to_owned()
}

#[cfg(test)]
mod tests {
    // One formatter for every crate's YAML: file, line:column, field path, message.
    use std::collections::BTreeMap;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Doc {
        name: String,
        apis: Vec<Api>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[expect(dead_code, reason = "only parsed")]
    struct Api {
        url: String,
        port: u16,
    }

    #[test]
    fn names_file_position_and_field_path() {
        let e = from_str::<Doc>("name: x\napis:\n  - url: u\n    port: many\n", "d.yaml")
            .expect_err("port is not a number");
        assert_eq!(e.origin, "d.yaml");
        assert_eq!(e.position.map(|p| p.0), Some(4), "{e}");
        assert_eq!(e.field.as_deref(), Some("apis[0].port"), "{e}");
        let shown = e.to_string();
        assert!(shown.starts_with("d.yaml:4:"), "{shown}");
        assert!(shown.contains(": apis[0].port: "), "{shown}");
        assert!(!shown.contains("error: line"), "{shown}");
        assert_eq!(shown.lines().count(), 1, "{shown}");
    }

    #[test]
    fn unknown_field_lists_the_allowed_ones() {
        let e = from_str::<Doc>("name: x\napis: []\nextra: 1\n", "d.yaml").expect_err("extra");
        let shown = e.to_string();
        assert!(shown.starts_with("d.yaml:3:"), "{shown}");
        assert!(shown.contains("extra") && shown.contains("name"), "{shown}");
    }

    #[test]
    fn syntax_errors_have_a_position_and_no_field() {
        let e = from_str::<BTreeMap<String, String>>("a: [1,\n", "s.yaml").expect_err("open");
        assert!(e.position.is_some(), "{e}");
        assert!(e.to_string().starts_with("s.yaml:"), "{e}");
    }

    #[test]
    fn a_good_document_parses() {
        let d: BTreeMap<String, u16> = from_str("a: 1\nb: 2\n", "g.yaml").expect("parses");
        assert_eq!(d.len(), 2);
    }
}
