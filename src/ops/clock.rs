//! The time a step runs at. Behind a trait because replay must see the recorded `now`, so that
//! `window last 1h` means the same hour it meant when the investigation was recorded.

pub trait Clock {
    /// Unix seconds: what `now` means for windows and queries.
    fn now(&self) -> f64;

    /// Unix seconds, to stamp a finding or a check with. Apart from [`Clock::now`] because the
    /// journal keeps the two apart: journals written before stamps were recorded still give
    /// each window the `now` it had.
    fn stamp(&self) -> f64 {
        self.now()
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        chrono::Utc::now().timestamp_millis() as f64 / 1000.0
    }
}
