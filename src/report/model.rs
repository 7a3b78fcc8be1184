//! The report's model: each record filed under its section, with its line in the timeline; and
//! what the report says of itself (its span, its steps, what it leaves out).

use super::rows::{
    CheckRow, CommandRow, FindingRow, Line, Place, ProbeRow, QueryRow, Row, SecretRow, SourceRow,
    WindowRow,
};
use super::wording::{failure, one_line, or_unknown, parse_time, severity_rank};
use crate::journal::entry::{ClockInput, Entry, LookupInput, OpInput};
use crate::journal::read::Loaded;
use crate::journal::verdict::Verdict;
use crate::journal::Record;
use crate::render::format::{duration, rfc3339, shorten};
use std::fmt::Write;

/// What the report says, whatever the format; its rows borrow the journal's entries.
#[derive(Default)]
pub(super) struct Report<'a> {
    pub(super) first: Option<String>,
    pub(super) last: Option<String>,
    /// Whether every step happened on the first step's day (UTC), so times can omit the date.
    pub(super) one_day: bool,
    pub(super) steps: usize,
    /// Always set by [`Report::of`].
    pub(super) verdict: Option<&'a Verdict>,
    pub(super) breaks: Vec<String>,
    pub(super) warnings: Vec<String>,
    pub(super) windows: Vec<WindowRow<'a>>,
    pub(super) sources: Vec<SourceRow<'a>>,
    pub(super) findings: Vec<FindingRow<'a>>,
    pub(super) checks: Vec<CheckRow<'a>>,
    pub(super) commands: Vec<CommandRow<'a>>,
    pub(super) queries: Vec<QueryRow<'a>>,
    pub(super) probes: Vec<ProbeRow<'a>>,
    pub(super) secrets: Vec<SecretRow<'a>>,
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
    /// The record's line in the file, when the journal breaks there: what the row says may have
    /// been written in after the step, and the row says so.
    pub(super) broken_at: Option<usize>,
}

impl Event {
    /// What the step did, marked when its record is where the journal breaks.
    pub(super) fn what(&self) -> String {
        match self.broken_at {
            Some(at) => format!(
                "✗ line {at}, where the journal breaks: this may not be what was seen. {}",
                self.line
            ),
            None => self.line.clone(),
        }
    }
}

impl<'a> Report<'a> {
    pub(super) fn of(loaded: &'a Loaded, verdict: &'a Verdict) -> Report<'a> {
        let records = &loaded.records;
        let day = |r: &Record| parse_time(&r.at).map(|t| t.date_naive());
        let first_day = records.first().and_then(day);
        let mut report = Report {
            first: records.first().map(|r| r.at.clone()),
            last: records.last().map(|r| r.at.clone()),
            one_day: first_day.is_some() && records.iter().all(|r| day(r) == first_day),
            steps: records.len(),
            verdict: Some(verdict),
            breaks: loaded.breaks.iter().map(|b| b.text.clone()).collect(),
            warnings: loaded.warnings.clone(),
            ..Report::default()
        };
        let broken = verdict.broken_lines(loaded);
        for (record, at) in records.iter().zip(loaded.record_lines()) {
            let line = report.add(record);
            report.timeline.push(Event {
                place: place(record),
                step: record.entry.step().to_owned(),
                line,
                ms: record.ms,
                broken_at: broken.contains(&at).then_some(at),
            });
        }
        // Critical first; within a severity, in the order they were recorded.
        report
            .findings
            .sort_by_key(|f| (severity_rank(f.input.severity.as_deref()), f.place.seq));
        report
    }

    /// Files one record under its section and returns its timeline line.
    fn add(&mut self, record: &'a Record) -> String {
        let place = place(record);
        match &record.entry {
            Entry::Source { input } => file(&mut self.sources, place, input, &()),
            Entry::Window { input, result } => file(&mut self.windows, place, input, result),
            Entry::Query { input, result } => file(&mut self.queries, place, input, result),
            Entry::Run { input, result } => file(&mut self.commands, place, input, result),
            Entry::Probe { input, result } => file(&mut self.probes, place, input, result),
            Entry::Check { input, result } => file(&mut self.checks, place, input, result),
            Entry::Finding { input } => file(&mut self.findings, place, input, &()),
            Entry::Secret { input } => file(&mut self.secrets, place, input, &()),
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
            Entry::Logs { input, result } => {
                let query = shorten(&one_line(input.query.as_deref().unwrap_or("?")), 120);
                let outcome = match (&result.error, result.matched) {
                    (Some(error), _) => format!("error: {}", one_line(&failure(error))),
                    (None, Some(1)) => "1 line".to_owned(),
                    (None, Some(n)) => format!("{n} lines"),
                    (None, None) => "done".to_owned(),
                };
                format!("logs @{} {query}: {outcome}", or_unknown(&input.source))
            }
            Entry::Cell { input } => match (&input.skipped, input.ok) {
                (Some(why), _) => format!("cell {} did not run: {}", input.number, one_line(why)),
                (None, true) => format!("cell {} ended", input.number),
                (None, false) => format!("cell {} stopped at an error", input.number),
            },
            Entry::Resume { input } => format!(
                "resumed: {} cells answered from this journal, then live; what the earlier run recorded after step {} is superseded by what follows",
                input.answered, input.after
            ),
            Entry::Recheck { input } => format!(
                "re-checks {} (last line {}): the checks that failed there run live, every other step is answered from it: {}",
                input.journal,
                input.last.get(..16).unwrap_or("?"),
                input.checks.join("; ")
            ),
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

    /// Whether the journal is signed by a trusted key and intact: nothing less is shown as a
    /// pass.
    pub(super) fn intact(&self) -> bool {
        matches!(self.verdict, Some(Verdict::Intact { .. }))
    }

    /// The verdict, as a person reads it.
    pub(super) fn integrity(&self) -> String {
        self.verdict.map(Verdict::to_string).unwrap_or_default()
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
            .filter(|c| c.result.passed == Some(false))
            .count();
        let passed = self
            .checks
            .iter()
            .filter(|c| c.result.passed == Some(true))
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

/// Files a row under its section and returns its timeline line.
fn file<'a, I, R>(
    section: &mut Vec<Row<'a, I, R>>,
    place: Place,
    input: &'a I,
    result: &'a R,
) -> String
where
    Row<'a, I, R>: Line,
{
    let row = Row {
        place,
        input,
        result,
    };
    let line = row.line();
    section.push(row);
    line
}

fn place(record: &Record) -> Place {
    Place {
        seq: record.seq,
        at: record.at.clone(),
    }
}
