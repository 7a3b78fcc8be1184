//! The bridge between a playbook session and its `%%rust` cells.
//!
//! In a Rust cell the crate is called `playbook`:
//!
//! ```ignore
//! %%rust
//! use playbook::{Series, Severity};
//! let errors: Series = playbook::get("errors")?;
//! let total: f64 = errors.values().sum();
//! if total > 100.0 {
//!     playbook::finding(Severity::High, format!("{total} errors in the window"))?;
//! }
//! ```
//!
//! The kernel and the cells talk through a folder that the kernel names in the
//! `PLAYBOOK_BRIDGE_DIR` environment variable of evcxr's process: before a Rust cell it writes
//! each bound result there as JSON (`values/NAME.json`, a [`Bound`]); after the cell it takes the
//! findings the cell recorded (`findings.jsonl`) and the panic, if there was one (`panic.txt`).
//! This crate is both sides' definition of those files, so they cannot drift apart.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable that holds the bridge folder in the process that runs Rust cells.
pub const DIR_VAR: &str = "PLAYBOOK_BRIDGE_DIR";
/// The subfolder holding one `NAME.json` per bound result.
pub const VALUES: &str = "values";
/// Findings recorded by the cell, one JSON [`Finding`] a line.
pub const FINDINGS: &str = "findings.jsonl";
/// The message of a panic in the cell.
pub const PANIC: &str = "panic.txt";

pub type Labels = BTreeMap<String, String>;

/// One point of a series: a Unix time in seconds and a value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub time: f64,
    pub value: f64,
}

/// A metric's series: its labels (`__name__` included when the source kept it) and its samples,
/// oldest first. An instant query's series have one sample each.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub labels: Labels,
    pub samples: Vec<Sample>,
}

impl Series {
    pub fn label(&self, name: &str) -> Option<&str> {
        self.labels.get(name).map(String::as_str)
    }

    /// The values, oldest first.
    pub fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.samples.iter().map(|s| s.value)
    }

    pub fn last(&self) -> Option<Sample> {
        self.samples.last().copied()
    }

    /// The largest value; NaN samples are skipped.
    pub fn max(&self) -> Option<f64> {
        self.values().filter(|v| !v.is_nan()).reduce(f64::max)
    }

    pub fn min(&self) -> Option<f64> {
        self.values().filter(|v| !v.is_nan()).reduce(f64::min)
    }
}

/// A `query` step's result: the expression, the range it covered and every series returned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub expr: String,
    /// Unix seconds; for an instant query `start == end`.
    pub start: f64,
    pub end: f64,
    pub step: f64,
    pub series: Vec<Series>,
}

/// How bad a finding is; ordered from the worst.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    High,
    Medium,
    Low,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// The word a playbook writes: `finding high "..."`.
    pub fn name(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    pub fn parse(word: &str) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.name() == word)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A finding: read from a bound `finding` step, or recorded from Rust with [`record`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub text: String,
    /// Names of bound steps that support it.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// RFC 3339; empty for a finding recorded from Rust, which the kernel timestamps.
    #[serde(default)]
    pub at: String,
}

impl Finding {
    pub fn new(severity: Severity, text: impl Into<String>) -> Self {
        Finding {
            severity,
            text: text.into(),
            evidence: Vec::new(),
            at: String::new(),
        }
    }

    /// Links the finding to bound steps that support it, by name.
    pub fn evidence<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(names.into_iter().map(Into::into));
        self
    }
}

/// A `run` step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandResult {
    pub command: String,
    /// `None` when a signal ended the command, or in a dry run.
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub duration_ms: u64,
    pub stdout: String,
    pub stderr: String,
    /// Whether output beyond what the kernel keeps (10 MiB a stream) was dropped.
    pub truncated: bool,
}

impl CommandResult {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0)
    }
}

/// The lines a `logs` step selected, newest first, and how many matched in all (more than the
/// lines when its limit cut them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logs {
    pub query: String,
    pub start: f64,
    pub end: f64,
    pub matched: usize,
    pub lines: Vec<LogLine>,
}

/// One log line: its time in Unix nanoseconds, its labels (the stream's and those its query
/// parsed) and its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub time_ns: i64,
    pub labels: BTreeMap<String, String>,
    pub line: String,
}

