//! What a session remembers between cells: bound results, parameters and findings; how it was
//! set up; and the ops its steps reach.

use super::error::{CellError, ErrorKind, Span};
use super::scrub::Secrets;
use super::stack::{LogSpec, OpenError, Ops, SourceSpec};
use super::syntax::{Part, Template};
use super::window::Window;
use crate::model::{Event, Value};
use crate::ops::check::CheckOutcome;
use crate::ops::logs::LogSource;
use crate::ops::metrics::MetricsSource;
use crate::ops::policy::{Policy, PolicyError};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

fn keep_all(secrets: &Secrets, credentials: &[String]) -> Result<(), OpenError> {
    for credential in credentials {
        secrets.add(credential)?;
    }
    Ok(())
}

/// A declared metrics source, with what completion has learned of it so far.
#[derive(Clone)]
pub struct NamedSource {
    pub name: String,
    pub spec: SourceSpec,
    pub source: Rc<dyn MetricsSource>,
    pub vocabulary: Vocabulary,
}

impl NamedSource {
    pub fn new(name: &str, spec: SourceSpec, source: Box<dyn MetricsSource>) -> Self {
        NamedSource {
            name: name.to_owned(),
            spec,
            source: source.into(),
            vocabulary: Vocabulary::default(),
        }
    }
}

/// Declared log files.
#[derive(Clone)]
pub struct NamedLogs {
    pub name: String,
    pub spec: LogSpec,
    pub source: Rc<dyn LogSource>,
    /// The same source's metric queries, when it answers them; also what completion asks for
    /// label names and values.
    pub metrics: Option<Rc<dyn MetricsSource>>,
    pub vocabulary: Vocabulary,
}

/// Metric names, label names and label values of one source within one window, fetched once
/// for completion.
#[derive(Default, Clone)]
pub struct Vocabulary {
    /// The window as declared: a relative one (`last 1h`) keeps its names as time passes.
    pub window: Option<Window>,
    /// Why the last lookup brought nothing (the source failed or was slow), for inspect to say.
    pub failure: Option<String>,
    pub metric_names: Option<Vec<String>>,
    pub label_names: Option<Vec<String>>,
    pub label_values: HashMap<String, Vec<String>>,
    /// The fields of the lines of a log query, by the query.
    pub fields: HashMap<String, Vec<String>>,
}

impl Vocabulary {
    /// Forgets what was fetched for another window.
    pub fn keep_for(&mut self, window: Window) {
        if self.window.as_ref() != Some(&window) {
            *self = Vocabulary {
                window: Some(window),
                ..Vocabulary::default()
            };
        }
    }
}

/// What the investigation has learned so far: bound results, findings, checks, the sources and
/// the window, and the secrets to mask.
///
/// A step works on a copy of it, taken as the step starts and merged back as it ends
/// ([`Investigation::absorb`]): steps of cells running at once (the kernel's subshells) then
/// never wait for each other, nor see each other half done. Copies are cheap: values and sources
/// are shared, and the secrets are one set for every copy.
#[derive(Default, Clone)]
pub struct Investigation {
    bindings: BTreeMap<String, Rc<Value>>,
    /// Findings and checks, in the order they happened.
    timeline: Vec<Event>,
    /// Parameter values given from outside (`playbook run -p`), and whether a `param` took each.
    overrides: BTreeMap<String, (String, bool)>,
    /// In the order declared: the first is the default.
    sources: Vec<NamedSource>,
    /// Log sources apart, in the order declared: the first is the default of `logs`.
    log_sources: Vec<NamedLogs>,
    pub window: Window,
    pub secrets: Secrets,
}

/// How the session was set up, fixed for its life.
#[derive(Debug)]
pub struct Config {
    /// Consent was given in advance for every command that needs it (`playbook run --yes`).
    pub approve_all: bool,
    /// Which commands may run; a broken policy file stops every command, it does not loosen.
    pub policy: Result<Policy, PolicyError>,
}

