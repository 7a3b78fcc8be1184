//! Reading values out of a record, which is data and not trusted: whatever a field holds, these
//! give a value or `None`, and never panic.

use super::rows::{Exit, Place};
use super::wording::millis;
use crate::journal::Record;
use serde_json::Value;

pub(super) fn place(record: &Record) -> Place {
    Place {
        seq: record.seq,
        at: record.at.clone(),
    }
}

/// A field as text: strings as they are, numbers and booleans as JSON writes them; `None` when
/// missing or null.
pub(super) fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A field as recorded; `null` when missing.
pub(super) fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// A field as a number, also when written as a string (`"1.5"`), as Prometheus does.
pub(super) fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn strings(value: &Value, key: &str) -> Vec<String> {
    match value.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A step's failure as a person reads it: `{"error": "text"}` or `{"error": {"kind", "message"}}`.
pub(super) fn error_of(result: &Value) -> Option<String> {
    match result.get("error")? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(error) => {
            let kind = error.get("kind").and_then(Value::as_str);
            let message = error.get("message").and_then(Value::as_str);
            let after = error.get("after_ms").and_then(Value::as_f64);
            Some(match (kind, message, after) {
                (Some("timeout"), _, Some(after)) => format!("timed out after {}", millis(after)),
                (Some(kind), Some(message), _) => {
                    format!("{}: {message}", kind.replace('_', " "))
                }
                (None, Some(message), _) => message.to_owned(),
                (Some(kind), None, _) => kind.replace('_', " "),
                (None, None, _) => Value::Object(error.clone()).to_string(),
            })
        }
        other => Some(other.to_string()),
    }
}

pub(super) fn exit_of(exit: Option<&Value>) -> Exit {
    match exit {
        Some(Value::Object(map)) => {
            if let Some(code) = map.get("code").and_then(Value::as_i64) {
                Exit::Code(code)
            } else if let Some(signal) = map.get("signal").and_then(Value::as_i64) {
                Exit::Signal(signal)
            } else {
                Exit::Other(Value::Object(map.clone()).to_string())
            }
        }
        Some(Value::String(s)) if s == "not_run" => Exit::NotRun,
        Some(Value::String(s)) => Exit::Other(s.clone()),
        Some(Value::Number(n)) => n.as_i64().map(Exit::Code).unwrap_or(Exit::Unknown),
        _ => Exit::Unknown,
    }
}
