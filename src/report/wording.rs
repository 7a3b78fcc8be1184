//! The words the report's rows share, whatever the format: times, durations, failures,
//! verdicts and severities. Markdown and HTML escape these; JSON carries some of them as summaries.

use crate::journal::entry::Failure;
use crate::ops::finding::Severity;
use crate::render;
use chrono::{DateTime, Utc};

/// A severity's mark, as the kernel shows a finding's; `▫️` for one it does not know.
pub(super) fn severity_mark(severity: Option<&str>) -> &'static str {
    Severity::ALL
        .get(severity_rank(severity))
        .map_or("▫️", |known| render::severity_mark(*known))
}

pub(super) fn verdict(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "✓ PASS",
        Some(false) => "✗ FAIL",
        None => "? UNKNOWN",
    }
}

pub(super) fn or_unknown(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("?")
}

/// Milliseconds as a person reads them: `12 ms`, `1.50 s`, `2m05s`.
pub(super) fn millis(ms: u64) -> String {
    if ms == 0 {
        // Recorded in whole milliseconds: 0 means under one.
        "<1 ms".to_owned()
    } else {
        render::human_millis(ms as f64)
    }
}

/// A step's failure as a person reads it.
pub(super) fn failure(failure: &Failure) -> String {
    match failure {
        Failure::Timeout { after_ms } => format!("timed out after {}", millis(*after_ms)),
        Failure::Promql { message, .. } => format!("promql: {message}"),
        Failure::LogQuery { message, .. } => format!("log query: {message}"),
        Failure::Unreachable { message } => format!("unreachable: {message}"),
        Failure::Server { message } => format!("server: {message}"),
        Failure::Unsupported { message } => format!("unsupported: {message}"),
        Failure::NotRecorded { message } => format!("not recorded: {message}"),
        Failure::Internal { message } => format!("internal error: {message}"),
    }
}

/// Text on one line: line breaks become spaces.
pub(super) fn one_line(text: &str) -> String {
    text.split(['\n', '\r'])
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a severity ranks, most severe first, in any case (`CRITICAL` too); one the kernel does
/// not know ranks last.
pub(super) fn severity_rank(severity: Option<&str>) -> usize {
    severity
        .and_then(|s| {
            Severity::ALL
                .iter()
                .position(|known| known.name().eq_ignore_ascii_case(s))
        })
        .unwrap_or(Severity::ALL.len())
}

pub(super) fn parse_time(at: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
