//! The report's rows in words, whatever the format: the span, a command's outcome, a query's
//! window. Markdown and HTML escape these; JSON carries some of them as summaries.

use super::fields::{parse_time, severity_rank};
use super::model::{
    is_bookkeeping, CommandRow, Event, Exit, ProbeRow, QueryRow, Report, BOOKKEEPING,
};
use crate::ops::finding::Severity;
use crate::render::{self, format};
use std::fmt::Write;

impl Report {
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

impl CommandRow {
    pub(super) fn exit_text(&self) -> String {
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

    pub(super) fn mark(&self) -> &'static str {
        match self.exit {
            Exit::Code(0) => "✓",
            Exit::Code(_) | Exit::Signal(_) => "✗",
            Exit::NotRun => "○",
            Exit::Unknown if self.error.is_some() => "✗",
            Exit::Other(_) | Exit::Unknown => "?",
        }
    }

    pub(super) fn duration_text(&self) -> String {
        self.duration_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    pub(super) fn outcome(&self) -> String {
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
    pub(super) fn range(&self) -> String {
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
    pub(super) fn outcome(&self) -> String {
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
    pub(super) fn summary(&self) -> String {
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
    pub(super) fn result_text(&self) -> String {
        let mut text = verdict(self.passed).to_owned();
        if let Some(reason) = &self.reason {
            if !reason.is_empty() {
                let _ = write!(text, ": {}", one_line(reason));
            }
        }
        text
    }

    pub(super) fn latency_text(&self) -> String {
        self.latency_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    /// Days until the certificate expires, for HTTPS.
    pub(super) fn certificate_text(&self) -> String {
        match self.cert_days_left {
            Some(days) if days < 0.0 => format!("expired {:.0} days ago", -days),
            Some(days) => format!("{days:.0} days left"),
            None => String::new(),
        }
    }

    pub(super) fn outcome(&self) -> String {
        format!(
            "status {} in {}, {}",
            or_unknown(&self.status),
            self.latency_text(),
            self.result_text()
        )
    }
}

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

// The kernel's formatting writes an infinite number as Prometheus does (`+Inf`); a report has
// always written it as Rust does (`inf`), so these two keep that one case and give every other
// value to the kernel's function. An infinite time or step only comes from a hand-edited journal
// (a string such as `"inf"` where a number belongs).

/// Unix seconds as RFC 3339 in UTC, to the millisecond only when the time has one.
pub(super) fn rfc3339(t: f64) -> String {
    if t.is_infinite() {
        return t.to_string();
    }
    format::rfc3339(t)
}

/// Seconds as playbooks write a duration: `15s`, `1h30m`, `7d`.
pub(super) fn duration(seconds: f64) -> String {
    if seconds.is_infinite() {
        return format!("{seconds}s");
    }
    format::duration(seconds)
}

/// Milliseconds as a person reads them: `12 ms`, `1.50 s`, `2m05s`; `?` for what cannot be one.
pub(super) fn millis(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "?".to_owned()
    } else if ms < 0.5 {
        // Recorded in whole milliseconds: 0 means under one.
        "<1 ms".to_owned()
    } else {
        render::human_millis(ms)
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

/// Text with `code spans` (as check details have): the spans through `code`, the rest through
/// `plain`. Unbalanced backticks are plain text.
pub(super) fn rich(text: &str, plain: fn(&str) -> String, code: fn(&str) -> String) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return plain(text);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { plain(part) })
        .collect()
}
