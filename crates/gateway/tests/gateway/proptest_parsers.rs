//! Property tests of every gateway parser that reads outside input (issue 9): the token
//! endpoint's form body, compact JWS / JWT parsing, the bearer token on API calls, the admin
//! API's JSON bodies and `gateway.yaml`. Arbitrary bytes and structured mutations go through
//! the router (`oneshot`): the answer is never a 5xx and always JSON. Explicit
//! bounded-resource cases: a 10 MB body, a 1 MB header (oneshot and a real socket),
//! 10,000-deep JSON in an assertion payload, YAML alias bombs.
//!
//! `PROPTEST_CASES=N` raises the number of cases per property.

use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use axum::body::Body;
use bearing_auth::GatewayProfile;
use bearing_gateway::GatewayConfig;
use http::{HeaderValue, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{TestCaseError, TestRunner};
use serde_json::{Value, json};

use crate::support::{CLIENT, Fixture, GRANT, Reply, TOKEN_URL, b64, keys, sign_bytes, sign_with};

/// Cases per property: `PROPTEST_CASES`, else `default`; no regression files written.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// Runs `test` over `strategy` with a fresh fixture and runtime shared by the cases.
fn run<S: Strategy>(
    default_cases: u32,
    strategy: S,
    test: impl Fn(&Fixture, &tokio::runtime::Runtime, S::Value) -> Result<(), TestCaseError>,
) {
    let rt = runtime();
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let mut runner = TestRunner::new(cases(default_cases));
    if let Err(e) = runner.run(&strategy, |v| test(&fx, &rt, v)) {
        panic!("{e}");
    }
}

/// What every answer must be: not a 5xx (injected faults aside), a JSON body.
fn check_answer(r: &Reply) -> Result<(), TestCaseError> {
    prop_assert!(
        r.status.as_u16() < 500,
        "status {} body {}",
        r.status,
        r.text
    );
    if r.status != StatusCode::NO_CONTENT {
        prop_assert!(
            r.body.is_object() || r.body.is_array(),
            "not JSON: {} {}",
            r.status,
            r.text
        );
    }
    if r.status == StatusCode::OK && r.body.get("access_token").is_some() {
        prop_assert!(
            r.body["access_token"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    Ok(())
}

fn post(
    uri: &str,
    content_type: Option<&[u8]>,
    extra: &[(&'static str, Vec<u8>)],
    body: Vec<u8>,
) -> Request<Body> {
    let mut req = Request::post(uri).body(Body::from(body)).expect("request");
    let h = req.headers_mut();
    if let Some(ct) = content_type.and_then(|c| HeaderValue::from_bytes(c).ok()) {
        h.insert("content-type", ct);
    }
    for (name, v) in extra {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            h.append(*name, v);
        }
    }
    req
}

fn content_type() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        4 => Just(Some(b"application/x-www-form-urlencoded; charset=UTF-8".to_vec())),
        1 => Just(Some(b"application/x-www-form-urlencoded".to_vec())),
        1 => Just(Some(b"APPLICATION/X-WWW-FORM-URLENCODED;charset=latin1;;".to_vec())),
        1 => Just(Some(b"application/json".to_vec())),
        1 => Just(None),
        1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(Some),
    ]
}

/// A form value: the real thing, a near miss, or junk, percent-encoded or not.
fn form_value(valid_assertion: String) -> impl Strategy<Value = String> {
    prop_oneof![
        Just(GRANT.to_owned()),
        Just("urn:ietf:params:oauth:grant-type:jwt-bearer".to_owned()),
        Just(valid_assertion.clone()),
        (Just(valid_assertion), any::<usize>(), any::<u8>()).prop_map(|(a, at, b)| {
            // One byte of the assertion changed: an invalid signature, segment or base64.
            let mut v = a.into_bytes();
            let i = at % v.len();
            v[i] = b"A.=+/ %\0"[usize::from(b) % 8];
            String::from_utf8_lossy(&v).into_owned()
        }),
        Just(String::new()),
        Just("%".to_owned()),
        Just("%zz%F0%9F%98".to_owned()),
        Just("%FF%FE%00".to_owned()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn form_key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("grant_type".to_owned()),
        Just("assertion".to_owned()),
        Just("scope".to_owned()),
        Just("client_id".to_owned()),
        Just("client_secret".to_owned()),
        Just("client_assertion".to_owned()),
        Just("client_assertion_type".to_owned()),
        Just("grant%5Ftype".to_owned()),
        "[a-z_%]{0,12}",
    ]
}

// Arbitrary bytes as the token request body, under any content type, maybe with an
// Authorization header or query parameters: never a 5xx, always JSON.
#[test]
fn token_endpoint_arbitrary_bytes() {
    let strategy = (
        prop::collection::vec(any::<u8>(), 0..1024),
        content_type(),
        prop::option::weighted(0.1, prop::collection::vec(any::<u8>(), 0..60)),
        prop::option::weighted(0.1, "[a-z_=&%]{0,30}"),
    );
    run(1024, strategy, |fx, rt, (body, ct, auth, query)| {
        let uri = match query {
            Some(q) => format!("/oauth/token?{q}"),
            None => "/oauth/token".to_owned(),
        };
        let extra: Vec<(&'static str, Vec<u8>)> =
            auth.into_iter().map(|a| ("authorization", a)).collect();
        let r = rt.block_on(fx.send(post(&uri, ct.as_deref(), &extra, body)));
        check_answer(&r)
    });
}

// Structured form bodies: the baseline request (fresh or replayed assertion) with
// parameters inserted, replaced or dropped — known and unknown, repeated, empty,
// percent-encoded oddly, separated by `&` or `;`. Some cases must still get a token, so
// the generator provably reaches the success path.
#[test]
fn token_endpoint_structured_forms() {
    let rt = runtime();
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let valid = fx.assertion();
    let strategy = (
        prop::collection::vec(
            (any::<usize>(), 0u8..3, form_key(), form_value(valid)),
            0..4,
        ),
        prop_oneof![6 => Just("&"), 1 => Just(";"), 1 => Just("&&")],
        any::<bool>(),
    );
    let issued = std::cell::Cell::new(0u32);
    let mut runner = TestRunner::new(cases(1024));
    let result = runner.run(&strategy, |(edits, sep, fresh)| {
        let assertion = if fresh {
            fx.assertion()
        } else {
            "replayed".to_owned()
        };
        let mut pairs = vec![("grant_type".to_owned(), GRANT.to_owned())];
        if fresh {
            pairs.push(("assertion".to_owned(), assertion));
        }
        for (at, op, k, v) in edits {
            let i = at % (pairs.len() + 1);
            match op {
                0 => pairs.insert(i, (k, v)),
                1 if i < pairs.len() => pairs[i].1 = v,
                _ if i < pairs.len() => {
                    pairs.remove(i);
                }
                _ => pairs.push((k, v)),
            }
        }
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(sep);
        let r = rt.block_on(fx.token_form(body));
        if r.status == StatusCode::OK {
            issued.set(issued.get() + 1);
        }
        check_answer(&r)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(issued.get() > 0, "no case reached the success path");
}

// Fault specs at the edge of what parses (a 584,942-year exponential latency, a uniform
// range up to Duration::MAX): accepted or refused, and the next request never panics.
#[test]
fn extreme_fault_latencies() {
    let rt = runtime();
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let specs = [
        json!({"latency": "584942417355y", "distribution": "exponential"}),
        json!({"latency": "500000000000y", "distribution": "exponential"}),
        json!({"latency": "0s", "latency_max": "584942417355y", "distribution": "uniform"}),
        json!({"latency": "584942417355y"}),
    ];
    for spec in specs {
        for _ in 0..20 {
            let req = Request::put("/admin/faults/token")
                .header("content-type", "application/json")
                .header("x-admin-secret", fx.state.admin_secret())
                .body(Body::from(spec.to_string()))
                .expect("request");
            let r = rt.block_on(fx.send(req));
            assert!(r.status.as_u16() < 500, "{spec}: {} {}", r.status, r.text);
            let assertion = fx.assertion();
            let next = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(20), fx.token(&assertion)).await
            });
            if let Ok(next) = next {
                assert!(next.status.as_u16() < 500, "{spec}: {}", next.text);
            }
            fx.state.faults().clear();
        }
    }
}

/// JSON values with extreme numbers and odd types, for header parameters and claims.
fn claim_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(i64::MAX)),
        Just(json!(i64::MIN)),
        Just(json!(u64::MAX)),
        Just(json!(1e308)),
        Just(json!(-1e308)),
        Just(json!(CLIENT)),
        Just(json!(TOKEN_URL)),
        Just(json!("RS256")),
        Just(json!("none")),
        Just(json!("HS256")),
        "\\PC{0,30}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A baseline header or claim set with some members replaced by odd values or dropped.
fn mutated(base: Value, names: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (0..names.len(), prop::option::weighted(0.8, claim_value())),
        0..4,
    )
    .prop_map(move |edits| {
        let mut v = base.clone();
        for (i, new) in edits {
            match new {
                Some(x) => v[names[i]] = x,
                None => {
                    if let Some(m) = v.as_object_mut() {
                        m.remove(names[i]);
                    }
                }
            }
        }
        v
    })
}

// Correctly signed assertions whose header and claims carry extreme or mistyped values
// (exp = i64::MAX, iat = -1e308, aud = {}, alg = 123, crit = [...]): a JSON 4xx or a
// token, never a 5xx or a panic in the time arithmetic.
#[test]
fn token_endpoint_signed_mutations() {
    let rt = runtime();
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let claims = fx.claims();
    let strategy = (
        mutated(
            Fixture::header(),
            &["alg", "typ", "kid", "crit", "x5t#S256", "jwk", "cty"],
        ),
        mutated(
            claims,
            &["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "scope"],
        ),
        any::<bool>(),
    );
    let mut runner = TestRunner::new(cases(1024));
    let result = runner.run(&strategy, |(header, mut claims, fresh_jti)| {
        if fresh_jti && claims.get("jti").is_some() {
            claims["jti"] = json!(format!("jti-{}", rand::random::<u64>()));
        }
        let jwt = sign_with(&keys().rsa, &header, &claims);
        let r = rt.block_on(fx.token(&jwt));
        check_answer(&r)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// The compact-JWS parser on arbitrary text and on three base64url segments of arbitrary
// bytes: a parse or an error, never a panic; errors never echo the input.
#[test]
fn jws_parser_arbitrary() {
    let strategy = (
        "\\PC{0,200}",
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..120), 3),
        prop::collection::vec(any::<u8>(), 0..200),
    );
    run(2048, strategy, |fx, rt, (text, segs, raw)| {
        let _ = bearing_gateway::parse_compact(&text);
        let compact = segs.iter().map(|s| b64(s)).collect::<Vec<_>>().join(".");
        if let Err(e) = bearing_gateway::parse_compact(&compact) {
            prop_assert!(!e.0.contains(&compact) || compact.len() < 4, "{e}");
        }
        let _ = bearing_gateway::strict_object(&raw, "payload");
        let r = rt.block_on(fx.token(&compact));
        check_answer(&r)
    });
}

// The bearer token on an API call: arbitrary Authorization values, query and form tokens.
#[test]
fn api_bearer_token_arbitrary() {
    let strategy = (
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..80), 0..3),
        prop::option::of("[A-Za-z0-9_=&%.-]{0,40}"),
        prop::collection::vec(any::<u8>(), 0..200),
        any::<bool>(),
    );
    run(1024, strategy, |fx, rt, (auths, query, body, form)| {
        let uri = match query {
            Some(q) => format!("/bnpapi/v1/store/inventory?{q}"),
            None => "/bnpapi/v1/store/inventory".to_owned(),
        };
        let ct: Option<&[u8]> = if form {
            Some(b"application/x-www-form-urlencoded")
        } else {
            Some(b"application/soap+xml;charset=UTF-8; action=\"store\"")
        };
        let extra: Vec<(&'static str, Vec<u8>)> = auths
            .into_iter()
            .map(|mut a| {
                if a.len() % 2 == 0 {
                    let mut v = b"Bearer ".to_vec();
                    v.append(&mut a);
                    v
                } else {
                    a
                }
            })
            .map(|a| ("authorization", a))
            .collect();
        let r = rt.block_on(fx.send(post(&uri, ct, &extra, body)));
        check_answer(&r)
    });
}

/// Admin routes that take JSON bodies.
fn admin_route() -> impl Strategy<Value = (&'static str, &'static str)> {
    prop_oneof![
        Just(("PUT", "/admin/token-lifetime")),
        Just(("POST", "/admin/clock/shift")),
        Just(("PUT", "/admin/faults/token")),
        Just(("PUT", "/admin/faults/*")),
        Just(("PUT", "/admin/faults/nope")),
        Just(("POST", "/admin/clients")),
    ]
}

fn admin_body() -> impl Strategy<Value = Vec<u8>> {
    let duration = prop_oneof![
        Just(json!("30s")),
        Just(json!("99999999999999y")),
        Just(json!("584942417355y")),
        Just(json!("18446744073709551615s")),
        Just(json!("0s")),
        claim_value(),
    ];
    let number = prop_oneof![
        Just(json!(1e300)),
        Just(json!(-1e300)),
        Just(json!(1e12)),
        Just(json!(9.2e15)),
        Just(json!(-0.0)),
        claim_value(),
    ];
    prop_oneof![
        (number.clone(), any::<bool>()).prop_map(|(s, neg)| {
            serde_json::to_vec(&json!({ "seconds": s, "negative": neg })).expect("json")
        }),
        duration
            .clone()
            .prop_map(|d| serde_json::to_vec(&json!({ "duration": d })).expect("json")),
        (
            duration.clone(),
            duration,
            number.clone(),
            number.clone(),
            number
        )
            .prop_map(|(l, lm, a, b, c)| {
                let dist = ["fixed", "uniform", "exponential"]
                    [usize::from(a.is_number()) + usize::from(b.is_number())];
                serde_json::to_vec(&json!({
                    "latency": l, "latency_max": lm, "distribution": dist,
                    "error_503": a, "error_429": b, "reset": c,
                }))
                .expect("json")
            }),
        (claim_value(), claim_value()).prop_map(|(id, cert)| {
            serde_json::to_vec(&json!({ "client_id": id, "certificate": cert })).expect("json")
        }),
        prop::collection::vec(any::<u8>(), 0..200),
    ]
}

// The admin API's JSON bodies, however odd (1e300 seconds, a 584,942-year latency, a
// certificate that is a number), and the requests served after them: never a 5xx.
#[test]
fn admin_bodies_arbitrary() {
    run(
        1024,
        (admin_route(), admin_body()),
        |fx, rt, ((method, uri), body)| {
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .header("content-type", "application/json")
                .header("x-admin-secret", fx.state.admin_secret())
                .body(Body::from(body))
                .expect("request");
            let r = rt.block_on(fx.send(req));
            check_answer(&r)?;
            // Whatever was accepted, the gateway still answers (a stall is allowed: a fault).
            let assertion = fx.assertion();
            let next = rt.block_on(async {
                tokio::time::timeout(Duration::from_millis(200), fx.token(&assertion)).await
            });
            if let Ok(next) = next
                && next.headers.get("x-bearing-fault").is_none()
            {
                check_answer(&next)?;
            }
            fx.state.faults().clear();
            fx.state.clock().reset();
            Ok(())
        },
    );
}

// --- explicit bounded-resource cases ------------------------------------------------------

// A 10 MB body, announced or streamed without Content-Length: 413 JSON, quickly.
#[tokio::test]
async fn ten_megabyte_body_is_refused() {
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let big = format!(
        "grant_type={GRANT}&assertion={}",
        "a".repeat(10 * 1024 * 1024)
    );
    for announce in [true, false] {
        let started = Instant::now();
        let mut req = post(
            "/oauth/token",
            Some(b"application/x-www-form-urlencoded"),
            &[],
            Vec::new(),
        );
        if announce {
            req.headers_mut()
                .insert("content-length", HeaderValue::from(big.len()));
            *req.body_mut() = Body::from(big.clone());
        } else {
            let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
                .as_bytes()
                .chunks(64 * 1024)
                .map(|c| Ok(c.to_vec()))
                .collect();
            *req.body_mut() = Body::from_stream(futures::stream::iter(chunks));
        }
        let r = fx.send(req).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
        assert_eq!(r.error_code(), Some("invalid_request"));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}

// A 1 MB header through the router (no socket limit applies): a JSON 4xx, quickly.
#[tokio::test]
async fn one_megabyte_header_through_the_router() {
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let huge = format!("Bearer {}", "a".repeat(1024 * 1024));
    for (uri, body) in [
        ("/bnpapi/v1/store/inventory", String::new()),
        (
            "/oauth/token",
            format!("grant_type={GRANT}&assertion={}", fx.assertion()),
        ),
    ] {
        let started = Instant::now();
        let req = post(
            uri,
            Some(b"application/x-www-form-urlencoded"),
            &[
                ("authorization", huge.clone().into_bytes()),
                ("x-junk", huge.clone().into_bytes()),
            ],
            body.into_bytes(),
        );
        let r = fx.send(req).await;
        assert!(r.status.is_client_error(), "{uri}: {} {}", r.status, r.text);
        assert!(r.body.is_object(), "{}", r.text);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}

// A 1 MB header on a real socket: hyper refuses it (431) or closes the connection within
// the header limit; the gateway keeps serving.
#[test]
fn one_megabyte_header_on_a_socket() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let gw = rt
        .block_on(bearing_gateway::spawn(crate::support::config(
            &GatewayProfile::rfc_strict(),
        )))
        .expect("gateway");
    let addr = gw.local_addr;
    let started = Instant::now();
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.set_write_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let head = format!(
        "GET /bnpapi/v1/store/inventory HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\r\n",
        "a".repeat(1024 * 1024)
    );
    // The server may close mid-write: a broken pipe is an acceptable refusal.
    let _ = s.write_all(head.as_bytes());
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || text.starts_with("HTTP/1.1 431") || text.starts_with("HTTP/1.1 400"),
        "{}",
        text.lines().next().unwrap_or_default()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let health = rt.block_on(async {
        reqwest::get(format!("{}/health", gw.base_url))
            .await
            .map(|r| r.status().as_u16())
    });
    assert_eq!(health.ok(), Some(200));
    rt.block_on(gw.shutdown());
}

// 10,000-deep JSON in a signed assertion payload (and header): refused as invalid_grant by
// the JSON recursion limit, not followed.
#[tokio::test]
async fn ten_thousand_deep_assertion_payload() {
    let fx = Fixture::new(&GatewayProfile::rfc_strict());
    let deep_arr = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_claims = format!(r#"{{"iss":"{CLIENT}","x":{deep_arr}}}"#);
    let header = br#"{"alg":"RS256"}"#;
    for (h, c) in [
        (&header[..], deep_claims.as_bytes()),
        (deep_arr.as_bytes(), br#"{"iss":"x"}"#.as_slice()),
        (header.as_slice(), deep_arr.as_bytes()),
    ] {
        let jwt = sign_bytes(&keys().rsa, h, c);
        let started = Instant::now();
        let r = fx.token(&jwt).await;
        assert!(r.status.is_client_error(), "{} {}", r.status, r.text);
        assert!(r.body.is_object(), "{}", r.text);
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert!(bearing_gateway::strict_object(deep_arr.as_bytes(), "payload").is_err());
}

// --- gateway.yaml -------------------------------------------------------------------------

const CONFIG_YAML: &str = r#"listen: 127.0.0.1:8443
public_url: https://gw.example.com
profile: rfc-strict
token_lifetime: 180s
admin_secret: change-me-please
realm: bearing
max_body_bytes: 65536
clients:
  SampleConfId:
    certificates: [keys/cert.pem]
    scopes: [inventory]
    apis: [inventory]
    algs: [RS256]
apis:
  - name: inventory
    path: /bnpapi/v1/store/inventory
    methods: [GET, POST]
    scope: inventory
    response: { status: 200, content_type: application/json, body: "{}" }
faults:
  inventory: { latency: 5ms, error_503: 0.01, distribution: uniform, latency_max: 9ms }
tls: { self_signed: true, client_cert_required: false }
sweep_interval: 1s
"#;

fn yaml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999h".to_owned()),
        Just("~".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("*missing".to_owned()),
        Just("&a x".to_owned()),
        Just("!!binary aGVsbG8=".to_owned()),
        Just("256.1.1.1:99999".to_owned()),
        Just("[::1]:0".to_owned()),
        Just("NaN".to_owned()),
        Just("<<: *a".to_owned()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn mutate_yaml(doc: &str, line: usize, op: u8, value: &str) -> String {
    let mut lines: Vec<String> = doc.lines().map(str::to_owned).collect();
    let i = line % lines.len();
    match op % 5 {
        0 => {
            let l = &lines[i];
            lines[i] = match l.find(": ") {
                Some(p) => format!("{}: {value}", &l[..p]),
                None => format!("{l} {value}"),
            };
        }
        1 => {
            lines.remove(i);
        }
        2 => {
            let l = lines[i].clone();
            lines.insert(i, l);
        }
        3 => lines[i] = format!("{value}{}", lines[i]),
        _ => lines.insert(i, value.to_owned()),
    }
    lines.join("\n")
}

fn parse_config(text: &str) {
    if let Ok(c) = GatewayConfig::from_yaml_str(text, "prop.yaml") {
        // Validation reads the files the config names; the mutated paths do not exist.
        let _ = c.validate().map_err(|e| e.to_string());
    }
}

proptest! {
    #![proptest_config(cases(2048))]

    // Arbitrary text and mutated documents as gateway.yaml: a config or an error.
    #[test]
    fn gateway_config_arbitrary(text in "\\PC{0,200}") {
        parse_config(&text);
    }

    #[test]
    fn gateway_config_mutated(
        line in any::<usize>(), op in any::<u8>(), value in yaml_value(),
        line2 in any::<usize>(), op2 in any::<u8>(), value2 in yaml_value(),
    ) {
        let t = mutate_yaml(CONFIG_YAML, line, op, &value);
        parse_config(&mutate_yaml(&t, line2, op2, &value2));
    }
}

// Alias bombs in gateway.yaml (billion laughs under a client's scopes, one 64 KiB string
// through 20,000 aliases in a type-correct list): refused quickly by the alias budget.
#[test]
fn gateway_config_alias_bombs() {
    let mut laughs = String::from(
        "clients:\n  c:\n    scopes: [&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]",
    );
    for i in 1..=9 {
        let items = vec![format!("*l{}", i - 1); 9].join(", ");
        laughs.push_str(&format!(", &l{i} [{items}]"));
    }
    laughs.push_str("]\n");
    let aliases = vec!["*s"; 20_000].join(", ");
    let strings = format!(
        "clients:\n  c:\n    scopes: [&s \"{}\", {aliases}]\n",
        "x".repeat(64 * 1024)
    );
    for (what, doc) in [("billion laughs", laughs), ("string bomb", strings)] {
        let started = Instant::now();
        let r = GatewayConfig::from_yaml_str(&doc, "bomb.yaml");
        assert!(r.is_err(), "{what} parsed");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{what}: {:?}",
            started.elapsed()
        );
    }
}
