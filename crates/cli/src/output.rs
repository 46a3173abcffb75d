//! Logging set-up and output helpers. Logs go to stderr; results to stdout.

use std::io::IsTerminal as _;

/// Global flags shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// More logging (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr; no progress output.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Output format for results.
    #[arg(long, value_enum, default_value_t = Format::Text, global = true)]
    pub output: Format,
}

/// How results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document, for scripts.
    Json,
}

/// Installs the tracing subscriber (the only place one is installed).
pub fn init_logging(g: &Global) {
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color)
        .with_target(false)
        .try_init();
}

/// Prints a JSON value, pretty, to stdout.
///
/// # Errors
/// On a write error (a broken pipe is handled by the caller).
pub fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)?;
    Ok(())
}

/// Prints a result by `--output`: `json()` as pretty JSON, or `text` writing to stdout.
///
/// # Errors
/// On a write error (a broken pipe is handled by the caller).
pub fn emit(
    g: &Global,
    json: impl FnOnce() -> serde_json::Value,
    text: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    match g.output {
        Format::Json => print_json(&json()),
        Format::Text => Ok(text(&mut std::io::stdout().lock())?),
    }
}
