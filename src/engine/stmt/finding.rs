//! `finding SEVERITY "TEXT" [evidence NAME, ...]` and `findings`

use crate::engine::context::Context;
use crate::engine::error::Span;
use crate::engine::error::{CellError, ErrorKind};
use crate::engine::syntax::{is_name, Template, Token, Tokens};
use crate::journal::entry::Entry;
use crate::model::{Event, Value};
use crate::ops::finding::{Finding, Severity};
use crate::render;

#[derive(Debug, Clone)]
pub struct NewFinding {
    pub severity: Severity,
    pub text: Template,
    pub evidence: Vec<(String, Span)>,
}

pub fn parse(tokens: &mut Tokens) -> Result<NewFinding, CellError> {
    let names: Vec<&str> = Severity::ALL.iter().map(|s| s.name()).collect();
    let (word, span) = tokens.word(&format!("a severity ({})", names.join(", ")))?;
    let severity = Severity::parse(&word).ok_or_else(|| {
        CellError::parse(
            format!("unknown severity `{word}`: use one of {}", names.join(", ")),
            span,
        )
    })?;
    let (text, _) = tokens.quoted_string("the finding's text")?;
    let mut evidence = Vec::new();
    if let Some((token, span)) = tokens.token()? {
        if token != Token::Word("evidence".into()) {
            return Err(CellError::parse(
                "expected `evidence NAME, ...` or the end of the statement",
                span,
            ));
        }
        loop {
            let (name, span) = tokens.word("the name of a bound step")?;
            if !is_name(&name) {
                return Err(CellError::parse(format!("`{name}` is not a name"), span));
            }
            evidence.push((name, span));
            match tokens.token()? {
                None => break,
                Some((Token::Punct(','), _)) => {}
                Some((_, span)) => {
                    return Err(CellError::parse(
                        "expected `,` between evidence names",
                        span,
                    ))
                }
            }
        }
    }
    Ok(NewFinding {
        severity,
        text,
        evidence,
    })
}

impl NewFinding {
    pub async fn apply(&self, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let text = cx.state.resolve(&self.text)?;
        for (name, span) in &self.evidence {
            if cx.state.get(name).is_none() {
                return Err(CellError::new(
                    ErrorKind::UnknownName,
                    format!("evidence `{name}` is not bound in this session; bind a step first, e.g. `{name} = run ...`"),
                    *span,
                ));
            }
        }
        let finding = Finding {
            severity: self.severity,
            text,
            evidence: self.evidence.iter().map(|(n, _)| n.clone()).collect(),
            at: cx.ops.stamp(),
        };
        add(cx, finding.clone()).await;
        Ok(Value::Finding(finding))
    }
}

/// A finding joins the session, from a statement or a Rust cell: journaled, shown as a card,
/// kept for the timeline.
pub async fn add(cx: &mut Context<'_>, finding: Finding) {
    cx.ops.note(Entry::finding(&finding)).await;
    cx.out.display(render::finding_card(&finding), None);
    cx.state.record(Event::Finding(finding));
}

pub fn show_all(cx: &mut Context<'_>) {
    cx.out
        .display(render::findings_table(cx.state.timeline()), None);
}
