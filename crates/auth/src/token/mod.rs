//! The token endpoint: the request ([`TokenClient`]), lenient response parsing that records
//! every deviation from RFC 6749 §5.1 ([`TokenResponse`], [`Deviation`]), error answers
//! (RFC 6749 §5.2 and what gateways send instead: [`TokenError`], [`ErrorResponse`]), and
//! the [`TokenManager`] (refresh-ahead, single-flight, one retry after a 401).

mod client;
mod error;
mod manager;
mod response;

pub use crate::tls::TlsMaterial;
pub use client::{
    FORM_CONTENT_TYPE, JWT_BEARER_GRANT, RawResponse, TokenClient, TokenClientOptions,
    check_plain_http, is_loopback, mask_url, refuse_url_credentials,
};
pub use error::{ErrorBodyFormat, ErrorCode, ErrorResponse, TokenError};
pub use manager::{CallOutcome, HttpStatus, ManagerConfig, ManagerStats, TokenInfo, TokenManager};
pub use response::{Deviation, Severity, TokenResponse};
