//! Property tests of every bearing-auth parser that reads outside input (issue 9): token
//! responses and error answers, PEM/DER/Base64 keys and certificates, YAML targets and
//! profiles. Arbitrary bytes and structured mutations of valid input must yield a value or
//! an error — never a panic — in bounded time, and error texts never carry a token.
//! Explicit bounded-resource cases: 10,000-deep JSON, YAML alias bombs, huge bodies.
//!
//! Cases per property are kept low enough for the file to run in a few seconds in CI;
//! `PROPTEST_CASES=10000 cargo test -p bearing-auth --test proptest_parsers` goes deeper.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bearing_auth::{Algorithm, Certificate, GatewayProfile, SigningKey, Target};
use bearing_auth::{ErrorResponse, ManagerConfig, TokenError, TokenResponse};
use proptest::prelude::*;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

/// Cases per property: the `PROPTEST_CASES` environment variable, else `default`.
fn cases(default: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases: n,
        // Failures are reported with their minimal input; no files are written into the crate.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Token responses
// ---------------------------------------------------------------------------------------

/// JSON values that stress the token response fields: odd numbers, numeric strings with
/// multi-byte characters, nested values.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::{Value, json};
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        Just(json!(u64::MAX)),
        Just(json!(0)),
        Just(json!(-1)),
        Just(json!("180")),
        Just(json!(" 180 ")),
        Just(json!("18446744073709551616")),
        Just(json!("ééééééééééééééééééééééééééééééééééé")),
        "[0-9é€𝄞 ]{30,60}".prop_map(Value::String),
        Just(json!("Bearer")),
        Just(json!("bEaReR")),
        ".{0,60}".prop_map(Value::String),
        "[a-zA-Z0-9._~+/=-]{0,80}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A token-response-shaped object with any of its fields replaced or dropped.
fn token_body() -> impl Strategy<Value = Vec<u8>> {
    let field =
        |name: &'static str| prop::option::weighted(0.8, json_value()).prop_map(move |v| (name, v));
    (
        field("access_token"),
        field("token_type"),
        field("expires_in"),
        field("scope"),
        field("refresh_token"),
        prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..3),
    )
        .prop_map(|(a, t, e, s, r, extra)| {
            let mut m = serde_json::Map::new();
            for (k, v) in [a, t, e, s, r] {
                if let Some(v) = v {
                    m.insert(k.to_owned(), v);
                }
            }
            for (k, v) in extra {
                m.insert(k, v);
            }
            serde_json::to_vec(&m).expect("a map always serializes")
        })
}

/// Headers a gateway may send, with hostile values.
fn headers() -> impl Strategy<Value = HeaderMap> {
    let name = prop_oneof![
        Just("content-type"),
        Just("cache-control"),
        Just("pragma"),
        Just("retry-after"),
        Just("www-authenticate"),
        Just("location"),
        Just("x-other"),
    ];
    let value = prop_oneof![
        Just(b"application/json".to_vec()),
        Just(b"application/json; charset=utf-8".to_vec()),
        Just(b"text/html".to_vec()),
        Just(b"no-store".to_vec()),
        Just(b"no-cache".to_vec()),
        Just(b"18446744073709551615".to_vec()),
        Just(b"99999999999999999999999".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"Wed, 21 Oct 2015 07:28:00 GMT".to_vec()),
        Just(b"Bearer realm=\"x\", error=\"invalid_token\"".to_vec()),
        prop::collection::vec(any::<u8>(), 0..64),
    ];
    prop::collection::vec((name, value), 0..6).prop_map(|pairs| {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            if let Ok(v) = HeaderValue::from_bytes(&v) {
                h.append(HeaderName::from_static(n), v);
            }
        }
        h
    })
}

/// Checks what must hold of any parse result.
fn check_token_result(r: &Result<TokenResponse, TokenError>, status: u16, body: &[u8]) {
    match r {
        Ok(t) => {
            assert!((200..300).contains(&status));
            assert!(!t.access_token.expose().trim().is_empty());
            assert!(t.expires_in.is_none_or(|d| !d.is_zero()));
            // Formatting never panics and never shows the token in full.
            // (Unless the gateway repeated the value in another field, which is shown.)
            let shown = format!("{t:?}");
            let secret = t.access_token.expose();
            let repeated = String::from_utf8_lossy(body).matches(secret).count() > 1;
            if secret.chars().count() > 12 && !repeated {
                assert!(!shown.contains(secret), "{shown}");
            }
            for d in &t.deviations {
                let _ = (d.to_string(), d.id(), d.severity());
            }
        }
        Err(e) => {
            assert_eq!(e.status(), status);
            let _ = (e.to_string(), e.is_retryable(), e.retry_after(), e.code());
        }
    }
}

