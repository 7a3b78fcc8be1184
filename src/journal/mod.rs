//! The investigation journal: one JSON line per step, appended and flushed as each step ends,
//! chained by hashes so that an edit shows; and replay, which answers steps from a journal.
//!
//! A line: `{"v":1,"seq":N,"at":RFC3339,"step":KIND,"key":SHA256,"input":{...},"result":{...},
//! "ms":N,"prev":SHA256}`. `key` is the SHA-256 of the canonical input (its JSON with sorted keys);
//! `prev` the SHA-256 of the previous line as written (all zeros for the first).
//!
//! Layout: [`record`] writes, [`recorded`] wraps the ops so that each op call becomes a line,
//! [`replay`] answers op calls from a journal, [`read`] loads and verifies one.

pub mod codec;
pub mod read;
pub mod record;
pub mod recorded;
pub mod replay;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

pub const VERSION: u32 = 1;
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One step as the journal holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub v: u32,
    pub seq: u64,
    pub at: String,
    pub step: String,
    pub key: String,
    pub input: Value,
    pub result: Value,
    pub ms: u64,
    pub prev: String,
}

/// Why a journal cannot be written, read or replayed.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot create the journal folder {}: {source}", .dir.display())]
    CreateFolder {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the journal {}: {source}", .path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the journal {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the journal {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Refused for replay: a replay must show what was seen.
    #[error("{} was changed after it was recorded ({first_break}); `playbook report` shows every break", .path.display())]
    Changed { path: PathBuf, first_break: String },
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The key of an input: the SHA-256 of its canonical JSON.
pub fn key_of(input: &Value) -> String {
    sha256_hex(canonical(input).as_bytes())
}

/// Compact JSON with every object's keys sorted, whatever order the map keeps them in.
fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&map[k])))
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}
