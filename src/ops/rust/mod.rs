//! Rust cells: code evaluated by evcxr, in a process of its own, with the session's bound
//! results readable through the bridge crate (`crates/playbook-bridge`, `playbook::get` in a cell).
//!
//! Like every op, evaluation sits behind a trait, so that recording and replay wrap it. The real
//! evaluator exists only in builds with the `rust-cells` feature; other builds answer every Rust
//! cell with [`NotBuilt`]'s clear error, and pay nothing for it.

#[cfg(feature = "rust-cells")]
mod evcxr;
#[cfg(feature = "rust-cells")]
mod toolchain;

#[cfg(feature = "rust-cells")]
pub use self::evcxr::{prepare_process, Evcxr};

use super::command::Stream;
use super::Io;
use super::NotRecorded;
use playbook_bridge::{Bound, Finding};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The session's bound results, by name, as a Rust cell reads them.
pub type Values = BTreeMap<String, Bound>;

/// What a Rust cell did, besides changing the variables of the Rust process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RustRun {
    pub stdout: String,
    pub stderr: String,
    /// The rich output, by MIME type: the cell's final expression (`text/plain`) and what it
    /// showed with `playbook::display`.
    pub display: BTreeMap<String, String>,
    /// Findings the cell recorded with `playbook::finding`.
    pub findings: Vec<Finding>,
}

/// One compiler error, placed in the cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub message: String,
    /// 1-based line and column in the cell, and the length of the span on that line; `None` when
    /// the compiler pointed at code the user did not write.
    pub at: Option<(usize, usize, usize)>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RustError {
    /// This build has no Rust cells, or the toolchain is missing: the message says what to install.
    #[error("{0}")]
    Unavailable(String),
    /// The engine shows these placed in the cell; as text, they are the compiler's messages.
    #[error("the cell did not compile{}", messages(.0))]
    Compile(Vec<Diagnostic>),
    #[error("the cell panicked: {0}")]
    Panic(String),
    /// The user interrupted; the process running Rust was stopped and its variables are gone.
    #[error("interrupted: the process running Rust cells was stopped, and the variables defined in Rust cells were lost")]
    Interrupted,
    /// The process running Rust cells ended by itself (a crash, `std::process::exit`).
    #[error("the process running Rust cells ended ({}); the variables defined in Rust cells were lost", .0.trim())]
    ProcessEnded(String),
    /// Anything else evcxr reported.
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    NotRecorded(NotRecorded),
}

/// The compiler's messages, each on a line of its own after the headline.
fn messages(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(|d| format!("\n{}", d.message))
        .collect()
}

/// Evaluates Rust cells. Recording, replay and dry-run wrap this trait; the engine sees only it.
#[async_trait::async_trait(?Send)]
pub trait RustCells {
    /// Evaluates `code` (the cell, with its `%%rust` line blanked so lines keep their numbers),
    /// given the session's bound results, streaming output as it comes.
    async fn eval(&self, code: &str, values: &Values, io: Io<'_>) -> Result<RustRun, RustError>;

    /// Completions at byte offset `cursor`: the candidates and the byte range they replace.
    /// Only a context that has evaluated a cell has any.
    async fn complete(&self, _code: &str, _cursor: usize) -> Option<(Vec<String>, usize, usize)> {
        None
    }

    /// What is known of the item at byte offset `cursor`: plain text and HTML.
    async fn inspect(&self, _code: &str, _cursor: usize) -> Option<(String, String)> {
        None
    }
}

/// The evaluator of a build without the `rust-cells` feature.
pub struct NotBuilt;

#[async_trait::async_trait(?Send)]
impl RustCells for NotBuilt {
    async fn eval(&self, _code: &str, _values: &Values, _io: Io<'_>) -> Result<RustRun, RustError> {
        Err(RustError::Unavailable(
            "this playbook was built without Rust cells; install it with `cargo install --locked --path . --features rust-cells`".to_owned(),
        ))
    }
}

/// A dry run: Rust cells are arbitrary code, so they are shown as not run, like commands.
pub struct DryRun;

#[async_trait::async_trait(?Send)]
impl RustCells for DryRun {
    async fn eval(&self, _code: &str, _values: &Values, io: Io<'_>) -> Result<RustRun, RustError> {
        let output = io.output;
        let note = "dry run: this Rust cell was not evaluated\n".to_owned();
        output(Stream::Stdout, note.clone());
        Ok(RustRun {
            stdout: note,
            ..RustRun::default()
        })
    }
}

/// The evaluator for this build: evcxr with the `rust-cells` feature, [`NotBuilt`] without.
pub fn live() -> Box<dyn RustCells> {
    #[cfg(feature = "rust-cells")]
    return Box::new(Evcxr::default());
    #[cfg(not(feature = "rust-cells"))]
    return Box::new(NotBuilt);
}
