//! Token rules.
