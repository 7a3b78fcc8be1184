//! The embedded source: samples loaded from a metrics file (OpenMetrics / Prometheus text with
//! timestamps, or CSV) and PromQL evaluated in-process, so a playbook can run with no server.
//!
//! Evaluation follows Prometheus 2.42 (what CI compares against); whatever the evaluator does
//! not implement is refused with `SourceError::Unsupported` (shown as an
//! `UnsupportedInEmbeddedEngine` error) rather than answered approximately.

mod eval;
mod load;
mod series;

use super::metrics::{Answer, MetricInfo, MetricsSource, Range, SourceError};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

pub use super::metrics::Labels;
pub use load::LoadError;
pub use series::StoredSeries;

/// Everything a file held: the series and the metadata of its metric families.
#[derive(Debug, Default)]
pub struct FileSource {
    series: Vec<StoredSeries>,
    /// Keyed by the name the file gave the family (for OpenMetrics counters, without `_total`).
    metadata: HashMap<String, MetricInfo>,
}

/// Reads a metrics file; the format is chosen by its content (a CSV header, or text exposition).
pub fn load(path: &Path) -> Result<FileSource, LoadError> {
    let file = std::fs::File::open(path).map_err(|why| LoadError::Open {
        path: path.to_owned(),
        why,
    })?;
    let name = path.display().to_string();
    // Streamed, so the file's text is never held beside the samples.
    let reader = std::io::BufReader::with_capacity(1 << 16, file);
    let (series, metadata) = load::parse_reader(&name, reader)?;
    Ok(FileSource { series, metadata })
}

impl FileSource {
    /// A source over series built in memory (tests, and callers that already hold samples).
    pub fn from_series(series: Vec<StoredSeries>) -> FileSource {
        FileSource {
            series,
            metadata: HashMap::new(),
        }
    }

    pub fn series(&self) -> &[StoredSeries] {
        &self.series
    }

    /// Total samples held, for callers reporting what a file contained.
    pub fn sample_count(&self) -> usize {
        self.series.iter().map(|s| s.times.len()).sum()
    }

    pub fn instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        eval::instant_query(&self.series, expr, to_millis(time))
    }

    pub fn range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        eval::range_query(
            &self.series,
            expr,
            to_millis(range.start),
            to_millis(range.end),
            range.step,
        )
    }

    fn info(&self, metric: &str) -> Option<MetricInfo> {
        if let Some(info) = self.metadata.get(metric) {
            return Some(info.clone());
        }
        // OpenMetrics names a family without the suffix its samples carry.
        ["_total", "_info", "_bucket", "_count", "_sum", "_created"]
            .iter()
            .filter_map(|suffix| metric.strip_suffix(suffix))
            .find_map(|family| self.metadata.get(family).cloned())
    }
}

/// Seconds to milliseconds the way Prometheus's API parses a time: to the millisecond, rounded.
fn to_millis(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

#[async_trait::async_trait(?Send)]
impl MetricsSource for FileSource {
    async fn query_range(&self, expr: &str, range: &Range) -> Result<Answer, SourceError> {
        self.range(expr, range)
    }

    async fn query_instant(&self, expr: &str, time: f64) -> Result<Answer, SourceError> {
        self.instant(expr, time)
    }

    async fn label_names(&self) -> Result<Vec<String>, SourceError> {
        let names: BTreeSet<&String> = self.series.iter().flat_map(|s| s.labels.keys()).collect();
        Ok(names.into_iter().cloned().collect())
    }

    async fn label_values(&self, label: &str) -> Result<Vec<String>, SourceError> {
        let values: BTreeSet<&String> = self
            .series
            .iter()
            .filter_map(|s| s.labels.get(label))
            .collect();
        Ok(values.into_iter().cloned().collect())
    }

    async fn metadata(&self, metric: &str) -> Result<Option<MetricInfo>, SourceError> {
        Ok(self.info(metric))
    }
}
