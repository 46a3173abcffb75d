//! Checks on the assertions the client sent (RFC 7523 §3): algorithm, `iss`, `sub`, `aud`,
//! lifetime, `iat`, `jti` freshness, and the signature by the registered certificate's key.
//! Evidence is every token request whose assertion the gateway could read.

use std::collections::{BTreeMap, HashMap};

use super::{CheckContext, ClientView, Evidence, human_ms, short, unread};
use crate::event::{Event, EventOutcome, ObservedClaims};

/// Rejection reasons the gateway gives only after the signature verified.
const AFTER_SIGNATURE: [&str; 14] = [
    "claim_type",
    "exp_missing",
    "expired",
    "not_yet_valid",
    "iat_missing",
    "iat_in_future",
    "lifetime_too_long",
    "sub_missing",
    "sub_mismatch",
    "aud_missing",
    "aud_mismatch",
    "jti_missing",
    "jti_invalid",
    "replay",
];

/// Rejection reasons meaning the signature does not come from the registered certificate.
const BAD_SIGNATURE: [&str; 2] = ["bad_signature", "certificate_not_valid"];

fn read<'a>(v: &ClientView<'a>) -> Vec<(&'a Event, &'a ObservedClaims)> {
    v.token_requests()
        .filter_map(|e| Some((e, e.claims.as_ref()?)))
        .collect()
}

