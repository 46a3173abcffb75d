//! Loading suites: files, folders, the bundled suites, and the checks YAML types cannot make
//! (unique ids, names saved before use, one action per admin step, known placeholders). Any
//! error stops the load: a bad suite never runs half-way.

use std::collections::HashSet;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{
    AdminStep, ApiStep, AssertionSource, Branch, Case, Expect, Mutation, RequestChange, Step,
    Suite, TokenStep, WaitStep,
};
use crate::template;

/// The suites shipped in `scenarios/conformance/`, compiled into the binary so
/// `bearing conform` runs them from anywhere.
pub const BUNDLED: [(&str, &str); 9] = [
    (
        "token-request",
        include_str!("../../../scenarios/conformance/token-request.yaml"),
    ),
    (
        "assertion-claims",
        include_str!("../../../scenarios/conformance/assertion-claims.yaml"),
    ),
    (
        "assertion-signature",
        include_str!("../../../scenarios/conformance/assertion-signature.yaml"),
    ),
    (
        "jose-header",
        include_str!("../../../scenarios/conformance/jose-header.yaml"),
    ),
    (
        "replay",
        include_str!("../../../scenarios/conformance/replay.yaml"),
    ),
    (
        "expiry",
        include_str!("../../../scenarios/conformance/expiry.yaml"),
    ),
    (
        "resource-401",
        include_str!("../../../scenarios/conformance/resource-401.yaml"),
    ),
    (
        "refresh",
        include_str!("../../../scenarios/conformance/refresh.yaml"),
    ),
    (
        "transport",
        include_str!("../../../scenarios/conformance/transport.yaml"),
    ),
];

/// Parses one suite from text; `origin` names it in errors.
///
/// # Errors
/// [`Error::Suite`] with `origin:line:col`, or naming the case and step at fault.
pub fn parse(text: &str, origin: &str) -> Result<Suite> {
    let mut suite: Suite =
        bearing_auth::yaml::from_str(text, origin).map_err(|e| Error::Suite(e.to_string()))?;
    suite.origin = origin.to_owned();
    for case in &suite.cases {
        check_case(case).map_err(|m| Error::Suite(format!("{origin}: case {}: {m}", case.id)))?;
    }
    Ok(suite)
}

/// Loads a suite file.
///
/// # Errors
/// [`Error::Io`] or [`Error::Suite`].
pub fn load_file(path: &Path) -> Result<Suite> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// The bundled suites.
///
/// # Errors
/// [`Error::Suite`] if a bundled suite is malformed (a test keeps them valid).
pub fn bundled() -> Result<Vec<Suite>> {
    let suites = BUNDLED
        .iter()
        .map(|(name, text)| parse(text, &format!("bundled:{name}.yaml")))
        .collect::<Result<Vec<_>>>()?;
    check_unique(&suites)?;
    Ok(suites)
}

/// Loads suites named on the command line: a file, a folder (its `*.yaml`, sorted) or the name
/// of a bundled suite (`replay`). No names means every bundled suite.
///
/// # Errors
/// [`Error::Suite`] for an unknown name or a malformed suite; [`Error::Io`].
pub fn load(names: &[String]) -> Result<Vec<Suite>> {
    if names.is_empty() {
        return bundled();
    }
    let mut suites = Vec::new();
    for name in names {
        let path = Path::new(name);
        if path.is_dir() {
            let mut files: Vec<_> = std::fs::read_dir(path)
                .map_err(|source| Error::Read {
                    path: path.to_owned(),
                    source,
                })?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
                .collect();
            files.sort();
            for f in files {
                suites.push(load_file(&f)?);
            }
        } else if path.exists() {
            suites.push(load_file(path)?);
        } else if let Some((n, text)) = BUNDLED.iter().find(|(n, _)| n == name) {
            suites.push(parse(text, &format!("bundled:{n}.yaml"))?);
        } else {
            let known: Vec<&str> = BUNDLED.iter().map(|(n, _)| *n).collect();
            return Err(Error::Suite(format!(
                "suite \"{name}\": no such file, folder or bundled suite (bundled: {})",
                known.join(", ")
            )));
        }
    }
    check_unique(&suites)?;
    Ok(suites)
}

/// Refuses a case id that appears twice across the loaded suites.
fn check_unique(suites: &[Suite]) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for s in suites {
        for c in &s.cases {
            if let Some(first) = seen.insert(c.id.as_str(), s.origin.as_str()) {
                return Err(Error::Suite(format!(
                    "{}: case id \"{}\" already used in {first}",
                    s.origin, c.id
                )));
            }
        }
    }
    Ok(())
}

fn check_case(case: &Case) -> Result<(), String> {
    if case.id.is_empty()
        || !case
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err("id must be lower-case letters, digits and dashes".into());
    }
    if case.steps.is_empty() {
        return Err("no steps".into());
    }
    let mut saved: HashSet<&str> = HashSet::new();
    let mut parties: HashSet<&str> = HashSet::new();
    for (i, step) in case.steps.iter().chain(&case.cleanup).enumerate() {
        check_step(step, &mut saved, &mut parties)
            .map_err(|m| format!("step {} ({}): {m}", i + 1, step.kind()))?;
    }
    Ok(())
}

