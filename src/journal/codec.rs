//! Steps as journal entries, and back: op calls become the inputs that key them and the results
//! that replay answers with; the steps that are not op calls (findings, checks, sources, windows,
//! secrets) become entries through the constructors the engine calls.

use super::entry::{
    Backend, CheckInput, CheckVerdict, Entry, Failure, FindingInput, Lenient, LogsInput,
    LogsOutcome, LookupInput, LookupOutcome, ProbeInput, ProbeOutcome, QueryInput, QueryOutcome,
    RunInput, RunOutcome, RustInput, RustOutcome, SecretInput, SourceInput, WindowInput,
    WindowOutcome,
};
use crate::ops::check::CheckOutcome;
use crate::ops::command::{CommandError, CommandResult, CommandSpec, Exit, Leftovers};
use crate::ops::finding::Finding;
use crate::ops::logs::{LogSelection, Volume};
use crate::ops::metrics::{Answer, Interval, MetricInfo, Range, SourceError};
use crate::ops::probe::{ProbeResult, ProbeSpec};
use crate::ops::prometheus::ApiResult;
use crate::ops::rust::{RustError, RustRun};
use crate::ops::NotRecorded;
use std::time::Duration;

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

impl RunInput {
    pub fn of(spec: &CommandSpec) -> RunInput {
        RunInput {
            command: Some(spec.command.clone()),
            cwd: spec.cwd.as_ref().map(|d| d.display().to_string()),
            env: spec.env.iter().map(|(name, _)| name.clone()).collect(),
            timeout_ms: spec.timeout.map(ms),
            leave_running: spec.leave_running,
        }
    }
}

impl RunOutcome {
    /// A command's outcome as recorded: how it ended, or its timeout. `None` for outcomes that
    /// are not a completed step (interrupted, or never started).
    pub fn of(outcome: &Result<CommandResult, CommandError>) -> Option<RunOutcome> {
        match outcome {
            Ok(result) => Some(RunOutcome {
                exit: Some(result.exit),
                duration_ms: Some(ms(result.duration)),
                stdout: Some(result.stdout.clone()),
                stderr: Some(result.stderr.clone()),
                truncated: Some(result.truncated),
                stopped: match result.leftovers {
                    Leftovers::Stopped(n) => some_processes(n),
                    Leftovers::LeftRunning(_) => None,
                },
                left_running: match result.leftovers {
                    Leftovers::LeftRunning(n) => Some(n),
                    Leftovers::Stopped(_) => None,
                },
                error: None,
            }),
            Err(CommandError::TimedOut { after, stopped }) => Some(RunOutcome {
                error: Some(Failure::Timeout {
                    after_ms: ms(*after),
                }),
                stopped: some_processes(*stopped),
                ..RunOutcome::default()
            }),
            Err(_) => None,
        }
    }

    pub fn to_result(&self, command: &str) -> Result<CommandResult, CommandError> {
        let stopped = self.stopped.unwrap_or(0);
        if let Some(Failure::Timeout { after_ms }) = self.error {
            return Err(CommandError::TimedOut {
                after: Duration::from_millis(after_ms),
                stopped,
            });
        }
        Ok(CommandResult {
            command: command.to_owned(),
            exit: self.exit.unwrap_or(Exit::NotRun),
            duration: Duration::from_millis(self.duration_ms.unwrap_or(0)),
            stdout: self.stdout.clone().unwrap_or_default(),
            stderr: self.stderr.clone().unwrap_or_default(),
            truncated: self.truncated.unwrap_or(false),
            leftovers: match self.left_running {
                Some(n) => Leftovers::LeftRunning(n),
                None => Leftovers::Stopped(stopped),
            },
        })
    }
}

/// A count of processes as journaled: absent when none, as in journals from before it was kept.
fn some_processes(count: usize) -> Option<usize> {
    (count > 0).then_some(count)
}

impl QueryInput {
    pub fn range(source: &str, expr: &str, range: &Range) -> QueryInput {
        QueryInput {
            source: Some(source.to_owned()),
            expr: Some(expr.to_owned()),
            instant: Some(false),
            start: Some(range.start),
            end: Some(range.end),
            step: Some(range.step),
            time: None,
        }
    }

