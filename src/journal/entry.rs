//! The journal's steps as types: one [`Entry`] variant a kind of step, holding its input (what the
//! step was asked; the SHA-256 of its canonical JSON is the record's key, by which replay finds
//! it) and its result.
//!
//! These types write exactly the JSON the journal has always held, field for field, `null` where
//! a value is absent on purpose: a key computed today must equal the key recorded months ago.
//!
//! A journal is data from a file, maybe older, maybe edited, and every part of it reads
//! leniently: a field a report shows is an `Option` (and every field has a default), so that what
//! a record lacks reads as unknown rather than as a value nobody recorded; an input or a result
//! that does not fit its type reads as wholly unknown, but for a field read on its own
//! ([`Lenient`]: a log result's volume, lest a chart hide the lines); and a step of a kind this
//! kernel does not know is kept as written, as [`Entry::Other`].

use crate::ops::command::Exit;
use crate::ops::logs::{LogLine, Volume};
use crate::ops::metrics::MetricInfo;
use crate::ops::prometheus::ApiResult;
use crate::ops::rust::{Diagnostic, RustRun};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One step as the journal holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    Run {
        input: RunInput,
        result: RunOutcome,
    },
    Probe {
        input: ProbeInput,
        result: ProbeOutcome,
    },
    /// A reading of the clock, so that a replay sees the `now` the recording saw.
    Clock {
        input: ClockInput,
        result: ClockReading,
    },
    /// A Rust cell.
    Rust {
        input: RustInput,
        result: RustOutcome,
    },
    Query {
        input: QueryInput,
        result: QueryOutcome,
    },
    /// A log query: the lines it selected.
    Logs {
        input: LogsInput,
        result: LogsOutcome,
    },
    /// What completion and inspect ask a source: label names and values, a metric's metadata.
    Lookup {
        input: LookupInput,
        result: LookupOutcome,
    },
    /// The result of a finding, a source and a secret is `{}`.
    Finding {
        input: FindingInput,
    },
    Check {
        input: CheckInput,
        result: CheckVerdict,
    },
    Source {
        input: SourceInput,
    },
    Window {
        input: WindowInput,
        result: WindowOutcome,
    },
    Secret {
        input: SecretInput,
    },
    /// A code cell of `playbook run` that ended: what `--resume` checks and answers by.
    Cell {
        input: CellInput,
    },
    /// Where a resumed run went live: the records between step `after` and this line belong to
    /// the run it resumed, and are superseded by the lines that follow.
    Resume {
        input: ResumeInput,
    },
    /// A run that answers every step from an earlier run's journal but for the checks that
    /// failed there, which it runs live.
    Recheck {
        input: RecheckInput,
    },
    /// A step of a kind this kernel does not know, as written.
    Other {
        step: String,
        input: Value,
        result: Value,
    },
}

/// The input of a step that is an op's call: replay finds its record by kind and key.
pub trait OpInput: Serialize {
    /// The record's `step`.
    const STEP: &'static str;
    type Result;
    /// This step's result, when `entry` is a step of this kind.
    fn result_in(entry: &Entry) -> Option<&Self::Result>;
}

impl Entry {
    /// The record's `step`: the kind of step.
    pub fn step(&self) -> &str {
        match self {
            Entry::Run { .. } => RunInput::STEP,
            Entry::Probe { .. } => ProbeInput::STEP,
            Entry::Clock { .. } => ClockInput::STEP,
            Entry::Rust { .. } => RustInput::STEP,
            Entry::Query { .. } => QueryInput::STEP,
            Entry::Logs { .. } => LogsInput::STEP,
            Entry::Lookup { .. } => LookupInput::STEP,
            Entry::Finding { .. } => "finding",
            Entry::Check { .. } => "check",
            Entry::Source { .. } => "source",
            Entry::Window { .. } => "window",
            Entry::Secret { .. } => "secret",
            Entry::Cell { .. } => "cell",
            Entry::Resume { .. } => "resume",
            Entry::Recheck { .. } => "recheck",
            Entry::Other { step, .. } => step,
        }
    }

    /// The record's `input` and `result`.
    pub fn to_json(&self) -> (Value, Value) {
        let empty = || Value::Object(Default::default());
        match self {
            Entry::Run { input, result } => (json(input), json(result)),
            Entry::Probe { input, result } => (json(input), json(result)),
            Entry::Clock { input, result } => (json(input), json(result)),
            Entry::Rust { input, result } => (json(input), json(result)),
            Entry::Query { input, result } => (json(input), json(result)),
            Entry::Logs { input, result } => (json(input), json(result)),
            Entry::Lookup { input, result } => (json(input), json(result)),
            Entry::Finding { input } => (json(input), empty()),
            Entry::Check { input, result } => (json(input), json(result)),
            Entry::Source { input } => (json(input), empty()),
            Entry::Window { input, result } => (json(input), json(result)),
            Entry::Secret { input } => (json(input), empty()),
            Entry::Cell { input } => (json(input), empty()),
            Entry::Resume { input } => (json(input), empty()),
            Entry::Recheck { input } => (json(input), empty()),
            Entry::Other { input, result, .. } => (input.clone(), result.clone()),
        }
    }

