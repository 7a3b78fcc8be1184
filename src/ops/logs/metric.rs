//! LogQL metric queries: the parsed expression (built by `metric_parse`) and its evaluation over
//! the loaded streams, step by step as Loki's `query_range` does.
//!
//! A range aggregation takes, at an evaluation time t, the lines with
//! t - offset - range < time <= t - offset (left-open, right-closed). Its samples are extracted
//! once for the whole query (one pass over the lines), then every step looks at its window.

use super::pipeline::{LabelFilter, LogQuery, ValueTest};
use super::store::Store;
use super::{Labels, LogError};
use crate::ops::file_source::Stop;
use crate::ops::metrics::{QueryResult, Sample, Series};
use std::borrow::Cow;
use std::cell::{Cell, OnceCell};
use std::collections::{BTreeMap, HashMap, HashSet};

/// As Prometheus: a range query of more points per series is refused.
const MAX_POINTS: i128 = 11_000;
/// How often (in items looked at) an evaluation checks whether it was stopped.
const STOP_CHECK_LINES: usize = 4096;
const ERROR_LABEL: &str = "__error__";
const EXTRACTION_ERROR: &str = "SampleExtractionErr";
const NANOS: i64 = 1_000_000_000;

pub enum Expr {
    Number(f64),
    Range(Box<RangeAgg>),
    Vector(Box<VectorAgg>),
    Binary(Box<Binary>),
}

