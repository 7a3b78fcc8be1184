//! LogQL tokens to a log query, or to a metric query (whose grammar is in `metric_parse`): a
//! recursive-descent parser that follows Loki 3's grammar. A syntax error anywhere wins over a construct the engine refuses, so the user fixes
//! what is wrong before learning what is missing.

use super::lexer::{describe, is_duration_or_bytes, lex, syntax, Kind, Token};
use super::metric::Expr;
use super::pipeline::{
    Alternatives, Comparison, LabelFilter, LineFilter, LogQuery, Matcher, Stage, ValueTest,
};
use super::LogError;
use regex::Regex;

/// Deeper parentheses in a label filter are refused, so that no query can exhaust the stack.
pub const MAX_NESTING: usize = 64;

const AFTER_UNWRAP: &str = "only label filters may follow `| unwrap`";

/// The words that start a stage other than a label filter.
const STAGE_KEYWORDS: [&str; 11] = [
    "json",
    "logfmt",
    "regexp",
    "pattern",
    "line_format",
    "unpack",
    "decolorize",
    "label_format",
    "drop",
    "keep",
    "unwrap",
];

/// A parsed query: a log query gives lines, a metric query numbers.
pub enum Query {
    Log(LogQuery),
    Metric(Expr),
}

/// Parses a log query for `select`; a metric query is a syntax error at its start (a metric
/// query gives numbers, not lines), once its own syntax is right (even if it holds constructs
/// the engine refuses).
pub fn parse(query: &str) -> Result<LogQuery, LogError> {
    match parse_query(query) {
        Ok((Query::Log(parsed), _)) => Ok(parsed),
        Ok((Query::Metric(_), at)) => Err(wrong_kind(true, at)),
        Err(LogError::Unsupported(_)) if super::is_metric_query(query) => {
            Err(wrong_kind(true, start_of(query)))
        }
        Err(error) => Err(error),
    }
}

/// Parses a metric query; a log query is a syntax error at its start, as for `parse`.
pub fn parse_metric(query: &str) -> Result<Expr, LogError> {
    match parse_query(query) {
        Ok((Query::Metric(parsed), _)) => Ok(parsed),
        Ok((Query::Log(_), at)) => Err(wrong_kind(false, at)),
        Err(LogError::Unsupported(_)) if !super::is_metric_query(query) => {
            Err(wrong_kind(false, start_of(query)))
        }
        Err(error) => Err(error),
    }
}

fn wrong_kind(metric: bool, at: (usize, usize)) -> LogError {
    let message = if metric {
        "a metric query gives numbers, not lines: use `query` for it"
    } else {
        "a log query gives lines, not numbers: use `logs` for it"
    };
    LogError::Syntax {
        message: message.to_owned(),
        position: at,
    }
}

/// Where the query's first token is.
fn start_of(query: &str) -> (usize, usize) {
    lex(query)
        .ok()
        .and_then(|tokens| tokens.first().map(|t| t.at))
        .unwrap_or((1, 1))
}

