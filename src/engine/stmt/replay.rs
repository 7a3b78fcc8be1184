//! `replay JOURNAL`: from here on, the session's steps are answered from a recorded journal;
//! and `journal`: where this session's steps are recorded.

use crate::engine::context::Context;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::stack::Mode;
use crate::engine::syntax::Tokens;
use crate::journal::read;
use crate::journal::replay::Recording;
use crate::journal::verdict::Trust;
use crate::render::Bundle;
use std::path::{Path, PathBuf};

pub fn parse(tokens: &mut Tokens) -> Result<String, CellError> {
    let words = tokens.raw_words();
    match words.as_slice() {
        [(path, _)] => Ok(path.clone()),
        [] => Err(tokens.missing("the journal's path")),
        [_, (_, span), ..] => Err(CellError::parse(
            "unexpected text after the end of the statement",
            *span,
        )),
    }
}

pub async fn apply(path: &str, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
    let not_replayed = |why: String| CellError::new(ErrorKind::NotRecorded, why, span);
    let trust = Trust::of(None).map_err(|why| not_replayed(why.to_string()))?;
    // Read on a blocking thread, as a metrics file is: a journal may be large.
    let owned = PathBuf::from(path);
    let read = tokio::task::spawn_blocking(move || read::load(&owned)).await;
    let loaded = read
        .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
        .map_err(|why| not_replayed(why.to_string()))?;
    let recording = Recording::judged(Path::new(path), loaded, &trust)
        .map_err(|why| not_replayed(why.to_string()))?;
    recording.mask_with(cx.state.secrets.mask_fn());
    let verdict = recording.verdict().to_string();
    cx.ops.switch(Mode::Replay(recording));
    // Sources already declared answer from the journal too, under the same names.
    cx.state
        .reopen_sources(cx.ops)
        .await
        .map_err(|e| CellError::new(ErrorKind::NotRecorded, e.to_string(), span))?;
    cx.out.display(
        Bundle::plain(format!(
            "replaying {path}: steps are answered from the journal, nothing reaches the world, and no command runs\njournal: {verdict}"
        )),
        None,
    );
    Ok(())
}

pub fn show_journal(cx: &mut Context<'_>) {
    let line = match cx.ops.journal() {
        Some(journal) => format!("journal: {}", journal.path().display()),
        None => "this session keeps no journal".to_owned(),
    };
    cx.out.display(Bundle::plain(line), None);
}
