//! TLS end to end (issue 9): `bearing serve --tls-self-signed` serves HTTPS and prints its
//! certificate; `bearing token` and `bearing call` reach it when given that certificate as
//! the CA bundle and refuse it otherwise (verification is on by default). Plain `http://`
//! to a token URL that is not loopback is refused unless `--allow-http`: the assertion is a
//! credential.

mod common;

use std::process::{Command, Output};

use common::netns::{Net, bearing_in};
use common::{CLIENT, Server, bearing, run, stderr};

/// `bearing serve --output json <args…>`, once ready: what it printed is in `info`.
fn serve(args: &[&str]) -> Server {
    Server::start(bearing().args(["serve", "--output", "json"]).args(args))
}

/// A fresh identity for [`CLIENT`] in `dir`: (key path, certificate path).
fn keygen(dir: &std::path::Path) -> (String, String) {
    common::keygen(dir, CLIENT)
}

/// `bearing serve --tls-self-signed` for a fresh identity in `dir`, its certificate written
/// to `dir/sandbox-ca.pem`: (server, key path, token URL, API URL).
fn tls_sandbox(dir: &std::path::Path) -> (Server, String, String, String) {
    let (key, cert) = keygen(dir);
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-self-signed",
        "--client",
        &format!("{CLIENT}={cert}"),
    ]);
    let token_url = server.info["token_url"]
        .as_str()
        .expect("token_url")
        .to_owned();
    let api_url = server.info["api_url"].as_str().expect("api_url").to_owned();
    let pem = server.info["tls_certificate_pem"]
        .as_str()
        .expect("the self-signed certificate is printed");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    std::fs::write(dir.join("sandbox-ca.pem"), pem).expect("write ca");
    (server, key, token_url, api_url)
}

