//! What every node of an evaluation shares: the data, the query's bounds, and what is worth
//! computing once per query rather than at every step.

use super::label_set::LabelSet;
use super::value::{execution, unsupported, EvalError, EvalResult, Sample, Value};
use crate::ops::file_source::series::StoredSeries;
use crate::ops::file_source::Stop;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};
use rustc_hash::FxHashMap;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};

/// The data, the query's bounds (for `@ start()` and `@ end()`, which keep meaning the query's
/// bounds inside subqueries), the series each selector matched and where its last window lay in
/// each (so a range query matches labels once, not at every step, and finds the next window by
/// moving on from the last), the label sets derived from others (see `derive`), and each
/// subquery's inner results by time (so successive steps, whose windows overlap, evaluate each
/// inner step once, as Prometheus does).
pub struct Ctx<'a> {
    pub series: &'a [StoredSeries],
    pub start: i64,
    pub end: i64,
    selected: RefCell<HashMap<*const VectorSelector, Selected>>,
    derived: RefCell<FxHashMap<Derivation, LabelSet>>,
    pub subqueries: RefCell<HashMap<*const SubqueryExpr, InnerSteps>>,
    /// How many subqueries enclose the node being evaluated: the time Prometheus evaluates a
    /// step-invariant node at is the query's start only outside them.
    pub subquery_depth: Cell<usize>,
    /// Samples taken so far, against Prometheus's per-query limit.
    taken: Cell<usize>,
    stop: &'a Stop,
}

/// Prometheus's default `--query.max-samples`: what one query may load, so that no expression
/// (a subquery of a year at a millisecond step, say) runs without end.
const MAX_SAMPLES: usize = 50_000_000;

/// The stored series a selector matched, by index, each with the bounds `[from, to)` of the
/// samples in the window last read from it.
struct Selected {
    series: Vec<usize>,
    windows: Vec<(usize, usize)>,
}

/// What a label set was derived by: the node (by address) and which of its derivations
/// (`role`), from which label sets.
#[derive(PartialEq, Eq, Hash)]
struct Derivation {
    node: usize,
    role: u8,
    from: LabelSet,
    other: Option<LabelSet>,
}

/// A subquery's inner results: each step's values by the time of the step, each value with the
/// slot of its label set in `labels`, which holds every label set the inner expression gave in
/// this query. A step's window is then assembled without hashing a label set.
#[derive(Default)]
pub struct InnerSteps {
    pub steps: BTreeMap<i64, Vec<(usize, f64)>>,
    pub labels: Vec<LabelSet>,
    pub slots: FxHashMap<LabelSet, usize>,
}

