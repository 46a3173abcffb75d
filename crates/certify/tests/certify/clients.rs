//! The clients certified in the tests: bearing-auth's own `TokenManager` (the reference good
//! client) and a scripted client that behaves well except for one deliberate flaw.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bearing_auth::{AssertionSigner, SigningKey, SystemClock};
use bearing_auth::{ManagerConfig, TokenClient, TokenClientOptions, TokenManager};

/// Pause between API calls.
const CALL_EVERY: Duration = Duration::from_millis(30);

/// Full access tokens the clients received, to prove none reaches a report.
pub type Seen = Arc<Mutex<Vec<String>>>;

/// What a scripted client gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Nothing: refreshes at half-life, one new token and one retry after a 401, honours Retry-After.
    None,
    /// Signs one assertion and sends it on every token request.
    ReusesJti,
    /// Fetches a new token before every API call.
    TokenPerCall,
    /// Carries on with the token after a 401 (until its scheduled refresh).
    Ignores401,
    /// Signs assertions for another URL.
    WrongAud,
    /// Puts the assertion in the URL query (grant_type stays in the body).
    AssertionInQuery,
    /// Retries a 503/429 at once, in a tight loop.
    RetryStorm,
    /// Never refreshes ahead: uses the token until the gateway says 401.
    UsesExpiredToken,
    /// Sends `Authorization: Basic base64(client_id:)`, an empty secret, with every token
    /// request (the gateway refuses it invalid_client before reading the body).
    EmptyBasicSecret,
    /// Asks for `scope=read` on every token request (registered through the plan's scopes).
    RequestsScope,
}

/// A scripted client.
pub struct Scripted {
    pub flaw: Flaw,
    pub http: reqwest::Client,
    pub signer: AssertionSigner,
    pub token_url: String,
    pub api_url: String,
    pub client_id: String,
    pub seen: Seen,
}

enum Fetch {
    Token(String, Duration),
    Wait(Duration),
}

impl Scripted {
    pub fn new(
        flaw: Flaw,
        key: &Arc<SigningKey>,
        client_id: &str,
        token_url: &str,
        api_url: &str,
        seen: Seen,
    ) -> Self {
        let aud = if flaw == Flaw::WrongAud {
            "https://other.example/oauth/token"
        } else {
            token_url
        };
        let signer = AssertionSigner::builder(Arc::clone(key), client_id)
            .audience(aud)
            .build()
            .expect("signer");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("http client");
        Self {
            flaw,
            http,
            signer,
            token_url: token_url.into(),
            api_url: api_url.into(),
            client_id: client_id.into(),
            seen,
        }
    }

    async fn fetch(&self, fixed: &mut Option<String>) -> Fetch {
        let assertion = if self.flaw == Flaw::ReusesJti {
            fixed
                .get_or_insert_with(|| self.signer.sign().expect("sign").expose().to_owned())
                .clone()
        } else {
            self.signer.sign().expect("sign").expose().to_owned()
        };
        const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
        let req = if self.flaw == Flaw::AssertionInQuery {
            let url =
                url::Url::parse_with_params(&self.token_url, [("assertion", assertion.as_str())])
                    .expect("url");
            self.http.post(url).form(&[("grant_type", GRANT)])
        } else if self.flaw == Flaw::RequestsScope {
            self.http.post(&self.token_url).form(&[
                ("grant_type", GRANT),
                ("assertion", assertion.as_str()),
                ("scope", "read"),
            ])
        } else {
            self.http
                .post(&self.token_url)
                .form(&[("grant_type", GRANT), ("assertion", assertion.as_str())])
        };
        let req = if self.flaw == Flaw::EmptyBasicSecret {
            req.basic_auth(&self.client_id, Some(""))
        } else {
            req
        };
        let Ok(resp) = req.send().await else {
            return Fetch::Wait(Duration::from_millis(100));
        };
        let status = resp.status().as_u16();
        if status == 503 || status == 429 {
            let ra = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(1);
            return Fetch::Wait(if self.flaw == Flaw::RetryStorm {
                Duration::from_millis(5)
            } else {
                Duration::from_secs(ra)
            });
        }
        let Ok(body) = resp.json::<serde_json::Value>().await else {
            return Fetch::Wait(Duration::from_millis(100));
        };
        let Some(token) = body["access_token"].as_str() else {
            return Fetch::Wait(Duration::from_millis(100));
        };
        let secs = match &body["expires_in"] {
            serde_json::Value::Number(n) => n.as_u64().unwrap_or(1),
            serde_json::Value::String(s) => s.parse().unwrap_or(1),
            _ => 1,
        };
        self.seen.lock().expect("lock").push(token.to_owned());
        Fetch::Token(token.to_owned(), Duration::from_secs(secs))
    }

