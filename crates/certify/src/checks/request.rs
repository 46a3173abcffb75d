//! Checks on the token request itself (RFC 7523 §2.1, RFC 6749 §3.2): POST with a
//! form-encoded body, the jwt-bearer `grant_type`, each parameter once, nothing in the URL.
//! Only parameter *names* are ever recorded: values (the assertion) are secrets.

use std::collections::BTreeSet;

use super::{CheckContext, ClientView, Evidence};

const GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const NONE: &str = "no token request was seen";

fn is_form(ct: Option<&str>) -> bool {
    ct.and_then(|c| c.split(';').next()).is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

pub(super) fn form_post(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut n, mut bad) = (0, 0);
    for e in v.token_requests() {
        n += 1;
        ev.seen(e.at_ms);
        if e.method != "POST" {
            bad += 1;
            ev.finding(e.at_ms, format!("method {}", e.method));
        } else if !is_form(e.content_type.as_deref()) {
            bad += 1;
            let ct = e.content_type.as_deref().unwrap_or("(none)");
            ev.finding(
                e.at_ms,
                format!("Content-Type {ct:?}, not application/x-www-form-urlencoded"),
            );
        }
    }
    ev.count("token_requests", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} token requests, all POST application/x-www-form-urlencoded"),
        format!("{bad} of {n} token requests were not a form-encoded POST"),
        NONE,
    )
}

pub(super) fn grant_type(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut n, mut bad) = (0, 0);
    for e in v.token_requests() {
        let Some(form) = &e.form_params else { continue };
        let sent = e.grant_type.as_deref();
        let named = form.iter().any(|p| p == "grant_type");
        if named && sent.is_none() {
            // Present but empty or repeated: judged by token_request.single_params.
            continue;
        }
        n += 1;
        ev.seen(e.at_ms);
        match sent {
            Some(GRANT) => {}
            Some(g) => {
                bad += 1;
                let shown: String = g.chars().take(80).collect();
                ev.finding(e.at_ms, format!("grant_type {shown:?}"));
            }
            None => {
                bad += 1;
                ev.finding(e.at_ms, "no grant_type in the form body");
            }
        }
    }
    ev.count("token_requests", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} token requests with grant_type {GRANT}"),
        format!("{bad} of {n} token requests had a missing or wrong grant_type"),
        "no token request body was read",
    )
}

pub(super) fn single_params(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut n, mut bad) = (0, 0);
    for e in v.token_requests() {
        let Some(form) = &e.form_params else { continue };
        n += 1;
        ev.seen(e.at_ms);
        let mut seen = BTreeSet::new();
        let repeated: BTreeSet<&str> = form
            .iter()
            .filter(|p| !seen.insert(p.as_str()))
            .map(String::as_str)
            .collect();
        if !repeated.is_empty() {
            bad += 1;
            let list = repeated.into_iter().collect::<Vec<_>>().join(", ");
            ev.finding(e.at_ms, format!("repeated: {list}"));
        }
    }
    ev.count("token_requests", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} token requests, no parameter repeated"),
        format!("{bad} of {n} token requests repeated a parameter"),
        "no token request body was read",
    )
}

pub(super) fn no_query(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut n, mut bad) = (0, 0);
    for e in v.token_requests() {
        n += 1;
        ev.seen(e.at_ms);
        if !e.query_params.is_empty() {
            bad += 1;
            let names = e.query_params.join(", ");
            let secret = if e.query_params.iter().any(|p| p == "assertion") {
                " (the assertion travels in the URL, where proxies and logs keep it)"
            } else {
                ""
            };
            ev.finding(e.at_ms, format!("URL query carried: {names}{secret}"));
        }
    }
    ev.count("token_requests", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} token requests, none with a URL query"),
        format!("{bad} of {n} token requests put parameters in the URL query"),
        NONE,
    )
}

#[cfg(test)]
mod tests {
    use crate::checks::Verdict;
    use crate::checks::testlog::Log;

    // Form POSTs with the right grant type and no query pass; each deviation fails its check.
    #[test]
    fn request_shape() {
        let log = Log::steady(1_000);
        for id in [
            "token_request.form_post",
            "token_request.grant_type",
            "token_request.single_params",
            "token_request.no_query",
        ] {
            assert_eq!(log.verdict(id), Verdict::Pass, "{id}");
        }
        let mut log = Log::steady(500);
        log.token(600, "j", 1000).content_type = Some("application/json".into());
        assert_eq!(log.verdict("token_request.form_post"), Verdict::Fail);

        let mut log = Log::steady(500);
        log.token(600, "c", 1000).grant_type = Some("client_credentials".into());
        assert_eq!(log.verdict("token_request.grant_type"), Verdict::Fail);

        let mut log = Log::steady(500);
        let e = log.token_refused(600, "malformed");
        e.reason = None;
        e.grant_type = None;
        e.form_params = Some(vec![
            "grant_type".into(),
            "assertion".into(),
            "assertion".into(),
        ]);
        let r = log.result("token_request.single_params");
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.findings[0].detail.contains("assertion"));

        let mut log = Log::steady(500);
        let e = log.token_refused(600, "x");
        e.reason = None;
        e.form_params = None;
        e.query_params = vec!["assertion".into()];
        let r = log.result("token_request.no_query");
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(r.findings[0].detail.contains("assertion"), "{r:?}");
        // The body was not read: no evidence about it, rather than a pass or a fail.
        assert_eq!(log.verdict("token_request.grant_type"), Verdict::Pass);
    }
}