impl Expr {
    /// Whether the expression is a number at every time (literals and arithmetic on them).
    pub fn is_scalar(&self) -> bool {
        match self {
            Expr::Number(_) => true,
            Expr::Binary(b) => b.left.is_scalar() && b.right.is_scalar(),
            Expr::Range(_) | Expr::Vector(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeFunc {
    Count,
    Rate,
    Bytes,
    BytesRate,
    Absent,
    Sum,
    Avg,
    Min,
    Max,
    First,
    Last,
    Stddev,
    Stdvar,
    Quantile,
}

impl RangeFunc {
    pub const ALL: [(&'static str, RangeFunc); 14] = [
        ("count_over_time", RangeFunc::Count),
        ("rate", RangeFunc::Rate),
        ("bytes_over_time", RangeFunc::Bytes),
        ("bytes_rate", RangeFunc::BytesRate),
        ("absent_over_time", RangeFunc::Absent),
        ("sum_over_time", RangeFunc::Sum),
        ("avg_over_time", RangeFunc::Avg),
        ("min_over_time", RangeFunc::Min),
        ("max_over_time", RangeFunc::Max),
        ("first_over_time", RangeFunc::First),
        ("last_over_time", RangeFunc::Last),
        ("stddev_over_time", RangeFunc::Stddev),
        ("stdvar_over_time", RangeFunc::Stdvar),
        ("quantile_over_time", RangeFunc::Quantile),
    ];

    /// Loki's rule: these count lines (or their bytes) and take no `| unwrap`.
    pub fn counts_lines(self) -> bool {
        matches!(
            self,
            RangeFunc::Count | RangeFunc::Bytes | RangeFunc::BytesRate
        )
    }

    /// Loki's rule: these aggregate unwrapped values and need `| unwrap`.
    pub fn needs_unwrap(self) -> bool {
        !matches!(
            self,
            RangeFunc::Count
                | RangeFunc::Bytes
                | RangeFunc::BytesRate
                | RangeFunc::Rate
                | RangeFunc::Absent
        )
    }
}

/// One series of a range aggregation's samples: its labels, (time, value) in time order.
pub type Extracted = (Labels, Vec<(i64, f64)>);

pub struct RangeAgg {
    pub func: RangeFunc,
    /// φ of `quantile_over_time`.
    pub quantile: f64,
    pub query: LogQuery,
    pub unwrap: Option<Unwrap>,
    pub range_ns: i64,
    pub offset_ns: i64,
    pub grouping: Option<Grouping>,
    /// Where the function's name is, for errors found while evaluating.
    pub at: (usize, usize),
    /// Extracted on first use: (labels, samples in time order), sorted by labels.
    pub samples: OnceCell<Vec<Extracted>>,
}

/// `| unwrap LABEL` and the label filters after it.
pub struct Unwrap {
    pub label: String,
    pub filters: Vec<LabelFilter>,
}

/// `by (...)` or `without (...)`.
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

impl Grouping {
    fn apply(&self, labels: &Labels) -> Labels {
        labels
            .iter()
            .filter(|(name, _)| self.labels.contains(name) != self.without)
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Count,
    Stddev,
    Stdvar,
    Topk,
    Bottomk,
}

impl VectorOp {
    pub const ALL: [(&'static str, VectorOp); 9] = [
        ("sum", VectorOp::Sum),
        ("avg", VectorOp::Avg),
        ("min", VectorOp::Min),
        ("max", VectorOp::Max),
        ("count", VectorOp::Count),
        ("stddev", VectorOp::Stddev),
        ("stdvar", VectorOp::Stdvar),
        ("topk", VectorOp::Topk),
        ("bottomk", VectorOp::Bottomk),
    ];
}

pub struct VectorAgg {
    pub op: VectorOp,
    /// k of topk and bottomk.
    pub k: usize,
    pub grouping: Option<Grouping>,
    pub inner: Expr,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    And,
    Or,
    Unless,
}

impl BinOp {
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le
        )
    }

    pub fn is_set(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }
}

pub struct Binary {
    pub op: BinOp,
    pub return_bool: bool,
    pub matching: Option<Matching>,
    pub left: Expr,
    pub right: Expr,
    /// Where the operator is, for errors found while evaluating.
    pub at: (usize, usize),
}

/// `on (...)` (`on` true) or `ignoring (...)`.
pub struct Matching {
    pub on: bool,
    pub labels: Vec<String>,
}

impl Matching {
    fn signature(matching: Option<&Matching>, labels: &Labels) -> Labels {
        match matching {
            None => labels.clone(),
            Some(m) => labels
                .iter()
                .filter(|(name, _)| m.labels.contains(name) == m.on)
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }
}

enum Value {
    Scalar(f64),
    Vector(Vec<(Labels, f64)>),
}

struct Evaluation<'a> {
    store: &'a Store,
    start: i64,
    end: i64,
    stop: &'a Stop,
    looked_at: Cell<usize>,
}

/// The expression at start, start + step, ... up to end: a matrix sorted by labels.
pub fn range(
    store: &Store,
    expr: &Expr,
    start: i64,
    end: i64,
    step: i64,
    stop: &Stop,
) -> Result<QueryResult, LogError> {
    if step <= 0 {
        return Err(LogError::Unsupported(
            "the step of a range query must be above zero".to_owned(),
        ));
    }
    if end < start {
        return Err(LogError::Unsupported(
            "the end of a range query must not be before its start".to_owned(),
        ));
    }
    let steps = (i128::from(end) - i128::from(start)) / i128::from(step);
    if steps > MAX_POINTS {
        return Err(LogError::Unsupported(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the \
             query resolution (a larger step)"
                .to_owned(),
        ));
    }
    let evaluation = Evaluation {
        store,
        start,
        end,
        stop,
        looked_at: Cell::new(0),
    };
    let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    let mut t = start;
    loop {
        evaluation.tick(1)?;
        match evaluation.at(expr, t)? {
            Value::Scalar(value) => series
                .entry(Labels::new())
                .or_default()
                .push((seconds(t), value)),
            Value::Vector(samples) => {
                unique(&samples)?;
                for (labels, value) in samples {
                    series.entry(labels).or_default().push((seconds(t), value));
                }
            }
        }
        match t.checked_add(step) {
            Some(next) if next <= end => t = next,
            _ => break,
        }
    }
    Ok(QueryResult::Matrix(
        series
            .into_iter()
            .map(|(labels, points)| Series { labels, points })
            .collect(),
    ))
}

/// The expression at one time: a vector sorted by labels, or a scalar.
pub fn instant(
    store: &Store,
    expr: &Expr,
    time: i64,
    stop: &Stop,
) -> Result<QueryResult, LogError> {
    let evaluation = Evaluation {
        store,
        start: time,
        end: time,
        stop,
        looked_at: Cell::new(0),
    };
    Ok(match evaluation.at(expr, time)? {
        Value::Scalar(value) => QueryResult::Scalar {
            time: seconds(time),
            value,
        },
        Value::Vector(mut samples) => {
            unique(&samples)?;
            samples.sort_by(|a, b| a.0.cmp(&b.0));
            QueryResult::Vector(
                samples
                    .into_iter()
                    .map(|(labels, value)| Sample {
                        labels,
                        time: seconds(time),
                        value,
                    })
                    .collect(),
            )
        }
    })
}

/// Nanoseconds to seconds, exact to the nanosecond as far as an f64 allows.
fn seconds(ns: i64) -> f64 {
    ns.div_euclid(NANOS) as f64 + ns.rem_euclid(NANOS) as f64 / 1e9
}

/// Prometheus' rule: a result cannot hold two series of one label set.
fn unique(samples: &[(Labels, f64)]) -> Result<(), LogError> {
    let mut seen = HashSet::new();
    for (labels, _) in samples {
        if !seen.insert(labels) {
            return Err(LogError::Unsupported(format!(
                "vector cannot contain metrics with the same labelset {}",
                show_labels(labels)
            )));
        }
    }
    Ok(())
}

/// Labels as Prometheus writes them: `{a="1", b="2"}`.
fn show_labels(labels: &Labels) -> String {
    let pairs: Vec<String> = labels
        .iter()
        .map(|(name, value)| format!("{name}={value:?}"))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

impl Evaluation<'_> {
    /// Counts work done, and checks every few thousand items whether the query was stopped.
    fn tick(&self, items: usize) -> Result<(), LogError> {
        let before = self.looked_at.get();
        let after = before.saturating_add(items);
        self.looked_at.set(after);
        if before / STOP_CHECK_LINES != after / STOP_CHECK_LINES && self.stop.is_stopped() {
            return Err(LogError::Stopped);
        }
        Ok(())
    }

    fn at(&self, expr: &Expr, t: i64) -> Result<Value, LogError> {
        match expr {
            Expr::Number(value) => Ok(Value::Scalar(*value)),
            Expr::Range(range) => self.range_agg(range, t).map(Value::Vector),
            Expr::Vector(agg) => match self.at(&agg.inner, t)? {
                Value::Vector(samples) => Ok(Value::Vector(aggregate(agg, samples))),
                // The parser lets no scalar into an aggregation.
                Value::Scalar(_) => Err(LogError::Unsupported(
                    "an aggregation of a number is not evaluated".to_owned(),
                )),
            },
            Expr::Binary(binary) => {
                let left = self.at(&binary.left, t)?;
                let right = self.at(&binary.right, t)?;
                combine(binary, left, right)
            }
        }
    }

    /// The samples of a range aggregation over the whole query's time, extracted once.
    fn samples<'r>(&self, agg: &'r RangeAgg) -> Result<&'r [Extracted], LogError> {
        if let Some(samples) = agg.samples.get() {
            return Ok(samples);
        }
        // Exclusive: the first window is left-open.
        let low = self
            .start
            .saturating_sub(agg.offset_ns)
            .saturating_sub(agg.range_ns);
        let high = self.end.saturating_sub(agg.offset_ns);
        let bytes = matches!(agg.func, RangeFunc::Bytes | RangeFunc::BytesRate);
        let interval = (low.saturating_add(1), high);
        // Fields, not the whole aggregation: its cell of samples is not for threads to share.
        let (query, unwrap, grouping) = (&agg.query, &agg.unwrap, &agg.grouping);
        let shares = self.store.scan(
            query,
            interval,
            self.stop,
            HashMap::new,
            |by_labels: &mut HashMap<Labels, Vec<(i64, f64)>>, found| {
                let Some(labels) = query.run(found.stream, found.text) else {
                    return Ok(());
                };
                let (labels, value) = match unwrap {
                    None if bytes => (labels, found.text.len() as f64),
                    None => (labels, 1.0),
                    Some(unwrap) => {
                        let mut labels = labels.into_owned();
                        // As Loki: a line without the label (or with it empty) gives no sample;
                        // one whose value is not a number is marked.
                        let text = labels.remove(&unwrap.label).unwrap_or_default();
                        if text.is_empty() {
                            return Ok(());
                        }
                        let value = text.parse::<f64>().unwrap_or_else(|_| {
                            labels.insert(ERROR_LABEL.to_owned(), EXTRACTION_ERROR.to_owned());
                            0.0
                        });
                        if !unwrap.filters.iter().all(|f| f.passes(&labels)) {
                            return Ok(());
                        }
                        (Cow::Owned(labels), value)
                    }
                };
                let labels = match grouping {
                    // An error survives the grouping, so that it is not lost (as in Loki).
                    Some(grouping) => {
                        let mut grouped = grouping.apply(&labels);
                        if let Some(error) = labels.get(ERROR_LABEL) {
                            grouped.insert(ERROR_LABEL.to_owned(), error.clone());
                        }
                        grouped
                    }
                    None => labels.into_owned(),
                };
                by_labels
                    .entry(labels)
                    .or_default()
                    .push((found.at_ns, value));
                Ok(())
            },
        )?;
        // In share order, which is the files' order.
        let mut by_labels: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
        for share in shares {
            for (labels, points) in share {
                by_labels.entry(labels).or_default().extend(points);
            }
        }
        let mut series: Vec<Extracted> = by_labels.into_iter().collect();
        for (_, points) in &mut series {
            // Stable: lines of one time keep their files' order.
            points.sort_by_key(|(at, _)| *at);
        }
        series.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(agg.samples.get_or_init(|| series))
    }

    fn range_agg(&self, agg: &RangeAgg, t: i64) -> Result<Vec<(Labels, f64)>, LogError> {
        let series = self.samples(agg)?;
        let high = t.saturating_sub(agg.offset_ns);
        let low = high.saturating_sub(agg.range_ns);
        let range_seconds = agg.range_ns as f64 / 1e9;
        let mut out = Vec::new();
        let mut any = false;
        for (labels, points) in series {
            let from = points.partition_point(|(at, _)| *at <= low);
            let to = points.partition_point(|(at, _)| *at <= high);
            let window = points.get(from..to).unwrap_or_default();
            self.tick(1 + window.len())?;
            if window.is_empty() {
                continue;
            }
            any = true;
            // As Loki: a series marked by a pipeline error fails the query (absent_over_time
            // too), unless a label filter drops its lines.
            if let Some(error) = labels.get(ERROR_LABEL) {
                return Err(LogError::Syntax {
                    message: format!(
                        "pipeline error: '{error}' for series: '{}'. Use a label filter to \
                         intentionally skip this error (e.g. `| __error__!=\"{error}\"`); to \
                         skip all potential errors, match empty errors (e.g. `| __error__=\"\"`), \
                         which can also follow `| unwrap`",
                        show_labels(labels)
                    ),
                    position: agg.at,
                });
            }
            if agg.func == RangeFunc::Absent {
                continue;
            }
            let values = window.iter().map(|(_, v)| *v);
            let value = match agg.func {
                RangeFunc::Count => window.len() as f64,
                RangeFunc::Bytes | RangeFunc::Sum => values.sum(),
                RangeFunc::Rate if agg.unwrap.is_none() => window.len() as f64 / range_seconds,
                RangeFunc::Rate | RangeFunc::BytesRate => values.sum::<f64>() / range_seconds,
                RangeFunc::Avg => values.sum::<f64>() / window.len() as f64,
                RangeFunc::Min => {
                    values.fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m })
                }
                RangeFunc::Max => {
                    values.fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m })
                }
                RangeFunc::First => window[0].1,
                RangeFunc::Last => window[window.len() - 1].1,
                RangeFunc::Stdvar => variance(values),
                RangeFunc::Stddev => variance(values).sqrt(),
                RangeFunc::Quantile => quantile(agg.quantile, values.collect()),
                RangeFunc::Absent => continue,
            };
            out.push((labels.clone(), value));
        }
        if agg.func == RangeFunc::Absent && !any {
            out.push((absent_labels(&agg.query), 1.0));
        }
        Ok(out)
    }
}

