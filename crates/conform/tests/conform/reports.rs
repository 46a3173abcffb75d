//! Reporters on real run output.
