//! Integration tests of bearing-conform: the bundled suites against in-process sandbox
//! gateways (conformant under each built-in profile, and deliberately broken), the reporters
//! on real run output, and the JSON Schema of `summary.json`. One test binary (ripgrep style).

mod detect;
mod profile_matrix;
mod reports;
mod runner_behaviour;
mod sandbox_runs;
mod support;
mod verdicts;
