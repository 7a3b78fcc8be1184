//! The investigation journal: one JSON line per step, appended and flushed as each step ends,
//! chained by hashes so that an edit shows; and replay, which answers steps from a journal.
//!
//! A line: `{"v":1,"seq":N,"at":RFC3339,"step":KIND,"key":SHA256,"input":{...},"result":{...},
//! "ms":N,"prev":SHA256,"signer":PUBLIC_KEY,"sig":SIGNATURE}`. `key` is the SHA-256 of the
//! canonical input (its JSON with sorted keys); `prev` the SHA-256 of the previous line as written
//! (all zeros for the first); `sig` the Ed25519 signature, by `signer`, of the line's hash: the
//! SHA-256 of the line as written without `sig`. Each session ends with a line of step `end`,
//! whose input counts the session's records and names the last one's hash, so that lines cut off
//! the end show. Journals written before signing have neither `signer` nor `sig` nor `end`.
//!
//! Layout: [`entry`] is what a line holds, as types; [`codec`] turns op calls into entries and
//! back; [`record`] writes and signs, with the user's [`key`]; [`recorded`] wraps the ops so that
//! each op call becomes a line, [`replay`] answers op calls from a journal, [`read`] loads one and
//! finds breaks in its chain, and [`verdict`] says what its signatures prove.

pub mod codec;
pub mod entry;
pub mod key;
pub mod read;
pub mod record;
pub mod recorded;
pub mod replay;
pub mod verdict;

use entry::Entry;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

pub const VERSION: u32 = 1;
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// `value` with every string masked: secrets are masked in a line before its key is computed,
/// on recording and on replay alike, so that keys never depend on them.
pub fn mask_json(mask: &dyn Fn(String) -> String, value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(mask(s)),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| mask_json(mask, v)).collect())
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, mask_json(mask, v)))
                .collect(),
        ),
        other => other,
    }
}

/// One line of a journal as read: where it stands in the journal, and its step.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub seq: u64,
    /// When the step ended, RFC 3339 in UTC.
    pub at: String,
    pub key: String,
    pub entry: Entry,
    /// How long the step took.
    pub ms: u64,
}

/// A line as the file holds it, its fields in this order. Input and result stay JSON here: the
/// chain and the keys are verified on the bytes and the JSON as written, not on what this kernel
/// makes of them.
#[derive(Serialize, Deserialize)]
struct Line {
    v: u32,
    seq: u64,
    at: String,
    step: String,
    key: String,
    input: Value,
    result: Value,
    ms: u64,
    /// The kernel subshell whose cell ran the step, when not the main shell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    subshell: Option<String>,
    prev: String,
    /// The signing key's public half, as hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    signer: Option<String>,
    /// The Ed25519 signature of the SHA-256 of the line as written before it, as hex: always
    /// the last field (see [`sign`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sig: Option<String>,
}

/// The step of the line that ends a session.
const END: &str = "end";

/// The input of a session's `end` line.
#[derive(Serialize, Deserialize)]
struct EndInput {
    /// How many records the session wrote before this line.
    records: u64,
    /// The hash of the last of them as written (its `prev`, when nothing was cut).
    last: String,
}

/// Appends the signature to a line as its last field, so that what the signature signs is
/// the line's own text before it: a reader hashes the bytes as written, with no need to write
/// the line again the way this kernel would.
fn sign(unsigned: &mut String, sig: &str) {
    if unsigned.ends_with('}') {
        unsigned.pop();
    }
    unsigned.push_str(&format!(",\"sig\":\"{sig}\"}}"));
}

/// What the signature of a line as written signs: the SHA-256 of its text without the `sig`
/// field; `None` when `sig` is not the last field, where [`sign`] puts it.
fn signed_hash(line: &str, sig: &str) -> Option<[u8; 32]> {
    let fields = line.strip_suffix(&format!(",\"sig\":\"{sig}\"}}"))?;
    Some(Sha256::digest(format!("{fields}}}")).into())
}

impl Line {
    fn into_record(self) -> Record {
        Record {
            seq: self.seq,
            at: self.at,
            key: self.key,
            entry: Entry::decode(self.step, self.input, self.result),
            ms: self.ms,
        }
    }
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
    #[error("cannot sign the journal: {0}")]
    Key(#[from] key::KeyError),
    #[error("cannot move the torn last line of {} aside: {source}", .path.display())]
    MoveAside {
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

#[cfg(test)]
mod tests;
