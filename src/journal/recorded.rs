//! Recording as wrappers: each wraps an op and writes one journal line per call, so that no op
//! knows it is recorded.

use super::entry::{
    ClockInput, ClockReading, Entry, LogsInput, LogsOutcome, LookupInput, LookupOutcome,
    ProbeInput, ProbeOutcome, QueryInput, QueryOutcome, RunInput, RunOutcome, RustInput,
    RustOutcome,
};
use super::record::SharedJournal;
use crate::ops::clock::Clock;
use crate::ops::command::{CommandError, CommandResult, CommandRunner, CommandSpec};
use crate::ops::logs::{LogSelection, LogSource};
use crate::ops::metrics::{Answer, Interval, MetricInfo, MetricsSource, Range, SourceError};
use crate::ops::probe::{ProbeResult, ProbeSpec, Prober};
use crate::ops::rust::{RustCells, RustError, RustRun, Values};
use crate::ops::{Io, NotRecorded};
use std::rc::Rc;
use std::time::Instant;

/// Writes an op call's line, and returns once it is on disk, as the call's result is returned.
async fn write(journal: &SharedJournal, entry: Entry, started: Instant) {
    write_built(journal, move || entry, started).await;
}

/// [`write`] with an entry that `build` makes on the journal's thread.
async fn write_built(
    journal: &SharedJournal,
    build: impl FnOnce() -> Entry + Send + 'static,
    started: Instant,
) {
    let ms = started.elapsed().as_millis() as u64;
    journal.append_built(build, ms).await;
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
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError> {
        let started = Instant::now();
        let result = self.inner.run(spec, io).await;
        if let Some(outcome) = RunOutcome::of(&result) {
            let entry = Entry::Run {
                input: RunInput::of(spec),
                result: outcome,
            };
            write(&self.journal, entry, started).await;
        }
        result
    }
}

#[async_trait::async_trait(?Send)]
impl Prober for Recorded<dyn Prober> {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, NotRecorded> {
        let started = Instant::now();
        let result = self.inner.probe(spec).await?;
        let entry = Entry::Probe {
            input: ProbeInput::of(spec),
            result: ProbeOutcome::of(&result),
        };
        write(&self.journal, entry, started).await;
        Ok(result)
    }
}

impl Clock for Recorded<dyn Clock> {
    fn now(&self) -> f64 {
        let now = self.inner.now();
        self.reading(ClockInput::NOW, now);
        now
    }

    fn stamp(&self) -> f64 {
        let now = self.inner.stamp();
        self.reading(ClockInput::STAMP, now);
        now
    }
}

impl Recorded<dyn Clock> {
    /// The clock is read in the middle of a step: its line is written before the step's own,
    /// which waits for it.
    fn reading(&self, input: ClockInput, now: f64) {
        let result = ClockReading { now: Some(now) };
        self.journal.append_later(Entry::Clock { input, result }, 0);
    }
}

#[async_trait::async_trait(?Send)]
impl RustCells for Recorded<dyn RustCells> {
    async fn eval(&self, code: &str, values: &Values, io: Io<'_>) -> Result<RustRun, RustError> {
        let started = Instant::now();
        let outcome = self.inner.eval(code, values, io).await;
        if let Some(result) = RustOutcome::of(&outcome) {
            let entry = Entry::Rust {
                input: RustInput::of(code),
                result,
            };
            write(&self.journal, entry, started).await;
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

/// A metrics or log source that records, owned by the session like the source it wraps.
pub struct RecordedSource<S: ?Sized> {
    pub name: String,
    pub inner: Box<S>,
    pub journal: SharedJournal,
}

impl RecordedSource<dyn MetricsSource> {
    async fn query(
        &self,
        input: QueryInput,
        answer: &Result<Answer, SourceError>,
        started: Instant,
    ) {
        // The answer is copied as it is, and turned into its journal form on the journal's
        // thread: formatting a large one's values takes longer than copying them.
        let answer = answer.clone();
        let build = move || Entry::Query {
            input,
            result: QueryOutcome::of(&answer),
        };
        write_built(&self.journal, build, started).await;
    }
}

impl<S: ?Sized> RecordedSource<S> {
    async fn lookup(&self, input: LookupInput, result: LookupOutcome, started: Instant) {
        write(&self.journal, Entry::Lookup { input, result }, started).await;
    }
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for RecordedSource<dyn MetricsSource> {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let started = Instant::now();
        let answer = self.inner.query_range(expr, range).await;
        self.query(QueryInput::range(&self.name, expr, range), &answer, started)
            .await;
        answer
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let started = Instant::now();
        let answer = self.inner.query_instant(expr, time).await;
        self.query(
            QueryInput::instant(&self.name, expr, time),
            &answer,
            started,
        )
        .await;
        answer
    }

    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let names = self.inner.label_names(interval).await;
        let input = LookupInput::of(&self.name, "label_names", "").within(interval);
        self.lookup(input, LookupOutcome::names(&names), started)
            .await;
        names
    }

    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let values = self.inner.label_values(label, interval).await;
        let input = LookupInput::of(&self.name, "label_values", label).within(interval);
        self.lookup(input, LookupOutcome::names(&values), started)
            .await;
        values
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        let started = Instant::now();
        let info = self.inner.metadata(metric).await;
        let input = LookupInput::of(&self.name, "metadata", metric);
        self.lookup(input, LookupOutcome::metadata(&info), started)
            .await;
        info
    }
}

#[async_trait::async_trait(?Send)]
impl LogSource for RecordedSource<dyn LogSource> {
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError> {
        let started = Instant::now();
        let selection = self.inner.select(query, interval, limit).await;
        let input = LogsInput::of(&self.name, query, interval, limit);
        // As for queries: copied here, made the journal's JSON on its thread.
        let copy = selection.clone();
        let build = move || Entry::Logs {
            input,
            result: LogsOutcome::of(&copy),
        };
        write_built(&self.journal, build, started).await;
        selection
    }

    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        let started = Instant::now();
        let names = self.inner.field_names(query, interval).await;
        let input = LookupInput::of(&self.name, "field_names", query).within(interval);
        self.lookup(input, LookupOutcome::names(&names), started)
            .await;
        names
    }

    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        let inner = self.inner.metrics()?;
        Some(Box::new(RecordedSource {
            name: self.name.clone(),
            inner,
            journal: self.journal.clone(),
        }))
    }
}
