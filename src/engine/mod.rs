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
pub mod context;
pub mod duration;
pub mod error;
pub mod quote;
pub mod rust_cell;
pub mod scrub;
pub mod session;
pub mod sink;
pub mod stack;
pub mod stmt;
pub mod syntax;
pub mod window;

use crate::journal::entry::{CellInput, Entry, RecheckInput, ResumeInput};
use crate::journal::record::{Journal, SharedJournal};
use crate::journal::replay::Recording;
use crate::journal::JournalError;
use crate::ops::policy::{Policy, PolicyError};
use crate::render::{self, Bundle};
use context::Context;
use error::{CellError, ErrorKind, Span};
use futures_util::FutureExt;
use scrub::Scrubbed;
use session::{Config, Investigation, Session};
use sink::OutputSink;
use stack::{Mode, Ops, World};
use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::rc::Rc;
use stmt::Step;
use tokio_util::sync::CancellationToken;

pub enum Completeness {
    Complete,
    /// The cell continues on a line not written yet (a trailing `\`).
    Incomplete,
    Invalid,
}

pub struct Engine {
    /// The session as the steps that ended left it. Each step runs on a copy taken as it starts
    /// and merged back as it ends ([`Session::absorb`]), so the lock is never held while a step
    /// runs: cells of the kernel's subshells run at once.
    session: tokio::sync::Mutex<Session>,
    /// Where steps are recorded, if anywhere.
    journal: Option<PathBuf>,
    /// The journal a resumed run answers from until it goes live, and then continues.
    resuming: Option<Rc<Recording>>,
}

