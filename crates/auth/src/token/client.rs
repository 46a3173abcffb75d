//! The token request (RFC 7523 §2.1, RFC 6749 §4.5) over reqwest + rustls, exactly as the
//! portal requires: `POST`, `Content-Type: application/x-www-form-urlencoded; charset=UTF-8`,
//! body `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=<JWT>`.
//!
//! TLS options cover what partner networks need: an extra CA bundle, a client certificate
//! for mTLS, timeouts. Redirects are never followed, so an assertion is only ever sent to
//! the configured URL. No error ever carries the assertion.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use url::Url;

use super::response::TokenResponse;
use crate::error::{Error, Result};
use crate::secret::Assertion;

/// The grant type of RFC 7523 §2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// The request content type the portal requires, byte for byte.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=UTF-8";

/// Settings of a [`TokenClient`]. Paths are used as given (resolve them against the target
/// file before).
#[derive(Debug, Clone)]
pub struct TokenClientOptions {
    /// Time allowed to open the TCP + TLS connection. Defaults to 5 s.
    pub connect_timeout: Duration,
    /// Time allowed for the whole request, body included. Defaults to 30 s.
    pub request_timeout: Duration,
    /// A PEM file of CA certificates trusted in addition to the system roots (or instead
    /// of them with [`Self::ca_bundle_only`]). Defaults to none.
    pub ca_bundle: Option<PathBuf>,
    /// Trust only [`Self::ca_bundle`], not the system roots. Defaults to false.
    pub ca_bundle_only: bool,
    /// PEM certificate (chain) presented for mTLS; needs [`Self::client_key`]. Defaults to none.
    pub client_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of [`Self::client_cert`]; may be the same file.
    pub client_key: Option<PathBuf>,
    /// A `scope` form parameter sent with every token request. Defaults to none.
    pub scope: Option<String>,
    /// The `User-Agent` header. Defaults to `bearing/<version>`.
    pub user_agent: String,
    /// Largest response body read, in bytes; the rest is dropped. Defaults to 1 MiB.
    pub max_body_bytes: usize,
    /// **Dangerous** (`tls.insecure`, `--insecure`): accept any server certificate, even
    /// expired or for another host (the handshake signature is still checked). Only for a
    /// throw-away test gateway; logged as a warning. Defaults to false.
    pub danger_accept_invalid_certs: bool,
    /// Trust exactly the server certificate with this SHA-256 (`tls.pin_sha256`), whatever
    /// its CA flags, names or dates; beats the CA bundle and `danger_accept_invalid_certs`.
    /// Defaults to none.
    pub pin_sha256: Option<crate::tls::CertificatePin>,
    /// Allow a plain `http://` token URL on a host that is not loopback. The assertion is a
    /// credential (RFC 7523 §6, RFC 6749 §3.2 requires TLS), so without this
    /// [`TokenClient::new`] refuses such a URL; loopback (`127.0.0.0/8`, `::1`,
    /// `localhost`) is always allowed. Defaults to false.
    pub allow_http: bool,
    /// Require HTTP/2 (the target's `http2: true`): offer only `h2` in TLS ALPN and refuse
    /// an answer that came over another version. Needs an `https://` URL. Defaults to false
    /// (HTTP/1.1: ALPN offers `http/1.1`).
    pub http2: bool,
}

impl Default for TokenClientOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            ca_bundle: None,
            ca_bundle_only: false,
            client_cert: None,
            client_key: None,
            scope: None,
            user_agent: concat!("bearing/", env!("CARGO_PKG_VERSION")).to_owned(),
            max_body_bytes: 1024 * 1024,
            danger_accept_invalid_certs: false,
            pin_sha256: None,
            allow_http: false,
            http2: false,
        }
    }
}

/// An answer of the token endpoint as received, before interpretation.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// The HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body, up to [`TokenClientOptions::max_body_bytes`].
    pub body: Vec<u8>,
    /// From sending the request to having read the body.
    pub latency: Duration,
}

impl RawResponse {
    /// Interprets the answer (see [`TokenResponse::parse`]), carrying the latency over.
    ///
    /// # Errors
    /// [`Error::Token`] when the endpoint refused or sent an unusable body.
    pub fn into_token_response(self) -> Result<TokenResponse> {
        let mut r = TokenResponse::parse(self.status, &self.headers, &self.body)?;
        r.latency = self.latency;
        Ok(r)
    }
}

