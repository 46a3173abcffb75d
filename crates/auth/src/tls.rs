//! TLS towards the gateway (issue 15): one `rustls::ClientConfig` per target, used by the
//! token client (through reqwest) and by the load generator's own connections (through
//! tokio-rustls), so both trust, present and explain the same way.
//!
//! Trust is one of:
//! - the platform's roots plus the target's `tls.ca_bundle` (or the bundle alone);
//! - `tls.pin_sha256`: exactly the server certificate with that SHA-256, whatever its CA
//!   flags, names or dates — the fix for a self-signed (`openssl req -x509`) gateway;
//! - `tls.insecure` / `--insecure`: any server certificate (never a default).
//!
//! In every mode the handshake signature is still verified against the certificate the
//! server sent, so the peer holds that certificate's key. A verification failure carries a
//! [`Rejected`] that [`explain`] turns into a plain-language cause and fix.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};

use crate::error::{Error, Result};
use crate::token::TokenClientOptions;

/// The SHA-256 of a server certificate's DER (`tls.pin_sha256`): trusts exactly that
/// certificate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct CertificatePin(pub [u8; 32]);

impl CertificatePin {
    /// Parses 64 hex digits; `:` separators (as `openssl x509 -fingerprint -sha256` prints)
    /// and surrounding blanks are allowed, case does not matter.
    ///
    /// # Errors
    /// A message naming what is wrong with `s` (the caller adds the field name).
    pub fn parse(s: &str) -> std::result::Result<Self, String> {
        let s = s.trim();
        let s = s
            .strip_prefix("sha256:")
            .or_else(|| s.strip_prefix("SHA256:"))
            .unwrap_or(s);
        let hex: Vec<u8> = s.bytes().filter(|b| *b != b':').collect();
        if hex.len() != 64 || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(format!(
                "{s:?} is not a SHA-256 fingerprint: want 64 hex digits (e.g. from `openssl x509 \
                 -in cert.pem -noout -fingerprint -sha256`)"
            ));
        }
        let mut out = [0u8; 32];
        for (i, pair) in hex.chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => c - b'A' + 10,
            };
            out[i] = digit(pair[0]) << 4 | digit(pair[1]);
        }
        Ok(Self(out))
    }

    /// The pin of a DER certificate.
    pub fn of(der: &[u8]) -> Self {
        let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        Self(out)
    }
}

impl std::fmt::Display for CertificatePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for CertificatePin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CertificatePin({self})")
    }
}

/// Why a TLS connection failed, as a gateway team would phrase it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsFailure {
    /// The server certificate chains to no trusted CA.
    UnknownCa,
    /// The server presented a CA certificate as its own (`openssl req -x509` makes one).
    CaUsedAsEndEntity,
    /// The server certificate is expired (or not yet valid).
    Expired,
    /// The server certificate does not name the host in the URL.
    WrongHost,
    /// The server certificate's SHA-256 is not `tls.pin_sha256`.
    PinMismatch,
    /// The server refused bearing's client certificate, or wanted one and got none.
    ClientCertificateRefused,
    /// The server speaks none of the protocols offered in ALPN: with `http2: true` (only
    /// `h2` offered), a gateway without HTTP/2.
    NoHttp2,
    /// Anything else TLS.
    Other,
}

/// A server certificate verification failure, carried inside the rustls error so the
/// caller can [`explain`] it: the class, the certificate's SHA-256 and rustls' own words.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The class.
    pub failure: TlsFailure,
    /// The SHA-256 of the certificate the server sent.
    pub sha256: CertificatePin,
    /// rustls' / webpki's description.
    pub detail: String,
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Rejected {}

/// Classifies a rustls verification error.
fn classify(e: &rustls::Error) -> (TlsFailure, String) {
    use rustls::Error as E;
    let detail = e.to_string();
    let failure = match e {
        E::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => TlsFailure::UnknownCa,
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => TlsFailure::Expired,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                TlsFailure::WrongHost
            }
            CertificateError::Other(o) => match o.0.downcast_ref::<webpki::Error>() {
                Some(webpki::Error::CaUsedAsEndEntity) => TlsFailure::CaUsedAsEndEntity,
                Some(webpki::Error::UnknownIssuer) => TlsFailure::UnknownCa,
                _ => match o.0.downcast_ref::<Rejected>() {
                    Some(r) => r.failure,
                    None => TlsFailure::Other,
                },
            },
            _ => TlsFailure::Other,
        },
        E::AlertReceived(a) => {
            use rustls::AlertDescription as A;
            match a {
                A::CertificateRequired
                | A::BadCertificate
                | A::UnknownCA
                | A::CertificateUnknown
                | A::CertificateExpired
                | A::CertificateRevoked
                | A::UnsupportedCertificate
                | A::AccessDenied => TlsFailure::ClientCertificateRefused,
                A::NoApplicationProtocol => TlsFailure::NoHttp2,
                _ => TlsFailure::Other,
            }
        }
        _ => TlsFailure::Other,
    };
    (failure, detail)
}

