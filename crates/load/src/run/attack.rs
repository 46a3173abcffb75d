//! The goose side of a run: the attack configured in code (never from argv; no telnet or
//! WebSocket controller, no goose metrics), one goose scenario per profile scenario whose
//! single transaction runs our user loop, and its execution on the caller's runtime or on
//! one of its own.

use std::sync::Arc;
use std::time::Duration;

use goose::config::GooseConfiguration;
use goose::prelude::{GooseAttack, Scenario, Transaction, TransactionFunction};

use crate::error::{Error, Result};
use crate::profile::LoadProfile;
use crate::scenario::ScenarioShared;
use crate::target::LoadTarget;

/// Marks a goose user whose loop has run.
#[derive(Debug, Clone, Copy)]
struct Ran;

/// Builds the attack: goose keeps user lifecycle and scheduling, each user's first
/// transaction runs its scenario's loop to the deadline.
pub(super) fn build_attack(
    profile: &LoadProfile,
    target: &LoadTarget,
    shared: &[Arc<ScenarioShared>],
    timeout: Duration,
) -> Result<GooseAttack> {
    let mut c = GooseConfiguration::default();
    c.host = Some(target.base_url());
    c.users = Some(profile.users);
    match profile.ramp_users {
        Some(r) if profile.users >= 2 => c.increase_time = Some(format!("{}", r.as_secs().max(1))),
        // All users at once: goose starts `rate` users per second.
        _ => c.increase_rate = Some(format!("{}", (profile.users * 100).max(1000))),
    }
    // goose's own clock only has to outlast the start: each user's first transaction runs our
    // loop to our deadline, and goose waits for every user before it ends. (`iterations`
    // would do too, but then goose prints "N users launched." to stdout.)
    c.run_time = Some("1".into());
    c.no_telnet = true;
    c.no_autostart = false;
    c.no_print_metrics = true;
    c.no_error_summary = true;
    // Per-request, per-transaction and per-scenario goose metrics are off: we time requests
    // ourselves, and goose's bookkeeping is its bottleneck.
    c.no_metrics = true;
    c.no_gzip = true;
    c.quiet = 1;
    c.timeout = Some(format!("{}", timeout.as_secs_f64()));
    let mut attack =
        GooseAttack::initialize_with_config(c).map_err(|e| Error::Goose(e.to_string()))?;
    // A target with its own CA bundle or mTLS identity gets one client per user built with
    // it (goose's own client only knows the system roots). Built once here so a bad setting
    // fails before the run.
    target.user_client(timeout)?;
    let target = Arc::new(target.clone());
    for sh in shared {
        let shc = Arc::clone(sh);
        let target = Arc::clone(&target);
        let f: TransactionFunction = Arc::new(move |user| {
            let sh = Arc::clone(&shc);
            let first = user.get_session_data::<Ran>().is_none();
            if first {
                user.set_session_data(Ran);
            }
            let own = first.then(|| target.user_client(timeout).ok().flatten());
            let client = own.flatten().unwrap_or_else(|| user.client.clone());
            Box::pin(async move {
                if first {
                    Box::pin(crate::scenario::run_user(sh, client)).await;
                } else {
                    // Done; goose calls again until its exit message arrives (checked
                    // between transactions).
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(())
            })
        });
        let scenario = Scenario::new(&sh.spec.name)
            .set_weight(sh.spec.weight)
            .map_err(|e| Error::Goose(e.to_string()))?
            .register_transaction(Transaction::new(f).set_name(&sh.spec.name));
        attack = attack.register_scenario(scenario);
    }
    Ok(attack)
}

/// Runs the goose attack to its end, on the caller's runtime or on one of its own.
pub(super) async fn execute(attack: GooseAttack, worker_threads: Option<usize>) -> Result<()> {
    match worker_threads {
        // The users on a runtime of their own: on a small machine shared with the gateway,
        // fewer generator threads mean fewer context switches (oha is fastest with one too).
        Some(n) => {
            let exec = async move { Box::pin(attack.execute()).await };
            tokio::task::spawn_blocking(move || {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n.max(1))
                    .thread_name("bearing-load")
                    .enable_all()
                    .build()
                    .map_err(|e| Error::Goose(format!("cannot start the load runtime: {e}")))
                    .and_then(|rt| rt.block_on(exec).map_err(|e| Error::Goose(e.to_string())))
            })
            .await
            .map_err(|e| Error::Goose(format!("the load runtime failed: {e}")))
            .and_then(|r| r.map(drop))
        }
        None => Box::pin(attack.execute())
            .await
            .map(drop)
            .map_err(|e| Error::Goose(e.to_string())),
    }
}
