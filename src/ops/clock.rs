//! The time a step runs at. Behind a trait because replay must see the recorded `now`, so that
//! `window last 1h` means the same hour it meant when the investigation was recorded.

pub trait Clock {
    /// Unix seconds.
    fn now(&self) -> f64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        chrono::Utc::now().timestamp_millis() as f64 / 1000.0
    }
}
