//! The ops stack: every primitive a step can reach, composed in this one place from the live
//! world, a mode (live, dry run, replay) and an optional journal. Statements talk to [`Ops`] and
//! never learn which layers stand behind it.
//!
//! ```text
//!   step ──▶ Recorded (when a journal is kept) ──▶ Replay stand-in | DryRun | live op
//! ```

use crate::journal::entry::Entry;
use crate::journal::record::SharedJournal;
use crate::journal::recorded::{Recorded, RecordedSource};
use crate::journal::replay::{
    Recording, ReplayClock, ReplayCommands, ReplayProber, ReplayRust, ReplaySource, ResumedCommands,
};
use crate::ops::clock::{Clock, SystemClock};
use crate::ops::command::{self, CommandRunner, Shell};
use crate::ops::file_source;
use crate::ops::file_source::{LoadError, Stop, StopOnDrop};
use crate::ops::http_api::{Auth, ClientError, HttpApi};
use crate::ops::logs::{Labels, LogFiles, LogFormat, LogLoadError, LogSource};
use crate::ops::loki::Loki;
use crate::ops::metrics::{MetricsSource, SourceError};
use crate::ops::probe::{Http, Prober};
use crate::ops::prometheus::Prometheus;
use crate::ops::rust::{self, RustCells};
use crate::ops::secret::{self, SecretError};
use crate::ops::victoria_logs::VictoriaLogs;
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// What the steps reach: the world, nothing (a dry run), or a recorded journal.
#[derive(Clone)]
pub enum Mode {
    Live,
    /// Commands and Rust cells are shown, not run; queries and probes still read the world.
    DryRun,
    /// Every op is answered from the journal: nothing reaches the world.
    Replay(Rc<Recording>),
    /// Steps answered from a journal as on replay, but secrets are read, for the live steps: a
    /// resumed run's, once it goes live, and the checks of `recheck` (titles that failed in the
    /// journal), which run live ([`Ops::rechecks`]).
    Answering {
        recording: Rc<Recording>,
        recheck: Rc<Vec<String>>,
    },
    /// The kernel's `resume`: steps answered from the journal while it holds them, secrets
    /// read; the first step it does not hold sends the session live ([`crate::engine::Engine`]
    /// runs that step again, live).
    Following(Rc<Recording>),
    /// Live, once a resumed run has gone live: the commands the journal's unfinished cell
    /// completed after step `after` are answered from it, so that none runs twice.
    Resumed {
        recording: Rc<Recording>,
        after: u64,
    },
}

/// A server a source talks to over HTTP, as declared, its URL filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSpec {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub auth: AuthRef,
    pub timeout: Duration,
    /// The largest answer read, in bytes; a larger one is refused.
    pub max_answer: u64,
}

/// A metrics source as a `source` statement declares it, its templates filled in.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    Prometheus(ServerSpec),
    /// A metrics file, its path relative to the notebook's folder.
    File {
        path: PathBuf,
    },
}

/// A log source as a `source` statement declares it.
#[derive(Debug, Clone, PartialEq)]
pub enum LogSpec {
    Files(LogFilesSpec),
    /// With the tenant's account and project ids, if one is named.
    VictoriaLogs(ServerSpec, Option<(String, String)>),
    /// With the tenant sent as `X-Scope-OrgID`, if one is named.
    Loki(ServerSpec, Option<String>),
}

/// Log files as a `source NAME logs` statement declares them, read in-process.
#[derive(Debug, Clone, PartialEq)]
pub struct LogFilesSpec {
    /// Paths or globs, relative to the notebook's folder.
    pub paths: Vec<PathBuf>,
    pub format: LogFormat,
    /// Labels every stream of these files gets.
    pub labels: Labels,
    /// Fields of JSON and logfmt lines whose values become stream labels.
    pub label_fields: Vec<String>,
}

/// Where credentials are, never the credentials themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthRef {
    None,
    Token(String),
    Basic(String, String),
}

