//! Report folders that lose nothing (issue 21, class 3). A run checks its folder *before*
//! it starts ([`ReportDir::prepare`]: not a file, not a non-empty folder unless forced, its
//! parent writable — proven by creating the staging folder there), writes every file into a
//! temporary sibling (`.NAME.partial-PID`), and renames it into place at the end
//! ([`ReportDir::commit`]), so a folder holds one whole run or nothing, never a mix of two.
//! A forced replacement moves the old folder aside first and removes it only after the new
//! one is in place.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use crate::error::{Error, Result};

/// `base/<UTC timestamp>-<name>` (e.g. `reports/20261128T043000Z-conform`); characters of
/// `name` other than ASCII letters, digits, `-` and `_` become `_`.
pub fn default_dir(base: &Path, name: &str, at: SystemTime) -> PathBuf {
    let stamp: String = humantime::format_rfc3339_seconds(at)
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    base.join(format!("{stamp}-{safe}"))
}

/// A report file that could not be created or written, with its path; each reporter crate
/// turns it into its own `Error::Io`.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", path.display())]
pub struct FileError {
    /// The file or folder.
    pub path: PathBuf,
    /// The cause.
    #[source]
    pub source: std::io::Error,
}

/// Creates (or truncates) the report file `path`, buffered.
///
/// # Errors
/// [`FileError`] naming the file.
pub fn create_file(path: &Path) -> std::result::Result<BufWriter<File>, FileError> {
    File::create(path)
        .map(BufWriter::new)
        .map_err(file_error(path))
}

/// Names `path` in an I/O error: `.map_err(file_error(path))`.
pub fn file_error(path: &Path) -> impl Fn(std::io::Error) -> FileError + '_ {
    move |source| FileError {
        path: path.to_owned(),
        source,
    }
}

/// Writes `data` to `path` through a temporary sibling renamed into place, so readers see
/// the old file or the whole new one.
///
/// # Errors
/// [`Error::Io`] naming the file.
pub fn write_atomic(path: &Path, data: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
    std::fs::write(&tmp, data).map_err(Error::io("write", &tmp))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write", path)(e)
    })
}