fn need(saved: &HashSet<&str>, name: &str, what: &str) -> Result<(), String> {
    if saved.contains(name) {
        Ok(())
    } else {
        Err(format!(
            "{what} \"{name}\" is not saved by an earlier token step"
        ))
    }
}

fn check_templates(s: &str, saved: &HashSet<&str>) -> Result<(), String> {
    for p in template::placeholders(s)? {
        if p.name == "token"
            && let Some(name) = p.arg
        {
            need(saved, name, "token")?;
        }
    }
    Ok(())
}

fn check_expectations(
    expect: Option<&Expect>,
    branches: &[Branch],
    should: Option<&Expect>,
) -> Result<(), String> {
    if expect.is_some() && !branches.is_empty() {
        return Err("give either expect or expect_by_profile, not both".into());
    }
    if expect.is_none() && branches.is_empty() && should.is_none() {
        return Err("no expectations: give expect, expect_by_profile or should".into());
    }
    if let Some((last, rest)) = branches.split_last() {
        if last.when.is_some() {
            return Err(
                "the last expect_by_profile branch must have no `when` (it catches the rest)"
                    .into(),
            );
        }
        if rest.iter().any(|b| b.when.is_none()) {
            return Err("only the last expect_by_profile branch may omit `when`".into());
        }
    }
    Ok(())
}

fn check_token<'a>(
    t: &'a TokenStep,
    saved: &mut HashSet<&'a str>,
    parties: &HashSet<&str>,
) -> Result<(), String> {
    if !matches!(t.identity.as_str(), "primary" | "second")
        && !parties.contains(t.identity.as_str())
    {
        return Err(format!(
            "as: \"{}\" is neither primary, second nor registered earlier in the case",
            t.identity
        ));
    }
    match &t.assertion {
        AssertionSource::Fresh => {}
        AssertionSource::JtiOf(n) => need(saved, n, "assertion")?,
        AssertionSource::Reuse(n) | AssertionSource::AccessTokenOf(n) => {
            need(saved, n, "assertion")?;
            if !t.mutate.is_empty() {
                return Err(
                    "mutations apply to fresh assertions only, not reuse/access_token_of".into(),
                );
            }
        }
        AssertionSource::Raw(_) => {
            if !t.mutate.is_empty() {
                return Err("mutations apply to fresh assertions only, not raw".into());
            }
        }
    }
    for m in &t.mutate {
        match m {
            Mutation::SetClaim(map) | Mutation::SetHeader(map) => {
                map.values().try_for_each(template::check_json)?;
            }
            Mutation::DuplicateClaim(d) | Mutation::DuplicateHeader(d) => {
                template::check_json(&d.value)?;
            }
            Mutation::RawClaims(s) | Mutation::RawHeader(s) => check_templates(s, saved)?,
            Mutation::Shift(map) => {
                for v in map.values() {
                    crate::expr::parse_signed_duration(v)?;
                }
            }
            Mutation::SignWith(s) => {
                if let Some(a) = &s.alg {
                    a.parse::<bearing_auth::Algorithm>()
                        .map_err(|e| e.to_string())?;
                }
            }
            Mutation::Hmac(h) => {
                if let Some(a) = &h.alg
                    && !matches!(a.as_str(), "HS256" | "HS384" | "HS512")
                {
                    return Err(format!("hmac alg \"{a}\": expected HS256, HS384 or HS512"));
                }
            }
            _ => {}
        }
    }
    for r in &t.request {
        match r {
            RequestChange::SetParam { value, .. } | RequestChange::AddParam { value, .. } => {
                check_templates(value, saved)?;
            }
            RequestChange::Header { value, .. } => check_templates(value, saved)?,
            RequestChange::Method(m)
                if (m.is_empty() || !m.bytes().all(|b| b.is_ascii_uppercase())) =>
            {
                return Err(format!(
                    "method \"{m}\": expected an upper-case HTTP method"
                ));
            }
            _ => {}
        }
    }
    if t.parallel.is_some_and(|n| !(2..=64).contains(&n)) {
        return Err("parallel must be between 2 and 64".into());
    }
    check_expectations(t.expect.as_ref(), &t.expect_by_profile, t.should.as_ref())?;
    if let Some(name) = &t.save
        && !saved.insert(name.as_str())
    {
        return Err(format!("name \"{name}\" is saved twice"));
    }
    Ok(())
}

fn check_api(a: &ApiStep, saved: &HashSet<&str>) -> Result<(), String> {
    let sources = usize::from(a.token.is_some())
        + usize::from(a.authorization.is_some())
        + usize::from(a.garbage_token.is_some())
        + usize::from(a.assertion_as_token.is_some());
    if sources > 1 {
        return Err(
            "give at most one of token, authorization, garbage_token, assertion_as_token".into(),
        );
    }
    if let Some(n) = &a.token {
        need(saved, n, "token")?;
    }
    if let Some(n) = &a.assertion_as_token {
        need(saved, n, "assertion")?;
    }
    if let Some(s) = &a.authorization {
        check_templates(s, saved)?;
    }
    check_expectations(a.expect.as_ref(), &a.expect_by_profile, a.should.as_ref())
}

