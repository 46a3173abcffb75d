//! bearing-report: the plumbing every bearing reporter stands on (issue 13), and the
//! evidence commands built on finished report folders (issue 17).
//!
//! - [`html`]: the escaping HTML writer ([`Html`], [`escape`]): tag and attribute names are
//!   static strings, every piece of run data is escaped.
//! - [`ReportDir`]: report folders that lose nothing (issue 21, class 3): checked before a run
//!   starts, written into a temporary sibling and renamed into place at the end, a
//!   non-empty folder refused unless forced; [`write_atomic`] for single files;
//!   [`create_file`] and [`FileError`] for the files a reporter writes.
//! - [`expect`]: `--expect-fail FILE` lists of known deviations, applied to a run's verdicts.
//! - [`diff`]: what changed between two runs (conform/certify verdicts, load percentiles).
//! - [`bundle`]: a report folder + SHA-256 manifest in one tar.gz, the manifest signed as a
//!   JWS with the partner's key; verification against a certificate.
//! - [`prepare_run`], [`expect_list`], [`EvidenceSettings`], [`EvidenceError`]: the evidence
//!   steps of a run operation (conform, certify, load) before and after it runs.
//! - [`diff_runs`], [`bundle_folder`], [`verify_bundle`]: the `bearing report diff | bundle |
//!   verify` operations.
//!
//! Each library crate keeps its own reporters (conform, certify, load); they build on this.
//!
//! The surface: the names re-exported here, plus four namespaces whose functions read best
//! qualified (`bundle::create`, `bundle::verify`, `diff::write_html`, `expect::write_text`,
//! `html::Html`). `dir`, `run`, `rerun` and `error` are private.

pub mod bundle;
pub mod diff;
mod dir;
mod error;
pub mod expect;
pub mod html;
mod rerun;
mod run;

pub use dir::{
    FileError, ReportDir, check_new_file, create_file, default_dir, file_error, write_atomic,
};
pub use error::{Error, Result};
pub use expect::{ExpectList, ExpectReport};
pub use html::{Html, escape};
pub use rerun::{Continues, Previous};
pub use run::{RunFolder, RunKind};

mod bundle_text;
pub use bundle_text::{bundle_line, write_verification};

mod staged;
pub use staged::{BundleKey, StagedRun};

mod evidence;
pub use evidence::{
    EvidenceError, EvidenceSettings, FinishedRun, TOOL, expect_list, finish_run, load_sign_key,
    prepare_run,
};

mod ops;
pub use ops::{DiffSettings, bundle_folder, diff_runs, verify_bundle, write_diff_html};
