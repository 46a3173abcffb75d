//! Memory after 1,000,000 token issuances vs after 1,000 (issue 3 "Performance"): tokens
//! issued at 5,000/s of gateway-clock time, each for an assertion whose `jti` enters the
//! replay store, swept every second of clock time as the server's sweeper does. Prints
//! resident memory (VmRSS) at checkpoints. Each run uses fresh stores in the same process, so
//! the second run's baseline includes the first's freed (but retained by malloc) pages.
//!
//! Run: `cargo run --release -p bearing-gateway --example token_memory`.

use std::sync::Arc;

use bearing_auth::{Algorithm, Certificate, SigningKey};
use bearing_gateway::{Client, ReplayStore, TokenEntry, TokenStore};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Issues 1,000,000 tokens at 5,000/s of clock time; tokens live `lifetime_ms`, jtis are
/// kept `jti_keep_ms` (assertion `exp` + leeway). Prints RSS at checkpoints.
fn run(client: &Arc<Client>, lifetime_ms: i64, jti_keep_ms: i64) {
    println!("token lifetime {lifetime_ms} ms, jti kept {jti_keep_ms} ms, 5,000 issuances/s:");
    let (tokens, replay) = (TokenStore::new(), ReplayStore::new());
    let mut now: i64 = 1_795_824_000_000;
    let mut next_sweep = now + 1_000;
    let mut first = 0;
    for i in 1..=1_000_000u64 {
        // 5,000 issuances per simulated second: 1 ms every 5 issuances.
        if i % 5 == 0 {
            now += 1;
        }
        let jti = format!("jti-{i:016x}-abcdefghijkl");
        assert!(replay.check_and_insert("SampleConfId", &jti, now + jti_keep_ms, now));
        tokens.issue(TokenEntry {
            client: Arc::clone(client),
            scope: None,
            issued_ms: now,
            expires_ms: now + lifetime_ms,
            jti: Some(Arc::from(jti.as_str())),
        });
        if now >= next_sweep {
            tokens.sweep(now);
            replay.sweep(now);
            next_sweep = now + 1_000;
        }
        if matches!(i, 1_000 | 100_000 | 500_000 | 1_000_000) {
            let rss = rss_kib();
            if i == 1_000 {
                first = rss;
            }
            println!(
                "  after {i:>9} issuances: rss {rss:>7} KiB ({:.2}x), live tokens {}, jtis {}",
                rss as f64 / first.max(1) as f64,
                tokens.len(),
                replay.len()
            );
        }
    }
}

fn main() {
    let key = SigningKey::generate(Algorithm::ES256, 0).expect("key");
    let cert = Certificate::self_signed(&key, "SampleConfId", 1).expect("cert");
    let client =
        Arc::new(Client::new("SampleConfId", vec![cert], vec![], vec![], vec![]).expect("client"));
    // Short-lived tokens and assertions: the live window (~1,000 entries) is what 1,000
    // issuances hold, so memory must stay flat.
    run(&client, 200, 200);
    // The sandbox defaults (30 s tokens, 60 s assertions + 30 s leeway): memory follows the
    // live window (rate x retention) and stops growing once it is full.
    run(&client, 30_000, 90_000);
}
