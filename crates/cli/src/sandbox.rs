//! The embedded sandbox lives in bearing-gateway ([`bearing_gateway::embedded`]); the commands
//! reach it through this name.

pub use bearing_gateway::embedded::{Sandbox, SandboxOptions, start, start_with_fleet};
