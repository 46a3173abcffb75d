//! `junit.xml` through quick-junit (escaping done for us): one test suite per client, one
//! test case per check. A failed check is a `<failure>`; a check without evidence is
//! `<skipped>` with the reason, so CI shows it without counting it as passed.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::checks::Verdict;
use crate::error::{Error, Result};
use crate::summary::{CertifySummary, rfc3339_ms};

/// Writes the JUnit XML report.
///
/// # Errors
/// [`Error::Report`] when serializing fails.
pub fn write(w: &mut impl Write, summary: &CertifySummary) -> Result<()> {
    let mut report = Report::new(format!("bearing certify {}", summary.plan.name));
    for c in &summary.clients {
        let mut suite = TestSuite::new(format!("certify {}", c.client_id));
        suite.add_property(("plan", summary.plan.name.as_str()));
        suite.add_property(("profile", summary.profile.as_str()));
        suite.add_property(("token_url", summary.token_url.as_str()));
        // Refused token requests by reason, so CI shows why checks lack evidence.
        for (reason, n) in &c.refusals {
            suite.add_property((format!("refused.{reason}"), n.to_string()));
        }
        for sc in &c.scopes {
            suite.add_property((
                format!("scope.{}", sc.scope),
                format!(
                    "{} granted, refused: {}",
                    sc.granted,
                    crate::summary::reasons_text(&sc.refused)
                ),
            ));
        }
        for r in &c.checks {
            let expected = summary.expected_failure(&r.id);
            let status = match r.verdict {
                Verdict::Fail | Verdict::NoEvidence if expected.is_some() => {
                    let mut s = TestCaseStatus::skipped();
                    let why = expected.map(|e| e.reason.as_str()).unwrap_or_default();
                    s.set_message(format!("expected failure: {why}"));
                    s
                }
                Verdict::Pass => TestCaseStatus::success(),
                Verdict::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(r.summary.as_str()).set_type(r.id.as_str());
                    let mut text = format!("rule: {}\n", r.rule);
                    for f in &r.findings {
                        text.push_str(&format!("{}  {}\n", rfc3339_ms(f.at_ms), f.detail));
                    }
                    if r.findings_total > r.findings.len() as u64 {
                        text.push_str(&format!("… {} findings in all\n", r.findings_total));
                    }
                    s.set_description(text);
                    s
                }
                Verdict::NoEvidence => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(format!("no evidence: {}", r.summary));
                    s
                }
            };
            let mut case = TestCase::new(r.id.as_str(), status);
            case.set_classname(format!("certify.{}", c.client_id));
            if r.verdict == Verdict::Pass || expected.is_some() {
                case.set_system_out(format!("{} (rule: {})", r.summary, r.rule));
            }
            suite.add_test_case(case);
        }
        if !c.refusals.is_empty() {
            suite.set_system_out(format!(
                "token requests refused: {}",
                crate::summary::reasons_text(&c.refusals)
            ));
        }
        report.add_test_suite(suite);
    }
    report
        .serialize(w)
        .map_err(|e| Error::Report(e.to_string()))
}
