//! Private keys: loading (PEM PKCS#8 / PKCS#1 / SEC1, or DER), generation, and signing with
//! a key parsed **once**. `jsonwebtoken` 11.1 re-parses the key inside every `encode`, which
//! halves RS256 throughput (shared/reference/anchors.md); a [`SigningKey`] holds the parsed
//! aws-lc key pair so each signature costs only the signature.

use std::fmt;
use std::path::Path;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, KeyPair};
use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::PemObject;

use crate::alg::Algorithm;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;

/// The kind of a key, as far as JWS algorithms care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// RSA with a modulus of this many bits.
    Rsa {
        /// Modulus size.
        bits: usize,
    },
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// Ed25519.
    Ed25519,
}

impl KeyKind {
    /// Whether `alg` can be used with a key of this kind.
    pub fn fits(self, alg: Algorithm) -> bool {
        match self {
            Self::Rsa { .. } => alg.is_rsa(),
            Self::EcP256 => alg == Algorithm::ES256,
            Self::EcP384 => alg == Algorithm::ES384,
            Self::Ed25519 => alg == Algorithm::EdDSA,
        }
    }

    /// The algorithm used when none is asked for: RS256 for RSA (RFC 7523 §5).
    pub fn default_algorithm(self) -> Algorithm {
        match self {
            Self::Rsa { .. } => Algorithm::RS256,
            Self::EcP256 => Algorithm::ES256,
            Self::EcP384 => Algorithm::ES384,
            Self::Ed25519 => Algorithm::EdDSA,
        }
    }

    /// Fails unless `alg` fits; refuses RSA keys under 2048 bits (RFC 7518 §3.3).
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] or [`Error::WeakKey`].
    pub fn check(self, alg: Algorithm) -> Result<()> {
        if let Self::Rsa { bits } = self
            && bits < 2048
        {
            return Err(Error::WeakKey { bits });
        }
        if self.fits(alg) {
            Ok(())
        } else {
            Err(Error::AlgorithmMismatch {
                alg: alg.to_string(),
                key: self.to_string(),
            })
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rsa { bits } => write!(f, "RSA-{bits}"),
            Self::EcP256 => f.write_str("EC P-256"),
            Self::EcP384 => f.write_str("EC P-384"),
            Self::Ed25519 => f.write_str("Ed25519"),
        }
    }
}

enum Inner {
    Rsa(sig::RsaKeyPair),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

/// A parsed private key, ready to sign many times. Its `Debug` shows only its kind.
pub struct SigningKey {
    inner: Inner,
    kind: KeyKind,
    origin: Option<String>,
    pkcs8: SecretBytes,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kind", &self.kind)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a key file (PEM or DER).
    ///
    /// # Errors
    /// [`Error::Io`] when unreadable, [`Error::InvalidKey`] naming the file when malformed,
    /// [`Error::WeakKey`] for RSA under 2048 bits.
    pub fn from_file(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let bytes = zeroize::Zeroizing::new(bytes);
        let key = Self::from_bytes(&bytes, Some(&path.display().to_string()))?;
        // Only a file that holds a key is worth a permission warning (a certificate passed as
        // `--key` is refused first, with the reason).
        warn_if_world_readable(path);
        Ok(key)
    }

    /// Parses a key from PEM (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`) or DER.
    /// `origin` names the key in error messages.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] or [`Error::WeakKey`].
    pub fn from_bytes(bytes: &[u8], origin: Option<&str>) -> Result<Self> {
        let trimmed = bytes.trim_ascii_start();
        if trimmed.starts_with(b"-----BEGIN") {
            if let Some(reason) = pem_refusal(trimmed) {
                return Err(Error::key(origin, reason));
            }
            let der = PrivateKeyDer::from_pem_slice(trimmed)
                .map_err(|e| Error::key(origin, pem_error_reason(&e)))?;
            match der {
                PrivateKeyDer::Pkcs8(d) => Self::from_pkcs8(d.secret_pkcs8_der(), origin),
                PrivateKeyDer::Pkcs1(d) => Self::from_pkcs1(d.secret_pkcs1_der(), origin),
                PrivateKeyDer::Sec1(d) => Self::from_sec1(d.secret_sec1_der(), origin),
                _ => Err(Error::key(origin, "unsupported private key encoding")),
            }
        } else if trimmed.first() == Some(&0x30) {
            Self::from_pkcs8(bytes, origin)
                .or_else(|e| match e {
                    Error::WeakKey { .. } => Err(e),
                    _ => Self::from_pkcs1(bytes, origin),
                })
                .or_else(|e| match e {
                    Error::WeakKey { .. } => Err(e),
                    _ => Self::from_sec1(bytes, origin),
                })
                .map_err(|e| match e {
                    Error::WeakKey { .. } => e,
                    _ => Error::key(origin, "DER is not a PKCS#8, PKCS#1 or SEC1 private key"),
                })
        } else {
            Err(Error::key(origin, "neither PEM (-----BEGIN …) nor DER"))
        }
    }

