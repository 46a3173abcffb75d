//! Key and certificate loading: `SigningKey::from_bytes` and `Certificate::from_bytes` on
//! PEM, DER or Base64 text; a key that loads must sign, a certificate that loads must
//! report its key and fingerprint.
#![no_main]

use bearing_auth::{Certificate, SigningKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = SigningKey::from_bytes(data, Some("fuzz")) {
        let _ = k.sign(k.kind().default_algorithm(), b"message");
    }
    if let Ok(c) = Certificate::from_bytes(data, Some("fuzz")) {
        let _ = (c.validity(), c.x5t_s256(), c.to_pem(), c.subject().len());
        let _ = c
            .public_key()
            .verifier(c.public_key().kind().default_algorithm())
            .map(|v| v.verify(b"m", b"s"));
    }
});
