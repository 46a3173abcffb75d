//! Checks on how the client recovers: after a 401 it requests exactly one new token and
//! retries once (no loop, no carrying on with the refused token); after an injected 503 or
//! 429 it waits for `Retry-After` instead of retrying in a storm (RFC 9110 §10.2.3).

use std::collections::HashSet;

use super::{CheckContext, ClientView, Evidence, human_ms, median};
use crate::event::{Event, EventOutcome};

/// Calls with the refused token arriving this soon after the 401 was answered were already
/// on their way (a concurrent client), not a failure to react.
const GRACE_MS: i64 = 100;
/// A 401 this close to the end of the run may have had no time to be recovered from.
const END_MARGIN_MS: i64 = 2_000;
/// This many 401 → new token → 401 rounds in a row is a loop.
const LOOP_ROUNDS: u32 = 3;

/// What followed one 401.
struct Episode<'a> {
    at: i64,
    token: &'a str,
    same_token_calls: u64,
    token_requests: u64,
    accepted: u64,
    retry: Option<&'a Event>,
}

fn episode<'a>(events: &[&'a Event], idx: usize) -> Episode<'a> {
    let c = events[idx];
    let token = c.token.as_deref().unwrap_or_default();
    let mut ep = Episode {
        at: c.at_ms,
        token,
        same_token_calls: 0,
        token_requests: 0,
        accepted: 0,
        retry: None,
    };
    for e in &events[idx + 1..] {
        if e.is_api_call() {
            if e.token.as_deref() == Some(token) {
                if e.at_ms > c.answered_ms + GRACE_MS {
                    ep.same_token_calls += 1;
                }
                continue;
            }
            ep.retry = Some(e);
            break;
        }
        ep.token_requests += 1;
        if e.outcome == EventOutcome::Accepted {
            ep.accepted += 1;
        }
    }
    ep
}

/// What the 401 episodes of one client add up to.
#[derive(Default)]
struct Tally {
    judged: u64,
    bad: u64,
    inconclusive: u64,
    /// 401 → new token → 401 rounds in a row so far.
    chain: u32,
    /// ms from each judged 401 to its retry.
    recovery: Vec<i64>,
    /// The first judged recoveries, shown on a pass.
    examples: Vec<(i64, String)>,
}

pub(super) fn after_401(v: &ClientView<'_>, ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let mut opened: HashSet<&str> = HashSet::new();
    let mut t = Tally::default();
    for (idx, c) in v.events.iter().enumerate() {
        if !(c.is_api_call() && c.status == 401 && !c.is_fault()) {
            continue;
        }
        let Some(token) = c.token.as_deref() else {
            continue;
        };
        if !opened.insert(token) {
            continue; // a later 401 with the same token belongs to the first one's episode
        }
        let ep = episode(&v.events, idx);
        ev.seen(ep.at);
        t.judge(&ep, ctx, &mut ev);
    }
    t.verdict(ev, v)
}

impl Tally {
    /// Judges one episode: the refused token used again, several new tokens, no retry (not
    /// judged), or one new token and a retry (a 401 again counts towards a loop).
    fn judge(&mut self, ep: &Episode<'_>, ctx: &CheckContext, ev: &mut Evidence) {
        if ep.same_token_calls > 0 {
            self.judged += 1;
            self.bad += 1;
            ev.finding(
                ep.at,
                format!(
                    "after a 401 for {}, {} more calls used that same token",
                    ep.token, ep.same_token_calls
                ),
            );
            return;
        }
        if ep.accepted > 1 {
            self.judged += 1;
            self.bad += 1;
            ev.finding(
                ep.at,
                format!(
                    "after a 401 for {}, {} new tokens were fetched before the retry",
                    ep.token, ep.accepted
                ),
            );
            return;
        }
        let Some(r) = ep.retry else {
            // Nothing to judge: the client stopped, the run ended, or every token request was
            // refused for reasons other checks report.
            self.inconclusive += 1;
            return;
        };
        if ep.token_requests > 0 && ep.accepted == 0 && ctx.run_end_ms - ep.at < END_MARGIN_MS {
            self.inconclusive += 1;
            return;
        }
        self.judged += 1;
        self.recovery.push(r.at_ms - ep.at);
        if r.status == 401 {
            self.chain += 1;
            if self.chain + 1 >= LOOP_ROUNDS {
                self.bad += 1;
                ev.finding(
                    r.at_ms,
                    format!(
                        "401 → new token → 401 for {} rounds in a row: a retry loop",
                        self.chain + 1
                    ),
                );
                self.chain = 0;
            }
        } else {
            self.chain = 0;
        }
        if self.examples.len() < 3 {
            let got = if ep.accepted == 1 {
                "one new token"
            } else {
                "another token"
            };
            self.examples.push((
                ep.at,
                format!(
                    "401 for {}: {got}, retried {} later",
                    ep.token,
                    human_ms(r.at_ms - ep.at)
                ),
            ));
        }
    }