pub(super) fn alg(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut bad = 0;
    let all = read(v);
    for (e, c) in &all {
        ev.seen(e.at_ms);
        let a = c.alg.clone().unwrap_or_else(|| "(none)".into());
        *seen.entry(a.clone()).or_default() += 1;
        if !ctx.allowed_algs.contains(&a) {
            bad += 1;
            ev.finding(e.at_ms, format!("alg {a} is not allowed"));
        }
    }
    let list = seen
        .iter()
        .map(|(a, n)| format!("{a} ×{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let allowed = ctx.allowed_algs.join(", ");
    let n = all.len() as u64;
    ev.count("assertions", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} assertions: {list} (allowed: {allowed})"),
        format!("{bad} of {n} assertions used an algorithm outside {allowed}: {list}"),
        &unread(v),
    )
}

pub(super) fn iss(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut bad = 0;
    for (e, c) in &all {
        ev.seen(e.at_ms);
        match c.iss.as_deref() {
            Some(i) if i == v.client => {}
            Some(i) => {
                bad += 1;
                ev.finding(
                    e.at_ms,
                    format!("iss {i:?} is not the client id {:?}", v.client),
                );
            }
            None => {
                bad += 1;
                ev.finding(e.at_ms, "iss is missing");
            }
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n).count("violations", bad);
    ev.judge(
        n,
        bad,
        format!("{n} assertions, iss = {:?}", v.client),
        format!("{bad} of {n} assertions had a wrong or missing iss"),
        &unread(v),
    )
}

pub(super) fn sub(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut bad = 0;
    let mut absent = 0;
    for (e, c) in &all {
        ev.seen(e.at_ms);
        match (c.sub.as_deref(), c.iss.as_deref()) {
            (None | Some(""), _) if ctx.sub_required => {
                bad += 1;
                ev.finding(e.at_ms, "sub is missing (the profile requires sub)");
            }
            (None | Some(""), _) => absent += 1,
            (Some(s), iss) if ctx.sub_must_equal_iss && Some(s) != iss => {
                bad += 1;
                ev.finding(
                    e.at_ms,
                    format!("sub {s:?} differs from iss (profile requires sub = iss)"),
                );
            }
            _ => {}
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n)
        .count("violations", bad)
        .count("absent", absent);
    let pass = if absent > 0 {
        format!("{n} assertions, {absent} without sub (the profile does not require it)")
    } else {
        format!("{n} assertions, all with sub")
    };
    ev.judge(
        n,
        bad,
        pass,
        format!("{bad} of {n} assertions had a missing or wrong sub"),
        &unread(v),
    )
}

pub(super) fn aud(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut bad = 0;
    let mut wrong: BTreeMap<String, u64> = BTreeMap::new();
    let mut sent_all: BTreeMap<String, u64> = BTreeMap::new();
    for (e, c) in &all {
        ev.seen(e.at_ms);
        if let Some(list) = c.aud.as_deref().filter(|l| !l.is_empty()) {
            let shown = list
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            *sent_all.entry(shown).or_default() += 1;
        }
        match c.aud.as_deref() {
            None | Some([]) => {
                bad += 1;
                ev.finding(e.at_ms, "aud is missing");
            }
            Some(list) if !list.iter().any(|a| ctx.audiences.contains(a)) => {
                bad += 1;
                let sent = list
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                *wrong.entry(sent.clone()).or_default() += 1;
                ev.finding(
                    e.at_ms,
                    format!(
                        "aud sent: {sent}; expected {:?}",
                        ctx.audiences.join(" or ")
                    ),
                );
            }
            _ => {}
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n).count("violations", bad);
    let sent = wrong.keys().cloned().collect::<Vec<_>>().join("; ");
    ev.judge(
        n,
        bad,
        format!(
            "{n} assertions, aud sent: {}",
            sent_all
                .iter()
                .map(|(a, k)| format!("{a} ×{k}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        format!(
            "{bad} of {n} assertions had aud {sent}, not {:?}",
            ctx.audiences.join(" or ")
        ),
        &unread(v),
    )
}

pub(super) fn lifetime(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut bad = 0;
    let mut longest: i64 = 0;
    for (e, c) in &all {
        ev.seen(e.at_ms);
        let Some(exp) = c.exp else {
            bad += 1;
            if c.non_numeric.iter().any(|k| k == "exp") {
                ev.finding(e.at_ms, "exp is not a number (RFC 7519 §2 NumericDate)");
            } else {
                ev.finding(e.at_ms, "exp is missing");
            }
            continue;
        };
        let exp_ms = (exp * 1000.0) as i64;
        let life = exp_ms - c.iat.map_or(e.at_ms, |i| (i * 1000.0) as i64);
        longest = longest.max(life);
        if let Some(max) = ctx.max_assertion_lifetime_ms
            && life > max
        {
            bad += 1;
            let basis = if c.iat.is_some() {
                "exp - iat"
            } else {
                "exp - arrival"
            };
            ev.finding(
                e.at_ms,
                format!("{basis} = {} exceeds {}", human_ms(life), human_ms(max)),
            );
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n).count("violations", bad);
    ev.value("lifetime_ms_max", longest as f64);
    if let Some(max) = ctx.max_assertion_lifetime_ms {
        ev.value("lifetime_ms_allowed", max as f64);
    }
    let max = ctx
        .max_assertion_lifetime_ms
        .map_or_else(|| "no maximum".into(), human_ms);
    ev.judge(
        n,
        bad,
        format!(
            "{n} assertions, longest lifetime {} (maximum {max})",
            human_ms(longest)
        ),
        format!("{bad} of {n} assertions had no exp or a lifetime over {max}"),
        &unread(v),
    )
}

pub(super) fn iat(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut bad = 0;
    let mut absent = 0;
    let mut worst: i64 = 0;
    for (e, c) in &all {
        ev.seen(e.at_ms);
        let Some(iat) = c.iat else {
            if c.non_numeric.iter().any(|k| k == "iat") {
                bad += 1;
                ev.finding(e.at_ms, "iat is not a number (RFC 7519 §2 NumericDate)");
            } else if ctx.iat_required {
                bad += 1;
                ev.finding(e.at_ms, "iat is missing (the profile requires iat)");
            } else {
                absent += 1;
            }
            continue;
        };
        // NumericDate is whole seconds for most clients: compare with the arrival second.
        let skew = (iat * 1000.0) as i64 - e.at_ms.div_euclid(1000) * 1000;
        if skew.abs() > worst.abs() {
            worst = skew;
        }
        if skew.abs() > ctx.iat_tolerance_ms {
            bad += 1;
            let dir = if skew > 0 { "ahead of" } else { "behind" };
            ev.finding(
                e.at_ms,
                format!("iat is {} {dir} the gateway clock", human_ms(skew.abs())),
            );
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n)
        .count("violations", bad)
        .count("absent", absent);
    ev.value("skew_ms_worst", worst as f64)
        .value("skew_ms_allowed", ctx.iat_tolerance_ms as f64);
    let tol = human_ms(ctx.iat_tolerance_ms);
    let without = if absent > 0 {
        format!(", {absent} without iat (the profile does not require it)")
    } else {
        String::new()
    };
    ev.judge(
        n,
        bad,
        format!(
            "{n} assertions, those with iat at most {} from the gateway clock (allowed {tol}){without}",
            human_ms(worst.abs())
        ),
        format!("{bad} of {n} assertions had no iat or one more than {tol} from the gateway clock"),
        &unread(v),
    )
}

pub(super) fn jti(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let all = read(v);
    let mut missing = 0;
    let mut absent = 0;
    let mut first_seen: HashMap<&str, (i64, u64)> = HashMap::new();
    let mut reused = 0;
    for (e, c) in &all {
        ev.seen(e.at_ms);
        match c.jti.as_deref() {
            None | Some("") if ctx.jti_required => {
                missing += 1;
                ev.finding(e.at_ms, "jti is missing (the profile requires jti)");
            }
            None | Some("") => absent += 1,
            Some(j) => {
                let entry = first_seen.entry(j).or_insert((e.at_ms, 0));
                entry.1 += 1;
                if entry.1 > 1 {
                    reused += 1;
                    ev.finding(
                        e.at_ms,
                        format!(
                            "jti {:?} sent again ({} times so far, first {} earlier)",
                            short(j),
                            entry.1,
                            human_ms(e.at_ms - entry.0)
                        ),
                    );
                }
            }
        }
    }
    let n = all.len() as u64;
    ev.count("assertions", n)
        .count("distinct_jti", first_seen.len() as u64)
        .count("reused", reused)
        .count("missing", missing)
        .count("absent", absent);
    let pass = if absent > 0 {
        format!(
            "{n} token requests: {} distinct jti values, {absent} without jti (the profile does not require it)",
            first_seen.len()
        )
    } else {
        format!("{n} token requests, {n} distinct jti values")
    };
    ev.judge(
        n,
        reused + missing,
        pass,
        format!("{reused} token requests reused a jti and {missing} had none, of {n}"),
        &unread(v),
    )
}

pub(super) fn signature(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let mut verified = 0;
    let mut bad = 0;
    for e in v.token_requests() {
        let reason = e.reason.as_deref();
        if e.outcome == EventOutcome::Accepted
            || e.authenticated
            || reason.is_some_and(|r| AFTER_SIGNATURE.contains(&r))
        {
            verified += 1;
            ev.seen(e.at_ms);
        } else if let Some(r) = reason.filter(|r| BAD_SIGNATURE.contains(r)) {
            bad += 1;
            ev.seen(e.at_ms);
            let what = if r == "bad_signature" {
                "signature does not verify with the registered certificate"
            } else {
                "the registered certificate is outside its validity window"
            };
            ev.finding(e.at_ms, what);
        }
    }
    ev.count("verified", verified).count("violations", bad);
    ev.judge(
        verified + bad,
        bad,
        format!("{verified} assertions verified with the registered certificate"),
        format!(
            "{bad} of {} assertions were not signed by the registered certificate's key",
            verified + bad
        ),
        "no assertion reached signature verification",
    )
}

#[cfg(test)]
mod tests {
    use crate::checks::Verdict;
    use crate::checks::testlog::{AUD, CLIENT, Log, ctx};

    const IDS: [&str; 8] = [
        "assertion.alg",
        "assertion.iss",
        "assertion.sub",
        "assertion.aud",
        "assertion.lifetime",
        "assertion.iat",
        "assertion.jti",
        "assertion.signature",
    ];

    // A steady, well-formed client passes every assertion check; no token request at all is
    // no evidence, never a pass.
    #[test]
    fn good_and_empty() {
        let log = Log::steady(3_000);
        for id in IDS {
            assert_eq!(log.verdict(id), Verdict::Pass, "{id}: {:?}", log.result(id));
        }
        let empty = Log::new();
        for id in IDS {
            assert_eq!(empty.verdict(id), Verdict::NoEvidence, "{id}");
        }
    }

    // Each broken claim fails its own check and shows what was sent.
    #[test]
    fn broken_claims() {
        let mut log = Log::steady(1_000);
        log.token(1_500, "bad", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .aud = Some(vec!["https://other.example/token".into()]);
        let r = log.result("assertion.aud");
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.findings[0]
                .detail
                .contains("\"https://other.example/token\""),
            "{r:?}"
        );

        let mut log = Log::steady(1_000);
        log.token(1_500, "hs", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .alg = Some("HS256".into());
        assert_eq!(log.verdict("assertion.alg"), Verdict::Fail);

        let mut log = Log::steady(1_000);
        log.token(1_500, "x", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .iss = Some("someone".into());
        assert_eq!(log.verdict("assertion.iss"), Verdict::Fail);

        let mut log = Log::steady(1_000);
        log.token(1_500, "x", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .sub = None;
        assert_eq!(log.verdict("assertion.sub"), Verdict::Fail);

        let mut log = Log::steady(1_000);
        let c = log.token(1_500, "x", 1000).claims.as_mut().expect("claims");
        c.exp = Some(c.iat.expect("iat") + 7_200.0);
        assert_eq!(log.verdict("assertion.lifetime"), Verdict::Fail);

        let mut log = Log::steady(1_000);
        log.token(1_500, "x", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .iat = Some(-100.0);
        assert_eq!(log.verdict("assertion.iat"), Verdict::Fail);
        let mut log = Log::steady(1_000);
        log.token(1_500, "x", 1000)
            .claims
            .as_mut()
            .expect("claims")
            .iat = None;
        assert_eq!(log.verdict("assertion.iat"), Verdict::Pass);
        let mut strict = ctx();
        strict.iat_required = true;
        log.ctx = Some(strict);
        assert_eq!(log.verdict("assertion.iat"), Verdict::Fail);
    }

    // jti, iat and sub absent are judged by the profile's knobs (RFC 7523 §3: jti and iat
    // MAY, sub MUST): absent passes where not required; a jti that is reused still fails.
    #[test]
    fn optional_claims_follow_the_profile() {
        let mut log = Log::steady(1_000);
        for e in &mut log.events {
            if let Some(c) = e.claims.as_mut() {
                c.jti = None;
                c.iat = None;
                c.sub = None;
            }
        }
        let mut lenient = ctx();
        lenient.sub_required = false;
        log.ctx = Some(lenient.clone());
        for id in ["assertion.jti", "assertion.iat", "assertion.sub"] {
            let r = log.result(id);
            assert_eq!(r.verdict, Verdict::Pass, "{id}: {r:?}");
            assert!(r.summary.contains("does not require"), "{id}: {r:?}");
        }
        // rfc-strict requires sub.
        log.ctx = Some(ctx());
        assert_eq!(log.verdict("assertion.sub"), Verdict::Fail);
        // A jti that is present and sent twice fails even when jti is optional.
        log.ctx = Some(lenient);
        for c in log
            .events
            .iter_mut()
            .filter_map(|e| e.claims.as_mut())
            .take(2)
        {
            c.jti = Some("forever".into());
        }
        assert_eq!(log.verdict("assertion.jti"), Verdict::Fail);
    }

    // The aud shown is the one the client sent; exp sent as a string is "not a number".
    #[test]
    fn evidence_shows_what_was_sent() {
        let mut log = Log::steady(1_000);
        let mut c = ctx();
        c.audiences.push("https://gw.test/".into());
        for e in &mut log.events {
            if let Some(cl) = e.claims.as_mut() {
                cl.aud = Some(vec!["https://gw.test/".into()]);
            }
        }
        log.ctx = Some(c);
        let r = log.result("assertion.aud");
        assert_eq!(r.verdict, Verdict::Pass);
        assert!(r.summary.contains("\"https://gw.test/\""), "{r:?}");
        assert!(!r.summary.contains(AUD), "{r:?}");

        let mut log = Log::steady(1_000);
        let e = log.token_refused(1_500, "claim_type");
        let cl = e.claims.as_mut().expect("claims");
        cl.exp = None;
        cl.non_numeric = vec!["exp".into()];
        let r = log.result("assertion.lifetime");
        assert_eq!(r.verdict, Verdict::Fail);
        assert!(
            r.findings
                .iter()
                .any(|f| f.detail.contains("exp is not a number")),
            "{r:?}"
        );
    }

    // A repeated jti fails; the replayed request (refused by the gateway) still counts.
    #[test]
    fn reused_jti() {
        let mut log = Log::steady(1_000);
        let j = log.events[0].claims.as_ref().and_then(|c| c.jti.clone());
        log.token_refused(1_500, "replay")
            .claims
            .as_mut()
            .expect("claims")
            .jti = j;
        let r = log.result("assertion.jti");
        assert_eq!(r.verdict, Verdict::Fail);
        assert_eq!(r.counts["reused"], 1);
        // Only the jti check: the replayed assertion did verify.
        assert_eq!(log.verdict("assertion.signature"), Verdict::Pass);
    }

    // A bad signature fails; reasons before signature verification are not evidence of it.
    #[test]
    fn signature_evidence() {
        let mut log = Log::new();
        log.token_refused(0, "alg_not_allowed");
        assert_eq!(log.verdict("assertion.signature"), Verdict::NoEvidence);
        log.token_refused(100, "bad_signature");
        let r = log.result("assertion.signature");
        assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
        assert_eq!(log.events[0].client.as_deref(), Some(CLIENT));
    }
}