    /// A record's `step`, `input` and `result` as read, leniently (see the module's notes).
    pub fn decode(step: String, input: Value, result: Value) -> Entry {
        match step.as_str() {
            RunInput::STEP => Entry::Run {
                input: part(input),
                result: part(result),
            },
            ProbeInput::STEP => Entry::Probe {
                input: part(input),
                result: part(result),
            },
            ClockInput::STEP => Entry::Clock {
                input: part(input),
                result: part(result),
            },
            RustInput::STEP => Entry::Rust {
                input: part(input),
                result: part(result),
            },
            QueryInput::STEP => Entry::Query {
                input: part(input),
                result: part(result),
            },
            LogsInput::STEP => Entry::Logs {
                input: part(input),
                result: part(result),
            },
            LookupInput::STEP => Entry::Lookup {
                input: part(input),
                result: part(result),
            },
            "finding" => Entry::Finding { input: part(input) },
            "check" => Entry::Check {
                input: part(input),
                result: part(result),
            },
            "source" => Entry::Source { input: part(input) },
            "window" => Entry::Window {
                input: part(input),
                result: part(result),
            },
            "secret" => Entry::Secret { input: part(input) },
            "cell" => Entry::Cell { input: part(input) },
            "resume" => Entry::Resume { input: part(input) },
            "recheck" => Entry::Recheck { input: part(input) },
            _ => Entry::Other {
                step,
                input,
                result,
            },
        }
    }
}

/// A part of an entry as JSON. Serializing these types cannot fail: their maps have string keys.
pub(super) fn json<T: Serialize>(part: &T) -> Value {
    serde_json::to_value(part).expect("journal entries serialize")
}

/// A part of a record as its type, or wholly unknown when it does not fit.
fn part<T: DeserializeOwned + Default>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_default()
}

/// A field of a result read on its own: when it does not fit its type, the rest of the result
/// still reads, and the field is kept as written (and written back so), with why.
#[derive(Debug, Clone, PartialEq)]
pub enum Lenient<T> {
    Fits(T),
    DoesNotFit { written: Value, why: String },
}

impl<T> Lenient<T> {
    pub fn fitting(&self) -> Result<&T, &str> {
        match self {
            Lenient::Fits(value) => Ok(value),
            Lenient::DoesNotFit { why, .. } => Err(why),
        }
    }
}

impl<T: Serialize> Serialize for Lenient<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Lenient::Fits(value) => value.serialize(serializer),
            Lenient::DoesNotFit { written, .. } => written.serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let written = Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&written) {
            Ok(value) => Lenient::Fits(value),
            Err(error) => Lenient::DoesNotFit {
                written,
                why: error.to_string(),
            },
        })
    }
}

/// An op's input: the `step` of its records, and where their result is.
macro_rules! op_input {
    ($input:ty, $step:literal, $variant:ident, $result:ty) => {
        impl OpInput for $input {
            const STEP: &'static str = $step;
            type Result = $result;
            fn result_in(entry: &Entry) -> Option<&$result> {
                match entry {
                    Entry::$variant { result, .. } => Some(result),
                    _ => None,
                }
            }
        }
    };
}

op_input!(RunInput, "run", Run, RunOutcome);
op_input!(ProbeInput, "probe", Probe, ProbeOutcome);
op_input!(ClockInput, "clock", Clock, ClockReading);
op_input!(RustInput, "rust", Rust, RustOutcome);
op_input!(QueryInput, "query", Query, QueryOutcome);
op_input!(LogsInput, "logs", Logs, LogsOutcome);
op_input!(LookupInput, "lookup", Lookup, LookupOutcome);

/// A command, with only the names of its variables: their values may be secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunInput {
    pub command: Option<String>,
    /// `null`: the kernel's working directory.
    pub cwd: Option<String>,
    pub env: Vec<String>,
    pub timeout_ms: Option<u64>,
    /// Written only when set, so that the keys of other runs are as before it existed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub leave_running: bool,
}

/// How a command ended and what it wrote; or, when it timed out, only `error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<Exit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
    /// How many processes the command left running were stopped when it ended or timed out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<usize>,
    /// How many it left running, as `run --leave-running` asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_running: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A probe, with only the names of its headers: their values may be secrets.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbeInput {
    pub url: Option<String>,
    /// `null`: any 2xx.
    pub expect: Option<u16>,
    pub within_ms: Option<u64>,
    pub headers: Vec<String>,
    pub insecure: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProbeOutcome {
    /// `null` when no HTTP answer came.
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub body_bytes: Option<u64>,
    /// `null` but for https.
    pub cert_days_left: Option<i64>,
    pub passed: Option<bool>,
    pub reason: Option<String>,
}

