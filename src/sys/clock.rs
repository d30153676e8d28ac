//! Time, as the daemon sees it. The playout engine never reads the system clock itself:
//! it asks a `Clock`, so `--start-at` can shift the day for a rehearsal and tests can run
//! a whole day in seconds on a `ManualClock`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
    /// Returns at `t` (or at once if `t` has passed).
    fn sleep_until(&self, t: DateTime<Utc>);
    /// True when time only moves when asked to (tests): waits must not block on real time.
    fn is_manual(&self) -> bool {
        false
    }
    /// How far this clock is set from the real one (a rehearsal), if it is.
    fn shifted_by(&self) -> Option<TimeDelta> {
        None
    }
}

/// The system clock, optionally shifted so that "now" started at another instant.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    offset: TimeDelta,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock {
            offset: TimeDelta::zero(),
        }
    }

    /// A clock on which "now" is `start` at the moment of the call, then runs at real speed.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        SystemClock {
            offset: start - Utc::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.offset
    }

    fn sleep_until(&self, t: DateTime<Utc>) {
        if let Ok(d) = (t - self.now()).to_std() {
            std::thread::sleep(d);
        }
    }

    fn shifted_by(&self) -> Option<TimeDelta> {
        (self.offset != TimeDelta::zero()).then_some(self.offset)
    }
}

/// A clock that moves only when slept on: `sleep_until` jumps straight to the instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sleep_until(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > *now {
            *now = t;
        }
    }

    fn is_manual(&self) -> bool {
        true
    }
}

/// A `std::time::Duration` from a `TimeDelta`, negative ones as zero.
pub fn std_duration(d: TimeDelta) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}
