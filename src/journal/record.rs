//! Writing the journal: each step becomes one signed line, written and synced to the disk before
//! the next begins, so that a crash loses at most the step that was running; a session ends with
//! its `end` line when the journal is dropped. A session's lines are built, masked, signed and
//! synced on a thread of their own ([`SharedJournal`]), so that a step with a large result never
//! holds up the thread that answers heartbeats and interrupts.

use super::entry::{json, Entry};
use super::{
    key_of, mask_json, sha256_hex, sign, EndInput, JournalError, Line, END, GENESIS, VERSION,
};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::mpsc;
use std::thread::JoinHandle;

tokio::task_local! {
    /// The kernel subshell whose cell is running, for the lines its steps write. Steps reach the
    /// journal through op wrappers that know nothing of cells, and the cells of several
    /// subshells run at once: each cell's future carries its own.
    pub static SUBSHELL: Option<Rc<str>>;
}

/// Masks secret values in a line before it is written.
pub type Mask = Box<dyn Fn(String) -> String + Send>;

pub struct Journal {
    path: PathBuf,
    file: File,
    seq: u64,
    prev: String,
    mask: Mask,
    key: SigningKey,
    /// The signer as each line names it: the public key, as hex.
    signer: String,
    /// Lines this session has written, for its `end` line.
    written: u64,
}

/// The journal as the recording wrappers and the engine share it: a handle to the thread that
/// writes it. Lines are written in the order they are given.
#[derive(Clone)]
pub struct SharedJournal(Rc<Writer>);

struct Writer {
    path: PathBuf,
    /// `None` once dropped, which tells the thread to write the `end` line.
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// Whether a line was queued that nobody has waited for since: a cell with no step to
    /// record must not pay a wake-up of the journal's thread.
    unsettled: Cell<bool>,
}

/// A line's entry, built on the journal's thread: turning a large result into its journal form
/// takes long enough to matter.
type Build = Box<dyn FnOnce() -> Entry + Send>;

struct Job {
    /// `None` only asks to be told when every line before it is on disk.
    entry: Option<Queued>,
    done: Option<tokio::sync::oneshot::Sender<()>>,
}

/// A line to write: its entry, how long its step took, and the subshell it came from.
struct Queued {
    build: Build,
    ms: u64,
    subshell: Option<String>,
}

impl SharedJournal {
    pub fn start(mut journal: Journal) -> SharedJournal {
        let (jobs, queue) = mpsc::channel::<Job>();
        let path = journal.path.clone();
        let thread = std::thread::Builder::new()
            .name("journal".into())
            .spawn(move || {
                for job in queue {
                    if let Some(Queued {
                        build,
                        ms,
                        subshell,
                    }) = job.entry
                    {
                        // A journal that cannot be written must not stop the investigation: it
                        // is said, loudly.
                        if let Err(problem) = journal.append(build(), ms, subshell.as_deref()) {
                            log::error!("{problem}");
                        }
                    }
                    if let Some(done) = job.done {
                        let _ = done.send(());
                    }
                }
            })
            .expect("a thread for the journal starts");
        SharedJournal(Rc::new(Writer {
            path,
            jobs: Some(jobs),
            thread: Some(thread),
            unsettled: Cell::new(false),
        }))
    }

    pub fn path(&self) -> &Path {
        &self.0.path
    }

    /// Queues a step's line; the next [`SharedJournal::append`] or [`SharedJournal::settled`]
    /// waits for it too.
    pub fn append_later(&self, entry: Entry, ms: u64) {
        self.send(Some(Box::new(move || entry)), ms, None);
        self.0.unsettled.set(true);
    }

    /// Writes a step's line, and returns once it is on disk.
    pub async fn append(&self, entry: Entry, ms: u64) {
        self.append_built(move || entry, ms).await;
    }

    /// [`SharedJournal::append`] with an entry that `build` makes on the journal's thread.
    pub async fn append_built(&self, build: impl FnOnce() -> Entry + Send + 'static, ms: u64) {
        let (done, written) = tokio::sync::oneshot::channel();
        self.send(Some(Box::new(build)), ms, Some(done));
        self.0.unsettled.set(false);
        let _ = written.await;
    }

    /// Returns once every line given so far is on disk.
    pub async fn settled(&self) {
        if !self.0.unsettled.replace(false) {
            return;
        }
        let (done, written) = tokio::sync::oneshot::channel();
        self.send(None, 0, Some(done));
        let _ = written.await;
    }

    fn send(&self, build: Option<Build>, ms: u64, done: Option<tokio::sync::oneshot::Sender<()>>) {
        let subshell = SUBSHELL.try_with(|s| s.as_deref().map(str::to_owned));
        let entry = build.map(|build| Queued {
            build,
            ms,
            subshell: subshell.ok().flatten(),
        });
        if let Some(jobs) = &self.0.jobs {
            // The thread ends only when `jobs` is dropped, so a send cannot fail but for a panic
            // there, which has been reported already.
            let _ = jobs.send(Job { entry, done });
        }
    }
}

