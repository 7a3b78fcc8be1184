//! `replay JOURNAL`: from here on, the session's steps are answered from a recorded journal;
//! `resume JOURNAL`: the same while the journal holds them, live after; and `journal`: where this
//! session's steps are recorded.

use crate::engine::context::Context;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::stack::Mode;
use crate::engine::syntax::Tokens;
use crate::journal::read;
use crate::journal::replay::Recording;
use crate::journal::verdict::Trust;
use crate::render::Bundle;
use std::path::{Path, PathBuf};
use std::rc::Rc;

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
    let recording = load(path, span, cx).await?;
    let verdict = recording.verdict().to_string();
    super::switch_mode(cx, Mode::Replay(recording), ErrorKind::NotRecorded, span).await?;
    cx.out.display(
        Bundle::plain(format!(
            "replaying {path}: steps are answered from the journal, nothing reaches the world, and no command runs\njournal: {verdict}"
        )),
        None,
    );
    Ok(())
}

/// `resume JOURNAL`: the steps that follow are answered from the journal while it holds them,
/// as on replay; the first it does not hold runs live, and every step after it.
pub async fn resume(path: &str, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
    let recording = load(path, span, cx).await?;
    // What it answers is taken as done (a command it holds does not run again), so only a
    // journal whose signer is trusted will do.
    if !recording.verdict().vouched_for() {
        return Err(CellError::new(
            ErrorKind::NotRecorded,
            format!(
                "{path}: {}; resuming takes the steps it answers as done, so the journal must be signed by a key you trust; nothing was resumed",
                recording.verdict()
            ),
            span,
        ));
    }
    let verdict = recording.verdict().to_string();
    super::switch_mode(cx, Mode::Following(recording), ErrorKind::NotRecorded, span).await?;
    cx.out.display(
        Bundle::plain(format!(
            "resuming {path}: the steps that follow are answered from it while it holds them; the first it does not hold runs live, and everything after it\njournal: {verdict}"
        )),
        None,
    );
    Ok(())
}

/// The journal at `path`, read and judged: a broken one is refused.
async fn load(path: &str, span: Span, cx: &Context<'_>) -> Result<Rc<Recording>, CellError> {
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
    Ok(recording)
}

pub fn show_journal(cx: &mut Context<'_>) {
    let line = match cx.ops.journal() {
        Some(journal) => format!("journal: {}", journal.path().display()),
        None => "this session keeps no journal".to_owned(),
    };
    cx.out.display(Bundle::plain(line), None);
}
