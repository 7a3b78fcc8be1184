//! `playbook report JOURNAL`: an investigation journal as a postmortem timeline a person pastes
//! into an incident document (GitHub-flavoured markdown, or a self-contained HTML page), or as
//! JSON for tools.
//!
//! A report leads with what it can vouch for: the time span, the number of steps, and whether
//! the hash chain holds (every break is named, by line). Then the sections: windows and sources,
//! findings by severity, checks, commands, queries, probes and secrets (by reference only), and
//! the whole timeline, one line a step.
//!
//! A journal is read as data, not trusted as code: an unknown field is ignored, an unknown step
//! is shown by its kind, and a missing value reads `?` (`null` in JSON). Nothing here panics on
//! a journal's content.

use crate::journal::read::Loaded;
use crate::journal::Record;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::fmt::Write;
use std::str::FromStr;

/// What `--format` chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Markdown,
    Html,
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Format, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(Format::Markdown),
            "html" => Ok(Format::Html),
            "json" => Ok(Format::Json),
            other => Err(format!(
                "unknown report format `{other}`: use md, html or json"
            )),
        }
    }
}

/// The report of a loaded journal, in `format`.
pub fn render(loaded: &Loaded, format: Format) -> String {
    let report = Report::of(loaded);
    match format {
        Format::Markdown => markdown(&report),
        Format::Html => html(&report),
        Format::Json => {
            let mut text =
                serde_json::to_string_pretty(&report.json()).expect("JSON values serialize");
            text.push('\n');
            text
        }
    }
}

// --- the report's content, read from the records -----------------------------------------------

/// What the report says, whatever the format.
struct Report {
    first: Option<String>,
    last: Option<String>,
    /// Whether every step happened on the first step's day (UTC), so times can omit the date.
    one_day: bool,
    steps: usize,
    breaks: Vec<String>,
    warnings: Vec<String>,
    windows: Vec<WindowRow>,
    sources: Vec<SourceRow>,
    findings: Vec<FindingRow>,
    checks: Vec<CheckRow>,
    commands: Vec<CommandRow>,
    queries: Vec<QueryRow>,
    probes: Vec<ProbeRow>,
    secrets: Vec<SecretRow>,
    timeline: Vec<Event>,
}

/// Where and when a step happened.
struct Place {
    seq: u64,
    at: String,
}

struct WindowRow {
    place: Place,
    written: String,
    start: Option<String>,
    end: Option<String>,
    step_seconds: Option<f64>,
}

struct SourceRow {
    place: Place,
    name: Option<String>,
    kind: Option<String>,
    url: Option<String>,
}

struct FindingRow {
    place: Place,
    severity: Option<String>,
    text: Option<String>,
    evidence: Vec<String>,
}

struct CheckRow {
    place: Place,
    title: Option<String>,
    condition: Option<String>,
    passed: Option<bool>,
    detail: Option<String>,
}

enum Exit {
    Code(i64),
    Signal(i64),
    NotRun,
    Other(String),
    Unknown,
}

struct CommandRow {
    place: Place,
    /// The recorded duration, for JSON.
    raw_duration: Value,
    command: Option<String>,
    cwd: Option<String>,
    exit: Exit,
    duration_ms: Option<f64>,
    truncated: Option<bool>,
    error: Option<String>,
}

struct QueryRow {
    place: Place,
    source: Option<String>,
    expr: Option<String>,
    instant: Option<bool>,
    start: Option<f64>,
    end: Option<f64>,
    step: Option<f64>,
    now: Option<f64>,
    /// An instant query's time.
    time: Option<f64>,
    result_type: Option<String>,
    series: Option<usize>,
    warnings: Vec<String>,
    error: Option<String>,
}

struct ProbeRow {
    place: Place,
    /// The fields as recorded, for JSON, where a number stays a number.
    raw: Value,
    url: Option<String>,
    status: Option<String>,
    latency_ms: Option<f64>,
    cert_days_left: Option<f64>,
    passed: Option<bool>,
    reason: Option<String>,
}

struct SecretRow {
    place: Place,
    name: Option<String>,
    reference: Option<String>,
}

/// Steps that are the machinery of replay rather than the investigation: readings of the clock
/// and completion's lookups. The JSON timeline keeps them; the pages leave them out and say so.
const BOOKKEEPING: [(&str, &str, &str); 2] = [
    ("clock", "reading of the clock", "readings of the clock"),
    ("lookup", "completion lookup", "completion lookups"),
];

fn is_bookkeeping(step: &str) -> bool {
    BOOKKEEPING.iter().any(|(kind, _, _)| *kind == step)
}

/// One line of the timeline.
struct Event {
    place: Place,
    step: String,
    line: String,
    ms: u64,
}

