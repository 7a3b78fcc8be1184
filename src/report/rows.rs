//! The report's rows, one kind a section, and how each reads in words, whatever the format.

use super::wording::{millis, one_line, or_unknown, verdict};
use crate::ops::command::Exit;
use crate::render::format::{duration, rfc3339};
use std::fmt::Write;

/// Where and when a step happened.
pub(super) struct Place {
    pub(super) seq: u64,
    pub(super) at: String,
}

pub(super) struct WindowRow {
    pub(super) place: Place,
    pub(super) written: String,
    pub(super) start: Option<String>,
    pub(super) end: Option<String>,
    pub(super) step_seconds: Option<f64>,
}

pub(super) struct SourceRow {
    pub(super) place: Place,
    pub(super) name: Option<String>,
    pub(super) kind: Option<String>,
    pub(super) url: Option<String>,
}

pub(super) struct FindingRow {
    pub(super) place: Place,
    pub(super) severity: Option<String>,
    pub(super) text: Option<String>,
    pub(super) evidence: Vec<String>,
}

pub(super) struct CheckRow {
    pub(super) place: Place,
    pub(super) title: Option<String>,
    pub(super) condition: Option<String>,
    pub(super) passed: Option<bool>,
    pub(super) detail: Option<String>,
}

pub(super) struct CommandRow {
    pub(super) place: Place,
    pub(super) command: Option<String>,
    pub(super) cwd: Option<String>,
    pub(super) exit: Option<Exit>,
    pub(super) duration_ms: Option<u64>,
    pub(super) truncated: Option<bool>,
    pub(super) error: Option<String>,
}

pub(super) struct QueryRow {
    pub(super) place: Place,
    pub(super) source: Option<String>,
    pub(super) expr: Option<String>,
    pub(super) instant: Option<bool>,
    pub(super) start: Option<f64>,
    pub(super) end: Option<f64>,
    pub(super) step: Option<f64>,
    /// An instant query's time.
    pub(super) time: Option<f64>,
    pub(super) result_type: Option<&'static str>,
    pub(super) series: Option<usize>,
    pub(super) warnings: Vec<String>,
    pub(super) error: Option<String>,
}

pub(super) struct ProbeRow {
    pub(super) place: Place,
    pub(super) url: Option<String>,
    pub(super) expect: Option<u16>,
    pub(super) status: Option<u16>,
    pub(super) latency_ms: Option<u64>,
    pub(super) body_bytes: Option<u64>,
    pub(super) cert_days_left: Option<i64>,
    pub(super) passed: Option<bool>,
    pub(super) reason: Option<String>,
}

pub(super) struct SecretRow {
    pub(super) place: Place,
    pub(super) name: Option<String>,
    pub(super) reference: Option<String>,
}

impl CommandRow {
    pub(super) fn exit_text(&self) -> String {
        match &self.exit {
            Some(Exit::Code(code)) => format!("exit {code}"),
            Some(Exit::Signal(signal)) => format!("killed by signal {signal}"),
            Some(Exit::NotRun) => "not run".to_owned(),
            None => match &self.error {
                Some(error) => format!("error: {}", one_line(error)),
                None => "?".to_owned(),
            },
        }
    }

    pub(super) fn mark(&self) -> &'static str {
        match self.exit {
            Some(Exit::Code(0)) => "✓",
            Some(Exit::Code(_) | Exit::Signal(_)) => "✗",
            Some(Exit::NotRun) => "○",
            None if self.error.is_some() => "✗",
            None => "?",
        }
    }

    pub(super) fn duration_text(&self) -> String {
        self.duration_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    pub(super) fn outcome(&self) -> String {
        let mut text = format!("{} {}", self.mark(), self.exit_text());
        if self.exit != Some(Exit::NotRun) {
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
            let at = self.time.or(self.end);
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
        let mut text = match (&self.series, self.result_type) {
            (Some(1), _) => "1 series".to_owned(),
            (Some(n), _) => format!("{n} series"),
            (None, Some(kind)) => format!("a {kind}"),
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

    pub(super) fn status_text(&self) -> String {
        self.status
            .map_or_else(|| "?".to_owned(), |s| s.to_string())
    }

    pub(super) fn latency_text(&self) -> String {
        self.latency_ms.map(millis).unwrap_or_else(|| "?".into())
    }

    /// Days until the certificate expires, for HTTPS.
    pub(super) fn certificate_text(&self) -> String {
        match self.cert_days_left {
            Some(days) if days < 0 => format!("expired {} days ago", -days),
            Some(days) => format!("{days} days left"),
            None => String::new(),
        }
    }

    pub(super) fn outcome(&self) -> String {
        format!(
            "status {} in {}, {}",
            self.status_text(),
            self.latency_text(),
            self.result_text()
        )
    }
}
