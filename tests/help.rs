//! Every command's `--help` ends with examples (issue 10): walks the command tree as the
//! binary prints it, so a subcommand added later without examples fails here.

mod common;

fn help(path: &[&str]) -> String {
    let out = common::bearing()
        .args(path)
        .arg("--help")
        .output()
        .expect("run bearing");
    assert!(out.status.success(), "bearing {path:?} --help failed");
    String::from_utf8(out.stdout).expect("utf-8")
}

/// The subcommand names listed under `Commands:` (without `help`).
fn subcommands(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

// `bearing --help` and every (nested) subcommand's `--help` has an "Examples:" section.
#[test]
fn every_help_has_examples() {
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        assert!(
            text.contains("Examples:"),
            "`bearing {} --help` has no Examples: section",
            args.join(" ")
        );
        seen += 1;
        for sub in subcommands(&text) {
            let mut p = path.clone();
            p.push(sub);
            todo.push(p);
        }
    }
    // bearing, its commands, and the nested `bench sign` and `report merge`.
    assert!(seen >= 15, "only {seen} help pages found");
}
