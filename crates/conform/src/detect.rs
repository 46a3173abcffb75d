//! `bearing profile detect`: probes a gateway knob by knob with signed token requests and
//! says which shipped profile it behaves like.
//!
//! Every probe is one HTTP request (token endpoint, or one API call for the resource-server
//! knobs), counted; the total is bounded by [`DetectConfig::max_probes`]. No probe waits:
//! expiry and clock-skew knobs are found by *placing* `exp`, `nbf` and `iat` in the past or
//! future (fractional NumericDates, so to the second on a loopback target), never by waiting
//! out real lifetimes.
//!
//! - leeways (`leeway.exp`, `.nbf`, `.iat_future`) and `max_assertion_lifetime`: integer
//!   bisection to 1 s between a known accepted and a known refused value;
//! - `iat_required`, `jti_required`, `sub_required`, `sub_policy`: one claim left out or
//!   changed; `replay_protection` and `errors.replay`: the same assertion sent twice;
//! - `audiences.*`: the token URL, the base URL (the token URL's origin) and an array;
//! - `allowed_algs`: every RSA algorithm the identity's key can sign (other key types are
//!   not probed); `expires_in_format`, `access_token_lifetime`, `token_type`,
//!   `pragma_no_cache`, `error_style`, `errors.*grant_type`: read from the answers;
//! - `rs_challenge`, `allow_query_token`: one API call each, when the target names an API.
//!
//! Not probed (they need a second client, a scope-less client or an expired certificate):
//! `jti_scope`, `rs_insufficient_scope_status`, `check_cert_validity`. The observed profile
//! takes them from the best-matching shipped profile and says so.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bearing_auth::{
    Algorithm, GatewayProfile, SigningKey, Target, TokenClient, TokenClientOptions,
};
use bearing_auth::{ErrorStyle, ExpiresInFormat, ReplayProtection, SubPolicy};
use serde_json::{Value, json};

use crate::error::{Error, Result};
use crate::http::{Request, Response, send};

/// The RSA algorithms probed (the identity's key decides which can be signed).
const PROBED_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// Largest clock-skew allowance searched (an allowance at or beyond it is reported as it).
const MAX_LEEWAY: u64 = 2 * 86_400;
/// Largest assertion lifetime searched; accepted at this lifetime means "no cap".
const MAX_LIFETIME: u64 = 10 * 365 * 86_400;
/// The lifetime of the baseline assertion.
const BASE_LIFETIME: u64 = 60;

/// Limits of a detection run.
#[derive(Debug, Clone)]
pub struct DetectConfig {
    /// Most requests sent; the run stops with an error beyond it.
    pub max_probes: usize,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for DetectConfig {
    fn default() -> Self {
        Self {
            max_probes: 300,
            timeout: Duration::from_secs(5),
        }
    }
}

/// What was found for one knob.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Observation {
    /// The knob (`leeway.exp`).
    pub knob: String,
    /// The value found, as profiles write it; `None` when not probed.
    pub observed: Option<String>,
    /// How it was found (or why not).
    pub evidence: String,
}

/// One shipped profile's agreement with the observation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rank {
    /// Profile name.
    pub name: String,
    /// Probed knobs whose value matches.
    pub matches: usize,
    /// Probed knobs compared.
    pub compared: usize,
    /// The probed knobs that differ.
    pub differs: Vec<String>,
}

/// The result of a detection run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Detection {
    /// Knob by knob, in profile order.
    pub observations: Vec<Observation>,
    /// Shipped profiles, best match first (ties by name).
    pub ranking: Vec<Rank>,
    /// Requests sent.
    pub probes: usize,
    /// The observed profile (unprobed knobs from the best match).
    #[serde(skip)]
    pub profile: GatewayProfile,
}

