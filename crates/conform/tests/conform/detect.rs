//! `profile detect` against an in-process sandbox behaving by each shipped profile: the
//! profile is ranked first (a tie only with profiles that agree on every probed knob) and
//! every probed knob reproduces the profile's value; the observed YAML loads as a profile.

use bearing_auth::GatewayProfile;
use bearing_conform::{DetectConfig, detect};

use crate::support::sandbox;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detect_ranks_each_shipped_profile_first_and_reproduces_it() {
    let shipped: Vec<GatewayProfile> = bearing_auth::shipped::load_all()
        .expect("shipped profiles")
        .into_iter()
        .map(|s| s.profile)
        .collect();
    let mut ties = Vec::new();
    for p in &shipped {
        let sb = sandbox(p.clone()).await;
        let d = detect(&sb.target, &shipped, DetectConfig::default())
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", p.name));
        sb.gateway.shutdown().await;
        let own = d.ranking.iter().find(|r| r.name == p.name).expect("ranked");
        assert!(
            own.differs.is_empty(),
            "{}: detect departs from the profile on {:?}\n{:#?}",
            p.name,
            own.differs,
            d.observations
        );
        assert_eq!(
            own.matches, d.ranking[0].matches,
            "{} not ranked first",
            p.name
        );
        assert!(
            own.compared >= 20,
            "{}: only {} knobs probed",
            p.name,
            own.compared
        );
        assert!(d.probes <= 300, "{}: {} requests", p.name, d.probes);
        let yaml = d.to_yaml().expect("yaml");
        let back = GatewayProfile::from_yaml_str(&yaml, "observed.yaml").expect("observed loads");
        assert_eq!(back, d.profile);
        let tied: Vec<&str> = d
            .ranking
            .iter()
            .filter(|r| r.name != p.name && r.matches == own.matches)
            .map(|r| r.name.as_str())
            .collect();
        if !tied.is_empty() {
            ties.push(format!("{} ~ {}", p.name, tied.join(", ")));
        }
    }
    // Every shipped profile is told apart from every other by probing alone.
    assert!(ties.is_empty(), "indistinguishable by probing: {ties:?}");
}

// The observed profile works as --profile: the bundled suites pass against the same gateway
// judged by it (two distinctive profiles; the full matrix runs in the shipped-profile tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observed_profile_passes_the_suites_against_the_same_gateway() {
    let shipped: Vec<GatewayProfile> = bearing_auth::shipped::load_all()
        .expect("shipped profiles")
        .into_iter()
        .map(|s| s.profile)
        .collect();
    for name in ["hydra", "apigee"] {
        let p = shipped.iter().find(|p| p.name == name).expect("shipped");
        let sb = sandbox(p.clone()).await;
        let d = detect(&sb.target, &shipped, DetectConfig::default())
            .await
            .expect("detect");
        let yaml = d.to_yaml().expect("yaml");
        let observed = GatewayProfile::from_yaml_str(&yaml, "observed.yaml").expect("loads");
        let s = crate::support::run_bundled(sb.target.clone(), observed).await;
        sb.gateway.shutdown().await;
        assert_eq!(
            s.counts.fail,
            0,
            "{name}: {}",
            crate::support::not_passed(&s)
        );
        assert_eq!(
            s.counts.error,
            0,
            "{name}: {}",
            crate::support::not_passed(&s)
        );
    }
}
