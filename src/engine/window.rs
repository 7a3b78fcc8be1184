//! The time range that queries and checks look at, and the step that resolves it.

use crate::journal::entry::WindowInput;
use crate::ops::metrics::Range;
use chrono::{DateTime, SecondsFormat};
use std::time::Duration;

/// Prometheus refuses range queries of more than this many points a series.
const MAX_POINTS: f64 = 11_000.0;
/// Steps a person reads easily; the automatic step is the smallest that keeps a series at or
/// under a thousand points.
const NICE_STEPS: [f64; 19] = [
    1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
    10800.0, 21600.0, 43200.0, 86400.0, 604800.0,
];

/// A point in time as written: absolute, or relative to the moment a step runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Instant {
    At(f64),
    /// `now`, shifted by this many seconds (`now-2h` is -7200).
    Now(f64),
}

impl Instant {
    pub fn parse(word: &str) -> Option<Instant> {
        if let Some(rest) = word.strip_prefix("now") {
            if rest.is_empty() {
                return Some(Instant::Now(0.0));
            }
            let (sign, duration) = if let Some(d) = rest.strip_prefix('-') {
                (-1.0, d)
            } else if let Some(d) = rest.strip_prefix('+') {
                (1.0, d)
            } else {
                return None;
            };
            return super::duration::parse(duration).map(|d| Instant::Now(sign * d.as_secs_f64()));
        }
        let at = DateTime::parse_from_rfc3339(word).ok()?;
        Some(Instant::At(at.timestamp_millis() as f64 / 1000.0))
    }

    fn at(self, now: f64) -> f64 {
        match self {
            Instant::At(t) => t,
            Instant::Now(offset) => now + offset,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
    pub step: Option<Duration>,
}

impl Default for Window {
    /// The last hour.
    fn default() -> Self {
        Window {
            start: Instant::Now(-3600.0),
            end: Instant::Now(0.0),
            step: None,
        }
    }
}

impl Instant {
    fn describe(self) -> String {
        match self {
            Instant::At(t) => rfc3339(t),
            Instant::Now(0.0) => "now".into(),
            Instant::Now(offset) => {
                let sign = if offset < 0.0 { '-' } else { '+' };
                format!("now{sign}{}s", offset.abs())
            }
        }
    }
}

impl Window {
    /// The window as written, for the journal.
    pub fn describe(&self) -> WindowInput {
        WindowInput::new(
            self.start.describe(),
            self.end.describe(),
            self.step.map(|s| s.as_secs_f64()),
        )
    }

    /// The range this window covers when a step runs at `now` (Unix seconds).
    pub fn resolve(&self, now: f64) -> Range {
        let start = self.start.at(now);
        let end = self.end.at(now);
        let span = (end - start).max(1.0);
        let auto = NICE_STEPS
            .iter()
            .copied()
            .find(|step| span / step <= 1000.0)
            .unwrap_or(span / 1000.0);
        let requested = self.step.map_or(auto, |s| s.as_secs_f64());
        // A step longer than the window reads one point; a longer one would only overflow the
        // arithmetic of whoever walks the steps.
        let step = requested.max((span / MAX_POINTS).ceil()).min(span);
        Range { start, end, step }
    }
}

/// A Unix time as RFC 3339 in UTC, to the second.
pub fn rfc3339(t: f64) -> String {
    DateTime::from_timestamp_millis((t * 1000.0) as i64)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| format!("{t}"))
}

/// One line for a person: the range, its length and its step.
pub fn describe(range: &Range) -> String {
    let points = ((range.end - range.start) / range.step).floor() as u64 + 1;
    format!(
        "{} .. {} ({}), step {} (about {points} points a series)",
        rfc3339(range.start),
        rfc3339(range.end),
        crate::render::human_duration(Duration::from_secs_f64((range.end - range.start).max(0.0))),
        crate::render::human_duration(Duration::from_secs_f64(range.step)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(Instant::parse("now"), Some(Instant::Now(0.0)));
        assert_eq!(Instant::parse("now-2h"), Some(Instant::Now(-7200.0)));
        assert_eq!(Instant::parse("now+5m"), Some(Instant::Now(300.0)));
        assert_eq!(
            Instant::parse("2026-11-20T10:00:00Z"),
            Some(Instant::At(1_795_168_800.0))
        );
        assert_eq!(Instant::parse("yesterday"), None);
        assert_eq!(Instant::parse("now*2"), None);
    }

    #[test]
    fn automatic_step_gives_500_to_1000_points() {
        for hours in [1.0, 2.0, 6.0, 24.0, 24.0 * 7.0] {
            let window = Window {
                start: Instant::Now(-3600.0 * hours),
                end: Instant::Now(0.0),
                step: None,
            };
            let range = window.resolve(1e9);
            let points = (range.end - range.start) / range.step;
            assert!((400.0..=1000.0).contains(&points), "{hours}h: {points}");
        }
    }

    #[test]
    fn step_never_exceeds_the_server_limit() {
        let window = Window {
            start: Instant::Now(-86400.0 * 30.0),
            end: Instant::Now(0.0),
            step: Some(Duration::from_secs(1)),
        };
        let range = window.resolve(1e9);
        assert_eq!(range.step, (86400.0f64 * 30.0 / 11000.0).ceil());
    }

    #[test]
    fn a_step_longer_than_the_window_is_the_window() {
        let window = Window {
            start: Instant::Now(-3600.0),
            end: Instant::Now(0.0),
            step: Some(Duration::from_millis(u64::MAX)),
        };
        assert_eq!(window.resolve(1e9).step, 3600.0);
    }
}
