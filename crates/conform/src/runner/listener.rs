//! Local listeners for `jku`/`x5u` cases (RFC 8725 §3.10): a server on `127.0.0.1:0` that
//! serves the attacker's JWKS (or, for paths ending `.pem`, the attacker's certificate) and
//! counts the requests it gets. A conformant gateway never fetches from it:
//! `no_request_to: [NAME]` checks the count is zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};

/// A running listener; stops when dropped.
#[derive(Debug)]
pub struct Listener {
    /// `http://127.0.0.1:PORT/NAME`.
    pub url: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Served {
    hits: Arc<AtomicUsize>,
    jwks: Arc<String>,
    pem: Arc<String>,
}

async fn serve(State(s): State<Served>, req: Request) -> Response {
    s.hits.fetch_add(1, Ordering::SeqCst);
    if req.uri().path().ends_with(".pem") {
        (
            [("content-type", "application/x-pem-file")],
            s.pem.as_str().to_owned(),
        )
            .into_response()
    } else {
        (
            [("content-type", "application/jwk-set+json")],
            s.jwks.as_str().to_owned(),
        )
            .into_response()
    }
}

impl Listener {
    /// Starts a listener named `name` serving `jwk` (as a JWKS) and `cert_pem`. Binds
    /// synchronously, so a template can ask for its URL without awaiting.
    ///
    /// # Errors
    /// When no local port can be bound.
    pub fn start(name: &str, jwk: &serde_json::Value, cert_pem: &str) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let listener = tokio::net::TcpListener::from_std(std_listener)?;
        let hits = Arc::new(AtomicUsize::new(0));
        let served = Served {
            hits: Arc::clone(&hits),
            jwks: Arc::new(serde_json::json!({ "keys": [jwk] }).to_string()),
            pem: Arc::new(cert_pem.to_owned()),
        };
        let app = Router::new().fallback(serve).with_state(served);
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::debug!(error = %e, "conformance listener stopped");
            }
        });
        Ok(Self {
            url: format!("http://{addr}/{name}"),
            hits,
            task,
        })
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The listener serves the JWKS and the PEM and counts requests.
    #[tokio::test]
    async fn counts_requests() {
        let l = Listener::start("jwks", &serde_json::json!({"kty": "RSA"}), "PEM").expect("start");
        assert_eq!(l.hits(), 0);
        let body = reqwest::get(format!("{}/keys.json", l.url))
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        assert!(body.contains("\"keys\""));
        let pem = reqwest::get(format!("{}/cert.pem", l.url))
            .await
            .expect("get")
            .text()
            .await
            .expect("body");
        assert_eq!(pem, "PEM");
        assert_eq!(l.hits(), 2);
    }
}
