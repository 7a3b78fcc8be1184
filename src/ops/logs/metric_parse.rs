//! The grammar of LogQL metric queries (Loki 3): range aggregations over a log query, vector
//! aggregations, binary operators with PromQL's precedence. Built on the log query parser; the
//! same rule holds: a syntax error anywhere wins over a construct the engine refuses.

use super::lexer::{describe, syntax, Kind};
use super::logql::{Parser, MAX_NESTING};
use super::metric::{
    BinOp, Binary, Expr, Grouping, Matching, RangeAgg, RangeFunc, Unwrap, VectorAgg, VectorOp,
};
use super::pipeline::{LogQuery, Stage};
use super::LogError;
use std::cell::OnceCell;

/// Functions of LogQL (or PromQL) the engine does not evaluate: refused by name.
const REFUSED_FUNCTIONS: [&str; 8] = [
    "label_replace",
    "vector",
    "sort",
    "sort_desc",
    "rate_counter",
    "approx_topk",
    "first",
    "last",
];

/// Each binary operator nests the expression one deeper: more are refused, so that no query
/// can exhaust the stack.
const MAX_OPERATORS: usize = 1000;

/// `^`, which binds tighter than a unary minus.
const POWER: u8 = 6;

fn precedence(op: BinOp) -> u8 {
    match op {
        BinOp::Or => 1,
        BinOp::And | BinOp::Unless => 2,
        BinOp::Eq | BinOp::Ne | BinOp::Gt | BinOp::Ge | BinOp::Lt | BinOp::Le => 3,
        BinOp::Add | BinOp::Sub => 4,
        BinOp::Mul | BinOp::Div | BinOp::Mod => 5,
        BinOp::Pow => POWER,
    }
}

/// A duration as Loki reads it: `5m`, `1h30m`, `1.5h`, `500ms`, `2d`, `1w`, `1y` (365 days);
/// in nanoseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text;
    let mut total = 0f64;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "d" => 86_400e9,
            "w" => 7.0 * 86_400e9,
            "y" => 365.0 * 86_400e9,
            _ => return None,
        };
        total += number * nanos;
        rest = &rest[unit_end..];
    }
    // Beyond about 292 years, nanoseconds do not fit.
    (total < 9.0e18).then_some(total.round() as i64)
}

