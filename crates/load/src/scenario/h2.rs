//! The lean HTTP/2 client of the API scenarios, on a target with `http2: true` (issue 15).
//! Each simulated user owns one TLS connection whose ALPN offers only `h2`, driven with
//! `hyper::client::conn::http2` (the `h2` crate): no pool, no connector, no URL parsing per
//! request. A user sends its requests one after the other as the scenario drives it, so its
//! connection carries one stream at a time (as `oha --http2 -p 1`, the default, does); what
//! changes from HTTP/1.1 is the framing (HPACK, streams), not the concurrency.
//!
//! The TLS config is the target's (roots, CA bundle, pin, mTLS identity; SNI and hostname
//! verification from the URL's host), as for [`Http1Client`]. A gateway that does not
//! choose `h2` fails the connection: kind `no_h2`, explained once per connection in a
//! warning. [`LeanClient`] is the one place where a scenario picks HTTP/1.1 or HTTP/2.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::ClientConfig;
use tokio_rustls::rustls::pki_types::ServerName;
use url::{Host, Position};

use super::http1::Http1Client;
use crate::target::ApiCall;

type Body = Full<Bytes>;

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
            // Boxed: hyper's h2 request future would make every caller's future large.
            Self::H2(c) => Box::pin(c.send(token)).await,
        }
    }

    /// Closes the connection (`connection: new`).
    pub(crate) fn disconnect(&mut self) {
        match self {
            Self::Http1(c) => c.disconnect(),
            Self::H2(c) => c.disconnect(),
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
    method: Method,
    /// Absolute form: HTTP/2 takes `:scheme` and `:authority` from it.
    uri: Uri,
    /// Every request's headers: `user-agent`, `accept`, the API's own, and an
    /// `authorization` slot replaced per request.
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
    /// The last token and its header value (a token serves many requests).
    auth: Option<(String, HeaderValue)>,
    live: Option<Live>,
}

impl std::fmt::Debug for H2Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H2Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("uri", &self.uri)
            .field("connected", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// An open connection; dropping it stops the connection's task (and so closes it).
struct Live {
    sender: SendRequest<Body>,
    task: JoinHandle<()>,
    /// It has answered a request: a failure on it may be a close the server started.
    reused: bool,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.task.abort();
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
        let mut headers = HeaderMap::with_capacity(api.headers.len() + 3);
        for (k, v) in &api.headers {
            headers.append(k.clone(), v.clone());
        }
        headers
            .entry(header::USER_AGENT)
            .or_insert(HeaderValue::from_static(concat!(
                "bearing/",
                env!("CARGO_PKG_VERSION")
            )));
        headers
            .entry(header::ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static(""));
        Some(Self {
            host,
            port,
            connector: TlsConnector::from(Arc::clone(tls)),
            name,
            method: api.method.clone(),
            uri,
            headers,
            body: api.body.clone().unwrap_or_default(),
            timeout,
            auth: None,
            live: None,
        })
    }

    /// Sends the API call with `Authorization: Bearer {token}` and reads the whole response
    /// body, within the timeout. Returns the status, or the failure kind: `connect`, `tls`,
    /// `no_h2`, `timeout`, `body` or `transport`.
    ///
    /// A request refused on a reused connection before any answer (the server was closing
    /// it) is sent once more on a new one.
    pub(crate) async fn send(&mut self, token: &str) -> Result<u16, Cow<'static, str>> {
        let Some(auth) = self.authorization(token) else {
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
            let mut req = Request::new(Full::new(self.body.clone()));
            *req.method_mut() = self.method.clone();
            *req.uri_mut() = self.uri.clone();
            *req.headers_mut() = self.headers.clone();
            req.headers_mut()
                .insert(header::AUTHORIZATION, auth.clone());
            let live = self.ready().await?;
            let reused = live.reused;
            match live.sender.send_request(req).await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let mut body = resp.into_body();
                    while let Some(frame) = body.frame().await {
                        if frame.is_err() {
                            self.live = None;
                            return Err("body".into());
                        }
                    }
                    live.reused = true;
                    return Ok(status);
                }
                Err(e) if reused && !retried && (e.is_canceled() || e.is_closed()) => {
                    tracing::debug!(error = %e, "reused h2 connection closed before an answer; once more on a new one");
                    self.live = None;
                    retried = true;
                }
                Err(e) => {
                    tracing::debug!(error = %e, "h2 request failed");
                    self.live = None;
                    return Err("transport".into());
                }
            }
        }
    }

    /// The open connection once it can take a request, after reconnecting if the server
    /// has closed it.
    async fn ready(&mut self) -> Result<&mut Live, Cow<'static, str>> {
        if let Some(live) = &mut self.live
            && (live.sender.is_closed() || live.sender.ready().await.is_err())
        {
            self.live = None;
        }
        if self.live.is_none() {
            self.live = Some(self.connect().await?);
        }
        // Set just above; a miss would be a bug, reported as a transport failure.
        self.live.as_mut().ok_or_else(|| "transport".into())
    }

    async fn connect(&self) -> Result<Live, Cow<'static, str>> {
        let host = self.host.as_str();
        let stream = TcpStream::connect((host, self.port)).await.map_err(|e| {
            tracing::debug!(error = %e, host, port = self.port, "connect failed");
            Cow::Borrowed("connect")
        })?;
        // As reqwest does: requests are small and latency is what is measured.
        let _ = stream.set_nodelay(true);
        let tls = self
            .connector
            .connect(self.name.clone(), stream)
            .await
            .map_err(|e| match bearing_auth::tls::explain(&e, host) {
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
        let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .handshake(TokioIo::new(tls))
            .await
            .map_err(|e| {
                tracing::debug!(error = %e, host, "h2 handshake failed");
                Cow::Borrowed("connect")
            })?;
        let task = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "h2 connection ended with an error");
            }
        });
        Ok(Live {
            sender,
            task,
            reused: false,
        })
    }

    /// Closes the connection (`connection: new`): the next request opens a new one.
    pub(crate) fn disconnect(&mut self) {
        self.live = None;
    }

    fn authorization(&mut self, token: &str) -> Option<HeaderValue> {
        if let Some((t, v)) = &self.auth
            && t == token
        {
            return Some(v.clone());
        }
        let mut v = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        v.set_sensitive(true);
        self.auth = Some((token.to_owned(), v.clone()));
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
                assert_eq!(c.uri.to_string(), "https://example.invalid/a?x=1");
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
}
