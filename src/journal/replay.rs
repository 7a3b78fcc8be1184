//! Replay as stand-ins for the ops: every call is answered from a journal, by its key, in the
//! order recorded. Nothing reaches the world: a call the journal does not hold is `NotRecorded`,
//! never a live call, and no command ever runs.

use super::codec;
use super::read;
use super::{key_of, JournalError, Record};
use crate::ops::clock::Clock;
use crate::ops::command::{CommandError, CommandResult, CommandRunner, CommandSpec, Stream};
use crate::ops::metrics::{Answer, MetricInfo, MetricsSource, Range, SourceError};
use crate::ops::probe::{ProbeResult, ProbeSpec, Prober};
use crate::ops::rust::{RustCells, RustError, RustRun};
use crate::ops::NotRecorded;
use playbook_bridge::Bound;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A loaded journal and which of its records have answered already.
pub struct Recording {
    path: PathBuf,
    records: Vec<Record>,
    used: RefCell<Vec<bool>>,
}

impl Recording {
    /// Loads a journal for replay. A broken chain is refused: a replay must show what was seen.
    pub fn load(path: &Path) -> Result<Rc<Recording>, JournalError> {
        let loaded = read::load(path)?;
        if let Some(first) = loaded.breaks.first() {
            return Err(JournalError::Changed {
                path: path.to_owned(),
                first_break: first.clone(),
            });
        }
        for warning in &loaded.warnings {
            log::warn!("{}: {warning}", path.display());
        }
        let used = RefCell::new(vec![false; loaded.records.len()]);
        Ok(Rc::new(Recording {
            path: path.to_owned(),
            records: loaded.records,
            used,
        }))
    }

    /// The first unused record of `step` whose input is `input`.
    fn take(&self, step: &str, input: &Value) -> Result<&Record, NotRecorded> {
        let key = key_of(input);
        let mut used = self.used.borrow_mut();
        let found = self
            .records
            .iter()
            .enumerate()
            .find(|(i, r)| !used[*i] && r.step == step && r.key == key);
        match found {
            Some((i, record)) => {
                used[i] = true;
                Ok(record)
            }
            None => Err(self.not_recorded(step, input)),
        }
    }

    fn not_recorded(&self, step: &str, input: &Value) -> NotRecorded {
        let wanted = input.as_object();
        // The closest: the record of the same kind sharing the most input fields.
        let closest = self
            .records
            .iter()
            .filter(|r| r.step == step)
            .max_by_key(|r| match (wanted, r.input.as_object()) {
                (Some(w), Some(have)) => w.iter().filter(|(k, v)| have.get(*k) == Some(v)).count(),
                _ => 0,
            });
        let asked = serde_json::to_string(input).unwrap_or_default();
        let hint = match closest {
            Some(r) => format!(
                "; the closest recorded {step} is step {} ({})",
                r.seq,
                serde_json::to_string(&r.input).unwrap_or_default()
            ),
            None => format!("; the journal holds no {step} step at all"),
        };
        NotRecorded(format!(
            "this {step} is not in the journal {} ({asked}){hint}",
            self.path.display()
        ))
    }
}

pub struct ReplayCommands(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl CommandRunner for ReplayCommands {
    async fn run(
        &self,
        spec: &CommandSpec,
        output: &dyn Fn(Stream, String),
        _interrupt: &CancellationToken,
    ) -> Result<CommandResult, CommandError> {
        let record = self
            .0
            .take("run", &codec::command_input(spec))
            .map_err(CommandError::NotRecorded)?;
        if let Some(after) = record.result["error"]["after_ms"].as_u64() {
            return Err(CommandError::TimedOut(Duration::from_millis(after)));
        }
        let result = codec::command_result_from(&record.result, &spec.command);
        output(Stream::Stdout, result.stdout.clone());
        output(Stream::Stderr, result.stderr.clone());
        Ok(result)
    }
}

pub struct ReplayProber(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl Prober for ReplayProber {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, NotRecorded> {
        let record = self.0.take("probe", &codec::probe_input(spec))?;
        Ok(codec::probe_result_from(&record.result, &spec.url))
    }
}

/// A Rust cell answered from the journal: what it printed and showed, never evaluated again.
pub struct ReplayRust(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl RustCells for ReplayRust {
    async fn eval(
        &self,
        code: &str,
        _values: &BTreeMap<String, Bound>,
        output: &dyn Fn(Stream, String),
        _interrupt: &CancellationToken,
    ) -> Result<RustRun, RustError> {
        let record = self
            .0
            .take("rust", &codec::rust_input(code))
            .map_err(RustError::NotRecorded)?;
        let run = codec::rust_result_from(&record.result)?;
        output(Stream::Stdout, run.stdout.clone());
        output(Stream::Stderr, run.stderr.clone());
        Ok(run)
    }
}

/// The recorded `now`s, in order; past the last, the last.
pub struct ReplayClock(pub Rc<Recording>);

impl Clock for ReplayClock {
    fn now(&self) -> f64 {
        let recording = &self.0;
        match recording.take("clock", &serde_json::json!({})) {
            Ok(record) => record.result["now"].as_f64().unwrap_or(0.0),
            Err(_) => recording
                .records
                .iter()
                .rev()
                .find_map(|r| {
                    (r.step == "clock")
                        .then(|| r.result["now"].as_f64())
                        .flatten()
                })
                .unwrap_or(0.0),
        }
    }
}

pub struct ReplaySource {
    pub name: String,
    pub recording: Rc<Recording>,
}

impl ReplaySource {
    fn lookup(&self, call: &str, argument: &str) -> Result<&Value, SourceError> {
        let input = codec::lookup_input(&self.name, call, argument);
        self.recording
            .take("lookup", &input)
            .map(|r| &r.result)
            .map_err(SourceError::NotRecorded)
    }
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for ReplaySource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let input = codec::range_input(&self.name, expr, range);
        let record = self
            .recording
            .take("query", &input)
            .map_err(SourceError::NotRecorded)?;
        codec::answer_from(&record.result)
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let input = codec::instant_input(&self.name, expr, time);
        let record = self
            .recording
            .take("query", &input)
            .map_err(SourceError::NotRecorded)?;
        codec::answer_from(&record.result)
    }

    async fn label_names(&self) -> Result<Vec<String>, SourceError> {
        codec::names_from(self.lookup("label_names", "")?)
    }

    async fn label_values(&self, label: &str) -> Result<Vec<String>, SourceError> {
        codec::names_from(self.lookup("label_values", label)?)
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        codec::metadata_from(self.lookup("metadata", metric)?)
    }
}