/// The labels `absent_over_time` answers with: those the selector sets with `=`; a name that
/// another matcher also tests is left out, as in Loki.
fn absent_labels(query: &LogQuery) -> Labels {
    let mut labels = Labels::new();
    let mut dropped = HashSet::new();
    for matcher in &query.selector {
        match &matcher.test {
            ValueTest::Equal(value) if !labels.contains_key(&matcher.name) => {
                labels.insert(matcher.name.clone(), value.clone());
            }
            _ => {
                dropped.insert(matcher.name.clone());
            }
        }
    }
    labels.retain(|name, _| !dropped.contains(name));
    labels
}

/// The population variance, as Prometheus' stdvar_over_time.
fn variance(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let count = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / count;
    values.map(|v| (v - mean) * (v - mean)).sum::<f64>() / count
}

/// Prometheus' quantile: linear interpolation between the closest ranks.
fn quantile(phi: f64, mut values: Vec<f64>) -> f64 {
    if values.is_empty() || phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let rank = phi * (values.len() - 1) as f64;
    let lower = rank.floor() as usize;
    let upper = (lower + 1).min(values.len() - 1);
    let weight = rank - rank.floor();
    values[lower] * (1.0 - weight) + values[upper] * weight
}

fn aggregate(agg: &VectorAgg, samples: Vec<(Labels, f64)>) -> Vec<(Labels, f64)> {
    let mut groups: BTreeMap<Labels, Vec<(Labels, f64)>> = BTreeMap::new();
    for (labels, value) in samples {
        let key = match &agg.grouping {
            Some(grouping) => grouping.apply(&labels),
            None => Labels::new(),
        };
        groups.entry(key).or_default().push((labels, value));
    }
    let mut out = Vec::new();
    for (key, mut members) in groups {
        let values = members.iter().map(|(_, v)| *v);
        let count = members.len() as f64;
        let value = match agg.op {
            VectorOp::Sum => values.sum(),
            VectorOp::Avg => values.sum::<f64>() / count,
            VectorOp::Count => count,
            VectorOp::Min => values.fold(f64::NAN, |m, v| if v < m || m.is_nan() { v } else { m }),
            VectorOp::Max => values.fold(f64::NAN, |m, v| if v > m || m.is_nan() { v } else { m }),
            VectorOp::Stdvar => variance(values),
            VectorOp::Stddev => variance(values).sqrt(),
            VectorOp::Topk | VectorOp::Bottomk => {
                let top = agg.op == VectorOp::Topk;
                // NaN last either way, as Prometheus keeps a NaN only when nothing else is left.
                members.sort_by(|a, b| match (a.1.is_nan(), b.1.is_nan()) {
                    (false, false) if top => b.1.total_cmp(&a.1),
                    (false, false) => a.1.total_cmp(&b.1),
                    (x, y) => x.cmp(&y),
                });
                members.truncate(agg.k);
                out.extend(members);
                continue;
            }
        };
        out.push((key, value));
    }
    out
}

