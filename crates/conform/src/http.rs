//! HTTP for the runner: one request/response pair as sent and received ([`Request`],
//! [`Response`]), and its redacted, truncated record for reports ([`Exchange`]). Assertions
//! and tokens never reach an [`Exchange`]: form values, JSON fields and headers that carry
//! them are replaced, every JWT-looking run of text is cut to `eyJ…`, and every secret the
//! case handled is scrubbed wherever it appears (an error description echoing the assertion).

use std::time::{Duration, Instant};

use serde::Serialize;

/// Longest excerpt of a body kept in reports.
const EXCERPT: usize = 1500;

/// A request as the runner sends it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method (`POST`).
    pub method: String,
    /// The URL.
    pub url: url::Url,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Option<Vec<u8>>,
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status.
    pub status: u16,
    /// Headers in order (names lower-case).
    pub headers: Vec<(String, String)>,
    /// The body (at most 1 MiB kept).
    pub body: Vec<u8>,
    /// From sending to having read the body.
    pub elapsed: Duration,
}

impl Response {
    /// All values of a header joined with `, ` (RFC 9110 §5.3), name ignoring case.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        (!values.is_empty()).then(|| values.join(", "))
    }

    /// The body as JSON, when it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Sends `req`; a transport failure is `Err` with the reason (the case then errors, or a
/// transport probe counts it as refused).
///
/// # Errors
/// The transport error's message and sources on one line.
pub async fn send(
    client: &reqwest::Client,
    req: &Request,
    timeout: Duration,
) -> Result<Response, String> {
    match send_once(client, req, timeout).await {
        // A pooled keep-alive connection the server had just closed: the request never
        // arrived whole, so sending it once more on a new connection is safe.
        Err(e) if is_stale_connection(&e) => {
            send_once(client, req, timeout).await.map_err(|e| chain(&e))
        }
        other => other.map_err(|e| chain(&e)),
    }
}

/// Whether the request failed because the connection broke under it (reset, broken pipe).
fn is_stale_connection(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            )
        {
            return true;
        }
        cur = err.source();
    }
    false
}

async fn send_once(
    client: &reqwest::Client,
    req: &Request,
    timeout: Duration,
) -> Result<Response, reqwest::Error> {
    // The loader admits only upper-case letters, which always form a valid method.
    let method =
        reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::POST);
    let mut b = client.request(method, req.url.clone()).timeout(timeout);
    for (n, v) in &req.headers {
        b = b.header(n.as_str(), v.as_str());
    }
    if let Some(body) = &req.body {
        b = b.body(body.clone());
    }
    let started = Instant::now();
    let mut resp = b.send().await?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = (1024 * 1024usize).saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if room < chunk.len() {
            break;
        }
    }
    Ok(Response {
        status,
        headers,
        body,
        elapsed: started.elapsed(),
    })
}

/// An error and its sources on one line.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let msg = src.to_string();
        if !s.contains(&msg) {
            s.push_str(": ");
            s.push_str(&msg);
        }
        cur = src.source();
    }
    s
}

/// One exchange as reported: redacted, truncated.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// What the step was (`token`, `api`, `admin`, `probe`).
    pub label: String,
    /// The method.
    pub method: String,
    /// The URL, with secret query parameters redacted.
    pub url: String,
    /// Request headers, `Authorization` redacted.
    pub request_headers: Vec<(String, String)>,
    /// The request body excerpt, assertion redacted.
    pub request_body: String,
    /// The status, when a response came.
    pub status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// The response body excerpt, tokens redacted.
    pub response_body: String,
    /// The time taken.
    #[serde(serialize_with = "ser_millis", rename = "duration_ms")]
    pub duration: Duration,
    /// The transport error, when no response came.
    pub error: Option<String>,
}

fn ser_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((d.as_secs_f64() * 1_000_000.0).round() / 1000.0)
}

/// Secrets one case handled, scrubbed from everything it reports.
#[derive(Debug, Default, Clone)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// Remembers a secret (assertion or token) of at least 8 characters.
    pub fn add(&mut self, s: &str) {
        if s.len() >= 8 && !self.0.iter().any(|x| x == s) {
            self.0.push(s.to_owned());
            // Longest first, so a token inside an echoed assertion does not split it.
            self.0.sort_by_key(|x| std::cmp::Reverse(x.len()));
        }
    }

    /// Replaces every known secret and every JWT-looking run in `text`.
    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.0 {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), &bearing_auth::redact(s));
            }
        }
        scrub_jwts(&out)
    }
}

fn is_b64url(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Cuts every run that starts like a JWT segment (`eyJ` + 16 or more base64url characters)
/// to `eyJ…`.
pub fn scrub_jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("eyJ") {
        let preceded = rest[..i].chars().next_back().is_some_and(is_b64url);
        let run = rest[i..]
            .find(|c: char| !is_b64url(c))
            .unwrap_or(rest.len() - i);
        out.push_str(&rest[..i]);
        if !preceded && run >= 19 {
            out.push_str("eyJ…");
        } else {
            out.push_str(&rest[i..i + run]);
        }
        rest = &rest[i + run..];
    }
    out.push_str(rest);
    out
}

