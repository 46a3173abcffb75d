//! The gateway's strict compact-JWS parser (`parse_compact`, `strict_object`) and the
//! client-side `DecodedJwt::parse` used by `bearing decode`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = bearing_gateway::jws::strict_object(data, "payload");
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(j) = bearing_gateway::jws::parse_compact(text) {
            assert!(j.signing_input.len() < text.len());
        }
        let _ = bearing_auth::DecodedJwt::parse(text).map(|d| format!("{d:?}"));
    }
});
