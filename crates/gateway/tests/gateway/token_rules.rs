//! Token endpoint rules (conformance catalog §3 #1–#95), one test per rule, each run under
//! both built-in profiles through `oneshot`, asserting status, `error` code and headers.

use axum::body::Body;
use bearing_auth::{GatewayProfile, sign_raw};
use http::Request;
use serde_json::{Value, json};

use crate::support::{
    CLIENT, Fixture, GRANT, OTHER, Reply, TOKEN_URL, b64, keys, sign_bytes, sign_with,
};

/// What a rule expects under one profile.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// 200 with a token.
    Issued,
    /// This status and `error` code.
    Error(u16, &'static str),
}

const GRANT_ERR: Expect = Expect::Error(400, "invalid_grant");
const BAD_REQUEST: Expect = Expect::Error(400, "invalid_request");

impl Expect {
    fn check(self, r: &Reply, profile: &str) {
        match self {
            Expect::Issued => r.assert_issued(),
            Expect::Error(status, code) => {
                assert!(
                    r.status.as_u16() == status && r.error_code() == Some(code),
                    "profile {profile}: expected {status} {code}, got {} {}",
                    r.status,
                    r.text
                );
                r.assert_token_error(status, code);
            }
        }
    }
}

/// One rule under both profiles: `rfc` is the rfc-strict expectation, `apigee` the other.
macro_rules! rule {
    ($name:ident, $f:ident => $req:expr, rfc: $rfc:expr, apigee: $apigee:expr) => {
        #[tokio::test]
        async fn $name() {
            for (profile, expect) in [
                (GatewayProfile::rfc_strict(), $rfc),
                (GatewayProfile::apigee(), $apigee),
            ] {
                let $f = Fixture::new(&profile);
                let reply: Reply = $req.await;
                expect.check(&reply, &profile.name);
            }
        }
    };
}

fn mutate(f: &Fixture, m: impl FnOnce(&mut Value, i64)) -> String {
    let mut c = f.claims();
    let now = f.clock_secs();
    m(&mut c, now);
    f.sign(&c)
}

fn unset(c: &mut Value, k: &str) {
    c.as_object_mut().expect("object").remove(k);
}

fn with_header(f: &Fixture, h: &Value) -> String {
    sign_with(&keys().rsa, h, &f.claims())
}

async fn raw(f: &Fixture, method: &str, uri: &str, ct: Option<&str>, body: String) -> Reply {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(ct) = ct {
        b = b.header("content-type", ct);
    }
    f.send(b.body(Body::from(body)).expect("request")).await
}

// ---- token request (RFC 6749 §3.2, §5.2; RFC 7521 §4.1) ----

