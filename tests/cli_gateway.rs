//! End-to-end tests of `bearing serve`, `bearing token` and `bearing call`: a sandbox
//! gateway started as a separate process, reached only over HTTP, plus the embedded
//! sandbox every command uses when given no target.

mod common;

use common::{run, serve};

// A partner registers its keygen certificate with `bearing serve`, gets a token and calls
// the API with `bearing token` / `bearing call`, all over real HTTP.
#[test]
fn serve_token_call_round_trip() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().expect("utf-8");
    let out = run(&["keygen", "--client-id", "SampleConfId", "--out", d]);
    assert!(out.status.success());
    let cert = format!("{d}/cert.pem");
    let key = format!("{d}/private.pem");
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--client",
        &format!("SampleConfId={cert}"),
    ]);

    let out = run(&[
        "token",
        "--token-url",
        &server.token_url,
        "--client-id",
        "SampleConfId",
        "--key",
        &key,
        "--cert",
        &cert,
        "--output",
        "json",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["status"], 200);
    let shown = v["access_token"].as_str().expect("token");
    assert!(shown.ends_with('…'), "token must be redacted: {shown}");
    assert_eq!(v["expires_in"], 180);

    let body = dir.path().join("body.xml");
    std::fs::write(&body, "<x/>").expect("write");
    let out = run(&[
        "call",
        "--token-url",
        &server.token_url,
        "--client-id",
        "SampleConfId",
        "--key",
        &key,
        "POST",
        &server.api_url,
        "-d",
        &format!("@{}", body.display()),
        "-H",
        "Content-Type: application/soap+xml;charset=UTF-8; action=\"store\"",
        "-i",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP 200"), "{text}");

    // An unregistered identity is refused by the gateway: the command cannot run (3), and
    // the gateway's error code is reported.
    let other = tempfile::tempdir().expect("tmp");
    let o = other.path().to_str().expect("utf-8");
    assert!(
        run(&["keygen", "--client-id", "Other", "--out", o])
            .status
            .success()
    );
    let out = run(&[
        "token",
        "--token-url",
        &server.token_url,
        "--client-id",
        "Other",
        "--key",
        &format!("{o}/private.pem"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("invalid_grant") || err.contains("invalid_client"),
        "{err}"
    );
}

// With no target, token and call run against the embedded sandbox.
#[test]
fn embedded_sandbox_token_and_call() {
    let out = run(&["token"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("status:       200"), "{text}");
    let out = run(&["call", "-i"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.starts_with("HTTP 200"), "{text}");
}

// `bearing serve` refuses a malformed --client flag with exit 2 before binding.
#[test]
fn serve_bad_client_flag() {
    let out = run(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--client",
        "no-equals-sign",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ID=cert.pem"));
}
