//! The values a session holds and shows, shared by the engine (which binds them) and `render`
//! (which draws them), so that neither imports the other.

use crate::ops::check::CheckOutcome;
use crate::ops::command::CommandResult;
use crate::ops::finding::Finding;
use crate::ops::logs::LogSelection;
use crate::ops::metrics::{QueryResult, Range};
use crate::ops::probe::ProbeResult;
use crate::ops::slo::{Report, Slo};

/// What stands in a masked secret's place in every output.
pub const MASK: &str = "••••••";

/// A query's result as bound to a name.
#[derive(Debug, Clone)]
pub struct QueryValue {
    pub expr: String,
    pub range: Range,
    pub result: QueryResult,
}

/// A log query's lines as bound to a name.
#[derive(Debug, Clone)]
pub struct LogsValue {
    pub query: String,
    pub range: Range,
    pub selection: LogSelection,
}

/// An SLO as declared, with what it looked like over the window when it was declared.
#[derive(Debug, Clone)]
pub struct SloValue {
    pub slo: Slo,
    /// The source it was declared on, when it named one.
    pub source: Option<String>,
    pub report: Report,
}

/// A step's result, as bound to a name.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Number(f64),
    Command(CommandResult),
    Finding(Finding),
    Query(QueryValue),
    Logs(LogsValue),
    Check(CheckOutcome),
    Probe(ProbeResult),
    Slo(Box<SloValue>),
    /// Inserted by `{{NAME}}` like text, and masked wherever it would be shown.
    Secret {
        value: String,
        reference: String,
    },
}

impl Value {
    /// The value as `{{NAME}}` inserts it; only scalars have one.
    pub fn scalar(&self) -> Option<String> {
        match self {
            Value::Text(text) => Some(text.clone()),
            Value::Number(n) => Some(format_number(*n)),
            Value::Secret { value, .. } => Some(value.clone()),
            Value::Command(_)
            | Value::Finding(_)
            | Value::Query(_)
            | Value::Logs(_)
            | Value::Check(_)
            | Value::Probe(_)
            | Value::Slo(_) => None,
        }
    }

    /// What `{{NAME.FIELD}}` inserts: a figure of a result that is not text itself.
    pub fn field(&self, field: &str) -> Option<String> {
        match (self, field) {
            (Value::Logs(logs), "count") => Some(logs.selection.matched.to_string()),
            (Value::Logs(logs), "shown") => Some(logs.selection.lines.len().to_string()),
            _ => None,
        }
    }

    /// The fields [`Value::field`] answers for this kind of value.
    pub fn fields(&self) -> &'static [&'static str] {
        match self {
            Value::Logs(_) => &["count", "shown"],
            _ => &[],
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Command(_) => "command result",
            Value::Finding(_) => "finding",
            Value::Query(_) => "query result",
            Value::Logs(_) => "log result",
            Value::Check(_) => "check result",
            Value::Secret { .. } => "secret",
            Value::Probe(_) => "probe result",
            Value::Slo(_) => "SLO",
        }
    }
}

/// What the findings timeline holds, in the order it happened.
#[derive(Debug, Clone)]
pub enum Event {
    Finding(Finding),
    Check(CheckOutcome),
}

/// A number as a person reads it: whole numbers without a fraction.
pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}