/// Finds the rustls error in an error's source chain (reqwest, hyper and `io::Error` wrap
/// it; `io::Error::source` skips the error it wraps, so `get_ref` is looked at too).
fn find_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if let Some(r) = inner.downcast_ref::<rustls::Error>() {
                return Some(r);
            }
            if let Some(r) = find_rustls(inner) {
                return Some(r);
            }
        }
        cur = err.source();
    }
    None
}

/// The plain-language cause and fix of a TLS failure somewhere in `e`'s source chain, or
/// `None` when TLS is not what failed. `host` is the URL's host, for the message.
pub fn explain(e: &(dyn std::error::Error + 'static), host: &str) -> Option<(TlsFailure, String)> {
    let r = find_rustls(e)?;
    Some(explain_rustls(r, host))
}

/// As [`explain`], for a rustls error at hand.
pub fn explain_rustls(r: &rustls::Error, host: &str) -> (TlsFailure, String) {
    let rejected = match r {
        rustls::Error::InvalidCertificate(CertificateError::Other(o)) => {
            o.0.downcast_ref::<Rejected>()
        }
        _ => None,
    };
    let (failure, detail) = match rejected {
        Some(x) => (x.failure, x.detail.clone()),
        None => classify(r),
    };
    let pin = rejected.map(|x| x.sha256.to_string());
    let pin_hint = |s: &mut String| {
        if let Some(p) = &pin {
            let _ = write!(
                s,
                "; if you know this gateway, trust exactly its certificate with tls.pin_sha256: {p}"
            );
        }
    };
    let mut msg = match failure {
        TlsFailure::UnknownCa => format!(
            "the certificate of {host} is signed by a CA bearing does not trust; fix: put that \
             CA's PEM in the target's tls.ca_bundle"
        ),
        TlsFailure::CaUsedAsEndEntity => format!(
            "{host} presents a CA certificate as its own server certificate (what `openssl req \
             -x509` makes), which TLS clients refuse even when it is in tls.ca_bundle; fix: \
             issue the gateway a leaf certificate from that CA"
        ),
        TlsFailure::Expired => format!(
            "the certificate of {host} is outside its validity period (expired, or not valid \
             yet: check both clocks); fix: renew the gateway's certificate"
        ),
        TlsFailure::WrongHost => format!(
            "the certificate of {host} does not name {host}; fix: use the host name the \
             certificate was issued for in the URL, or reissue it with {host} in its \
             subjectAltName"
        ),
        TlsFailure::PinMismatch => format!(
            "the certificate of {host} is not the one tls.pin_sha256 names; fix: if the \
             gateway's certificate was renewed, update the pin"
        ),
        TlsFailure::ClientCertificateRefused => format!(
            "{host} refused the TLS client certificate (or requires one and none was sent); \
             fix: set tls.client_cert and tls.client_key to a certificate the gateway's \
             client CA issued"
        ),
        TlsFailure::NoHttp2 => format!(
            "{host} speaks none of the protocols bearing offered in TLS ALPN (with http2: \
             true only h2 is offered): the gateway does not offer HTTP/2; fix: remove http2: \
             true (--http2) from the target"
        ),
        TlsFailure::Other => format!("tls with {host} failed"),
    };
    if matches!(
        failure,
        TlsFailure::UnknownCa | TlsFailure::CaUsedAsEndEntity | TlsFailure::Expired
    ) {
        pin_hint(&mut msg);
    }
    let _ = write!(msg, " ({detail})");
    (failure, msg)
}

/// Wraps a verifier: failures carry a [`Rejected`] with the certificate's SHA-256.
#[derive(Debug)]
struct Explaining {
    inner: Arc<dyn ServerCertVerifier>,
}

fn rejected(e: &rustls::Error, end_entity: &CertificateDer<'_>) -> rustls::Error {
    let (failure, detail) = classify(e);
    let sha256 = CertificatePin::of(end_entity);
    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(Arc::new(
        Rejected {
            failure,
            sha256,
            detail,
        },
    ))))
}

