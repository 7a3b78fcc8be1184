//! The playbook language: parsing cells, holding the session, running steps.
//!
//! The engine knows nothing of ZeroMQ or notebooks: it reaches the world only through the ops
//! traits, and shows results only through an [`OutputSink`]. Layout:
//! - [`syntax`]: logical lines, tokens, `{{NAME}}` templates, positions;
//! - [`stmt`]: one module per statement, parsing and applying it;
//! - [`session`]: bindings and findings that live across cells;
//! - [`error`]: errors with their kind and their place in the cell;
//! - [`sink`]: the output seam shared by the kernel and the headless runner.

pub mod duration;
pub mod error;
pub mod session;
pub mod sink;
pub mod stmt;
pub mod syntax;

use crate::ops::command::{CommandRunner, Shell};
use crate::ops::finding::Severity;
use crate::render::{self, Bundle};
use error::{CellError, ErrorKind, Span};
use session::Session;
use sink::OutputSink;
use stmt::{Statement, Step};
use tokio_util::sync::CancellationToken;

/// What one step needs while it runs.
pub struct Context<'a> {
    pub session: &'a mut Session,
    pub out: &'a dyn OutputSink,
    pub interrupt: &'a CancellationToken,
    pub commands: &'a dyn CommandRunner,
}

pub enum Completeness {
    Complete,
    /// The cell continues on a line not written yet (a trailing `\`).
    Incomplete,
    Invalid,
}

pub struct Engine {
    session: Session,
    commands: Box<dyn CommandRunner>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine {
            session: Session::default(),
            commands: Box::new(Shell),
        }
    }
}

impl Engine {
    /// An engine whose `param` statements take these values instead of their defaults.
    pub fn with_overrides(overrides: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut engine = Engine::default();
        engine.session.set_overrides(overrides);
        engine
    }

    /// Overrides that no `param` statement has taken so far.
    pub fn unused_overrides(&self) -> Vec<&str> {
        self.session.pending_overrides()
    }

    /// Runs a cell: parses it whole, then runs its steps in order until one fails. The error, if
    /// any, has been shown through `out` when this returns.
    pub async fn execute(
        &mut self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        let result = self
            .run_cell(cell, out, interrupt)
            .await
            .map_err(|e| e.in_cell(cell));
        if let Err(error) = &result {
            out.error(error);
        }
        result
    }

    async fn run_cell(
        &mut self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        if let Some((index, first)) = cell.lines().enumerate().find(|(_, l)| !l.trim().is_empty()) {
            if first.trim() == "%%rust" {
                let column = first.find('%').unwrap_or(0) + 1;
                let span = Span {
                    line: index + 1,
                    column,
                    len: 6,
                };
                return Err(CellError::new(
                    ErrorKind::NotSupported,
                    "Rust cells (%%rust) are not supported yet in this version of playbook",
                    span,
                ));
            }
        }
        let steps = stmt::parse_cell(cell)?;
        for step in &steps {
            if interrupt.is_cancelled() {
                return Err(CellError::new(
                    ErrorKind::Interrupted,
                    "interrupted before this step started",
                    step.span,
                ));
            }
            self.run_step(step, out, interrupt).await?;
        }
        Ok(())
    }

    async fn run_step(
        &mut self,
        step: &Step,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        let mut cx = Context {
            session: &mut self.session,
            out,
            interrupt,
            commands: self.commands.as_ref(),
        };
        let value = match &step.statement {
            Statement::Param(param) => {
                param.apply(cx.session);
                None
            }
            Statement::Run(run) => Some(run.apply(step.span, &mut cx).await?),
            Statement::Finding(finding) => Some(finding.apply(&mut cx)?),
            Statement::Findings => {
                stmt::finding::show_all(&mut cx);
                None
            }
            Statement::Show(name) => {
                let value = cx
                    .session
                    .get(name)
                    .ok_or_else(|| unknown_name(name, step.span))?;
                out.result(render::value(value));
                None
            }
            Statement::Planned(planned) => return Err(planned.not_supported()),
        };
        if let (Some(name), Some(value)) = (&step.binding, value) {
            self.session.bind(name, value);
        }
        Ok(())
    }

