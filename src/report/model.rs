//! The report's model: each record filed under its section, with its line in the timeline; and
//! what the report says of itself (its span, its steps, what it leaves out).

use super::fields::{error_of, exit_of, field, number, place, strings, text};
use super::rows::{
    CheckRow, CommandRow, FindingRow, Place, ProbeRow, QueryRow, SecretRow, SourceRow, WindowRow,
};
use super::wording::{duration, one_line, or_unknown, parse_time, rfc3339, severity_rank, verdict};
use crate::journal::read::Loaded;
use crate::journal::Record;
use crate::render::format::shorten;
use serde_json::{json, Value};
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
    ("clock", "reading of the clock", "readings of the clock"),
    ("lookup", "completion lookup", "completion lookups"),
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
                step: record.step.clone(),
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
        let (input, result) = (&record.input, &record.result);
        match record.step.as_str() {
            "source" => {
                let row = SourceRow {
                    place: place(record),
                    name: text(input, "name"),
                    kind: text(input, "kind"),
                    url: text(input, "url"),
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
            "window" => {
                let written = format!(
                    "{} .. {}{}",
                    text(input, "start").unwrap_or_else(|| "?".into()),
                    text(input, "end").unwrap_or_else(|| "?".into()),
                    text(input, "step")
                        .map(|s| format!(" step {s}"))
                        .unwrap_or_default()
                );
                let row = WindowRow {
                    place: place(record),
                    written,
                    start: text(result, "start"),
                    end: text(result, "end"),
                    step_seconds: number(result, "step_seconds"),
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
            "query" => {
                let series = result
                    .get("result")
                    .and_then(Value::as_array)
                    .map(|items| items.len());
                let result_type = text(result, "resultType");
                let row = QueryRow {
                    place: place(record),
                    source: text(input, "source"),
                    expr: text(input, "expr"),
                    instant: input.get("instant").and_then(Value::as_bool),
                    start: number(input, "start"),
                    end: number(input, "end"),
                    step: number(input, "step"),
                    now: number(input, "now"),
                    time: number(input, "time"),
                    // A scalar or a string is one value, not a list of series.
                    series: match result_type.as_deref() {
                        Some("scalar" | "string") => None,
                        _ => series,
                    },
                    result_type,
                    warnings: strings(result, "warnings"),
                    error: error_of(result),
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
            "run" => {
                let row = CommandRow {
                    place: place(record),
                    raw_duration: field(result, "duration_ms"),
                    command: text(input, "command"),
                    cwd: text(input, "cwd"),
                    exit: exit_of(result.get("exit")),
                    duration_ms: number(result, "duration_ms"),
                    truncated: result.get("truncated").and_then(Value::as_bool),
                    error: error_of(result),
                };
                let line = format!(
                    "run {}: {}",
                    shorten(or_unknown(&row.command), 120),
                    row.outcome()
                );
                self.commands.push(row);
                line
            }
            "probe" => {
                let row = ProbeRow {
                    place: place(record),
                    raw: json!({
                        "expect": field(input, "expect"),
                        "status": field(result, "status"),
                        "latency_ms": field(result, "latency_ms"),
                        "body_bytes": field(result, "body_bytes"),
                        "cert_days_left": field(result, "cert_days_left"),
                    }),
                    url: text(input, "url"),
                    status: text(result, "status"),
                    latency_ms: number(result, "latency_ms"),
                    cert_days_left: number(result, "cert_days_left"),
                    passed: result.get("passed").and_then(Value::as_bool),
                    reason: text(result, "reason").or_else(|| error_of(result)),
                };
                let line = format!("probe {}: {}", or_unknown(&row.url), row.outcome());
                self.probes.push(row);
                line
            }
            "check" => {
                let row = CheckRow {
                    place: place(record),
                    title: text(input, "title"),
                    condition: text(input, "condition"),
                    passed: result.get("passed").and_then(Value::as_bool),
                    detail: text(result, "detail").or_else(|| error_of(result)),
                };
                let line = format!("{} check {}", verdict(row.passed), or_unknown(&row.title));
                self.checks.push(row);
                line
            }
            "finding" => {
                let row = FindingRow {
                    place: place(record),
                    severity: text(input, "severity"),
                    text: text(input, "text"),
                    evidence: strings(input, "evidence"),
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
            "secret" => {
                let row = SecretRow {
                    place: place(record),
                    name: text(input, "name"),
                    reference: text(input, "reference"),
                };
                let line = format!(
                    "secret {} from {}",
                    or_unknown(&row.name),
                    or_unknown(&row.reference)
                );
                self.secrets.push(row);
                line
            }
            "rust" => {
                let code = text(input, "code").unwrap_or_default();
                let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
                let outcome = match (text(result, "panic"), result.get("compile")) {
                    (Some(message), _) => {
                        format!("panicked: {}", shorten(&one_line(&message), 120))
                    }
                    (None, Some(_)) => "did not compile".to_owned(),
                    (None, None) => "ran".to_owned(),
                };
                format!("rust cell of {lines} lines: {outcome}")
            }
            "clock" => match number(result, "now") {
                Some(now) => format!("the time is {}", rfc3339(now)),
                None => "the time is ?".to_owned(),
            },
            "lookup" => {
                let mut line = format!(
                    "lookup @{} {}",
                    text(input, "source").unwrap_or_else(|| "?".into()),
                    text(input, "call").unwrap_or_else(|| "?".into())
                );
                if let Some(argument) = text(input, "argument").filter(|a| !a.is_empty()) {
                    let _ = write!(line, " {}", shorten(&one_line(&argument), 80));
                }
                let outcome = match (
                    error_of(result),
                    result.get("values").and_then(Value::as_array),
                ) {
                    (Some(error), _) => format!("error: {}", one_line(&error)),
                    (None, Some(values)) => format!("{} values", values.len()),
                    (None, None) => "done".to_owned(),
                };
                format!("{line}: {outcome}")
            }
            other => {
                let shown = serde_json::to_string(input).unwrap_or_default();
                format!("{} {}", one_line(other), shorten(&one_line(&shown), 120))
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
