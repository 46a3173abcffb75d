//! The runner: runs cases against one target **over HTTP only** (the sandbox included) and
//! returns a [`RunSummary`]. Independent cases run in parallel with bounded concurrency;
//! cases that change gateway-wide state (clock shifts, lifetime changes, revocations) run
//! afterwards, one at a time. Each step is bounded by the case's time budget (waiting for a
//! token to expire does not count against it). A case that cannot run is `error` or `skip`
//! with the reason, never a pass.
//!
//! Progress goes to an [`Observer`] (the terminal reporter draws a progress bar and the
//! countdown of long waits); the runner itself never prints.

mod admin;
mod case;
mod check;
mod listener;
mod probe;
mod steps;
mod tap;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bearing_auth::{Algorithm, AssertionSigner, Certificate, GatewayProfile, SigningKey, Target};
use bearing_auth::{TokenClient, TokenClientOptions};
use futures::StreamExt as _;

pub use admin::AdminClient;

use crate::error::{Error, Result};
use crate::model::{Case, Suite};
use crate::outcome::{CaseResult, Counts, RunSummary, RunTarget};

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Cases run at once. Defaults to 4.
    pub concurrency: usize,
    /// Active time allowed per case (waits excluded) unless the case sets `timeout`.
    /// Defaults to 30 s.
    pub case_timeout: Duration,
    /// Time allowed per HTTP request. Defaults to 10 s.
    pub request_timeout: Duration,
    /// Only cases whose id equals or starts with one of these (empty: all).
    pub only: Vec<String>,
    /// Longest wait a case may ask for (a real gateway's `expires_in`). Defaults to 15 min.
    pub max_wait: Duration,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            concurrency: 4,
            case_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            only: Vec::new(),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// Receives progress while a run goes on. Every method has an empty default.
pub trait Observer: Send + Sync {
    /// The run starts with `total` cases.
    fn started(&self, _total: usize) {}
    /// A case starts.
    fn case_started(&self, _id: &str) {}
    /// A case ended.
    fn case_finished(&self, _result: &CaseResult) {}
    /// A case is waiting (token expiry); called about once a second with what is left.
    fn waiting(&self, _id: &str, _remaining: Duration, _why: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// What the runner talks to.
#[derive(Debug, Clone)]
pub struct RunTargetSpec {
    /// The gateway and the partner identity.
    pub target: Target,
    /// The profile whose behaviour counts as conformant.
    pub profile: GatewayProfile,
    /// An optional second registered identity (cases with two clients); on a bearing
    /// sandbox one is registered through the admin API instead.
    pub second: Option<Target>,
}

/// A signing identity: client id, key, certificate, signer.
#[derive(Debug, Clone)]
pub(crate) struct Party {
    pub client_id: String,
    pub key: Arc<SigningKey>,
    pub cert: Option<Certificate>,
    pub signer: AssertionSigner,
}

impl Party {
    fn from_target(t: &Target) -> Result<Self> {
        let id = t
            .load_identity()
            .map_err(|e| Error::Target(e.to_string()))?;
        Ok(Self {
            client_id: t.client_id.clone(),
            key: id.key,
            cert: id.certificate,
            signer: id.signer,
        })
    }
}

/// Everything a case shares with the others.
pub(crate) struct Env {
    pub http: reqwest::Client,
    pub profile: GatewayProfile,
    pub profile_json: serde_json::Value,
    pub target: Target,
    pub primary: Party,
    pub attacker: Arc<SigningKey>,
    pub attacker_cert: Certificate,
    pub admin: Option<AdminClient>,
    pub second_target: Option<Target>,
    pub second: tokio::sync::OnceCell<std::result::Result<Party, String>>,
    pub config: RunConfig,
    pub observer: Arc<dyn Observer>,
    /// A random prefix for client ids registered during the run.
    pub run_id: String,
}

impl Env {
    /// The audience of baseline assertions, as one string (`{audience}`).
    pub fn audience(&self) -> String {
        match self.primary.signer.audience() {
            bearing_auth::Audience::One(a) => a.clone(),
            bearing_auth::Audience::Many(v) => v.first().cloned().unwrap_or_default(),
        }
    }

    /// `scheme://host[:port]` of the token URL (the issuer identifier / base URL).
    pub fn base_url(&self) -> String {
        self.target.token_url.origin().ascii_serialization()
    }

    /// The second identity, registering it on the sandbox the first time it is needed.
    pub async fn second(&self) -> std::result::Result<Party, String> {
        self.second
            .get_or_init(|| async {
                if let Some(t) = &self.second_target {
                    return Party::from_target(t).map_err(|e| format!("second target: {e}"));
                }
                let Some(admin) = &self.admin else {
                    return Err(
                        "needs a second client: give --second-target, or a sandbox admin API"
                            .into(),
                    );
                };
                let name = format!("{}-second", self.run_id);
                case::register_party(self, admin, &name, crate::model::CertKind::Valid, &[], &[])
                    .await
                    .map_err(|e| format!("registering a second client: {e}"))
            })
            .await
            .clone()
    }
}

fn random_id() -> String {
    let n: u64 = rand_u64();
    format!("conform-{n:016x}")
}

fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        // Only used to name test clients; a clock-derived value is good enough then.
        return u64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
                & u128::from(u64::MAX),
        )
        .unwrap_or_default();
    }
    u64::from_le_bytes(b)
}

