//! YAML parsing of target files, profiles and gateway configurations (serde-saphyr with
//! its alias budget): a value or an error, never a panic, in bounded time and memory.
#![no_main]

use bearing_auth::{GatewayProfile, Target};
use bearing_gateway::GatewayConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = bearing_auth::yaml::from_str::<Target>(text, "fuzz.yaml") {
        let _ = (
            t.validate(),
            t.effective_audience(),
            t.token_client_options(),
        );
    }
    if let Ok(p) = GatewayProfile::from_yaml_str(text, "fuzz.yaml") {
        let _ = (p.validate(), p.to_yaml());
    }
    // Validation would read the files the config names: parse only.
    let _ = GatewayConfig::from_yaml_str(text, "fuzz.yaml");
});