    /// Calls the API in a loop until `stop`.
    pub async fn run(self, stop: Arc<AtomicBool>) {
        let mut fixed = None;
        // (token, refresh at, usable until)
        let mut current: Option<(String, Instant, Instant)> = None;
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if self.flaw != Flaw::UsesExpiredToken && current.as_ref().is_some_and(|c| now >= c.2) {
                current = None;
            }
            let need = match self.flaw {
                Flaw::TokenPerCall => true,
                Flaw::UsesExpiredToken => current.is_none(),
                _ => current.as_ref().is_none_or(|c| now >= c.1),
            };
            if need {
                match self.fetch(&mut fixed).await {
                    Fetch::Token(t, life) => {
                        let now = Instant::now();
                        // Usable until 80% of the lifetime: the gateway's clock started
                        // before the answer reached us.
                        current = Some((t, now + life / 2, now + life.mul_f64(0.8)));
                    }
                    Fetch::Wait(d) => {
                        tokio::time::sleep(d).await;
                        if current.is_none() {
                            continue;
                        }
                        // A failed refresh: keep the token while it is valid.
                        if self.flaw != Flaw::UsesExpiredToken
                            && current.as_ref().is_some_and(|c| Instant::now() >= c.2)
                        {
                            continue;
                        }
                    }
                }
            }
            let Some((token, ..)) = current.clone() else {
                continue;
            };
            let resp = self
                .http
                .post(&self.api_url)
                .bearer_auth(&token)
                .send()
                .await;
            if resp.as_ref().is_ok_and(|r| r.status() == 401) && self.flaw != Flaw::Ignores401 {
                current = None; // one new token, then the next loop turn is the one retry
                continue;
            }
            tokio::time::sleep(CALL_EVERY).await;
        }
    }
}

/// bearing-auth's `TokenManager` calling the API in a loop until `stop`; on a failed fetch it
/// waits for the endpoint's `Retry-After` (or 1 s) like any well-behaved application.
pub async fn token_manager(
    key: &Arc<SigningKey>,
    client_id: &str,
    token_url: &str,
    api_url: &str,
    seen: Seen,
    stop: Arc<AtomicBool>,
) {
    let signer = AssertionSigner::builder(Arc::clone(key), client_id)
        .audience(token_url)
        .build()
        .expect("signer");
    let client = TokenClient::new(
        token_url.parse().expect("url"),
        &TokenClientOptions::default(),
    )
    .expect("token client");
    let config = ManagerConfig {
        max_attempts: 5,
        ..ManagerConfig::default()
    };
    let m = TokenManager::new(signer, client, Arc::new(SystemClock), config).expect("manager");
    let http = m.client().http().clone();
    while !stop.load(Ordering::Relaxed) {
        let out = m
            .call(|t| {
                seen.lock().expect("lock").push(t.expose().to_owned());
                let req = http.post(api_url).bearer_auth(t.expose());
                async move { req.send().await }
            })
            .await;
        match out {
            Ok(_) => tokio::time::sleep(CALL_EVERY).await,
            Err(e) => {
                let wait = match &e {
                    bearing_auth::Error::Token(t) => t.retry_after(),
                    _ => None,
                };
                tokio::time::sleep(wait.unwrap_or(Duration::from_secs(1))).await;
            }
        }
    }
}