impl Report {
    fn of(loaded: &Loaded) -> Report {
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
    fn shown_timeline(&self) -> impl Iterator<Item = &Event> {
        self.timeline.iter().filter(|e| !is_bookkeeping(&e.step))
    }

    /// What the shown timeline leaves out, if anything: "9 readings of the clock are left out".
    fn left_out(&self) -> Option<String> {
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

    fn verified(&self) -> bool {
        self.breaks.is_empty()
    }

    /// The span of the journal, as a person reads it.
    fn span(&self) -> String {
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

    fn steps_text(&self) -> String {
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
    fn clock(&self, at: &str) -> String {
        match parse_time(at) {
            Some(t) if self.one_day => t.format("%H:%M:%S").to_string(),
            Some(t) => t.format("%Y-%m-%d %H:%M:%S").to_string(),
            None if at.is_empty() => "?".to_owned(),
            None => at.to_owned(),
        }
    }

    fn checks_summary(&self) -> String {
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

    fn json(&self) -> Value {
        let at = |p: &Place| json!({"seq": p.seq, "at": p.at});
        let with = |p: &Place, fields: Value| {
            let mut object = at(p);
            if let (Some(object), Value::Object(fields)) = (object.as_object_mut(), fields) {
                object.extend(fields);
            }
            object
        };
        json!({
            "span": {"first": self.first, "last": self.last},
            "steps": self.steps,
            "verified": self.verified(),
            "breaks": self.breaks,
            "warnings": self.warnings,
            "windows": self.windows.iter().map(|w| with(&w.place, json!({
                "written": w.written, "start": w.start, "end": w.end, "step_seconds": w.step_seconds,
            }))).collect::<Vec<_>>(),
            "sources": self.sources.iter().map(|s| with(&s.place, json!({
                "name": s.name, "kind": s.kind, "url": s.url,
            }))).collect::<Vec<_>>(),
            "findings": self.findings.iter().map(|f| with(&f.place, json!({
                "severity": f.severity, "text": f.text, "evidence": f.evidence,
            }))).collect::<Vec<_>>(),
            "checks": self.checks.iter().map(|c| with(&c.place, json!({
                "title": c.title, "condition": c.condition, "passed": c.passed, "detail": c.detail,
            }))).collect::<Vec<_>>(),
            "commands": self.commands.iter().map(|c| {
                let (code, signal, not_run) = match &c.exit {
                    Exit::Code(n) => (Some(*n), None, false),
                    Exit::Signal(n) => (None, Some(*n), false),
                    Exit::NotRun => (None, None, true),
                    Exit::Other(_) | Exit::Unknown => (None, None, false),
                };
                with(&c.place, json!({
                    "command": c.command, "cwd": c.cwd, "exit_code": code, "signal": signal,
                    "not_run": not_run, "exit": c.exit_text(), "duration_ms": c.raw_duration,
                    "truncated": c.truncated, "error": c.error,
                }))
            }).collect::<Vec<_>>(),
            "queries": self.queries.iter().map(|q| with(&q.place, json!({
                "source": q.source, "expr": q.expr, "instant": q.instant,
                "start": q.start.map(rfc3339), "end": q.end.map(rfc3339), "step_seconds": q.step,
                "now": q.now.map(rfc3339), "time": q.time.map(rfc3339), "result_type": q.result_type, "series": q.series,
                "warnings": q.warnings, "error": q.error, "summary": q.summary(),
            }))).collect::<Vec<_>>(),
            "probes": self.probes.iter().map(|p| {
                let mut fields = json!({"url": p.url, "passed": p.passed, "reason": p.reason});
                if let (Some(fields), Value::Object(raw)) = (fields.as_object_mut(), &p.raw) {
                    fields.extend(raw.clone());
                }
                with(&p.place, fields)
            }).collect::<Vec<_>>(),
            "secrets": self.secrets.iter().map(|s| with(&s.place, json!({
                "name": s.name, "reference": s.reference,
            }))).collect::<Vec<_>>(),
            "timeline": self.timeline.iter().map(|e| with(&e.place, json!({
                "step": e.step, "summary": e.line, "ms": e.ms,
            }))).collect::<Vec<_>>(),
        })
    }
}

impl CommandRow {
    fn exit_text(&self) -> String {
        match &self.exit {
            Exit::Code(code) => format!("exit {code}"),
            Exit::Signal(signal) => format!("killed by signal {signal}"),
            Exit::NotRun => "not run".to_owned(),
            Exit::Other(text) => one_line(text),
            Exit::Unknown => match &self.error {
                Some(error) => format!("error: {}", one_line(error)),
                None => "?".to_owned(),
            },
        }
    }

    fn mark(&self) -> &'static str {
        match self.exit {
            Exit::Code(0) => "✓",
            Exit::Code(_) | Exit::Signal(_) => "✗",
            Exit::NotRun => "○",
            Exit::Unknown if self.error.is_some() => "✗",
            Exit::Other(_) | Exit::Unknown => "?",
        }
    }

    fn duration_text(&self) -> String {
        self.duration_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    fn outcome(&self) -> String {
        let mut text = format!("{} {}", self.mark(), self.exit_text());
        if !matches!(self.exit, Exit::NotRun) {
            let _ = write!(text, " in {}", self.duration_text());
        }
        if self.truncated == Some(true) {
            text.push_str(", output truncated");
        }
        text
    }
}

impl QueryRow {
    /// What the query looked at: an instant, or a range and its step.
    fn range(&self) -> String {
        if self.instant == Some(true) {
            let at = self.time.or(self.end).or(self.now);
            return format!(
                "instant at {}",
                at.map(rfc3339).unwrap_or_else(|| "?".into())
            );
        }
        format!(
            "{} .. {}, step {}",
            self.start.map(rfc3339).unwrap_or_else(|| "?".into()),
            self.end.map(rfc3339).unwrap_or_else(|| "?".into()),
            self.step.map(duration).unwrap_or_else(|| "?".into())
        )
    }

    /// What came back.
    fn outcome(&self) -> String {
        if let Some(error) = &self.error {
            return format!("error: {}", one_line(error));
        }
        let mut text = match (&self.series, self.result_type.as_deref()) {
            (Some(1), _) => "1 series".to_owned(),
            (Some(n), _) => format!("{n} series"),
            (None, Some(kind)) => format!("a {}", one_line(kind)),
            (None, None) => "? series".to_owned(),
        };
        match self.warnings.len() {
            0 => {}
            1 => text.push_str(", 1 warning"),
            n => {
                let _ = write!(text, ", {n} warnings");
            }
        }
        text
    }

    /// The one-line summary: expression, source, number of series, window.
    fn summary(&self) -> String {
        format!(
            "{} @{}: {}, {}",
            or_unknown(&self.expr),
            or_unknown(&self.source),
            self.outcome(),
            self.range()
        )
    }
}

impl ProbeRow {
    fn result_text(&self) -> String {
        let mut text = verdict(self.passed).to_owned();
        if let Some(reason) = &self.reason {
            if !reason.is_empty() {
                let _ = write!(text, ": {}", one_line(reason));
            }
        }
        text
    }

    fn latency_text(&self) -> String {
        self.latency_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    /// Days until the certificate expires, for HTTPS.
    fn certificate_text(&self) -> String {
        match self.cert_days_left {
            Some(days) if days < 0.0 => format!("expired {:.0} days ago", -days),
            Some(days) => format!("{days:.0} days left"),
            None => String::new(),
        }
    }

    fn outcome(&self) -> String {
        format!(
            "status {} in {}, {}",
            or_unknown(&self.status),
            self.latency_text(),
            self.result_text()
        )
    }
}

// --- reading values out of records -------------------------------------------------------------

fn place(record: &Record) -> Place {
    Place {
        seq: record.seq,
        at: record.at.clone(),
    }
}

/// A field as text: strings as they are, numbers and booleans as JSON writes them; `None` when
/// missing or null.
fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A field as recorded; `null` when missing.
fn field(value: &Value, key: &str) -> Value {
    value.get(key).cloned().unwrap_or(Value::Null)
}

/// A field as a number, also when written as a string (`"1.5"`), as Prometheus does.
fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn strings(value: &Value, key: &str) -> Vec<String> {
    match value.get(key) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// A step's failure as a person reads it: `{"error": "text"}` or `{"error": {"kind", "message"}}`.
fn error_of(result: &Value) -> Option<String> {
    match result.get("error")? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Object(error) => {
            let kind = error.get("kind").and_then(Value::as_str);
            let message = error.get("message").and_then(Value::as_str);
            let after = error.get("after_ms").and_then(Value::as_f64);
            Some(match (kind, message, after) {
                (Some("timeout"), _, Some(after)) => format!("timed out after {}", millis(after)),
                (Some(kind), Some(message), _) => {
                    format!("{}: {message}", kind.replace('_', " "))
                }
                (None, Some(message), _) => message.to_owned(),
                (Some(kind), None, _) => kind.replace('_', " "),
                (None, None, _) => Value::Object(error.clone()).to_string(),
            })
        }
        other => Some(other.to_string()),
    }
}

fn exit_of(exit: Option<&Value>) -> Exit {
    match exit {
        Some(Value::Object(map)) => {
            if let Some(code) = map.get("code").and_then(Value::as_i64) {
                Exit::Code(code)
            } else if let Some(signal) = map.get("signal").and_then(Value::as_i64) {
                Exit::Signal(signal)
            } else {
                Exit::Other(Value::Object(map.clone()).to_string())
            }
        }
        Some(Value::String(s)) if s == "not_run" => Exit::NotRun,
        Some(Value::String(s)) => Exit::Other(s.clone()),
        Some(Value::Number(n)) => n.as_i64().map(Exit::Code).unwrap_or(Exit::Unknown),
        _ => Exit::Unknown,
    }
}

fn severity_rank(severity: Option<&str>) -> usize {
    let order = ["critical", "high", "medium", "low", "info"];
    severity
        .and_then(|s| order.iter().position(|o| o.eq_ignore_ascii_case(s)))
        .unwrap_or(order.len())
}

fn severity_mark(severity: Option<&str>) -> &'static str {
    match severity_rank(severity) {
        0 => "🟥",
        1 => "🟧",
        2 => "🟨",
        3 => "🟦",
        4 => "⬜",
        _ => "▫️",
    }
}

fn verdict(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "✓ PASS",
        Some(false) => "✗ FAIL",
        None => "? UNKNOWN",
    }
}

fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("?")
}

fn parse_time(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
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

/// Unix seconds as RFC 3339 in UTC, to the millisecond only when the time has one.
fn rfc3339(t: f64) -> String {
    let millis = (t * 1000.0).round();
    if !millis.is_finite() || millis.abs() > 1e17 {
        return t.to_string();
    }
    match DateTime::<Utc>::from_timestamp_millis(millis as i64) {
        Some(time) => time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        None => t.to_string(),
    }
}

/// Seconds as playbooks write a duration: `15s`, `1h30m`, `7d`.
fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format!("{seconds}s");
    }
    let mut millis = (seconds * 1000.0).round() as u64;
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if millis >= size {
            let _ = write!(text, "{}{unit}", millis / size);
            millis %= size;
        }
    }
    text
}

/// At most `chars` characters, the cut marked.
fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((cut, _)) => {
            let keep = text[..cut].char_indices().last().map_or(0, |(i, _)| i);
            format!("{}…", &text[..keep])
        }
        None => text.to_owned(),
    }
}

