//! The embedded log engine: log files (JSON lines, logfmt or text) indexed, and LogQL queries
//! evaluated in-process over them, so a playbook can look at logs with no Loki server.
//!
//! Evaluation follows Grafana Loki 3 for log queries and for metric queries (range
//! aggregations such as `count_over_time` and `sum_over_time` over `| unwrap`, vector
//! aggregations, binary operators); whatever the engine does not implement (formatting stages,
//! `label_replace`, `group_left`, ...) is refused with `LogError::Unsupported` rather than
//! answered approximately.
//!
//! A log query gives lines (`select`), a metric query numbers (`metric_range`,
//! `metric_instant`); each refuses the other kind with a `Syntax` error at the query's start
//! that names the statement to use (`query` for a metric query, `logs` for a log query).
//! Errors met while evaluating a metric query that are the query's fault (a pipeline error such
//! as `SampleExtractionErr` reaching a result, as Loki reports it; many-to-many matching) are
//! `Syntax` errors at the construct; a range query's limits (a step above zero, at most 11,000
//! points per series) are `Unsupported`.

mod files;
mod level;
mod lexer;
mod logfmt;
mod logql;
mod metric;
mod metric_parse;
mod pipeline;
mod source;
mod store;
mod timestamp;
mod volume;

#[cfg(test)]
mod metric_tests;
#[cfg(test)]
mod store_tests;
#[cfg(test)]
mod tests;

use crate::ops::file_source::Stop;
use std::collections::{BTreeSet, BinaryHeap};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;

pub type Labels = std::collections::BTreeMap<String, String>;

/// One log line as a query returns it: its time, its labels (the stream's labels plus those its
/// pipeline parsed), its text.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    pub at_ns: i64,
    pub labels: Labels,
    pub line: String,
}

impl LogLine {
    /// Fields of the line for `fields` columns, in the order asked: a label (the stream's, or
    /// one its pipeline parsed), else a top-level field of the line read as JSON, else as
    /// logfmt; the line is read once, whatever the number of fields. A JSON value that is not a
    /// string is shown as JSON.
    pub fn fields(&self, names: &[String]) -> Vec<Option<String>> {
        let mut read: Option<Vec<(String, String)>> = None;
        let mut read_line = || {
            if self.line.trim_start().starts_with('{') {
                let object: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_str(&self.line).unwrap_or_default();
                (object.into_iter())
                    .map(|(key, value)| match value {
                        serde_json::Value::String(text) => (key, text),
                        other => (key, other.to_string()),
                    })
                    .collect()
            } else {
                logfmt::pairs(&self.line).unwrap_or_else(|malformed| malformed.before)
            }
        };
        (names.iter())
            .map(|name| match self.labels.get(name) {
                Some(value) => Some(value.clone()),
                None => (read.get_or_insert_with(&mut read_line).iter())
                    .find(|(key, _)| key == name)
                    .map(|(_, value)| value.clone()),
            })
            .collect()
    }
}

/// What a log query selected in an interval: at most `limit` lines, newest first, how many
/// matched in all, and when (the volume chart's bars; none from a journal written before they
/// were kept).
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct LogSelection {
    pub lines: Vec<LogLine>,
    pub matched: usize,
    pub volume: Option<Volume>,
    /// What the server said beside its answer (Loki's partial responses), shown above it.
    pub warnings: Vec<String>,
}

