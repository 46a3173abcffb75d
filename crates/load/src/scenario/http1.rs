//! The lean HTTP/1.1 client of the API calls and of the `token` scenario's token requests, on
//! `http://` and `https://` targets
//! (issue 7: the generator's CPU per request decides its rate; issue 15: over TLS too). Each simulated user owns one keep-alive
//! connection, driven with `hyper::client::conn::http1` inside the user's own task: no pool,
//! no connector, no URL parsing and no connection task per request, so no wake-up crosses
//! tasks. reqwest's per-request pool, connector and URL work cost ~6 µs of CPU per request.
//!
//! On `https://` the connection is TLS through tokio-rustls with the target's rustls config
//! (the same roots, CA bundle, pin, mTLS identity and verification as the token client;
//! SNI and hostname verification from the URL's host; ALPN `http/1.1`). Unlike reqwest,
//! these connections go straight to the URL's host: `HTTP_PROXY`/`ALL_PROXY` are not
//! consulted (a load run measures the gateway). Each connection opened is noted
//! ([`Opened`]) for the `connect` and `handshake` phases.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use url::{Host, Position};

use crate::target::ApiCall;

type Body = Full<Bytes>;
type Conn = Connection<TokioIo<Stream>, Body>;

/// One user's connection to one API: opened on first use, and again whenever the server
/// closes it (`Connection: close`, an idle keep-alive dropped).
pub(crate) struct Http1Client {
    /// Host to connect to: a DNS name or an IP literal (no brackets).
    host: String,
    port: u16,
    /// On `https://`: the connector and the name sent as SNI and verified.
    tls: Option<(TlsConnector, ServerName<'static>)>,
    method: Method,
    /// Origin form (`/path?query`).
    uri: Uri,
    /// Every request's headers: `host`, `user-agent`, `accept`, the API's own, and an
    /// `authorization` slot replaced per request (so the clone never grows).
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
    /// The last token and its header value (a token serves many requests).
    auth: BearerCache,
    live: Option<Live>,
    /// Connections opened since the caller last took them (for the `connect` and
    /// `handshake` phases).
    opened: Vec<Opened>,
    /// The last response body, when the caller wants it (token responses).
    response: Vec<u8>,
}

/// One connection the client opened (or tried to), with the times of its steps.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Opened {
    /// When the TCP connect started.
    pub(crate) started: Instant,
    /// When the TCP connect ended and whether it succeeded; `None` when the request's
    /// timeout (or the end of the run) cut it.
    pub(crate) connect: Option<(Instant, bool)>,
    /// `https://`: when the TLS handshake ended and whether it succeeded; `None` when it
    /// was cut, or did not start (the connect failed).
    pub(crate) handshake: Option<(Instant, bool)>,
    /// Whether the connection was to be TLS.
    pub(crate) tls: bool,
    /// The TLS handshake resumed an earlier session (`tls.resumption`).
    pub(crate) resumed: bool,
}

impl std::fmt::Debug for Http1Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http1Client")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .field("uri", &self.uri)
            .field("connected", &self.live.is_some())
            .finish_non_exhaustive()
    }
}

/// An open connection.
struct Live {
    sender: SendRequest<Body>,
    /// `None` once hyper has finished with it (closed by either side or failed).
    conn: Option<Pin<Box<Conn>>>,
    /// Bytes read from the socket so far.
    read: Arc<AtomicU64>,
    /// It has answered a request: a failure on it may be a keep-alive the server dropped.
    reused: bool,
}

/// Why one exchange failed.
enum Failure {
    /// Before a response head arrived.
    Request(hyper::Error),
    /// While reading the body.
    Body,
}

impl Http1Client {
    /// A client for `api` on an `http://` URL, or on an `https://` one with `tls` (the
    /// target's rustls config offering ALPN `http/1.1`); `None` for anything else (which
    /// stays on reqwest).
    pub(crate) fn for_api(
        api: &ApiCall,
        timeout: Duration,
        tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
    ) -> Option<Self> {
        let mut c = Self::new(
            &api.url,
            api.method.clone(),
            &api.headers,
            api.body.clone().unwrap_or_default(),
            timeout,
            tls,
        )?;
        c.headers
            .insert(header::AUTHORIZATION, HeaderValue::from_static(""));
        Some(c)
    }

