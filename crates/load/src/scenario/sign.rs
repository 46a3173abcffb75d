//! `sign`: signing alone, no network — the signing throughput figure. Each user signs with
//! its own parsed key, so users on different cores share no lock.

use std::time::Instant;

use super::{Driver, ScenarioShared};
use crate::recorder::{AttemptOutcome, Recorder};
use crate::stats::Phase;

pub(super) async fn run(
    sh: &ScenarioShared,
    partner: usize,
    driver: &mut Driver,
    rec: &mut Recorder,
    deadline: Instant,
) {
    let signer = match sh.target.signer_for(partner, true) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot build a signer");
            return;
        }
    };
    while let Some(intended) = driver.next(sh, deadline).await {
        let started = Instant::now();
        let outcome = match signer.sign() {
            Ok(_) => AttemptOutcome::Ok(None),
            Err(_) => AttemptOutcome::Failed {
                kind: "signing".into(),
                status: None,
            },
        };
        rec.record(Phase::Sign, intended, started, Instant::now(), &outcome);
        // Signing never awaits: let goose and the other users run between signatures.
        tokio::task::yield_now().await;
    }
}
