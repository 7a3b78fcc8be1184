//! Binary operators: arithmetic, comparison (filtering or `bool`), and the set operators, with
//! vector matching (`on`, `ignoring`, `group_left`, `group_right`) as Prometheus 2.42 does it.

use super::context::Ctx;
use super::label_set::LabelSet;
use super::value::{check_unique, execution, unsupported, EvalResult, Sample, Value};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_DIV, T_EQLC, T_GTE, T_GTR, T_LAND, T_LOR, T_LSS, T_LTE, T_LUNLESS, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB,
};
use promql_parser::parser::{BinModifier, BinaryExpr, LabelModifier, VectorMatchCardinality};
use rustc_hash::{FxHashMap, FxHashSet};

pub fn eval(ctx: &Ctx, b: &BinaryExpr, ts: i64) -> EvalResult<Value> {
    let op = b.op.id();
    let default = BinModifier::default();
    let m = b.modifier.as_ref().unwrap_or(&default);
    if m.fill_values.lhs.is_some() || m.fill_values.rhs.is_some() {
        return unsupported("fill modifiers on binary operators");
    }
    let lhs = ctx.eval(&b.lhs, ts)?;
    let rhs = ctx.eval(&b.rhs, ts)?;
    let comparison = is_comparison(op);
    let out = match (lhs, rhs) {
        (Value::Scalar(l), Value::Scalar(r)) => {
            let (v, keep) = apply(op, l, r)?;
            return Ok(Value::Scalar(if comparison {
                if keep {
                    1.0
                } else {
                    0.0
                }
            } else {
                v
            }));
        }
        (Value::Vector(l), Value::Scalar(r)) => with_scalar(op, l, r, false, m.return_bool)?,
        (Value::Scalar(l), Value::Vector(r)) => with_scalar(op, r, l, true, m.return_bool)?,
        (Value::Vector(l), Value::Vector(r)) => match op {
            T_LAND | T_LOR | T_LUNLESS => set_op(ctx, b, l, r),
            _ => vector_op(ctx, b, l, r)?,
        },
        _ => return execution("binary operators apply to scalars and instant vectors only"),
    };
    check_unique(&out)?;
    Ok(Value::Vector(out))
}

fn is_comparison(op: u16) -> bool {
    matches!(op, T_EQLC | T_NEQ | T_GTR | T_LSS | T_GTE | T_LTE)
}

/// Only arithmetic changes what a value means, so only it drops the metric name.
fn drops_name(op: u16) -> bool {
    matches!(op, T_ADD | T_SUB | T_MUL | T_DIV | T_POW | T_MOD)
}

/// Prometheus's `vectorElemBinop`: the value, and for comparisons whether the element is kept.
fn apply(op: u16, l: f64, r: f64) -> EvalResult<(f64, bool)> {
    Ok(match op {
        T_ADD => (l + r, true),
        T_SUB => (l - r, true),
        T_MUL => (l * r, true),
        T_DIV => (l / r, true),
        T_POW => (l.powf(r), true),
        T_MOD => (l % r, true),
        T_ATAN2 => (l.atan2(r), true),
        T_EQLC => (l, l == r),
        T_NEQ => (l, l != r),
        T_GTR => (l, l > r),
        T_LSS => (l, l < r),
        T_GTE => (l, l >= r),
        T_LTE => (l, l <= r),
        _ => return unsupported(format!("the binary operator {op}")),
    })
}

/// A vector against a scalar; `swap` when the scalar was on the left. A filtering comparison
/// keeps the vector's own value whichever side it was on.
fn with_scalar(
    op: u16,
    vector: Vec<Sample>,
    scalar: f64,
    swap: bool,
    return_bool: bool,
) -> EvalResult<Vec<Sample>> {
    if matches!(op, T_LAND | T_LOR | T_LUNLESS) {
        return execution("set operators are only allowed between instant vectors");
    }
    let mut out = Vec::with_capacity(vector.len());
    for mut s in vector {
        let (l, r) = if swap { (scalar, s.v) } else { (s.v, scalar) };
        let (mut value, mut keep) = apply(op, l, r)?;
        if is_comparison(op) && swap {
            value = r;
        }
        if return_bool {
            value = if keep { 1.0 } else { 0.0 };
            keep = true;
        }
        if keep {
            s.v = value;
            if drops_name(op) || return_bool {
                s.labels = s.labels.without_name();
            }
            out.push(s);
        }
    }
    Ok(out)
}

/// The labels two elements are matched on, derived once per query for each label set. A label
/// named in `on` but missing matches one with an empty value, as in Prometheus.
fn signature(ctx: &Ctx, b: &BinaryExpr, labels: &LabelSet) -> LabelSet {
    let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
    ctx.derive(b, 0, labels, None, || match matching {
        Some(LabelModifier::Include(on)) => {
            labels.retain(|n, v| !v.is_empty() && on.labels.iter().any(|l| l == n))
        }
        Some(LabelModifier::Exclude(ignoring)) => {
            labels.retain(|n, _| n != "__name__" && !ignoring.labels.iter().any(|l| l == n))
        }
        None => labels.without_name(),
    })
}

