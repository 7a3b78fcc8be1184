//! What a journal's integrity is, in one verdict: signed and intact against a key the reader
//! trusts, unsigned, broken at a line, truncated, or signed by a key the reader does not trust.
//!
//! A hash chain proves nothing alone (anyone who edits a line can recompute the rest), and
//! neither does the public key a journal carries (whoever forged the lines could sign them with a
//! key of their own and name it). Only a signature checked against a key the reader trusts for
//! reasons of its own does: the user's own key, or one given with `--public-key`.

use super::key::{self, KeyError};
use super::read::{Loaded, Seal};
use ed25519_dalek::{Signature, VerifyingKey};
use std::fmt;
use std::path::Path;

/// The public keys whose signatures a reader accepts.
#[derive(Debug, Default)]
pub struct Trust {
    keys: Vec<VerifyingKey>,
}

impl Trust {
    pub fn new(keys: Vec<VerifyingKey>) -> Trust {
        Trust { keys }
    }

    /// The user's own key, if there is one, and the public key in `public_key`, if given.
    pub fn of(public_key: Option<&Path>) -> Result<Trust, KeyError> {
        let mut keys: Vec<VerifyingKey> = key::own_public()?.into_iter().collect();
        if let Some(path) = public_key {
            keys.push(key::read_public(path)?);
        }
        Ok(Trust { keys })
    }
}

/// Exactly one of these is said of a journal.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every line is signed by a trusted key and every session ends with its `end` line.
    Intact {
        key_id: String,
    },
    /// No line is signed: nothing about the journal's integrity can be proven.
    Unsigned,
    Broken {
        line: usize,
        what: String,
    },
    /// Lines are missing from the end of the journal, or of a session.
    Truncated {
        why: String,
    },
    /// Signed consistently, but by a key the reader does not trust.
    UnknownKey {
        key_id: String,
    },
}

impl Verdict {
    /// `playbook report`'s exit status: 2 is taken by a journal that cannot be read at all.
    pub fn exit_code(&self) -> u8 {
        match self {
            Verdict::Intact { .. } => 0,
            Verdict::Broken { .. } => 1,
            Verdict::Truncated { .. } => 3,
            Verdict::Unsigned => 4,
            Verdict::UnknownKey { .. } => 5,
        }
    }

    /// The verdict's name in JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Intact { .. } => "intact",
            Verdict::Unsigned => "unsigned",
            Verdict::Broken { .. } => "broken",
            Verdict::Truncated { .. } => "truncated",
            Verdict::UnknownKey { .. } => "unknown_key",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Intact { key_id } => write!(
                f,
                "✓ signed and intact: every line is signed by key {key_id}, which you trust, and every session ends with its end record"
            ),
            Verdict::Unsigned => f.write_str(
                "unsigned: no line carries a signature, so its integrity cannot be proven (a hash chain alone can be recomputed by whoever edits it)",
            ),
            Verdict::Broken { line, what } => write!(f, "✗ broken at line {line}: {what}"),
            Verdict::Truncated { why } => write!(f, "✗ truncated: {why}"),
            Verdict::UnknownKey { key_id } => write!(
                f,
                "signed by an unknown key {key_id}: the signatures match the public key the journal itself carries, which proves nothing; give the signer's public key with --public-key to check it"
            ),
        }
    }
}

/// Judges a loaded journal against the keys `trust` holds.
pub fn judge(loaded: &Loaded, trust: &Trust) -> Verdict {
    // The first line where anything is wrong is named: a changed line breaks its own signature
    // before it breaks the next line's `prev`.
    let chain_break = loaded.breaks.first();
    let mut signers: Vec<VerifyingKey> = Vec::new();
    let mut any_unsigned = false;
    // The current session: its signer and how many records it has so far.
    let mut signer: Option<&str> = None;
    let mut records = 0u64;
    let mut miscounted = None;
    for link in &loaded.links {
        if let Some(first) = chain_break.filter(|b| b.line <= link.line) {
            return broken(first.line, &first.text);
        }
        match &link.seal {
            Some(seal) => {
                let key = match checked_signer(seal) {
                    Ok(key) => key,
                    Err(what) => return broken(link.line, what),
                };
                if let Some(before) = signer.filter(|s| *s != seal.signer) {
                    let id = |hex: &str| key::parse_public(hex).map(|k| key::key_id(&k));
                    return broken(
                        link.line,
                        &format!(
                            "it is signed by key {} while the lines before it in its session are signed by key {}",
                            key::key_id(&key),
                            id(before).unwrap_or_default()
                        ),
                    );
                }
                signer = Some(&seal.signer);
                if !signers.contains(&key) {
                    signers.push(key);
                }
            }
            None if !signers.is_empty() => {
                return broken(
                    link.line,
                    "it is not signed, though the lines before it are: it was added by someone without the key",
                );
            }
            None => any_unsigned = true,
        }
        match &link.end {
            Some((count, last)) => {
                if (*count != records || *last != link.prev) && miscounted.is_none() {
                    miscounted = Some(format!(
                        "the end record at line {} counts {count} records in its session, but {records} are there",
                        link.line
                    ));
                }
                signer = None;
                records = 0;
            }
            None => records += 1,
        }
    }
    if let Some(first) = chain_break {
        return broken(first.line, &first.text);
    }
    if any_unsigned {
        return Verdict::Unsigned;
    }
    if let Some(unknown) = signers.iter().find(|k| !trust.keys.contains(k)) {
        return Verdict::UnknownKey {
            key_id: key::key_id(unknown),
        };
    }
    match loaded.links.last() {
        None => Verdict::Truncated {
            why: "the journal holds no record, not even an end record".to_owned(),
        },
        Some(last) if last.end.is_none() => Verdict::Truncated {
            why: format!(
                "no end record after line {}: lines were cut off the end, or the session was killed before it ended",
                last.line
            ),
        },
        Some(_) => match miscounted {
            Some(why) => Verdict::Truncated { why },
            None => Verdict::Intact {
                key_id: signers.iter().map(key::key_id).collect::<Vec<_>>().join(", "),
            },
        },
    }
}

fn broken(line: usize, what: &str) -> Verdict {
    Verdict::Broken {
        line,
        what: what.to_owned(),
    }
}

/// The key that signed a line, if its signature is that key's over the line's content.
fn checked_signer(seal: &Seal) -> Result<VerifyingKey, &'static str> {
    let key = key::parse_public(&seal.signer).ok_or("its signer is not a public key")?;
    let signature = hex::decode(&seal.sig)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or("its signature is not an Ed25519 signature")?;
    key.verify_strict(&seal.hash, &signature).map_err(|_| {
        "its signature does not match its content: the line was changed after it was signed"
    })?;
    Ok(key)
}
