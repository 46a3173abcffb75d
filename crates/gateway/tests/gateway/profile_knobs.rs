//! Profile knobs beyond the two built-ins (catalog §5), and the observer events.

use axum::body::Body;
use bearing_auth::GatewayProfile;
use bearing_auth::{JtiScope, ReplayProtection};
use bearing_gateway::{EventKind, EventOutcome, RejectReason};
use http::Request;
use serde_json::json;

use crate::support::{CLIENT, Fixture, OTHER, T0, config, keys, sign_with};

const API: &str = "/bnpapi/v1/store/inventory";

fn fixture(edit: impl FnOnce(&mut GatewayProfile)) -> Fixture {
    let mut p = GatewayProfile::rfc_strict();
    edit(&mut p);
    Fixture::new(&p)
}

// replay_protection: none lets the same assertion through twice; errors.replay renames the code.
#[tokio::test]
async fn replay_knobs() {
    let f = fixture(|p| p.replay_protection = ReplayProtection::None);
    let a = f.assertion();
    f.token(&a).await.assert_issued();
    f.token(&a).await.assert_issued();
    let f = fixture(|p| p.errors.replay = "jti_known".into());
    let a = f.assertion();
    f.token(&a).await.assert_issued();
    f.token(&a).await.assert_token_error(400, "jti_known");
}

// jti_scope: global refuses a jti another issuer already used.
#[tokio::test]
async fn global_jti_scope() {
    let f = fixture(|p| p.jti_scope = JtiScope::Global);
    let c = f.claims();
    f.token(&f.sign(&c)).await.assert_issued();
    let mut o = c.clone();
    o["iss"] = json!(OTHER);
    o["sub"] = json!(OTHER);
    f.token(&sign_with(&keys().other, &Fixture::header(), &o))
        .await
        .assert_token_error(400, "invalid_grant");
}

// audiences.base_url / extra accept those exact values; jti_required and sub_required refuse absence.
#[tokio::test]
async fn audience_and_required_claims() {
    let f = fixture(|p| {
        p.audiences.base_url = true;
        p.audiences.extra = vec!["https://gw.example.com".into()];
        p.audiences.allow_array = false;
        p.jti_required = true;
        p.sub_required = true;
    });
    for aud in ["http://127.0.0.1", "https://gw.example.com"] {
        let mut c = f.claims();
        c["aud"] = json!(aud);
        f.token(&f.sign(&c)).await.assert_issued();
    }
    let mut c = f.claims();
    c["aud"] = json!([crate::support::TOKEN_URL]);
    f.token(&f.sign(&c))
        .await
        .assert_token_error(400, "invalid_grant");
    for claim in ["jti", "sub"] {
        let mut c = f.claims();
        c.as_object_mut().expect("object").remove(claim);
        f.token(&f.sign(&c))
            .await
            .assert_token_error(400, "invalid_grant");
    }
}

// check_cert_validity refuses assertions while the registered certificate has expired.
#[tokio::test]
async fn expired_registered_certificate() {
    let k = keys();
    let expired = bearing_auth::Certificate::self_signed_window(
        &k.rsa,
        CLIENT,
        T0 / 1000 - 7200,
        T0 / 1000 - 3600,
    )
    .expect("cert");
    for (check, issued) in [(false, true), (true, false)] {
        let mut p = GatewayProfile::rfc_strict();
        p.check_cert_validity = check;
        let mut c = config(&p);
        c.clients.get_mut(CLIENT).expect("client").loaded = vec![expired.clone()];
        let f = Fixture::with_config(&p, c);
        let r = f.token(&f.assertion()).await;
        if issued {
            r.assert_issued();
        } else {
            r.assert_token_error(400, "invalid_grant");
        }
    }
}

// allow_query_token serves a query token; rs_insufficient_scope_status: 401 is honoured.
#[tokio::test]
async fn resource_server_knobs() {
    let f = fixture(|p| {
        p.allow_query_token = true;
        p.rs_insufficient_scope_status = 401;
    });
    let t = f.access_token().await;
    let r = f
        .send(
            Request::get(format!("{API}?access_token={t}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let now = f.clock_secs();
    let claims = json!({"iss": OTHER, "sub": OTHER, "aud": crate::support::TOKEN_URL, "iat": now, "exp": now + 60});
    let r = f
        .token(&sign_with(&keys().other, &Fixture::header(), &claims))
        .await;
    let t = r.body["access_token"].as_str().expect("token").to_owned();
    let r = f
        .send(
            Request::get(API)
                .header("authorization", format!("Bearer {t}"))
                .body(Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "insufficient_scope");
}

// Every token request and API call yields an event with the claims read, the outcome and the
// error; tokens appear redacted, never whole.
#[tokio::test]
async fn observer_events() {
    let f = Fixture::new(&GatewayProfile::rfc_strict());
    let mut rx = f.state.subscribe();
    assert!(f.state.wants_events());
    let a = f.assertion();
    let r = f.token(&a).await;
    let token = r.body["access_token"].as_str().expect("token").to_owned();
    f.token(&a).await.assert_token_error(400, "invalid_grant");
    let req = Request::get(API)
        .header("authorization", format!("bearer {token}"))
        .body(Body::empty())
        .expect("request");
    assert_eq!(f.send(req).await.status, 200);
    let ok = rx.try_recv().expect("event 1");
    assert_eq!(
        (ok.kind, ok.outcome, ok.status),
        (EventKind::TokenRequest, EventOutcome::Accepted, 200)
    );
    assert_eq!(ok.client_id.as_deref(), Some(CLIENT));
    let info = ok.assertion.as_ref().expect("assertion info");
    assert_eq!(info.alg.as_deref(), Some("RS256"));
    assert_eq!(
        info.aud.as_deref(),
        Some(&[crate::support::TOKEN_URL.to_owned()][..])
    );
    assert!(info.jti.is_some() && info.exp.is_some() && info.iat.is_some());
    assert_eq!(
        ok.grant_type.as_deref(),
        Some("urn:ietf:params:oauth:grant-type:jwt-bearer")
    );
    assert_eq!(
        ok.content_type.as_deref(),
        Some("application/x-www-form-urlencoded; charset=UTF-8")
    );
    assert!(!ok.params_in_query);
    let shown = ok.token.as_deref().expect("redacted token");
    assert!(shown.ends_with('…') && shown.len() < token.len());
    let replay = rx.try_recv().expect("event 2");
    assert_eq!(replay.outcome, EventOutcome::Rejected);
    assert_eq!(replay.error.as_deref(), Some("invalid_grant"));
    assert_eq!(replay.reason, Some(RejectReason::Replay));
    let call = rx.try_recv().expect("event 3");
    assert_eq!((call.kind, call.status), (EventKind::ApiCall, 200));
    assert_eq!(call.api.as_deref(), Some("inventory"));
    assert_eq!(call.auth_scheme.as_deref(), Some("bearer"));
    assert_eq!(call.token_transport, vec!["header".to_owned()]);
    assert_eq!(call.token, ok.token);
    let json = serde_json::to_string(&*call).expect("serializable");
    assert!(
        !json.contains(&token),
        "the full token must never appear in an event"
    );
}
