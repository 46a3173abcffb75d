//! The harness every root integration test shares (issue 13): the `bearing` binary with a
//! clean environment, a `bearing serve` / `bearing certify` child whose banner is read as the
//! readiness poll (bounded in time), `bearing keygen`, scratch files, JSON files checked
//! against the schemas in `schemas/`, and a visible skip.
//!
//! Each test binary includes it with `mod common;` and uses the part it needs; cargo does
//! not build `tests/common/` as a test binary of its own. A module rather than a dev-only
//! crate: only the root package's tests see `CARGO_BIN_EXE_bearing`, and a crate would need
//! the binary's path handed in at every call.

#![allow(
    dead_code,
    reason = "one module for every test binary: each uses only its own part of it"
)]

pub mod hlog;
pub mod netns;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The client id most tests register and sign as.
pub const CLIENT: &str = "SampleConfId";

/// How long a server may take to print its banner before the test fails: generous, the
/// 2 cores are shared by every test binary of the suite.
pub const READY_WITHIN: Duration = Duration::from_secs(60);

/// The repository root (the root package's manifest folder).
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Removes what the caller's shell could add to a run: every `BEARING_*` variable (a target,
/// a key, a client id), `RUST_LOG` (log lines on stderr), and turns colour off.
pub fn clean_env(c: &mut Command) -> &mut Command {
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k.starts_with("BEARING_")) {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG").env("NO_COLOR", "1")
}

/// The `bearing` binary under test, with a clean environment ([`clean_env`]).
pub fn bearing() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bearing"));
    clean_env(&mut c);
    c
}

/// Runs `bearing <args…>` to the end.
pub fn run(args: &[&str]) -> Output {
    bearing().args(args).output().expect("run bearing")
}

/// Runs `bearing <args…>` in `dir` to the end.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    bearing()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run bearing")
}

/// Exit code, stdout and stderr of a run, for failure messages.
pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Panics, showing the whole run, unless it exited `code` and its stdout holds `phrase`.
pub fn assert_stdout_has(o: &Output, code: i32, phrase: &str) {
    assert_run(o, code, "stdout", &o.stdout, phrase);
}

/// Panics, showing the whole run, unless it exited `code` and its stderr holds `phrase`.
pub fn assert_stderr_has(o: &Output, code: i32, phrase: &str) {
    assert_run(o, code, "stderr", &o.stderr, phrase);
}

fn assert_run(o: &Output, code: i32, stream: &str, bytes: &[u8], phrase: &str) {
    assert_eq!(o.status.code(), Some(code), "{}", text(o));
    assert!(
        lossy(bytes).contains(phrase),
        "{stream} lacks {phrase:?}:\n{}",
        text(o)
    );
}

/// Bytes as text, invalid UTF-8 replaced.
pub fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A run's stderr as text.
pub fn stderr(o: &Output) -> String {
    lossy(&o.stderr)
}

