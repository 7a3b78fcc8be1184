//! What a query's chart draws, decided once for both drawings (the Vega-Lite spec and the SVG),
//! so that they show the same lines in the same colours.

use super::downsample::{self, Runs};
use super::summary::Summary;
use crate::ops::metrics::{Range, Series};

/// More lines than this make a legend nobody reads and a chart nobody can tell apart; the table
/// lists every series.
pub const MAX_LINES: usize = 10;

/// Points a line keeps: more than a chart's width in pixels shows nothing more.
pub const POINTS_PER_LINE: usize = 400;

/// Tableau 10, Vega's default category scheme: distinct and colour-blind aware.
pub const PALETTE: [&str; MAX_LINES] = [
    "#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2", "#ff9da6",
    "#9d755d", "#bab0ac",
];

pub struct Line<'a> {
    pub name: &'a str,
    /// Index into [`PALETTE`]; a series and its baseline share it.
    pub color: usize,
    pub baseline: bool,
    pub runs: Runs,
}

pub struct Chart<'a> {
    pub expr: &'a str,
    pub range: &'a Range,
    pub lines: Vec<Line<'a>>,
    /// Series of the result not drawn, beyond [`MAX_LINES`].
    pub not_drawn: usize,
    /// Whether some line lost points to thinning.
    pub thinned: bool,
    /// The dashed lines' legend entry, as "baseline -7d".
    pub baseline: Option<&'a str>,
}

/// What the chart is drawn from: the result's series in rank order, each with its name, and the
/// baseline series with the same labels where there is one.
pub struct Drawn<'a> {
    pub series: &'a Series,
    pub name: &'a str,
    pub baseline: Option<&'a Series>,
}

impl<'a> Chart<'a> {
    pub fn new(
        expr: &'a str,
        range: &'a Range,
        ranked: impl ExactSizeIterator<Item = Drawn<'a>>,
        baseline: Option<&'a str>,
    ) -> Chart<'a> {
        let not_drawn = ranked.len().saturating_sub(MAX_LINES);
        let mut lines = Vec::new();
        let mut thinned = false;
        let mut line = |name, color, baseline, series: &Series| {
            let runs = downsample::for_chart(&series.points, POINTS_PER_LINE);
            let finite = series.points.iter().filter(|p| p.1.is_finite()).count();
            thinned |= runs.iter().map(Vec::len).sum::<usize>() < finite;
            Line {
                name,
                color,
                baseline,
                runs,
            }
        };
        for (color, drawn) in ranked.take(MAX_LINES).enumerate() {
            lines.push(line(drawn.name, color, false, drawn.series));
            if let Some(before) = drawn.baseline {
                lines.push(line(drawn.name, color, true, before));
            }
        }
        Chart {
            expr,
            range,
            lines,
            not_drawn,
            thinned,
            baseline,
        }
    }

    /// The time axis: the window, widened to any point that falls outside it.
    pub fn time_domain(&self) -> (f64, f64) {
        self.points()
            .fold((self.range.start, self.range.end), |(lo, hi), &(t, _)| {
                (lo.min(t), hi.max(t))
            })
    }

    /// The value axis, over every point drawn (baselines too); none when no line has a point.
    pub fn value_axis(&self) -> Option<ValueAxis> {
        let extent = self.points().fold(None, |extent, &(_, v)| match extent {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        });
        extent.map(|(lo, hi)| ValueAxis::around(lo, hi))
    }

    fn points(&self) -> impl Iterator<Item = &(f64, f64)> {
        self.lines.iter().flat_map(|l| l.runs.iter().flatten())
    }

    /// The lines under the chart's title: what was left out or thinned, so nobody mistakes
    /// the chart for the whole result.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.not_drawn > 0 {
            notes.push(format!(
                "+{} more series not drawn (the {MAX_LINES} highest by max are); the table lists all",
                self.not_drawn
            ));
        }
        if self.thinned {
            notes.push(format!(
                "lines thinned to at most {POINTS_PER_LINE} points each (LTTB); the table's figures are exact"
            ));
        }
        notes
    }
}

/// The value axis both drawings share. Its ends are set here rather than left to a renderer's
/// rounding, which may stop short of a peak and cut the top of a line off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValueAxis {
    pub lo: f64,
    pub hi: f64,
    pub step: f64,
}

