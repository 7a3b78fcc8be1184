//! The embedded source: samples loaded from a metrics file (OpenMetrics / Prometheus text with
//! timestamps, or CSV) and PromQL evaluated in-process, so a playbook can run with no server.
//!
//! Evaluation follows Prometheus 2.42 (what CI compares against); whatever the evaluator does
//! not implement is refused with `SourceError::Unsupported` (shown as an
//! `UnsupportedInEmbeddedEngine` error) rather than answered approximately.

mod eval;
mod load;
mod series;

use super::metrics::{Answer, Interval, MetricInfo, MetricsSource, Range, SourceError};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use super::metrics::Labels;
pub use eval::label_set::LabelSet;
pub use load::LoadError;
pub use series::StoredSeries;

/// Everything a file held: the series and the metadata of its metric families. Shared, so that
/// a query evaluates on a worker thread while the kernel keeps serving.
#[derive(Debug, Default, Clone)]
pub struct FileSource {
    data: Arc<Stored>,
}

#[derive(Debug, Default)]
struct Stored {
    series: Vec<StoredSeries>,
    /// Keyed by the name the file gave the family (for OpenMetrics counters, without `_total`).
    metadata: HashMap<String, MetricInfo>,
}

/// Set when whoever waits for an evaluation stops waiting (the user interrupted): the
/// evaluation ends at its next step instead of computing an answer nobody reads.
#[derive(Debug, Default, Clone)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The evaluation thread's stack: address space reserved, not memory used.
const EVALUATION_STACK: usize = 256 << 20;

/// Stops the evaluation (or the reading of log files) when the future waiting for it is
/// dropped, answered or not: an interrupt drops it.
pub struct StopOnDrop(pub Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// Reads a metrics file; the format is chosen by its content (a CSV header, or text exposition).
pub fn load(path: &Path) -> Result<FileSource, LoadError> {
    let file =
        super::regular_file::open(path, super::regular_file::Cap::data()).map_err(|why| {
            LoadError::Open {
                path: path.to_owned(),
                why,
            }
        })?;
    let name = path.display().to_string();
    // Streamed, so the file's text is never held beside the samples.
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let (series, metadata) = load::parse_reader(&name, reader)?;
    Ok(FileSource {
        data: Arc::new(Stored { series, metadata }),
    })
}

impl FileSource {
    /// A source over series built in memory (tests, and callers that already hold samples).
    pub fn from_series(series: Vec<StoredSeries>) -> FileSource {
        FileSource {
            data: Arc::new(Stored {
                series,
                metadata: HashMap::new(),
            }),
        }
    }

    pub fn series(&self) -> &[StoredSeries] {
        &self.data.series
    }

    /// Total samples held, for callers reporting what a file contained.
    pub fn sample_count(&self) -> usize {
        self.series().iter().map(|s| s.samples.len()).sum()
    }

    pub fn instant(&self, expr: &str, time: f64, stop: &Stop) -> Result<Answer, SourceError> {
        eval::instant_query(self.series(), expr, to_millis(time), stop)
    }

    pub fn range(&self, expr: &str, range: &Range, stop: &Stop) -> Result<Answer, SourceError> {
        eval::range_query(
            self.series(),
            expr,
            to_millis(range.start),
            to_millis(range.end),
            range.step,
            stop,
        )
    }

    fn info(&self, metric: &str) -> Option<MetricInfo> {
        let metadata = &self.data.metadata;
        if let Some(info) = metadata.get(metric) {
            return Some(info.clone());
        }
        // OpenMetrics names a family without the suffix its samples carry.
        ["_total", "_info", "_bucket", "_count", "_sum", "_created"]
            .iter()
            .filter_map(|suffix| metric.strip_suffix(suffix))
            .find_map(|family| metadata.get(family).cloned())
    }
}

/// Evaluates on a thread of its own, so that the thread serving the kernel stays free while a
/// heavy query runs; dropping the returned future (an interrupt) stops the evaluation at its
/// next step. The thread's stack is large (reserved, and used only as deep as the expression
/// goes) because PromQL is parsed, evaluated and dropped recursively: `1+1+...` is a tree as
/// deep as it has terms. A panic in the evaluator becomes an error of this query.
pub async fn off_thread<T, F>(name: &str, evaluate: F) -> Result<T, SourceError>
where
    T: Send + 'static,
    F: FnOnce(&Stop) -> Result<T, SourceError> + Send + 'static,
{
    let guard = StopOnDrop(Stop::default());
    let stop = guard.0.clone();
    let (answer, answered) = tokio::sync::oneshot::channel();
    let failed = |why: String| {
        SourceError::Internal(format!("the embedded engine failed on this query: {why}"))
    };
    std::thread::Builder::new()
        .name(name.into())
        .stack_size(EVALUATION_STACK)
        .spawn(move || {
            let _ = answer.send(evaluate(&stop));
        })
        .map_err(|e| failed(format!("cannot start its thread: {e}")))?;
    answered
        .await
        .unwrap_or_else(|_| Err(failed("it stopped without an answer".into())))
}

/// Seconds to milliseconds the way Prometheus's API parses a time: to the millisecond, rounded.
fn to_millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for FileSource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        let (source, expr, range) = (self.clone(), expr.to_owned(), *range);
        off_thread("promql", move |stop| source.range(&expr, &range, stop)).await
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        let (source, expr) = (self.clone(), expr.to_owned());
        off_thread("promql", move |stop| source.instant(&expr, time, stop)).await
    }

    // A file's names are few and all at hand: all of them, whatever the interval.
    async fn label_names(&self, _: &Interval) -> Result<Vec<String>, SourceError> {
        let names: BTreeSet<&str> = (self.series().iter())
            .flat_map(|s| s.labels.iter().map(|(name, _)| name))
            .collect();
        Ok(names.into_iter().map(str::to_owned).collect())
    }

    async fn label_values(&self, label: &str, _: &Interval) -> Result<Vec<String>, SourceError> {
        let values: BTreeSet<&str> = self
            .series()
            .iter()
            .filter_map(|s| s.labels.get(label))
            .collect();
        Ok(values.into_iter().map(str::to_owned).collect())
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        Ok(self.info(metric))
    }
}