    /// The counts, then fail (any violation), no evidence (nothing judged) or pass.
    fn verdict(self, mut ev: Evidence, v: &ClientView<'_>) -> Evidence {
        let Self {
            judged,
            bad,
            inconclusive,
            recovery,
            examples,
            ..
        } = self;
        let mut rec = recovery.clone();
        let med = median(&mut rec);
        ev.count("unauthorized", judged + inconclusive)
            .count("judged", judged)
            .count("violations", bad)
            .count("inconclusive", inconclusive);
        if let Some(m) = med {
            ev.value("recovery_ms_median", m as f64);
            ev.value(
                "recovery_ms_max",
                recovery.iter().copied().max().unwrap_or(0) as f64,
            );
        }
        if bad > 0 {
            return ev.fail(format!(
                "{bad} of {judged} 401 answers were not followed by one new token and one retry"
            ));
        }
        for (at, detail) in examples {
            ev.finding(at, detail);
        }
        if judged == 0 {
            let token_401 = v
                .token_requests()
                .filter(|e| e.status == 401 && !e.is_fault())
                .count();
            return ev.none(if inconclusive > 0 {
                "the client got 401 answers but no recovery could be judged (no new token was issued, or the run ended)".to_owned()
            } else if token_401 > 0 {
                format!(
                    "no API call got a 401 (this check is about API calls); the token endpoint answered 401 to {token_401} token requests ({}): see the refusals",
                    super::refusal_list(v)
                )
            } else {
                "the client never got a 401".to_owned()
            });
        }
        ev.pass(format!(
            "{judged} 401 answers, each followed by one new token and one retry ({} median)",
            human_ms(med.unwrap_or(0))
        ))
    }
}

/// The client's own pace: the median gap between its consecutive API calls outside the
/// token-endpoint faults, ms. `None` with fewer than three calls.
fn cadence(v: &ClientView<'_>) -> Option<i64> {
    let calls: Vec<i64> = v.judged_calls().map(|e| e.at_ms).collect();
    if calls.len() < 3 {
        return None;
    }
    let mut gaps: Vec<i64> = calls.windows(2).map(|w| w[1] - w[0]).collect();
    median(&mut gaps)
}

pub(super) fn backoff(v: &ClientView<'_>, _ctx: &CheckContext) -> Evidence {
    let mut ev = Evidence::default();
    let (mut faults, mut retries, mut early, mut scheduled) = (0, 0, 0, 0);
    let mut min_gap: Option<i64> = None;
    let mut max_within = 0;
    let pace = cadence(v);
    for (idx, f) in v.events.iter().enumerate() {
        if !(f.is_fault() && matches!(f.status, 429 | 503)) {
            continue;
        }
        faults += 1;
        ev.seen(f.at_ms);
        let wait = i64::try_from(f.retry_after_s.unwrap_or(1)).unwrap_or(i64::MAX / 2_000) * 1000;
        let required = wait - (wait / 10).max(GRACE_MS);
        let same_kind = |e: &&&Event| e.kind == f.kind && e.at_ms >= f.answered_ms;
        let Some(pos) = v.events[idx + 1..].iter().position(|e| same_kind(&e)) else {
            continue;
        };
        let next = v.events[idx + 1 + pos];
        let gap = next.at_ms - f.answered_ms;
        if gap < required {
            // The same request repeated is a retry; the application's next scheduled call is
            // not: it comes after the application went on calling its API, or at its own pace.
            let worked_between = v.events[idx + 1..idx + 1 + pos]
                .iter()
                .any(|e| e.is_api_call() && e.at_ms >= f.answered_ms);
            let at_own_pace = pace.is_some_and(|p| gap * 5 >= p * 4);
            if worked_between || at_own_pace {
                scheduled += 1;
                continue;
            }
        }
        retries += 1;
        min_gap = Some(min_gap.map_or(gap, |m| m.min(gap)));
        if gap < required {
            early += 1;
            let within = v.events[idx + 1..]
                .iter()
                .filter(same_kind)
                .filter(|e| e.at_ms < f.answered_ms + wait)
                .count();
            max_within = max_within.max(within as u64);
            ev.finding(next.at_ms, format!("retried {} after a {} with Retry-After {}s ({within} requests within that wait)", human_ms(gap), f.status, wait / 1000));
        }
    }
    ev.count("faults", faults)
        .count("retries", retries)
        .count("early_retries", early)
        .count("scheduled_calls", scheduled)
        .count("requests_in_one_wait_max", max_within);
    if let Some(g) = min_gap {
        ev.value("gap_ms_min", g as f64);
    }
    if let Some(p) = pace {
        ev.value("call_interval_ms_median", p as f64);
    }
    let pace_text = pace.map_or_else(String::new, |p| format!(", every {}", human_ms(p)));
    if retries == 0 {
        return ev.none(if scheduled > 0 {
            format!(
                "no retry was seen: the {scheduled} requests after a 503/429 were the application's next scheduled calls (its own pace{pace_text}), not the refused request repeated"
            )
        } else if faults > 0 {
            "the client got 503/429 answers but never retried".to_owned()
        } else {
            "the client never got a 503 or 429".to_owned()
        });
    }
    let also = if scheduled > 0 {
        format!(
            "; {scheduled} later requests were the application's next scheduled calls{pace_text}, not retries"
        )
    } else {
        String::new()
    };
    if early > 0 {
        return ev.fail(format!("{early} of {retries} retries after a 503/429 came before Retry-After ran out (up to {max_within} requests in one wait){also}"));
    }
    ev.pass(format!("{retries} retries after {faults} 503/429 answers, none before Retry-After (shortest wait {}){also}", human_ms(min_gap.unwrap_or(0))))
}