/// The session's `end` line is written as the thread ends, once every line before it is.
impl Drop for Writer {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Journal {
    /// Where a session's journal goes: `PLAYBOOK_JOURNAL`, else a new file in
    /// `DIR/.playbook/journal/` named by the time the session started.
    pub fn default_path(dir: &Path) -> PathBuf {
        if let Some(path) = std::env::var_os("PLAYBOOK_JOURNAL") {
            return PathBuf::from(path);
        }
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let id = &uuid::Uuid::new_v4().simple().to_string()[..8];
        dir.join(".playbook")
            .join("journal")
            .join(format!("{stamp}-{id}.jsonl"))
    }

    /// Opens `path` for appending, signing with `key`; an existing journal is continued, its
    /// chain unbroken, after its torn last line, if any, is moved aside.
    pub fn open(path: &Path, mask: Mask, key: SigningKey) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::CreateFolder {
                dir: dir.to_owned(),
                source,
            })?;
        }
        let opened = |source| JournalError::Open {
            path: path.to_owned(),
            source,
        };
        // Read first, as a regular file under the data cap like every file read whole: a device
        // is refused rather than read without end, and a FIFO before opening it for writing
        // would wait for a reader.
        let existing =
            match crate::ops::regular_file::read(path, crate::ops::regular_file::Cap::data()) {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => return Err(opened(e)),
            };
        // Only the user reads a journal: its outputs are masked, but they are still the
        // investigation's details.
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(opened)?;
        let whole = whole_lines(&existing);
        if whole < existing.len() {
            move_aside(path, &file, &existing[whole..], whole as u64)?;
        }
        let (seq, prev) = last_link(&existing[..whole]);
        let signer = hex::encode(key.verifying_key().as_bytes());
        Ok(Journal {
            path: path.to_owned(),
            file,
            seq,
            prev,
            mask,
            key,
            signer,
            written: 0,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one step and syncs it to the disk.
    pub fn append(
        &mut self,
        entry: Entry,
        ms: u64,
        subshell: Option<&str>,
    ) -> Result<(), JournalError> {
        let step = entry.step().to_owned();
        let (input, result) = entry.to_json();
        // A command's output may be 10 MiB: each copy of it is let go before the next is made.
        drop(entry);
        // Secrets are masked before the key is computed, so that the key never depends on them.
        let input = mask_json(&self.mask, input);
        let result = mask_json(&self.mask, result);
        self.write(&step, input, result, ms, subshell)?;
        self.written += 1;
        Ok(())
    }

    fn write(
        &mut self,
        step: &str,
        input: Value,
        result: Value,
        ms: u64,
        subshell: Option<&str>,
    ) -> Result<(), JournalError> {
        self.seq += 1;
        let record = Line {
            v: VERSION,
            seq: self.seq,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            step: step.to_owned(),
            key: key_of(&input),
            input,
            result,
            ms,
            subshell: subshell.map(str::to_owned),
            prev: self.prev.clone(),
            signer: Some(self.signer.clone()),
            sig: None,
        };
        let mut line = serde_json::to_string(&record).expect("records serialize");
        drop(record);
        let signature = self.key.sign(&Sha256::digest(&line));
        sign(&mut line, &hex::encode(signature.to_bytes()));
        self.prev = sha256_hex(line.as_bytes());
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|source| JournalError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// The session's `end` line, so that a reader can tell a journal cut short from a whole one.
impl Drop for Journal {
    fn drop(&mut self) {
        let end = EndInput {
            records: self.written,
            last: self.prev.clone(),
        };
        let empty = Value::Object(Default::default());
        if let Err(problem) = self.write(END, json(&end), empty, 0, None) {
            log::error!("{problem}");
        }
    }
}

/// How many leading bytes of a journal are whole lines: each ends with a newline and the last
/// is a record. What follows was torn by a crash in the middle of a write.
fn whole_lines(bytes: &[u8]) -> usize {
    let mut end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    // A line that ends but is no record: the newline came from a later, torn write.
    while end > 0 {
        let start = bytes[..end - 1]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line = &bytes[start..end - 1];
        if line.trim_ascii().is_empty() || serde_json::from_slice::<Line>(line).is_ok() {
            break;
        }
        end = start;
    }
    end
}

/// Moves a torn tail to `<journal>.torn-<n>` and cuts it off the journal, so that the next line
/// starts a line of its own and the chain continues from the last whole record.
fn move_aside(path: &Path, file: &File, torn: &[u8], whole: u64) -> Result<(), JournalError> {
    let failed = |source| JournalError::MoveAside {
        path: path.to_owned(),
        source,
    };
    let mut n = 1;
    let (aside, mut out) = loop {
        let aside = PathBuf::from(format!("{}.torn-{n}", path.display()));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&aside)
        {
            Ok(out) => break (aside, out),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
            Err(e) => return Err(failed(e)),
        }
    };
    out.write_all(torn)
        .and_then(|()| out.sync_all())
        .and_then(|()| file.set_len(whole))
        .and_then(|()| file.sync_all())
        .map_err(failed)?;
    log::warn!(
        "{}: its last line was torn (a crash while it was written); it was moved to {}",
        path.display(),
        aside.display()
    );
    Ok(())
}

/// The sequence number and hash of the last line of an existing journal's whole lines.
fn last_link(bytes: &[u8]) -> (u64, String) {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .rev()
        .filter(|l| !l.trim().is_empty())
        .find_map(|line| {
            let record: Line = serde_json::from_str(line).ok()?;
            Some((record.seq, sha256_hex(line.as_bytes())))
        })
        .unwrap_or((0, GENESIS.to_owned()))
}
