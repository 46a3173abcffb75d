//! bearing-bench: how fast RFC 7523 assertions are signed and verified, next to the hardware
//! limit (`openssl speed`) measured in the same run.
//!
//! - [`measure_sign`]: full assertion signing (claims, JSON, base64url, signature) on
//!   1..=N threads, one signer per thread (`bearing bench sign`, `bearing demo`).
//! - [`measure_verify`]: the sandbox gateway's validation path (strict parse, signature with
//!   the registered certificate, claims, replay store) on 1..=N threads, with a breakdown of
//!   where the time goes (`bearing bench verify`).
//! - [`Sizing`]: the capacity-plan figures derived from both ("one core verifies M/s").
//! - [`write_sign_text`] / [`write_verify_text`]: the terminal reports, to any writer.
//! - [`write_sign_html`], [`write_verify_html`]: the self-contained HTML reports with bars
//!   per algorithm.
//! - [`openssl_speed`], [`openssl_version`]: the reference, `openssl speed`, run beside.
//! - [`run_sign`], [`run_verify`]: the `bearing bench sign|verify` operations ([`SignSettings`],
//!   [`VerifySettings`] in, results out, typed [`BenchRunError`]).
//!
//! Every module is private; the names above and the types their signatures use are
//! re-exported here.
//!
//! The library never prints; progress goes to a callback and results are values.

mod error;
mod html;
mod machine;
mod openssl;
mod sign;
mod sizing;
mod verify;

use std::sync::Arc;

use bearing_auth::{Algorithm, AssertionSigner, SigningKey};
use hdrhistogram::Histogram;
use serde::Serialize;

pub use error::{Error, Result};
pub use html::{write_sign as write_sign_html, write_verify as write_verify_html};
pub use machine::{Machine, check_duration, check_threads, cores, max_threads, on_cpu_ns};
pub use openssl::{
    OpensslInfo, Speed, SpeedError, speed as openssl_speed, version as openssl_version,
};
pub use sign::{
    KeyInfo, KeySharing, SignConfig, SignMeasured, SignReport, SignStep, Step, Verification,
    measure_sign, step_report,
};
pub use sizing::Sizing;
pub use verify::measure::{Pool, Sandbox};
pub use verify::{
    Breakdown, VerifyConfig, VerifyMeasured, VerifyReport, VerifyStep, measure_verify,
};

mod text;
pub use text::{write_sign_text, write_verify_text};

/// Client id of benchmark assertions (a realistic length, obviously not real).
pub const CLIENT_ID: &str = "bearing-bench-client";
/// Audience of benchmark assertions.
pub const AUDIENCE: &str = "https://gateway.bench.invalid/oauth/token";

/// A signer of benchmark assertions on `key`: `iss`/`sub` [`CLIENT_ID`], `aud` [`AUDIENCE`],
/// a fresh `jti`, `iat` and `exp` per assertion.
///
/// # Errors
/// When `alg` does not fit the key.
pub fn signer(key: Arc<SigningKey>, alg: Algorithm) -> Result<AssertionSigner> {
    Ok(AssertionSigner::builder(key, CLIENT_ID)
        .audience(AUDIENCE)
        .algorithm(alg)
        .build()?)
}

/// Time per operation, µs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Latency {
    /// Reads a histogram of nanoseconds.
    pub fn from_ns(h: &Histogram<u64>) -> Self {
        #[expect(clippy::cast_precision_loss, reason = "ns values")]
        let us = |ns: u64| ns as f64 / 1000.0;
        Self {
            p50: us(h.value_at_quantile(0.5)),
            p99: us(h.value_at_quantile(0.99)),
            max: us(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// The median of `rounds` by `rate`, and every round's rate in ascending order.
///
/// # Panics
/// Never: callers pass at least one round (rounds ≥ 1 is checked with the settings).
pub(crate) fn median_by<T>(mut rounds: Vec<T>, rate: impl Fn(&T) -> f64) -> (T, Vec<f64>) {
    rounds.sort_by(|x, y| rate(x).total_cmp(&rate(y)));
    let rates = rounds.iter().map(&rate).collect();
    let mid = rounds.len() / 2;
    let median = rounds.swap_remove(mid);
    (median, rates)
}

mod verify_all;
pub use verify_all::{VerifyDocument, VerifyPlan, measure_verify_all};

mod ops;
pub use ops::{BenchRunError, SignSettings, VerifySettings, run_sign, run_verify, sign_config};
