//! End-to-end tests of the evidence a certification hands over (issue 17) and of report
//! folders that lose nothing (issue 21, class 3), through the real binary against the
//! embedded sandbox and a `bearing serve` gateway whose profile (apigee) differs from the one
//! conform judges by (rfc-strict), so one case really fails: report folders checked before
//! anything runs, `--expect-fail`, `--rerun-failed`, `report diff`, signed bundles and
//! `report verify` against tampered bundles.

mod common;

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::Output;

use common::{
    Server, assert_stderr_has, assert_stdout_has, bearing, json_file as json, lossy as text, run,
    serve_apigee, utf8 as s,
};

/// A fresh identity `id` in `dir`: (private key path, certificate path).
fn keygen(dir: &Path, id: &str) -> (PathBuf, PathBuf) {
    let (key, cert) = common::keygen(dir, id);
    (key.into(), cert.into())
}

/// `conform token-request` judging the apigee gateway by rfc-strict (one case fails).
fn conform_failing(srv: &Server, key: &Path, extra: &[&str]) -> Output {
    bearing()
        .args([
            "conform",
            "token-request",
            "--profile",
            "rfc-strict",
            "--token-url",
        ])
        .arg(&srv.token_url)
        .args(["--client-id", "Partner", "--key", s(key)])
        .args(extra)
        .output()
        .expect("conform")
}

fn failed_ids(summary: &serde_json::Value) -> Vec<String> {
    summary["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|c| c["outcome"] == "fail" || c["outcome"] == "error")
        .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The id of the first case of a run's summary with this outcome.
fn first_summary_case(run: &Path, outcome: &str) -> String {
    json(&run.join("summary.json"))["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .find(|c| c["outcome"] == outcome)
        .and_then(|c| c["id"].as_str())
        .expect("a case with that outcome")
        .to_owned()
}

/// A tar entry: name and bytes.
type Entry = (String, Vec<u8>);

/// Every entry of a tar.gz.
fn unpack(file: &Path) -> Vec<Entry> {
    let f = std::fs::File::open(file).expect("open");
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    a.entries()
        .expect("entries")
        .map(|e| {
            let mut e = e.expect("entry");
            let name = e.path().expect("path").to_string_lossy().into_owned();
            let mut data = Vec::new();
            e.read_to_end(&mut data).expect("read");
            (name, data)
        })
        .collect()
}

fn pack(file: &Path, entries: &[Entry]) {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        std::fs::File::create(file).expect("create"),
        flate2::Compression::default(),
    ));
    for (name, data) in entries {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data.as_slice())
            .expect("append");
    }
    b.into_inner().expect("tar").finish().expect("gz");
}

fn verify(file: &Path, cert: &Path) -> Output {
    run(&["report", "verify", s(file), "--cert", s(cert)])
}

// A report folder that is a file, or a non-empty folder, is refused before anything runs
// (exit 2, nothing written, no staging folder left); --force replaces the whole old run.
#[test]
fn report_dir_is_checked_before_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("file");
    std::fs::write(&file, b"keep").expect("write");
    let out = run(&["conform", "token-request", "--report-dir", s(&file)]);
    assert_stderr_has(&out, 2, "not a folder");
    assert!(out.stdout.is_empty(), "nothing ran");
    let out = run(&[
        "load",
        "scenarios/load/smoke.yaml",
        "--report-dir",
        s(&file.join("x")),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&file).expect("read"), b"keep");

    let used = dir.path().join("used");
    std::fs::create_dir(&used).expect("mkdir");
    std::fs::write(used.join("old.txt"), b"previous run").expect("write");
    let out = run(&["conform", "token-request", "--report-dir", s(&used)]);
    assert_stderr_has(&out, 2, "--force");
    let out = run(&[
        "conform",
        "token-request",
        "--report-dir",
        s(&used),
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("cases in"), "results printed");
    assert!(
        !used.join("old.txt").exists(),
        "the old run is gone, not mixed in"
    );
    assert!(used.join("summary.json").is_file());
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with('.')),
        "staging left: {names:?}"
    );
}

