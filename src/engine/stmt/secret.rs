//! `secret NAME from env:VAR` and `secret NAME from file:PATH`
//!
//! The value is read once, masked in every output from then on, and may be passed into a
//! statement with `{{NAME}}`.

use crate::engine::context::Context;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{is_name, Tokens};
use crate::journal::entry::Entry;
use crate::model::{Value, MASK};
use crate::ops::secret::{self, is_reference};
use crate::render::Bundle;

#[derive(Debug, Clone)]
pub struct Secret {
    pub name: String,
    pub reference: String,
}

pub fn parse(tokens: &mut Tokens) -> Result<Secret, CellError> {
    let (name, span) = tokens.word("the secret's name")?;
    if !is_name(&name) {
        return Err(CellError::parse(format!("`{name}` is not a name"), span));
    }
    let (from, span) = tokens.word("`from`")?;
    if from != "from" {
        return Err(CellError::parse(
            "expected `from env:VAR` or `from file:PATH`",
            span,
        ));
    }
    let words = tokens.raw_words();
    match words.as_slice() {
        [(reference, _)] if is_reference(reference) => Ok(Secret {
            name,
            reference: reference.clone(),
        }),
        [(other, span)] => Err(CellError::parse(
            format!("`{other}`: a secret comes from env:VAR or file:PATH, never written in the notebook"),
            *span,
        )),
        [] => Err(tokens.missing("env:VAR or file:PATH")),
        [_, (_, span), ..] => Err(CellError::parse(
            "unexpected text after the end of the statement",
            *span,
        )),
    }
}

/// Reads a secret from `env:VAR` or `file:PATH`; the error is placed at `span`.
pub fn read(reference: &str, span: Span) -> Result<String, CellError> {
    secret::read(reference)
        .map_err(|e| CellError::new(ErrorKind::SecretUnavailable, e.to_string(), span))
}

/// Masks `value` from now on in this session; one too short to mask is refused at `span`.
pub fn keep(value: &str, span: Span, cx: &Context<'_>) -> Result<(), CellError> {
    cx.state
        .secrets
        .add(value)
        .map_err(|e| CellError::new(ErrorKind::ValueError, e.to_string(), span))
}

impl Secret {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
        // On replay nothing is read: every input holding the secret was recorded masked, so
        // the mask itself stands in for the value.
        let value = match cx.ops.reads_secrets() {
            true => read(&self.reference, span)?,
            false => MASK.to_owned(),
        };
        keep(&value, span, cx)?;
        cx.ops
            .note(Entry::secret(&self.name, &self.reference))
            .await;
        cx.state.bind(
            &self.name,
            Value::Secret {
                value,
                reference: self.reference.clone(),
            },
        );
        cx.out.display(
            Bundle::plain(format!(
                "secret {} from {}: masked in every output from now on",
                self.name, self.reference
            )),
            None,
        );
        Ok(())
    }
}
