//! HTTP/2 end to end (issue 15): `bearing serve` over TLS offers ALPN `h2` and `http/1.1`;
//! a target with `http2: true` reaches it over HTTP/2 for `token`, `call` and `load` (the
//! sandbox's `bearing_tls_connections_total` counts connections by the protocol ALPN chose,
//! so the tests see that every bearing connection was h2), bearing without `http2` and other
//! HTTP/1.1 clients still get HTTP/1.1, a gateway without h2 gets a plain-language error, and `http2: true` on a plain
//! http URL is bad input.

mod common;

use std::path::Path;

use common::{CLIENT, Server, keygen, run, serve, stderr};

/// `bearing serve --tls-self-signed` (plus `extra`) for a fresh identity in `dir`; its
/// certificate is written to `dir/sandbox-ca.pem`.
fn tls_sandbox(dir: &Path, extra: &[&str]) -> Server {
    keygen(dir, CLIENT);
    let client = format!("{CLIENT}={}", dir.join("cert.pem").display());
    let mut args = vec![
        "--output",
        "json",
        "--listen",
        "127.0.0.1:0",
        "--tls-self-signed",
        "--client",
        &client,
    ];
    args.extend_from_slice(extra);
    let server = serve(&args);
    std::fs::write(
        dir.join("sandbox-ca.pem"),
        get(&server, "tls_certificate_pem"),
    )
    .expect("write ca");
    server
}

/// A string field of the server's JSON banner.
fn get(server: &Server, key: &str) -> String {
    server.info[key].as_str().expect(key).to_owned()
}

/// A target file for the sandbox, with `extra` lines, in `dir/name`.
fn target(dir: &Path, name: &str, server: &Server, extra: &str) -> String {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "token_url: {}\nclient_id: {CLIENT}\nprivate_key: private.pem\ncertificate: cert.pem\n\
             tls: {{ ca_bundle: sandbox-ca.pem }}\napis:\n  - {{ name: inventory, url: {} }}\n{extra}",
            get(server, "token_url"),
            get(server, "api_url"),
        ),
    )
    .expect("write target");
    path.to_str().expect("utf-8").to_owned()
}

/// The sandbox's TLS connection counts `(http/1.1, h2)`, read over HTTP/1.1 (so each read
/// adds one http/1.1 connection).
fn tls_connections(server: &Server, dir: &Path) -> (u64, u64) {
    let pem = std::fs::read(dir.join("sandbox-ca.pem")).expect("ca");
    let url = format!("{}/metrics", get(server, "base_url"));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let text = rt.block_on(async {
        let ca = reqwest::Certificate::from_pem(&pem).expect("pem");
        let resp = reqwest::Client::builder()
            .http1_only()
            .tls_certs_only([ca])
            .build()
            .expect("client")
            .get(&url)
            .send()
            .await
            .expect("metrics");
        assert_eq!(resp.version(), reqwest::Version::HTTP_11);
        resp.text().await.expect("metrics body")
    });
    let count = |protocol: &str| {
        let prefix = format!("bearing_tls_connections_total{{protocol=\"{protocol}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in {text}"))
    };
    (count("http/1.1"), count("h2"))
}

