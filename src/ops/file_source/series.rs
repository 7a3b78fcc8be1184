//! How the embedded source holds samples, apart from both the loader that fills it and the
//! evaluator that reads it.

use super::LabelSet;

/// One stored series: its labels once, then its samples as two parallel columns sorted by time,
/// which keeps a sample at 16 bytes and lets a window be found by binary search.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    pub labels: LabelSet,
    /// Unix time in milliseconds, strictly increasing.
    pub times: Vec<i64>,
    pub values: Vec<f64>,
}
