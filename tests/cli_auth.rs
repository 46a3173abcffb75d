//! End-to-end tests of the partner commands of the `bearing` binary: keygen, sign, decode,
//! and interop with independent implementations (the openssl CLI, Python's joserfc).

mod common;

use std::path::Path;
use std::process::Command;

use common::run as bearing;

/// `bearing keygen --alg <alg>` into `dir`, which must succeed: what it printed.
fn keygen(dir: &Path, alg: &str) -> String {
    let out = bearing(&[
        "keygen",
        "--client-id",
        "SampleConfId",
        "--out",
        dir.to_str().expect("utf-8 path"),
        "--alg",
        alg,
    ]);
    assert!(
        out.status.success(),
        "keygen: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// `bearing sign <extra…>` with the key in `dir`, which must succeed: the assertion.
fn sign(dir: &Path, extra: &[&str]) -> String {
    let key = dir.join("private.pem");
    let out = bearing(
        &[
            [
                "sign",
                "--key",
                key.to_str().expect("utf-8"),
                "--client-id",
                "SampleConfId",
                "--aud",
                "https://gw.example.com/oauth/token",
            ]
            .as_slice(),
            extra,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "sign: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

// keygen writes a 0600 key and a certificate, and prints the Base64 DER of that certificate.
#[test]
fn keygen_writes_key_0600_and_prints_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let stdout = keygen(dir.path(), "RS256");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(dir.path().join("private.pem"))
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let printed = stdout.lines().last().expect("last line").trim().to_owned();
    let cert = bearing_auth::Certificate::from_file(&dir.path().join("cert.pem")).expect("cert");
    assert_eq!(printed, cert.to_base64_der());
    // The printed string alone is a loadable certificate, as a portal would store it.
    assert!(bearing_auth::Certificate::from_bytes(printed.as_bytes(), None).is_ok());
    // A second run refuses to overwrite.
    let again = bearing(&[
        "keygen",
        "--client-id",
        "x",
        "--out",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(again.status.code(), Some(2));
}

// decode verifies with the right certificate (exit 0) and fails with another (exit 1).
#[test]
fn decode_verifies_with_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    keygen(dir.path(), "RS256");
    let jwt = sign(dir.path(), &[]);
    let cert = dir.path().join("cert.pem");
    let out = bearing(&["decode", &jwt, "--cert", cert.to_str().expect("utf-8")]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("verified: yes (RS256)"), "{text}");
    assert!(text.contains("\"iss\": \"SampleConfId\""), "{text}");

    let other = tempfile::tempdir().expect("tmp");
    keygen(other.path(), "RS256");
    let cert2 = other.path().join("cert.pem");
    let out = bearing(&["decode", &jwt, "--cert", cert2.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
}

// Bad input exits 2 and names the culprit; it never panics.
#[test]
fn bad_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.pem");
    std::fs::write(&bad, "not a key").expect("write");
    let out = bearing(&[
        "sign",
        "--key",
        bad.to_str().expect("utf-8"),
        "--client-id",
        "c",
        "--aud",
        "https://a/t",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.pem"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let out = bearing(&["decode", "not.a.jwt"]);
    assert_eq!(out.status.code(), Some(2));
    let out = bearing(&["sign", "--client-id", "c"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--token-url"));
}

// The signature of an RS256 assertion verifies with the openssl CLI given only the
// certificate: an implementation that shares no code with bearing or aws-lc-rs.
#[test]
fn assertion_verifies_with_openssl() {
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl must be installed in CI (.ci/run)"
        );
        common::skip("assertion_verifies_with_openssl", "openssl not on PATH");
        return;
    }
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("tmp");
    keygen(dir.path(), "RS256");
    let jwt = sign(dir.path(), &[]);
    let (input, sig) = jwt.rsplit_once('.').expect("two dots");
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("b64url");
    std::fs::write(dir.path().join("input"), input).expect("write");
    std::fs::write(dir.path().join("sig"), sig).expect("write");
    let pubkey = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(dir.path().join("cert.pem"))
        .output()
        .expect("openssl x509");
    std::fs::write(dir.path().join("pub.pem"), &pubkey.stdout).expect("write");
    let verify = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify"])
        .arg(dir.path().join("pub.pem"))
        .arg("-signature")
        .arg(dir.path().join("sig"))
        .arg(dir.path().join("input"))
        .output()
        .expect("openssl dgst");
    assert!(
        verify.status.success(),
        "openssl: {} {}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

// Assertions of every algorithm verify with joserfc (Python), an independent JOSE
// implementation, given only the certificate. CI installs joserfc; elsewhere the test says
// it was skipped.
#[test]
fn assertion_verifies_with_joserfc() {
    let probe = Command::new("python3")
        .args(["-c", "import joserfc, cryptography"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "joserfc must be installed in CI (.ci/run)"
        );
        common::skip(
            "assertion_verifies_with_joserfc",
            "python3 with joserfc not available (pip install joserfc)",
        );
        return;
    }
    const SCRIPT: &str = r#"
import sys
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from joserfc import jwt
from joserfc.jwk import RSAKey, ECKey, OKPKey
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
pem = cert.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
alg = sys.argv[3]
key = {'RS256': RSAKey, 'PS256': RSAKey, 'ES256': ECKey, 'EdDSA': OKPKey}[alg].import_key(pem)
tok = jwt.decode(sys.argv[2], key, algorithms=[alg])
assert tok.header['alg'] == alg, tok.header
assert tok.claims['iss'] == 'SampleConfId', tok.claims
assert tok.claims['aud'] == 'https://gw.example.com/oauth/token', tok.claims
print('ok')
"#;
    for alg in ["RS256", "PS256", "ES256", "EdDSA"] {
        let dir = tempfile::tempdir().expect("tmp");
        keygen(dir.path(), if alg == "PS256" { "RS256" } else { alg });
        let jwt = sign(dir.path(), &["--alg", alg]);
        let v = Command::new("python3")
            .args(["-c", SCRIPT])
            .arg(dir.path().join("cert.pem"))
            .arg(jwt.trim())
            .arg(alg)
            .output()
            .expect("python3");
        assert!(
            v.status.success(),
            "{alg}: {}{}",
            String::from_utf8_lossy(&v.stdout),
            String::from_utf8_lossy(&v.stderr)
        );
    }
}
