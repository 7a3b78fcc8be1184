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
        word(i)
            .and_then(Instant::parse)
            .ok_or_else(|| match word(i).and_then(look_alike) {
                Some(dash) => at(
                    i,
                    &format!("`{dash}` is not `-`: write now-2h with the ASCII minus"),
                ),
                None => at(
                    i,
                    "not a time; write RFC 3339 (2026-11-20T10:00:00Z), now, or now-2h",
                ),
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

/// 9999-12-31T23:59:59Z: where RFC 3339 times, and so windows, end.
const LAST_SECOND: f64 = 253_402_300_799.0;

/// A dash that documents and chat tools put where `-` was meant.
fn look_alike(word: &str) -> Option<char> {
    word.chars().find(|c| {
        matches!(
            c,
            '\u{2212}' | '\u{2010}'..='\u{2015}' | '\u{fe63}' | '\u{ff0d}'
        )
    })
}

pub async fn apply(new: &Window, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
    let range = new.resolve(cx.ops.clock.now());
    if range.start < 0.0 || range.end > LAST_SECOND {
        return Err(CellError::parse(
            "the window must lie between 1970 and the end of 9999",
            span,
        ));
    }
    if range.end <= range.start {
        return Err(CellError::parse(
            "the window ends before it starts: write the earlier time first",
            span,
        ));
    }
    cx.state.window = new.clone();
    let (start, end) = (window::rfc3339(range.start), window::rfc3339(range.end));
    let resolved = WindowOutcome::resolved(start, end, range.step);
    cx.ops.note(Entry::window(new.describe(), resolved)).await;
    cx.out.display(
        Bundle::plain(format!("window {}", window::describe(&range))),
        None,
    );
    Ok(())
}