    /// Parses a PKCS#8 DER private key of any supported kind.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] or [`Error::WeakKey`].
    pub fn from_pkcs8(der: &[u8], origin: Option<&str>) -> Result<Self> {
        match sig::RsaKeyPair::from_pkcs8(der) {
            Ok(k) => return Self::from_rsa(k, origin),
            Err(e) if e.description_() == "TooSmall" => {
                return Err(Error::WeakKey {
                    bits: rsa_bits_hint(der).unwrap_or(0),
                });
            }
            Err(_) => {}
        }
        if let Ok(k) = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
            return Self::from_ec(k, KeyKind::EcP256, origin);
        }
        if let Ok(k) = sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der) {
            return Self::from_ec(k, KeyKind::EcP384, origin);
        }
        if let Ok(k) = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            let pkcs8 = SecretBytes::new(der.to_vec());
            return Ok(Self {
                inner: Inner::Ed(k),
                kind: KeyKind::Ed25519,
                origin: origin.map(str::to_owned),
                pkcs8,
            });
        }
        Err(Error::key(
            origin,
            "PKCS#8 key is not RSA, EC P-256/P-384 or Ed25519",
        ))
    }

    fn from_pkcs1(der: &[u8], origin: Option<&str>) -> Result<Self> {
        match sig::RsaKeyPair::from_der(der) {
            Ok(k) => Self::from_rsa(k, origin),
            Err(e) if e.description_() == "TooSmall" => Err(Error::WeakKey {
                bits: rsa_bits_hint(der).unwrap_or(0),
            }),
            Err(e) => Err(Error::key(origin, format!("bad PKCS#1 RSA key ({e})"))),
        }
    }

    fn from_sec1(der: &[u8], origin: Option<&str>) -> Result<Self> {
        if let Ok(k) =
            sig::EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der)
        {
            return Self::from_ec(k, KeyKind::EcP256, origin);
        }
        if let Ok(k) =
            sig::EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der)
        {
            return Self::from_ec(k, KeyKind::EcP384, origin);
        }
        Err(Error::key(
            origin,
            "bad SEC1 EC key (only P-256 and P-384 are supported)",
        ))
    }

    fn from_rsa(k: sig::RsaKeyPair, origin: Option<&str>) -> Result<Self> {
        let bits = k.public_modulus_len() * 8;
        if bits < 2048 {
            return Err(Error::WeakKey { bits });
        }
        let pkcs8 = k
            .as_der()
            .map_err(|_| Error::key(origin, "cannot re-encode RSA key as PKCS#8"))?;
        Ok(Self {
            inner: Inner::Rsa(k),
            kind: KeyKind::Rsa { bits },
            origin: origin.map(str::to_owned),
            pkcs8: SecretBytes::new(pkcs8.as_ref().to_vec()),
        })
    }

    fn from_ec(k: sig::EcdsaKeyPair, kind: KeyKind, origin: Option<&str>) -> Result<Self> {
        let pkcs8 = k
            .to_pkcs8v1()
            .map_err(|_| Error::key(origin, "cannot re-encode EC key as PKCS#8"))?;
        Ok(Self {
            inner: Inner::Ec(k),
            kind,
            origin: origin.map(str::to_owned),
            pkcs8: SecretBytes::new(pkcs8.as_ref().to_vec()),
        })
    }

    /// Generates a fresh key for `alg` (RSA keys of `rsa_bits`: 2048, 3072 or 4096).
    ///
    /// # Errors
    /// [`Error::Config`] for an unsupported size, [`Error::Signing`] if generation fails.
    pub fn generate(alg: Algorithm, rsa_bits: usize) -> Result<Self> {
        let fail = |what: &str| Error::Signing(format!("cannot generate {what} key"));
        if alg.is_rsa() {
            let size = match rsa_bits {
                2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
                3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
                4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
                8192 => aws_lc_rs::rsa::KeySize::Rsa8192,
                other => {
                    return Err(Error::Config(format!(
                        "rsa key size {other} unsupported (2048, 3072, 4096, 8192)"
                    )));
                }
            };
            let k = sig::RsaKeyPair::generate(size).map_err(|_| fail("RSA"))?;
            return Self::from_rsa(k, None);
        }
        let rng = SystemRandom::new();
        let doc = match alg {
            Algorithm::ES256 => {
                sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            }
            Algorithm::ES384 => {
                sig::EcdsaKeyPair::generate_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, &rng)
            }
            _ => sig::Ed25519KeyPair::generate_pkcs8(&rng),
        }
        .map_err(|_| fail(alg.as_str()))?;
        Self::from_pkcs8(doc.as_ref(), None)
    }

    /// The key's kind.
    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// Where the key came from (a path), when known.
    pub fn origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// The key as PKCS#8 DER (for writing a key file or feeding another library).
    pub fn pkcs8_der(&self) -> &SecretBytes {
        &self.pkcs8
    }

    /// The key as a PKCS#8 PEM string (`-----BEGIN PRIVATE KEY-----`). A secret: write it
    /// only to a file created with mode 0600.
    pub fn to_pkcs8_pem(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(pem_encode("PRIVATE KEY", self.pkcs8.expose()))
    }

    /// The public key as it appears in a certificate's `subjectPublicKey` BIT STRING:
    /// an RSAPublicKey DER, an uncompressed EC point, or the 32-byte Ed25519 key.
    pub fn public_key_bytes(&self) -> &[u8] {
        match &self.inner {
            Inner::Rsa(k) => k.public_key().as_ref(),
            Inner::Ec(k) => k.public_key().as_ref(),
            Inner::Ed(k) => k.public_key().as_ref(),
        }
    }

    /// The public key as X.509 SubjectPublicKeyInfo DER.
    ///
    /// # Errors
    /// [`Error::Signing`] if the crypto library cannot encode it.
    pub fn public_key_spki_der(&self) -> Result<Vec<u8>> {
        let fail = |_| Error::Signing("cannot encode public key".into());
        Ok(match &self.inner {
            Inner::Rsa(k) => k.public_key().as_der().map_err(fail)?.as_ref().to_vec(),
            Inner::Ec(k) => k.public_key().as_der().map_err(fail)?.as_ref().to_vec(),
            Inner::Ed(k) => k.public_key().as_der().map_err(fail)?.as_ref().to_vec(),
        })
    }

    /// Signs `message` with `alg` and returns the raw JWS signature (for ECDSA the fixed
    /// `r || s` form of RFC 7518 §3.4).
    ///
    /// # Errors
    /// [`Error::AlgorithmMismatch`] when `alg` does not fit the key, [`Error::Signing`] on an
    /// internal failure of the crypto library.
    pub fn sign(&self, alg: Algorithm, message: &[u8]) -> Result<Vec<u8>> {
        let mismatch = || Error::AlgorithmMismatch {
            alg: alg.to_string(),
            key: self.kind.to_string(),
        };
        match &self.inner {
            Inner::Rsa(k) => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    Algorithm::RS256 => &sig::RSA_PKCS1_SHA256,
                    Algorithm::RS384 => &sig::RSA_PKCS1_SHA384,
                    Algorithm::RS512 => &sig::RSA_PKCS1_SHA512,
                    Algorithm::PS256 => &sig::RSA_PSS_SHA256,
                    Algorithm::PS384 => &sig::RSA_PSS_SHA384,
                    Algorithm::PS512 => &sig::RSA_PSS_SHA512,
                    _ => return Err(mismatch()),
                };
                let mut out = vec![0u8; k.public_modulus_len()];
                // aws-lc ignores the rng argument; SystemRandom is a zero-sized handle.
                k.sign(padding, &SystemRandom::new(), message, &mut out)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                Ok(out)
            }
            Inner::Ec(k) => {
                if !self.kind.fits(alg) {
                    return Err(mismatch());
                }
                let s = k
                    .sign(&SystemRandom::new(), message)
                    .map_err(|e| Error::Signing(e.to_string()))?;
                Ok(s.as_ref().to_vec())
            }
            Inner::Ed(k) => {
                if alg != Algorithm::EdDSA {
                    return Err(mismatch());
                }
                Ok(k.sign(message).as_ref().to_vec())
            }
        }
    }
}

