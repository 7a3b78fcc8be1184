//! How many lines a log query matched in each step of the window, by level: what the volume
//! chart above a log result draws. The embedded engine and VictoriaLogs count every line that
//! matched; for Loki it is counted from the lines returned (`complete` false when there were
//! more).

use super::level::Level;
use super::LogLine;
use std::collections::BTreeMap;

/// About this many bars or fewer across a window: enough to see when something began.
const MOST_BARS: i64 = 60;

const SECOND_NS: i64 = 1_000_000_000;

/// Steps a bar may span, in seconds: the clock's usual intervals.
const STEPS: [i64; 19] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
    604_800,
];

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Volume {
    pub step_ns: i64,
    /// Sorted by time, then level; only bars with a count.
    pub bars: Vec<Bar>,
    /// Whether every line that matched is counted, not only those returned.
    pub complete: bool,
}

/// The lines of one level whose time falls in [at_ns, at_ns + step).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bar {
    pub at_ns: i64,
    pub level: Level,
    pub count: u64,
}

impl Volume {
    /// The step of the bars over [start_ns, end_ns]: the shortest usual interval that gives at
    /// most [`MOST_BARS`], whole weeks beyond.
    pub fn step_for(start_ns: i64, end_ns: i64) -> i64 {
        let span = end_ns.saturating_sub(start_ns).max(1);
        let fits = |seconds: i64| span / seconds.saturating_mul(SECOND_NS) <= MOST_BARS;
        match STEPS.iter().copied().find(|&s| fits(s)) {
            Some(seconds) => seconds * SECOND_NS,
            None => {
                let week = 604_800 * SECOND_NS;
                (span / MOST_BARS / week + 1).saturating_mul(week)
            }
        }
    }

    /// The volume of the lines returned: all there is to count when a server gives only them.
    pub fn of_lines(lines: &[LogLine], step_ns: i64, matched: usize) -> Volume {
        let mut counter = Counter::new(step_ns);
        for line in lines {
            counter.add(line.at_ns, Level::of(&line.labels, &line.line));
        }
        counter.finish(matched <= lines.len())
    }

    pub fn total(&self) -> u64 {
        self.bars.iter().map(|b| b.count).sum()
    }
}

/// Counts lines into bars as they are matched.
pub struct Counter {
    step_ns: i64,
    counts: BTreeMap<(i64, Level), u64>,
}

impl Counter {
    pub fn new(step_ns: i64) -> Counter {
        Counter {
            step_ns: step_ns.max(1),
            counts: BTreeMap::new(),
        }
    }

    /// Bars start at whole multiples of the step since the epoch, as VictoriaLogs's `hits`.
    pub fn bar_start(&self, at_ns: i64) -> i64 {
        at_ns.div_euclid(self.step_ns) * self.step_ns
    }

    pub fn add(&mut self, at_ns: i64, level: Level) {
        self.add_count(at_ns, level, 1);
    }

    pub fn add_count(&mut self, at_ns: i64, level: Level, count: u64) {
        *self
            .counts
            .entry((self.bar_start(at_ns), level))
            .or_default() += count;
    }

    pub fn finish(self, complete: bool) -> Volume {
        Volume {
            step_ns: self.step_ns,
            bars: (self.counts.into_iter())
                .map(|((at_ns, level), count)| Bar {
                    at_ns,
                    level,
                    count,
                })
                .collect(),
            complete,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_gives_at_most_sixty_bars() {
        let hour = 3600 * SECOND_NS;
        assert_eq!(Volume::step_for(0, hour), 60 * SECOND_NS);
        assert_eq!(Volume::step_for(0, hour + 60 * SECOND_NS), 120 * SECOND_NS);
        assert_eq!(Volume::step_for(0, 10 * SECOND_NS), SECOND_NS);
        assert_eq!(Volume::step_for(5, 5), SECOND_NS);
        for span in [1, 59, 61, 3599, 86_400 * 400, i64::MAX / SECOND_NS] {
            let step = Volume::step_for(0, span.saturating_mul(SECOND_NS));
            assert!(span.saturating_mul(SECOND_NS) / step <= MOST_BARS, "{span}");
        }
        assert!(Volume::step_for(i64::MIN, i64::MAX) > 0);
    }

    #[test]
    fn lines_are_counted_in_epoch_aligned_bars_by_level() {
        let line = |at_ns, text: &str| LogLine {
            at_ns,
            labels: Default::default(),
            line: text.into(),
        };
        let lines = [
            line(61 * SECOND_NS, "level=error a"),
            line(119 * SECOND_NS, "level=error b"),
            line(120 * SECOND_NS, "level=info c"),
            line(-1, "level=info d"),
        ];
        let volume = Volume::of_lines(&lines, 60 * SECOND_NS, 5);
        let bars: Vec<(i64, Level, u64)> = (volume.bars.iter())
            .map(|b| (b.at_ns / SECOND_NS, b.level, b.count))
            .collect();
        assert_eq!(
            bars,
            [
                (-60, Level::Info, 1),
                (60, Level::Error, 2),
                (120, Level::Info, 1)
            ]
        );
        assert!(!volume.complete, "5 matched, 4 counted");
        assert_eq!(volume.total(), 4);
    }
}