impl Detection {
    /// The observed profile as YAML usable with `--profile`, with a header saying where each
    /// value came from.
    ///
    /// # Errors
    /// When the profile cannot be serialised.
    pub fn to_yaml(&self) -> std::result::Result<String, bearing_auth::Error> {
        let best = self
            .ranking
            .first()
            .map_or("rfc-strict", |r| r.name.as_str());
        let mut s = format!(
            "# Observed by `bearing profile detect` ({} requests). Knobs not probed are copied\n\
             # from the best-matching shipped profile ({best}).\n",
            self.probes
        );
        for o in &self.observations {
            match &o.observed {
                Some(v) => s.push_str(&format!("#   {}: {v} ({})\n", o.knob, o.evidence)),
                None => s.push_str(&format!("#   {}: not probed ({})\n", o.knob, o.evidence)),
            }
        }
        s.push_str(&self.profile.to_yaml()?);
        Ok(s)
    }
}

/// Whether two rendered values of `knob` agree (durations within 1 s for the token lifetime;
/// algorithm lists compared on the probed algorithms only).
fn agrees(knob: &str, observed: &str, theirs: &str) -> bool {
    match knob {
        "access_token_lifetime" => match (
            humantime::parse_duration(observed),
            humantime::parse_duration(theirs),
        ) {
            (Ok(a), Ok(b)) => a.abs_diff(b) <= Duration::from_secs(1),
            _ => observed == theirs,
        },
        "allowed_algs" => {
            let probed: Vec<String> = PROBED_ALGS.iter().map(ToString::to_string).collect();
            let pick = |s: &str| -> Vec<String> {
                s.trim_matches(|c| c == '[' || c == ']')
                    .split(',')
                    .map(|a| a.trim().to_owned())
                    .filter(|a| probed.contains(a))
                    .collect()
            };
            let (mut a, mut b) = (pick(observed), pick(theirs));
            a.sort();
            b.sort();
            a == b
        }
        _ => observed == theirs,
    }
}

/// Ranks `shipped` by agreement with `observations` (best first; ties by name).
pub fn rank(observations: &[Observation], shipped: &[GatewayProfile]) -> Vec<Rank> {
    let mut out: Vec<Rank> = shipped
        .iter()
        .map(|p| {
            let theirs: std::collections::BTreeMap<String, String> =
                bearing_auth::shipped::knobs(p)
                    .into_iter()
                    .map(|k| (k.key, k.value))
                    .collect();
            let mut r = Rank {
                name: p.name.clone(),
                matches: 0,
                compared: 0,
                differs: Vec::new(),
            };
            for o in observations {
                let (Some(v), Some(t)) = (&o.observed, theirs.get(&o.knob)) else {
                    continue;
                };
                r.compared += 1;
                if agrees(&o.knob, v, t) {
                    r.matches += 1;
                } else {
                    r.differs.push(o.knob.clone());
                }
            }
            r
        })
        .collect();
    out.sort_by(|a, b| b.matches.cmp(&a.matches).then_with(|| a.name.cmp(&b.name)));
    out
}

/// An answer to a token request.
struct Answer {
    resp: Response,
    json: Option<Value>,
}

impl Answer {
    fn accepted(&self) -> bool {
        self.resp.status == 200
            && self
                .json
                .as_ref()
                .is_some_and(|j| j.get("access_token").is_some())
    }

    /// The machine-readable error code (`error`, or Apigee's `ErrorCode`).
    fn code(&self) -> Option<String> {
        let j = self.json.as_ref()?;
        j.get("error")
            .or_else(|| j.get("ErrorCode"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    fn summary(&self) -> String {
        match self.code() {
            Some(c) => format!("{} {c}", self.resp.status),
            None => self.resp.status.to_string(),
        }
    }
}

/// The prober: one identity, one HTTP client, a request counter.
struct Prober {
    http: reqwest::Client,
    token_url: url::Url,
    client_id: String,
    key: Arc<SigningKey>,
    alg: Algorithm,
    aud: Value,
    probes: usize,
    cfg: DetectConfig,
    jti: u64,
    run_id: u64,
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0)
}

impl Prober {
    fn next_jti(&mut self) -> String {
        self.jti += 1;
        format!("detect-{:x}-{}", self.run_id, self.jti)
    }

    /// Baseline claims: iss, sub = iss, aud, iat = now, exp = now + 60 s, a fresh jti.
    fn claims(&mut self, now: f64) -> serde_json::Map<String, Value> {
        let jti = self.next_jti();
        let v = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.aud,
            "iat": now,
            "exp": now + BASE_LIFETIME as f64,
            "jti": jti,
        });
        v.as_object().cloned().unwrap_or_default()
    }

