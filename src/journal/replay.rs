//! Replay as stand-ins for the ops: every call is answered from a journal, by its key, in the
//! order recorded. Nothing reaches the world: a call the journal does not hold is `NotRecorded`,
//! never a live call, and no command ever runs.

use super::entry::{
    json, CellInput, ClockInput, Entry, LogsInput, LookupInput, LookupOutcome, OpInput, ProbeInput,
    QueryInput, RunInput, RunOutcome, RustInput,
};
use super::record::Mask;
use super::verdict::{self, Trust, Verdict};
use super::{key_of, mask_json, read, JournalError, Record};
use crate::ops::clock::Clock;
use crate::ops::command::{CommandError, CommandResult, CommandRunner, CommandSpec, Exit, Stream};
use crate::ops::logs::{LogSelection, LogSource};
use crate::ops::metrics::{Answer, Interval, MetricInfo, MetricsSource, Range, SourceError};
use crate::ops::probe::{ProbeResult, ProbeSpec, Prober};
use crate::ops::rust::{RustCells, RustError, RustRun, Values};
use crate::ops::{Io, NotRecorded};
use serde_json::Value;
use std::cell::{Cell, OnceCell, RefCell};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// A loaded journal and which of its records have answered already.
pub struct Recording {
    path: PathBuf,
    records: Vec<Record>,
    used: RefCell<Vec<bool>>,
    verdict: Verdict,
    /// The session's secrets' mask, given when the recording becomes a session's: inputs were
    /// recorded masked, so they are asked masked.
    mask: OnceCell<Mask>,
}

impl Recording {
    /// Loads a journal for replay, judging it against `trust`. A broken journal is refused: a
    /// replay must show what was seen. One that is unsigned, truncated or signed by an unknown key
    /// replays, and its verdict says what that replay is worth.
    pub fn load(path: &Path, trust: &Trust) -> Result<Rc<Recording>, JournalError> {
        Recording::judged(path, read::load(path)?, trust)
    }

    /// [`Recording::load`] for a journal already read from `path`.
    pub fn judged(
        path: &Path,
        loaded: read::Loaded,
        trust: &Trust,
    ) -> Result<Rc<Recording>, JournalError> {
        let verdict = verdict::judge(&loaded, trust);
        if let Verdict::Broken { .. } = verdict {
            return Err(JournalError::Changed {
                path: path.to_owned(),
                first_break: verdict.to_string(),
            });
        }
        for warning in &loaded.warnings {
            log::warn!("{}: {warning}", path.display());
        }
        let records = superseded_left_out(loaded.records);
        let used = RefCell::new(vec![false; records.len()]);
        Ok(Rc::new(Recording {
            path: path.to_owned(),
            records,
            used,
            verdict,
            mask: OnceCell::new(),
        }))
    }

    /// What the journal's integrity is.
    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cells of `playbook run` that the journal holds, each with the step of its record.
    pub fn cells(&self) -> impl Iterator<Item = (u64, &CellInput)> {
        self.records.iter().filter_map(|r| match &r.entry {
            Entry::Cell { input } => Some((r.seq, input)),
            _ => None,
        })
    }

    /// The titles of the checks that failed, each once, in the order recorded.
    pub fn failed_checks(&self) -> Vec<String> {
        let mut titles: Vec<String> = Vec::new();
        for record in &self.records {
            if let Entry::Check { input, result } = &record.entry {
                let title = input.title.clone().unwrap_or_default();
                if result.passed == Some(false) && !titles.contains(&title) {
                    titles.push(title);
                }
            }
        }
        titles
    }

    /// The commands recorded after step `after` in cells that did not end, in order: those of
    /// the cell a resumed run stopped in, which its first live cell may find done. A cell's
    /// records come before its `cell` line.
    fn runs_after(&self, after: u64) -> VecDeque<usize> {
        let mut unfinished = VecDeque::new();
        let mut cell = Vec::new();
        for (i, record) in self
            .records
            .iter()
            .enumerate()
            .filter(|(_, r)| r.seq > after)
        {
            match &record.entry {
                Entry::Run { .. } => cell.push(i),
                Entry::Cell { input } if input.ok => cell.clear(),
                Entry::Cell { .. } => unfinished.extend(cell.drain(..)),
                _ => {}
            }
        }
        unfinished.extend(cell);
        unfinished
    }

    /// Asks with the secrets of the engine that replays this journal (set once, when it starts).
    pub fn mask_with(&self, mask: Mask) {
        let _ = self.mask.set(mask);
    }

    /// An input as it was recorded, masked, and its key.
    fn keyed<I: OpInput>(&self, input: &I) -> (Value, String) {
        let input = match self.mask.get() {
            Some(mask) => mask_json(mask, json(input)),
            None => json(input),
        };
        let key = key_of(&input);
        (input, key)
    }

