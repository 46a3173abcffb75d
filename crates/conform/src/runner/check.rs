//! Evaluating [`Expect`]ations against one answer. Every check becomes a [`Finding`] that
//! says what was expected and what came; a miss is binding (fails the case) or not (warns)
//! as the caller decides from the case level.

use std::collections::HashMap;

use serde_json::Value;

use crate::challenge;
use crate::expr::{ProfileJson, Vars};
use crate::http::Response;
use crate::model::{ChallengeCheck, Expect, HeaderCheck, JsonCheck, Verdict};
use crate::outcome::Finding;
use crate::runner::listener::Listener;

/// Which endpoint answered: error codes are read differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// The token endpoint (RFC 6749 §5.2 bodies).
    Token,
    /// A protected API (RFC 6750 §3 challenges).
    Resource,
    /// The admin API.
    Admin,
}

/// What the managed flow saw on the wire.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Wire {
    pub token_requests: u32,
    pub distinct_jtis: u32,
    pub api_calls: u32,
}

/// Context of one check.
pub(crate) struct Ctx<'a> {
    pub profile: &'a ProfileJson,
    pub token_type: &'a str,
    pub listeners: &'a HashMap<String, Listener>,
    pub step: usize,
    pub wire: Option<Wire>,
}

struct Out<'a> {
    findings: &'a mut Vec<Finding>,
    step: usize,
    binding: bool,
}

impl Out<'_> {
    fn add(&mut self, passed: bool, message: String) {
        self.findings.push(Finding {
            step: self.step,
            passed,
            binding: self.binding,
            message,
        });
    }
}

/// Looks up a dotted path (`fault.detail.errorcode`) in a JSON value.
fn path<'v>(v: &'v Value, p: &str) -> Option<&'v Value> {
    p.split('.').try_fold(v, |cur, seg| match cur {
        Value::Array(a) => seg.parse::<usize>().ok().and_then(|i| a.get(i)),
        _ => cur.get(seg),
    })
}

fn numeric(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    }
}

/// Maps Apigee resource fault codes to RFC 6750 §3.1 codes (catalog §2, Apigee column).
fn apigee_resource_code(code: &str) -> Option<&'static str> {
    match code {
        "keymanagement.service.invalid_access_token"
        | "keymanagement.service.access_token_expired" => Some("invalid_token"),
        "oauth.v2.InvalidRequest" => Some("invalid_request"),
        "oauth.v2.InvalidAPICallAsNoApiProductMatchFound" => Some("insufficient_scope"),
        _ => None,
    }
}

/// The machine-readable error code of an answer, read the profile's ways: `error`, Apigee
/// `ErrorCode`, the challenge's `error`, Apigee `fault.detail.errorcode`.
pub(crate) fn error_code(resp: &Response, side: Side) -> Option<String> {
    let body = resp.json();
    let from_body = |k: &str| {
        body.as_ref()
            .and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    match side {
        Side::Token | Side::Admin => from_body("error").or_else(|| from_body("ErrorCode")),
        Side::Resource => {
            let from_challenge = resp
                .header("www-authenticate")
                .and_then(|h| challenge::parse(&h).ok())
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c.is("bearer"))
                        .and_then(|c| c.param("error").map(str::to_owned))
                });
            from_challenge.or_else(|| from_body("error")).or_else(|| {
                body.as_ref()
                    .and_then(|b| path(b, "fault.detail.errorcode"))
                    .and_then(Value::as_str)
                    .and_then(apigee_resource_code)
                    .map(str::to_owned)
            })
        }
    }
}

