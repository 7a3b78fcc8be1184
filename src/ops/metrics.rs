//! Metrics: what a source answers with, and the trait every source implements (a Prometheus
//! server over HTTP, and later a metrics file evaluated in-process; recording and replay wrap it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Label names to values; `__name__` holds the metric name when the series has one.
pub type Labels = BTreeMap<String, String>;

/// One series over a range: its labels and its points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub labels: Labels,
    /// (Unix time in seconds, value). Values may be NaN or ±Inf, as Prometheus sends them.
    pub points: Vec<(f64, f64)>,
}

/// One sample of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Labels,
    pub time: f64,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum QueryResult {
    Matrix(Vec<Series>),
    Vector(Vec<Sample>),
    Scalar { time: f64, value: f64 },
    String { time: f64, value: String },
}

/// A result with the warnings the server sent beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub result: QueryResult,
    pub warnings: Vec<String>,
}

/// The time range and resolution of a range query, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub start: f64,
    pub end: f64,
    pub step: f64,
}

/// The stretch of time a lookup of names asks about, in Unix seconds: a source answers with the
/// names of series that have samples in it (VictoriaMetrics, asked without one, looks at the
/// last five minutes only).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub start: f64,
    pub end: f64,
}

impl Interval {
    /// From the Unix epoch to `end`: "at any time" for a lookup.
    pub fn until(end: f64) -> Interval {
        Interval { start: 0.0, end }
    }

    /// Its ends in nanoseconds, as log lines keep time.
    pub fn nanos(&self) -> (i64, i64) {
        (to_nanos(self.start), to_nanos(self.end))
    }
}

/// Seconds, as windows hold times, to the nanoseconds of log lines; saturating, as a window's
/// ends are checked figures but an interval "since the epoch" starts at 0.
pub fn to_nanos(seconds: f64) -> i64 {
    (seconds * 1e9).round() as i64
}

impl Range {
    pub fn interval(&self) -> Interval {
        Interval {
            start: self.start,
            end: self.end,
        }
    }
}

/// HELP and TYPE of a metric, from the source's metadata. Its serde form is how the journal
/// writes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub kind: String,
    #[serde(default)]
    pub help: String,
    #[serde(default)]
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The expression is not valid PromQL, or cannot be evaluated. `position` is the 1-based
    /// (line, column) within the expression, when the server names one.
    #[error("{message}")]
    PromQL {
        message: String,
        position: Option<(usize, usize)>,
    },
    /// The log query is not valid in its source's language (LogQL; LogsQL for VictoriaLogs);
    /// `position` as for PromQL.
    #[error("{message}")]
    LogQuery {
        message: String,
        position: Option<(usize, usize)>,
    },
    /// No connection could be made (refused, no route, DNS, TLS).
    #[error("{0}")]
    Unreachable(String),
    /// The server did not answer within the source's timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The server answered with an error that is not about the expression, or with a body that
    /// is not the API's JSON.
    #[error("{0}")]
    Server(String),
    /// Valid PromQL that the embedded source does not evaluate: the text names what, and says
    /// to use a prometheus source for it.
    #[error("{0}")]
    Unsupported(String),
    #[error(transparent)]
    NotRecorded(super::NotRecorded),
    /// The evaluation ended because nobody waited for its answer any more.
    #[error("the query was stopped before it finished")]
    Stopped,
    /// The source itself failed (a bug, not the query's fault); the kernel keeps serving.
    #[error("{0}")]
    Internal(String),
}

/// A sample value as Prometheus writes it in its API and in `count_values` labels (Go's
/// `strconv.FormatFloat(v, 'f', -1, 64)`): `NaN`, `+Inf`, `-Inf`, or the shortest exact decimal.
pub fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

/// A metrics backend. Dropping a returned future abandons the request: that is how an interrupt
/// stops a slow query.
#[async_trait::async_trait(?Send)]
pub trait MetricsSource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError>;

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError>;

    /// Every label name of the series the source knows within `interval`.
    async fn label_names(&self, interval: &Interval) -> Result<Vec<String>, SourceError>;

    /// Every value of a label within `interval`; the values of `__name__` are the metric names.
    async fn label_values(
        &self,
        label: &str,
        interval: &Interval,
    ) -> Result<Vec<String>, SourceError>;

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError>;
}
