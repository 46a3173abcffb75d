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

/// Decides the exit code of an error: bad input (2) or could not run (3).
pub fn classify(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.downcast_ref::<BadInput>().is_some()
            || cause.downcast_ref::<clap::Error>().is_some()
        {
            return Exit::BadInput;
        }
        if let Some(e) = cause.downcast_ref::<bearing_auth::Error>() {
            use bearing_auth::Error as E;
            return match e {
                E::Http { .. } | E::Token(_) | E::Signing(_) => Exit::CouldNotRun,
                _ => Exit::BadInput,
            };
        }
    }
    Exit::CouldNotRun
}

/// Whether the error is a broken pipe (`bearing … | head`), which counts as success.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
