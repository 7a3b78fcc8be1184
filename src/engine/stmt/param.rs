//! `param NAME = VALUE`

use crate::engine::error::CellError;
use crate::engine::session::Investigation;
use crate::engine::syntax::{is_name, Token, Tokens};
use crate::model::Value;

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub default: Value,
}

/// A value written without quotes: a number when it reads as one, text otherwise.
pub fn value_of(text: String) -> Value {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Value::Number(n),
        _ => Value::Text(text),
    }
}

impl Param {
    /// Binds the parameter: to its override (`-p NAME=VALUE`) when the run has one, else to
    /// its default.
    pub fn apply(&self, session: &mut Investigation) {
        let value = match session.override_for(&self.name) {
            Some(text) => value_of(text),
            None => self.default.clone(),
        };
        session.bind(&self.name, value);
    }
}

pub fn parse(tokens: &mut Tokens) -> Result<Param, CellError> {
    let (name, span) = tokens.word("the parameter's name")?;
    if !is_name(&name) {
        return Err(CellError::parse(
            format!(
                "`{name}` is not a name: it starts with a letter or _, then letters, digits and _"
            ),
            span,
        ));
    }
    tokens.punct('=')?;
    let before = tokens.pos;
    let default = match tokens.token()? {
        Some((Token::Quoted(template), span)) => {
            let text = template.literal().ok_or_else(|| {
                CellError::parse("a parameter's default cannot refer to `{{...}}`", span)
            })?;
            tokens.finish()?;
            Value::Text(text)
        }
        Some(_) => {
            tokens.pos = before;
            let (start, end) = tokens.rest();
            let text: String = tokens.line.text[start..end].iter().collect();
            value_of(text)
        }
        None => return Err(tokens.missing("the parameter's default value")),
    };
    Ok(Param { name, default })
}
