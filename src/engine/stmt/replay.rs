//! `replay JOURNAL`: from here on, the session's steps are answered from a recorded journal;
//! and `journal`: where this session's steps are recorded.

use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::Tokens;
use crate::engine::Context;
use crate::journal::recorded::RecordedSource;
use crate::journal::replay::{Recording, ReplaySource};
use crate::ops::metrics::MetricsSource;
use crate::render::Bundle;
use std::path::Path;

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

pub fn apply(path: &str, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
    let recording = Recording::load(Path::new(path))
        .map_err(|why| CellError::new(ErrorKind::NotRecorded, why.to_string(), span))?;
    cx.session.recording = Some(recording.clone());
    // Sources already declared answer from the journal too, under the same names.
    let journal = cx.session.journal.clone();
    for named in cx.session.sources_mut() {
        let replayed: Box<dyn MetricsSource> = Box::new(ReplaySource {
            name: named.name.clone(),
            recording: recording.clone(),
        });
        named.source = match &journal {
            Some(journal) => Box::new(RecordedSource {
                name: named.name.clone(),
                inner: replayed,
                journal: journal.clone(),
            }),
            None => replayed,
        };
    }
    cx.out.display(
        Bundle::plain(format!(
            "replaying {path}: steps are answered from the journal, nothing reaches the world, and no command runs"
        )),
        None,
    );
    Ok(())
}

pub fn show_journal(cx: &mut Context<'_>) {
    let line = match &cx.session.journal {
        Some(journal) => format!("journal: {}", journal.borrow().path().display()),
        None => "this session keeps no journal".to_owned(),
    };
    cx.out.display(Bundle::plain(line), None);
}
