//! `bearing conform --profile A --profile B` (issue 16, step 3): one gateway judged under
//! several profiles side by side; the first profile decides the exit code.

mod common;

use common::{bearing, serve_apigee};

// Against the embedded sandbox (which behaves by the first profile, rfc-strict): every
// binding expectation holds under rfc-strict, apigee's expectations (string expires_in,
// Apigee error bodies) are missed; exit 0 because rfc-strict is the judged profile; a
// summary per profile is written, the first in the usual place.
#[test]
fn side_by_side_verdicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out");
    let o = bearing()
        .args(["conform", "token-request", "--profile", "rfc-strict"])
        .args(["--profile", "apigee", "--report-dir"])
        .arg(&out)
        .output()
        .expect("run bearing");
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        text.contains("case") && text.contains("rfc-strict  apigee"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("tr-happy-path"))
        .unwrap_or_else(|| panic!("no tr-happy-path row: {text}"));
    assert!(row.contains("pass") && row.contains("FAIL"), "{row}");
    let line = |p: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("{p}: ")))
            .unwrap_or_else(|| panic!("no {p} line: {text}"))
            .to_owned()
    };
    let held = |l: &str| -> (u32, u32) {
        let w: Vec<&str> = l.split_whitespace().collect();
        (w[1].parse().expect("n"), w[3].parse().expect("m"))
    };
    let (n, m) = held(&line("rfc-strict"));
    assert!(n == m && m > 0, "{}", line("rfc-strict"));
    assert!(line("rfc-strict").contains("judged"));
    let (n, m) = held(&line("apigee"));
    assert!(n < m, "{}", line("apigee"));
    let read = |p: std::path::PathBuf| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&p).expect("summary")).expect("json")
    };
    assert_eq!(read(out.join("summary.json"))["profile"], "rfc-strict");
    let apigee = read(out.join("profiles/apigee/summary.json"));
    assert_eq!(apigee["profile"], "apigee");
    assert!(apigee["counts"]["fail"].as_u64().is_some_and(|f| f > 0));
}

// `--output json` with several profiles: the judged one named, a summary per profile.
#[test]
fn json_output_has_a_summary_per_profile() {
    let o = bearing()
        .args(["conform", "token-request", "--case", "tr-happy-path"])
        .args([
            "--profile",
            "apigee",
            "--profile",
            "rfc-strict",
            "--no-report",
        ])
        .args(["--output", "json"])
        .output()
        .expect("run bearing");
    // The sandbox behaves by the first profile, so apigee's expectations hold there and
    // rfc-strict's are the ones missed: still exit 0, judged by apigee.
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["judged_by"], "apigee");
    assert_eq!(v["summaries"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["summaries"][1]["profile"], "rfc-strict");
    assert_eq!(v["summaries"][1]["counts"]["fail"], 1);
}

// Against an apigee gateway, the first profile named decides the exit code: rfc-strict first
// → 1 (its expectations are missed), apigee first → 0; the table is the same either way.
#[test]
fn first_profile_decides_the_exit_code() {
    let d = tempfile::tempdir().expect("tempdir");
    let keys = d.path().join("keys");
    let k = bearing()
        .args(["keygen", "--client-id", "Partner", "--out"])
        .arg(&keys)
        .output()
        .expect("keygen");
    assert!(k.status.success());
    let srv = serve_apigee(&keys.join("cert.pem"));
    let conform = |profiles: [&str; 2]| {
        bearing()
            .args([
                "conform",
                "token-request",
                "--no-report",
                "--token-url",
                &srv.token_url,
            ])
            .args(["--client-id", "Partner", "--key"])
            .arg(keys.join("private.pem"))
            .args(["--profile", profiles[0], "--profile", profiles[1]])
            .output()
            .expect("conform")
    };
    let o = conform(["rfc-strict", "apigee"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(
        text.contains("rfc-strict: ") && text.contains("— judged"),
        "{text}"
    );
    let o = conform(["apigee", "rfc-strict"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("tr-happy-path"))
        .unwrap_or_else(|| panic!("no tr-happy-path row: {text}"));
    assert!(row.contains("pass") && row.contains("FAIL"), "{row}");
}