// The self-signed sandbox speaks HTTPS; token and call succeed with its certificate as the
// CA bundle (target file tls.ca_bundle) and fail verification without it.
#[test]
fn serve_tls_self_signed_reached_with_its_ca() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_server, key, token_url, api_url) = tls_sandbox(dir.path());
    let (token_url, api_url) = (token_url.as_str(), api_url.as_str());
    assert!(token_url.starts_with("https://127.0.0.1:"), "{token_url}");
    let target = dir.path().join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "token_url: {token_url}\nclient_id: {CLIENT}\nprivate_key: private.pem\ncertificate: cert.pem\ntls: {{ ca_bundle: sandbox-ca.pem }}\n"
        ),
    )
    .expect("write target");
    let t = target.to_str().expect("utf-8");

    let out = run(&["token", "--target", t, "--output", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["status"], 200);

    let out = run(&["call", "--target", t, "GET", api_url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Without the CA: the certificate is not trusted, exit 3 (could not run).
    let out = run(&[
        "token",
        "--token-url",
        token_url,
        "--client-id",
        CLIENT,
        "--key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out).to_lowercase();
    assert!(err.contains("certificate"), "{err}");
}

// A plain-http token URL off loopback is refused before anything is sent (exit 2, naming
// --allow-http); loopback needs no flag.
#[test]
fn plain_http_off_loopback_needs_allow_http() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, _cert) = keygen(dir.path());
    let started = std::time::Instant::now();
    let out = run(&[
        "token",
        "--token-url",
        "http://gw.example.com/oauth/token",
        "--client-id",
        CLIENT,
        "--key",
        &key,
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-http"), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let out = run(&[
        "call",
        "--token-url",
        "http://10.1.2.3/oauth/token",
        "--client-id",
        CLIENT,
        "--key",
        &key,
        "GET",
        "http://10.1.2.3/api",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("plain http"), "{}", stderr(&out));
}

/// The address the non-loopback sandbox gets in a namespace of its own.
const OWN_ADDRESS: &str = "10.199.9.1";

/// A network namespace this test creates (and removes on drop) with [`OWN_ADDRESS`] on its
/// loopback link, so nothing leaves it: the namespace and its name.
fn own_address() -> Result<(Net, String), String> {
    let mut net = Net::new("btls")?;
    let ns = net.add_ns("a")?;
    let addr = format!("{OWN_ADDRESS}/32");
    common::netns::ip(&["-n", &ns, "addr", "add", &addr, "dev", "lo"])?;
    Ok((net, ns))
}

// Against a real sandbox on a non-loopback address: refused without --allow-http, served
// with it. The address is the test's own in a network namespace (root and `ip`); without one
// the test says on stderr that it did not run (traffic never leaves loopback or the namespace).
#[test]
fn allow_http_reaches_a_non_loopback_sandbox() {
    // Declared before the server: the namespace goes after the server is killed.
    let own = own_address();
    let (ip, ns): (std::net::IpAddr, Option<&str>) = match &own {
        Ok((_, ns)) => (OWN_ADDRESS.parse().expect("ip"), Some(ns.as_str())),
        Err(why) => {
            common::skip(
                "tls::allow_http_reaches_a_non_loopback_sandbox",
                &format!(
                    "no network namespace ({why}); the refusal without --allow-http is \
                     still checked by plain_http_off_loopback_needs_allow_http"
                ),
            );
            return;
        }
    };
    let cmd = || ns.map_or_else(bearing, bearing_in);
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert) = keygen(dir.path());
    let server = Server::start(cmd().args([
        "serve",
        "--output",
        "json",
        "--listen",
        &format!("{ip}:0"),
        "--client",
        &format!("{CLIENT}={cert}"),
    ]));
    let token_url = server.info["token_url"].as_str().expect("token_url");
    assert!(
        token_url.starts_with(&format!("http://{ip}:")),
        "{token_url}"
    );
    let args = [
        "token",
        "--token-url",
        token_url,
        "--client-id",
        CLIENT,
        "--key",
        &key,
    ];
    let out = cmd().args(args).output().expect("token");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = cmd()
        .args(args)
        .arg("--allow-http")
        .output()
        .expect("token");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("plain http"),
        "the warning: {}",
        stderr(&out)
    );
}

// `bearing load` against the HTTPS sandbox: with the target's CA bundle every request
// succeeds (the per-user clients trust it); without it, the run fails rather than silently
// measuring TLS errors. A plain-http target off loopback is refused before any traffic.
#[test]
fn load_over_tls_uses_the_targets_ca_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let (_server, key, token_url, api_url) = tls_sandbox(dir.path());
    let target = dir.path().join("target.yaml");
    let body = |tls: &str| {
        format!(
            "token_url: {token_url}\nclient_id: {CLIENT}\nprivate_key: private.pem\n\
             certificate: cert.pem\n{tls}apis:\n  - {{ name: api, method: GET, url: {api_url} }}\n"
        )
    };
    let profile = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/load/smoke.yaml");
    let report = dir.path().join("report");
    let load = |t: &std::path::Path, report: &std::path::Path| {
        run(&[
            "load",
            profile,
            "--target",
            t.to_str().expect("utf-8"),
            "--duration",
            "1s",
            "--threads",
            "1",
            "--quiet",
            "--report-dir",
            report.to_str().expect("utf-8"),
        ])
    };

    std::fs::write(&target, body("tls: { ca_bundle: sandbox-ca.pem }\n")).expect("target");
    let out = load(&target, &report);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report.join("summary.json")).expect("summary"))
            .expect("json");
    let text = s.to_string();
    assert!(!text.contains("transport"), "TLS errors in {text}");

    // Without the CA the sandbox's certificate is not trusted: the run does not pass.
    std::fs::write(&target, body("")).expect("target");
    let out = load(&target, &dir.path().join("report-no-ca"));
    assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));

    // Plain http to a host off this machine: refused up front, exit 2.
    std::fs::write(
        &target,
        format!(
            "token_url: http://gw.example.com/oauth/token\nclient_id: {CLIENT}\n\
             private_key: {key}\napis:\n  - {{ name: api, method: GET, url: http://gw.example.com/api }}\n"
        ),
    )
    .expect("target");
    let started = std::time::Instant::now();
    let out = load(&target, &dir.path().join("report-http"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-http"), "{}", stderr(&out));
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// Runs the openssl CLI in `dir`, panicking with its stderr on failure.
fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `openssl req -x509`: a self-signed certificate that is a CA (basicConstraints CA:TRUE),
/// as test gateways use; `name.pem` and `name.key` in `dir`.
fn openssl_self_signed(dir: &std::path::Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
}

/// A leaf certificate `name.pem`/`name.key` issued by `ca.pem`/`ca.key` in `dir`.
fn openssl_leaf(dir: &std::path::Path, name: &str, ext: &str) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    std::fs::write(dir.join(format!("{name}.ext")), ext).expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
        ],
    );
}

fn write_target(dir: &std::path::Path, token_url: &str, api_url: &str, tls: &str) -> String {
    let target = dir.join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "token_url: {token_url}\nclient_id: {CLIENT}\nprivate_key: private.pem\n\
             certificate: cert.pem\ntls: {tls}\napis:\n  - {{ name: api, method: GET, url: {api_url} }}\n"
        ),
    )
    .expect("write target");
    target.to_str().expect("utf-8").to_owned()
}

fn load_1s(target: &str, report: &std::path::Path) -> Output {
    let profile = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/load/smoke.yaml");
    run(&[
        "load",
        profile,
        "--target",
        target,
        "--duration",
        "1s",
        "--threads",
        "1",
        "--quiet",
        "--report-dir",
        report.to_str().expect("utf-8"),
    ])
}

