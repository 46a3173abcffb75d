//! `api`, `mixed` and `refresh-storm`: API calls with a token held per user by bearing-auth's
//! [`TokenManager`] (refresh-ahead, single-flight, one retry after a 401). Every HTTP attempt
//! is timed on its own, so API calls = 2xx + the 401s that the manager retried (expected
//! after a revocation or expiry) + failures.
//!
//! Each user sends its API calls on its own keep-alive connection ([`Http1Client`]), plain
//! or TLS (the target's CA bundle, pin and mTLS identity). Token requests go through
//! reqwest.

use std::borrow::Cow;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bearing_auth::SystemClock;
use bearing_auth::token::{ManagerConfig, TokenClient, TokenManager};

use super::h2::LeanClient;
use super::http1::Opened;
use super::{
    Driver, ScenarioShared, record_opened, status_failure, transport_kind, until_hard_stop,
};
use crate::profile::ConnectionPolicy;
use crate::recorder::{AttemptOutcome, Recorder};
use crate::stats::Phase;
use crate::target::ApiCall;

/// One timed HTTP attempt inside [`TokenManager::call`].
#[derive(Debug, Clone)]
struct Attempt {
    started: Instant,
    done: Instant,
    result: Result<u16, Cow<'static, str>>,
    /// Connections the attempt opened (lean path only).
    opened: Vec<Opened>,
}

pub(super) async fn run(
    sh: &ScenarioShared,
    partner: usize,
    client: &reqwest::Client,
    driver: &mut Driver,
    rec: &mut Recorder,
    deadline: Instant,
) {
    let Some(api) = sh.api.clone() else { return };
    let signer = match sh.target.signer_for(partner, true) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot build a signer");
            return;
        }
    };
    let token_client = TokenClient::from_http(
        client.clone(),
        sh.target.token_url.clone(),
        sh.target.scope.clone(),
        1024 * 1024,
    );
    let manager = match TokenManager::new(
        signer,
        token_client,
        Arc::new(SystemClock),
        ManagerConfig::default(),
    ) {
        Ok(m) => m,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the token manager");
            return;
        }
    };
    if let Ok(mut m) = sh.managers.lock() {
        m.push(manager.clone());
    }
    sh.fleet.add_manager(partner, manager.clone());
    // Taken out for an attempt and put back (attempts of one user never overlap), so no
    // lock is held across an await.
    let resumption = sh.spec.tls.is_none_or(|t| t.resumption);
    let tls = sh.target.http1_tls(resumption);
    let new_connections = sh.spec.connection == ConnectionPolicy::New;
    let http2 = sh.target.http2;
    let fast: Option<Mutex<Option<LeanClient>>> =
        LeanClient::for_api(&api, sh.timeout, Some(tls), http2).map(|c| Mutex::new(Some(c)));
    let attempts: Mutex<Vec<Attempt>> = Mutex::new(Vec::with_capacity(2));
    let mut recovered = false;
    while let Some(intended) = driver.next(sh, deadline).await {
        if let Ok(mut a) = attempts.lock() {
            a.clear();
        }
        let call_started = Instant::now();
        let call = manager.call(|token| {
            let req = fast.is_none().then(|| {
                let mut req = client
                    .request(api.method.clone(), api.url.clone())
                    .timeout(sh.timeout);
                for (k, v) in &api.headers {
                    req = req.header(k.clone(), v.clone());
                }
                if let Some(b) = &api.body {
                    req = req.body(b.clone());
                }
                req.bearer_auth(token.expose())
            });
            let (attempts, fast, api, timeout) = (&attempts, fast.as_ref(), &api, sh.timeout);
            async move {
                let started = Instant::now();
                let mut opened = Vec::new();
                let result = match (req, fast) {
                    (Some(req), _) => match req.send().await {
                        Ok(resp) => {
                            let status = resp.status().as_u16();
                            match resp.bytes().await {
                                Ok(_) => Ok(status),
                                Err(e) => Err(transport_kind(&e)),
                            }
                        }
                        Err(e) => Err(transport_kind(&e)),
                    },
                    (None, Some(slot)) => {
                        send_fast(
                            slot,
                            api,
                            timeout,
                            tls,
                            http2,
                            new_connections,
                            token.expose(),
                            &mut opened,
                        )
                        .await
                    }
                    (None, None) => Err("transport".into()),
                };
                let status = result.as_ref().ok().copied();
                if let Ok(mut a) = attempts.lock() {
                    a.push(Attempt {
                        started,
                        done: Instant::now(),
                        result,
                        opened,
                    });
                }
                status.ok_or(())
            }
        });
        let call = until_hard_stop(deadline, call).await;
        let mut taken = attempts
            .lock()
            .map(|mut a| std::mem::take(&mut *a))
            .unwrap_or_default();
        let Some(call) = call else {
            // Cancelled at the end of the grace: the attempt in flight counts as `cancelled`
            // at its elapsed time (a token fetch in flight is part of it).
            let from = taken.last().map_or(call_started, |a| a.done);
            // A connection the cancelled attempt was opening went with its client.
            taken.push(Attempt {
                started: from,
                done: Instant::now(),
                result: Err("cancelled".into()),
                opened: Vec::new(),
            });
            let done = Instant::now();
            record_attempts(sh, rec, intended, taken, &mut recovered);
            sh.fleet.record(partner, intended, done, false);
            continue;
        };
        if let Err(e) = call {
            // No token: the API call never went out, but the token request of this iteration
            // did. Counted as an API failure of kind `token_…`, timed from the call's start.
            let now = Instant::now();
            let kind = match &e {
                bearing_auth::Error::Token(t) => format!("token_status_{}", t.status()),
                bearing_auth::Error::Http { .. } => "token_transport".into(),
                _ => "token".into(),
            };
            rec.record(
                Phase::Api,
                intended,
                call_started,
                now,
                &AttemptOutcome::Failed {
                    kind: kind.into(),
                    status: None,
                },
            );
            sh.fleet.record(partner, intended, now, false);
            continue;
        }
        let last = taken
            .last()
            .map(|a| (a.done, matches!(a.result, Ok(200..=299))));
        record_attempts(sh, rec, intended, taken, &mut recovered);
        if let Some((done, ok)) = last {
            sh.fleet.record(partner, intended, done, ok);
        }
    }
}

