//! Merging synthetic shard report sets, written by the real report writer: the merged run
//! equals one histogram holding every sample (count for count, percentile for percentile),
//! and every broken set is refused with the right [`Issue`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use hdrhistogram::Histogram;

use super::*;
use crate::profile::LoadProfile;
use crate::recorder::{Interval, encode};
use crate::report::summary::LoadSummary;
use crate::result::{RunResult, ScenarioResult};
use crate::stats::{LatencyStats, Phase, PhaseData, new_histogram, record};

const PROFILE: &str = "name: synthetic\nduration: 3s\nusers: 6\nrate: 330/s\n\
    thresholds: ['p99 < 10s', 'error_rate < 50%']\n\
    scenarios:\n\
    \x20 - { name: api, kind: api, weight: 2, thresholds: ['rate >= 300/s'] }\n\
    \x20 - { name: tok, kind: token }\n";

const BASE: u64 = 1_800_000_000;
const SECONDS: u64 = 3;

/// Each sample, as both figures: corrected (from the intended start) and uncorrected.
type Sample = (u64, u64);

/// One second of one phase: timed samples (value, ok) and untimed failures.
type Second = (Vec<(Sample, bool)>, u64);

/// What one shard did, sample by sample, so the expected merge can be computed apart.
struct ShardData {
    index: u32,
    /// Whole Unix second the shard's log counts from (shard 2 starts a second late).
    base: u64,
    /// `(scenario, phase) -> second past base -> (timed samples (value, ok), untimed failures)`.
    samples: BTreeMap<(usize, Phase), BTreeMap<u64, Second>>,
}

/// A deterministic xorshift stream per (shard, scenario, phase, second).
fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Shards of very different speed (shard 0 has a long tail), so averaging their
/// percentiles would be visibly wrong.
fn shard_data(index: u32) -> ShardData {
    let i = u64::from(index);
    let mut samples = BTreeMap::new();
    for (sc, phases) in [
        // The api scenario opens connections too (issue 15's connect and handshake phases).
        (
            0,
            &[Phase::Token, Phase::Api, Phase::Connect, Phase::Handshake][..],
        ),
        (1, &[Phase::Sign, Phase::Token][..]),
    ] {
        for &phase in phases {
            let per_sec = match (sc, phase) {
                (0, Phase::Api) => 100 + 10 * i,
                (0, Phase::Token) => 2,
                _ => 20 + i,
            };
            let mut by_sec = BTreeMap::new();
            for sec in 0..SECONDS {
                let mut next = rng((i << 40) | ((sc as u64) << 32) | ((phase as u64) << 16) | sec);
                let timed: Vec<(Sample, bool)> = (0..per_sec)
                    .map(|k| {
                        let base = 200 * (i + 1) * (i + 1);
                        let mut v = base + next() % (base * 4);
                        if index == 0 && k % 50 == 0 {
                            v += 50_000; // the tail
                        }
                        let corrected = v + next() % 1_000;
                        let ok = !(phase == Phase::Api && k % 17 == 5);
                        ((corrected, v), ok)
                    })
                    .collect();
                // Failures without an answer (connect errors): counted, never timed.
                let untimed = if phase == Phase::Api { 2 } else { 0 };
                by_sec.insert(sec, (timed, untimed));
            }
            samples.insert((sc, phase), by_sec);
        }
    }
    ShardData {
        index,
        base: BASE + u64::from(index == 2),
        samples,
    }
}

fn phase_data_of(timed: &[(Sample, bool)], untimed: u64) -> PhaseData {
    let mut d = PhaseData::default();
    for &((c, u), ok) in timed {
        record(&mut d.corrected, c);
        record(&mut d.uncorrected, u);
        d.count += 1;
        let status = if ok { 200 } else { 503 };
        *d.statuses.entry(status).or_default() += 1;
        if !ok {
            d.errors += 1;
            *d.errors_by_kind.entry("status_503".into()).or_default() += 1;
        }
    }
    if untimed > 0 {
        d.count += untimed;
        d.errors += untimed;
        *d.errors_by_kind.entry("connect".into()).or_default() += untimed;
    }
    d
}

