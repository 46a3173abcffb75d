//! The lines `bearing certify` shows while it runs: the banner (where the partner's client
//! should point) and one line per step of the plan as it happens. Values, not printing: the
//! CLI decides where they go.

use crate::{Action, Certification, Mark};

/// The banner: the gateway's URLs, the aud to sign, the clients and the plan.
pub fn banner_lines(run: &Certification) -> Vec<String> {
    let gw = run.gateway();
    let p = run.plan();
    vec![
        format!(
            "bearing certify: sandbox gateway listening on {}",
            gw.base_url
        ),
        format!("token endpoint: {}", gw.token_url),
        format!(
            "inventory API:  {}",
            gw.api_url("inventory").unwrap_or_default()
        ),
        format!("aud to sign:    {}", gw.token_url),
        format!("clients:        {}", gw.state.registry().ids().join(", ")),
        format!(
            "plan:           {} ({}), {} phases, {:.1} s, starting at your client's first request",
            p.name,
            p.origin,
            p.phases.len(),
            p.length().as_secs_f64()
        ),
        "press ctrl-c to stop (the report is written either way)".to_owned(),
    ]
}

/// The line announcing a mark of the plan, or `None` for marks that need none.
pub fn describe_mark(m: &Mark) -> Option<String> {
    Some(match &m.action {
        Action::PlanStarted => "client seen: plan started".to_owned(),
        Action::PhaseStarted { name } => format!("phase {name}"),
        Action::TokenLifetime { ms } => format!("  tokens now live {:.0} s", *ms as f64 / 1000.0),
        Action::Revoked { tokens } => {
            format!("  revoked {tokens} tokens: the client must get a 401 and recover")
        }
        Action::TokenFault {
            status,
            retry_after_s,
            ..
        } => format!("  token endpoint answers {status} with Retry-After: {retry_after_s}"),
        Action::Latency { ms } => format!("  {ms} ms added latency"),
        Action::Settling => "settling: observing at the baseline".to_owned(),
        Action::FaultsCleared => return None,
        Action::Ended { reason } => format!("ended: {}", reason.as_str()),
    })
}

/// Turns marks into lines in the order a person should read them: the first phase is set up
/// before the client arrives (so its first token already follows the phase), but is
/// announced only once the plan starts.
#[derive(Debug)]
pub struct MarkLines {
    before_start: Option<Vec<String>>,
}

impl Default for MarkLines {
    fn default() -> Self {
        Self {
            before_start: Some(Vec::new()),
        }
    }
}

impl MarkLines {
    /// The lines to show now that `m` happened (none, one, or the held ones).
    pub fn push(&mut self, m: &Mark) -> Vec<String> {
        let Some(line) = describe_mark(m) else {
            return Vec::new();
        };
        match (&mut self.before_start, &m.action) {
            (Some(_), Action::PlanStarted) => {
                let mut now = vec![line];
                now.extend(self.before_start.take().unwrap_or_default());
                now
            }
            (Some(held), Action::PhaseStarted { .. } | Action::TokenLifetime { .. })
            | (Some(held), Action::TokenFault { .. } | Action::Latency { .. }) => {
                held.push(line);
                Vec::new()
            }
            _ => vec![line],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(action: Action) -> Mark {
        Mark { at_ms: 0, action }
    }

    // The first phase's set-up is held until the plan starts, then follows its start line;
    // later marks show at once, and a mark without a line shows nothing.
    #[test]
    fn first_phase_waits_for_the_plan() {
        let mut l = MarkLines::default();
        let phase = mark(Action::PhaseStarted {
            name: "baseline".into(),
        });
        assert!(l.push(&phase).is_empty());
        assert!(l.push(&mark(Action::FaultsCleared)).is_empty());
        assert_eq!(
            l.push(&mark(Action::PlanStarted)),
            ["client seen: plan started", "phase baseline"]
        );
        assert_eq!(
            l.push(&mark(Action::Settling)),
            ["settling: observing at the baseline"]
        );
    }
}
