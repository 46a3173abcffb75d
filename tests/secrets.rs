//! Secrets never leak (issue 9): every partner command runs with a known private key and a
//! known access token, with `RUST_LOG=trace`, and neither the key's PEM body, nor the token,
//! nor any assertion the gateway received appears in stdout (except `bearing sign`'s, which
//! *is* the assertion), stderr, or a file under `--report-dir`. `--show-token` is the only
//! way to print a token. Key files are created 0600; a key readable by others draws a
//! warning. A generic scan also refuses any complete compact JWT in logs.
//!
//! The gateway is a small recording server of this file on 127.0.0.1:0 that issues one known
//! token, and — for `bearing serve` itself — the real sandbox as a child process.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use common::{CLIENT, Server};

/// The access token the recording gateway issues.
const TOKEN: &str = "KnownAccessToken0123456789abcdefghijKLMNOPqrst";

/// `bearing` with a clean environment, logging everything it can.
fn bearing() -> Command {
    let mut c = common::bearing();
    c.env("RUST_LOG", "trace");
    c
}

fn run(args: &[&str]) -> Output {
    bearing().args(args).output().expect("run bearing")
}

/// A recording gateway: `POST /oauth/token` keeps each assertion and issues [`TOKEN`];
/// `/api` answers 401 to the first call (so the retry path logs too), then 200 to the token.
struct Recorder {
    base: String,
    assertions: Arc<Mutex<Vec<String>>>,
    _rt: tokio::runtime::Runtime,
}

fn recorder() -> Recorder {
    use axum::routing::{any, post};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let assertions = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&assertions);
    let api_calls = Arc::new(Mutex::new(0u32));
    let app = axum::Router::new()
        .route(
            "/oauth/token",
            post(
                move |axum::extract::Form(f): axum::extract::Form<HashMap<String, String>>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        if let Some(a) = f.get("assertion") {
                            seen.lock().expect("lock").push(a.clone());
                        }
                        (
                            [("content-type", "application/json"), ("cache-control", "no-store")],
                            format!(
                                r#"{{"access_token":"{TOKEN}","token_type":"Bearer","expires_in":180}}"#
                            ),
                        )
                    }
                },
            ),
        )
        .route(
            "/api",
            any(move |headers: axum::http::HeaderMap| {
                let calls = Arc::clone(&api_calls);
                async move {
                    let n = {
                        let mut c = calls.lock().expect("lock");
                        *c += 1;
                        *c
                    };
                    let ok = headers
                        .get("authorization")
                        .is_some_and(|v| v.as_bytes() == format!("Bearer {TOKEN}").as_bytes());
                    if ok && n > 1 {
                        (axum::http::StatusCode::OK, "<ok/>")
                    } else {
                        (axum::http::StatusCode::UNAUTHORIZED, "{}")
                    }
                }
            }),
        );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Recorder {
        base: format!("http://{addr}"),
        assertions,
        _rt: rt,
    }
}

/// The secrets a run must not show, and a name for each in failure messages.
struct Secrets {
    items: Vec<(String, String)>,
}

