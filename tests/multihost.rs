//! A sharded run across hosts, on one machine (issue 19): network namespaces this test
//! creates and removes itself stand in for machines. A hub namespace holds a bridge; the
//! sandbox gateway runs in its own namespace at 10.199.7.1, and three shards each in their
//! own namespace at 10.199.7.10–12, with 2 ms of `tc netem` delay on their links when netem
//! is available. The shards meet at the start barrier, shard 2 arriving a second late; the
//! merge must show a flat rate over the overlap, counts that add up and percentiles exactly
//! those of one histogram holding every sample.
//!
//! The 10.199.7.x addresses exist only inside those namespaces; nothing is added to the host's
//! own network. Needs root and `ip` (iproute2); otherwise the test says why on stderr and
//! passes without running. Every namespace and process is removed on the way out, failed or
//! not.

mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::hlog::add_log;
use common::netns::{Net, bearing_in, ip};
use common::{Server, json_file, text};
use serde_json::Value;

const GATEWAY: &str = "10.199.7.1";
const SHARDS: [&str; 3] = ["10.199.7.10", "10.199.7.11", "10.199.7.12"];

/// Says on stderr, past the test harness's capture, why the test did not run.
fn skip(reason: &str) {
    common::skip("multi_host_sharded_run", reason);
}

// The hub-and-nodes wiring of this test, beside the harness's namespaces.
impl Net {
    /// A node namespace wired to the hub's bridge with `addr`/24.
    fn add_node(&mut self, name: &str, k: usize, addr: &str) -> Result<String, String> {
        let ns = self.add_ns(name)?;
        let hub = self.ns("hub");
        let (h, n) = (format!("vh{k}-{}", self.tag), format!("vn{k}-{}", self.tag));
        ip(&[
            "-n", &hub, "link", "add", &h, "type", "veth", "peer", "name", &n, "netns", &ns,
        ])?;
        ip(&["-n", &hub, "link", "set", &h, "master", "br0"])?;
        ip(&["-n", &hub, "link", "set", &h, "up"])?;
        ip(&["-n", &ns, "addr", "add", &format!("{addr}/24"), "dev", &n])?;
        ip(&["-n", &ns, "link", "set", &n, "up"])?;
        Ok(ns)
    }

