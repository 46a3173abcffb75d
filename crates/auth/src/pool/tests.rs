//! Tests of the assertion pool: exactly-once hand-out, staleness with a ManualClock,
//! capacity, waits, shutdown, and a property test over random take/advance sequences.

use std::collections::HashSet;

use proptest::prelude::*;

use super::*;
use crate::alg::Algorithm;
use crate::clock::{Clock as _, ManualClock};
use crate::key::SigningKey;

const T0: i64 = 1_700_000_000_000;

fn signer(alg: Algorithm, clock: &ManualClock) -> AssertionSigner {
    let key = Arc::new(SigningKey::generate(alg, 2048).expect("key"));
    AssertionSigner::builder(key, "pool-client")
        .audience("https://gw.example/oauth/token")
        .ttl(Duration::from_secs(60))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("signer")
}

fn config(clock: &ManualClock, workers: usize, capacity: usize) -> PoolConfig {
    PoolConfig {
        capacity,
        workers,
        margin: Duration::from_secs(10),
        clock: Arc::new(clock.clone()),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// Polls `cond` every millisecond for up to 10 s (readiness polling, not a fixed sleep).
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

// Sequential takes get distinct, fresh assertions; the counters add up.
#[test]
fn hands_out_each_assertion_once() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::ES256, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 2, 16)).expect("pool");
    let rt = runtime();
    let mut seen = HashSet::new();
    for _ in 0..200 {
        let a = rt.block_on(pool.take()).expect("take");
        assert!(a.exp() * 1000 - 10_000 > clock.now_millis());
        assert!(
            seen.insert(a.jti().expect("jti").to_owned()),
            "jti handed out twice"
        );
    }
    let st = pool.stats();
    assert_eq!(st.handed_out, 200);
    assert!(st.minted >= 200);
    assert!(st.fill_rate_per_sec > 0.0);
    assert_eq!(st.sign_errors, 0);
}

// The pool stops at its capacity: workers hold at most one assertion each beyond it.
#[test]
fn bounded_by_capacity() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::EdDSA, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 2, 8)).expect("pool");
    wait_until("a full pool", || pool.len() == 8);
    wait_until("workers blocked on the full pool", || {
        pool.stats().minted >= 10
    });
    let st = pool.stats();
    assert_eq!(st.ready, 8);
    assert!(
        st.minted <= 10,
        "minted {} with capacity 8 and 2 workers",
        st.minted
    );
}

// After stop_minting, what is ready is still handed out, nothing more is minted, and an
// empty pool answers with an error at once instead of waiting.
#[test]
fn stop_minting_drains_then_fails() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::EdDSA, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 2, 8)).expect("pool");
    wait_until("a full pool", || pool.len() == 8);
    pool.stop_minting();
    wait_until("workers gone", || pool.is_stopped());
    let minted = pool.stats().minted;
    let ready = pool.len();
    assert!(ready >= 8, "{ready}");
    let rt = runtime();
    let mut seen = HashSet::new();
    for _ in 0..ready {
        let a = rt.block_on(pool.take()).expect("a ready assertion");
        assert!(seen.insert(a.jti().expect("jti").to_owned()));
    }
    let err = rt.block_on(pool.take()).expect_err("exhausted");
    assert!(err.to_string().contains("exhausted"), "{err}");
    assert_eq!(
        pool.stats().minted,
        minted,
        "nothing minted after stop_minting"
    );
}

// Once exp - margin has passed, ready assertions are discarded and counted, never handed out.
#[test]
fn stale_assertions_are_discarded() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::ES256, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 1, 8)).expect("pool");
    wait_until("a full pool", || pool.len() == 8);
    // exp = T0 + 60 s, margin 10 s: at T0 + 50 s every one of them is stale.
    clock.advance(Duration::from_secs(50));
    let a = runtime().block_on(pool.take()).expect("take");
    assert!(
        a.exp() * 1000 - 10_000 > clock.now_millis(),
        "a stale assertion was handed out"
    );
    assert_eq!(a.exp(), (T0 + 50_000) / 1000 + 60);
    assert!(pool.stats().discarded_stale >= 8, "{:?}", pool.stats());
}

