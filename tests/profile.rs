//! `bearing profile` at the command line (issue 16): exit codes and output a script relies on.

mod common;

use common::{lossy as text, run};

// An unknown profile is bad input (exit 2) and the error names the shipped profiles.
#[test]
fn show_unknown_profile_is_bad_input() {
    let o = run(&["profile", "show", "nope"]);
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for name in ["\"nope\"", "rfc-strict", "apigee", "okta", "keycloak"] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}

// `diff` exits 0 and shows a row for a knob the two profiles set differently.
#[test]
fn diff_shows_differing_knobs() {
    let o = run(&["profile", "diff", "rfc-strict", "okta"]);
    let out = text(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let row = out
        .lines()
        .find(|l| l.starts_with("sub_policy"))
        .unwrap_or_else(|| panic!("no sub_policy row in: {out}"));
    assert!(row.contains("any") && row.contains("equal-iss"), "{row}");
}

// `list --output json` is a JSON array naming every shipped profile with its file.
#[test]
fn list_json_parses() {
    let o = run(&["profile", "list", "--output", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let names: Vec<&str> = v
        .as_array()
        .expect("array")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    for n in ["rfc-strict", "apigee", "okta", "hydra"] {
        assert!(names.contains(&n), "{n} not in {names:?}");
    }
    assert!(v[0]["file"].as_str().is_some_and(|f| f.ends_with(".yaml")));
}
