//! JWT libraries side by side, sign and verify, per algorithm, in one run with `openssl
//! speed` (issue 20): bearing (`AssertionSigner::sign`; the sandbox's validation path),
//! stock `jsonwebtoken` `encode`/`decode` as its README shows them (keys built once),
//! aws-lc-rs raw (key parsed once, a ready signing input), `ring` raw (the same; its RSA and
//! ECDSA verify parse the public key per call, as ring's API does), each as a ratio to
//! `openssl speed -elapsed` for the same primitive, one core, rounds alternating with
//! openssl. Allocations per operation come from a counting global allocator (`stats_alloc`,
//! installed for this benchmark binary only), counted over a separate batch.
//!
//! ```text
//! cargo bench -p bearing-bench --bench libraries                 # 3 s per figure, 2 rounds
//! BENCH_SECONDS=1 ROUNDS=1 cargo bench -p bearing-bench --bench libraries
//! cargo bench -p bearing-bench --bench libraries -- --test      # smoke: tiny run
//! ```
//! `scripts/bench-libraries.sh` runs it and keeps the table and the JSON.

use std::alloc::System;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bearing_auth::{Algorithm, SigningKey};
use bearing_bench::{AUDIENCE, CLIENT_ID, Pool, Sandbox};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// A library's operation: one call signs or verifies one thing.
type Op<'a> = Box<dyn FnMut() + 'a>;

struct Case {
    name: &'static str,
    alg: Algorithm,
    bits: usize,
    openssl: &'static str,
}

const CASES: [Case; 3] = [
    Case {
        name: "RS256-2048",
        alg: Algorithm::RS256,
        bits: 2048,
        openssl: "rsa2048",
    },
    Case {
        name: "ES256",
        alg: Algorithm::ES256,
        bits: 0,
        openssl: "ecdsap256",
    },
    Case {
        name: "EdDSA",
        alg: Algorithm::EdDSA,
        bits: 0,
        openssl: "ed25519",
    },
];

/// The claims `jsonwebtoken::decode` deserialises into (its README's `Claims` struct).
#[derive(Debug, serde::Deserialize)]
#[expect(dead_code, reason = "decoded to be validated, not read")]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
}

/// One measured figure.
#[derive(Debug, Clone, serde::Serialize)]
struct Row {
    alg: &'static str,
    op: &'static str,
    library: &'static str,
    per_sec: Vec<f64>,
    allocs_per_op: f64,
    bytes_per_op: f64,
    on_cpu_share: Vec<f64>,
    note: &'static str,
}