proptest! {
    #![proptest_config(cases(2048))]

    // Any status, any headers, any bytes: a response or an error, never a panic.
    #[test]
    fn token_response_arbitrary_bytes(
        status in 100u16..1000,
        h in headers(),
        body in prop::collection::vec(any::<u8>(), 0..512),
    ) {
        let r = TokenResponse::parse(status, &h, &body);
        check_token_result(&r, status, &body);
        let e = ErrorResponse::parse(status, &h, &body);
        let _ = e.to_string();
        prop_assert!(e.excerpt.as_ref().is_none_or(|x| x.chars().count() <= 161));
    }

    // Token-shaped JSON with any field replaced, dropped or retyped.
    #[test]
    fn token_response_structured(
        status in prop_oneof![Just(200u16), 201u16..300, 400u16..600],
        h in headers(),
        body in token_body(),
    ) {
        let r = TokenResponse::parse(status, &h, &body);
        check_token_result(&r, status, &body);
    }

    // A lifetime the gateway sends, however absurd, never breaks the refresh schedule.
    #[test]
    fn refresh_schedule_total(
        secs in prop_oneof![any::<u64>(), Just(u64::MAX), 0u64..10],
        nanos in 0u32..1_000_000_000,
        fraction in prop_oneof![Just(1.0f64), Just(f64::MIN_POSITIVE), 0.0001f64..=1.0],
    ) {
        let c = ManagerConfig { refresh_fraction: fraction, ..ManagerConfig::default() };
        let lifetime = Duration::new(secs, nanos);
        let at = c.refresh_after(lifetime);
        prop_assert!(at <= lifetime);
    }

    // Error bodies (RFC 6749, Apigee, HTML, nested) with a token-like secret anywhere in
    // them: the parsed error and its message never repeat the secret.
    #[test]
    fn error_response_never_repeats_a_token(
        status in 300u16..600,
        secret in "[A-Za-z]{6}[0-9]{4}[A-Za-z0-9_-]{20,60}",
        shape in 0usize..6,
        prefix in "[ a-z<>/=\"]{0,40}",
    ) {
        let body = match shape {
            0 => format!(r#"{{"error":"invalid_grant","error_description":"{prefix} {secret}"}}"#),
            1 => format!(r#"{{"ErrorCode":"invalid_grant","Error":"{secret}"}}"#),
            2 => format!("<html><title>{prefix}</title><body>{secret}</body></html>"),
            3 => format!(r#"{{"fault":{{"faultstring":"{secret}","detail":{{"errorcode":"x"}}}}}}"#),
            4 => format!(r#"{{"access_token":"{secret}"}}"#),
            _ => format!("{prefix}{secret} trailing"),
        };
        let mut h = HeaderMap::new();
        h.insert("www-authenticate", HeaderValue::from_str(&format!("Bearer error_description=\"{secret}\"")).expect("ascii"));
        let e = ErrorResponse::parse(status, &h, body.as_bytes());
        let text = format!("{e} {e:?}");
        prop_assert!(!text.contains(&secret), "{text}");
    }
}

// The brief's bounded-resource cases for token responses: 10,000-deep JSON, a 10 MB body.
#[test]
fn token_response_deep_and_huge_inputs_are_bounded() {
    let deep_arr = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let token_then_deep = format!(
        r#"{{"access_token":"abcdefghijklmnopqrstu","token_type":"Bearer","x":{deep_arr}}}"#
    );
    let huge = vec![b'x'; 10 * 1024 * 1024];
    let huge_json = format!(r#"{{"access_token":"{}"}}"#, "a".repeat(10 * 1024 * 1024));
    let h = HeaderMap::new();
    for body in [
        deep_arr.as_bytes(),
        deep_obj.as_bytes(),
        token_then_deep.as_bytes(),
        &huge,
        huge_json.as_bytes(),
    ] {
        for status in [200, 400, 503] {
            let started = Instant::now();
            let r = TokenResponse::parse(status, &h, body);
            check_token_result(&r, status, body);
            if let Err(e) = &r {
                // The message stays short whatever the body.
                assert!(e.to_string().len() < 2_000, "{} bytes", e.to_string().len());
            }
            assert!(
                started.elapsed() < Duration::from_secs(2),
                "{:?}",
                started.elapsed()
            );
        }
    }
    // Deep nesting is refused (serde_json's recursion limit), not followed.
    assert!(TokenResponse::parse(200, &h, token_then_deep.as_bytes()).is_err());
}

// ---------------------------------------------------------------------------------------
// Keys and certificates
// ---------------------------------------------------------------------------------------

/// Real key and certificate material to mutate (generated once: RSA is slow).
struct Material {
    keys: Vec<Vec<u8>>,
    certs: Vec<Vec<u8>>,
}

fn material() -> &'static Material {
    static M: OnceLock<Material> = OnceLock::new();
    M.get_or_init(|| {
        let mut keys = Vec::new();
        let mut certs = Vec::new();
        for (alg, bits) in [
            (Algorithm::RS256, 2048),
            (Algorithm::ES256, 0),
            (Algorithm::ES384, 0),
            (Algorithm::EdDSA, 0),
        ] {
            let k = SigningKey::generate(alg, bits).expect("generate key");
            let c = Certificate::self_signed(&k, "SampleConfId", 1).expect("certificate");
            keys.push(k.pkcs8_der().expose().to_vec());
            certs.push(c.der().to_vec());
        }
        Material { keys, certs }
    })
}

/// A byte-level mutation of `base`: flip, truncate, insert, or overwrite a length byte.
fn mutate(base: &[u8], op: u8, at: usize, byte: u8) -> Vec<u8> {
    let mut v = base.to_vec();
    if v.is_empty() {
        return vec![byte];
    }
    let i = at % v.len();
    match op % 5 {
        0 => v[i] ^= byte | 1,
        1 => v.truncate(i),
        2 => v.insert(i, byte),
        3 => {
            // DER length bytes: make one claim far more (or less) than is there.
            v[i] = if byte & 1 == 0 { 0x84 } else { 0xff };
        }
        _ => {
            v.drain(i..(i + usize::from(byte)).min(v.len()));
        }
    }
    v
}

/// Wraps DER as PEM with `label`, wrapped at `width` columns, with `junk` around it.
fn pem(label: &str, der: &[u8], width: usize, junk: &str) -> Vec<u8> {
    let b64 = B64.encode(der);
    let body: Vec<String> = b64
        .as_bytes()
        .chunks(width.max(1))
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "{junk}-----BEGIN {label}-----\n{}\n-----END {label}-----\n{junk}",
        body.join("\n")
    )
    .into_bytes()
}

fn label() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("PRIVATE KEY"),
        Just("RSA PRIVATE KEY"),
        Just("EC PRIVATE KEY"),
        Just("CERTIFICATE"),
        Just("ENCRYPTED PRIVATE KEY"),
        Just("PUBLIC KEY"),
        Just("X"),
    ]
}

proptest! {
    #![proptest_config(cases(1024))]

    // Arbitrary bytes, and arbitrary bytes dressed as PEM or Base64: never a panic.
    #[test]
    fn keys_and_certs_arbitrary(
        bytes in prop::collection::vec(any::<u8>(), 0..600),
        label in label(),
        width in 1usize..80,
        junk in "[ -~\n]{0,20}",
    ) {
        let wrapped = pem(label, &bytes, width, &junk);
        let b64 = B64.encode(&bytes).into_bytes();
        let mut der = bytes.clone();
        der.insert(0, 0x30);
        for input in [&bytes, &wrapped, &b64, &der] {
            let _ = SigningKey::from_bytes(input, Some("prop")).map_err(|e| e.to_string());
            let _ = Certificate::from_bytes(input, Some("prop")).map_err(|e| e.to_string());
        }
    }

    // Real keys and certificates, mutated at the byte level, as DER, PEM and Base64.
    #[test]
    fn keys_and_certs_mutated(
        which in 0usize..4,
        op in any::<u8>(),
        at in any::<usize>(),
        byte in any::<u8>(),
        width in prop_oneof![Just(64usize), 1usize..200],
        label in label(),
    ) {
        let m = material();
        let key = mutate(&m.keys[which], op, at, byte);
        let cert = mutate(&m.certs[which], op, at, byte);
        for input in [key.clone(), pem(label, &key, width, ""), pem("PRIVATE KEY", &key, width, "")] {
            if let Ok(k) = SigningKey::from_bytes(&input, Some("prop")) {
                // A key that loads signs, or refuses the algorithm, without panicking.
                let _ = k.sign(k.kind().default_algorithm(), b"message");
            }
        }
        for input in [cert.clone(), pem("CERTIFICATE", &cert, width, ""), B64.encode(&cert).into_bytes()] {
            if let Ok(c) = Certificate::from_bytes(&input, Some("prop")) {
                let _ = (c.validity(), c.x5t_s256(), c.to_pem(), c.subject().len());
                let _ = c.public_key().verifier(Algorithm::RS256).map(|v| v.verify(b"m", b"s"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// YAML: targets and profiles
// ---------------------------------------------------------------------------------------

const TARGET_YAML: &str = r#"token_url: https://gw.example.com/oauth/token
audience: [https://gw.example.com/oauth/token, https://gw.example.com/]
client_id: SampleConfId
private_key: keys/private.pem
certificate: keys/cert.pem
profile: rfc-strict
apis:
  - name: inventory
    method: POST
    url: https://gw.example.com/bnpapi/v1/store/inventory
    headers: { Content-Type: 'application/soap+xml;charset=UTF-8; action="store"' }
    body: "<x/>"
tls: { ca_bundle: ca.pem, allow_http: false }
assertion:
  ttl: 60s
  alg: RS256
  subject: SampleConfId
  kid: k1
  x5t: false
  scope: inventory
  claims: { a: 1, b: [1, 2], c: { d: null } }
admin_url: http://127.0.0.1:1/admin
admin_secret: s3cret-s3cret
"#;

/// Values that upset YAML deserializers: wrong types, huge numbers, anchors, tags.
fn yaml_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-1".to_owned()),
        Just("1e400".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("99999999999999999999h".to_owned()),
        Just("18446744073709551615s".to_owned()),
        Just("0s".to_owned()),
        Just("~".to_owned()),
        Just("[]".to_owned()),
        Just("{}".to_owned()),
        Just("[[[[[[]]]]]]".to_owned()),
        Just("*missing".to_owned()),
        Just("&a x".to_owned()),
        Just("!!binary aGVsbG8=".to_owned()),
        Just("!custom x".to_owned()),
        Just("\"\\uD800\"".to_owned()),
        Just("|\n  multi\n  line".to_owned()),
        Just("none".to_owned()),
        Just("HS256".to_owned()),
        Just("file:///etc/passwd".to_owned()),
        Just("http://[::1".to_owned()),
        Just("<<: *a".to_owned()),
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

/// A line-level mutation of a YAML document.
fn mutate_yaml(doc: &str, line: usize, op: u8, value: &str, at: usize) -> String {
    let mut lines: Vec<String> = doc.lines().map(str::to_owned).collect();
    if lines.is_empty() {
        return value.to_owned();
    }
    let i = line % lines.len();
    match op % 6 {
        0 => {
            // Replace the value after the first `: `.
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
        3 => {
            let l = &lines[i];
            let cut = l
                .char_indices()
                .nth(at % (l.chars().count() + 1))
                .map_or(l.len(), |(p, _)| p);
            lines[i] = format!("{}{value}{}", &l[..cut], &l[cut..]);
        }
        4 => lines[i] = format!("{}{}", " ".repeat(at % 7), lines[i].trim_start()),
        _ => lines.insert(i, value.to_owned()),
    }
    lines.join("\n")
}

fn profile_docs() -> &'static [String] {
    static D: OnceLock<Vec<String>> = OnceLock::new();
    D.get_or_init(|| {
        vec![
            GatewayProfile::rfc_strict()
                .to_yaml()
                .expect("profile yaml"),
            GatewayProfile::apigee().to_yaml().expect("profile yaml"),
        ]
    })
}

fn parse_target(text: &str) {
    if let Ok(t) = bearing_auth::yaml::from_str::<Target>(text, "prop.yaml") {
        let _ = t.validate();
        let _ = (t.effective_audience(), t.token_client_options());
    }
}

fn parse_profile(text: &str) {
    if let Ok(p) = GatewayProfile::from_yaml_str(text, "prop.yaml") {
        let _ = p.validate();
        let _ = p.to_yaml();
    }
}

proptest! {
    #![proptest_config(cases(2048))]

    // Arbitrary text as a target or a profile: a value or an error naming a position.
    #[test]
    fn yaml_arbitrary_text(text in "\\PC{0,200}") {
        parse_target(&text);
        parse_profile(&text);
    }

    // Valid documents with one or two lines mutated.
    #[test]
    fn yaml_mutated_documents(
        line in any::<usize>(), op in any::<u8>(), value in yaml_value(), at in any::<usize>(),
        line2 in any::<usize>(), op2 in any::<u8>(), value2 in yaml_value(),
        which in 0usize..2,
    ) {
        let t = mutate_yaml(TARGET_YAML, line, op, &value, at);
        let t = mutate_yaml(&t, line2, op2, &value2, at);
        parse_target(&t);
        let p = mutate_yaml(&profile_docs()[which], line, op, &value, at);
        let p = mutate_yaml(&p, line2, op2, &value2, at);
        parse_profile(&p);
    }
}

/// A billion-laughs document: nine levels of nine aliases each (9^9 leaves if expanded),
/// indented under `indent` spaces.
pub fn alias_bomb(indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut s = format!("{pad}l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..=9 {
        let prev = format!("*l{}", i - 1);
        let items = [prev.as_str(); 9].join(", ");
        s.push_str(&format!("{pad}l{i}: &l{i} [{items}]\n"));
    }
    s
}

/// A "quadratic" bomb: one 64 KiB string repeated through 20,000 aliases (1.3 GB if expanded).
fn string_bomb(field_indent: usize) -> (String, String) {
    let pad = " ".repeat(field_indent);
    let anchor = format!("{pad}s: &s \"{}\"\n", "x".repeat(64 * 1024));
    let aliases = vec!["*s"; 20_000].join(", ");
    (anchor, format!("[{aliases}]"))
}

fn assert_quick_error<T, E: std::fmt::Display>(what: &str, f: impl FnOnce() -> Result<T, E>) {
    let started = Instant::now();
    let r = f();
    let took = started.elapsed();
    match r {
        Ok(_) => panic!("{what}: an alias bomb parsed"),
        Err(e) => eprintln!("{what}: refused in {took:?}: {e}"),
    }
    assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
}

// Billion laughs in the one free-form spot of a target (assertion claims) and in profiles:
// refused quickly by serde-saphyr's alias budget, not expanded.
#[test]
fn yaml_alias_bombs_are_refused_quickly() {
    let target = format!(
        "token_url: https://x/\nclient_id: c\nprivate_key: k\nassertion:\n  claims:\n{}",
        alias_bomb(4)
    );
    assert_quick_error("target claims", || {
        bearing_auth::yaml::from_str::<Target>(&target, "bomb.yaml")
    });
    let (anchor, aliases) = string_bomb(4);
    let target = format!(
        "token_url: https://x/\nclient_id: c\nprivate_key: k\nassertion:\n  claims:\n{anchor}    t: {aliases}\n"
    );
    assert_quick_error("target string bomb", || {
        bearing_auth::yaml::from_str::<Target>(&target, "bomb.yaml")
    });
    let profile = format!("{}audiences:\n  extra: *l9\n", alias_bomb(0));
    assert_quick_error("profile", || {
        GatewayProfile::from_yaml_str(&profile, "bomb.yaml")
    });
    // Type-correct: the anchor is the first entry of the very list its aliases fill.
    let aliases = vec!["*s"; 20_000].join(", ");
    let big = "x".repeat(64 * 1024);
    let profile = format!("audiences:\n  extra: [&s \"{big}\", {aliases}]\n");
    assert_quick_error("profile string bomb", || {
        GatewayProfile::from_yaml_str(&profile, "bomb.yaml")
    });
}

// 10,000-deep YAML nesting (flow and block) is refused by the depth budget.
#[test]
fn yaml_deep_nesting_is_refused() {
    let flow = format!(
        "token_url: https://x/\nclient_id: c\nprivate_key: k\nassertion:\n  claims:\n    d: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert_quick_error("flow nesting", || {
        bearing_auth::yaml::from_str::<Target>(&flow, "deep.yaml")
    });
    let mut block = String::from(
        "token_url: https://x/\nclient_id: c\nprivate_key: k\nassertion:\n  claims:\n",
    );
    for i in 0..10_000usize {
        block.push_str(&" ".repeat(4 + (i % 2000)));
        block.push_str("- \n");
    }
    let started = Instant::now();
    let _ = bearing_auth::yaml::from_str::<Target>(&block, "deep.yaml");
    assert!(started.elapsed() < Duration::from_secs(5));
}
