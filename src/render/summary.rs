//! The figures of one series over the window, always from every raw point: the chart may show a
//! thinned line, the figures never come from it.

/// Min, avg and max are over finite values only: one NaN would make them all NaN, and an Inf
/// would hide every other value. `last` is the last sample as it is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub min: f64,
    pub avg: f64,
    pub max: f64,
    pub last: f64,
    pub samples: usize,
    /// Samples that are NaN or ±Inf, left out of min, avg and max.
    pub non_finite: usize,
}

impl Summary {
    pub fn of(points: &[(f64, f64)]) -> Summary {
        let (mut min, mut max, mut sum) = (f64::INFINITY, f64::NEG_INFINITY, 0.0);
        let mut finite = 0;
        for &(_, v) in points {
            if v.is_finite() {
                min = min.min(v);
                max = max.max(v);
                sum += v;
                finite += 1;
            }
        }
        if finite == 0 {
            (min, max) = (f64::NAN, f64::NAN);
        }
        Summary {
            min,
            avg: sum / finite as f64,
            max,
            last: points.last().map_or(f64::NAN, |&(_, v)| v),
            samples: points.len(),
            non_finite: points.len() - finite,
        }
    }

    /// Whether min, avg and max mean anything: a series may hold only NaN.
    pub fn has_figures(&self) -> bool {
        self.samples > self.non_finite
    }

    /// Where series rank for the chart: by max, the ones without figures last.
    pub fn rank_key(&self) -> f64 {
        if self.has_figures() {
            self.max
        } else {
            f64::NEG_INFINITY
        }
    }
}

/// How a series' average moved against its baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// The baseline has no series with the same labels.
    Unmatched,
    /// One side has no finite value to average.
    Unknown,
    /// The baseline averaged zero: no ratio, only whether it rose.
    FromZero {
        now: f64,
    },
    Percent(f64),
}

impl Change {
    pub fn between(now: &Summary, baseline: Option<&Summary>) -> Change {
        let Some(before) = baseline else {
            return Change::Unmatched;
        };
        if !now.has_figures() || !before.has_figures() {
            Change::Unknown
        } else if before.avg == 0.0 {
            Change::FromZero { now: now.avg }
        } else {
            Change::Percent((now.avg - before.avg) / before.avg.abs() * 100.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[f64]) -> Vec<(f64, f64)> {
        values
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as f64, v))
            .collect()
    }

    #[test]
    fn figures_skip_non_finite_values_and_count_them() {
        let s = Summary::of(&points(&[2.0, f64::NAN, 6.0, f64::INFINITY, 1.0, f64::NAN]));
        assert_eq!((s.min, s.avg, s.max), (1.0, 3.0, 6.0));
        assert!(s.last.is_nan());
        assert_eq!((s.samples, s.non_finite), (6, 3));
    }

    #[test]
    fn a_series_of_only_nan_has_no_figures_and_ranks_last() {
        let s = Summary::of(&points(&[f64::NAN, f64::NEG_INFINITY]));
        assert!(!s.has_figures());
        assert!(s.min.is_nan() && s.avg.is_nan() && s.max.is_nan());
        assert_eq!(s.rank_key(), f64::NEG_INFINITY);
        assert_eq!(s.last, f64::NEG_INFINITY);
    }

    #[test]
    fn change_is_signed_against_the_baseline_average() {
        let now = Summary::of(&points(&[3.0, 3.5]));
        let before = Summary::of(&points(&[1.0, 1.0]));
        assert_eq!(Change::between(&now, Some(&before)), Change::Percent(225.0));
        assert_eq!(
            Change::between(&before, Some(&now)),
            Change::Percent(-100.0 * 2.25 / 3.25)
        );
        let zero = Summary::of(&points(&[0.0]));
        assert_eq!(
            Change::between(&now, Some(&zero)),
            Change::FromZero { now: 3.25 }
        );
        assert_eq!(Change::between(&now, None), Change::Unmatched);
        let nan = Summary::of(&points(&[f64::NAN]));
        assert_eq!(Change::between(&now, Some(&nan)), Change::Unknown);
    }
}
