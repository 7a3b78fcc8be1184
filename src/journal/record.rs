//! Writing the journal: each step becomes one line, written and flushed before the next begins,
//! so that a crash loses at most the step that was running.

use super::entry::Entry;
use super::{key_of, mask_json, sha256_hex, JournalError, Line, GENESIS, VERSION};
use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Masks secret values in a line before it is written.
pub type Mask = Box<dyn Fn(&str) -> String>;

pub struct Journal {
    path: PathBuf,
    file: File,
    seq: u64,
    prev: String,
    mask: Mask,
}

/// The journal as the recording wrappers and the engine share it.
pub type SharedJournal = Rc<RefCell<Journal>>;

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

    /// Opens `path` for appending; an existing journal is continued, its chain unbroken.
    pub fn open(path: &Path, mask: Mask) -> Result<Journal, JournalError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| JournalError::CreateFolder {
                dir: dir.to_owned(),
                source,
            })?;
        }
        let (seq, prev) = match std::fs::read(path) {
            Ok(existing) => last_link(&existing),
            Err(_) => (0, GENESIS.to_owned()),
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| JournalError::Open {
                path: path.to_owned(),
                source,
            })?;
        Ok(Journal {
            path: path.to_owned(),
            file,
            seq,
            prev,
            mask,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one step and flushes it to the file.
    pub fn append(&mut self, entry: &Entry, ms: u64) -> Result<(), JournalError> {
        let (input, result) = entry.to_json();
        // Secrets are masked before the key is computed, so that the key never depends on them.
        let input = mask_json(&self.mask, input);
        let result = mask_json(&self.mask, result);
        self.seq += 1;
        let record = Line {
            v: VERSION,
            seq: self.seq,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            step: entry.step().to_owned(),
            key: key_of(&input),
            input,
            result,
            ms,
            prev: self.prev.clone(),
        };
        let line = serde_json::to_string(&record).expect("records serialize");
        self.prev = sha256_hex(line.as_bytes());
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|source| JournalError::Write {
                path: self.path.clone(),
                source,
            })
    }
}

/// The sequence number and hash of the last complete line of an existing journal.
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
