//! `bearing`: load- and conformance-testing for OAuth 2.0 gateways that issue access tokens
//! through the JWT bearer grant (RFC 7523) and protect APIs with them (RFC 6750).
//!
//! This crate owns flags, configuration merging, logging and exit codes; the work is done
//! by the library crates.

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
