//! Aggregation operators (`sum by (...)` and friends), as Prometheus 2.42's `aggregation`.

use super::context::Ctx;
use super::label_set::LabelSet;
use super::stats::{go_max, quantile, running_mean, variance};
use super::step_invariant::is_step_invariant;
use super::value::{check_unique, execution, unsupported, EvalResult, Sample, Value};
use promql_parser::parser::token::{
    T_AVG, T_BOTTOMK, T_COUNT, T_COUNT_VALUES, T_GROUP, T_MAX, T_MIN, T_QUANTILE, T_STDDEV,
    T_STDVAR, T_SUM, T_TOPK,
};
use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};
use rustc_hash::FxHashMap;

pub fn eval(ctx: &Ctx, agg: &AggregateExpr, ts: i64) -> EvalResult<Value> {
    let op = agg.op.id();
    let param = match &agg.param {
        None => None,
        Some(p) if op == T_COUNT_VALUES => Some(Param::Label(label_param(p)?)),
        Some(p) => Some(Param::Number(ctx.scalar(p, param_time(ctx, agg, p, ts)?)?)),
    };
    let input = match ctx.eval(&agg.expr, ts)? {
        Value::Vector(v) => v,
        _ => return execution("aggregations apply to instant vectors only"),
    };
    let out = match op {
        T_TOPK | T_BOTTOMK => {
            let Some(Param::Number(k)) = param else {
                return execution("topk and bottomk need a number");
            };
            top(ctx, agg, input, k, op == T_TOPK)
        }
        T_SUM | T_AVG | T_COUNT | T_MIN | T_MAX | T_GROUP | T_STDDEV | T_STDVAR | T_QUANTILE
        | T_COUNT_VALUES => {
            let groups = group(ctx, agg, input, &param);
            groups
                .into_iter()
                .map(|(labels, values)| Sample {
                    labels,
                    t: ts,
                    v: reduce(op, &values, &param),
                })
                .collect()
        }
        _ => return unsupported(format!("the aggregation {}", agg.op)),
    };
    check_unique(&out)?;
    Ok(Value::Vector(out))
}

/// When the operand is step invariant, Prometheus evaluates the whole aggregation once, at the
/// query's start, its parameter included, even when the parameter changes with the step.
fn param_time(ctx: &Ctx, agg: &AggregateExpr, param: &Expr, ts: i64) -> EvalResult<i64> {
    if !is_step_invariant(&agg.expr) || is_step_invariant(param) {
        return Ok(ts);
    }
    if ctx.subquery_depth.get() > 0 {
        return unsupported(format!(
            "the aggregation {} with `@` in its operand, inside a subquery and with a parameter that changes with the step,",
            agg.op
        ));
    }
    Ok(ctx.start)
}

enum Param {
    Number(f64),
    Label(String),
}

fn label_param(e: &Expr) -> EvalResult<String> {
    match e {
        Expr::StringLiteral(s) => Ok(s.val.clone()),
        Expr::Paren(p) => label_param(&p.expr),
        _ => execution("count_values needs a label name string"),
    }
}

/// The labels of an element's group: only the `by` labels, or all but the `without` labels
/// and the metric name; derived once per query for each label set.
fn group_labels(ctx: &Ctx, agg: &AggregateExpr, labels: &LabelSet) -> LabelSet {
    ctx.derive(agg, 0, labels, None, || match &agg.modifier {
        Some(LabelModifier::Include(by)) => labels.retain(|n, _| by.labels.iter().any(|l| l == n)),
        Some(LabelModifier::Exclude(without)) => {
            labels.retain(|n, _| n != "__name__" && !without.labels.iter().any(|l| l == n))
        }
        None => LabelSet::empty(),
    })
}

/// Groups the values, in the order the groups first appear.
fn group(
    ctx: &Ctx,
    agg: &AggregateExpr,
    input: Vec<Sample>,
    param: &Option<Param>,
) -> Vec<(LabelSet, Vec<f64>)> {
    let mut index: FxHashMap<LabelSet, usize> = FxHashMap::default();
    let mut groups: Vec<(LabelSet, Vec<f64>)> = Vec::new();
    for s in input {
        let mut labels = group_labels(ctx, agg, &s.labels);
        if let Some(Param::Label(name)) = param {
            labels = labels.with(name, &crate::ops::metrics::format_value(s.v));
        }
        let i = *index.entry(labels).or_insert_with_key(|labels| {
            groups.push((labels.clone(), Vec::new()));
            groups.len() - 1
        });
        groups[i].1.push(s.v);
    }
    groups
}

fn reduce(op: u16, values: &[f64], param: &Option<Param>) -> f64 {
    let first = values[0];
    match op {
        T_SUM => values.iter().sum(),
        T_AVG => running_mean(values.iter().copied()),
        T_COUNT | T_COUNT_VALUES => values.len() as f64,
        T_GROUP => 1.0,
        T_MIN => values
            .iter()
            .skip(1)
            .fold(first, |m, &v| if m > v || m.is_nan() { v } else { m }),
        T_MAX => values
            .iter()
            .skip(1)
            .fold(first, |m, &v| if m < v || m.is_nan() { v } else { m }),
        T_STDVAR => variance(values.iter().copied()),
        T_STDDEV => variance(values.iter().copied()).sqrt(),
        T_QUANTILE => {
            let q = match param {
                Some(Param::Number(q)) => *q,
                _ => f64::NAN,
            };
            quantile(q, values.to_vec())
        }
        _ => unreachable!("reduce called for an operator it does not know"),
    }
}

/// topk / bottomk: the k largest (smallest) elements of each group, with their own labels.
/// NaN ranks below every number either way.
fn top(ctx: &Ctx, agg: &AggregateExpr, input: Vec<Sample>, k: f64, largest: bool) -> Vec<Sample> {
    let k = go_max(k, 0.0);
    if k.is_nan() || k < 1.0 {
        return Vec::new();
    }
    let k = k as usize;
    let mut index: FxHashMap<LabelSet, usize> = FxHashMap::default();
    let mut groups: Vec<Vec<Sample>> = Vec::new();
    for s in input {
        let key = group_labels(ctx, agg, &s.labels);
        let i = *index.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(s);
    }
    let mut out = Vec::new();
    for mut g in groups {
        g.sort_by(|a, b| match (a.v.is_nan(), b.v.is_nan()) {
            (true, true) => std::cmp::Ordering::Equal,
            (true, false) => std::cmp::Ordering::Greater,
            (false, true) => std::cmp::Ordering::Less,
            _ if largest => b.v.total_cmp(&a.v),
            _ => a.v.total_cmp(&b.v),
        });
        g.truncate(k);
        out.extend(g);
    }
    out
}
