//! The machine a benchmark ran on, and the CPU time a thread actually got (a shared machine
//! gives the measuring threads less than their wall time; the reports say how much).

use serde::Serialize;

/// The machine a benchmark ran on.
#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    /// Cores available.
    pub cpus: usize,
    /// `/proc/cpuinfo`'s model name.
    pub cpu_model: Option<String>,
    /// Operating system.
    pub os: &'static str,
    /// CPU architecture.
    pub arch: &'static str,
}

impl Machine {
    /// This machine.
    pub fn current() -> Self {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, m)| m.trim().to_owned())
            })
        });
        Self {
            cpus: cores(),
            cpu_model,
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
        }
    }
}

/// Cores available to this process.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Nanoseconds the calling thread has spent on a CPU (first field of Linux's
/// `/proc/thread-self/schedstat`), or `None` where that file does not exist.
pub fn on_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Most threads a sweep accepts: every count 1..=N is measured for the full duration, so a
/// typo like `--threads 100000` would run for days; 16 per core still shows contention.
pub fn max_threads() -> usize {
    cores() * 16
}

/// Checks a thread count for a sweep.
///
/// # Errors
/// [`crate::Error::BadSetting`] naming `--threads` and the allowed range.
pub fn check_threads(threads: usize) -> crate::Result<usize> {
    let max = max_threads();
    if (1..=max).contains(&threads) {
        Ok(threads)
    } else {
        Err(crate::Error::setting(
            "--threads",
            format!(
                "{threads} is out of range: 1 to {max} (16 × the {} cores here); every \
                 count 1..=N is measured in turn",
                cores()
            ),
        ))
    }
}

/// Checks a per-step duration.
///
/// # Errors
/// [`crate::Error::BadSetting`] when it is zero or longer than an hour.
pub fn check_duration(d: std::time::Duration) -> crate::Result<std::time::Duration> {
    if d.is_zero() {
        return Err(crate::Error::setting("--duration", "must be > 0"));
    }
    if d > std::time::Duration::from_secs(3600) {
        return Err(crate::Error::setting("--duration", "must be at most 1h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Zero and absurd thread counts are refused with the range; 1 and the core count pass.
    #[test]
    fn thread_range() {
        assert!(check_threads(0).is_err());
        assert!(check_threads(100_000).is_err());
        assert_eq!(check_threads(1).ok(), Some(1));
        assert_eq!(check_threads(cores()).ok(), Some(cores()));
        let e = check_threads(100_000).expect_err("too many").to_string();
        assert!(
            e.starts_with("--threads: 100000 is out of range: 1 to "),
            "{e}"
        );
        assert!(check_duration(std::time::Duration::ZERO).is_err());
    }
}