/// The run result shard `d` would have produced, with the profile hash given.
fn run_result(d: &ShardData, count: u32, hash: &str) -> RunResult {
    let full = LoadProfile::from_yaml(PROFILE, "synthetic.yaml").expect("profile parses");
    let profile = full.for_shard(d.index, count);
    let scenarios = profile
        .scenarios
        .iter()
        .enumerate()
        .map(|(sc, spec)| {
            let mut phases: [PhaseData; Phase::COUNT] = Default::default();
            let mut intervals = Vec::new();
            for phase in Phase::ALL {
                let Some(by_sec) = d.samples.get(&(sc, phase)) else {
                    continue;
                };
                for (&sec, (timed, untimed)) in by_sec {
                    let pd = phase_data_of(timed, *untimed);
                    let pts = |h: &Histogram<u64>| {
                        [
                            h.value_at_quantile(0.5),
                            h.value_at_quantile(0.9),
                            h.value_at_quantile(0.99),
                            h.max(),
                        ]
                    };
                    intervals.push(Interval {
                        second: sec,
                        phase,
                        count: pd.count,
                        errors: pd.errors,
                        corrected: pts(&pd.corrected),
                        uncorrected: pts(&pd.uncorrected),
                        corrected_encoded: encode(&pd.corrected),
                        uncorrected_encoded: encode(&pd.uncorrected),
                    });
                    phases[phase as usize].merge(&pd);
                }
            }
            let main = phases[spec.kind.main_phase() as usize].count;
            ScenarioResult {
                spec: spec.clone(),
                users: 1,
                // What was asked was offered: the verdict sees no underrun.
                target_rate: Some(main as f64 / SECONDS as f64),
                planned: Some(main),
                started: main,
                phases,
                resumed_handshakes: 0,
                intervals,
                signing: None,
                tokens: None,
                storm: None,
                thresholds: Vec::new(),
            }
        })
        .collect();
    let offset = Duration::from_millis(250 + 100 * u64::from(d.index));
    let mut r = RunResult {
        profile,
        profile_hash: hash.to_owned(),
        shard: Some((d.index, count)),
        started_at: UNIX_EPOCH + Duration::from_secs(d.base) + offset,
        base_epoch_secs: d.base,
        start_offset: offset,
        elapsed: Duration::from_secs(SECONDS),
        target: "http://127.0.0.1:1/oauth/token".into(),
        tls_insecure: d.index == 1,
        scenarios,
        thresholds: Vec::new(),
        goose_overhead_ms: 1.0,
        partners: None,
    };
    r.evaluate_thresholds();
    r
}

fn hash() -> String {
    LoadProfile::from_yaml(PROFILE, "synthetic.yaml")
        .expect("profile parses")
        .hash_hex()
}

/// Writes shard `index` of `count` into `root/shard-<index>` and returns the directory.
fn write_shard(root: &Path, name: &str, d: &ShardData, count: u32, hash: &str) -> PathBuf {
    let dir = root.join(name);
    crate::report::write(&run_result(d, count, hash), None, &dir).expect("writes a report");
    dir
}

fn three_shards(root: &Path) -> (Vec<ShardData>, Vec<PathBuf>) {
    let data: Vec<ShardData> = (0..3).map(shard_data).collect();
    // Given out of order: the merge sorts by index.
    let dirs = [2, 0, 1]
        .iter()
        .map(|&i| write_shard(root, &format!("shard-{i}"), &data[i], 3, &hash()))
        .collect();
    (data, dirs)
}

fn read_summary(dir: &Path) -> LoadSummary {
    serde_json::from_slice(&std::fs::read(dir.join("summary.json")).expect("summary.json"))
        .expect("a summary")
}

fn assert_same_histogram(got: &Histogram<u64>, want: &Histogram<u64>, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: sample count");
    assert!(got == want, "{what}: histograms differ");
    for q in [0.0, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999, 1.0] {
        assert_eq!(
            got.value_at_quantile(q),
            want.value_at_quantile(q),
            "{what}: quantile {q}"
        );
    }
    assert_eq!((got.min(), got.max()), (want.min(), want.max()), "{what}");
}

