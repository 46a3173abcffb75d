//! The API scenarios' own keep-alive connections on plain http, against a raw HTTP/1.1
//! server on 127.0.0.1:0 (tokens from the stand-in): a server that closes after every
//! response, one that drops kept-alive connections silently, one that never answers, and
//! a 401 answered with a new token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bearing_load::Phase;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support;

/// How the raw API server answers.
#[derive(Clone, Copy)]
enum Mode {
    /// 200 with `Connection: close`, then closes.
    Close,
    /// 200 (keep-alive as far as the client knows), then closes.
    Drop,
    /// Reads requests, never answers.
    Silent,
    /// 401 to the first request it sees, 200 (keep-alive) to the rest.
    FirstUnauthorized,
}

#[derive(Default)]
struct Api {
    connections: AtomicU64,
    answered: AtomicU64,
    authorizations: Mutex<Vec<String>>,
}

async fn api_server(mode: Mode) -> (String, Arc<Api>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/api", listener.local_addr().expect("addr"));
    let api = Arc::new(Api::default());
    let state = Arc::clone(&api);
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            state.connections.fetch_add(1, Ordering::SeqCst);
            let s = Arc::clone(&state);
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    // GET requests: a head ends the request.
                    let end = loop {
                        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break p + 4;
                        }
                        let mut chunk = [0u8; 2048];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                    buf.drain(..end);
                    let auth = head
                        .lines()
                        .find_map(|l| l.strip_prefix("authorization: "))
                        .unwrap_or_default()
                        .to_owned();
                    let first = {
                        let mut a = s.authorizations.lock().expect("lock");
                        a.push(auth);
                        a.len() == 1
                    };
                    let answer: &[u8] = match mode {
                        Mode::Silent => {
                            std::future::pending::<()>().await;
                            return;
                        }
                        Mode::Close => {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        }
                        Mode::FirstUnauthorized if first => {
                            b"HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n"
                        }
                        Mode::Drop | Mode::FirstUnauthorized => {
                            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                        }
                    };
                    if sock.write_all(answer).await.is_err() {
                        return;
                    }
                    s.answered.fetch_add(1, Ordering::SeqCst);
                    if matches!(mode, Mode::Close | Mode::Drop) {
                        return;
                    }
                }
            });
        }
    });
    (url, api)
}

async fn run_against(mode: Mode, profile: &str) -> (bearing_load::RunResult, Arc<Api>) {
    let srv = support::start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let mut t = support::target(
        &srv.base,
        support::key_file(dir.path(), bearing_auth::Algorithm::ES256),
    );
    let (url, api) = api_server(mode).await;
    t.apis[0].url = url.parse().expect("url");
    (support::run(profile, &t).await, api)
}

// `Connection: close` after every response and silently dropped keep-alives: every call
// reconnects, none fails, and the counts match what the server answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connections_reconnect_without_errors() {
    let _g = support::serial().lock().await;
    for mode in [Mode::Close, Mode::Drop] {
        let (r, api) = run_against(
            mode,
            "duration: 1s\nusers: 4\nmax_requests: 300\nscenarios: [{name: api, kind: api}]\n",
        )
        .await;
        let stats = r.scenarios[0].phase_stats(Phase::Api, r.seconds());
        assert_eq!(stats.errors, 0, "{:?}", stats.errors_by_kind);
        assert_eq!(stats.count, 300);
        assert_eq!(stats.statuses.get(&200).copied(), Some(300));
        assert_eq!(api.answered.load(Ordering::SeqCst), 300);
        // One connection per call; a retried call may add one.
        assert!(api.connections.load(Ordering::SeqCst) >= 300);
    }
}

// A server that never answers: each call fails as `timeout`, after the profile's timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_is_timeout() {
    let _g = support::serial().lock().await;
    let (r, api) = run_against(
        Mode::Silent,
        "duration: 1s\nusers: 2\ntimeout: 300ms\nmax_requests: 4\nscenarios: [{name: api, kind: api}]\n",
    )
    .await;
    let stats = r.scenarios[0].phase_stats(Phase::Api, r.seconds());
    assert!(stats.count >= 2, "{stats:?}");
    assert_eq!(stats.errors, stats.count);
    assert_eq!(
        stats.errors_by_kind.get("timeout").copied(),
        Some(stats.count)
    );
    assert_eq!(api.answered.load(Ordering::SeqCst), 0);
}

// A 401: the token manager fetches a new token and the call is sent once more with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_is_retried_once_with_a_new_token() {
    let _g = support::serial().lock().await;
    let (r, api) = run_against(
        Mode::FirstUnauthorized,
        "duration: 1s\nusers: 1\nmax_requests: 1\nscenarios: [{name: api, kind: api}]\n",
    )
    .await;
    let s = &r.scenarios[0];
    let stats = s.phase_stats(Phase::Api, r.seconds());
    assert_eq!(stats.errors, 0, "{:?}", stats.errors_by_kind);
    assert_eq!(stats.statuses.get(&401).copied(), Some(1));
    assert_eq!(stats.statuses.get(&200).copied(), Some(1));
    let tokens = s.tokens.as_ref().expect("token stats");
    assert_eq!(tokens.token_requests, 2);
    assert_eq!(tokens.unauthorized_retries, 1);
    let seen = api.authorizations.lock().expect("lock").clone();
    assert_eq!(seen, ["bearer tok0", "bearer tok1"]);
    // The 401 left the connection open: the retry reused it.
    assert_eq!(api.connections.load(Ordering::SeqCst), 1);
}
