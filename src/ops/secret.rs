//! Reading a secret from where a playbook refers to it: `env:VAR` or `file:PATH`. Values are
//! never written in a notebook; the session masks each one it reads.

/// Why a secret could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SecretError {
    #[error("the environment variable {0} is not set")]
    NotSet(String),
    #[error("cannot read the secret file {path}: {why}")]
    Unreadable { path: String, why: String },
    #[error("`{0}` is not env:VAR or file:PATH")]
    NotAReference(String),
}

pub fn is_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

/// A secret is a token or a password: a file larger than this is not one.
const SECRET_FILE_CAP: u64 = 64 * 1024;

/// The value `reference` points at; a file's trailing newline is not part of it.
pub fn read(reference: &str) -> Result<String, SecretError> {
    if let Some(var) = reference.strip_prefix("env:") {
        std::env::var(var).map_err(|_| SecretError::NotSet(var.to_owned()))
    } else if let Some(path) = reference.strip_prefix("file:") {
        let unreadable = |why: String| SecretError::Unreadable {
            path: path.to_owned(),
            why,
        };
        let bytes = super::regular_file::read(std::path::Path::new(path), SECRET_FILE_CAP)
            .map_err(|e| unreadable(e.to_string()))?;
        let text =
            String::from_utf8(bytes).map_err(|_| unreadable("it is not UTF-8 text".into()))?;
        Ok(text.trim_end().to_owned())
    } else {
        Err(SecretError::NotAReference(reference.to_owned()))
    }
}