    /// A bound value as a bundle, for user_expressions.
    pub fn evaluate(&self, expression: &str) -> Result<Bundle, CellError> {
        let name = expression.trim();
        let span = Span {
            line: 1,
            column: 1,
            len: name.chars().count().max(1),
        };
        self.session
            .get(name)
            .map(render::value)
            .ok_or_else(|| unknown_name(name, span).in_cell(expression))
    }

    pub fn is_complete(&self, cell: &str) -> Completeness {
        if syntax::ends_with_continuation(cell) {
            Completeness::Incomplete
        } else if stmt::parse_cell(cell).is_ok() {
            Completeness::Complete
        } else {
            Completeness::Invalid
        }
    }

    /// Candidates for the word that ends at `cursor` (a count of Unicode code points), and the
    /// range of code points they replace.
    pub fn complete(&self, cell: &str, cursor: usize) -> (Vec<String>, usize, usize) {
        let chars: Vec<char> = cell.chars().collect();
        let cursor = cursor.min(chars.len());
        let start = word_start(&chars, cursor);
        let word: String = chars[start..cursor].iter().collect();
        let line_start = chars[..start]
            .iter()
            .rposition(|&c| c == '\n')
            .map_or(0, |i| i + 1);
        let before: String = chars[line_start..start].iter().collect();
        let names = || self.session.names().map(str::to_owned).collect::<Vec<_>>();
        let mut candidates: Vec<String> = if before.trim_end().ends_with("{{") {
            names()
        } else if before.trim().is_empty() {
            let mut c: Vec<String> = stmt::KEYWORDS
                .iter()
                .map(|(k, _, _)| k.to_string())
                .collect();
            c.extend(names());
            c
        } else if is_binding_prefix(&before) {
            stmt::KEYWORDS
                .iter()
                .map(|(k, _, _)| k.to_string())
                .collect()
        } else if before.trim() == "finding" || before.trim_end().ends_with("= finding") {
            Severity::ALL.iter().map(|s| s.name().to_owned()).collect()
        } else if before.contains("finding ") && before.contains(" evidence ") {
            names()
        } else {
            Vec::new()
        };
        candidates.retain(|c| c.starts_with(&word));
        candidates.sort();
        candidates.dedup();
        (candidates, start, cursor)
    }

    /// Help for the statement keyword or the bound name at `cursor`.
    pub fn inspect(&self, cell: &str, cursor: usize) -> Option<Bundle> {
        let chars: Vec<char> = cell.chars().collect();
        let cursor = cursor.min(chars.len());
        let start = word_start(&chars, cursor);
        let end = cursor
            + chars[cursor..]
                .iter()
                .take_while(|c| is_word_char(**c))
                .count();
        let word: String = chars[start..end].iter().collect();
        if let Some(value) = self.session.get(&word) {
            return Some(render::value(value));
        }
        let (syntax, help) = stmt::help(&word)?;
        Some(render::help(syntax, help))
    }
}

fn unknown_name(name: &str, span: Span) -> CellError {
    CellError::new(
        ErrorKind::UnknownName,
        format!("`{name}` is not defined in this session: bind it with `{name} = run ...` or declare it with `param {name} = ...`"),
        span,
    )
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn word_start(chars: &[char], cursor: usize) -> usize {
    cursor
        - chars[..cursor]
            .iter()
            .rev()
            .take_while(|c| is_word_char(**c))
            .count()
}

/// `NAME =` with nothing after it: a statement keyword comes next.
fn is_binding_prefix(before: &str) -> bool {
    let trimmed = before.trim_end();
    trimmed
        .strip_suffix('=')
        .is_some_and(|name| syntax::is_name(name.trim()))
}
