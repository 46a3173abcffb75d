//! Sharded runs beyond one process (issue 19), end to end on 127.0.0.1:
//!
//! - the start barrier: shards started seconds apart start their clock at the same
//!   wall-clock second; a shard that never comes makes the others exit 3 naming it;
//! - the merge's overlap window: reported, thresholds judged on it;
//! - live metrics: `bearing load --metrics-listen` scraped mid-run; the counters grow and
//!   converge on the final summary.json.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{bearing, json_file, text};
use serde_json::Value;

fn profile(dir: &Path, duration: &str, rate: u32) -> std::path::PathBuf {
    let p = dir.join("profile.yaml");
    std::fs::write(
        &p,
        format!(
            "name: cluster\nduration: {duration}\nusers: 4\nrate: {rate}/s\n\
             thresholds: ['error_rate < 5%']\n\
             scenarios:\n  - {{ name: token, kind: token, pool: false }}\n"
        ),
    )
    .expect("profile");
    p
}

fn started_at(summary: &Value) -> f64 {
    let s = summary["started_at"].as_str().expect("started_at");
    humantime::parse_rfc3339_weak(s)
        .expect("rfc3339")
        .duration_since(std::time::UNIX_EPOCH)
        .expect("epoch")
        .as_secs_f64()
}

#[test]
fn a_late_shard_is_waited_for_and_all_start_at_the_same_second() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = profile(d.path(), "2s", 60);
    let barrier = d.path().join("barrier");
    let spawn = |i: u32| {
        bearing()
            .arg("load")
            .arg(&p)
            .args(["--shard", &format!("{i}/2"), "--threads", "1", "-q"])
            .arg("--barrier-dir")
            .arg(&barrier)
            .arg("--report-dir")
            .arg(d.path().join(format!("shard-{i}")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let first = spawn(0);
    // Shard 1 comes late, as a pod still pulling its image would: shard 0 waits for it.
    // (Polled for shard 0's ready file, never slept on.)
    let deadline = Instant::now() + Duration::from_secs(30);
    while !barrier.join("ready-0-of-2.json").is_file() {
        assert!(Instant::now() < deadline, "shard 0 never got ready");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second = spawn(1);
    for c in [first, second] {
        let o = c.wait_with_output().expect("ran");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let s: Vec<Value> = (0..2)
        .map(|i| json_file(&d.path().join(format!("shard-{i}/summary.json"))))
        .collect();
    let (a, b) = (started_at(&s[0]), started_at(&s[1]));
    assert!(
        (a - b).abs() < 0.3,
        "barrier: shards started {:.3}s apart",
        (a - b).abs()
    );
    // The clock started just after a whole second (the barrier's start instant).
    assert!(a.fract() < 0.3, "started at {a}");

    let o = bearing()
        .args(["report", "merge"])
        .arg(d.path().join("shard-0"))
        .arg(d.path().join("shard-1"))
        .arg("--out")
        .arg(d.path().join("merged"))
        .args(["--output", "json"])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let ov = &v["shards"]["overlap"];
    assert_eq!(v["shards"]["judged_on"], "overlap");
    assert!(ov["seconds"].as_u64().expect("seconds") >= 2, "{ov:#}");
    // Started together: nothing to speak of outside the overlap.
    let total = v["summary"]["totals"]["token"]["count"]
        .as_u64()
        .expect("token count");
    assert!(
        ov["count"].as_u64().expect("count") * 10 >= total * 8,
        "{ov:#} of {total}"
    );
}

#[test]
fn a_shard_that_never_comes_is_named_and_the_others_exit_3() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = profile(d.path(), "1s", 20);
    let o = bearing()
        .arg("load")
        .arg(&p)
        .args(["--shard", "0/3", "--barrier-timeout", "1s", "-q"])
        .arg("--barrier-dir")
        .arg(d.path().join("barrier"))
        .arg("--report-dir")
        .arg(d.path().join("shard-0"))
        .output()
        .expect("ran");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shard 1 of 3, shard 2 of 3 never became ready"),
        "{err}"
    );
    assert!(!d.path().join("shard-0/summary.json").exists());
}

#[test]
fn barrier_flags_are_checked() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = profile(d.path(), "1s", 20);
    for args in [
        vec!["--barrier-dir", "x"],
        vec!["--start-at", "tomorrow"],
        vec![
            "--shard",
            "0/2",
            "--barrier-dir",
            "x",
            "--start-at",
            "2026-01-01T00:00:00Z",
        ],
    ] {
        let o = bearing()
            .arg("load")
            .arg(&p)
            .args(&args)
            .output()
            .expect("ran");
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
    }
    let o = bearing()
        .arg("load")
        .arg(&p)
        .args(["--start-at", "2020-01-01T00:00:00Z", "-q"])
        .arg("--report-dir")
        .arg(d.path().join("r"))
        .output()
        .expect("ran");
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("has already passed"));
}

