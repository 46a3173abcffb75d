//! Turns the gateway's observer events into the certification log and attributes each to a
//! client. A token request belongs to the client the gateway authenticated, else to the
//! `iss` it claimed when that is a registered client; an API call to the owner of the token
//! it presented (tokens are matched by their redacted prefix, 48 random bits). What carries
//! neither — an injected fault answers before the request is read — belongs to the client
//! last seen on the same connection (peer address), else to the only registered client.

use std::collections::{BTreeSet, HashMap};

use bearing_gateway::GatewayEvent;

use crate::event::{Event, EventOutcome, Kind, ObservedClaims};

/// Builds the log from gateway events.
#[derive(Debug, Default)]
pub struct Recorder {
    registered: BTreeSet<String>,
    events: Vec<Event>,
    token_owner: HashMap<String, String>,
    peer_owner: HashMap<String, String>,
}

impl Recorder {
    /// A recorder for these registered client ids.
    pub fn new(registered: impl IntoIterator<Item = String>) -> Self {
        Self {
            registered: registered.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Adds a client id registered later (admin API).
    pub fn register(&mut self, client_id: &str) {
        self.registered.insert(client_id.to_owned());
    }

    /// Records one gateway event and returns it as logged.
    pub fn record(&mut self, g: &GatewayEvent) -> &Event {
        let kind = match g.kind {
            bearing_gateway::EventKind::TokenRequest => Kind::TokenRequest,
            bearing_gateway::EventKind::ApiCall => Kind::ApiCall,
        };
        let outcome = g.outcome;
        let claims = g.assertion.as_ref().map(|a| ObservedClaims {
            alg: a.alg.clone(),
            typ: a.typ.clone(),
            kid: a.kid.clone(),
            iss: a.iss.clone(),
            sub: a.sub.clone(),
            aud: a.aud.clone(),
            exp: a.exp,
            nbf: a.nbf,
            iat: a.iat,
            jti: a.jti.clone(),
            non_numeric: a.non_numeric.clone(),
        });
        let reason = g
            .reason
            .and_then(|r| serde_json::to_value(r).ok())
            .and_then(|v| v.as_str().map(str::to_owned));
        let authenticated = kind == Kind::TokenRequest && g.client_id.is_some();
        if let Some(c) = &g.client_id {
            // Registered at run time through the admin API, perhaps.
            self.registered.insert(c.clone());
        }
        let client = self.attribute(g, kind, claims.as_ref());
        if let Some(c) = &client {
            if let Some(p) = &g.peer {
                self.peer_owner.insert(p.clone(), c.clone());
            }
            if kind == Kind::TokenRequest
                && outcome == EventOutcome::Accepted
                && let Some(t) = &g.token
            {
                self.token_owner.insert(t.clone(), c.clone());
            }
        }
        let event = Event {
            seq: self.events.len() as u64,
            kind,
            at_ms: if g.received_ms > 0 {
                g.received_ms
            } else {
                g.timestamp_ms
            },
            answered_ms: g.timestamp_ms,
            client,
            authenticated,
            peer: g.peer.clone(),
            method: g.method.clone(),
            path: g.path.clone(),
            content_type: g.content_type.clone(),
            query_params: g.query_params.clone(),
            form_params: g.form_params.clone(),
            grant_type: g.grant_type.clone(),
            claims,
            token: g.token.clone(),
            token_expires_ms: g.token_expires_ms,
            transport: g.token_transport.clone(),
            auth_scheme: g.auth_scheme.clone(),
            outcome,
            status: g.status,
            error: g.error.clone(),
            reason,
            retry_after_s: g.retry_after_s,
            scope: g.scope.clone(),
        };
        self.events.push(event);
        let last = self.events.len() - 1;
        &self.events[last]
    }

    fn attribute(
        &self,
        g: &GatewayEvent,
        kind: Kind,
        claims: Option<&ObservedClaims>,
    ) -> Option<String> {
        if let Some(c) = &g.client_id {
            return Some(c.clone());
        }
        if kind == Kind::TokenRequest
            && let Some(iss) = claims.and_then(|c| c.iss.as_ref())
            && self.registered.contains(iss)
        {
            return Some(iss.clone());
        }
        // Refused for its Authorization header before the body (and assertion) was read:
        // the Basic user-id names the client.
        if kind == Kind::TokenRequest
            && let Some(id) = &g.basic_client_id
            && self.registered.contains(id)
        {
            return Some(id.clone());
        }
        if kind == Kind::ApiCall
            && let Some(owner) = g.token.as_ref().and_then(|t| self.token_owner.get(t))
        {
            return Some(owner.clone());
        }
        if let Some(owner) = g.peer.as_ref().and_then(|p| self.peer_owner.get(p)) {
            return Some(owner.clone());
        }
        if self.registered.len() == 1 {
            return self.registered.iter().next().cloned();
        }
        None
    }

    /// The events recorded so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Whether any event was attributed to a client.
    pub fn has_client_activity(&self) -> bool {
        self.events.iter().any(|e| e.client.is_some())
    }

    /// The log.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}
