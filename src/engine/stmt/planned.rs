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
        "file" => return Ok(()),
        "prometheus" => {}
        _ => {
            return Err(CellError::parse(
                format!("unknown source kind `{kind}`: use prometheus or file"),
                span,
            ))
        }
    }
    let words = tokens.raw_words();
    let mut words = words.iter();
    let (url, url_span) = words
        .next()
        .ok_or_else(|| tokens.missing("the server's URL"))?;
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(CellError::parse(
            format!("`{url}` is not an http:// or https:// URL"),
            *url_span,
        ));
    }
    let value = |words: &mut std::slice::Iter<(String, Span)>| words.next().map(|(w, _)| w.clone());
    while let Some((option, span)) = words.next() {
        let well_formed = match option.as_str() {
            "header" => value(&mut words).is_some_and(|v| v.contains('=')),
            "token" => value(&mut words).is_some_and(|v| is_secret_reference(&v)),
            "basic" => {
                value(&mut words).is_some_and(|v| is_secret_reference(&v))
                    && value(&mut words).is_some_and(|v| is_secret_reference(&v))
            }
            _ => false,
        };
        if !well_formed {
            return Err(CellError::parse(
                format!("`{option}` here: a prometheus source takes header K=V, token env:VAR|file:PATH and basic env:USER env:PASS; secrets only by reference"),
                *span,
            ));
        }
    }
    Ok(())
}

fn is_secret_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

fn window(tokens: &mut Tokens) -> Result<(), CellError> {
    let words = tokens.raw_words();
    let word = |i: usize| words.get(i).map(|(w, _)| w.as_str());
    let is_duration = |i: usize| word(i).and_then(duration::parse).is_some();
    let expect = |i: usize, ok: bool, message: &str| -> Result<(), CellError> {
        if ok {
            return Ok(());
        }
        Err(match words.get(i) {
            Some((w, span)) => CellError::parse(format!("`{w}`: {message}"), *span),
            None => tokens.missing(message),
        })
    };
    if word(0) == Some("last") {
        expect(
            1,
            is_duration(1),
            "not a duration; write e.g. 30m, 1h or 7d",
        )?;
        return expect(
            2,
            words.len() == 2,
            "unexpected text after the end of the statement",
        );
    }
    expect(0, !words.is_empty(), "expected `last D` or `START .. END`")?;
    expect(
        1,
        word(1) == Some(".."),
        "expected `..` between the start and the end",
    )?;
    expect(2, words.len() > 2, "expected the window's end")?;
    if words.len() > 3 {
        expect(
            3,
            word(3) == Some("step"),
            "expected `step D` or the end of the statement",
        )?;
        expect(
            4,
            is_duration(4),
            "not a duration; write the step as e.g. 30s",
        )?;
        expect(
            5,
            words.len() == 5,
            "unexpected text after the end of the statement",
        )?;
    }
    Ok(())
}

fn query(tokens: &mut Tokens) -> Result<(), CellError> {
    let (start, end) = tokens.rest();
    if start == end {
        return Err(tokens.missing("a PromQL expression"));
    }
    Ok(())
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

fn check(tokens: &mut Tokens) -> Result<(), CellError> {
    tokens.quoted_string("the check's title")?;
    tokens.punct(':')?;
    let before = tokens.pos;
    match tokens.token()? {
        Some((Token::Word(w), _)) if w == "run" => run::parse(tokens).map(drop),
        Some((Token::Word(w), _)) if w == "probe" => probe(tokens),
        Some(_) => {
            tokens.pos = before;
            query(tokens)
        }
        None => Err(tokens.missing("a PromQL expression, `run COMMAND` or `probe URL`")),
    }
}
