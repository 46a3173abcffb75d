//! Checks on how the client uses its access tokens: in the `Authorization: Bearer` header
//! (RFC 6750 §2.1), reused across calls, renewed before expiry, never used once expired.
//! Tokens are matched between token responses and API calls by their redacted prefix.

use std::collections::HashMap;

use super::{CheckContext, ClientView, Evidence, Issued, human_ms, median};

/// A token fetched while the previous one had used less than this share of its lifetime
/// (and was neither expired nor refused) counts as fetched needlessly.
const PREMATURE_SHARE: f64 = 0.25;

pub(super) fn bearer_header(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut n, mut bad, mut other_case) = (0, 0, 0);
    for e in v.judged_calls() {
        n += 1;
        ev.seen(e.at_ms);
        let scheme = e.auth_scheme.as_deref();
        let bearer = scheme.is_some_and(|s| s.eq_ignore_ascii_case("bearer"));
        if e.transport.len() == 1 && e.transport[0] == "header" && bearer {
            if scheme != Some("Bearer") {
                other_case += 1;
            }
            continue;
        }
        bad += 1;
        let what = if e.transport.is_empty() {
            match scheme {
                Some(s) if !bearer => format!("Authorization scheme {s:?}, not Bearer"),
                _ => "no access token sent".to_owned(),
            }
        } else {
            format!("token sent in: {}", e.transport.join(" + "))
        };
        ev.finding(e.at_ms, what);
    }
    ev.count("api_calls", n)
        .count("violations", bad)
        .count("scheme_not_capitalised", other_case);
    let note = if other_case > 0 {
        format!(" ({other_case} with the scheme in another case, accepted per RFC 9110 §11.1)")
    } else {
        String::new()
    };
    ev.judge(
        n,
        bad,
        format!("{n} API calls, all with Authorization: Bearer{note}"),
        format!(
            "{bad} of {n} API calls did not send the token in the Authorization: Bearer header"
        ),
        "the client made no API call",
    )
}

/// When each token first got a 401, if it did.
fn refused_at<'a>(v: &ClientView<'a>) -> HashMap<&'a str, i64> {
    let mut m = HashMap::new();
    for e in v.judged_calls().filter(|e| e.status == 401) {
        if let Some(t) = e.token.as_deref() {
            m.entry(t).or_insert(e.at_ms);
        }
    }
    m
}

pub(super) fn reuse(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let issued = v.issued();
    let mut per_token: HashMap<&str, u64> = HashMap::new();
    let mut calls = 0;
    for e in v.judged_calls() {
        calls += 1;
        ev.seen(e.at_ms);
        if let Some(t) = e.token.as_deref()
            && issued.iter().any(|i| i.token == t)
        {
            *per_token.entry(t).or_default() += 1;
        }
    }
    let refused = refused_at(v);
    let mut premature = 0;
    for w in issued.windows(2) {
        let (prev, next) = (&w[0], &w[1]);
        let life = prev.expires_ms - prev.at_ms;
        let age = next.at_ms - prev.at_ms;
        let still_valid =
            next.at_ms < prev.expires_ms && refused.get(prev.token).is_none_or(|r| *r > next.at_ms);
        if still_valid && life > 0 && (age as f64) < PREMATURE_SHARE * life as f64 {
            premature += 1;
            ev.finding(
                next.at_ms,
                format!(
                    "new token {} requested {} after {} (still valid for {})",
                    next.token,
                    human_ms(age),
                    prev.token,
                    human_ms(prev.expires_ms - next.at_ms)
                ),
            );
        }
    }
    let used = per_token.len() as u64;
    let with_known = per_token.values().sum::<u64>();
    let most = per_token.values().copied().max().unwrap_or(0);
    let tokens = issued.len() as u64;
    ev.count("tokens_issued", tokens)
        .count("api_calls", calls)
        .count("tokens_used", used)
        .count("premature_fetches", premature);
    if used > 0 {
        ev.value("calls_per_token_mean", with_known as f64 / used as f64);
        ev.value("calls_per_token_max", most as f64);
    }
    let mean = if used > 0 {
        with_known as f64 / used as f64
    } else {
        0.0
    };
    if calls == 0 || tokens == 0 {
        return ev.none("no API call with an issued token was seen");
    }
    let fetches = tokens.saturating_sub(1);
    if premature >= 2 && premature * 2 > fetches {
        // A client that renews when less than its refresh margin is left, with a margin
        // longer than the token lifetime, finds every token due at once: a fetch per call.
        // The most validity left at a renewal is a lower bound of that margin.
        let margin = issued
            .windows(2)
            .map(|w| w[0].expires_ms - w[1].at_ms)
            .filter(|left| *left > 0)
            .max()
            .unwrap_or(0);
        let life = issued
            .iter()
            .map(|i| i.expires_ms - i.at_ms)
            .max()
            .unwrap_or(0);
        ev.value("refresh_margin_ms_min", margin as f64);
        ev.value("token_lifetime_ms", life as f64);
        let why = if life > 0 && margin * 10 >= life * 8 {
            format!(
                "; the client renewed tokens with up to {} of their {} left, so its refresh margin is at least {}: \
                 longer than (or close to) the plan's token lifetime, every token is due at once and the client \
                 fetches one per call. Give the plan a token lifetime longer than the client's margin \
                 (libraries commonly refresh 60 s to 5 min early), or shorten the margin",
                human_ms(margin),
                human_ms(life),
                human_ms(margin)
            )
        } else {
            String::new()
        };
        return ev.fail(format!(
            "{premature} of {fetches} new tokens were fetched while the previous one was fresh: {mean:.1} calls per token{why}"
        ));
    }
    if most < 2 {
        return ev.none(format!(
            "{calls} API calls, no token used for more than one call (calls too sparse to tell)"
        ));
    }
    ev.pass(format!(
        "{tokens} tokens for {calls} API calls: {mean:.1} calls per token (up to {most})"
    ))
}

