//! The token endpoint: request, response parsing, errors and the token manager.

/// An error answer from the token endpoint (placeholder; see the token issue).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The endpoint answered with an error.
    #[error("token endpoint answered {status}")]
    Status {
        /// HTTP status.
        status: u16,
    },
}
