//! Synthetic logs for the checks' unit tests: a well-behaved client by default, with
//! builders to break one thing at a time.

use crate::checks::{CheckContext, CheckResult, ClientView, Verdict, evaluate_client};
use crate::event::{Event, EventOutcome, Kind, ObservedClaims};

pub(crate) const CLIENT: &str = "Partner";
pub(crate) const AUD: &str = "http://gw.test/oauth/token";
pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

pub(crate) fn ctx() -> CheckContext {
    CheckContext {
        audiences: vec![AUD.to_owned()],
        ..CheckContext::default()
    }
}

#[derive(Debug, Default)]
pub(crate) struct Log {
    pub(crate) events: Vec<Event>,
    pub(crate) ctx: Option<CheckContext>,
}

impl Log {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    fn push(&mut self, mut e: Event) -> &mut Event {
        e.seq = self.events.len() as u64;
        e.client = Some(CLIENT.to_owned());
        self.events.push(e);
        self.events.last_mut().expect("just pushed")
    }

    /// An accepted token request at `at` issuing `token` valid for `life` ms.
    pub(crate) fn token(&mut self, at: i64, token: &str, life: i64) -> &mut Event {
        let n = self.events.len();
        self.push(Event {
            kind: Kind::TokenRequest,
            at_ms: at,
            answered_ms: at + 2,
            authenticated: true,
            method: "POST".into(),
            path: "/oauth/token".into(),
            content_type: Some("application/x-www-form-urlencoded; charset=UTF-8".into()),
            form_params: Some(vec!["grant_type".into(), "assertion".into()]),
            grant_type: Some(GRANT.into()),
            claims: Some(ObservedClaims {
                alg: Some("RS256".into()),
                typ: Some("JWT".into()),
                iss: Some(CLIENT.into()),
                sub: Some(CLIENT.into()),
                aud: Some(vec![AUD.into()]),
                iat: Some((at / 1000) as f64),
                exp: Some((at / 1000 + 60) as f64),
                jti: Some(format!("jti-{n}")),
                ..ObservedClaims::default()
            }),
            token: Some(format!("{token}…")),
            token_expires_ms: Some(at + life),
            outcome: EventOutcome::Accepted,
            status: 200,
            ..Event::default()
        })
    }

    /// A token request refused with `reason`.
    pub(crate) fn token_refused(&mut self, at: i64, reason: &str) -> &mut Event {
        let e = self.token(at, "unused", 0);
        e.token = None;
        e.token_expires_ms = None;
        e.outcome = EventOutcome::Rejected;
        e.status = 400;
        e.error = Some("invalid_grant".into());
        e.reason = Some(reason.into());
        e.authenticated = false;
        e
    }

    /// An accepted API call at `at` with `token` in the Authorization header.
    pub(crate) fn call(&mut self, at: i64, token: &str) -> &mut Event {
        self.push(Event {
            kind: Kind::ApiCall,
            at_ms: at,
            answered_ms: at + 1,
            method: "POST".into(),
            path: "/bnpapi/v1/store/inventory".into(),
            token: Some(format!("{token}…")),
            transport: vec!["header".into()],
            auth_scheme: Some("Bearer".into()),
            outcome: EventOutcome::Accepted,
            status: 200,
            ..Event::default()
        })
    }

    /// An API call answered 401 invalid_token.
    pub(crate) fn call_401(&mut self, at: i64, token: &str) -> &mut Event {
        let e = self.call(at, token);
        e.outcome = EventOutcome::Rejected;
        e.status = 401;
        e.error = Some("invalid_token".into());
        e
    }

    /// A token request answered by an injected fault.
    pub(crate) fn fault(&mut self, at: i64, status: u16, retry_after_s: u64) -> &mut Event {
        self.push(Event {
            kind: Kind::TokenRequest,
            at_ms: at,
            answered_ms: at + 1,
            method: "POST".into(),
            path: "/oauth/token".into(),
            content_type: Some("application/x-www-form-urlencoded".into()),
            outcome: EventOutcome::Fault,
            status,
            error: Some("temporarily_unavailable".into()),
            retry_after_s: Some(retry_after_s),
            ..Event::default()
        })
    }

    /// A well-behaved client: 1 s tokens refreshed at half-life, a call every 100 ms from
    /// `0` to `end`.
    pub(crate) fn steady(end: i64) -> Self {
        let mut log = Self::new();
        let mut t = 0;
        let mut n = 0;
        let mut current = String::from("tok00000");
        log.token(0, &current, 1000);
        let mut issued = 0;
        while t < end {
            if t - issued >= 500 {
                n += 1;
                current = format!("tok{n:05}");
                log.token(t, &current, 1000);
                issued = t;
            }
            log.call(t + 5, &current);
            t += 100;
        }
        log
    }

    pub(crate) fn results(&self) -> Vec<CheckResult> {
        let ctx = self.ctx.clone().unwrap_or_else(ctx);
        let view = ClientView::of(CLIENT, &self.events);
        evaluate_client(&view, &ctx)
    }

    pub(crate) fn result(&self, id: &str) -> CheckResult {
        self.results()
            .into_iter()
            .find(|r| r.id == id)
            .expect("known check id")
    }

    pub(crate) fn verdict(&self, id: &str) -> Verdict {
        self.result(id).verdict
    }
}