/// Parses a log or metric query, or says why it is not one the engine evaluates; with the
/// position of its first token.
pub fn parse_query(query: &str) -> Result<(Query, (usize, usize)), LogError> {
    let tokens = lex(query)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        refusal: None,
        in_range: false,
        unwrapped: false,
        depth: 0,
        operators: 0,
    };
    let first = parser.peek();
    let first_at = first.at;
    let metric_start = match first.kind {
        Kind::Ident | Kind::Number => true,
        Kind::Punct => ["(", "-", "+"].contains(&first.text),
        _ => false,
    };
    let parsed = if first.kind == Kind::Punct && first.text == "{" {
        let parsed = parser.log_query()?;
        let next = parser.peek();
        if next.kind != Kind::End {
            return Err(syntax(
                format!(
                    "expected a pipeline stage (`|=`, `!=`, `|~`, `!~` or `|`) or the end of \
                     the query, found {}",
                    describe(next)
                ),
                next,
            ));
        }
        Query::Log(parsed)
    } else if metric_start {
        let parsed = parser.metric_expr()?;
        let next = parser.peek();
        if next.kind == Kind::Punct && next.text == ")" {
            return Err(syntax(
                "unexpected `)` with no bracket to close".to_owned(),
                next,
            ));
        }
        if next.kind != Kind::End {
            return Err(syntax(
                format!(
                    "expected a binary operator (`+`, `-`, `*`, `/`, `%`, `^`, `==`, `!=`, `>`, \
                     `>=`, `<`, `<=`, `and`, `or`, `unless`) or the end of the query, found {}",
                    describe(next)
                ),
                next,
            ));
        }
        Query::Metric(parsed)
    } else {
        return Err(syntax(
            format!(
                "expected a stream selector such as `{{app=\"checkout\"}}`, found {}",
                describe(first)
            ),
            first,
        ));
    };
    match parser.refusal {
        Some(refusal) => Err(LogError::Unsupported(refusal)),
        None => Ok((parsed, first_at)),
    }
}

pub struct Parser<'q> {
    tokens: Vec<Token<'q>>,
    at: usize,
    /// The first construct met that the engine does not evaluate.
    refusal: Option<String>,
    /// Within a metric query's range aggregation, where `| unwrap` may come.
    pub in_range: bool,
    /// An `| unwrap` was read: only label filters may follow.
    pub unwrapped: bool,
    /// How deep in parentheses and calls a metric expression is.
    pub depth: usize,
    /// How many binary operators a metric expression has so far (each nests the tree deeper).
    pub operators: usize,
}

