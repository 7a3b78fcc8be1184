//! The key that signs journals, and the keys a verifier trusts.
//!
//! A journal's hash chain alone proves nothing: anyone who edits a line can recompute every hash
//! after it. What proves a journal intact is a signature made with a secret key that is not in the
//! journal, checked against a public key the verifier trusts for reasons of its own. So the
//! signing key is the user's (created on first use in the user's configuration folder, readable
//! by the user alone) or given by CI (`PLAYBOOK_JOURNAL_KEY`, `PLAYBOOK_JOURNAL_KEY_FILE`); keys
//! are written as hex: 64 digits for a secret key (its 32-byte seed) and for a public key.

use crate::ops::regular_file::{self, Cap};
use ed25519_dalek::{SigningKey, VerifyingKey};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The secret key itself, as hex.
pub const KEY_VAR: &str = "PLAYBOOK_JOURNAL_KEY";
/// A file holding the secret key, as hex.
pub const KEY_FILE_VAR: &str = "PLAYBOOK_JOURNAL_KEY_FILE";
const KEY_FILE: &str = "journal-key";
const PUBLIC_FILE: &str = "journal-key.pub";
/// A key is 64 hex digits and a newline; a file much larger than that is not a key.
const KEY_FILE_CAP: Cap = Cap::fixed(4096);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{what} is not a key: expected 64 hexadecimal digits")]
    Malformed { what: String },
    #[error("cannot read the key {}: {source}", .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot create the journal key {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no configuration folder to keep the journal key in: set {KEY_VAR} or {KEY_FILE_VAR}")]
    NoHome,
    #[error("cannot draw a new journal key from the system's random source: {0}")]
    Random(getrandom::Error),
}

/// A key's short name, as journals and verdicts show it: the first 16 hex digits of the SHA-256
/// of the public key.
pub fn key_id(key: &VerifyingKey) -> String {
    super::sha256_hex(key.as_bytes())[..16].to_owned()
}

/// The user's signing key: from the environment, else from the configuration folder, where a new
/// one is made on first use.
pub fn own() -> Result<SigningKey, KeyError> {
    if let Some(key) = from_environment()? {
        return Ok(key);
    }
    let dir = config_dir()?;
    match stored(&dir)? {
        Some(key) => Ok(key),
        None => create(&dir),
    }
}

/// The public half of the user's own key, if the user has one; none is made here.
pub fn own_public() -> Result<Option<VerifyingKey>, KeyError> {
    if let Some(key) = from_environment()? {
        return Ok(Some(key.verifying_key()));
    }
    let Ok(dir) = config_dir() else {
        return Ok(None);
    };
    Ok(stored(&dir)?.map(|key| key.verifying_key()))
}

/// A public key from a file, as hex (what `journal-key.pub` holds).
pub fn read_public(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = key_text(path)?;
    let malformed = || KeyError::Malformed {
        what: path.display().to_string(),
    };
    VerifyingKey::from_bytes(&bytes32(&text).ok_or_else(malformed)?).map_err(|_| malformed())
}

/// A public key as a journal line names it (hex), if it is one.
pub fn parse_public(hex_text: &str) -> Option<VerifyingKey> {
    VerifyingKey::from_bytes(&bytes32(hex_text)?).ok()
}

fn from_environment() -> Result<Option<SigningKey>, KeyError> {
    if let Some(text) = std::env::var_os(KEY_VAR) {
        return secret(&text.to_string_lossy(), KEY_VAR).map(Some);
    }
    if let Some(path) = std::env::var_os(KEY_FILE_VAR) {
        let path = PathBuf::from(path);
        return secret(&key_text(&path)?, &path.display().to_string()).map(Some);
    }
    Ok(None)
}

/// The key kept in the configuration folder `dir`, if there is one.
fn stored(dir: &Path) -> Result<Option<SigningKey>, KeyError> {
    let path = dir.join(KEY_FILE);
    match key_text(&path) {
        Ok(text) => secret(&text, &path.display().to_string()).map(Some),
        Err(KeyError::Read { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// A key file's text: a regular file no larger than a key needs (a device or a FIFO named as a
/// key file is refused, not read without end).
fn key_text(path: &Path) -> Result<String, KeyError> {
    let bytes = regular_file::read(path, KEY_FILE_CAP).map_err(|source| KeyError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// `$XDG_CONFIG_HOME/playbook`, else `~/.config/playbook`.
fn config_dir() -> Result<PathBuf, KeyError> {
    dirs::config_dir()
        .map(|d| d.join("playbook"))
        .ok_or(KeyError::NoHome)
}

fn secret(text: &str, what: &str) -> Result<SigningKey, KeyError> {
    bytes32(text)
        .map(|seed| SigningKey::from_bytes(&seed))
        .ok_or_else(|| KeyError::Malformed {
            what: what.to_owned(),
        })
}

fn bytes32(text: &str) -> Option<[u8; 32]> {
    hex::decode(text.trim()).ok()?.try_into().ok()
}

/// Makes a new key pair in `dir`: the secret key readable by the user alone, and its public half
/// beside it to hand to reviewers. The key file appears whole or not at all (written aside, then
/// linked), so that two kernels starting at once end up with the same key.
fn create(dir: &Path) -> Result<SigningKey, KeyError> {
    let path = dir.join(KEY_FILE);
    let failed = |source| KeyError::Create {
        path: path.clone(),
        source,
    };
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(KeyError::Random)?;
    let key = SigningKey::from_bytes(&seed);
    std::fs::create_dir_all(dir).map_err(failed)?;
    let aside = dir.join(format!(".{KEY_FILE}-{}", uuid::Uuid::new_v4().simple()));
    let written =
        write_private(&aside, &hex::encode(seed)).and_then(|()| {
            match std::fs::hard_link(&aside, &path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                other => other,
            }
        });
    let _ = std::fs::remove_file(&aside);
    written.map_err(failed)?;
    // Another kernel may have linked its key first: the file decides.
    let key = stored(dir)?.unwrap_or(key);
    let public = hex::encode(key.verifying_key().as_bytes());
    std::fs::write(dir.join(PUBLIC_FILE), format!("{public}\n")).map_err(failed)?;
    Ok(key)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(format!("{text}\n").as_bytes())?;
    file.sync_all()
}
