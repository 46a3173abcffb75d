//! The `jti` replay store (RFC 7523 §3 #7): a `jti` is remembered until the assertion's
//! `exp` plus the exp leeway, per issuer or globally (profile `jti_scope`). Check-and-insert
//! is one operation under the shard lock, so parallel identical assertions yield exactly
//! one success. Expired entries are swept, so memory stays bounded by the live window.

use dashmap::DashMap;
use dashmap::mapref::entry::Entry;

/// Remembered `jti`s, keyed by (issuer or "" when global, jti).
#[derive(Debug, Default)]
pub struct ReplayStore {
    seen: DashMap<(Box<str>, Box<str>), i64>,
}

impl ReplayStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `jti` for `issuer` until `keep_until_ms`. Returns false when it was already
    /// recorded and has not lapsed (a replay). Atomic per key.
    pub fn check_and_insert(
        &self,
        issuer: &str,
        jti: &str,
        keep_until_ms: i64,
        now_ms: i64,
    ) -> bool {
        match self.seen.entry((issuer.into(), jti.into())) {
            Entry::Occupied(mut e) => {
                if *e.get() > now_ms {
                    false
                } else {
                    e.insert(keep_until_ms);
                    true
                }
            }
            Entry::Vacant(v) => {
                v.insert(keep_until_ms);
                true
            }
        }
    }

    /// Removes lapsed entries; returns how many were removed (net of concurrent inserts, so
    /// never negative). Shrinks the table when it has become mostly empty, so a burst does not
    /// pin memory.
    pub fn sweep(&self, now_ms: i64) -> usize {
        let before = self.seen.len();
        self.seen.retain(|_, until| *until > now_ms);
        let after = self.seen.len();
        if after.saturating_mul(4) < self.seen.capacity() && self.seen.capacity() > 1024 {
            self.seen.shrink_to_fit();
        }
        before.saturating_sub(after)
    }

    /// Forgets everything.
    pub fn clear(&self) {
        self.seen.clear();
        self.seen.shrink_to_fit();
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A jti is refused while remembered, per issuer, and accepted again once lapsed.
    #[test]
    fn replay_window() {
        let s = ReplayStore::new();
        assert!(s.check_and_insert("a", "j", 1_000, 0));
        assert!(!s.check_and_insert("a", "j", 1_000, 999));
        assert!(s.check_and_insert("b", "j", 1_000, 0));
        assert!(s.check_and_insert("a", "j", 2_000, 1_000));
        assert_eq!(s.sweep(2_000), 2);
        assert!(s.is_empty());
    }
}
