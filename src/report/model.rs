//! The report's model: each record filed under its section, with its line in the timeline; and
//! what the report says of itself (its span, its steps, what it leaves out).

use super::rows::{
    CheckRow, CommandRow, FindingRow, Place, ProbeRow, QueryRow, SecretRow, SourceRow, WindowRow,
};
use super::wording::{failure, one_line, or_unknown, parse_time, severity_rank, verdict};
use crate::journal::entry::{Backend, ClockInput, Entry, LookupInput, OpInput};
use crate::journal::read::Loaded;
use crate::journal::Record;
use crate::ops::prometheus::ApiResult;
use crate::render::format::{duration, rfc3339, shorten};
use serde_json::Value;
use std::fmt::Write;

/// What the report says, whatever the format.
pub(super) struct Report {
    pub(super) first: Option<String>,
    pub(super) last: Option<String>,
    /// Whether every step happened on the first step's day (UTC), so times can omit the date.
    pub(super) one_day: bool,
    pub(super) steps: usize,
    pub(super) breaks: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) windows: Vec<WindowRow>,
    pub(super) sources: Vec<SourceRow>,
    pub(super) findings: Vec<FindingRow>,
    pub(super) checks: Vec<CheckRow>,
    pub(super) commands: Vec<CommandRow>,
    pub(super) queries: Vec<QueryRow>,
    pub(super) probes: Vec<ProbeRow>,
    pub(super) secrets: Vec<SecretRow>,
    pub(super) timeline: Vec<Event>,
}

/// Steps that are the machinery of replay rather than the investigation: readings of the clock
/// and completion's lookups. The JSON timeline keeps them; the pages leave them out and say so.
pub(super) const BOOKKEEPING: [(&str, &str, &str); 2] = [
    (
        ClockInput::STEP,
        "reading of the clock",
        "readings of the clock",
    ),
    (LookupInput::STEP, "completion lookup", "completion lookups"),
];

pub(super) fn is_bookkeeping(step: &str) -> bool {
    BOOKKEEPING.iter().any(|(kind, _, _)| *kind == step)
}

/// One line of the timeline.
pub(super) struct Event {
    pub(super) place: Place,
    pub(super) step: String,
    pub(super) line: String,
    pub(super) ms: u64,
}

impl Report {
    pub(super) fn of(loaded: &Loaded) -> Report {
        let records = &loaded.records;
        let day = |r: &Record| parse_time(&r.at).map(|t| t.date_naive());
        let first_day = records.first().and_then(day);
        let mut report = Report {
            first: records.first().map(|r| r.at.clone()),
            last: records.last().map(|r| r.at.clone()),
            one_day: first_day.is_some() && records.iter().all(|r| day(r) == first_day),
            steps: records.len(),
            breaks: loaded.breaks.clone(),
            warnings: loaded.warnings.clone(),
            windows: Vec::new(),
            sources: Vec::new(),
            findings: Vec::new(),
            checks: Vec::new(),
            commands: Vec::new(),
            queries: Vec::new(),
            probes: Vec::new(),
            secrets: Vec::new(),
            timeline: Vec::new(),
        };
        for record in records {
            let line = report.add(record);
            report.timeline.push(Event {
                place: place(record),
                step: record.entry.step().to_owned(),
                line,
                ms: record.ms,
            });
        }
        // Critical first; within a severity, in the order they were recorded.
        report
            .findings
            .sort_by_key(|f| (severity_rank(f.severity.as_deref()), f.place.seq));
        report
    }