/// How the lines of a log file are written, which says where each line's time is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Logfmt,
    /// A timestamp at the start of each line: RFC 3339, `2006-01-02 15:04:05`, or syslog's.
    Text,
    /// No timestamps: every line has the time the file was last written.
    Plain,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<LogFormat, String> {
        match text {
            "json" => Ok(LogFormat::Json),
            "logfmt" => Ok(LogFormat::Logfmt),
            "text" => Ok(LogFormat::Text),
            "plain" => Ok(LogFormat::Plain),
            other => Err(format!(
                "unknown log format `{other}`: expected `json`, `logfmt`, `text` or `plain`"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LogError {
    /// Not valid LogQL: message, and 1-based (line, column) in the query text.
    #[error("{message}")]
    Syntax {
        message: String,
        position: (usize, usize),
    },
    /// Valid LogQL the embedded engine does not evaluate; the text names the construct.
    #[error("{0}")]
    Unsupported(String),
    #[error("the query was stopped before it finished")]
    Stopped,
    /// A file is not what it was when the source was declared; the text names it.
    #[error("{0}")]
    Changed(String),
}

pub use files::LogLoadError;
pub use level::Level;
pub use source::{label_names_of, newest, LogSource, FIELD_SAMPLE};
pub use volume::{Bar, Counter, Volume};

/// Log files indexed, shared (cheap Clone via Arc) so a query can run on a worker thread.
#[derive(Debug, Clone)]
pub struct LogFiles {
    store: Arc<store::Store>,
}

impl LogFiles {
    /// `paths`: files or globs (a `*`/`?` in the last component only; a glob that matches
    /// nothing is an error), already absolute or relative to the process's cwd.
    /// `labels`: fixed labels every stream gets (`label K=V` in the source statement); they win
    /// over a field of the same name.
    /// `label_fields`: for json and logfmt, fields whose value becomes a stream label; a line
    /// lacking one just lacks that label.
    /// Every stream also gets `filename` = the file's path as given/expanded.
    /// `stop`: set when the declaration is interrupted; reading ends at the next block.
    pub fn load(
        paths: &[PathBuf],
        format: LogFormat,
        labels: &Labels,
        label_fields: &[String],
        stop: &Stop,
    ) -> Result<LogFiles, LogLoadError> {
        let store = store::Store::index(paths, format, labels, label_fields, stop)?;
        Ok(LogFiles {
            store: Arc::new(store),
        })
    }

    pub fn line_count(&self) -> usize {
        self.store.line_count()
    }

    /// The lines the LogQL log query selects with start_ns <= time <= end_ns, newest first
    /// (ties: the later line in the file first, and lines of a later-loaded file before those of
    /// an earlier one), at most `limit`; `matched` counts all.
    pub fn select(
        &self,
        query: &str,
        start_ns: i64,
        end_ns: i64,
        limit: usize,
        stop: &Stop,
    ) -> Result<LogSelection, LogError> {
        let query = logql::parse(query)?;
        let step_ns = Volume::step_for(start_ns, end_ns);
        let shares = self.store.scan(
            &query,
            (start_ns, end_ns),
            stop,
            || (Newest::new(limit), 0usize, Counter::new(step_ns)),
            |(newest, matched, volume), found| {
                let Some(labels) = query.run(found.stream, found.text) else {
                    return Ok(());
                };
                *matched += 1;
                volume.add(found.at_ns, Level::of(&labels, found.text));
                let order = (found.at_ns, found.place.0, found.place.1);
                newest.offer(order, || LogLine {
                    at_ns: found.at_ns,
                    labels: labels.into_owned(),
                    line: found.text.to_owned(),
                });
                Ok(())
            },
        )?;
        let (mut newest, mut matched, mut volume) = (Newest::new(limit), 0, Counter::new(step_ns));
        for (share_newest, share_matched, share_volume) in shares {
            for candidate in share_newest.heap {
                newest.offer(candidate.order, || candidate.line);
            }
            matched += share_matched;
            for bar in share_volume.finish(true).bars {
                volume.add_count(bar.at_ns, bar.level, bar.count);
            }
        }
        // Ascending on the reversed order is newest first.
        let lines = (newest.heap.into_sorted_vec().into_iter())
            .map(|c| c.line)
            .collect();
        Ok(LogSelection {
            lines,
            matched,
            volume: Some(volume.finish(true)),
            warnings: Vec::new(),
        })
    }

    /// A LogQL metric query evaluated at start, start+step, ... up to end (inclusive), as Loki's
    /// query_range does; a matrix, series sorted by labels, points in time order, a point only
    /// where the series has a value. A scalar expression gives one series with no labels.
    /// Refused (`Unsupported`): step <= 0, end < start, more than 11,000 steps.
    pub fn metric_range(
        &self,
        query: &str,
        start_ns: i64,
        end_ns: i64,
        step_ns: i64,
        stop: &Stop,
    ) -> Result<crate::ops::metrics::QueryResult, LogError> {
        let expr = logql::parse_metric(query)?;
        metric::range(&self.store, &expr, start_ns, end_ns, step_ns, stop)
    }

    /// The same at one time: `QueryResult::Vector` (samples sorted by labels), or `Scalar` for
    /// a scalar expression.
    pub fn metric_instant(
        &self,
        query: &str,
        time_ns: i64,
        stop: &Stop,
    ) -> Result<crate::ops::metrics::QueryResult, LogError> {
        let expr = logql::parse_metric(query)?;
        metric::instant(&self.store, &expr, time_ns, stop)
    }

    /// Label names of the streams (for completion), sorted, deduplicated.
    pub fn label_names(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self.store.streams().iter().flat_map(Labels::keys).collect();
        names.into_iter().cloned().collect()
    }

    /// The values one label takes over the streams, sorted, deduplicated.
    pub fn label_values(&self, name: &str) -> Vec<String> {
        let values: BTreeSet<&String> = (self.store.streams().iter())
            .filter_map(|labels| labels.get(name))
            .collect();
        values.into_iter().cloned().collect()
    }
}

/// The `limit` newest lines offered: a min-heap, so that a line older than all kept ones is
/// not built at all.
struct Newest {
    limit: usize,
    heap: BinaryHeap<Candidate>,
}

impl Newest {
    fn new(limit: usize) -> Newest {
        Newest {
            limit,
            heap: BinaryHeap::new(),
        }
    }

    fn offer(&mut self, order: (i64, u32, u64), line: impl FnOnce() -> LogLine) {
        if self.heap.len() == self.limit {
            match self.heap.peek() {
                Some(oldest) if oldest.order < order => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        self.heap.push(Candidate {
            order,
            line: line(),
        });
    }
}

/// A selected line and where it sorts: (time, file, offset in the file).
struct Candidate {
    order: (i64, u32, u64),
    line: LogLine,
}

// Reversed, so that `BinaryHeap` (a max-heap) keeps the oldest kept line on top.
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.order.cmp(&self.order)
    }
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.order == other.order
    }
}

impl Eq for Candidate {}

/// Checks a query's syntax without files (the engine reports errors with positions before
/// running): Ok(()) for a log query `select` evaluates or a metric query `metric_range` and
/// `metric_instant` evaluate, else the Syntax/Unsupported error they would give (save the one
/// that says the query is of the other kind).
pub fn check_query(query: &str) -> Result<(), LogError> {
    logql::parse_query(query).map(|_| ())
}

/// Whether the query is a metric query: it does not start with a stream selector `{` (after
/// blanks and `#` comments), so the caller can tell `logs` from `query`. An empty query is not.
pub fn is_metric_query(query: &str) -> bool {
    let mut rest = query.trim_start();
    while let Some(comment) = rest.strip_prefix('#') {
        rest = comment
            .find('\n')
            .map_or("", |end| &comment[end..])
            .trim_start();
    }
    !rest.is_empty() && !rest.starts_with('{')
}
