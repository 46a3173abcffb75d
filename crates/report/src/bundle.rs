//! Signed report bundles (issue 17, point 4): one `.tar.gz` holding
//!
//! - `manifest.json`: every file's SHA-256 and size, the tool version, the target (token URL
//!   without credentials, client id — never a key, assertion or token), the profile with the
//!   SHA-256 of its canonical JSON, start and end times and the overall verdict;
//! - `manifest.jws`: that manifest as the payload of a compact JWS signed with the key the
//!   user names (bearing-auth's signer: RS256/PS256/ES256/EdDSA…; never `none` or HMAC);
//!   absent in an unsigned bundle;
//! - `report/…`: the report folder as written.
//!
//! [`verify`] reads a bundle back: a corrupt or truncated archive, a manifest that is not
//! JSON, an unsafe path or a refused `alg` is bad input ([`Error::Bundle`]); an edited,
//! added or removed file or a signature that does not verify is a [`Problem`] naming the file.
//! Archives are tar (the `tar` crate) in gzip (`flate2`), both maintained by the rust-lang
//! organisation; hashes come from aws-lc-rs, which bearing-auth already signs with.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use bearing_auth::{Algorithm, Certificate, DecodedJwt, SigningKey};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::run::{RunFolder, RunKind, strip_userinfo};

/// The manifest's format tag.
pub const FORMAT: &str = "bearing-bundle/v1";
/// The `typ` of the manifest's JWS header.
pub const JWS_TYP: &str = "bearing-manifest+jws";
/// Largest total size read back from a bundle (a bomb guard).
pub const MAX_BYTES: u64 = 512 * 1024 * 1024;

/// One file of the report folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// Path inside the report folder (`/`-separated).
    pub path: String,
    /// SHA-256, lower-case hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// What the run was pointed at (no secrets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// The token endpoint, credentials removed.
    pub token_url: Option<String>,
    /// The client id(s).
    pub client_id: Option<String>,
}

/// The profile the run judged by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileRef {
    /// Its name (or file).
    pub name: String,
    /// SHA-256 of its canonical JSON (gateway profiles, as resolved when bundling), or the
    /// load profile's own hash; `None` when it cannot be resolved any more.
    pub sha256: Option<String>,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// `bearing <version>` that made the bundle.
    pub tool: String,
    /// The tool that wrote the report, as it says in `summary.json`.
    pub report_tool: Option<String>,
    /// Which command wrote the report.
    pub kind: RunKind,
    /// The target.
    pub target: TargetInfo,
    /// The profile.
    pub profile: ProfileRef,
    /// Run start (RFC 3339, UTC).
    pub started_at: Option<String>,
    /// Run end (RFC 3339, UTC).
    pub ended_at: Option<String>,
    /// Overall verdict (`pass`, `fail`, `incomplete`, `error`).
    pub verdict: String,
    /// When the bundle was made.
    pub bundled_at: String,
    /// Every file of the report folder, sorted by path.
    pub files: Vec<FileHash>,
}

/// SHA-256, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn rfc3339_ms(ms: i64) -> Option<String> {
    let t = std::time::UNIX_EPOCH
        .checked_add(std::time::Duration::from_millis(u64::try_from(ms).ok()?))?;
    Some(humantime::format_rfc3339_millis(t).to_string())
}

fn plus_seconds(start: &str, secs: f64) -> Option<String> {
    let t = humantime::parse_rfc3339_weak(start).ok()?;
    let end = t.checked_add(std::time::Duration::try_from_secs_f64(secs).ok()?)?;
    Some(humantime::format_rfc3339_millis(end).to_string())
}

/// SHA-256 of a gateway profile's canonical JSON, resolved by name or file.
pub fn gateway_profile_sha256(name: &str) -> Option<String> {
    let p = bearing_auth::GatewayProfile::resolve(name).ok()?;
    Some(sha256_hex(&serde_json::to_vec(&p).ok()?))
}

/// What the manifest says of a run: target, gateway profile, start, end, verdict.
type Description = (
    TargetInfo,
    ProfileRef,
    Option<String>,
    Option<String>,
    String,
);

/// Reads a run's `summary.json` for the manifest, by the kind of run.
fn describe(run: &RunFolder) -> Description {
    let s = &run.summary;
    match run.kind {
        RunKind::Conform => describe_conform(s),
        RunKind::Certify => describe_certify(s),
        RunKind::Load => describe_load(s),
    }
}

