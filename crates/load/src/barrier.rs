//! The start barrier of a sharded run (issue 19): the shards of one run meet before the clock
//! starts, so the merged run is flat instead of a staircase of pods that started whenever
//! they were scheduled.
//!
//! - [`Start::Barrier`]: each shard writes `ready-<i>-of-<N>.json` into a directory every
//!   shard sees (the shared volume in Kubernetes), written to a temporary name and renamed so
//!   nobody reads half a file. It then polls until all N files are there (same profile hash,
//!   written within the barrier timeout of its own) or the timeout passes, and fails naming
//!   the shards that never became ready. Every shard computes the start from the same files:
//!   the next whole second after the last ready time plus a margin, so all N start at the
//!   same wall-clock instant without any coordinator service.
//! - [`Start::At`]: `--start-at RFC3339`, for machines without a shared directory (their
//!   clocks must agree, e.g. NTP).
//!
//! Ready files older than the timeout before this shard's own are another run's and ignored,
//! so a volume reused between runs needs no cleaning as long as runs are more than a timeout
//! apart.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// How a shard decides when its clock starts.
#[derive(Debug, Clone)]
pub enum Start {
    /// Meet the other shards in a shared directory.
    Barrier {
        /// The shared directory.
        dir: PathBuf,
        /// How long to wait for every shard.
        timeout: Duration,
        /// Added to the last ready time before rounding up to the next whole second.
        margin: Duration,
    },
    /// Start at this wall-clock instant.
    At(SystemTime),
}

/// Why a shard could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierError {
    /// Some shards never wrote their ready file.
    #[error(
        "{} never became ready within {} in {}",
        describe(.missing, *.count),
        humantime::format_duration(*.timeout),
        .dir.display()
    )]
    Timeout {
        /// The 0-based indices that were missing.
        missing: Vec<u32>,
        /// N.
        count: u32,
        /// The timeout.
        timeout: Duration,
        /// The directory.
        dir: PathBuf,
    },
    /// The directory could not be written or read.
    #[error("start barrier: cannot use {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The barrier needs a shard (`--shard i/N`).
    #[error("a start barrier needs --shard i/N")]
    NotSharded,
    /// `--start-at` lies in the past.
    #[error("start time {0} has already passed")]
    Past(String),
}

fn describe(missing: &[u32], count: u32) -> String {
    let list = missing
        .iter()
        .map(|i| format!("shard {i} of {count}"))
        .collect::<Vec<_>>();
    list.join(", ")
}

/// What a ready file holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Ready {
    /// 0-based shard index.
    pub index: u32,
    /// N.
    pub count: u32,
    /// The profile hash (shards of one run share it).
    pub profile_hash: String,
    /// When the shard became ready, ms since the Unix epoch.
    pub ready_unix_ms: u64,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
        .try_into()
        .unwrap_or(u64::MAX)
}

fn ready_path(dir: &Path, index: u32, count: u32) -> PathBuf {
    dir.join(format!("ready-{index}-of-{count}.json"))
}

/// The start instant every shard computes from the same ready times: the next whole second
/// after the last ready time plus `margin`.
pub fn start_instant(ready_unix_ms: &[u64], margin: Duration) -> SystemTime {
    let last = ready_unix_ms.iter().copied().max().unwrap_or(0);
    let at_ms = last + u64::try_from(margin.as_millis()).unwrap_or(u64::MAX / 2);
    UNIX_EPOCH + Duration::from_secs(at_ms / 1000 + 1)
}

/// Writes this shard's ready file (atomically: temporary name, then rename).
///
/// # Errors
/// [`BarrierError::Io`] naming the path.
pub fn write_ready(dir: &Path, r: &Ready) -> Result<(), BarrierError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BarrierError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = ready_path(dir, r.index, r.count);
    let tmp = dir.join(format!(".ready-{}-of-{}.tmp", r.index, r.count));
    let json = serde_json::to_vec(r).unwrap_or_default();
    std::fs::write(&tmp, json).map_err(io(&tmp))?;
    std::fs::rename(&tmp, &path).map_err(io(&path))
}

