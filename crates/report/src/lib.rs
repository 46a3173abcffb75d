//! bearing-report: the plumbing every bearing reporter stands on (issue 13), and the
//! evidence commands built on finished report folders (issue 17).
//!
//! - [`html`]: the escaping HTML writer ([`Html`], [`escape`]): tag and attribute names are
//!   static strings, every piece of run data is escaped.
//! - [`dir`]: report folders that lose nothing (issue 21, class 3): checked before a run
//!   starts, written into a temporary sibling and renamed into place at the end, a
//!   non-empty folder refused unless forced; [`write_atomic`] for single files.
//! - [`expect`]: `--expect-fail FILE` lists of known deviations, applied to a run's verdicts.
//! - [`diff`]: what changed between two runs (conform/certify verdicts, load percentiles).
//! - [`bundle`]: a report folder + SHA-256 manifest in one tar.gz, the manifest signed as a
//!   JWS with the partner's key; verification against a certificate.
//!
//! Each library crate keeps its own reporters (conform, certify, load); they build on this.

pub mod bundle;
pub mod diff;
pub mod dir;
pub mod error;
pub mod expect;
pub mod html;
pub mod rerun;
pub mod run;

pub use dir::{ReportDir, default_dir, write_atomic};
pub use error::{Error, Result};
pub use html::{Html, escape};
pub use run::{RunFolder, RunKind};

mod bundle_text;
pub use bundle_text::{bundle_line, write_verification};

mod staged;
pub use staged::{BundleKey, StagedRun};
