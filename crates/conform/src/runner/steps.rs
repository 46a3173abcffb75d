//! Token and API steps: building the (mutated) assertion and request, sending it, saving what
//! later steps need, and checking the answer. Template placeholders resolve here.

use std::collections::HashMap;
use std::time::Instant;

use base64::Engine as _;
use bearing_auth::{Clock as _, SystemClock};
use bearing_auth::{FORM_CONTENT_TYPE, JWT_BEARER_GRANT};
use serde_json::{Map, Value};

use super::case::{CaseCtx, Saved, StepEnd};
use super::check::Side;
use super::listener::Listener;
use super::{Env, Party};
use crate::expr::Vars;
use crate::http::{Request, Response};
use crate::jwt::{BuildError, Keys};
use crate::model::mutation::BodyEncoding;
use crate::model::{ApiStep, AssertionSource, Expect, RequestChange, TokenPlacement, TokenStep};

/// Basic credentials of a client that does not exist (catalog tr-client-credentials-mismatch).
const OTHER_CLIENT_BASIC: &str = "conform-other-client:not-a-real-secret";

fn random_chars(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        bytes
            .iter_mut()
            .enumerate()
            .for_each(|(i, b)| *b = u8::try_from(i % 251).unwrap_or(0));
    }
    let s = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
    s.chars().take(n).collect()
}

/// Resolves template placeholders for one case.
struct Lookup<'a> {
    env: &'a Env,
    saved: &'a HashMap<String, Saved>,
    listeners: &'a mut HashMap<String, Listener>,
    second: Option<&'a Party>,
    assertion: Option<&'a str>,
}

impl Lookup<'_> {
    fn get(&mut self, name: &str, arg: Option<&str>) -> Result<String, String> {
        let env = self.env;
        Ok(match name {
            "client_id" => env.primary.client_id.clone(),
            "token_url" => env.target.token_url.to_string(),
            "audience" => env.audience(),
            "base_url" => env.base_url(),
            "api_url" => env
                .target
                .apis
                .first()
                .map(|a| a.url.to_string())
                .ok_or("the target lists no apis")?,
            "second_client_id" => self
                .second
                .map(|p| p.client_id.clone())
                .ok_or("no second client")?,
            "attacker_x5t" => env.attacker_cert.x5t_s256(),
            "random" => random_chars(arg.and_then(|a| a.parse().ok()).unwrap_or(32)),
            "basic" => format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(OTHER_CLIENT_BASIC)
            ),
            "assertion" => self
                .assertion
                .ok_or("no assertion in this step")?
                .to_owned(),
            "now" => SystemClock.now_secs().to_string(),
            "exp" => (SystemClock.now_secs() + 60).to_string(),
            "jti" => random_chars(22),
            "token" => {
                let n = arg.unwrap_or_default();
                self.saved
                    .get(n)
                    .and_then(|s| s.token.clone())
                    .ok_or_else(|| format!("no token saved as \"{n}\""))?
            }
            "listener" => {
                let n = arg.unwrap_or_default();
                if let Some(l) = self.listeners.get(n) {
                    l.url.clone()
                } else {
                    let jwk = crate::jwt::attacker_jwk(&env.attacker);
                    let l = Listener::start(n, &jwk, &env.attacker_cert.to_pem())
                        .map_err(|e| format!("cannot start listener {n}: {e}"))?;
                    let url = l.url.clone();
                    self.listeners.insert(n.to_owned(), l);
                    url
                }
            }
            other => return Err(format!("unknown placeholder {other}")),
        })
    }
}