/// Milliseconds as a person reads them: `12 ms`, `1.50 s`, `2m05s`.
fn millis(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "?".to_owned()
    } else if ms < 0.5 {
        // Recorded in whole milliseconds: 0 means under one.
        "<1 ms".to_owned()
    } else if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0) as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Text on one line: line breaks become spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

// --- markdown ------------------------------------------------------------------------------------

/// Plain text in a GitHub-flavoured markdown table cell: formatting characters escaped, pipes
/// too (which would end the cell), line breaks as `<br>`.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            if "\\`*_[]<>|~#".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Text with `code spans` (as check details have): the spans as code, the rest as plain text.
/// Unbalanced backticks are plain text.
fn md_rich(text: &str) -> String {
    rich(text, md, md_code)
}

fn rich(text: &str, plain: fn(&str) -> String, code: fn(&str) -> String) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 || parts.len() % 2 == 0 {
        return plain(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { plain(part) })
        .collect()
}

/// Code in a table cell: a code span with enough backticks, its pipes escaped.
fn md_code(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        return "?".to_owned();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

fn md_table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(head.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn markdown(r: &Report) -> String {
    let mut out = String::from("# Investigation journal\n\n");
    let _ = writeln!(out, "- **When:** {}", md(&r.span()));
    let _ = writeln!(out, "- **Steps:** {}", md(&r.steps_text()));
    if r.verified() {
        out.push_str("- **Integrity:** ✓ hash chain verified\n");
    } else {
        out.push_str("- **Integrity:** ✗ the journal was changed after it was written:\n");
        for b in &r.breaks {
            let _ = writeln!(out, "  - {}", md_rich(b));
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "- **Warning:** {}", md(w));
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "- **Checks:** {}", r.checks_summary());
    }
    out.push('\n');

    if !r.windows.is_empty() {
        out.push_str("## Windows\n\n");
        let rows = r
            .windows
            .iter()
            .map(|w| {
                vec![
                    md(&w.written),
                    format!("{} .. {}", md(or_unknown(&w.start)), md(or_unknown(&w.end))),
                    w.step_seconds.map(duration).unwrap_or_else(|| "?".into()),
                    r.clock(&w.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["As written", "Resolved", "Step", "Time"], rows);
    }
    if !r.sources.is_empty() {
        out.push_str("## Sources\n\n");
        let rows = r
            .sources
            .iter()
            .map(|s| {
                vec![
                    md(or_unknown(&s.name)),
                    md(or_unknown(&s.kind)),
                    md(or_unknown(&s.url)),
                ]
            })
            .collect();
        md_table(&mut out, &["Name", "Kind", "URL"], rows);
    }

    out.push_str("## Findings\n\n");
    if r.findings.is_empty() {
        out.push_str("No findings were recorded.\n\n");
    } else {
        let rows = r
            .findings
            .iter()
            .map(|f| {
                let severity = f.severity.as_deref();
                vec![
                    format!(
                        "{} **{}**",
                        severity_mark(severity),
                        md(&severity.unwrap_or("?").to_uppercase())
                    ),
                    md(or_unknown(&f.text)),
                    f.evidence
                        .iter()
                        .map(|e| md_code(e))
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.clock(&f.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Severity", "Finding", "Evidence", "Time"], rows);
    }

    out.push_str("## Checks\n\n");
    if r.checks.is_empty() {
        out.push_str("No checks were recorded.\n\n");
    } else {
        let rows = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    format!("**{}**", verdict(c.passed)),
                    md(or_unknown(&c.title)),
                    md(or_unknown(&c.condition)),
                    md_rich(c.detail.as_deref().unwrap_or("")),
                    r.clock(&c.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["Result", "Check", "Condition", "Detail", "Time"],
            rows,
        );
    }

    if !r.commands.is_empty() {
        out.push_str("## Commands\n\n");
        let rows = r
            .commands
            .iter()
            .map(|c| {
                let mut exit = format!("{} {}", c.mark(), md(&c.exit_text()));
                if c.truncated == Some(true) {
                    exit.push_str(" (output truncated)");
                }
                vec![
                    md_code(or_unknown(&c.command)),
                    exit,
                    c.duration_text(),
                    r.clock(&c.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Command", "Exit", "Duration", "Time"], rows);
    }

    if !r.queries.is_empty() {
        out.push_str("## Queries\n\n");
        let rows = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    md_code(or_unknown(&q.expr)),
                    md(or_unknown(&q.source)),
                    md(&q.outcome()),
                    md(&q.range()),
                    r.clock(&q.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["Query", "Source", "Result", "Window", "Time"],
            rows,
        );
    }

    if !r.probes.is_empty() {
        out.push_str("## Probes\n\n");
        let rows = r
            .probes
            .iter()
            .map(|p| {
                vec![
                    md(or_unknown(&p.url)),
                    md(or_unknown(&p.status)),
                    p.latency_text(),
                    p.certificate_text(),
                    md(&p.result_text()),
                    r.clock(&p.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["URL", "Status", "Latency", "Certificate", "Result", "Time"],
            rows,
        );
    }

    if !r.secrets.is_empty() {
        out.push_str("## Secrets\n\nRead by reference; their values are never recorded.\n\n");
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                vec![
                    md_code(or_unknown(&s.name)),
                    md(or_unknown(&s.reference)),
                    r.clock(&s.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Name", "Reference", "Time"], rows);
    }

    out.push_str("## Timeline\n\n");
    if r.timeline.is_empty() {
        out.push_str("The journal holds no steps.\n");
    } else {
        let rows = r
            .shown_timeline()
            .map(|e| {
                vec![
                    e.place.seq.to_string(),
                    r.clock(&e.place.at),
                    md(&one_line(&e.step)),
                    md(&e.line),
                ]
            })
            .collect();
        md_table(&mut out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            let _ = writeln!(out, "{}", md(&note));
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

// --- HTML ----------------------------------------------------------------------------------------

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;white-space:pre-wrap;word-break:break-word}\
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.unknown{color:#9a6700;font-weight:600}\
.detail{white-space:pre-wrap}.broken{background:#ffebe9;border:1px solid #cf222e;padding:.5rem 1rem}.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}";

fn pass_class(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "unknown",
    }
}

fn html_table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    out.push_str("<table><thead><tr>");
    for h in head {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for cell in row {
            let _ = write!(out, "<td>{cell}</td>");
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn code(text: &str) -> String {
    format!("<code>{}</code>", esc(text))
}

fn html(r: &Report) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Investigation journal</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>Investigation journal</h1>\n<dl>\n");
    let _ = writeln!(out, "<dt>When</dt><dd>{}</dd>", esc(&r.span()));
    let _ = writeln!(out, "<dt>Steps</dt><dd>{}</dd>", esc(&r.steps_text()));
    if r.verified() {
        out.push_str("<dt>Integrity</dt><dd class=\"pass\">✓ hash chain verified</dd>\n");
    } else {
        out.push_str(
            "<dt>Integrity</dt><dd class=\"fail\">✗ the journal was changed after it was written</dd>\n",
        );
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "<dt>Checks</dt><dd>{}</dd>", esc(&r.checks_summary()));
    }
    out.push_str("</dl>\n");
    if !r.verified() {
        out.push_str(
            "<div class=\"broken\"><p><strong>The journal was changed:</strong></p><ul>\n",
        );
        for b in &r.breaks {
            let _ = writeln!(out, "<li>{}</li>", rich(b, esc, code));
        }
        out.push_str("</ul></div>\n");
    }
    if !r.warnings.is_empty() {
        out.push_str("<div class=\"warning\"><ul>\n");
        for w in &r.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul></div>\n");
    }

    if !r.windows.is_empty() {
        out.push_str("<h2>Windows</h2>\n");
        let rows = r
            .windows
            .iter()
            .map(|w| {
                vec![
                    code(&w.written),
                    esc(&format!(
                        "{} .. {}",
                        or_unknown(&w.start),
                        or_unknown(&w.end)
                    )),
                    esc(&w.step_seconds.map(duration).unwrap_or_else(|| "?".into())),
                    esc(&r.clock(&w.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["As written", "Resolved", "Step", "Time"], rows);
    }
    if !r.sources.is_empty() {
        out.push_str("<h2>Sources</h2>\n");
        let rows = r
            .sources
            .iter()
            .map(|s| {
                vec![
                    esc(or_unknown(&s.name)),
                    esc(or_unknown(&s.kind)),
                    esc(or_unknown(&s.url)),
                ]
            })
            .collect();
        html_table(&mut out, &["Name", "Kind", "URL"], rows);
    }

    out.push_str("<h2>Findings</h2>\n");
    if r.findings.is_empty() {
        out.push_str("<p>No findings were recorded.</p>\n");
    } else {
        let rows = r
            .findings
            .iter()
            .map(|f| {
                let severity = f.severity.as_deref();
                vec![
                    format!(
                        "{} <strong>{}</strong>",
                        severity_mark(severity),
                        esc(&severity.unwrap_or("?").to_uppercase())
                    ),
                    format!("<span class=\"detail\">{}</span>", esc(or_unknown(&f.text))),
                    f.evidence
                        .iter()
                        .map(|e| code(e))
                        .collect::<Vec<_>>()
                        .join(", "),
                    esc(&r.clock(&f.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Severity", "Finding", "Evidence", "Time"], rows);
    }

    out.push_str("<h2>Checks</h2>\n");
    if r.checks.is_empty() {
        out.push_str("<p>No checks were recorded.</p>\n");
    } else {
        let rows = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    format!(
                        "<span class=\"{}\">{}</span>",
                        pass_class(c.passed),
                        esc(verdict(c.passed))
                    ),
                    esc(or_unknown(&c.title)),
                    esc(or_unknown(&c.condition)),
                    format!(
                        "<span class=\"detail\">{}</span>",
                        rich(c.detail.as_deref().unwrap_or(""), esc, code)
                    ),
                    esc(&r.clock(&c.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["Result", "Check", "Condition", "Detail", "Time"],
            rows,
        );
    }

    if !r.commands.is_empty() {
        out.push_str("<h2>Commands</h2>\n");
        let rows = r
            .commands
            .iter()
            .map(|c| {
                let class = match c.mark() {
                    "✓" => "pass",
                    "✗" => "fail",
                    _ => "unknown",
                };
                let mut exit = format!(
                    "<span class=\"{class}\">{} {}</span>",
                    c.mark(),
                    esc(&c.exit_text())
                );
                if c.truncated == Some(true) {
                    exit.push_str(" (output truncated)");
                }
                vec![
                    code(or_unknown(&c.command)),
                    exit,
                    esc(&c.duration_text()),
                    esc(&r.clock(&c.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Command", "Exit", "Duration", "Time"], rows);
    }

    if !r.queries.is_empty() {
        out.push_str("<h2>Queries</h2>\n");
        let rows = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    code(or_unknown(&q.expr)),
                    esc(or_unknown(&q.source)),
                    esc(&q.outcome()),
                    esc(&q.range()),
                    esc(&r.clock(&q.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["Query", "Source", "Result", "Window", "Time"],
            rows,
        );
    }

    if !r.probes.is_empty() {
        out.push_str("<h2>Probes</h2>\n");
        let rows = r
            .probes
            .iter()
            .map(|p| {
                vec![
                    esc(or_unknown(&p.url)),
                    esc(or_unknown(&p.status)),
                    esc(&p.latency_text()),
                    esc(&p.certificate_text()),
                    format!(
                        "<span class=\"{}\">{}</span>",
                        pass_class(p.passed),
                        esc(&p.result_text())
                    ),
                    esc(&r.clock(&p.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["URL", "Status", "Latency", "Certificate", "Result", "Time"],
            rows,
        );
    }

    if !r.secrets.is_empty() {
        out.push_str(
            "<h2>Secrets</h2>\n<p>Read by reference; their values are never recorded.</p>\n",
        );
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                vec![
                    code(or_unknown(&s.name)),
                    esc(or_unknown(&s.reference)),
                    esc(&r.clock(&s.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Name", "Reference", "Time"], rows);
    }

    out.push_str("<h2>Timeline</h2>\n");
    if r.timeline.is_empty() {
        out.push_str("<p>The journal holds no steps.</p>\n");
    } else {
        let rows = r
            .shown_timeline()
            .map(|e| {
                vec![
                    e.place.seq.to_string(),
                    esc(&r.clock(&e.place.at)),
                    esc(&one_line(&e.step)),
                    esc(&e.line),
                ]
            })
            .collect();
        html_table(&mut out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            let _ = writeln!(out, "<p>{}</p>", esc(&note));
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::read::{load, parse};
    use crate::journal::record::Journal;

    /// A small investigation with every kind of step, written by the journal's own writer.
    fn journal() -> (std::path::PathBuf, Loaded) {
        let path = std::env::temp_dir().join(format!(
            "report-test-{}-{}.jsonl",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        let mut j =
            Journal::open(&path, Box::new(|s: &str| s.replace("hunter2", "••••••"))).unwrap();
        j.append(
            "source",
            json!({"name": "prom", "kind": "prometheus", "url": "http://prom:9090"}),
            json!({}),
            0,
        )
        .unwrap();
        j.append(
            "window",
            json!({"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T12:00:00Z", "step": null}),
            json!({"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T12:00:00Z", "step_seconds": 15}),
            0,
        )
        .unwrap();
        j.append(
            "query",
            json!({"source": "prom", "expr": "sum by (code) (rate(http_requests_total{code=~\"5..\"}[5m]))",
                   "instant": false, "start": 1_795_168_800.0, "end": 1_795_176_000.0, "step": 15.0,
                   "now": 1_795_180_000.0}),
            json!({"resultType": "matrix", "warnings": [],
                   "result": [{"metric": {"code": "500"}, "values": [[1_795_168_800.0, "10"]]},
                              {"metric": {"code": "503"}, "values": [[1_795_168_800.0, "2"]]}]}),
            42,
        )
        .unwrap();
        j.append(
            "run",
            json!({"command": "kubectl get pods | grep <checkout>", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"exit": {"code": 1}, "duration_ms": 1500, "stdout": "", "stderr": "boom", "truncated": false}),
            1500,
        )
        .unwrap();
        j.append(
            "run",
            json!({"command": "sleep 100"}),
            json!({"exit": {"signal": 9}, "duration_ms": 125_000}),
            125_000,
        )
        .unwrap();
        j.append(
            "probe",
            json!({"url": "https://shop.example/health", "expect": 200, "within_ms": 500, "headers": [], "insecure": false}),
            json!({"status": 503, "latency_ms": 87, "body_bytes": 12, "cert_days_left": 40, "passed": false,
                   "reason": "status 503, expected 200"}),
            87,
        )
        .unwrap();
        j.append(
            "check",
            json!({"title": "checkout 5xx below 1/s", "condition": "promql"}),
            json!({"passed": false, "detail": "fired from 10:30:15 to 11:19:45\n{service=\"checkout\"}"}),
            10,
        )
        .unwrap();
        j.append(
            "check",
            json!({"title": "cart <fine> & \"well\"", "condition": "run"}),
            json!({"passed": true, "detail": "`test -f a|b` exited 0"}),
            5,
        )
        .unwrap();
        j.append(
            "finding",
            json!({"severity": "info", "text": "rollback ended it", "evidence": ["versions"]}),
            json!({}),
            0,
        )
        .unwrap();
        j.append(
            "finding",
            json!({"severity": "critical", "text": "checkout <script>alert(1)</script> | down", "evidence": ["errors", "pods"]}),
            json!({}),
            0,
        )
        .unwrap();
        j.append(
            "secret",
            json!({"name": "token", "reference": "env:TOKEN"}),
            json!({}),
            0,
        )
        .unwrap();
        j.append(
            "teleport",
            json!({"to": "mars", "extra": [1, 2]}),
            json!({"weird": true}),
            0,
        )
        .unwrap();
        drop(j);
        let loaded = load(&path).unwrap();
        (path, loaded)
    }

    #[test]
    fn every_section_is_there_in_markdown() {
        let (path, loaded) = journal();
        let md = render(&loaded, Format::Markdown);
        for heading in [
            "# Investigation journal",
            "## Windows",
            "## Sources",
            "## Findings",
            "## Checks",
            "## Commands",
            "## Queries",
            "## Probes",
            "## Secrets",
            "## Timeline",
        ] {
            assert!(md.contains(heading), "no {heading} in\n{md}");
        }
        assert!(md.contains("✓ hash chain verified"), "{md}");
        assert!(md.contains("- **Steps:** 12 ("), "{md}");
        // Critical first, whatever the order they were recorded in.
        let critical = md.find("**CRITICAL**").unwrap();
        let info = md.find("**INFO**").unwrap();
        assert!(critical < info, "{md}");
        assert!(
            md.contains("**✗ FAIL**") && md.contains("**✓ PASS**"),
            "{md}"
        );
        assert!(md.contains("✗ exit 1") && md.contains("1.50 s"), "{md}");
        // A check's detail keeps its code spans.
        assert!(md.contains("| `test -f a\\|b` exited 0 |"), "{md}");
        assert!(
            md.contains("killed by signal 9") && md.contains("2m05s"),
            "{md}"
        );
        // The query's one-line summary: expression, source, series, window.
        assert!(
            md.contains("| prom | 2 series | 2026\\-11\\-20T10:00:00Z")
                || md.contains("| prom | 2 series |"),
            "{md}"
        );
        assert!(md.contains("step 15s"), "{md}");
        // A pipe in a command does not split its table cell.
        assert!(
            md.contains("`kubectl get pods \\| grep <checkout>`"),
            "{md}"
        );
        assert!(
            md.contains("status 503, expected 200") && md.contains("40 days left"),
            "{md}"
        );
        assert!(md.contains("env:TOKEN"), "{md}");
        // The unknown step is in the timeline, by its kind.
        assert!(md.contains("| teleport |"), "{md}");
        let timeline = &md[md.find("## Timeline").unwrap()..];
        assert_eq!(
            timeline
                .lines()
                .filter(|l| l.starts_with("| ") && !l.starts_with("| #") && !l.starts_with("| ---"))
                .count(),
            12
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn json_parses_and_has_every_section() {
        let (path, loaded) = journal();
        let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
        assert_eq!(report["verified"], true);
        assert_eq!(report["steps"], 12);
        assert_eq!(report["breaks"], json!([]));
        assert_eq!(report["warnings"], json!([]));
        for (section, n) in [
            ("windows", 1),
            ("sources", 1),
            ("findings", 2),
            ("checks", 2),
            ("commands", 2),
            ("queries", 1),
            ("probes", 1),
            ("secrets", 1),
            ("timeline", 12),
        ] {
            assert_eq!(
                report[section].as_array().map(Vec::len),
                Some(n),
                "{section}: {report:#}"
            );
        }
        assert_eq!(report["findings"][0]["severity"], "critical");
        assert_eq!(report["checks"][0]["passed"], false);
        assert_eq!(report["commands"][0]["exit_code"], 1);
        assert_eq!(report["commands"][1]["signal"], 9);
        assert_eq!(report["queries"][0]["series"], 2);
        assert_eq!(report["queries"][0]["start"], "2026-11-20T10:00:00Z");
        assert_eq!(report["probes"][0]["status"], 503);
        assert_eq!(report["commands"][0]["duration_ms"], 1500);
        assert_eq!(report["timeline"][11]["step"], "teleport");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn html_is_one_escaped_page() {
        let (path, loaded) = journal();
        let html = render(&loaded, Format::Html);
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("cart &lt;fine&gt; &amp; &quot;well&quot;"));
        // Self-contained: no external stylesheet, script, image or font.
        for external in ["<link", "src=", "url(", "@import"] {
            assert!(!html.contains(external), "{external} in the page");
        }
        for heading in [
            "Findings", "Checks", "Commands", "Queries", "Probes", "Timeline",
        ] {
            assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
        }
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_changed_line_is_reported_plainly() {
        let (path, _) = journal();
        let text = std::fs::read_to_string(&path).unwrap();
        let changed = text.replacen("{\"code\":1}", "{\"code\":0}", 1);
        assert_ne!(changed, text);
        let loaded = parse(&changed);
        assert!(!loaded.breaks.is_empty());
        let md = render(&loaded, Format::Markdown);
        assert!(md.contains("✗ the journal was changed"), "{md}");
        assert!(!md.contains("hash chain verified"), "{md}");
        assert!(md.contains("line 4 was changed"), "{md}");
        let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
        assert_eq!(report["verified"], false);
        assert!(report["breaks"][0]
            .as_str()
            .unwrap()
            .contains("line 4 was changed"));
        let html = render(&loaded, Format::Html);
        assert!(html.contains("The journal was changed") && html.contains("line 4 was changed"));
        // A torn last line is a warning, not a break.
        let torn = parse(&text[..text.len() - 10]);
        let md = render(&torn, Format::Markdown);
        assert!(
            md.contains("✓ hash chain verified")
                && md.contains("**Warning:** line 12 is incomplete"),
            "{md}"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn missing_and_odd_fields_read_as_unknown() {
        let line = |seq: u64, step: &str, input: Value, result: Value| {
            json!({"v": 1, "seq": seq, "at": "not a time", "step": step, "key": "k", "input": input,
                   "result": result, "ms": 0, "prev": "p", "extra": "ignored"})
            .to_string()
        };
        let text = [
            line(
                1,
                "query",
                json!({}),
                json!({"resultType": "scalar", "result": [1, "2"]}),
            ),
            line(2, "run", json!({"command": 7}), json!({"exit": "weird"})),
            line(3, "probe", json!(null), json!("nope")),
            line(4, "check", json!([]), json!({"passed": "yes"})),
            line(5, "finding", json!({"evidence": "one"}), json!({})),
            line(6, "window", json!({}), json!({})),
            line(7, "source", json!({}), json!({})),
            line(
                8,
                "query",
                json!({"instant": true}),
                json!({"error": "bad\ngateway"}),
            ),
            line(
                9,
                "query",
                json!({"source": "prom", "expr": "up", "instant": true, "time": 1_795_176_000.0}),
                json!({"error": {"kind": "unreachable", "message": "connection refused"}}),
            ),
            line(
                10,
                "run",
                json!({"command": "sleep 9"}),
                json!({"error": {"kind": "timeout", "after_ms": 2000}}),
            ),
            line(11, "clock", json!({}), json!({"now": 1_795_176_000.0})),
            line(
                12,
                "lookup",
                json!({"source": "prom", "call": "label_values", "argument": "code"}),
                json!({"values": ["200", "500"]}),
            ),
        ]
        .join("\n");
        let loaded = parse(&text);
        assert_eq!(loaded.records.len(), 12, "{:?}", loaded.breaks);
        for format in [Format::Markdown, Format::Html, Format::Json] {
            let out = render(&loaded, format);
            assert!(!out.is_empty());
        }
        let md = render(&loaded, Format::Markdown);
        assert!(
            md.contains("? UNKNOWN")
                && md.contains("a scalar")
                && md.contains("error: bad gateway")
                && md.contains("error: unreachable: connection refused")
                && md.contains("instant at 2026-11-20T12:00:00Z")
                && md.contains("✗ error: timed out after 2.00 s")
                && md.contains("Left out: 1 reading of the clock and 1 completion lookup"),
            "{md}"
        );
        let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
        assert_eq!(report["verified"], false);
        assert_eq!(report["checks"][0]["passed"], Value::Null);
        assert_eq!(report["findings"][0]["evidence"], json!(["one"]));
        assert_eq!(
            report["timeline"][10]["summary"],
            "the time is 2026-11-20T12:00:00Z"
        );
        assert_eq!(
            report["timeline"][11]["summary"],
            "lookup @prom label_values code: 2 values"
        );
        assert_eq!(report["timeline"][5]["summary"], "window ? .. ?");
        // An empty journal still makes a report.
        let empty = render(&Loaded::default(), Format::Markdown);
        assert!(
            empty.contains("no steps recorded") && empty.contains("✓ hash chain verified"),
            "{empty}"
        );
    }

    #[test]
    fn formats_parse() {
        assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
        assert_eq!("HTML".parse::<Format>(), Ok(Format::Html));
        assert_eq!("json".parse::<Format>(), Ok(Format::Json));
        assert!("pdf".parse::<Format>().is_err());
    }
}
