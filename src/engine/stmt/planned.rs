//! Statements of the language that parse (so a playbook can be checked and written today) but
//! do not run yet: `probe` and `replay`.

use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::Tokens;

#[derive(Debug, Clone)]
pub struct Planned {
    pub keyword: &'static str,
    pub span: Span,
}

impl Planned {
    pub fn not_supported(&self) -> CellError {
        let arrives_with = match self.keyword {
            "probe" => "synthetic probes",
            _ => "the investigation journal",
        };
        CellError::new(
            ErrorKind::NotSupported,
            format!(
                "`{}` is not supported yet in this version of playbook: it arrives with {arrives_with}",
                self.keyword
            ),
            self.span,
        )
    }
}

pub fn parse(keyword: &str, span: Span, tokens: &mut Tokens) -> Result<Planned, CellError> {
    let keyword = match keyword {
        "probe" => {
            probe(tokens)?;
            "probe"
        }
        "replay" => {
            tokens.word("the journal's path")?;
            tokens.finish()?;
            "replay"
        }
        other => unreachable!("`{other}` is dispatched in stmt::parse_statement"),
    };
    Ok(Planned { keyword, span })
}

fn probe(tokens: &mut Tokens) -> Result<(), CellError> {
    let words = tokens.raw_words();
    if words.is_empty() {
        return Err(tokens.missing("the URL to probe"));
    }
    let mut rest = words[1..].iter();
    while let Some((option, span)) = rest.next() {
        let value = rest.next();
        let ok = match option.as_str() {
            "expect" => {
                value.is_some_and(|(v, _)| v.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)))
            }
            "within" => value.is_some_and(|(v, _)| duration::parse(v).is_some()),
            _ => {
                return Err(CellError::parse(
                    "expected `expect STATUS` or `within D`",
                    *span,
                ))
            }
        };
        if !ok {
            let (message, at) = match value {
                Some((v, at)) if option == "expect" => {
                    (format!("`{v}` is not an HTTP status"), *at)
                }
                Some((v, at)) => (format!("`{v}` is not a duration; write e.g. 2s"), *at),
                None => return Err(tokens.missing(&format!("a value after `{option}`"))),
            };
            return Err(CellError::parse(message, at));
        }
    }
    Ok(())
}