impl ServerCertVerifier for Explaining {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|e| rejected(&e, end_entity))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Trusts one certificate by SHA-256 (`pin: Some`) or, dangerously, any (`pin: None`); both
/// still verify the handshake signature with the presented certificate's key.
#[derive(Debug)]
struct Pinned {
    pin: Option<CertificatePin>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            None => Ok(ServerCertVerified::assertion()),
            Some(pin) => {
                let got = CertificatePin::of(end_entity);
                if got == pin {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                        rustls::OtherError(Arc::new(Rejected {
                            failure: TlsFailure::PinMismatch,
                            sha256: got,
                            detail: format!("certificate sha-256 {got}, pinned {pin}"),
                        })),
                    )))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The TLS settings of [`TokenClientOptions`] read and checked once (CA bundle, mTLS
/// identity, pin, insecure), ready for any number of connections: reqwest clients through
/// [`Self::apply`], the load generator's own through [`Self::client_config`].
#[derive(Clone)]
pub struct TlsMaterial {
    /// The config without ALPN.
    config: Arc<rustls::ClientConfig>,
    custom: bool,
    insecure: bool,
    /// ALPN offers only `h2` ([`TokenClientOptions::http2`]).
    http2: bool,
}

impl std::fmt::Debug for TlsMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsMaterial")
            .field("custom", &self.custom)
            .field("insecure", &self.insecure)
            .field("http2", &self.http2)
            .field(
                "client_identity",
                &self.config.client_auth_cert_resolver.has_certs(),
            )
            .finish_non_exhaustive()
    }
}

impl TlsMaterial {
    /// Reads the CA bundle and the client identity the options name and builds the config.
    ///
    /// # Errors
    /// [`Error::Io`] for an unreadable file; [`Error::InvalidCertificate`] /
    /// [`Error::InvalidKey`] naming the file at fault; [`Error::KeyMismatch`] when the client
    /// certificate does not match its key; [`Error::Config`] for a certificate without a key
    /// (or the reverse), `ca_bundle_only` without a bundle, or a setting rustls refuses.
    pub fn load(options: &TokenClientOptions) -> Result<Self> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let roots = match &options.ca_bundle {
            Some(path) => load_ca_bundle(path)?,
            None if options.ca_bundle_only => {
                return Err(Error::Config(
                    "ca_bundle_only is set but no ca_bundle is given".into(),
                ));
            }
            None => Vec::new(),
        };
        let identity = match (&options.client_cert, &options.client_key) {
            (Some(cert), Some(key)) => Some(load_identity(cert, key)?),
            (None, None) => None,
            (Some(c), None) => {
                return Err(Error::Config(format!(
                    "client certificate {} given without client_key",
                    c.display()
                )));
            }
            (None, Some(k)) => {
                return Err(Error::Config(format!(
                    "client key {} given without client_cert",
                    k.display()
                )));
            }
        };
        let algorithms = provider.signature_verification_algorithms;
        let config_error = |e: rustls::Error| Error::Config(format!("tls settings: {e}"));
        let verifier: Arc<dyn ServerCertVerifier> = if let Some(pin) = options.pin_sha256 {
            Arc::new(Pinned {
                pin: Some(pin),
                algorithms,
            })
        } else if options.danger_accept_invalid_certs {
            Arc::new(Pinned {
                pin: None,
                algorithms,
            })
        } else if options.ca_bundle_only {
            let mut store = rustls::RootCertStore::empty();
            for c in &roots {
                store.add(c.clone()).map_err(config_error)?;
            }
            let v = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(store),
                Arc::clone(&provider),
            )
            .build()
            .map_err(|e| Error::Config(format!("tls settings: {e}")))?;
            Arc::new(Explaining { inner: v })
        } else {
            let v = if roots.is_empty() {
                rustls_platform_verifier::Verifier::new(Arc::clone(&provider))
            } else {
                rustls_platform_verifier::Verifier::new_with_extra_roots(
                    roots.clone(),
                    Arc::clone(&provider),
                )
            }
            .map_err(config_error)?;
            Arc::new(Explaining { inner: Arc::new(v) })
        };
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(config_error)?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let config = match identity {
            Some((chain, key)) => builder
                .with_client_auth_cert(chain, key)
                .map_err(config_error)?,
            None => builder.with_no_client_auth(),
        };
        Ok(Self {
            config: Arc::new(config),
            custom: !roots.is_empty()
                || options.client_cert.is_some()
                || options.pin_sha256.is_some()
                || options.danger_accept_invalid_certs
                || options.http2,
            insecure: options.danger_accept_invalid_certs && options.pin_sha256.is_none(),
            http2: options.http2,
        })
    }

    /// Whether nothing differs from a default client (system roots, no client identity, no
    /// pin, verification on).
    pub fn is_default(&self) -> bool {
        !self.custom
    }

    /// Whether server certificates go unchecked (`tls.insecure` without a pin).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }

    /// The rustls config offering `alpn` (e.g. `[b"http/1.1"]`, or `[b"h2"]`). Session
    /// resumption is on (rustls' default in-memory cache) unless `resumption` is false.
    pub fn client_config(&self, alpn: &[&[u8]], resumption: bool) -> Arc<rustls::ClientConfig> {
        let mut c = (*self.config).clone();
        c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        if !resumption {
            c.resumption = rustls::client::Resumption::disabled();
        }
        Arc::new(c)
    }

    /// Whether ALPN offers only `h2` (the target's `http2: true`).
    pub fn is_http2(&self) -> bool {
        self.http2
    }

    /// The builder with this TLS config. ALPN offers `http/1.1` only, as the load
    /// generator's own connections do, so token, call, conform and load speak one protocol
    /// (and a TLS failure surfaces on the request, where it can be explained: over h2 a
    /// client certificate refused after the TLS 1.3 handshake ends in hyper's connection
    /// task as "channel closed"); only `h2` with `http2`, so a gateway without HTTP/2 fails
    /// the handshake instead of being spoken to over HTTP/1.1.
    pub fn apply(&self, builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
        let alpn: &[&[u8]] = if self.http2 { &[b"h2"] } else { &[b"http/1.1"] };
        let c = self.client_config(alpn, true);
        builder.tls_backend_preconfigured((*c).clone())
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })
}

