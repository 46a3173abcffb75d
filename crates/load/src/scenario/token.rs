//! `token`: a fresh assertion and a token request per iteration — the token endpoint's
//! capacity. Assertions come from the [`AssertionPool`](bearing_auth::AssertionPool), minted
//! ahead of need on every core, unless the scenario says `pool: false` (then each user signs
//! inline, timed as the `sign` phase, and its own signing caps the offered load).
//!
//! Token requests go out on the user's own connection ([`Http1Client`], issue 15), plain or
//! TLS with the target's rustls config (CA bundle, pin, mTLS identity, SNI), kept alive or
//! new per request as the scenario's `connection` says; the connections opened are timed
//! as the `connect` and `handshake` phases.

use std::sync::atomic::Ordering;
use std::time::Instant;

use bearing_auth::token::FORM_CONTENT_TYPE;
use bearing_auth::token::TokenClient;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::http1::Http1Client;
use super::{
    Driver, ScenarioShared, cancelled, record_opened, status_failure, transport_kind,
    until_hard_stop,
};
use crate::profile::ConnectionPolicy;
use crate::recorder::{AttemptOutcome, Recorder};
use crate::stats::Phase;

/// The part of a successful token response the load path checks.
#[derive(serde::Deserialize)]
struct Issued<'a> {
    #[serde(borrow)]
    access_token: Option<std::borrow::Cow<'a, str>>,
}

pub(super) async fn run(
    sh: &ScenarioShared,
    partner: usize,
    client: &reqwest::Client,
    driver: &mut Driver,
    rec: &mut Recorder,
    deadline: Instant,
) {
    let inline = match &sh.pool {
        Some(_) => None,
        None => match sh.target.signer_for(partner, true) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::error!(error = %e, "cannot build a signer");
                return;
            }
        },
    };
    let resumption = sh.spec.tls.is_none_or(|t| t.resumption);
    let mut lean = Http1Client::for_token(
        &sh.target.token_url,
        sh.timeout,
        Some(sh.target.http1_tls(resumption)),
    );
    let new_connections = sh.spec.connection == ConnectionPolicy::New;
    // Only for its form encoding; requests go out on the user's own connection (or, for a
    // URL it cannot serve, the goose user's client).
    let form = TokenClient::from_http(
        client.clone(),
        sh.target.token_url.clone(),
        sh.target.scope.clone(),
        0,
    );
    while let Some(intended) = driver.next(sh, deadline).await {
        let assertion = match (&sh.pool, &inline) {
            (Some(pool), _) => match until_hard_stop(deadline, pool.take()).await {
                Some(Ok(a)) => a,
                _ => {
                    let now = Instant::now();
                    rec.record(
                        Phase::Token,
                        intended,
                        now,
                        now,
                        &AttemptOutcome::Failed {
                            kind: "no_assertion".into(),
                            status: None,
                        },
                    );
                    sh.fleet.record(partner, intended, now, false);
                    continue;
                }
            },
            (None, Some(signer)) => {
                let s = Instant::now();
                match signer.sign() {
                    Ok(a) => {
                        rec.record(Phase::Sign, s, s, Instant::now(), &AttemptOutcome::Ok(None));
                        a
                    }
                    Err(_) => {
                        let now = Instant::now();
                        rec.record(
                            Phase::Sign,
                            s,
                            s,
                            now,
                            &AttemptOutcome::Failed {
                                kind: "signing".into(),
                                status: None,
                            },
                        );
                        continue;
                    }
                }
            }
            (None, None) => return,
        };
        sh.assertions_used.fetch_add(1, Ordering::Relaxed);
        sh.fleet.token_request(partner);
        let body = form.form_body(&assertion);
        drop(assertion);
        let started = Instant::now();
        let (outcome, done) = if let Some(c) = &mut lean {
            let outcome = until_hard_stop(deadline, async {
                let r = c.post(body.into()).await;
                match r {
                    Ok((200, b)) => issued(b),
                    Ok((status, _)) => status_failure(status),
                    Err(kind) => AttemptOutcome::Failed { kind, status: None },
                }
            })
            .await
            .unwrap_or_else(cancelled);
            let done = Instant::now();
            record_opened(
                rec,
                &sh.resumed,
                started.saturating_duration_since(intended),
                done,
                c.take_opened(),
            );
            if new_connections {
                c.disconnect();
            }
            (outcome, done)
        } else {
            let exchange = async {
                let sent = client
                    .post(sh.target.token_url.clone())
                    .header(CONTENT_TYPE, FORM_CONTENT_TYPE)
                    .header(ACCEPT, "application/json")
                    .timeout(sh.timeout)
                    .body(body)
                    .send()
                    .await;
                match sent {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(b) if status == 200 => issued(&b),
                            Ok(_) => status_failure(status),
                            Err(e) => AttemptOutcome::Failed {
                                kind: transport_kind(&e),
                                status: Some(status),
                            },
                        }
                    }
                    Err(e) => AttemptOutcome::Failed {
                        kind: transport_kind(&e),
                        status: None,
                    },
                }
            };
            let outcome = until_hard_stop(deadline, exchange)
                .await
                .unwrap_or_else(cancelled);
            (outcome, Instant::now())
        };
        rec.record(Phase::Token, intended, started, done, &outcome);
        sh.fleet.record(
            partner,
            intended,
            done,
            matches!(outcome, AttemptOutcome::Ok(_)),
        );
    }
}

/// The outcome of a 200 answer with body `b`: a token, or `invalid_response`.
fn issued(b: &[u8]) -> AttemptOutcome {
    match serde_json::from_slice::<Issued<'_>>(b) {
        Ok(Issued {
            access_token: Some(t),
        }) if !t.is_empty() => AttemptOutcome::Ok(Some(200)),
        _ => AttemptOutcome::Failed {
            kind: "invalid_response".into(),
            status: Some(200),
        },
    }
}
