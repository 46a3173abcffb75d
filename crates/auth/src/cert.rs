//! X.509 certificates as a portal registers them (PEM, DER, or the bare Base64 DER string the
//! portal displays), the public keys they carry, and signature verification with them.

use std::fmt;
use std::path::Path;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey};
use base64::Engine as _;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::key::{KeyKind, SigningKey};

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_ED25519: &str = "1.3.101.112";

/// A public key taken from a certificate.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    kind: KeyKind,
    /// The `subjectPublicKey` BIT STRING contents.
    bytes: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The raw key (RSAPublicKey DER, EC point or Ed25519 key).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Parses the key once for verifying signatures made with `alg`. Binding one algorithm
    /// to one parsed key is what RFC 8725 §3.1 asks.
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`], [`Error::WeakKey`] or [`Error::InvalidCertificate`].
    pub fn verifier(&self, alg: Algorithm) -> Result<Verifier> {
        self.kind.check(alg)?;
        let params: &'static dyn sig::VerificationAlgorithm = match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            Algorithm::EdDSA => &sig::ED25519,
        };
        let key = ParsedPublicKey::new(params, &self.bytes)
            .map_err(|e| Error::cert(None, format!("public key rejected for {alg} ({e})")))?;
        Ok(Verifier { alg, key })
    }
}

/// A public key parsed for one algorithm; verifies many signatures cheaply.
#[derive(Clone)]
pub struct Verifier {
    alg: Algorithm,
    key: ParsedPublicKey,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// The algorithm this verifier accepts.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Whether `signature` over `message` is valid.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify_sig(message, signature).is_ok()
    }
}

/// An X.509 certificate: its DER, public key and validity window.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
    public_key: PublicKey,
    subject: String,
    not_before: i64,
    not_after: i64,
    origin: Option<String>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("key", &self.public_key.kind)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// Reads a certificate file: PEM, DER or Base64 DER text.
    ///
    /// # Errors
    /// [`Error::Io`] or [`Error::InvalidCertificate`] naming the file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes, Some(&path.display().to_string()))
    }

    /// Parses PEM (`-----BEGIN CERTIFICATE-----`), DER, or the bare Base64 DER a portal shows.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`].
    pub fn from_bytes(bytes: &[u8], origin: Option<&str>) -> Result<Self> {
        let trimmed = bytes.trim_ascii();
        if trimmed.starts_with(b"-----BEGIN") {
            use rustls_pki_types::CertificateDer;
            use rustls_pki_types::pem::PemObject;
            let der = CertificateDer::from_pem_slice(trimmed)
                .map_err(|e| Error::cert(origin, format!("no CERTIFICATE PEM block ({e})")))?;
            Self::from_der(der.as_ref(), origin)
        } else if trimmed.first() == Some(&0x30) {
            Self::from_der(bytes, origin)
        } else {
            let text: Vec<u8> = trimmed
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(&text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&text))
                .map_err(|e| {
                    Error::cert(origin, format!("neither PEM, DER nor Base64 DER ({e})"))
                })?;
            Self::from_der(&der, origin)
        }
    }

    /// Parses a DER certificate.
    ///
    /// # Errors
    /// [`Error::InvalidCertificate`] for malformed DER or an unsupported key type.
    pub fn from_der(der: &[u8], origin: Option<&str>) -> Result<Self> {
        let (rest, x509) = X509Certificate::from_der(der)
            .map_err(|e| Error::cert(origin, format!("malformed X.509 DER ({e})")))?;
        if !rest.is_empty() {
            return Err(Error::cert(
                origin,
                format!("{} trailing bytes after the DER", rest.len()),
            ));
        }
        let spki = &x509.tbs_certificate.subject_pki;
        let alg_oid = spki.algorithm.algorithm.to_id_string();
        let bytes = spki.subject_public_key.data.to_vec();
        let kind = match alg_oid.as_str() {
            OID_RSA => match spki.parsed() {
                Ok(x509_parser::public_key::PublicKey::RSA(k)) => {
                    KeyKind::Rsa { bits: k.key_size() }
                }
                _ => return Err(Error::cert(origin, "malformed RSA public key")),
            },
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string());
                match curve.as_deref() {
                    Some(OID_P256) => KeyKind::EcP256,
                    Some(OID_P384) => KeyKind::EcP384,
                    other => {
                        return Err(Error::cert(
                            origin,
                            format!("unsupported EC curve {}", other.unwrap_or("(none)")),
                        ));
                    }
                }
            }
            OID_ED25519 => KeyKind::Ed25519,
            other => {
                return Err(Error::cert(
                    origin,
                    format!("unsupported public key algorithm {other}"),
                ));
            }
        };
        let validity = &x509.tbs_certificate.validity;
        Ok(Self {
            der: der[..der.len() - rest.len()].to_vec(),
            public_key: PublicKey { kind, bytes },
            subject: x509.tbs_certificate.subject.to_string(),
            not_before: validity.not_before.timestamp(),
            not_after: validity.not_after.timestamp(),
            origin: origin.map(str::to_owned),
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The Base64 DER string a portal asks the partner to paste.
    pub fn to_base64_der(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.der)
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> String {
        crate::key::pem_encode("CERTIFICATE", &self.der)
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public_key
    }

    /// The subject distinguished name.
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// `notBefore` and `notAfter`, in seconds since the epoch.
    pub fn validity(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }

    /// Where the certificate came from, when known.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// `x5t#S256`: base64url SHA-256 thumbprint of the DER (RFC 7515 §4.1.8).
    pub fn x5t_s256(&self) -> String {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &self.der);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
    }

    /// Whether `now` (seconds) lies in the validity window.
    pub fn is_valid_at(&self, now: i64) -> bool {
        self.not_before <= now && now <= self.not_after
    }

    /// Logs a warning when the certificate is expired or not yet valid at `now`. Gateways
    /// differ on whether they check this (catalog §5 `check_cert_validity`), so it is a
    /// warning, not an error.
    pub fn warn_if_not_valid_at(&self, now: i64) -> bool {
        let ok = self.is_valid_at(now);
        if !ok {
            let origin = self.origin.as_deref().unwrap_or("certificate");
            if now > self.not_after {
                tracing::warn!(%origin, not_after = self.not_after, "certificate has expired");
            } else {
                tracing::warn!(%origin, not_before = self.not_before, "certificate is not yet valid");
            }
        }
        ok
    }

    /// Fails unless the certificate carries the public half of `key`.
    ///
    /// # Errors
    /// [`Error::KeyMismatch`] naming both the key's and the certificate's origin.
    pub fn check_matches(&self, key: &SigningKey) -> Result<()> {
        let names = || {
            (
                key.origin().unwrap_or("(private key)").to_owned(),
                self.origin.as_deref().unwrap_or("(certificate)").to_owned(),
            )
        };
        if key.kind() != self.public_key.kind {
            let (k, c) = names();
            return Err(Error::KeyMismatch {
                key: k,
                certificate: c,
                reason: format!(
                    "the key is {} but the certificate holds {}",
                    key.kind(),
                    self.public_key.kind
                ),
            });
        }
        if key.public_key_bytes() != self.public_key.bytes.as_slice() {
            let (k, c) = names();
            return Err(Error::KeyMismatch {
                key: k,
                certificate: c,
                reason: "the public keys differ".into(),
            });
        }
        Ok(())
    }

    /// Makes a self-signed certificate for `key` with `client_id` as common name, valid from
    /// an hour ago for `days` days — what a partner registers on a portal.
    ///
    /// # Errors
    /// [`Error::Signing`] when certificate generation fails.
    pub fn self_signed(key: &SigningKey, client_id: &str, days: u32) -> Result<Self> {
        use crate::clock::Clock as _;
        let now = crate::clock::SystemClock.now_secs();
        Self::self_signed_window(key, client_id, now - 3600, now + i64::from(days) * 86_400)
    }

    /// Like [`Certificate::self_signed`] with an explicit validity window (seconds since the
    /// epoch), to make expired or not-yet-valid certificates for tests.
    ///
    /// # Errors
    /// [`Error::Signing`] when certificate generation fails.
    pub fn self_signed_window(
        key: &SigningKey,
        client_id: &str,
        not_before: i64,
        not_after: i64,
    ) -> Result<Self> {
        let fail = |e: rcgen::Error| Error::Signing(format!("cannot make certificate: {e}"));
        let sign_alg: &'static rcgen::SignatureAlgorithm = match key.kind() {
            KeyKind::Rsa { .. } => &rcgen::PKCS_RSA_SHA256,
            KeyKind::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyKind::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyKind::Ed25519 => &rcgen::PKCS_ED25519,
        };
        let pkcs8 = rustls_pki_types::PrivatePkcs8KeyDer::from(key.pkcs8_der().expose().to_vec());
        let kp = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, sign_alg).map_err(fail)?;
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, client_id);
        params.not_before = time_at(not_before);
        params.not_after = time_at(not_after);
        let cert = params.self_signed(&kp).map_err(fail)?;
        Self::from_der(cert.der(), None)
    }
}

fn time_at(secs: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(secs).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
}
