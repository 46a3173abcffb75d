//! The sandbox admin API, over HTTP like everything else: revoke a client's tokens, set the
//! access-token lifetime, shift the clock, register clients. A real gateway has none of
//! this, so cases that need it are skipped there. The secret travels in `X-Admin-Secret` and
//! is redacted from every report.

use std::time::Duration;

use crate::http::{Request, Response};

/// A client of `bearing-gateway`'s `/admin` API.
#[derive(Clone)]
pub struct AdminClient {
    http: reqwest::Client,
    base: url::Url,
    secret: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl AdminClient {
    /// A client for the admin API at `base` (`http://127.0.0.1:port/admin`).
    pub fn new(http: reqwest::Client, base: url::Url, secret: String) -> Self {
        Self { http, base, secret }
    }

    /// The admin secret (to scrub from reports).
    pub fn secret(&self) -> &str {
        &self.secret
    }

    fn request(&self, method: &str, path: &str, body: Option<serde_json::Value>) -> Request {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        let mut headers = vec![("X-Admin-Secret".to_owned(), self.secret.clone())];
        if body.is_some() {
            headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
        }
        Request {
            method: method.to_owned(),
            url,
            headers,
            body: body.map(|b| b.to_string().into_bytes()),
        }
    }

    async fn send(&self, req: Request, timeout: Duration) -> (Request, Result<Response, String>) {
        let r = crate::http::send(&self.http, &req, timeout).await;
        (req, r)
    }

    /// `POST /admin/revoke/{client_id}`: revokes every token of the client.
    pub async fn revoke_client(
        &self,
        client_id: &str,
        timeout: Duration,
    ) -> (Request, Result<Response, String>) {
        let path = format!("revoke/{}", encode_segment(client_id));
        self.send(self.request("POST", &path, None), timeout).await
    }

    /// `PUT /admin/token-lifetime`.
    pub async fn set_lifetime(
        &self,
        lifetime: Duration,
        timeout: Duration,
    ) -> (Request, Result<Response, String>) {
        let body = serde_json::json!({ "seconds": lifetime.as_secs_f64() });
        self.send(self.request("PUT", "token-lifetime", Some(body)), timeout)
            .await
    }

    /// `POST /admin/clock/shift` by signed seconds.
    pub async fn shift_clock(
        &self,
        seconds: f64,
        timeout: Duration,
    ) -> (Request, Result<Response, String>) {
        let body = serde_json::json!({ "seconds": seconds });
        self.send(self.request("POST", "clock/shift", Some(body)), timeout)
            .await
    }

    /// `POST /admin/clock/reset`.
    pub async fn reset_clock(&self, timeout: Duration) -> (Request, Result<Response, String>) {
        self.send(self.request("POST", "clock/reset", None), timeout)
            .await
    }

    /// `POST /admin/clients`: registers a client with a certificate (Base64 DER or PEM).
    pub async fn register(
        &self,
        client_id: &str,
        certificate: &str,
        scopes: &[String],
        apis: &[String],
        timeout: Duration,
    ) -> (Request, Result<Response, String>) {
        let body = serde_json::json!({
            "client_id": client_id,
            "certificate": certificate,
            "scopes": scopes,
            "apis": apis,
        });
        self.send(self.request("POST", "clients", Some(body)), timeout)
            .await
    }
}

fn encode_segment(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
