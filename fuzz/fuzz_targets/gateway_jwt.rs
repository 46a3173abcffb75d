//! Assertion validation behind a good signature: the input is a JOSE header and a claims
//! set separated by a 0xFF byte, signed with the registered ES256 key and posted to the
//! token endpoint. `$NOW`, `$EXP` and `$JTI` in the claims become the current time, a
//! near expiry and a fresh id, so mutations reach the time, audience and replay checks.
#![no_main]

use axum::body::Body;
use bearing_fuzz::{GRANT, expand, gateway};
use http::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (header, claims) = match data.iter().position(|b| *b == 0xff) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&br#"{"alg":"ES256"}"#[..], data),
    };
    let g = gateway();
    let claims = match std::str::from_utf8(claims) {
        Ok(t) => expand(t, g).into_bytes(),
        Err(_) => claims.to_vec(),
    };
    let jwt = g.sign(header, &claims);
    let req = Request::post("/oauth/token")
        .header(
            "content-type",
            "application/x-www-form-urlencoded; charset=UTF-8",
        )
        .body(Body::from(format!("grant_type={GRANT}&assertion={jwt}")))
        .expect("request");
    g.send_and_check(req);
    if bearing_fuzz::next_id() % 4096 == 0 {
        g.state.sweep();
    }
});
