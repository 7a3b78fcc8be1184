//! The playbook language: parsing cells, holding the session, running steps.
//!
//! The engine knows nothing of ZeroMQ or notebooks: it reaches the world only through the ops
//! traits, and shows results only through an [`OutputSink`]. Layout:
//! - [`syntax`]: logical lines, tokens, `{{NAME}}` templates, positions;
//! - [`stmt`]: one module per statement, parsing and applying it;
//! - [`session`]: bindings and findings that live across cells;
//! - [`error`]: errors with their kind and their place in the cell;
//! - [`sink`]: the output seam shared by the kernel and the headless runner.

pub mod complete;
pub mod duration;
pub mod error;
pub mod session;
pub mod sink;
pub mod stmt;
pub mod syntax;
pub mod window;

use crate::ops::command::{CommandRunner, Shell};
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

    /// The titles of the checks that failed in this session so far.
    pub fn failed_checks(&self) -> Vec<&str> {
        self.session
            .checks()
            .iter()
            .filter(|c| !c.passed)
            .map(|c| c.title.as_str())
            .collect()
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
            Statement::Source(source) => {
                source.apply(step.span, &mut cx)?;
                None
            }
            Statement::Window(window) => {
                stmt::window::apply(window, step.span, &mut cx)?;
                None
            }
            Statement::Query(query) => Some(query.apply(&mut cx).await?),
            Statement::Check(check) => Some(check.apply(step.span, &mut cx).await?),
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
}

pub(crate) fn unknown_name(name: &str, span: Span) -> CellError {
    CellError::new(
        ErrorKind::UnknownName,
        format!("`{name}` is not defined in this session: bind it with `{name} = run ...` or declare it with `param {name} = ...`"),
        span,
    )
}
