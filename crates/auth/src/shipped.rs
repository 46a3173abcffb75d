//! The **shipped profiles**: every `scenarios/profiles/*.yaml`, embedded at build time (see
//! `build.rs`), with the source of each knob read from the comment on its line.
//!
//! A shipped profile writes out every knob of [`GatewayProfile`] (nothing silently takes the
//! `rfc-strict` default) and ends each knob's line with a comment naming where the value comes
//! from: a vendor documentation page, a release note, a public issue or pull request, an RFC
//! section, or `unknown: <value chosen and why>`. [`load_all`] refuses a file that breaks
//! either rule, naming the file, the line and the knob; a test runs it over every file.
//!
//! [`knobs`] flattens a profile into `(knob, value)` rows (`leeway.exp` → `30s`), which
//! `bearing profile show | diff | list --markdown` and `bearing profile detect` compare.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use crate::error::{Error, Result};
use crate::profile::GatewayProfile;

/// `(file name, contents)` of every `scenarios/profiles/*.yaml`, sorted by file name.
static FILES: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/shipped_profiles.rs"));

/// Where shipped profiles live in the repository (for messages).
pub const SHIPPED_DIR: &str = "scenarios/profiles";

/// Top-level fields that are not knobs: identity and test-only switches.
const NOT_KNOBS: [&str; 3] = ["name", "description", "dangerous"];

/// A shipped profile with the source of each knob.
#[derive(Debug, Clone)]
pub struct Shipped {
    /// The file, as `scenarios/profiles/NAME.yaml`.
    pub file: String,
    /// The profile.
    pub profile: GatewayProfile,
    /// Knob (`leeway.exp`) → the comment on its line.
    pub sources: BTreeMap<String, String>,
}

impl Shipped {
    /// The source of `knob`, or an empty string.
    pub fn source(&self, knob: &str) -> &str {
        self.sources.get(knob).map_or("", String::as_str)
    }
}

/// One knob of a profile, flattened: `leeway.exp` = `30s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Knob {
    /// Dotted path (`audiences.allow_array`).
    pub key: String,
    /// The value as written in YAML (`30s`, `true`, `[RS256, PS256]`, `none` for null).
    pub value: String,
}

/// Every knob of `p` in declaration order (name, description and `dangerous` left out).
pub fn knobs(p: &GatewayProfile) -> Vec<Knob> {
    let mut out = Vec::new();
    // Serialising a Profile to JSON cannot fail: every field is plain data.
    if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(p) {
        // serde_json's Map keeps declaration order only with preserve_order; walk the field
        // order of the YAML form instead, which serde-saphyr writes in declaration order.
        let order = field_order(p);
        for k in order {
            if NOT_KNOBS.contains(&k.as_str()) {
                continue;
            }
            if let Some(v) = m.get(&k) {
                flatten(&k, v, &mut out);
            }
        }
    }
    out
}

/// Top-level field names in declaration order, read from the YAML form.
fn field_order(p: &GatewayProfile) -> Vec<String> {
    let yaml = p.to_yaml().unwrap_or_default();
    yaml.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('-'))
        .filter_map(|l| l.split_once(':').map(|(k, _)| k.trim().to_owned()))
        .collect()
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<Knob>) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            // Nested structs: their fields in declaration order are the JSON order of a
            // struct serialised by serde (serde_json keeps insertion order for structs only
            // with preserve_order, so sort by the struct's known order where it matters).
            let mut keys: Vec<&String> = m.keys().collect();
            sort_nested(prefix, &mut keys);
            for k in keys {
                flatten(&format!("{prefix}.{k}"), &m[k], out);
            }
        }
        _ => out.push(Knob {
            key: prefix.to_owned(),
            value: render(v),
        }),
    }
}

