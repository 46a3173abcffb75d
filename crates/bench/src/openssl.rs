//! `openssl speed` as the hardware reference: runs it for the algorithm being benchmarked and
//! reads its `sign/s` and `verify/s` columns (OpenSSL 3.0's table and later ones with more
//! columns alike).

use std::process::Command;
use std::time::Duration;

use bearing_auth::{Algorithm, KeyKind};

/// The `openssl speed` algorithm matching `alg` on a key of `kind`, if there is one.
pub fn speed_name(alg: Algorithm, kind: KeyKind) -> Option<String> {
    match (alg, kind) {
        (a, KeyKind::Rsa { bits }) if a.is_rsa() => [2048, 3072, 4096, 7680, 15360]
            .contains(&bits)
            .then(|| format!("rsa{bits}")),
        (Algorithm::ES256, _) => Some("ecdsap256".into()),
        (Algorithm::ES384, _) => Some("ecdsap384".into()),
        (Algorithm::EdDSA, _) => Some("ed25519".into()),
        _ => None,
    }
}

/// The `openssl speed` reference of a report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpensslInfo {
    /// `openssl version`.
    pub version: String,
    /// The `openssl speed` test (`rsa2048`).
    pub algorithm: String,
}

/// The reference for `alg` on a key of `kind` when `enabled`, or why there is none
/// (`openssl not run (--no-openssl)`, not on the PATH, no matching test).
pub fn reference(
    enabled: bool,
    alg: Algorithm,
    kind: KeyKind,
) -> (Option<OpensslInfo>, Option<String>) {
    if !enabled {
        return (None, Some("openssl not run (--no-openssl)".to_owned()));
    }
    match (version(), speed_name(alg, kind)) {
        (Some(version), Some(algorithm)) => (Some(OpensslInfo { version, algorithm }), None),
        (None, _) => (None, Some("openssl not found".to_owned())),
        (Some(_), None) => (
            None,
            Some(format!(
                "openssl speed has no test for {alg} with a {kind} key"
            )),
        ),
    }
}

/// `openssl version`, or `None` when `openssl` is not on the PATH.
pub fn version() -> Option<String> {
    let out = Command::new("openssl").arg("version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// What one `openssl speed` run measured, per second (summed over `-multi` children).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Signatures per second.
    pub sign_per_sec: f64,
    /// Verifications per second.
    pub verify_per_sec: f64,
}

/// Why `openssl speed` gave no figure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SpeedError(String);

/// Runs `openssl speed -elapsed -seconds S [-multi N] NAME` and returns its sign/s and
/// verify/s (summed over the `-multi` children by openssl itself). `-elapsed` divides by wall-clock time, as
/// bearing does; by default openssl divides by its user CPU time, which flatters it against
/// a wall-clock rate whenever other processes share the machine.
///
/// # Errors
/// When openssl cannot be started, exits non-zero, or prints no sign/s and verify/s figures.
pub fn speed(name: &str, duration: Duration, processes: usize) -> Result<Speed, SpeedError> {
    let seconds = duration.as_secs_f64().round().max(1.0).to_string();
    let mut cmd = Command::new("openssl");
    cmd.args(["speed", "-elapsed", "-seconds", &seconds]);
    if processes > 1 {
        cmd.args(["-multi", &processes.to_string()]);
    }
    cmd.arg(name);
    let out = cmd
        .output()
        .map_err(|e| SpeedError(format!("cannot run openssl speed: {e}")))?;
    if !out.status.success() {
        return Err(SpeedError(format!(
            "openssl speed {name} exited with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or_default()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    match (
        parse_column(&text, "sign/s"),
        parse_column(&text, "verify/s"),
    ) {
        (Some(sign_per_sec), Some(verify_per_sec)) => Ok(Speed {
            sign_per_sec,
            verify_per_sec,
        }),
        _ => Err(SpeedError(format!(
            "no sign/s and verify/s figures in the output of openssl speed {name}"
        ))),
    }
}

/// Finds the `sign/s` column of the first result table in `openssl speed` output.
#[cfg(test)]
fn parse_sign_per_sec(text: &str) -> Option<f64> {
    parse_column(text, "sign/s")
}

/// Finds the column named `name` (`sign/s`, `verify/s`) of the first result table in
/// `openssl speed` output.
///
/// The header names the trailing columns (`sign verify sign/s verify/s`, or with
/// `encrypt decrypt … encr./s decr./s` in OpenSSL 3.2+); the data row ends with as many values.
pub fn parse_column(text: &str, name: &str) -> Option<f64> {
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let header: Vec<&str> = line.split_whitespace().collect();
        let Some(col) = header.iter().position(|h| *h == name) else {
            continue;
        };
        let row = lines.next()?;
        let values: Vec<&str> = row.split_whitespace().collect();
        let first = values.len().checked_sub(header.len())?;
        return values
            .get(first + col)?
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v > 0.0);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA_30: &str = "\
version: 3.0.19
CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x405fc6f1bf07ab
                  sign    verify    sign/s verify/s
rsa 2048 bits 0.000216s 0.000013s   4634.3  78912.0
";
    const ECDSA_MULTI: &str = "\
Got: +F4:3:256:68694.000000:24126.000000 from 0
version: 3.0.19
                              sign    verify    sign/s verify/s
 256 bits ecdsa (nistp256)   0.0000s   0.0000s 133950.0  48063.0
";
    const ED25519: &str = "\
                              sign    verify    sign/s verify/s
 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  44745.5  16358.0
";
    const RSA_32: &str = "\
                   sign    verify    encrypt   decrypt   sign/s verify/s  encr./s  decr./s
rsa   2048 bits 0.000590s 0.000017s 0.000018s 0.000598s   1695.0  58106.0  55284.0   1671.0
";

    // The sign/s and verify/s columns are found in OpenSSL 3.0 tables (single and -multi) and 3.2+ ones.
    #[test]
    fn parses_sign_per_sec() {
        assert_eq!(parse_sign_per_sec(RSA_30), Some(4634.3));
        assert_eq!(parse_sign_per_sec(ECDSA_MULTI), Some(133_950.0));
        assert_eq!(parse_sign_per_sec(ED25519), Some(44_745.5));
        assert_eq!(parse_sign_per_sec(RSA_32), Some(1695.0));
        assert_eq!(parse_sign_per_sec("garbage\nsign/s\n"), None);
        assert_eq!(parse_sign_per_sec(""), None);
        assert_eq!(parse_column(RSA_30, "verify/s"), Some(78_912.0));
        assert_eq!(parse_column(ECDSA_MULTI, "verify/s"), Some(48_063.0));
        assert_eq!(parse_column(ED25519, "verify/s"), Some(16_358.0));
        assert_eq!(parse_column(RSA_32, "verify/s"), Some(58_106.0));
    }

    // Each algorithm maps to the openssl speed test of the same primitive.
    #[test]
    fn names() {
        let rsa = |bits| KeyKind::Rsa { bits };
        assert_eq!(
            speed_name(Algorithm::RS256, rsa(2048)).as_deref(),
            Some("rsa2048")
        );
        assert_eq!(
            speed_name(Algorithm::PS256, rsa(4096)).as_deref(),
            Some("rsa4096")
        );
        assert_eq!(speed_name(Algorithm::RS256, rsa(8192)), None);
        assert_eq!(
            speed_name(Algorithm::ES256, KeyKind::EcP256).as_deref(),
            Some("ecdsap256")
        );
        assert_eq!(
            speed_name(Algorithm::EdDSA, KeyKind::Ed25519).as_deref(),
            Some("ed25519")
        );
    }
}
