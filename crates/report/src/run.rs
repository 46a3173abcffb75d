//! A finished run read back from its report folder: which command wrote it (conform,
//! certify, load — told from the shape of `summary.json`) and the summary as JSON. The
//! evidence commands (diff, bundle) read summaries loosely, field by field, so they work on
//! every report the three commands write without depending on their crates.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{Error, Result};

/// Which command wrote a report folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// `bearing conform`.
    Conform,
    /// `bearing certify`.
    Certify,
    /// `bearing load`.
    Load,
}

impl RunKind {
    /// `conform`, `certify` or `load`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conform => "conform",
            Self::Certify => "certify",
            Self::Load => "load",
        }
    }
}

/// A report folder and its summary.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
    /// The `summary.json` read.
    pub file: PathBuf,
    /// Which command wrote it.
    pub kind: RunKind,
    /// The summary.
    pub summary: Value,
}

/// Tells the kind from a summary's shape.
pub fn kind_of(v: &Value) -> Option<RunKind> {
    if v.get("schema").and_then(Value::as_str) == Some("bearing-load-summary/v1") {
        Some(RunKind::Load)
    } else if v.get("clients").is_some() && v.get("plan").is_some() {
        Some(RunKind::Certify)
    } else if v.get("cases").is_some() && v.get("counts").is_some() {
        Some(RunKind::Conform)
    } else {
        None
    }
}

impl RunFolder {
    /// Opens a report folder, or a `summary.json` inside one.
    ///
    /// # Errors
    /// [`Error::Io`] (read) or [`Error::Invalid`]: not JSON, not a bearing summary.
    pub fn open(path: &Path) -> Result<Self> {
        let (dir, file) = if path.is_dir() {
            (path.to_owned(), path.join("summary.json"))
        } else {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
                _ => PathBuf::from("."),
            };
            (dir, path.to_owned())
        };
        let text = std::fs::read(&file).map_err(Error::io("read", &file))?;
        let summary: Value = serde_json::from_slice(&text)
            .map_err(|e| Error::invalid(file.display(), format!("not JSON: {e}")))?;
        let kind = kind_of(&summary).ok_or_else(|| {
            Error::invalid(
                file.display(),
                "not a summary written by bearing conform, certify or load",
            )
        })?;
        Ok(Self {
            dir,
            file,
            kind,
            summary,
        })
    }

    /// A string field by JSON pointer (`/target/token_url`).
    pub fn str_at(&self, pointer: &str) -> Option<&str> {
        self.summary.pointer(pointer).and_then(Value::as_str)
    }
}

/// The URL with any `user:password@` removed (issue 21: no URL password in a report).
pub fn strip_userinfo(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Credentials in a URL never reach a manifest.
    #[test]
    fn userinfo_removed() {
        assert_eq!(
            strip_userinfo("http://alice:pw@127.0.0.1:8080/oauth/token?a=b@c"),
            "http://127.0.0.1:8080/oauth/token?a=b@c"
        );
        assert_eq!(strip_userinfo("https://gw/x"), "https://gw/x");
    }
}
