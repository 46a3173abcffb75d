//! TLS for the test gateway: a throw-away PKI (CA, server and client certificates made
//! with rcgen) and an axum listener that terminates TLS with tokio-rustls and requires a
//! client certificate issued by the CA (the portal's mTLS option).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use super::{Gateway, new_state, router};

/// PEM files of a test PKI, written into a temporary directory.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca_der: CertificateDer<'static>,
    server_cert: CertificateDer<'static>,
    server_key: Vec<u8>,
}

impl Pki {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn write(dir: &Path, name: &str, contents: &str) {
    std::fs::write(dir.join(name), contents).expect("write pem");
}

/// A CA, a server certificate for 127.0.0.1, a client certificate and key from that CA
/// (`client.pem`, `client.key`), and a stray key that matches nothing (`other.key`).
/// Files: `ca.pem`, `client.pem`, `client.key`, `other.key`.
pub fn pki() -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "bearing test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
        .expect("ca cert");

    let mut server_params = CertificateParams::new(Vec::<String>::new()).expect("server params");
    server_params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().expect("dns name")),
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_key = KeyPair::generate().expect("server key");
    let server_cert = server_params
        .signed_by(&server_key, &ca)
        .expect("server cert");

    let mut client_params = CertificateParams::new(Vec::<String>::new()).expect("client params");
    client_params
        .distinguished_name
        .push(DnType::CommonName, "SampleConfId");
    client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let client_key = KeyPair::generate().expect("client key");
    let client_cert = client_params
        .signed_by(&client_key, &ca)
        .expect("client cert");

    write(dir.path(), "ca.pem", &ca.pem());
    write(dir.path(), "client.pem", &client_cert.pem());
    write(dir.path(), "client.key", &client_key.serialize_pem());
    write(
        dir.path(),
        "other.key",
        &KeyPair::generate().expect("other key").serialize_pem(),
    );
    Pki {
        dir,
        ca_der: ca.der().clone(),
        server_cert: server_cert.der().clone(),
        server_key: server_key.serialize_der(),
    }
}

/// Accepts TCP connections and completes the TLS handshake; failed handshakes (a client
/// without a certificate) are dropped and accepting goes on.
struct TlsListener {
    tcp: TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(tls) = self.acceptor.accept(tcp).await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// Starts the test gateway over TLS, requiring a client certificate issued by the CA.
pub async fn start_mtls(pki: &Pki) -> Gateway {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca_der.clone()).expect("ca root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .expect("client verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![pki.server_cert.clone()],
            PrivateKeyDer::Pkcs8(pki.server_key.clone().into()),
        )
        .expect("server config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let state = new_state();
    let app = router(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Gateway {
        addr,
        state,
        tls: true,
    }
}

/// A server certificate issued by the test CA for `san` (an IP or DNS name), expired when
/// `expired`: (certificate DER, PKCS#8 key DER).
pub fn issue(
    ca: &CertifiedIssuer<'static, KeyPair>,
    san: SanType,
    expired: bool,
) -> (CertificateDer<'static>, Vec<u8>) {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = vec![san];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    if expired {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2020, 1, 2);
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, ca).expect("cert");
    (cert.der().clone(), key.serialize_der())
}

/// A CA (certificate in `dir/ca.pem`) whose key is kept, for [`issue`].
pub fn ca(dir: &Path) -> CertifiedIssuer<'static, KeyPair> {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "bearing test CA 2");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key"))
        .expect("ca cert");
    write(dir, "ca.pem", &ca.pem());
    ca
}

/// Starts the test gateway over TLS with this certificate, no client authentication.
pub async fn start_with(cert: CertificateDer<'static>, key: Vec<u8>) -> Gateway {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert], PrivateKeyDer::Pkcs8(key.into()))
        .expect("server config");
    let tcp = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = tcp.local_addr().expect("addr");
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let state = new_state();
    let app = router(Arc::clone(&state));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    Gateway {
        addr,
        state,
        tls: true,
    }
}
