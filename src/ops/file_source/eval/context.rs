//! What every node of an evaluation shares: the data, the query's bounds, and what is worth
//! computing once per query rather than at every step.

use super::value::{execution, unsupported, EvalError, EvalResult, Sample, Value};
use crate::ops::file_source::series::StoredSeries;
use crate::ops::file_source::Stop;
use promql_parser::parser::{AtModifier, Expr, Offset, SubqueryExpr, VectorSelector};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// The data, the query's bounds (for `@ start()` and `@ end()`, which keep meaning the query's
/// bounds inside subqueries), the series each selector matched (so a range query matches
/// labels once, not at every step), and each subquery's inner results by time (so successive
/// steps, whose windows overlap, evaluate each inner step once, as Prometheus does).
pub struct Ctx<'a> {
    pub series: &'a [StoredSeries],
    pub start: i64,
    pub end: i64,
    matched: RefCell<HashMap<*const VectorSelector, Rc<Vec<usize>>>>,
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

/// A subquery's inner results, by the time of the step.
pub type InnerSteps = BTreeMap<i64, Rc<Vec<Sample>>>;

impl<'a> Ctx<'a> {
    pub fn new(series: &'a [StoredSeries], start: i64, end: i64, stop: &'a Stop) -> Ctx<'a> {
        Ctx {
            series,
            start,
            end,
            matched: RefCell::new(HashMap::new()),
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

    /// The indices of the stored series a selector matches, computed once per query.
    pub fn matching(&self, vs: &VectorSelector) -> EvalResult<Rc<Vec<usize>>> {
        let key = vs as *const VectorSelector;
        if let Some(found) = self.matched.borrow().get(&key) {
            return Ok(found.clone());
        }
        let found = Rc::new(select(self.series, vs)?);
        self.matched.borrow_mut().insert(key, found.clone());
        Ok(found)
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