#[cfg(test)]
mod tests {
    use crate::checks::Verdict;
    use crate::checks::testlog::Log;

    // One new token and one retry after a revocation passes; no 401 at all is no evidence.
    #[test]
    fn recovers_after_401() {
        let mut log = Log::steady(1_000);
        assert_eq!(log.verdict("recovery.after_401"), Verdict::NoEvidence);
        log.call_401(1_100, "tok00002");
        log.token(1_110, "new00000", 1000);
        log.call(1_120, "new00000");
        let r = log.result("recovery.after_401");
        assert_eq!(r.verdict, Verdict::Pass, "{r:?}");
        assert_eq!(r.counts["judged"], 1);
    }

    // Carrying on with the refused token, or fetching several tokens, fails.
    #[test]
    fn ignores_401_or_loops() {
        let mut log = Log::steady(1_000);
        for i in 0..5 {
            log.call_401(1_100 + i * 50, "tok00002");
        }
        let r = log.result("recovery.after_401");
        assert_eq!(r.verdict, Verdict::Fail, "{r:?}");
        assert!(r.findings[0].detail.contains("more calls"));

        let mut log = Log::steady(1_000);
        log.call_401(1_100, "tok00002");
        for i in 0..4 {
            log.token(1_110 + i * 10, &format!("loop{i:04}"), 1000);
        }
        log.call(1_200, "loop0003");
        assert_eq!(log.verdict("recovery.after_401"), Verdict::Fail);
    }

    // Token requests all refused after the 401: not judged here (other checks say why).
    #[test]
    fn refused_recovery_is_inconclusive() {
        let mut log = Log::steady(1_000);
        log.call_401(1_100, "tok00002");
        log.token_refused(1_110, "replay");
        assert_eq!(log.verdict("recovery.after_401"), Verdict::NoEvidence);
    }

    // Waiting for Retry-After passes; a tight loop fails and counts the storm.
    #[test]
    fn backoff() {
        let mut log = Log::steady(500);
        assert_eq!(log.verdict("recovery.backoff"), Verdict::NoEvidence);
        log.fault(600, 503, 1);
        log.fault(1_610, 503, 1);
        log.token(2_620, "after000", 1000);
        let r = log.result("recovery.backoff");
        assert_eq!(r.verdict, Verdict::Pass, "{r:?}");
        assert_eq!(r.counts["retries"], 2);

        let mut log = Log::steady(500);
        for i in 0..20 {
            log.fault(600 + i * 5, 429, 2);
        }
        log.token(800, "after000", 1000);
        let r = log.result("recovery.backoff");
        assert_eq!(r.verdict, Verdict::Fail);
        // The 20th request, 105 ms after the last 429, came at the client's own 100 ms pace:
        // its next scheduled call, not a retry.
        assert_eq!(r.counts["early_retries"], 19);
        assert_eq!(r.counts["scheduled_calls"], 1);
        assert!(r.counts["requests_in_one_wait_max"] >= 19, "{r:?}");
    }

    // The application's next scheduled call after a 503 (it called its API in between, or
    // came at its own pace) is not a retry: a 100 ms-paced client is not a retry storm.
    #[test]
    fn scheduled_call_is_not_a_retry() {
        let mut log = Log::steady(1_000);
        log.fault(1_100, 503, 5);
        log.call(1_150, "tok00001");
        log.fault(1_200, 503, 5);
        log.fault(1_300, 503, 5);
        let r = log.result("recovery.backoff");
        assert_eq!(r.verdict, Verdict::NoEvidence, "{r:?}");
        assert_eq!(r.counts["early_retries"], 0, "{r:?}");
        assert_eq!(r.counts["scheduled_calls"], 2, "{r:?}");
        assert!(r.summary.contains("scheduled"), "{r:?}");
        // The refused request repeated within 5 ms is still a retry.
        log.fault(1_305, 503, 5);
        assert_eq!(log.verdict("recovery.backoff"), Verdict::Fail);
    }

    // A token endpoint answering 401 (invalid_client) is not "never got a 401".
    #[test]
    fn token_endpoint_401_is_named() {
        let mut log = Log::steady(500);
        for i in 0..3 {
            let e = log.token_refused(600 + i * 100, "x");
            e.status = 401;
            e.error = Some("invalid_client".into());
            e.reason = None;
            e.claims = None;
        }
        let r = log.result("recovery.after_401");
        assert_eq!(r.verdict, Verdict::NoEvidence);
        assert!(
            r.summary.contains("answered 401 to 3 token requests"),
            "{r:?}"
        );
        assert!(r.summary.contains("invalid_client"), "{r:?}");
    }
}
