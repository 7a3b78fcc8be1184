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

    /// The lowest and highest value drawn, if any line has a point.
    pub fn value_extent(&self) -> Option<(f64, f64)> {
        self.points().fold(None, |extent, &(_, v)| match extent {
            None => Some((v, v)),
            Some((lo, hi)) => Some((v.min(lo), v.max(hi))),
        })
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
}