impl<'a> Ctx<'a> {
    pub fn new(series: &'a [StoredSeries], start: i64, end: i64, stop: &'a Stop) -> Ctx<'a> {
        Ctx {
            series,
            start,
            end,
            selected: RefCell::new(HashMap::new()),
            derived: RefCell::new(FxHashMap::default()),
            subqueries: RefCell::new(HashMap::new()),
            subquery_depth: Cell::new(0),
            taken: Cell::new(0),
            stop,
        }
    }

    /// Counts `samples` the query keeps until it ends (a range query's points, a subquery's)
    /// against Prometheus's limit, which bounds what it holds as Prometheus's does; and ends the
    /// evaluation if the caller stopped waiting. Called at every step, which bounds the work
    /// between two checks.
    pub fn keep(&self, samples: usize) -> EvalResult<()> {
        self.taken.set(self.look(samples)?);
        Ok(())
    }

    /// Checks `samples` read for one step only (a range selector's), which are dropped after
    /// it, against what is left of the limit; the samples held after it, if it fits.
    pub fn look(&self, samples: usize) -> EvalResult<usize> {
        let held = self.taken.get().saturating_add(samples);
        if held > MAX_SAMPLES {
            return execution(
                "query processing would load too many samples into memory in query execution",
            );
        }
        if self.stop.is_stopped() {
            return Err(EvalError::Stopped);
        }
        Ok(held)
    }

    /// Calls `each` with every stored series `vs` matches (matched once per query) and the
    /// bounds `[from, to)` of its samples in `[start, end]`. The bounds are found by moving on
    /// from where the last call's lay, as steps move the window forward; a window that moved
    /// back, or far, is found by binary search.
    pub fn windows(
        &self,
        vs: &VectorSelector,
        start: i64,
        end: i64,
        mut each: impl FnMut(&StoredSeries, usize, usize) -> EvalResult<()>,
    ) -> EvalResult<()> {
        let mut selected = self.selected.borrow_mut();
        let found = match selected.entry(vs as *const VectorSelector) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let series = select(self.series, vs)?;
                let windows = vec![(0, 0); series.len()];
                e.insert(Selected { series, windows })
            }
        };
        for (&i, window) in found.series.iter().zip(found.windows.iter_mut()) {
            let s = &self.series[i];
            let from = seek(&s.samples, window.0, |t| t < start);
            let to = seek(&s.samples, window.1, |t| t <= end);
            *window = (from, to);
            each(s, from, to.max(from))?;
        }
        Ok(())
    }

    /// The label set node `node` derives (its `role`-th derivation) from `from` and `other`,
    /// made by `make` once per query: an aggregation's groups, a binary operator's match keys
    /// and results are the same at every step.
    pub fn derive<T>(
        &self,
        node: &T,
        role: u8,
        from: &LabelSet,
        other: Option<&LabelSet>,
        make: impl FnOnce() -> LabelSet,
    ) -> LabelSet {
        let key = Derivation {
            node: node as *const T as usize,
            role,
            from: from.clone(),
            other: other.cloned(),
        };
        if let Some(found) = self.derived.borrow().get(&key) {
            return found.clone();
        }
        let made = make();
        self.derived.borrow_mut().insert(key, made.clone());
        made
    }

    /// The time a selector or subquery reads at: the `@` time or the evaluation time, moved
    /// back by `offset`.
    pub fn ref_time(&self, ts: i64, at: &Option<AtModifier>, offset: &Option<Offset>) -> i64 {
        let base = match at {
            None => ts,
            Some(AtModifier::Start) => self.start,
            Some(AtModifier::End) => self.end,
            Some(AtModifier::At(t)) => match t.duration_since(std::time::UNIX_EPOCH) {
                Ok(d) => millis(&d),
                Err(e) => -millis(&e.duration()),
            },
        };
        match offset {
            None => base,
            Some(Offset::Pos(d)) => base.saturating_sub(millis(d)),
            Some(Offset::Neg(d)) => base.saturating_add(millis(d)),
        }
    }

    /// An argument that must be a scalar.
    pub fn scalar(&self, e: &Expr, ts: i64) -> EvalResult<f64> {
        match self.eval(e, ts)? {
            Value::Scalar(v) => Ok(v),
            _ => execution("expected a scalar argument"),
        }
    }

    /// An argument that must be an instant vector.
    pub fn vector(&self, e: &Expr, ts: i64) -> EvalResult<Vec<Sample>> {
        match self.eval(e, ts)? {
            Value::Vector(v) => Ok(v),
            _ => execution("expected an instant vector argument"),
        }
    }
}

/// A duration of the expression in milliseconds; one beyond what a time can hold saturates, so
/// that the times computed from it stay in order instead of wrapping.
pub fn millis(d: &std::time::Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The first index of `samples` (sorted by time) whose time `before` no longer holds, searched
/// from `hint`: a few steps forward, else by binary search.
fn seek(samples: &[(i64, f64)], hint: usize, before: impl Fn(i64) -> bool) -> usize {
    const WALK: usize = 8;
    let hint = hint.min(samples.len());
    if hint > 0 && !before(samples[hint - 1].0) {
        return samples[..hint].partition_point(|s| before(s.0));
    }
    let walked = samples[hint..]
        .iter()
        .take(WALK)
        .take_while(|s| before(s.0))
        .count();
    if walked < WALK {
        return hint + walked;
    }
    let rest = hint + WALK;
    rest + samples[rest..].partition_point(|s| before(s.0))
}

/// The stored series matching every matcher (regexes are anchored by the parser); a missing
/// label matches as the empty string, as in Prometheus.
fn select(series: &[StoredSeries], vs: &VectorSelector) -> EvalResult<Vec<usize>> {
    if !vs.matchers.or_matchers.is_empty() {
        return unsupported("`or` inside a label matcher list");
    }
    Ok(series
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            let get = |name: &str| s.labels.get(name).unwrap_or("");
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