/// Truncates `s` to the excerpt length on a character boundary.
pub fn excerpt(s: &str) -> String {
    if s.len() <= EXCERPT {
        return s.to_owned();
    }
    let mut end = EXCERPT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

const SECRET_FIELDS: [&str; 5] = [
    "assertion",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
];

fn redact_value(name: &str, v: &str) -> String {
    if name == "assertion" || name == "client_secret" {
        format!("[redacted, {} bytes]", v.len())
    } else {
        bearing_auth::redact(v)
    }
}

fn redact_form(body: &str) -> String {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    // Only treat it as a form when it decodes to pairs and re-encodes to the same length class.
    if pairs.is_empty() || body.trim_start().starts_with('{') || body.contains('\n') {
        return body.to_owned();
    }
    // An excerpt for people: redacted values are written as they are, not form-encoded.
    let mut out = String::new();
    for (k, v) in &pairs {
        if !out.is_empty() {
            out.push('&');
        }
        let one = |x: &str| url::form_urlencoded::byte_serialize(x.as_bytes()).collect::<String>();
        out.push_str(&one(k));
        out.push('=');
        if SECRET_FIELDS.contains(&k.as_str()) {
            out.push_str(&redact_value(k, v));
        } else {
            out.push_str(&one(v));
        }
    }
    out
}

fn redact_json(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if SECRET_FIELDS.contains(&k.as_str())
                    && let Some(s) = x.as_str()
                {
                    *x = serde_json::Value::String(redact_value(k, s));
                } else {
                    redact_json(x);
                }
            }
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(redact_json),
        _ => {}
    }
}

/// Redacts a body: JSON secret fields, form secret fields, then the scrubbers.
pub fn redact_body(body: &[u8], secrets: &Secrets) -> String {
    let text = String::from_utf8_lossy(body);
    let redacted = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut v) if v.is_object() || v.is_array() => {
            redact_json(&mut v);
            v.to_string()
        }
        _ => redact_form(&text),
    };
    excerpt(&secrets.scrub(&redacted))
}

fn redact_headers(headers: &[(String, String)], secrets: &Secrets) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(n, v)| {
            let lower = n.to_ascii_lowercase();
            let v = if lower == "authorization"
                || lower == "proxy-authorization"
                || lower == "cookie"
            {
                match v.split_once(' ') {
                    Some((scheme, cred)) => format!("{scheme} {}", bearing_auth::redact(cred)),
                    None => bearing_auth::redact(v),
                }
            } else {
                secrets.scrub(v)
            };
            (n.clone(), excerpt(&v))
        })
        .collect()
}

fn redact_url(url: &url::Url, secrets: &Secrets) -> String {
    let mut u = url.clone();
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if SECRET_FIELDS.contains(&k.as_ref()) {
                    redact_value(&k, &v)
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    excerpt(&secrets.scrub(u.as_str()))
}

/// The reported record of one exchange.
pub fn record(
    label: &str,
    req: &Request,
    result: &Result<Response, String>,
    elapsed: Duration,
    secrets: &Secrets,
) -> Exchange {
    let (status, response_headers, response_body, error, duration) = match result {
        Ok(r) => (
            Some(r.status),
            redact_headers(&r.headers, secrets),
            redact_body(&r.body, secrets),
            None,
            r.elapsed,
        ),
        Err(e) => (
            None,
            Vec::new(),
            String::new(),
            Some(secrets.scrub(e)),
            elapsed,
        ),
    };
    Exchange {
        label: label.to_owned(),
        method: req.method.clone(),
        url: redact_url(&req.url, secrets),
        request_headers: redact_headers(&req.headers, secrets),
        request_body: req
            .body
            .as_deref()
            .map(|b| redact_body(b, secrets))
            .unwrap_or_default(),
        status,
        response_headers,
        response_body,
        duration,
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JWT: &str =
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJjaWQiLCJzdWIiOiJjaWQifQ.c2lnbmF0dXJlc2lnbmF0dXJl";

    // Assertions and tokens never survive redaction, wherever they appear.
    #[test]
    fn redacts_secrets() {
        let mut secrets = Secrets::default();
        secrets.add("tok_secret_0123456789");
        let form = format!("grant_type=x&assertion={JWT}&scope=a");
        let out = redact_body(form.as_bytes(), &secrets);
        assert!(!out.contains("eyJhbGci"), "{out}");
        assert!(out.contains("scope=a"), "{out}");
        let json = br#"{"access_token":"tok_secret_0123456789","token_type":"Bearer"}"#;
        let out = redact_body(json, &secrets);
        assert!(!out.contains("tok_secret_0123456789"), "{out}");
        assert!(out.contains("tok_secr…"), "{out}");
        let echoed = format!(
            "{{\"error\":\"invalid_grant\",\"error_description\":\"bad {JWT} and tok_secret_0123456789\"}}"
        );
        let out = redact_body(echoed.as_bytes(), &secrets);
        assert!(
            !out.contains("c2lnbmF0dXJl") || !out.contains("eyJpc3Mi"),
            "{out}"
        );
        assert!(!out.contains("tok_secret_0123456789"), "{out}");
        let headers = vec![(
            "Authorization".to_owned(),
            "Bearer tok_secret_0123456789".to_owned(),
        )];
        let h = redact_headers(&headers, &secrets);
        assert_eq!(h[0].1, "Bearer tok_secr…");
        let url: url::Url = "https://gw/api?access_token=tok_secret_0123456789&x=1"
            .parse()
            .expect("url");
        let u = redact_url(&url, &secrets);
        assert!(!u.contains("tok_secret_0123456789"), "{u}");
    }

    // Long bodies are cut on a character boundary.
    #[test]
    fn excerpts() {
        let long = "é".repeat(2000);
        let e = excerpt(&long);
        assert!(e.len() < long.len());
        assert!(e.ends_with("(4000 bytes in all)"));
        assert_eq!(scrub_jwts("x eyJshort y"), "x eyJshort y");
        assert_eq!(scrub_jwts(JWT), "eyJ….eyJ….c2lnbmF0dXJlc2lnbmF0dXJl");
    }
}
