//! Checks: conditions that must hold, and what was found when they were evaluated.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub title: String,
    pub passed: bool,
    /// One line on why: the series that fired, the exit code, the probe's answer.
    pub detail: String,
    pub at: DateTime<Utc>,
}
