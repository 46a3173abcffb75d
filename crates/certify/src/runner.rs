//! The plan runner: starts the sandbox gateway in observing mode (every request becomes an
//! event on a lossless channel), waits for the partner's client, then drives the gateway
//! through the plan's phases with its in-process admin operations (token lifetime,
//! revocation, faults, latency) on a `tokio::time` schedule. It ends when the plan completes,
//! when `--duration` runs out, or when the stop future resolves (ctrl-c), and always returns
//! a [`Recording`].

use std::future::Future;
use std::time::{Duration, SystemTime};

use bearing_auth::SharedClock;
use bearing_gateway::{AppState, FaultSpec, GatewayConfig, RunningGateway, StateOptions};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::checks::CheckContext;
use crate::error::Result;
use crate::event::{Action, EndReason, Event, Mark};
use crate::plan::{Phase, Plan, Start};
use crate::recorder::Recorder;

/// What a certification run needs.
#[derive(Debug)]
pub struct CertifyOptions {
    /// The gateway: listen address, registered clients, profile.
    pub gateway: GatewayConfig,
    /// The plan.
    pub plan: Plan,
    /// Total observation time from the plan's start; cuts the plan short, or extends the
    /// observation after it. `None`: the plan's own length.
    pub duration: Option<Duration>,
    /// The gateway's clock (defaults to the system clock).
    pub clock: Option<SharedClock>,
    /// Receives every [`Mark`] as it happens (for progress output).
    pub progress: Option<mpsc::UnboundedSender<Mark>>,
}

impl CertifyOptions {
    /// Options for `gateway` and `plan`, nothing else.
    pub fn new(gateway: GatewayConfig, plan: Plan) -> Self {
        Self {
            gateway,
            plan,
            duration: None,
            clock: None,
            progress: None,
        }
    }
}

/// Everything a run observed: the input of the checks and the reporters.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The plan.
    pub plan: Plan,
    /// The profile (name or file) the gateway ran.
    pub profile: String,
    /// The gateway's base URL.
    pub base_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// When certification started (wall clock).
    pub started_at: SystemTime,
    /// When the plan started (gateway clock, ms); `None` if no client came.
    pub plan_started_ms: Option<i64>,
    /// When the run ended (gateway clock, ms).
    pub ended_ms: i64,
    /// Why it ended.
    pub ended_by: EndReason,
    /// What the gateway expected of clients.
    pub context: CheckContext,
    /// The registered client ids.
    pub clients: Vec<String>,
    /// Every token request and API call.
    pub events: Vec<Event>,
    /// What the plan did when.
    pub marks: Vec<Mark>,
}

/// A started certification: the gateway listens; [`Certification::run`] drives the plan.
#[derive(Debug)]
pub struct Certification {
    gateway: RunningGateway,
    plan: Plan,
    duration: Option<Duration>,
    progress: Option<mpsc::UnboundedSender<Mark>>,
    recorder: JoinHandle<Recorder>,
    stop_recorder: oneshot::Sender<()>,
    activity: watch::Receiver<bool>,
    started_at: SystemTime,
    baseline: Duration,
    marks: Vec<Mark>,
}