    fn sign(&self, alg: Algorithm, claims: &serde_json::Map<String, Value>) -> Result<String> {
        let header = json!({"alg": alg.to_string(), "typ": "JWT"});
        Ok(bearing_auth::sign_raw(
            &self.key,
            alg,
            header.to_string().as_bytes(),
            Value::Object(claims.clone()).to_string().as_bytes(),
        )?)
    }

    async fn post(&mut self, form: &[(&str, &str)]) -> Result<Answer> {
        if self.probes >= self.cfg.max_probes {
            return Err(Error::Setup(format!(
                "stopped after {} requests (the probe budget)",
                self.probes
            )));
        }
        self.probes += 1;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = Request {
            method: "POST".into(),
            url: self.token_url.clone(),
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
                ("Accept".into(), "application/json".into()),
            ],
            body: Some(body.into_bytes()),
        };
        let resp = send(&self.http, &req, self.cfg.timeout)
            .await
            .map_err(|e| Error::Setup(format!("token request to {}: {e}", self.token_url)))?;
        let json = resp.json();
        Ok(Answer { resp, json })
    }

    async fn token_with(
        &mut self,
        alg: Algorithm,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<Answer> {
        let jwt = self.sign(alg, claims)?;
        self.post(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("assertion", &jwt),
        ])
        .await
    }

    async fn token(&mut self, claims: &serde_json::Map<String, Value>) -> Result<Answer> {
        self.token_with(self.alg, claims).await
    }

    /// Whether an assertion shaped by `shape(claims, now, x)` is accepted.
    async fn accepts(
        &mut self,
        x: u64,
        shape: fn(&mut serde_json::Map<String, Value>, f64, f64),
    ) -> Result<bool> {
        let now = now_secs();
        let mut c = self.claims(now);
        shape(&mut c, now, x as f64);
        Ok(self.token(&c).await?.accepted())
    }

    /// Bisects for the boundary of a monotone acceptance between `lo` and `hi` (1 s steps).
    async fn bisect(
        &mut self,
        lo: u64,
        hi: u64,
        shape: fn(&mut serde_json::Map<String, Value>, f64, f64),
    ) -> Result<Bound> {
        let a_lo = self.accepts(lo, shape).await?;
        let a_hi = self.accepts(hi, shape).await?;
        if a_lo == a_hi {
            return Ok(if a_lo {
                Bound::AllAccepted
            } else {
                Bound::AllRefused
            });
        }
        let (mut l, mut h) = (lo, hi);
        while h - l > 1 {
            let m = l + (h - l) / 2;
            if self.accepts(m, shape).await? == a_lo {
                l = m;
            } else {
                h = m;
            }
        }
        Ok(Bound::Between(l, h))
    }
}

/// Where a bisection ended.
enum Bound {
    /// `lo` answered one way, `hi` the other; the boundary lies between these adjacent values.
    Between(u64, u64),
    /// Both ends accepted.
    AllAccepted,
    /// Both ends refused.
    AllRefused,
}

fn set(c: &mut serde_json::Map<String, Value>, k: &str, v: f64) {
    c.insert(k.into(), json!(v));
}

// Shapes: x seconds of the knob under test.
fn shape_expired(c: &mut serde_json::Map<String, Value>, now: f64, x: f64) {
    set(c, "exp", now - x);
    set(c, "iat", now - x - BASE_LIFETIME as f64);
}
fn shape_nbf(c: &mut serde_json::Map<String, Value>, now: f64, x: f64) {
    set(c, "nbf", now + x);
    set(c, "exp", now + x + BASE_LIFETIME as f64);
}
fn shape_iat_future(c: &mut serde_json::Map<String, Value>, now: f64, x: f64) {
    set(c, "iat", now + x);
    set(c, "exp", now + x + BASE_LIFETIME as f64);
}
fn shape_lifetime(c: &mut serde_json::Map<String, Value>, now: f64, x: f64) {
    set(c, "exp", now + x);
}

