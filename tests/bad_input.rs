//! Bad input exits 2 with a message that names the culprit once (issue 21, classes 4 and 5;
//! issue 13 part 3): one table, one row per input a hostile pass found handled badly. Each
//! row runs the real binary and checks the exit code, a phrase of the message, and that the
//! cause is not repeated (`… (os error 2): … (os error 2)`). No row reaches a network beyond
//! 127.0.0.1: the inputs are refused before anything is sent.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};

use common::bearing;

struct Case {
    /// What the row is about, for failure messages.
    what: &'static str,
    /// Arguments; `{dir}` is the row's scratch folder (keys, files).
    args: &'static [&'static str],
    /// Environment variables set for the run (`{dir}` expanded as in `args`).
    env: &'static [(&'static str, &'static str)],
    /// Bytes on stdin.
    stdin: &'static [u8],
    /// The expected exit code.
    code: i32,
    /// Phrases the error must contain.
    says: &'static [&'static str],
    /// Phrases that must appear at most once in stderr (the culprit, the cause).
    once: &'static [&'static str],
}

const fn case(what: &'static str, args: &'static [&'static str], code: i32) -> Case {
    Case {
        what,
        args,
        env: &[],
        stdin: b"",
        code,
        says: &[],
        once: &[],
    }
}

fn table() -> Vec<Case> {
    vec![
        Case {
            says: &["cannot read /nonexistent.yaml"],
            once: &["No such file or directory"],
            ..case("load: missing profile", &["load", "/nonexistent.yaml"], 2)
        },
        Case {
            says: &["cannot read {dir}"],
            once: &["Is a directory"],
            ..case("load: a folder as profile", &["load", "{dir}"], 2)
        },
        Case {
            says: &["cannot read {dir}/binary", "UTF-8"],
            ..case("load: binary profile", &["load", "{dir}/binary"], 2)
        },
        Case {
            says: &["no load profile \"nope\"", "smoke"],
            ..case("load: unknown bundled name", &["load", "nope"], 2)
        },
        Case {
            says: &["users: 1000000000", "100000"],
            ..case("load: users cap", &["load", "{dir}/users.yaml"], 2)
        },
        Case {
            says: &["cannot read /nonexistent.yaml"],
            once: &["No such file or directory"],
            ..case(
                "serve: missing config",
                &["serve", "--config", "/nonexistent.yaml"],
                2,
            )
        },
        Case {
            says: &["{dir}/garbage.yaml:1:"],
            ..case(
                "serve: garbage config",
                &["serve", "--config", "{dir}/garbage.yaml"],
                2,
            )
        },
        Case {
            says: &["\"nope\"", "rfc-strict, apigee"],
            ..case(
                "serve: unknown profile",
                &["serve", "--listen", "127.0.0.1:0", "--profile", "nope"],
                2,
            )
        },
        Case {
            says: &["--token-lifetime"],
            ..case(
                "serve: zero token lifetime",
                &["serve", "--listen", "127.0.0.1:0", "--token-lifetime", "0s"],
                2,
            )
        },
        Case {
            says: &["{dir}/keys/cert.pem and {dir}/other.pem do not belong together"],
            ..case(
                "serve: tls cert and key mismatch",
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--tls-cert",
                    "{dir}/keys/cert.pem",
                    "--tls-key",
                    "{dir}/other.pem",
                ],
                2,
            )
        },
        Case {
            says: &["client ca {dir}/garbage.pem"],
            ..case(
                "serve: garbage client ca",
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--client-ca",
                    "{dir}/garbage.pem",
                ],
                2,
            )
        },
        Case {
            says: &["--client SampleConfId", "twice"],
            ..case(
                "serve: duplicate client id",
                &[
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--client",
                    "SampleConfId={dir}/keys/cert.pem",
                    "--client",
                    "SampleConfId={dir}/keys/cert.pem",
                ],
                2,
            )
        },
        Case {
            says: &["-d @{dir}/missing"],
            once: &["No such file or directory"],
            ..case("call: -d @missing", &["call", "-d", "@{dir}/missing"], 2)
        },
        Case {
            says: &["control character"],
            ..case(
                "call: CRLF in a header",
                &["call", "-H", "X-A: a\r\nX-B: b"],
                2,
            )
        },
        Case {
            says: &["\"ftp\" is not http or https"],
            ..case("call: ftp url", &["call", "GET", "ftp://127.0.0.1/x"], 2)
        },
        Case {
            says: &["--timeout"],
            ..case("call: zero timeout", &["call", "--timeout", "0s"], 2)
        },
        Case {
            says: &["plain http", "RFC 6750"],
            ..case(
                "call: bearer token over plain http off loopback",
                &["call", "GET", "http://192.0.2.1:9/api"],
                2,
            )
        },
        Case {
            stdin: b"\xff\xfe\x00binary",
            says: &["stdin"],
            ..case("decode: binary stdin", &["decode", "-"], 2)
        },
        Case {
            says: &["cannot read {dir}/nonutf8.yaml"],
            ..case(
                "conform: non-UTF-8 suite",
                &["conform", "{dir}/nonutf8.yaml"],
                2,
            )
        },
        Case {
            says: &["--out {dir}/afile", "is a file"],
            ..case(
                "keygen: --out names a file",
                &["keygen", "--client-id", "c", "--out", "{dir}/afile"],
                2,
            )
        },
        Case {
            says: &["--days"],
            ..case(
                "keygen: --days 0",
                &[
                    "keygen",
                    "--client-id",
                    "c",
                    "--out",
                    "{dir}/k0",
                    "--days",
                    "0",
                ],
                2,
            )
        },
        Case {
            says: &["--days"],
            ..case(
                "keygen: --days overflow",
                &[
                    "keygen",
                    "--client-id",
                    "c",
                    "--out",
                    "{dir}/k1",
                    "--days",
                    "10000000",
                ],
                2,
            )
        },
        Case {
            says: &["--duration"],
            ..case(
                "certify: zero duration",
                &[
                    "certify",
                    "--listen",
                    "127.0.0.1:0",
                    "--client",
                    "SampleConfId={dir}/keys/cert.pem",
                    "--duration",
                    "0s",
                ],
                2,
            )
        },
        Case {
            says: &["\"nope\"", "default, smoke"],
            ..case(
                "certify: unknown plan",
                &[
                    "certify",
                    "--listen",
                    "127.0.0.1:0",
                    "--client",
                    "SampleConfId={dir}/keys/cert.pem",
                    "--plan",
                    "nope",
                ],
                2,
            )
        },
        Case {
            says: &["\"nope\"", "rfc-strict, apigee"],
            ..case(
                "certify: unknown profile",
                &[
                    "certify",
                    "--listen",
                    "127.0.0.1:0",
                    "--client",
                    "SampleConfId={dir}/keys/cert.pem",
                    "--profile",
                    "nope",
                ],
                2,
            )
        },
        Case {
            says: &["encrypted private keys are not supported", "openssl pkcs8"],
            ..case(
                "sign: encrypted PKCS#8 key",
                &[
                    "sign",
                    "--key",
                    "{dir}/encrypted.pem",
                    "--client-id",
                    "c",
                    "--aud",
                    "https://gw.example/t",
                ],
                2,
            )
        },
        Case {
            says: &["this is a certificate"],
            ..case(
                "sign: certificate as --key",
                &[
                    "sign",
                    "--key",
                    "{dir}/keys/cert.pem",
                    "--client-id",
                    "c",
                    "--aud",
                    "https://gw.example/t",
                ],
                2,
            )
        },
        Case {
            says: &["{dir}/t.yaml: profile", "\"no-such\""],
            ..case(
                "conform: bad profile in a target file",
                &["conform", "--target", "{dir}/t.yaml"],
                2,
            )
        },
        Case {
            env: &[("BEARING_TOKEN_URL", "::bad")],
            says: &["BEARING_TOKEN_URL"],
            ..case(
                "token: bad BEARING_TOKEN_URL",
                &[
                    "token",
                    "--client-id",
                    "c",
                    "--key",
                    "{dir}/keys/private.pem",
                ],
                2,
            )
        },
    ]
}

