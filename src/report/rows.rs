//! The report's rows, one kind a section, and how each reads in words, whatever the format.
//!
//! A row is the step's input and result as the journal holds them, borrowed: what a step
//! records is said once, in `journal::entry`, and what the report derives from it is said here.

use super::wording::{failure, millis, one_line, or_unknown, verdict};
use crate::journal::entry::{
    Backend, CheckInput, CheckVerdict, FindingInput, ProbeInput, ProbeOutcome, QueryInput,
    QueryOutcome, RunInput, RunOutcome, SecretInput, SourceInput, WindowInput, WindowOutcome,
};
use crate::ops::command::Exit;
use crate::ops::prometheus::ApiResult;
use crate::render::format::{duration, rfc3339, shorten};
use serde_json::Value;
use std::fmt::Write;

/// Where and when a step happened.
pub(super) struct Place {
    pub(super) seq: u64,
    pub(super) at: String,
}

/// A step filed under its section. Findings, sources and secrets have no result (`{}`).
pub(super) struct Row<'a, I, R = ()> {
    pub(super) place: Place,
    pub(super) input: &'a I,
    pub(super) result: &'a R,
}

pub(super) type WindowRow<'a> = Row<'a, WindowInput, WindowOutcome>;
pub(super) type SourceRow<'a> = Row<'a, SourceInput>;
pub(super) type FindingRow<'a> = Row<'a, FindingInput>;
pub(super) type CheckRow<'a> = Row<'a, CheckInput, CheckVerdict>;
pub(super) type CommandRow<'a> = Row<'a, RunInput, RunOutcome>;
pub(super) type QueryRow<'a> = Row<'a, QueryInput, QueryOutcome>;
pub(super) type ProbeRow<'a> = Row<'a, ProbeInput, ProbeOutcome>;
pub(super) type SecretRow<'a> = Row<'a, SecretInput>;

/// A row's line in the timeline.
pub(super) trait Line {
    fn line(&self) -> String;
}

impl WindowRow<'_> {
    /// The window as written: `now-3600s .. now step 60.0`.
    pub(super) fn written(&self) -> String {
        // The step as the journal writes it: `60.0`.
        let step = self.input.step.map(Value::from);
        format!(
            "{} .. {}{}",
            or_unknown(&self.input.start),
            or_unknown(&self.input.end),
            step.map(|s| format!(" step {s}")).unwrap_or_default()
        )
    }

    pub(super) fn step_text(&self) -> String {
        let step = self.result.step_seconds;
        step.map(duration).unwrap_or_else(|| "?".into())
    }
}

impl Line for WindowRow<'_> {
    fn line(&self) -> String {
        match (&self.result.start, &self.result.end) {
            (Some(start), Some(end)) => {
                format!("window {start} .. {end}, step {}", self.step_text())
            }
            _ => format!("window {}", self.written()),
        }
    }
}

impl SourceRow<'_> {
    pub(super) fn kind(&self) -> Option<String> {
        let kind = match self.input.backend.as_ref()? {
            Backend::Prometheus { .. } => "prometheus",
            Backend::File { .. } => "file",
            Backend::Logs { .. } => "logs",
            Backend::Victorialogs { .. } => "victorialogs",
            Backend::Loki { .. } => "loki",
        };
        Some(kind.to_owned())
    }

    /// Where the source reads: a server's URL, or its files as written.
    pub(super) fn location(&self) -> Option<String> {
        match self.input.backend.as_ref()? {
            Backend::File { path } => Some(path.clone()),
            Backend::Logs { paths, .. } => Some(paths.join(" ")),
            _ => self.url(),
        }
    }

    /// A server's URL; files have none.
    pub(super) fn url(&self) -> Option<String> {
        match &self.input.backend {
            Some(
                Backend::Prometheus { url } | Backend::Victorialogs { url } | Backend::Loki { url },
            ) => url.clone(),
            _ => None,
        }
    }
}

impl Line for SourceRow<'_> {
    fn line(&self) -> String {
        format!(
            "source {}: {} {}",
            or_unknown(&self.input.name),
            or_unknown(&self.kind()),
            or_unknown(&self.location())
        )
    }
}

impl Line for FindingRow<'_> {
    fn line(&self) -> String {
        let finding = self.input;
        let mut line = format!(
            "{} finding: {}",
            or_unknown(&finding.severity).to_uppercase(),
            shorten(or_unknown(&finding.text), 160)
        );
        if !finding.evidence.is_empty() {
            let _ = write!(line, " (evidence {})", finding.evidence.join(", "));
        }
        line
    }
}

impl Line for CheckRow<'_> {
    fn line(&self) -> String {
        let passed = verdict(self.result.passed);
        format!("{passed} check {}", or_unknown(&self.input.title))
    }
}