fn secs(d: u64) -> String {
    humantime::format_duration(Duration::from_secs(d)).to_string()
}

/// Probes `target` and ranks `shipped` by agreement.
///
/// # Errors
/// [`Error::Target`] when the identity cannot be loaded; [`Error::Setup`] when the gateway
/// cannot be reached, refuses every baseline assertion, or the probe budget runs out.
pub async fn detect(
    target: &Target,
    shipped: &[GatewayProfile],
    cfg: DetectConfig,
) -> Result<Detection> {
    let mut o = GatewayProfile::rfc_strict();
    o.name = "observed".into();
    o.description = format!("observed at {} by bearing profile detect", target.token_url);
    let mut s = Survey {
        p: Prober::new(target, cfg)?,
        o,
        obs: Vec::new(),
    };
    s.audiences(&target.client_id).await?;
    let access_token = s.good_answer().await?;
    s.required_claims().await?;
    s.replay().await?;
    s.algorithms().await?;
    s.clock().await?;
    s.error_shape().await?;
    s.resource_side(target, access_token.as_deref()).await?;
    s.not_probed();
    Ok(s.finish(shipped))
}

/// A detection under way: the prober, the profile observed so far and the evidence.
struct Survey {
    p: Prober,
    o: GatewayProfile,
    obs: Vec<Observation>,
}

impl Prober {
    /// A prober for `target`'s identity, with its own HTTP client (detect's user agent).
    fn new(target: &Target, cfg: DetectConfig) -> Result<Self> {
        let identity = target
            .load_identity()
            .map_err(|e| Error::Target(e.to_string()))?;
        let options = TokenClientOptions {
            request_timeout: cfg.timeout,
            user_agent: concat!("bearing-detect/", env!("CARGO_PKG_VERSION")).to_owned(),
            ..target.token_client_options()
        };
        let http = TokenClient::new(target.token_url.clone(), &options)
            .map_err(|e| Error::Target(e.to_string()))?
            .http()
            .clone();
        let run_id = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Ok(Self {
            http,
            token_url: target.token_url.clone(),
            client_id: target.client_id.clone(),
            key: Arc::clone(&identity.key),
            alg: identity.signer.algorithm(),
            aud: json!(target.token_url.as_str()),
            probes: 0,
            cfg,
            jti: 0,
            run_id,
        })
    }
}

impl Survey {
    fn note(&mut self, knob: &str, observed: Option<String>, evidence: String) {
        self.obs.push(Observation {
            knob: knob.to_owned(),
            observed,
            evidence,
        });
    }

    /// The baseline, and the audience forms (`audiences.*`): the token URL, the base URL and
    /// a one-element array; later probes use the form that was accepted.
    async fn audiences(&mut self, client_id: &str) -> Result<()> {
        let token_url_s = self.p.token_url.as_str().to_owned();
        let base_url = self.p.token_url.origin().ascii_serialization();
        let now = now_secs();
        let c = self.p.claims(now);
        let base_answer = self.p.token(&c).await?;
        let token_ok = base_answer.accepted();
        self.p.aud = json!(base_url);
        let c = self.p.claims(now_secs());
        let base_ok = self.p.token(&c).await?.accepted();
        if !token_ok && !base_ok {
            return Err(Error::Setup(format!(
                "the gateway refused the baseline assertion (iss = sub = {}, aud = the token URL \
                 or {base_url}, iat = now, exp = now + 60 s, jti): {}; check the target identity",
                client_id,
                base_answer.summary()
            )));
        }
        self.p.aud = if token_ok {
            json!(token_url_s)
        } else {
            json!(base_url)
        };
        let chosen = self.p.aud.clone();
        self.p.aud = json!([chosen]);
        let c = self.p.claims(now_secs());
        let array_ok = self.p.token(&c).await?.accepted();
        self.p.aud = chosen;
        self.o.audiences.token_url = token_ok;
        self.o.audiences.base_url = base_ok;
        self.o.audiences.allow_array = array_ok;
        for (knob, ok, what) in [
            (
                "audiences.token_url",
                token_ok,
                format!("aud = {token_url_s}"),
            ),
            ("audiences.base_url", base_ok, format!("aud = {base_url}")),
            (
                "audiences.allow_array",
                array_ok,
                "aud as a one-element array".to_owned(),
            ),
        ] {
            let verdict = if ok { "accepted" } else { "refused" };
            self.note(knob, Some(ok.to_string()), format!("{what}: {verdict}"));
        }

        Ok(())
    }