pub(super) fn refresh_ahead(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let issued = v.issued();
    let calls: Vec<i64> = v.api_calls().map(|e| e.at_ms).collect();
    let requests: Vec<(i64, u64)> = v.token_requests().map(|e| (e.at_ms, e.seq)).collect();
    let refused = refused_at(v);
    let (mut due, mut late) = (0, 0);
    let mut leads = Vec::new();
    for t in &issued {
        if refused.get(t.token).is_some_and(|r| *r < t.expires_ms) {
            continue; // revoked: recovery.after_401 judges it
        }
        let half = (t.expires_ms - t.at_ms) / 2;
        let before = calls
            .iter()
            .any(|c| *c >= t.expires_ms - half && *c < t.expires_ms);
        let after = calls.iter().any(|c| *c >= t.expires_ms);
        if !(before && after) {
            continue;
        }
        due += 1;
        ev.seen(t.expires_ms);
        let next = requests
            .iter()
            .find(|(at, _)| *at > t.at_ms)
            .map(|(at, _)| *at);
        match next {
            Some(at) if at < t.expires_ms => leads.push(t.expires_ms - at),
            Some(at) => {
                late += 1;
                ev.finding(t.expires_ms, format!("token {} expired; the next token request came {} later, while API calls went on", t.token, human_ms(at - t.expires_ms)));
            }
            None => {
                late += 1;
                ev.finding(
                    t.expires_ms,
                    format!(
                        "token {} expired and no new token was requested, while API calls went on",
                        t.token
                    ),
                );
            }
        }
    }
    ev.count("tokens_reaching_expiry", due)
        .count("refreshed_ahead", leads.len() as u64)
        .count("late", late);
    let min = leads.iter().copied().min();
    let med = median(&mut leads);
    if let (Some(min), Some(med)) = (min, med) {
        ev.value("lead_ms_min", min as f64)
            .value("lead_ms_median", med as f64);
    }
    if due == 0 {
        return ev.none("no token reached its expiry while the client was calling the API");
    }
    if late > 0 {
        return ev.fail(format!(
            "{late} of {due} tokens expired before the client asked for a new one"
        ));
    }
    let (min, med) = (min.unwrap_or(0), med.unwrap_or(0));
    ev.pass(format!(
        "{due} tokens renewed before expiry, {} ahead (median; earliest margin {})",
        human_ms(med),
        human_ms(min)
    ))
}

