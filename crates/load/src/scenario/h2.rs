//! The lean HTTP/2 client of the API scenarios, on a target with `http2: true` (issue 15).
//! Each simulated user owns one TLS connection whose ALPN offers only `h2`, driven with the
//! `h2` crate (hyper's own HTTP/2) inside the user's task: no pool, no connector, no URL
//! parsing, and no connection task or task per request (hyper's h2 client spawns both), so
//! no wake-up crosses tasks. A user sends its requests one after the other as the scenario drives it, so its
//! connection carries one stream at a time (as `oha --http2 -p 1`, the default, does); what
//! changes from HTTP/1.1 is the framing (HPACK, streams), not the concurrency.
//!
//! The TLS config is the target's (roots, CA bundle, pin, mTLS identity; SNI and hostname
//! verification from the URL's host), as for [`Http1Client`]. A gateway that does not
//! choose `h2` fails the connection: kind `no_h2`, explained once per connection in a
//! warning. [`LeanClient`] is the one place where a scenario picks HTTP/1.1 or HTTP/2.

use std::borrow::Cow;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Request, Uri};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use url::{Host, Position};

use super::http1::{BearerCache, Http1Client, Opened, drive};
use crate::target::ApiCall;

/// A user's own connection for its API calls: HTTP/1.1, or HTTP/2 on a target with
/// `http2: true`.
#[derive(Debug)]
pub(crate) enum LeanClient {
    /// `http://`, or `https://` with ALPN `http/1.1`.
    Http1(Box<Http1Client>),
    /// `https://` with ALPN `h2`.
    H2(Box<H2Client>),
}

impl LeanClient {
    /// A client for `api` (see [`Http1Client::for_api`] and [`H2Client::for_api`]); `None`
    /// when the URL is not for this client (it stays on reqwest).
    pub(crate) fn for_api(
        api: &ApiCall,
        timeout: Duration,
        tls: Option<&Arc<ClientConfig>>,
        http2: bool,
    ) -> Option<Self> {
        if http2 {
            H2Client::for_api(api, timeout, tls?).map(|c| Self::H2(Box::new(c)))
        } else {
            Http1Client::for_api(api, timeout, tls).map(|c| Self::Http1(Box::new(c)))
        }
    }

    /// Sends the API call with the token (see [`Http1Client::send`]).
    pub(crate) async fn send(&mut self, token: &str) -> Result<u16, Cow<'static, str>> {
        match self {
            Self::Http1(c) => c.send(token).await,
            Self::H2(c) => c.send(token).await,
        }
    }

    /// Closes the connection (`connection: new`).
    pub(crate) fn disconnect(&mut self) {
        match self {
            Self::Http1(c) => c.disconnect(),
            Self::H2(c) => c.disconnect(),
        }
    }

    /// The connections opened since the last call (for the `connect` and `handshake`
    /// phases).
    pub(crate) fn take_opened(&mut self) -> std::vec::Drain<'_, Opened> {
        match self {
            Self::Http1(c) => c.take_opened(),
            Self::H2(c) => c.opened.drain(..),
        }
    }
}

/// One user's HTTP/2 connection to one API: opened on first use, and again when the server
/// closes it (GOAWAY, idle close) or an exchange fails.
pub(crate) struct H2Client {
    /// Host to connect to: a DNS name or an IP literal (no brackets).
    host: String,
    port: u16,
    connector: TlsConnector,
    /// The name sent as SNI and verified.
    name: ServerName<'static>,
    /// The request head without `authorization`: method, absolute URI (HTTP/2 takes
    /// `:scheme` and `:authority` from it), `user-agent`, `accept` and the API's headers.
    head: Request<()>,
    body: Bytes,
    timeout: Duration,
    /// The last token and its header value (a token serves many requests).
    auth: BearerCache,
    live: Option<Live>,
    /// Connections opened since the caller last took them (see [`LeanClient::take_opened`]).
    opened: Vec<Opened>,
}