/// Why a source could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Credential(#[from] SecretError),
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    File(#[from] LoadError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Logs(#[from] LogLoadError),
    #[error(transparent)]
    Unmaskable(#[from] crate::engine::scrub::Unmaskable),
}

/// A source opened live, with the credential values it read, which the session must mask.
pub struct Opened<S: ?Sized = dyn MetricsSource> {
    pub source: Box<S>,
    pub credentials: Vec<String>,
}

/// Opens metrics and log sources in the live world; tests give their own.
pub trait Connector {
    fn open<'a>(&'a self, spec: &'a SourceSpec) -> LocalBoxFuture<'a, Result<Opened, OpenError>>;

    fn open_logs<'a>(
        &'a self,
        spec: &'a LogSpec,
    ) -> LocalBoxFuture<'a, Result<Opened<dyn LogSource>, OpenError>>;
}

/// The live sources: Prometheus over HTTP and metrics files, read from the notebook's folder.
pub struct LiveSources {
    pub base_dir: PathBuf,
}

impl Connector for LiveSources {
    fn open<'a>(&'a self, spec: &'a SourceSpec) -> LocalBoxFuture<'a, Result<Opened, OpenError>> {
        Box::pin(self.open_live(spec))
    }

    fn open_logs<'a>(
        &'a self,
        spec: &'a LogSpec,
    ) -> LocalBoxFuture<'a, Result<Opened<dyn LogSource>, OpenError>> {
        Box::pin(self.open_live_logs(spec))
    }
}

/// The server's client, with the credentials it read (for the session to mask).
fn server_api(server: &ServerSpec) -> Result<(HttpApi, Vec<String>), OpenError> {
    let mut credentials = Vec::new();
    let mut read = |reference: &str| {
        let value = secret::read(reference)?;
        credentials.push(value.clone());
        Ok::<_, SecretError>(value)
    };
    let auth = match &server.auth {
        AuthRef::None => Auth::None,
        AuthRef::Token(r) => Auth::Bearer(read(r)?),
        AuthRef::Basic(u, p) => Auth::Basic {
            user: read(u)?,
            password: read(p)?,
        },
    };
    let api = HttpApi::new(
        &server.url,
        server.headers.clone(),
        auth,
        server.timeout,
        server.max_answer,
    )?;
    Ok((api, credentials))
}

impl LiveSources {
    async fn open_live_logs(&self, spec: &LogSpec) -> Result<Opened<dyn LogSource>, OpenError> {
        match spec {
            LogSpec::VictoriaLogs(server, tenant) => {
                let (api, credentials) = server_api(server)?;
                Ok(Opened {
                    source: Box::new(VictoriaLogs::new(api, tenant.clone())),
                    credentials,
                })
            }
            LogSpec::Loki(server, tenant) => {
                let (api, credentials) = server_api(server)?;
                Ok(Opened {
                    source: Box::new(Loki::new(api, tenant.clone())),
                    credentials,
                })
            }
            // Read on a blocking thread, as metrics files are; an interrupt drops this future,
            // and so stops the reading at its next block.
            LogSpec::Files(files) => {
                let paths: Vec<PathBuf> =
                    files.paths.iter().map(|p| self.base_dir.join(p)).collect();
                let files = files.clone();
                let guard = StopOnDrop(Stop::default());
                let stop = guard.0.clone();
                let loaded = tokio::task::spawn_blocking(move || {
                    let (labels, fields) = (&files.labels, &files.label_fields);
                    LogFiles::load(&paths, files.format, labels, fields, &stop)
                })
                .await;
                drop(guard);
                let loaded = loaded
                    .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))?;
                Ok(Opened {
                    source: Box::new(loaded),
                    credentials: Vec::new(),
                })
            }
        }
    }

    async fn open_live(&self, spec: &SourceSpec) -> Result<Opened, OpenError> {
        match spec {
            SourceSpec::Prometheus(server) => {
                let (api, credentials) = server_api(server)?;
                Ok(Opened {
                    source: Box::new(Prometheus::new(api)),
                    credentials,
                })
            }
            // Relative to the notebook, as the kernel's working directory is in Jupyter. Read
            // on a blocking thread: a large file takes seconds, and the protocol's thread must
            // go on answering heartbeats and control meanwhile.
            SourceSpec::File { path } => {
                let path = self.base_dir.join(path);
                let loaded = tokio::task::spawn_blocking(move || file_source::load(&path)).await;
                let source = loaded
                    .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))?;
                Ok(Opened {
                    source: Box::new(source),
                    credentials: Vec::new(),
                })
            }
        }
    }
}

