//! Every bundled suite against the sandbox under every shipped profile: each file in
//! `scenarios/profiles/` drives both sides (the sandbox behaves by it, the runner expects it),
//! so every case passes, or is skipped only because it does not apply (a `when` the profile
//! does not meet, TLS probes against plain HTTP on loopback). Profiles added later are
//! included automatically. The runs go in parallel, one sandbox each.

use std::path::PathBuf;
use std::time::Duration;

use bearing_auth::GatewayProfile;
use bearing_conform::{CaseOutcome, RunSummary};

use crate::support::{not_passed, run_bundled, sandbox};

/// The shipped profile files, sorted.
fn shipped_profiles() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/profiles");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("scenarios/profiles")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    files
}

/// Why a case may be skipped here: it does not apply to the profile, or it probes TLS and
/// the sandbox is plain HTTP on loopback.
fn allowed_skip(reason: &str) -> bool {
    reason.starts_with("not applicable under profile") || reason.contains("on loopback")
}

fn problems(s: &RunSummary) -> Vec<String> {
    s.cases
        .iter()
        .filter(|c| {
            !(c.outcome == CaseOutcome::Pass
                || (c.outcome == CaseOutcome::Skip && allowed_skip(&c.reason)))
        })
        .map(|c| format!("{} {}: {}", c.outcome, c.id, c.reason))
        .collect()
}

async fn run_one(path: PathBuf) -> (String, RunSummary) {
    let mut p = GatewayProfile::from_file(&path).expect("shipped profile parses");
    // The sandbox's short token lifetime, on both sides (as `bearing conform` does).
    p.access_token_lifetime = Duration::from_secs(30);
    let sb = sandbox(p.clone()).await;
    let s = run_bundled(sb.target.clone(), p).await;
    sb.gateway.shutdown().await;
    (path.display().to_string(), s)
}

// The matrix: every shipped profile × every bundled suite passes against its own sandbox.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_shipped_profile_passes_every_suite() {
    let files = shipped_profiles();
    let names: Vec<String> = files
        .iter()
        .map(|f| {
            f.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    for builtin in bearing_auth::BUILTIN_PROFILES {
        assert!(
            names.iter().any(|n| n == builtin),
            "{builtin}.yaml is not shipped"
        );
    }
    // Concurrent on this task; the runner spawns each case and the sandboxes serve on their own tasks.
    let runs = futures::future::join_all(files.into_iter().map(run_one)).await;
    let mut report = Vec::new();
    for (name, s) in runs {
        assert!(s.cases.len() >= 100, "{name}: only {} cases", s.cases.len());
        let bad = problems(&s);
        if !bad.is_empty() {
            report.push(format!(
                "under {name}:\n{}\n(all: {})",
                bad.join("\n"),
                not_passed(&s)
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n\n"));
}
