//! Running a shell command: `sh -c`, in a process group of its own, output streamed as it comes;
//! what it leaves running is stopped when it ends.

use super::{leftovers, Io};
use serde::{Deserialize, Serialize};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// How long a command gets between SIGTERM and SIGKILL once it must stop.
const GRACE: Duration = Duration::from_millis(300);
/// How long output is still read once the shell exited; see [`Shell::run`].
const DRAIN: Duration = Duration::from_millis(200);
/// How much of each stream is shown and kept. Past it the command keeps running and its output
/// is read and dropped, so that a runaway command cannot exhaust the kernel's memory.
const KEEP_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

#[derive(Debug, Clone, Default)]
pub struct CommandSpec {
    pub command: String,
    pub timeout: Option<Duration>,
    /// The working directory; the kernel's when `None`.
    pub cwd: Option<std::path::PathBuf>,
    /// Variables added to the kernel's environment.
    pub env: Vec<(String, String)>,
    /// Whether what the command leaves running stays running (`run --leave-running`).
    pub leave_running: bool,
}

/// Its serde form is how the journal writes an exit: `{"code": 0}`, `{"signal": 9}`, `"not_run"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exit {
    Code(i32),
    Signal(i32),
    /// A dry run: the command was shown, not started.
    NotRun,
}

#[derive(Debug, Clone)]
pub struct CommandResult {
    pub command: String,
    pub exit: Exit,
    pub duration: Duration,
    pub stdout: String,
    pub stderr: String,
    /// Whether output beyond what the result keeps was dropped from it.
    pub truncated: bool,
    pub leftovers: Leftovers,
}

/// The processes a command left running once it ended: background jobs, double forks, `setsid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leftovers {
    /// Stopped when it ended: the rule.
    Stopped(usize),
    /// Left running, as `run --leave-running` asked.
    LeftRunning(usize),
}

impl Default for Leftovers {
    fn default() -> Self {
        Leftovers::Stopped(0)
    }
}

impl CommandResult {
    pub fn succeeded(&self) -> bool {
        self.exit == Exit::Code(0)
    }
}

/// Why a command has no result. The engine words a timeout and an interrupt with the command.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    /// The command could not be started (no `sh`, no process left...).
    #[error("{0}")]
    Spawn(String),
    /// `stopped`: how many processes it left running were stopped with it.
    #[error("the command did not finish within {after:?}; it was stopped")]
    TimedOut { after: Duration, stopped: usize },
    #[error("the command was interrupted after {after:?}; it was stopped")]
    Interrupted { after: Duration, stopped: usize },
    #[error(transparent)]
    NotRecorded(super::NotRecorded),
}

/// Runs commands. Recording, replay and dry-run wrap this trait; the engine sees only it.
#[async_trait::async_trait(?Send)]
pub trait CommandRunner {
    /// Runs `spec`, handing each piece of output to `output` as it arrives, until the command
    /// ends, times out or `interrupt` is cancelled. On timeout and interrupt the whole process
    /// group is stopped before this returns; what the command left running is stopped when it
    /// ends in any way, unless `spec.leave_running`.
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError>;
}

/// The real thing: `sh -c COMMAND`.
pub struct Shell;

/// A dry run: says what would run, starts nothing.
pub struct DryRun;

#[async_trait::async_trait(?Send)]
impl CommandRunner for DryRun {
    async fn run(&self, spec: &CommandSpec, _io: Io<'_>) -> Result<CommandResult, CommandError> {
        Ok(CommandResult {
            command: spec.command.clone(),
            exit: Exit::NotRun,
            duration: Duration::ZERO,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            leftovers: Leftovers::default(),
        })
    }
}

