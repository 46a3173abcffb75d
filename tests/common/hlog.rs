//! HdrHistogram interval logs (`intervals.hlog`) as the sharded-run tests read them.

use std::collections::BTreeMap;
use std::path::Path;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

/// A base64 V2 histogram of an interval log line.
pub fn decode(b64: &str) -> Histogram<u64> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .expect("base64");
    let mut h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
        .deserialize(&mut std::io::Cursor::new(bytes))
        .expect("a V2 histogram");
    h.auto(true);
    h
}

/// Adds every histogram of a shard's interval log into `into`, by tag
/// (`<scenario>.<phase>.<corrected|uncorrected>`).
pub fn add_log(log: &Path, into: &mut BTreeMap<String, Histogram<u64>>) {
    let bytes = std::fs::read(log).expect("interval log");
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(h) = entry.expect("a valid interval log") {
            let tag = h.tag().expect("tagged").as_str().to_owned();
            let hist = decode(h.encoded_histogram());
            into.entry(tag)
                .or_insert_with(|| {
                    let mut h = Histogram::new(3).expect("precision");
                    h.auto(true);
                    h
                })
                .add(&hist)
                .expect("adds");
        }
    }
}