/// Declaration order of the nested structs' fields, so tables read like the YAML.
fn sort_nested(prefix: &str, keys: &mut [&String]) {
    let order: &[&str] = match prefix {
        "leeway" => &["exp", "nbf", "iat_future"],
        "audiences" => &["token_url", "base_url", "extra", "allow_array"],
        "errors" => &["replay", "unknown_grant_type", "missing_grant_type"],
        _ => &[],
    };
    keys.sort_by_key(|k| order.iter().position(|o| o == k).unwrap_or(usize::MAX));
}

/// A JSON value as YAML shows it.
fn render(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Null => "none".into(),
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(render).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// The knobs where `a` and `b` differ: `(knob, a's value, b's value)`.
pub fn diff(a: &GatewayProfile, b: &GatewayProfile) -> Vec<(String, String, String)> {
    let bk: BTreeMap<String, String> = knobs(b).into_iter().map(|k| (k.key, k.value)).collect();
    knobs(a)
        .into_iter()
        .filter_map(|k| {
            let other = bk.get(&k.key).cloned().unwrap_or_default();
            (other != k.value).then_some((k.key, k.value, other))
        })
        .collect()
}

/// Every shipped profile, `rfc-strict` first and the rest by name, each checked: valid,
/// every knob written out, every knob's line carrying a source comment, names unique.
///
/// # Errors
/// [`Error::Config`] naming the file, the line and the knob at fault.
pub fn load_all() -> Result<Vec<Shipped>> {
    let mut out: Vec<Shipped> = Vec::with_capacity(FILES.len());
    for (file, text) in FILES {
        let origin = format!("{SHIPPED_DIR}/{file}");
        let s = parse_shipped(text, &origin)?;
        if let Some(dup) = out.iter().find(|o| o.profile.name == s.profile.name) {
            return Err(Error::Config(format!(
                "{origin}: profile name \"{}\" is already used by {}",
                s.profile.name, dup.file
            )));
        }
        out.push(s);
    }
    out.sort_by(|a, b| {
        (a.profile.name != "rfc-strict", &a.profile.name)
            .cmp(&(b.profile.name != "rfc-strict", &b.profile.name))
    });
    Ok(out)
}

/// The names of the shipped profiles whose files parse (for messages and `profile list`).
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = FILES
        .iter()
        .filter_map(|(file, text)| {
            GatewayProfile::from_yaml_str(text, file)
                .ok()
                .map(|p| p.name)
        })
        .collect();
    v.sort_by(|a, b| (a != "rfc-strict", a).cmp(&(b != "rfc-strict", b)));
    v
}

/// The shipped profile named `name` (its `name:` field), if one parses.
pub fn by_name(name: &str) -> Option<GatewayProfile> {
    FILES.iter().find_map(|(file, text)| {
        GatewayProfile::from_yaml_str(text, file)
            .ok()
            .filter(|p| p.name == name)
    })
}

/// Parses one shipped profile and checks its sources (see the module docs).
///
/// # Errors
/// [`Error::Config`] as `origin:line: …` naming the knob.
pub fn parse_shipped(text: &str, origin: &str) -> Result<Shipped> {
    let profile = GatewayProfile::from_yaml_str(text, origin)?;
    let lines = comment_lines(text);
    let mut sources = BTreeMap::new();
    for k in knobs(&profile) {
        match lines.get(&k.key) {
            None => {
                return Err(Error::Config(format!(
                    "{origin}: knob `{}` is not written out; a shipped profile lists every \
                     knob with its source",
                    k.key
                )));
            }
            Some((line, c)) if c.trim().is_empty() => {
                return Err(Error::Config(format!(
                    "{origin}:{line}: knob `{}` has no source comment (end the line with \
                     `# <doc URL, issue or RFC section>` or `# unknown: <value chosen and why>`)",
                    k.key
                )));
            }
            Some((_, c)) => {
                sources.insert(k.key, c.trim().to_owned());
            }
        }
    }
    Ok(Shipped {
        file: origin.to_owned(),
        profile,
        sources,
    })
}

