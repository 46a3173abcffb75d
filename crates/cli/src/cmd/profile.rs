//! `bearing profile`: the shipped gateway profiles (`list`, `show`, `diff`) and `detect`,
//! which probes a gateway knob by knob and ranks the shipped profiles by agreement. The
//! logic lives in `bearing_auth::shipped` and `bearing_conform::detect`; this module prints.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use bearing_auth::Profile;
use bearing_auth::shipped::{self, Shipped};
use bearing_conform::{DetectConfig, detect};

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

/// A shipped profile by name (with sources), or a YAML file (sources from its comments when
/// it has them).
fn find(name: &str, all: &[Shipped]) -> anyhow::Result<Shipped> {
    if let Some(s) = all.iter().find(|s| s.profile.name == name) {
        return Ok(s.clone());
    }
    let path = std::path::Path::new(name);
    if !path.exists() {
        let names: Vec<&str> = all.iter().map(|s| s.profile.name.as_str()).collect();
        return Err(BadInput(format!(
            "unknown profile \"{name}\": not one of {} nor a file",
            names.join(", ")
        ))
        .into());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    let origin = path.display().to_string();
    match shipped::parse_shipped(&text, &origin) {
        Ok(s) => Ok(s),
        Err(_) => {
            let profile = Profile::from_yaml_str(&text, &origin)
                .map_err(|e| anyhow::Error::new(BadInput(e.to_string())))?;
            Ok(Shipped {
                file: origin,
                profile,
                sources: Default::default(),
            })
        }
    }
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
        return Ok(Exit::Ok);
    }
    if g.output == Format::Json {
        let v: Vec<serde_json::Value> = all
            .iter()
            .map(|s| {
                serde_json::json!({
                    "name": s.profile.name,
                    "description": s.profile.description,
                    "file": s.file,
                })
            })
            .collect();
        crate::output::print_json(&serde_json::Value::Array(v))?;
        return Ok(Exit::Ok);
    }
    let w = all.iter().map(|s| s.profile.name.len()).max().unwrap_or(4);
    for s in &all {
        writeln!(out, "{:<w$}  {}", s.profile.name, s.profile.description)?;
    }
    writeln!(
        out,
        "\n{} profiles in {}; `bearing profile show NAME` lists every knob with its source",
        all.len(),
        shipped::SHIPPED_DIR
    )?;
    Ok(Exit::Ok)
}

fn show(name: &str, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let s = find(name, &all)?;
    let knobs = shipped::knobs(&s.profile);
    if g.output == Format::Json {
        let v: Vec<serde_json::Value> = knobs
            .iter()
            .map(|k| serde_json::json!({"knob": k.key, "value": k.value, "source": s.source(&k.key)}))
            .collect();
        crate::output::print_json(&serde_json::json!({
            "name": s.profile.name,
            "description": s.profile.description,
            "file": s.file,
            "knobs": v,
        }))?;
        return Ok(Exit::Ok);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "{} — {}\n{}\n",
        s.profile.name, s.profile.description, s.file
    )?;
    let kw = knobs.iter().map(|k| k.key.len()).max().unwrap_or(4);
    let vw = knobs
        .iter()
        .map(|k| k.value.len())
        .max()
        .unwrap_or(5)
        .min(40);
    writeln!(out, "{:<kw$}  {:<vw$}  source", "knob", "value")?;
    for k in &knobs {
        let src = s.source(&k.key);
        writeln!(
            out,
            "{:<kw$}  {:<vw$}  {}",
            k.key,
            k.value,
            if src.is_empty() {
                "(no source comment)"
            } else {
                src
            }
        )?;
    }
    Ok(Exit::Ok)
}