// A consumer that finds the pool empty waits for a worker, and the wait is counted.
#[test]
fn waits_are_counted() {
    let clock = ManualClock::new(T0);
    // RSA: the first signature takes far longer than the first take() call.
    let s = signer(Algorithm::RS256, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 1, 1)).expect("pool");
    let rt = runtime();
    for _ in 0..3 {
        rt.block_on(pool.take()).expect("take");
    }
    let st = pool.stats();
    assert!(st.consumer_waits >= 1, "{st:?}");
    assert!(st.consumer_wait_micros > 0, "{st:?}");
    assert_eq!(st.handed_out, 3);
}

// Many concurrent consumers on a multi-thread runtime never share an assertion.
#[test]
fn concurrent_consumers_get_distinct_assertions() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::EdDSA, &clock);
    let pool = Arc::new(AssertionPool::from_signer(&s, config(&clock, 2, 4)).expect("pool"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let jtis = rt.block_on(async {
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let pool = Arc::clone(&pool);
                tokio::spawn(async move {
                    let mut v = Vec::new();
                    for _ in 0..50 {
                        v.push(
                            pool.take()
                                .await
                                .expect("take")
                                .jti()
                                .expect("jti")
                                .to_owned(),
                        );
                    }
                    v
                })
            })
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    });
    let unique: HashSet<_> = jtis.iter().collect();
    assert_eq!(unique.len(), 400);
    assert_eq!(pool.stats().handed_out, 400);
}

// After shutdown every worker has stopped and take() is an error, not a hang.
#[test]
fn shutdown_stops_workers() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::ES256, &clock);
    let pool = AssertionPool::from_signer(&s, config(&clock, 2, 4)).expect("pool");
    pool.shutdown();
    assert!(pool.is_stopped());
    // Whatever was ready may still be taken; after that, an error.
    let rt = runtime();
    for _ in 0..5 {
        if rt.block_on(pool.take()).is_err() {
            return;
        }
    }
    panic!("take() kept succeeding after shutdown");
}

// Settings that cannot work are refused, naming the field.
#[test]
fn config_is_validated() {
    let clock = ManualClock::new(T0);
    let s = signer(Algorithm::EdDSA, &clock);
    let mut c = config(&clock, 1, 4);
    c.margin = Duration::from_secs(60);
    let e = AssertionPool::from_signer(&s, c).expect_err("margin >= ttl");
    assert!(e.to_string().contains("margin"), "{e}");
    let e = AssertionPool::from_signer(&s, config(&clock, 1, 0)).expect_err("capacity 0");
    assert!(e.to_string().contains("capacity"), "{e}");
    let e = AssertionPool::from_signer(&s, config(&clock, 0, 4)).expect_err("no workers");
    assert!(e.to_string().contains("workers"), "{e}");
}

#[derive(Debug, Clone)]
enum Op {
    Take,
    TryTake,
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => Just(Op::Take),
        3 => Just(Op::TryTake),
        1 => (0u64..70_000).prop_map(Op::Advance),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    // Whatever the interleaving of takes and clock jumps: never the same jti twice,
    // never an assertion whose exp - margin has passed.
    #[test]
    fn never_twice_never_stale(ops in proptest::collection::vec(op(), 1..60), cap in 1usize..6) {
        let clock = ManualClock::new(T0);
        let s = signer(Algorithm::EdDSA, &clock);
        let pool = AssertionPool::from_signer(&s, config(&clock, 2, cap)).expect("pool");
        let rt = runtime();
        let mut seen = HashSet::new();
        for op in ops {
            let got = match op {
                Op::Take => Some(rt.block_on(pool.take()).expect("take")),
                Op::TryTake => pool.try_take(),
                Op::Advance(ms) => {
                    clock.advance(Duration::from_millis(ms));
                    None
                }
            };
            if let Some(a) = got {
                prop_assert!(a.exp() * 1000 - 10_000 > clock.now_millis(), "stale: exp {}", a.exp());
                prop_assert!(seen.insert(a.jti().expect("jti").to_owned()), "jti twice");
            }
        }
        let st = pool.stats();
        prop_assert_eq!(st.handed_out, u64::try_from(seen.len()).expect("count"));
    }
}