/// What runs as one step, on one copy of the session: a statement, or a whole Rust cell.
enum Work<'a> {
    Statement(&'a Step),
    Rust { cell: &'a str, marker: usize },
}

/// How a cell of a headless run ended, as its journal records it.
pub enum CellEnd {
    Ended,
    Failed,
    /// The run did not run it, for this reason.
    Skipped(String),
}

/// Why a resumed run could not go live.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("a source declared in a cell answered from the journal cannot be opened live: {0}")]
    Source(#[from] stack::OpenError),
}

/// How an engine is set up: by the kernel from its working directory, by `playbook run` from
/// its flags.
pub struct Options {
    /// `param` values given from outside (`-p NAME=VALUE`).
    pub overrides: Vec<(String, String)>,
    pub policy: Result<Policy, PolicyError>,
    pub dry_run: bool,
    /// Consent given in advance to every command that needs it (`--yes`).
    pub approve_all: bool,
    /// Where to record every step; `None` records nothing.
    pub journal: Option<PathBuf>,
    /// A journal to answer every step from, from the start.
    pub replay: Option<Rc<Recording>>,
    /// A journal to answer steps from: until [`Engine::go_live`], and to continue after, when
    /// `journal` is `None`; or, with `recheck`, around the checks that failed in it.
    pub resume: Option<Rc<Recording>>,
    /// The titles of the checks to run live while answering from `resume`.
    pub recheck: Vec<String>,
    /// The notebook's folder: relative paths of metrics files start there.
    pub base_dir: PathBuf,
    /// The live primitives; `None` for the real world. Tests give fakes.
    pub world: Option<World>,
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
            resume: None,
            recheck: Vec::new(),
            base_dir: PathBuf::from("."),
            world: None,
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
    pub fn new(options: Options) -> Result<Self, JournalError> {
        let mut state = Investigation::default();
        state.set_overrides(options.overrides);
        let journal = match options.journal {
            Some(path) => {
                let key = crate::journal::key::own()?;
                let journal = Journal::open(&path, state.secrets.mask_fn(), key)?;
                Some(SharedJournal::start(journal))
            }
            None => None,
        };
        let mode = match (options.replay, &options.resume) {
            (Some(recording), _) => {
                recording.mask_with(state.secrets.mask_fn());
                Mode::Replay(recording)
            }
            (None, Some(recording)) => {
                recording.mask_with(state.secrets.mask_fn());
                Mode::Answering {
                    recording: recording.clone(),
                    recheck: Rc::new(options.recheck.clone()),
                }
            }
            (None, None) if options.dry_run => Mode::DryRun,
            (None, None) => Mode::Live,
        };
        let world = options
            .world
            .unwrap_or_else(|| World::real(options.base_dir));
        Ok(Engine {
            journal: journal.as_ref().map(|j| j.path().to_owned()),
            session: tokio::sync::Mutex::new(Session {
                state,
                config: Rc::new(Config {
                    approve_all: options.approve_all,
                    policy: options.policy,
                }),
                ops: Ops::new(world, mode, journal),
            }),
            // A re-check answers from its journal to the end: it never goes live.
            resuming: options.resume.filter(|_| options.recheck.is_empty()),
        })
    }

    /// Ends the answering of a resumed run: from here on steps reach the world, and are recorded
    /// in the resumed journal, after a line saying that the run stands on its steps up to
    /// `after` and answered `answered` cells. Sources declared so far are opened live.
    pub async fn go_live(&mut self, after: u64, answered: u64) -> Result<(), LiveError> {
        let Some(recording) = self.resuming.take() else {
            return Ok(());
        };
        let key = crate::journal::key::own().map_err(JournalError::from)?;
        let Session { state, ops, .. } = self.session.get_mut();
        let journal = Journal::open(recording.path(), state.secrets.mask_fn(), key)?;
        self.journal = Some(recording.path().to_owned());
        ops.switch_recording(
            Mode::Resumed { recording, after },
            Some(SharedJournal::start(journal)),
        );
        let input = ResumeInput { after, answered };
        ops.note(Entry::Resume { input }).await;
        state.reopen_sources(ops).await?;
        Ok(())
    }

    /// Records that this run re-checks the run of `recording`: the SHA-256 of its last line says
    /// which.
    pub async fn note_recheck(&self, recording: &Recording, checks: &[String]) {
        let last = std::fs::read(recording.path())
            .map(|bytes| {
                let text = String::from_utf8_lossy(&bytes);
                let line = text.trim_end().rsplit('\n').next().unwrap_or_default();
                crate::journal::sha256_hex(line.as_bytes())
            })
            .unwrap_or_default();
        let input = RecheckInput {
            journal: recording.path().display().to_string(),
            last,
            checks: checks.to_vec(),
        };
        self.note(Entry::Recheck { input }).await;
    }

    /// Records that code cell `number` (counted from 1 in its notebook) ended, so that a run
    /// can be resumed after it; or that the run skipped it, and why.
    pub async fn note_cell(&self, number: u64, code: &str, end: CellEnd) {
        let input = CellInput {
            number,
            sha256: crate::journal::sha256_hex(code.as_bytes()),
            ok: matches!(end, CellEnd::Ended),
            skipped: match end {
                CellEnd::Skipped(why) => Some(why),
                CellEnd::Ended | CellEnd::Failed => None,
            },
        };
        self.note(Entry::Cell { input }).await;
    }

    async fn note(&self, entry: Entry) {
        let ops = self.session.lock().await.ops.clone();
        ops.note(entry).await;
    }

    /// Where this session's steps are recorded.
    pub fn journal_path(&self) -> Option<PathBuf> {
        self.journal.clone()
    }

    /// The investigation as the cells run so far left it.
    pub fn investigation(&mut self) -> &Investigation {
        &self.session.get_mut().state
    }

    /// Runs a cell: parses it whole, then runs its steps in order until one fails. The error, if
    /// any, has been shown through `out` when this returns. Cells may run at once (the kernel's
    /// subshells): each step sees the session as the steps ended before it left it.
    pub async fn execute(
        &self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        self.execute_from(None, cell, out, interrupt).await
    }

    /// [`Engine::execute`] for a cell sent to a kernel subshell (`None`: the main shell), which
    /// the journal records with each of its steps.
    pub async fn execute_from(
        &self,
        subshell: Option<&str>,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        let origin = subshell.map(Rc::from);
        crate::journal::record::SUBSHELL
            .scope(origin, self.execute_here(cell, out, interrupt))
            .await
    }

    async fn execute_here(
        &self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        // Every output of the cell, its error included, passes the secrets' mask.
        let (secrets, journal) = {
            let session = self.session.lock().await;
            (
                session.state.secrets.clone(),
                session.ops.journal().cloned(),
            )
        };
        let masked = Scrubbed::new(out, secrets.clone());
        // The last line of defence: a bug that panics fails this cell, not the kernel. The step
        // that panicked worked on a copy of the session, which is dropped unmerged.
        let result = AssertUnwindSafe(self.run_cell(cell, &masked, interrupt))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| Err(internal_error(panic.as_ref())))
            .map_err(|e| secrets.mask_error(&e.in_cell(cell)));
        if let Err(error) = &result {
            masked.error(error);
        }
        masked.flush();
        // A cell is over once its steps are on disk: a clock reading is queued, not waited for.
        if let Some(journal) = journal {
            journal.settled().await;
        }
        result
    }

    async fn run_cell(
        &self,
        cell: &str,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        if let Some(marker) = rust_cell::marker(cell) {
            return self
                .run_step(Work::Rust { cell, marker }, out, interrupt)
                .await;
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
            self.run_step(Work::Statement(step), out, interrupt).await?;
        }
        Ok(())
    }

    /// Runs one step on a copy of the session, and merges what it changed back, failed or not.
    async fn run_step(
        &self,
        work: Work<'_>,
        out: &dyn OutputSink,
        interrupt: &CancellationToken,
    ) -> Result<(), CellError> {
        let base = self.session.lock().await.clone();
        let mut session = base.clone();
        let result = apply(&mut session, &work, out, interrupt).await;
        self.session.lock().await.absorb(&base, session);
        result
    }

    /// A bound value as a bundle, for user_expressions; masked, as every output.
    pub async fn evaluate(&self, expression: &str) -> Result<Bundle, CellError> {
        let session = self.session.lock().await;
        let secrets = &session.state.secrets;
        let name = expression.trim();
        let span = Span {
            line: 1,
            column: 1,
            len: name.chars().count().max(1),
        };
        (session.state.get(name))
            .map(|value| secrets.mask_bundle(render::value(value)))
            .ok_or_else(|| secrets.mask_error(&stmt::unknown_name(name, span).in_cell(expression)))
    }

    pub fn is_complete(&self, cell: &str) -> Completeness {
        // Consoles ask on every Enter: a parser bug must not take the kernel down with it.
        std::panic::catch_unwind(|| Self::completeness(cell)).unwrap_or(Completeness::Invalid)
    }

    fn completeness(cell: &str) -> Completeness {
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

/// Runs `work` on `session`. A step the journal of a kernel's `resume` does not hold is where the
/// session goes live: it runs again, live.
async fn apply(
    session: &mut Session,
    work: &Work<'_>,
    out: &dyn OutputSink,
    interrupt: &CancellationToken,
) -> Result<(), CellError> {
    let value = match apply_once(session, work, out, interrupt).await {
        Err(missing) if leaves_journal(session, work, &missing) => {
            // A source that fails to open live is placed at the step, or a Rust cell's marker.
            let span = match work {
                Work::Statement(step) => step.span,
                Work::Rust { .. } => missing.span.unwrap_or(Span {
                    line: 1,
                    column: 1,
                    len: 1,
                }),
            };
            go_on_live(session, span, out).await?;
            apply_once(session, work, out, interrupt).await?
        }
        other => other?,
    };
    if let (Work::Statement(step), Some(value)) = (work, value) {
        if let Some(name) = &step.binding {
            session.state.bind(name, value);
        }
    }
    Ok(())
}

async fn apply_once(
    session: &mut Session,
    work: &Work<'_>,
    out: &dyn OutputSink,
    interrupt: &CancellationToken,
) -> Result<Option<crate::model::Value>, CellError> {
    let Session { state, config, ops } = session;
    let mut cx = Context {
        state,
        config,
        ops,
        out,
        interrupt,
    };
    match work {
        Work::Statement(step) => step.statement.apply(step.span, &mut cx).await,
        Work::Rust { cell, marker } => rust_cell::run(cell, *marker, &mut cx).await.map(|()| None),
    }
}

/// Whether `error` is a step the journal of a kernel's `resume` does not hold: that step is
/// where the session goes live. (A `replay` or `resume` that fails stays an error.)
fn leaves_journal(session: &Session, work: &Work<'_>, error: &CellError) -> bool {
    error.kind == ErrorKind::NotRecorded
        && matches!(session.ops.mode(), Mode::Following(_))
        && !matches!(
            work,
            Work::Statement(Step {
                statement: stmt::Statement::Replay(_) | stmt::Statement::Resume(_),
                ..
            })
        )
}

/// Leaves the journal of a `resume`: live from this step on, the sources opened again.
async fn go_on_live(
    session: &mut Session,
    span: Span,
    out: &dyn OutputSink,
) -> Result<(), CellError> {
    let Session { state, ops, .. } = session;
    let Mode::Following(recording) = ops.mode() else {
        return Ok(());
    };
    let path = recording.path().display().to_string();
    ops.switch(Mode::Live);
    state
        .reopen_sources(ops)
        .await
        .map_err(|e| CellError::new(ErrorKind::SourceError, e.to_string(), span))?;
    out.display(
        Bundle::plain(format!("{path} holds no more of this: live from here on")),
        None,
    );
    Ok(())
}

/// What a caught panic tells the user: that the fault is playbook's, what it said, and that the
/// session goes on.
fn internal_error(panic: &(dyn Any + Send)) -> CellError {
    let said = panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    CellError::unplaced(
        ErrorKind::InternalError,
        format!(
            "playbook failed inside this cell ({said}); the cell stopped, the session and the steps before it are kept. Please report this."
        ),
    )
}