fn diff(a: &str, b: &str, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let (sa, sb) = (find(a, &all)?, find(b, &all)?);
    let d = shipped::diff(&sa.profile, &sb.profile);
    if g.output == Format::Json {
        let v: Vec<serde_json::Value> = d
            .iter()
            .map(|(k, x, y)| {
                serde_json::json!({
                    "knob": k, "a": x, "b": y,
                    "a_source": sa.source(k), "b_source": sb.source(k),
                })
            })
            .collect();
        crate::output::print_json(&serde_json::Value::Array(v))?;
        return Ok(Exit::Ok);
    }
    let mut out = std::io::stdout().lock();
    if d.is_empty() {
        writeln!(
            out,
            "{} and {} agree on every knob",
            sa.profile.name, sb.profile.name
        )?;
        return Ok(Exit::Ok);
    }
    let kw = d.iter().map(|(k, _, _)| k.len()).max().unwrap_or(4);
    let aw = d
        .iter()
        .map(|(_, x, _)| x.len())
        .max()
        .unwrap_or(1)
        .max(sa.profile.name.len());
    let bw = d
        .iter()
        .map(|(_, _, y)| y.len())
        .max()
        .unwrap_or(1)
        .max(sb.profile.name.len());
    writeln!(
        out,
        "{:<kw$}  {:<aw$}  {:<bw$}",
        "knob", sa.profile.name, sb.profile.name
    )?;
    for (k, x, y) in &d {
        writeln!(out, "{k:<kw$}  {x:<aw$}  {y:<bw$}")?;
    }
    writeln!(
        out,
        "\n{} of {} knobs differ; `bearing profile show NAME` gives each value's source",
        d.len(),
        shipped::knobs(&sa.profile).len()
    )?;
    Ok(Exit::Ok)
}

async fn run_detect(a: DetectArgs, g: &Global) -> anyhow::Result<Exit> {
    let all = load_shipped()?;
    let profiles: Vec<Profile> = all.iter().map(|s| s.profile.clone()).collect();
    let (target, sandbox) = if a.target.is_empty() {
        let p = Profile::resolve(&a.profile)
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
    let cfg = DetectConfig {
        max_probes: usize::from(a.max_probes),
        ..DetectConfig::default()
    };
    let result = detect(&target, &profiles, cfg).await;
    if let Some(s) = sandbox {
        s.shutdown().await;
    }
    let d = result.map_err(|e| {
        if e.is_bad_input() {
            anyhow::Error::new(BadInput(e.to_string()))
        } else {
            anyhow::Error::new(e)
        }
    })?;
    if let Some(path) = &a.out {
        let yaml = d.to_yaml().context("writing the observed profile")?;
        std::fs::write(path, yaml).with_context(|| format!("writing {}", path.display()))?;
    }
    if g.output == Format::Json {
        let mut v = serde_json::to_value(&d)?;
        if let (Some(p), Some(obj)) = (&a.out, v.as_object_mut()) {
            obj.insert("out".into(), p.display().to_string().into());
        }
        crate::output::print_json(&v)?;
        return Ok(Exit::Ok);
    }
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "bearing profile detect: {} ({} requests sent)\n",
        target.token_url, d.probes
    )?;
    let values: Vec<std::collections::BTreeMap<String, String>> = all
        .iter()
        .map(|s| {
            shipped::knobs(&s.profile)
                .into_iter()
                .map(|k| (k.key, k.value))
                .collect()
        })
        .collect();
    let kw = d
        .observations
        .iter()
        .map(|o| o.knob.len())
        .max()
        .unwrap_or(4);
    let ow = d
        .observations
        .iter()
        .map(|o| o.observed.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(8)
        .max(8);
    let mut header = format!("{:<kw$}  {:<ow$}", "knob", "observed");
    for s in &all {
        header.push_str(&format!("  {}", s.profile.name));
    }
    writeln!(out, "{header}  | evidence")?;
    for o in &d.observations {
        let mut line = format!(
            "{:<kw$}  {:<ow$}",
            o.knob,
            o.observed.as_deref().unwrap_or("-")
        );
        for (s, v) in all.iter().zip(&values) {
            let val = v.get(&o.knob).map_or("", String::as_str);
            let w = s.profile.name.len();
            let shown: String = val.chars().take(w).collect();
            line.push_str(&format!("  {shown:<w$}"));
        }
        writeln!(out, "{line}  | {}", o.evidence)?;
    }
    writeln!(out, "\nranking (probed knobs that match):")?;
    for r in &d.ranking {
        let differs = if r.differs.is_empty() {
            String::new()
        } else {
            format!("  differs: {}", r.differs.join(", "))
        };
        writeln!(
            out,
            "  {:<28} {:>2}/{}{differs}",
            r.name, r.matches, r.compared
        )?;
    }
    if let Some(p) = &a.out {
        writeln!(
            out,
            "\nobserved profile: {} (use it as --profile)",
            p.display()
        )?;
    }
    Ok(Exit::Ok)
}
