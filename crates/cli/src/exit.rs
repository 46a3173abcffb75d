//! Exit codes (DESIGN.md): 0 success, 1 a check failed, 2 bad input, 3 could not run.

use std::process::ExitCode;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Everything ran and passed.
    Ok,
    /// Everything ran; a case, check or threshold failed.
    Failed,
    /// The input (flags, files) was bad; nothing ran.
    BadInput,
    /// The command could not run (network, gateway down).
    CouldNotRun,
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(match e {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::BadInput => 2,
            Exit::CouldNotRun => 3,
        })
    }
}

/// An error caused by the user's input: exits 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

/// An error that stopped a command from running (gateway unreachable, …): exits 3.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CouldNotRun(pub String);

/// Decides the exit code of an error by the kind of the first typed error in its chain:
/// bad input (2) or could not run (3). Never by the words of a message.
pub fn classify(err: &anyhow::Error) -> Exit {
    err.chain().find_map(kind).unwrap_or(Exit::CouldNotRun)
}

/// The exit code of one error of the chain, when its type decides it.
fn kind(cause: &(dyn std::error::Error + 'static)) -> Option<Exit> {
    if cause.downcast_ref::<BadInput>().is_some() || cause.downcast_ref::<clap::Error>().is_some() {
        return Some(Exit::BadInput);
    }
    if cause.downcast_ref::<CouldNotRun>().is_some() {
        return Some(Exit::CouldNotRun);
    }
    if let Some(e) = cause.downcast_ref::<bearing_report::EvidenceError>() {
        return Some(match e {
            bearing_report::EvidenceError::Input(_) => Exit::BadInput,
            bearing_report::EvidenceError::Report(_) => Exit::CouldNotRun,
        });
    }
    if let Some(e) = cause.downcast_ref::<bearing_auth::Error>() {
        return Some(auth_kind(e));
    }
    if let Some(e) = cause.downcast_ref::<bearing_gateway::Error>() {
        return Some(gateway_kind(e));
    }
    if let Some(e) = cause.downcast_ref::<bearing_auth::PartnerError>() {
        use bearing_auth::PartnerError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Auth(e) => Some(auth_kind(e)),
            E::Request(e) => kind(e),
            E::Timeout { .. } => Some(Exit::CouldNotRun),
            // The cause, the next link of the chain, decides.
            E::Identity(_) | E::Call { .. } => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_auth::KeygenError>() {
        use bearing_auth::KeygenError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Auth(e) => Some(auth_kind(e)),
            E::File(_) | E::Io { .. } => Some(Exit::CouldNotRun),
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_auth::RequestError>() {
        return match e {
            bearing_auth::RequestError::Auth(e) => Some(auth_kind(e)),
            _ => Some(Exit::BadInput),
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_gateway::OverrideError>() {
        use bearing_gateway::OverrideError as E;
        return match e {
            E::Auth(e) => Some(auth_kind(e)),
            E::Gateway(e) => Some(gateway_kind(e)),
            _ => Some(Exit::BadInput),
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_load::LoadRunError>() {
        use bearing_load::LoadRunError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Load(e) => kind(e),
            E::Evidence(e) => kind(e),
            E::MergeOverShard { .. } => Some(Exit::BadInput),
            E::Metrics { .. } | E::Unreachable { .. } => Some(Exit::CouldNotRun),
            // The cause, the next link of the chain, decides.
            E::Target(_) | E::Write { .. } | E::MergeWrite(..) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_load::Error>() {
        use bearing_load::Error as E;
        return match e {
            E::Profile(_) | E::Threshold { .. } | E::Target(_) | E::Read { .. } => {
                Some(Exit::BadInput)
            }
            // `#[error(transparent)]`: the wrapped error is not a link of the chain.
            E::Auth(e) => Some(auth_kind(e)),
            _ => Some(Exit::CouldNotRun),
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_conform::ConformRunError>() {
        use bearing_conform::ConformRunError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Conform(e) => kind(e),
            E::Evidence(e) => kind(e),
            // The cause, the next link of the chain, decides.
            E::WriteFile(..) => Some(Exit::CouldNotRun),
            E::SecondTarget(..) | E::Write(_) | E::ObservedProfile(_) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_conform::Error>() {
        use bearing_conform::Error as E;
        return match e {
            E::Suite(_) | E::Target(_) | E::Read { .. } => Some(Exit::BadInput),
            E::Auth(e) => Some(auth_kind(e)),
            _ => Some(Exit::CouldNotRun),
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_bench::BenchRunError>() {
        use bearing_bench::BenchRunError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Auth(e) => Some(auth_kind(e)),
            E::Write(..) => Some(Exit::CouldNotRun),
            // The cause, the next link of the chain, decides.
            E::Bench(_) | E::Key(..) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_demo::Error>() {
        // A step's own cause further down the chain decides the rest.
        if e.is_bad_input() {
            return Some(Exit::BadInput);
        }
    }
    if let Some(e) = cause.downcast_ref::<bearing_certify::CertifyRunError>() {
        use bearing_certify::CertifyRunError as E;
        return match e {
            E::Input(_) => Some(Exit::BadInput),
            E::Config(e) => kind(e),
            E::Evidence(e) => kind(e),
            // The cause, the next link of the chain, decides.
            E::Plan(_) | E::Start(_) | E::Write(..) => None,
        };
    }
    if let Some(e) = cause.downcast_ref::<bearing_certify::Error>() {
        use bearing_certify::Error as E;
        return match e {
            E::Plan(_) | E::Read { .. } => Some(Exit::BadInput),
            E::Gateway(e) => Some(gateway_kind(e)),
            _ => Some(Exit::CouldNotRun),
        };
    }
    None
}

/// A listen address that cannot be bound could not run; the rest is configuration.
fn gateway_kind(e: &bearing_gateway::Error) -> Exit {
    use bearing_gateway::Error as E;
    match e {
        E::Bind { .. } => Exit::CouldNotRun,
        E::Auth(e) => auth_kind(e),
        _ => Exit::BadInput,
    }
}

/// Transport, token endpoint and crypto failures could not run; everything else about keys,
/// certificates, claims and configuration is the user's input.
fn auth_kind(e: &bearing_auth::Error) -> Exit {
    use bearing_auth::Error as E;
    match e {
        E::Http { .. } | E::Token(_) | E::Signing(_) => Exit::CouldNotRun,
        _ => Exit::BadInput,
    }
}

/// Whether the error is a broken pipe (`bearing … | head`), which counts as success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