impl Certification {
    /// Starts the gateway in observing mode and applies the first phase's settings, so the
    /// client's first token already follows the plan.
    ///
    /// # Errors
    /// [`crate::Error::Gateway`] when the configuration is invalid or the address cannot be bound.
    pub async fn start(mut opts: CertifyOptions) -> Result<Self> {
        // The plan's scopes are granted to every registered client (RFC 6749 §3.3: a client
        // that must send a scope is refused invalid_scope without them).
        for c in opts.gateway.clients.values_mut() {
            for s in &opts.plan.scopes {
                if !c.scopes.contains(s) {
                    c.scopes.push(s.clone());
                }
            }
        }
        let clients: Vec<String> = opts.gateway.clients.keys().cloned().collect();
        let (tx, mut rx) = mpsc::unbounded_channel();
        let state_opts = StateOptions {
            clock: opts.clock,
            event_sink: Some(tx),
            ..StateOptions::default()
        };
        let gateway = bearing_gateway::spawn_with(opts.gateway, state_opts).await?;
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let (act_tx, act_rx) = watch::channel(false);
        let recorder = tokio::spawn(async move {
            let mut rec = Recorder::new(clients);
            loop {
                tokio::select! {
                    e = rx.recv() => match e {
                        Some(e) => {
                            if rec.record(&e).client.is_some() && !*act_tx.borrow() {
                                let _ = act_tx.send(true);
                            }
                        }
                        None => break,
                    },
                    _ = &mut stop_rx => {
                        while let Ok(e) = rx.try_recv() {
                            rec.record(&e);
                        }
                        break;
                    }
                }
            }
            rec
        });
        let baseline = opts
            .plan
            .token_lifetime
            .unwrap_or_else(|| gateway.state.token_lifetime());
        let mut me = Self {
            gateway,
            plan: opts.plan,
            duration: opts.duration,
            progress: opts.progress,
            recorder,
            stop_recorder: stop_tx,
            activity: act_rx,
            started_at: SystemTime::now(),
            baseline,
            marks: Vec::new(),
        };
        if let Some(first) = me.plan.phases.first().cloned() {
            me.apply(&first, false);
        }
        tracing::info!(token_url = %me.gateway.token_url, plan = %me.plan.name, "certification gateway listening");
        Ok(me)
    }

    /// The running gateway (URLs, admin secret, state).
    pub fn gateway(&self) -> &RunningGateway {
        &self.gateway
    }

    /// The token endpoint the client must use.
    pub fn token_url(&self) -> &str {
        &self.gateway.token_url
    }

    /// The URL of the API named `name`.
    pub fn api_url(&self, name: &str) -> Option<String> {
        self.gateway.api_url(name)
    }

