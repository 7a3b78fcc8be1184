//! What a session remembers between cells: bound results, parameters and findings.

use super::error::{CellError, ErrorKind, Span};
use super::scrub::Secrets;
use super::syntax::{Part, Template};
use super::window::Window;
use crate::journal::record::SharedJournal;
use crate::journal::replay::Recording;
use crate::ops::check::CheckOutcome;
use crate::ops::command::CommandResult;
use crate::ops::finding::Finding;
use crate::ops::metrics::{MetricsSource, QueryResult, Range};
use crate::ops::policy::Policy;
use crate::ops::probe::ProbeResult;
use crate::ops::rust::RustCells;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

/// A query's result as bound to a name.
#[derive(Debug, Clone)]
pub struct QueryValue {
    pub expr: String,
    pub range: Range,
    pub result: QueryResult,
}

/// A declared metrics source, with what completion has learned of it so far.
pub struct NamedSource {
    pub name: String,
    pub description: String,
    pub source: Box<dyn MetricsSource>,
    pub vocabulary: Vocabulary,
}

impl NamedSource {
    pub fn new(name: &str, description: String, source: Box<dyn MetricsSource>) -> Self {
        NamedSource {
            name: name.to_owned(),
            description,
            source,
            vocabulary: Vocabulary::default(),
        }
    }
}

/// Metric names, label names and label values, fetched once per source for completion.
#[derive(Default)]
pub struct Vocabulary {
    pub metric_names: Option<Vec<String>>,
    pub label_names: Option<Vec<String>>,
    pub label_values: HashMap<String, Vec<String>>,
}

/// A step's result, as bound to a name.
#[derive(Debug, Clone)]
pub enum Value {
    Text(String),
    Number(f64),
    Command(CommandResult),
    Finding(Finding),
    Query(QueryValue),
    Check(CheckOutcome),
    Probe(ProbeResult),
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
            | Value::Check(_)
            | Value::Probe(_) => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Value::Text(_) => "text",
            Value::Number(_) => "number",
            Value::Command(_) => "command result",
            Value::Finding(_) => "finding",
            Value::Query(_) => "query result",
            Value::Check(_) => "check result",
            Value::Secret { .. } => "secret",
            Value::Probe(_) => "probe result",
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

pub struct Session {
    bindings: BTreeMap<String, Value>,
    findings: Vec<Finding>,
    /// Parameter values given from outside (`playbook run -p`), and whether a `param` took each.
    overrides: BTreeMap<String, (String, bool)>,
    /// In the order declared: the first is the default.
    sources: Vec<NamedSource>,
    pub window: Window,
    /// The range the last `window` statement resolved to, for the journal.
    pub window_resolved: Option<Range>,
    checks: Vec<CheckOutcome>,
    pub secrets: Secrets,
    /// Commands are shown, not started.
    pub dry_run: bool,
    /// Consent was given in advance for every command that needs it (`playbook run --yes`).
    pub approve_all: bool,
    /// Which commands may run; a broken policy file stops every command, it does not loosen.
    pub policy: Result<Policy, String>,
    pub journal: Option<SharedJournal>,
    /// Where relative paths in the notebook start: its folder.
    pub base_dir: std::path::PathBuf,
    /// The journal that answers every step, once the session replays.
    pub recording: Option<Rc<Recording>>,
    /// Evaluates `%%rust` cells; its Rust variables live as long as the session.
    pub rust: Box<dyn RustCells>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            bindings: BTreeMap::new(),
            findings: Vec::new(),
            overrides: BTreeMap::new(),
            sources: Vec::new(),
            window: Window::default(),
            window_resolved: None,
            checks: Vec::new(),
            secrets: Secrets::default(),
            dry_run: false,
            approve_all: false,
            policy: Ok(Policy::default()),
            journal: None,
            base_dir: std::path::PathBuf::from("."),
            recording: None,
            rust: crate::ops::rust::live(),
        }
    }
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

    pub fn record_check(&mut self, outcome: CheckOutcome) {
        self.checks.push(outcome);
    }

    pub fn checks(&self) -> &[CheckOutcome] {
        &self.checks
    }

    /// Declares a source, replacing one of the same name in its place; whether it is the
    /// default (the first declared).
    pub fn add_source(&mut self, source: NamedSource) -> bool {
        match self.sources.iter().position(|s| s.name == source.name) {
            Some(i) => {
                self.sources[i] = source;
                i == 0
            }
            None => {
                self.sources.push(source);
                self.sources.len() == 1
            }
        }
    }

    /// The source by name, or the default one.
    pub fn source(
        &self,
        name: Option<(&str, Span)>,
        span: Span,
    ) -> Result<&dyn MetricsSource, CellError> {
        self.named_source(name.map(|(n, _)| n))
            .map(|s| s.source.as_ref())
            .ok_or_else(|| match name {
                Some((name, at)) => CellError::new(
                    ErrorKind::NoSource,
                    format!(
                        "no source is named `{name}`; declared: {}",
                        self.source_names().join(", ")
                    ),
                    at,
                ),
                None => CellError::new(
                    ErrorKind::NoSource,
                    "no metrics source is declared: add `source NAME prometheus URL` first",
                    span,
                ),
            })
    }

    pub fn named_source(&self, name: Option<&str>) -> Option<&NamedSource> {
        match name {
            Some(name) => self.sources.iter().find(|s| s.name == name),
            None => self.sources.first(),
        }
    }

    pub fn named_source_mut(&mut self, name: Option<&str>) -> Option<&mut NamedSource> {
        match name {
            Some(name) => self.sources.iter_mut().find(|s| s.name == name),
            None => self.sources.first_mut(),
        }
    }

    pub fn sources_mut(&mut self) -> impl Iterator<Item = &mut NamedSource> {
        self.sources.iter_mut()
    }

    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name.as_str()).collect()
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