/// (value, keep): arithmetic keeps always; a comparison keeps the left value when true.
fn operate(op: BinOp, left: f64, right: f64) -> (f64, bool) {
    match op {
        BinOp::Add => (left + right, true),
        BinOp::Sub => (left - right, true),
        BinOp::Mul => (left * right, true),
        BinOp::Div => (left / right, true),
        BinOp::Mod => (left % right, true),
        BinOp::Pow => (left.powf(right), true),
        BinOp::Eq => (left, left == right),
        BinOp::Ne => (left, left != right),
        BinOp::Gt => (left, left > right),
        BinOp::Ge => (left, left >= right),
        BinOp::Lt => (left, left < right),
        BinOp::Le => (left, left <= right),
        // Set operators only join vectors; the parser sees to it.
        BinOp::And | BinOp::Or | BinOp::Unless => (f64::NAN, false),
    }
}

fn combine(binary: &Binary, left: Value, right: Value) -> Result<Value, LogError> {
    let op = binary.op;
    let boolean = |keep: bool| if keep { 1.0 } else { 0.0 };
    match (left, right) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            let (value, keep) = operate(op, l, r);
            Ok(Value::Scalar(if op.is_comparison() {
                boolean(keep)
            } else {
                value
            }))
        }
        (Value::Vector(samples), Value::Scalar(s)) => {
            Ok(Value::Vector(with_scalar(binary, samples, s, false)))
        }
        (Value::Scalar(s), Value::Vector(samples)) => {
            Ok(Value::Vector(with_scalar(binary, samples, s, true)))
        }
        (Value::Vector(l), Value::Vector(r)) => vectors(binary, l, r).map(Value::Vector),
    }
}

