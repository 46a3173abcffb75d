//! The small expression languages of suites, all read against the **profile** (the same
//! [`bearing_auth::Profile`] the sandbox gateway behaves by):
//!
//! - [`Predicate`]: `profile.replay_protection == jti && !profile.jti_required`, used by a
//!   case's `when` and by `expect_by_profile` branches. Operators `== != < <= > >= contains`,
//!   `&& || !` and parentheses; a bare path is true when the value is `true`, a non-empty
//!   string or array, or a non-zero number. Durations (`"30s"` in the profile) compare as
//!   durations: `profile.leeway.exp >= 5s`.
//! - [`NumExpr`]: `now + 60.5s`, `iat + profile.max_assertion_lifetime + 1s`,
//!   `profile.access_token_lifetime - 1` — sums of numbers (seconds), durations, profile values
//!   and the variables `now`, `iat`, `exp`.
//! - [`ProfileText`]: a string that is either a literal or `profile.<path>`.
//!
//! Profile paths are checked when the suite is loaded, against the fields of
//! [`bearing_auth::Profile`], so a typo is a `file:line:col` error and nothing runs.

use std::fmt;
use std::sync::OnceLock;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// The profile as JSON, the form expressions are evaluated against.
pub type ProfileJson = Value;

/// Serializes a profile for evaluation.
pub fn profile_json(p: &bearing_auth::GatewayProfile) -> ProfileJson {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn default_profile_json() -> &'static Value {
    static P: OnceLock<Value> = OnceLock::new();
    P.get_or_init(|| profile_json(&bearing_auth::GatewayProfile::default()))
}

/// Looks up `profile.a.b` in `p`; `None` when a segment is missing.
fn lookup<'a>(p: &'a Value, path: &str) -> Option<&'a Value> {
    let rest = path.strip_prefix("profile.")?;
    rest.split('.').try_fold(p, |v, seg| v.get(seg))
}

/// Checks that `path` (`profile.a.b`) names a profile field.
///
/// # Errors
/// A message listing the profile's fields.
pub fn check_profile_path(path: &str) -> Result<(), String> {
    check_path(path)
}

fn check_path(path: &str) -> Result<(), String> {
    if lookup(default_profile_json(), path).is_some() {
        return Ok(());
    }
    let fields = default_profile_json()
        .as_object()
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    Err(format!(
        "unknown profile field \"{path}\" (profile fields: {fields})"
    ))
}

/// Parses a duration literal: humantime (`30s`, `2d`, `1h`) or decimal seconds (`60.5s`).
fn parse_duration_secs(s: &str) -> Option<f64> {
    if let Some(num) = s.strip_suffix('s')
        && let Ok(v) = num.parse::<f64>()
        && num.contains('.')
    {
        return Some(v);
    }
    humantime::parse_duration(s).ok().map(|d| d.as_secs_f64())
}

/// A profile value as seconds (durations) or a number.
fn value_as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse::<f64>().ok().or_else(|| parse_duration_secs(s)),
        _ => None,
    }
}

fn value_to_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Predicates

/// A boolean expression over the profile.
#[derive(Clone)]
pub struct Predicate {
    source: String,
    ast: Pred,
}

impl PartialEq for Predicate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Predicate({:?})", self.source)
    }
}