/// A string at JSON pointer `p`.
fn st(s: &serde_json::Value, p: &str) -> Option<String> {
    s.pointer(p)
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// A number at JSON pointer `p`.
fn num(s: &serde_json::Value, p: &str) -> Option<f64> {
    s.pointer(p).and_then(serde_json::Value::as_f64)
}

/// A conformance run: failed when more cases failed or errored than were expected to.
fn describe_conform(s: &serde_json::Value) -> Description {
    let fail = num(s, "/counts/fail").unwrap_or(0.0);
    let error = num(s, "/counts/error").unwrap_or(0.0);
    let expected = s
        .pointer("/expected_failures/entries")
        .and_then(serde_json::Value::as_array)
        .map_or(0, |a| {
            a.iter()
                .filter(|e| e["status"] == "expected-failure")
                .count()
        }) as f64;
    let verdict = if fail + error > expected {
        if fail > 0.0 { "fail" } else { "error" }
    } else {
        "pass"
    };
    let started = st(s, "/started_at");
    let ended = started
        .as_deref()
        .zip(num(s, "/duration_ms"))
        .and_then(|(a, d)| plus_seconds(a, d / 1000.0));
    let profile = st(s, "/profile").unwrap_or_default();
    (
        TargetInfo {
            token_url: st(s, "/target/token_url").map(|u| strip_userinfo(&u)),
            client_id: st(s, "/target/client_id"),
        },
        ProfileRef {
            sha256: gateway_profile_sha256(&profile),
            name: profile,
        },
        started,
        ended,
        verdict.to_owned(),
    )
}

/// A certification run: its clients and its own verdict.
fn describe_certify(s: &serde_json::Value) -> Description {
    let clients: Vec<String> = s["clients"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["client_id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let profile = st(s, "/profile").unwrap_or_default();
    (
        TargetInfo {
            token_url: st(s, "/token_url").map(|u| strip_userinfo(&u)),
            client_id: (!clients.is_empty()).then(|| clients.join(",")),
        },
        ProfileRef {
            sha256: gateway_profile_sha256(&profile),
            name: profile,
        },
        st(s, "/started_at"),
        s["ended_ms"].as_i64().and_then(rfc3339_ms),
        st(s, "/verdict").unwrap_or_else(|| "unknown".into()),
    )
}

/// A load run: passed or not, the load profile's hash.
fn describe_load(s: &serde_json::Value) -> Description {
    let started = st(s, "/started_at");
    let ended = started
        .as_deref()
        .zip(num(s, "/duration_s"))
        .and_then(|(a, d)| plus_seconds(a, d));
    (
        TargetInfo {
            token_url: st(s, "/target").map(|u| strip_userinfo(&u)),
            client_id: None,
        },
        ProfileRef {
            name: st(s, "/profile/name").unwrap_or_default(),
            sha256: st(s, "/profile/hash"),
        },
        started,
        ended,
        if s["passed"].as_bool() == Some(true) {
            "pass".into()
        } else {
            "fail".into()
        },
    )
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(Error::io("read", dir))?
        .filter_map(std::result::Result::ok)
        .collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for e in entries {
        let p = e.path();
        let ft = e.file_type().map_err(Error::io("read", &p))?;
        if ft.is_dir() {
            walk(root, &p, out)?;
        } else if ft.is_file() {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            out.push((rel, p));
        } else {
            return Err(Error::invalid(
                p.display(),
                "is neither a file nor a folder (links are not bundled)",
            ));
        }
    }
    Ok(())
}

/// The key and algorithm a manifest is signed with.
#[derive(Debug)]
pub struct Signer<'a> {
    /// The private key (never written anywhere).
    pub key: &'a SigningKey,
    /// The JWS algorithm (RS256/PS256/ES256/EdDSA… as the key allows).
    pub alg: Algorithm,
}

/// A file of the report folder: its path (`/`-separated) and bytes.
pub type Contents = (String, Vec<u8>);

/// Builds the manifest of a report folder.
///
/// # Errors
/// The folder is not a bearing report (bad input) or cannot be read.
pub fn manifest(dir: &Path, tool: &str) -> Result<(Manifest, Vec<Contents>)> {
    let run = RunFolder::open(dir)?;
    let mut paths = Vec::new();
    walk(dir, dir, &mut paths)?;
    let mut files = Vec::new();
    let mut hashes = Vec::new();
    for (rel, p) in paths {
        let data = std::fs::read(&p).map_err(Error::io("read", &p))?;
        hashes.push(FileHash {
            path: rel.clone(),
            sha256: sha256_hex(&data),
            bytes: data.len() as u64,
        });
        files.push((rel, data));
    }
    let (target, profile, started_at, ended_at, verdict) = describe(&run);
    let m = Manifest {
        format: FORMAT.to_owned(),
        tool: tool.to_owned(),
        report_tool: run
            .str_at("/tool_version")
            .map(|v| format!("bearing {v}"))
            .or_else(|| run.str_at("/tool").map(str::to_owned)),
        kind: run.kind,
        target,
        profile,
        started_at,
        ended_at,
        verdict,
        bundled_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        files: hashes,
    };
    Ok((m, files))
}

/// Signs manifest bytes into a compact JWS (payload = the bytes as given).
///
/// # Errors
/// The key does not fit the algorithm.
pub fn sign_manifest(bytes: &[u8], signer: &Signer<'_>) -> Result<String> {
    let header = serde_json::json!({ "alg": signer.alg.as_str(), "typ": JWS_TYP });
    let header =
        serde_json::to_vec(&header).map_err(|e| Error::invalid("manifest", e.to_string()))?;
    Ok(bearing_auth::sign_raw(
        signer.key, signer.alg, &header, bytes,
    )?)
}

fn append(
    b: &mut tar::Builder<flate2::write::GzEncoder<Vec<u8>>>,
    path: &str,
    data: &[u8],
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, path, data)
}

/// Bundles the report folder `dir` into `out` (written through a temporary file; an
/// existing `out` is refused, nothing is written over). Returns the manifest.
///
/// # Errors
/// Bad input (not a report folder, `out` exists, key/alg mismatch) or I/O.
pub fn create(dir: &Path, out: &Path, signer: Option<&Signer<'_>>, tool: &str) -> Result<Manifest> {
    if out.exists() {
        return Err(Error::invalid(
            out.display(),
            "already exists; remove it or choose another name (nothing is written over)",
        ));
    }
    if let (Ok(d), Some(Ok(p))) = (
        dir.canonicalize(),
        out.parent().map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".").canonicalize()
            } else {
                p.canonicalize()
            }
        }),
    ) && p.starts_with(&d)
    {
        return Err(Error::invalid(
            out.display(),
            "is inside the report folder it bundles",
        ));
    }
    let (m, files) = manifest(dir, tool)?;
    let json =
        serde_json::to_vec_pretty(&m).map_err(|e| Error::invalid("manifest", e.to_string()))?;
    let jws = signer.map(|s| sign_manifest(&json, s)).transpose()?;
    let io = |e: std::io::Error| Error::io("write", out)(e);
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    append(&mut b, "manifest.json", &json).map_err(io)?;
    if let Some(j) = &jws {
        append(&mut b, "manifest.jws", j.as_bytes()).map_err(io)?;
    }
    for (rel, data) in &files {
        append(&mut b, &format!("report/{rel}"), data).map_err(io)?;
    }
    let gz = b.into_inner().map_err(io)?.finish().map_err(io)?;
    crate::dir::write_atomic(out, &gz)?;
    Ok(m)
}

