//! Running one case: applicability (`when`, admin API, APIs, second client), the steps in
//! order within the case's time budget, cleanup (clock and lifetime are always restored), and
//! the outcome from the findings. Token and API steps live in [`super::steps`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bearing_auth::{AssertionSigner, Certificate, Clock as _, SigningKey, SystemClock};

use super::check::{self, Ctx, Side};
use super::listener::Listener;
use super::{Env, Party};
use crate::http::{Exchange, Request, Response, Secrets};
use crate::model::mutation::KeyRef;
use crate::model::{
    AdminStep, Branch, Case, CertKind, Expect, Invalidate, Mutation, RequestChange, Step, WaitStep,
};
use crate::outcome::{CaseOutcome, CaseResult, Finding};

/// What a token step saved for later steps.
#[derive(Debug, Clone)]
pub(crate) struct Saved {
    pub assertion: Option<String>,
    pub jti: Option<String>,
    pub exp: Option<f64>,
    pub token: Option<String>,
    pub expires_in: Option<f64>,
    pub issued_at: Instant,
    pub client_id: String,
}

/// How a step ended.
pub(crate) enum StepEnd {
    Continue,
    Skip(String),
    Error(String),
}

/// The state of one running case.
pub(crate) struct CaseCtx<'e> {
    pub env: &'e Env,
    pub case: &'e Case,
    pub step: usize,
    pub saved: HashMap<String, Saved>,
    pub listeners: HashMap<String, Listener>,
    pub secrets: Secrets,
    pub exchanges: Vec<Exchange>,
    pub findings: Vec<Finding>,
    pub parties: HashMap<String, Party>,
    pub second: Option<Party>,
    lifetime_before: Option<Duration>,
    clock_shifted: bool,
}

/// Whether the case changes gateway-wide state and must run alone.
pub(crate) fn is_exclusive(c: &Case) -> bool {
    c.exclusive
        || c.steps.iter().chain(&c.cleanup).any(|s| match s {
            Step::Admin(a) => a.is_global() || a.revoke.is_some(),
            Step::Managed(m) => m.invalidate == Invalidate::Revoke,
            _ => false,
        })
}

fn needs_admin(c: &Case) -> bool {
    // A managed revoke runs without the admin API: a well-formed unknown token stands in.
    c.steps.iter().any(|s| match s {
        Step::Admin(a) => !a.optional,
        _ => false,
    })
}

/// Every template-bearing string of the case, joined (to see which placeholders it uses).
fn case_text(c: &Case) -> String {
    let mut out = String::new();
    let mut json = |v: &serde_json::Value| out.push_str(&v.to_string());
    for s in c.steps.iter().chain(&c.cleanup) {
        match s {
            Step::Token(t) => {
                for m in &t.mutate {
                    match m {
                        Mutation::SetClaim(map) | Mutation::SetHeader(map) => {
                            map.values().for_each(&mut json);
                        }
                        Mutation::DuplicateClaim(d) | Mutation::DuplicateHeader(d) => {
                            json(&d.value);
                        }
                        Mutation::RawClaims(s) | Mutation::RawHeader(s) => {
                            json(&serde_json::Value::String(s.clone()));
                        }
                        _ => {}
                    }
                }
                for r in &t.request {
                    match r {
                        RequestChange::SetParam { value, .. }
                        | RequestChange::AddParam { value, .. }
                        | RequestChange::Header { value, .. } => {
                            json(&serde_json::Value::String(value.clone()));
                        }
                        _ => {}
                    }
                }
            }
            Step::Api(a) => {
                if let Some(v) = &a.authorization {
                    json(&serde_json::Value::String(v.clone()));
                }
            }
            _ => {}
        }
    }
    out
}

fn needs_api(c: &Case) -> bool {
    c.steps
        .iter()
        .any(|s| matches!(s, Step::Api(_) | Step::Managed(_)))
        || case_text(c).contains("{api_url")
}

