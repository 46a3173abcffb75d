//! Protected API rules (RFC 6750 §2, §3, §3.1; catalog §3 #96–#108) under both profiles:
//! status, `error` code and the `WWW-Authenticate` challenge (rfc-strict) or its absence and
//! the Apigee fault body (apigee).

use std::time::Duration;

use axum::body::Body;
use bearing_auth::GatewayProfile;
use http::Request;
use serde_json::json;

use crate::support::{Fixture, GRANT, OTHER, Reply, keys, sign_with};

const API: &str = "/bnpapi/v1/store/inventory";

fn get(uri: &str, auth: Option<&str>) -> Request<Body> {
    let mut b = Request::get(uri);
    if let Some(a) = auth {
        b = b.header("authorization", a);
    }
    b.body(Body::empty()).expect("request")
}

/// Asserts a refusal: status, RFC 6750 challenge (with or without `error`) per profile.
fn assert_denied(
    r: &Reply,
    p: &GatewayProfile,
    status: u16,
    code: Option<&str>,
    apigee_code: &str,
) {
    assert_eq!(r.status.as_u16(), status, "{}: {}", p.name, r.text);
    assert_eq!(r.headers["content-type"], "application/json");
    if p.rs_challenge {
        let h = r
            .headers
            .get("www-authenticate")
            .expect("challenge")
            .to_str()
            .expect("ascii");
        assert!(h.starts_with("Bearer realm=\"bearing\""), "{h}");
        match code {
            None => assert!(
                !h.contains("error="),
                "no error without credentials (RFC 6750 §3.1): {h}"
            ),
            Some(c) => assert!(h.contains(&format!("error=\"{c}\"")), "{h}"),
        }
        assert_eq!(r.body["error"].as_str(), code, "{}", r.text);
    } else {
        assert!(r.headers.get("www-authenticate").is_none());
        assert_eq!(
            r.body["fault"]["detail"]["errorcode"], apigee_code,
            "{}",
            r.text
        );
    }
}

// A valid token in the header is served; the scheme is case-insensitive (RFC 9110 §11.1).
#[tokio::test]
async fn rs_valid_token_any_scheme_case() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        for scheme in ["Bearer", "bearer", "BEARER", "bEARER"] {
            let r = f.send(get(API, Some(&format!("{scheme} {t}")))).await;
            assert_eq!(r.status, 200, "{scheme}: {}", r.text);
            assert_eq!(r.body["api"], "inventory");
        }
        // A form-body token (RFC 6750 §2.2) is accepted too.
        let req = Request::post(API)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(format!("access_token={t}")))
            .expect("request");
        assert_eq!(f.send(req).await.status, 200);
    }
}

// No credentials: 401 with a bare realm challenge and no error (RFC 6750 §3, §3.1).
#[tokio::test]
async fn rs_no_authorization() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let r = f.send(get(API, None)).await;
        assert_denied(&r, &p, 401, None, "oauth.v2.InvalidAccessToken");
    }
}

// Another scheme counts as no bearer credentials.
#[tokio::test]
async fn rs_wrong_scheme() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        for a in [
            "Basic dXNlcjpwdw==".to_owned(),
            format!("Token {t}"),
            t.clone(),
        ] {
            let r = f.send(get(API, Some(&a))).await;
            assert_denied(&r, &p, 401, None, "oauth.v2.InvalidAccessToken");
        }
    }
}

// An unknown token: 401 invalid_token.
#[tokio::test]
async fn rs_garbage_token() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let r = f
            .send(get(API, Some("Bearer 0123456789abcdef0123456789abcdef")))
            .await;
        assert_denied(
            &r,
            &p,
            401,
            Some("invalid_token"),
            "keymanagement.service.invalid_access_token",
        );
        let r = f.send(get(API, Some("Bearer "))).await;
        assert_denied(
            &r,
            &p,
            401,
            Some("invalid_token"),
            "keymanagement.service.invalid_access_token",
        );
    }
}

// A revoked token: 401 invalid_token.
#[tokio::test]
async fn rs_revoked_token() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        assert_eq!(f.state.revoke_client(crate::support::CLIENT), 1);
        let r = f.send(get(API, Some(&format!("Bearer {t}")))).await;
        assert_denied(
            &r,
            &p,
            401,
            Some("invalid_token"),
            "keymanagement.service.invalid_access_token",
        );
    }
}