impl<'q> Parser<'q> {
    pub fn peek(&self) -> &Token<'q> {
        // The lexer always ends the list with an End token, which is never consumed.
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    pub fn peek_second(&self) -> &Token<'q> {
        &self.tokens[(self.at + 1).min(self.tokens.len() - 1)]
    }

    pub fn advance(&mut self) -> &Token<'q> {
        let at = self.at.min(self.tokens.len() - 1);
        if self.tokens[at].kind != Kind::End {
            self.at += 1;
        }
        &self.tokens[at]
    }

    pub fn is_punct(&self, text: &str) -> bool {
        let token = self.peek();
        token.kind == Kind::Punct && token.text == text
    }

    pub fn is_word(&self, word: &str) -> bool {
        let token = self.peek();
        token.kind == Kind::Ident && token.text == word
    }

    pub fn refuse(&mut self, what: String) {
        self.refusal.get_or_insert(what);
    }

    pub fn expect_punct(&mut self, text: &str, context: &str) -> Result<(), LogError> {
        if self.is_punct(text) {
            self.advance();
            return Ok(());
        }
        let found = self.peek();
        Err(syntax(
            format!("expected `{text}` {context}, found {}", describe(found)),
            found,
        ))
    }

    pub fn expect_ident(&mut self, what: &str) -> Result<String, LogError> {
        let found = self.peek();
        if found.kind == Kind::Ident {
            let name = found.text.to_owned();
            self.advance();
            return Ok(name);
        }
        Err(syntax(
            format!("expected {what}, found {}", describe(found)),
            found,
        ))
    }

    /// A string; `after` names what it follows, for the message.
    fn expect_string(&mut self, after: &str) -> Result<String, LogError> {
        let found = self.peek();
        if found.kind == Kind::String {
            let value = found.value.clone();
            self.advance();
            return Ok(value);
        }
        Err(syntax(
            format!(
                "expected a string in double quotes or backticks after {after}, found {}",
                describe(found)
            ),
            found,
        ))
    }

    /// A regex string, compiled; `anchored` for label matchers.
    fn expect_regex(&mut self, after: &str, anchored: bool) -> Result<Regex, LogError> {
        let token_at = self.peek().at;
        let pattern = self.expect_string(after)?;
        let source = if anchored {
            format!("^(?s:{pattern})$")
        } else {
            pattern.clone()
        };
        Regex::new(&source).map_err(|error| {
            let text = error.to_string();
            let why = text
                .lines()
                .rev()
                .find_map(|line| line.strip_prefix("error: "))
                .unwrap_or(text.lines().last().unwrap_or_default())
                .to_owned();
            LogError::Syntax {
                message: format!("invalid regular expression `{pattern}`: {why}"),
                position: token_at,
            }
        })
    }

    /// `{matchers}` and the pipeline after it.
    pub fn log_query(&mut self) -> Result<LogQuery, LogError> {
        let selector = self.selector()?;
        let stages = self.pipeline()?;
        Ok(LogQuery { selector, stages })
    }

    pub fn selector(&mut self) -> Result<Vec<Matcher>, LogError> {
        let opening_at = self.peek().at;
        self.expect_punct("{", "to open the stream selector")?;
        let mut matchers = Vec::new();
        loop {
            let found = self.peek();
            if found.kind != Kind::Ident {
                return Err(syntax(
                    format!(
                        "expected a label matcher such as `app=\"checkout\"`, found {}",
                        describe(found)
                    ),
                    found,
                ));
            }
            let name = found.text.to_owned();
            self.advance();
            let operator = self.peek();
            let test = match (operator.kind, operator.text) {
                (Kind::Punct, "=") => {
                    self.advance();
                    ValueTest::Equal(self.expect_string("`=`")?)
                }
                (Kind::Punct, "!=") => {
                    self.advance();
                    ValueTest::NotEqual(self.expect_string("`!=`")?)
                }
                (Kind::Punct, "=~") => {
                    self.advance();
                    ValueTest::Matches(self.expect_regex("`=~`", true)?)
                }
                (Kind::Punct, "!~") => {
                    self.advance();
                    ValueTest::NotMatches(self.expect_regex("`!~`", true)?)
                }
                _ => {
                    return Err(syntax(
                        format!(
                            "expected `=`, `!=`, `=~` or `!~` after the label name `{name}`, \
                             found {}",
                            describe(operator)
                        ),
                        operator,
                    ))
                }
            };
            matchers.push(Matcher { name, test });
            if self.is_punct(",") {
                self.advance();
                continue;
            }
            if self.is_punct("}") {
                self.advance();
                break;
            }
            let found = self.peek();
            return Err(syntax(
                format!(
                    "expected `,` or `}}` after the matcher, found {}",
                    describe(found)
                ),
                found,
            ));
        }
        // Loki's rule: a selector that every stream passes would read all logs.
        if matchers.iter().all(|m| m.test.passes("")) {
            return Err(LogError::Syntax {
                message: "the stream selector needs at least one matcher that does not match \
                          the empty value (`app=~\".+\"` is one, `app=~\".*\"` and `app!=\"x\"` \
                          are not)"
                    .to_owned(),
                position: opening_at,
            });
        }
        Ok(matchers)
    }

    pub fn pipeline(&mut self) -> Result<Vec<Stage>, LogError> {
        let mut stages = Vec::new();
        loop {
            let token = self.peek();
            if token.kind != Kind::Punct {
                return Ok(stages);
            }
            let line_filter = ["|=", "!=", "|~", "!~", "|>", "!>"].contains(&token.text);
            if self.unwrapped && line_filter {
                return Err(syntax(AFTER_UNWRAP.to_owned(), token));
            }
            match token.text {
                "|=" | "!=" | "|~" | "!~" => stages.push(Stage::Line(self.line_filter()?)),
                "|>" | "!>" => {
                    let operator = token.text.to_owned();
                    self.advance();
                    self.expect_string(&format!("`{operator}`"))?;
                    self.refuse(format!(
                        "pattern line filters (`{operator}`) are not evaluated by the embedded \
                         log engine yet"
                    ));
                }
                "|" => {
                    self.advance();
                    if let Some(stage) = self.stage()? {
                        stages.push(stage);
                    }
                }
                _ => return Ok(stages),
            }
        }
    }

    fn line_filter(&mut self) -> Result<LineFilter, LogError> {
        let operator = self.advance().text;
        let after = format!("`{operator}`");
        let negated = operator.starts_with('!');
        let is_regex = operator.ends_with('~');
        let mut texts = Vec::new();
        let mut patterns = Vec::new();
        loop {
            if self.is_word("ip") && self.peek_second().text == "(" {
                self.advance();
                self.skip_call()?;
                self.refuse(
                    "`ip()` line filters are not evaluated by the embedded log engine yet"
                        .to_owned(),
                );
            } else if is_regex {
                patterns.push(self.expect_regex(&after, false)?);
            } else {
                texts.push(self.expect_string(&after)?);
            }
            if !self.is_word("or") {
                break;
            }
            self.advance();
        }
        let alternatives = if is_regex {
            Alternatives::Pattern(patterns)
        } else {
            Alternatives::Text(texts)
        };
        Ok(LineFilter {
            negated,
            alternatives,
        })
    }

    /// `( "string" )` after a function name such as `ip`.
    fn skip_call(&mut self) -> Result<(), LogError> {
        self.expect_punct("(", "after the function name")?;
        self.expect_string("`(`")?;
        self.expect_punct(")", "to close the call")
    }

    /// The stage after a `|`; None for a stage refused (noted in `refusal`).
    fn stage(&mut self) -> Result<Option<Stage>, LogError> {
        let token = self.peek();
        let keyword = if token.kind == Kind::Ident {
            token.text
        } else {
            ""
        };
        let refused =
            |name: &str| format!("`| {name}` is not evaluated by the embedded log engine yet");
        if self.unwrapped && STAGE_KEYWORDS.contains(&keyword) {
            return Err(syntax(AFTER_UNWRAP.to_owned(), token));
        }
        match keyword {
            "json" | "logfmt" => {
                self.advance();
                let flagged = keyword == "logfmt" && self.logfmt_flags()?;
                let parameters = self.peek().kind == Kind::Ident;
                if parameters {
                    self.extraction_parameters()?;
                }
                if flagged || parameters {
                    self.refuse(format!(
                        "`| {keyword}` with parameters or flags is not evaluated by the embedded \
                         log engine yet (`| {keyword}` alone is)"
                    ));
                    return Ok(None);
                }
                Ok(Some(if keyword == "json" {
                    Stage::Json
                } else {
                    Stage::Logfmt
                }))
            }
            "regexp" | "pattern" | "line_format" => {
                self.advance();
                self.expect_string(&format!("`{keyword}`"))?;
                self.refuse(refused(keyword));
                Ok(None)
            }
            "unpack" | "decolorize" => {
                self.advance();
                self.refuse(refused(keyword));
                Ok(None)
            }
            "label_format" => {
                self.advance();
                self.label_format()?;
                self.refuse(refused(keyword));
                Ok(None)
            }
            "drop" | "keep" => {
                self.advance();
                self.drop_or_keep(keyword)?;
                self.refuse(refused(keyword));
                Ok(None)
            }
            "unwrap" if self.in_range => {
                self.advance();
                let conversion = self.peek().at;
                let name = self.expect_ident("a label name after `unwrap`")?;
                let label = if self.is_punct("(") {
                    if !["duration", "duration_seconds", "bytes"].contains(&name.as_str()) {
                        return Err(LogError::Syntax {
                            message: format!(
                                "unknown conversion `{name}`: expected `duration`, \
                                 `duration_seconds` or `bytes`"
                            ),
                            position: conversion,
                        });
                    }
                    self.advance();
                    let label = self.expect_ident("a label name in the conversion")?;
                    self.expect_punct(")", "to close the conversion")?;
                    self.refuse(format!(
                        "`| unwrap {name}(...)` is not evaluated by the embedded log engine yet \
                         (`| unwrap LABEL` is)"
                    ));
                    label
                } else {
                    name
                };
                self.unwrapped = true;
                Ok(Some(Stage::Unwrap(label)))
            }
            "unwrap" => {
                self.advance();
                self.expect_ident("a label name after `unwrap`")?;
                if self.is_punct("(") {
                    self.advance();
                    self.expect_ident("a label name in the conversion")?;
                    self.expect_punct(")", "to close the conversion")?;
                }
                self.refuse(refused(keyword));
                Ok(None)
            }
            _ if token.kind == Kind::Ident || self.is_punct("(") => {
                Ok(Some(Stage::Labels(self.label_filter_or(0)?)))
            }
            _ => Err(syntax(
                format!(
                    "expected a parser (`json`, `logfmt`), a label filter such as \
                     `level=\"error\"` or another stage after `|`, found {}",
                    describe(token)
                ),
                token,
            )),
        }
    }

    /// `--strict`, `--keep-empty`; whether there were any.
    fn logfmt_flags(&mut self) -> Result<bool, LogError> {
        let mut any = false;
        while self.is_punct("-") {
            self.advance();
            self.expect_punct("-", "to start a logfmt flag (`--strict`, `--keep-empty`)")?;
            let flag = self.expect_ident("a logfmt flag (`strict`, `keep-empty`)")?;
            if flag == "keep" {
                self.expect_punct("-", "in `--keep-empty`")?;
                self.expect_ident("`empty` in `--keep-empty`")?;
            }
            any = true;
        }
        Ok(any)
    }

    /// `name`, `name="expression"`, separated by commas.
    fn extraction_parameters(&mut self) -> Result<(), LogError> {
        loop {
            self.expect_ident("a label name")?;
            if self.is_punct("=") {
                self.advance();
                self.expect_string("`=`")?;
            }
            if !self.is_punct(",") {
                return Ok(());
            }
            self.advance();
        }
    }

    /// `name="template"` or `name=other`, separated by commas.
    fn label_format(&mut self) -> Result<(), LogError> {
        loop {
            self.expect_ident("a label name after `label_format`")?;
            self.expect_punct("=", "after the label name")?;
            if self.peek().kind == Kind::Ident {
                self.advance();
            } else {
                self.expect_string("`=`")?;
            }
            if !self.is_punct(",") {
                return Ok(());
            }
            self.advance();
        }
    }

    /// `name` or `name="value"` (any matcher operator), separated by commas.
    fn drop_or_keep(&mut self, keyword: &str) -> Result<(), LogError> {
        loop {
            self.expect_ident(&format!("a label name after `{keyword}`"))?;
            let token = self.peek();
            if token.kind == Kind::Punct && ["=", "!=", "=~", "!~"].contains(&token.text) {
                let operator = format!("`{}`", token.text);
                self.advance();
                self.expect_string(&operator)?;
            }
            if !self.is_punct(",") {
                return Ok(());
            }
            self.advance();
        }
    }

    /// Filters joined by `or`, which binds looser than `and`.
    fn label_filter_or(&mut self, depth: usize) -> Result<LabelFilter, LogError> {
        let mut filter = self.label_filter_and(depth)?;
        while self.is_word("or") {
            self.advance();
            let right = self.label_filter_and(depth)?;
            filter = LabelFilter::Or(Box::new(filter), Box::new(right));
        }
        Ok(filter)
    }

    /// Filters joined by `and` or `,`.
    fn label_filter_and(&mut self, depth: usize) -> Result<LabelFilter, LogError> {
        let mut filter = self.label_filter_single(depth)?;
        while self.is_word("and") || self.is_punct(",") {
            self.advance();
            let right = self.label_filter_single(depth)?;
            filter = LabelFilter::And(Box::new(filter), Box::new(right));
        }
        Ok(filter)
    }

    fn label_filter_single(&mut self, depth: usize) -> Result<LabelFilter, LogError> {
        if self.is_punct("(") {
            let opening = self.peek().at;
            if depth >= MAX_NESTING {
                return Err(LogError::Syntax {
                    message: format!("label filters nested in more than {MAX_NESTING} parentheses"),
                    position: opening,
                });
            }
            self.advance();
            let inner = self.label_filter_or(depth + 1)?;
            self.expect_punct(
                ")",
                &format!(
                    "to close the `(` at line {}, column {}",
                    opening.0, opening.1
                ),
            )?;
            return Ok(inner);
        }
        let name = self.expect_ident("a label filter such as `level=\"error\"` or `(`")?;
        let operator = self.peek();
        let operator_text = operator.text;
        let comparison = match (operator.kind, operator_text) {
            (Kind::Punct, "=~") => {
                self.advance();
                let test = ValueTest::Matches(self.expect_regex("`=~`", true)?);
                return Ok(LabelFilter::Value { name, test });
            }
            (Kind::Punct, "!~") => {
                self.advance();
                let test = ValueTest::NotMatches(self.expect_regex("`!~`", true)?);
                return Ok(LabelFilter::Value { name, test });
            }
            (Kind::Punct, "=") => Comparison::Equal,
            (Kind::Punct, "!=") => Comparison::NotEqual,
            (Kind::Punct, "==") => Comparison::Equal,
            (Kind::Punct, ">") => Comparison::Greater,
            (Kind::Punct, ">=") => Comparison::GreaterOrEqual,
            (Kind::Punct, "<") => Comparison::Less,
            (Kind::Punct, "<=") => Comparison::LessOrEqual,
            _ => {
                return Err(syntax(
                    format!(
                        "expected a comparison (`=`, `!=`, `=~`, `!~`, `==`, `>`, `>=`, `<`, \
                         `<=`) after the label name `{name}`, found {}",
                        describe(operator)
                    ),
                    operator,
                ))
            }
        };
        self.advance();
        let takes_string = operator_text == "=" || operator_text == "!=";
        let value = self.peek();
        if takes_string && value.kind == Kind::String {
            let text = value.value.clone();
            self.advance();
            let test = if operator_text == "=" {
                ValueTest::Equal(text)
            } else {
                ValueTest::NotEqual(text)
            };
            return Ok(LabelFilter::Value { name, test });
        }
        if takes_string && value.kind == Kind::Ident && value.text == "ip" {
            self.advance();
            self.skip_call()?;
            self.refuse(
                "`ip()` label filters are not evaluated by the embedded log engine yet".to_owned(),
            );
            return Ok(LabelFilter::Value {
                name,
                test: ValueTest::NotEqual(String::new()),
            });
        }
        let number = self.number_literal(operator_text, takes_string)?;
        Ok(LabelFilter::Number {
            name,
            comparison,
            value: number,
        })
    }

    /// A number (maybe negative) after a comparison; a duration or byte size is refused.
    fn number_literal(&mut self, operator: &str, takes_string: bool) -> Result<f64, LogError> {
        let negative = self.is_punct("-");
        if negative {
            self.advance();
        }
        let token = self.peek();
        let expected = if takes_string {
            "a string or a number"
        } else {
            "a number"
        };
        match token.kind {
            Kind::Number => {
                let parsed: Result<f64, _> = token.text.parse();
                let Ok(value) = parsed else {
                    return Err(syntax(format!("`{}` is not a number", token.text), token));
                };
                self.advance();
                Ok(if negative { -value } else { value })
            }
            Kind::Unit if is_duration_or_bytes(token.text) => {
                self.advance();
                self.refuse(
                    "duration and byte-size comparisons (`5s`, `20MB`) in label filters are not \
                     evaluated by the embedded log engine yet"
                        .to_owned(),
                );
                Ok(0.0)
            }
            Kind::Unit => Err(syntax(
                format!(
                    "`{}` is neither a number, a duration (`5m`) nor a byte size (`20MB`)",
                    token.text
                ),
                token,
            )),
            _ => Err(syntax(
                format!(
                    "expected {expected} after `{operator}`, found {}",
                    describe(token)
                ),
                token,
            )),
        }
    }
}
