//! The capacity-plan figures of one algorithm: "one core signs N/s and verifies M/s; a token
//! endpoint that must verify X grants/s needs X/M cores for signatures alone", and the same
//! next to Keycloak's published sizing figure, with what makes the two different.

use bearing_auth::Algorithm;
use serde::Serialize;

/// Keycloak's published CPU sizing: one vCPU per 120 client-credentials grants per second
/// (keycloak.org, "Concepts for sizing CPU and memory resources", tested up to 2,000/s; the
/// guide notes each client sends one request, so most of that CPU goes to new TLS
/// connections, and Keycloak also reads and writes its database and issues tokens).
pub const KEYCLOAK_GRANTS_PER_VCPU: f64 = 120.0;

/// Sizing figures for one algorithm and key.
#[derive(Debug, Clone, Serialize)]
pub struct Sizing {
    /// The JWS algorithm.
    pub alg: &'static str,
    /// The key kind (`RSA-2048`).
    pub key: String,
    /// Full assertions one core signs per second (minting the first pool, one thread).
    pub sign_per_core_per_sec: f64,
    /// Assertions one core validates per second through the sandbox's path (per CPU-second
    /// when the on-CPU time is known, so a shared machine does not understate it).
    pub verify_per_core_per_sec: f64,
    /// `openssl speed` sign/s, one process, same run.
    pub openssl_sign_per_sec: Option<f64>,
    /// `openssl speed` verify/s, one process, same run.
    pub openssl_verify_per_sec: Option<f64>,
    /// The grant rate planned for.
    pub grants_per_sec: f64,
    /// `grants_per_sec / verify_per_core_per_sec`: cores for assertion validation alone.
    pub cores_for_validation: f64,
    /// Keycloak's published client-credentials grants per second per vCPU.
    pub keycloak_grants_per_vcpu: f64,
    /// `verify_per_core_per_sec / keycloak_grants_per_vcpu`: an upper bound, since validation
    /// is only part of a grant (no HTTP, TLS, database or token issuance in it).
    pub validation_vs_keycloak_grant: f64,
}

impl Sizing {
    /// Derives the figures.
    pub fn new(
        alg: Algorithm,
        key: &str,
        sign_per_core_per_sec: f64,
        verify_per_core_per_sec: f64,
        openssl_verify_per_sec: Option<f64>,
        openssl_sign_per_sec: Option<f64>,
        grants_per_sec: f64,
    ) -> Self {
        let per = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        Self {
            alg: alg.as_str(),
            key: key.to_owned(),
            sign_per_core_per_sec,
            verify_per_core_per_sec,
            openssl_sign_per_sec,
            openssl_verify_per_sec,
            grants_per_sec,
            cores_for_validation: per(grants_per_sec, verify_per_core_per_sec),
            keycloak_grants_per_vcpu: KEYCLOAK_GRANTS_PER_VCPU,
            validation_vs_keycloak_grant: per(verify_per_core_per_sec, KEYCLOAK_GRANTS_PER_VCPU),
        }
    }

    /// The sentence a capacity plan quotes.
    pub fn sentence(&self) -> String {
        format!(
            "{} ({}): one core signs {:.0}/s and verifies {:.0}/s; a token endpoint that must \
             verify {:.0} grants/s needs {:.2} cores for assertion validation alone",
            self.alg,
            self.key,
            self.sign_per_core_per_sec,
            self.verify_per_core_per_sec,
            self.grants_per_sec,
            self.cores_for_validation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // X grants/s over M verifications per core is the core count; the sentence says so.
    #[test]
    fn cores_for_a_grant_rate() {
        let s = Sizing::new(
            Algorithm::RS256,
            "RSA-2048",
            4000.0,
            50_000.0,
            None,
            None,
            10_000.0,
        );
        assert!((s.cores_for_validation - 0.2).abs() < 1e-9);
        assert!((s.validation_vs_keycloak_grant - 50_000.0 / 120.0).abs() < 1e-9);
        assert!(
            s.sentence().contains("needs 0.20 cores"),
            "{}",
            s.sentence()
        );
    }
}
