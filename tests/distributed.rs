//! Sharded load runs (issue 8), end to end and offline:
//!
//! - a local simulation: one `bearing serve` on 127.0.0.1, three `bearing load --shard i/3`
//!   processes against it at once, `bearing report merge` of their reports, checked against
//!   one histogram holding every sample of the shards' interval logs; then a shard made
//!   missing or failed, and the merge says which and exits 1;
//! - the Kubernetes manifests of `deploy/kubernetes/`, parsed document by document and held
//!   to the invariants a sharded run needs (no cluster, no kubectl);
//! - the `Dockerfile`: multi-stage, locked release build, non-root minimal runtime.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Stdio};

use common::hlog::add_log;
use common::{CLIENT, bearing, json_file, keygen, root, serve, text};
use serde_json::Value;

// Three shard processes against one sandbox, merged: the merged counts are the sums of the
// shards', the merged percentiles those of one histogram holding every shard's samples,
// the summary is schema-valid; a missing or cut-short shard makes the merge name it and
// exit 1.
#[test]
fn local_three_shard_run_merges_exactly() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let keys = d.join("keys");
    let (_, cert) = keygen(&keys, CLIENT);
    let server = serve(&[
        "--listen",
        "127.0.0.1:0",
        "--token-lifetime",
        "300s",
        "--client",
        &format!("{CLIENT}={cert}"),
    ]);
    std::fs::write(
        d.join("target.yaml"),
        format!(
            "token_url: {}\nclient_id: SampleConfId\nprivate_key: keys/private.pem\n\
             apis:\n  - {{ name: inventory, method: GET, url: {} }}\n",
            server.token_url, server.api_url
        ),
    )
    .expect("target");
    // Thresholds no 1/3 share can meet (`rate >= 100/s`) but the whole run does.
    std::fs::write(
        d.join("profile.yaml"),
        "name: sharded\nduration: 2s\nusers: 6\nrate: 150/s\n\
         thresholds: ['rate >= 100/s', 'error_rate < 5%', 'p99 < 5s']\n\
         scenarios:\n  - { name: api, kind: api, weight: 2 }\n  - { name: token, kind: token, pool: false }\n",
    )
    .expect("profile");

    let shards: Vec<PathBuf> = (0..3).map(|i| d.join(format!("shard-{i}"))).collect();
    let children: Vec<Child> = shards
        .iter()
        .enumerate()
        .map(|(i, out)| {
            bearing()
                .arg("load")
                .arg(d.join("profile.yaml"))
                .arg("--target")
                .arg(d.join("target.yaml"))
                .args(["--shard", &format!("{i}/3"), "--threads", "1", "-q"])
                .arg("--report-dir")
                .arg(out)
                // All three start their clock at the same second (issue 19).
                .arg("--barrier-dir")
                .arg(d.join("barrier"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn bearing load")
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().expect("shard ran");
        // A shard exits 0 although its share misses `rate >= 100/s`: the merge judges.
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    }
    let shard_summaries: Vec<Value> = shards
        .iter()
        .map(|s| json_file(&s.join("summary.json")))
        .collect();
    for (i, s) in shard_summaries.iter().enumerate() {
        assert_eq!(s["shard"]["index"], i);
        assert_eq!(s["passed"], false, "its share alone misses the rate");
    }

    let merged = d.join("merged");
    let o = bearing()
        .args(["report", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(&merged)
        .args(["--output", "json"])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let printed: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(printed["merged"], true);
    assert_eq!(printed["shards"]["shard_count"], 3);
    let m = json_file(&merged.join("summary.json"));
    assert_eq!(m["passed"], true, "{:#}", m["thresholds"]);
    assert!(m["shard"].is_null());
    let schema = json_file(&root().join("schemas/load-summary.schema.json"));
    let v = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = v.iter_errors(&m).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(v.is_valid(&printed["summary"]));
    let merge_schema = json_file(&root().join("schemas/load-merge.schema.json"));
    let mv = jsonschema::validator_for(&merge_schema).expect("schema compiles");
    for doc in [&printed["shards"], &json_file(&merged.join("shards.json"))] {
        let errors: Vec<String> = mv.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
    }

    // Counts: the merged totals are the sums of the shards'.
    let totals = m["totals"].as_object().expect("totals");
    assert!(totals.contains_key("api") && totals.contains_key("token"));
    for (phase, t) in totals {
        for field in ["count", "errors", "ok"] {
            let sum: u64 = shard_summaries
                .iter()
                .map(|s| s["totals"][phase][field].as_u64().unwrap_or(0))
                .sum();
            assert_eq!(t[field].as_u64(), Some(sum), "totals.{phase}.{field}");
        }
    }
    assert!(totals["api"]["count"].as_u64().expect("count") >= 150);

    // Percentiles: those of one histogram holding every shard's interval-log samples.
    let mut all = BTreeMap::new();
    for s in &shards {
        add_log(&s.join("intervals.hlog"), &mut all);
    }
    let mut checked = 0;
    for sc in m["scenarios"].as_array().expect("scenarios") {
        let name = sc["name"].as_str().expect("name");
        for (phase, p) in sc["phases"].as_object().expect("phases") {
            let count: u64 = shard_summaries
                .iter()
                .map(|s| {
                    s["scenarios"]
                        .as_array()
                        .and_then(|v| v.iter().find(|x| x["name"] == name))
                        .map_or(0, |x| x["phases"][phase]["count"].as_u64().unwrap_or(0))
                })
                .sum();
            assert_eq!(p["count"].as_u64(), Some(count), "{name}.{phase}");
            for figure in ["corrected", "uncorrected"] {
                let h = &all[&format!("{name}.{phase}.{figure}")];
                let l = &p["latency_us"][figure];
                let want = [
                    h.value_at_quantile(0.5),
                    h.value_at_quantile(0.9),
                    h.value_at_quantile(0.99),
                    h.value_at_quantile(0.999),
                    h.max(),
                    h.min(),
                ];
                let got =
                    ["p50", "p90", "p99", "p999", "max", "min"].map(|k| l[k].as_u64().expect("µs"));
                assert_eq!(got, want, "{name}.{phase}.{figure}");
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 6,
        "api.token, api.api, token.token (× 2 figures)"
    );
    let info = json_file(&merged.join("shards.json"));
    assert_eq!(info["shards"].as_array().map(Vec::len), Some(3));

    // Shard 1 never finished (no summary.json): the merge names it and exits 1.
    let kept = d.join("shard-1.summary.json");
    std::fs::rename(shards[1].join("summary.json"), &kept).expect("mv");
    let o = bearing()
        .args(["report", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(d.join("merged-2"))
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("shard-1") && err.contains("shard 1/3"),
        "{err}"
    );
    assert!(!d.join("merged-2").exists(), "nothing is written");
    std::fs::rename(&kept, shards[1].join("summary.json")).expect("mv back");

    // Shard 2's interval log was cut short: it failed, and the JSON output says so.
    let log = shards[2].join("intervals.hlog");
    let full = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<&str> = full.lines().collect();
    std::fs::write(&log, lines[..lines.len() - 3].join("\n") + "\n").expect("cut");
    let o = bearing()
        .args(["report", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(d.join("merged-3"))
        .args(["--output", "json"])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["merged"], false);
    assert_eq!(v["issues"][0]["kind"], "failed", "{v:#}");
    assert_eq!(v["issues"][0]["index"], 2, "{v:#}");

    // Another profile's shard is not part of this run: bad input (2).
    std::fs::write(&log, &full).expect("restore");
    let mut other = json_file(&shards[2].join("summary.json"));
    other["profile"]["hash"] = "0000000000000000".into();
    std::fs::write(
        shards[2].join("summary.json"),
        serde_json::to_vec(&other).expect("json"),
    )
    .expect("write");
    let o = bearing()
        .args(["report", "merge"])
        .args(&shards)
        .arg("--out")
        .arg(d.join("merged-4"))
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("not one run"),
        "{}",
        text(&o)
    );
}

// `report merge` refuses to write over a shard, and its help has examples and exit codes.
#[test]
fn merge_flags() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = dir.path().to_str().expect("utf-8");
    let o = bearing()
        .args(["report", "merge", s, "--out", s])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = bearing()
        .args(["report", "merge", "--help"])
        .output()
        .expect("help");
    let help = String::from_utf8_lossy(&o.stdout);
    assert!(help.contains("bearing report merge run/shard-0"), "{help}");
    assert!(help.contains("Exit codes"), "{help}");
    let o = bearing()
        .args(["report", "merge", "--out", s])
        .output()
        .expect("merge");
    assert_eq!(o.status.code(), Some(2), "no directory given: {}", text(&o));
}

// ---------------------------------------------------------------------------------------
// deploy/kubernetes/

/// Every YAML document of deploy/kubernetes/, with its file.
fn manifests() -> Vec<(String, Value)> {
    let dir = root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut docs = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let name = f.file_name().expect("name").to_string_lossy().into_owned();
        let parsed: Vec<Value> = serde_saphyr::from_multiple(&text)
            .unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"));
        for doc in parsed.into_iter().filter(|d| !d.is_null()) {
            docs.push((name.clone(), doc));
        }
    }
    docs
}

fn of_kind<'a>(docs: &'a [(String, Value)], kind: &str) -> Vec<&'a Value> {
    docs.iter()
        .filter(|(_, d)| d["kind"] == kind)
        .map(|(_, d)| d)
        .collect()
}

fn named<'a>(docs: &'a [(String, Value)], kind: &str, name: &str) -> &'a Value {
    of_kind(docs, kind)
        .into_iter()
        .find(|d| d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name}"))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn after<'a>(args: &'a [String], flag: &str) -> &'a str {
    let i = args
        .iter()
        .position(|a| a == flag)
        .unwrap_or_else(|| panic!("no {flag} in {args:?}"));
    &args[i + 1]
}

/// The pod-level invariants every workload must hold: non-root, no privilege escalation,
/// read-only root, limits, and volume mounts that name volumes of the pod (and objects of
/// the manifests).
fn check_pod(what: &str, pod: &Value, docs: &[(String, Value)]) {
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "{what}: runAsNonRoot");
    assert!(
        psc["runAsUser"].as_u64().is_some_and(|u| u != 0),
        "{what}: runAsUser"
    );
    assert_eq!(pod["automountServiceAccountToken"], false, "{what}");
    let volumes: BTreeMap<String, &Value> = pod["volumes"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| (x["name"].as_str().expect("volume name").to_owned(), x))
                .collect()
        })
        .unwrap_or_default();
    let mut mounted = BTreeSet::new();
    let containers = pod["containers"].as_array().expect("containers");
    assert!(!containers.is_empty(), "{what}");
    for c in containers {
        let cn = format!("{what}/{}", c["name"].as_str().expect("container name"));
        let sc = &c["securityContext"];
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{cn}");
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{cn}");
        assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"], "{cn}");
        assert_ne!(sc["runAsNonRoot"], false, "{cn}");
        for k in ["cpu", "memory"] {
            assert!(c["resources"]["limits"][k].is_string(), "{cn}: limits.{k}");
            assert!(
                c["resources"]["requests"][k].is_string(),
                "{cn}: requests.{k}"
            );
        }
        assert!(
            c["image"]
                .as_str()
                .is_some_and(|i| i.starts_with("bearing")),
            "{cn}: the image built from the Dockerfile"
        );
        for m in c["volumeMounts"].as_array().into_iter().flatten() {
            let n = m["name"].as_str().expect("mount name");
            assert!(volumes.contains_key(n), "{cn}: mounts unknown volume {n}");
            assert!(m["mountPath"].as_str().is_some_and(|p| p.starts_with('/')));
            mounted.insert(n.to_owned());
        }
        for e in c["env"].as_array().into_iter().flatten() {
            let r = &e["valueFrom"]["configMapKeyRef"];
            if !r.is_null() {
                let cm = named(docs, "ConfigMap", r["name"].as_str().expect("name"));
                let key = r["key"].as_str().expect("key");
                assert!(cm["data"][key].is_string(), "{cn}: no key {key}");
            }
        }
    }
    for (n, v) in &volumes {
        assert!(mounted.contains(n), "{what}: volume {n} is never mounted");
        if let Some(claim) = v["persistentVolumeClaim"]["claimName"].as_str() {
            named(docs, "PersistentVolumeClaim", claim);
        }
        if let Some(cm) = v["configMap"]["name"].as_str() {
            let cm = named(docs, "ConfigMap", cm);
            for item in v["configMap"]["items"].as_array().into_iter().flatten() {
                let key = item["key"].as_str().expect("key");
                assert!(cm["data"][key].is_string(), "{what}: no key {key}");
            }
        }
    }
}