fn form_encode(params: &[(String, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        s.append_pair(k, v);
    }
    s.finish()
}

fn multipart(params: &[(String, String)], boundary: &str) -> Vec<u8> {
    let mut out = String::new();
    for (k, v) in params {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out.into_bytes()
}

impl CaseCtx<'_> {
    fn lookup<'s>(&'s mut self, assertion: Option<&'s str>) -> Lookup<'s> {
        Lookup {
            env: self.env,
            saved: &self.saved,
            listeners: &mut self.listeners,
            second: self.second.as_ref(),
            assertion,
        }
    }

    fn expand(&mut self, s: &str, assertion: Option<&str>) -> Result<String, StepEnd> {
        let mut lk = self.lookup(assertion);
        crate::template::expand(s, |n, a| lk.get(n, a)).map_err(StepEnd::Error)
    }

    /// The baseline header (B-JWT) of a party: `alg`, `typ: JWT`, and the target's `kid` /
    /// `x5t#S256` for the primary identity.
    fn baseline_header(&self, party: &Party, primary: bool) -> Map<String, Value> {
        let mut h = Map::new();
        h.insert(
            "alg".into(),
            Value::String(party.signer.algorithm().as_str().into()),
        );
        h.insert("typ".into(), Value::String("JWT".into()));
        if primary {
            let a = &self.env.target.assertion;
            if let Some(kid) = &a.kid {
                h.insert("kid".into(), Value::String(kid.clone()));
            }
            if a.x5t
                && let Some(c) = &party.cert
            {
                h.insert("x5t#S256".into(), Value::String(c.x5t_s256()));
            }
        }
        h
    }

    fn keys(&self, party: &Party) -> Keys {
        Keys {
            registered: party.key.clone(),
            registered_cert: party.cert.clone(),
            default_alg: party.signer.algorithm(),
            attacker: self.env.attacker.clone(),
            attacker_cert: self.env.attacker_cert.clone(),
            second: self.second.as_ref().map(|p| p.key.clone()),
        }
    }

    /// Builds the assertion of a token step.
    fn assertion(
        &mut self,
        t: &TokenStep,
        party: &Party,
    ) -> Result<(String, Option<String>, Option<f64>), StepEnd> {
        let from_saved = |ctx: &Self, n: &str, what: &str| -> Result<Saved, StepEnd> {
            ctx.saved
                .get(n)
                .cloned()
                .ok_or_else(|| StepEnd::Error(format!("no {what} saved as \"{n}\"")))
        };
        match &t.assertion {
            AssertionSource::Raw(s) => Ok((s.clone(), None, None)),
            AssertionSource::Reuse(n) => {
                let s = from_saved(self, n, "assertion")?;
                let a = s
                    .assertion
                    .ok_or_else(|| StepEnd::Error(format!("step \"{n}\" sent no assertion")))?;
                Ok((a, s.jti, s.exp))
            }
            AssertionSource::AccessTokenOf(n) => {
                let s = from_saved(self, n, "token")?;
                let tok = s
                    .token
                    .ok_or_else(|| StepEnd::Error(format!("step \"{n}\" obtained no token")))?;
                Ok((tok, None, None))
            }
            AssertionSource::Fresh | AssertionSource::JtiOf(_) => {
                let claims = party.signer.next_claims();
                let vars = Vars {
                    now: SystemClock.now_millis() as f64 / 1000.0,
                    iat: claims.iat as f64,
                    exp: claims.exp as f64,
                };
                let Ok(Value::Object(mut map)) = serde_json::to_value(&claims) else {
                    return Err(StepEnd::Error(
                        "cannot serialize the baseline claims".into(),
                    ));
                };
                if let AssertionSource::JtiOf(n) = &t.assertion {
                    let s = from_saved(self, n, "assertion")?;
                    let jti = s
                        .jti
                        .ok_or_else(|| StepEnd::Error(format!("assertion \"{n}\" had no jti")))?;
                    map.insert("jti".into(), Value::String(jti));
                }
                let header = self.baseline_header(party, t.identity == "primary");
                let keys = self.keys(party);
                let profile = self.env.profile_json.clone();
                let mut lk = self.lookup(None);
                let built = crate::jwt::build(
                    header,
                    map,
                    &t.mutate,
                    &keys,
                    vars,
                    &profile,
                    &mut |n, a| lk.get(n, a),
                );
                match built {
                    Ok(b) => Ok((b.compact, b.jti, b.exp)),
                    Err(BuildError::Unavailable(why)) => Err(StepEnd::Skip(why)),
                    Err(BuildError::Failed(why)) => {
                        Err(StepEnd::Error(format!("building the assertion: {why}")))
                    }
                }
            }
        }
    }

    /// Builds the token request: baseline form, then the request changes in order.
    fn token_request(
        &mut self,
        assertion: &str,
        changes: &[RequestChange],
    ) -> Result<Request, StepEnd> {
        let mut params: Vec<(String, String)> = vec![
            ("grant_type".into(), JWT_BEARER_GRANT.into()),
            ("assertion".into(), assertion.to_owned()),
        ];
        let mut method = "POST".to_owned();
        let mut encoding = None;
        let mut extra_headers: Vec<(String, String)> = Vec::new();
        for c in changes {
            match c {
                RequestChange::DropParam(n) => params.retain(|(k, _)| k != n),
                RequestChange::SetParam { name, value } => {
                    let v = self.expand(value, Some(assertion))?;
                    match params.iter().position(|(k, _)| k == name) {
                        Some(i) => {
                            params[i].1 = v;
                            let mut seen = false;
                            params
                                .retain(|(k, _)| k != name || !std::mem::replace(&mut seen, true));
                        }
                        None => params.push((name.clone(), v)),
                    }
                }
                RequestChange::AddParam { name, value, first } => {
                    let v = self.expand(value, Some(assertion))?;
                    if *first {
                        params.insert(0, (name.clone(), v));
                    } else {
                        params.push((name.clone(), v));
                    }
                }
                RequestChange::Method(m) => method.clone_from(m),
                RequestChange::Encoding(e) => encoding = Some(*e),
                RequestChange::Header { name, value } => {
                    let v = self.expand(value, Some(assertion))?;
                    extra_headers.push((name.clone(), v));
                }
            }
        }
        let encoding = encoding.unwrap_or(if method == "GET" {
            BodyEncoding::Query
        } else {
            BodyEncoding::Form
        });
        let mut url = self.env.target.token_url.clone();
        let mut headers = vec![("Accept".to_owned(), "application/json".to_owned())];
        let body = match encoding {
            BodyEncoding::Form => {
                headers.push(("Content-Type".into(), FORM_CONTENT_TYPE.into()));
                Some(form_encode(&params).into_bytes())
            }
            BodyEncoding::Json => {
                headers.push(("Content-Type".into(), "application/json".into()));
                let obj: Map<String, Value> = params
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                Some(Value::Object(obj).to_string().into_bytes())
            }
            BodyEncoding::Multipart => {
                let boundary = format!("bearing-conform-{}", random_chars(16));
                headers.push((
                    "Content-Type".into(),
                    format!("multipart/form-data; boundary={boundary}"),
                ));
                Some(multipart(&params, &boundary))
            }
            BodyEncoding::Query => {
                url.query_pairs_mut()
                    .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
                if method == "GET" {
                    None
                } else {
                    headers.push(("Content-Type".into(), FORM_CONTENT_TYPE.into()));
                    Some(Vec::new())
                }
            }
        };
        for (n, v) in extra_headers {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case(&n));
            headers.push((n, v));
        }
        Ok(Request {
            method,
            url,
            headers,
            body,
        })
    }

    /// One unmutated token request of the primary identity (used to read the lifetime).
    pub(crate) async fn baseline_token(&mut self) -> Result<Response, String> {
        let a = self.env.primary.signer.sign().map_err(|e| e.to_string())?;
        self.secrets.add(a.expose());
        let req = self
            .token_request(a.expose(), &[])
            .map_err(|_| "cannot build the request".to_owned())?;
        let started = Instant::now();
        let resp = crate::http::send(&self.env.http, &req, self.env.config.request_timeout).await;
        if let Ok(r) = &resp
            && let Some(t) = r.json().and_then(|b| {
                b.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        {
            self.secrets.add(&t);
        }
        self.record("token", &req, &resp, started.elapsed());
        resp
    }

    pub(crate) async fn token_step(&mut self, t: &TokenStep) -> StepEnd {
        let party = match self.party(&t.identity) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let (assertion, jti, exp) = match self.assertion(t, &party) {
            Ok(x) => x,
            Err(e) => return e,
        };
        self.secrets.add(&assertion);
        let req = match self.token_request(&assertion, &t.request) {
            Ok(r) => r,
            Err(e) => return e,
        };
        let list = self.expectations(t.expect.as_ref(), &t.expect_by_profile, t.should.as_ref());
        let timeout = self.env.config.request_timeout;
        if let Some(n) = t.parallel {
            return self.parallel_tokens(&req, n, &list).await;
        }
        let started = Instant::now();
        let resp = crate::http::send(&self.env.http, &req, timeout).await;
        let token = resp.as_ref().ok().and_then(|r| {
            (r.status == 200).then(|| r.json()).flatten().and_then(|b| {
                b.get("access_token")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
        });
        if let Some(tok) = &token {
            self.secrets.add(tok);
        }
        self.record("token", &req, &resp, started.elapsed());
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return StepEnd::Error(format!("token request failed: {e}")),
        };
        if let Some(name) = &t.save {
            let expires_in = resp
                .json()
                .and_then(|b| b.get("expires_in").cloned())
                .and_then(|v| match v {
                    Value::Number(n) => n.as_f64(),
                    Value::String(s) => s.parse().ok(),
                    _ => None,
                });
            self.saved.insert(
                name.clone(),
                Saved {
                    assertion: Some(assertion),
                    jti,
                    exp,
                    token,
                    expires_in,
                    issued_at: started,
                    client_id: party.client_id,
                },
            );
        }
        self.check_all(&list, &resp, Side::Token, None);
        StepEnd::Continue
    }

    /// `parallel: n`: the same token request `n` times at once (a replayed assertion
    /// raced against itself, RFC 7523 §3 #7): at most `max_accepted` accepted, no 5xx.
    async fn parallel_tokens(
        &mut self,
        req: &Request,
        n: u32,
        list: &[(&Expect, bool)],
    ) -> StepEnd {
        let timeout = self.env.config.request_timeout;
        let started = Instant::now();
        let sends = (0..n).map(|_| crate::http::send(&self.env.http, req, timeout));
        let results = futures::future::join_all(sends).await;
        let mut accepted = 0u32;
        let mut server_errors = 0u32;
        for r in &results {
            match r {
                Ok(resp) => {
                    if let Some(tok) = resp.json().and_then(|b| {
                        b.get("access_token")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    }) {
                        self.secrets.add(&tok);
                    }
                    if resp.status == 200
                        && resp.json().is_some_and(|b| b.get("access_token").is_some())
                    {
                        accepted += 1;
                    }
                    if resp.status >= 500 {
                        server_errors += 1;
                    }
                }
                Err(e) => return StepEnd::Error(format!("token request failed: {e}")),
            }
        }
        for r in &results {
            self.record("token", req, r, started.elapsed());
        }
        for (e, binding) in list {
            if let Some(max) = e.max_accepted {
                self.findings.push(crate::outcome::Finding {
                    step: self.step,
                    passed: accepted <= max,
                    binding: *binding,
                    message: format!(
                        "{n} identical requests at once: {accepted} accepted, at most {max} allowed"
                    ),
                });
            }
        }
        self.findings.push(crate::outcome::Finding {
            step: self.step,
            passed: server_errors == 0,
            binding: self.case.level.is_binding(),
            message: format!("{n} identical requests at once: {server_errors} server error(s)"),
        });
        StepEnd::Continue
    }

    pub(crate) async fn api_step(&mut self, a: &ApiStep) -> StepEnd {
        let spec = match &a.api {
            Some(n) => self.env.target.api(n),
            None => self.env.target.apis.first(),
        };
        let Some(spec) = spec.cloned() else {
            return StepEnd::Skip(format!(
                "the target has no api {}",
                a.api.as_deref().unwrap_or("")
            ));
        };
        let body = match spec.load_body() {
            Ok(b) => b,
            Err(e) => return StepEnd::Error(format!("api body: {e}")),
        };
        let token = if let Some(n) = &a.token {
            match self.saved.get(n).and_then(|s| s.token.clone()) {
                Some(t) => Some(t),
                None => {
                    return StepEnd::Error(format!(
                        "no token saved as \"{n}\" (the token step failed?)"
                    ));
                }
            }
        } else if let Some(n) = a.garbage_token {
            Some(random_chars(n))
        } else if let Some(n) = &a.assertion_as_token {
            match self.saved.get(n).and_then(|s| s.assertion.clone()) {
                Some(t) => Some(t),
                None => return StepEnd::Error(format!("no assertion saved as \"{n}\"")),
            }
        } else {
            None
        };
        let mut url = spec.url.clone();
        let mut headers: Vec<(String, String)> = spec
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(raw) = &a.authorization {
            match self.expand(raw, None) {
                Ok(v) => headers.push(("Authorization".into(), v)),
                Err(e) => return e,
            }
        } else if let Some(tok) = &token {
            let scheme = a.scheme.as_deref().unwrap_or("Bearer");
            if matches!(
                a.placement,
                TokenPlacement::Header | TokenPlacement::HeaderAndQuery
            ) {
                headers.push(("Authorization".into(), format!("{scheme} {tok}")));
            }
            if matches!(
                a.placement,
                TokenPlacement::Query | TokenPlacement::HeaderAndQuery
            ) {
                url.query_pairs_mut().append_pair("access_token", tok);
            }
        }
        let req = Request {
            method: spec.method.to_ascii_uppercase(),
            url,
            headers,
            body,
        };
        let started = Instant::now();
        let resp = crate::http::send(&self.env.http, &req, self.env.config.request_timeout).await;
        self.record("api", &req, &resp, started.elapsed());
        let resp = match resp {
            Ok(r) => r,
            Err(e) => return StepEnd::Error(format!("api call failed: {e}")),
        };
        let list = self.expectations(a.expect.as_ref(), &a.expect_by_profile, a.should.as_ref());
        self.check_all(&list, &resp, Side::Resource, None);
        StepEnd::Continue
    }
}
