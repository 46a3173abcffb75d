//! Full assertion signing per algorithm: stock `jsonwebtoken::encode` next to bearing's
//! `AssertionSigner::sign`, so the cost of re-parsing the key inside every `encode` is
//! visible (issue 2 item 3, shared/reference/anchors.md).
//!
//! Both sides do the same work per iteration: fresh claims (new `jti`, `iat`, `exp`), JSON,
//! base64url and one signature. The `EncodingKey` is built once, outside the loop, from the
//! same PKCS#8 PEM; what `encode` still repeats per call is its own business.
//!
//! ```text
//! cargo bench -p bearing-bench --bench signing                 # full run, a few minutes
//! cargo bench -p bearing-bench --bench signing -- 'ES256|EdDSA'   # a regex filter on the bench ids
//! cargo bench -p bearing-bench --bench signing -- --test          # CI smoke: each bench runs once
//! ```
//! `scripts/bench-sign.sh` puts the results next to `openssl speed` from the same run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use bearing_auth::{Algorithm, AssertionSigner, SigningKey};
use criterion::{Criterion, SamplingMode, Throughput};
use jsonwebtoken::{EncodingKey, Header};

/// One row of the comparison: an algorithm and a key size.
struct Case {
    name: &'static str,
    alg: Algorithm,
    rsa_bits: usize,
}

const CASES: [Case; 6] = [
    Case {
        name: "RS256-2048",
        alg: Algorithm::RS256,
        rsa_bits: 2048,
    },
    Case {
        name: "RS256-3072",
        alg: Algorithm::RS256,
        rsa_bits: 3072,
    },
    Case {
        name: "RS256-4096",
        alg: Algorithm::RS256,
        rsa_bits: 4096,
    },
    Case {
        name: "PS256-2048",
        alg: Algorithm::PS256,
        rsa_bits: 2048,
    },
    Case {
        name: "ES256",
        alg: Algorithm::ES256,
        rsa_bits: 0,
    },
    Case {
        name: "EdDSA",
        alg: Algorithm::EdDSA,
        rsa_bits: 0,
    },
];

fn encoding_key(alg: Algorithm, pem: &[u8]) -> EncodingKey {
    let key = if alg.is_rsa() {
        EncodingKey::from_rsa_pem(pem)
    } else if alg == Algorithm::EdDSA {
        EncodingKey::from_ed_pem(pem)
    } else {
        EncodingKey::from_ec_pem(pem)
    };
    key.expect("jsonwebtoken accepts the PKCS#8 PEM bearing wrote")
}

fn bench_signing(c: &mut Criterion) {
    for case in &CASES {
        let key = Arc::new(SigningKey::generate(case.alg, case.rsa_bits).expect("key generation"));
        let signer = AssertionSigner::builder(Arc::clone(&key), "bearing-bench-client")
            .audience("https://gateway.bench.invalid/oauth/token")
            .algorithm(case.alg)
            .build()
            .expect("signer");
        let pem = key.to_pkcs8_pem();
        let encoding_key = encoding_key(case.alg, pem.as_bytes());
        let header = Header::new(case.alg.to_jsonwebtoken());

        let mut g = c.benchmark_group(case.name);
        g.throughput(Throughput::Elements(1));
        if case.alg.is_rsa() {
            // Milliseconds per iteration: flat sampling keeps the run short.
            g.sampling_mode(SamplingMode::Flat);
        }
        g.sample_size(20)
            .warm_up_time(Duration::from_secs(1))
            .measurement_time(Duration::from_secs(3));
        g.bench_function("jsonwebtoken_encode", |b| {
            b.iter(|| {
                let claims = signer.next_claims();
                black_box(jsonwebtoken::encode(&header, &claims, &encoding_key).expect("encode"))
            });
        });
        g.bench_function("bearing_sign", |b| {
            b.iter(|| black_box(signer.sign().expect("sign")));
        });
        g.finish();
    }
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench_signing(&mut c);
    c.final_summary();
}
