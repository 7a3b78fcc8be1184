//! Statements of the language that parse (so a playbook can be checked and written today) but
//! do not run yet: `replay`.

use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::Tokens;

#[derive(Debug, Clone)]
pub struct Planned {
    pub keyword: &'static str,
    pub span: Span,
}

impl Planned {
    pub fn not_supported(&self) -> CellError {
        CellError::new(
            ErrorKind::NotSupported,
            format!(
                "`{}` is not supported yet in this version of playbook: it arrives with the investigation journal",
                self.keyword
            ),
            self.span,
        )
    }
}

pub fn parse(keyword: &str, span: Span, tokens: &mut Tokens) -> Result<Planned, CellError> {
    let keyword = match keyword {
        "replay" => {
            tokens.word("the journal's path")?;
            tokens.finish()?;
            "replay"
        }
        other => unreachable!("`{other}` is dispatched in stmt::parse_statement"),
    };
    Ok(Planned { keyword, span })
}