    pub fn instant(source: &str, expr: &str, time: f64) -> QueryInput {
        QueryInput {
            source: Some(source.to_owned()),
            expr: Some(expr.to_owned()),
            instant: Some(true),
            time: Some(time),
            ..QueryInput::default()
        }
    }
}

impl QueryOutcome {
    pub fn of(answer: &Result<Answer, SourceError>) -> QueryOutcome {
        match answer {
            Ok(answer) => QueryOutcome {
                data: Some(ApiResult::of(&answer.result)),
                warnings: Some(answer.warnings.clone()),
                error: None,
            },
            Err(error) => QueryOutcome {
                error: Some(Failure::of(error)),
                ..QueryOutcome::default()
            },
        }
    }

    pub fn to_answer(&self) -> Result<Answer, SourceError> {
        if let Some(error) = &self.error {
            return Err(error.to_source_error());
        }
        match &self.data {
            Some(data) => Ok(Answer {
                result: data.clone().into_result(),
                warnings: self.warnings.clone().unwrap_or_default(),
            }),
            None => Err(SourceError::Server(
                "the journal's record of this query holds no answer".into(),
            )),
        }
    }
}

impl LogsInput {
    pub fn of(source: &str, query: &str, interval: &Interval, limit: usize) -> LogsInput {
        LogsInput {
            source: Some(source.to_owned()),
            query: Some(query.to_owned()),
            start: Some(interval.start),
            end: Some(interval.end),
            limit: Some(limit),
        }
    }
}

impl LogsOutcome {
    pub fn of(selection: &Result<LogSelection, SourceError>) -> LogsOutcome {
        match selection {
            Ok(selection) => LogsOutcome {
                lines: Some(selection.lines.clone()),
                matched: Some(selection.matched),
                volume: selection.volume.clone().map(Lenient::Fits),
                warnings: selection.warnings.clone(),
                error: None,
            },
            Err(error) => LogsOutcome {
                error: Some(Failure::of(error)),
                ..LogsOutcome::default()
            },
        }
    }

    /// The selection recorded for a query over `interval`.
    pub fn to_selection(&self, interval: &Interval) -> Result<LogSelection, SourceError> {
        match (&self.error, &self.lines) {
            (Some(error), _) => Err(error.to_source_error()),
            (None, Some(lines)) => Ok(LogSelection {
                matched: self.matched.unwrap_or(lines.len()),
                lines: lines.clone(),
                volume: self.checked_volume(interval),
                warnings: self.warnings.clone(),
            }),
            (None, None) => Err(SourceError::Server(
                "the journal's record of this log query holds no lines".into(),
            )),
        }
    }

    /// The volume, checked as a server's is: one that is not valid is not drawn, and says so,
    /// while the lines and the count replay (a chart is the lesser part of what was seen).
    fn checked_volume(&self, interval: &Interval) -> Option<Volume> {
        let (start_ns, end_ns) = interval.nanos();
        let recorded = self.volume.as_ref()?;
        let checked = match recorded.fitting() {
            Ok(volume) => volume.clone().checked(start_ns, end_ns),
            Err(why) => Err(why.to_owned()),
        };
        Some(checked.unwrap_or_else(|why| {
            Volume::not_drawn(format!(
                "no volume chart: the journal's volume for this step is not valid ({why})"
            ))
        }))
    }
}

impl LookupInput {
    pub fn of(source: &str, call: &str, argument: &str) -> LookupInput {
        LookupInput {
            source: Some(source.to_owned()),
            call: Some(call.to_owned()),
            argument: Some(argument.to_owned()),
            ..LookupInput::default()
        }
    }

    pub fn within(self, interval: &Interval) -> LookupInput {
        LookupInput {
            start: Some(interval.start),
            end: Some(interval.end),
            ..self
        }
    }
}

impl LookupOutcome {
    pub fn names(names: &Result<Vec<String>, SourceError>) -> LookupOutcome {
        match names {
            Ok(names) => LookupOutcome {
                values: Some(names.clone()),
                ..LookupOutcome::default()
            },
            Err(error) => LookupOutcome::failed(error),
        }
    }