    /// The plan.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    fn mark(&mut self, action: Action) {
        let m = Mark {
            at_ms: self.gateway.state.now_ms(),
            action,
        };
        tracing::info!(mark = ?m.action, "certification plan");
        if let Some(p) = &self.progress {
            let _ = p.send(m.clone());
        }
        self.marks.push(m);
    }

    /// Applies a phase's settings; revokes tokens when `revoke` and the phase asks.
    fn apply(&mut self, phase: &Phase, revoke: bool) {
        let st: AppState = self.gateway.state.clone();
        self.mark(Action::PhaseStarted {
            name: phase.name.clone(),
        });
        let life = phase.token_lifetime.unwrap_or(self.baseline);
        if let Err(e) = st.set_token_lifetime(life) {
            tracing::warn!(error = %e, "token lifetime not changed");
        }
        self.mark(Action::TokenLifetime {
            ms: u64::try_from(life.as_millis()).unwrap_or(u64::MAX),
        });
        st.faults().clear();
        if phase.token_fault.is_some() || phase.latency.is_some() {
            let mut spec = FaultSpec {
                latency: phase.latency,
                ..FaultSpec::default()
            };
            if let Some(f) = phase.token_fault {
                if f.status == 429 {
                    spec.error_429 = f.probability;
                } else {
                    spec.error_503 = f.probability;
                }
                spec.retry_after = f.retry_after;
                self.mark(Action::TokenFault {
                    status: f.status,
                    retry_after_s: f.retry_after.as_secs(),
                    probability: f.probability,
                });
            }
            st.faults().set("token", Some(spec));
            if let Some(l) = phase.latency {
                st.faults().set(
                    "*",
                    Some(FaultSpec {
                        latency: Some(l),
                        ..FaultSpec::default()
                    }),
                );
                self.mark(Action::Latency {
                    ms: u64::try_from(l.as_millis()).unwrap_or(u64::MAX),
                });
            }
        }
        if revoke && phase.revoke {
            let n = st.revoke_all();
            self.mark(Action::Revoked { tokens: n as u64 });
        }
    }

    fn settle(&mut self) {
        let st = self.gateway.state.clone();
        st.faults().clear();
        if let Err(e) = st.set_token_lifetime(self.baseline) {
            tracing::warn!(error = %e, "token lifetime not restored");
        }
        self.mark(Action::FaultsCleared);
        self.mark(Action::Settling);
    }

    /// Waits for the client, drives the plan, stops the gateway and returns what was
    /// recorded. Never fails: whatever happened is in the recording (`ended_by`).
    pub async fn run(mut self, stop: impl Future<Output = ()>) -> Recording {
        tokio::pin!(stop);
        let mut ended: Option<EndReason> = None;
        if self.plan.start == Start::FirstRequest {
            let mut activity = self.activity.clone();
            tokio::select! {
                r = activity.wait_for(|seen| *seen) => if r.is_err() { ended = Some(EndReason::NoClient) },
                () = tokio::time::sleep(self.plan.wait_for_client) => ended = Some(EndReason::NoClient),
                () = &mut stop => ended = Some(EndReason::Interrupted),
            }
        }
        let mut plan_started_ms = None;
        if ended.is_none() {
            plan_started_ms = Some(self.gateway.state.now_ms());
            self.mark(Action::PlanStarted);
            ended = self.drive(&mut stop).await;
        }
        let reason = ended.unwrap_or(EndReason::PlanComplete);
        self.gateway.state.faults().clear();
        self.mark(Action::Ended { reason });
        self.finish(plan_started_ms, reason).await
    }

    /// Runs the phases and the settle time; `Some` when ended early.
    async fn drive(
        &mut self,
        stop: &mut std::pin::Pin<&mut impl Future<Output = ()>>,
    ) -> Option<EndReason> {
        let t0 = Instant::now();
        let deadline = self.duration.map(|d| t0 + d);
        let mut at = t0;
        let phases = self.plan.phases.clone();
        for (i, phase) in phases.iter().enumerate() {
            if deadline.is_some_and(|d| at >= d) {
                return Some(EndReason::Duration);
            }
            if i == 0 {
                // Settings are in force since start(); only the revocation is left to do.
                if phase.revoke {
                    let n = self.gateway.state.revoke_all();
                    self.mark(Action::Revoked { tokens: n as u64 });
                }
            } else {
                self.apply(phase, true);
            }
            at += phase.duration;
            let until = deadline.map_or(at, |d| d.min(at));
            tokio::select! {
                () = tokio::time::sleep_until(until) => {}
                () = stop.as_mut() => return Some(EndReason::Interrupted),
            }
            if until < at {
                return Some(EndReason::Duration); // the cap cut this phase short
            }
        }
        self.settle();
        let until = deadline.unwrap_or(at + self.plan.settle);
        tokio::select! {
            () = tokio::time::sleep_until(until) => None,
            () = stop.as_mut() => Some(EndReason::Interrupted),
        }
    }

    async fn finish(self, plan_started_ms: Option<i64>, ended_by: EndReason) -> Recording {
        let st = self.gateway.state.clone();
        let ended_ms = st.now_ms();
        let mut context = CheckContext::from_profile(st.profile(), st.audiences().to_vec());
        context.run_end_ms = ended_ms;
        let clients = st.registry().ids();
        let profile = st.config().profile.clone();
        let (base_url, token_url) = (
            self.gateway.base_url.clone(),
            self.gateway.token_url.clone(),
        );
        self.gateway.shutdown().await;
        let _ = self.stop_recorder.send(());
        let events = match self.recorder.await {
            Ok(r) => r.into_events(),
            Err(e) => {
                tracing::error!(error = %e, "the recorder task failed; the log is empty");
                Vec::new()
            }
        };
        drop(st);
        Recording {
            plan: self.plan,
            profile,
            base_url,
            token_url,
            started_at: self.started_at,
            plan_started_ms,
            ended_ms,
            ended_by,
            context,
            clients,
            events,
            marks: self.marks,
        }
    }
}