    /// A client for the token endpoint `url` (`POST`, form body per request, JSON
    /// answer), on the same terms as [`Self::for_api`].
    pub(crate) fn for_token(
        url: &url::Url,
        timeout: Duration,
        tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
    ) -> Option<Self> {
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(bearing_auth::token::FORM_CONTENT_TYPE),
            ),
            (header::ACCEPT, HeaderValue::from_static("application/json")),
        ];
        Self::new(url, Method::POST, &headers, Bytes::new(), timeout, tls)
    }

    fn new(
        url: &url::Url,
        method: Method,
        fixed: &[(header::HeaderName, HeaderValue)],
        body: Bytes,
        timeout: Duration,
        tls: Option<&Arc<tokio_rustls::rustls::ClientConfig>>,
    ) -> Option<Self> {
        let host = match url.host()? {
            Host::Domain(d) => d.to_owned(),
            Host::Ipv4(a) => a.to_string(),
            Host::Ipv6(a) => a.to_string(),
        };
        let tls = match (url.scheme(), tls) {
            ("http", _) => None,
            ("https", Some(config)) => Some((
                TlsConnector::from(Arc::clone(config)),
                ServerName::try_from(host.clone()).ok()?,
            )),
            _ => return None,
        };
        let port = url.port_or_known_default()?;
        let uri: Uri = url[Position::BeforePath..Position::AfterQuery]
            .parse()
            .ok()?;
        let authority =
            HeaderValue::from_str(&url[Position::BeforeHost..Position::AfterPort]).ok()?;
        let mut headers = HeaderMap::with_capacity(fixed.len() + 4);
        for (k, v) in fixed {
            headers.append(k.clone(), v.clone());
        }
        headers.entry(header::HOST).or_insert(authority);
        default_headers(&mut headers);
        Some(Self {
            host,
            port,
            tls,
            method,
            uri,
            headers,
            body,
            timeout,
            auth: BearerCache::default(),
            live: None,
            opened: Vec::new(),
            response: Vec::new(),
        })
    }

    /// The connections opened (or tried) since the last call, oldest first.
    pub(crate) fn take_opened(&mut self) -> std::vec::Drain<'_, Opened> {
        self.opened.drain(..)
    }

    /// Sends `body` (a token request's form) and reads the whole answer, within the
    /// timeout: the status and the body (at most [`MAX_RESPONSE`] bytes, else `body`).
    /// Failure kinds as [`Self::send`].
    pub(crate) async fn post(&mut self, body: Bytes) -> Result<(u16, &[u8]), Cow<'static, str>> {
        let status = self.within_timeout(None, body, true).await?;
        Ok((status, &self.response))
    }

    /// Sends the API call with `Authorization: Bearer {token}` and reads the whole response
    /// body, within the timeout. Returns the status, or the failure kind (as
    /// [`transport_kind`](super::transport_kind) names reqwest's): `connect`, `timeout`,
    /// `body` or `transport`.
    ///
    /// A request that fails on a reused connection before the server sent a byte (it had
    /// closed the connection as the request went out) is sent once more on a new one.
    pub(crate) async fn send(&mut self, token: &str) -> Result<u16, Cow<'static, str>> {
        let Some(auth) = self.auth.header(token) else {
            // reqwest reports an unusable header value as a builder error: `transport`.
            return Err("transport".into());
        };
        let body = self.body.clone();
        self.within_timeout(Some(auth), body, false).await
    }

    async fn within_timeout(
        &mut self,
        auth: Option<HeaderValue>,
        body: Bytes,
        keep: bool,
    ) -> Result<u16, Cow<'static, str>> {
        match tokio::time::timeout(self.timeout, self.send_within(auth, body, keep)).await {
            Ok(r) => r,
            Err(_) => {
                // The exchange was cut anywhere: the connection's state is unknown.
                self.live = None;
                Err("timeout".into())
            }
        }
    }

    async fn send_within(
        &mut self,
        auth: Option<HeaderValue>,
        body: Bytes,
        keep: bool,
    ) -> Result<u16, Cow<'static, str>> {
        let mut retried = false;
        loop {
            let mut req = Request::new(Full::new(body.clone()));
            *req.method_mut() = self.method.clone();
            *req.uri_mut() = self.uri.clone();
            *req.headers_mut() = self.headers.clone();
            if let Some(auth) = &auth {
                req.headers_mut()
                    .insert(header::AUTHORIZATION, auth.clone());
            }
            self.response.clear();
            let response = &mut self.response;
            let live = ready(
                &mut self.live,
                &self.host,
                self.port,
                self.tls.as_ref(),
                &mut self.opened,
            )
            .await?;
            let reused = live.reused;
            let read_before = live.read.load(Ordering::Relaxed);
            let Live { sender, conn, .. } = &mut *live;
            let result = drive(conn, async {
                let resp = sender.send_request(req).await.map_err(Failure::Request)?;
                let status = resp.status().as_u16();
                let mut body = resp.into_body();
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(|_| Failure::Body)?;
                    if keep && let Some(data) = frame.data_ref() {
                        if response.len() + data.len() > MAX_RESPONSE {
                            return Err(Failure::Body);
                        }
                        response.extend_from_slice(data);
                    }
                }
                Ok(status)
            })
            .await;
            match result {
                Ok(status) => {
                    live.reused = true;
                    return Ok(status);
                }
                Err(Failure::Request(e))
                    if reused
                        && !retried
                        && !e.is_user()
                        && live.read.load(Ordering::Relaxed) == read_before =>
                {
                    tracing::debug!(error = %e, "reused connection failed before a response; once more on a new one");
                    self.live = None;
                    retried = true;
                }
                Err(Failure::Request(e)) => {
                    tracing::debug!(error = %e, "request failed");
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

    /// Closes the connection (`connection: new`): the next request opens a new one.
    pub(crate) fn disconnect(&mut self) {
        self.live = None;
    }
}

/// The `Authorization: Bearer` value of the last token, marked sensitive: a token serves many
/// requests, so its header is built once (shared by the HTTP/1.1 and h2 clients).
#[derive(Default)]
pub(super) struct BearerCache(Option<(String, HeaderValue)>);

impl BearerCache {
    /// The header value for `token`; `None` when the token is not a valid header value.
    pub(super) fn header(&mut self, token: &str) -> Option<HeaderValue> {
        if let Some((t, v)) = &self.0
            && t == token
        {
            return Some(v.clone());
        }
        let mut v = HeaderValue::from_str(&format!("Bearer {token}")).ok()?;
        v.set_sensitive(true);
        self.0 = Some((token.to_owned(), v.clone()));
        Some(v)
    }
}

/// The `user-agent` and `accept` every lean request carries unless the API sets them (shared
/// by the HTTP/1.1 and h2 clients).
pub(super) fn default_headers(headers: &mut HeaderMap) {
    headers
        .entry(header::USER_AGENT)
        .or_insert(HeaderValue::from_static(concat!(
            "bearing/",
            env!("CARGO_PKG_VERSION")
        )));
    headers
        .entry(header::ACCEPT)
        .or_insert(HeaderValue::from_static("*/*"));
}

/// The most bytes of a kept response body (token responses are a few hundred bytes).
pub(crate) const MAX_RESPONSE: usize = 1024 * 1024;

/// The open connection once it can take a request, after reconnecting if the server has
/// closed it since the last response. Each connection opened is noted in `opened`.
async fn ready<'a>(
    live: &'a mut Option<Live>,
    host: &str,
    port: u16,
    tls: Option<&(TlsConnector, ServerName<'static>)>,
    opened: &mut Vec<Opened>,
) -> Result<&'a mut Live, Cow<'static, str>> {
    if let Some(l) = live {
        let Live { sender, conn, .. } = l;
        if drive(conn, sender.ready()).await.is_err() {
            *live = None;
        }
    }
    if live.is_none() {
        *live = Some(connect(host, port, tls, opened).await?);
    }
    // Set just above; a miss would be a bug, reported as a transport failure.
    live.as_mut().ok_or_else(|| "transport".into())
}

async fn connect(
    host: &str,
    port: u16,
    tls: Option<&(TlsConnector, ServerName<'static>)>,
    opened: &mut Vec<Opened>,
) -> Result<Live, Cow<'static, str>> {
    // Noted before the first await: a connect cut by the timeout still shows.
    let at = opened.len();
    opened.push(Opened {
        started: Instant::now(),
        connect: None,
        handshake: None,
        tls: tls.is_some(),
        resumed: false,
    });
    let stream = TcpStream::connect((host, port)).await;
    opened[at].connect = Some((Instant::now(), stream.is_ok()));
    let stream = stream.map_err(|e| {
        tracing::debug!(error = %e, host, port, "connect failed");
        Cow::Borrowed("connect")
    })?;
    // As reqwest does: requests are small and latency is what is measured.
    let _ = stream.set_nodelay(true);
    let read = Arc::new(AtomicU64::new(0));
    let counted = Counted {
        stream,
        read: Arc::clone(&read),
    };
    let stream = match tls {
        None => Stream::Plain(counted),
        Some((connector, name)) => {
            let tls = connector.connect(name.clone(), counted).await;
            opened[at].handshake = Some((Instant::now(), tls.is_ok()));
            opened[at].resumed = tls.as_ref().is_ok_and(|t| {
                t.get_ref().1.handshake_kind() == Some(tokio_rustls::rustls::HandshakeKind::Resumed)
            });
            let tls = tls.map_err(|e| {
                match bearing_auth::tls::explain(&e, host) {
                    Some((_, why)) => tracing::warn!(host, "{why}"),
                    None => tracing::debug!(error = %e, host, "tls handshake failed"),
                }
                Cow::Borrowed("tls")
            })?;
            Stream::Tls(Box::new(tls))
        }
    };
    let io = TokioIo::new(stream);
    let (sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|_| Cow::Borrowed("connect"))?;
    Ok(Live {
        sender,
        conn: Some(Box::pin(conn)),
        read,
        reused: false,
    })
}

/// Runs `fut`, polling the connection it needs alongside, in this task. hyper hands a
/// connection error to the pending request, so `fut` sees it; once the connection is done
/// (closed or failed) it is dropped.
pub(super) async fn drive<C: Future, F: Future>(
    conn: &mut Option<Pin<Box<C>>>,
    fut: F,
) -> F::Output {
    let mut fut = pin!(fut);
    poll_fn(move |cx| {
        if let Poll::Ready(out) = fut.as_mut().poll(cx) {
            return Poll::Ready(out);
        }
        let Some(c) = conn.as_mut() else {
            return Poll::Pending;
        };
        if c.as_mut().poll(cx).is_ready() {
            *conn = None;
        }
        // The connection may have just delivered what `fut` waits for.
        fut.as_mut().poll(cx)
    })
    .await
}

/// The connection's byte stream: plain TCP or TLS over it.
enum Stream {
    Plain(Counted),
    Tls(Box<TlsStream<Counted>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Stream::Plain(s) => s.is_write_vectored(),
            Stream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// A TCP stream that counts the bytes read, to tell a request the server never answered
/// from one it had started to answer.
struct Counted {
    stream: TcpStream,
    read: Arc<AtomicU64>,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.stream).poll_read(cx, buf);
        let n = buf.filled().len() - before;
        if n > 0 {
            self.read.fetch_add(n as u64, Ordering::Relaxed);
        }
        r
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicUsize;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    use super::*;

    const OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    const OK_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

    /// What the test server does with request `req` on its connection `conn` (both from 0).
    #[derive(Clone, Copy)]
    enum Act {
        /// Writes these bytes, then reads the next request.
        Answer(&'static [u8]),
        /// Writes these bytes, then closes.
        AnswerClose(&'static [u8]),
        /// Never answers.
        Hang,
    }

    #[derive(Default)]
    struct Seen {
        connections: AtomicUsize,
        requests: Mutex<Vec<String>>,
    }

    /// A raw HTTP/1.1 server on 127.0.0.1:0 that follows `plan`.
    async fn server(plan: fn(usize, usize) -> Act) -> (u16, Arc<Seen>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Seen::default());
        let s = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let conn = s.connections.fetch_add(1, Ordering::SeqCst);
                let s = Arc::clone(&s);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    for req in 0.. {
                        // Requests carry no body: a head ends the request.
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            let mut chunk = [0u8; 1024];
                            match sock.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let end = buf.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
                        let head: Vec<u8> = buf.drain(..end).collect();
                        s.requests
                            .lock()
                            .expect("lock")
                            .push(String::from_utf8_lossy(&head).into_owned());
                        match plan(conn, req) {
                            Act::Answer(b) => {
                                if sock.write_all(b).await.is_err() {
                                    return;
                                }
                            }
                            Act::AnswerClose(b) => {
                                let _ = sock.write_all(b).await;
                                return;
                            }
                            Act::Hang => std::future::pending::<()>().await,
                        }
                    }
                });
            }
        });
        (port, seen)
    }

    fn client(port: u16, timeout: Duration) -> Http1Client {
        let api = ApiCall {
            name: "inventory".into(),
            method: Method::GET,
            url: format!("http://127.0.0.1:{port}/api?x=1")
                .parse()
                .expect("url"),
            headers: vec![(
                header::HeaderName::from_static("x-partner"),
                HeaderValue::from_static("p1"),
            )],
            body: None,
        };
        Http1Client::for_api(&api, timeout, None).expect("http url")
    }

    // https without a TLS config stays on reqwest; with one it is ours.
    #[test]
    fn https_needs_a_tls_config() {
        let api = ApiCall {
            name: "a".into(),
            method: Method::GET,
            url: "https://example.invalid/a".parse().expect("url"),
            headers: vec![],
            body: None,
        };
        assert!(Http1Client::for_api(&api, Duration::from_secs(1), None).is_none());
        let tls = bearing_auth::token::TlsMaterial::load(&Default::default())
            .expect("default tls")
            .client_config(&[b"http/1.1"], true);
        let c = Http1Client::for_api(&api, Duration::from_secs(1), Some(&tls)).expect("https");
        assert!(c.tls.is_some());
    }

    // One connection carries every request; each has host, the API's headers and the token.
    #[tokio::test]
    async fn keep_alive_carries_every_request() {
        let (port, seen) = server(|_, _| Act::Answer(OK)).await;
        let mut c = client(port, Duration::from_secs(5));
        for t in ["t1", "t1", "t2"] {
            assert_eq!(c.send(t).await, Ok(200));
        }
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
        let reqs = seen.requests.lock().expect("lock").clone();
        assert_eq!(reqs.len(), 3);
        assert!(
            reqs[0].starts_with("GET /api?x=1 HTTP/1.1\r\n"),
            "{}",
            reqs[0]
        );
        assert!(
            reqs[0].contains(&format!("host: 127.0.0.1:{port}\r\n")),
            "{}",
            reqs[0]
        );
        assert!(reqs[0].contains("x-partner: p1\r\n"), "{}", reqs[0]);
        assert!(
            reqs[1].contains("authorization: Bearer t1\r\n"),
            "{}",
            reqs[1]
        );
        assert!(
            reqs[2].contains("authorization: Bearer t2\r\n"),
            "{}",
            reqs[2]
        );
    }

    // `Connection: close` after every response: a new connection per request, no error.
    #[tokio::test]
    async fn connection_close_reconnects() {
        let (port, seen) = server(|_, _| Act::AnswerClose(OK_CLOSE)).await;
        let mut c = client(port, Duration::from_secs(5));
        for _ in 0..5 {
            assert_eq!(c.send("t").await, Ok(200));
        }
        assert_eq!(seen.connections.load(Ordering::SeqCst), 5);
    }

    // A keep-alive closed by the server after each response without saying so: the next
    // request finds it closed (or is sent into the close and retried); no error.
    #[tokio::test]
    async fn dropped_keep_alive_reconnects() {
        let (port, seen) = server(|_, _| Act::AnswerClose(OK)).await;
        let mut c = client(port, Duration::from_secs(5));
        for _ in 0..5 {
            assert_eq!(c.send("t").await, Ok(200));
        }
        assert_eq!(seen.connections.load(Ordering::SeqCst), 5);
        assert_eq!(seen.requests.lock().expect("lock").len(), 5);
    }

    // The race the retry is for: the server closes a kept-alive connection as the next
    // request arrives, without a byte of answer. Sent once more on a new connection.
    #[tokio::test]
    async fn request_into_a_closing_keep_alive_is_retried_once() {
        let (port, seen) = server(|conn, req| match (conn, req) {
            (0, 0) => Act::Answer(OK),
            (0, _) => Act::AnswerClose(b""),
            _ => Act::Answer(OK),
        })
        .await;
        let mut c = client(port, Duration::from_secs(5));
        assert_eq!(c.send("t").await, Ok(200));
        assert_eq!(c.send("t").await, Ok(200));
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
        assert_eq!(seen.requests.lock().expect("lock").len(), 3);
    }

    // A new connection closed without an answer is the server's failure: not retried.
    #[tokio::test]
    async fn fresh_connection_closed_unanswered_is_transport() {
        let (port, seen) = server(|_, _| Act::AnswerClose(b"")).await;
        let mut c = client(port, Duration::from_secs(5));
        assert_eq!(c.send("t").await, Err("transport".into()));
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    }

    // Once the server has started to answer, a close is a failure, even on a reused
    // connection.
    #[tokio::test]
    async fn partial_answer_is_not_retried() {
        let (port, seen) = server(|_, req| match req {
            0 => Act::Answer(OK),
            _ => Act::AnswerClose(b"HTTP/1.1 200 OK\r\ncontent-"),
        })
        .await;
        let mut c = client(port, Duration::from_secs(5));
        assert_eq!(c.send("t").await, Ok(200));
        assert_eq!(c.send("t").await, Err("transport".into()));
        assert_eq!(seen.connections.load(Ordering::SeqCst), 1);
    }

    // A body cut short is `body`.
    #[tokio::test]
    async fn short_body_is_body() {
        let (port, _) =
            server(|_, _| Act::AnswerClose(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nok"))
                .await;
        let mut c = client(port, Duration::from_secs(5));
        assert_eq!(c.send("t").await, Err("body".into()));
    }

    // `connection: new`: one connection per request.
    #[tokio::test]
    async fn disconnect_opens_a_new_connection() {
        let (port, seen) = server(|_, _| Act::Answer(OK)).await;
        let mut c = client(port, Duration::from_secs(5));
        for _ in 0..3 {
            assert_eq!(c.send("t").await, Ok(200));
            c.disconnect();
        }
        assert_eq!(seen.connections.load(Ordering::SeqCst), 3);
    }

    // Every connection opened is noted once, with its connect time; none over keep-alive.
    #[tokio::test]
    async fn opened_connections_are_noted() {
        let (port, _) = server(|_, _| Act::Answer(OK)).await;
        let mut c = client(port, Duration::from_secs(5));
        for _ in 0..3 {
            assert_eq!(c.send("t").await, Ok(200));
        }
        let opened: Vec<Opened> = c.take_opened().collect();
        assert_eq!(opened.len(), 1, "one keep-alive connection");
        let o = opened[0];
        assert!(matches!(o.connect, Some((at, true)) if at >= o.started));
        assert!(!o.tls && o.handshake.is_none());
        for _ in 0..2 {
            assert_eq!(c.send("t").await, Ok(200));
            c.disconnect();
        }
        assert_eq!(c.take_opened().count(), 1, "the first reused the open one");
        assert_eq!(c.send("t").await, Ok(200));
        assert_eq!(c.take_opened().count(), 1);
    }

    // A token request: a POST of the form, no authorization header, the answer's body kept.
    #[tokio::test]
    async fn token_post_keeps_the_body() {
        let (port, seen) = server(|_, _| {
            Act::AnswerClose(
                b"HTTP/1.1 200 OK\r\ncontent-length: 20\r\n\r\n{\"access_token\":\"t\"}",
            )
        })
        .await;
        let url: url::Url = format!("http://127.0.0.1:{port}/oauth/token")
            .parse()
            .expect("url");
        let mut c = Http1Client::for_token(&url, Duration::from_secs(5), None).expect("http");
        let (status, body) = c
            .post(Bytes::from_static(b"grant_type=x"))
            .await
            .expect("answer");
        assert_eq!((status, body), (200, &br#"{"access_token":"t"}"#[..]));
        let reqs = seen.requests.lock().expect("lock").clone();
        assert!(
            reqs[0].starts_with("POST /oauth/token HTTP/1.1\r\n"),
            "{}",
            reqs[0]
        );
        assert!(
            reqs[0].contains("content-type: application/x-www-form-urlencoded"),
            "{}",
            reqs[0]
        );
        assert!(!reqs[0].contains("authorization"), "{}", reqs[0]);
    }

    // A server that never answers: `timeout`, and the next request gets a new connection.
    #[tokio::test]
    async fn silent_server_times_out() {
        let (port, seen) = server(|_, _| Act::Hang).await;
        let mut c = client(port, Duration::from_millis(200));
        assert_eq!(c.send("t").await, Err("timeout".into()));
        assert_eq!(c.send("t").await, Err("timeout".into()));
        assert_eq!(seen.connections.load(Ordering::SeqCst), 2);
    }

    // Nobody listening: `connect`.
    #[tokio::test]
    async fn refused_is_connect() {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
            l.local_addr().expect("addr").port()
        };
        let mut c = client(port, Duration::from_secs(5));
        assert_eq!(c.send("t").await, Err("connect".into()));
    }
}