rule!(tr_happy_path, f => f.token(&f.assertion()), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(tr_missing_grant_type, f => f.token_form(format!("assertion={}", f.assertion())), rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_unknown_grant_type, f => f.token_form(format!("grant_type=urn%3Aexample%3Aunknown&assertion={}", f.assertion())),
    rfc: Expect::Error(400, "unsupported_grant_type"), apigee: Expect::Error(400, "unsupported_grant_type"));
rule!(tr_missing_assertion, f => f.token_form(format!("grant_type={GRANT}")), rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_empty_assertion, f => f.token_form(format!("grant_type={GRANT}&assertion=")), rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_duplicate_assertion_valid_first, f => f.token_form(format!("grant_type={GRANT}&assertion={}&assertion=garbage", f.assertion())),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_duplicate_assertion_valid_last, f => f.token_form(format!("grant_type={GRANT}&assertion=garbage&assertion={}", f.assertion())),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_duplicate_grant_type, f => f.token_form(format!("grant_type={GRANT}&grant_type={GRANT}&assertion={}", f.assertion())),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_json_body, f => raw(&f, "POST", "/oauth/token", Some("application/json"),
    json!({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": f.assertion()}).to_string()),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_no_content_type, f => raw(&f, "POST", "/oauth/token", None, format!("grant_type={GRANT}&assertion={}", f.assertion())),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_params_in_query, f => raw(&f, "POST", &format!("/oauth/token?grant_type={GRANT}&assertion={}", f.assertion()),
    Some("application/x-www-form-urlencoded"), String::new()), rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_multipart_body, f => raw(&f, "POST", "/oauth/token", Some("multipart/form-data; boundary=x"),
    format!("--x\r\nContent-Disposition: form-data; name=\"assertion\"\r\n\r\n{}\r\n--x--\r\n", f.assertion())),
    rfc: BAD_REQUEST, apigee: BAD_REQUEST);
rule!(tr_unknown_params_ignored, f => f.token_form(format!("grant_type={GRANT}&assertion={}&foo=bar&foo=baz", f.assertion())),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(tr_scope_not_allowed, f => f.token_form(format!("grant_type={GRANT}&assertion={}&scope=admin", f.assertion())),
    rfc: Expect::Error(400, "invalid_scope"), apigee: Expect::Error(400, "invalid_scope"));
rule!(tr_scope_subset, f => f.token_form(format!("grant_type={GRANT}&assertion={}&scope=inventory", f.assertion())),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(tr_client_id_mismatch, f => f.token_form(format!("grant_type={GRANT}&assertion={}&client_id={OTHER}", f.assertion())),
    rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(tr_client_assertion_params, f => f.token_form(format!("grant_type={GRANT}&assertion={}&client_secret=x", f.assertion())),
    rfc: Expect::Error(401, "invalid_client"), apigee: Expect::Error(401, "invalid_client"));
rule!(tr_malformed_assertion, f => f.token("not-a-jwt"), rfc: GRANT_ERR, apigee: GRANT_ERR);

// GET is refused with 405 + Allow and a JSON invalid_request (RFC 6749 §3.2).
#[tokio::test]
async fn tr_get_method() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let r = raw(
            &f,
            "GET",
            &format!(
                "/oauth/token?grant_type={GRANT}&assertion={}",
                f.assertion()
            ),
            None,
            String::new(),
        )
        .await;
        r.assert_token_error(405, "invalid_request");
        assert_eq!(r.headers["allow"], "POST");
    }
}

// Basic client credentials cannot be validated: 401 invalid_client + WWW-Authenticate (RFC 6749 §5.2).
#[tokio::test]
async fn tr_authorization_header() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let req = Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", "Basic T3RoZXJDbGllbnQ6eA==")
            .body(Body::from(format!(
                "grant_type={GRANT}&assertion={}",
                f.assertion()
            )))
            .expect("request");
        let r = f.send(req).await;
        r.assert_token_error(401, "invalid_client");
        assert!(
            r.headers["www-authenticate"]
                .to_str()
                .expect("ascii")
                .starts_with("Basic realm=")
        );
    }
}

// A 1 MiB body gets 413 with a JSON error, never a 5xx (catalog #20).
#[tokio::test]
async fn tr_oversized_assertion() {
    for p in [GatewayProfile::rfc_strict(), GatewayProfile::apigee()] {
        let f = Fixture::new(&p);
        let big = "a".repeat(1 << 20);
        let r = f
            .token_form(format!("grant_type={GRANT}&assertion={big}"))
            .await;
        r.assert_token_error(413, "invalid_request");
        // Without Content-Length (streamed) the limit still holds.
        let stream = futures::stream::iter(vec![Ok::<_, std::io::Error>(bytes::Bytes::from(
            big.clone(),
        ))]);
        let req = Request::post("/oauth/token")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from_stream(stream))
            .expect("request");
        f.send(req).await.assert_token_error(413, "invalid_request");
    }
}

// ---- claims (RFC 7523 §3 #1-#3, #7, #8, #10) ----

rule!(ac_iss_missing, f => f.token(&mutate(&f, |c, _| unset(c, "iss"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_iss_unknown, f => f.token(&mutate(&f, |c, _| c["iss"] = json!("wrong-issuer-value"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_iss_case_variant, f => f.token(&mutate(&f, |c, _| c["iss"] = json!(CLIENT.to_uppercase()))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_iss_whitespace, f => f.token(&mutate(&f, |c, _| c["iss"] = json!(format!("{CLIENT} ")))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_iss_wrong_type, f => f.token(&mutate(&f, |c, _| c["iss"] = json!([CLIENT]))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_iss_other_client, f => f.token(&mutate(&f, |c, _| { c["iss"] = json!(OTHER); c["sub"] = json!(OTHER); })),
    rfc: GRANT_ERR, apigee: GRANT_ERR);
// rfc-strict requires sub (RFC 7523 §3 #2 MUST); apigee does not.
rule!(ac_sub_missing, f => f.token(&mutate(&f, |c, _| unset(c, "sub"))), rfc: GRANT_ERR, apigee: Expect::Issued);
rule!(ac_sub_differs, f => f.token(&mutate(&f, |c, _| c["sub"] = json!("user-42"))), rfc: Expect::Issued, apigee: GRANT_ERR);
rule!(ac_sub_wrong_type, f => f.token(&mutate(&f, |c, _| c["sub"] = json!(7))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_missing, f => f.token(&mutate(&f, |c, _| unset(c, "aud"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_other_server, f => f.token(&mutate(&f, |c, _| c["aud"] = json!("https://other.example/oauth/token"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_resource_url, f => f.token(&mutate(&f, |c, _| c["aud"] = json!("http://127.0.0.1/bnpapi/v1/store/inventory"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_issuer_id, f => f.token(&mutate(&f, |c, _| c["aud"] = json!("http://127.0.0.1"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_array, f => f.token(&mutate(&f, |c, _| c["aud"] = json!(["https://other.example", TOKEN_URL]))), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ac_aud_array_without_own, f => f.token(&mutate(&f, |c, _| c["aud"] = json!(["https://other.example"]))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_trailing_slash, f => f.token(&mutate(&f, |c, _| c["aud"] = json!(format!("{TOKEN_URL}/")))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_aud_https_variant, f => f.token(&mutate(&f, |c, _| c["aud"] = json!("https://127.0.0.1/oauth/token"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_jti_missing, f => f.token(&mutate(&f, |c, _| unset(c, "jti"))), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ac_jti_wrong_type, f => f.token(&mutate(&f, |c, _| c["jti"] = json!(12345))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_jti_empty, f => f.token(&mutate(&f, |c, _| c["jti"] = json!(""))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_extra_claims, f => f.token(&mutate(&f, |c, _| { c["x-bank"] = json!("1"); c["scope"] = json!("inventory"); })),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ac_claims_array, f => f.token(&sign_bytes(&keys().rsa, br#"{"alg":"RS256"}"#, b"[]")), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_claims_null, f => f.token(&sign_bytes(&keys().rsa, br#"{"alg":"RS256"}"#, b"null")), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_duplicate_claims, f => async {
    let now = f.clock_secs();
    let payload = format!(r#"{{"iss":"{OTHER}","aud":"{TOKEN_URL}","iat":{now},"exp":{},"iss":"{CLIENT}"}}"#, now + 60);
    f.token(&sign_bytes(&keys().rsa, br#"{"alg":"RS256"}"#, payload.as_bytes())).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_non_utf8, f => async {
    let payload: Vec<u8> = f.claims().to_string().encode_utf16().flat_map(u16::to_le_bytes).collect();
    f.token(&sign_bytes(&keys().rsa, br#"{"alg":"RS256"}"#, &payload)).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ac_typ_access_token, f => f.token(&with_header(&f, &json!({"alg": "RS256", "typ": "at+jwt"}))), rfc: GRANT_ERR, apigee: GRANT_ERR);

// ---- expiry (RFC 7523 §3 #4-#6; RFC 7519 §2) ----

rule!(ex_exp_missing, f => f.token(&mutate(&f, |c, _| unset(c, "exp"))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_past, f => f.token(&mutate(&f, |c, n| c["exp"] = json!(n - 300))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_past_within_skew, f => f.token(&mutate(&f, |c, n| { c["iat"] = json!(n - 60); c["exp"] = json!(n - 5); })),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ex_exp_far_future, f => f.token(&mutate(&f, |c, n| c["exp"] = json!(n + 86_400))), rfc: GRANT_ERR, apigee: GRANT_ERR);
// exp = iat + 1 h without jti (Google's libraries; their missing sub is the interop profile's).
rule!(ex_exp_google_hour, f => f.token(&mutate(&f, |c, n| { unset(c, "jti"); c["exp"] = json!(n + 3600); })),
    rfc: Expect::Issued, apigee: GRANT_ERR);
rule!(ex_exp_at_max, f => async {
    let max = i64::try_from(f.profile.max_assertion_lifetime.expect("max").as_secs()).expect("secs");
    f.token(&mutate(&f, move |c, n| c["exp"] = json!(n + max))).await
}, rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ex_exp_past_max, f => async {
    let max = i64::try_from(f.profile.max_assertion_lifetime.expect("max").as_secs()).expect("secs");
    f.token(&mutate(&f, move |c, n| c["exp"] = json!(n + max + 1))).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_string, f => f.token(&mutate(&f, |c, n| c["exp"] = json!((n + 60).to_string()))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_fractional, f => f.token(&mutate(&f, |c, n| c["exp"] = json!(n as f64 + 60.5))), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ex_exp_overflow_float, f => f.token(&mutate(&f, |c, _| c["exp"] = json!(1e20))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_overflow_u64, f => f.token(&mutate(&f, |c, _| c["exp"] = json!(9_223_372_036_854_775_808u64))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_exp_negative, f => f.token(&mutate(&f, |c, _| c["exp"] = json!(-1))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_nbf_future, f => f.token(&mutate(&f, |c, n| c["nbf"] = json!(n + 300))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_nbf_iat_small_future, f => f.token(&mutate(&f, |c, n| { c["iat"] = json!(n + 8); c["nbf"] = json!(n + 8); })),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(ex_iat_nbf_exp_future_62s, f => f.token(&mutate(&f, |c, n| { c["iat"] = json!(n + 62); c["nbf"] = json!(n + 62); c["exp"] = json!(n + 122); })),
    rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_iat_missing, f => f.token(&mutate(&f, |c, _| unset(c, "iat"))), rfc: Expect::Issued, apigee: GRANT_ERR);
rule!(ex_iat_far_past, f => f.token(&mutate(&f, |c, n| c["iat"] = json!(n - 172_800))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(ex_iat_string, f => f.token(&mutate(&f, |c, n| c["iat"] = json!(n.to_string()))), rfc: GRANT_ERR, apigee: GRANT_ERR);

// ---- signature and parsing (RFC 7515, RFC 8725) ----

fn tamper_signature(a: &str) -> String {
    let (head, sig) = a.rsplit_once('.').expect("dot");
    let mut bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, sig)
        .expect("b64");
    bytes[10] ^= 1;
    format!("{head}.{}", b64(&bytes))
}

fn unsigned(header: &Value, claims: &Value, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes()),
        b64(sig)
    )
}

rule!(as_sig_bitflip, f => f.token(&tamper_signature(&f.assertion())), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_sig_stripped, f => async {
    let a = f.assertion();
    f.token(&format!("{}.", &a[..a.rfind('.').expect("dot")])).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_alg_none, f => async {
    for alg in ["none", "None", "NONE", "nOnE"] {
        let a = format!("{}.{}.", b64(json!({"alg": alg}).to_string().as_bytes()), b64(f.claims().to_string().as_bytes()));
        let r = f.token(&a).await;
        r.assert_token_error(400, "invalid_grant");
        let r = f.token(&unsigned(&json!({"alg": alg}), &f.claims(), b"x")).await;
        r.assert_token_error(400, "invalid_grant");
    }
    f.token(&unsigned(&json!({"alg": "none"}), &f.claims(), b"")).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_hs256_key_confusion, f => async {
    use aws_lc_rs::hmac;
    let cert = &keys().cert;
    let secrets: [Vec<u8>; 3] = [cert.public_key().bytes().to_vec(), cert.der().to_vec(), cert.to_pem().into_bytes()];
    let mut last = None;
    for secret in secrets {
        let h = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
        let p = b64(f.claims().to_string().as_bytes());
        let input = format!("{h}.{p}");
        let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &secret), input.as_bytes());
        let r = f.token(&format!("{input}.{}", b64(tag.as_ref()))).await;
        r.assert_token_error(400, "invalid_grant");
        last = Some(r);
    }
    last.expect("ran")
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_unregistered_key, f => f.token(&sign_with(&keys().stranger, &Fixture::header(), &f.claims())), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_other_rsa_alg, f => f.token(&sign_raw(&keys().rsa, bearing_auth::Algorithm::RS384,
    br#"{"alg":"RS384"}"#, f.claims().to_string().as_bytes()).expect("sign")), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_alg_keytype_mismatch, f => f.token(&unsigned(&json!({"alg": "ES256"}), &f.claims(), &[0u8; 64])), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_b64_padding, f => f.token(&format!("{}=", f.assertion())), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_whitespace, f => async { let a = f.assertion().replacen('.', ".%0A", 1); f.token(&a).await }, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_json_serialization, f => async {
    let a = f.assertion();
    let parts: Vec<&str> = a.split('.').collect();
    let j = json!({"protected": parts[0], "payload": parts[1], "signature": parts[2]}).to_string();
    f.token_form(format!("grant_type={GRANT}&assertion={}", form_urlencoded::byte_serialize(j.as_bytes()).collect::<String>())).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(as_extra_segment, f => f.token(&format!("{}.x", f.assertion())), rfc: GRANT_ERR, apigee: GRANT_ERR);

// ---- JOSE header (RFC 7515 §4; RFC 7797; RFC 8725 §3.10) ----

rule!(jh_alg_missing, f => f.token(&with_header(&f, &json!({"typ": "JWT"}))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_kid_absent, f => f.token(&with_header(&f, &json!({"alg": "RS256"}))), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(jh_kid_unknown, f => f.token(&with_header(&f, &json!({"alg": "RS256", "kid": "does-not-exist"}))), rfc: Expect::Issued, apigee: Expect::Issued);
rule!(jh_kid_injection, f => f.token(&with_header(&f, &json!({"alg": "RS256", "kid": "../../../../dev/null' OR '1'='1"}))),
    rfc: Expect::Issued, apigee: Expect::Issued);
rule!(jh_embedded_jwk, f => async {
    // Signed with a stranger's key that the header carries: the registered key decides.
    let h = json!({"alg": "RS256", "jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}});
    f.token(&sign_with(&keys().stranger, &h, &f.claims())).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_embedded_x5c, f => async {
    let stranger_cert = bearing_auth::Certificate::self_signed(&keys().stranger, CLIENT, 1).expect("cert");
    let h = json!({"alg": "RS256", "x5c": [stranger_cert.to_base64_der()]});
    f.token(&sign_with(&keys().stranger, &h, &f.claims())).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_crit_unknown, f => f.token(&with_header(&f, &json!({"alg": "RS256", "crit": ["urn:x:ext"], "urn:x:ext": 1}))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_crit_empty, f => f.token(&with_header(&f, &json!({"alg": "RS256", "crit": []}))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_crit_registered, f => f.token(&with_header(&f, &json!({"alg": "RS256", "crit": ["alg"]}))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_b64_false, f => f.token(&with_header(&f, &json!({"alg": "RS256", "b64": false, "crit": ["b64"]}))), rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_duplicate_header, f => async {
    let claims = f.claims().to_string();
    let r = f.token(&sign_bytes(&keys().rsa, br#"{"alg":"none","alg":"RS256"}"#, claims.as_bytes())).await;
    r.assert_token_error(400, "invalid_grant");
    f.token(&sign_bytes(&keys().rsa, br#"{"alg":"RS256","alg":"none"}"#, claims.as_bytes())).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(jh_typ_variants, f => async {
    for typ in ["jwt", "JWT"] {
        f.token(&with_header(&f, &json!({"alg": "RS256", "typ": typ}))).await.assert_issued();
    }
    f.token(&with_header(&f, &json!({"alg": "RS256"}))).await
}, rfc: Expect::Issued, apigee: Expect::Issued);
rule!(jh_unknown_header, f => f.token(&with_header(&f, &json!({"alg": "RS256", "foo": "bar"}))), rfc: Expect::Issued, apigee: Expect::Issued);

// ---- replay (RFC 7523 §3 #7) ----

rule!(rp_same_assertion, f => async {
    let a = f.assertion();
    f.token(&a).await.assert_issued();
    f.token(&a).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(rp_same_jti_resigned, f => async {
    let mut c = f.claims();
    f.token(&f.sign(&c)).await.assert_issued();
    c["iat"] = json!(f.clock_secs() - 1);
    f.token(&f.sign(&c)).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(rp_same_jti_other_issuer, f => async {
    let c = f.claims();
    f.token(&f.sign(&c)).await.assert_issued();
    let mut o = c.clone();
    o["iss"] = json!(OTHER);
    o["sub"] = json!(OTHER);
    f.token(&sign_with(&keys().other, &Fixture::header(), &o)).await
}, rfc: Expect::Issued, apigee: Expect::Issued);
rule!(rp_replay_near_expiry, f => async {
    let a = f.assertion();
    f.token(&a).await.assert_issued();
    f.clock.advance(std::time::Duration::from_secs(59));
    f.token(&a).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);
rule!(rp_retry_after_scope_error, f => async {
    let a = f.assertion();
    f.token_form(format!("grant_type={GRANT}&assertion={a}&scope=admin")).await.assert_token_error(400, "invalid_scope");
    f.token(&a).await
}, rfc: GRANT_ERR, apigee: GRANT_ERR);

// Token response format per profile: number vs string expires_in, token_type, scope echo.
#[tokio::test]
async fn tr_token_response_format() {
    let f = Fixture::new(&GatewayProfile::rfc_strict());
    let r = f.token(&f.assertion()).await;
    assert_eq!(r.body["expires_in"], 180);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["scope"], "inventory orders");
    assert!(r.body.get("refresh_token").is_none());
    let f = Fixture::new(&GatewayProfile::apigee());
    let r = f
        .token_form(format!(
            "grant_type={GRANT}&assertion={}&scope=inventory",
            f.assertion()
        ))
        .await;
    assert_eq!(r.body["expires_in"], "180");
    assert!(
        r.body.get("scope").is_none(),
        "scope equals the request: {}",
        r.text
    );
    let r = f.token(&mutate(&f, |c, _| unset(c, "iss"))).await;
    assert!(
        r.body["ErrorCode"].is_string()
            && r.body["Error"].is_string()
            && r.body.get("error").is_none()
    );
}