fn rate(secs: Duration, op: &mut Op<'_>) -> (f64, f64) {
    let cpu0 = bearing_bench::on_cpu_ns();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < secs {
        for _ in 0..16 {
            op();
        }
        n += 16;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu = cpu0
        .zip(bearing_bench::on_cpu_ns())
        .map_or(f64::NAN, |(a, b)| (b.saturating_sub(a)) as f64 / 1e9);
    (n as f64 / wall, cpu / wall)
}

fn allocations(op: &mut Op<'_>) -> (f64, f64) {
    const N: usize = 256;
    op();
    let region = Region::new(GLOBAL);
    for _ in 0..N {
        op();
    }
    let c = region.change();
    (
        c.allocations as f64 / N as f64,
        c.bytes_allocated as f64 / N as f64,
    )
}

fn jwt_alg(a: Algorithm) -> jsonwebtoken::Algorithm {
    a.to_jsonwebtoken()
}

/// Every library's operations for one case; `None` where a library lacks the algorithm or
/// refuses the key.
#[expect(
    clippy::too_many_lines,
    reason = "one list of operations per library, read together"
)]
fn ops<'a>(
    c: &Case,
    key: &'a Arc<SigningKey>,
    sandbox: &'a Sandbox,
    pool: &'a Pool,
) -> Vec<(&'static str, &'static str, &'static str, Option<Op<'a>>)> {
    use aws_lc_rs::signature as aws;
    use ring::signature as rs;

    let signer = bearing_bench::signer(Arc::clone(key), c.alg).expect("signer");
    let signer: &'a _ = Box::leak(Box::new(signer));
    let pem = key.to_pkcs8_pem();
    let der = key.pkcs8_der().expose().to_vec();
    let public = sandbox.cert.public_key().bytes().to_vec();
    let first = pool.assertions[0].clone();
    let dot = first.rfind('.').expect("a compact JWS");
    let msg = first.as_bytes()[..dot].to_vec();
    let sig = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &first[dot + 1..],
    )
    .expect("signature");
    let (msg, sig, public, der) = (leak(msg), leak(sig), leak(public), leak(der));
    let header = Header::new(jwt_alg(c.alg));
    let enc = match c.alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()),
        Algorithm::ES256 => EncodingKey::from_ec_pem(pem.as_bytes()),
        _ => EncodingKey::from_ed_pem(pem.as_bytes()),
    }
    .expect("jsonwebtoken reads the PKCS#8 PEM");
    let dec = match c.alg {
        Algorithm::RS256 => DecodingKey::from_rsa_der(public),
        Algorithm::ES256 => DecodingKey::from_ec_der(public),
        _ => DecodingKey::from_ed_der(public),
    };
    let mut validation = Validation::new(jwt_alg(c.alg));
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[CLIENT_ID]);
    let rng = ring::rand::SystemRandom::new();

    let mut v: Vec<(&str, &str, &str, Option<Op<'a>>)> = Vec::new();
    // Sign.
    v.push((
        "sign",
        "bearing",
        "full assertion: claims, JSON, base64url, signature",
        Some(Box::new(move || {
            black_box(signer.sign().expect("sign"));
        })),
    ));
    v.push((
        "sign",
        "jsonwebtoken",
        "encode(&header, &claims, &key), key built once",
        Some(Box::new(move || {
            let claims = signer.next_claims();
            black_box(jsonwebtoken::encode(&header, &claims, &enc).expect("encode"));
        })),
    ));
    let aws_sign: Option<Op<'a>> = match c.alg {
        Algorithm::RS256 => aws::RsaKeyPair::from_pkcs8(der).ok().map(|k| {
            let rng = aws_lc_rs::rand::SystemRandom::new();
            let mut out = vec![0u8; k.public_modulus_len()];
            Box::new(move || {
                k.sign(&aws::RSA_PKCS1_SHA256, &rng, msg, &mut out)
                    .expect("sign");
                black_box(&out);
            }) as Op<'a>
        }),
        Algorithm::ES256 => {
            aws::EcdsaKeyPair::from_pkcs8(&aws::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .ok()
                .map(|k| {
                    let rng = aws_lc_rs::rand::SystemRandom::new();
                    Box::new(move || {
                        black_box(k.sign(&rng, msg).expect("sign"));
                    }) as Op<'a>
                })
        }
        _ => aws::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .ok()
            .map(|k| {
                Box::new(move || {
                    black_box(k.sign(msg));
                }) as Op<'a>
            }),
    };
    v.push((
        "sign",
        "aws-lc-rs raw",
        "signature over a ready signing input",
        aws_sign,
    ));
    let ring_sign: Option<Op<'a>> = match c.alg {
        Algorithm::RS256 => rs::RsaKeyPair::from_pkcs8(der).ok().map(|k| {
            let rng = rng.clone();
            let mut out = vec![0u8; k.public().modulus_len()];
            Box::new(move || {
                k.sign(&rs::RSA_PKCS1_SHA256, &rng, msg, &mut out)
                    .expect("sign");
                black_box(&out);
            }) as Op<'a>
        }),
        Algorithm::ES256 => {
            rs::EcdsaKeyPair::from_pkcs8(&rs::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
                .ok()
                .map(|k| {
                    let rng = rng.clone();
                    Box::new(move || {
                        black_box(k.sign(&rng, msg).expect("sign"));
                    }) as Op<'a>
                })
        }
        _ => rs::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
            .ok()
            .map(|k| {
                Box::new(move || {
                    black_box(k.sign(msg));
                }) as Op<'a>
            }),
    };
    v.push((
        "sign",
        "ring raw",
        "signature over a ready signing input",
        ring_sign,
    ));
    // Verify.
    let now = pool.now_ms;
    let mut i = 0usize;
    v.push((
        "verify",
        "bearing",
        "the sandbox's validation path: parse, header, issuer, signature, claims, replay store",
        Some(Box::new(move || {
            if i == pool.assertions.len() {
                sandbox.replay.clear();
                i = 0;
            }
            sandbox.validate(&pool.assertions[i], now).expect("valid");
            i += 1;
        })),
    ));
    let mut j = 0usize;
    v.push((
        "verify",
        "jsonwebtoken",
        "decode::<Claims>(&token, &key, &validation), key built once; no replay store",
        Some(Box::new(move || {
            j = (j + 1) % pool.assertions.len();
            black_box(
                jsonwebtoken::decode::<Claims>(&pool.assertions[j], &dec, &validation)
                    .expect("decode"),
            );
        })),
    ));
    let aws_params: &'static dyn aws::VerificationAlgorithm = match c.alg {
        Algorithm::RS256 => &aws::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::ES256 => &aws::ECDSA_P256_SHA256_FIXED,
        _ => &aws::ED25519,
    };
    let aws_verify = aws::ParsedPublicKey::new(aws_params, public).ok().map(|k| {
        Box::new(move || {
            assert!(k.verify_sig(msg, sig).is_ok());
        }) as Op<'a>
    });
    v.push((
        "verify",
        "aws-lc-rs raw",
        "signature only, public key parsed once",
        aws_verify,
    ));
    let ring_params: &'static dyn rs::VerificationAlgorithm = match c.alg {
        Algorithm::RS256 => &rs::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::ES256 => &rs::ECDSA_P256_SHA256_FIXED,
        _ => &rs::ED25519,
    };
    let ring_key = rs::UnparsedPublicKey::new(ring_params, public);
    v.push((
        "verify",
        "ring raw",
        "signature only (ring parses the public key per call)",
        Some(Box::new(move || {
            assert!(ring_key.verify(msg, sig).is_ok());
        })),
    ));
    v
}

