//! `playbook run`: a notebook executed cell by cell through the engine, in-process, with no
//! Jupyter server. Outputs go into the executed notebook exactly as the kernel would publish
//! them, and are echoed to the terminal as they come.

mod resume;
mod selection;

pub use resume::ResumeError;
pub use selection::{Selection, SelectionError};

use crate::engine::error::CellError;
use crate::engine::sink::OutputSink;
use crate::engine::{CellEnd, Engine, Options};
use crate::journal::replay::Recording;
use crate::journal::verdict::Trust;
use crate::journal::JournalError;
use crate::notebook;
use crate::notebook::NotebookError;
use crate::ops::check::CheckOutcome;
use crate::ops::command::Stream;
use crate::ops::leftovers;
use crate::ops::policy::Policy;
use crate::render::Bundle;
use resume::Resumption;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// How a run ended, which is also its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every cell ran without error, and every check passed.
    Passed = 0,
    /// Every cell ran, and a check failed.
    CheckFailed = 1,
    /// A cell failed; the cells after it did not run.
    Error = 2,
    /// Stopped by SIGHUP (128 + 1, as a shell reports it).
    HungUp = 129,
    /// Stopped by SIGTERM (128 + 15).
    Terminated = 143,
}

/// Where the executed notebook goes unless `-o` says: beside the input, `NAME.out.ipynb`.
pub fn default_output(input: &Path) -> PathBuf {
    let stem = input.file_stem().unwrap_or_default().to_string_lossy();
    input.with_file_name(format!("{stem}.out.ipynb"))
}