fn needs_second(c: &Case) -> bool {
    case_text(c).contains("{second_client_id")
        || c.steps.iter().any(|s| match s {
            Step::Token(t) => {
                t.identity == "second"
                    || t.mutate
                        .iter()
                        .any(|m| matches!(m, Mutation::SignWith(w) if w.key == KeyRef::Second))
            }
            _ => false,
        })
}

fn result(c: &Case, outcome: CaseOutcome, reason: String, duration: Duration) -> CaseResult {
    CaseResult {
        id: c.id.clone(),
        title: c.title.clone(),
        category: c.category,
        level: c.level,
        citation: c.citation.clone(),
        outcome,
        reason,
        duration,
        findings: Vec::new(),
        exchanges: Vec::new(),
    }
}

/// A result for a case that could not run at all.
pub(crate) fn errored(c: &Case, reason: String, duration: Duration) -> CaseResult {
    result(c, CaseOutcome::Error, reason, duration)
}

/// Runs one case; never panics on gateway input, never returns a pass it did not see.
pub(crate) async fn run_case(env: &Env, c: &Case) -> CaseResult {
    let start = Instant::now();
    env.observer.case_started(&c.id);
    let r = run_inner(env, c, start).await;
    env.observer.case_finished(&r);
    r
}

async fn run_inner(env: &Env, c: &Case, start: Instant) -> CaseResult {
    if let Some(w) = &c.when
        && !w.eval(&env.profile_json)
    {
        let why = format!(
            "not applicable under profile {}: needs {w}",
            env.profile.name
        );
        return result(c, CaseOutcome::Skip, why, start.elapsed());
    }
    if needs_admin(c) && env.admin.is_none() {
        let why = "needs the sandbox admin API (revoke, lifetime, clock, registration): the target has none".into();
        return result(c, CaseOutcome::Skip, why, start.elapsed());
    }
    if needs_api(c) && env.target.apis.is_empty() {
        return result(
            c,
            CaseOutcome::Skip,
            "the target lists no apis".into(),
            start.elapsed(),
        );
    }
    let mut ctx = CaseCtx {
        env,
        case: c,
        step: 0,
        saved: HashMap::new(),
        listeners: HashMap::new(),
        secrets: Secrets::default(),
        exchanges: Vec::new(),
        findings: Vec::new(),
        parties: HashMap::new(),
        second: None,
        lifetime_before: None,
        clock_shifted: false,
    };
    if let Some(a) = &env.admin {
        ctx.secrets.add(a.secret());
    }
    if needs_second(c) {
        match env.second().await {
            Ok(p) => ctx.second = Some(p),
            Err(e) => return result(c, CaseOutcome::Skip, e, start.elapsed()),
        }
    }
    let mut budget = c.timeout.unwrap_or(env.config.case_timeout);
    let mut end = StepEnd::Continue;
    for (i, step) in c.steps.iter().enumerate() {
        ctx.step = i + 1;
        end = ctx.run_step(step, &mut budget).await;
        if !matches!(end, StepEnd::Continue) {
            break;
        }
    }
    let mut cleanup_error = None;
    for (i, step) in c.cleanup.iter().enumerate() {
        ctx.step = c.steps.len() + i + 1;
        let mut cleanup_budget = env.config.case_timeout;
        if let StepEnd::Error(e) | StepEnd::Skip(e) = ctx.run_step(step, &mut cleanup_budget).await
        {
            cleanup_error.get_or_insert(format!("cleanup: {e}"));
        }
    }
    if let Err(e) = ctx.restore().await {
        cleanup_error.get_or_insert(e);
    }
    let duration = start.elapsed();
    let (outcome, reason) = match end {
        StepEnd::Skip(why) => (CaseOutcome::Skip, why),
        StepEnd::Error(why) => (CaseOutcome::Error, format!("step {}: {why}", ctx.step)),
        StepEnd::Continue => match (CaseResult::outcome_of(&ctx.findings), cleanup_error) {
            ((CaseOutcome::Pass, _), Some(e)) => (CaseOutcome::Error, e),
            (o, _) => o,
        },
    };
    CaseResult {
        id: c.id.clone(),
        title: c.title.clone(),
        category: c.category,
        level: c.level,
        citation: c.citation.clone(),
        outcome,
        reason,
        duration,
        findings: ctx.findings,
        exchanges: ctx.exchanges,
    }
}