fn set_op(ctx: &Ctx, b: &BinaryExpr, lhs: Vec<Sample>, rhs: Vec<Sample>) -> Vec<Sample> {
    let sig = |s: &Sample| signature(ctx, b, &s.labels);
    let right: FxHashSet<LabelSet> = rhs.iter().map(sig).collect();
    match b.op.id() {
        T_LAND => lhs
            .into_iter()
            .filter(|s| right.contains(&sig(s)))
            .collect(),
        T_LUNLESS => lhs
            .into_iter()
            .filter(|s| !right.contains(&sig(s)))
            .collect(),
        _ => {
            let left: FxHashSet<LabelSet> = lhs.iter().map(sig).collect();
            let mut out = lhs;
            out.extend(rhs.into_iter().filter(|s| !left.contains(&sig(s))));
            out
        }
    }
}

/// Arithmetic and comparison between two vectors: one-to-one, or many-to-one / one-to-many
/// with `group_left` / `group_right` (handled as many-to-one with the sides swapped), joined
/// on a hash of the one side's match keys.
fn vector_op(
    ctx: &Ctx,
    b: &BinaryExpr,
    lhs: Vec<Sample>,
    rhs: Vec<Sample>,
) -> EvalResult<Vec<Sample>> {
    let op = b.op.id();
    let default = BinModifier::default();
    let m = b.modifier.as_ref().unwrap_or(&default);
    let (card_one_to_one, include, swapped) = match &m.card {
        VectorMatchCardinality::OneToOne => (true, None, false),
        VectorMatchCardinality::ManyToOne(l) => (false, Some(l), false),
        VectorMatchCardinality::OneToMany(l) => (false, Some(l), true),
        VectorMatchCardinality::ManyToMany => {
            return execution("many-to-many matching is only allowed for set operators")
        }
    };
    let (many, one) = if swapped { (rhs, lhs) } else { (lhs, rhs) };
    let mut one_side: FxHashMap<LabelSet, &Sample> = FxHashMap::default();
    for s in &one {
        if let Some(dup) = one_side.insert(signature(ctx, b, &s.labels), s) {
            let side = if swapped { "left" } else { "right-hand side" };
            return execution(format!(
                "found duplicate series for the match group on the {side} of the operation: {:?}, {:?};many-to-many matching not allowed: matching labels must be unique on one side",
                s.labels, dup.labels
            ));
        }
    }
    let mut matched: FxHashMap<LabelSet, FxHashSet<LabelSet>> = FxHashMap::default();
    let mut out = Vec::new();
    for s in many {
        let sig = signature(ctx, b, &s.labels);
        let Some(r) = one_side.get(&sig) else {
            continue;
        };
        let (l, rv) = if swapped { (r.v, s.v) } else { (s.v, r.v) };
        let (mut value, keep) = apply(op, l, rv)?;
        if m.return_bool {
            value = if keep { 1.0 } else { 0.0 };
        } else if !keep {
            continue;
        }
        // The result depends on the one side's labels only through `group_x`'s labels.
        let other = include.map(|_| &r.labels);
        let labels = ctx.derive(b, 1, &s.labels, other, || {
            result_labels(&s.labels, &r.labels, op, m, card_one_to_one, include)
        });
        let seen = matched.entry(sig).or_default();
        if card_one_to_one {
            if !seen.is_empty() {
                return execution("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)");
            }
        } else if seen.contains(&labels) {
            return execution(
                "multiple matches for labels: grouping labels must ensure unique results",
            );
        }
        seen.insert(labels.clone());
        out.push(Sample {
            labels,
            t: s.t,
            v: value,
        });
    }
    Ok(out)
}

/// Prometheus's `resultMetric`: the many side's labels, without the name for arithmetic,
/// narrowed to the `on` labels (or without the `ignoring` ones) for one-to-one matching, plus
/// the `group_x` labels copied from the one side; and without the name for `bool`.
fn result_labels(
    many: &LabelSet,
    one: &LabelSet,
    op: u16,
    m: &BinModifier,
    one_to_one: bool,
    include: Option<&promql_parser::label::Labels>,
) -> LabelSet {
    let mut labels = if drops_name(op) {
        many.without_name()
    } else {
        many.clone()
    };
    if one_to_one {
        match &m.matching {
            Some(LabelModifier::Include(on)) => {
                labels = labels.retain(|n, _| on.labels.iter().any(|l| l == n))
            }
            Some(LabelModifier::Exclude(ignoring)) => {
                labels = labels.retain(|n, _| !ignoring.labels.iter().any(|l| l == n))
            }
            None => {}
        }
    }
    for l in include.iter().flat_map(|include| &include.labels) {
        // An empty value removes the label.
        labels = labels.with(l, one.get(l).unwrap_or(""));
    }
    if m.return_bool {
        labels = labels.without_name();
    }
    labels
}
