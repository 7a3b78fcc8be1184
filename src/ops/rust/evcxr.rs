//! The evaluator: one evcxr `CommandContext`, created on the first Rust cell, living on a thread
//! of its own.
//!
//! evcxr is blocking and costly: creating its context takes seconds and hundreds of MB, so it is
//! made only when a Rust cell first runs, on a worker thread that then serves every request in
//! order. Its stdout and stderr channels are drained on two more threads (draining them on the
//! thread that calls execute deadlocks once a pipe fills). evcxr runs the cells in a child
//! process, this same binary started again (see `runtime_hook` in main); an interrupt kills that
//! child, which ends the cell at once and loses the Rust variables.

use super::toolchain;
use super::{Diagnostic, RustCells, RustError, RustRun, Values};
use crate::ops::command::{Collected, Stream};
use crate::ops::{leftovers, Io};
use playbook_bridge::{self as bridge, Bound, Finding};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc as channel, oneshot};
use tokio_util::sync::CancellationToken;

/// How long an interrupted cell waits for evcxr to notice that its child is gone.
const INTERRUPT_GRACE: Duration = Duration::from_millis(1500);
/// Standard error comes on its own pipe: lines still in flight when a cell ends get this long.
const STDERR_SETTLE: Duration = Duration::from_millis(20);
/// Completion and inspect never keep a person waiting longer, even on the first request.
const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(3);

/// The bridge crate's sources, carried in the binary so that an installed kernel needs no
/// checkout: written next to evcxr's build folder and loaded as a path dependency.
const BRIDGE_MANIFEST: &str = include_str!("../../../crates/playbook-bridge/Cargo.toml");
const BRIDGE_LIB: &str = include_str!("../../../crates/playbook-bridge/src/lib.rs");

/// Called first thing in `main`, while the process has one thread: evcxr finds its build folder
/// in `EVCXR_TMPDIR`. One stable folder per working directory lets a restarted kernel reuse the
/// dependencies it compiled; a folder set by the user wins.
pub fn prepare_process() {
    evcxr::runtime_hook();
    if std::env::var_os("EVCXR_TMPDIR").is_none() {
        if let Some(dir) = build_dir() {
            // Safe: no other thread exists yet.
            std::env::set_var("EVCXR_TMPDIR", dir);
        }
    }
}

fn build_dir() -> Option<PathBuf> {
    use sha2::{Digest, Sha256};
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))?;
    let cwd = std::env::current_dir().ok()?;
    let digest = Sha256::digest(cwd.as_os_str().as_encoded_bytes());
    Some(
        cache
            .join("playbook")
            .join("rust-cells")
            .join(hex::encode(&digest[..8])),
    )
}

enum Job {
    Eval {
        code: String,
        reply: oneshot::Sender<Result<evcxr::EvalOutputs, evcxr::Error>>,
    },
    Complete {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Option<(Vec<String>, usize, usize)>>,
    },
    Inspect {
        code: String,
        cursor: usize,
        reply: oneshot::Sender<Option<(String, String)>>,
    },
}

/// The running context, seen from the kernel's side.
struct Worker {
    jobs: mpsc::Sender<Job>,
    lines: channel::UnboundedReceiver<(Stream, String)>,
    child: Arc<Mutex<Child>>,
    /// evcxr's child outlives every step: it is not a leftover of one.
    kept: Option<leftovers::Kept>,
}

impl Worker {
    /// Keeps evcxr's child from being stopped as a leftover; again after each cell, as evcxr
    /// starts a new child in the same handle when the last one died.
    fn keep_child(&mut self) {
        self.kept = None;
        self.kept = self.child.lock().ok().map(|c| leftovers::Kept::new(c.id()));
    }
}

/// Rust cells through evcxr. The bridge folder is this process's own, removed when it ends.
pub struct Evcxr {
    worker: tokio::sync::Mutex<Option<Worker>>,
    bridge: PathBuf,
    /// What the bridge folder holds, so that a cell writes only the values bound since the last.
    published: RefCell<BTreeMap<String, Bound>>,
}