/// Posts assertions to one token endpoint. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct TokenClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    url: Url,
    scope: Option<String>,
    max_body_bytes: usize,
    /// Answers must come over HTTP/2 ([`TokenClientOptions::http2`]).
    http2: bool,
}

impl TokenClient {
    /// A client for `token_url` with the given options.
    ///
    /// # Errors
    /// [`Error::Config`] for a URL that is not http(s), a plain `http://` URL to a host that
    /// is not loopback without [`TokenClientOptions::allow_http`], a client certificate
    /// without a key (or the reverse), or TLS settings reqwest refuses; [`Error::Io`] for an unreadable
    /// file; [`Error::InvalidCertificate`] / [`Error::InvalidKey`] naming the file at fault;
    /// [`Error::KeyMismatch`] when the client certificate does not match its key.
    pub fn new(token_url: Url, options: &TokenClientOptions) -> Result<Self> {
        check_url(&token_url)?;
        refuse_url_credentials(&token_url, "token url")?;
        check_plain_http(&token_url, options.allow_http)?;
        if options.http2 && token_url.scheme() != "https" {
            return Err(Error::Config(format!(
                "token url {}: http2 needs https (HTTP/2 is chosen by TLS ALPN; bearing does \
                 not speak h2c on plain http)",
                mask_url(&token_url)
            )));
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.request_timeout)
            .user_agent(options.user_agent.clone())
            // A redirect would send the assertion to another URL (307/308 keep the body).
            .redirect(reqwest::redirect::Policy::none());
        let tls = crate::tls::TlsMaterial::load(options)?;
        builder = tls.apply(builder);
        if tls.is_insecure() {
            tracing::warn!(url = %token_url, "TLS certificate verification is disabled (insecure)");
        }
        let http = builder.build().map_err(|e| {
            Error::Config(format!(
                "cannot build the http client for {token_url}: {}",
                chain(&e)
            ))
        })?;
        let mut client = Self::from_http(
            http,
            token_url,
            options.scope.clone(),
            options.max_body_bytes,
        );
        if let Some(inner) = Arc::get_mut(&mut client.inner) {
            inner.http2 = options.http2;
        }
        Ok(client)
    }

    /// A client over an existing reqwest client (its TLS and timeout settings apply).
    pub fn from_http(
        http: reqwest::Client,
        token_url: Url,
        scope: Option<String>,
        max_body_bytes: usize,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                url: token_url,
                scope,
                max_body_bytes,
                http2: false,
            }),
        }
    }

    /// The token endpoint.
    pub fn token_url(&self) -> &Url {
        &self.inner.url
    }

    /// The underlying reqwest client, so API calls reuse its connection pool and TLS
    /// settings. It follows no redirects.
    pub fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The form body of a jwt-bearer token request for `assertion` (RFC 7523 §2.1).
    pub fn form_body(&self, assertion: &Assertion) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", JWT_BEARER_GRANT);
        form.append_pair("assertion", assertion.expose());
        if let Some(scope) = &self.inner.scope {
            form.append_pair("scope", scope);
        }
        form.finish()
    }

    /// Requests a token with `assertion`, returning the parsed answer with its deviations
    /// and latency.
    ///
    /// # Errors
    /// [`Error::Http`] when the request could not be made or the body not read (with
    /// `retryable` set for connect errors and timeouts); [`Error::Token`] when the
    /// endpoint refused or answered something unusable.
    pub async fn request_token(&self, assertion: &Assertion) -> Result<TokenResponse> {
        let raw = self.post_body(self.form_body(assertion)).await?;
        let status = raw.status;
        let latency = raw.latency;
        let r = raw.into_token_response();
        match &r {
            Ok(t) => tracing::debug!(
                url = %self.inner.url,
                status,
                latency_us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
                token = %t.access_token,
                jti = assertion.jti().unwrap_or(""),
                deviations = t.deviations.len(),
                "token issued"
            ),
            Err(e) => tracing::debug!(url = %self.inner.url, status, error = %e, "token refused"),
        }
        r
    }

    /// Posts arbitrary form parameters to the token endpoint with the portal's content
    /// type, returning the raw answer. For conformance cases that mutate the request.
    ///
    /// # Errors
    /// [`Error::Http`] when the request could not be made or the body not read.
    pub async fn post_form(&self, params: &[(&str, &str)]) -> Result<RawResponse> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.extend_pairs(params);
        self.post_body(form.finish()).await
    }

    async fn post_body(&self, body: String) -> Result<RawResponse> {
        let url = &self.inner.url;
        let started = Instant::now();
        let mut resp = self
            .inner
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static(FORM_CONTENT_TYPE))
            .header(ACCEPT, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await
            .map_err(|e| http_error(url, &e))?;
        if self.inner.http2 && resp.version() != reqwest::Version::HTTP_2 {
            // A gateway that ignores ALPN: the TLS handshake succeeded without choosing a
            // protocol and reqwest fell back to HTTP/1.1.
            return Err(Error::Http {
                url: url.to_string(),
                reason: format!(
                    "{} answered over {:?}, not HTTP/2: the gateway does not offer HTTP/2 \
                     (ALPN h2); fix: remove http2: true (--http2) from the target",
                    url.host_str().unwrap_or("the gateway"),
                    resp.version()
                ),
                retryable: false,
            });
        }
        let status = resp.status().as_u16();
        let headers = std::mem::take(resp.headers_mut());
        let mut out = Vec::new();
        // A body cut short (the peer closed mid-answer) is a transport failure worth a
        // retry; reqwest reports it as a decode error, which `http_error` does not retry.
        let body_error = |e: reqwest::Error| match http_error(url, &e) {
            Error::Http { url, reason, .. } => Error::Http {
                url,
                reason,
                retryable: true,
            },
            other => other,
        };
        while let Some(chunk) = resp.chunk().await.map_err(body_error)? {
            let room = self.inner.max_body_bytes.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if room < chunk.len() {
                break;
            }
        }
        Ok(RawResponse {
            status,
            headers,
            body: out,
            latency: started.elapsed(),
        })
    }
}