impl CommandRow<'_> {
    pub(super) fn error(&self) -> Option<String> {
        self.result.error.as_ref().map(failure)
    }

    pub(super) fn exit_text(&self) -> String {
        match &self.result.exit {
            Some(Exit::Code(code)) => format!("exit {code}"),
            Some(Exit::Signal(signal)) => format!("killed by signal {signal}"),
            Some(Exit::NotRun) => "not run".to_owned(),
            None => match self.error() {
                Some(error) => format!("error: {}", one_line(&error)),
                None => "?".to_owned(),
            },
        }
    }

    pub(super) fn mark(&self) -> &'static str {
        match self.result.exit {
            Some(Exit::Code(0)) => "✓",
            Some(Exit::Code(_) | Exit::Signal(_)) => "✗",
            Some(Exit::NotRun) => "○",
            None if self.result.error.is_some() => "✗",
            None => "?",
        }
    }

    pub(super) fn duration_text(&self) -> String {
        self.result
            .duration_ms
            .map(millis)
            .unwrap_or_else(|| "?".into())
    }

    pub(super) fn outcome(&self) -> String {
        let mut text = format!("{} {}", self.mark(), self.exit_text());
        if self.result.exit != Some(Exit::NotRun) {
            let _ = write!(text, " in {}", self.duration_text());
        }
        if self.result.truncated == Some(true) {
            text.push_str(", output truncated");
        }
        text
    }
}

impl Line for CommandRow<'_> {
    fn line(&self) -> String {
        let command = shorten(or_unknown(&self.input.command), 120);
        format!("run {command}: {}", self.outcome())
    }
}

impl QueryRow<'_> {
    /// The kind of answer: `matrix`, `vector`, `scalar` or `string`.
    pub(super) fn result_type(&self) -> Option<&'static str> {
        Some(match self.result.data.as_ref()? {
            ApiResult::Matrix(_) => "matrix",
            ApiResult::Vector(_) => "vector",
            ApiResult::Scalar(_) => "scalar",
            ApiResult::String(_) => "string",
        })
    }

    /// How many series came back; a scalar or a string is one value, not a list of series.
    pub(super) fn series(&self) -> Option<usize> {
        match self.result.data.as_ref()? {
            ApiResult::Matrix(series) => Some(series.len()),
            ApiResult::Vector(samples) => Some(samples.len()),
            ApiResult::Scalar(_) | ApiResult::String(_) => None,
        }
    }

    pub(super) fn warnings(&self) -> &[String] {
        self.result.warnings.as_deref().unwrap_or_default()
    }

    pub(super) fn error(&self) -> Option<String> {
        self.result.error.as_ref().map(failure)
    }

    /// What the query looked at: an instant, or a range and its step.
    pub(super) fn range(&self) -> String {
        let query = self.input;
        if query.instant == Some(true) {
            let at = query.time.or(query.end);
            return format!(
                "instant at {}",
                at.map(rfc3339).unwrap_or_else(|| "?".into())
            );
        }
        format!(
            "{} .. {}, step {}",
            query.start.map(rfc3339).unwrap_or_else(|| "?".into()),
            query.end.map(rfc3339).unwrap_or_else(|| "?".into()),
            query.step.map(duration).unwrap_or_else(|| "?".into())
        )
    }

    /// What came back.
    pub(super) fn outcome(&self) -> String {
        if let Some(error) = self.error() {
            return format!("error: {}", one_line(&error));
        }
        let mut text = match (self.series(), self.result_type()) {
            (Some(1), _) => "1 series".to_owned(),
            (Some(n), _) => format!("{n} series"),
            (None, Some(kind)) => format!("a {kind}"),
            (None, None) => "? series".to_owned(),
        };
        match self.warnings().len() {
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
            or_unknown(&self.input.expr),
            or_unknown(&self.input.source),
            self.outcome(),
            self.range()
        )
    }
}

impl Line for QueryRow<'_> {
    fn line(&self) -> String {
        format!(
            "query @{} {}: {} ({})",
            or_unknown(&self.input.source),
            shorten(or_unknown(&self.input.expr), 120),
            self.outcome(),
            self.range()
        )
    }
}

impl ProbeRow<'_> {
    pub(super) fn result_text(&self) -> String {
        let mut text = verdict(self.result.passed).to_owned();
        if let Some(reason) = &self.result.reason {
            if !reason.is_empty() {
                let _ = write!(text, ": {}", one_line(reason));
            }
        }
        text
    }

    pub(super) fn status_text(&self) -> String {
        self.result
            .status
            .map_or_else(|| "?".to_owned(), |s| s.to_string())
    }

    pub(super) fn latency_text(&self) -> String {
        self.result
            .latency_ms
            .map(millis)
            .unwrap_or_else(|| "?".into())
    }

    /// Days until the certificate expires, for HTTPS.
    pub(super) fn certificate_text(&self) -> String {
        match self.result.cert_days_left {
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

impl Line for ProbeRow<'_> {
    fn line(&self) -> String {
        format!("probe {}: {}", or_unknown(&self.input.url), self.outcome())
    }
}

impl Line for SecretRow<'_> {
    fn line(&self) -> String {
        format!(
            "secret {} from {}",
            or_unknown(&self.input.name),
            or_unknown(&self.input.reference)
        )
    }
}
