//! `window START .. END [step D]` and `window last D`

use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, Span};
use crate::engine::syntax::Tokens;
use crate::engine::window::{self, Instant, Window};
use crate::journal::entry::{Entry, WindowOutcome};
use crate::render::Bundle;

pub fn parse(tokens: &mut Tokens) -> Result<Window, CellError> {
    let words = tokens.raw_words();
    let word = |i: usize| words.get(i).map(|(w, _)| w.as_str());
    let at = |i: usize, message: &str| -> CellError {
        match words.get(i) {
            Some((w, span)) => CellError::parse(format!("`{w}`: {message}"), *span),
            None => tokens.missing(message),
        }
    };
    let duration_at = |i: usize| {
        word(i)
            .and_then(duration::parse)
            .ok_or_else(|| at(i, "not a duration; write e.g. 30s, 5m, 1h or 7d"))
    };
    let instant_at = |i: usize| {
        word(i).and_then(Instant::parse).ok_or_else(|| {
            at(
                i,
                "not a time; write RFC 3339 (2026-11-20T10:00:00Z), now, or now-2h",
            )
        })
    };
    let finish = |i: usize| match words.get(i) {
        None => Ok(()),
        Some((_, span)) => Err(CellError::parse(
            "unexpected text after the end of the statement",
            *span,
        )),
    };
    if word(0) == Some("last") {
        let length = duration_at(1)?;
        finish(2)?;
        return Ok(Window {
            start: Instant::Now(-length.as_secs_f64()),
            end: Instant::Now(0.0),
            step: None,
        });
    }
    if words.is_empty() {
        return Err(tokens.missing("`last D` or `START .. END`"));
    }
    let start = instant_at(0)?;
    if word(1) != Some("..") {
        return Err(at(1, "expected `..` between the start and the end"));
    }
    let end = instant_at(2)?;
    let mut step = None;
    if words.len() > 3 {
        if word(3) != Some("step") {
            return Err(at(3, "expected `step D` or the end of the statement"));
        }
        step = Some(duration_at(4)?);
        finish(5)?;
    }
    Ok(Window { start, end, step })
}

pub fn apply(new: &Window, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
    let range = new.resolve(cx.ops.clock.now());
    if range.end <= range.start {
        return Err(CellError::parse(
            "the window ends before it starts: write the earlier time first",
            span,
        ));
    }
    cx.state.window = new.clone();
    let (start, end) = (window::rfc3339(range.start), window::rfc3339(range.end));
    let resolved = WindowOutcome::resolved(start, end, range.step);
    cx.ops.note(&Entry::window(new.describe(), resolved));
    cx.out.display(
        Bundle::plain(format!("window {}", window::describe(&range))),
        None,
    );
    Ok(())
}