fn check_admin(a: &AdminStep, saved: &HashSet<&str>) -> Result<(), String> {
    if a.action_count() != 1 {
        return Err(
            "name exactly one of revoke, set_lifetime, shift_clock, register_client".into(),
        );
    }
    if let Some(n) = &a.revoke {
        need(saved, n, "token")?;
    }
    if let Some(l) = &a.set_lifetime
        && l != "default"
    {
        humantime::parse_duration(l).map_err(|e| format!("set_lifetime \"{l}\": {e}"))?;
    }
    Ok(())
}

fn check_wait(w: &WaitStep, saved: &HashSet<&str>) -> Result<(), String> {
    let n = usize::from(w.duration.is_some())
        + usize::from(w.until_expiry_of.is_some())
        + usize::from(w.until_assertion_exp_of.is_some());
    if n != 1 {
        return Err("name exactly one of for, until_expiry_of, until_assertion_exp_of".into());
    }
    if let Some(t) = w
        .until_expiry_of
        .as_deref()
        .or(w.until_assertion_exp_of.as_deref())
    {
        need(saved, t, "token")?;
    }
    Ok(())
}

fn check_step<'a>(
    step: &'a Step,
    saved: &mut HashSet<&'a str>,
    parties: &mut HashSet<&'a str>,
) -> Result<(), String> {
    match step {
        Step::Token(t) => check_token(t, saved, parties),
        Step::Api(a) => check_api(a, saved),
        Step::Admin(a) => {
            check_admin(a, saved)?;
            if let Some(r) = &a.register_client {
                if matches!(r.name.as_str(), "primary" | "second") {
                    return Err(format!("register_client name \"{}\" is reserved", r.name));
                }
                parties.insert(r.name.as_str());
            }
            Ok(())
        }
        Step::Wait(w) => check_wait(w, saved),
        Step::Managed(m) => {
            if m.calls == 0 || m.calls > 10 {
                return Err("calls must be between 1 and 10".into());
            }
            check_expectations(m.expect.as_ref(), &m.expect_by_profile, m.should.as_ref())
        }
        Step::Probe(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = "suite: t\ncases:\n  - id: tr-x\n    title: x\n    category: token-request\n    level: MUST\n    citation: RFC 6749 §5.2\n    steps:\n      - token:\n          save: a\n          expect: { verdict: accepted }\n      - token:\n          assertion: { reuse: a }\n          expect_by_profile:\n            - when: profile.replay_protection == jti\n              expect: { verdict: rejected, error: profile.errors.replay }\n            - expect: { verdict: accepted }\n";

    // A well-formed suite loads.
    #[test]
    fn parses() {
        let s = parse(OK, "t.yaml").expect("parse");
        assert_eq!(s.cases.len(), 1);
        assert_eq!(s.cases[0].steps.len(), 2);
    }

    // Bad input names the file and position, or the case and step.
    #[test]
    fn errors_have_positions() {
        let bad = OK.replace(
            "verdict: accepted }\n      - token",
            "verdict: accepted, colour: red }\n      - token",
        );
        let e = parse(&bad, "t.yaml").expect_err("unknown key").to_string();
        assert!(e.starts_with("t.yaml:11:"), "{e}");
        assert!(e.contains("colour"), "{e}");

        let bad = OK.replace(
            "save: a",
            "mutate: [ { frobnicate: 1 } ]\n          save: a",
        );
        let e = parse(&bad, "t.yaml")
            .expect_err("unknown mutation")
            .to_string();
        assert!(e.starts_with("t.yaml:"), "{e}");
        assert!(e.contains("frobnicate"), "{e}");

        let bad = OK.replace("{ reuse: a }", "{ reuse: b }");
        let e = parse(&bad, "t.yaml").expect_err("unsaved").to_string();
        assert!(e.contains("case tr-x: step 2 (token)"), "{e}");

        let bad = OK.replace(
            "when: profile.replay_protection",
            "when: profile.replay_protektion",
        );
        let e = parse(&bad, "t.yaml").expect_err("bad field").to_string();
        assert!(e.contains("t.yaml:15:"), "{e}");
        assert!(e.contains("unknown profile field"), "{e}");

        let bad = OK.replace("            - expect: { verdict: accepted }\n", "");
        let e = parse(&bad, "t.yaml").expect_err("no catch-all").to_string();
        assert!(e.contains("last expect_by_profile branch"), "{e}");

        let bad = OK.replace("level: MUST", "level: MUSTN'T");
        let e = parse(&bad, "t.yaml").expect_err("bad level").to_string();
        assert!(e.starts_with("t.yaml:6:"), "{e}");
    }

    // The bundled suites load, have unique catalog ids and cover at least 100 cases.
    #[test]
    fn bundled_suites_load() {
        let suites = bundled().expect("bundled suites");
        let n: usize = suites.iter().map(|s| s.cases.len()).sum();
        assert!(n >= 100, "only {n} cases");
        assert!(load(&["replay".into()]).is_ok());
        assert!(load(&["no-such-suite".into()]).is_err());
    }
}