/// A `probe` step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeResult {
    pub url: String,
    pub status: Option<u16>,
    pub latency_ms: f64,
    pub passed: bool,
    pub reason: String,
}

/// A `check` step's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    pub title: String,
    pub passed: bool,
    pub detail: String,
    pub at: String,
}

/// A bound result as the kernel writes it: one of the kinds a playbook step binds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Bound {
    Text { value: String },
    Number { value: f64 },
    Query(Query),
    Command(CommandResult),
    Finding(Finding),
    Check(CheckResult),
    Probe(ProbeResult),
    Logs(Logs),
}

impl Bound {
    fn kind(&self) -> &'static str {
        match self {
            Bound::Text { .. } => "text",
            Bound::Number { .. } => "number",
            Bound::Query(_) => "query result",
            Bound::Command(_) => "command result",
            Bound::Finding(_) => "finding",
            Bound::Check(_) => "check result",
            Bound::Probe(_) => "probe result",
            Bound::Logs(_) => "log lines",
        }
    }
}

/// What went wrong reaching the session from Rust. Its message says what to do.
#[derive(Debug)]
pub enum Error {
    /// Not inside a playbook kernel's Rust cell.
    NoSession,
    /// No step bound this name (or it holds a secret, which Rust cells never see).
    Unbound(String),
    /// The name holds another kind of result than the type asked for.
    WrongKind {
        name: String,
        wanted: &'static str,
        found: &'static str,
    },
    Io(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NoSession => write!(
                f,
                "not in a playbook session: {DIR_VAR} is not set (run this in a %%rust cell of the playbook kernel)"
            ),
            Error::Unbound(name) => write!(
                f,
                "nothing is bound to `{name}`: bind it in a playbook cell first (`{name} = query ...`); secrets are never passed to Rust"
            ),
            Error::WrongKind { name, wanted, found } => {
                write!(f, "`{name}` holds a {found}, not {wanted}")
            }
            Error::Io(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// Types a bound result can be read as, with [`get`].
pub trait FromBound: Sized {
    /// What the type is, for errors: "a series".
    const WANTED: &'static str;
    fn from_bound(bound: Bound) -> Option<Self>;
}

macro_rules! from_variant {
    ($type:ty, $wanted:literal, $variant:ident) => {
        impl FromBound for $type {
            const WANTED: &'static str = $wanted;
            fn from_bound(bound: Bound) -> Option<Self> {
                match bound {
                    Bound::$variant(value) => Some(value),
                    _ => None,
                }
            }
        }
    };
}

from_variant!(Query, "a query result", Query);
from_variant!(CommandResult, "a command result", Command);
from_variant!(Finding, "a finding", Finding);
from_variant!(CheckResult, "a check result", Check);
from_variant!(ProbeResult, "a probe result", Probe);
from_variant!(Logs, "log lines", Logs);

/// A query that returned exactly one series.
impl FromBound for Series {
    const WANTED: &'static str = "one series (read it as a Query or Vec<Series>)";
    fn from_bound(bound: Bound) -> Option<Self> {
        match bound {
            Bound::Query(query) if query.series.len() == 1 => query.series.into_iter().next(),
            _ => None,
        }
    }
}

impl FromBound for Vec<Series> {
    const WANTED: &'static str = "a query result";
    fn from_bound(bound: Bound) -> Option<Self> {
        Query::from_bound(bound).map(|q| q.series)
    }
}

impl FromBound for f64 {
    const WANTED: &'static str = "a number";
    fn from_bound(bound: Bound) -> Option<Self> {
        match bound {
            Bound::Number { value } => Some(value),
            Bound::Text { value } => value.trim().parse().ok(),
            _ => None,
        }
    }
}

impl FromBound for String {
    const WANTED: &'static str = "text";
    fn from_bound(bound: Bound) -> Option<Self> {
        match bound {
            Bound::Text { value } => Some(value),
            Bound::Number { value } => Some(value.to_string()),
            _ => None,
        }
    }
}

fn session_dir() -> Result<PathBuf, Error> {
    std::env::var_os(DIR_VAR)
        .map(PathBuf::from)
        .ok_or(Error::NoSession)
}

/// The file a bound result is written to.
pub fn value_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(VALUES).join(format!("{name}.json"))
}

/// Reads the result a playbook cell bound to `name`, as `T`: a [`Query`], a [`Series`] (when the
/// query returned one), `Vec<Series>`, a [`CommandResult`], a [`Finding`], `f64`, `String`...
pub fn get<T: FromBound>(name: &str) -> Result<T, Error> {
    let bound = read_bound(&session_dir()?, name)?;
    let found = bound.kind();
    T::from_bound(bound).ok_or_else(|| Error::WrongKind {
        name: name.to_owned(),
        wanted: T::WANTED,
        found,
    })
}

fn read_bound(dir: &Path, name: &str) -> Result<Bound, Error> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(Error::Unbound(name.to_owned()));
    }
    let text = match std::fs::read(value_path(dir, name)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Unbound(name.to_owned()))
        }
        Err(e) => return Err(Error::Io(format!("cannot read `{name}`: {e}"))),
    };
    serde_json::from_slice(&text).map_err(|e| Error::Io(format!("cannot read `{name}`: {e}")))
}

