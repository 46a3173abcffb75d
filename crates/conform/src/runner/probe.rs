//! Transport probes (catalog tp-*): the token request and the API call over plain `http://`
//! must be refused (a redirect already sent the assertion in clear), and a TLS 1.0 / 1.1
//! ClientHello must not be answered with a ServerHello (RFC 8996). When the target itself is
//! plain HTTP there are two cases: on loopback (the sandbox) there is nothing to compare and
//! the probes are skipped with the reason; to any other host, tokens and API calls going in
//! clear are the evidence (RFC 6749 §3.2 "MUST require the use of TLS"), so the token and API
//! probes send the request as the target names it and fail when it is served.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::case::{CaseCtx, StepEnd};
use crate::http::Request;
use crate::model::ProbeStep;
use crate::outcome::Finding;

/// A minimal TLS ClientHello offering only `version` (0x0301 = TLS 1.0, 0x0302 = 1.1), with
/// SNI, no `supported_versions` extension and a few CBC suites those versions had.
pub(crate) fn client_hello(version: u16, host: &str) -> Vec<u8> {
    let v = version.to_be_bytes();
    let mut hello = Vec::new();
    hello.extend_from_slice(&v);
    let mut random = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut random);
    hello.extend_from_slice(&random);
    hello.push(0); // session id
    let suites: [u16; 6] = [0xc013, 0xc014, 0x002f, 0x0035, 0x000a, 0x00ff];
    hello.extend_from_slice(&u16::try_from(suites.len() * 2).unwrap_or(0).to_be_bytes());
    for s in suites {
        hello.extend_from_slice(&s.to_be_bytes());
    }
    hello.extend_from_slice(&[1, 0]); // compression: null
    let mut ext = Vec::new();
    if !host.is_empty() && host.parse::<std::net::IpAddr>().is_err() {
        let name = host.as_bytes();
        let n = u16::try_from(name.len()).unwrap_or(0);
        ext.extend_from_slice(&[0, 0]);
        ext.extend_from_slice(&(n + 5).to_be_bytes());
        ext.extend_from_slice(&(n + 3).to_be_bytes());
        ext.push(0);
        ext.extend_from_slice(&n.to_be_bytes());
        ext.extend_from_slice(name);
    }
    // supported_groups (secp256r1, secp384r1) and ec_point_formats (uncompressed).
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    hello.extend_from_slice(&u16::try_from(ext.len()).unwrap_or(0).to_be_bytes());
    hello.extend_from_slice(&ext);
    let mut handshake = vec![0x01];
    let len = u32::try_from(hello.len()).unwrap_or(0).to_be_bytes();
    handshake.extend_from_slice(&len[1..]);
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap_or(0).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// What the server answered to an old ClientHello.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HelloAnswer {
    /// A ServerHello with this version: the old protocol was negotiated.
    ServerHello(u16),
    /// An alert, a close, or anything but a ServerHello.
    Refused(String),
}

/// Reads the first record of the server's answer.
pub(crate) fn classify(answer: &[u8]) -> HelloAnswer {
    match answer {
        [] => HelloAnswer::Refused("connection closed".into()),
        [0x15, ..] => HelloAnswer::Refused(format!(
            "alert {}",
            answer
                .get(6)
                .map_or_else(|| "?".to_owned(), |d| d.to_string())
        )),
        // Handshake record whose first message is a ServerHello (type 2): version follows the
        // 4-byte handshake header.
        [0x16, _, _, _, _, 0x02, _, _, _, hi, lo, ..] => {
            HelloAnswer::ServerHello(u16::from_be_bytes([*hi, *lo]))
        }
        _ => HelloAnswer::Refused("no ServerHello".into()),
    }
}