#[async_trait::async_trait(?Send)]
impl CommandRunner for Shell {
    async fn run(&self, spec: &CommandSpec, io: Io<'_>) -> Result<CommandResult, CommandError> {
        let Io { output, interrupt } = io;
        let started = Instant::now();
        let mut command = tokio::process::Command::new("sh");
        command
            .arg("-c")
            .arg(&spec.command)
            .envs(spec.env.iter().cloned());
        if let Some(dir) = &spec.cwd {
            command.current_dir(dir);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| match &spec.cwd {
                Some(dir) if !dir.is_dir() => CommandError::Spawn(format!(
                    "the working directory {} does not exist",
                    dir.display()
                )),
                _ => CommandError::Spawn(format!("cannot start `sh -c`: {e}")),
            })?;
        let group = child.id().map(|id| id as libc::pid_t);
        // While it runs, what runs under the shell is the command's, not a leftover (another
        // command may end meanwhile: tests run several at once).
        let mut running = child.id().map(leftovers::Kept::new);
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let mut out = Collected::new(Stream::Stdout);
        let mut err = Collected::new(Stream::Stderr);
        let (mut out_buf, mut err_buf) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
        let (mut out_open, mut err_open) = (true, true);
        let deadline = spec.timeout.map(|t| tokio::time::Instant::now() + t);
        let timed_out = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(timed_out);
        // Once the shell exited, the output is read until the pipes close, for at most DRAIN:
        // what the command left running may hold them open.
        let drained = tokio::time::sleep(Duration::MAX);
        tokio::pin!(drained);
        let mut ended = None;
        while ended.is_none() || out_open || err_open {
            tokio::select! {
                read = stdout.read(&mut out_buf), if out_open => match read {
                    Ok(0) | Err(_) => out_open = false,
                    Ok(n) => out.push(&out_buf[..n], output),
                },
                read = stderr.read(&mut err_buf), if err_open => match read {
                    Ok(0) | Err(_) => err_open = false,
                    Ok(n) => err.push(&err_buf[..n], output),
                },
                exited = child.wait(), if ended.is_none() => {
                    let status = exited.map_err(|e| CommandError::Spawn(e.to_string()))?;
                    let duration = super::elapsed_ms(started);
                    running.take();
                    let left = if spec.leave_running {
                        Leftovers::LeftRunning(leftovers::leave_running())
                    } else {
                        Leftovers::Stopped(leftovers::stop().await)
                    };
                    ended = Some((status, duration, left));
                    drained.as_mut().reset(tokio::time::Instant::now() + DRAIN);
                }
                _ = &mut drained, if ended.is_some() => break,
                _ = interrupt.cancelled(), if ended.is_none() => {
                    stop_group(group, &mut child).await;
                    running.take();
                    let stopped = leftovers::stop().await;
                    return Err(CommandError::Interrupted { after: super::elapsed_ms(started), stopped });
                }
                _ = &mut timed_out, if ended.is_none() => {
                    stop_group(group, &mut child).await;
                    running.take();
                    let stopped = leftovers::stop().await;
                    return Err(CommandError::TimedOut { after: super::elapsed_ms(started), stopped });
                }
            }
        }
        out.finish(output);
        err.finish(output);
        // Kept output grew by doubling: 10 MiB may hold 16 until the result is dropped.
        out.kept.shrink_to_fit();
        err.kept.shrink_to_fit();
        let (status, duration, leftovers) = ended.expect("the loop ends once the command exited");
        use std::os::unix::process::ExitStatusExt;
        let exit = match (status.code(), status.signal()) {
            (Some(code), _) => Exit::Code(code),
            (None, Some(signal)) => Exit::Signal(signal),
            (None, None) => Exit::Code(-1),
        };
        Ok(CommandResult {
            command: spec.command.clone(),
            exit,
            duration,
            truncated: out.truncated || err.truncated,
            stdout: out.kept,
            stderr: err.kept,
            leftovers,
        })
    }
}

/// SIGTERM to the whole group, then SIGKILL to what is left after a grace period.
async fn stop_group(group: Option<libc::pid_t>, child: &mut tokio::process::Child) {
    let Some(group) = group else { return };
    // SAFETY: killpg only sends a signal; the group is the one this command was started in.
    unsafe { libc::killpg(group, libc::SIGTERM) };
    let _ = tokio::time::timeout(GRACE, child.wait()).await;
    // Children of the command may outlive the shell; the group is stopped whole in any case.
    unsafe { libc::killpg(group, libc::SIGKILL) };
    let _ = child.wait().await;
}

/// Shown once where a stream's output is cut.
pub const TRUNCATION_MARKER: &str =
    "\n[playbook: output truncated here at 10 MiB; the command ran on and the rest was dropped]\n";

/// One stream's output: decoded as UTF-8 across read boundaries (invalid bytes shown as U+FFFD,
/// never an error), handed on, and kept up to [`KEEP_BYTES`]. Rust cells' output is kept so too.
pub(crate) struct Collected {
    stream: Stream,
    partial: Vec<u8>,
    pub kept: String,
    truncated: bool,
}

impl Collected {
    pub fn new(stream: Stream) -> Self {
        Collected {
            stream,
            partial: Vec::new(),
            kept: String::new(),
            truncated: false,
        }
    }

