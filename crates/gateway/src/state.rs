//! Shared gateway state: configuration, profile, client registry, token and replay stores,
//! clock, counters, faults and the observer channels. Cheap to clone (one `Arc`).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bearing_auth::{Certificate, Clock as _, GatewayProfile, SharedClock, SystemClock};
use http::HeaderValue;
use tokio::sync::{broadcast, mpsc};

use crate::clock::GatewayClock;
use crate::config::{ApiConfig, GatewayConfig, TOKEN_PATH};
use crate::error::{Error, Result};
use crate::fault::Faults;
use crate::metrics::{CounterSnapshot, Metrics};
use crate::observer::GatewayEvent;
use crate::registry::{Client, Registry};
use crate::replay::ReplayStore;
use crate::tokens::TokenStore;
use crate::validate::Validator;

/// How many events a lagging broadcast subscriber may fall behind before losing some.
const EVENT_CAPACITY: usize = 4096;

/// Options that cannot come from YAML: the clock, the base URL once bound, an event sink.
#[derive(Debug, Clone, Default)]
pub struct StateOptions {
    /// The base URL the gateway is reached at; defaults to the config's `public_url`, else
    /// `http://127.0.0.1` (what [`crate::spawn`] replaces by the bound address).
    pub base_url: Option<url::Url>,
    /// The clock; defaults to the system clock.
    pub clock: Option<SharedClock>,
    /// A lossless sink receiving every event (besides broadcast subscribers).
    pub event_sink: Option<mpsc::UnboundedSender<Arc<GatewayEvent>>>,
}

/// The state behind every route.
#[derive(Debug, Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) config: GatewayConfig,
    pub(crate) profile: Arc<GatewayProfile>,
    pub(crate) validator: Validator,
    pub(crate) base_url: String,
    pub(crate) token_url: String,
    pub(crate) registry: Registry,
    pub(crate) tokens: TokenStore,
    pub(crate) replay: ReplayStore,
    pub(crate) clock: GatewayClock,
    pub(crate) token_lifetime_ms: AtomicI64,
    pub(crate) admin_secret: String,
    pub(crate) metrics: Metrics,
    pub(crate) faults: Faults,
    pub(crate) events: broadcast::Sender<Arc<GatewayEvent>>,
    pub(crate) sink: Option<mpsc::UnboundedSender<Arc<GatewayEvent>>>,
    pub(crate) challenge: HeaderValue,
}

impl AppState {
    /// State for `config` with default options (system clock, base URL from the config).
    ///
    /// # Errors
    /// As [`AppState::with_options`].
    pub fn new(config: GatewayConfig) -> Result<Self> {
        Self::with_options(config, StateOptions::default())
    }

