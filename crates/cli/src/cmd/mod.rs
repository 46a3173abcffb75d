//! The subcommands. Each lives in its own module with its clap `Args` and a `run` function.

mod bench;
mod call;
mod certify;
mod common;
mod completions;
mod conform;
mod decode;
mod demo;
mod evidence;
pub mod keygen;
mod load;
mod profile;
mod report;
mod serve;
mod sign;
mod token;

use clap::{Parser, Subcommand};

use crate::exit::Exit;
use crate::output::Global;

/// Load- and conformance-testing for OAuth 2.0 JWT bearer grant (RFC 7523) gateways.
///
/// Every command runs against an embedded sandbox gateway when no target is given.
#[derive(Debug, Parser)]
#[command(
    name = "bearing",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Examples:\n  \
        bearing demo                                   # start here: conformance, load, signing\n  \
        bearing conform --target target.yaml           # is a real gateway conformant?\n  \
        bearing load scenarios/load/api.yaml           # API calls at 2000/s against the sandbox\n  \
        bearing help <command>                         # every command has examples"
)]
pub struct Cli {
    /// Flags shared by every command.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start here: conformance suites, a load run and a signing benchmark on the sandbox.
    Demo(demo::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(display_order = 100)]
    Completions(completions::Args),
    /// Generate a private key (PKCS#8 PEM, mode 0600) and a self-signed certificate to register.
    Keygen(keygen::Args),
    /// Print one signed assertion.
    Sign(sign::Args),
    /// Print a JWT's header and claims; verify it when given a certificate.
    Decode(decode::Args),
    /// Perform one token request and print the response (token redacted unless --show-token).
    Token(token::Args),
    /// Call an API with a managed token (refresh-ahead, one retry after 401).
    Call(call::Args),
    /// Run the sandbox gateway.
    Serve(serve::Args),
    /// Benchmarks: `bench sign` measures assertion signing per core and across cores.
    Bench(bench::Args),
    /// Run a load profile (goose); exit 1 when a threshold is missed.
    Load(load::Args),
    /// Run conformance suites (RFC 7523 / RFC 6750 catalog); exit 1 when a case failed.
    Conform(conform::Args),
    /// Watch a partner's client against the sandbox gateway and certify what it does.
    Certify(certify::Args),
    /// Work on written reports: `report merge` merges the shards of a sharded load run.
    #[command(after_help = "Examples:\n  \
        bearing report merge run/shard-0 run/shard-1 run/shard-2 --out run/merged\n  \
        bearing report merge --help                    # what merging checks, exit codes")]
    Report(report::Args),
    /// Gateway profiles: list, show (knobs with sources), diff, detect (probe a gateway).
    Profile(profile::Args),
}

/// Runs the chosen command.
///
/// # Errors
/// Whatever the command fails with; `main` maps it to an exit code.
pub async fn dispatch(cli: Cli) -> anyhow::Result<Exit> {
    let g = cli.global;
    match cli.command {
        Command::Demo(a) => Box::pin(demo::run(a, &g)).await,
        Command::Completions(a) => completions::run(&a),
        Command::Keygen(a) => keygen::run(a, &g),
        Command::Sign(a) => sign::run(a, &g).await,
        Command::Decode(a) => decode::run(a, &g),
        Command::Token(a) => token::run(a, &g).await,
        Command::Call(a) => call::run(a, &g).await,
        Command::Serve(a) => serve::run(a, &g).await,
        Command::Bench(a) => bench::run(a, &g),
        Command::Load(a) => load::run(a, &g).await,
        Command::Conform(a) => conform::run(a, &g).await,
        Command::Certify(a) => certify::run(a, &g).await,
        Command::Report(a) => report::run(a, &g).await,
        Command::Profile(a) => profile::run(a, &g).await,
    }
}