/// Checks `expect` against `resp`, adding findings.
pub(crate) fn check(
    expect: &Expect,
    resp: &Response,
    side: Side,
    binding: bool,
    ctx: &Ctx<'_>,
    findings: &mut Vec<Finding>,
) {
    let mut out = Out {
        findings,
        step: ctx.step,
        binding,
    };
    let body = resp.json();
    let status = resp.status;
    let code = error_code(resp, side);
    let expected_codes: Option<Vec<String>> = expect.error.as_ref().map(|e| {
        e.as_slice()
            .iter()
            .map(|t| t.resolve(ctx.profile))
            .collect()
    });

    match expect.verdict {
        Some(Verdict::Accepted) => accepted(&mut out, resp, body.as_ref(), ctx),
        Some(Verdict::Rejected) => rejected(
            &mut out,
            expect,
            status,
            code.as_deref(),
            body.as_ref(),
            expected_codes.is_none(),
        ),
        None => {}
    }
    if let Some(spec) = &expect.status {
        out.add(
            spec.accepts(status, ctx.profile),
            format!(
                "status: got {status}, expected {}",
                spec.describe(ctx.profile)
            ),
        );
    }
    if let Some(codes) = &expected_codes {
        let ok = code.as_ref().is_some_and(|c| codes.contains(c));
        out.add(
            ok,
            format!(
                "error code: got {}, expected {}",
                show(code.as_deref()),
                codes.join(" or ")
            ),
        );
    }
    if let Some(want) = expect.access_token {
        let has = body.as_ref().and_then(|b| b.get("access_token")).is_some();
        out.add(
            has == want,
            format!(
                "access_token {}: {}",
                if want { "present" } else { "absent" },
                if has { "present" } else { "absent" }
            ),
        );
    }
    for (name, hc) in &expect.headers {
        header(&mut out, resp, name, hc);
    }
    if let Some(cc) = &expect.challenge {
        challenge_check(&mut out, resp, cc, ctx);
    }
    for (p, jc) in &expect.json {
        json_check(&mut out, body.as_ref(), p, jc, ctx);
    }
    no_requests(&mut out, &expect.no_request_to, ctx);
    if let Some(max) = expect.max_duration {
        out.add(
            resp.elapsed <= max,
            format!(
                "answered in {:.0} ms, limit {} ms",
                resp.elapsed.as_secs_f64() * 1000.0,
                max.as_millis()
            ),
        );
    }
    wire_counts(&mut out, expect, ctx);
}

/// The `REJECT` verdict (RFC 6749 §5.2, RFC 7523 §3.1): 400 (or 401 `invalid_client`) unless
/// the case names a status, no access token, `invalid_grant` unless the case names codes.
fn rejected(
    out: &mut Out<'_>,
    expect: &Expect,
    status: u16,
    code: Option<&str>,
    body: Option<&Value>,
    default_code: bool,
) {
    if expect.status.is_none() {
        let ok = status == 400 || (status == 401 && code == Some("invalid_client"));
        out.add(
            ok,
            format!("REJECT status: got {status}, expected 400 (or 401 with invalid_client)"),
        );
    }
    let has_token = body.and_then(|b| b.get("access_token")).is_some();
    out.add(
        !has_token,
        format!(
            "REJECT carries no access_token: {}",
            if has_token { "it does" } else { "none" }
        ),
    );
    if default_code {
        let ok = code == Some("invalid_grant");
        out.add(
            ok,
            format!("error code: got {}, expected invalid_grant", show(code)),
        );
    }
}

/// The listeners named by `no_request_to` were started and received nothing (a `jku`/`x5u`
/// the gateway must not fetch).
fn no_requests(out: &mut Out<'_>, names: &[String], ctx: &Ctx<'_>) {
    for name in names {
        match ctx.listeners.get(name) {
            Some(l) => {
                let hits = l.hits();
                out.add(
                    hits == 0,
                    format!("listener {name} received {hits} request(s), expected none"),
                );
            }
            None => out.add(
                false,
                format!("listener {name} was never started (no {{listener:{name}}} in the case)"),
            ),
        }
    }
}

/// What a managed client sent on the wire (token requests, distinct `jti`s, API calls).
fn wire_counts(out: &mut Out<'_>, expect: &Expect, ctx: &Ctx<'_>) {
    if let Some(w) = ctx.wire {
        for (what, want, got) in [
            ("token requests", expect.token_requests, w.token_requests),
            ("distinct jtis", expect.distinct_jtis, w.distinct_jtis),
            ("api calls", expect.api_calls, w.api_calls),
        ] {
            if let Some(want) = want {
                out.add(
                    got == want,
                    format!("{what} on the wire: got {got}, expected {want}"),
                );
            }
        }
    }
}

fn show(code: Option<&str>) -> String {
    code.map_or_else(|| "none".into(), |c| format!("\"{c}\""))
}

