//! Thinning lines for the chart with largest-triangle-three-buckets (Steinarsson, 2013): it
//! keeps the points that shape a line, spikes included, where averaging or striding would flatten
//! or skip the one sample an incident is about.

/// A line as the chart draws it: runs of finite points; a NaN or ±Inf sample is a gap between
/// two runs, not a value.
pub type Runs = Vec<Vec<(f64, f64)>>;

/// Splits `points` at non-finite samples and thins the runs so that together they keep about
/// `budget` points, each run in proportion to its length.
pub fn for_chart(points: &[(f64, f64)], budget: usize) -> Runs {
    let runs: Runs = points
        .split(|&(t, v)| !(t.is_finite() && v.is_finite()))
        .filter(|run| !run.is_empty())
        .map(<[_]>::to_vec)
        .collect();
    let total: usize = runs.iter().map(Vec::len).sum();
    if total <= budget {
        return runs;
    }
    runs.into_iter()
        .map(|run| {
            let share = (run.len() * budget).div_ceil(total);
            lttb(&run, share)
        })
        .collect()
}

/// Keeps `threshold` of `data`'s points: the first, the last, and from each of the buckets
/// between them the point that makes the largest triangle with the point kept before it and the
/// average of the next bucket.
pub fn lttb(data: &[(f64, f64)], threshold: usize) -> Vec<(f64, f64)> {
    let n = data.len();
    if threshold >= n {
        return data.to_vec();
    }
    if threshold < 3 {
        return [data.first(), data.last()]
            .into_iter()
            .flatten()
            .copied()
            .collect();
    }
    let every = (n - 2) as f64 / (threshold - 2) as f64;
    let bucket_start = |i: usize| ((i as f64 * every) as usize + 1).min(n - 1);
    let mut kept = Vec::with_capacity(threshold);
    kept.push(data[0]);
    let mut a = 0;
    for i in 0..threshold - 2 {
        let (from, to) = (bucket_start(i), bucket_start(i + 1));
        let next = &data[to..bucket_start(i + 2).max(to + 1)];
        let (sum_t, sum_v) = next
            .iter()
            .fold((0.0, 0.0), |(st, sv), &(t, v)| (st + t, sv + v));
        let (avg_t, avg_v) = (sum_t / next.len() as f64, sum_v / next.len() as f64);
        let (at, av) = data[a];
        let mut best = (from, -1.0);
        for (j, &(t, v)) in data[from..to].iter().enumerate() {
            let area = ((at - avg_t) * (v - av) - (at - t) * (avg_v - av)).abs();
            if area > best.1 {
                best = (from + j, area);
            }
        }
        a = best.0;
        kept.push(data[a]);
    }
    kept.push(data[n - 1]);
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat_with_spike(n: usize, at: usize) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| (1.7e9 + 15.0 * i as f64, if i == at { 100.0 } else { 1.0 }))
            .collect()
    }

    #[test]
    fn keeps_first_and_last_and_the_spike() {
        let data = flat_with_spike(1000, 537);
        let kept = lttb(&data, 400);
        assert_eq!(kept.len(), 400);
        assert_eq!(kept.first(), data.first());
        assert_eq!(kept.last(), data.last());
        assert!(kept.contains(&data[537]));
        assert!(kept.windows(2).all(|w| w[0].0 < w[1].0), "time order");
    }

    #[test]
    fn keeps_a_spike_in_the_last_bucket() {
        let data = flat_with_spike(1000, 998);
        assert!(lttb(&data, 50).contains(&data[998]));
    }

    #[test]
    fn short_lines_are_kept_whole() {
        let data = flat_with_spike(10, 3);
        assert_eq!(lttb(&data, 400), data);
        assert_eq!(lttb(&data, 2), [data[0], data[9]]);
    }

    #[test]
    fn gaps_split_runs_and_the_budget_is_shared() {
        let mut data = flat_with_spike(1000, 100);
        data[500].1 = f64::NAN;
        data[501].1 = f64::INFINITY;
        let runs = for_chart(&data, 400);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0].first(), data.first());
        assert_eq!(runs[0].last(), Some(&data[499]));
        assert_eq!(runs[1].first(), Some(&data[502]));
        assert_eq!(runs[1].last(), data.last());
        let kept: usize = runs.iter().map(Vec::len).sum();
        assert!((398..=402).contains(&kept), "{kept}");
        assert!(runs[0].contains(&data[100]));
        assert!(runs.iter().flatten().all(|p| p.1.is_finite()));
    }

    #[test]
    fn nothing_is_thinned_within_the_budget() {
        let data = flat_with_spike(300, 1);
        assert_eq!(for_chart(&data, 400), [data]);
    }
}