    /// A good answer: `expires_in` (format and lifetime), `token_type`, `Pragma`; returns
    /// the access token for the resource-side probes.
    async fn good_answer(&mut self) -> Result<Option<String>> {
        let now = now_secs();
        let c = self.p.claims(now);
        let good = self.p.token(&c).await?;
        let access_token = good
            .json
            .as_ref()
            .and_then(|j| j.get("access_token"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        if let Some(j) = good.json.as_ref().filter(|_| good.accepted()) {
            match j.get("expires_in") {
                Some(Value::Number(n)) => {
                    self.o.expires_in_format = ExpiresInFormat::Number;
                    self.note(
                        "expires_in_format",
                        Some("number".into()),
                        format!("expires_in: {n}"),
                    );
                    if let Some(s) = n.as_u64() {
                        self.o.access_token_lifetime = Duration::from_secs(s);
                        self.note(
                            "access_token_lifetime",
                            Some(secs(s)),
                            format!("expires_in: {n}"),
                        );
                    }
                }
                Some(Value::String(s)) => {
                    self.o.expires_in_format = ExpiresInFormat::String;
                    self.note(
                        "expires_in_format",
                        Some("string".into()),
                        format!("expires_in: \"{s}\""),
                    );
                    if let Ok(n) = s.parse::<u64>() {
                        self.o.access_token_lifetime = Duration::from_secs(n);
                        self.note(
                            "access_token_lifetime",
                            Some(secs(n)),
                            format!("expires_in: \"{s}\""),
                        );
                    }
                }
                _ => self.note(
                    "expires_in_format",
                    None,
                    "no expires_in in the answer".into(),
                ),
            }
            if let Some(t) = j.get("token_type").and_then(Value::as_str) {
                self.o.token_type = t.to_owned();
                self.note("token_type", Some(t.to_owned()), format!("token_type: {t}"));
            }
            let pragma = good
                .resp
                .header("pragma")
                .is_some_and(|v| v.to_ascii_lowercase().contains("no-cache"));
            self.o.pragma_no_cache = pragma;
            self.note(
                "pragma_no_cache",
                Some(pragma.to_string()),
                format!(
                    "Pragma: {}",
                    good.resp
                        .header("pragma")
                        .unwrap_or_else(|| "(none)".into())
                ),
            );
        }
        Ok(access_token)
    }

    /// Required claims (`iat`, `jti`, `sub`) and the `sub` policy.
    async fn required_claims(&mut self) -> Result<()> {
        for (knob, claim) in [
            ("iat_required", "iat"),
            ("jti_required", "jti"),
            ("sub_required", "sub"),
        ] {
            let mut c = self.p.claims(now_secs());
            c.remove(claim);
            let a = self.p.token(&c).await?;
            let required = !a.accepted();
            match knob {
                "iat_required" => self.o.iat_required = required,
                "jti_required" => self.o.jti_required = required,
                _ => self.o.sub_required = required,
            }
            self.note(
                knob,
                Some(required.to_string()),
                format!(
                    "without {claim}: {}",
                    if required {
                        a.summary()
                    } else {
                        "accepted".into()
                    }
                ),
            );
        }
        let mut c = self.p.claims(now_secs());
        c.insert("sub".into(), json!("bearing-detect-other-subject"));
        let a = self.p.token(&c).await?;
        self.o.sub_policy = if a.accepted() {
            SubPolicy::Any
        } else {
            SubPolicy::EqualIss
        };
        self.note(
            "sub_policy",
            Some(if a.accepted() { "any" } else { "equal-iss" }.into()),
            format!(
                "sub ≠ iss: {}",
                if a.accepted() {
                    "accepted".into()
                } else {
                    a.summary()
                }
            ),
        );

        Ok(())
    }

    /// `replay_protection` and `errors.replay`: the same assertion twice.
    async fn replay(&mut self) -> Result<()> {
        let c = self.p.claims(now_secs());
        let first = self.p.token(&c).await?;
        let second = self.p.token(&c).await?;
        if first.accepted() {
            if second.accepted() {
                self.o.replay_protection = ReplayProtection::None;
                self.note(
                    "replay_protection",
                    Some("none".into()),
                    "the same assertion accepted twice".into(),
                );
                self.note("errors.replay", None, "no replay refusal to read".into());
            } else {
                self.o.replay_protection = ReplayProtection::Jti;
                self.note(
                    "replay_protection",
                    Some("jti".into()),
                    format!("second use: {}", second.summary()),
                );
                match second.code() {
                    Some(code) => {
                        self.o.errors.replay.clone_from(&code);
                        self.note(
                            "errors.replay",
                            Some(code),
                            format!("second use: {}", second.summary()),
                        );
                    }
                    None => self.note(
                        "errors.replay",
                        None,
                        "the refusal carried no error code".into(),
                    ),
                }
            }
        }

        Ok(())
    }

    /// `allowed_algs`: the RSA algorithms the key can sign.
    async fn algorithms(&mut self) -> Result<()> {
        let mut accepted_algs = Vec::new();
        let mut tried = Vec::new();
        for alg in PROBED_ALGS {
            let c = self.p.claims(now_secs());
            if self.p.sign(alg, &c).is_err() {
                continue;
            }
            tried.push(alg.to_string());
            if self.p.token_with(alg, &c).await?.accepted() {
                accepted_algs.push(alg);
            }
        }
        if !accepted_algs.is_empty() {
            self.o.allowed_algs.clone_from(&accepted_algs);
            let shown: Vec<String> = accepted_algs.iter().map(ToString::to_string).collect();
            self.note(
                "allowed_algs",
                Some(format!("[{}]", shown.join(", "))),
                format!("tried {}", tried.join(", ")),
            );
        }

        Ok(())
    }

    /// Clock skew (`leeway.*`) and `max_assertion_lifetime`, by bisection (1 s resolution).
    async fn clock(&mut self) -> Result<()> {
        let range = format!("0..{MAX_LEEWAY} s");
        match self.p.bisect(0, MAX_LEEWAY, shape_expired).await? {
            Bound::Between(_, refused) => {
                self.o.leeway.exp = Duration::from_secs(refused);
                self.note(
                    "leeway.exp",
                    Some(secs(refused)),
                    format!("exp = now − {refused} s is the first refused"),
                );
            }
            Bound::AllRefused => {
                self.o.leeway.exp = Duration::ZERO;
                self.note(
                    "leeway.exp",
                    Some(secs(0)),
                    "exp = now already refused".into(),
                );
            }
            Bound::AllAccepted => {
                self.o.leeway.exp = Duration::from_secs(MAX_LEEWAY);
                self.note(
                    "leeway.exp",
                    Some(secs(MAX_LEEWAY)),
                    format!("still accepted at the end of {range}"),
                );
            }
        }
        for (knob, shape, what) in [
            (
                "leeway.nbf",
                shape_nbf as fn(&mut serde_json::Map<String, Value>, f64, f64),
                "nbf",
            ),
            ("leeway.iat_future", shape_iat_future, "iat"),
        ] {
            let found = match self.p.bisect(0, MAX_LEEWAY, shape).await? {
                Bound::Between(accepted, _) => Some((
                    accepted,
                    format!("{what} = now + {accepted} s is the last accepted"),
                )),
                Bound::AllAccepted => {
                    Some((MAX_LEEWAY, format!("still accepted at the end of {range}")))
                }
                Bound::AllRefused => None,
            };
            match found {
                Some((v, why)) => {
                    if what == "nbf" {
                        self.o.leeway.nbf = Duration::from_secs(v);
                    } else {
                        self.o.leeway.iat_future = Duration::from_secs(v);
                    }
                    self.note(knob, Some(secs(v)), why);
                }
                None => self.note(knob, None, format!("{what} = now already refused")),
            }
        }
        match self
            .p
            .bisect(BASE_LIFETIME, MAX_LIFETIME, shape_lifetime)
            .await?
        {
            Bound::Between(accepted, _) => {
                self.o.max_assertion_lifetime = Some(Duration::from_secs(accepted));
                self.note(
                    "max_assertion_lifetime",
                    Some(secs(accepted)),
                    format!("exp − iat = {accepted} s is the longest accepted"),
                );
            }
            Bound::AllAccepted => {
                self.o.max_assertion_lifetime = None;
                self.note(
                    "max_assertion_lifetime",
                    Some("none".into()),
                    "exp − iat = 10 years accepted".into(),
                );
            }
            Bound::AllRefused => {
                self.note("max_assertion_lifetime", None, "even 60 s refused".into());
            }
        }

        Ok(())
    }

    /// `error_style` and the `grant_type` error codes.
    async fn error_shape(&mut self) -> Result<()> {
        let c = self.p.claims(now_secs());
        let jwt = self.p.sign(self.p.alg, &c)?;
        let unknown = self
            .p
            .post(&[
                ("grant_type", "urn:example:bearing:unknown"),
                ("assertion", &jwt),
            ])
            .await?;
        let missing = self.p.post(&[("assertion", &jwt)]).await?;
        let style = unknown.json.as_ref().map(|j| {
            if j.get("ErrorCode").is_some() {
                ErrorStyle::Apigee
            } else {
                ErrorStyle::Rfc
            }
        });
        if let Some(st) = style {
            self.o.error_style = st;
            self.note(
                "error_style",
                Some(
                    if st == ErrorStyle::Apigee {
                        "apigee"
                    } else {
                        "rfc"
                    }
                    .into(),
                ),
                format!(
                    "error body has {}",
                    if st == ErrorStyle::Apigee {
                        "ErrorCode/Error"
                    } else {
                        "error"
                    }
                ),
            );
        }
        for (knob, a) in [
            ("errors.unknown_grant_type", &unknown),
            ("errors.missing_grant_type", &missing),
        ] {
            match a.code() {
                Some(code) => {
                    if knob.ends_with("unknown_grant_type") {
                        self.o.errors.unknown_grant_type.clone_from(&code);
                    } else {
                        self.o.errors.missing_grant_type.clone_from(&code);
                    }
                    self.note(knob, Some(code), a.summary());
                }
                None => self.note(knob, None, format!("{}: no error code", a.summary())),
            }
        }

        Ok(())
    }

    /// The resource side (`rs_challenge`, `allow_query_token`): one API call each, when the
    /// target names an API.
    async fn resource_side(&mut self, target: &Target, access_token: Option<&str>) -> Result<()> {
        if let Some(api) = target.apis.first() {
            let method = api.method.clone();
            let body = api.load_body().unwrap_or_default();
            let mut headers: Vec<(String, String)> = api
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            headers.push(("Accept".into(), "application/json".into()));
            let call = |url: url::Url, auth: Option<String>| Request {
                method: method.clone(),
                url,
                headers: headers
                    .iter()
                    .cloned()
                    .chain(auth.map(|a| ("Authorization".to_owned(), a)))
                    .collect(),
                body: body.clone(),
            };
            self.p.probes += 1;
            let r = send(
                &self.p.http,
                &call(api.url.clone(), None),
                self.p.cfg.timeout,
            )
            .await
            .map_err(|e| Error::Setup(format!("API call to {}: {e}", api.url)))?;
            let challenge = r
                .header("www-authenticate")
                .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("bearer"));
            self.o.rs_challenge = challenge;
            self.note(
                "rs_challenge",
                Some(challenge.to_string()),
                format!(
                    "{} {} without a token: {} {}",
                    api.method,
                    api.url.path(),
                    r.status,
                    r.header("www-authenticate").map_or_else(
                        || "(no WWW-Authenticate)".to_owned(),
                        |v| v.chars().take(60).collect()
                    )
                ),
            );
            if let Some(tok) = &access_token {
                let mut u = api.url.clone();
                u.query_pairs_mut().append_pair("access_token", tok);
                self.p.probes += 1;
                let r = send(&self.p.http, &call(u, None), self.p.cfg.timeout)
                    .await
                    .map_err(|e| Error::Setup(format!("API call to {}: {e}", api.url)))?;
                let ok = (200..300).contains(&r.status);
                self.o.allow_query_token = ok;
                self.note(
                    "allow_query_token",
                    Some(ok.to_string()),
                    format!("token in ?access_token=: {}", r.status),
                );
            }
        } else {
            self.note("rs_challenge", None, "the target names no API".into());
            self.note("allow_query_token", None, "the target names no API".into());
        }
        Ok(())
    }

    /// The knobs no probe can find, and why.
    fn not_probed(&mut self) {
        for (knob, why) in [
            ("jti_scope", "needs a second registered client"),
            (
                "check_cert_validity",
                "needs a certificate outside its validity window",
            ),
            (
                "rs_insufficient_scope_status",
                "needs a client that may not call the API",
            ),
        ] {
            self.note(knob, None, why.into());
        }
    }

    /// Ranks `shipped`, then fills the unprobed knobs from the best match.
    fn finish(self, shipped: &[GatewayProfile]) -> Detection {
        let Self { p, mut o, mut obs } = self;
        let order: Vec<String> = bearing_auth::shipped::knobs(&o)
            .into_iter()
            .map(|k| k.key)
            .collect();
        obs.sort_by_key(|x| {
            order
                .iter()
                .position(|k| *k == x.knob)
                .unwrap_or(usize::MAX)
        });
        let ranking = rank(&obs, shipped);
        if let Some(best) = ranking
            .first()
            .and_then(|r| shipped.iter().find(|p| p.name == r.name))
        {
            o.jti_scope = best.jti_scope;
            o.check_cert_validity = best.check_cert_validity;
            o.rs_insufficient_scope_status = best.rs_insufficient_scope_status;
            o.audiences.extra.clone_from(&best.audiences.extra);
            for x in &obs {
                if x.observed.is_some() {
                    continue;
                }
                match x.knob.as_str() {
                    "errors.replay" => o.errors.replay.clone_from(&best.errors.replay),
                    "rs_challenge" => o.rs_challenge = best.rs_challenge,
                    "allow_query_token" => o.allow_query_token = best.allow_query_token,
                    "leeway.exp" => o.leeway.exp = best.leeway.exp,
                    "leeway.nbf" => o.leeway.nbf = best.leeway.nbf,
                    "leeway.iat_future" => o.leeway.iat_future = best.leeway.iat_future,
                    _ => {}
                }
            }
            // Algorithms the key could not sign keep the best match's entries.
            for a in &best.allowed_algs {
                if !PROBED_ALGS.contains(a) && !o.allowed_algs.contains(a) {
                    o.allowed_algs.push(*a);
                }
            }
        }
        Detection {
            observations: obs,
            ranking,
            probes: p.probes,
            profile: o,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_rules() {
        assert!(agrees("access_token_lifetime", "2m 59s", "3m"));
        assert!(!agrees("access_token_lifetime", "2m", "3m"));
        assert!(agrees(
            "allowed_algs",
            "[RS256, PS256]",
            "[PS256, RS256, ES256]"
        ));
        assert!(!agrees("allowed_algs", "[RS256]", "[RS256, PS256]"));
        assert!(agrees("leeway.exp", "30s", "30s"));
    }

    #[test]
    fn ranking_counts_probed_knobs_only() {
        let obs = vec![
            Observation {
                knob: "expires_in_format".into(),
                observed: Some("string".into()),
                evidence: String::new(),
            },
            Observation {
                knob: "jti_scope".into(),
                observed: None,
                evidence: String::new(),
            },
        ];
        let r = rank(
            &obs,
            &[GatewayProfile::rfc_strict(), GatewayProfile::apigee()],
        );
        assert_eq!(r[0].name, "apigee");
        assert_eq!((r[0].matches, r[0].compared), (1, 1));
        assert_eq!(r[1].differs, vec!["expires_in_format".to_owned()]);
    }
}
