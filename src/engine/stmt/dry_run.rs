//! `dry-run on` and `dry-run off`: while on, commands are shown, not started.

use crate::engine::context::Context;
use crate::engine::error::CellError;
use crate::engine::syntax::Tokens;
use crate::render::Bundle;

pub fn parse(tokens: &mut Tokens) -> Result<bool, CellError> {
    let (word, span) = tokens.word("`on` or `off`")?;
    let on = match word.as_str() {
        "on" => true,
        "off" => false,
        _ => return Err(CellError::parse("expected `on` or `off`", span)),
    };
    tokens.finish()?;
    Ok(on)
}

pub fn apply(on: bool, cx: &mut Context<'_>) {
    cx.ops.set_dry_run(on);
    let line = if on {
        "dry run on: commands are shown, not started"
    } else {
        "dry run off: commands run"
    };
    cx.out.display(Bundle::plain(line), None);
}