pub(super) fn not_expired(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let issued_list = v.issued();
    let issued: HashMap<&str, &Issued<'_>> = issued_list.iter().map(|i| (i.token, i)).collect();
    let last_call = v.judged_calls().map(|e| e.at_ms).max();
    let (mut checked, mut bad) = (0, 0);
    let mut worst = 0;
    for e in v.judged_calls() {
        let Some(t) = e.token.as_deref().and_then(|t| issued.get(t)) else {
            continue;
        };
        checked += 1;
        ev.seen(e.at_ms);
        if e.at_ms >= t.expires_ms {
            bad += 1;
            worst = worst.max(e.at_ms - t.expires_ms);
            ev.finding(
                e.at_ms,
                format!(
                    "API call with token {}, expired {} earlier",
                    t.token,
                    human_ms(e.at_ms - t.expires_ms)
                ),
            );
        }
    }
    let lived_through = last_call.is_some_and(|l| issued_list.iter().any(|t| t.expires_ms <= l));
    ev.count("api_calls_checked", checked)
        .count("violations", bad);
    if bad > 0 {
        ev.value("late_ms_max", worst as f64);
        return ev.fail(format!(
            "{bad} of {checked} API calls used an expired token (up to {} after expiry)",
            human_ms(worst)
        ));
    }
    if !lived_through {
        return ev.none("no token expired while the client was calling the API");
    }
    ev.pass(format!("{checked} API calls, none with an expired token"))
}

#[cfg(test)]
mod margin_tests {
    use crate::checks::Verdict;
    use crate::checks::testlog::Log;

    // A client whose refresh margin (say 60 s) exceeds the plan's 1 s tokens fetches a token
    // per call: the failure says so and shows the measured margin.
    #[test]
    fn per_call_fetch_explains_the_margin() {
        let mut log = Log::new();
        for i in 0..10 {
            let at = i * 100;
            let t = format!("tok{i:05}");
            log.token(at, &t, 1000);
            log.call(at + 5, &t);
        }
        let r = log.result("token_use.reuse");
        assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
        assert!(
            r.summary.contains("refresh margin is at least 900 ms"),
            "{r:?}"
        );
        assert_eq!(r.values["refresh_margin_ms_min"], 900.0);
    }
}

#[cfg(test)]
mod tests {
    use crate::checks::Verdict;
    use crate::checks::testlog::Log;

    const IDS: [&str; 4] = [
        "token_use.bearer_header",
        "token_use.reuse",
        "token_use.refresh_ahead",
        "token_use.not_expired",
    ];

    // A client refreshing at half-life and calling every 100 ms passes; no calls is no evidence.
    #[test]
    fn good_and_empty() {
        let log = Log::steady(3_000);
        for id in IDS {
            assert_eq!(log.verdict(id), Verdict::Pass, "{id}: {:?}", log.result(id));
        }
        let r = log.result("token_use.refresh_ahead");
        assert!(r.values["lead_ms_median"] >= 400.0, "{r:?}");
        let mut tokens_only = Log::new();
        tokens_only.token(0, "a", 1000);
        for id in IDS {
            assert_eq!(tokens_only.verdict(id), Verdict::NoEvidence, "{id}");
        }
    }

    // A token per call fails reuse only.
    #[test]
    fn token_per_call() {
        let mut log = Log::new();
        for i in 0..30 {
            let t = format!("per{i:05}");
            log.token(i * 50, &t, 1000);
            log.call(i * 50 + 5, &t);
        }
        assert_eq!(log.verdict("token_use.reuse"), Verdict::Fail);
        assert_eq!(log.verdict("token_use.refresh_ahead"), Verdict::Pass);
        assert_eq!(log.verdict("token_use.not_expired"), Verdict::Pass);
    }

    // A client that waits for expiry and the 401 fails refresh-ahead and not-expired.
    #[test]
    fn reactive_client() {
        let mut log = Log::new();
        log.token(0, "first000", 1000);
        for i in 0..12 {
            log.call(i * 100, "first000");
        }
        log.call_401(1_200, "first000");
        log.token(1_210, "second00", 1000);
        log.call(1_220, "second00");
        assert_eq!(log.verdict("token_use.refresh_ahead"), Verdict::Fail);
        let r = log.result("token_use.not_expired");
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.counts["violations"], 3); // at 1000, 1100 and the 401 at 1200
        assert_eq!(log.verdict("token_use.reuse"), Verdict::Pass);
    }

    // The token in the query or no token at all fails the header check.
    #[test]
    fn transport() {
        let mut log = Log::steady(500);
        log.call(600, "tok00000").transport = vec!["query".into()];
        assert_eq!(log.verdict("token_use.bearer_header"), Verdict::Fail);
        let mut log = Log::steady(500);
        let e = log.call(600, "tok00000");
        e.transport.clear();
        e.auth_scheme = Some("Basic".into());
        let r = log.result("token_use.bearer_header");
        assert!(r.findings[0].detail.contains("Basic"), "{r:?}");
    }
}
