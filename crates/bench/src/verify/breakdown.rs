//! Where one validation's time goes: the sandbox's path taken apart into the steps it runs,
//! each timed on its own over the same pool, in interleaved slices (so a noisy neighbour
//! disturbs every step alike), and the medians subtracted:
//!
//! - base64url: decoding the three segments (plus the strict segment checks);
//! - JSON: the header and claims as strict (duplicate-refusing) JSON objects;
//! - signature: the registered verifier alone on the decoded signature;
//! - claims: the full validation with the replay check off, minus the three above
//!   (header checks, issuer lookup, times, `aud`, `sub`, `jti`);
//! - replay store: the full validation minus the same with the replay check off.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearing_auth::Algorithm;
use bearing_auth::ReplayProtection;
use bearing_gateway::{Validator, parse_compact, strict_object};
use serde::Serialize;

use super::measure::{Pool, Sandbox};
use crate::{AUDIENCE, Error, Result};

/// Time per validation and per step, µs (medians over interleaved slices, one thread).
#[derive(Debug, Clone, Serialize)]
pub struct Breakdown {
    /// The full validation path (what `bench verify` measures).
    pub total_us: f64,
    /// Base64url decoding of the three segments and the strict segment checks.
    pub base64_us: f64,
    /// Strict JSON parsing of header and claims.
    pub json_us: f64,
    /// The signature check alone.
    pub signature_us: f64,
    /// Header, issuer, time, audience, subject and `jti` checks.
    pub claims_us: f64,
    /// The `jti` replay store's check-and-insert.
    pub replay_us: f64,
    /// Slices per step the medians are taken over.
    pub slices: usize,
}

impl Breakdown {
    /// Share of the total spent outside the signature check.
    pub fn overhead_share(&self) -> f64 {
        if self.total_us > 0.0 {
            (self.total_us - self.signature_us).max(0.0) / self.total_us
        } else {
            0.0
        }
    }
}

/// Times each step for `slices` interleaved slices of `slice` each.
///
/// # Errors
/// When the sandbox refuses one of the pool's assertions, or the pool is empty.
pub fn measure(
    sandbox: &Sandbox,
    alg: Algorithm,
    pool: &Pool,
    slices: usize,
    slice: Duration,
) -> Result<Breakdown> {
    let first = pool
        .assertions
        .first()
        .ok_or_else(|| Error::Refused("empty pool".into()))?;
    let verifier = sandbox
        .cert
        .public_key()
        .verifier(alg)
        .map_err(Error::Auth)?;
    let dot = first.rfind('.').unwrap_or(0);
    let sig = URL_SAFE_NO_PAD
        .decode(&first[dot + 1..])
        .map_err(|e| Error::Refused(e.to_string()))?;
    let mut no_replay = sandbox.validator.profile().clone();
    no_replay.replay_protection = ReplayProtection::None;
    let no_replay = Validator::new(Arc::new(no_replay), vec![AUDIENCE.to_owned()]);
    let a = &pool.assertions;
    let now = pool.now_ms;

    let mut samples: [Vec<f64>; 6] = Default::default();
    for _ in 0..slices {
        samples[0].push(per_op(slice, a, |s| {
            sandbox.replay.clear();
            for x in s {
                sandbox.validate(x, now)?;
            }
            Ok(())
        })?);
        samples[1].push(per_op(slice, a, |s| {
            for x in s {
                no_replay
                    .validate(x, &sandbox.registry, &sandbox.replay, now, None)
                    .map_err(|r| Error::Refused(r.description))?;
            }
            Ok(())
        })?);
        samples[2].push(per_op(slice, a, |s| {
            for x in s {
                black_box(parse_compact(x).map_err(|e| Error::Refused(e.0))?);
            }
            Ok(())
        })?);
        samples[3].push(per_op(slice, a, |s| {
            for x in s {
                let mut parts = x.split('.');
                let (Some(h), Some(p)) = (parts.next(), parts.next()) else {
                    return Err(Error::Refused("not three segments".into()));
                };
                let h = URL_SAFE_NO_PAD.decode(h).unwrap_or_default();
                let p = URL_SAFE_NO_PAD.decode(p).unwrap_or_default();
                black_box(strict_object(&h, "header").map_err(|e| Error::Refused(e.0))?);
                black_box(strict_object(&p, "payload").map_err(|e| Error::Refused(e.0))?);
            }
            Ok(())
        })?);
        samples[4].push(per_op(slice, a, |s| {
            for x in s {
                let mut parts = x.split('.');
                for part in parts.by_ref().take(2) {
                    black_box(URL_SAFE_NO_PAD.decode(part).unwrap_or_default());
                }
            }
            Ok(())
        })?);
        samples[5].push(per_op(slice, &a[..1], |_| {
            black_box(verifier.verify(&first.as_bytes()[..dot], &sig));
            Ok(())
        })?);
    }
    sandbox.replay.clear();
    let [full, no_replay, parse, decode_json, decode, signature] = samples.map(median);
    // decode_json = decoding header and payload + JSON; `decode` is the same decoding alone.
    let json = (decode_json - decode).max(0.0);
    let base64 = (parse - json).max(0.0);
    Ok(Breakdown {
        total_us: full,
        base64_us: base64,
        json_us: json,
        signature_us: signature,
        claims_us: (no_replay - parse - signature).max(0.0),
        replay_us: (full - no_replay).max(0.0),
        slices,
    })
}

/// Runs `f` over `a` (one batch) until `slice` has passed; µs per element.
fn per_op(
    slice: Duration,
    a: &[String],
    mut f: impl FnMut(&[String]) -> Result<()>,
) -> Result<f64> {
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed() < slice {
        f(a)?;
        n += a.len();
    }
    #[expect(clippy::cast_precision_loss, reason = "a count")]
    let per = start.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64;
    Ok(per)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}
