//! `bench verify` over several algorithms: one fresh key and one [`measure_verify`] run per
//! algorithm, in the order asked, and the JSON document that holds them
//! (`schemas/bench-verify.schema.json`).

use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, SigningKey};
use serde::Serialize;

use crate::{Result, VerifyConfig, VerifyReport, measure_verify};

/// The settings shared by every algorithm of a `bench verify` run.
#[derive(Debug, Clone)]
pub struct VerifyPlan {
    /// The algorithms, in the order asked.
    pub algs: Vec<Algorithm>,
    /// RSA modulus size of the generated keys.
    pub key_bits: usize,
    /// Highest thread count.
    pub threads: usize,
    /// How long each thread count validates.
    pub duration: Duration,
    /// Rounds per thread count.
    pub rounds: u8,
    /// Run `openssl speed` next to it.
    pub openssl: bool,
    /// Grant rate the sizing line plans for.
    pub grants_per_sec: f64,
}

/// Measures every algorithm of `plan` with a freshly generated key; a missing `openssl` is
/// logged as a warning once per algorithm.
///
/// # Errors
/// A key that cannot be generated, a failed measurement.
pub fn measure_verify_all(plan: &VerifyPlan, progress: &dyn Fn(&str)) -> Result<Vec<VerifyReport>> {
    let mut reports = Vec::with_capacity(plan.algs.len());
    for &alg in &plan.algs {
        let key = SigningKey::generate(alg, plan.key_bits)?;
        let c = VerifyConfig {
            alg,
            key: Arc::new(key),
            key_source: "generated".into(),
            threads: plan.threads,
            duration: plan.duration,
            rounds: plan.rounds,
            openssl: plan.openssl,
            grants_per_sec: plan.grants_per_sec,
        };
        let m = measure_verify(&c, progress)?;
        if let Some(why) = m.openssl_skipped.as_ref().filter(|_| plan.openssl) {
            tracing::warn!("{why}: no hardware reference for {alg}");
        }
        reports.push(m.report);
    }
    Ok(reports)
}

/// The JSON document of `bench verify` (schemas/bench-verify.schema.json).
#[derive(Debug, Serialize)]
pub struct VerifyDocument {
    /// One report per algorithm, in the order asked.
    pub algorithms: Vec<VerifyReport>,
}
