//! bearing-demo: the room of `bearing demo` (issue 10), a new user's first command. It holds
//! what the demo does and writes, apart from the terminal: the steps it runs against the
//! embedded sandbox (the bundled conformance suites, the short load profile
//! `scenarios/load/demo.yaml`, a one-thread signing benchmark next to `openssl speed`), the
//! summary document built from them (`summary.json`, pinned by
//! `schemas/demo-summary.schema.json`), its one-screen text and the HTML index that links the
//! three reports. [`run_demo`] is the whole `bearing demo` operation: [`DemoSettings`] in,
//! the [`DemoSummary`] out, progress to the caller's [`DemoUi`].
//!
//! Why a crate of its own: the demo draws on conform, load and bench at once, so its reporters
//! cannot live in any one of them, and the CLI only holds flags, progress display and exit
//! codes. Like every library here it never prints: progress goes to the callers' observers and
//! callbacks, text to a caller-supplied [`std::io::Write`], errors are [`Error`] values.

mod error;
mod html;
mod session;
mod steps;
mod summary;

pub use error::{Error, Result};
pub use html::{write_bench, write_index};
pub use session::{DemoSettings, DemoStep, DemoUi, run_demo};
pub use steps::{
    CONFORM_DEADLINE, GATEWAY_PROFILE, LOAD_GRACE, MAX_DURATION, Ran, bench_step, check_duration,
    conform_step, load_profile, load_step, summarize, write_reports,
};
pub use summary::{
    Bench, CaseBrief, Conformance, DemoSummary, Load, PhaseBrief, Reports, SCHEMA_ID, SandboxInfo,
    TextOptions, ThresholdBrief, short_version, write_text,
};
