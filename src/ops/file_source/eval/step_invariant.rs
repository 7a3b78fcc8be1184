//! Which expressions Prometheus 2.42 treats as step invariant: those it evaluates once, at the
//! start of a range query, because `@` pins their selectors. Evaluating them at every step gives
//! the same figures, except in two places where its engine lets the step leak in, which the
//! evaluator reproduces: an aggregation's parameter beside a step-invariant operand, and the
//! window of a range function with `@` whose call is not itself step invariant.

use promql_parser::parser::Expr;

/// Functions whose value depends on the evaluation time even when their arguments do not.
const UNSAFE: &[&str] = &[
    "days_in_month",
    "day_of_month",
    "day_of_week",
    "day_of_year",
    "hour",
    "minute",
    "month",
    "year",
    "predict_linear",
    "time",
    "timestamp",
];

/// Prometheus's `preprocessExprHelper`: whether `e` is evaluated once for a whole range query.
pub fn is_step_invariant(e: &Expr) -> bool {
    match e {
        Expr::VectorSelector(vs) => vs.at.is_some(),
        Expr::MatrixSelector(ms) => ms.vs.at.is_some(),
        Expr::Subquery(sq) => sq.at.is_some(),
        // The parameter is not looked at: it is evaluated with the operand.
        Expr::Aggregate(a) => is_step_invariant(&a.expr),
        Expr::Binary(b) => is_step_invariant(&b.lhs) && is_step_invariant(&b.rhs),
        Expr::Call(c) => call_is_step_invariant(c.func.name, c.args.args.iter().map(|a| &**a)),
        Expr::Paren(p) => is_step_invariant(&p.expr),
        Expr::Unary(u) => is_step_invariant(&u.expr),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) => true,
        Expr::Extension(_) => false,
    }
}

pub fn call_is_step_invariant<'a>(name: &str, mut args: impl Iterator<Item = &'a Expr>) -> bool {
    !UNSAFE.contains(&name) && args.all(is_step_invariant)
}