impl Default for Evcxr {
    fn default() -> Self {
        // One folder per session: a process may hold several (tests, a replaying engine).
        static SESSIONS: AtomicUsize = AtomicUsize::new(0);
        let session = SESSIONS.fetch_add(1, Ordering::Relaxed);
        let name = format!("playbook-bridge-{}-{session}", std::process::id());
        Evcxr {
            worker: tokio::sync::Mutex::new(None),
            bridge: std::env::temp_dir().join(name),
            published: RefCell::default(),
        }
    }
}

impl Drop for Evcxr {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.bridge);
    }
}

fn failed(problem: impl std::fmt::Display) -> RustError {
    RustError::Failed(problem.to_string())
}

/// Writes `contents` unless the file holds it already: cargo rebuilds what looks touched.
fn write_if_changed(path: &Path, contents: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(contents) {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, contents)
}

/// Builds the context: checks the toolchain, writes the bridge crate, starts evcxr and loads the
/// bridge. Blocking, and seconds long (minutes the first time, while dependencies compile).
fn create_context(
    bridge_dir: &Path,
) -> Result<(evcxr::CommandContext, evcxr::EvalContextOutputs), RustError> {
    let std_dir = toolchain::check().map_err(|e| RustError::Unavailable(e.to_string()))?;
    let build = std::env::var_os("EVCXR_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let crate_dir = build.join("playbook-bridge");
    write_if_changed(&crate_dir.join("Cargo.toml"), BRIDGE_MANIFEST)
        .and_then(|()| write_if_changed(&crate_dir.join("src").join("lib.rs"), BRIDGE_LIB))
        .map_err(|e| failed(format!("cannot write the bridge crate: {e}")))?;
    let exe = std::env::current_exe().map_err(failed)?;
    let mut child = std::process::Command::new(exe);
    child.env(bridge::DIR_VAR, bridge_dir);
    // Each cell's library finds the standard library's shared object by a relative rpath, which
    // cargo computes for the deps folder while evcxr loads a copy one folder up: under the home
    // folder, beside ~/.rustup, the path misses by one level. The loader's own path does not.
    let mut libraries = std::ffi::OsString::from(std_dir.as_os_str());
    if let Some(inherited) = std::env::var_os("LD_LIBRARY_PATH") {
        libraries.push(":");
        libraries.push(inherited);
    }
    child.env("LD_LIBRARY_PATH", libraries);
    let (eval_context, outputs) =
        evcxr::EvalContext::with_subprocess_command(child).map_err(failed)?;
    let mut context = evcxr::CommandContext::with_eval_context(eval_context);
    let path = serde_json::to_string(&crate_dir.to_string_lossy()).map_err(failed)?;
    context
        .execute(&format!(
            ":dep playbook = {{ path = {path}, package = \"playbook-bridge\" }}"
        ))
        .map_err(|e| failed(format!("cannot load the playbook bridge crate: {e}")))?;
    Ok((context, outputs))
}

fn drain(
    source: impl IntoIterator<Item = String> + Send + 'static,
    stream: Stream,
    sink: channel::UnboundedSender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        for line in source {
            if sink.send((stream, line)).is_err() {
                break;
            }
        }
    });
}

fn serve(mut context: evcxr::CommandContext, jobs: mpsc::Receiver<Job>) {
    for job in jobs {
        // A reply nobody waits for any more (an interrupted cell) is dropped.
        match job {
            Job::Eval { code, reply } => {
                let _ = reply.send(context.execute(&code));
            }
            Job::Complete {
                code,
                cursor,
                reply,
            } => {
                let found = context.completions(&code, cursor).ok().map(|c| {
                    let words = c.completions.into_iter().map(|c| c.code).collect();
                    (words, c.start_offset, c.end_offset)
                });
                let _ = reply.send(found);
            }
            Job::Inspect {
                code,
                cursor,
                reply,
            } => {
                let _ = reply.send(context.hover_at(&code, cursor).ok());
            }
        }
    }
}