/// The ready times of every shard of this run found in `dir` (index → ms), ignoring files of
/// another profile, another N, or written more than `timeout` before `me`.
pub fn read_ready(dir: &Path, me: &Ready, timeout: Duration) -> Vec<Option<u64>> {
    let oldest = me
        .ready_unix_ms
        .saturating_sub(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
    (0..me.count)
        .map(|i| {
            let bytes = std::fs::read(ready_path(dir, i, me.count)).ok()?;
            let r: Ready = serde_json::from_slice(&bytes).ok()?;
            (r.index == i
                && r.count == me.count
                && r.profile_hash == me.profile_hash
                && r.ready_unix_ms >= oldest)
                .then_some(r.ready_unix_ms)
        })
        .collect()
}

/// Meets the other shards (or waits for `--start-at`) and returns once the start instant has
/// come. `on_wait(ready, count)` is called as shards become ready.
///
/// # Errors
/// [`BarrierError`]: a shard never became ready, the directory is unusable, the start time
/// passed.
pub async fn wait(
    start: &Start,
    shard: Option<(u32, u32)>,
    profile_hash: &str,
    mut on_wait: impl FnMut(u64, u64),
) -> Result<SystemTime, BarrierError> {
    let at = match start {
        Start::At(t) => {
            // A second late is a slow start, more is a missed appointment.
            if SystemTime::now()
                .duration_since(*t)
                .is_ok_and(|late| late > Duration::from_secs(1))
            {
                return Err(BarrierError::Past(
                    humantime::format_rfc3339(*t).to_string(),
                ));
            }
            *t
        }
        Start::Barrier {
            dir,
            timeout,
            margin,
        } => {
            let (index, count) = shard.ok_or(BarrierError::NotSharded)?;
            let me = Ready {
                index,
                count,
                profile_hash: profile_hash.to_owned(),
                ready_unix_ms: unix_ms(SystemTime::now()),
            };
            write_ready(dir, &me)?;
            let began = tokio::time::Instant::now();
            let mut last_seen = u64::MAX;
            loop {
                let seen = read_ready(dir, &me, *timeout);
                let times: Vec<u64> = seen.iter().flatten().copied().collect();
                if times.len() as u64 != last_seen {
                    last_seen = times.len() as u64;
                    on_wait(last_seen, u64::from(count));
                }
                if times.len() == count as usize {
                    break start_instant(&times, *margin);
                }
                if began.elapsed() >= *timeout {
                    return Err(BarrierError::Timeout {
                        missing: seen
                            .iter()
                            .enumerate()
                            .filter(|(_, t)| t.is_none())
                            .map(|(i, _)| i as u32)
                            .collect(),
                        count,
                        timeout: *timeout,
                        dir: dir.clone(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    if let Ok(d) = at.duration_since(SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_the_next_whole_second_after_last_ready_plus_margin() {
        let t = start_instant(&[1_000_200, 1_003_900, 1_001_000], Duration::from_secs(2));
        assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1006));
        // Exactly on a second still moves to the next one.
        let t = start_instant(&[5_000], Duration::ZERO);
        assert_eq!(t, UNIX_EPOCH + Duration::from_secs(6));
    }

    #[tokio::test]
    async fn three_shards_meet_and_start_at_the_same_instant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = Start::Barrier {
            dir: dir.path().to_owned(),
            timeout: Duration::from_secs(10),
            margin: Duration::from_millis(100),
        };
        let mut tasks = Vec::new();
        for i in 0..3u32 {
            let start = start.clone();
            tasks.push(tokio::spawn(async move {
                // Shard 2 arrives late.
                if i == 2 {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let at = wait(&start, Some((i, 3)), "h", |_, _| {}).await;
                (at, SystemTime::now())
            }));
        }
        let mut ats = Vec::new();
        for t in tasks {
            let (at, now) = t.await.expect("join");
            let at = at.expect("barrier");
            assert!(now >= at, "returned before the start instant");
            ats.push(at);
        }
        assert!(ats.windows(2).all(|w| w[0] == w[1]), "{ats:?}");
        assert_eq!(
            ats[0]
                .duration_since(UNIX_EPOCH)
                .expect("epoch")
                .subsec_nanos(),
            0
        );
    }

    #[tokio::test]
    async fn a_missing_shard_is_named_after_the_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A stale file of another profile does not count.
        write_ready(
            dir.path(),
            &Ready {
                index: 2,
                count: 3,
                profile_hash: "other".into(),
                ready_unix_ms: unix_ms(SystemTime::now()),
            },
        )
        .expect("write");
        write_ready(
            dir.path(),
            &Ready {
                index: 0,
                count: 3,
                profile_hash: "h".into(),
                ready_unix_ms: unix_ms(SystemTime::now()),
            },
        )
        .expect("write");
        let start = Start::Barrier {
            dir: dir.path().to_owned(),
            timeout: Duration::from_millis(400),
            margin: Duration::ZERO,
        };
        let e = wait(&start, Some((1, 3)), "h", |_, _| {})
            .await
            .expect_err("shard 2 never comes");
        let msg = e.to_string();
        assert!(msg.starts_with("shard 2 of 3 never became ready"), "{msg}");
    }

    #[tokio::test]
    async fn start_at_in_the_past_is_refused() {
        let e = wait(
            &Start::At(SystemTime::now() - Duration::from_secs(60)),
            None,
            "h",
            |_, _| {},
        )
        .await
        .expect_err("past");
        assert!(e.to_string().contains("already passed"), "{e}");
    }
}