    /// The result of the first unused record of `input`'s kind whose key is `input`'s.
    fn take<I: OpInput>(&self, input: &I) -> Result<&I::Result, NotRecorded> {
        let (input, key) = self.keyed(input);
        let mut used = self.used.borrow_mut();
        let found =
            self.records
                .iter()
                .enumerate()
                .find_map(|(i, r)| match I::result_in(&r.entry) {
                    Some(result) if !used[i] && r.key == key => Some((i, result)),
                    _ => None,
                });
        match found {
            Some((i, result)) => {
                used[i] = true;
                Ok(result)
            }
            None => Err(self.not_recorded(I::STEP, &input)),
        }
    }

    fn not_recorded(&self, step: &str, input: &Value) -> NotRecorded {
        let wanted = input.as_object();
        let inputs = self
            .records
            .iter()
            .filter(|r| r.entry.step() == step)
            .map(|r| (r, r.entry.to_json().0));
        // The closest: the record of the same kind sharing the most input fields.
        let closest = inputs.max_by_key(|(_, have)| match (wanted, have.as_object()) {
            (Some(w), Some(have)) => w.iter().filter(|(k, v)| have.get(*k) == Some(v)).count(),
            _ => 0,
        });
        let journal = self.path.display();
        let Some((record, have)) = closest else {
            return NotRecorded(format!(
                "this {step} is not in the journal {journal}, which holds no {step} step at all ({})",
                compact(input)
            ));
        };
        // Only the fields that differ: the rest would read the same twice, secrets masked alike.
        let (asked, recorded) = differing_fields(input, &have);
        NotRecorded(if asked.is_empty() && recorded.is_empty() {
            format!(
                "this {step} ({}) is in the journal {journal} (step {}), but every recorded {step} like it has answered already",
                compact(input),
                record.seq
            )
        } else {
            format!(
                "this {step} is not in the journal {journal}: it asks {asked}; the closest recorded {step} is step {}, with {recorded}",
                record.seq
            )
        })
    }
}

/// The records as a replay and a resumption read them: a `resume` line leaves out the records
/// between the step it resumed after and itself, which the resumed run did again.
fn superseded_left_out(records: Vec<Record>) -> Vec<Record> {
    let mut kept: Vec<Record> = Vec::with_capacity(records.len());
    for record in records {
        if let Entry::Resume { input } = &record.entry {
            kept.retain(|r| r.seq <= input.after);
        }
        kept.push(record);
    }
    kept
}

fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The fields in which `asked` and `have` differ, written as `name value, ...` for each side.
fn differing_fields(asked: &Value, have: &Value) -> (String, String) {
    let (Some(asked), Some(have)) = (asked.as_object(), have.as_object()) else {
        return (compact(asked), compact(have));
    };
    let mut names: Vec<&String> = asked.keys().chain(have.keys()).collect();
    names.sort();
    names.dedup();
    let side = |fields: &serde_json::Map<String, Value>| {
        names
            .iter()
            .filter(|name| asked.get(name.as_str()) != have.get(name.as_str()))
            .map(|name| match fields.get(name.as_str()) {
                Some(value) => format!("{name} {}", compact(value)),
                None => format!("no {name}"),
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    (side(asked), side(have))
}

pub struct ReplayCommands(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl CommandRunner for ReplayCommands {
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError> {
        let output = io.output;
        let recorded = self
            .0
            .take(&RunInput::of(spec))
            .map_err(CommandError::NotRecorded)?;
        let result = recorded.to_result(&spec.command)?;
        output(Stream::Stdout, result.stdout.clone());
        output(Stream::Stderr, result.stderr.clone());
        Ok(result)
    }
}

/// Live commands after a resumption, but for those the resumed run completed in the cell it
/// stopped in: while the cell asks them again in the order recorded, each that ran to a zero exit
/// is answered from the journal, so that no command runs twice. The first that differs, or
/// failed, runs live, and every command after it.
pub struct ResumedCommands {
    recording: Rc<Recording>,
    done: RefCell<VecDeque<usize>>,
    live: Rc<dyn CommandRunner>,
}

impl ResumedCommands {
    pub fn new(recording: Rc<Recording>, after: u64, live: Rc<dyn CommandRunner>) -> Self {
        let done = RefCell::new(recording.runs_after(after));
        ResumedCommands {
            recording,
            done,
            live,
        }
    }

    /// The recorded outcome of `spec`, when it is the next command done and it succeeded.
    fn done(&self, spec: &CommandSpec) -> Option<&RunOutcome> {
        let mut done = self.done.borrow_mut();
        let (_, key) = self.recording.keyed(&RunInput::of(spec));
        let next = done.pop_front().map(|i| &self.recording.records[i]);
        match next {
            Some(Record {
                key: recorded,
                entry: Entry::Run { result, .. },
                ..
            }) if *recorded == key && result.exit == Some(Exit::Code(0)) => Some(result),
            _ => {
                done.clear();
                None
            }
        }
    }
}

#[async_trait::async_trait(?Send)]
impl CommandRunner for ResumedCommands {
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError> {
        let Some(recorded) = self.done(spec) else {
            return self.live.run(spec, io).await;
        };
        let result = recorded.to_result(&spec.command)?;
        (io.output)(Stream::Stdout, result.stdout.clone());
        (io.output)(Stream::Stderr, result.stderr.clone());
        Ok(result)
    }
}

pub struct ReplayProber(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl Prober for ReplayProber {
    async fn probe(&self, spec: &ProbeSpec) -> Result<ProbeResult, NotRecorded> {
        let recorded = self.0.take(&ProbeInput::of(spec))?;
        Ok(recorded.to_result(&spec.url))
    }
}

/// A Rust cell answered from the journal: what it printed and showed, never evaluated again.
pub struct ReplayRust(pub Rc<Recording>);

#[async_trait::async_trait(?Send)]
impl RustCells for ReplayRust {
    async fn eval(&self, code: &str, _values: &Values, io: Io<'_>) -> Result<RustRun, RustError> {
        let output = io.output;
        let recorded = self
            .0
            .take(&RustInput::of(code))
            .map_err(RustError::NotRecorded)?;
        let run = recorded.to_result()?;
        output(Stream::Stdout, run.stdout.clone());
        output(Stream::Stderr, run.stderr.clone());
        Ok(run)
    }
}

/// The recorded `now`s, in order; past the last, the last. A stamp that the journal does not
/// hold (it was written before stamps were recorded) is the last `now` answered.
pub struct ReplayClock {
    recording: Rc<Recording>,
    last: Cell<Option<f64>>,
}

impl ReplayClock {
    pub fn new(recording: Rc<Recording>) -> Self {
        ReplayClock {
            recording,
            last: Cell::new(None),
        }
    }

    fn recorded(&self, input: &ClockInput) -> Option<f64> {
        self.recording.take(input).ok()?.now
    }

    /// The last `now` the journal holds.
    fn latest(&self) -> f64 {
        self.recording
            .records
            .iter()
            .rev()
            .find_map(|r| match &r.entry {
                Entry::Clock { input, result } if !input.stamp => result.now,
                _ => None,
            })
            .unwrap_or(0.0)
    }
}

impl Clock for ReplayClock {
    fn now(&self) -> f64 {
        let now = self
            .recorded(&ClockInput::NOW)
            .unwrap_or_else(|| self.latest());
        self.last.set(Some(now));
        now
    }

    fn stamp(&self) -> f64 {
        self.recorded(&ClockInput::STAMP)
            .or(self.last.get())
            .unwrap_or_else(|| self.latest())
    }
}

/// A metrics or log source answered from the journal.
pub struct ReplaySource {
    pub name: String,
    pub recording: Rc<Recording>,
}

impl ReplaySource {
    fn lookup(&self, input: LookupInput) -> Result<&LookupOutcome, SourceError> {
        self.recording
            .take(&input)
            .map_err(SourceError::NotRecorded)
    }

    /// A lookup of names within `interval`, or, from a journal written before lookups said their
    /// interval, the same lookup without it.
    fn lookup_within(
        &self,
        call: &str,
        argument: &str,
        interval: &Interval,
    ) -> Result<&LookupOutcome, SourceError> {
        let input = LookupInput::of(&self.name, call, argument);
        let within = input.clone().within(interval);
        match self.recording.take(&within) {
            Ok(found) => Ok(found),
            Err(not_recorded) => self
                .recording
                .take(&input)
                .map_err(|_| SourceError::NotRecorded(not_recorded)),
        }
    }
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for ReplaySource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let input = QueryInput::range(&self.name, expr, range);
        let recorded = self
            .recording
            .take(&input)
            .map_err(SourceError::NotRecorded)?;
        recorded.to_answer()
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let input = QueryInput::instant(&self.name, expr, time);
        let recorded = self
            .recording
            .take(&input)
            .map_err(SourceError::NotRecorded)?;
        recorded.to_answer()
    }

    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError> {
        self.lookup_within("label_names", "", interval)?.to_names()
    }

    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        self.lookup_within("label_values", label, interval)?
            .to_names()
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        self.lookup(LookupInput::of(&self.name, "metadata", metric))?
            .to_metadata()
    }
}

#[async_trait::async_trait(?Send)]
impl LogSource for ReplaySource {
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError> {
        let input = LogsInput::of(&self.name, query, interval, limit);
        let recorded = self
            .recording
            .take(&input)
            .map_err(SourceError::NotRecorded)?;
        recorded.to_selection(interval)
    }

    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        self.lookup_within("field_names", query, interval)?
            .to_names()
    }

    // What the journal holds of the source's metric queries answers them, as for any source.
    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        Some(Box::new(ReplaySource {
            name: self.name.clone(),
            recording: self.recording.clone(),
        }))
    }
}