/// A path as a command-line argument (the temp folders are UTF-8).
pub fn utf8(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Writes `body` to `dir/name`; returns the path as an argument.
pub fn write_file(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    p.display().to_string()
}

/// A JSON file, parsed.
pub fn json_file(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `bearing keygen --client-id <id> --out <dir>`, which must succeed: (private key path,
/// certificate path).
pub fn keygen(dir: &Path, id: &str) -> (String, String) {
    let d = utf8(dir);
    let out = run(&["keygen", "--client-id", id, "--out", d]);
    assert!(out.status.success(), "keygen: {}", stderr(&out));
    (format!("{d}/private.pem"), format!("{d}/cert.pem"))
}

/// The validator of `schemas/<name>`.
pub fn validator(name: &str) -> jsonschema::Validator {
    let schema = json_file(&root().join("schemas").join(name));
    jsonschema::validator_for(&schema).expect("schema compiles")
}

/// Panics, listing every error, unless `doc` is valid against `schemas/<name>`.
pub fn assert_schema(name: &str, doc: &Value) {
    let errors: Vec<String> = validator(name)
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "the document does not match {name}: {errors:#?}\n{doc:#}"
    );
}

/// `dir/summary.json` of a load run, checked against its schema.
pub fn load_summary(dir: &Path) -> Value {
    let doc = json_file(&dir.join("summary.json"));
    assert_schema("load-summary.schema.json", &doc);
    doc
}

/// Says on stderr, past the test harness's capture, that `test` did not run and why, so the
/// skip shows in every `cargo test` run instead of passing silently.
pub fn skip(test: &str, reason: &str) {
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// A long-running `bearing serve` or `bearing certify` child, killed on drop, with what its
/// banner printed. The banner is read as the readiness poll: the child prints it once it
/// listens. Text banners end with `press ctrl-c…`; with `--output json` the banner is one
/// JSON document (kept in `info`).
pub struct Server {
    child: Child,
    /// Every stdout line the reader thread has read and the test not yet taken.
    lines: Receiver<String>,
    /// The child's stderr, read to the end, when started with [`Server::start_logged`].
    logs: Option<JoinHandle<String>>,
    /// What the child printed up to and including the end of its banner.
    pub banner: String,
    /// The banner as JSON (`--output json`), else `Value::Null`.
    pub info: Value,
    pub token_url: String,
    pub api_url: String,
    pub admin_url: String,
    pub admin_secret: String,
    /// The self-signed TLS certificate it printed, if any.
    pub ca_pem: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `bearing serve <args…>` (pass `--listen 127.0.0.1:0` or a config naming it), once ready.
pub fn serve(args: &[&str]) -> Server {
    Server::start(bearing().arg("serve").args(args))
}

/// `bearing serve --profile apigee` with `Partner` registered by `cert`, on 127.0.0.1:0: a
/// gateway that rfc-strict judges failing one case.
pub fn serve_apigee(cert: &Path) -> Server {
    serve(&[
        "--listen",
        "127.0.0.1:0",
        "--profile",
        "apigee",
        "--client",
        &format!("Partner={}", cert.display()),
    ])
}

impl Server {
    /// Spawns `cmd` (stderr discarded) and waits for its banner.
    pub fn start(cmd: &mut Command) -> Self {
        Self::spawn(cmd.stderr(Stdio::null()), false)
    }

    /// Spawns `cmd` with its stderr kept (see [`Server::logs`]) and waits for its banner.
    pub fn start_logged(cmd: &mut Command) -> Self {
        Self::spawn(cmd.stderr(Stdio::piped()), true)
    }

    fn spawn(cmd: &mut Command, logged: bool) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn bearing");
        let stdout = child.stdout.take().expect("stdout");
        // A thread drains stdout to the end (so the child never writes into a closed pipe)
        // and hands each line over; the banner is read from it with a deadline.
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let logs = child.stderr.take().filter(|_| logged).map(|e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = BufReader::new(e).read_to_string(&mut s);
                s
            })
        });
        let mut s = Self {
            child,
            lines,
            logs,
            banner: String::new(),
            info: Value::Null,
            token_url: String::new(),
            api_url: String::new(),
            admin_url: String::new(),
            admin_secret: String::new(),
            ca_pem: String::new(),
        };
        s.read_banner();
        s
    }

    fn read_banner(&mut self) {
        let deadline = Instant::now() + READY_WITHIN;
        let (mut json, mut in_pem) = (false, false);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = match self.lines.recv_timeout(left) {
                Ok(line) => line,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "no banner within {READY_WITHIN:?}; printed so far:\n{}",
                    self.banner
                ),
                // It exited (or closed stdout) before its banner: checked below.
                Err(RecvTimeoutError::Disconnected) => break,
            };
            json |= self.banner.is_empty() && line.starts_with('{');
            self.banner.push_str(&line);
            self.banner.push('\n');
            if json {
                if line == "}" {
                    break;
                }
                continue;
            }
            if let Some(u) = line.strip_prefix("token endpoint:") {
                self.token_url = u.trim().to_owned();
            } else if let Some(u) = line.strip_prefix("inventory API:") {
                self.api_url = u.trim().to_owned();
            } else if let Some(rest) = line.strip_prefix("admin API:") {
                let (url, secret) = rest
                    .trim()
                    .split_once(" (X-Admin-Secret: ")
                    .expect("admin line");
                self.admin_url = url.to_owned();
                self.admin_secret = secret.trim_end_matches(')').to_owned();
            } else if line.starts_with("-----BEGIN CERTIFICATE") {
                in_pem = true;
            }
            if in_pem {
                self.ca_pem.push_str(&line);
                self.ca_pem.push('\n');
                in_pem = !line.starts_with("-----END CERTIFICATE");
            }
            if line.starts_with("press ctrl-c") {
                break;
            }
        }
        if json {
            self.info = serde_json::from_str(&self.banner).expect("the banner is JSON");
            let field = |k: &str| self.info[k].as_str().unwrap_or_default().to_owned();
            (self.token_url, self.api_url) = (field("token_url"), field("api_url"));
            (self.admin_url, self.admin_secret) = (field("admin_url"), field("admin_secret"));
            self.ca_pem = field("tls_certificate_pem");
        }
        assert!(
            self.token_url.starts_with("http"),
            "no token URL printed:\n{}",
            self.banner
        );
    }

    /// The child's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the child to exit by itself.
    pub fn wait(&mut self) -> ExitStatus {
        self.child.wait().expect("wait")
    }

    /// Sends it SIGTERM (as a service manager stops it), through `kill(1)`.
    pub fn terminate(&self) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.id().to_string()])
            .status()
            .expect("kill");
        assert!(killed.success(), "kill -TERM {}", self.id());
    }

    /// Kills the child (if still running) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whatever it printed to stdout after its banner. Call once it has exited
    /// ([`Server::wait`] or [`Server::kill`]): reads to the end of its output.
    pub fn rest(&mut self) -> String {
        self.lines.iter().fold(String::new(), |mut s, l| {
            s.push_str(&l);
            s.push('\n');
            s
        })
    }

    /// Its stderr to the end (empty unless [`Server::start_logged`]). Call once it has exited.
    pub fn logs(&mut self) -> String {
        self.logs
            .take()
            .map(|h| h.join().expect("stderr reader"))
            .unwrap_or_default()
    }
}
