//! End-to-end tests of `bearing serve`, `bearing token` and `bearing call`: a sandbox
//! gateway started as a separate process, reached only over HTTP, plus the embedded
//! sandbox every command uses when given no target.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};

fn bearing() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bearing"));
    for v in [
        "BEARING_TARGET",
        "BEARING_PRIVATE_KEY",
        "BEARING_CLIENT_ID",
        "BEARING_TOKEN_URL",
    ] {
        c.env_remove(v);
    }
    c
}

fn run(args: &[&str]) -> Output {
    bearing().args(args).output().expect("run bearing")
}

/// A `bearing serve` child process, killed on drop.
struct Server {
    child: Child,
    token_url: String,
    api_url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(args: &[&str]) -> Server {
    let mut child = bearing()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bearing serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut token_url = String::new();
    let mut api_url = String::new();
    // The server prints its URLs once it listens: reading them is the readiness poll.
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read line");
        if let Some(u) = line.strip_prefix("token endpoint:") {
            token_url = u.trim().to_owned();
        }
        if let Some(u) = line.strip_prefix("inventory API:") {
            api_url = u.trim().to_owned();
        }
        if line.starts_with("press ctrl-c") {
            break;
        }
    }
    assert!(
        token_url.starts_with("http://127.0.0.1:"),
        "no token URL printed"
    );
    Server {
        child,
        token_url,
        api_url,
    }
}

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
    let server = serve(&["--client", &format!("SampleConfId={cert}")]);

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