// `http2: true`: token, call and a short load (API calls on each user's own h2 connection,
// tokens on the user's client) all go over HTTP/2; none of bearing's connections is
// HTTP/1.1. `--http2` on the command line does the same for a target without it.
#[test]
fn token_call_and_load_over_h2() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let server = tls_sandbox(d, &[]);
    let t = target(d, "h2.yaml", &server, "http2: true\n");
    // The first read is itself the first http/1.1 connection.
    assert_eq!(tls_connections(&server, d), (1, 0));

    let out = run(&["token", "--target", &t, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (h1, h2) = tls_connections(&server, d);
    assert_eq!((h1, h2), (2, 1), "token: one h2 connection");

    let out = run(&["call", "--target", &t, "GET", &get(&server, "api_url")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (h1, h2) = tls_connections(&server, d);
    assert_eq!(h1, 3, "call opened an http/1.1 connection");
    assert!(h2 >= 2, "call: h2 connections {h2}");

    // Without http2: HTTP/1.1, as before (the sandbox offers both).
    let plain = target(d, "plain.yaml", &server, "");
    let out = run(&["token", "--target", &plain]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        tls_connections(&server, d),
        (5, h2),
        "plain token: http/1.1"
    );

    let out = run(&["token", "--target", &plain, "--http2"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let (h1, h2_after_flag) = tls_connections(&server, d);
    assert_eq!(h1, 6, "--http2 token opened an http/1.1 connection");
    assert!(
        h2_after_flag > h2,
        "--http2: h2 connections {h2_after_flag}"
    );

    // A 1 s load: the API scenario's count of calls, once it passed.
    let load = |name: &str, scenario: &str, users: u32, rate: u32| -> u64 {
        let profile = d.join(format!("{name}.yaml"));
        std::fs::write(
            &profile,
            format!(
                "name: {name}\nduration: 1s\nusers: {users}\nrate: {rate}/s\n\
                 thresholds: ['error_rate < 1%']\nscenarios:\n  - {scenario}\n"
            ),
        )
        .expect("write profile");
        let report = d.join(format!("report-{name}"));
        let out = run(&[
            "load",
            profile.to_str().expect("utf-8"),
            "--target",
            &t,
            "--threads",
            "1",
            "--quiet",
            "--report-dir",
            report.to_str().expect("utf-8"),
        ]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let s: serde_json::Value =
            serde_json::from_slice(&std::fs::read(report.join("summary.json")).expect("summary"))
                .expect("json");
        let phases = &s["scenarios"][0]["phases"];
        let calls = phases["api"]["count"].as_u64().expect("count");
        // The h2 connections feed the connect and handshake phases as HTTP/1.1's do.
        let handshakes = phases["handshake"]["count"].as_u64().unwrap_or(0);
        assert!(handshakes >= 1, "{name}: no handshake phase: {phases}");
        if name == "new" {
            assert_eq!(
                handshakes, calls,
                "{name}: one handshake per call: {phases}"
            );
        }
        calls
    };
    let calls = load("keep-alive", "{ name: api, kind: api }", 4, 200);
    assert!(calls >= 50, "keep-alive: {calls} calls");
    let (h1, h2) = tls_connections(&server, d);
    assert_eq!(h1, 7, "load opened an http/1.1 connection");
    // Each of the 4 users: its own h2 connection for API calls (the lean client), and its
    // client's for tokens.
    assert!(
        h2 >= h2_after_flag + 8,
        "load: h2 connections {h2}, before {h2_after_flag}"
    );

    // `connection: new`: a new TCP + TLS + h2 connection per API call.
    let calls = load("new", "{ name: api, kind: api, connection: new }", 2, 40);
    assert!(calls >= 20, "connection: new: {calls} calls");
    let (h1, h2_after_new) = tls_connections(&server, d);
    assert_eq!(h1, 8, "connection: new opened an http/1.1 connection");
    assert!(
        h2_after_new >= h2 + calls,
        "connection: new: h2 connections {h2_after_new}, before {h2}, calls {calls}"
    );
}

// A gateway that offers only HTTP/1.1: `http2: true` fails with the cause and the fix (exit
// 3, could not run); the same target without it still works over HTTP/1.1.
#[test]
fn http2_against_an_http1_only_gateway_is_explained() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    std::fs::write(
        d.join("gateway.yaml"),
        "tls: { self_signed: true, http1_only: true }\n",
    )
    .expect("write config");
    let config = d.join("gateway.yaml");
    let server = tls_sandbox(d, &["--config", config.to_str().expect("utf-8")]);
    let t = target(d, "h2.yaml", &server, "http2: true\n");
    for args in [
        vec!["token", "--target", &t],
        vec![
            "call",
            "--target",
            &t,
            "GET",
            &server.info["api_url"].as_str().expect("api"),
        ],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("does not offer HTTP/2"), "{args:?}: {err}");
        assert!(err.contains("remove http2: true"), "{args:?}: {err}");
    }
    let plain = target(d, "plain.yaml", &server, "");
    let out = run(&["token", "--target", &plain]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(tls_connections(&server, d).1, 0, "no h2 connection");
}

// `http2: true` needs https (HTTP/2 is chosen by ALPN; no h2c): a plain http URL is bad
// input naming the field, before anything is sent; so is --http2 on the embedded sandbox.
#[test]
fn http2_on_plain_http_is_bad_input() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let out = run(&[
        "keygen",
        "--client-id",
        CLIENT,
        "--out",
        d.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = d.join("t.yaml");
    std::fs::write(
        &t,
        format!(
            "token_url: http://127.0.0.1:9/oauth/token\nclient_id: {CLIENT}\nprivate_key: private.pem\nhttp2: true\n"
        ),
    )
    .expect("write target");
    let out = run(&["token", "--target", t.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("http2: true needs https"), "{err}");
    assert!(err.contains("token_url"), "{err}");

    let out = run(&["token", "--http2"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("http2: true needs https"),
        "{}",
        stderr(&out)
    );
}
