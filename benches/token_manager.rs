//! The token manager's hot path: `TokenManager::token()` answered from the cache, with 1, 8
//! and 64 tasks asking at once on a two-worker tokio runtime. The cache is primed by one real
//! token request to a local endpoint on 127.0.0.1:0; no request is sent while measuring
//! (checked after each run).
//!
//! ```text
//! cargo bench --bench token_manager
//! cargo bench --bench token_manager -- --test   # CI smoke: each bench runs once
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::routing::post;
use bearing_auth::token::{ManagerConfig, TokenClient, TokenClientOptions, TokenManager};
use bearing_auth::{Algorithm, AssertionSigner, SigningKey, SystemClock};
use criterion::{BenchmarkId, Criterion, Throughput};

/// A token endpoint that answers every request with the same one-hour token.
async fn token_endpoint() -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/oauth/token",
        post(|| async {
            axum::Json(serde_json::json!({
                "access_token": "bench-access-token-0123456789abcdef",
                "token_type": "Bearer",
                "expires_in": 3600,
            }))
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    addr
}

fn manager(rt: &tokio::runtime::Runtime) -> TokenManager {
    rt.block_on(async {
        let addr = token_endpoint().await;
        let url: url::Url = format!("http://{addr}/oauth/token").parse().expect("url");
        let key = Arc::new(SigningKey::generate(Algorithm::ES256, 0).expect("key"));
        let signer = AssertionSigner::builder(key, "bench-client")
            .audience(url.as_str())
            .build()
            .expect("signer");
        let client = TokenClient::new(url, &TokenClientOptions::default()).expect("client");
        let m = TokenManager::new(
            signer,
            client,
            Arc::new(SystemClock),
            ManagerConfig::default(),
        )
        .expect("manager");
        m.token().await.expect("priming token request");
        m
    })
}

fn bench_cached_token(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let m = manager(&rt);
    let requests_before = m.stats().token_requests;
    let mut g = c.benchmark_group("token_manager_cached");
    g.sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for tasks in [1u64, 8, 64] {
        g.throughput(Throughput::Elements(1));
        g.bench_with_input(BenchmarkId::new("token", tasks), &tasks, |b, &tasks| {
            // `iters` calls in all, split over `tasks` concurrent tasks: the time per call
            // includes the contention between them.
            b.iter_custom(|iters| {
                let per_task = iters.div_ceil(tasks);
                rt.block_on(async {
                    let start = Instant::now();
                    let handles: Vec<_> = (0..tasks)
                        .map(|_| {
                            let m = m.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    std::hint::black_box(m.token().await.expect("cached token"));
                                }
                            })
                        })
                        .collect();
                    for h in handles {
                        h.await.expect("task");
                    }
                    let elapsed = start.elapsed();
                    // Scale to `iters` calls when rounding up added a few.
                    elapsed.mul_f64(iters as f64 / (per_task * tasks) as f64)
                })
            });
        });
    }
    g.finish();
    assert_eq!(
        m.stats().token_requests,
        requests_before,
        "a token request was sent while measuring cached reads"
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_cached_token(&mut c);
    c.final_summary();
}