impl fmt::Display for Predicate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone)]
enum Pred {
    Truthy(String),
    Cmp(String, Op, String),
    Not(Box<Pred>),
    And(Box<Pred>, Box<Pred>),
    Or(Box<Pred>, Box<Pred>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        match c {
            ' ' | '\t' | '\n' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            '&' if next == Some('&') => {
                out.push(Tok::And);
                i += 2;
            }
            '|' if next == Some('|') => {
                out.push(Tok::Or);
                i += 2;
            }
            '=' if next == Some('=') => {
                out.push(Tok::Op(Op::Eq));
                i += 2;
            }
            '!' if next == Some('=') => {
                out.push(Tok::Op(Op::Ne));
                i += 2;
            }
            '!' => {
                out.push(Tok::Not);
                i += 1;
            }
            '<' | '>' => {
                let eq = next == Some('=');
                out.push(Tok::Op(match (c, eq) {
                    ('<', true) => Op::Le,
                    ('<', false) => Op::Lt,
                    (_, true) => Op::Ge,
                    _ => Op::Gt,
                }));
                i += if eq { 2 } else { 1 };
            }
            '"' | '\'' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or_else(|| format!("unterminated quote at character {}", i + 1))?;
                out.push(Tok::Quoted(chars[i + 1..i + 1 + end].iter().collect()));
                i += end + 2;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(
                        chars[i],
                        ' ' | '\t' | '\n' | '(' | ')' | '!' | '=' | '<' | '>'
                    )
                    && !(chars[i] == '&' || chars[i] == '|')
                {
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected character {c:?} at {}", i + 1));
                }
                let word: String = chars[start..i].iter().collect();
                out.push(if word == "contains" {
                    Tok::Op(Op::Contains)
                } else {
                    Tok::Word(word)
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn bump(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Pred, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.bump();
            left = Pred::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }
    fn and(&mut self) -> Result<Pred, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Tok::And) {
            self.bump();
            left = Pred::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }
    fn unary(&mut self) -> Result<Pred, String> {
        match self.bump() {
            Some(Tok::Not) => Ok(Pred::Not(Box::new(self.unary()?))),
            Some(Tok::Open) => {
                let inner = self.or()?;
                match self.bump() {
                    Some(Tok::Close) => Ok(inner),
                    _ => Err("missing \")\"".into()),
                }
            }
            Some(Tok::Word(path)) if path.starts_with("profile.") => {
                check_path(&path)?;
                if let Some(Tok::Op(op)) = self.peek().cloned() {
                    self.bump();
                    let lit = match self.bump() {
                        Some(Tok::Word(w) | Tok::Quoted(w)) => w,
                        other => {
                            return Err(format!(
                                "expected a value after operator, found {other:?}"
                            ));
                        }
                    };
                    Ok(Pred::Cmp(path, op, lit))
                } else {
                    Ok(Pred::Truthy(path))
                }
            }
            Some(Tok::Word(w)) => Err(format!("expected profile.<field>, found \"{w}\"")),
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

impl Predicate {
    /// Parses a predicate, checking every profile path.
    ///
    /// # Errors
    /// A message naming the position or the unknown field.
    pub fn parse(source: &str) -> Result<Self, String> {
        let toks = tokenize(source)?;
        if toks.is_empty() {
            return Err("empty predicate".into());
        }
        let mut p = Parser { toks, pos: 0 };
        let ast = p.or()?;
        if p.pos < p.toks.len() {
            return Err(format!(
                "unexpected {:?} after the expression",
                p.toks[p.pos]
            ));
        }
        Ok(Self {
            source: source.to_owned(),
            ast,
        })
    }

    /// Evaluates against a profile.
    pub fn eval(&self, profile: &ProfileJson) -> bool {
        eval(&self.ast, profile)
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
        Value::Object(o) => !o.is_empty(),
    }
}

fn eval(p: &Pred, profile: &Value) -> bool {
    match p {
        Pred::Truthy(path) => lookup(profile, path).is_some_and(truthy),
        Pred::Not(inner) => !eval(inner, profile),
        Pred::And(a, b) => eval(a, profile) && eval(b, profile),
        Pred::Or(a, b) => eval(a, profile) || eval(b, profile),
        Pred::Cmp(path, op, lit) => {
            let v = lookup(profile, path).unwrap_or(&Value::Null);
            compare(v, *op, lit)
        }
    }
}

fn compare(v: &Value, op: Op, lit: &str) -> bool {
    if op == Op::Contains {
        return match v {
            Value::Array(items) => items.iter().any(|i| value_to_text(i) == lit),
            Value::String(s) => s.contains(lit),
            _ => false,
        };
    }
    let ordering = match (
        value_as_number(v),
        lit.parse::<f64>().ok().or_else(|| parse_duration_secs(lit)),
    ) {
        (Some(a), Some(b)) if !v.is_boolean() => a.partial_cmp(&b),
        _ => {
            let text = value_to_text(v);
            return match op {
                Op::Eq => text == lit,
                Op::Ne => text != lit,
                _ => false,
            };
        }
    };
    let Some(o) = ordering else { return false };
    use std::cmp::Ordering as O;
    match op {
        Op::Eq => o == O::Equal,
        Op::Ne => o != O::Equal,
        Op::Lt => o == O::Less,
        Op::Le => o != O::Greater,
        Op::Gt => o == O::Greater,
        Op::Ge => o != O::Less,
        Op::Contains => false,
    }
}

impl<'de> Deserialize<'de> for Predicate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Predicate::parse(&s)
            .map_err(|e| serde::de::Error::custom(format!("predicate \"{s}\": {e}")))
    }
}

impl serde::Serialize for Predicate {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

// ---------------------------------------------------------------------------------------------
// Numeric expressions

/// The variables a [`NumExpr`] may use (seconds since the epoch).
#[derive(Debug, Clone, Copy, Default)]
pub struct Vars {
    /// The current time.
    pub now: f64,
    /// The baseline assertion's `iat`.
    pub iat: f64,
    /// The baseline assertion's `exp`.
    pub exp: f64,
}

#[derive(Debug, Clone)]
enum Term {
    Number(f64),
    Var(Var),
    Profile(String),
}

#[derive(Debug, Clone, Copy)]
enum Var {
    Now,
    Iat,
    Exp,
}

/// A sum of seconds: numbers, durations, profile values and `now`/`iat`/`exp`.
#[derive(Clone)]
pub struct NumExpr {
    source: String,
    terms: Vec<(f64, Term)>,
}

impl PartialEq for NumExpr {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for NumExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NumExpr({:?})", self.source)
    }
}

fn ends_in_exponent(current: &str) -> bool {
    let t = current.trim();
    (t.ends_with('e') || t.ends_with('E')) && t.len() > 1 && t[..t.len() - 1].parse::<f64>().is_ok()
}

fn push_term(sign: f64, text: &str, terms: &mut Vec<(f64, Term)>) -> Result<(), String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("missing term".into());
    }
    let term = match t {
        "now" => Term::Var(Var::Now),
        "iat" => Term::Var(Var::Iat),
        "exp" => Term::Var(Var::Exp),
        p if p.starts_with("profile.") => {
            check_path(p)?;
            Term::Profile(p.to_owned())
        }
        other => Term::Number(
            other
                .parse::<f64>()
                .ok()
                .or_else(|| parse_duration_secs(other))
                .ok_or_else(|| {
                    format!("\"{other}\" is not a number, duration, variable or profile field")
                })?,
        ),
    };
    terms.push((sign, term));
    Ok(())
}

impl NumExpr {
    /// Parses an expression.
    ///
    /// # Errors
    /// A message naming the bad term.
    pub fn parse(source: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        let mut sign = 1.0;
        let mut current = String::new();
        let trimmed = source.trim();
        let mut chars = trimmed.chars().peekable();
        // A leading sign applies to the first term.
        if let Some(&c) = chars.peek()
            && (c == '-' || c == '+')
        {
            sign = if c == '-' { -1.0 } else { 1.0 };
            chars.next();
        }
        for c in chars {
            // `1e+20` keeps its exponent sign.
            if (c == '+' || c == '-') && !ends_in_exponent(&current) {
                push_term(sign, &current, &mut terms)?;
                current.clear();
                sign = if c == '-' { -1.0 } else { 1.0 };
            } else {
                current.push(c);
            }
        }
        push_term(sign, &current, &mut terms)?;
        Ok(Self {
            source: source.to_owned(),
            terms,
        })
    }

    /// Evaluates with the given variables and profile; `None` when a profile value is null or
    /// not numeric (e.g. `max_assertion_lifetime: null`).
    pub fn eval(&self, vars: &Vars, profile: &ProfileJson) -> Option<f64> {
        let mut sum = 0.0;
        for (sign, term) in &self.terms {
            let v = match term {
                Term::Number(n) => *n,
                Term::Var(Var::Now) => vars.now,
                Term::Var(Var::Iat) => vars.iat,
                Term::Var(Var::Exp) => vars.exp,
                Term::Profile(p) => value_as_number(lookup(profile, p)?)?,
            };
            sum += sign * v;
        }
        Some(sum)
    }

    /// Whether the expression reads `now`, `iat` or `exp`.
    pub fn uses_vars(&self) -> bool {
        self.terms.iter().any(|(_, t)| matches!(t, Term::Var(_)))
    }

    /// The text as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

impl<'de> Deserialize<'de> for NumExpr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Text(String),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Num(n) => n.to_string(),
            Raw::Text(s) => s,
        };
        NumExpr::parse(&text)
            .map_err(|e| serde::de::Error::custom(format!("expression \"{text}\": {e}")))
    }
}

