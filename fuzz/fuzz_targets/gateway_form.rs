//! The token endpoint and a protected API through the router: the first byte picks the
//! request (form body to the token endpoint under one of four content types, or a bearer
//! token on the API), the rest is the body or header. `$ASSERTION` in a form body becomes a
//! valid assertion, so mutations explore the form around real credentials. Never a 5xx.
#![no_main]

use axum::body::Body;
use bearing_fuzz::{expand, gateway};
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let g = gateway();
    let req = match mode % 6 {
        0..=3 => {
            let body = match std::str::from_utf8(rest) {
                Ok(t) => expand(t, g).into_bytes(),
                Err(_) => rest.to_vec(),
            };
            let ct = [
                "application/x-www-form-urlencoded; charset=UTF-8",
                "application/x-www-form-urlencoded",
                "application/json",
                "text/plain; charset=utf-8",
            ][usize::from(mode % 4)];
            Request::post("/oauth/token")
                .header("content-type", ct)
                .body(Body::from(body))
                .expect("request")
        }
        4 => {
            let Ok(v) = HeaderValue::from_bytes(rest) else {
                return;
            };
            let mut r = Request::get("/bnpapi/v1/store/inventory")
                .body(Body::empty())
                .expect("request");
            r.headers_mut().insert("authorization", v);
            r
        }
        _ => {
            // A form body on the API (RFC 6750 §2.2 access_token parameter).
            Request::post("/bnpapi/v1/store/inventory")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(Body::from(rest.to_vec()))
                .expect("request")
        }
    };
    g.send_and_check(req);
    if bearing_fuzz::next_id() % 4096 == 0 {
        g.state.sweep();
    }
});