/// The live primitives, made once per session: the Rust cells' context lives as long as it.
#[derive(Clone)]
pub struct World {
    pub commands: Rc<dyn CommandRunner>,
    pub prober: Rc<dyn Prober>,
    pub clock: Rc<dyn Clock>,
    pub rust: Rc<dyn RustCells>,
    pub sources: Rc<dyn Connector>,
}

impl World {
    /// The real world: `sh`, HTTP, the system clock, evcxr (when built in), and sources whose
    /// relative paths start at `base_dir`.
    pub fn real(base_dir: PathBuf) -> World {
        World {
            commands: Rc::new(Shell),
            prober: Rc::new(Http),
            clock: Rc::new(SystemClock),
            rust: Rc::from(rust::live()),
            sources: Rc::new(LiveSources { base_dir }),
        }
    }
}

/// Every primitive a step can reach, as the current mode and journal compose them. A copy
/// shares the primitives (and their state: a replay's place in the journal).
#[derive(Clone)]
pub struct Ops {
    world: World,
    mode: Mode,
    journal: Option<SharedJournal>,
    /// How many times the mode was switched: a step that switched it, on its copy of the
    /// session, hands its mode on (see `Session::absorb`).
    switches: u64,
    pub commands: Rc<dyn CommandRunner>,
    pub prober: Rc<dyn Prober>,
    pub clock: Rc<dyn Clock>,
    pub rust: Rc<dyn RustCells>,
}

impl Ops {
    pub fn new(world: World, mode: Mode, journal: Option<SharedJournal>) -> Ops {
        let base = match &mode {
            Mode::Live => world.clone(),
            Mode::DryRun => World {
                commands: Rc::new(command::DryRun),
                rust: Rc::new(rust::DryRun),
                ..world.clone()
            },
            Mode::Resumed { recording, after } => World {
                commands: Rc::new(ResumedCommands::new(
                    recording.clone(),
                    *after,
                    world.commands.clone(),
                )),
                ..world.clone()
            },
            Mode::Replay(recording)
            | Mode::Answering { recording, .. }
            | Mode::Following(recording) => World {
                commands: Rc::new(ReplayCommands(recording.clone())),
                prober: Rc::new(ReplayProber(recording.clone())),
                clock: Rc::new(ReplayClock::new(recording.clone())),
                rust: Rc::new(ReplayRust(recording.clone())),
                sources: world.sources.clone(),
            },
        };
        let composed = match &journal {
            Some(journal) => World {
                commands: Recorded::wrap(base.commands, journal),
                prober: Recorded::wrap(base.prober, journal),
                clock: Recorded::wrap(base.clock, journal),
                rust: Recorded::wrap(base.rust, journal),
                sources: base.sources,
            },
            None => base,
        };
        Ops {
            world,
            mode,
            journal,
            switches: 0,
            commands: composed.commands,
            prober: composed.prober,
            clock: composed.clock,
            rust: composed.rust,
        }
    }

    /// The same world and journal, in another mode.
    pub fn switch(&mut self, mode: Mode) {
        let journal = self.journal.take();
        self.switch_recording(mode, journal);
    }

    /// The same world, in another mode, recording from now on into `journal`.
    pub fn switch_recording(&mut self, mode: Mode, journal: Option<SharedJournal>) {
        let switches = self.switches + 1;
        *self = Ops::new(self.world.clone(), mode, journal);
        self.switches = switches;
    }