/// Encodes DER as PEM with 64-column lines (RFC 7468).
pub fn pem_encode(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Best-effort modulus size of an RSA key that aws-lc refused as too small, for the error
/// message: finds the second INTEGER of the (possibly PKCS#8-wrapped) RSAPrivateKey.
fn rsa_bits_hint(der: &[u8]) -> Option<usize> {
    use x509_parser::der_parser::ber::BerObjectContent;
    use x509_parser::der_parser::der::parse_der;
    let (_, obj) = parse_der(der).ok()?;
    let seq = obj.as_sequence().ok()?;
    // PKCS#8: SEQ { INT version, SEQ alg, OCTET STRING RSAPrivateKey }
    if let Some(BerObjectContent::OctetString(inner)) = seq.get(2).map(|o| &o.content) {
        return rsa_bits_hint(inner);
    }
    // PKCS#1: SEQ { INT version, INT n, … }
    let n = seq.get(1)?.as_slice().ok()?;
    let n = n.iter().position(|b| *b != 0).map_or(&[][..], |i| &n[i..]);
    let first = *n.first()?;
    Some((n.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// Why a PEM text that is not a usable private key is refused, when its BEGIN line says so:
/// an encrypted key, or a certificate given where a key belongs.
fn pem_refusal(pem: &[u8]) -> Option<&'static str> {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if has(b"-----BEGIN ENCRYPTED PRIVATE KEY") || has(b"Proc-Type: 4,ENCRYPTED") {
        return Some(
            "encrypted private keys are not supported; decrypt it first, e.g. \
             `openssl pkcs8 -in key.pem -out key-plain.pem` (then chmod 600)",
        );
    }
    if has(b"-----BEGIN CERTIFICATE") && !has(b"PRIVATE KEY-----") {
        return Some("this is a certificate, not a private key (give it as --cert)");
    }
    None
}

/// A PEM parse error in words, never with the bytes it choked on: the rustls-pki-types
/// messages quote the marker or line as decimal bytes, which for a key with its newlines
/// stripped is the whole key.
pub fn pem_error_reason(e: &rustls_pki_types::pem::Error) -> String {
    use rustls_pki_types::pem::Error as P;
    let what = match e {
        P::MissingSectionEnd { .. } => {
            "the PEM block has no END line; if the key was pasted on one line, \
             keep its line breaks"
        }
        P::IllegalSectionStart { .. } => "a PEM BEGIN line is malformed",
        P::Base64Decode(_) => "the PEM body is not valid Base64",
        P::NoItemsFound => "no PRIVATE KEY PEM block",
        _ => "the PEM text cannot be read",
    };
    format!("no usable private key PEM block: {what}")
}

#[cfg(unix)]
fn warn_if_world_readable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", meta.permissions().mode() & 0o777),
            "private key file is readable by group or others; chmod 600 it"
        );
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    // A generated key of each kind signs with its algorithm and refuses the others.
    #[test]
    fn generated_keys_sign_only_their_algorithms() {
        for (alg, kind) in [
            (Algorithm::RS256, KeyKind::Rsa { bits: 2048 }),
            (Algorithm::ES256, KeyKind::EcP256),
            (Algorithm::EdDSA, KeyKind::Ed25519),
        ] {
            let k = SigningKey::generate(alg, 2048).expect("generate");
            assert_eq!(k.kind(), kind);
            assert!(!k.sign(alg, b"m").expect("sign").is_empty());
            for other in Algorithm::ALL.into_iter().filter(|a| !kind.fits(*a)) {
                assert!(matches!(
                    k.sign(other, b"m"),
                    Err(Error::AlgorithmMismatch { .. })
                ));
            }
        }
    }

    // PEM written by to_pkcs8_pem parses back to the same public key.
    #[test]
    fn pem_round_trip() {
        let k = SigningKey::generate(Algorithm::ES256, 0).expect("generate");
        let back = SigningKey::from_bytes(k.to_pkcs8_pem().as_bytes(), None).expect("parse");
        assert_eq!(back.public_key_bytes(), k.public_key_bytes());
    }

    // Garbage is refused with the origin in the message, without panicking.
    #[test]
    fn garbage_names_origin() {
        for bad in [
            &b"hello"[..],
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            b"\x30\x03\x02\x01\x00",
            b"",
        ] {
            let err = SigningKey::from_bytes(bad, Some("keys/p.pem")).expect_err("must fail");
            assert!(err.to_string().contains("keys/p.pem"), "{err}");
        }
    }

    // ES256 asked of an RSA key is refused, and so are RSA keys under 2048 bits.
    #[test]
    fn kind_check() {
        assert!(matches!(
            KeyKind::Rsa { bits: 2048 }.check(Algorithm::ES256),
            Err(Error::AlgorithmMismatch { .. })
        ));
        assert!(matches!(
            KeyKind::Rsa { bits: 1024 }.check(Algorithm::RS256),
            Err(Error::WeakKey { bits: 1024 })
        ));
        assert!(KeyKind::EcP256.check(Algorithm::ES256).is_ok());
    }
}