/// Builds the HTTP client: TLS settings from the target (CA bundle, mTLS), no redirects.
fn http_client(t: &Target, config: &RunConfig) -> Result<reqwest::Client> {
    let options = TokenClientOptions {
        request_timeout: config.request_timeout,
        user_agent: concat!("bearing-conform/", env!("CARGO_PKG_VERSION")).to_owned(),
        ..t.token_client_options()
    };
    let client = TokenClient::new(t.token_url.clone(), &options)
        .map_err(|e| Error::Target(e.to_string()))?;
    Ok(client.http().clone())
}

async fn spawn_case(env: Arc<Env>, c: Case) -> CaseResult {
    let fallback = c.clone();
    let env2 = Arc::clone(&env);
    match tokio::spawn(async move { case::run_case(&env2, &c).await }).await {
        Ok(r) => r,
        Err(e) => {
            let r = case::errored(
                &fallback,
                format!("the case task failed: {e}"),
                Duration::ZERO,
            );
            env.observer.case_finished(&r);
            r
        }
    }
}

/// Runs `suites` against `spec`.
///
/// # Errors
/// [`Error::Target`] when the identity cannot be loaded (missing key file, mismatching
/// certificate); [`Error::Setup`] when the HTTP client or keys cannot be made. Gateway
/// misbehaviour is never an error: it is in the returned summary.
pub async fn run(
    suites: &[Suite],
    spec: RunTargetSpec,
    config: RunConfig,
    observer: Arc<dyn Observer>,
) -> Result<RunSummary> {
    let started_wall = std::time::SystemTime::now();
    let started = Instant::now();
    let primary = Party::from_target(&spec.target)?;
    let attacker = Arc::new(SigningKey::generate(Algorithm::RS256, 2048)?);
    let attacker_cert = Certificate::self_signed(&attacker, &spec.target.client_id, 1)?;
    let http = http_client(&spec.target, &config)?;
    let admin = match (&spec.target.admin_url, &spec.target.admin_secret) {
        (Some(url), Some(secret)) => {
            Some(AdminClient::new(http.clone(), url.clone(), secret.clone()))
        }
        (Some(_), None) => {
            return Err(Error::Target("admin_url given without admin_secret".into()));
        }
        _ => None,
    };
    let env = Arc::new(Env {
        http,
        profile_json: crate::expr::profile_json(&spec.profile),
        profile: spec.profile,
        primary,
        attacker,
        attacker_cert,
        admin,
        second_target: spec.second,
        second: tokio::sync::OnceCell::new(),
        observer,
        run_id: random_id(),
        target: spec.target,
        config,
    });

    let cases: Vec<(usize, &Case)> = suites
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| {
            env.config.only.is_empty()
                || env
                    .config
                    .only
                    .iter()
                    .any(|o| c.id == *o || c.id.starts_with(o.as_str()))
        })
        .enumerate()
        .collect();
    env.observer.started(cases.len());
    let (exclusive, parallel): (Vec<_>, Vec<_>) =
        cases.iter().partition(|(_, c)| case::is_exclusive(c));
    let mut results: Vec<Option<CaseResult>> = vec![None; cases.len()];
    let concurrency = env.config.concurrency.max(1);
    // Each case is its own task, so signing and checking spread over the cores and a panic
    // in one case becomes that case's error instead of ending the run.
    let mut stream = futures::stream::iter(parallel.into_iter().map(|(i, c)| {
        let env = Arc::clone(&env);
        let (i, c) = (i, (*c).clone());
        async move { (i, spawn_case(env, c).await) }
    }))
    .buffer_unordered(concurrency);
    while let Some((i, r)) = stream.next().await {
        results[i] = Some(r);
    }
    drop(stream);
    for (i, c) in exclusive {
        results[i] = Some(spawn_case(Arc::clone(&env), (*c).clone()).await);
    }
    let results: Vec<CaseResult> = results.into_iter().flatten().collect();
    Ok(RunSummary {
        tool_version: env!("CARGO_PKG_VERSION").to_owned(),
        started_at: humantime::format_rfc3339_seconds(started_wall).to_string(),
        duration: started.elapsed(),
        target: RunTarget {
            token_url: env.target.token_url.to_string(),
            client_id: env.target.client_id.clone(),
            sandbox: env.admin.is_some(),
        },
        profile: env.profile.name.clone(),
        suites: suites.iter().map(|s| s.suite.clone()).collect(),
        counts: Counts::of(&results),
        cases: results,
        expected_failures: None,
        continues: None,
    })
}