impl Secrets {
    fn new(key_pem: &str) -> Self {
        let mut items = Vec::new();
        // Every full line of the PEM body, and the body joined: any of them is a leak.
        let body: Vec<&str> = key_pem
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() >= 40)
            .collect();
        for (i, l) in body.iter().enumerate() {
            items.push((format!("private key line {}", i + 1), (*l).to_owned()));
        }
        items.push(("private key body".into(), body.concat()));
        items.push(("access token".into(), TOKEN.to_owned()));
        Self { items }
    }

    fn with(&self, name: &str, value: &str) -> Self {
        let mut items = self.items.clone();
        items.push((name.to_owned(), value.to_owned()));
        Self { items }
    }

    fn with_all(&self, name: &str, values: &[String]) -> Self {
        let mut s = Self {
            items: self.items.clone(),
        };
        // Conformance cases send deliberately broken values (empty, `a.b`): too short to be
        // a credential, and found in any text.
        for v in values.iter().filter(|v| v.len() >= 20) {
            s.items.push((name.to_owned(), v.clone()));
        }
        s
    }

    /// Panics when `text` (named `what`) holds a secret or any full compact JWT.
    fn assert_absent(&self, what: &str, text: &str) {
        for (name, value) in &self.items {
            assert!(
                !text.contains(value.as_str()),
                "{what} leaks the {name}:\n{}",
                excerpt_around(text, value)
            );
        }
        if let Some(jwt) = find_jwt(text) {
            panic!(
                "{what} holds a complete JWT: {}…",
                &jwt[..jwt.len().min(40)]
            );
        }
    }

    fn assert_output(&self, what: &str, out: &Output, check_stdout: bool) {
        if check_stdout {
            self.assert_absent(
                &format!("{what} stdout"),
                &String::from_utf8_lossy(&out.stdout),
            );
        }
        self.assert_absent(
            &format!("{what} stderr"),
            &String::from_utf8_lossy(&out.stderr),
        );
    }

    /// Every file under `dir`, recursively.
    fn assert_dir(&self, what: &str, dir: &Path) {
        for entry in walk(dir) {
            let bytes = std::fs::read(&entry).expect("read report file");
            self.assert_absent(
                &format!("{what} report file {}", entry.display()),
                &String::from_utf8_lossy(&bytes),
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn excerpt_around(text: &str, needle: &str) -> String {
    let i = text.find(needle).unwrap_or(0);
    let start = text[..i].char_indices().rev().nth(80).map_or(0, |(p, _)| p);
    text[start..i].to_owned() + "<SECRET>"
}

/// The first run of base64url-and-dots text that is a complete compact JWS: three
/// non-empty segments, the first two starting with `eyJ` (a JSON object).
fn find_jwt(text: &str) -> Option<&str> {
    let is_tok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.';
    let mut rest = text;
    while let Some(i) = rest.find("eyJ") {
        let tail = &rest[i..];
        let end = tail.find(|c: char| !is_tok(c)).unwrap_or(tail.len());
        let cand = &tail[..end];
        let segs: Vec<&str> = cand.split('.').collect();
        if segs.len() == 3 && segs.iter().all(|s| s.len() >= 8) && segs[1].starts_with("eyJ") {
            return Some(cand);
        }
        rest = &tail[3..];
    }
    None
}

fn success(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `keygen` into a fresh folder: (folder, key path, cert path, key PEM).
fn keygen() -> (tempfile::TempDir, String, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().to_str().expect("utf-8").to_owned();
    let out = run(&["keygen", "--client-id", CLIENT, "--out", &d]);
    success("keygen", &out);
    let key = format!("{d}/private.pem");
    let pem = std::fs::read_to_string(&key).expect("key file");
    Secrets::new(&pem).assert_output("keygen", &out, true);
    (dir, key, format!("{d}/cert.pem"), pem)
}

// keygen writes the key 0600 and never prints it; a key readable by others draws a warning
// (and one that is not draws none).
#[cfg(unix)]
#[test]
fn key_files_are_private_and_loose_ones_are_flagged() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, key, _cert, _pem) = keygen();
    let mode = std::fs::metadata(&key).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "private key mode {mode:o}");
    let sign = |key: &str| {
        let out = bearing()
            .env("RUST_LOG", "warn")
            .args([
                "sign",
                "--key",
                key,
                "--client-id",
                CLIENT,
                "--aud",
                "http://127.0.0.1:1/t",
            ])
            .output()
            .expect("sign");
        success("sign", &out);
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(!sign(&key).contains("readable by group or others"));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let warned = sign(&key);
    assert!(warned.contains("readable by group or others"), "{warned}");
    assert!(warned.contains("644"), "{warned}");
}

// sign prints the assertion on stdout (by design) and nothing secret on stderr; decode
// shows header and claims, never the assertion whole.
#[test]
fn sign_and_decode_keep_secrets() {
    let (_dir, key, cert, pem) = keygen();
    let secrets = Secrets::new(&pem);
    let out = run(&[
        "sign",
        "--key",
        &key,
        "--client-id",
        CLIENT,
        "--aud",
        "http://127.0.0.1:1/oauth/token",
    ]);
    success("sign", &out);
    let assertion = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        find_jwt(&assertion).is_some(),
        "sign printed no JWT: {assertion}"
    );
    secrets.assert_output("sign", &out, false);
    let secrets = secrets.with("assertion", &assertion);
    for format in ["text", "json"] {
        let out = run(&["decode", &assertion, "--cert", &cert, "--output", format]);
        success("decode", &out);
        secrets.assert_output(&format!("decode --output {format}"), &out, true);
        // The signature alone is part of the credential too.
        let sig = assertion.rsplit('.').next().expect("signature");
        assert!(!String::from_utf8_lossy(&out.stdout).contains(sig));
    }
}

// token and call against the recording gateway, text and JSON output, trace logs: no key,
// no token, no assertion — unless --show-token, which prints the token and nothing more.
#[test]
fn token_and_call_keep_secrets() {
    let (_dir, key, cert, pem) = keygen();
    let gw = recorder();
    let token_url = format!("{}/oauth/token", gw.base);
    let api = format!("{}/api", gw.base);
    let ident = [
        "--token-url",
        &token_url,
        "--client-id",
        CLIENT,
        "--key",
        &key,
        "--cert",
        &cert,
    ];
    let mut outputs = Vec::new();
    for format in ["text", "json"] {
        let out = bearing()
            .arg("token")
            .args(ident)
            .args(["--output", format])
            .output()
            .expect("token");
        success("token", &out);
        outputs.push((format!("token --output {format}"), out));
        for extra in [&["-i"][..], &[][..]] {
            let out = bearing()
                .arg("call")
                .args(ident)
                .args(["--output", format])
                .args(extra)
                .args(["POST", &api, "-d", "<x/>"])
                .output()
                .expect("call");
            success("call", &out);
            outputs.push((format!("call --output {format} {extra:?}"), out));
        }
    }
    let assertions = gw.assertions.lock().expect("lock").clone();
    // token ×2 and call ×4, each call fetching twice (the first API answer is a 401).
    assert!(
        assertions.len() >= 6,
        "{} assertions seen",
        assertions.len()
    );
    let secrets = Secrets::new(&pem).with_all("assertion", &assertions);
    for (what, out) in &outputs {
        secrets.assert_output(what, out, true);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("TRACE") || err.contains("DEBUG"),
            "{what}: trace logging is off"
        );
    }

    // --show-token is the one way to see the token, in text and JSON.
    for format in ["text", "json"] {
        let out = bearing()
            .arg("token")
            .args(ident)
            .args(["--show-token", "--output", format])
            .output()
            .expect("token");
        success("token --show-token", &out);
        assert!(String::from_utf8_lossy(&out.stdout).contains(TOKEN));
        let latest = gw.assertions.lock().expect("lock").clone();
        Secrets::new(&pem)
            .with_all("assertion", &latest)
            .assert_absent(
                "token --show-token stderr",
                &String::from_utf8_lossy(&out.stderr),
            );
    }
}