impl Evcxr {
    /// Starts the worker thread and waits until its context is ready, or the user interrupts.
    async fn start(&self, interrupt: &CancellationToken) -> Result<Worker, RustError> {
        let (ready, started) = oneshot::channel();
        let bridge_dir = self.bridge.clone();
        std::thread::Builder::new()
            .name("rust-cells".into())
            .spawn(move || {
                let created = create_context(&bridge_dir);
                let (context, outputs) = match created {
                    Ok(made) => made,
                    Err(problem) => {
                        let _ = ready.send(Err(problem));
                        return;
                    }
                };
                let (lines_in, lines) = channel::unbounded_channel();
                drain(outputs.stdout, Stream::Stdout, lines_in.clone());
                drain(outputs.stderr, Stream::Stderr, lines_in);
                let (jobs, queue) = mpsc::channel();
                let worker = Worker {
                    jobs,
                    lines,
                    child: context.process_handle(),
                    kept: None,
                };
                if ready.send(Ok(worker)).is_ok() {
                    serve(context, queue);
                }
            })
            .map_err(failed)?;
        tokio::select! {
            made = started => made.unwrap_or_else(|_| Err(failed("the Rust worker stopped while starting"))),
            _ = interrupt.cancelled() => Err(RustError::Interrupted),
        }
    }

    /// The bridge folder as this cell must see it: the bound values, and no findings or panic
    /// left from an earlier cell. Only what changed since the last cell is written.
    fn publish(&self, values: &Values) -> Result<(), RustError> {
        let _ = std::fs::remove_file(self.bridge.join(bridge::FINDINGS));
        let _ = std::fs::remove_file(self.bridge.join(bridge::PANIC));
        private_dir(&self.bridge.join(bridge::VALUES))
            .map_err(|e| failed(format!("cannot write bound values: {e}")))?;
        let mut published = self.published.borrow_mut();
        published.retain(|name, _| {
            values.contains_key(name)
                || std::fs::remove_file(bridge::value_path(&self.bridge, name)).is_err()
        });
        for (name, value) in values {
            if published.get(name) == Some(value) {
                continue;
            }
            let text = serde_json::to_vec(value).map_err(failed)?;
            std::fs::write(bridge::value_path(&self.bridge, name), text)
                .map_err(|e| failed(format!("cannot write `{name}`: {e}")))?;
            published.insert(name.clone(), value.clone());
        }
        Ok(())
    }