fn mount_of<'a>(pod: &'a Value, volume: &str) -> &'a str {
    pod["containers"][0]["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == volume)
        .and_then(|m| m["mountPath"].as_str())
        .unwrap_or_else(|| panic!("{volume} not mounted"))
}

fn claim_volume(pod: &Value) -> (String, String) {
    let v = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["persistentVolumeClaim"].is_object())
        .expect("a PVC volume");
    (
        v["name"].as_str().expect("name").to_owned(),
        v["persistentVolumeClaim"]["claimName"]
            .as_str()
            .expect("claim")
            .to_owned(),
    )
}

// The manifests describe one sharded run: an Indexed Job of N pods, each `--shard
// $(JOB_COMPLETION_INDEX)/N` writing to its own folder of a ReadWriteMany volume, and a
// merge Job reading exactly those N folders from the same volume; every pod hardened.
#[test]
fn kubernetes_manifests_hold_the_sharding_invariants() {
    let docs = manifests();
    for (file, d) in &docs {
        if d["kind"] == "Kustomization" {
            continue;
        }
        assert!(d["apiVersion"].is_string(), "{file}: apiVersion");
        assert!(d["metadata"]["name"].is_string(), "{file}: metadata.name");
    }
    let jobs = of_kind(&docs, "Job");
    let indexed: Vec<&Value> = jobs
        .iter()
        .copied()
        .filter(|j| j["spec"]["completionMode"] == "Indexed")
        .collect();
    assert_eq!(indexed.len(), 1, "one Indexed Job runs the shards");
    let load = indexed[0];
    let spec = &load["spec"];
    let n = spec["completions"].as_u64().expect("completions");
    assert!(n >= 2, "a sharded run has N >= 2");
    assert_eq!(
        spec["parallelism"].as_u64(),
        Some(n),
        "parallelism = completions"
    );
    assert_eq!(
        spec["backoffLimitPerIndex"].as_u64(),
        Some(0),
        "a shard is not re-run later"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    check_pod("load job", pod, &docs);
    let c = &pod["containers"][0];
    let args = strings(&c["args"]);
    assert_eq!(args[0], "load");
    assert_eq!(
        after(&args, "--shard"),
        format!("$(JOB_COMPLETION_INDEX)/{n}"),
        "N of --shard = completions"
    );
    let env: Vec<&Value> = c["env"].as_array().expect("env").iter().collect();
    let index_env = env
        .iter()
        .find(|e| e["name"] == "JOB_COMPLETION_INDEX")
        .expect("JOB_COMPLETION_INDEX in env");
    assert_eq!(
        index_env["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.annotations['batch.kubernetes.io/job-completion-index']"
    );
    // Every `$(VAR)` of the args is a variable of the container.
    for a in &args {
        for var in a.split("$(").skip(1).filter_map(|s| s.split_once(')')) {
            assert!(
                env.iter().any(|e| e["name"] == var.0),
                "{a}: $({}) is not in env",
                var.0
            );
        }
    }
    assert!(
        env.iter().any(|e| e["name"] == "BEARING_PRIVATE_KEY"
            && e["valueFrom"]["secretKeyRef"]["name"].is_string()),
        "the key comes from a Secret"
    );
    let report_dir = after(&args, "--report-dir");
    assert!(
        report_dir.contains("$(JOB_COMPLETION_INDEX)"),
        "each shard has its own report folder: {report_dir}"
    );
    let (vol, claim) = claim_volume(pod);
    let reports = mount_of(pod, &vol);
    assert!(
        report_dir.starts_with(&format!("{reports}/")),
        "{report_dir}"
    );
    let pvc = named(&docs, "PersistentVolumeClaim", &claim);
    assert!(
        strings(&pvc["spec"]["accessModes"]).contains(&"ReadWriteMany".to_owned()),
        "pods on several nodes write the same volume"
    );
    // The profile and target the shards read are what bearing accepts.
    let profile_path = after(&args, "load");
    let cm_mount = mount_of(pod, "config");
    let cm = named(&docs, "ConfigMap", "bearing-run");
    let key = profile_path
        .strip_prefix(&format!("{cm_mount}/"))
        .expect("profile from the ConfigMap");
    let profile = bearing_load::LoadProfile::from_yaml(
        cm["data"][key].as_str().expect("profile text"),
        "configmap profile.yaml",
    )
    .expect("the ConfigMap's profile is valid");
    assert!(profile.is_open() || profile.users as u64 >= n);
    let target_key = after(&args, "--target")
        .strip_prefix(&format!("{cm_mount}/"))
        .expect("target from the ConfigMap");
    let tmp = tempfile::tempdir().expect("tmp");
    let tp = tmp.path().join("target.yaml");
    std::fs::write(&tp, cm["data"][target_key].as_str().expect("target text")).expect("write");
    bearing_auth::Target::from_file(&tp).expect("the ConfigMap's target is valid");

    // The merge Job reads exactly shard-0 … shard-(N-1) from the same volume.
    let merge = jobs
        .iter()
        .copied()
        .find(|j| {
            strings(&j["spec"]["template"]["spec"]["containers"][0]["args"])[..2]
                == ["report", "merge"]
        })
        .expect("a merge Job");
    assert_ne!(merge["spec"]["completionMode"], "Indexed");
    assert_eq!(merge["spec"]["backoffLimit"].as_u64(), Some(0));
    let mpod = &merge["spec"]["template"]["spec"];
    assert_eq!(mpod["restartPolicy"], "Never");
    check_pod("merge job", mpod, &docs);
    let margs = strings(&mpod["containers"][0]["args"]);
    let out_at = margs.iter().position(|a| a == "--out").expect("--out");
    let dirs: Vec<String> = margs[2..out_at].to_vec();
    let want: Vec<String> = (0..n)
        .map(|i| report_dir.replace("$(JOB_COMPLETION_INDEX)", &i.to_string()))
        .collect();
    assert_eq!(dirs, want, "the merge Job names the N shard folders");
    let (mvol, mclaim) = claim_volume(mpod);
    assert_eq!(mclaim, claim, "same volume");
    assert_eq!(mount_of(mpod, &mvol), reports, "mounted at the same path");
    assert!(margs[out_at + 1].starts_with(&format!("{reports}/")));
    assert!(margs.contains(&"--wait".to_owned()), "waits for the shards");

    // Every other workload is hardened too.
    for d in of_kind(&docs, "Deployment") {
        check_pod("deployment", &d["spec"]["template"]["spec"], &docs);
    }
    // The kustomization lists every manifest.
    let k = of_kind(&docs, "Kustomization");
    assert_eq!(k.len(), 1);
    let listed: BTreeSet<String> = strings(&k[0]["resources"]).into_iter().collect();
    let files: BTreeSet<String> = docs
        .iter()
        .filter(|(_, d)| d["kind"] != "Kustomization")
        .map(|(f, _)| f.clone())
        .collect();
    assert_eq!(listed, files);
}

// The image: a multi-stage build (locked release build, then a minimal runtime holding the
// binary and the scenarios only) that runs as a non-root user; the build context leaves
// out build output and reports.
#[test]
fn dockerfile_is_multi_stage_and_non_root() {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let stages: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.to_ascii_uppercase().starts_with("FROM "))
        .map(|(i, _)| i)
        .collect();
    assert!(stages.len() >= 2, "multi-stage");
    let builder = lines[stages[0]];
    let builder_name = builder
        .split_whitespace()
        .skip_while(|w| !w.eq_ignore_ascii_case("AS"))
        .nth(1)
        .expect("the build stage is named");
    assert!(text.contains("cargo build --release --locked"));
    let last = &lines[*stages.last().expect("stages")..];
    assert!(
        last[0].contains("distroless") || last[0].contains("-slim"),
        "minimal runtime: {}",
        last[0]
    );
    let user = last
        .iter()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    let user = user.split(':').next().expect("user").trim();
    assert!(!["root", "0", ""].contains(&user), "USER {user}");
    for l in last.iter().filter(|l| l.starts_with("COPY ")) {
        assert!(
            (l.contains(&format!("--from={builder_name}")) && l.contains("bearing"))
                || l.contains("scenarios/"),
            "the runtime holds only the binary and scenarios/: {l}"
        );
    }
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    let ignored: Vec<&str> = ignore.lines().map(str::trim).collect();
    for p in ["target/", "reports/", "fuzz/"] {
        assert!(ignored.contains(&p), ".dockerignore lacks {p}");
    }
}