// bearing serve with trace logging: the assertions it verifies and the tokens it issues
// never reach its stdout or stderr.
#[test]
fn serve_keeps_secrets() {
    let (_dir, key, cert, pem) = keygen();
    let mut server = Server::start_logged(bearing().args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--client",
        &format!("{CLIENT}={cert}"),
    ]));
    let (token_url, api_url) = (server.token_url.clone(), server.api_url.clone());

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut assertions = Vec::new();
    let mut tokens = Vec::new();
    for _ in 0..3 {
        let out = run(&[
            "sign",
            "--key",
            &key,
            "--client-id",
            CLIENT,
            "--aud",
            &token_url,
        ]);
        success("sign", &out);
        let a = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let (status, token) =
            rt.block_on(async {
                let http = reqwest::Client::new();
                let r = http
                .post(&token_url)
                .header("content-type", "application/x-www-form-urlencoded; charset=UTF-8")
                .body(format!(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={a}"
                ))
                .send()
                .await
                .expect("token request");
                let status = r.status().as_u16();
                let v: serde_json::Value = r.json().await.expect("json");
                let token = v["access_token"].as_str().unwrap_or_default().to_owned();
                let api = http
                    .get(&api_url)
                    .bearer_auth(&token)
                    .send()
                    .await
                    .expect("api");
                assert_eq!(api.status().as_u16(), 200);
                // Replay the assertion: refused, and the refusal must not echo it either.
                let replay = http
                .post(&token_url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={a}"
                ))
                .send()
                .await
                .expect("replay");
                assert_eq!(replay.status().as_u16(), 400);
                (status, token)
            });
        assert_eq!(status, 200);
        assertions.push(a);
        tokens.push(token);
    }
    // A call through bearing itself, against the child.
    let out = run(&[
        "call",
        "--token-url",
        &token_url,
        "--client-id",
        CLIENT,
        "--key",
        &key,
        "--cert",
        &cert,
        "GET",
        &api_url,
    ]);
    success("call against serve", &out);
    server.kill();
    let printed = server.banner.clone();
    let rest = server.rest();
    let logs = server.logs();
    assert!(
        logs.contains("TRACE") || logs.contains("DEBUG"),
        "serve logged nothing at trace"
    );
    let secrets = Secrets::new(&pem)
        .with_all("assertion", &assertions)
        .with_all("access token", &tokens);
    secrets.assert_absent("serve stdout", &(printed + &rest));
    secrets.assert_absent("serve stderr", &logs);
    secrets.assert_output("call against serve", &out, true);
}