impl ValueAxis {
    /// About five ticks at round numbers (1, 2 or 5 times a power of ten), with ends at ticks
    /// that hold `lo..=hi` and some room beyond, as a line on the plot's edge loses half its
    /// width to clipping; values from zero up keep zero as the bottom. A flat line gets room
    /// around it. Where `f64` cannot place such ticks (values far beyond their spread), the axis
    /// is the values' own extent.
    pub fn around(lo: f64, hi: f64) -> ValueAxis {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() / 10.0 };
            (lo - pad, hi + pad)
        };
        let exact = ValueAxis {
            lo,
            hi,
            step: hi - lo,
        };
        let raw = (hi - lo) / 5.0;
        let magnitude = 10f64.powf(raw.log10().floor());
        let step = match raw / magnitude {
            r if r <= 1.0 => 1.0,
            r if r <= 2.0 => 2.0,
            r if r <= 5.0 => 5.0,
            _ => 10.0,
        } * magnitude;
        if !step.is_finite() || step <= 0.0 {
            return exact;
        }
        let tick = |n: f64| on_step(n * step, step);
        let room = (hi - lo) / 50.0;
        let floor = if lo >= 0.0 {
            (lo - room).max(0.0)
        } else {
            lo - room
        };
        // Division and rounding may land a tick a hair inside the values: one more step out.
        let mut bottom = (floor / step).floor();
        if tick(bottom) > lo {
            bottom -= 1.0;
        }
        let mut top = ((hi + room) / step).ceil();
        if tick(top) < hi {
            top += 1.0;
        }
        let (bottom, top) = (tick(bottom), tick(top));
        if bottom <= lo && top >= hi && top > bottom {
            ValueAxis {
                lo: bottom,
                hi: top,
                step,
            }
        } else {
            exact
        }
    }

    /// The ticks, ends included; at most a dozen: a domain too wide for `f64` steps gets only
    /// its ends.
    pub fn ticks(&self) -> Vec<f64> {
        let count = ((self.hi - self.lo) / self.step).round();
        if !(1.0..=12.0).contains(&count) {
            return vec![self.lo, self.hi];
        }
        let first = (self.lo / self.step).round();
        (0..=count as usize)
            .map(|i| on_step((first + i as f64) * self.step, self.step))
            .collect()
    }
}

/// `v` with no more decimals than `step` has, so that a tick reads 0.3, not 0.30000000000000004,
/// in the Vega-Lite spec's JSON.
fn on_step(v: f64, step: f64) -> f64 {
    let decimals = -step.log10().floor();
    if (1.0..=15.0).contains(&decimals) {
        let scale = 10f64.powf(decimals);
        (v * scale).round() / scale + 0.0
    } else {
        v + 0.0
    }
}