/// Records the HTTP attempts of one API call (the first from the call's intended start, a
/// retry from its own start).
fn record_attempts(
    sh: &ScenarioShared,
    rec: &mut Recorder,
    intended: Instant,
    taken: Vec<Attempt>,
    recovered: &mut bool,
) {
    {
        let n = taken.len();
        for (i, a) in taken.into_iter().enumerate() {
            let last = i + 1 == n;
            let outcome = match a.result {
                Ok(s) if (200..300).contains(&s) => AttemptOutcome::Ok(Some(s)),
                // A 401 the manager answered with a new token and a retry: expected.
                Ok(401) if !last => AttemptOutcome::Ok(Some(401)),
                Ok(s) => status_failure(s),
                Err(kind) => AttemptOutcome::Failed { kind, status: None },
            };
            // The retry was not planned: its own start is its intended start.
            let from = if i == 0 { intended } else { a.started };
            record_opened(
                rec,
                &sh.resumed,
                a.started.saturating_duration_since(from),
                a.done,
                a.opened,
            );
            if last && matches!(outcome, AttemptOutcome::Ok(Some(200..=299))) && !*recovered {
                let revoked = sh.storm.revoked_at_us.load(Ordering::Acquire);
                if revoked > 0 && sh.us_since_t0(a.started) >= revoked {
                    *recovered = true;
                    sh.storm.users_recovered.fetch_add(1, Ordering::Relaxed);
                    sh.storm
                        .recovered_at_us
                        .fetch_max(sh.us_since_t0(a.done), Ordering::AcqRel);
                }
            }
            rec.record(Phase::Api, from, a.started, a.done, &outcome);
        }
    }
}

/// One attempt on the user's own connection, taken out of `slot` for the attempt; the
/// connections it opened go to `opened`.
#[allow(
    clippy::too_many_arguments,
    reason = "the per-request hot path: plain arguments, no struct built per call"
)]
async fn send_fast(
    slot: &Mutex<Option<LeanClient>>,
    api: &ApiCall,
    timeout: Duration,
    tls: &Arc<tokio_rustls::rustls::ClientConfig>,
    http2: bool,
    new_connection: bool,
    token: &str,
    opened: &mut Vec<Opened>,
) -> Result<u16, Cow<'static, str>> {
    let taken = slot.lock().ok().and_then(|mut s| s.take());
    // Only an attempt cancelled midway leaves the slot empty: start with a new connection.
    let Some(mut c) = taken.or_else(|| LeanClient::for_api(api, timeout, Some(tls), http2)) else {
        return Err("transport".into());
    };
    // Boxed: the send future is several KB, and the token manager moves the future of each
    // call (into its timeout and back) — copying it cost ~10 % of the CPU of a max-rate run.
    let result = Box::pin(c.send(token)).await;
    opened.extend(c.take_opened());
    if new_connection {
        // `connection: new`: the next request opens its own TCP (+ TLS) connection.
        c.disconnect();
    }
    if let Ok(mut s) = slot.lock() {
        *s = Some(c);
    }
    result
}