/// Dotted key → (1-based line, trailing comment) for every `key:` line of a block-style YAML
/// mapping. Comment-only lines right below a key line, indented deeper, continue its comment.
fn comment_lines(text: &str) -> BTreeMap<String, (usize, String)> {
    let mut out: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut last: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let indent = raw.len() - raw.trim_start().len();
        let body = raw.trim();
        if body.is_empty() {
            last = None;
            continue;
        }
        if let Some(c) = body.strip_prefix('#') {
            if let Some((key_indent, key)) = &last
                && indent > *key_indent
                && let Some(e) = out.get_mut(key)
            {
                e.1.push(' ');
                e.1.push_str(c.trim());
            }
            continue;
        }
        if body.starts_with('-') {
            continue;
        }
        let (code, comment) = split_comment(body);
        let Some((key, value)) = code.split_once(':') else {
            continue;
        };
        let key = key.trim().to_owned();
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        let path = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .chain(std::iter::once(key.as_str()))
            .collect::<Vec<_>>()
            .join(".");
        out.insert(path.clone(), (i + 1, comment.to_owned()));
        if value.trim().is_empty() {
            stack.push((indent, key));
        }
        last = Some((indent, path));
    }
    out
}

/// Splits `code # comment` at the first `#` outside quotes that follows whitespace.
fn split_comment(line: &str) -> (&str, &str) {
    let (mut single, mut double) = (false, false);
    let mut prev_space = true;
    for (i, ch) in line.char_indices() {
        match ch {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev_space => {
                return (&line[..i], &line[i + 1..]);
            }
            _ => {}
        }
        prev_space = ch.is_whitespace();
    }
    (line, "")
}

/// A Markdown table: one row per knob, one column per profile.
pub fn markdown_table(profiles: &[Shipped]) -> String {
    let mut s = String::from("| knob |");
    for p in profiles {
        let _ = write!(s, " {} |", p.profile.name);
    }
    s.push_str("\n|---|");
    for _ in profiles {
        s.push_str("---|");
    }
    s.push('\n');
    let Some(first) = profiles.first() else {
        return s;
    };
    let cols: Vec<BTreeMap<String, String>> = profiles
        .iter()
        .map(|p| {
            knobs(&p.profile)
                .into_iter()
                .map(|k| (k.key, k.value))
                .collect()
        })
        .collect();
    for k in knobs(&first.profile) {
        let _ = write!(s, "| `{}` |", k.key);
        for c in &cols {
            let v = c.get(&k.key).map_or("", String::as_str);
            let _ = write!(s, " {} |", if v.is_empty() { "\"\"" } else { v });
        }
        s.push('\n');
    }
    s
}

/// Finding a gateway profile by name lives with the shipped profiles (the profile type knows
/// nothing of where profiles come from).
impl GatewayProfile {
    /// A built-in or shipped profile by name (`rfc-strict`, `apigee`, `interop`, `keycloak`, …).
    pub fn builtin(name: &str) -> Option<Self> {
        match name {
            "rfc-strict" => Some(Self::rfc_strict()),
            "apigee" => Some(Self::apigee()),
            "interop" => Some(Self::interop()),
            // The other shipped profiles (scenarios/profiles/*.yaml, embedded at build time).
            _ => by_name(name),
        }
    }

