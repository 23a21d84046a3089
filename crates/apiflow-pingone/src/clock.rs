//! The emulator's time source: the system clock, or a manual clock tests move forward.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

/// Tells the emulator what time it is; clones share one manual clock.
#[derive(Clone, Debug)]
pub struct Clock {
    manual: Option<Arc<Mutex<SystemTime>>>,
}

impl Clock {
    /// Creates a clock that follows the system time.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// Creates a clock that stands still at `start` until [`Clock::advance`] moves it.
    pub fn manual(start: SystemTime) -> Self {
        Self {
            manual: Some(Arc::new(Mutex::new(start))),
        }
    }

    /// Moves a manual clock forward by `by`; a system clock ignores the call.
    pub fn advance(&self, by: Duration) {
        if let Some(now) = &self.manual {
            let mut now = now.lock().unwrap_or_else(PoisonError::into_inner);
            *now += by;
        }
    }

    /// Returns the current time of this clock.
    pub fn now(&self) -> SystemTime {
        match &self.manual {
            Some(now) => *now.lock().unwrap_or_else(PoisonError::into_inner),
            None => SystemTime::now(),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

/// Returns whole seconds since the Unix epoch, as JWT claims want them.
pub(crate) fn unix_seconds(at: SystemTime) -> u64 {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

/// Formats `at` the way PingOne writes timestamps, e.g. `2025-03-28T11:43:10.462Z`.
pub(crate) fn iso(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_advanced() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let clock = Clock::manual(start);
        let shared = clock.clone();
        assert_eq!(clock.now(), start);
        shared.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), start + Duration::from_secs(90));
        assert_eq!(iso(clock.now()), "2023-11-14T22:14:50.000Z");
    }
}
