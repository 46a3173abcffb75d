//! End-to-end tests of `bearing load`: the real binary against its embedded sandbox —
//! exit codes (0 pass, 1 threshold missed, 2 bad profile), the report set on disk with a
//! summary.json valid against schemas/load-summary.schema.json, shards and the capacity
//! search. Every run is short (about a second) and only talks to 127.0.0.1.

mod common;

use std::path::Path;
use std::process::Output;

use common::{load_summary as summary, run as bearing, text, write_file as profile};

// A passing run exits 0 and writes the report set; a missed threshold exits 1.
#[test]
fn thresholds_decide_the_exit_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let ok = profile(
        dir.path(),
        "ok.yaml",
        "duration: 1s\nusers: 4\nrate: 200/s\nthresholds: ['error_rate < 1%', 'p99 < 10s']\nscenarios:\n  - { name: api, kind: api, weight: 3 }\n  - { name: token, kind: token }\n",
    );
    let out_dir = dir.path().join("ok-report");
    let o = bearing(&[
        "load",
        &ok,
        "--report-dir",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&out_dir);
    assert_eq!(s["passed"], true);
    assert!(
        s["scenarios"][0]["phases"]["api"]["count"]
            .as_u64()
            .expect("count")
            >= 140,
        "{s:#}"
    );
    for f in [
        "report.html",
        "intervals.hlog",
        "api.api.hgrm",
        "token.token.uncorrected.hgrm",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("PASS"),
        "{}",
        text(&o)
    );

    let bad = profile(
        dir.path(),
        "fail.yaml",
        "duration: 1s\nusers: 2\nthresholds: ['rate >= 10000000/s']\nscenarios: [{name: api, kind: api}]\n",
    );
    let out_dir = dir.path().join("fail-report");
    let o = bearing(&[
        "load",
        &bad,
        "--report-dir",
        out_dir.to_str().expect("utf-8"),
        "--output",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json on stdout");
    assert_eq!(printed["summary"]["passed"], false);
    assert_eq!(summary(&out_dir)["thresholds"][0]["passed"], false);
}

// A malformed profile exits 2 and names file:line:col; nothing runs.
#[test]
fn malformed_profile_exits_2_with_position() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = profile(
        dir.path(),
        "bad.yaml",
        "duration: 1s\nusers: 2\nscenarios:\n  - { name: api, kind: api, calls_per_secnd: 3 }\n",
    );
    let o = bearing(&["load", &p]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("bad.yaml:4:"), "{err}");
    assert!(err.contains("calls_per_secnd"), "{err}");
    let p = profile(
        dir.path(),
        "bad2.yaml",
        "duration: 1s\nthresholds: ['p99 < fast']\nscenarios: [{name: api, kind: api}]\n",
    );
    let o = bearing(&["load", &p]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("bad2.yaml:2:"),
        "{}",
        text(&o)
    );
    let o = bearing(&["load", &p, "--shard", "3/3"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// A shard takes 1/N of the rate and says which shard it was.
#[test]
fn shard_takes_its_share() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = profile(
        dir.path(),
        "shard.yaml",
        "duration: 1s\nusers: 4\nrate: 300/s\nscenarios: [{name: api, kind: api}]\n",
    );
    let out_dir = dir.path().join("r");
    let o = bearing(&[
        "load",
        &p,
        "--shard",
        "1/3",
        "--report-dir",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let s = summary(&out_dir);
    assert_eq!(s["shard"]["index"], 1);
    assert_eq!(s["shard"]["count"], 3);
    assert_eq!(s["scenarios"][0]["planned"], 100);
    assert_eq!(s["scenarios"][0]["users"], 2);
}

/// Runs `bearing load --find-capacity` on an `api` profile with these thresholds and
/// capacity steps (100/s, +100/s, 500 ms each, up to `max`): (output, report directory).
fn find_capacity(
    dir: &Path,
    name: &str,
    users: u32,
    thresholds: &str,
    max: u32,
) -> (Output, std::path::PathBuf) {
    let p = profile(
        dir,
        &format!("{name}.yaml"),
        &format!(
            "duration: 1s\nusers: {users}\nthresholds: [{thresholds}]\ncapacity: {{ start: 100/s, step: 100/s, max: {max}/s, step_duration: 500ms }}\nscenarios: [{{name: api, kind: api}}]\n"
        ),
    );
    let out_dir = dir.join(name);
    let o = bearing(&[
        "load",
        &p,
        "--find-capacity",
        "--report-dir",
        out_dir.to_str().expect("utf-8"),
    ]);
    (o, out_dir)
}

// --find-capacity steps the rate up until a threshold is missed and reports the knee; it
// exits 0 when a knee was found (the report is the run at the knee), 1 when even the first
// step failed.
#[test]
fn find_capacity_reports_the_knee() {
    let dir = tempfile::tempdir().expect("tmp");
    let (o, out_dir) = find_capacity(dir.path(), "cap", 4, "'rate <= 250/s'", 1000);
    assert_eq!(o.status.code(), Some(0), "a knee was found: {}", text(&o));
    let s = summary(&out_dir);
    let cap = &s["capacity"];
    // 100 and 200 pass, 300 fails (`rate <= 250/s`), then bisection between 200 and 300
    // until the interval is within ±5%: the knee is 250 (250 passes, 275 fails).
    let knee = cap["knee"].as_f64().expect("knee");
    assert!((200.0..=275.0).contains(&knee), "{cap:#}");
    let steps = cap["steps"].as_array().expect("steps");
    assert!(steps.len() >= 4, "{cap:#}");
    assert_eq!(steps[2]["passed"], false);
    assert_eq!(steps[3]["refine"], true, "{cap:#}");
    let iv = cap["interval"].as_array().expect("interval");
    let (lo, hi) = (iv[0].as_f64().expect("lo"), iv[1].as_f64().expect("hi"));
    assert!(lo == knee && hi - lo <= 0.1 * (hi + lo) / 2.0, "{cap:#}");
    assert_eq!(
        s["scenarios"][0]["target_rate"], knee,
        "the report is the run at the knee"
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("first fail"), "{out}");

    let (o, _) = find_capacity(dir.path(), "cap0", 2, "'rate <= 50/s'", 300);
    assert_eq!(o.status.code(), Some(1), "no step passed: {}", text(&o));

    // A `rate >=` floor meant for the profile's own rate does not fail the lower steps: the
    // bundled api profile (rate >= 1900/s) finds a knee from 100/s.
    let (o, out_dir) = find_capacity(
        dir.path(),
        "floor",
        4,
        "'rate >= 1900/s', 'rate <= 250/s'",
        1000,
    );
    assert_eq!(o.status.code(), Some(0), "a knee was found: {}", text(&o));
    let knee = summary(&out_dir)["capacity"]["knee"]
        .as_f64()
        .expect("knee");
    assert!((200.0..=275.0).contains(&knee), "{knee}");

    // Every step passes: "no knee found up to MAX", exit 0.
    let (o, _) = find_capacity(dir.path(), "noknee", 4, "'p99 < 10s'", 200);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("no knee found up to 200/s"),
        "{}",
        text(&o)
    );

    // No `capacity:` block, or a shard: refused before anything runs (exit 2).
    let p = profile(
        dir.path(),
        "nocap.yaml",
        "duration: 1s\nusers: 2\nscenarios: [{name: api, kind: api}]\n",
    );
    let o = bearing(&["load", &p, "--find-capacity"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("needs a `capacity:` block"),
        "{}",
        text(&o)
    );
    let o = bearing(&["load", &p, "--find-capacity", "--shard", "0/2"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

// `pool: { refill: false }`: the prefilled assertions are used, nothing is minted during the
// run, and a run that outlasts them counts the rest as errors (exit 1), never a hang.
#[test]
fn pool_without_refill_uses_the_prefill_then_fails_fast() {
    let dir = tempfile::tempdir().expect("tmp");
    let p = profile(
        dir.path(),
        "burst.yaml",
        "duration: 1s\nusers: 4\nrate: 200/s\npool: { capacity: 64, prefill: true, refill: false }\nthresholds: ['error_rate < 0.1%']\nscenarios: [{name: token, kind: token}]\n",
    );
    let out_dir = dir.path().join("burst");
    let started = std::time::Instant::now();
    let o = bearing(&["load", &p, "--report-dir", out_dir.to_str().expect("utf-8")]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let s = summary(&out_dir);
    let sc = &s["scenarios"][0];
    let signing = &sc["signing"];
    assert_eq!(signing["prefilled"], 64, "{signing:#}");
    let used = signing["assertions_used"].as_u64().expect("used");
    assert!(used <= 64 + 2, "{used} assertions used from a pool of 64");
    let token = &sc["phases"]["token"];
    assert!(token["errors"].as_u64().expect("errors") > 0, "{token:#}");

    // refill: false without prefill would mint nothing: bad input.
    let p = profile(
        dir.path(),
        "bad.yaml",
        "duration: 1s\nusers: 1\npool: { prefill: false, refill: false }\nscenarios: [{name: token, kind: token}]\n",
    );
    let o = bearing(&["load", &p]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("refill"), "{}", text(&o));
}
