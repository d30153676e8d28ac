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
    /// Time that only ever moves forward at its own pace, whatever is done to the wall
    /// clock: the driver compares the two to see the wall clock step.
    fn monotonic(&self) -> Duration;
    /// Returns after `d` (of monotonic time: a step of the wall clock meanwhile does not
    /// shorten or lengthen it, to within the instant of the call).
    fn sleep_for(&self, d: Duration) {
        self.sleep_until(self.now() + TimeDelta::from_std(d).unwrap_or(TimeDelta::zero()));
    }
}

/// The system clock, optionally shifted so that "now" started at another instant.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    offset: TimeDelta,
    origin: std::time::Instant,
}

impl SystemClock {
    pub fn new() -> Self {
        SystemClock {
            offset: TimeDelta::zero(),
            origin: std::time::Instant::now(),
        }
    }

    /// A clock on which "now" is `start` at the moment of the call, then runs at real speed.
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        SystemClock {
            offset: start - Utc::now(),
            origin: std::time::Instant::now(),
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

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// A clock that moves only when slept on: `sleep_until` jumps straight to the instant.
#[derive(Debug, Clone)]
pub struct ManualClock {
    /// The wall clock, and the monotonic time (what sleeping and `advance` moved it).
    now: Arc<Mutex<(DateTime<Utc>, Duration)>>,
}

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        ManualClock {
            now: Arc::new(Mutex::new((start, Duration::ZERO))),
        }
    }

    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        now.0 += by;
        now.1 += std_duration(by);
    }

    /// Steps the wall clock only, as NTP or an operator setting the time would.
    pub fn jump(&self, by: TimeDelta) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        now.0 += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.now.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    fn sleep_until(&self, t: DateTime<Utc>) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if t > now.0 {
            let step = std_duration(t - now.0);
            now.1 += step;
            now.0 = t;
        }
    }

    fn monotonic(&self) -> Duration {
        self.now.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    fn is_manual(&self) -> bool {
        true
    }
}

/// A `std::time::Duration` from a `TimeDelta`, negative ones as zero.
pub fn std_duration(d: TimeDelta) -> Duration {
    d.to_std().unwrap_or(Duration::ZERO)
}
