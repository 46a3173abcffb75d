//! A parser for `WWW-Authenticate` (RFC 9110 §11.6.1): a comma-separated list of challenges,
//! each an auth-scheme followed by a token68 or by auth-params whose values are tokens or
//! quoted-strings (§11.2, §5.6.4). Used to check RFC 6750 §3 challenges (`Bearer realm=…,
//! error="invalid_token"`).
//!
//! ```text
//! challenge   = auth-scheme [ 1*SP ( token68 / #auth-param ) ]
//! auth-param  = token BWS "=" BWS ( token / quoted-string )
//! token68     = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
//! ```

/// One challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme as sent (compare ignoring case, §11.1).
    pub scheme: String,
    /// The token68 form, when used instead of params.
    pub token68: Option<String>,
    /// The auth-params in order.
    pub params: Vec<Param>,
}

/// One auth-param.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// The name as sent (compare ignoring case).
    pub name: String,
    /// The value, unquoted and unescaped.
    pub value: String,
    /// Whether the value was a quoted-string.
    pub quoted: bool,
}

impl Challenge {
    /// The value of a param, by name ignoring case.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
            .map(|p| p.value.as_str())
    }

    /// Whether the scheme is `scheme`, ignoring case.
    pub fn is(&self, scheme: &str) -> bool {
        self.scheme.eq_ignore_ascii_case(scheme)
    }
}

fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-._~+/".contains(&c)
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn skip_list_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }
    fn quoted(&mut self) -> Result<String, String> {
        // At the opening quote.
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            match self.peek() {
                None => return Err("unterminated quoted-string".into()),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                Some(b'\\') => {
                    let c = self
                        .at(self.pos + 1)
                        .ok_or("dangling backslash in quoted-string")?;
                    out.push(c);
                    self.pos += 2;
                }
                Some(c) if c == b'\t' || c >= 0x20 && c != 0x7f => {
                    out.push(c);
                    self.pos += 1;
                }
                Some(c) => return Err(format!("control character 0x{c:02x} in quoted-string")),
            }
        }
    }
    /// Whether an auth-param (`token BWS "="` not followed by only `=`s then end/comma)
    /// starts here.
    fn param_ahead(&self) -> bool {
        let mut i = self.pos;
        let start = i;
        while self.at(i).is_some_and(is_tchar) {
            i += 1;
        }
        if i == start {
            return false;
        }
        while matches!(self.at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        if self.at(i) != Some(b'=') {
            return false;
        }
        // `abc=` / `abc==` followed by end or comma is a token68 with padding.
        let mut j = i;
        while self.at(j) == Some(b'=') {
            j += 1;
        }
        let equals = j - i;
        while matches!(self.at(j), Some(b' ' | b'\t')) {
            j += 1;
        }
        equals == 1 && !matches!(self.at(j), None | Some(b','))
    }
}

