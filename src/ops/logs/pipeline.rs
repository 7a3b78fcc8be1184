//! A parsed log query and its evaluation on one line: line filters, parsers, label filters,
//! in the order the query gives them.

use super::{files::scalar_text, logfmt, Labels};
use regex::Regex;
use std::borrow::Cow;

pub struct LogQuery {
    pub selector: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

pub struct Matcher {
    pub name: String,
    pub test: ValueTest,
}

/// A test of a label's value; a missing label has the empty value, as in Loki.
pub enum ValueTest {
    Equal(String),
    NotEqual(String),
    /// Anchored at both ends, as Prometheus and Loki anchor label regexes.
    Matches(Regex),
    NotMatches(Regex),
}

pub enum Stage {
    Line(LineFilter),
    Json,
    Logfmt,
    Labels(LabelFilter),
    /// `| unwrap LABEL`, in a metric query's range: the metric evaluation splits the pipeline
    /// there and takes the label's value; `run` never meets it.
    Unwrap(String),
}

/// `|= "a" or "b"` keeps lines holding any of the alternatives; `!= "a" or "b"` those holding
/// none.
pub struct LineFilter {
    pub negated: bool,
    pub alternatives: Alternatives,
}

pub enum Alternatives {
    Text(Vec<String>),
    /// Unanchored: a match anywhere in the line.
    Pattern(Vec<Regex>),
}

pub enum LabelFilter {
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    Value {
        name: String,
        test: ValueTest,
    },
    /// A label whose value is not a number fails every comparison.
    Number {
        name: String,
        comparison: Comparison,
        value: f64,
    },
}

#[derive(Debug, Clone, Copy)]
pub enum Comparison {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

const JSON_ERROR: &str = "JSONParserErr";
const LOGFMT_ERROR: &str = "LogfmtParserErr";
const ERROR_LABEL: &str = "__error__";

impl LogQuery {
    pub fn selects(&self, stream: &Labels) -> bool {
        self.selector
            .iter()
            .all(|m| m.test.passes(label(stream, &m.name)))
    }

    /// The labels of the line if the pipeline keeps it: the stream's, plus what parsers found.
    pub fn run<'s>(&self, stream: &'s Labels, line: &str) -> Option<Cow<'s, Labels>> {
        let mut labels = Cow::Borrowed(stream);
        for stage in &self.stages {
            match stage {
                Stage::Line(filter) => {
                    if !filter.passes(line) {
                        return None;
                    }
                }
                Stage::Json => parse_json(line, stream, labels.to_mut()),
                Stage::Logfmt => parse_logfmt(line, stream, labels.to_mut()),
                Stage::Labels(filter) => {
                    if !filter.passes(&labels) {
                        return None;
                    }
                }
                Stage::Unwrap(_) => {}
            }
        }
        Some(labels)
    }
}

fn label<'l>(labels: &'l Labels, name: &str) -> &'l str {
    labels.get(name).map_or("", String::as_str)
}

impl ValueTest {
    pub fn passes(&self, value: &str) -> bool {
        match self {
            ValueTest::Equal(expected) => value == expected,
            ValueTest::NotEqual(expected) => value != expected,
            ValueTest::Matches(pattern) => pattern.is_match(value),
            ValueTest::NotMatches(pattern) => !pattern.is_match(value),
        }
    }
}

impl LineFilter {
    fn passes(&self, line: &str) -> bool {
        let found = match &self.alternatives {
            Alternatives::Text(texts) => texts.iter().any(|t| line.contains(t.as_str())),
            Alternatives::Pattern(patterns) => patterns.iter().any(|p| p.is_match(line)),
        };
        found != self.negated
    }
}

impl LabelFilter {
    pub fn passes(&self, labels: &Labels) -> bool {
        match self {
            LabelFilter::And(left, right) => left.passes(labels) && right.passes(labels),
            LabelFilter::Or(left, right) => left.passes(labels) || right.passes(labels),
            LabelFilter::Value { name, test } => test.passes(label(labels, name)),
            LabelFilter::Number {
                name,
                comparison,
                value,
            } => {
                let Ok(actual) = label(labels, name).trim().parse::<f64>() else {
                    return false;
                };
                match comparison {
                    Comparison::Equal => actual == *value,
                    Comparison::NotEqual => actual != *value,
                    Comparison::Greater => actual > *value,
                    Comparison::GreaterOrEqual => actual >= *value,
                    Comparison::Less => actual < *value,
                    Comparison::LessOrEqual => actual <= *value,
                }
            }
        }
    }
}

/// `| json`: nested objects flattened with `_`, arrays and nulls skipped.
fn parse_json(line: &str, stream: &Labels, labels: &mut Labels) {
    match serde_json::from_str::<serde_json::Value>(line) {
        Ok(serde_json::Value::Object(object)) => flatten("", &object, stream, labels),
        _ => {
            labels.insert(ERROR_LABEL.to_owned(), JSON_ERROR.to_owned());
        }
    }
}

fn flatten(
    prefix: &str,
    object: &serde_json::Map<String, serde_json::Value>,
    stream: &Labels,
    labels: &mut Labels,
) {
    for (key, value) in object {
        let part = sanitize(key);
        let name = if prefix.is_empty() {
            part
        } else {
            format!("{prefix}_{part}")
        };
        match value {
            serde_json::Value::Object(inner) => flatten(&name, inner, stream, labels),
            scalar => {
                if let Some(text) = scalar_text(scalar) {
                    set_parsed(name, text, stream, labels);
                }
            }
        }
    }
}

/// `| logfmt`: empty values skipped (Loki's default without `--keep-empty`); on malformed input
/// the pairs before the fault are kept and `__error__` is set.
fn parse_logfmt(line: &str, stream: &Labels, labels: &mut Labels) {
    let (pairs, failed) = match logfmt::pairs(line) {
        Ok(pairs) => (pairs, false),
        Err(malformed) => (malformed.before, true),
    };
    for (key, value) in pairs {
        if !value.is_empty() {
            set_parsed(sanitize(&key), value, stream, labels);
        }
    }
    if failed {
        labels.insert(ERROR_LABEL.to_owned(), LOGFMT_ERROR.to_owned());
    }
}

/// Loki's rule: a parsed name that a stream label already has gets `_extracted`, so that the
/// stream label is not overwritten.
fn set_parsed(name: String, value: String, stream: &Labels, labels: &mut Labels) {
    if name.is_empty() {
        return;
    }
    let name = if name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("_{name}")
    } else {
        name
    };
    let name = if stream.contains_key(&name) {
        format!("{name}_extracted")
    } else {
        name
    };
    labels.insert(name, value);
}

/// Characters a label name cannot have become `_`.
fn sanitize(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
