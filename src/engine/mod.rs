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
pub mod rust_cell;
pub mod scrub;
pub mod session;
pub mod sink;
pub mod stmt;
pub mod syntax;
pub mod window;

use crate::journal::entry::{Entry, WindowOutcome};
use crate::journal::record::Journal;
use crate::journal::recorded::Recorded;
use crate::journal::replay::{Recording, ReplayClock, ReplayCommands, ReplayProber};
use crate::ops::clock::{Clock, SystemClock};
use crate::ops::command::{CommandRunner, DryRun, Shell};
use crate::ops::policy::Policy;
use crate::ops::probe::{Http, Prober};
use crate::render::{self, Bundle};
use error::{CellError, ErrorKind, Span};
use scrub::Scrubbed;
use session::Session;
use sink::OutputSink;
use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use stmt::{Statement, Step};
use tokio_util::sync::CancellationToken;

/// What one step needs while it runs.
pub struct Context<'a> {
    pub session: &'a mut Session,
    pub out: &'a dyn OutputSink,
    pub interrupt: &'a CancellationToken,
    pub commands: &'a dyn CommandRunner,
    pub prober: &'a dyn Prober,
    pub clock: &'a dyn Clock,
}

pub enum Completeness {
    Complete,
    /// The cell continues on a line not written yet (a trailing `\`).
    Incomplete,
    Invalid,
}

pub struct Engine {
    session: Session,
}

/// How an engine is set up: by the kernel from its working directory, by `playbook run` from
/// its flags.
pub struct Options {
    /// `param` values given from outside (`-p NAME=VALUE`).
    pub overrides: Vec<(String, String)>,
    pub policy: Result<Policy, String>,
    pub dry_run: bool,
    /// Consent given in advance to every command that needs it (`--yes`).
    pub approve_all: bool,
    /// Where to record every step; `None` records nothing.
    pub journal: Option<PathBuf>,
    /// A journal to answer every step from, from the start.
    pub replay: Option<PathBuf>,
    /// The notebook's folder: relative paths of metrics files start there.
    pub base_dir: PathBuf,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            overrides: Vec::new(),
            policy: Ok(Policy::default()),
            dry_run: false,
            approve_all: false,
            journal: None,
            replay: None,
            base_dir: PathBuf::from("."),
        }
    }
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new(Options::default()).expect("an engine without a journal always starts")
    }
}

impl Engine {
    /// Fails when the journal cannot be opened or the replay journal cannot be read.
    pub fn new(options: Options) -> Result<Self, String> {
        let mut session = Session::default();
        session.set_overrides(options.overrides);
        session.policy = options.policy;
        session.dry_run = options.dry_run;
        session.approve_all = options.approve_all;
        session.base_dir = options.base_dir;
        if let Some(path) = options.journal {
            let secrets = session.secrets.clone();
            let mask = Box::new(move |text: &str| secrets.mask(text));
            let journal = Journal::open(&path, mask).map_err(|e| e.to_string())?;
            session.journal = Some(Rc::new(RefCell::new(journal)));
        }
        if let Some(path) = options.replay {
            session.recording = Some(Recording::load(&path).map_err(|e| e.to_string())?);
        }
        Ok(Engine { session })
    }