/// `{}` for the `now` of windows and queries: every such reading has the same key, and replay
/// answers them in order. `{"stamp": true}` for the time a finding or a check is stamped with,
/// kept apart so that journals written before stamps were recorded still replay their windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClockInput {
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stamp: bool,
}

impl ClockInput {
    pub const NOW: ClockInput = ClockInput { stamp: false };
    pub const STAMP: ClockInput = ClockInput { stamp: true };
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClockReading {
    /// Unix seconds.
    pub now: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RustInput {
    /// The cell, its `%%rust` line blanked.
    pub code: String,
}

/// One of: what the cell showed (`run`), the compile errors or the panic that ended it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RustOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<RustRun>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compile: Option<Vec<Diagnostic>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic: Option<String>,
}

/// A range query has `start`, `end` and `step`; an instant query has `time` (Unix seconds).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryInput {
    /// The source's name in the session.
    pub source: Option<String>,
    pub expr: Option<String>,
    pub instant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
}

/// The answer as the Prometheus API writes it (`resultType`, `result` and `warnings`), or the
/// source's failure (`error`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueryOutcome {
    #[serde(flatten)]
    pub data: Option<ApiResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warnings: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// A log query over an interval, in Unix seconds, with the most lines it may return.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogsInput {
    pub source: Option<String>,
    pub query: Option<String>,
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub limit: Option<usize>,
}

/// The lines a log query selected (newest first), how many matched in all and when (journals
/// written before the volume was kept lack it; one that does not fit leaves the lines and the
/// count readable), and the server's warnings; or its error.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogsOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<LogLine>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volume: Option<Lenient<Volume>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LookupInput {
    pub source: Option<String>,
    /// `label_names`, `label_values`, `metadata`, or `field_names` (of a log query's lines).
    pub call: Option<String>,
    /// The label, the metric or the log query; empty for `label_names`.
    pub argument: Option<String>,
    /// The span of a lookup of names, in Unix seconds (journals written before it lack it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
}

/// Label names or values (`values`), a metric's metadata (`kind`, `help`, `unit`; none of them
/// when the source knows none), or the source's failure (`error`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LookupOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
    #[serde(flatten)]
    pub metric: Option<MetricInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// Why a source gave no answer, or a command was stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Failure {
    Promql {
        message: String,
        /// 1-based (line, column) within the expression.
        position: Option<(usize, usize)>,
    },
    LogQuery {
        message: String,
        position: Option<(usize, usize)>,
    },
    Unreachable {
        message: String,
    },
    Timeout {
        after_ms: u64,
    },
    Server {
        message: String,
    },
    /// Valid PromQL the embedded engine does not evaluate.
    Unsupported {
        message: String,
    },
    NotRecorded {
        message: String,
    },
    /// The source failed in itself (a bug), or stopped because nobody waited for it.
    Internal {
        message: String,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FindingInput {
    pub severity: Option<String>,
    pub text: Option<String>,
    /// Names of the bound steps that support it.
    pub evidence: Vec<String>,
}

/// A code cell as `--resume` knows it again: its place among the notebook's code cells, from 1,
/// and the SHA-256 of its code (not the code: a cell may hold what the journal must not).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CellInput {
    pub number: u64,
    pub sha256: String,
    /// Whether it ran to its end without an error.
    pub ok: bool,
    /// Why it did not run, when the run skipped it (`--tags`, `--skip-tags`, `--from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ResumeInput {
    /// The last step of the resumed run that this one stands on.
    pub after: u64,
    /// The cells answered from the journal before the run went live.
    pub answered: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecheckInput {
    /// The journal re-checked, as named on the command line.
    pub journal: String,
    /// The SHA-256 of its last line: which run, whatever the file becomes.
    pub last: String,
    /// The titles of the checks that failed there.
    pub checks: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckInput {
    pub title: Option<String>,
    /// `promql`, `run` or `probe`.
    pub condition: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckVerdict {
    pub passed: Option<bool>,
    pub detail: Option<String>,
}

/// A source by reference only: its credentials never enter the journal.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceInput {
    pub name: Option<String>,
    #[serde(flatten)]
    pub backend: Option<Backend>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Backend {
    Prometheus {
        url: Option<String>,
    },
    /// A metrics file, as written (relative to the notebook).
    File {
        path: String,
    },
    Victorialogs {
        url: Option<String>,
    },
    Loki {
        url: Option<String>,
    },
    /// Log files, as written: paths or globs, relative to the notebook.
    Logs {
        paths: Vec<String>,
        format: String,
    },
}

/// The window as written: RFC 3339 times or `now`, `now-3600s`; the step in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowInput {
    pub start: Option<String>,
    pub end: Option<String>,
    pub step: Option<f64>,
}

/// The range the window resolved to; `{}` when it did not resolve.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WindowOutcome {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step_seconds: Option<f64>,
}

/// A secret by its name and reference (`env:VAR`, `file:PATH`), never its value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecretInput {
    pub name: Option<String>,
    pub reference: Option<String>,
}