// N=3: the merged run equals one histogram holding every sample of every shard, counts and
// errors are sums, the time series lines up on wall-clock seconds, and the thresholds are
// evaluated again on the merged data (a rate threshold no 1/3 share can meet passes).
#[test]
fn three_shards_merge_exactly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (data, dirs) = three_shards(tmp.path());
    let m = merge(&dirs).expect("merges");

    for (sc, name) in [(0, "api"), (1, "tok")] {
        let r = &m.result.scenarios[sc];
        assert_eq!(r.spec.name, name);
        for phase in Phase::ALL {
            let (mut c, mut u) = (new_histogram(), new_histogram());
            let (mut count, mut errors, mut series) = (0, 0, BTreeMap::<u64, u64>::new());
            for d in &data {
                for (sec, (timed, untimed)) in d.samples.get(&(sc, phase)).into_iter().flatten() {
                    let pd = phase_data_of(timed, *untimed);
                    for &((cv, uv), _) in timed {
                        record(&mut c, cv);
                        record(&mut u, uv);
                    }
                    count += pd.count;
                    errors += pd.errors;
                    *series.entry(d.base - BASE + sec).or_default() += pd.count;
                }
            }
            let got = &r.phases[phase as usize];
            let what = format!("{name}.{}", phase.name());
            assert_eq!((got.count, got.errors), (count, errors), "{what}");
            assert_same_histogram(&got.corrected, &c, &format!("{what} corrected"));
            assert_same_histogram(&got.uncorrected, &u, &format!("{what} uncorrected"));
            let merged_series: BTreeMap<u64, u64> = r
                .intervals
                .iter()
                .filter(|i| i.phase == phase)
                .map(|i| (i.second, i.count))
                .collect();
            assert_eq!(merged_series, series, "{what}: time series");
        }
    }
    // Shard 2 started a second late: its first second is the run's second 1.
    assert_eq!(m.result.base_epoch_secs, BASE);
    assert_eq!(
        m.result.scenarios[0]
            .intervals
            .iter()
            .map(|i| i.second)
            .max(),
        Some(SECONDS)
    );

    // The written summary says the same, percentile for percentile.
    let out = tmp.path().join("merged");
    let w = write(&m, &out).expect("writes");
    assert!(w.files.iter().any(|f| f == SHARDS_FILE), "{:?}", w.files);
    for f in [
        "summary.json",
        "intervals.hlog",
        "report.html",
        "api.api.hgrm",
    ] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let s = read_summary(&out);
    let shards: Vec<LoadSummary> = dirs.iter().map(|d| read_summary(d)).collect();
    for (name, p) in &s.scenarios[0].phases {
        let phase = Phase::from_name(name).expect("phase");
        let want = LatencyStats::from_histogram(
            m.result.scenarios[0].phases[phase as usize]
                .corrected
                .clone(),
        );
        let l = &p.latency_us.corrected;
        assert_eq!(
            (l.p50, l.p99, l.p999, l.max),
            (want.p50, want.p99, want.p999, want.max)
        );
        let sum: u64 = shards
            .iter()
            .map(|x| x.scenarios[0].phases[name].count)
            .sum();
        assert_eq!(p.count, sum, "{name}");
    }
    let api = &s.scenarios[0].phases["api"];
    let by_kind_sum: u64 = shards
        .iter()
        .map(|x| x.scenarios[0].phases["api"].errors_by_kind["connect"])
        .sum();
    assert_eq!(api.errors_by_kind["connect"], by_kind_sum);
    assert_eq!(
        api.statuses["503"],
        shards
            .iter()
            .map(|x| x.scenarios[0].phases["api"].statuses["503"])
            .sum::<u64>()
    );
    // Rates add: the merged window is the shards' common length.
    assert!(
        (api.rate
            - shards
                .iter()
                .map(|x| x.scenarios[0].phases["api"].rate)
                .sum::<f64>())
        .abs()
            < 1e-6
    );
    // Averaging the shards' p99s would have been wrong (shard 0's tail dominates).
    let averaged = shards
        .iter()
        .map(|x| x.scenarios[0].phases["api"].latency_us.corrected.p99)
        .sum::<u64>()
        / 3;
    assert_ne!(averaged, api.latency_us.corrected.p99);

    // Thresholds: no shard meets `rate >= 300/s` on its share; the merged run does.
    assert!(shards.iter().all(|x| !x.passed));
    assert!(s.passed, "{:#?}", s.thresholds);
    assert!(m.info.passed);
    assert_eq!(m.info.shard_count, 3);
    assert_eq!(
        m.info.shards.iter().map(|e| e.index).collect::<Vec<_>>(),
        [0, 1, 2]
    );
    assert!(
        (m.info.start_skew_s - 1.2).abs() < 1e-9,
        "{}",
        m.info.start_skew_s
    );
    assert!(s.shard.is_none());

    // The merged interval log is itself a complete single-run log: merging it alone works.
    let again = merge(std::slice::from_ref(&out)).expect("a merged report reads back");
    assert_eq!(
        again.result.scenarios[0].phases[Phase::Api as usize].corrected,
        m.result.scenarios[0].phases[Phase::Api as usize].corrected
    );
}

