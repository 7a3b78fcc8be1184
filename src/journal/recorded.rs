//! Recording as wrappers: each wraps an op and writes one journal line per call, so that no op
//! knows it is recorded.

use super::codec;
use super::record::SharedJournal;
use crate::ops::clock::Clock;
use crate::ops::command::{CommandError, CommandResult, CommandRunner, CommandSpec, Stream};
use crate::ops::metrics::{Answer, MetricInfo, MetricsSource, Range, SourceError};
use crate::ops::probe::{ProbeResult, ProbeSpec, Prober};
use crate::ops::rust::{RustCells, RustError, RustRun};
use crate::ops::NotRecorded;
use playbook_bridge::Bound;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

fn write(journal: &SharedJournal, step: &str, input: Value, result: Value, started: Instant) {
    let ms = started.elapsed().as_millis() as u64;
    // A journal that cannot be written must not stop the investigation: it is said once, loudly.
    if let Err(problem) = journal.borrow_mut().append(step, input, result, ms) {
        log::error!("{problem}");
    }
}

/// An op that writes a journal line for each call it completes.
pub struct Recorded<T: ?Sized> {
    inner: Rc<T>,
    journal: SharedJournal,
}

impl<T: ?Sized> Recorded<T> {
    pub fn wrap(inner: Rc<T>, journal: &SharedJournal) -> Rc<Self> {
        Rc::new(Recorded {
            inner,
            journal: journal.clone(),
        })
    }
}

#[async_trait::async_trait(?Send)]
impl CommandRunner for Recorded<dyn CommandRunner> {
    async fn run(
        &self,
        spec: &CommandSpec,
        output: &dyn Fn(Stream, String),
        interrupt: &CancellationToken,
    ) -> Result<CommandResult, CommandError> {
        let started = Instant::now();
        let result = self.inner.run(spec, output, interrupt).await;
        let recorded = match &result {
            Ok(result) => Some(codec::command_result(result)),
            Err(CommandError::TimedOut(after)) => Some(
                json!({ "error": { "kind": "timeout", "after_ms": after.as_millis() as u64 } }),
            ),
            // An interrupted or unstartable command is not a completed step.
            Err(_) => None,
        };
        if let Some(recorded) = recorded {
            write(
                &self.journal,
                "run",
                codec::command_input(spec),
                recorded,
                started,
            );
        }
        result
    }
}

#[async_trait::async_trait(?Send)]
impl Prober for Recorded<dyn Prober> {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, NotRecorded> {
        let started = Instant::now();
        let result = self.inner.probe(spec).await?;
        write(
            &self.journal,
            "probe",
            codec::probe_input(spec),
            codec::probe_result(&result),
            started,
        );
        Ok(result)
    }
}

impl Clock for Recorded<dyn Clock> {
    fn now(&self) -> f64 {
        let now = self.inner.now();
        let result = json!({ "now": now });
        write(&self.journal, "clock", json!({}), result, Instant::now());
        now
    }

    fn stamp(&self) -> f64 {
        let now = self.inner.stamp();
        let result = json!({ "now": now });
        write(
            &self.journal,
            "clock",
            codec::stamp_input(),
            result,
            Instant::now(),
        );
        now
    }
}

#[async_trait::async_trait(?Send)]
impl RustCells for Recorded<dyn RustCells> {
    async fn eval(
        &self,
        code: &str,
        values: &BTreeMap<String, Bound>,
        output: &dyn Fn(Stream, String),
        interrupt: &CancellationToken,
    ) -> Result<RustRun, RustError> {
        let started = Instant::now();
        let outcome = self.inner.eval(code, values, output, interrupt).await;
        if let Some(result) = codec::rust_result(&outcome) {
            write(
                &self.journal,
                "rust",
                codec::rust_input(code),
                result,
                started,
            );
        }
        outcome
    }

    // Completion and inspect are not steps: they are asked of the op, never recorded.
    async fn complete(&self, code: &str, cursor: usize) -> Option<(Vec<String>, usize, usize)> {
        self.inner.complete(code, cursor).await
    }

    async fn inspect(&self, code: &str, cursor: usize) -> Option<(String, String)> {
        self.inner.inspect(code, cursor).await
    }
}

/// A metrics source that records, owned by the session like the source it wraps.
pub struct RecordedSource {
    pub name: String,
    pub inner: Box<dyn MetricsSource>,
    pub journal: SharedJournal,
}

impl RecordedSource {
    fn write(&self, step: &str, input: Value, result: Value, started: Instant) {
        write(&self.journal, step, input, result, started);
    }
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for RecordedSource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let started = Instant::now();
        let answer = self.inner.query_range(expr, range).await;
        let input = codec::range_input(&self.name, expr, range);
        self.write("query", input, codec::answer_result(&answer), started);
        answer
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let started = Instant::now();
        let answer = self.inner.query_instant(expr, time).await;
        let input = codec::instant_input(&self.name, expr, time);
        self.write("query", input, codec::answer_result(&answer), started);
        answer
    }

    async fn label_names(&self) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let names = self.inner.label_names().await;
        let input = codec::lookup_input(&self.name, "label_names", "");
        self.write("lookup", input, codec::names_result(&names), started);
        names
    }

    async fn label_values(&self, label: &str) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let values = self.inner.label_values(label).await;
        let input = codec::lookup_input(&self.name, "label_values", label);
        self.write("lookup", input, codec::names_result(&values), started);
        values
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        let started = Instant::now();
        let info = self.inner.metadata(metric).await;
        let input = codec::lookup_input(&self.name, "metadata", metric);
        self.write("lookup", input, codec::metadata_result(&info), started);
        info
    }
}