impl CaseCtx<'_> {
    fn probe_finding(&mut self, passed: bool, message: String) {
        let binding = self.case.level.is_binding();
        self.findings.push(Finding {
            step: self.step,
            passed,
            binding,
            message,
        });
    }

    pub(crate) async fn probe_step(&mut self, p: ProbeStep) -> StepEnd {
        let token_url = self.env.target.token_url.clone();
        if token_url.scheme() != "https" {
            let origin = token_url.origin().ascii_serialization();
            return match (plain_http_target(&token_url), p) {
                (PlainTarget::Loopback, _) => StepEnd::Skip(format!(
                    "the target is plain HTTP on loopback ({origin}): no TLS to probe \
                     (to a non-loopback host, plain HTTP fails this case)"
                )),
                (PlainTarget::Remote, ProbeStep::PlainHttpToken) => {
                    self.plain_http_as_given(true).await
                }
                (PlainTarget::Remote, ProbeStep::PlainHttpApi) => {
                    self.plain_http_as_given(false).await
                }
                (PlainTarget::Remote, ProbeStep::Tls10 | ProbeStep::Tls11) => {
                    StepEnd::Skip(format!(
                        "the target is plain HTTP ({origin}): no TLS to probe \
                         (tp-plain-http and tp-rs-tls judge the plain HTTP itself)"
                    ))
                }
            };
        }
        match p {
            ProbeStep::Tls10 => self.old_tls(0x0301, "TLS 1.0").await,
            ProbeStep::Tls11 => self.old_tls(0x0302, "TLS 1.1").await,
            ProbeStep::PlainHttpToken => self.plain_http(true).await,
            ProbeStep::PlainHttpApi => self.plain_http(false).await,
        }
    }

    async fn old_tls(&mut self, version: u16, name: &str) -> StepEnd {
        let url = &self.env.target.token_url;
        let host = url.host_str().unwrap_or_default().to_owned();
        let port = url.port_or_known_default().unwrap_or(443);
        let timeout = self.env.config.request_timeout;
        let attempt = async {
            let mut s = tokio::net::TcpStream::connect((host.as_str(), port)).await?;
            s.write_all(&client_hello(version, &host)).await?;
            let mut buf = vec![0u8; 512];
            let mut got = Vec::new();
            // Read until the first record header and a few bytes are in, or the peer closes.
            while got.len() < 11 {
                let n = s.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            Ok::<_, std::io::Error>(got)
        };
        let answer = match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(bytes)) => classify(&bytes),
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                return StepEnd::Error(format!("cannot connect to {host}:{port}: {e}"));
            }
            Ok(Err(e)) => HelloAnswer::Refused(format!("connection error: {e}")),
            Err(_) => HelloAnswer::Refused("no answer within the timeout".into()),
        };
        match answer {
            HelloAnswer::ServerHello(v) => {
                self.probe_finding(
                    false,
                    format!("{name} ClientHello answered with a ServerHello (version 0x{v:04x})"),
                );
            }
            HelloAnswer::Refused(how) => {
                self.probe_finding(true, format!("{name} handshake refused: {how}"));
            }
        }
        StepEnd::Continue
    }

    /// A plain-HTTP target on a non-loopback host: the request goes as the target names it.
    async fn plain_http_as_given(&mut self, token: bool) -> StepEnd {
        match self.plain_request(token) {
            None => StepEnd::Skip("the target lists no apis".into()),
            Some(Err(e)) => StepEnd::Error(e),
            Some(Ok(req)) => self.send_plain(req, token).await,
        }
    }

    /// The baseline token request, or an API call with a garbage token.
    fn plain_request(&mut self, token: bool) -> Option<Result<Request, String>> {
        if token {
            let a = match self.env.primary.signer.sign() {
                Ok(a) => a,
                Err(e) => return Some(Err(e.to_string())),
            };
            self.secrets.add(a.expose());
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", bearing_auth::JWT_BEARER_GRANT);
            form.append_pair("assertion", a.expose());
            Some(Ok(Request {
                method: "POST".into(),
                url: self.env.target.token_url.clone(),
                headers: vec![(
                    "Content-Type".into(),
                    bearing_auth::FORM_CONTENT_TYPE.into(),
                )],
                body: Some(form.finish().into_bytes()),
            }))
        } else {
            let api = self.env.target.apis.first()?;
            // A garbage token: a real one must not travel in clear, and any answer but a
            // refusal shows the resource serves plain HTTP.
            let fake: String = "plain-http-probe-not-a-token".into();
            Some(Ok(Request {
                method: api.method.to_ascii_uppercase(),
                url: api.url.clone(),
                headers: vec![("Authorization".into(), format!("Bearer {fake}"))],
                body: None,
            }))
        }
    }

    async fn plain_http(&mut self, token: bool) -> StepEnd {
        let mut req = match self.plain_request(token) {
            None => return StepEnd::Skip("the target lists no apis".into()),
            Some(Err(e)) => return StepEnd::Error(e),
            Some(Ok(r)) => r,
        };
        if req.url.scheme() != "https" || req.url.set_scheme("http").is_err() {
            return StepEnd::Skip("the endpoint is not https".into());
        }
        if req.url.port() == Some(443) {
            let _ = req.url.set_port(None);
        }
        self.send_plain(req, token).await
    }

    async fn send_plain(&mut self, req: Request, token: bool) -> StepEnd {
        let started = Instant::now();
        let resp = crate::http::send(
            &self.env.http,
            &req,
            self.env.config.request_timeout.min(Duration::from_secs(10)),
        )
        .await;
        self.record("probe", &req, &resp, started.elapsed());
        let what = if token { "token request" } else { "api call" };
        match resp {
            Err(e) => self.probe_finding(true, format!("plain-HTTP {what} refused: {e}")),
            Ok(r) if (300..400).contains(&r.status) => self.probe_finding(
                false,
                format!("plain-HTTP {what} answered with redirect {}: the request already went in clear", r.status),
            ),
            Ok(r) if token && r.json().is_some_and(|b: Value| b.get("access_token").is_some()) => {
                self.probe_finding(false, format!("plain-HTTP token request issued a token ({})", r.status));
            }
            Ok(r) if !token && (200..300).contains(&r.status) => {
                self.probe_finding(false, format!("plain-HTTP api call answered {}", r.status));
            }
            Ok(r) => self.probe_finding(true, format!("plain-HTTP {what} refused with {}", r.status)),
        }
        StepEnd::Continue
    }
}

