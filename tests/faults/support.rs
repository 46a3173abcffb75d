//! Fixtures of the fault tests: an RS256 identity written to files, the sandbox gateway and
//! its admin fault API, a deliberately broken HTTP server, token managers with short
//! timeouts, and the figures table `scripts/faults.sh` prints.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bearing_auth::token::{ManagerConfig, TokenClient, TokenClientOptions, TokenManager};
use bearing_auth::{Algorithm, AssertionSigner, Certificate, SigningKey, SystemClock};
use bearing_gateway::{GatewayConfig, RunningGateway};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The registered client id.
pub const CLIENT: &str = "SampleConfId";

/// The partner identity, generated once per test binary (RSA generation is slow).
pub struct Identity {
    /// The key.
    pub key: Arc<SigningKey>,
    /// Its certificate.
    pub cert: Certificate,
    /// Holds the files.
    _dir: tempfile::TempDir,
    /// `private.pem` (mode 0600).
    pub key_path: PathBuf,
    /// `cert.pem`.
    pub cert_path: PathBuf,
}

/// The shared identity.
pub fn identity() -> &'static Identity {
    static I: OnceLock<Identity> = OnceLock::new();
    I.get_or_init(|| {
        let key = Arc::new(SigningKey::generate(Algorithm::RS256, 2048).expect("key"));
        let cert = Certificate::self_signed(&key, CLIENT, 2).expect("cert");
        let dir = tempfile::tempdir().expect("tmp");
        let key_path = dir.path().join("private.pem");
        let cert_path = dir.path().join("cert.pem");
        let mut f = {
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            o.open(&key_path).expect("key file")
        };
        f.write_all(key.to_pkcs8_pem().as_bytes())
            .expect("write key");
        std::fs::write(&cert_path, cert.to_pem()).expect("write cert");
        Identity {
            key,
            cert,
            _dir: dir,
            key_path,
            cert_path,
        }
    })
}

/// Starts the sandbox with the identity registered, on `listen` (`127.0.0.1:0` for any).
pub async fn gateway(listen: std::net::SocketAddr) -> RunningGateway {
    let mut c = GatewayConfig::sandbox(vec![(CLIENT.to_owned(), identity().cert.clone())]);
    c.listen = listen;
    c.token_lifetime = Some(Duration::from_secs(60));
    bearing_gateway::spawn(c).await.expect("gateway")
}

/// Sets the faults of `route` through the admin API (`PUT /admin/faults/{route}`).
pub async fn set_fault(gw: &RunningGateway, route: &str, spec: serde_json::Value) {
    let r = reqwest::Client::new()
        .put(format!("{}/faults/{route}", gw.admin_url))
        .header("x-admin-secret", &gw.admin_secret)
        .json(&spec)
        .send()
        .await
        .expect("admin api");
    assert_eq!(
        r.status().as_u16(),
        200,
        "{}",
        r.text().await.unwrap_or_default()
    );
}

/// Clears every fault (`DELETE /admin/faults`).
pub async fn clear_faults(gw: &RunningGateway) {
    let r = reqwest::Client::new()
        .delete(format!("{}/faults", gw.admin_url))
        .header("x-admin-secret", &gw.admin_secret)
        .send()
        .await
        .expect("admin api");
    assert!(r.status().is_success());
}

/// A token manager for `token_url` with a short request timeout and quick backoff.
pub fn manager(token_url: &str, timeout: Duration, max_attempts: u32) -> TokenManager {
    let id = identity();
    let signer = AssertionSigner::builder(Arc::clone(&id.key), CLIENT)
        .audience(token_url)
        .build()
        .expect("signer");
    let opts = TokenClientOptions {
        request_timeout: timeout,
        connect_timeout: timeout,
        ..Default::default()
    };
    let client = TokenClient::new(token_url.parse().expect("url"), &opts).expect("client");
    let config = ManagerConfig {
        max_attempts,
        initial_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(200),
        max_retry_after: Duration::from_secs(5),
        ..ManagerConfig::default()
    };
    TokenManager::new(signer, client, Arc::new(SystemClock), config).expect("manager")
}

/// How the broken server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Mode {
    /// `200 text/html` with a login page.
    Html200 = 0,
    /// `502 text/html` from a proxy.
    Html502 = 1,
    /// Reads the request and never answers.
    Stall = 2,
    /// Reads the request and closes the connection without a word.
    Close = 3,
    /// `200` with a truncated JSON body (Content-Length larger than sent).
    Truncated = 4,
}