// ---------------------------------------------------------------------------------------------
// Profile-valued text

/// A literal string, or `profile.<path>` read from the profile at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileText {
    /// Used as written.
    Literal(String),
    /// Read from the profile.
    Profile(String),
}

impl ProfileText {
    /// Resolves against a profile.
    pub fn resolve(&self, profile: &ProfileJson) -> String {
        match self {
            Self::Literal(s) => s.clone(),
            Self::Profile(p) => lookup(profile, p).map(value_to_text).unwrap_or_default(),
        }
    }
}

impl fmt::Display for ProfileText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Literal(s) | Self::Profile(s) => f.write_str(s),
        }
    }
}

impl<'de> Deserialize<'de> for ProfileText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.starts_with("profile.") {
            check_path(&s).map_err(serde::de::Error::custom)?;
            Ok(Self::Profile(s))
        } else {
            Ok(Self::Literal(s))
        }
    }
}

/// A duration written `"30s"` that may be negative (`"-1s"`), as signed seconds.
pub fn parse_signed_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (sign, rest) = match t.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, t.strip_prefix('+').unwrap_or(t)),
    };
    parse_duration_secs(rest.trim())
        .map(|v| sign * v)
        .ok_or_else(|| format!("invalid duration \"{s}\""))
}

/// Serde helper for signed durations (`offset: -1s`).
pub mod signed_duration {
    use serde::{Deserialize, Deserializer};