/// A session: its investigation, how it was set up, and the ops its steps reach. A step runs on
/// a copy (see [`Investigation`]).
#[derive(Clone)]
pub struct Session {
    pub state: Investigation,
    pub config: Rc<Config>,
    pub ops: Ops,
}

impl Session {
    /// Takes in what a step changed, working on a copy of `base`, while other steps may have
    /// ended and changed this session since: see [`Investigation::absorb`]. A mode switched by
    /// the step (replay, dry run) becomes the session's.
    pub fn absorb(&mut self, base: &Session, done: Session) {
        if done.ops.switches() != base.ops.switches() {
            self.ops = done.ops;
        }
        self.state.absorb(&base.state, done.state);
    }
}

impl Investigation {
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
        self.bindings.insert(name.to_owned(), Rc::new(value));
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.bindings.get(name).map(Rc::as_ref)
    }

    /// Takes in what a step changed, working on a copy of `base`: the names it bound, the
    /// findings and checks it added (after those added meanwhile: the timeline is in the order
    /// steps ended), the parameters it took, the sources it declared or opened again, the window
    /// it set. What other steps changed meanwhile stays, unless this step changed it too.
    pub fn absorb(&mut self, base: &Investigation, done: Investigation) {
        for (name, value) in done.bindings {
            let same = (base.bindings.get(&name)).is_some_and(|before| Rc::ptr_eq(before, &value));
            if !same {
                self.bindings.insert(name, value);
            }
        }
        let added = done.timeline.len().saturating_sub(base.timeline.len());
        let start = done.timeline.len() - added;
        self.timeline.extend(done.timeline.into_iter().skip(start));
        for (name, (_, taken)) in done.overrides {
            if let (true, Some((_, mine))) = (taken, self.overrides.get_mut(&name)) {
                *mine = true;
            }
        }
        for named in done.sources {
            let before = base.sources.iter().find(|s| s.name == named.name);
            if !before.is_some_and(|b| Rc::ptr_eq(&b.source, &named.source)) {
                self.add_source(named);
            }
        }
        for named in done.log_sources {
            let before = base.log_sources.iter().find(|s| s.name == named.name);
            if !before.is_some_and(|b| Rc::ptr_eq(&b.source, &named.source)) {
                put_named(&mut self.log_sources, named, |s| &s.name);
            }
        }
        if done.window != base.window {
            self.window = done.window;
        }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.bindings.keys().map(String::as_str)
    }

    /// Adds a finding or a check to the timeline, its text masked: the timeline is read by the
    /// headless summary and JUnit as well as rendered.
    pub fn record(&mut self, event: Event) {
        let mask = |text: &mut String| *text = self.secrets.mask(text);
        let mut event = event;
        match &mut event {
            Event::Finding(finding) => mask(&mut finding.text),
            Event::Check(check) => {
                mask(&mut check.title);
                mask(&mut check.detail);
            }
        }
        self.timeline.push(event);
    }

    pub fn timeline(&self) -> &[Event] {
        &self.timeline
    }

    pub fn checks(&self) -> impl Iterator<Item = &CheckOutcome> {
        self.timeline.iter().filter_map(|event| match event {
            Event::Check(check) => Some(check),
            Event::Finding(_) => None,
        })
    }

    /// Declares a source, replacing one of the same name in its place; whether it is the
    /// default (the first declared).
    pub fn add_source(&mut self, source: NamedSource) -> bool {
        put_named(&mut self.sources, source, |s| &s.name)
    }

    /// The source by name, or the default one.
    pub fn source(
        &self,
        name: Option<(&str, Span)>,
        span: Span,
    ) -> Result<&dyn MetricsSource, CellError> {
        let logs = |wanted: Option<&str>| {
            (self.log_sources.iter())
                .filter(|s| wanted.is_none_or(|w| s.name == w))
                .find_map(|s| s.metrics.as_deref())
        };
        // Without a metrics source, log files that answer metric queries are the default.
        let wanted = name.map(|(n, _)| n);
        let found = match self.named_source(wanted) {
            Some(named) => Some(named.source.as_ref()),
            None => logs(wanted),
        };
        found.ok_or_else(|| match name {
                Some((name, at)) if self.log_sources.iter().any(|s| s.name == name) => {
                    CellError::new(
                        ErrorKind::NoSource,
                        format!("`{name}` is a log source that answers no metric query: read its lines with `logs @{name} QUERY`"),
                        at,
                    )
                }
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

    /// Declares log files, replacing a log source of the same name in its place; whether it is
    /// the default of `logs` (the first declared). A metrics source of that name is an error.
    pub fn add_log_source(&mut self, logs: NamedLogs, span: Span) -> Result<bool, CellError> {
        if self.sources.iter().any(|s| s.name == logs.name) {
            return Err(taken(&logs.name, "a metrics source", span));
        }
        Ok(put_named(&mut self.log_sources, logs, |s| &s.name))
    }

    /// Whether `name` may be given to a metrics source: not while log files have it.
    pub fn check_metrics_name(&self, name: &str, span: Span) -> Result<(), CellError> {
        match self.log_sources.iter().any(|s| s.name == name) {
            true => Err(taken(name, "a log source", span)),
            false => Ok(()),
        }
    }

    /// The log source by name, or the default one.
    pub fn log_source(
        &self,
        name: Option<(&str, Span)>,
        span: Span,
    ) -> Result<(&str, &dyn LogSource), CellError> {
        let found = match name {
            Some((name, _)) => self.log_sources.iter().find(|s| s.name == name),
            None => self.log_sources.first(),
        };
        found
            .map(|s| (s.name.as_str(), s.source.as_ref()))
            .ok_or_else(|| match name {
                Some((name, at)) if self.sources.iter().any(|s| s.name == name) => CellError::new(
                    ErrorKind::NoSource,
                    format!("`{name}` is a metrics source: query it with `query @{name} PROMQL`"),
                    at,
                ),
                Some((name, at)) => CellError::new(
                    ErrorKind::NoSource,
                    format!(
                        "no log source is named `{name}`; declared: {}",
                        self.log_sources
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    at,
                ),
                None => CellError::new(
                    ErrorKind::NoSource,
                    "no log source is declared: add `source NAME logs PATH` first",
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

    /// What completion asks for names, and where it keeps them: the metrics source `name` (the
    /// default one without a name), or the log source so named; for a `logs` statement
    /// (`logs`), the log source `name` or the default one. A log source that answers no label
    /// lookups (VictoriaLogs) has none.
    pub fn words_of(
        &mut self,
        name: Option<&str>,
        logs: bool,
    ) -> Option<(&mut Vocabulary, &dyn MetricsSource)> {
        if !logs {
            let metrics = match name {
                Some(name) => self.sources.iter_mut().find(|s| s.name == name),
                None => self.sources.first_mut(),
            };
            if let Some(named) = metrics {
                return Some((&mut named.vocabulary, named.source.as_ref()));
            }
        }
        let named = match name {
            Some(name) => self.log_sources.iter_mut().find(|s| s.name == name),
            None if logs => self.log_sources.first_mut(),
            None => None,
        }?;
        let source = named.metrics.as_deref()?;
        Some((&mut named.vocabulary, source))
    }

    /// The log source completion asks for the fields of lines, the one named or the default,
    /// and whether its queries are LogsQL (VictoriaLogs's) rather than LogQL.
    pub fn log_words_of(
        &mut self,
        name: Option<&str>,
    ) -> Option<(&mut Vocabulary, &dyn LogSource, bool)> {
        let named = match name {
            Some(name) => self.log_sources.iter_mut().find(|s| s.name == name),
            None => self.log_sources.first_mut(),
        }?;
        let logsql = matches!(named.spec, LogSpec::VictoriaLogs(..));
        Some((&mut named.vocabulary, named.source.as_ref(), logsql))
    }

    /// Opens every declared source again through `ops`, under the same names: after a switch to
    /// replay, or when a resumed run goes live. What a live opening reads is masked from then on.
    pub async fn reopen_sources(&mut self, ops: &Ops) -> Result<(), OpenError> {
        for named in &mut self.sources {
            let opened = ops.open_source(&named.name, &named.spec).await?;
            keep_all(&self.secrets, &opened.credentials)?;
            named.source = opened.source.into();
        }
        for named in &mut self.log_sources {
            let opened = ops.open_logs(&named.name, &named.spec).await?;
            keep_all(&self.secrets, &opened.credentials)?;
            named.metrics = opened.source.metrics().map(Rc::from);
            named.source = opened.source.into();
        }
        Ok(())
    }

    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| s.name.as_str()).collect()
    }

    /// The template's text with every `{{NAME}}` replaced by its scalar value, and every
    /// `{{NAME.FIELD}}` by that figure of a bound result.
    pub fn resolve(&self, template: &Template) -> Result<String, CellError> {
        self.resolve_with(template, |_, value, _| Ok(value.to_owned()))
    }

    /// A query's text (PromQL, LogQL, LogsQL) with its `{{NAME}}` filled in, each value as exactly
    /// that text ([`super::quote`]).
    pub fn resolve_query(&self, template: &Template) -> Result<String, CellError> {
        self.resolve_with(template, super::quote::insert)
    }

    /// As [`Investigation::resolve`], each value written by `insert` (given the text before it,
    /// and whether the value is a secret); an error of `insert` is a parse error at the reference.
    pub fn resolve_with(
        &self,
        template: &Template,
        insert: impl Fn(&str, &str, bool) -> Result<String, String>,
    ) -> Result<String, CellError> {
        let mut text = String::new();
        for part in &template.parts {
            match part {
                Part::Text(t) => text.push_str(t),
                Part::Var { name, field, span } => {
                    let value = self.get(name).ok_or_else(|| {
                        CellError::new(
                            ErrorKind::UnknownName,
                            format!("`{name}` is not defined: declare it with `param {name} = ...` or bind a step to it"),
                            *span,
                        )
                    })?;
                    let scalar = match field {
                        Some(field) => value.field(field).ok_or_else(|| {
                            let has = match value.fields() {
                                [] => "it has no fields".to_owned(),
                                fields => format!("it has {}", fields.join(", ")),
                            };
                            CellError::new(
                                ErrorKind::TypeError,
                                format!("`{name}` ({}) has no field `{field}`: {has}", value.kind()),
                                *span,
                            )
                        })?,
                        None => value.scalar().ok_or_else(|| {
                            let fields = match value.fields() {
                                [] => String::new(),
                                fields => format!(" (its figures can: {})", fields.iter().map(|f| format!("{{{{{name}.{f}}}}}")).collect::<Vec<_>>().join(", ")),
                            };
                            CellError::new(
                                ErrorKind::TypeError,
                                format!("`{name}` is a {}, which cannot be inserted into text; only parameters and scalars can{fields}", value.kind()),
                                *span,
                            )
                        })?,
                    };
                    let secret = matches!(value, Value::Secret { .. });
                    let written = insert(&text, &scalar, secret)
                        .map_err(|why| CellError::parse(why, *span))?;
                    text.push_str(&written);
                }
            }
        }
        Ok(text)
    }
}

/// Puts `item` in place of the one of the same name, or last; whether it is the first, which is
/// the default.
fn put_named<T>(list: &mut Vec<T>, item: T, name: impl Fn(&T) -> &String) -> bool {
    match list.iter().position(|old| name(old) == name(&item)) {
        Some(i) => {
            list[i] = item;
            i == 0
        }
        None => {
            list.push(item);
            list.len() == 1
        }
    }
}

/// A source's name already given to a source of the other kind.
fn taken(name: &str, kind: &str, span: Span) -> CellError {
    CellError::new(
        ErrorKind::ValueError,
        format!("`{name}` is already {kind}: give this source another name"),
        span,
    )
}