    fn take_findings(&self) -> Vec<Finding> {
        let path = self.bridge.join(bridge::FINDINGS);
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let _ = std::fs::remove_file(&path);
        text.lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    fn take_panic(&self) -> Option<String> {
        let path = self.bridge.join(bridge::PANIC);
        let message = std::fs::read_to_string(&path).ok()?;
        let _ = std::fs::remove_file(&path);
        Some(message)
    }

    /// Asks a running context for completions or inspection, never waiting past
    /// [`ANALYSIS_TIMEOUT`]; before the first Rust cell there is no context, and no answer.
    async fn analyse<T>(&self, make: impl FnOnce(oneshot::Sender<Option<T>>) -> Job) -> Option<T> {
        let answer = {
            let worker = self.worker.lock().await;
            let (reply, answer) = oneshot::channel();
            worker.as_ref()?.jobs.send(make(reply)).ok()?;
            answer
        };
        tokio::time::timeout(ANALYSIS_TIMEOUT, answer)
            .await
            .ok()?
            .ok()?
    }
}

/// Values read from disk by another process may be secret-adjacent: only this user reads them.
fn private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

fn compile_errors(errors: Vec<evcxr::CompilationError>) -> RustError {
    RustError::Compile(
        errors
            .into_iter()
            .map(|error| Diagnostic {
                message: error.message(),
                at: error
                    .primary_spanned_message()
                    .and_then(|m| m.span)
                    .map(|s| {
                        let len = if s.end_line == s.start_line {
                            s.end_column.saturating_sub(s.start_column)
                        } else {
                            1
                        };
                        (s.start_line, s.start_column, len.max(1))
                    }),
            })
            .collect(),
    )
}

#[async_trait::async_trait(?Send)]
impl RustCells for Evcxr {
    async fn eval(&self, code: &str, values: &Values, io: Io<'_>) -> Result<RustRun, RustError> {
        let Io { output, interrupt } = io;
        let mut slot = self.worker.lock().await;
        if slot.is_none() {
            *slot = Some(self.start(interrupt).await?);
        }
        let worker = slot.as_mut().expect("started above");
        worker.keep_child();
        self.publish(values)?;
        let (reply, mut answer) = oneshot::channel();
        // The panic hook is set first: evcxr itself reports a panic only as text on stderr.
        let code = format!("playbook::__cell_begins();{code}");
        if worker.jobs.send(Job::Eval { code, reply }).is_err() {
            *slot = None;
            return Err(failed(
                "the Rust worker stopped; the next Rust cell starts a new one",
            ));
        }
        let (mut stdout, mut stderr) = (
            Collected::new(Stream::Stdout),
            Collected::new(Stream::Stderr),
        );
        let mut show = |(stream, mut line): (Stream, String)| {
            line.push('\n');
            match stream {
                Stream::Stdout => stdout.emit(line, output),
                Stream::Stderr => stderr.emit(line, output),
            }
        };
        let mut killed = false;
        let deadline = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(deadline);
        let outcome = loop {
            tokio::select! {
                Some(line) = worker.lines.recv() => show(line),
                outcome = &mut answer => break outcome.ok(),
                _ = interrupt.cancelled(), if !killed => {
                    killed = true;
                    if let Ok(mut child) = worker.child.lock() {
                        let _ = child.kill();
                    }
                    deadline.as_mut().reset(tokio::time::Instant::now() + INTERRUPT_GRACE);
                }
                _ = &mut deadline, if killed => break None,
            }
        };
        while let Ok(Some(line)) = tokio::time::timeout(STDERR_SETTLE, worker.lines.recv()).await {
            show(line);
        }
        worker.keep_child();
        if killed {
            return Err(RustError::Interrupted);
        }
        let findings = self.take_findings();
        if let Some(message) = self.take_panic() {
            return Err(RustError::Panic(message));
        }
        match outcome {
            None => {
                *slot = None;
                Err(failed(
                    "the Rust worker stopped; the next Rust cell starts a new one",
                ))
            }
            Some(Ok(outputs)) => {
                let mut display: BTreeMap<_, _> =
                    outputs.content_by_mime_type.into_iter().collect();
                // A cell ending in a block evcxr shows as `()`: nothing a person needs to see.
                if display.len() == 1 && display.get("text/plain").map(String::as_str) == Some("()")
                {
                    display.clear();
                }
                Ok(RustRun {
                    stdout: stdout.kept,
                    stderr: stderr.kept,
                    display,
                    findings,
                })
            }
            Some(Err(evcxr::Error::CompilationErrors(errors))) => Err(compile_errors(errors)),
            Some(Err(evcxr::Error::SubprocessTerminated(message))) => {
                Err(RustError::ProcessEnded(message))
            }
            Some(Err(other)) => Err(failed(other)),
        }
    }

    async fn complete(&self, code: &str, cursor: usize) -> Option<(Vec<String>, usize, usize)> {
        let code = code.to_owned();
        self.analyse(|reply| Job::Complete {
            code,
            cursor,
            reply,
        })
        .await
    }

    async fn inspect(&self, code: &str, cursor: usize) -> Option<(String, String)> {
        let code = code.to_owned();
        self.analyse(|reply| Job::Inspect {
            code,
            cursor,
            reply,
        })
        .await
    }
}
