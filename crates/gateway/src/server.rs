//! Running the gateway: [`spawn`] starts it in-process (the embedded default every `bearing`
//! command uses) and returns its URLs and a handle; [`serve`] runs it until a shutdown
//! signal (`bearing serve`). The accept loop is our own (hyper + hyper-util) rather than
//! `axum::serve`, for three things axum's does not offer: TLS, injected connection resets
//! (TCP RST via `SO_LINGER 0`), and graceful shutdown of every open connection. Over TLS
//! the client picks HTTP/2 or HTTP/1.1 by ALPN (issue 15); plain http is HTTP/1.1.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt as _;

use crate::config::{GatewayConfig, TOKEN_PATH};
use crate::conn::{ConnControl, PeerAddr};
use crate::error::{Error, Result};
use crate::routes::router;
use crate::state::{AppState, StateOptions};
use crate::tls::TlsSetup;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long shutdown waits for open connections to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A TCP stream that fails its next write, with `SO_LINGER 0`, once a reset is requested:
/// hyper then drops the connection and the kernel sends RST instead of FIN.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl ResettableStream {
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::Relaxed) {
            let _ = self.inner.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected connection reset",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Stops a running gateway.
#[derive(Debug)]
pub struct GatewayHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl GatewayHandle {
    /// Stops accepting, lets open connections finish (up to 10 s) and waits for the end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "gateway task ended abnormally");
        }
    }
}

/// A gateway running in this process.
#[derive(Debug)]
pub struct RunningGateway {
    /// `http://127.0.0.1:PORT` (or `https://…`, or the configured `public_url`).
    pub base_url: String,
    /// `{base_url}/oauth/token`: where to POST assertions, and their default `aud`.
    pub token_url: String,
    /// `{base_url}/admin`.
    pub admin_url: String,
    /// The admin secret (send as `X-Admin-Secret`). Never log it.
    pub admin_secret: String,
    /// The bound socket address.
    pub local_addr: SocketAddr,
    /// The self-signed server certificate (PEM) when TLS generated one, for clients to trust.
    pub tls_certificate_pem: Option<String>,
    /// The shared state (in-process control: clock, revocation, events, counters).
    pub state: AppState,
    /// Stops the gateway.
    pub handle: GatewayHandle,
}

impl RunningGateway {
    /// The URL of the API named `name`.
    pub fn api_url(&self, name: &str) -> Option<String> {
        self.state
            .apis()
            .iter()
            .find(|a| a.name == name)
            .map(|a| format!("{}{}", self.base_url, a.path))
    }

    /// Stops the gateway gracefully.
    pub async fn shutdown(self) {
        self.handle.shutdown().await;
    }
}

/// Starts the gateway on `config.listen` (127.0.0.1:0 by default) and returns at once.
///
/// # Errors
/// [`Error::Config`], [`Error::Bind`] or [`Error::Tls`].
pub async fn spawn(config: GatewayConfig) -> Result<RunningGateway> {
    spawn_with(config, StateOptions::default()).await
}

/// Like [`spawn`] with an injected clock and/or event sink (`opts.base_url` is ignored
/// unless the config has no `public_url`: the bound address is used).
///
/// # Errors
/// As [`spawn`].
pub async fn spawn_with(config: GatewayConfig, mut opts: StateOptions) -> Result<RunningGateway> {
    config.validate()?;
    let tls = match &config.tls {
        Some(t) => Some(TlsSetup::load(t, &config)?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Bind {
            addr: config.listen.to_string(),
            source,
        })?;
    let local_addr = listener.local_addr().map_err(|source| Error::Bind {
        addr: config.listen.to_string(),
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let host = if local_addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        local_addr.ip().to_string()
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let bound = url::Url::parse(&format!("{scheme}://{host}:{}", local_addr.port()))
        .map_err(|e| Error::Config(format!("cannot form base url: {e}")))?;
    if config.public_url.is_none() {
        opts.base_url = Some(bound);
    } else {
        opts.base_url = None;
    }
    let state = AppState::with_options(config, opts)?;
    let app = router(state.clone());
    let (stop, stop_rx) = watch::channel(false);
    let sweeper = tokio::spawn(sweep_loop(
        state.clone(),
        state.config().sweep_interval,
        stop_rx.clone(),
    ));
    let acceptor = tls.as_ref().map(|t| t.acceptor.clone());
    let loop_state = state.clone();
    let task = tokio::spawn(async move {
        accept_loop(listener, app, acceptor, loop_state, stop_rx).await;
        sweeper.abort();
    });
    let base_url = state.base_url().to_owned();
    Ok(RunningGateway {
        token_url: format!("{base_url}{TOKEN_PATH}"),
        admin_url: format!("{base_url}/admin"),
        admin_secret: state.admin_secret().to_owned(),
        base_url,
        local_addr,
        tls_certificate_pem: tls.and_then(|t| t.generated_pem),
        state,
        handle: GatewayHandle { stop, task },
    })
}

/// Runs the gateway until `shutdown` completes, then drains connections (`bearing serve`).
/// Logs the URLs (never the admin secret) with `tracing`. A CLI that wants to print the URLs
/// and the generated admin secret calls [`spawn`] and [`RunningGateway::shutdown`] instead.
///
/// # Errors
/// As [`spawn`].
pub async fn serve(config: GatewayConfig, shutdown: impl Future<Output = ()> + Send) -> Result<()> {
    let gw = spawn(config).await?;
    tracing::info!(base_url = %gw.base_url, token_url = %gw.token_url, "gateway listening");
    shutdown.await;
    tracing::info!("gateway shutting down");
    gw.shutdown().await;
    Ok(())
}

async fn sweep_loop(state: AppState, every: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let (t, j) = state.sweep();
                if t + j > 0 {
                    tracing::trace!(tokens = t, jtis = j, "swept");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    state: AppState,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let ctrl = ConnControl::default();
        let io = ResettableStream {
            inner: stream,
            reset: Arc::clone(&ctrl.reset),
        };
        let svc = app
            .clone()
            .map_request(move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ctrl.clone());
                req.extensions_mut().insert(PeerAddr(peer));
                req
            });
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(30));
            let result = match tls {
                None => {
                    let conn =
                        builder.serve_connection(TokioIo::new(io), TowerToHyperService::new(svc));
                    watcher.watch(conn).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(io)).await {
                        Ok(Ok(tls_stream)) => {
                            let h2 = tls_stream.get_ref().1.alpn_protocol() == Some(b"h2");
                            state.metrics().tls_connection(h2);
                            let certs =
                                tls_stream.get_ref().1.peer_certificates().map(|c| {
                                    c.iter().map(|d| d.as_ref().to_vec()).collect::<Vec<_>>()
                                });
                            let svc = svc.map_request(
                                move |mut req: http::Request<hyper::body::Incoming>| {
                                    if let Some(c) = &certs {
                                        req.extensions_mut()
                                            .insert(crate::tls::PeerCertificates(c.clone()));
                                    }
                                    req
                                },
                            );
                            let io = TokioIo::new(tls_stream);
                            let svc = TowerToHyperService::new(svc);
                            if h2 {
                                let conn =
                                    hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                                        .serve_connection(io, svc);
                                watcher.watch(conn).await
                            } else {
                                watcher.watch(builder.serve_connection(io, svc)).await
                            }
                        }
                        Ok(Err(e)) => {
                            tracing::debug!(%peer, error = %e, "tls handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "tls handshake timed out");
                            return;
                        }
                    }
                }
            };
            if let Err(e) = result {
                tracing::trace!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing");
    }
}