    /// Where this session's steps are recorded.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.session
            .journal
            .as_ref()
            .map(|j| j.borrow().path().to_owned())
    }

    pub fn checks(&self) -> &[crate::ops::check::CheckOutcome] {
        self.session.checks()
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
        // Every output of the cell, its error included, passes the secrets' mask.
        let secrets = self.session.secrets.clone();
        let masked = Scrubbed::new(out, secrets.clone());
        let result = self
            .run_cell(cell, &masked, interrupt)
            .await
            .map_err(|e| secrets.mask_error(&e.in_cell(cell)));
        if let Err(error) = &result {
            masked.error(error);
        }
        masked.flush();
        result
    }

    async fn run_cell(
        &mut self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        if let Some(marker) = rust_cell::marker(cell) {
            return rust_cell::run(&mut self.session, cell, marker, out, interrupt).await;
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
        // Replay stands in for the live ops, dry run for commands, and recording wraps whichever
        // runs: no step knows which of them it talks to.
        let replay = self.session.recording.clone();
        let (replay_commands, replay_prober, replay_clock);
        let (base_commands, base_prober, base_clock): (
            &dyn CommandRunner,
            &dyn Prober,
            &dyn Clock,
        ) = match replay {
            Some(recording) => {
                replay_commands = ReplayCommands(recording.clone());
                replay_prober = ReplayProber(recording.clone());
                replay_clock = ReplayClock(recording);
                (&replay_commands, &replay_prober, &replay_clock)
            }
            None => (&Shell, &Http, &SystemClock),
        };
        let base_commands: &dyn CommandRunner = if self.session.dry_run {
            &DryRun
        } else {
            base_commands
        };
        let journal = self.session.journal.clone();
        let (recorded_commands, recorded_prober, recorded_clock);
        let (commands, prober, clock): (&dyn CommandRunner, &dyn Prober, &dyn Clock) =
            match &journal {
                Some(journal) => {
                    recorded_commands = Recorded {
                        inner: base_commands,
                        journal,
                    };
                    recorded_prober = Recorded {
                        inner: base_prober,
                        journal,
                    };
                    recorded_clock = Recorded {
                        inner: base_clock,
                        journal,
                    };
                    (&recorded_commands, &recorded_prober, &recorded_clock)
                }
                None => (base_commands, base_prober, base_clock),
            };
        let mut cx = Context {
            session: &mut self.session,
            out,
            interrupt,
            commands,
            prober,
            clock,
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
            Statement::Probe(probe) => Some(probe.apply(step.span, &mut cx).await?),
            Statement::Secret(secret) => {
                secret.apply(step.span, &mut cx)?;
                None
            }
            Statement::DryRun(on) => {
                stmt::dry_run::apply(*on, &mut cx);
                None
            }
            Statement::Check(check) => Some(check.apply(step.span, &mut cx).await?),
            Statement::Replay(path) => {
                stmt::replay::apply(path, step.span, &mut cx)?;
                None
            }
            Statement::Journal => {
                stmt::replay::show_journal(&mut cx);
                None
            }
        };
        if let Some(entry) = journal_entry(&step.statement, value.as_ref(), &self.session) {
            journal_write(&self.session, entry);
        }
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
        if rust_cell::marker(cell).is_some() {
            // Rust has no line continuation to wait for: Enter in a console runs the cell.
            Completeness::Complete
        } else if syntax::ends_with_continuation(cell) {
            Completeness::Incomplete
        } else if stmt::parse_cell(cell).is_ok() {
            Completeness::Complete
        } else {
            Completeness::Invalid
        }
    }
}

fn journal_write(session: &Session, entry: Entry) {
    if let Some(journal) = &session.journal {
        if let Err(problem) = journal.borrow_mut().append(&entry, 0) {
            log::error!("{problem}");
        }
    }
}

/// The journal line of a step that is not an op call (ops are recorded by their wrappers).
fn journal_entry(
    statement: &Statement,
    value: Option<&session::Value>,
    session: &Session,
) -> Option<Entry> {
    match (statement, value) {
        (Statement::Finding(_), Some(session::Value::Finding(f))) => Some(Entry::finding(f)),
        (Statement::Check(check), Some(session::Value::Check(outcome))) => {
            Some(Entry::check(outcome, check.condition.kind()))
        }
        (Statement::Source(source), _) => Some(match &source.kind {
            stmt::source::SourceKind::Prometheus { url, .. } => {
                Entry::prometheus_source(&source.name, session.resolve(url).ok())
            }
            stmt::source::SourceKind::File { path } => Entry::file_source(&source.name, path),
        }),
        (Statement::Window(window), _) => {
            let resolved = session.window_resolved.as_ref().map(|range| {
                let (start, end) = (window::rfc3339(range.start), window::rfc3339(range.end));
                WindowOutcome::resolved(start, end, range.step)
            });
            Some(Entry::window(window.describe(), resolved))
        }
        (Statement::Secret(secret), _) => Some(Entry::secret(&secret.name, &secret.reference)),
        _ => None,
    }
}

pub(crate) fn unknown_name(name: &str, span: Span) -> CellError {
    CellError::new(
        ErrorKind::UnknownName,
        format!("`{name}` is not defined in this session: bind it with `{name} = run ...` or declare it with `param {name} = ...`"),
        span,
    )
}
