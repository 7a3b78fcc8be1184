//! Vector and matrix selectors: which series match, and which of their samples a selector sees.

use super::{unsupported, Ctx, EvalResult, RangeSeries, Sample, StoredSeries};
use promql_parser::parser::{MatrixSelector, VectorSelector};

/// How far back an instant selector looks for a sample (Prometheus's default `lookback-delta`).
pub const LOOKBACK_MS: i64 = 5 * 60 * 1000;

/// Prometheus marks a series as ended with this particular NaN; it is never a value.
const STALE_NAN: u64 = 0x7ff0_0000_0000_0002;

fn is_stale(v: f64) -> bool {
    v.to_bits() == STALE_NAN
}

/// The stored series matching every matcher (regexes are anchored by the parser); a missing
/// label matches as the empty string, as in Prometheus.
pub fn select(series: &[StoredSeries], vs: &VectorSelector) -> EvalResult<Vec<usize>> {
    if !vs.matchers.or_matchers.is_empty() {
        return unsupported("`or` inside a label matcher list");
    }
    Ok(series
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            let get = |name: &str| s.labels.get(name).map_or("", String::as_str);
            vs.name.as_ref().is_none_or(|n| get("__name__") == n)
                && vs
                    .matchers
                    .matchers
                    .iter()
                    .all(|m| m.is_match(get(&m.name)))
        })
        .map(|(i, _)| i)
        .collect())
}

/// An instant selector at `ts`: each series' latest sample at or before the reference time and
/// no older than the lookback delta (in 2.x the window includes its left edge).
pub fn instant(ctx: &Ctx, vs: &VectorSelector, ts: i64) -> EvalResult<Vec<Sample>> {
    let at = ctx.ref_time(ts, &vs.at, &vs.offset);
    let mut out = Vec::new();
    for &i in ctx.matching(vs)?.iter() {
        let s = &ctx.series[i];
        let n = s.times.partition_point(|&t| t <= at);
        if n == 0 {
            continue;
        }
        let (t, v) = (s.times[n - 1], s.values[n - 1]);
        if t < at - LOOKBACK_MS || is_stale(v) {
            continue;
        }
        out.push(Sample {
            labels: s.labels.clone(),
            t,
            v,
        });
    }
    Ok(out)
}

/// A range selector at `ts`: every sample in `[ref - range, ref]` (both edges included in 2.x),
/// series without any left out. Also returns the window, which rate() extrapolates to.
pub fn range(ctx: &Ctx, ms: &MatrixSelector, ts: i64) -> EvalResult<(Vec<RangeSeries>, i64, i64)> {
    let end = ctx.ref_time(ts, &ms.vs.at, &ms.vs.offset);
    let start = end - ms.range.as_millis() as i64;
    let mut out = Vec::new();
    for &i in ctx.matching(&ms.vs)?.iter() {
        let s = &ctx.series[i];
        let from = s.times.partition_point(|&t| t < start);
        let to = s.times.partition_point(|&t| t <= end);
        let points: Vec<(i64, f64)> = (from..to)
            .map(|j| (s.times[j], s.values[j]))
            .filter(|&(_, v)| !is_stale(v))
            .collect();
        if !points.is_empty() {
            out.push(RangeSeries {
                labels: s.labels.clone(),
                points,
            });
        }
    }
    Ok((out, start, end))
}