    fn netem(&self, ns: &str, k: usize) -> bool {
        Command::new("ip")
            .args(["netns", "exec", ns, "tc", "qdisc", "add", "dev"])
            .arg(format!("vn{k}-{}", self.tag))
            .args(["root", "netem", "delay", "2ms"])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

fn setup(net: &mut Net) -> Result<(String, Vec<String>, bool), String> {
    let hub = net.add_ns("hub")?;
    ip(&["-n", &hub, "link", "add", "br0", "type", "bridge"])?;
    ip(&["-n", &hub, "link", "set", "br0", "up"])?;
    let gw = net.add_node("gw", 9, GATEWAY)?;
    let mut shards = Vec::new();
    let mut delayed = true;
    for (k, addr) in SHARDS.iter().enumerate() {
        let ns = net.add_node(&format!("s{k}"), k, addr)?;
        delayed &= net.netem(&ns, k);
        shards.push(ns);
    }
    Ok((gw, shards, delayed))
}

#[test]
fn multi_host_sharded_run() {
    let mut net = match Net::new("bmh") {
        Ok(net) => net,
        Err(e) => return skip(&e),
    };
    let (gw, shard_ns, delayed) = match setup(&mut net) {
        Ok(x) => x,
        // A container without CAP_SYS_ADMIN / CAP_NET_ADMIN: nothing can be tested here.
        Err(e) => return skip(&format!("cannot build the namespaces: {e}")),
    };
    if !delayed {
        let _ = writeln!(
            std::io::stderr(),
            "note: multi_host_sharded_run: tc netem unavailable, links run without added delay"
        );
    }
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let o = bearing_in(&gw)
        .args(["keygen", "--client-id", "SampleConfId", "--out"])
        .arg(d.join("keys"))
        .output()
        .expect("keygen");
    assert!(o.status.success(), "{}", text(&o));

    // Declared after `net`: dropped (killed) before the namespaces go.
    let server = Server::start(
        bearing_in(&gw)
            .args(["serve", "--listen", &format!("{GATEWAY}:8080")])
            .args(["--token-lifetime", "300s", "--client"])
            .arg(format!(
                "SampleConfId={}",
                d.join("keys/cert.pem").display()
            )),
    );
    let token_url = server.token_url.clone();
    assert!(
        token_url.starts_with(&format!("http://{GATEWAY}:8080/")),
        "{token_url:?}"
    );
    std::fs::write(
        d.join("target.yaml"),
        format!(
            "token_url: {token_url}\nclient_id: SampleConfId\nprivate_key: keys/private.pem\n\
             tls: {{ allow_http: true }}\n"
        ),
    )
    .expect("target");
    std::fs::write(
        d.join("profile.yaml"),
        "name: multihost\nduration: 3s\nusers: 6\nrate: 90/s\n\
         thresholds: ['rate >= 80/s', 'error_rate < 1%']\n\
         scenarios:\n  - { name: token, kind: token, pool: false }\n",
    )
    .expect("profile");

    let barrier = d.join("barrier");
    let spawn = |k: usize, ns: &str| {
        bearing_in(ns)
            .arg("load")
            .arg(d.join("profile.yaml"))
            .arg("--target")
            .arg(d.join("target.yaml"))
            .args(["--shard", &format!("{k}/3"), "--threads", "1", "-q"])
            .args(["--barrier-timeout", "30s", "--barrier-dir"])
            .arg(&barrier)
            .arg("--report-dir")
            .arg(d.join(format!("shard-{k}")))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn shard")
    };
    let mut shards = vec![spawn(0, &shard_ns[0]), spawn(1, &shard_ns[1])];
    // Shard 2 is late: it starts once the other two wait at the barrier, plus a second.
    let limit = Instant::now() + Duration::from_secs(30);
    while !(barrier.join("ready-0-of-3.json").is_file()
        && barrier.join("ready-1-of-3.json").is_file())
    {
        assert!(Instant::now() < limit, "shards 0 and 1 never got ready");
        if let Some(k) = (0..2).find(|k| shards[*k].try_wait().is_ok_and(|s| s.is_some())) {
            let o = shards.remove(k).wait_with_output().expect("output");
            panic!("shard {k} ended before the barrier: {}", text(&o));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    shards.push(spawn(2, &shard_ns[2]));
    for c in shards {
        let o = c.wait_with_output().expect("shard ran");
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }

    let dirs: Vec<_> = (0..3).map(|k| d.join(format!("shard-{k}"))).collect();
    let o = common::bearing()
        .args(["report", "merge"])
        .args(&dirs)
        .arg("--out")
        .arg(d.join("merged"))
        .args(["--output", "json"])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let info = &v["shards"];
    // The barrier held the early shards back: all three started within a few ms.
    assert!(
        info["start_skew_s"].as_f64().expect("skew") < 0.3,
        "{info:#}"
    );
    // A flat merged rate over the overlap, which is (nearly) the whole run.
    let ov = &info["overlap"];
    let secs = ov["seconds"].as_u64().expect("overlap seconds");
    assert!(secs >= 3, "{ov:#}");
    let rate = ov["count"].as_u64().expect("count") as f64 / secs as f64;
    assert!(
        (75.0..=105.0).contains(&rate),
        "overlap rate {rate:.1}/s: {ov:#}"
    );

    // Counts add up; percentiles are those of one histogram of every shard's samples.
    let m = json_file(&d.join("merged/summary.json"));
    let shard_summaries: Vec<Value> = dirs
        .iter()
        .map(|s| json_file(&s.join("summary.json")))
        .collect();
    for s in &shard_summaries {
        assert_eq!(s["target"].as_str(), Some(token_url.as_str()));
    }
    let sum: u64 = shard_summaries
        .iter()
        .map(|s| s["totals"]["token"]["count"].as_u64().expect("count"))
        .sum();
    assert_eq!(m["totals"]["token"]["count"].as_u64(), Some(sum));
    assert!(sum >= 240, "{sum} token requests in 3 s at 90/s");
    let mut all = BTreeMap::new();
    for s in &dirs {
        add_log(&s.join("intervals.hlog"), &mut all);
    }
    let l = &m["scenarios"][0]["phases"]["token"]["latency_us"]["corrected"];
    let h = &all["token.token.corrected"];
    let want = [h.value_at_quantile(0.5), h.value_at_quantile(0.99), h.max()];
    assert_eq!(
        ["p50", "p99", "max"].map(|k| l[k].as_u64().expect("µs")),
        want
    );
    if delayed {
        // Every request left through its shard's delayed link: at least 2 ms.
        assert!(l["min"].as_u64().expect("min") >= 2_000, "{l:#}");
    }
}