/// Checks that `path` can take a new file (nothing there, its folder exists or can be
/// made, and is writable): for `--bundle FILE` and `--out FILE`, before anything runs.
///
/// # Errors
/// [`Error::ReportDir`]-like [`Error::Invalid`] naming the file.
pub fn check_new_file(path: &Path, flag: &str) -> Result<()> {
    if path.exists() {
        return Err(Error::invalid(
            format!("{flag} {}", path.display()),
            "already exists; remove it or choose another name (nothing is written over)",
        ));
    }
    let parent = parent_of(path);
    std::fs::create_dir_all(&parent)
        .map_err(|e| Error::invalid(format!("{flag} {}", path.display()), e.to_string()))?;
    let probe = parent.join(format!(".bearing-probe-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| {
        Error::invalid(
            format!("{flag} {}", path.display()),
            format!("cannot write into {}: {e}", parent.display()),
        )
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A report folder being written: files go into [`ReportDir::path`] (the staging sibling),
/// [`ReportDir::commit`] renames it to the folder asked for. Dropped uncommitted, the
/// staging folder is removed.
#[derive(Debug)]
pub struct ReportDir {
    target: PathBuf,
    staging: PathBuf,
    force: bool,
    committed: bool,
}

impl ReportDir {
    /// Checks `target` and creates the staging folder beside it.
    ///
    /// # Errors
    /// [`Error::ReportDir`] when `target` is a file, a non-empty folder (without `force`),
    /// or its parent cannot be created or written.
    pub fn prepare(target: &Path, force: bool) -> Result<Self> {
        let refuse = |reason: String| Error::ReportDir {
            path: target.to_owned(),
            reason,
        };
        if let Ok(meta) = std::fs::symlink_metadata(target) {
            if !meta.is_dir() {
                return Err(refuse("exists and is not a folder".into()));
            }
            let entries = std::fs::read_dir(target)
                .map_err(|e| refuse(format!("cannot list it: {e}")))?
                .count();
            if entries > 0 && !force {
                return Err(refuse(format!(
                    "is not empty ({entries} entries): a reused folder would mix two runs; \
                     pass --force to replace it, or choose another folder"
                )));
            }
        }
        let parent = parent_of(target);
        std::fs::create_dir_all(&parent)
            .map_err(|e| refuse(format!("cannot create {}: {e}", parent.display())))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| refuse("has no folder name".into()))?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        std::fs::create_dir(&staging)
            .map_err(|e| refuse(format!("cannot write into {}: {e}", parent.display())))?;
        Ok(Self {
            target: target.to_owned(),
            staging,
            force,
            committed: false,
        })
    }

    /// Where to write the files now (the staging folder).
    pub fn path(&self) -> &Path {
        &self.staging
    }

    /// The folder the files end up in.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// Renames the staging folder to the target; a forced non-empty target is moved aside
    /// first and removed once the new folder is in place.
    ///
    /// # Errors
    /// [`Error::Io`] when a rename fails (the files stay in the staging folder, which is
    /// then kept and named in the error).
    pub fn commit(mut self) -> Result<PathBuf> {
        let mut old = None;
        if self.target.is_dir() {
            let empty = std::fs::read_dir(&self.target)
                .map(|mut d| d.next().is_none())
                .unwrap_or(false);
            if empty {
                std::fs::remove_dir(&self.target).map_err(Error::io("replace", &self.target))?;
            } else if self.force {
                let aside = self.staging.with_file_name(format!(
                    "{}.old",
                    self.staging
                        .file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                ));
                std::fs::rename(&self.target, &aside)
                    .map_err(Error::io("replace", &self.target))?;
                old = Some(aside);
            }
        }
        if let Err(e) = std::fs::rename(&self.staging, &self.target) {
            // Keep the files: they are the run's results.
            self.committed = true;
            if let Some(o) = &old {
                let _ = std::fs::rename(o, &self.target);
            }
            return Err(Error::io("rename", &self.staging)(e));
        }
        self.committed = true;
        if let Some(o) = old {
            let _ = std::fs::remove_dir_all(o);
        }
        Ok(self.target.clone())
    }
}

impl Drop for ReportDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The default folder name is a compact UTC timestamp and a safe name.
    #[test]
    fn folder_name() {
        let d = default_dir(Path::new("reports"), "a b", std::time::UNIX_EPOCH);
        assert_eq!(d, Path::new("reports/19700101T000000Z-a_b"));
    }

    // A file, a non-empty folder and a folder under a file are refused before any write;
    // commit puts the staging folder in place and force replaces a whole old run.
    #[test]
    fn prepare_and_commit() {
        let t = tempfile::tempdir().expect("tmp");
        let file = t.path().join("f");
        std::fs::write(&file, b"x").expect("write");
        assert!(ReportDir::prepare(&file, false).is_err());
        assert!(ReportDir::prepare(&file.join("sub"), false).is_err());
        let d = t.path().join("run");
        let r = ReportDir::prepare(&d, false).expect("prepare");
        std::fs::write(r.path().join("summary.json"), b"{}").expect("write");
        assert!(!d.exists(), "nothing in place before commit");
        r.commit().expect("commit");
        assert!(d.join("summary.json").is_file());
        let err = ReportDir::prepare(&d, false).expect_err("non-empty");
        assert!(err.to_string().contains("not empty"), "{err}");
        let r = ReportDir::prepare(&d, true).expect("forced");
        std::fs::write(r.path().join("report.html"), b"x").expect("write");
        r.commit().expect("commit");
        assert!(!d.join("summary.json").exists(), "old run removed");
        assert!(d.join("report.html").is_file());
        let leftovers: Vec<_> = std::fs::read_dir(t.path())
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty(), "no staging folder left");
    }
}