// An expired token (clock moved past the lifetime): 401 invalid_token; one second before: 200.
#[tokio::test]
async fn rs_expired_token() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        f.clock.advance(Duration::from_secs(179));
        assert_eq!(
            f.send(get(API, Some(&format!("Bearer {t}")))).await.status,
            200
        );
        f.clock.advance(Duration::from_secs(1));
        let r = f.send(get(API, Some(&format!("Bearer {t}")))).await;
        assert_denied(
            &r,
            &p,
            401,
            Some("invalid_token"),
            "keymanagement.service.access_token_expired",
        );
    }
}

// A query token alone is ignored (RFC 6750 §2.3 SHOULD NOT): 401 without error.
#[tokio::test]
async fn rs_token_in_query() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        let r = f.send(get(&format!("{API}?access_token={t}"), None)).await;
        assert_denied(&r, &p, 401, None, "oauth.v2.InvalidAccessToken");
    }
}

// The token sent two ways: 400 invalid_request (RFC 6750 §2, §3.1); two headers likewise.
#[tokio::test]
async fn rs_two_methods() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let t = f.access_token().await;
        let r = f
            .send(get(
                &format!("{API}?access_token={t}"),
                Some(&format!("Bearer {t}")),
            ))
            .await;
        assert_denied(
            &r,
            &p,
            400,
            Some("invalid_request"),
            "oauth.v2.InvalidRequest",
        );
        let req = Request::get(API)
            .header("authorization", format!("Bearer {t}"))
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .expect("request");
        assert_denied(
            &f.send(req).await,
            &p,
            400,
            Some("invalid_request"),
            "oauth.v2.InvalidRequest",
        );
    }
}

// The assertion itself is not an access token: 401 invalid_token (RFC 8725 §2.8).
#[tokio::test]
async fn rs_assertion_as_token() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let a = f.assertion();
        let r = f.send(get(API, Some(&format!("Bearer {a}")))).await;
        assert_denied(
            &r,
            &p,
            401,
            Some("invalid_token"),
            "keymanagement.service.invalid_access_token",
        );
    }
}

// A client not allowed an API, or a token without the API's scope: 403 insufficient_scope.
#[tokio::test]
async fn rs_insufficient_scope() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        // OTHER may only call `orders`.
        let now = f.clock_secs();
        let claims = json!({"iss": OTHER, "sub": OTHER, "aud": crate::support::TOKEN_URL, "iat": now, "exp": now + 60});
        let a = sign_with(&keys().other, &Fixture::header(), &claims);
        let r = f.token(&a).await;
        r.assert_issued();
        let t = r.body["access_token"].as_str().expect("token").to_owned();
        let r = f.send(get(API, Some(&format!("Bearer {t}")))).await;
        assert_denied(
            &r,
            &p,
            403,
            Some("insufficient_scope"),
            "oauth.v2.InvalidAPICallAsNoApiProductMatchFound",
        );
        // CLIENT with only the inventory scope may not call `orders` (scope "orders").
        let r = f
            .token_form(format!(
                "grant_type={GRANT}&assertion={}&scope=inventory",
                f.assertion()
            ))
            .await;
        let t = r.body["access_token"].as_str().expect("token").to_owned();
        let r = f
            .send(get("/bnpapi/v1/orders", Some(&format!("Bearer {t}"))))
            .await;
        assert_denied(
            &r,
            &p,
            403,
            Some("insufficient_scope"),
            "oauth.v2.InvalidAPICallAsNoApiProductMatchFound",
        );
        if p.rs_challenge {
            assert!(
                r.headers["www-authenticate"]
                    .to_str()
                    .expect("ascii")
                    .contains("scope=\"orders\"")
            );
        }
        // With the scope it is served.
        let t = f.access_token().await;
        assert_eq!(
            f.send(get("/bnpapi/v1/orders", Some(&format!("Bearer {t}"))))
                .await
                .status,
            200
        );
    }
}

// A token issued before a renewal stays valid (no single-active-token rule).
#[tokio::test]
async fn rs_old_token_after_renewal() {
    let f = Fixture::new(&GatewayProfile::rfc_strict());
    let t1 = f.access_token().await;
    let t2 = f.access_token().await;
    assert_ne!(t1, t2);
    for t in [t1, t2] {
        assert_eq!(
            f.send(get(API, Some(&format!("Bearer {t}")))).await.status,
            200
        );
    }
}

// Unknown routes and methods answer JSON 404/405, never 5xx.
#[tokio::test]
async fn rs_unknown_route_and_method() {
    let f = Fixture::new(&GatewayProfile::rfc_strict());
    let r = f.send(get("/nope", None)).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.body["error"], "not_found");
    let r = f
        .send(Request::delete(API).body(Body::empty()).expect("request"))
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.body["error"], "invalid_request");
}