    pub fn metadata(info: &Result<Option<MetricInfo>, SourceError>) -> LookupOutcome {
        match info {
            Ok(info) => LookupOutcome {
                metric: info.clone(),
                ..LookupOutcome::default()
            },
            Err(error) => LookupOutcome::failed(error),
        }
    }

    fn failed(error: &SourceError) -> LookupOutcome {
        LookupOutcome {
            error: Some(Failure::of(error)),
            ..LookupOutcome::default()
        }
    }

    pub fn to_names(&self) -> Result<Vec<String>, SourceError> {
        match &self.error {
            Some(error) => Err(error.to_source_error()),
            None => Ok(self.values.clone().unwrap_or_default()),
        }
    }

    pub fn to_metadata(&self) -> Result<Option<MetricInfo>, SourceError> {
        match &self.error {
            Some(error) => Err(error.to_source_error()),
            None => Ok(self.metric.clone()),
        }
    }
}

impl Failure {
    pub fn of(error: &SourceError) -> Failure {
        match error {
            SourceError::PromQL { message, position } => Failure::Promql {
                message: message.clone(),
                position: *position,
            },
            SourceError::LogQuery { message, position } => Failure::LogQuery {
                message: message.clone(),
                position: *position,
            },
            SourceError::Unreachable(message) => Failure::Unreachable {
                message: message.clone(),
            },
            SourceError::Timeout(after) => Failure::Timeout {
                after_ms: ms(*after),
            },
            SourceError::Server(message) => Failure::Server {
                message: message.clone(),
            },
            SourceError::Unsupported(message) => Failure::Unsupported {
                message: message.clone(),
            },
            SourceError::NotRecorded(NotRecorded(message)) => Failure::NotRecorded {
                message: message.clone(),
            },
            SourceError::Internal(message) => Failure::Internal {
                message: message.clone(),
            },
            stopped @ SourceError::Stopped => Failure::Internal {
                message: stopped.to_string(),
            },
        }
    }

    /// The failure replayed. A step the recorded session could not answer from its own replay
    /// journal comes back as the source's failure: it is in this journal, so it is not this
    /// replay's `NotRecorded`.
    pub fn to_source_error(&self) -> SourceError {
        match self {
            Failure::Promql { message, position } => SourceError::PromQL {
                message: message.clone(),
                position: *position,
            },
            Failure::LogQuery { message, position } => SourceError::LogQuery {
                message: message.clone(),
                position: *position,
            },
            Failure::Unreachable { message } => SourceError::Unreachable(message.clone()),
            Failure::Timeout { after_ms } => SourceError::Timeout(Duration::from_millis(*after_ms)),
            Failure::Unsupported { message } => SourceError::Unsupported(message.clone()),
            Failure::Internal { message } => SourceError::Internal(message.clone()),
            Failure::Server { message } | Failure::NotRecorded { message } => {
                SourceError::Server(message.clone())
            }
        }
    }
}

impl ProbeInput {
    pub fn of(spec: &ProbeSpec) -> ProbeInput {
        ProbeInput {
            url: Some(spec.url.clone()),
            expect: spec.expect,
            within_ms: spec.within.map(ms),
            headers: spec.headers.iter().map(|(name, _)| name.clone()).collect(),
            insecure: spec.insecure,
        }
    }
}

impl ProbeOutcome {
    pub fn of(result: &ProbeResult) -> ProbeOutcome {
        ProbeOutcome {
            status: result.status,
            latency_ms: Some(ms(result.latency)),
            body_bytes: Some(result.body_bytes),
            cert_days_left: result.cert_days_left,
            passed: Some(result.passed),
            reason: Some(result.reason.clone()),
        }
    }

    pub fn to_result(&self, url: &str) -> ProbeResult {
        ProbeResult {
            url: url.to_owned(),
            status: self.status,
            latency: Duration::from_millis(self.latency_ms.unwrap_or(0)),
            body_bytes: self.body_bytes.unwrap_or(0),
            cert_days_left: self.cert_days_left,
            passed: self.passed.unwrap_or(false),
            reason: self.reason.clone().unwrap_or_default(),
        }
    }
}

impl RustInput {
    pub fn of(code: &str) -> RustInput {
        RustInput {
            code: code.to_owned(),
        }
    }
}