/// Maps a transport error; the body (and so the assertion) is never part of it.
/// A TLS failure gets a plain-language cause and fix instead of rustls' words alone; it is
/// not retryable (the same handshake would fail the same way).
fn http_error(url: &Url, e: &reqwest::Error) -> Error {
    if let Some((_, reason)) = crate::tls::explain(e, url.host_str().unwrap_or("the gateway")) {
        return Error::Http {
            url: url.to_string(),
            reason,
            retryable: false,
        };
    }
    let retryable = e.is_connect() || e.is_timeout() || e.is_body() || e.is_request();
    Error::Http {
        url: url.to_string(),
        reason: chain(e),
        retryable,
    }
}

/// An error and its sources on one line: reqwest hides the interesting part in sources.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let msg = src.to_string();
        if !s.contains(&msg) {
            let _ = write!(s, ": {msg}");
        }
        cur = src.source();
    }
    s
}

fn check_url(url: &Url) -> Result<()> {
    match url.scheme() {
        "http" | "https" => Ok(()),
        other => Err(Error::Config(format!(
            "token url {}: scheme {other:?} is not http or https",
            mask_url(url)
        ))),
    }
}

/// `url` as text with its user info masked (`http://alice:***@host/…`), for messages.
pub fn mask_url(url: &Url) -> String {
    let mut masked = url.clone();
    if !url.password().unwrap_or("").is_empty() {
        let _ = masked.set_password(Some("***"));
    } else if !url.username().is_empty() {
        let _ = masked.set_username("***");
    }
    masked.to_string()
}

/// Refuses a URL with user info (`http://alice:secret@…`): it would go out as HTTP Basic,
/// into the assertion's `aud`, the reports and the logs. `what` names where the URL came
/// from (`--token-url`, `BEARING_TOKEN_URL`, `target.yaml: token_url`).
///
/// # Errors
/// [`Error::Config`] naming `what` and the URL with the credentials masked.
pub fn refuse_url_credentials(url: &Url, what: &str) -> Result<()> {
    if url.username().is_empty() && url.password().is_none() {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{what}: {} carries credentials in the URL; refused (they would be sent as HTTP \
         Basic and written into assertions, reports and logs): remove the user:password part",
        mask_url(url)
    )))
}

