//! The token client's reading of a token endpoint answer: `TokenResponse::parse` and
//! `ErrorResponse::parse` on any status, headers and body. Input: 2 bytes of status, a
//! header block (`name: value` lines) up to a blank line, then the body.
#![no_main]

use bearing_auth::token::{ErrorResponse, TokenResponse};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let status = 100 + u16::from_le_bytes([data[0], data[1]]) % 900;
    let rest = &data[2..];
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (&b""[..], rest),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) {
            headers.append(n, v);
        }
    }
    match TokenResponse::parse(status, &headers, body) {
        Ok(t) => {
            assert!(!t.access_token.expose().trim().is_empty());
            let _ = format!("{t:?}");
        }
        Err(e) => {
            let _ = (e.to_string(), e.retry_after(), e.is_retryable());
        }
    }
    let e = ErrorResponse::parse(status, &headers, body);
    let _ = e.to_string();
});
