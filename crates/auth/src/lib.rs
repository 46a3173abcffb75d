//! bearing-auth: the partner's side of the OAuth 2.0 JWT bearer grant (RFC 7523 §2.1), and
//! the ground every other bearing crate stands on (keys, profiles, target files, YAML).
//!
//! The public surface is re-exported here, flat:
//!
//! - [`SigningKey`] and [`Certificate`]: load keys (PKCS#8, PKCS#1, SEC1; PEM or DER) and the
//!   X.509 certificate registered on the portal; check they match.
//! - [`AssertionSigner`] ([`AssertionBuilder`], [`Claims`], [`JwsSigner`], [`sign_raw`]):
//!   builds and signs assertions with a key parsed once, at the speed of the underlying
//!   crypto (see `benches/signing.rs`); [`AssertionPool`] mints them ahead on every core.
//! - [`TokenClient`], [`TokenResponse`] (lenient parsing that records every [`Deviation`]
//!   from RFC 6749), [`TokenError`], and the [`TokenManager`] (refresh-ahead, single-flight,
//!   one retry after a 401).
//! - [`Target`] and [`Identity`]: target files (`deny_unknown_fields`, paths relative to the
//!   file) and the identity they name; [`TlsMaterial`] and [`TlsFailure`]: TLS set-up and
//!   explained handshake failures.
//! - [`GatewayProfile`] and its knobs ([`Leeway`], [`ReplayProtection`], [`SubPolicy`], …): what a
//!   gateway should do, shared by the sandbox, conform and certify.
//! - [`Clock`] ([`SystemClock`], [`ManualClock`]): injected time.
//! - [`keygen`]: the `bearing keygen` operation ([`KeygenSettings`] in, the [`Keygen`]
//!   written, typed [`KeygenError`]); [`sign_assertion`] and [`call_api`]: `bearing sign`
//!   and `bearing call` on a resolved target (typed [`PartnerError`]).
//! - Secrets ([`AccessToken`], [`Assertion`], [`SecretBytes`]) redact themselves in
//!   `Debug`/`Display`.
//!
//! Namespaces kept on purpose, whose functions read best qualified: [`yaml`] (the one YAML
//! reader of the workspace: `yaml::from_str`, `yaml::from_file`, [`YamlError`]) and
//! [`shipped`] (the shipped profile catalog: `shipped::load_all`, `shipped::knobs`,
//! `shipped::diff`). [`token`], [`tls`] and [`profile`] are still public only because
//! bearing-load names their paths (`profile::duration` in serde attributes); everything they
//! hold is re-exported here, so they can go private once load's imports move. Every other
//! module is private.

mod alg;
mod assertion;
mod cert;
mod clock;
mod error;
mod key;
mod pool;
pub mod profile;
mod secret;
pub mod shipped;
mod target;
pub mod tls;
pub mod token;
pub mod yaml;

pub use alg::Algorithm;
pub use assertion::{
    AssertionBuilder, AssertionSigner, Audience, Claims, DecodedJwt, JtiSource, JwsSigner,
    RandomJti, SeededJti, sign_raw,
};
pub use cert::{Certificate, PublicKey, Verifier};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use error::{Error, Result};
pub use key::{KeyKind, SigningKey, pem_encode, pem_error_reason};
pub use pool::{AssertionPool, PoolConfig, PoolStats};
pub use profile::{
    AudiencePolicy, BUILTIN_PROFILES, Dangerous, ErrorCodes, ErrorStyle, ExpiresInFormat,
    GatewayProfile, JtiScope, Leeway, ReplayProtection, SubPolicy,
};
pub use secret::{AccessToken, Assertion, SecretBytes, redact};

mod keyfile;
pub use keyfile::{
    FleetMember, KeyFileError, generate_fleet, partner_id, write_fleet, write_private_key,
};

mod shipped_report;
pub use shipped_report::{
    LookupError, diff_json, find_profile, list_json, show_json, write_diff, write_list, write_show,
};

mod api_call;
pub use api_call::{
    ApiAnswer, ApiRequest, RequestError, answer_json, check_api_url, send_api_request, write_answer,
};

mod token_text;
pub use token_text::{token_response_json, write_token_response};

mod identity_text;
pub use identity_text::{WrittenFleet, WrittenIdentity, write_fleet_list};

mod decode_text;
pub use decode_text::{Verified, decoded_json, describe_time, write_decoded};

mod target_flags;
pub use shipped::{Knob, Shipped};
pub use target::{
    ApiSpec, AssertionSpec, FleetIdentity, Identity, IdentitySpec, Target, TargetOverrides, TlsSpec,
};
pub use target_flags::MissingValue;
pub use tls::{CertificatePin, TlsFailure, TlsMaterial};
pub use token::{
    CallOutcome, Deviation, ErrorBodyFormat, ErrorCode, ErrorResponse, FORM_CONTENT_TYPE,
    HttpStatus, JWT_BEARER_GRANT, ManagerConfig, ManagerStats, RawResponse, Severity, TokenClient,
    TokenClientOptions, TokenError, TokenInfo, TokenManager, TokenResponse, check_plain_http,
    is_loopback, mask_url, refuse_url_credentials,
};
pub use yaml::YamlError;

mod keygen;
pub use keygen::{Keygen, KeygenError, KeygenSettings, keygen};

mod partner_ops;
pub use partner_ops::{
    AssertionSettings, CallSettings, Called, PartnerError, call_api, parse_claim, request_token,
    sign_assertion,
};