fn issues(dirs: &[PathBuf]) -> Vec<Issue> {
    match merge(dirs) {
        Ok(_) => panic!("merge should be refused"),
        Err(e) => e.issues,
    }
}

// A shard not given at all leaves a gap; a directory without a report is missing; both
// are exit-1 issues that name the shard.
#[test]
fn missing_shard_is_a_gap() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, dirs) = three_shards(tmp.path());
    let without_1: Vec<PathBuf> = dirs
        .iter()
        .filter(|d| !d.ends_with("shard-1"))
        .cloned()
        .collect();
    let got = issues(&without_1);
    assert_eq!(got, [Issue::Gap { index: 1, count: 3 }]);
    assert!(!got[0].is_unusable());
    assert!(got[0].to_string().contains("shard 1/3"), "{}", got[0]);

    std::fs::remove_file(tmp.path().join("shard-1/summary.json")).expect("rm");
    let e = merge(&dirs).expect_err("refused");
    assert!(!e.is_unusable());
    assert!(
        matches!(&e.issues[..], [
        Issue::Missing { dir, .. },
        Issue::Gap { index: 1, count: 3 },
    ] if dir.ends_with("shard-1")),
        "{:?}",
        e.issues
    );
    let msg = e.to_string();
    assert!(
        msg.contains("shard-1") && msg.contains("shard 1/3"),
        "{msg}"
    );

    let got = issues(&[tmp.path().join("shard-0"), tmp.path().join("nowhere")]);
    assert!(
        matches!(&got[0], Issue::Missing { dir, .. } if dir.ends_with("nowhere")),
        "{got:?}"
    );
}

// A shard that could not reach the gateway, or whose log was cut short, failed: exit 1,
// naming its index and directory.
#[test]
fn failed_shard_is_flagged() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (_, dirs) = three_shards(tmp.path());

    // Shard 1 never reached the gateway: every network attempt failed to connect.
    let mut down = shard_data(1);
    for ((_, phase), by_sec) in &mut down.samples {
        if *phase != Phase::Sign {
            for (timed, untimed) in by_sec.values_mut() {
                *untimed += timed.len() as u64;
                timed.clear();
            }
        }
    }
    let failed_dir = write_shard(tmp.path(), "down-1", &down, 3, &hash());
    let set = [
        tmp.path().join("shard-0"),
        failed_dir.clone(),
        tmp.path().join("shard-2"),
    ];
    let got = issues(&set);
    assert!(
        matches!(&got[..], [Issue::Failed { index: 1, dir, reason }]
            if *dir == failed_dir && reason.contains("could not reach the gateway")),
        "{got:?}"
    );
    assert!(!got[0].is_unusable());

    // Shard 2's interval log lost its last lines (the pod died while writing it).
    let log = tmp.path().join("shard-2/intervals.hlog");
    let text = std::fs::read_to_string(&log).expect("log");
    let cut: Vec<&str> = text.lines().collect();
    std::fs::write(&log, cut[..cut.len() - 4].join("\n") + "\n").expect("write");
    let got = issues(&dirs);
    assert!(
        matches!(&got[..], [Issue::Failed { index: 2, reason, .. }] if reason.contains("incomplete")),
        "{got:?}"
    );
    assert!(got[0].to_string().contains("shard 2 failed"), "{}", got[0]);

    // ... or stops mid-line ...
    std::fs::write(&log, &text[..text.len() - 10]).expect("write");
    assert!(
        matches!(&issues(&dirs)[..], [Issue::Failed { index: 2, reason, .. }] if reason.contains("mid-line")),
        "{:?}",
        issues(&dirs)
    );

    // ... or lost it altogether.
    std::fs::remove_file(&log).expect("rm");
    assert!(matches!(
        &issues(&dirs)[..],
        [Issue::Failed { index: 2, .. }]
    ));
}