// The commands that write reports (conform, load, certify), when this build has them:
// run briefly against the recording gateway with --report-dir, and scan every output and
// every report file.
#[test]
fn report_commands_keep_secrets() {
    let help = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    let has = |cmd: &str| {
        help.lines()
            .any(|l| l.trim_start().starts_with(&format!("{cmd} ")))
    };
    let (_dir, key, cert, pem) = keygen();
    let gw = recorder();
    let token_url = format!("{}/oauth/token", gw.base);
    let reports = tempfile::tempdir().expect("tmp");
    let ident = [
        "--token-url",
        &token_url,
        "--client-id",
        CLIENT,
        "--key",
        &key,
        "--cert",
        &cert,
    ];
    // Both commands are part of every build: a help text that lost one must fail here, not
    // make this test check nothing.
    assert!(
        has("conform") && has("load"),
        "`bearing --help` lists no conform or no load:\n{help}"
    );
    let mut ran = Vec::new();
    if has("conform") {
        let dir = reports.path().join("conform");
        let d = dir.to_str().expect("utf-8");
        let out = bearing()
            .arg("conform")
            .args(ident)
            .args(["--report-dir", d])
            .output()
            .expect("conform");
        ran.push(("conform", out, dir));
    }
    if has("load") {
        let dir = reports.path().join("load");
        let d = dir.to_str().expect("utf-8");
        let smoke = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load/smoke.yaml");
        // API scenarios need the target's API list: a target file naming the recorder's.
        let target = reports.path().join("target.yaml");
        std::fs::write(
            &target,
            format!(
                "token_url: {token_url}\nclient_id: {CLIENT}\nprivate_key: {key}\ncertificate: {cert}\napis:\n  - {{ name: inventory, method: GET, url: {}/api }}\n",
                gw.base
            ),
        )
        .expect("target file");
        let out = bearing()
            .arg("load")
            .arg(&smoke)
            .arg("--target")
            .arg(&target)
            .args(["--report-dir", d])
            .output()
            .expect("load");
        ran.push(("load", out, dir));
    }
    let assertions = gw.assertions.lock().expect("lock").clone();
    let secrets = Secrets::new(&pem).with_all("assertion", &assertions);
    for (what, out, dir) in &ran {
        // It ran (pass or fail, not bad input) and wrote a report to scan.
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{what} did not run ({:?}): {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !walk(dir).is_empty(),
            "{what} wrote no report under {}",
            dir.display()
        );
        secrets.assert_output(what, out, true);
        secrets.assert_dir(what, dir);
    }
    let names: Vec<&str> = ran.iter().map(|r| r.0).collect();
    assert_eq!(names, ["conform", "load"], "report commands checked");
    assert!(
        !assertions.is_empty(),
        "the recording gateway saw no assertion: the commands did not run against it"
    );
}