    /// State for `config`: validates it, loads the profile and registers every client.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration, profile or certificate.
    pub fn with_options(config: GatewayConfig, opts: StateOptions) -> Result<Self> {
        config.validate()?;
        let profile = Arc::new(config.load_profile()?);
        let base = match opts.base_url.or_else(|| config.public_url.clone()) {
            Some(u) => u,
            None => {
                url::Url::parse("http://127.0.0.1").map_err(|e| Error::Config(e.to_string()))?
            }
        };
        let base_url = base.as_str().trim_end_matches('/').to_owned();
        let token_url = format!("{base_url}{TOKEN_PATH}");
        let mut audiences = Vec::new();
        if profile.audiences.token_url {
            audiences.push(token_url.clone());
        }
        if profile.audiences.base_url {
            audiences.push(base_url.clone());
        }
        audiences.extend(profile.audiences.extra.iter().cloned());
        let registry = Registry::new();
        for (id, c) in &config.clients {
            let certs = config.load_certificates(id, c)?;
            registry.insert(Client::new(
                id,
                certs,
                c.scopes.clone(),
                c.apis.clone(),
                c.algs.clone(),
            )?);
        }
        let admin_secret = config.admin_secret.clone().unwrap_or_else(random_secret);
        let challenge = HeaderValue::from_str(&format!("Bearer realm=\"{}\"", config.realm))
            .map_err(|_| Error::Config("realm is not a valid header value".into()))?;
        let lifetime = i64::try_from(profile.access_token_lifetime.as_millis()).unwrap_or(i64::MAX);
        let (events, _) = broadcast::channel(EVENT_CAPACITY);
        let api_names = config.apis.iter().map(|a| a.name.clone()).collect();
        let inner = Inner {
            validator: Validator::new(Arc::clone(&profile), audiences),
            profile,
            base_url,
            token_url,
            registry,
            tokens: TokenStore::new(),
            replay: ReplayStore::new(),
            clock: GatewayClock::new(opts.clock.unwrap_or_else(|| Arc::new(SystemClock))),
            token_lifetime_ms: AtomicI64::new(lifetime),
            admin_secret,
            metrics: Metrics::new(api_names),
            faults: Faults::new(config.faults.clone()),
            events,
            sink: opts.event_sink,
            challenge,
            config,
        };
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The configuration.
    pub fn config(&self) -> &GatewayConfig {
        &self.inner.config
    }

    /// The active profile.
    pub fn profile(&self) -> &GatewayProfile {
        &self.inner.profile
    }

    /// The protected APIs.
    pub fn apis(&self) -> &[ApiConfig] {
        &self.inner.config.apis
    }

    /// The base URL (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The token endpoint URL, the default audience.
    pub fn token_url(&self) -> &str {
        &self.inner.token_url
    }

    /// The `aud` values accepted.
    pub fn audiences(&self) -> &[String] {
        self.inner.validator.audiences()
    }

    /// The admin secret (generated when the config had none). Never log it.
    pub fn admin_secret(&self) -> &str {
        &self.inner.admin_secret
    }

    /// The gateway clock (shiftable).
    pub fn clock(&self) -> &GatewayClock {
        &self.inner.clock
    }

    /// Gateway-clock time, ms since the epoch.
    pub fn now_ms(&self) -> i64 {
        self.inner.clock.now_millis()
    }

    /// The registered clients.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The access-token store.
    pub fn tokens(&self) -> &TokenStore {
        &self.inner.tokens
    }

    /// The `jti` replay store.
    pub fn replay(&self) -> &ReplayStore {
        &self.inner.replay
    }

    /// The fault table.
    pub fn faults(&self) -> &Faults {
        &self.inner.faults
    }

    /// The counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The current access-token lifetime.
    pub fn token_lifetime(&self) -> Duration {
        let ms = self.inner.token_lifetime_ms.load(Ordering::Relaxed);
        Duration::from_millis(u64::try_from(ms).unwrap_or(0))
    }

    /// Sets the access-token lifetime for tokens issued from now on.
    ///
    /// # Errors
    /// [`Error::Config`] for a zero lifetime.
    pub fn set_token_lifetime(&self, d: Duration) -> Result<()> {
        if d.is_zero() {
            return Err(Error::Config("token lifetime must be > 0".into()));
        }
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        self.inner.token_lifetime_ms.store(ms, Ordering::Relaxed);
        Ok(())
    }

    /// Registers (or replaces) a client at run time.
    ///
    /// # Errors
    /// [`Error::Config`] when the certificate's key is unusable or an API is unknown.
    pub fn register_client(
        &self,
        client_id: &str,
        certificates: Vec<Certificate>,
        scopes: Vec<String>,
        apis: Vec<String>,
    ) -> Result<()> {
        if let Some(a) = apis
            .iter()
            .find(|a| !self.apis().iter().any(|x| &x.name == *a))
        {
            return Err(Error::Config(format!("unknown api \"{a}\"")));
        }
        let c = Client::new(client_id, certificates, scopes, apis, Vec::new())?;
        self.inner.registry.insert(c);
        Ok(())
    }

    /// Revokes every access token; returns how many.
    pub fn revoke_all(&self) -> usize {
        self.inner.tokens.revoke_all()
    }

    /// Revokes one client's access tokens; returns how many.
    pub fn revoke_client(&self, client_id: &str) -> usize {
        self.inner.tokens.revoke_client(client_id)
    }

    /// Sweeps expired tokens and lapsed `jti`s; returns (tokens, jtis) removed.
    pub fn sweep(&self) -> (usize, usize) {
        let now = self.now_ms();
        (self.inner.tokens.sweep(now), self.inner.replay.sweep(now))
    }

    /// A snapshot of the counters and gauges.
    pub fn counters(&self) -> CounterSnapshot {
        let i = &self.inner;
        i.metrics.snapshot(
            i.tokens.len() as u64,
            i.replay.len() as u64,
            i.registry.len() as u64,
            i.clock.offset_millis(),
        )
    }

    /// Subscribes to gateway events (lossy if the receiver lags more than 4096 events).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<GatewayEvent>> {
        self.inner.events.subscribe()
    }

    /// Whether anyone listens for events (events are only built then).
    pub fn wants_events(&self) -> bool {
        self.inner.sink.is_some() || self.inner.events.receiver_count() > 0
    }

    /// Sends an event to the sink and the subscribers.
    pub fn emit(&self, event: GatewayEvent) {
        let e = Arc::new(event);
        if let Some(s) = &self.inner.sink {
            let _ = s.send(Arc::clone(&e));
        }
        let _ = self.inner.events.send(e);
    }
}

fn random_secret() -> String {
    use base64::Engine as _;
    let bytes: [u8; 24] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