/// The scratch files the rows refer to.
fn scratch(dir: &Path) {
    let d = dir.to_str().expect("utf-8");
    let keys = format!("{d}/keys");
    let out = bearing()
        .args(["keygen", "--client-id", "SampleConfId", "--out", &keys])
        .output()
        .expect("keygen");
    assert!(out.status.success(), "keygen failed");
    let other = format!("{d}/other");
    let out = bearing()
        .args(["keygen", "--client-id", "Other", "--out", &other])
        .output()
        .expect("keygen");
    assert!(out.status.success(), "keygen failed");
    std::fs::copy(format!("{other}/private.pem"), dir.join("other.pem")).expect("copy");
    let w = |name: &str, bytes: &[u8]| std::fs::write(dir.join(name), bytes).expect("write");
    w("binary", b"\x00\x01\x02\xff\xfe\xfd binary");
    w(
        "users.yaml",
        b"duration: 1s\nusers: 1000000000\nscenarios: [{name: a, kind: sign}]\n",
    );
    w("garbage.yaml", b"listen: [\n");
    w("garbage.pem", b"not a certificate\n");
    w("nonutf8.yaml", b"name: \xff\xfe\n");
    w("afile", b"");
    // An encrypted PKCS#8 key has this shape whatever its body; the body is never parsed.
    w(
        "encrypted.pem",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQI\n-----END ENCRYPTED PRIVATE KEY-----\n",
    );
    w(
        "t.yaml",
        format!(
            "token_url: http://127.0.0.1:9/oauth/token\nclient_id: c\nprivate_key: {keys}/private.pem\nprofile: no-such\n"
        )
        .as_bytes(),
    );
}