impl Parser<'_> {
    pub fn metric_expr(&mut self) -> Result<Expr, LogError> {
        self.binary(0)
    }

    fn binary_op(&self) -> Option<BinOp> {
        let token = self.peek();
        let op = match (token.kind, token.text) {
            (Kind::Punct, "+") => BinOp::Add,
            (Kind::Punct, "-") => BinOp::Sub,
            (Kind::Punct, "*") => BinOp::Mul,
            (Kind::Punct, "/") => BinOp::Div,
            (Kind::Punct, "%") => BinOp::Mod,
            (Kind::Punct, "^") => BinOp::Pow,
            (Kind::Punct, "==") => BinOp::Eq,
            (Kind::Punct, "!=") => BinOp::Ne,
            (Kind::Punct, ">") => BinOp::Gt,
            (Kind::Punct, ">=") => BinOp::Ge,
            (Kind::Punct, "<") => BinOp::Lt,
            (Kind::Punct, "<=") => BinOp::Le,
            (Kind::Ident, "and") => BinOp::And,
            (Kind::Ident, "or") => BinOp::Or,
            (Kind::Ident, "unless") => BinOp::Unless,
            _ => return None,
        };
        Some(op)
    }

    /// Operators of at least `min` precedence, by precedence climbing; `^` is right-associative.
    fn binary(&mut self, min: u8) -> Result<Expr, LogError> {
        let mut left = self.unary()?;
        while let Some(op) = self.binary_op() {
            let level = precedence(op);
            if level < min {
                break;
            }
            let operator = self.advance();
            let (at, text) = (operator.at, operator.text.to_owned());
            self.operators += 1;
            if self.operators > MAX_OPERATORS {
                return Err(LogError::Syntax {
                    message: format!(
                        "a metric expression with more than {MAX_OPERATORS} binary operators"
                    ),
                    position: at,
                });
            }
            let bool_at = self.peek().at;
            let return_bool = self.is_word("bool");
            if return_bool {
                self.advance();
            }
            let matching = self.matching()?;
            if self.is_word("group_left") || self.is_word("group_right") {
                let word = self.advance().text.to_owned();
                if self.is_punct("(") {
                    self.label_list(&word)?;
                }
                self.refuse(format!(
                    "`{word}` (many-to-one matching) is not evaluated by the embedded log engine \
                     yet"
                ));
            }
            let right = self.binary(if op == BinOp::Pow { level } else { level + 1 })?;
            let numbers = left.is_scalar() || right.is_scalar();
            let fault = if return_bool && !op.is_comparison() {
                Some((
                    "`bool` can only follow a comparison operator".to_owned(),
                    bool_at,
                ))
            } else if op.is_set() && numbers {
                Some((
                    format!("`{text}` joins two metric expressions, not numbers"),
                    at,
                ))
            } else if op.is_comparison() && !return_bool && left.is_scalar() && right.is_scalar() {
                Some((
                    format!("a comparison of two numbers needs `bool` (`{text} bool`)"),
                    at,
                ))
            } else if matching.is_some() && numbers {
                Some((
                    "`on` and `ignoring` apply between two metric expressions, not numbers"
                        .to_owned(),
                    at,
                ))
            } else {
                None
            };
            if let Some((message, position)) = fault {
                return Err(LogError::Syntax { message, position });
            }
            left = Expr::Binary(Box::new(Binary {
                op,
                return_bool,
                matching,
                left,
                right,
                at,
            }));
        }
        Ok(left)
    }

    /// A unary `-` or `+`, which binds looser than `^` only; then an operand.
    fn unary(&mut self) -> Result<Expr, LogError> {
        let at = self.peek().at;
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(LogError::Syntax {
                message: format!("a metric expression nested more than {MAX_NESTING} deep"),
                position: at,
            });
        }
        let expr = if self.is_punct("-") || self.is_punct("+") {
            let negative = self.advance().text == "-";
            let operand = self.binary(POWER)?;
            match operand {
                Expr::Number(value) if negative => Expr::Number(-value),
                operand if negative => Expr::Binary(Box::new(Binary {
                    op: BinOp::Mul,
                    return_bool: false,
                    matching: None,
                    left: Expr::Number(-1.0),
                    right: operand,
                    at,
                })),
                operand => operand,
            }
        } else {
            self.primary()?
        };
        self.depth -= 1;
        Ok(expr)
    }

    fn primary(&mut self) -> Result<Expr, LogError> {
        let token = self.peek();
        let (kind, text, at) = (token.kind, token.text, token.at);
        match kind {
            Kind::Number => {
                let Ok(value) = text.parse::<f64>() else {
                    return Err(syntax(format!("`{text}` is not a number"), token));
                };
                self.advance();
                Ok(Expr::Number(value))
            }
            Kind::Punct if text == "(" => {
                self.advance();
                let inner = self.metric_expr()?;
                self.close(at)?;
                Ok(inner)
            }
            Kind::Ident => self.function(),
            _ => Err(syntax(
                format!(
                    "expected a metric expression such as `count_over_time({{app=\"x\"}}[5m])`, \
                     a number or `(`, found {}",
                    describe(token)
                ),
                token,
            )),
        }
    }

    /// The `)` of the bracket opened at `opened`.
    fn close(&mut self, opened: (usize, usize)) -> Result<(), LogError> {
        if self.is_punct(")") {
            self.advance();
            return Ok(());
        }
        let found = self.peek();
        Err(syntax(
            format!(
                "expected `)` to close the bracket at line {}, column {}, found {}",
                opened.0,
                opened.1,
                describe(found)
            ),
            found,
        ))
    }

    fn function(&mut self) -> Result<Expr, LogError> {
        let token = self.peek();
        let (name, at) = (token.text.to_owned(), token.at);
        if let Some(&(_, func)) = RangeFunc::ALL.iter().find(|(n, _)| *n == name) {
            self.advance();
            return self.range_agg(func, &name, at);
        }
        if let Some(&(_, op)) = VectorOp::ALL.iter().find(|(n, _)| *n == name) {
            self.advance();
            return self.vector_agg(op, &name);
        }
        let call = {
            let next = self.peek_second();
            next.kind == Kind::Punct && next.text == "("
        };
        let token = self.peek();
        if call && REFUSED_FUNCTIONS.contains(&name.as_str()) {
            self.advance();
            self.skip_arguments()?;
            self.refuse(format!(
                "`{name}` is not evaluated by the embedded log engine yet"
            ));
            return Ok(Expr::Number(0.0));
        }
        if call {
            return Err(syntax(format!("unknown function `{name}`"), token));
        }
        Err(syntax(
            format!(
                "expected a metric expression such as `count_over_time({{app=\"x\"}}[5m])`, a \
                 number or `(`, found {}",
                describe(token)
            ),
            token,
        ))
    }

    /// The arguments of a refused function, from its `(`: read through so that brackets pair
    /// and the log queries inside are valid.
    fn skip_arguments(&mut self) -> Result<(), LogError> {
        let mut open: Vec<(&'static str, (usize, usize))> = Vec::new();
        loop {
            let token = self.peek();
            let (at, kind, text) = (token.at, token.kind, token.text);
            match (kind, text) {
                (Kind::End, _) => {
                    let (closing, opened) = open.last().copied().unwrap_or((")", at));
                    return Err(LogError::Syntax {
                        message: format!(
                            "expected `{closing}` to close the bracket at line {}, column {}, \
                             found the end of the query",
                            opened.0, opened.1
                        ),
                        position: at,
                    });
                }
                (Kind::Punct, "{") => {
                    self.in_range = true;
                    self.log_query()?;
                    self.in_range = false;
                    self.unwrapped = false;
                }
                (Kind::Punct, "(") => {
                    open.push((")", at));
                    self.advance();
                }
                (Kind::Punct, "[") => {
                    open.push(("]", at));
                    self.advance();
                }
                (Kind::Punct, ")" | "]" | "}") => {
                    match open.pop() {
                        Some((closing, _)) if closing == text => {}
                        Some((closing, _)) => {
                            return Err(LogError::Syntax {
                                message: format!("expected `{closing}`, found `{text}`"),
                                position: at,
                            })
                        }
                        None => {
                            return Err(LogError::Syntax {
                                message: format!("unexpected `{text}` with no bracket to close"),
                                position: at,
                            })
                        }
                    }
                    self.advance();
                    if open.is_empty() {
                        return Ok(());
                    }
                }
                _ => {
                    self.advance();
                }
            }
        }
    }

    /// `by (a, b)` or `without (a)`, if there.
    fn grouping(&mut self) -> Result<Option<Grouping>, LogError> {
        if !(self.is_word("by") || self.is_word("without")) {
            return Ok(None);
        }
        let word = self.advance().text.to_owned();
        let labels = self.label_list(&word)?;
        Ok(Some(Grouping {
            without: word == "without",
            labels,
        }))
    }

    /// `on (a, b)` or `ignoring (a)`, if there.
    fn matching(&mut self) -> Result<Option<Matching>, LogError> {
        if !(self.is_word("on") || self.is_word("ignoring")) {
            return Ok(None);
        }
        let word = self.advance().text.to_owned();
        let labels = self.label_list(&word)?;
        Ok(Some(Matching {
            on: word == "on",
            labels,
        }))
    }

    /// `( name, ... )`, maybe empty, after `by`, `without`, `on`, ...
    fn label_list(&mut self, after: &str) -> Result<Vec<String>, LogError> {
        self.expect_punct("(", &format!("after `{after}`"))?;
        let mut labels = Vec::new();
        while !self.is_punct(")") {
            labels.push(self.expect_ident("a label name or `)`")?);
            if !self.is_punct(",") {
                break;
            }
            self.advance();
        }
        self.expect_punct(")", &format!("to close the labels of `{after}`"))?;
        Ok(labels)
    }

    /// `[5m]`, in nanoseconds.
    fn range(&mut self) -> Result<i64, LogError> {
        self.advance();
        let range = self.duration("in the range")?;
        self.expect_punct("]", "to close the range")?;
        Ok(range)
    }

    fn duration(&mut self, place: &str) -> Result<i64, LogError> {
        let token = self.peek();
        let parsed = match token.kind {
            Kind::Unit => parse_duration(token.text),
            _ => None,
        };
        match parsed {
            Some(nanos) if nanos > 0 => {
                self.advance();
                Ok(nanos)
            }
            _ => Err(syntax(
                format!(
                    "expected a duration above zero such as `5m` or `1h30m` {place}, found {}",
                    describe(token)
                ),
                token,
            )),
        }
    }

    /// `name( [φ,] {selector} pipeline [range] [offset D] ) [by|without (...)]`; the range may
    /// also come right after the selector, and the log query may be in parentheses.
    fn range_agg(
        &mut self,
        func: RangeFunc,
        name: &str,
        at: (usize, usize),
    ) -> Result<Expr, LogError> {
        let opened = self.peek().at;
        self.expect_punct("(", &format!("after `{name}`"))?;
        let quantile = if func == RangeFunc::Quantile {
            let negative = self.is_punct("-");
            if negative {
                self.advance();
            }
            let token = self.peek();
            let Some(phi) = (token.kind == Kind::Number)
                .then(|| token.text.parse::<f64>().ok())
                .flatten()
            else {
                return Err(syntax(
                    format!(
                        "expected a number (the quantile) as the first argument of `{name}`, \
                         found {}",
                        describe(token)
                    ),
                    token,
                ));
            };
            self.advance();
            self.expect_punct(",", "after the quantile")?;
            if negative {
                -phi
            } else {
                phi
            }
        } else {
            0.0
        };
        // `({selector} pipeline)[5m]` is the same as `{selector} pipeline [5m]`.
        let inner_at = self.peek().at;
        let parenthesized = self.is_punct("(") && {
            let next = self.peek_second();
            next.kind == Kind::Punct && next.text == "{"
        };
        if parenthesized {
            self.advance();
        }
        if !self.is_punct("{") {
            let found = self.peek();
            return Err(syntax(
                format!(
                    "expected a log query with a range such as `{{app=\"x\"}}[5m]` in `{name}`, \
                     found {}",
                    describe(found)
                ),
                found,
            ));
        }
        self.in_range = true;
        self.unwrapped = false;
        let selector = self.selector()?;
        let mut range = None;
        if self.is_punct("[") && !parenthesized {
            range = Some(self.range()?);
        }
        let stages = self.pipeline()?;
        self.in_range = false;
        self.unwrapped = false;
        if parenthesized {
            self.close(inner_at)?;
        }
        let range_ns = match range {
            Some(range) => range,
            None if self.is_punct("[") => self.range()?,
            None => {
                let found = self.peek();
                return Err(syntax(
                    format!(
                        "expected a pipeline stage or a range such as `[5m]` after the log \
                         query, found {}",
                        describe(found)
                    ),
                    found,
                ));
            }
        };
        let offset_ns = if self.is_word("offset") {
            self.advance();
            self.duration("after `offset`")?
        } else {
            0
        };
        if self.is_punct("@") {
            self.advance();
            self.at_modifier()?;
        }
        self.close(opened)?;
        let grouping = self.grouping()?;
        let fault = if grouping.is_some() && func.counts_lines() {
            Some(format!("grouping not allowed for {name} aggregation"))
        } else if func.counts_lines() && has_unwrap(&stages) {
            Some(format!("invalid aggregation {name} with unwrap"))
        } else if func.needs_unwrap() && !has_unwrap(&stages) {
            Some(format!(
                "invalid aggregation {name} without unwrap (it needs `| unwrap LABEL`)"
            ))
        } else {
            None
        };
        if let Some(message) = fault {
            return Err(LogError::Syntax {
                message,
                position: at,
            });
        }
        if func == RangeFunc::Absent && grouping.is_some() {
            self.refuse(
                "`absent_over_time` with `by` or `without` is not evaluated by the embedded log \
                 engine yet"
                    .to_owned(),
            );
        }
        let (stages, unwrap) = split_at_unwrap(stages);
        Ok(Expr::Range(Box::new(RangeAgg {
            func,
            quantile,
            query: LogQuery { selector, stages },
            unwrap,
            range_ns,
            offset_ns,
            grouping,
            at,
            samples: OnceCell::new(),
        })))
    }

    /// What follows `@`: a time, or `start()` or `end()`; refused.
    fn at_modifier(&mut self) -> Result<(), LogError> {
        self.refuse("`@` modifiers are not evaluated by the embedded log engine".to_owned());
        let token = self.peek();
        if token.kind == Kind::Number {
            self.advance();
            return Ok(());
        }
        if token.kind == Kind::Ident && (token.text == "start" || token.text == "end") {
            self.advance();
            self.expect_punct("(", "after the function name")?;
            return self.expect_punct(")", "to close the call");
        }
        Err(syntax(
            format!(
                "expected a time, `start()` or `end()` after `@`, found {}",
                describe(token)
            ),
            token,
        ))
    }

    /// `name [by|without (...)] ( [k,] expr ) [by|without (...)]`.
    fn vector_agg(&mut self, op: VectorOp, name: &str) -> Result<Expr, LogError> {
        let mut grouping = self.grouping()?;
        let opened = self.peek().at;
        self.expect_punct("(", &format!("after `{name}`"))?;
        let k = if matches!(op, VectorOp::Topk | VectorOp::Bottomk) {
            let token = self.peek();
            let k = (token.kind == Kind::Number)
                .then(|| token.text.parse::<usize>().ok())
                .flatten()
                .filter(|k| *k > 0);
            let Some(k) = k else {
                return Err(syntax(
                    format!(
                        "expected a whole number above zero as the first argument of `{name}`, \
                         found {}",
                        describe(token)
                    ),
                    token,
                ));
            };
            self.advance();
            self.expect_punct(",", &format!("after the first argument of `{name}`"))?;
            k
        } else {
            0
        };
        let argument_at = self.peek().at;
        let inner = self.metric_expr()?;
        self.close(opened)?;
        let after_at = self.peek().at;
        if let Some(after) = self.grouping()? {
            if grouping.is_some() {
                return Err(LogError::Syntax {
                    message: format!("`{name}` has `by` or `without` twice"),
                    position: after_at,
                });
            }
            grouping = Some(after);
        }
        if inner.is_scalar() {
            return Err(LogError::Syntax {
                message: format!("`{name}` aggregates a metric expression, not a number"),
                position: argument_at,
            });
        }
        Ok(Expr::Vector(Box::new(VectorAgg {
            op,
            k,
            grouping,
            inner,
        })))
    }
}

fn has_unwrap(stages: &[Stage]) -> bool {
    stages.iter().any(|s| matches!(s, Stage::Unwrap(_)))
}

/// The stages before `| unwrap`, and the unwrap with the label filters after it.
fn split_at_unwrap(mut stages: Vec<Stage>) -> (Vec<Stage>, Option<Unwrap>) {
    let Some(position) = stages.iter().position(|s| matches!(s, Stage::Unwrap(_))) else {
        return (stages, None);
    };
    let after = stages.split_off(position);
    let mut label = String::new();
    let mut filters = Vec::new();
    for stage in after {
        match stage {
            Stage::Unwrap(name) => label = name,
            Stage::Labels(filter) => filters.push(filter),
            // The parser lets only label filters follow an unwrap.
            Stage::Line(_) | Stage::Json | Stage::Logfmt => {}
        }
    }
    (stages, Some(Unwrap { label, filters }))
}