/// Ranks series for the chart and the table: highest max first, in result order among equals.
pub fn rank(summaries: &[Summary]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..summaries.len()).collect();
    order.sort_by(|&a, &b| summaries[b].rank_key().total_cmp(&summaries[a].rank_key()));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(max: f64, n: usize) -> Series {
        Series {
            labels: Default::default(),
            points: (0..n)
                .map(|i| (i as f64, max * (i + 1) as f64 / n as f64))
                .collect(),
        }
    }

    #[test]
    fn ranks_by_max_with_series_without_figures_last() {
        let summaries: Vec<Summary> = [3.0, f64::NAN, 9.0, 1.0, 9.0]
            .iter()
            .map(|&m| Summary::of(&series(m, 5).points))
            .collect();
        assert_eq!(rank(&summaries), [2, 4, 0, 3, 1]);
    }

    #[test]
    fn draws_the_top_lines_and_counts_the_rest() {
        let all: Vec<Series> = (0..25).map(|i| series(i as f64, 1000)).collect();
        let summaries: Vec<Summary> = all.iter().map(|s| Summary::of(&s.points)).collect();
        let names: Vec<String> = (0..25).map(|i| format!("s{i}")).collect();
        let range = Range {
            start: 0.0,
            end: 999.0,
            step: 1.0,
        };
        let ranked = rank(&summaries).into_iter().map(|i| Drawn {
            series: &all[i],
            name: &names[i],
            baseline: None,
        });
        let chart = Chart::new("x", &range, ranked.collect::<Vec<_>>().into_iter(), None);
        let drawn: Vec<&str> = chart.lines.iter().map(|l| l.name).collect();
        assert_eq!(
            drawn,
            ["s24", "s23", "s22", "s21", "s20", "s19", "s18", "s17", "s16", "s15"]
        );
        assert_eq!(chart.not_drawn, 15);
        assert!(chart.thinned);
        assert!(chart
            .lines
            .iter()
            .all(|l| l.runs[0].len() == POINTS_PER_LINE));
        assert!(chart.notes()[0].starts_with("+15 more series not drawn"));
    }

    #[test]
    fn value_axes_have_round_ticks_and_hold_the_peak() {
        let axis = |lo, hi| {
            let a = ValueAxis::around(lo, hi);
            (a.lo, a.hi, a.step)
        };
        assert_eq!(axis(0.3, 9.7), (0.0, 10.0, 2.0));
        assert_eq!(axis(0.25, 5.5), (0.0, 6.0, 2.0));
        assert_eq!(axis(0.005, 0.12), (0.0, 0.15, 0.05));
        assert_eq!(axis(-3.0, 1200.0), (-500.0, 1500.0, 500.0));
        assert_eq!(
            axis(41.0, 43.0),
            (40.5, 43.5, 0.5),
            "a line at a round peak is not drawn on the edge"
        );
        assert_eq!(axis(0.0, 4.0), (0.0, 5.0, 1.0), "zero stays the bottom");
        let (lo, hi, step) = axis(5.0, 5.0);
        assert!(
            lo < 5.0 && hi > 5.0 && (step - 0.2).abs() < 1e-12,
            "{lo} {hi} {step}"
        );
        assert_eq!(
            ValueAxis::around(0.3, 9.7).ticks(),
            [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            ValueAxis::around(0.01, 0.29).ticks(),
            [0.0, 0.1, 0.2, 0.3],
            "ticks read as written, not 0.30000000000000004"
        );
    }

    /// Lines of random values at random scales and offsets, each with a dashed baseline that
    /// may run above or below it: the axis holds every point drawn, at round ticks.
    #[test]
    fn random_lines_and_baselines_fit_between_round_ticks() {
        let mut rng = fastrand::Rng::with_seed(15);
        let range = Range {
            start: 0.0,
            end: 600.0,
            step: 60.0,
        };
        for _ in 0..500 {
            let scale = 10f64.powi(rng.i32(-6..=9));
            let offset = if rng.bool() {
                0.0
            } else {
                scale * rng.i32(-50..=50) as f64
            };
            let mut random = |n: usize| Series {
                labels: Default::default(),
                points: (0..n)
                    .map(|i| (60.0 * i as f64, offset + scale * (rng.f64() * 20.0 - 5.0)))
                    .collect(),
            };
            let nows: Vec<Series> = (0..3).map(|_| random(11)).collect();
            let befores: Vec<Series> = (0..3).map(|_| random(11)).collect();
            let names = ["a", "b", "c"];
            let drawn = (0..3).map(|i| Drawn {
                series: &nows[i],
                name: names[i],
                baseline: Some(&befores[i]),
            });
            let chart = Chart::new("x", &range, drawn, Some("baseline -7d"));
            let axis = chart.value_axis().unwrap();
            for v in nows
                .iter()
                .chain(&befores)
                .flat_map(|s| s.points.iter().map(|p| p.1))
            {
                assert!(axis.lo <= v && v <= axis.hi, "{v} outside {axis:?}");
            }
            let mantissa = axis.step / 10f64.powf(axis.step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .any(|m| (mantissa - m).abs() < 1e-9),
                "{axis:?}"
            );
            let ticks = axis.ticks();
            assert!((3..=12).contains(&ticks.len()), "{ticks:?}");
            assert_eq!((ticks[0], ticks[ticks.len() - 1]), (axis.lo, axis.hi));
            for t in ticks {
                let n = t / axis.step;
                assert!((n - n.round()).abs() < 1e-6, "{t} is off {axis:?}");
            }
        }
    }
}