#[test]
fn bad_inputs_exit_2_naming_the_culprit_once() {
    let tmp = tempfile::tempdir().expect("tmp");
    scratch(tmp.path());
    let d = tmp.path().to_str().expect("utf-8");
    let expand = |s: &str| s.replace("{dir}", d);
    let mut failures = Vec::new();
    for c in table() {
        let mut cmd = bearing();
        cmd.args(c.args.iter().map(|a| expand(a)))
            .current_dir(tmp.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in c.env {
            cmd.env(k, expand(v));
        }
        let mut child = cmd.spawn().expect("spawn bearing");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            let _ = stdin.write_all(c.stdin);
        }
        // Bad input is refused at once: a row that starts serving instead is killed after
        // 60 s and reported, never left to hang the suite.
        let pid = child.id();
        let (done, stop) = std::sync::mpsc::channel::<()>();
        let watchdog = std::thread::spawn(move || {
            let timed_out = stop
                .recv_timeout(std::time::Duration::from_secs(60))
                .is_err();
            if timed_out {
                let _ = Command::new("kill").arg(pid.to_string()).status();
            }
            timed_out
        });
        let out = child.wait_with_output().expect("wait");
        let _ = done.send(());
        let hung = watchdog.join().unwrap_or(false);
        let err = String::from_utf8_lossy(&out.stderr);
        let mut wrong = Vec::new();
        if hung {
            wrong.push("still running after 60 s: killed".to_owned());
        }
        if out.status.code() != Some(c.code) {
            wrong.push(format!("exit {:?}, want {}", out.status.code(), c.code));
        }
        for s in c.says {
            if !err.contains(&expand(s)) {
                wrong.push(format!("no {:?}", expand(s)));
            }
        }
        for s in c.once {
            let n = err.matches(&expand(s)).count();
            if n > 1 {
                wrong.push(format!("{s:?} {n} times"));
            }
        }
        if err.contains("panicked") {
            wrong.push("panicked".into());
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{}: {}\n  stderr: {}",
                c.what,
                wrong.join("; "),
                err.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// `bearing load NAME` takes the bundled profiles by name from any folder.
#[test]
fn load_takes_bundled_profile_names() {
    let tmp = tempfile::tempdir().expect("tmp");
    let out = bearing()
        .args(["load", "sign", "--duration", "1s", "--report-dir"])
        .arg(tmp.path().join("r"))
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(tmp.path().join("r/summary.json").exists());
}

// Every bundled load profile parses, and is the file of the same name in scenarios/load/.
#[test]
fn bundled_load_profiles_parse() {
    for (name, text) in bearing_load::profile::BUNDLED {
        let p = bearing_load::LoadProfile::bundled(name)
            .expect("listed")
            .unwrap_or_else(|e| panic!("bundled profile {name}: {e}"));
        assert_eq!(p.display_name(), name);
        let file =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("scenarios/load/{name}.yaml"));
        assert_eq!(std::fs::read_to_string(file).expect("file"), text, "{name}");
    }
    assert!(bearing_load::LoadProfile::bundled("nope").is_none());
    let files = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/load"))
        .expect("scenarios/load")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    assert_eq!(
        files,
        bearing_load::profile::BUNDLED.len(),
        "a profile file is not bundled"
    );
}