/// Why a headless run could not run its notebook to the end.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Notebook(#[from] NotebookError),
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Selection(#[from] SelectionError),
    #[error(transparent)]
    Resume(#[from] ResumeError),
    #[error("cannot go on live after the cells answered from the journal: {0}")]
    Live(#[from] crate::engine::LiveError),
    #[error("cannot write {}: {why}", path.display())]
    Junit {
        path: std::path::PathBuf,
        why: std::io::Error,
    },
}

/// Parses a tag of `--tags`, `--skip-tags` or `--from`: an empty one names no cell.
pub fn parse_tag(text: &str) -> Result<String, String> {
    match text.trim() {
        "" => Err("a tag cannot be empty".to_owned()),
        tag => Ok(tag.to_owned()),
    }
}

/// Parses `-p NAME=VALUE`.
pub fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if crate::engine::syntax::is_name(name.trim()) => {
            Ok((name.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("`{text}` is not NAME=VALUE")),
    }
}

/// What `playbook run` was told beyond the notebook and its parameters.
pub struct Settings {
    pub dry_run: bool,
    /// Consent given in advance to every command that needs it.
    pub yes: bool,
    /// Record every step here.
    pub journal: Option<PathBuf>,
    /// Answer every step from this journal, with no server and no command run.
    pub replay: Option<PathBuf>,
    /// Answer the cells this journal of an earlier run holds, then go on live, recording into it.
    pub resume: Option<PathBuf>,
    /// Answer every step from this journal of an earlier run but the checks that failed there,
    /// which run live.
    pub rerun_failed: Option<PathBuf>,
    /// A public key to trust, besides the user's own, when judging the replayed journal.
    pub public_key: Option<PathBuf>,
    /// Write each check as a JUnit test case here.
    pub junit: Option<PathBuf>,
    /// The cells to run.
    pub selection: Selection,
}

pub async fn run(
    input: &Path,
    output: &Path,
    params: Vec<(String, String)>,
    settings: Settings,
) -> Result<Verdict, RunError> {
    let mut nb = notebook::read(input)?;
    // The code cells, numbered from 1 as the progress lines and `--from` count them.
    let codes: Vec<(String, Vec<String>)> = (nb.cells.iter())
        .filter_map(|cell| Some((notebook::code(cell)?, notebook::tags(cell))))
        .filter(|(code, _)| !code.trim().is_empty())
        .collect();
    let cells: Vec<selection::Cell> = (codes.iter())
        .map(|(code, tags)| selection::Cell { tags, code })
        .collect();
    let plan = settings.selection.plan(&cells)?;
    let total = plan.iter().filter(|skip| skip.is_none()).count();
    let interrupt = CancellationToken::new();
    let stopped_by = stop_on_signals(&interrupt);
    let load = |path: &Path| -> Result<_, RunError> {
        let trust = Trust::of(settings.public_key.as_deref()).map_err(JournalError::from)?;
        let recording = Recording::load(path, &trust)?;
        progress(&format!("{}: {}", path.display(), recording.verdict()));
        Ok(recording)
    };
    let replay = settings.replay.as_deref().map(load).transpose()?;
    let answered_from = settings
        .resume
        .as_deref()
        .or(settings.rerun_failed.as_deref());
    let resumption = match answered_from.map(load).transpose()? {
        Some(recording) => {
            let codes: Vec<&str> = codes.iter().map(|(code, _)| code.as_str()).collect();
            Some(Resumption::of(recording, &codes)?)
        }
        None => None,
    };
    // Where a resumed run goes live: at `--from`, else at the first cell the journal lacks.
    let from = settings.selection.from_number(&cells)?;
    if let (Some(resumption), Some(from)) = (&resumption, from) {
        let from_as_given = settings.selection.from.as_deref().unwrap_or_default();
        resumption.answers_all_before(from, from_as_given, |n| plan[n - 1].is_none())?;
    }
    let answered = |number: u64| resumption.as_ref()?.answers(number, from);
    let recheck = match (&settings.rerun_failed, &resumption) {
        (Some(path), Some(resumption)) => {
            let failed = resumption.recording.failed_checks();
            if failed.is_empty() {
                progress(&format!(
                    "{}: no check failed there: nothing to re-check",
                    path.display()
                ));
                return Ok(Verdict::Passed);
            }
            progress(&format!("re-checking live: {}", failed.join("; ")));
            failed
        }
        _ => Vec::new(),
    };
    let mut engine = Engine::new(Options {
        overrides: params,
        policy: Policy::find(input.parent().unwrap_or(Path::new("."))),
        dry_run: settings.dry_run,
        approve_all: settings.yes,
        journal: settings.journal,
        resume: resumption.as_ref().map(|r| r.recording.clone()),
        recheck: recheck.clone(),
        replay,
        base_dir: input.parent().unwrap_or(Path::new(".")).to_owned(),
        world: None,
    })?;
    let mut verdict = Verdict::Passed;
    let mut count = 0;
    // The resumed journal's last step this run stands on, and how many cells it answered.
    let mut stands_on = (0, 0);
    // A re-check answers from its journal to the end, but for its checks: it never goes live.
    let mut live = resumption.is_none() || !recheck.is_empty();
    if let Some(resumption) = resumption.as_ref().filter(|_| !recheck.is_empty()) {
        engine.note_recheck(&resumption.recording, &recheck).await;
    }
    let mut plan = plan.into_iter();
    let started = Instant::now();
    let mut number = 0;
    for cell in nb.cells.iter_mut() {
        let Some(code) = notebook::code(cell) else {
            continue;
        };
        if code.trim().is_empty() {
            continue;
        }
        number += 1;
        if let Some(skip) = plan.next().flatten() {
            notebook::mark_skipped(cell, &skip.to_string());
            let skipped = CellEnd::Skipped(skip.to_string());
            engine.note_cell(number, &code, skipped).await;
            continue;
        }
        if interrupt.is_cancelled() {
            // A signal came between cells: the rest does not run.
            verdict = Verdict::Error;
            break;
        }
        count += 1;
        let step = code
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .unwrap_or("(comments only)");
        let answer = match (live, answered(number)) {
            (false, Some(seq)) => {
                stands_on = (seq, stands_on.1 + 1);
                " (answered from the journal)"
            }
            (false, None) => {
                engine.go_live(stands_on.0, stands_on.1).await?;
                live = true;
                ""
            }
            (true, _) => "",
        };
        progress(&format!(
            "[cell {count} of {total}, {:.2} s] {step}{answer}",
            started.elapsed().as_secs_f64()
        ));
        let sink = NotebookSink::new(count);
        let result = engine.execute(&code, &sink, &interrupt).await;
        let end = match &result {
            Ok(()) => CellEnd::Ended,
            Err(_) => CellEnd::Failed,
        };
        engine.note_cell(number, &code, end).await;
        notebook::set_outputs(cell, count as i32, sink.into_outputs())?;
        if result.is_err() {
            verdict = Verdict::Error;
            break;
        }
    }
    // What the last command left running is already stopped; this is the run's own shutdown.
    leftovers::stop().await;
    if let Some(signalled) = stopped_by.get() {
        verdict = *signalled;
    }
    let state = engine.investigation();
    let failed: Vec<&str> = (state.checks())
        .filter(|c| !c.passed)
        .map(|c| c.title.as_str())
        .collect();
    if verdict == Verdict::Passed && !failed.is_empty() {
        verdict = Verdict::CheckFailed;
    }
    let unused = state.pending_overrides();
    if !unused.is_empty() {
        progress(&format!(
            "warning: no `param` statement took -p {}",
            unused.join(", -p ")
        ));
    }
    notebook::write(output, nb)?;
    if let Some(path) = &settings.junit {
        std::fs::write(path, junit(input, &state.checks().collect::<Vec<_>>())).map_err(|why| {
            RunError::Junit {
                path: path.clone(),
                why,
            }
        })?;
    }
    let outcome = match verdict {
        Verdict::Passed => "all cells passed".to_owned(),
        Verdict::CheckFailed => format!("checks failed: {}", failed.join("; ")),
        Verdict::Error => "stopped at an error".to_owned(),
        Verdict::HungUp => "stopped by SIGHUP".to_owned(),
        Verdict::Terminated => "stopped by SIGTERM".to_owned(),
    };
    let skipped = codes.len() - total;
    let skipped = match skipped {
        0 => String::new(),
        n => format!(" ({n} skipped as asked)"),
    };
    eprintln!(
        "{outcome}: {count} of {total} cells ran{skipped} in {:.2} s; executed notebook: {}",
        started.elapsed().as_secs_f64(),
        output.display()
    );
    Ok(verdict)
}

/// SIGINT, SIGTERM and SIGHUP interrupt the running step, so that the run ends as after an
/// error: the running command and what it started stopped, the notebook and journal so far
/// written. Holds the verdict of the first SIGTERM or SIGHUP.
fn stop_on_signals(interrupt: &CancellationToken) -> Arc<OnceLock<Verdict>> {
    use tokio::signal::unix::{signal, SignalKind};
    let stopped_by = Arc::new(OnceLock::new());
    let listeners = [
        (SignalKind::interrupt(), None),
        (SignalKind::terminate(), Some(Verdict::Terminated)),
        (SignalKind::hangup(), Some(Verdict::HungUp)),
    ];
    for (kind, verdict) in listeners {
        let Ok(mut signals) = signal(kind) else {
            progress(&format!(
                "warning: cannot listen for signal {}",
                kind.as_raw_value()
            ));
            continue;
        };
        let (interrupt, stopped_by) = (interrupt.clone(), stopped_by.clone());
        tokio::spawn(async move {
            while signals.recv().await.is_some() {
                if let Some(verdict) = verdict {
                    let _ = stopped_by.set(verdict);
                }
                interrupt.cancel();
            }
        });
    }
    stopped_by
}

/// The checks as JUnit XML, one test case each, so that CI systems list them.
fn junit(notebook: &Path, checks: &[&CheckOutcome]) -> String {
    let escape = |text: &str| {
        text.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let suite = escape(&notebook.display().to_string());
    let failures = checks.iter().filter(|c| !c.passed).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"{suite}\" tests=\"{}\" failures=\"{failures}\">\n",
        checks.len()
    );
    for check in checks {
        xml.push_str(&format!(
            "    <testcase classname=\"{suite}\" name=\"{}\">",
            escape(&check.title)
        ));
        if !check.passed {
            xml.push_str(&format!("<failure message=\"{}\"/>", escape(&check.detail)));
        }
        xml.push_str("</testcase>\n");
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}

/// A progress line on stderr, dimmed on a terminal.
fn progress(line: &str) {
    use std::io::IsTerminal;
    if std::io::stderr().is_terminal() {
        eprintln!("\x1b[2m{line}\x1b[0m");
    } else {
        eprintln!("{line}");
    }
}

/// Collects one cell's outputs in notebook form, merging consecutive stream pieces as a
/// notebook stores them, and echoes them to the terminal.
struct NotebookSink {
    execution_count: usize,
    outputs: RefCell<Vec<Value>>,
    /// Displays that may be updated: their id and index in `outputs`.
    displays: RefCell<Vec<(String, usize)>>,
}

impl NotebookSink {
    fn new(execution_count: usize) -> Self {
        NotebookSink {
            execution_count,
            outputs: RefCell::default(),
            displays: RefCell::default(),
        }
    }

    fn into_outputs(self) -> Vec<Value> {
        let outputs = self.outputs.into_inner();
        for (_, index) in self.displays.into_inner() {
            if let Some(text) = outputs[index]["data"]["text/plain"].as_str() {
                println!("{text}");
            }
        }
        outputs
    }

    fn push(&self, output: Value, plain: Option<&str>) {
        if let Some(text) = plain {
            println!("{text}");
        }
        self.outputs.borrow_mut().push(output);
    }
}

#[async_trait::async_trait(?Send)]
impl OutputSink for NotebookSink {
    fn stream(&self, stream: Stream, text: String) {
        let name = match stream {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        };
        // Echo as it comes: a long command shows its progress.
        let _ = match stream {
            Stream::Stdout => std::io::stdout().write_all(text.as_bytes()),
            Stream::Stderr => std::io::stderr().write_all(text.as_bytes()),
        };
        let mut outputs = self.outputs.borrow_mut();
        if let Some(last) = outputs.last_mut() {
            if last["output_type"] == "stream" && last["name"] == name {
                let merged = format!("{}{text}", last["text"].as_str().unwrap_or_default());
                last["text"] = Value::String(merged);
                return;
            }
        }
        outputs.push(json!({ "output_type": "stream", "name": name, "text": text }));
    }

    fn display(&self, bundle: Bundle, id: Option<&str>) {
        let plain = bundle.get("text/plain").map(str::to_owned);
        let output =
            json!({ "output_type": "display_data", "data": bundle.into_json(), "metadata": {} });
        match id {
            // A display with an id is a live line: the terminal shows its final form, at the end.
            Some(id) => {
                let index = self.outputs.borrow().len();
                self.displays.borrow_mut().push((id.to_owned(), index));
                self.outputs.borrow_mut().push(output);
            }
            None => self.push(output, plain.as_deref()),
        }
    }

    /// Replaces the display in place in the notebook, as a frontend would.
    fn update_display(&self, bundle: Bundle, id: &str) {
        let displays = self.displays.borrow();
        if let Some(&(_, index)) = displays.iter().find(|(d, _)| d == id) {
            self.outputs.borrow_mut()[index]["data"] = bundle.into_json();
        }
    }

    fn result(&self, bundle: Bundle) {
        let plain = bundle.get("text/plain").map(str::to_owned);
        let output = json!({
            "output_type": "execute_result",
            "execution_count": self.execution_count,
            "data": bundle.into_json(),
            "metadata": {},
        });
        self.push(output, plain.as_deref());
    }

    fn error(&self, error: &CellError) {
        for line in error.traceback() {
            eprintln!("{line}");
        }
        self.outputs.borrow_mut().push(json!({
            "output_type": "error",
            "ename": error.ename(),
            "evalue": error.evalue(),
            "traceback": error.traceback(),
        }));
    }

    /// Nobody is there to answer in a headless run: steps that need consent fail closed.
    async fn ask(&self, _prompt: &str) -> Option<String> {
        None
    }
}