/// The signature's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Signature {
    /// No `manifest.jws`.
    Unsigned,
    /// Signed and verified with the certificate.
    Valid {
        /// The algorithm.
        alg: String,
    },
    /// Signed, but no certificate was given to check it.
    NotChecked {
        /// The algorithm.
        alg: String,
    },
    /// Signed, and it does not verify (another key, an edited manifest).
    Invalid {
        /// Why.
        reason: String,
    },
}

/// A file that does not match the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, as named in the bundle.
    pub file: String,
    /// What is wrong.
    pub problem: String,
}

/// What [`verify`] found.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// The manifest (what the bundle claims).
    pub manifest: Manifest,
    /// The signature.
    pub signature: Signature,
    /// Files checked against the manifest.
    pub files_checked: usize,
    /// Mismatches; empty when every hash matched.
    pub problems: Vec<Problem>,
}

impl Verification {
    /// Whether every hash matched and the signature (if checked) verified.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty() && !matches!(self.signature, Signature::Invalid { .. })
    }
}

fn bad(file: &Path, reason: impl Into<String>) -> Error {
    Error::Bundle {
        file: file.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads every entry of a bundle: paths must be plain relative paths, entries regular
/// files or folders, the total below [`MAX_BYTES`].
fn read_entries(file: &Path) -> Result<BTreeMap<String, Vec<u8>>> {
    let f = std::fs::File::open(file).map_err(Error::io("read", file))?;
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(f));
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let entries = a
        .entries()
        .map_err(|e| bad(file, format!("not a tar.gz archive: {e}")))?;
    for e in entries {
        let mut e = e.map_err(|e| bad(file, format!("corrupt or truncated: {e}")))?;
        let path = e
            .path()
            .map_err(|e| bad(file, format!("bad entry name: {e}")))?
            .into_owned();
        let name = path.to_string_lossy().into_owned();
        if !path.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(bad(
                file,
                format!("entry {name:?} is not a plain relative path"),
            ));
        }
        match e.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular => {}
            t => return Err(bad(file, format!("entry {name:?} is a {t:?}, not a file"))),
        }
        total = total.saturating_add(e.size());
        if total > MAX_BYTES {
            return Err(bad(file, format!("larger than {MAX_BYTES} bytes unpacked")));
        }
        let mut data = Vec::new();
        e.read_to_end(&mut data)
            .map_err(|er| bad(file, format!("corrupt or truncated at {name:?}: {er}")))?;
        if out.insert(name.clone(), data).is_some() {
            return Err(bad(file, format!("entry {name:?} appears twice")));
        }
    }
    if out.is_empty() {
        return Err(bad(file, "empty archive"));
    }
    Ok(out)
}