fn scrape(addr: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

/// Sum of every sample of `name` (any labels).
fn total(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[test]
fn live_metrics_grow_during_the_run_and_converge_on_the_summary() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = profile(d.path(), "3s", 100);
    let mut child = bearing()
        .arg("load")
        .arg(&p)
        .args(["--metrics-listen", "127.0.0.1:0", "--threads", "1"])
        .arg("--report-dir")
        .arg(d.path().join("r"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    let addr = loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).expect("stderr") > 0,
            "no metrics line"
        );
        if let Some(rest) = line.trim().strip_prefix("metrics: http://") {
            break rest.trim_end_matches("/metrics").to_owned();
        }
    };
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let interval = Duration::from_millis(250);
    let mut seen = Vec::new();
    let mut last_text = String::new();
    while child.try_wait().expect("wait").is_none() {
        if let Some(m) = scrape(&addr) {
            seen.push(total(&m, "bearing_load_requests_total"));
            if m.contains("bearing_load_requests_total") {
                last_text = m;
            }
        }
        std::thread::sleep(interval);
    }
    let o = child.wait_with_output().expect("ran");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let nonzero: Vec<u64> = seen.iter().copied().filter(|n| *n > 0).collect();
    assert!(nonzero.len() >= 3, "too few mid-run scrapes: {seen:?}");
    assert!(
        nonzero.windows(2).all(|w| w[0] <= w[1]) && nonzero.first() < nonzero.last(),
        "counters did not grow: {seen:?}"
    );
    for want in [
        "# TYPE bearing_load_latency_seconds histogram",
        "bearing_load_latency_seconds_bucket{scenario=\"token\",phase=\"token\",le=\"+Inf\"}",
        "bearing_load_started_total{scenario=\"token\"}",
        "bearing_load_target_rate{scenario=\"token\"}",
        "bearing_load_in_flight{scenario=\"token\"}",
        "status=\"200\"",
    ] {
        assert!(last_text.contains(want), "{want} missing:\n{last_text}");
    }
    let summary = json_file(&d.path().join("r/summary.json"));
    let final_count: u64 = summary["scenarios"]
        .as_array()
        .expect("scenarios")
        .iter()
        .flat_map(|s| s["phases"].as_object().expect("phases").values())
        .map(|p| p["count"].as_u64().expect("count"))
        .sum();
    let last = *nonzero.last().expect("a scrape");
    let rate = summary["scenarios"][0]["achieved_rate"]
        .as_f64()
        .expect("rate");
    // Users flush once a second: the last scrape lags the summary by at most a scrape
    // interval plus that second, in every phase the summary counts (a token scenario
    // without a pool records `sign` and `token` per attempt).
    let phases = summary["scenarios"][0]["phases"]
        .as_object()
        .expect("phases")
        .len() as f64;
    let slack = (rate * phases * (interval.as_secs_f64() + 1.0)).ceil() as u64 + 1;
    assert!(
        last <= final_count,
        "scraped {last} > summary {final_count}"
    );
    assert!(
        final_count - last <= slack,
        "last scrape {last}, summary {final_count}, allowed lag {slack}"
    );
}

// The shard Job uses the barrier on the shared volume and serves metrics where its scrape
// annotations say (kubernetes-validate checks the schemas in .ci/run; this the wiring).
#[test]
fn the_shard_job_meets_at_the_barrier_and_is_scraped() {
    let root = common::root();
    let job = std::fs::read_to_string(root.join("deploy/kubernetes/load-job.yaml")).expect("job");
    let args: Vec<&str> = job
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("- "))
        .collect();
    let after = |flag: &str| {
        args.iter()
            .position(|a| *a == flag)
            .and_then(|i| args.get(i + 1))
            .copied()
            .unwrap_or_else(|| panic!("{flag} missing from load-job.yaml"))
    };
    assert!(
        after("--barrier-dir").starts_with("/reports/$(RUN_ID)/"),
        "on the shared volume, per run"
    );
    assert_eq!(after("--metrics-listen"), "0.0.0.0:9464");
    assert!(job.contains("prometheus.io/port: \"9464\""));
    assert!(job.contains("containerPort: 9464"));
    let pm = std::fs::read_to_string(root.join("deploy/prometheus/podmonitor.yaml")).expect("pm");
    assert!(pm.contains("port: metrics") && job.contains("name: metrics"));
    let dash: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("deploy/grafana/bearing.json")).expect("dashboard"),
    )
    .expect("dashboard JSON");
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().into_iter().flatten())
        .map(|t| t["expr"].as_str().expect("expr").to_owned())
        .collect();
    for metric in [
        "bearing_load_requests_total",
        "bearing_load_errors_total",
        "bearing_load_latency_seconds_bucket",
        "by (shard)",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(metric)),
            "{metric} not on the dashboard"
        );
    }
}
