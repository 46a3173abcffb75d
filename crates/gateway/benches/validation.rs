//! The gateway's validation path per RS256 assertion: strict parsing, signature verification
//! with the verifier parsed at registration, claims checks and the replay-store insert — the
//! work `POST /oauth/token` does besides HTTP. Compare with `openssl speed -seconds 3 rsa2048`
//! verify/s run right after (issue 3 asks ≥ 0.8×). `verify_only` isolates the RSA cost.
//!
//! Run: `cargo bench -p bearing-gateway --bench validation`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{
    AssertionSigner, Certificate, Clock as _, GatewayProfile, ManualClock, SigningKey,
};
use bearing_gateway::{Client, Registry, ReplayStore, Validator};
use criterion::{Criterion, Throughput};

const TOKEN_URL: &str = "https://gw.example.com/oauth/token";
/// Distinct pre-signed assertions cycled through (each has its own jti).
const POOL: usize = 4096;

fn bench(c: &mut Criterion) {
    let key = Arc::new(SigningKey::generate(bearing_auth::Algorithm::RS256, 2048).expect("key"));
    let cert = Certificate::self_signed(&key, "SampleConfId", 30).expect("cert");
    let clock = ManualClock::starting_now();
    let signer = AssertionSigner::builder(Arc::clone(&key), "SampleConfId")
        .audience(TOKEN_URL)
        .ttl(Duration::from_secs(60))
        .clock(Arc::new(clock.clone()))
        .build()
        .expect("signer");
    let pool: Vec<String> = (0..POOL)
        .map(|_| signer.sign().expect("sign").into_compact())
        .collect();
    let registry = Registry::new();
    registry.insert(
        Client::new("SampleConfId", vec![cert.clone()], vec![], vec![], vec![]).expect("client"),
    );
    let validator = Validator::new(
        Arc::new(GatewayProfile::rfc_strict()),
        vec![TOKEN_URL.to_owned()],
    );
    let now = clock.now_millis();

    let mut g = c.benchmark_group("validation");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(8));
    let replay = ReplayStore::new();
    let mut i = 0usize;
    g.bench_function("rs256_parse_verify_claims_replay", |b| {
        b.iter(|| {
            i += 1;
            if i.is_multiple_of(POOL) {
                // Each pooled jti may be used once; start a new round (cost amortised over POOL).
                replay.clear();
            }
            let a = &pool[i % POOL];
            let ok = validator.validate(black_box(a), &registry, &replay, now, None);
            assert!(ok.is_ok());
        });
    });
    let verifier = cert
        .public_key()
        .verifier(bearing_auth::Algorithm::RS256)
        .expect("verifier");
    let a = &pool[0];
    let dot = a.rfind('.').expect("dot");
    let sig = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &a[dot + 1..],
    )
    .expect("sig");
    g.bench_function("rs256_verify_only", |b| {
        b.iter(|| assert!(verifier.verify(black_box(&a.as_bytes()[..dot]), black_box(&sig))));
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
