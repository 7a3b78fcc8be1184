//! A log source as steps see it. Recording, replay and the embedded engine over files each
//! implement it; the `logs` statement sees only this trait.

use super::{LogError, LogFiles, LogFormat, LogSelection};
use crate::ops::file_source::off_thread;
use crate::ops::metrics::{Interval, SourceError};

#[async_trait::async_trait(?Send)]
pub trait LogSource {
    /// The lines `query` (LogQL) selects within `interval`, newest first, at most `limit`.
    async fn select(
        &self,
        query: &str,
        interval: &Interval,
        limit: usize,
    ) -> Result<LogSelection, SourceError>;
}

/// Seconds, as windows hold times, to the nanoseconds of log lines; saturating, as a window's
/// ends are checked figures but an interval "since the epoch" starts at 0.
fn to_nanos(seconds: f64) -> i64 {
    (seconds * 1e9).round() as i64
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
        let (start, end) = (to_nanos(interval.start), to_nanos(interval.end));
        off_thread("logql", move |stop| {
            Ok(files.select(&query, start, end, limit, stop)?)
        })
        .await
    }
}

/// As the `format` option of a `source NAME logs` statement writes it.
impl std::fmt::Display for LogFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LogFormat::Json => "json",
            LogFormat::Logfmt => "logfmt",
            LogFormat::Text => "text",
        })
    }
}