// Shards of another profile, another N, or the same index twice are not one run: the input
// is unusable (exit 2), and the index nobody ran is still reported.
#[test]
fn mismatched_shards_are_unusable() {
    let tmp = tempfile::tempdir().expect("tmp");
    let data: Vec<ShardData> = (0..3).map(shard_data).collect();
    let s0 = write_shard(tmp.path(), "s0", &data[0], 3, &hash());
    let s1 = write_shard(tmp.path(), "s1", &data[1], 3, &hash());
    let s2 = write_shard(tmp.path(), "s2", &data[2], 3, &hash());

    let other = write_shard(tmp.path(), "other", &data[2], 3, "0123456789abcdef");
    let e = merge(&[s0.clone(), s1.clone(), other.clone()]).expect_err("refused");
    assert!(e.is_unusable());
    assert!(
        matches!(&e.issues[..], [Issue::Unusable { dir, reason }]
            if *dir == other && reason.contains("0123456789abcdef") && reason.contains("not one run")),
        "{:?}",
        e.issues
    );

    let dup = write_shard(tmp.path(), "dup", &data[0], 3, &hash());
    let e = merge(&[s0.clone(), dup.clone(), s2.clone()]).expect_err("refused");
    assert!(e.is_unusable());
    assert!(
        matches!(&e.issues[..], [Issue::Unusable { dir, reason }, Issue::Gap { index: 1, count: 3 }]
            if *dir == dup && reason.contains("appears twice")),
        "{:?}",
        e.issues
    );

    let four = write_shard(tmp.path(), "four", &data[2], 4, &hash());
    let e = merge(&[s0.clone(), s1.clone(), four.clone()]).expect_err("refused");
    assert!(
        e.issues
            .iter()
            .any(|i| matches!(i, Issue::Unusable { dir, reason }
            if *dir == four && reason.contains("disagree on N"))),
        "{:?}",
        e.issues
    );

    std::fs::write(s1.join("summary.json"), b"{ not json").expect("write");
    let e = merge(&[s0, s1.clone(), s2]).expect_err("refused");
    assert!(
        matches!(&e.issues[0], Issue::Unusable { dir, .. } if *dir == s1),
        "{:?}",
        e.issues
    );

    assert!(merge(&[]).expect_err("nothing to merge").is_unusable());
}

// Shard 2 started a second late (issue 19): the overlap is the one whole second when all
// three ran (Unix second BASE+2); thresholds are judged on it, and the seconds before and
// after are the ramp-in and ramp-out.
#[test]
fn overlap_window_of_a_late_shard() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (data, dirs) = three_shards(tmp.path());
    let m = merge_judged(&dirs, Judge::Overlap).expect("merges");
    let o = m.info.overlap.clone().expect("an overlap");
    assert_eq!(m.info.judged_on, Judge::Overlap);
    assert_eq!(o.seconds, 1);
    // s after the earliest start (BASE + 0.25 s).
    assert!((o.start_s - 1.75).abs() < 1e-6, "{o:?}");
    assert!((o.end_s - 2.75).abs() < 1e-6, "{o:?}");
    // Main phases in that second: api (timed + 2 untimed each) and tok's token phase.
    let want: u64 = data
        .iter()
        .map(|d| {
            let sec = BASE + 2 - d.base;
            let api = &d.samples[&(0, Phase::Api)][&sec];
            let tok = &d.samples[&(1, Phase::Token)][&sec];
            api.0.len() as u64 + api.1 + tok.0.len() as u64 + tok.1
        })
        .sum();
    assert_eq!(o.count, want);
    assert_eq!((o.ramp_in.seconds, o.ramp_out.seconds), (2, 1));
    // `rate >= 300/s` on api: judged on one second holding 336 attempts, not on the whole run.
    let api = &m.result.scenarios[0].thresholds[0];
    assert!(api.passed && (api.actual - 336.0).abs() < 1e-9, "{api:?}");
    // The whole-run judgement is still available and reports the same window.
    let w = merge_judged(&dirs, Judge::WholeRun).expect("merges");
    assert_eq!(w.info.overlap, Some(o));
    assert_eq!(w.info.judged_on, Judge::WholeRun);
}
