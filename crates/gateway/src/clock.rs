//! The gateway's clock: an injected [`bearing_auth::SharedClock`] plus an offset the admin
//! API can shift, so partners can test expiry without waiting (issue 3, "shift the clock").

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use bearing_auth::{Clock, SharedClock};

/// A clock that reads a base clock and adds a shift set at run time.
#[derive(Debug, Clone)]
pub struct GatewayClock {
    base: SharedClock,
    offset_ms: Arc<AtomicI64>,
}

impl GatewayClock {
    /// Wraps `base` with no shift.
    pub fn new(base: SharedClock) -> Self {
        Self {
            base,
            offset_ms: Arc::new(AtomicI64::new(0)),
        }
    }

    /// Moves the clock by `ms` (negative moves it back); returns the new total shift.
    pub fn shift_millis(&self, ms: i64) -> i64 {
        self.offset_ms
            .fetch_add(ms, Ordering::SeqCst)
            .saturating_add(ms)
    }

    /// The current shift in milliseconds.
    pub fn offset_millis(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Removes any shift.
    pub fn reset(&self) {
        self.offset_ms.store(0, Ordering::SeqCst);
    }
}

impl Clock for GatewayClock {
    fn now_millis(&self) -> i64 {
        self.base
            .now_millis()
            .saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bearing_auth::ManualClock;

    // A shift adds to the base clock and accumulates.
    #[test]
    fn shift_accumulates() {
        let c = GatewayClock::new(Arc::new(ManualClock::new(10_000)));
        assert_eq!(c.shift_millis(5_000), 5_000);
        assert_eq!(c.shift_millis(-1_000), 4_000);
        assert_eq!(c.now_millis(), 14_000);
        c.reset();
        assert_eq!(c.now_millis(), 10_000);
    }
}
