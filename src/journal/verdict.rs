//! What a journal's integrity is, in one verdict: signed and intact against a key the reader
//! trusts, unsigned, broken at a line, truncated, or signed by a key the reader does not trust.
//!
//! A hash chain proves nothing alone (anyone who edits a line can recompute the rest), and
//! neither does the public key a journal carries (whoever forged the lines could sign them with a
//! key of their own and name it). Only a signature checked against a key the reader trusts for
//! reasons of its own does: the user's own key, or one given with `--public-key`.

use super::key::{self, KeyError};
use super::read::{Link, Loaded, Seal};
use ed25519_dalek::{Signature, VerifyingKey};
use std::collections::BTreeSet;
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
    /// Whether a trusted key signed what was read, so that what it holds may be taken as done
    /// (resume): intact, or cut off by a kill with its signatures checked.
    pub fn vouched_for(&self) -> bool {
        matches!(self, Verdict::Intact { .. } | Verdict::Truncated { .. })
    }

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

    /// The lines of `loaded` where its chain breaks, and the line this verdict names: a record
    /// read from one of them may show what someone wrote in, not what was seen.
    pub fn broken_lines(&self, loaded: &Loaded) -> BTreeSet<usize> {
        let judged = match self {
            Verdict::Broken { line, .. } => Some(*line),
            _ => None,
        };
        loaded.breaks.iter().map(|b| b.line).chain(judged).collect()
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
    // Of everything wrong, the first line is named: a changed line breaks its own signature
    // before it breaks the next line's `prev`.
    let mut problems: Vec<(usize, String)> = Vec::new();
    if let Some(first) = loaded.breaks.first() {
        problems.push((first.line, first.text.clone()));
    }
    let mut signers: Vec<VerifyingKey> = Vec::new();
    let mut any_unsigned = false;
    let mut miscounted = None;
    let mut rest = loaded.links.as_slice();
    while !rest.is_empty() {
        // A session runs to its `end` line, or to the end of the journal.
        let length = rest
            .iter()
            .position(|l| l.end.is_some())
            .map_or(rest.len(), |i| i + 1);
        let (session, after) = rest.split_at(length);
        rest = after;
        match signer_of(session, !signers.is_empty(), !loaded.breaks.is_empty()) {
            Ok(Some(key)) if !signers.contains(&key) => signers.push(key),
            Ok(Some(_)) => {}
            Ok(None) => any_unsigned = true,
            Err(problem) => problems.push(problem),
        }
        if let Some(end) = session.last().filter(|l| l.end.is_some()) {
            let records = (session.len() - 1) as u64;
            let counted = end
                .end
                .as_ref()
                .is_some_and(|(count, last)| *count == records && *last == end.prev);
            if !counted && miscounted.is_none() {
                miscounted = Some(format!(
                    "the end record at line {} does not count the {records} records of its session",
                    end.line
                ));
            }
        }
    }
    if let Some((line, what)) = problems.into_iter().min_by_key(|(line, _)| *line) {
        return Verdict::Broken { line, what };
    }
    if any_unsigned {
        return Verdict::Unsigned;
    }
    if let Some(unknown) = signers.iter().find(|k| !trust.keys.contains(k)) {
        return Verdict::UnknownKey {
            key_id: key::key_id(unknown),
        };
    }
    match (loaded.links.last(), miscounted) {
        (None, _) => Verdict::Truncated {
            why: "the journal holds no record, not even an end record".to_owned(),
        },
        (Some(last), _) if last.end.is_none() => Verdict::Truncated {
            why: format!(
                "no end record after line {}: lines were cut off the end, or the session was killed before it ended",
                last.line
            ),
        },
        (Some(_), Some(why)) => Verdict::Truncated { why },
        (Some(_), None) => Verdict::Intact {
            key_id: signers.iter().map(key::key_id).collect::<Vec<_>>().join(", "),
        },
    }
}

/// The key that signed a session, `None` when none of its lines is signed, or the first line
/// where its signatures are wrong. `signed_before`: lines before this session are signed.
///
/// Only the session's last signature is checked while the chain is unbroken and that signature
/// holds: each line's hash covers the `prev` hash of the line before, so one good signature
/// vouches for every line before it, and replay stays fast. Otherwise (`chain_broken`) every
/// signature is checked, to name the first changed line.
fn signer_of(
    session: &[Link],
    signed_before: bool,
    chain_broken: bool,
) -> Result<Option<VerifyingKey>, (usize, String)> {
    let mut named: Option<&str> = None;
    let mut last_signed = None;
    for link in session {
        match &link.seal {
            Some(seal) => {
                if let Some(first) = named.filter(|n| *n != seal.signer) {
                    let id = |hex: &str| {
                        key::parse_public(hex).map_or_else(|| "?".to_owned(), |k| key::key_id(&k))
                    };
                    return Err((
                        link.line,
                        format!(
                            "it is signed by key {} while the lines before it in its session are signed by key {}",
                            id(&seal.signer),
                            id(first)
                        ),
                    ));
                }
                named = Some(&seal.signer);
                last_signed = Some((link, seal));
            }
            None if signed_before || named.is_some() => {
                return Err((
                    link.line,
                    "it is not signed, though the lines before it are: it was added by someone without the key"
                        .to_owned(),
                ));
            }
            None => {}
        }
    }
    let (Some(signer), Some((last, seal))) = (named, last_signed) else {
        return Ok(None);
    };
    let key = key::parse_public(signer)
        .ok_or_else(|| (last.line, "its signer is not a public key".to_owned()))?;
    if !chain_broken && signature_holds(&key, seal).is_ok() {
        return Ok(Some(key));
    }
    match session
        .iter()
        .find_map(|l| Some((l.line, signature_holds(&key, l.seal.as_ref()?).err()?)))
    {
        Some((line, what)) => Err((line, what.to_owned())),
        None => Ok(Some(key)),
    }
}

fn signature_holds(key: &VerifyingKey, seal: &Seal) -> Result<(), &'static str> {
    let signature = hex::decode(&seal.sig)
        .ok()
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or("its signature is not an Ed25519 signature")?;
    let hash = seal
        .hash
        .ok_or("its signature is not its last field, where it is written")?;
    key.verify_strict(&hash, &signature).map_err(|_| {
        "its signature does not match its content: the line was changed after it was signed"
    })
}
