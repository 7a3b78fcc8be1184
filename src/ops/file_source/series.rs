//! How the embedded source holds samples, apart from both the loader that fills it and the
//! evaluator that reads it.

use super::LabelSet;

/// One stored series: its labels once, then its samples sorted by time in one allocation, which
/// keeps a sample at 16 bytes, lets a window be found by binary search and read as a slice.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSeries {
    pub labels: LabelSet,
    /// (Unix time in milliseconds, strictly increasing; value).
    pub samples: Vec<(i64, f64)>,
}