    /// Files one record under its section and returns its timeline line.
    fn add(&mut self, record: &Record) -> String {
        match &record.entry {
            Entry::Source { input } => {
                let (kind, url) = match &input.backend {
                    Some(Backend::Prometheus { url }) => (Some("prometheus"), url.clone()),
                    Some(Backend::File { .. }) => (Some("file"), None),
                    None => (None, None),
                };
                let row = SourceRow {
                    place: place(record),
                    name: input.name.clone(),
                    kind: kind.map(str::to_owned),
                    url,
                };
                let line = format!(
                    "source {}: {} {}",
                    or_unknown(&row.name),
                    or_unknown(&row.kind),
                    or_unknown(&row.url)
                );
                self.sources.push(row);
                line
            }
            Entry::Window { input, result } => {
                // The step as the journal writes it: `60.0`.
                let step = input.step.map(Value::from);
                let written = format!(
                    "{} .. {}{}",
                    or_unknown(&input.start),
                    or_unknown(&input.end),
                    step.map(|s| format!(" step {s}")).unwrap_or_default()
                );
                let row = WindowRow {
                    place: place(record),
                    written,
                    start: result.start.clone(),
                    end: result.end.clone(),
                    step_seconds: result.step_seconds,
                };
                let line = match (&row.start, &row.end) {
                    (Some(start), Some(end)) => format!(
                        "window {start} .. {end}, step {}",
                        row.step_seconds.map(duration).unwrap_or_else(|| "?".into())
                    ),
                    _ => format!("window {}", row.written),
                };
                self.windows.push(row);
                line
            }
            Entry::Query { input, result } => {
                let (result_type, series) = match &result.data {
                    Some(ApiResult::Matrix(series)) => (Some("matrix"), Some(series.len())),
                    Some(ApiResult::Vector(samples)) => (Some("vector"), Some(samples.len())),
                    // A scalar or a string is one value, not a list of series.
                    Some(ApiResult::Scalar(_)) => (Some("scalar"), None),
                    Some(ApiResult::String(_)) => (Some("string"), None),
                    None => (None, None),
                };
                let row = QueryRow {
                    place: place(record),
                    source: input.source.clone(),
                    expr: input.expr.clone(),
                    instant: input.instant,
                    start: input.start,
                    end: input.end,
                    step: input.step,
                    time: input.time,
                    result_type,
                    series,
                    warnings: result.warnings.clone().unwrap_or_default(),
                    error: result.error.as_ref().map(failure),
                };
                let line = format!(
                    "query @{} {}: {} ({})",
                    or_unknown(&row.source),
                    shorten(or_unknown(&row.expr), 120),
                    row.outcome(),
                    row.range()
                );
                self.queries.push(row);
                line
            }
            Entry::Run { input, result } => {
                let row = CommandRow {
                    place: place(record),
                    command: input.command.clone(),
                    cwd: input.cwd.clone(),
                    exit: result.exit,
                    duration_ms: result.duration_ms,
                    truncated: result.truncated,
                    error: result.error.as_ref().map(failure),
                };
                let line = format!(
                    "run {}: {}",
                    shorten(or_unknown(&row.command), 120),
                    row.outcome()
                );
                self.commands.push(row);
                line
            }
            Entry::Probe { input, result } => {
                let row = ProbeRow {
                    place: place(record),
                    url: input.url.clone(),
                    expect: input.expect,
                    status: result.status,
                    latency_ms: result.latency_ms,
                    body_bytes: result.body_bytes,
                    cert_days_left: result.cert_days_left,
                    passed: result.passed,
                    reason: result.reason.clone(),
                };
                let line = format!("probe {}: {}", or_unknown(&row.url), row.outcome());
                self.probes.push(row);
                line
            }
            Entry::Check { input, result } => {
                let row = CheckRow {
                    place: place(record),
                    title: input.title.clone(),
                    condition: input.condition.clone(),
                    passed: result.passed,
                    detail: result.detail.clone(),
                };
                let line = format!("{} check {}", verdict(row.passed), or_unknown(&row.title));
                self.checks.push(row);
                line
            }
            Entry::Finding { input } => {
                let row = FindingRow {
                    place: place(record),
                    severity: input.severity.clone(),
                    text: input.text.clone(),
                    evidence: input.evidence.clone(),
                };
                let mut line = format!(
                    "{} finding: {}",
                    or_unknown(&row.severity).to_uppercase(),
                    shorten(or_unknown(&row.text), 160)
                );
                if !row.evidence.is_empty() {
                    let _ = write!(line, " (evidence {})", row.evidence.join(", "));
                }
                self.findings.push(row);
                line
            }
            Entry::Secret { input } => {
                let row = SecretRow {
                    place: place(record),
                    name: input.name.clone(),
                    reference: input.reference.clone(),
                };
                let line = format!(
                    "secret {} from {}",
                    or_unknown(&row.name),
                    or_unknown(&row.reference)
                );
                self.secrets.push(row);
                line
            }
            Entry::Rust { input, result } => {
                let lines = input.code.lines().filter(|l| !l.trim().is_empty()).count();
                let outcome = match (&result.panic, &result.compile) {
                    (Some(message), _) => {
                        format!("panicked: {}", shorten(&one_line(message), 120))
                    }
                    (None, Some(_)) => "did not compile".to_owned(),
                    (None, None) => "ran".to_owned(),
                };
                format!("rust cell of {lines} lines: {outcome}")
            }
            Entry::Clock { result, .. } => match result.now {
                Some(now) => format!("the time is {}", rfc3339(now)),
                None => "the time is ?".to_owned(),
            },
            Entry::Lookup { input, result } => {
                let mut line = format!(
                    "lookup @{} {}",
                    or_unknown(&input.source),
                    or_unknown(&input.call)
                );
                if let Some(argument) = input.argument.as_ref().filter(|a| !a.is_empty()) {
                    let _ = write!(line, " {}", shorten(&one_line(argument), 80));
                }
                let outcome = match (&result.error, &result.values) {
                    (Some(error), _) => format!("error: {}", one_line(&failure(error))),
                    (None, Some(values)) => format!("{} values", values.len()),
                    (None, None) => "done".to_owned(),
                };
                format!("{line}: {outcome}")
            }
            Entry::Other { step, input, .. } => {
                let shown = serde_json::to_string(input).unwrap_or_default();
                format!("{} {}", one_line(step), shorten(&one_line(&shown), 120))
            }
        }
    }

