//! `bearing profile`: the shipped gateway profiles (`list`, `show`, `diff`) and `detect`,
//! which probes a gateway knob by knob and ranks the shipped profiles by agreement. The
//! logic and the reports live in bearing-auth (shipped profiles) and bearing-conform (detect);
//! this module picks the output and prints.

use std::io::Write as _;
use std::path::PathBuf;

use bearing_auth::GatewayProfile;
use bearing_auth::shipped::{self, Shipped};

use crate::cmd::common::TargetArgs;
use crate::exit::{BadInput, Exit};
use crate::output::{Format, Global};

/// Flags of `bearing profile`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing profile list                             # shipped profiles\n  \
    bearing profile show keycloak                    # every knob with its source\n  \
    bearing profile diff rfc-strict hydra            # the knobs where two profiles differ\n  \
    bearing profile detect --out observed.yaml       # probe the embedded sandbox\n  \
    bearing profile detect --target target.yaml      # which vendor does this gateway behave like?")]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Sub,
}

/// The `profile` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Sub {
    /// The shipped profiles (`--markdown`: the knob table of the README).
    #[command(after_help = "Examples:\n  bearing profile list\n  \
        bearing profile list --markdown > table.md\n  bearing profile list --output json")]
    List {
        /// Print a Markdown table, one row per knob and one column per profile.
        #[arg(long)]
        markdown: bool,
    },
    /// Every knob of a profile with its source.
    #[command(after_help = "Examples:\n  bearing profile show keycloak\n  \
        bearing profile show observed.yaml\n  bearing profile show hydra --output json")]
    Show {
        /// A shipped profile name or a profile YAML file.
        name: String,
    },
    /// The knobs where two profiles differ.
    #[command(after_help = "Examples:\n  bearing profile diff rfc-strict okta\n  \
        bearing profile diff observed.yaml hydra")]
    Diff {
        /// A shipped profile name or a profile YAML file.
        a: String,
        /// A shipped profile name or a profile YAML file.
        b: String,
    },
    /// Probe a gateway knob by knob; rank the shipped profiles; write the observed profile.
    Detect(Box<DetectArgs>),
}

/// Flags of `bearing profile detect`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    bearing profile detect --profile hydra            # the embedded sandbox behaving as hydra\n  \
    bearing profile detect --target target.yaml --out observed.yaml\n  \
    bearing conform --target target.yaml --profile observed.yaml\n\n\
    Every probe is one request (counted, at most --max-probes); no probe waits.\n\
    Exit codes: 0 probed, 2 bad target or flags, 3 the gateway could not be probed.")]
pub struct DetectArgs {
    /// Target and identity; the embedded sandbox when none is given.
    #[command(flatten)]
    pub target: TargetArgs,
    /// The profile the embedded sandbox behaves by (only without a target).
    #[arg(long, short = 'p', default_value = "rfc-strict")]
    pub profile: String,
    /// Write the observed profile here (YAML usable as --profile).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Most requests to send.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u16).range(40..=5000))]
    pub max_probes: u16,
}

fn load_shipped() -> anyhow::Result<Vec<Shipped>> {
    shipped::load_all().map_err(|e| anyhow::Error::new(BadInput(e.to_string())))
}

fn find(name: &str, all: &[Shipped]) -> anyhow::Result<Shipped> {
    Ok(bearing_auth::find_profile(name, all).map_err(|e| BadInput(e.to_string()))?)
}

/// Runs `bearing profile …`.
///
/// # Errors
/// Bad names or files (exit 2); a gateway that cannot be probed (exit 3).
pub async fn run(a: Args, g: &Global) -> anyhow::Result<Exit> {
    match a.command {
        Sub::List { markdown } => list(markdown, g),
        Sub::Show { name } => show(&name, g),
        Sub::Diff { a, b } => diff(&a, &b, g),
        Sub::Detect(d) => Box::pin(run_detect(*d, g)).await,
    }
}

fn list(markdown: bool, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let mut out = std::io::stdout().lock();
    if markdown {
        write!(out, "{}", shipped::markdown_table(&all))?;
    } else if g.output == Format::Json {
        crate::output::print_json(&bearing_auth::list_json(&all))?;
    } else {
        bearing_auth::write_list(&all, &mut out)?;
    }
    Ok(Exit::Ok)
}

fn show(name: &str, g: &Global) -> anyhow::Result<Exit> {
    let s = find(name, &load_shipped()?)?;
    let json = || bearing_auth::show_json(&s);
    crate::output::emit(g, json, |out| bearing_auth::write_show(&s, out))?;
    Ok(Exit::Ok)
}

fn diff(a: &str, b: &str, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let (sa, sb) = (find(a, &all)?, find(b, &all)?);
    let json = || bearing_auth::diff_json(&sa, &sb);
    crate::output::emit(g, json, |out| bearing_auth::write_diff(&sa, &sb, out))?;
    Ok(Exit::Ok)
}

async fn run_detect(a: DetectArgs, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let (target, sandbox) = if a.target.is_empty() {
        let p = GatewayProfile::resolve(&a.profile)
            .map_err(|e| anyhow::Error::new(BadInput(format!("--profile: {e}"))))?;
        let sb = crate::sandbox::start(crate::sandbox::SandboxOptions {
            profile: Some(a.profile.clone()),
            token_lifetime: Some(p.access_token_lifetime),
        })
        .await?;
        (sb.target.clone(), Some(sb))
    } else {
        (a.target.resolve()?, None)
    };
    let probes = usize::from(a.max_probes);
    let result = bearing_conform::detect_profile(&target, &all, probes, a.out.as_deref()).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let d = result?;
    if g.output == Format::Json {
        let mut v = serde_json::to_value(&d)?;
        if let (Some(p), Some(obj)) = (&a.out, v.as_object_mut()) {
            obj.insert("out".into(), p.display().to_string().into());
        }
        crate::output::print_json(&v)?;
        return Ok(Exit::Ok);
    }
    bearing_conform::write_detect_text(
        &d,
        &all,
        target.token_url.as_str(),
        a.out.as_deref(),
        &mut std::io::stdout().lock(),
    )?;
    Ok(Exit::Ok)
}