fn accepted(out: &mut Out<'_>, resp: &Response, body: Option<&Value>, ctx: &Ctx<'_>) {
    out.add(
        resp.status == 200,
        format!("token status: got {}, expected 200", resp.status),
    );
    let Some(b) = body.filter(|b| b.is_object()) else {
        out.add(false, "token response body is not a JSON object".into());
        return;
    };
    let token_ok = b
        .get("access_token")
        .and_then(Value::as_str)
        .is_some_and(|t| !t.is_empty());
    out.add(token_ok, "access_token is a non-empty string".into());
    let tt = b.get("token_type").and_then(Value::as_str);
    out.add(
        tt.is_some_and(|t| t.eq_ignore_ascii_case(ctx.token_type)),
        format!(
            "token_type: got {}, expected {} (any case)",
            show(tt),
            ctx.token_type
        ),
    );
    let ei = b.get("expires_in");
    out.add(
        ei.and_then(numeric).is_some_and(|n| n > 0.0),
        format!(
            "expires_in is a positive number (or numeric string): got {}",
            ei.map_or("none".into(), Value::to_string)
        ),
    );
}

fn header(out: &mut Out<'_>, resp: &Response, name: &str, hc: &HeaderCheck) {
    let v = resp.header(name);
    if let Some(want) = hc.present {
        out.add(
            v.is_some() == want,
            format!(
                "header {name} {}: {}",
                if want { "present" } else { "absent" },
                v.as_deref().unwrap_or("absent")
            ),
        );
    }
    let shown = v.clone().unwrap_or_else(|| "absent".into());
    if let Some(eq) = &hc.equals {
        out.add(
            v.as_deref()
                .is_some_and(|x| x.trim().eq_ignore_ascii_case(eq)),
            format!("header {name} equals {eq}: got {shown}"),
        );
    }
    if let Some(c) = &hc.contains {
        let ok = v.as_deref().is_some_and(|x| {
            x.split(',').any(|p| {
                p.trim()
                    .split(';')
                    .next()
                    .is_some_and(|e| e.trim().eq_ignore_ascii_case(c))
            })
        });
        out.add(ok, format!("header {name} contains {c}: got {shown}"));
    }
    if let Some(p) = &hc.starts_with {
        let ok = v.as_deref().is_some_and(|x| {
            x.trim()
                .to_ascii_lowercase()
                .starts_with(&p.to_ascii_lowercase())
        });
        out.add(ok, format!("header {name} starts with {p}: got {shown}"));
    }
}

fn challenge_check(out: &mut Out<'_>, resp: &Response, cc: &ChallengeCheck, ctx: &Ctx<'_>) {
    if let Some(want) = cc.on_status
        && resp.status != want
    {
        // Not owed with this answer: nothing to judge, neither a pass nor a miss.
        return;
    }
    let raw = resp.header("www-authenticate");
    let want_present = cc.present.unwrap_or(true);
    if !want_present {
        out.add(
            raw.is_none(),
            format!(
                "no WWW-Authenticate: got {}",
                raw.as_deref().unwrap_or("none")
            ),
        );
        return;
    }
    let Some(raw) = raw else {
        out.add(false, "WWW-Authenticate present: none sent".into());
        return;
    };
    let parsed = match challenge::parse(&raw) {
        Ok(p) => p,
        Err(e) => {
            out.add(
                false,
                format!("WWW-Authenticate parses (RFC 9110 §11): {e} in {raw:?}"),
            );
            return;
        }
    };
    let scheme = cc.scheme.as_deref().unwrap_or("Bearer");
    let Some(ch) = parsed.iter().find(|c| c.is(scheme)) else {
        let got: Vec<&str> = parsed.iter().map(|c| c.scheme.as_str()).collect();
        out.add(
            false,
            format!(
                "WWW-Authenticate has a {scheme} challenge: got {}",
                got.join(", ")
            ),
        );
        return;
    };
    out.add(true, format!("WWW-Authenticate has a {scheme} challenge"));
    if let Some(min) = cc.min_params {
        out.add(
            ch.params.len() >= min,
            format!(
                "{scheme} challenge has at least {min} auth-param(s): got {}",
                ch.params.len()
            ),
        );
    }
    for (k, v) in &cc.params {
        let want = v.resolve(ctx.profile);
        let got = ch.param(k);
        out.add(
            got == Some(want.as_str()),
            format!("{scheme} challenge {k}=\"{want}\": got {}", show(got)),
        );
    }
    for k in &cc.has {
        out.add(ch.param(k).is_some(), format!("{scheme} challenge has {k}"));
    }
    for k in &cc.lacks {
        let got = ch.param(k);
        out.add(
            got.is_none(),
            format!("{scheme} challenge has no {k}: got {}", show(got)),
        );
    }
    if cc.strict_syntax {
        let unquoted: Vec<&str> = ch
            .params
            .iter()
            .filter(|p| !p.quoted)
            .map(|p| p.name.as_str())
            .collect();
        out.add(
            unquoted.is_empty(),
            format!(
                "{scheme} challenge values are quoted-strings (RFC 6750 §3): unquoted {unquoted:?}"
            ),
        );
        for key in ["error", "error_description"] {
            if let Some(v) = ch.param(key) {
                out.add(
                    challenge::is_error_text(v),
                    format!("{key} uses only RFC 6749 §5.2 characters: {v:?}"),
                );
            }
        }
    }
}