/// Registers a client through the admin API: a fresh RSA key and a certificate of `kind`.
/// Returns the party (none for a weak certificate, whose key bearing cannot hold), and the
/// exchange.
pub(crate) async fn register(
    env: &Env,
    admin: &super::AdminClient,
    client_id: &str,
    kind: CertKind,
    scopes: &[String],
    apis: &[String],
) -> Result<(Option<Party>, Request, Result<Response, String>), String> {
    let (party, cert_text) = match kind {
        CertKind::WeakRsa => (None, include_str!("weak-rsa-1024.pem").to_owned()),
        CertKind::Valid | CertKind::Expired => {
            let key = Arc::new(
                SigningKey::generate(bearing_auth::Algorithm::RS256, 2048)
                    .map_err(|e| e.to_string())?,
            );
            let cert = if kind == CertKind::Expired {
                let now = SystemClock.now_secs();
                Certificate::self_signed_window(&key, client_id, now - 2 * 86_400, now - 86_400)
            } else {
                Certificate::self_signed(&key, client_id, 1)
            }
            .map_err(|e| e.to_string())?;
            let signer = AssertionSigner::builder(Arc::clone(&key), client_id)
                .audience(env.primary.signer.audience().clone())
                .ttl(env.primary.signer.ttl())
                .build()
                .map_err(|e| e.to_string())?;
            let text = cert.to_base64_der();
            (
                Some(Party {
                    client_id: client_id.to_owned(),
                    key,
                    cert: Some(cert),
                    signer,
                }),
                text,
            )
        }
    };
    let (req, resp) = admin
        .register(
            client_id,
            &cert_text,
            scopes,
            apis,
            env.config.request_timeout,
        )
        .await;
    Ok((party, req, resp))
}

/// Registers a client and insists it worked (the run's second client).
pub(crate) async fn register_party(
    env: &Env,
    admin: &super::AdminClient,
    client_id: &str,
    kind: CertKind,
    scopes: &[String],
    apis: &[String],
) -> Result<Party, String> {
    let (party, _, resp) = register(env, admin, client_id, kind, scopes, apis).await?;
    match resp {
        Ok(r) if (200..300).contains(&r.status) => {
            party.ok_or_else(|| "no key for this certificate".into())
        }
        Ok(r) => Err(format!(
            "admin API answered {}: {}",
            r.status,
            String::from_utf8_lossy(&r.body)
        )),
        Err(e) => Err(e),
    }
}