/// The `alg` of a compact JWS header, refusing `none` and HMAC (bad input, before any
/// key is looked at: RFC 8725 §3.1–3.2).
fn jws_alg(file: &Path, compact: &str) -> Result<Algorithm> {
    let head = compact.trim().split('.').next().unwrap_or_default();
    let header: serde_json::Value = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(head)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| bad(file, "manifest.jws: the header is not Base64url JSON"))?;
    let alg = header["alg"]
        .as_str()
        .ok_or_else(|| bad(file, "manifest.jws: the header has no alg"))?;
    if alg.eq_ignore_ascii_case("none") || alg.to_ascii_uppercase().starts_with("HS") {
        return Err(bad(
            file,
            format!(
                "manifest.jws: alg {alg:?} is refused: a manifest must be signed with a private key"
            ),
        ));
    }
    alg.parse()
        .map_err(|_| bad(file, format!("manifest.jws: unsupported alg {alg:?}")))
}

/// Verifies a bundle: every file against the manifest, the signature against `cert`.
///
/// # Errors
/// Bad input ([`Error::Bundle`]): unreadable, corrupt or truncated archive, a manifest that
/// is missing or not JSON, a refused `alg`. Mismatches are [`Verification::problems`].
pub fn verify(file: &Path, cert: Option<&Certificate>) -> Result<Verification> {
    let mut entries = read_entries(file)?;
    let json = entries
        .remove("manifest.json")
        .ok_or_else(|| bad(file, "no manifest.json: not a bearing bundle"))?;
    let value: serde_json::Value = serde_json::from_slice(&json)
        .map_err(|e| bad(file, format!("manifest.json is not JSON: {e}")))?;
    let manifest: Manifest = serde_json::from_value(value.clone()).map_err(|e| {
        bad(
            file,
            format!("manifest.json is not a bearing manifest: {e}"),
        )
    })?;
    if manifest.format != FORMAT {
        return Err(bad(
            file,
            format!("manifest format {:?}, expected {FORMAT:?}", manifest.format),
        ));
    }
    let signature = match entries.remove("manifest.jws") {
        None => Signature::Unsigned,
        Some(raw) => {
            let compact =
                String::from_utf8(raw).map_err(|_| bad(file, "manifest.jws is not text"))?;
            let alg = jws_alg(file, &compact)?;
            let decoded =
                DecodedJwt::parse(&compact).map_err(|e| bad(file, format!("manifest.jws: {e}")))?;
            match cert {
                None => Signature::NotChecked {
                    alg: alg.as_str().to_owned(),
                },
                Some(c) => match decoded.verify(&compact, c) {
                    Err(e) => Signature::Invalid {
                        reason: format!("manifest.jws: {e}"),
                    },
                    Ok(_) if decoded.claims != value => Signature::Invalid {
                        reason: "manifest.json differs from the manifest that was signed".into(),
                    },
                    Ok(a) => Signature::Valid {
                        alg: a.as_str().to_owned(),
                    },
                },
            }
        }
    };
    let mut problems = Vec::new();
    let mut checked = 0;
    for f in &manifest.files {
        let name = format!("report/{}", f.path);
        match entries.remove(&name) {
            None => problems.push(Problem {
                file: name,
                problem: "removed: listed in the manifest, missing from the bundle".into(),
            }),
            Some(data) => {
                checked += 1;
                let got = sha256_hex(&data);
                if got != f.sha256 {
                    problems.push(Problem {
                        file: name,
                        problem: format!("edited: SHA-256 {got}, manifest says {}", f.sha256),
                    });
                }
            }
        }
    }
    for extra in entries.into_keys() {
        problems.push(Problem {
            file: extra,
            problem: "added: not in the manifest".into(),
        });
    }
    Ok(Verification {
        manifest,
        signature,
        files_checked: checked,
        problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Refused algorithms are bad input, whatever the key.
    #[test]
    fn none_and_hmac_refused() {
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        for alg in ["none", "HS256"] {
            let jws = format!("{}.{}.", b64(&format!("{{\"alg\":\"{alg}\"}}")), b64("{}"));
            let e = jws_alg(Path::new("b.tar.gz"), &jws).expect_err(alg);
            assert!(e.to_string().contains("refused"), "{e}");
        }
    }
}