    /// A built-in profile by name, or else a YAML file at that path.
    ///
    /// # Errors
    /// [`Error::Config`] when it is neither a built-in name nor a readable, valid file.
    pub fn resolve(name_or_path: &str) -> Result<Self> {
        if let Some(p) = Self::builtin(name_or_path) {
            return Ok(p);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            return Self::from_file(path);
        }
        Err(Error::Config(format!(
            "unknown profile \"{name_or_path}\": not one of {} nor a file",
            names().join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Every file in scenarios/profiles parses, writes out every knob and cites a source
    // for each; names are unique; the built-ins equal their files.
    #[test]
    fn every_shipped_profile_is_sourced() {
        let all = load_all().unwrap_or_else(|e| panic!("{e}"));
        assert!(all.len() >= 11, "only {} shipped profiles", all.len());
        assert_eq!(all[0].profile.name, "rfc-strict");
        for s in &all {
            assert_eq!(s.sources.len(), knobs(&s.profile).len(), "{}", s.file);
            assert_eq!(by_name(&s.profile.name).as_ref(), Some(&s.profile));
        }
        for name in crate::profile::BUILTIN_PROFILES {
            let s = all.iter().find(|s| s.profile.name == name).expect("file");
            assert_eq!(Some(&s.profile), GatewayProfile::builtin(name).as_ref());
        }
    }

    // A knob without a comment, a knob left out, an unknown knob and a wrong type are
    // refused naming the file and the knob.
    #[test]
    fn unsourced_or_bad_files_are_refused() {
        let full = FILES
            .iter()
            .find(|(f, _)| *f == "rfc-strict.yaml")
            .map(|(_, t)| *t)
            .expect("rfc-strict.yaml");
        let no_comment = full.replacen("iat_required: false", "iat_required: false #", 1);
        let no_comment = no_comment
            .lines()
            .map(|l| {
                if l.starts_with("iat_required") {
                    "iat_required: false"
                } else {
                    l
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let e = parse_shipped(&no_comment, "x.yaml").expect_err("no source");
        let m = e.to_string();
        assert!(m.contains("x.yaml:") && m.contains("`iat_required`"), "{m}");
        let left_out: String = full
            .lines()
            .filter(|l| !l.starts_with("pragma_no_cache"))
            .map(|l| format!("{l}\n"))
            .collect();
        let m = parse_shipped(&left_out, "x.yaml")
            .expect_err("missing")
            .to_string();
        assert!(m.contains("`pragma_no_cache` is not written out"), "{m}");
        let m = parse_shipped(&format!("{full}\nbogus_knob: 1 # made up\n"), "x.yaml")
            .expect_err("unknown")
            .to_string();
        assert!(m.contains("x.yaml:") && m.contains("bogus_knob"), "{m}");
        let wrong = full.replacen("iat_required: false", "iat_required: maybe", 1);
        let m = parse_shipped(&wrong, "x.yaml")
            .expect_err("type")
            .to_string();
        assert!(m.contains("x.yaml:"), "{m}");
    }

    #[test]
    fn comments_split_outside_quotes_and_continue() {
        let c = comment_lines(
            "a: 'x # y'  # src one\nb:\n  c: 1 # https://e.org/p#frag\n      # more\nd: 2\n",
        );
        assert_eq!(c["a"].1.trim(), "src one");
        assert_eq!(c["b.c"].1.trim(), "https://e.org/p#frag more");
        assert_eq!(c["d"].1, "");
    }

    #[test]
    fn knobs_flatten_and_diff() {
        let s = GatewayProfile::rfc_strict();
        let a = GatewayProfile::apigee();
        let k = knobs(&s);
        assert_eq!(k[0].key, "leeway.exp");
        assert!(
            k.iter()
                .any(|k| k.key == "audiences.extra" && k.value == "[]")
        );
        let d = diff(&s, &a);
        assert!(
            d.iter()
                .any(|(k, x, y)| k == "expires_in_format" && x == "number" && y == "string")
        );
        assert!(diff(&s, &s).is_empty());
    }

    // The README's profiles table is the generated one (`bearing profile list --markdown`).
    #[test]
    fn readme_table_is_generated() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"),
        )
        .expect("README.md");
        let (_, rest) = readme
            .split_once("<!-- profiles-table:begin -->\n")
            .expect("begin marker");
        let (table, _) = rest
            .split_once("<!-- profiles-table:end -->")
            .expect("end marker");
        let want = markdown_table(&load_all().expect("shipped"));
        assert_eq!(
            table, want,
            "README profiles table is stale: regenerate with `bearing profile list --markdown`"
        );
    }
}