fn leak(v: Vec<u8>) -> &'static [u8] {
    Box::leak(v.into_boxed_slice())
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() {
    let smoke = std::env::args().any(|a| a == "--test");
    let env = |k: &str, d: f64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let secs = Duration::from_secs_f64(if smoke {
        0.05
    } else {
        env("BENCH_SECONDS", 3.0)
    });
    let rounds = if smoke {
        1
    } else {
        env("ROUNDS", 2.0) as usize
    };
    let openssl = !smoke && bearing_bench::openssl_version().is_some();
    let mut rows: Vec<Row> = Vec::new();
    let mut ossl_rows: Vec<(&str, Vec<f64>, Vec<f64>)> = Vec::new();
    let mut prepared = Vec::new();
    for c in &CASES {
        let key = Arc::new(SigningKey::generate(c.alg, c.bits).expect("key"));
        let sandbox = Sandbox::new(&key, c.alg).expect("sandbox");
        let signer = bearing_bench::signer(Arc::clone(&key), c.alg).expect("signer");
        let pool = Pool::sign(&signer, 1024).expect("pool");
        prepared.push((key, sandbox, pool));
    }
    let mut all_ops: Vec<Vec<_>> = CASES
        .iter()
        .zip(&prepared)
        .map(|(c, (k, s, p))| ops(c, k, s, p))
        .collect();
    for (c, ops) in CASES.iter().zip(&mut all_ops) {
        for (op, lib, note, f) in ops.iter_mut() {
            let (allocs, bytes) = f.as_mut().map_or((f64::NAN, f64::NAN), allocations);
            rows.push(Row {
                alg: c.name,
                op,
                library: lib,
                per_sec: Vec::new(),
                allocs_per_op: allocs,
                bytes_per_op: bytes,
                on_cpu_share: Vec::new(),
                note,
            });
        }
        ossl_rows.push((c.name, Vec::new(), Vec::new()));
    }
    for round in 1..=rounds {
        let mut r = 0;
        for (ci, (c, ops)) in CASES.iter().zip(&mut all_ops).enumerate() {
            if openssl {
                eprintln!(
                    "round {round}/{rounds}: openssl speed -elapsed {}",
                    c.openssl
                );
                match bearing_bench::openssl_speed(c.openssl, secs, 1) {
                    Ok(s) => {
                        ossl_rows[ci].1.push(s.sign_per_sec);
                        ossl_rows[ci].2.push(s.verify_per_sec);
                    }
                    Err(e) => eprintln!("openssl: {e}"),
                }
            }
            for (op, lib, _, f) in ops.iter_mut() {
                if let Some(f) = f.as_mut() {
                    eprintln!("round {round}/{rounds}: {} {op} {lib}", c.name);
                    let (per_sec, share) = rate(secs, f);
                    rows[r].per_sec.push(per_sec);
                    rows[r].on_cpu_share.push(share);
                }
                r += 1;
            }
        }
    }
    println!(
        "\n{} cores, {}; {}; {:.1}s per figure, {rounds} round(s) alternating with openssl, medians; one core\n",
        bearing_bench::cores(),
        bearing_bench::Machine::current()
            .cpu_model
            .unwrap_or_else(|| "unknown cpu".into()),
        bearing_bench::openssl_version().unwrap_or_else(|| "no openssl".into()),
        secs.as_secs_f64()
    );
    println!(
        "| alg | op | library | per second | vs openssl | allocs/op | bytes/op | on CPU | what one op is |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (ci, c) in CASES.iter().enumerate() {
        for op in ["sign", "verify"] {
            let o = &ossl_rows[ci];
            let ossl = median(if op == "sign" { &o.1 } else { &o.2 });
            if openssl {
                println!(
                    "| {} | {op} | openssl speed | {ossl:.0} | 1.00× | - | - | - | `openssl speed -elapsed {}` |",
                    c.name, c.openssl
                );
            }
            for row in rows.iter().filter(|r| r.alg == c.name && r.op == op) {
                let ps = median(&row.per_sec);
                let ratio = if ossl.is_finite() && ossl > 0.0 {
                    format!("{:.2}×", ps / ossl)
                } else {
                    "-".into()
                };
                if row.per_sec.is_empty() {
                    println!(
                        "| {} | {op} | {} | - | - | - | - | - | not available for this key |",
                        c.name, row.library
                    );
                    continue;
                }
                println!(
                    "| {} | {op} | {} | {ps:.0} | {ratio} | {:.1} | {:.0} | {:.0}% | {} |",
                    c.name,
                    row.library,
                    row.allocs_per_op,
                    row.bytes_per_op,
                    median(&row.on_cpu_share) * 100.0,
                    row.note
                );
            }
        }
    }
    let json = serde_json::json!({
        "seconds_per_figure": secs.as_secs_f64(),
        "rounds": rounds,
        "openssl": ossl_rows.iter().map(|(n, s, v)| serde_json::json!({"alg": n, "sign_per_sec": s, "verify_per_sec": v})).collect::<Vec<_>>(),
        "rows": rows,
    });
    if let Ok(path) = std::env::var("BENCH_JSON") {
        std::fs::write(&path, serde_json::to_vec_pretty(&json).expect("json"))
            .expect("write BENCH_JSON");
    }
}