impl RustOutcome {
    /// A Rust cell's outcome as recorded: what it showed, or the compile error or panic that
    /// ended it. `None` for outcomes that are not a completed step (interrupted, toolchain
    /// missing...).
    pub fn of(outcome: &Result<RustRun, RustError>) -> Option<RustOutcome> {
        let none = RustOutcome::default();
        match outcome {
            Ok(run) => Some(RustOutcome {
                run: Some(run.clone()),
                ..none
            }),
            Err(RustError::Compile(diagnostics)) => Some(RustOutcome {
                compile: Some(diagnostics.clone()),
                ..none
            }),
            Err(RustError::Panic(message)) => Some(RustOutcome {
                panic: Some(message.clone()),
                ..none
            }),
            Err(_) => None,
        }
    }

    pub fn to_result(&self) -> Result<RustRun, RustError> {
        match self {
            RustOutcome {
                panic: Some(message),
                ..
            } => Err(RustError::Panic(message.clone())),
            RustOutcome {
                compile: Some(diagnostics),
                ..
            } => Err(RustError::Compile(diagnostics.clone())),
            RustOutcome { run: Some(run), .. } => Ok(run.clone()),
            _ => Err(RustError::Failed(
                "unreadable journal record: it holds no run, compile errors or panic".into(),
            )),
        }
    }
}

impl WindowInput {
    /// `start` and `end` as written (RFC 3339, `now`, `now-3600s`), `step` in seconds.
    pub fn new(start: String, end: String, step: Option<f64>) -> WindowInput {
        WindowInput {
            start: Some(start),
            end: Some(end),
            step,
        }
    }
}

impl WindowOutcome {
    /// The range a window resolved to: its ends in RFC 3339, its step in seconds.
    pub fn resolved(start: String, end: String, step_seconds: f64) -> WindowOutcome {
        WindowOutcome {
            start: Some(start),
            end: Some(end),
            step_seconds: Some(step_seconds),
        }
    }
}

/// The entries of the steps that are not op calls, which the engine writes itself.
impl Entry {
    pub fn finding(finding: &Finding) -> Entry {
        Entry::Finding {
            input: FindingInput {
                severity: Some(finding.severity.name().to_owned()),
                text: Some(finding.text.clone()),
                evidence: finding.evidence.clone(),
            },
        }
    }

    /// `condition`: `promql`, `run` or `probe`.
    pub fn check(outcome: &CheckOutcome, condition: &str) -> Entry {
        Entry::Check {
            input: CheckInput {
                title: Some(outcome.title.clone()),
                condition: Some(condition.to_owned()),
            },
            result: CheckVerdict {
                passed: Some(outcome.passed),
                detail: Some(outcome.detail.clone()),
            },
        }
    }

    /// `url`: `None` when it could not be resolved.
    pub fn prometheus_source(name: &str, url: Option<String>) -> Entry {
        Entry::source(name, Backend::Prometheus { url })
    }

    pub fn file_source(name: &str, path: &str) -> Entry {
        Entry::source(
            name,
            Backend::File {
                path: path.to_owned(),
            },
        )
    }

    pub fn loki_source(name: &str, url: Option<String>) -> Entry {
        Entry::source(name, Backend::Loki { url })
    }

    pub fn victorialogs_source(name: &str, url: Option<String>) -> Entry {
        Entry::source(name, Backend::Victorialogs { url })
    }

    pub fn logs_source(name: &str, paths: &[String], format: &str) -> Entry {
        Entry::source(
            name,
            Backend::Logs {
                paths: paths.to_vec(),
                format: format.to_owned(),
            },
        )
    }

    fn source(name: &str, backend: Backend) -> Entry {
        Entry::Source {
            input: SourceInput {
                name: Some(name.to_owned()),
                backend: Some(backend),
            },
        }
    }

    /// `resolved`: `None` when the window did not resolve.
    pub fn window(written: WindowInput, resolved: WindowOutcome) -> Entry {
        Entry::Window {
            input: written,
            result: resolved,
        }
    }

    /// `reference`: where the secret is read (`env:VAR`, `file:PATH`), never its value.
    pub fn secret(name: &str, reference: &str) -> Entry {
        Entry::Secret {
            input: SecretInput {
                name: Some(name.to_owned()),
                reference: Some(reference.to_owned()),
            },
        }
    }
}
