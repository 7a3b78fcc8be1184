//! Statements of the language that parse (so a playbook can be checked and written today) but
//! do not run yet: `source`, `window`, `query`, `probe`, `check`, `replay`.

use super::run;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{Token, Tokens};

#[derive(Debug, Clone)]
pub struct Planned {
    pub keyword: &'static str,
    pub span: Span,
}

impl Planned {
    pub fn not_supported(&self) -> CellError {
        let arrives_with = match self.keyword {
            "source" | "window" | "query" => "metrics sources",
            "check" => "metrics sources and probes",
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
        "source" => {
            source(tokens)?;
            "source"
        }
        "window" => {
            window(tokens)?;
            "window"
        }
        "query" => {
            query(tokens)?;
            "query"
        }
        "probe" => {
            probe(tokens)?;
            "probe"
        }
        "check" => {
            check(tokens)?;
            "check"
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

fn source(tokens: &mut Tokens) -> Result<(), CellError> {
    tokens.word("the source's name")?;
    let (kind, span) = tokens.word("the source's kind: prometheus or file")?;
    match kind.as_str() {
        "file" => {
            tokens.rest();
            Ok(())
        }
        "prometheus" => {
            let (start, end) = tokens.rest();
            let rest: String = tokens.line.text[start..end].iter().collect();
            let mut words = rest.split_whitespace();
            let url = words
                .next()
                .ok_or_else(|| tokens.missing("the server's URL"))?;
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(CellError::parse(
                    format!("`{url}` is not an http:// or https:// URL"),
                    tokens.line.span(start, start + url.chars().count()),
                ));
            }
            while let Some(option) = words.next() {
                let value = words.next();
                let well_formed = match option {
                    "header" => value.is_some_and(|v| v.contains('=')),
                    "token" => value.is_some_and(is_secret_reference),
                    "basic" => {
                        value.is_some_and(is_secret_reference)
                            && words.next().is_some_and(is_secret_reference)
                    }
                    _ => false,
                };
                if !well_formed {
                    return Err(CellError::parse(
                        format!("`{option}` here: a prometheus source takes header K=V, token env:VAR|file:PATH and basic env:USER env:PASS; secrets only by reference"),
                        tokens.line.span(start, end),
                    ));
                }
            }
            Ok(())
        }
        _ => Err(CellError::parse(
            format!("unknown source kind `{kind}`: use prometheus or file"),
            span,
        )),
    }
}

fn is_secret_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

fn duration_word(tokens: &mut Tokens, what: &str) -> Result<(), CellError> {
    let (word, span) = tokens.word(what)?;
    duration::parse(&word).map(drop).ok_or_else(|| {
        CellError::parse(
            format!("`{word}` is not a duration; write e.g. 30s, 5m, 1h or 7d"),
            span,
        )
    })
}

fn window(tokens: &mut Tokens) -> Result<(), CellError> {
    let (first, _) = tokens.word("`last D` or `START .. END`")?;
    if first == "last" {
        duration_word(tokens, "a duration, e.g. 1h")?;
        return tokens.finish();
    }
    let (dots, span) = tokens.word("`..` between the start and the end")?;
    if dots != ".." {
        return Err(CellError::parse(
            "expected `..` between the start and the end",
            span,
        ));
    }
    tokens.word("the window's end")?;
    if let Some((token, span)) = tokens.next()? {
        if token != Token::Word("step".into()) {
            return Err(CellError::parse(
                "expected `step D` or the end of the statement",
                span,
            ));
        }
        duration_word(tokens, "the step, e.g. 30s")?;
    }
    tokens.finish()
}

fn query(tokens: &mut Tokens) -> Result<(), CellError> {
    let (start, end) = tokens.rest();
    if start == end {
        return Err(tokens.missing("a PromQL expression"));
    }
    Ok(())
}

fn probe(tokens: &mut Tokens) -> Result<(), CellError> {
    tokens.word("the URL to probe")?;
    while let Some((token, span)) = tokens.next()? {
        match token {
            Token::Word(w) if w == "expect" => {
                let (status, span) = tokens.word("an HTTP status, e.g. 200")?;
                if !status.parse::<u16>().is_ok_and(|s| (100..600).contains(&s)) {
                    return Err(CellError::parse(
                        format!("`{status}` is not an HTTP status"),
                        span,
                    ));
                }
            }
            Token::Word(w) if w == "within" => duration_word(tokens, "a deadline, e.g. 2s")?,
            _ => {
                return Err(CellError::parse(
                    "expected `expect STATUS` or `within D`",
                    span,
                ))
            }
        }
    }
    Ok(())
}

fn check(tokens: &mut Tokens) -> Result<(), CellError> {
    tokens.quoted_string("the check's title")?;
    tokens.punct(':')?;
    let before = tokens.pos;
    match tokens.next()? {
        Some((Token::Word(w), _)) if w == "run" => run::parse(tokens).map(drop),
        Some((Token::Word(w), _)) if w == "probe" => probe(tokens),
        Some(_) => {
            tokens.pos = before;
            query(tokens)
        }
        None => Err(tokens.missing("a PromQL expression, `run COMMAND` or `probe URL`")),
    }
}