    fn push(&mut self, bytes: &[u8], output: &dyn Fn(Stream, String)) {
        self.partial.extend_from_slice(bytes);
        // A multi-byte character cut by the read waits for its remaining bytes.
        let complete = self.partial.len() - super::unfinished_utf8_tail(&self.partial);
        let rest = self.partial.split_off(complete);
        let text = String::from_utf8_lossy(&self.partial).into_owned();
        self.partial = rest;
        self.emit(text, output);
    }

    fn finish(&mut self, output: &dyn Fn(Stream, String)) {
        if !self.partial.is_empty() {
            let text = String::from_utf8_lossy(&self.partial).into_owned();
            self.partial.clear();
            self.emit(text, output);
        }
    }

    /// Hands on and keeps text already decoded; past [`KEEP_BYTES`], drops it after a marker.
    pub fn emit(&mut self, text: String, output: &dyn Fn(Stream, String)) {
        if text.is_empty() || self.truncated {
            return;
        }
        let room = KEEP_BYTES.saturating_sub(self.kept.len());
        if text.len() <= room {
            self.kept.push_str(&text);
            output(self.stream, text);
        } else {
            let cut = (0..=room)
                .rev()
                .find(|&i| text.is_char_boundary(i))
                .unwrap_or(0);
            self.kept.push_str(&text[..cut]);
            self.truncated = true;
            output(self.stream, text[..cut].to_owned());
            output(self.stream, TRUNCATION_MARKER.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tokio_util::sync::CancellationToken;

    async fn run(
        command: &str,
        timeout: Option<Duration>,
    ) -> (Result<CommandResult, CommandError>, String) {
        let seen = RefCell::new(String::new());
        let spec = CommandSpec {
            command: command.into(),
            timeout,
            ..CommandSpec::default()
        };
        let output = |_, text: String| seen.borrow_mut().push_str(&text);
        let interrupt = CancellationToken::new();
        let io = Io {
            output: &output,
            interrupt: &interrupt,
        };
        let result = Shell.run(&spec, io).await;
        (result, seen.into_inner())
    }

    #[tokio::test]
    async fn exit_codes_and_output() {
        let (result, seen) = run("echo out; echo err >&2; exit 3", None).await;
        let result = result.unwrap();
        assert_eq!(result.exit, Exit::Code(3));
        assert_eq!(result.stdout, "out\n");
        assert_eq!(result.stderr, "err\n");
        assert!(seen.contains("out\n") && seen.contains("err\n"));
    }

    #[tokio::test]
    async fn output_past_the_cap_is_dropped_after_a_marker() {
        let (result, seen) = run("head -c 11000000 /dev/zero | tr '\\0' x", None).await;
        let result = result.unwrap();
        assert!(result.truncated);
        assert_eq!(result.stdout.len(), KEEP_BYTES);
        assert_eq!(seen.len(), KEEP_BYTES + TRUNCATION_MARKER.len());
        assert!(seen.ends_with(TRUNCATION_MARKER));
    }

    #[tokio::test]
    async fn invalid_utf8_is_shown_lossily() {
        let (result, _) = run(r"printf '\377 ok \342\202\254\n'", None).await;
        assert_eq!(result.unwrap().stdout, "\u{fffd} ok €\n");
    }

    #[tokio::test]
    async fn timeout_stops_the_group() {
        let (result, _) = run("sleep 5", Some(Duration::from_millis(100))).await;
        match result {
            Err(CommandError::TimedOut { after, .. }) => assert!(after < Duration::from_secs(2)),
            other => panic!("expected a timeout, got {other:?}"),
        }
    }

    #[test]
    fn split_characters_wait_for_their_bytes() {
        let seen = RefCell::new(Vec::new());
        let mut c = Collected::new(Stream::Stdout);
        let euro = "€".as_bytes();
        c.push(&euro[..1], &|_, t| seen.borrow_mut().push(t));
        c.push(&euro[1..], &|_, t| seen.borrow_mut().push(t));
        assert_eq!(seen.into_inner(), vec!["€".to_string()]);
    }

    #[test]
    fn a_split_character_after_an_invalid_byte_survives() {
        let seen = RefCell::new(String::new());
        let mut c = Collected::new(Stream::Stdout);
        c.push(b"\xff \xe2\x82", &|_, t| seen.borrow_mut().push_str(&t));
        c.push(b"\xac euro", &|_, t| seen.borrow_mut().push_str(&t));
        assert_eq!(seen.into_inner(), "\u{fffd} € euro");
    }
}
