//! `junit.xml` through quick-junit (an escaping writer): one test suite per category, one
//! test case per conformance case. A failed expectation is a `<failure>`, a case that could
//! not run an `<error>`, a skip `<skipped>`; a warning passes with the warning in
//! `<system-out>`.

use std::io::Write;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::error::{Error, Result};
use crate::model::Category;
use crate::outcome::{CaseOutcome, RunSummary};

/// Builds the JUnit report.
pub fn report(summary: &RunSummary) -> Report {
    let mut report = Report::new("bearing conform");
    report.set_time(summary.duration);
    for cat in Category::ALL {
        let cases: Vec<_> = summary.cases.iter().filter(|c| c.category == cat).collect();
        if cases.is_empty() {
            continue;
        }
        let mut suite = TestSuite::new(cat.as_str());
        for c in cases {
            let expected = summary.expected_failure(&c.id);
            let status = match c.outcome {
                CaseOutcome::Fail | CaseOutcome::Error if expected.is_some() => {
                    let mut s = TestCaseStatus::skipped();
                    let why = expected.map(|e| e.reason.as_str()).unwrap_or_default();
                    s.set_message(format!("expected failure: {why}"));
                    s
                }
                CaseOutcome::Pass | CaseOutcome::Warn => TestCaseStatus::success(),
                CaseOutcome::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(c.reason.as_str()).set_type(c.level.as_str());
                    s
                }
                CaseOutcome::Error => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                    s.set_message(c.reason.as_str()).set_type("error");
                    s
                }
                CaseOutcome::Skip => {
                    let mut s = TestCaseStatus::skipped();
                    s.set_message(c.reason.as_str());
                    s
                }
            };
            let mut tc = TestCase::new(c.id.as_str(), status);
            tc.set_classname(format!("conform.{}", cat.as_str()))
                .set_time(c.duration)
                .set_assertions(c.findings.len())
                .add_property(("level", c.level.as_str()))
                .add_property(("citation", c.citation.as_str()));
            if c.outcome == CaseOutcome::Warn {
                tc.set_system_out(format!("warning: {}", c.reason));
            } else if expected.is_some() {
                tc.set_system_out(format!("{}: {}", c.outcome, c.reason));
            }
            suite.add_test_case(tc);
        }
        report.add_test_suite(suite);
    }
    report
}

/// Writes the JUnit XML.
///
/// # Errors
/// [`Error::Report`] when serialization or the write fails.
pub fn write(summary: &RunSummary, out: impl Write) -> Result<()> {
    report(summary)
        .serialize(out)
        .map_err(|e| Error::Report(format!("junit.xml: {e}")))
}
