//! bearing-auth: the partner's side of the OAuth 2.0 JWT bearer grant (RFC 7523 §2.1).
//!
//! - [`SigningKey`] and [`Certificate`]: load keys (PKCS#8, PKCS#1, SEC1; PEM or DER) and the
//!   X.509 certificate registered on the portal; check they match.
//! - [`AssertionSigner`]: builds and signs assertions with a key parsed once, at the speed of
//!   the underlying crypto (see `benches/signing.rs`).
//! - [`token`]: the token endpoint client, lenient response parsing that records every
//!   deviation from RFC 6749, and the [`token::TokenManager`] (refresh-ahead, single-flight,
//!   one retry after a 401).
//! - Secrets ([`AccessToken`], [`Assertion`], key bytes) redact themselves in `Debug`/`Display`.

pub mod alg;
pub mod assertion;
pub mod cert;
pub mod clock;
pub mod error;
pub mod key;
pub mod pool;
pub mod profile;
pub mod secret;
pub mod shipped;
pub mod target;
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
pub use key::{KeyKind, SigningKey, pem_encode};
pub use pool::{AssertionPool, PoolConfig, PoolStats};
pub use profile::Profile;
pub use secret::{AccessToken, Assertion, SecretBytes, redact};
pub use target::{ApiSpec, FleetIdentity, Identity, IdentitySpec, Target, TargetOverrides};
pub use token::{TokenClient, TokenClientOptions, TokenError, TokenManager, TokenResponse};

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
pub use target_flags::MissingValue;