/// Where a plain-HTTP target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PlainTarget {
    /// 127.0.0.0/8, ::1 or `localhost`: nothing leaves the machine.
    Loopback,
    /// Any other host: credentials cross a network in clear.
    Remote,
}

/// Classifies the host of a plain-HTTP URL.
pub(crate) fn plain_http_target(url: &url::Url) -> PlainTarget {
    let loopback = match url.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        None => false,
    };
    if loopback {
        PlainTarget::Loopback
    } else {
        PlainTarget::Remote
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Only loopback plain-HTTP targets are skipped; any other host is judged (RFC 6749 §3.2).
    #[test]
    fn plain_http_targets_are_classified() {
        for (u, want) in [
            ("http://127.0.0.1:8080/oauth/token", PlainTarget::Loopback),
            ("http://127.1.2.3/oauth/token", PlainTarget::Loopback),
            ("http://[::1]:80/oauth/token", PlainTarget::Loopback),
            ("http://localhost/oauth/token", PlainTarget::Loopback),
            ("http://gw.example.com/oauth/token", PlainTarget::Remote),
            ("http://10.0.0.5:8080/oauth/token", PlainTarget::Remote),
            (
                "http://localhost.example.com/oauth/token",
                PlainTarget::Remote,
            ),
        ] {
            let url: url::Url = u.parse().expect("url");
            assert_eq!(plain_http_target(&url), want, "{u}");
        }
    }

    // The ClientHello is a well-formed TLS record; answers are classified.
    #[test]
    fn hello_and_answers() {
        let h = client_hello(0x0301, "gw.example.com");
        assert_eq!(&h[..3], &[0x16, 0x03, 0x01]);
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        assert_eq!(h.len(), 5 + len);
        assert_eq!(h[5], 0x01);
        assert_eq!(&h[9..11], &[0x03, 0x01]);
        assert!(h.windows(14).any(|w| w == b"gw.example.com"));
        assert_eq!(
            classify(&[]),
            HelloAnswer::Refused("connection closed".into())
        );
        assert!(matches!(
            classify(&[0x15, 3, 3, 0, 2, 2, 70]),
            HelloAnswer::Refused(_)
        ));
        assert_eq!(
            classify(&[0x16, 3, 1, 0, 50, 0x02, 0, 0, 46, 3, 1, 0]),
            HelloAnswer::ServerHello(0x0301)
        );
    }

    // A rustls server (TLS 1.2+ only) refuses a TLS 1.0 ClientHello.
    #[tokio::test]
    async fn rustls_refuses_tls10() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let key =
            bearing_auth::SigningKey::generate(bearing_auth::Algorithm::ES256, 0).expect("key");
        let cert = bearing_auth::Certificate::self_signed(&key, "localhost", 1).expect("cert");
        let config = rustls_server_config(&key, &cert);
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        tokio::spawn(async move {
            if let Ok((s, _)) = listener.accept().await {
                let _ = acceptor.accept(s).await;
            }
        });
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        s.write_all(&client_hello(0x0301, "localhost"))
            .await
            .expect("write");
        let mut buf = vec![0u8; 64];
        let n = s.read(&mut buf).await.unwrap_or(0);
        assert!(
            matches!(classify(&buf[..n]), HelloAnswer::Refused(_)),
            "{:?}",
            &buf[..n]
        );
    }

    fn rustls_server_config(
        key: &bearing_auth::SigningKey,
        cert: &bearing_auth::Certificate,
    ) -> rustls::ServerConfig {
        let der = rustls_pki_types::CertificateDer::from(cert.der().to_vec());
        let k = rustls_pki_types::PrivateKeyDer::Pkcs8(key.pkcs8_der().expose().to_vec().into());
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![der], k)
        .expect("server config")
    }
}
