//! Integration tests of bearing-load: every scenario for ~1 s against an in-process server
//! on 127.0.0.1 (a trivial axum stand-in, or the sandbox gateway), counts that add up,
//! thresholds, coordinated-omission correction, profile errors and the reports.
//! Every load loop is bounded in count and time; runs are serialized (goose keeps
//! process-wide state, and the machine has two cores).

mod support;

mod basics;
mod connections;
mod honest;
mod reports;
mod scenarios;
mod truth;
