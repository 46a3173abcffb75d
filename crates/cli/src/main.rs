//! `bearing`: load- and conformance-testing for OAuth 2.0 gateways that issue access tokens
//! through the JWT bearer grant (RFC 7523) and protect APIs with them (RFC 6750).
//!
//! This crate owns flags, dispatch, the output mode (text or JSON, stdout or stderr, colour,
//! progress bars), logging and exit codes. Everything else — runs, reports and their text,
//! JSON documents, configurations, the embedded sandbox — is built by the library crates,
//! which write to the writer this crate passes them (stdout) or return values.

mod cmd;
mod exit;
mod output;
mod sandbox;

use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    output::init_logging(&cli.global);
    match run(cli) {
        Ok(code) => code.into(),
        Err(err) => {
            if exit::is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let code = exit::classify(&err);
            eprintln!("error: {err:#}");
            code.into()
        }
    }
}

fn run(cli: cmd::Cli) -> anyhow::Result<exit::Exit> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime.block_on(cmd::dispatch(cli))
}
