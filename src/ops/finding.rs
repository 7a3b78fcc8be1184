//! Findings: what the investigation concluded, how bad it is, and what supports it.

use chrono::{DateTime, Utc};

/// One definition for the language, the journal and Rust cells: the bridge crate's.
pub use playbook_bridge::Severity;

#[derive(Debug, Clone)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
    /// Names of the bound steps that support it.
    pub evidence: Vec<String>,
    pub at: DateTime<Utc>,
}
