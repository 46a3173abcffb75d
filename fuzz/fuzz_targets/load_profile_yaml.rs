//! Load profiles (YAML: scenarios, stages, thresholds), parsed and validated.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(p) = bearing_load::LoadProfile::from_yaml(text, "fuzz.yaml")
    {
        let _ = (p.validate(), p.display_name().len(), p.run_duration());
    }
});