fn with_scalar(
    binary: &Binary,
    samples: Vec<(Labels, f64)>,
    scalar: f64,
    scalar_left: bool,
) -> Vec<(Labels, f64)> {
    let mut out = Vec::new();
    for (labels, sample) in samples {
        let (l, r) = if scalar_left {
            (scalar, sample)
        } else {
            (sample, scalar)
        };
        let (mut value, mut keep) = operate(binary.op, l, r);
        if binary.op.is_comparison() {
            // The vector's value is kept, whichever side it is on.
            value = if binary.return_bool {
                if keep {
                    1.0
                } else {
                    0.0
                }
            } else {
                sample
            };
            keep = keep || binary.return_bool;
        }
        if keep {
            out.push((labels, value));
        }
    }
    out
}

fn vectors(
    binary: &Binary,
    left: Vec<(Labels, f64)>,
    right: Vec<(Labels, f64)>,
) -> Result<Vec<(Labels, f64)>, LogError> {
    let matching = binary.matching.as_ref();
    let signature = |labels: &Labels| Matching::signature(matching, labels);
    if binary.op.is_set() {
        let right_signatures: HashSet<Labels> = right.iter().map(|(l, _)| signature(l)).collect();
        return Ok(match binary.op {
            BinOp::And => left
                .into_iter()
                .filter(|(l, _)| right_signatures.contains(&signature(l)))
                .collect(),
            BinOp::Unless => left
                .into_iter()
                .filter(|(l, _)| !right_signatures.contains(&signature(l)))
                .collect(),
            _ => {
                let left_signatures: HashSet<Labels> =
                    left.iter().map(|(l, _)| signature(l)).collect();
                let mut out = left;
                out.extend(
                    right
                        .into_iter()
                        .filter(|(l, _)| !left_signatures.contains(&signature(l))),
                );
                out
            }
        });
    }
    let mut by_signature: HashMap<Labels, f64> = HashMap::new();
    for (labels, value) in &right {
        if by_signature.insert(signature(labels), *value).is_some() {
            return Err(LogError::Syntax {
                message: format!(
                    "found duplicate series for the match group {} on the right hand-side of \
                     the operation; many-to-many matching not allowed: matching labels must be \
                     unique on one side",
                    show_labels(&signature(labels))
                ),
                position: binary.at,
            });
        }
    }
    let mut matched = HashSet::new();
    let mut out = Vec::new();
    for (labels, l) in left {
        let key = signature(&labels);
        let Some(&r) = by_signature.get(&key) else {
            continue;
        };
        let (mut value, mut keep) = operate(binary.op, l, r);
        if binary.return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if !keep {
            continue;
        }
        if !matched.insert(key.clone()) {
            return Err(LogError::Syntax {
                message: format!(
                    "multiple matches for labels {}: many-to-one matching must be explicit \
                     (group_left/group_right)",
                    show_labels(&key)
                ),
                position: binary.at,
            });
        }
        let labels = match matching {
            Some(m) if m.on => key,
            Some(m) => labels
                .into_iter()
                .filter(|(name, _)| !m.labels.contains(name))
                .collect(),
            None => labels,
        };
        out.push((labels, value));
    }
    Ok(out)
}
