//! Network namespaces a test creates and removes itself, standing in for other machines or
//! for an address that is not loopback (COMMON: traffic only to 127.0.0.1 or to addresses
//! inside namespaces the test made). Needs root and `ip` (iproute2); [`Net::new`] says why
//! not otherwise, and the caller skips visibly.

use std::process::Command;

/// Runs `ip <args…>`: an error names the command and what `ip` said.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let o = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip: {e}"))?;
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// The namespaces of one test, named `<prefix><pid>-<name>`; every one is removed on drop,
/// whatever happened. Drop servers running inside them first (declare them after the `Net`).
pub struct Net {
    prefix: String,
    /// Unique per test process, short: interface names hold 15 bytes.
    pub tag: String,
    namespaces: Vec<String>,
}

impl Net {
    /// An empty set of namespaces, or why none can be made here (not root, no `ip`).
    pub fn new(prefix: &str) -> Result<Self, String> {
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if !root {
            return Err("needs root to create network namespaces".into());
        }
        if Command::new("ip").arg("-V").output().is_err() {
            return Err("needs `ip` (iproute2)".into());
        }
        Ok(Self {
            prefix: prefix.to_owned(),
            tag: (std::process::id() % 100_000).to_string(),
            namespaces: Vec::new(),
        })
    }

    /// The full name of the namespace `name`.
    pub fn ns(&self, name: &str) -> String {
        format!("{}{}-{name}", self.prefix, self.tag)
    }

    /// Creates the namespace `name` with its loopback link up; returns its full name.
    pub fn add_ns(&mut self, name: &str) -> Result<String, String> {
        let ns = self.ns(name);
        ip(&["netns", "add", &ns])?;
        self.namespaces.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(ns)
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for ns in self.namespaces.iter().rev() {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// `bearing` run inside the namespace `ns`, with a clean environment.
pub fn bearing_in(ns: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, env!("CARGO_BIN_EXE_bearing")]);
    super::clean_env(&mut c);
    c
}