/// A raw HTTP/1.1 server on 127.0.0.1:0 that misbehaves as its [`Mode`] says and counts
/// the requests it read.
pub struct Broken {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    mode: Arc<AtomicU8>,
    /// Requests read.
    pub requests: Arc<AtomicU64>,
}

impl Broken {
    /// Starts the server in `mode`.
    pub async fn start(mode: Mode) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let m = Arc::new(AtomicU8::new(mode as u8));
        let requests = Arc::new(AtomicU64::new(0));
        let (m2, r2) = (Arc::clone(&m), Arc::clone(&requests));
        tokio::spawn(async move {
            while let Ok((mut s, _)) = listener.accept().await {
                let (m, r) = (Arc::clone(&m2), Arc::clone(&r2));
                tokio::spawn(async move {
                    if !read_request(&mut s).await {
                        return;
                    }
                    r.fetch_add(1, Ordering::Relaxed);
                    let reply: &[u8] = match m.load(Ordering::Relaxed) {
                        0 => b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 44\r\nConnection: close\r\n\r\n<html><body>Please sign in</body></html>\r\n\r\n",
                        1 => b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: 49\r\nConnection: close\r\n\r\n<html><title>502 Bad Gateway</title></html>\r\n\r\n\r\n",
                        2 => {
                            tokio::time::sleep(Duration::from_secs(3600)).await;
                            return;
                        }
                        3 => return,
                        _ => b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\nConnection: close\r\n\r\n{\"access_token\":\"abc",
                    };
                    let _ = s.write_all(reply).await;
                    let _ = s.shutdown().await;
                });
            }
        });
        Self {
            base,
            mode: m,
            requests,
        }
    }

    /// The token URL.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.base)
    }

    /// Switches the mode.
    pub fn set(&self, mode: Mode) {
        self.mode.store(mode as u8, Ordering::Relaxed);
    }
}

/// Reads one request (head and Content-Length body); false when the peer went away.
async fn read_request(s: &mut tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let Ok(n) = s.read(&mut chunk).await else {
            return false;
        };
        if n == 0 {
            return false;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return false,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            return true;
        }
    }
}

/// One row of the figures `scripts/faults.sh` prints.
pub struct Figure<'a> {
    /// The fault.
    pub fault: &'a str,
    /// Who faced it: `manager`, `bearing token`, `bearing call`.
    pub client: &'a str,
    /// Requests the server saw.
    pub requests: u64,
    /// Failures the client counted or reported.
    pub failures: u64,
    /// Retries the client made, when it says (the CLI does not).
    pub retries: Option<u64>,
    /// Until the client gave up (or succeeded).
    pub elapsed: Duration,
    /// From the fault ending to the first success, when measured.
    pub recovery: Option<Duration>,
    /// How the client reported it (the error kind, shortened).
    pub reported: String,
}

/// Appends `f` to the file named by `BEARING_FAULTS_REPORT` (tab-separated), if set.
pub fn record(f: &Figure<'_>) {
    let Some(path) = std::env::var_os("BEARING_FAULTS_REPORT") else {
        return;
    };
    let reported: String = shorten(&f.reported)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(110)
        .collect();
    let ms = |d: Duration| format!("{:.1}", d.as_secs_f64() * 1e3);
    let line = format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        f.fault,
        f.client,
        f.requests,
        f.failures,
        f.retries.map_or("-".to_owned(), |r| r.to_string()),
        ms(f.elapsed),
        f.recovery.map_or("-".to_owned(), ms),
        reported
    );
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Drops the URLs and reqwest's boilerplate from an error message, keeping the cause.
fn shorten(s: &str) -> String {
    let words: Vec<&str> = s
        .split(' ')
        .map(|w| if w.contains("://") { "<url>" } else { w })
        .collect();
    words
        .join(" ")
        .replace("error sending request for url (<url> ", "")
        .replace("http request to <url> failed: ", "")
        .replace("error sending request for url <url> ", "")
}

/// Runs `f` and returns its value and how long it took.
pub async fn timed<T>(f: impl Future<Output = T>) -> (T, Duration) {
    let started = Instant::now();
    let v = f.await;
    (v, started.elapsed())
}