/// Every certificate of a PEM bundle, each checked to be a parseable X.509 certificate.
fn load_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let origin = format!("ca bundle {}", path.display());
    let pem = read(path)?;
    let ders = pem_certificates(&pem, &origin)?;
    for (i, der) in ders.iter().enumerate() {
        x509_parser::parse_x509_certificate(der).map_err(|e| {
            Error::cert(
                Some(&origin),
                format!("certificate #{} does not parse: {e}", i + 1),
            )
        })?;
    }
    Ok(ders)
}

fn pem_certificates(pem: &[u8], origin: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::cert(Some(origin), format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Error::cert(
            Some(origin),
            "no PEM \"CERTIFICATE\" block found",
        ));
    }
    Ok(certs)
}

/// The mTLS identity: the certificate chain and the key, checked to belong together when
/// bearing can read the key type.
fn load_identity(
    cert_path: &Path,
    key_path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let cert_origin = cert_path.display().to_string();
    let key_origin = key_path.display().to_string();
    let certs = pem_certificates(&read(cert_path)?, &cert_origin)?;
    let key_pem = zeroize::Zeroizing::new(read(key_path)?);
    let key = PrivateKeyDer::from_pem_slice(&key_pem)
        .map_err(|e| Error::key(Some(&key_origin), format!("no usable PEM private key: {e}")))?;
    let leaf = crate::cert::Certificate::from_der(&certs[0], Some(&cert_origin))?;
    if let Ok(k) = crate::key::SigningKey::from_bytes(&key_pem, Some(&key_origin)) {
        leaf.check_matches(&k)?;
    }
    Ok((certs, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Pins parse from bare or colon-separated hex in either case; anything else is refused.
    #[test]
    fn pin_parses_hex_only() {
        let hex = "ab".repeat(32);
        assert_eq!(CertificatePin::parse(&hex).expect("hex").0, [0xab; 32]);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(
            CertificatePin::parse(&colons).expect("colons").0,
            [0xab; 32]
        );
        assert_eq!(CertificatePin::parse(&hex).expect("hex").to_string(), hex);
        for bad in [
            "",
            "ab",
            &"ab".repeat(31),
            &"zz".repeat(32),
            &"ab".repeat(33),
        ] {
            let e = CertificatePin::parse(bad).expect_err(bad);
            assert!(e.contains("64 hex digits"), "{e}");
        }
    }

    // The pin of a certificate is the SHA-256 of its DER.
    #[test]
    fn pin_of_der_is_sha256() {
        // SHA-256 of the empty string.
        assert_eq!(
            CertificatePin::of(b"").to_string(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    // Each rustls error class gets its own cause and fix.
    #[test]
    fn classes_are_explained() {
        let cases = [
            (
                rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
                TlsFailure::UnknownCa,
                "ca_bundle",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                    Arc::new(webpki::Error::CaUsedAsEndEntity),
                ))),
                TlsFailure::CaUsedAsEndEntity,
                "openssl req",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::Expired),
                TlsFailure::Expired,
                "renew",
            ),
            (
                rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
                TlsFailure::WrongHost,
                "subjectAltName",
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired),
                TlsFailure::ClientCertificateRefused,
                "tls.client_cert",
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::NoApplicationProtocol),
                TlsFailure::NoHttp2,
                "remove http2: true",
            ),
        ];
        for (e, class, fix) in cases {
            let (got, msg) = explain_rustls(&rejected_or_alert(&e), "gw.example");
            assert_eq!(got, class, "{msg}");
            assert!(msg.contains(fix), "{msg}");
            assert!(msg.contains("gw.example"), "{msg}");
        }
    }

    /// Verification errors arrive wrapped in [`Rejected`]; alerts arrive as they are.
    fn rejected_or_alert(e: &rustls::Error) -> rustls::Error {
        match e {
            rustls::Error::AlertReceived(_) => e.clone(),
            _ => rejected(e, &CertificateDer::from(vec![0x30, 0])),
        }
    }
}
