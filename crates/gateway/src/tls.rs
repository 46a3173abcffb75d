//! TLS for the listener with rustls through `tokio-rustls` (maintained by the rustls project,
//! already in the dependency tree through reqwest, so no new crates): a certificate and key
//! from PEM files or a generated self-signed pair for `localhost`/`127.0.0.1`, TLS 1.2+ only
//! (RFC 8996), optional client-certificate verification against a CA (the portal's mTLS
//! apps, DESIGN.md step 7).

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::{GatewayConfig, TlsConfig};
use crate::error::{Error, Result};

/// The client certificate chain (DER) presented on a mutually authenticated connection, as a
/// request extension.
#[derive(Debug, Clone)]
pub struct PeerCertificates(pub Vec<Vec<u8>>);

/// A ready TLS acceptor.
pub(crate) struct TlsSetup {
    pub(crate) acceptor: tokio_rustls::TlsAcceptor,
    /// The generated certificate (PEM) when `self_signed`.
    pub(crate) generated_pem: Option<String>,
}

impl TlsSetup {
    pub(crate) fn load(t: &TlsConfig, config: &GatewayConfig) -> Result<Self> {
        let tls = |m: String| Error::Tls(m);
        let mut files = None;
        let (chain, key, generated_pem) = if t.self_signed {
            let ck = rcgen::generate_simple_self_signed(vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
            ])
            .map_err(|e| tls(format!("cannot generate a self-signed certificate: {e}")))?;
            let pem = ck.cert.pem();
            let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
                .map_err(|e| tls(format!("generated key: {e}")))?;
            (vec![ck.cert.der().clone()], key, Some(pem))
        } else {
            let (Some(cert), Some(key)) = (&t.cert, &t.key) else {
                return Err(tls("set tls.cert and tls.key, or tls.self_signed".into()));
            };
            let cert = config.resolve_path(cert);
            let key = config.resolve_path(key);
            let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
                .map_err(|e| tls(format!("{}: {e}", cert.display())))?
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| tls(format!("{}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(tls(format!("{}: no CERTIFICATE block", cert.display())));
            }
            let der = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
                tls(format!(
                    "{}: {}",
                    key.display(),
                    bearing_auth::pem_error_reason(&e)
                ))
            })?;
            files = Some(format!("{} and {}", cert.display(), key.display()));
            (chain, der, None)
        };
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| tls(e.to_string()))?;
        let builder = match &t.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let ca = config.resolve_path(ca);
                let mut roots = rustls::RootCertStore::empty();
                for c in CertificateDer::pem_file_iter(&ca)
                    .map_err(|e| tls(format!("{}: {e}", ca.display())))?
                {
                    let c = c.map_err(|e| tls(format!("{}: {e}", ca.display())))?;
                    roots
                        .add(c)
                        .map_err(|e| tls(format!("{}: {e}", ca.display())))?;
                }
                let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
                let v = if t.client_cert_required {
                    v
                } else {
                    v.allow_unauthenticated()
                };
                let verifier = v
                    .build()
                    .map_err(|e| tls(format!("client ca {}: {e}", ca.display())))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut sc = builder.with_single_cert(chain, key).map_err(|e| {
            let files = files
                .as_deref()
                .unwrap_or("the generated certificate and key");
            match e {
                rustls::Error::InconsistentKeys(_) => tls(format!(
                    "{files} do not belong together: the certificate is not the key's"
                )),
                e => tls(format!("{files}: {e}")),
            }
        })?;
        // h2 first: a client offering both gets HTTP/2 (RFC 7301 §3.2 lets the server pick).
        sc.alpn_protocols = if t.http1_only {
            vec![b"http/1.1".to_vec()]
        } else {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        };
        Ok(Self {
            acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(sc)),
            generated_pem,
        })
    }
}