    pub fn switches(&self) -> u64 {
        self.switches
    }

    /// `dry-run on` and `off`. A replay runs nothing already, and goes on answering.
    pub fn set_dry_run(&mut self, on: bool) {
        match (&self.mode, on) {
            (Mode::Live, true) => self.switch(Mode::DryRun),
            (Mode::DryRun, false) => self.switch(Mode::Live),
            _ => {}
        }
    }

    /// Whether a command that needs consent must ask for it: on replay and in a dry run nothing
    /// runs, so nothing asks.
    pub fn asks_consent(&self) -> bool {
        matches!(self.mode, Mode::Live | Mode::Resumed { .. })
    }

    /// Whether the check titled `title` runs live, its steps around it answered from a journal.
    pub fn rechecks(&self, title: &str) -> bool {
        matches!(&self.mode, Mode::Answering { recheck, .. } if recheck.iter().any(|t| t == title))
    }

    pub fn mode(&self) -> &Mode {
        &self.mode
    }

    /// Whether a `secret` statement reads its value: on replay none is needed, as nothing runs
    /// and the journal holds every input masked.
    pub fn reads_secrets(&self) -> bool {
        !matches!(self.mode, Mode::Replay(_))
    }

    /// The time a finding or a check is stamped with: the session's clock, so that replay
    /// shows the times of the recording.
    pub fn stamp(&self) -> DateTime<Utc> {
        let millis = (self.clock.stamp() * 1000.0).round() as i64;
        DateTime::from_timestamp_millis(millis).unwrap_or_default()
    }

    pub fn journal(&self) -> Option<&SharedJournal> {
        self.journal.as_ref()
    }

    /// Writes the journal entry of a step that is not an op call (ops are recorded by their
    /// wrappers).
    pub async fn note(&self, entry: Entry) {
        if let Some(journal) = &self.journal {
            journal.append(entry, 0).await;
        }
    }

    /// Opens declared logs: from the journal on replay (nothing is read or contacted), else
    /// live; recorded when a journal is kept.
    pub async fn open_logs(
        &self,
        name: &str,
        spec: &LogSpec,
    ) -> Result<Opened<dyn LogSource>, OpenError> {
        let live = async { self.world.sources.open_logs(spec).await };
        self.compose(name, live, |r| Box::new(r), |r| Box::new(r))
            .await
    }

    /// Opens a declared source: from the journal on replay (nothing is contacted, no
    /// credential read), else live; recorded when a journal is kept.
    pub async fn open_source(&self, name: &str, spec: &SourceSpec) -> Result<Opened, OpenError> {
        let live = async { self.world.sources.open(spec).await };
        self.compose(name, live, |r| Box::new(r), |r| Box::new(r))
            .await
    }

    /// A source of either kind as the mode and the journal compose it: the replay stand-in or
    /// the live one, wrapped to record when a journal is kept.
    async fn compose<S: ?Sized>(
        &self,
        name: &str,
        live: impl std::future::Future<Output = Result<Opened<S>, OpenError>>,
        stand_in: fn(ReplaySource) -> Box<S>,
        recorded: fn(RecordedSource<S>) -> Box<S>,
    ) -> Result<Opened<S>, OpenError> {
        let opened = match &self.mode {
            Mode::Replay(recording)
            | Mode::Answering { recording, .. }
            | Mode::Following(recording) => Opened {
                source: stand_in(ReplaySource {
                    name: name.to_owned(),
                    recording: recording.clone(),
                }),
                credentials: Vec::new(),
            },
            Mode::Live | Mode::DryRun | Mode::Resumed { .. } => live.await?,
        };
        Ok(match &self.journal {
            Some(journal) => Opened {
                source: recorded(RecordedSource {
                    name: name.to_owned(),
                    inner: opened.source,
                    journal: journal.clone(),
                }),
                credentials: opened.credentials,
            },
            None => opened,
        })
    }
}
