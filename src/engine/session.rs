//! What a session remembers between cells: bound results, parameters and findings.

use super::error::{CellError, ErrorKind};
use super::syntax::{Part, Template};
use crate::ops::command::CommandResult;
use crate::ops::finding::Finding;
use std::collections::BTreeMap;

/// A step's result, as bound to a name.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Number(f64),
    Command(CommandResult),
    Finding(Finding),
}

impl Value {
    /// The value as `{{NAME}}` inserts it; only scalars have one.
    pub fn scalar(&self) -> Option<String> {
        match self {
            Value::Text(text) => Some(text.clone()),
            Value::Number(n) => Some(format_number(*n)),
            Value::Command(_) | Value::Finding(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Command(_) => "command result",
            Value::Finding(_) => "finding",
        }
    }
}

pub fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[derive(Default)]
pub struct Session {
    bindings: BTreeMap<String, Value>,
    findings: Vec<Finding>,
    /// Parameter values given from outside (`playbook run -p`), and whether a `param` took each.
    overrides: BTreeMap<String, (String, bool)>,
}

impl Session {
    pub fn set_overrides(&mut self, overrides: impl IntoIterator<Item = (String, String)>) {
        self.overrides = overrides
            .into_iter()
            .map(|(name, value)| (name, (value, false)))
            .collect();
    }

    pub fn override_for(&mut self, name: &str) -> Option<String> {
        let (value, taken) = self.overrides.get_mut(name)?;
        *taken = true;
        Some(value.clone())
    }

    pub fn pending_overrides(&self) -> Vec<&str> {
        self.overrides
            .iter()
            .filter(|(_, (_, taken))| !taken)
            .map(|(name, _)| name.as_str())
            .collect()
    }

    pub fn bind(&mut self, name: &str, value: Value) {
        self.bindings.insert(name.to_owned(), value);
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.bindings.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(String::as_str)
    }

    pub fn record_finding(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// The template's text with every `{{NAME}}` replaced by its scalar value.
    pub fn resolve(&self, template: &Template) -> Result<String, CellError> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Var { name, span } => {
                    let value = self.get(name).ok_or_else(|| {
                        CellError::new(
                            ErrorKind::UnknownName,
                            format!("`{name}` is not defined: declare it with `param {name} = ...` or bind a step to it"),
                            *span,
                        )
                    })?;
                    let scalar = value.scalar().ok_or_else(|| {
                        CellError::new(
                            ErrorKind::TypeError,
                            format!("`{name}` is a {}, which cannot be inserted into text; only parameters and scalars can", value.kind()),
                            *span,
                        )
                    })?;
                    text.push_str(&scalar);
                }
            }
        }
        Ok(text)
    }
}