impl std::fmt::Debug for H2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("uri", self.head.uri())
            .field("connected", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

type Conn = h2::client::Connection<TlsStream<TcpStream>, Bytes>;

/// An open connection. Its I/O is polled in the user's own task alongside each exchange
/// (no connection task, no task per request), as the HTTP/1.1 client does.
struct Live {
    sender: h2::client::SendRequest<Bytes>,
    /// `None` once h2 has finished with it (closed by either side or failed).
    conn: Option<Pin<Box<Conn>>>,
    /// It has answered a request: a refusal on it may be a close the server started.
    reused: bool,
}

/// Why one exchange failed.
enum Failure {
    /// Before a response head arrived; `retry` when the server did not process the request
    /// (GOAWAY, REFUSED_STREAM: RFC 9113 §8.7).
    Request { retry: bool },
    /// While reading the body.
    Body,
}

impl Failure {
    fn request(e: &h2::Error) -> Self {
        tracing::debug!(error = %e, "h2 request failed");
        Self::Request {
            retry: e.is_go_away() || e.reason() == Some(h2::Reason::REFUSED_STREAM),
        }
    }
}

impl H2Client {
    /// A client for `api` on an `https://` URL with `tls` (the target's rustls config
    /// offering ALPN `h2` only); `None` for any other scheme.
    pub(crate) fn for_api(
        api: &ApiCall,
        timeout: Duration,
        tls: &Arc<ClientConfig>,
    ) -> Option<Self> {
        let url = &api.url;
        if url.scheme() != "https" {
            return None;
        }
        let host = match url.host()? {
            Host::Domain(d) => d.to_owned(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        };
        let name = ServerName::try_from(host.clone()).ok()?;
        let port = url.port_or_known_default()?;
        let uri: Uri = url[..Position::AfterQuery].parse().ok()?;
        let mut head = Request::new(());
        *head.method_mut() = api.method.clone();
        *head.uri_mut() = uri;
        let headers = head.headers_mut();
        for (k, v) in &api.headers {
            headers.append(k.clone(), v.clone());
        }
        // Connection-specific headers are not HTTP/2's (RFC 9113 §8.2.2); `host` is
        // `:authority`.
        for h in [
            header::CONNECTION,
            header::TRANSFER_ENCODING,
            header::UPGRADE,
            header::TE,
            header::HOST,
        ] {
            headers.remove(h);
        }
        headers.remove("keep-alive");
        headers.remove("proxy-connection");
        super::http1::default_headers(headers);
        Some(Self {
            host,
            port,
            connector: TlsConnector::from(Arc::clone(tls)),
            name,
            head,
            body: api.body.clone().unwrap_or_default(),
            timeout,
            auth: BearerCache::default(),
            live: None,
            opened: Vec::new(),
        })
    }

    /// Sends the API call with `Authorization: Bearer {token}` and reads the whole response
    /// body, within the timeout. Returns the status, or the failure kind: `connect`, `tls`,
    /// `no_h2`, `timeout`, `body` or `transport`.
    ///
    /// A request the server refused unprocessed on a reused connection (GOAWAY,
    /// REFUSED_STREAM) is sent once more on a new one.
    pub(crate) async fn send(&mut self, token: &str) -> Result<u16, Cow<'static, str>> {
        let Some(auth) = self.auth.header(token) else {
            return Err("transport".into());
        };
        match tokio::time::timeout(self.timeout, self.send_within(auth)).await {
            Ok(r) => r,
            Err(_) => {
                self.live = None;
                Err("timeout".into())
            }
        }
    }

    async fn send_within(&mut self, auth: HeaderValue) -> Result<u16, Cow<'static, str>> {
        let mut retried = false;
        loop {
            let mut req = Request::new(());
            *req.method_mut() = self.head.method().clone();
            *req.uri_mut() = self.head.uri().clone();
            *req.headers_mut() = self.head.headers().clone();
            req.headers_mut()
                .insert(header::AUTHORIZATION, auth.clone());
            let body = self.body.clone();
            let live = self.ready().await?;
            let reused = live.reused;
            let Live { sender, conn, .. } = &mut *live;
            let result = drive(conn, async {
                let end = body.is_empty();
                let (response, mut stream) = sender
                    .send_request(req, end)
                    .map_err(|e| Failure::request(&e))?;
                if !end {
                    stream
                        .send_data(body, true)
                        .map_err(|e| Failure::request(&e))?;
                }
                let resp = response.await.map_err(|e| Failure::request(&e))?;
                let status = resp.status().as_u16();
                let mut body = resp.into_body();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk.map_err(|_| Failure::Body)?;
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                Ok(status)
            })
            .await;
            match result {
                Ok(status) => {
                    live.reused = true;
                    return Ok(status);
                }
                Err(Failure::Request { retry: true }) if reused && !retried => {
                    self.live = None;
                    retried = true;
                }
                Err(Failure::Request { .. }) => {
                    self.live = None;
                    return Err("transport".into());
                }
                Err(Failure::Body) => {
                    self.live = None;
                    return Err("body".into());
                }
            }
        }
    }

    /// The open connection once it can take a request, after reconnecting if it has
    /// closed.
    async fn ready(&mut self) -> Result<&mut Live, Cow<'static, str>> {
        if let Some(live) = &mut self.live {
            let Live { sender, conn, .. } = live;
            let ready = drive(conn, poll_fn(|cx| sender.poll_ready(cx))).await;
            if ready.is_err() || conn.is_none() {
                self.live = None;
            }
        }
        if self.live.is_none() {
            self.live = Some(self.connect().await?);
        }
        // Set just above; a miss would be a bug, reported as a transport failure.
        self.live.as_mut().ok_or_else(|| "transport".into())
    }

    async fn connect(&mut self) -> Result<Live, Cow<'static, str>> {
        let host = self.host.as_str();
        // Noted before the first await: a connect cut by the timeout still shows.
        let at = self.opened.len();
        self.opened.push(Opened {
            started: Instant::now(),
            connect: None,
            handshake: None,
            tls: true,
            resumed: false,
        });
        let stream = TcpStream::connect((host, self.port)).await;
        self.opened[at].connect = Some((Instant::now(), stream.is_ok()));
        let stream = stream.map_err(|e| {
            tracing::debug!(error = %e, host, port = self.port, "connect failed");
            Cow::Borrowed("connect")
        })?;
        // As reqwest does: requests are small and latency is what is measured.
        let _ = stream.set_nodelay(true);
        let tls = self.connector.connect(self.name.clone(), stream).await;
        self.opened[at].handshake = Some((Instant::now(), tls.is_ok()));
        self.opened[at].resumed = tls.as_ref().is_ok_and(|t| {
            t.get_ref().1.handshake_kind() == Some(tokio_rustls::rustls::HandshakeKind::Resumed)
        });
        let tls = tls.map_err(|e| match bearing_auth::tls::explain(&e, host) {
            // The alert of a server without h2 in its ALPN list.
            Some((bearing_auth::tls::TlsFailure::NoHttp2, why)) => {
                tracing::warn!(host, "{why}");
                Cow::Borrowed("no_h2")
            }
            Some((_, why)) => {
                tracing::warn!(host, "{why}");
                Cow::Borrowed("tls")
            }
            None => {
                tracing::debug!(error = %e, host, "tls handshake failed");
                Cow::Borrowed("tls")
            }
        })?;
        if tls.get_ref().1.alpn_protocol() != Some(b"h2") {
            // The server ignored ALPN: it would answer HTTP/1.1, not HTTP/2.
            tracing::warn!(
                host,
                "{host} chose no HTTP/2 in TLS ALPN: the gateway does not offer HTTP/2; \
                 fix: remove http2: true (--http2) from the target"
            );
            return Err("no_h2".into());
        }
        let (sender, conn) = h2::client::handshake(tls).await.map_err(|e| {
            tracing::debug!(error = %e, host, "h2 handshake failed");
            Cow::Borrowed("connect")
        })?;
        Ok(Live {
            sender,
            conn: Some(Box::pin(conn)),
            reused: false,
        })
    }

    /// Closes the connection (`connection: new`): the next request opens a new one.
    pub(crate) fn disconnect(&mut self) {
        self.live = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use hyper::Method;

    fn api(url: &str) -> ApiCall {
        ApiCall {
            name: "a".into(),
            method: Method::GET,
            url: url.parse().expect("url"),
            headers: vec![],
            body: None,
        }
    }

    fn h2_config() -> Arc<ClientConfig> {
        bearing_auth::token::TlsMaterial::load(&Default::default())
            .expect("default tls")
            .client_config(&[b"h2"], true)
    }

    // http2 picks the h2 client on https only; without http2 the HTTP/1.1 client as before.
    #[test]
    fn http2_picks_h2_on_https() {
        let tls = h2_config();
        let t = Duration::from_secs(1);
        let https = api("https://example.invalid/a?x=1#frag");
        match LeanClient::for_api(&https, t, Some(&tls), true) {
            Some(LeanClient::H2(c)) => {
                assert_eq!(c.head.uri().to_string(), "https://example.invalid/a?x=1");
                assert_eq!(c.port, 443);
            }
            other => panic!("want h2, got {other:?}"),
        }
        assert!(LeanClient::for_api(&https, t, None, true).is_none());
        assert!(LeanClient::for_api(&api("http://127.0.0.1:1/a"), t, Some(&tls), true).is_none());
        assert!(matches!(
            LeanClient::for_api(&api("http://127.0.0.1:1/a"), t, None, false),
            Some(LeanClient::Http1(_))
        ));
    }

    // Nobody listening: `connect`, and no connection is kept.
    #[tokio::test]
    async fn refused_is_connect() {
        let port = {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            l.local_addr().expect("addr").port()
        };
        let tls = h2_config();
        let mut c = H2Client::for_api(
            &api(&format!("https://127.0.0.1:{port}/a")),
            Duration::from_secs(5),
            &tls,
        )
        .expect("https");
        assert_eq!(c.send("t").await, Err("connect".into()));
        assert!(c.live.is_none());
    }

    /// The sandbox's TLS connection counts `(http/1.1, h2)`, read over HTTP/1.1.
    async fn tls_connections(base: &str, pem: &str) -> (u64, u64) {
        let text = reqwest::Client::builder()
            .http1_only()
            .tls_certs_only([reqwest::Certificate::from_pem(pem.as_bytes()).expect("pem")])
            .build()
            .expect("client")
            .get(format!("{base}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("body");
        let count = |p: &str| -> u64 {
            let prefix = format!("bearing_tls_connections_total{{protocol=\"{p}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&prefix))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no {prefix}"))
        };
        (count("http/1.1"), count("h2"))
    }

    // Against the sandbox over TLS: GETs and a POST with a body share one h2 connection
    // (the sandbox answers 401 to the made-up token: an answer is what is tested);
    // `disconnect` makes the next request open a new one.
    #[tokio::test]
    async fn one_connection_carries_every_request() {
        let mut cfg = bearing_gateway::GatewayConfig::sandbox(Vec::new());
        cfg.tls = Some(bearing_gateway::TlsConfig {
            self_signed: true,
            ..Default::default()
        });
        let gw = bearing_gateway::spawn(cfg).await.expect("sandbox");
        let pem = gw.tls_certificate_pem.clone().expect("pem");
        let dir = tempfile::tempdir().expect("tmp");
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, &pem).expect("ca");
        let tls =
            bearing_auth::token::TlsMaterial::load(&bearing_auth::token::TokenClientOptions {
                ca_bundle: Some(ca),
                ..Default::default()
            })
            .expect("tls")
            .client_config(&[b"h2"], true);
        let url = gw.api_url("inventory").expect("api");
        let mut get = H2Client::for_api(&api(&url), Duration::from_secs(5), &tls).expect("h2");
        for _ in 0..3 {
            assert_eq!(get.send("t").await, Ok(401));
        }
        let mut post = api(&url);
        post.method = Method::POST;
        post.body = Some(Bytes::from_static(b"<inventory/>"));
        let mut post = H2Client::for_api(&post, Duration::from_secs(5), &tls).expect("h2");
        assert_eq!(post.send("t").await, Ok(401));
        assert_eq!(tls_connections(&gw.base_url, &pem).await, (1, 2));
        get.disconnect();
        assert_eq!(get.send("t").await, Ok(401));
        assert_eq!(tls_connections(&gw.base_url, &pem).await, (2, 3));
        // Closed, so the graceful shutdown need not wait for them.
        drop((get, post));
        gw.shutdown().await;
    }
}