    /// Reads `"-1s"`, `"2s"`, `"+500ms"` as signed seconds.
    ///
    /// # Errors
    /// When the text is not a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_signed_duration(&s).map_err(serde::de::Error::custom)
    }
}

/// A duration from seconds, clamped at zero.
pub fn secs(v: f64) -> Duration {
    Duration::from_secs_f64(v.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_auth::GatewayProfile;

    // Predicates read enums, booleans, durations and arrays of the profile.
    #[test]
    fn predicates() {
        let strict = profile_json(&GatewayProfile::rfc_strict());
        let apigee = profile_json(&GatewayProfile::apigee());
        let t = |s: &str, p: &Value| Predicate::parse(s).expect(s).eval(p);
        assert!(t("profile.replay_protection == jti", &strict));
        assert!(!t("profile.replay_protection != jti", &strict));
        assert!(t("profile.expires_in_format == string", &apigee));
        assert!(t("!profile.jti_required && profile.rs_challenge", &strict));
        assert!(!t("profile.rs_challenge", &apigee));
        assert!(t("profile.leeway.exp >= 5s", &strict));
        assert!(!t("profile.leeway.nbf < 8s", &strict));
        assert!(t("profile.allowed_algs contains RS256", &strict));
        assert!(!t("profile.allowed_algs contains PS256", &strict));
        assert!(t("profile.max_assertion_lifetime != null", &strict));
        assert!(t(
            "(profile.iat_required || profile.jti_required) && profile.sub_policy == equal-iss",
            &apigee
        ));
        assert!(t("profile.rs_insufficient_scope_status == 403", &strict));
    }

    // Unknown fields and syntax errors are refused at parse time.
    #[test]
    fn predicate_errors() {
        let e = Predicate::parse("profile.no_such == 1").expect_err("unknown");
        assert!(e.contains("unknown profile field"), "{e}");
        assert!(Predicate::parse("profile.jti_required &&").is_err());
        assert!(Predicate::parse("jti_required").is_err());
        assert!(Predicate::parse("(profile.jti_required").is_err());
        assert!(Predicate::parse("").is_err());
    }

    // Numeric expressions mix variables, durations, decimals and profile values.
    #[test]
    fn numeric_expressions() {
        let p = profile_json(&GatewayProfile::rfc_strict());
        let v = Vars {
            now: 1000.0,
            iat: 1000.0,
            exp: 1060.0,
        };
        let e = |s: &str| NumExpr::parse(s).expect(s).eval(&v, &p).expect("value");
        assert_eq!(e("now - 300s"), 700.0);
        assert_eq!(e("now+60.5s"), 1060.5);
        assert_eq!(e("iat + 24h"), 1000.0 + 86_400.0);
        assert_eq!(
            e("iat + profile.max_assertion_lifetime + 1s"),
            1000.0 + 3601.0
        );
        assert_eq!(e("profile.access_token_lifetime - 1"), 179.0);
        assert_eq!(e("1e20"), 1e20);
        assert_eq!(e("-5"), -5.0);
        assert!(NumExpr::parse("now + soon").is_err());
        assert!(NumExpr::parse("profile.nope + 1").is_err());
        let open = profile_json(&GatewayProfile {
            max_assertion_lifetime: None,
            ..GatewayProfile::rfc_strict()
        });
        assert!(
            NumExpr::parse("iat + profile.max_assertion_lifetime")
                .expect("p")
                .eval(&v, &open)
                .is_none()
        );
    }

    // Profile text resolves enums and numbers to their serialized text.
    #[test]
    fn profile_text() {
        let p = profile_json(&GatewayProfile::apigee());
        let t: ProfileText =
            serde_json::from_value(Value::String("profile.errors.replay".into())).expect("t");
        assert_eq!(t.resolve(&p), "invalid_grant");
        let t: ProfileText =
            serde_json::from_value(Value::String("profile.expires_in_format".into())).expect("t");
        assert_eq!(t.resolve(&p), "string");
        assert_eq!(parse_signed_duration("-1s"), Ok(-1.0));
        assert_eq!(parse_signed_duration("+500ms"), Ok(0.5));
    }
}