/// Whether `text` holds a run of decimal bytes such as `[80, 82, 73, 86, …]`: how the PEM
/// parser's error quotes what it choked on (for a one-line key, the whole key).
fn has_byte_dump(text: &str) -> bool {
    let mut run = 0;
    for tok in text.split([',', '[', ']']) {
        if tok.trim().parse::<u8>().is_ok() {
            run += 1;
            if run >= 16 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

// Key material given the wrong way (a PEM key with its line breaks stripped, as a file or in
// BEARING_PRIVATE_KEY; the bare Base64 body in BEARING_PRIVATE_KEY, damaged) is refused
// with a reason, never echoed: no key line, no key body, no byte dump.
#[test]
fn malformed_key_text_is_never_echoed() {
    let (dir, _key, _cert, pem) = keygen();
    let one_line: String = pem.lines().collect();
    let one_line_file = dir.path().join("one-line.pem");
    std::fs::write(&one_line_file, &one_line).expect("write");
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let secrets = Secrets::new(&pem).with("one-line key", &one_line);
    let sign = [
        "sign",
        "--client-id",
        CLIENT,
        "--aud",
        "https://gw.example/t",
    ];
    let cases: Vec<(&str, Output)> = vec![
        (
            "one-line key file",
            bearing()
                .args(sign)
                .arg("--key")
                .arg(&one_line_file)
                .output()
                .expect("run"),
        ),
        (
            "one-line key in BEARING_PRIVATE_KEY",
            bearing()
                .args(sign)
                .env("BEARING_PRIVATE_KEY", &one_line)
                .output()
                .expect("run"),
        ),
        (
            "damaged Base64 body in BEARING_PRIVATE_KEY",
            bearing()
                .args(sign)
                .env("BEARING_PRIVATE_KEY", format!("{body}#"))
                .output()
                .expect("run"),
        ),
        (
            "truncated Base64 body in BEARING_PRIVATE_KEY",
            bearing()
                .args(sign)
                .env("BEARING_PRIVATE_KEY", &body[..body.len() - 7])
                .output()
                .expect("run"),
        ),
    ];
    for (what, out) in &cases {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains("invalid private key"), "{what}: {err}");
        assert!(!has_byte_dump(&err), "{what} dumps bytes: {err}");
        assert!(err.len() < 2000, "{what}: {} bytes of stderr", err.len());
        secrets.assert_output(what, out, true);
        // Any 24 characters of the body are enough to recognise an echo.
        for chunk in body.as_bytes().chunks(24).filter(|c| c.len() == 24) {
            let chunk = std::str::from_utf8(chunk).expect("ascii");
            assert!(!err.contains(chunk), "{what} echoes key text: {err}");
        }
    }
    // The intact Base64 body is key material, not a file name: it signs.
    let out = bearing()
        .args(sign)
        .env("BEARING_PRIVATE_KEY", &body)
        .output()
        .expect("run");
    success("Base64 body in BEARING_PRIVATE_KEY", &out);
    secrets.assert_output("Base64 body in BEARING_PRIVATE_KEY", &out, false);
}

// A URL with a password is refused (exit 2) wherever it comes from (flag, environment,
// target file, `call`'s URL), printed masked, and nothing is sent.
#[test]
fn url_credentials_are_refused_and_masked() {
    const PASSWORD: &str = "Pa55w0rdX";
    let (dir, key, _cert, _pem) = keygen();
    let gw = recorder();
    let host = gw.base.trim_start_matches("http://").to_owned();
    let with_creds = format!("http://alice:{PASSWORD}@{host}/oauth/token");
    let target = dir.path().join("target.yaml");
    std::fs::write(
        &target,
        format!(
            "token_url: {with_creds}
client_id: {CLIENT}
private_key: {key}
"
        ),
    )
    .expect("target");
    let ident = ["--client-id", CLIENT, "--key", &key];
    let cases: Vec<(&str, &str, Output)> = vec![
        (
            "--token-url",
            "--token-url",
            bearing()
                .args(["token", "--token-url", &with_creds])
                .args(ident)
                .output()
                .expect("run"),
        ),
        (
            "BEARING_TOKEN_URL",
            "BEARING_TOKEN_URL",
            bearing()
                .arg("token")
                .args(ident)
                .env("BEARING_TOKEN_URL", &with_creds)
                .output()
                .expect("run"),
        ),
        (
            "target file",
            "token_url",
            bearing()
                .arg("token")
                .arg("--target")
                .arg(&target)
                .output()
                .expect("run"),
        ),
        (
            "load with a target file",
            "token_url",
            bearing()
                .args(["load", "smoke", "--target"])
                .arg(&target)
                .arg("--report-dir")
                .arg(dir.path().join("r"))
                .output()
                .expect("run"),
        ),
        (
            "call URL",
            "URL",
            bearing()
                .args(["call", "GET", &format!("http://bob:{PASSWORD}@{host}/api")])
                .output()
                .expect("run"),
        ),
    ];
    for (what, culprit, out) in &cases {
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(2), "{what}: {text}");
        assert!(
            !text.contains(PASSWORD),
            "{what} prints the password: {text}"
        );
        assert!(text.contains(":***@"), "{what}: no masked URL: {text}");
        assert!(
            text.contains(culprit),
            "{what}: does not name {culprit}: {text}"
        );
    }
    assert!(!dir.path().join("r").exists(), "load wrote a report");
    assert!(
        gw.assertions.lock().expect("lock").is_empty(),
        "an assertion was sent to a URL with credentials"
    );
}

// `serve --admin-secret S` never prints S (a generated secret is printed: it is news).
#[test]
fn serve_does_not_echo_a_supplied_admin_secret() {
    const SECRET: &str = "MyOwnAdminSecret42";
    let mut server = Server::start_logged(bearing().args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--admin-secret",
        SECRET,
    ]));
    server.kill();
    let printed = server.banner.clone();
    let logs = server.logs();
    assert!(printed.contains("admin API:"), "no banner: {printed}");
    assert!(
        !printed.contains(SECRET),
        "banner echoes the secret:\n{printed}"
    );
    assert!(!logs.contains(SECRET), "logs echo the secret:\n{logs}");
}

// The scanner itself: finds a JWT in a log line, ignores a redacted one.
#[test]
fn jwt_scanner() {
    let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJhIn0.c2lnbmF0dXJlLWJ5dGVz";
    assert_eq!(
        find_jwt(&format!("token request assertion={jwt} ok")),
        Some(jwt)
    );
    assert_eq!(find_jwt("assertion eyJhbGci… (redacted)"), None);
    assert_eq!(find_jwt("header eyJhbGciOiJSUzI1NiJ9 only"), None);
}