    /// The timeline a person reads: without the bookkeeping steps.
    pub(super) fn shown_timeline(&self) -> impl Iterator<Item = &Event> {
        self.timeline.iter().filter(|e| !is_bookkeeping(&e.step))
    }

    /// What the shown timeline leaves out, if anything: "9 readings of the clock are left out".
    pub(super) fn left_out(&self) -> Option<String> {
        let parts: Vec<String> = BOOKKEEPING
            .iter()
            .filter_map(|(kind, one, many)| {
                match self.timeline.iter().filter(|e| e.step == *kind).count() {
                    0 => None,
                    1 => Some(format!("1 {one}")),
                    n => Some(format!("{n} {many}")),
                }
            })
            .collect();
        (!parts.is_empty()).then(|| {
            format!(
                "Left out: {} (the JSON report keeps them).",
                parts.join(" and ")
            )
        })
    }

    pub(super) fn verified(&self) -> bool {
        self.breaks.is_empty()
    }

    /// The span of the journal, as a person reads it.
    pub(super) fn span(&self) -> String {
        match (&self.first, &self.last) {
            (Some(first), Some(last)) => {
                let length = match (parse_time(first), parse_time(last)) {
                    (Some(a), Some(b)) if b >= a => {
                        format!(
                            " ({})",
                            duration((b - a).num_milliseconds() as f64 / 1000.0)
                        )
                    }
                    _ => String::new(),
                };
                let last_shown = if self.one_day {
                    parse_time(last)
                        .map(|t| t.format("%H:%M:%S UTC").to_string())
                        .unwrap_or_else(|| last.clone())
                } else {
                    full_time(last)
                };
                format!("{} to {last_shown}{length}", full_time(first))
            }
            _ => "no steps recorded".to_owned(),
        }
    }

    pub(super) fn steps_text(&self) -> String {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for event in &self.timeline {
            match counts.iter_mut().find(|(step, _)| *step == event.step) {
                Some((_, n)) => *n += 1,
                None => counts.push((event.step.clone(), 1)),
            }
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|(step, n)| format!("{n} {}", one_line(step)))
            .collect();
        if parts.is_empty() {
            "0".to_owned()
        } else {
            format!("{} ({})", self.steps, parts.join(", "))
        }
    }

    /// The time of a step, without the date when the whole journal is one day.
    pub(super) fn clock(&self, at: &str) -> String {
        match parse_time(at) {
            Some(t) if self.one_day => t.format("%H:%M:%S").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None if at.is_empty() => "?".to_owned(),
            None => at.to_owned(),
        }
    }

    pub(super) fn checks_summary(&self) -> String {
        let failed = self
            .checks
            .iter()
            .filter(|c| c.passed == Some(false))
            .count();
        let passed = self
            .checks
            .iter()
            .filter(|c| c.passed == Some(true))
            .count();
        let unknown = self.checks.len() - failed - passed;
        let mut text = format!("{failed} failed, {passed} passed");
        if unknown > 0 {
            let _ = write!(text, ", {unknown} unknown");
        }
        text
    }
}

fn full_time(at: &str) -> String {
    parse_time(at)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| {
            if at.is_empty() {
                "?".into()
            } else {
                at.to_owned()
            }
        })
}

fn place(record: &Record) -> Place {
    Place {
        seq: record.seq,
        at: record.at.clone(),
    }
}