/// Whether `url` names a loopback host: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// Refuses plain HTTP to a host off this machine unless allowed: the assertion (and the
/// token that comes back) would cross the network in clear text. [`TokenClient::new`] calls
/// it; callers building a client with [`TokenClient::from_http`] should call it themselves.
///
/// # Errors
/// [`Error::Config`] naming the URL and `--allow-http` for `http://` to a host that is not
/// loopback when `allow_http` is false.
pub fn check_plain_http(url: &Url, allow_http: bool) -> Result<()> {
    if url.scheme() != "http" || is_loopback(url) {
        return Ok(());
    }
    if allow_http {
        tracing::warn!(url = %url, "sending assertions over plain http (allow_http is set)");
        return Ok(());
    }
    Err(Error::Config(format!(
        "token url {url} uses plain http to a host that is not loopback: the assertion is a \
         credential and would cross the network in clear text; use https, or pass \
         --allow-http (tls.allow_http in a target file) for a test gateway"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Algorithm, AssertionSigner, SigningKey};

    fn client(scope: Option<&str>) -> TokenClient {
        let opts = TokenClientOptions {
            scope: scope.map(str::to_owned),
            ..Default::default()
        };
        TokenClient::new(
            Url::parse("http://127.0.0.1:9/oauth/token").expect("url"),
            &opts,
        )
        .expect("client")
    }

    // The form body is exactly what the portal documents, with the assertion verbatim.
    #[test]
    fn form_body_is_exact() {
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let signer = AssertionSigner::builder(key, "SampleConfId")
            .audience("http://127.0.0.1:9/oauth/token")
            .build()
            .expect("signer");
        let a = signer.sign().expect("assertion");
        assert_eq!(
            client(None).form_body(&a),
            format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={}",
                a.expose()
            )
        );
        assert!(
            client(Some("read write"))
                .form_body(&a)
                .ends_with("&scope=read+write")
        );
    }

    // Non-http schemes and half an mTLS identity are refused with clear messages.
    #[test]
    fn bad_settings_are_refused() {
        let e = TokenClient::new(
            Url::parse("ftp://x/").expect("url"),
            &TokenClientOptions::default(),
        )
        .expect_err("refused");
        assert!(e.to_string().contains("\"ftp\""), "{e}");
        let opts = TokenClientOptions {
            client_cert: Some("c.pem".into()),
            ..Default::default()
        };
        let e =
            TokenClient::new(Url::parse("https://x/").expect("url"), &opts).expect_err("refused");
        assert!(
            e.to_string().contains("c.pem") && e.to_string().contains("client_key"),
            "{e}"
        );
        let opts = TokenClientOptions {
            ca_bundle_only: true,
            ..Default::default()
        };
        assert!(TokenClient::new(Url::parse("https://x/").expect("url"), &opts).is_err());
    }

    // Plain http is refused off loopback unless allowed; loopback and https always pass.
    #[test]
    fn plain_http_needs_loopback_or_allow_http() {
        let new = |u: &str, allow_http: bool| {
            let opts = TokenClientOptions {
                allow_http,
                ..Default::default()
            };
            TokenClient::new(Url::parse(u).expect("url"), &opts)
        };
        for ok in [
            "http://127.0.0.1:8080/oauth/token",
            "http://127.10.0.3/oauth/token",
            "http://localhost:1/oauth/token",
            "http://LOCALHOST/oauth/token",
            "http://[::1]:8080/oauth/token",
            "http://[::ffff:127.0.0.1]/oauth/token",
            "https://gw.example.com/oauth/token",
            "https://10.0.0.1/oauth/token",
        ] {
            assert!(new(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "http://gw.example.com/oauth/token",
            "http://10.0.0.1/oauth/token",
            "http://128.0.0.1/oauth/token",
            "http://[2001:db8::1]/oauth/token",
            "http://localhost.example.com/oauth/token",
            "http://0.0.0.0/oauth/token",
        ] {
            let e = new(bad, false).expect_err(bad).to_string();
            assert!(
                e.contains("plain http") && e.contains("--allow-http"),
                "{e}"
            );
            assert!(new(bad, true).is_ok(), "{bad} with allow_http");
        }
    }

    // A connection refused is an Http error, retryable, naming the URL.
    #[tokio::test]
    async fn connection_refused_is_retryable() {
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let signer = AssertionSigner::builder(key, "c")
            .audience("aud")
            .build()
            .expect("signer");
        let a = signer.sign().expect("assertion");
        // Bind then drop a listener so the port is (almost certainly) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .port();
        let c = TokenClient::new(
            Url::parse(&format!("http://127.0.0.1:{port}/oauth/token")).expect("url"),
            &TokenClientOptions::default(),
        )
        .expect("client");
        let e = c.request_token(&a).await.expect_err("refused");
        let Error::Http {
            url,
            retryable,
            reason,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert!(url.contains(&port.to_string()));
        assert!(*retryable, "{reason}");
        assert!(!e.to_string().contains(a.expose()));
    }
}