fn json_type_ok(v: &Value, kind: &str) -> Option<bool> {
    Some(match kind {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        "numeric" => numeric(v).is_some(),
        _ => return None,
    })
}

fn json_check(out: &mut Out<'_>, body: Option<&Value>, p: &str, jc: &JsonCheck, ctx: &Ctx<'_>) {
    let v = body.and_then(|b| path(b, p));
    let shown = v.map_or_else(|| "absent".to_owned(), Value::to_string);
    if let Some(want) = jc.present {
        out.add(
            v.is_some() == want,
            format!(
                "json {p} {}: {shown}",
                if want { "present" } else { "absent" }
            ),
        );
    }
    let needs_value = jc.kind.is_some()
        || jc.equals.is_some()
        || jc.equals_ci.is_some()
        || jc.nonempty.is_some()
        || !jc.one_of.is_empty()
        || jc.between.is_some();
    let Some(v) = v else {
        if needs_value {
            out.add(false, format!("json {p}: absent"));
        }
        return;
    };
    if let Some(k) = &jc.kind {
        let kind = k.resolve(ctx.profile);
        match json_type_ok(v, &kind) {
            Some(ok) => out.add(ok, format!("json {p} is a {kind}: {shown}")),
            None => out.add(
                false,
                format!("json {p}: unknown type {kind:?} in the suite"),
            ),
        }
    }
    if let Some(eq) = &jc.equals {
        out.add(v == eq, format!("json {p} equals {eq}: {shown}"));
    }
    if let Some(eq) = &jc.equals_ci {
        let want = eq.resolve(ctx.profile);
        out.add(
            v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&want)),
            format!("json {p} equals {want} (any case): {shown}"),
        );
    }
    if let Some(want) = jc.nonempty {
        let nonempty = match v {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            Value::Null => false,
            _ => true,
        };
        out.add(
            nonempty == want,
            format!(
                "json {p} {}: {shown}",
                if want { "non-empty" } else { "empty" }
            ),
        );
    }
    if !jc.one_of.is_empty() {
        let ok = v.as_str().is_some_and(|s| jc.one_of.iter().any(|o| o == s));
        out.add(
            ok,
            format!("json {p} one of {}: {shown}", jc.one_of.join(", ")),
        );
    }
    if let Some((lo, hi)) = &jc.between {
        let vars = Vars::default();
        match (
            lo.eval(&vars, ctx.profile),
            hi.eval(&vars, ctx.profile),
            numeric(v),
        ) {
            (Some(l), Some(h), Some(n)) => out.add(
                l <= n && n <= h,
                format!("json {p} within [{l}, {h}]: {shown}"),
            ),
            (_, _, None) => out.add(false, format!("json {p} is numeric: {shown}")),
            _ => out.add(
                false,
                format!(
                    "json {p}: bounds {} / {} have no value under this profile",
                    lo.source(),
                    hi.source()
                ),
            ),
        }
    }
    if jc.charset.is_some()
        && let Some(s) = v.as_str()
    {
        out.add(
            challenge::is_error_text(s),
            format!("json {p} uses only RFC 6749 §5.2 characters: {shown}"),
        );
    }
    if jc.uri
        && let Some(s) = v.as_str()
    {
        out.add(
            url::Url::parse(s).is_ok(),
            format!("json {p} is an absolute URI: {shown}"),
        );
    }
}
