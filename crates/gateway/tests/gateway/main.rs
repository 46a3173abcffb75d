//! Integration tests of bearing-gateway, linked into one binary: `oneshot` router tests for
//! every rejection rule under both built-in profiles, and tests of the running server.

mod api_rules;
mod profile_knobs;
mod proptest_parsers;
mod server;
mod support;
mod token_rules;
