//! `probe URL [expect STATUS] [within D] [header K=V]... [insecure]`
//!
//! A synthetic canary: one GET, judged against the expectation. A failing probe is a result,
//! shown as such, not an error.

use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{Template, Tokens};
use crate::model::Value;
use crate::ops::probe::{ProbeResult, ProbeSpec};
use crate::render;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Probe {
    pub url: Template,
    pub expect: Option<u16>,
    pub within: Option<Duration>,
    pub headers: Vec<(String, Template)>,
    pub insecure: bool,
}

pub fn parse(tokens: &mut Tokens) -> Result<Probe, CellError> {
    let words = tokens.raw_words();
    let Some((url, url_span)) = words.first() else {
        return Err(tokens.missing("the URL to probe"));
    };
    let url_template = Template::parse_word(url, *url_span)?;
    if url_template.literal().is_some()
        && !(url.starts_with("http://") || url.starts_with("https://"))
    {
        return Err(CellError::parse(
            format!("`{url}` is not an http:// or https:// URL"),
            *url_span,
        ));
    }
    let mut probe = Probe {
        url: url_template,
        expect: None,
        within: None,
        headers: Vec::new(),
        insecure: false,
    };
    let mut rest = words[1..].iter();
    let mut seen: Vec<&str> = Vec::new();
    while let Some((option, span)) = rest.next() {
        if option != "header" && seen.contains(&option.as_str()) {
            return Err(CellError::parse(
                format!("`{option}` is given twice"),
                *span,
            ));
        }
        seen.push(option);
        if option == "insecure" {
            probe.insecure = true;
            continue;
        }
        let Some((value, value_span)) = rest.next() else {
            return Err(match option.as_str() {
                "expect" | "within" | "header" => {
                    tokens.missing(&format!("a value after `{option}`"))
                }
                _ => unknown_option(option, *span),
            });
        };
        match option.as_str() {
            "expect" => {
                probe.expect = Some(
                    value
                        .parse::<u16>()
                        .ok()
                        .filter(|s| (100..600).contains(s))
                        .ok_or_else(|| {
                            CellError::parse(
                                format!("`{value}` is not an HTTP status"),
                                *value_span,
                            )
                        })?,
                );
            }
            "within" => {
                probe.within = Some(duration::parse(value).filter(|d| !d.is_zero()).ok_or_else(
                    || {
                        CellError::parse(
                            format!(
                                "`{value}` is not a duration above zero; write e.g. 500ms or 2s"
                            ),
                            *value_span,
                        )
                    },
                )?);
            }
            "header" => {
                let (name, header_value) = value
                    .split_once('=')
                    .ok_or_else(|| CellError::parse("`header` takes NAME=VALUE", *value_span))?;
                let at = Span {
                    column: value_span.column + name.chars().count() + 1,
                    ..*value_span
                };
                probe
                    .headers
                    .push((name.to_owned(), Template::parse_word(header_value, at)?));
            }
            _ => return Err(unknown_option(option, *span)),
        }
    }
    Ok(probe)
}

fn unknown_option(option: &str, span: Span) -> CellError {
    CellError::parse(
        format!("`{option}`: a probe takes expect STATUS, within D, header K=V and insecure"),
        span,
    )
}

impl Probe {
    /// Sends the probe; its result is shown by the caller (as a probe, or as a check).
    pub async fn send(&self, span: Span, cx: &mut Context<'_>) -> Result<ProbeResult, CellError> {
        let mut headers = Vec::new();
        for (name, value) in &self.headers {
            headers.push((name.clone(), cx.state.resolve(value)?));
        }
        let spec = ProbeSpec {
            url: cx.state.resolve(&self.url)?,
            expect: self.expect,
            within: self.within,
            headers,
            insecure: self.insecure,
        };
        super::query::interruptible(cx, span, cx.ops.prober.probe(&spec))
            .await?
            .map_err(|missing| CellError::new(ErrorKind::NotRecorded, missing.0, span))
    }

    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let result = self.send(span, cx).await?;
        cx.out.display(render::probe::probe(&result), None);
        Ok(Value::Probe(result))
    }
}
