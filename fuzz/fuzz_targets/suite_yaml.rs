//! The conformance suite loader (YAML suites with cases, steps and expectations).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = bearing_conform::loader::parse(text, "fuzz.yaml").map_err(|e| e.to_string());
    }
});
