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
    /// Why the bars given are not drawn, said in place of the chart (a journal's volume that is
    /// not valid); made by the reader, never read or written.
    #[serde(skip)]
    pub not_drawn: Option<String>,
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

    /// Saturating, so that it is never smaller than a bar; [`Volume::checked`] refuses a
    /// volume whose counts add up past `u64::MAX`.
    pub fn total(&self) -> u64 {
        (self.bars.iter()).fold(0, |total, b| total.saturating_add(b.count))
    }

    /// No bars, and why: the chart's place says it.
    pub fn not_drawn(why: String) -> Volume {
        Volume {
            step_ns: 0,
            bars: Vec::new(),
            complete: false,
            not_drawn: Some(why),
        }
    }

    /// The volume as a chart of [start_ns, end_ns] may draw it, whoever gave it (a server, a
    /// journal): bars outside the window dropped, the rest counted again at the usual step
    /// when theirs is finer (at most about [`MOST_BARS`] bars then, however many were given);
    /// or why it cannot be drawn: a step not above zero, counts that add up past `u64::MAX`.
    pub fn checked(self, start_ns: i64, end_ns: i64) -> Result<Volume, String> {
        if self.step_ns <= 0 {
            return Err(format!("its step is {} ns, not above zero", self.step_ns));
        }
        let within =
            |bar: &&Bar| bar.at_ns <= end_ns && bar.at_ns.saturating_add(self.step_ns) > start_ns;
        let mut counter = Counter::new(self.step_ns.max(Volume::step_for(start_ns, end_ns)));
        for bar in self.bars.iter().filter(within) {
            counter.add_count(bar.at_ns, bar.level, bar.count);
        }
        if counter.total.is_none() {
            return Err(format!("its counts add up to more than {} lines", u64::MAX));
        }
        Ok(counter.finish(self.complete))
    }
}

/// Counts lines into bars as they are matched.
pub struct Counter {
    step_ns: i64,
    counts: BTreeMap<(i64, Level), u64>,
    /// Every count added, `None` once past `u64::MAX`: no bar can be, while it is not.
    total: Option<u64>,
}

impl Counter {
    pub fn new(step_ns: i64) -> Counter {
        Counter {
            step_ns: step_ns.max(1),
            counts: BTreeMap::new(),
            total: Some(0),
        }
    }

    /// Bars start at whole multiples of the step since the epoch, as VictoriaLogs's `hits`;
    /// saturating, as a journal's step and times may be anything.
    pub fn bar_start(&self, at_ns: i64) -> i64 {
        at_ns.div_euclid(self.step_ns).saturating_mul(self.step_ns)
    }

    pub fn add(&mut self, at_ns: i64, level: Level) {
        self.add_count(at_ns, level, 1);
    }

    /// Saturating, without a panic whatever the counts: [`Volume::checked`] refuses a sum that
    /// went past `u64::MAX`.
    pub fn add_count(&mut self, at_ns: i64, level: Level, count: u64) {
        self.total = self.total.and_then(|total| total.checked_add(count));
        let bar = (self.counts)
            .entry((self.bar_start(at_ns), level))
            .or_default();
        *bar = bar.saturating_add(count);
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
            not_drawn: None,
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

    const MINUTE: i64 = 60 * SECOND_NS;

    fn bars(step_ns: i64, bars: &[(i64, u64)]) -> Volume {
        Volume {
            step_ns,
            bars: (bars.iter())
                .map(|&(at_ns, count)| Bar {
                    at_ns,
                    level: Level::Error,
                    count,
                })
                .collect(),
            complete: true,
            not_drawn: None,
        }
    }

    fn counts(volume: &Volume) -> Vec<(i64, u64)> {
        volume.bars.iter().map(|b| (b.at_ns, b.count)).collect()
    }

    #[test]
    fn counts_past_u64_max_are_refused_and_never_wrap() {
        let huge = bars(MINUTE, &[(0, u64::MAX), (MINUTE, u64::MAX)]);
        assert_eq!(huge.total(), u64::MAX, "never smaller than a bar");
        let refused = huge.checked(0, 60 * MINUTE).unwrap_err();
        assert!(
            refused.contains("add up to more than 18446744073709551615"),
            "{refused}"
        );
        // In one bar, as a server's hits of the same step may come: no panic, refused too.
        let one_bar = bars(MINUTE, &[(0, 1 << 63), (0, 1 << 63)]);
        assert!(one_bar.checked(0, 60 * MINUTE).is_err());
        // Times and steps at the ends of i64: no overflow either.
        let mut counter = Counter::new(i64::MAX);
        counter.add_count(i64::MIN, Level::Error, 1);
        assert_eq!(counter.finish(true).bars[0].at_ns, i64::MIN);
        let just = bars(MINUTE, &[(0, u64::MAX - 1), (MINUTE, 1)]);
        assert_eq!(just.checked(0, 60 * MINUTE).unwrap().total(), u64::MAX);
    }

    #[test]
    fn a_step_not_above_zero_is_refused() {
        for step_ns in [0, -2 * MINUTE, i64::MIN] {
            let why = bars(step_ns, &[(0, 1)])
                .checked(0, 60 * MINUTE)
                .unwrap_err();
            assert!(why.contains("not above zero"), "{why}");
        }
    }

    #[test]
    fn too_many_bars_are_counted_again_at_the_usual_step() {
        let hour = 60 * MINUTE;
        // 20,000 bars of a nanosecond each, spread over the hour.
        let many: Vec<(i64, u64)> = (0..20_000).map(|n| (n * (hour / 20_000), 1)).collect();
        let checked = bars(1, &many).checked(0, hour).unwrap();
        assert_eq!(checked.step_ns, Volume::step_for(0, hour));
        assert!(
            checked.bars.len() as i64 <= MOST_BARS + 1,
            "{}",
            checked.bars.len()
        );
        assert_eq!(checked.total(), 20_000);
        // What a producer made is kept as it was: the usual step, whole bars in the window.
        let usual = Volume::of_lines(&[], MINUTE, 0);
        let made = bars(MINUTE, &[(0, 3), (59 * MINUTE, 4), (hour, 5)]);
        assert_eq!(made.clone().checked(0, hour), Ok(made));
        assert_eq!(usual.clone().checked(0, hour), Ok(usual));
    }

    #[test]
    fn bars_outside_the_window_are_dropped() {
        let (start, end) = (10 * MINUTE + SECOND_NS, 20 * MINUTE);
        let volume = bars(
            MINUTE,
            &[
                (-9_000_000_000 * SECOND_NS, 8),
                (9 * MINUTE, 64), // ends before the window
                (10 * MINUTE, 1), // begins before the window, and ends in it
                (15 * MINUTE, 2),
                (20 * MINUTE, 4), // the window's end is in it
                (21 * MINUTE, 16),
                (i64::MAX - 1, 32),
            ],
        );
        let checked = volume.checked(start, end).unwrap();
        assert_eq!(
            counts(&checked),
            [(10 * MINUTE, 1), (15 * MINUTE, 2), (20 * MINUTE, 4)]
        );
        assert_eq!(checked.total(), 7);
    }
}