/// Records a finding in the session; the kernel adds it to the timeline after the cell, as if a
/// `finding` statement had been written, evidence names checked.
pub fn record(finding: &Finding) -> Result<(), Error> {
    let path = session_dir()?.join(FINDINGS);
    let mut line = serde_json::to_string(finding).map_err(|e| Error::Io(e.to_string()))?;
    line.push('\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut file| file.write_all(line.as_bytes()))
        .map_err(|e| Error::Io(format!("cannot record the finding: {e}")))
}

/// Records a finding with no evidence: `playbook::finding(Severity::High, "...")?`.
pub fn finding(severity: Severity, text: impl Into<String>) -> Result<(), Error> {
    record(&Finding::new(severity, text))
}

/// Shows `content` as a rich output of type `mime` (e.g. `text/html`, `text/markdown`,
/// `image/svg+xml`) below the cell.
pub fn display(mime: &str, content: &str) {
    // evcxr turns such a block on standard output into a display.
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let _ = write!(
        out,
        "EVCXR_BEGIN_CONTENT {mime}\n{content}\nEVCXR_END_CONTENT\n"
    );
    let _ = out.flush();
}

pub fn display_html(html: &str) {
    display("text/html", html);
}

pub fn display_markdown(markdown: &str) {
    display("text/markdown", markdown);
}

/// Called by the kernel at the top of every Rust cell: evcxr reports a panic only as text on
/// standard error, so the cell's panics are written where the kernel looks for them.
#[doc(hidden)]
pub fn __cell_begins() {
    std::panic::set_hook(Box::new(|info| {
        let message = if let Some(text) = info.payload().downcast_ref::<&str>() {
            (*text).to_owned()
        } else if let Some(text) = info.payload().downcast_ref::<String>() {
            text.clone()
        } else {
            "a panic without a message".to_owned()
        };
        if let Ok(dir) = session_dir() {
            let _ = std::fs::write(dir.join(PANIC), message);
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(series: usize) -> Bound {
        Bound::Query(Query {
            expr: "up".into(),
            start: 0.0,
            end: 60.0,
            step: 15.0,
            series: (0..series)
                .map(|i| Series {
                    labels: Labels::from([("i".to_owned(), i.to_string())]),
                    samples: vec![Sample {
                        time: 0.0,
                        value: i as f64,
                    }],
                })
                .collect(),
        })
    }

    #[test]
    fn a_query_of_one_series_reads_as_a_series_and_of_two_does_not() {
        assert!(Series::from_bound(query(1)).is_some());
        assert!(Series::from_bound(query(2)).is_none());
        assert_eq!(Vec::<Series>::from_bound(query(2)).unwrap().len(), 2);
    }

    #[test]
    fn bound_values_round_trip_through_json_with_their_kind() {
        let text = serde_json::to_string(&query(1)).unwrap();
        assert!(text.starts_with(r#"{"kind":"query""#), "{text}");
        assert_eq!(serde_json::from_str::<Bound>(&text).unwrap(), query(1));
    }

    #[test]
    fn names_that_could_leave_the_folder_are_unbound() {
        let dir = std::env::temp_dir();
        assert!(matches!(
            read_bound(&dir, "../etc/passwd"),
            Err(Error::Unbound(_))
        ));
        assert!(matches!(read_bound(&dir, ""), Err(Error::Unbound(_))));
    }
}