// Known deviations, re-runs and diffs against a gateway where one case really fails.
#[test]
fn expect_fail_rerun_and_diff() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert) = keygen(&dir.path().join("keys"), "Partner");
    let srv = serve_apigee(&cert);

    let first = dir.path().join("first");
    let out = conform_failing(&srv, &key, &["--report-dir", s(&first)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let failed = failed_ids(&json(&first.join("summary.json")));
    assert!(!failed.is_empty());

    // Listed and failing: an expected failure, exit 0, JUnit <skipped>, the list in the report.
    let list = dir.path().join("expected.yaml");
    let entries: String = failed
        .iter()
        .map(|id| {
            format!(
                "- id: {id}\n  reason: accepted deviation GW-42 for {id}\n  expires: 2999-12-31\n"
            )
        })
        .collect();
    std::fs::write(&list, &entries).expect("write");
    let xf = dir.path().join("xf");
    let out = conform_failing(
        &srv,
        &key,
        &["--report-dir", s(&xf), "--expect-fail", s(&list)],
    );
    assert_stdout_has(&out, 0, "expected failure");
    let junit = std::fs::read_to_string(xf.join("junit.xml")).expect("junit");
    assert!(
        junit.contains("<skipped message=\"expected failure: accepted deviation GW-42"),
        "{junit}"
    );
    let html = std::fs::read_to_string(xf.join("report.html")).expect("html");
    assert!(html.contains("Expected failures") && html.contains("GW-42"));
    let summary = json(&xf.join("summary.json"));
    assert_eq!(
        summary["expected_failures"]["entries"][0]["status"],
        "expected-failure"
    );
    let schema = json(Path::new("schemas/conform-summary.schema.json"));
    let v = jsonschema::validator_for(&schema).expect("schema");
    assert!(
        v.is_valid(&summary),
        "summary with expected failures fits its schema"
    );

    // Listed but passing: stale, exit 1, says to remove it.
    let passing = first_summary_case(&first, "pass");
    let stale = dir.path().join("stale.yaml");
    std::fs::write(&stale, format!("{entries}- id: {passing}\n  reason: old\n")).expect("write");
    let out = conform_failing(&srv, &key, &["--no-report", "--expect-fail", s(&stale)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains(&format!(
            "{passing}: expected failure now passes — remove it from"
        )),
        "{}",
        text(&out.stdout)
    );
    // An unknown id is bad input.
    std::fs::write(&stale, "- id: no-such-case\n  reason: x\n").expect("write");
    let out = conform_failing(&srv, &key, &["--no-report", "--expect-fail", s(&stale)]);
    assert_stderr_has(&out, 2, "no-such-case");

    // Re-run only what failed; the new summary says which run it continues.
    let again = dir.path().join("again");
    let out = conform_failing(
        &srv,
        &key,
        &[
            "--report-dir",
            s(&again),
            "--rerun-failed",
            s(&first.join("summary.json")),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let s2 = json(&again.join("summary.json"));
    let ran: Vec<&str> = s2["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ran, failed.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(s2["continues"]["cases"], serde_json::json!(failed));
    // Another profile than the previous run: refused, saying what differs.
    let out = bearing()
        .args([
            "conform",
            "token-request",
            "--profile",
            "apigee",
            "--no-report",
            "--rerun-failed",
        ])
        .arg(first.join("summary.json"))
        .output()
        .expect("conform");
    assert_stderr_has(&out, 2, "profile");

    // A passing run against the sandbox, then the diff: the failure is a regression.
    let pass = dir.path().join("pass");
    let out = run(&["conform", "token-request", "--report-dir", s(&pass)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let page = dir.path().join("diff.html");
    let out = run(&["report", "diff", s(&pass), s(&first), "--html", s(&page)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let t = text(&out.stdout);
    assert!(
        t.lines()
            .nth(1)
            .is_some_and(|l| l.starts_with("regression")),
        "{t}"
    );
    assert!(
        std::fs::read_to_string(&page)
            .expect("html")
            .contains("regression")
    );
    let out = run(&["report", "diff", s(&pass), s(&first), "--output", "json"]);
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let schema = json(Path::new("schemas/report-diff.schema.json"));
    let v = jsonschema::validator_for(&schema).expect("schema");
    assert!(v.is_valid(&d), "{d}");
    assert_eq!(d["verdicts"][0]["change"], "regression");
    assert!(
        d["verdicts"][0]["new_evidence"]
            .as_str()
            .is_some_and(|e| !e.is_empty())
    );
    // Reversed: the failure is fixed, no regression.
    let out = run(&["report", "diff", s(&first), s(&pass)]);
    assert!(text(&out.stdout).contains("fixed"), "{}", text(&out.stdout));
}

// A signed bundle verifies; one byte changed in report.html, a file added, the manifest
// re-signed with another key each exit 1 naming the culprit; an unsigned bundle says so;
// a truncated bundle, a manifest that is not JSON and alg none are bad input.
#[test]
fn signed_bundles_and_tampering() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert) = keygen(&dir.path().join("partner"), "Partner");
    let (other_key, _) = keygen(&dir.path().join("other"), "Other");
    let run_dir = dir.path().join("run");
    let bundle = dir.path().join("run.tar.gz");
    let out = run(&[
        "conform",
        "token-request",
        "--report-dir",
        s(&run_dir),
        "--bundle",
        s(&bundle),
        "--sign-key",
        s(&key),
    ]);
    assert_stdout_has(&out, 0, "manifest signed");
    let out = verify(&bundle, &cert);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let t = text(&out.stdout);
    assert!(
        t.contains("RS256, verified") && t.contains("3 of 3 hashes"),
        "{t}"
    );
    let entries = unpack(&bundle);
    let manifest = &entries
        .iter()
        .find(|e| e.0 == "manifest.json")
        .expect("manifest")
        .1;
    let m = text(manifest);
    assert!(
        !m.contains("PRIVATE KEY") && !m.contains("eyJ"),
        "no secret in the manifest"
    );

    let tampered = |name: &str, f: &dyn Fn(&mut Vec<Entry>)| {
        let mut e = entries.clone();
        f(&mut e);
        let p = dir.path().join(name);
        pack(&p, &e);
        p
    };
    let one_byte = tampered("byte.tar.gz", &|e| {
        let html = e
            .iter_mut()
            .find(|x| x.0 == "report/report.html")
            .expect("html");
        html.1[100] ^= 1;
    });
    let out = verify(&one_byte, &cert);
    assert_stdout_has(&out, 1, "FAILED report/report.html: edited");
    let added = tampered("added.tar.gz", &|e| {
        e.push(("report/extra.txt".into(), b"x".to_vec()));
    });
    let out = verify(&added, &cert);
    assert_stdout_has(&out, 1, "report/extra.txt: added");
    let removed = tampered("removed.tar.gz", &|e| {
        e.retain(|x| x.0 != "report/junit.xml");
    });
    let out = verify(&removed, &cert);
    assert_stdout_has(&out, 1, "report/junit.xml: removed");

    // Re-signed with another key (after editing a file and fixing its hash).
    let resigned = dir.path().join("resigned-src");
    std::fs::create_dir(&resigned).expect("mkdir");
    for (name, data) in &entries {
        if let Some(rel) = name.strip_prefix("report/") {
            let mut data = data.clone();
            if rel == "report.html" {
                data.extend_from_slice(b"<!-- edited -->");
            }
            std::fs::write(resigned.join(rel), data).expect("write");
        }
    }
    let forged = dir.path().join("forged.tar.gz");
    let out = run(&[
        "report",
        "bundle",
        s(&resigned),
        "--out",
        s(&forged),
        "--sign-key",
        s(&other_key),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = verify(&forged, &cert);
    assert_stdout_has(&out, 1, "FAILED signature: manifest.jws");

    // Unsigned: hashes checked, said to be unsigned.
    let unsigned = dir.path().join("unsigned.tar.gz");
    let out = run(&["report", "bundle", s(&run_dir), "--out", s(&unsigned)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let out = run(&["report", "verify", s(&unsigned)]);
    assert_stdout_has(&out, 0, "unsigned");
    // --out exists: refused, nothing written over.
    let before = std::fs::read(&unsigned).expect("read");
    let out = run(&["report", "bundle", s(&run_dir), "--out", s(&unsigned)]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&unsigned).expect("read"), before);

    // Bad input: truncated, manifest not JSON, alg none.
    let bytes = std::fs::read(&bundle).expect("read");
    let truncated = dir.path().join("truncated.tar.gz");
    std::fs::File::create(&truncated)
        .and_then(|mut f| f.write_all(&bytes[..bytes.len() / 2]))
        .expect("write");
    let out = verify(&truncated, &cert);
    assert_stderr_has(&out, 2, "truncated");
    let not_json = tampered("notjson.tar.gz", &|e| {
        e.iter_mut().find(|x| x.0 == "manifest.json").expect("m").1 = b"{not json".to_vec();
    });
    let out = verify(&not_json, &cert);
    assert_stderr_has(&out, 2, "manifest.json is not JSON");
    let none = tampered("none.tar.gz", &|e| {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let m = e
            .iter()
            .find(|x| x.0 == "manifest.json")
            .expect("m")
            .1
            .clone();
        let jws = format!("{}.{}.", b64.encode(br#"{"alg":"none"}"#), b64.encode(&m));
        e.iter_mut().find(|x| x.0 == "manifest.jws").expect("jws").1 = jws.into_bytes();
    });
    let out = verify(&none, &cert);
    assert_stderr_has(&out, 2, "\"none\" is refused");

    // A conform run cannot be compared with a load run (exit 2).
    let load_dir = dir.path().join("load");
    let out = run(&[
        "load",
        "scenarios/load/smoke.yaml",
        "--duration",
        "1s",
        "--report-dir",
        s(&load_dir),
        "--bundle",
        s(&dir.path().join("load.tar.gz")),
        "--sign-key",
        s(&key),
    ]);
    assert!(
        load_dir.join("summary.json").is_file(),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("bundle:"),
        "{}",
        text(&out.stdout)
    );
    let out = verify(&dir.path().join("load.tar.gz"), &cert);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = run(&["report", "diff", s(&run_dir), s(&load_dir)]);
    assert_stderr_has(&out, 2, "cannot compare a conform run");
    // Two load runs: every phase compared, with the noise flag read off the .hgrm files.
    let out = run(&[
        "report",
        "diff",
        s(&load_dir),
        s(&load_dir),
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let d: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let p99 = &d["phases"][0]["metrics"][4];
    assert_eq!(p99["name"], "p99");
    assert_eq!(
        p99["beyond_noise"], false,
        "a run is within noise of itself"
    );
}

/// `certify --listen 127.0.0.1:0 --client <client> <extra…>`.
fn certify_args<'a>(client: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    [
        &["certify", "--listen", "127.0.0.1:0", "--client", client][..],
        extra,
    ]
    .concat()
}

// certify: --expect-fail ids are check ids (an unknown one is refused before the gateway
// starts), a non-empty --report-dir is refused before it listens, and a run stopped before
// any client came still writes its folder and a signed bundle, with the listed check as an
// expected failure in JUnit; the unlisted checks (no evidence) still fail the run.
#[cfg(unix)]
#[test]
fn certify_expect_fail_and_bundle() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key, cert) = keygen(&dir.path().join("keys"), "partner");
    let client = format!("partner={}", s(&cert));
    let list = dir.path().join("expected.yaml");
    std::fs::write(&list, "- id: no-such-check\n  reason: x\n").expect("write");
    let out = run(&certify_args(&client, &["--expect-fail", s(&list)]));
    assert_stderr_has(&out, 2, "no-such-check");
    let used = dir.path().join("keys");
    let out = run(&certify_args(&client, &["--report-dir", s(&used)]));
    assert_stderr_has(&out, 2, "not empty");

    std::fs::write(
        &list,
        "- id: assertion.aud\n  reason: client signs the API URL as aud (ticket P-7)\n",
    )
    .expect("write");
    let reports = dir.path().join("out");
    let bundle = dir.path().join("certify.tar.gz");
    let mut child = Server::start(bearing().args(certify_args(
        &client,
        &[
            "--expect-fail",
            s(&list),
            "--report-dir",
            s(&reports),
            "--bundle",
            s(&bundle),
            "--sign-key",
            s(&key),
        ],
    )));
    child.terminate();
    let status = child.wait();
    let rest = child.rest();
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("assertion.aud: expected failure"), "{rest}");
    let junit = std::fs::read_to_string(reports.join("junit.xml")).expect("junit");
    assert!(
        junit.contains("expected failure: client signs the API URL as aud"),
        "{junit}"
    );
    let summary = json(&reports.join("summary.json"));
    let schema = json(Path::new("schemas/certify-summary.schema.json"));
    assert!(
        jsonschema::validator_for(&schema)
            .expect("schema")
            .is_valid(&summary)
    );
    let out = verify(&bundle, &cert);
    assert_stdout_has(&out, 0, "certify report");
}