// A gateway whose certificate came from `openssl req -x509` (a CA certificate used as the
// server's own): refused even with it as the CA bundle, with the cause and the pin to use;
// `tls.pin_sha256` reaches it for token, call and load; a wrong pin is refused, a malformed
// one is bad input (exit 2). `--insecure` reaches it with a warning; conform refuses to give
// verdicts with it unless --insecure-verdicts.
#[test]
fn pin_sha256_trusts_an_openssl_self_signed_gateway() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (_key, cert) = keygen(d);
    openssl_self_signed(d, "gw");
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        d.join("gw.pem").to_str().expect("utf-8"),
        "--tls-key",
        d.join("gw.key").to_str().expect("utf-8"),
        "--client",
        &format!("{CLIENT}={cert}"),
    ]);
    let token_url = server.info["token_url"].as_str().expect("token_url");
    let api_url = server.info["api_url"].as_str().expect("api_url");
    let fingerprint = openssl(
        d,
        &["x509", "-in", "gw.pem", "-noout", "-fingerprint", "-sha256"],
    );
    let pin = fingerprint
        .trim()
        .rsplit('=')
        .next()
        .expect("fingerprint")
        .to_owned();
    let hex = pin.replace(':', "").to_lowercase();

    // As a CA bundle: CA used as end entity, explained, with the pin to use.
    let t = write_target(d, token_url, api_url, "{ ca_bundle: gw.pem }");
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("CA certificate as its own"), "{err}");
    assert!(err.contains(&format!("tls.pin_sha256: {hex}")), "{err}");

    // Pinned (as openssl prints it, with colons): token, call and load go through.
    let t = write_target(
        d,
        token_url,
        api_url,
        &format!("{{ pin_sha256: \"{pin}\" }}"),
    );
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["call", "--target", &t, "GET", api_url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = d.join("report");
    let out = load_1s(&t, &report);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let s = std::fs::read_to_string(report.join("summary.json")).expect("summary");
    assert!(!s.contains("\"tls\""), "TLS failures in {s}");

    // Another certificate's pin: refused, naming the pin.
    let t = write_target(
        d,
        token_url,
        api_url,
        &format!("{{ pin_sha256: {} }}", "00".repeat(32)),
    );
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not the one tls.pin_sha256 names"),
        "{}",
        stderr(&out)
    );

    // Not 64 hex digits: bad input, nothing runs.
    let t = write_target(d, token_url, api_url, "{ pin_sha256: abc123 }");
    for args in [
        vec!["token", "--target", &t],
        vec!["conform", "--target", &t, "--no-report"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains("tls.pin_sha256"), "{}", stderr(&out));
    }
    let out = load_1s(&t, &d.join("report-bad-pin"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // --insecure: reached, with the warning; conform refuses verdicts without insisting.
    let t = write_target(d, token_url, api_url, "{}");
    let out = run(&["token", "--target", &t, "--insecure"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("NOT verified"), "{}", stderr(&out));
    let out = run(&["conform", "--target", &t, "--insecure", "--no-report"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--insecure-verdicts"),
        "{}",
        stderr(&out)
    );

    // Without anything: unknown CA, explained, with the pin.
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("tls.ca_bundle") || err.contains("CA certificate"),
        "{err}"
    );
}

// mTLS end to end: a CA-issued server certificate (hostname verified) and a client
// certificate required by the sandbox. Token, call and load pass with the identity; without
// it the token request fails naming the client certificate; an unreadable CA bundle and a
// key that does not match client_cert are bad input (exit 2) naming the file.
#[test]
fn mtls_token_call_and_load_over_the_sandbox() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let (_key, cert) = keygen(d);
    openssl_self_signed(d, "ca");
    openssl_leaf(
        d,
        "server",
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    openssl_leaf(
        d,
        "client",
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    );
    let p = |n: &str| d.join(n).to_str().expect("utf-8").to_owned();
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        &p("server.pem"),
        "--tls-key",
        &p("server.key"),
        "--client-ca",
        &p("ca.pem"),
        "--client",
        &format!("{CLIENT}={cert}"),
    ]);
    let token_url = server.info["token_url"].as_str().expect("token_url");
    let api_url = server.info["api_url"].as_str().expect("api_url");

    let t = write_target(
        d,
        token_url,
        api_url,
        "{ ca_bundle: ca.pem, client_cert: client.pem, client_key: client.key }",
    );
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = run(&["call", "--target", &t, "GET", api_url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let report = d.join("report");
    let out = load_1s(&t, &report);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // No client certificate: refused by the gateway, explained.
    let t = write_target(d, token_url, api_url, "{ ca_bundle: ca.pem }");
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("client certificate"),
        "{}",
        stderr(&out)
    );

    // Bad input, nothing runs: an unreadable CA bundle, a key that is not client_cert's.
    let t = write_target(d, token_url, api_url, "{ ca_bundle: missing-ca.pem }");
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing-ca.pem"), "{}", stderr(&out));
    let out = load_1s(&t, &d.join("report-missing-ca"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let t = write_target(
        d,
        token_url,
        api_url,
        "{ ca_bundle: ca.pem, client_cert: client.pem, client_key: server.key }",
    );
    let out = run(&["token", "--target", &t]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("client.pem") && stderr(&out).contains("server.key"),
        "{}",
        stderr(&out)
    );
}
