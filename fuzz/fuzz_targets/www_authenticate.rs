//! The conformance runner's `WWW-Authenticate` parser (RFC 9110 §11.6.1).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenges) = bearing_conform::challenge::parse(text) {
        for c in &challenges {
            assert!(!c.scheme.is_empty());
            let _ = (c.is("Bearer"), c.param("error"));
        }
    }
});
