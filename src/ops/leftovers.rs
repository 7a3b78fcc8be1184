//! What commands leave running: background jobs, double forks, `setsid` children. The kernel and
//! `playbook run` are child subreapers, so such processes are re-parented to them instead of to
//! init and stay their descendants; when a step ends, every descendant nobody keeps on purpose is
//! stopped, and the zombies re-parented here are reaped. A process that is not a subreaper has no
//! leftovers (they went to init), so there nothing is looked for: its children are its own.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long leftovers get between SIGTERM and SIGKILL.
const GRACE: Duration = Duration::from_millis(300);
/// How long SIGKILL is repeated before giving up on a process that does not die (one in
/// uninterruptible sleep, or one of another user that `sudo` started): stopping never hangs.
const GIVE_UP: Duration = Duration::from_secs(2);
const POLL: Duration = Duration::from_millis(10);

/// A process by pid and start time, as a pid alone may be reused once its process is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Identity {
    pid: libc::pid_t,
    start: u64,
}

/// Processes kept running on purpose, with whatever runs under them: a command still running,
/// the Rust cells' worker, what `run --leave-running` left.
static KEPT: Mutex<Vec<Identity>> = Mutex::new(Vec::new());
static SUBREAPER: AtomicBool = AtomicBool::new(false);

fn kept() -> std::sync::MutexGuard<'static, Vec<Identity>> {
    // The list stays consistent whatever panicked while holding it: entries are plain values.
    KEPT.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes this process the reaper of its orphaned descendants (Linux `PR_SET_CHILD_SUBREAPER`).
pub fn become_subreaper() -> std::io::Result<()> {
    // SAFETY: this prctl only sets a flag of the calling process.
    match unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } {
        0 => {
            SUBREAPER.store(true, Ordering::Relaxed);
            Ok(())
        }
        _ => Err(std::io::Error::last_os_error()),
    }
}

/// Keeps a process, and what runs under it, from being stopped as a leftover while it lives.
#[must_use = "the process is kept only while the guard lives"]
pub struct Kept(Option<Identity>);

impl Kept {
    pub fn new(pid: u32) -> Kept {
        let identity = stat(pid as libc::pid_t).map(|p| p.identity);
        if let Some(identity) = identity {
            kept().push(identity);
        }
        Kept(identity)
    }
}

impl Drop for Kept {
    fn drop(&mut self) {
        if let Some(identity) = self.0 {
            let mut kept = kept();
            if let Some(at) = kept.iter().position(|k| *k == identity) {
                kept.swap_remove(at);
            }
        }
    }
}

/// Stops every descendant still running that nobody keeps: SIGTERM, then SIGKILL after a grace
/// period. Returns how many were stopped.
pub async fn stop() -> usize {
    let started = Instant::now();
    let mut stopped = HashSet::new();
    loop {
        let running = leftovers();
        if running.is_empty() {
            break;
        }
        let waited = started.elapsed();
        if waited >= GIVE_UP {
            log::warn!(
                "{} leftover processes did not stop: {:?}",
                running.len(),
                running.iter().map(|p| p.pid).collect::<Vec<_>>()
            );
            break;
        }
        for process in running {
            // Newcomers (forked while stopping) get their own SIGTERM first.
            let signal = if stopped.insert(process) || waited < GRACE {
                libc::SIGTERM
            } else {
                libc::SIGKILL
            };
            // SAFETY: kill only sends a signal, to a descendant of this process.
            unsafe { libc::kill(process.pid, signal) };
        }
        tokio::time::sleep(POLL).await;
    }
    leftovers();
    stopped.len()
}

/// Keeps every descendant running now that nobody keeps yet: `run --leave-running`. Returns how
/// many were left running.
pub fn leave_running() -> usize {
    let running = leftovers();
    kept().extend(&running);
    running.len()
}

/// The running descendants of this process outside what is kept; the zombies among its own
/// children are reaped on the way.
fn leftovers() -> Vec<Identity> {
    if !SUBREAPER.load(Ordering::Relaxed) || !has_children() {
        return Vec::new();
    }
    let me = std::process::id() as libc::pid_t;
    let mut children: HashMap<libc::pid_t, Vec<Process>> = HashMap::new();
    for process in processes() {
        children.entry(process.parent).or_default().push(process);
    }
    let kept = kept().clone();
    let mut running = Vec::new();
    let mut parents = vec![me];
    while let Some(parent) = parents.pop() {
        for child in children.remove(&parent).unwrap_or_default() {
            if kept.contains(&child.identity) {
                continue;
            }
            if !child.zombie {
                running.push(child.identity);
                parents.push(child.identity.pid);
            } else if parent == me {
                // SAFETY: waitpid with WNOHANG on a child nobody keeps only collects its status.
                unsafe { libc::waitpid(child.identity.pid, std::ptr::null_mut(), libc::WNOHANG) };
            }
        }
    }
    running
}

/// Whether this process has a child, running or not yet reaped. What a command leaves running
/// is re-parented to this subreaper as a child of its own, so with no child there is no
/// descendant, and no reading of all of `/proc` (a few milliseconds on a busy host, after every
/// step and on replay, where nothing runs).
fn has_children() -> bool {
    // SAFETY: an all-zero siginfo_t is a valid value of this plain C struct.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let options = libc::WEXITED | libc::WNOHANG | libc::WNOWAIT | libc::__WALL;
    // SAFETY: with WNOWAIT and WNOHANG, waitid neither reaps nor blocks: it only says whether a
    // child exists (ECHILD when none does).
    let result = unsafe { libc::waitid(libc::P_ALL, 0, &mut info, options) };
    !(result == -1 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ECHILD))
}

struct Process {
    identity: Identity,
    parent: libc::pid_t,
    zombie: bool,
}

fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .filter_map(stat)
        .collect()
}

/// Reads `/proc/PID/stat`: `PID (COMM) STATE PPID ...`, the start time being field 22. COMM may
/// hold spaces and parentheses, so the fields are counted after its last `)`.
fn stat(pid: libc::pid_t) -> Option<Process> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = text[text.rfind(')')? + 1..].split_whitespace().collect();
    Some(Process {
        identity: Identity {
            pid,
            start: fields.get(19)?.parse().ok()?,
        },
        parent: fields.get(1)?.parse().ok()?,
        zombie: matches!(*fields.first()?, "Z" | "X"),
    })
}
