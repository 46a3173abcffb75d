//! API rules.