/// Parses a `WWW-Authenticate` value (several header fields may be joined with `, `).
///
/// # Errors
/// A message naming the byte offset of the first syntax error.
pub fn parse(value: &str) -> Result<Vec<Challenge>, String> {
    let mut c = Cursor {
        s: value.as_bytes(),
        pos: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        c.skip_list_separators();
        if c.peek().is_none() {
            break;
        }
        let at = c.pos;
        let scheme = c
            .token()
            .ok_or_else(|| format!("expected an auth-scheme at offset {at}"))?;
        let mut ch = Challenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        if matches!(c.peek(), Some(b' ' | b'\t')) {
            c.skip_ows();
            if c.param_ahead() {
                loop {
                    let name = c.token().unwrap_or_default();
                    c.skip_ows();
                    c.pos += 1; // '='
                    c.skip_ows();
                    let (value, quoted) = match c.peek() {
                        Some(b'"') => (
                            c.quoted().map_err(|e| format!("{e} at offset {}", c.pos))?,
                            true,
                        ),
                        _ => {
                            let at = c.pos;
                            let v = c.token().ok_or_else(|| {
                                format!(
                                    "param {name}: expected a token or quoted-string at offset {at}"
                                )
                            })?;
                            (v, false)
                        }
                    };
                    if ch.param(&name).is_some() {
                        return Err(format!("param {name} repeated in one challenge"));
                    }
                    ch.params.push(Param {
                        name,
                        value,
                        quoted,
                    });
                    c.skip_ows();
                    match c.peek() {
                        None => break,
                        Some(b',') => {
                            c.skip_list_separators();
                            if !c.param_ahead() {
                                break;
                            }
                        }
                        Some(x) => {
                            return Err(format!("unexpected {:?} at offset {}", x as char, c.pos));
                        }
                    }
                }
            } else if c.peek().is_some_and(is_token68_char) {
                let start = c.pos;
                while c.peek().is_some_and(is_token68_char) {
                    c.pos += 1;
                }
                while c.peek() == Some(b'=') {
                    c.pos += 1;
                }
                ch.token68 = Some(String::from_utf8_lossy(&c.s[start..c.pos]).into_owned());
                c.skip_ows();
                if !matches!(c.peek(), None | Some(b',')) {
                    return Err(format!("unexpected text after token68 at offset {}", c.pos));
                }
            }
        } else if !matches!(c.peek(), None | Some(b',')) {
            return Err(format!(
                "unexpected {:?} after scheme at offset {}",
                c.peek().map(char::from),
                c.pos
            ));
        }
        out.push(ch);
    }
    if out.is_empty() {
        return Err("no challenge".into());
    }
    Ok(out)
}

/// Whether `s` uses only the RFC 6749 §5.2 characters for `error`/`error_description`
/// (`%x20-21 / %x23-5B / %x5D-7E`).
pub fn is_error_text(s: &str) -> bool {
    s.bytes()
        .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 6750 §3 examples parse into scheme and params.
    #[test]
    fn bearer_examples() {
        let c = parse(r#"Bearer realm="example""#).expect("parse");
        assert_eq!(c.len(), 1);
        assert!(c[0].is("bearer"));
        assert_eq!(c[0].param("REALM"), Some("example"));
        let c = parse(
            r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
        )
        .expect("parse");
        assert_eq!(c[0].params.len(), 3);
        assert_eq!(c[0].param("error"), Some("invalid_token"));
        assert!(c[0].params.iter().all(|p| p.quoted));
    }

    // Several challenges, token values, escapes, token68 and empty list elements.
    #[test]
    fn lists_and_forms() {
        let c =
            parse(r#"Basic realm="a\"b", , Bearer realm=gw, error=invalid_token"#).expect("parse");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("a\"b"));
        assert!(c[1].is("Bearer"));
        assert_eq!(c[1].param("error"), Some("invalid_token"));
        assert!(!c[1].params[0].quoted);
        let c = parse("Negotiate abc==, Bearer").expect("parse");
        assert_eq!(c[0].token68.as_deref(), Some("abc=="));
        assert!(c[1].params.is_empty());
        let c = parse("Bearer realm = \"x\"").expect("bws");
        assert_eq!(c[0].param("realm"), Some("x"));
        let c = parse("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"")
            .expect("rfc 9110 example");
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("title"), Some("Login to \"apps\""));
        assert_eq!(c[1].param("realm"), Some("simple"));
    }

    // Malformed values are refused with a position.
    #[test]
    fn refuses_malformed() {
        assert!(parse("").is_err());
        assert!(
            parse("Bearer realm=\"open")
                .expect_err("unterminated")
                .contains("unterminated")
        );
        assert!(parse("Bearer realm=\"a\" error=\"b\"").is_err());
        assert!(
            parse("Bearer realm=\"a\", realm=\"b\"")
                .expect_err("dup")
                .contains("repeated")
        );
        assert!(parse("=x").is_err());
        // `realm=` alone is a token68 with padding, not a param.
        assert_eq!(
            parse("Bearer realm=").expect("token68")[0]
                .token68
                .as_deref(),
            Some("realm=")
        );
    }

    // The RFC 6749 §5.2 character set excludes quote and backslash.
    #[test]
    fn error_text() {
        assert!(is_error_text("The access token expired"));
        assert!(!is_error_text("bad \"quote\""));
        assert!(!is_error_text("tab\there"));
    }
}
