//! What evaluation produces: instant and range vectors, scalars and strings, and its errors.

use super::label_set::LabelSet;
use crate::ops::metrics::SourceError;
use rustc_hash::FxHashSet;

/// One element of an instant vector. `t` is the time of the underlying sample, which only
/// `timestamp()` reads; the engine reports every element at the evaluation time.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: LabelSet,
    pub t: i64,
    pub v: f64,
}

/// One series of a range vector: the samples inside a selector's (or subquery's) window.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub labels: LabelSet,
    pub points: Vec<(i64, f64)>,
}

/// A range vector with the window `[start, end]` it covers, which rate() extrapolates to.
pub struct Window {
    pub series: Vec<RangeSeries>,
    pub start: i64,
    pub end: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Scalar(f64),
    Vector(Vec<Sample>),
    Matrix(Vec<RangeSeries>),
    Str(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// Valid PromQL that this engine does not implement; the text names the feature.
    #[error("{0}")]
    Unsupported(String),
    /// An error Prometheus would also report while executing the query.
    #[error("{0}")]
    Execution(String),
    /// The caller stopped waiting for the answer.
    #[error("the evaluation was stopped")]
    Stopped,
}

pub type EvalResult<T> = Result<T, EvalError>;

impl From<EvalError> for SourceError {
    fn from(e: EvalError) -> SourceError {
        match e {
            EvalError::Unsupported(what) => SourceError::Unsupported(what),
            EvalError::Execution(message) => SourceError::PromQL {
                message,
                position: None,
            },
            EvalError::Stopped => SourceError::Stopped,
        }
    }
}

pub fn unsupported<T>(what: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Unsupported(format!(
        "{} is not supported by the embedded engine; use a prometheus source for it",
        what.into()
    )))
}

pub fn execution<T>(message: impl Into<String>) -> EvalResult<T> {
    Err(EvalError::Execution(message.into()))
}

/// Prometheus refuses a vector holding two elements with the same labels (e.g. after a
/// function dropped the metric names that told them apart).
pub fn check_unique(samples: &[Sample]) -> EvalResult<()> {
    if samples.len() < 2 {
        return Ok(());
    }
    let mut seen = FxHashSet::with_capacity_and_hasher(samples.len(), Default::default());
    for s in samples {
        if !seen.insert(&s.labels) {
            return execution("vector cannot contain metrics with the same labelset");
        }
    }
    Ok(())
}