impl CaseCtx<'_> {
    async fn run_step(&mut self, step: &Step, budget: &mut Duration) -> StepEnd {
        if let Step::Wait(w) = step {
            return self.wait(w).await;
        }
        let started = Instant::now();
        let limit = *budget;
        let fut = async {
            match step {
                Step::Token(t) => self.token_step(t).await,
                Step::Api(a) => self.api_step(a).await,
                Step::Admin(a) => self.admin_step(a).await,
                Step::Managed(m) => self.managed_step(m).await,
                Step::Probe(p) => self.probe_step(*p).await,
                Step::Wait(_) => StepEnd::Continue,
            }
        };
        let end = match tokio::time::timeout(limit, fut).await {
            Ok(end) => end,
            Err(_) => StepEnd::Error(format!(
                "timed out: the case's {} s budget ran out",
                limit.as_secs()
            )),
        };
        *budget = budget.saturating_sub(started.elapsed());
        end
    }

    /// The expectations that apply under the profile, each with whether a miss is binding.
    pub(crate) fn expectations<'x>(
        &self,
        expect: Option<&'x Expect>,
        branches: &'x [Branch],
        should: Option<&'x Expect>,
    ) -> Vec<(&'x Expect, bool)> {
        let binding = self.case.level.is_binding();
        let mut out = Vec::new();
        if let Some(e) = expect {
            out.push((e, binding));
        }
        if let Some(b) = branches.iter().find(|b| {
            b.when
                .as_ref()
                .is_none_or(|w| w.eval(&self.env.profile_json))
        }) {
            out.push((&b.expect, binding));
            if let Some(s) = &b.should {
                out.push((s, false));
            }
        }
        if let Some(s) = should {
            out.push((s, false));
        }
        out
    }

    /// Checks an answer against the applicable expectations.
    pub(crate) fn check_all(
        &mut self,
        list: &[(&Expect, bool)],
        resp: &Response,
        side: Side,
        wire: Option<check::Wire>,
    ) {
        let ctx = Ctx {
            profile: &self.env.profile_json,
            token_type: &self.env.profile.token_type,
            listeners: &self.listeners,
            step: self.step,
            wire,
        };
        for (e, binding) in list {
            check::check(e, resp, side, *binding, &ctx, &mut self.findings);
        }
    }

    /// Records an exchange, scrubbing this case's secrets.
    pub(crate) fn record(
        &mut self,
        label: &str,
        req: &Request,
        resp: &Result<Response, String>,
        elapsed: Duration,
    ) {
        self.exchanges.push(crate::http::record(
            label,
            req,
            resp,
            elapsed,
            &self.secrets,
        ));
    }

    /// A party by name.
    pub(crate) fn party(&self, name: &str) -> Result<Party, StepEnd> {
        match name {
            "primary" => Ok(self.env.primary.clone()),
            "second" => self
                .second
                .clone()
                .ok_or_else(|| StepEnd::Skip("no second client".into())),
            other => self
                .parties
                .get(other)
                .cloned()
                .ok_or_else(|| StepEnd::Error(format!("client \"{other}\" was not registered"))),
        }
    }

    fn saved(&self, name: &str) -> Result<&Saved, StepEnd> {
        self.saved
            .get(name)
            .ok_or_else(|| StepEnd::Error(format!("nothing saved as \"{name}\"")))
    }

    async fn admin_step(&mut self, a: &AdminStep) -> StepEnd {
        let Some(admin) = self.env.admin.clone() else {
            return if a.optional {
                StepEnd::Continue
            } else {
                StepEnd::Skip("needs the sandbox admin API".into())
            };
        };
        let t = self.env.config.request_timeout;
        let started = Instant::now();
        let (req, resp) = if let Some(name) = &a.revoke {
            let client = match self.saved(name) {
                Ok(s) => s.client_id.clone(),
                Err(e) => return e,
            };
            admin.revoke_client(&client, t).await
        } else if let Some(l) = &a.set_lifetime {
            if self.lifetime_before.is_none() {
                match self.current_lifetime().await {
                    Ok(d) => self.lifetime_before = Some(d),
                    Err(e) => return StepEnd::Error(e),
                }
            }
            let d = if l == "default" {
                self.lifetime_before
                    .unwrap_or(self.env.profile.access_token_lifetime)
            } else {
                match humantime::parse_duration(l) {
                    Ok(d) => d,
                    Err(e) => return StepEnd::Error(format!("set_lifetime {l:?}: {e}")),
                }
            };
            admin.set_lifetime(d, t).await
        } else if let Some(s) = a.shift_clock {
            self.clock_shifted = true;
            admin.shift_clock(s, t).await
        } else if let Some(r) = &a.register_client {
            let id = format!("{}-{}-{}", self.env.run_id, self.case.id, r.name);
            match register(self.env, &admin, &id, r.cert, &r.scopes, &r.apis).await {
                Ok((party, req, resp)) => {
                    if let (Some(p), Ok(res)) = (party, &resp)
                        && (200..300).contains(&res.status)
                    {
                        self.parties.insert(r.name.clone(), p);
                    }
                    (req, resp)
                }
                Err(e) => return StepEnd::Error(e),
            }
        } else {
            return StepEnd::Error("admin step names no action".into());
        };
        self.record("admin", &req, &resp, started.elapsed());
        match (resp, &a.expect) {
            (Err(e), _) => StepEnd::Error(format!("admin API: {e}")),
            (Ok(r), Some(expect)) => {
                let binding = self.case.level.is_binding();
                self.check_all(&[(expect, binding)], &r, Side::Admin, None);
                StepEnd::Continue
            }
            (Ok(r), None) if (200..300).contains(&r.status) => StepEnd::Continue,
            (Ok(r), None) => StepEnd::Error(format!("admin API answered {}", r.status)),
        }
    }

    /// The sandbox's token lifetime now: the `expires_in` of a baseline token.
    async fn current_lifetime(&mut self) -> Result<Duration, String> {
        let resp = self.baseline_token().await?;
        let v = resp.json().and_then(|b| b.get("expires_in").cloned());
        let secs = match v {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.parse::<f64>().ok(),
            _ => None,
        };
        secs.filter(|s| *s > 0.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| "cannot read the current token lifetime: no expires_in".into())
    }

    /// Puts back what the case changed on the gateway: the token lifetime and the clock.
    async fn restore(&mut self) -> Result<(), String> {
        let Some(admin) = self.env.admin.clone() else {
            return Ok(());
        };
        let t = self.env.config.request_timeout;
        let mut problem = None;
        if let Some(d) = self.lifetime_before.take() {
            let (req, resp) = admin.set_lifetime(d, t).await;
            self.record("admin", &req, &resp, Duration::ZERO);
            if !resp.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
                problem = Some("could not restore the token lifetime".to_owned());
            }
        }
        if self.clock_shifted {
            let (req, resp) = admin.reset_clock(t).await;
            self.record("admin", &req, &resp, Duration::ZERO);
            if !resp.as_ref().is_ok_and(|r| (200..300).contains(&r.status)) {
                problem.get_or_insert_with(|| "could not reset the gateway clock".to_owned());
            }
        }
        problem.map_or(Ok(()), Err)
    }

    async fn wait(&mut self, w: &WaitStep) -> StepEnd {
        let (target, why) = if let Some(d) = w.duration {
            (Instant::now() + d, format!("waiting {} s", d.as_secs_f64()))
        } else if let Some(name) = &w.until_expiry_of {
            let s = match self.saved(name) {
                Ok(s) => s.clone(),
                Err(e) => return e,
            };
            let Some(ei) = s.expires_in else {
                return StepEnd::Error(format!(
                    "token \"{name}\" came without a usable expires_in"
                ));
            };
            let at = ei + w.offset;
            (
                s.issued_at + crate::expr::secs(at),
                format!("token expiry {ei} s {:+} s", w.offset),
            )
        } else if let Some(name) = &w.until_assertion_exp_of {
            let s = match self.saved(name) {
                Ok(s) => s.clone(),
                Err(e) => return e,
            };
            let Some(exp) = s.exp else {
                return StepEnd::Error(format!("assertion \"{name}\" has no numeric exp"));
            };
            #[expect(
                clippy::cast_precision_loss,
                reason = "epoch milliseconds fit an f64 exactly"
            )]
            let now = SystemClock.now_millis() as f64 / 1000.0;
            (
                Instant::now() + crate::expr::secs(exp + w.offset - now),
                format!("assertion exp {:+} s", w.offset),
            )
        } else {
            return StepEnd::Error("wait names nothing to wait for".into());
        };
        let total = target.saturating_duration_since(Instant::now());
        if total > self.env.config.max_wait {
            return StepEnd::Error(format!(
                "would wait {} s, more than the {} s allowed",
                total.as_secs(),
                self.env.config.max_wait.as_secs()
            ));
        }
        loop {
            let left = target.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return StepEnd::Continue;
            }
            self.env.observer.waiting(&self.case.id, left, &why);
            tokio::time::sleep(left.min(Duration::from_secs(1))).await;
        }
    }
}
