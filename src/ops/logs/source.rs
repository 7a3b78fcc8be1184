//! A log source as steps see it. Recording, replay and the embedded engine over files each
//! implement it; the `logs` statement sees only this trait.

use super::{LogError, LogFiles, LogFormat, LogLine, LogSelection};
use crate::ops::file_source::off_thread;
use crate::ops::metrics::{
    to_nanos, Answer, Interval, MetricInfo, MetricsSource, Range, SourceError,
};

#[async_trait::async_trait(?Send)]
pub trait LogSource {
    /// The lines `query` (LogQL) selects within `interval`, newest first, at most `limit`.
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError>;

    /// The names a label filter after `query` may test: the labels of the newest lines it
    /// selects, its parsers' fields among them. Completion offers them after a `|`.
    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError>;

    /// The same source as a metrics source, when it answers metric queries over its logs
    /// (`count_over_time`, `rate`, ...): `query @NAME` and checks reach it so.
    fn metrics(&self) -> Option<Box<dyn MetricsSource>>;
}

/// How many of a query's newest lines are read for the fields its parsers give: a field in
/// rarer lines than this may be missed, as it is by Loki's own detected fields.
pub const FIELD_SAMPLE: usize = 200;

/// Every label name of `lines`, once each, sorted.
pub fn label_names_of(lines: &[LogLine]) -> Vec<String> {
    let names: std::collections::BTreeSet<&String> =
        lines.iter().flat_map(|line| line.labels.keys()).collect();
    names.into_iter().cloned().collect()
}

/// The `limit` newest of lines a server sent, newest first: servers send them by stream.
pub fn newest(mut lines: Vec<LogLine>, limit: usize) -> Vec<LogLine> {
    lines.sort_by_key(|line| std::cmp::Reverse(line.at_ns));
    lines.truncate(limit);
    lines
}

impl From<LogError> for SourceError {
    fn from(error: LogError) -> SourceError {
        match error {
            LogError::Syntax { message, position } => SourceError::LogQuery {
                message,
                position: Some(position),
            },
            LogError::Unsupported(what) => SourceError::Unsupported(what),
            LogError::Stopped => SourceError::Stopped,
            LogError::Changed(what) => SourceError::Server(what),
        }
    }
}

#[async_trait::async_trait(?Send)]
impl LogSource for LogFiles {
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError> {
        // The syntax is checked here, so that a bad query costs no thread.
        super::check_query(query)?;
        let (files, query) = (self.clone(), query.to_owned());
        let (start, end) = interval.nanos();
        off_thread("logql", move |stop| {
            Ok(files.select(&query, start, end, limit, stop)?)
        })
        .await
    }

    async fn field_names(
        &self,
        query: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError> {
        let sample = LogSource::select(self, query, interval, FIELD_SAMPLE).await?;
        Ok(label_names_of(&sample.lines))
    }

    fn metrics(&self) -> Option<Box<dyn MetricsSource>> {
        Some(Box::new(self.clone()))
    }
}

/// LogQL metric queries over the files: what `query @NAME` and checks ask.
#[async_trait::async_trait(?Send)]
impl MetricsSource for LogFiles {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let (files, expr) = (self.clone(), expr.to_owned());
        let (start, end, step) = (
            to_nanos(range.start),
            to_nanos(range.end),
            to_nanos(range.step),
        );
        off_thread("logql", move |stop| {
            Ok(Answer {
                result: files.metric_range(&expr, start, end, step, stop)?,
                warnings: Vec::new(),
            })
        })
        .await
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let (files, expr) = (self.clone(), expr.to_owned());
        off_thread("logql", move |stop| {
            Ok(Answer {
                result: files.metric_instant(&expr, to_nanos(time), stop)?,
                warnings: Vec::new(),
            })
        })
        .await
    }

    // The files' labels are few and all at hand: all of them, whatever the interval.
    async fn label_names(&self, _: &Interval) -> Result<Vec<String>, SourceError> {
        Ok(LogFiles::label_names(self))
    }

    async fn label_values(&self, label: &str, _: &Interval) -> Result<Vec<String>, SourceError> {
        Ok(LogFiles::label_values(self, label))
    }

    async fn metadata(&self, _: &str) -> Result<Option<MetricInfo>, SourceError> {
        Ok(None)
    }
}

/// As the `format` option of a `source NAME logs` statement writes it.
impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Json => "json",
            LogFormat::Logfmt => "logfmt",
            LogFormat::Text => "text",
            LogFormat::Plain => "plain",
        })
    }
}
