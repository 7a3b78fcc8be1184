//! `source NAME prometheus URL [header K=V]... [token REF] [basic REF REF] [timeout D]`
//! and `source NAME file PATH`. Secrets are given only by reference: `env:VAR` or `file:PATH`.

use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::session::NamedSource;
use crate::engine::syntax::{is_name, Tokens};
use crate::engine::{duration, Context};
use crate::ops::prometheus::{Auth, Prometheus};
use crate::render::Bundle;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum SourceKind {
    Prometheus {
        url: String,
        headers: Vec<(String, String)>,
        auth: AuthRef,
        timeout: Duration,
    },
    File {
        path: String,
    },
}

/// Where the credentials are, never the credentials themselves.
#[derive(Debug, Clone)]
pub enum AuthRef {
    None,
    Token(String),
    Basic(String, String),
}

#[derive(Debug, Clone)]
pub struct NewSource {
    pub name: String,
    pub kind: SourceKind,
}

fn is_secret_reference(value: &str) -> bool {
    value.starts_with("env:") || value.starts_with("file:")
}

pub fn parse(tokens: &mut Tokens) -> Result<NewSource, CellError> {
    let (name, name_span) = tokens.word("the source's name")?;
    if !is_name(&name) {
        return Err(CellError::parse(
            format!("`{name}` is not a name"),
            name_span,
        ));
    }
    let (kind, span) = tokens.word("the source's kind: prometheus or file")?;
    let words = tokens.raw_words();
    let kind = match kind.as_str() {
        "file" => match words.as_slice() {
            [(path, _)] => SourceKind::File { path: path.clone() },
            [] => return Err(tokens.missing("the metrics file's path")),
            [_, (_, extra), ..] => {
                return Err(CellError::parse("a file source takes one path", *extra))
            }
        },
        "prometheus" => prometheus(&words, tokens)?,
        _ => {
            return Err(CellError::parse(
                format!("unknown source kind `{kind}`: use prometheus or file"),
                span,
            ))
        }
    };
    Ok(NewSource { name, kind })
}

fn prometheus(words: &[(String, Span)], tokens: &Tokens) -> Result<SourceKind, CellError> {
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
    let mut headers = Vec::new();
    let mut auth = AuthRef::None;
    let mut timeout = DEFAULT_TIMEOUT;
    while let Some((option, span)) = words.next() {
        let mut value = || words.next().map(|(w, _)| w.clone());
        let bad = |what: &str| {
            CellError::parse(
                format!(
                    "`{option}` takes {what}; secrets only by reference (env:VAR or file:PATH)"
                ),
                *span,
            )
        };
        match option.as_str() {
            "header" => {
                let header = value().ok_or_else(|| bad("K=V"))?;
                let (k, v) = header.split_once('=').ok_or_else(|| bad("K=V"))?;
                headers.push((k.to_owned(), v.to_owned()));
            }
            "token" => {
                let reference = value().filter(|v| is_secret_reference(v));
                auth = AuthRef::Token(reference.ok_or_else(|| bad("env:VAR or file:PATH"))?);
            }
            "basic" => {
                let user = value().filter(|v| is_secret_reference(v));
                let password = value().filter(|v| is_secret_reference(v));
                match (user, password) {
                    (Some(u), Some(p)) => auth = AuthRef::Basic(u, p),
                    _ => return Err(bad("a user and a password reference, e.g. basic env:USER env:PASS")),
                }
            }
            "timeout" => {
                timeout = value()
                    .and_then(|v| duration::parse(&v))
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad("a duration, e.g. 10s"))?;
            }
            _ => {
                return Err(CellError::parse(
                    format!("unknown option `{option}`: a prometheus source takes header K=V, token REF, basic REF REF and timeout D"),
                    *span,
                ))
            }
        }
    }
    Ok(SourceKind::Prometheus {
        url: url.clone(),
        headers,
        auth,
        timeout,
    })
}

/// Reads a secret from `env:VAR` or `file:PATH`.
fn read_secret(reference: &str, span: Span) -> Result<String, CellError> {
    let missing = |why: String| CellError::new(ErrorKind::SourceError, why, span);
    if let Some(var) = reference.strip_prefix("env:") {
        std::env::var(var)
            .map_err(|_| missing(format!("the environment variable {var} is not set")))
    } else if let Some(path) = reference.strip_prefix("file:") {
        std::fs::read_to_string(path)
            .map(|s| s.trim_end().to_owned())
            .map_err(|e| missing(format!("cannot read the secret file {path}: {e}")))
    } else {
        Err(missing(format!(
            "`{reference}` is not env:VAR or file:PATH"
        )))
    }
}

impl NewSource {
    pub fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
        let SourceKind::Prometheus {
            url,
            headers,
            auth,
            timeout,
        } = &self.kind
        else {
            return Err(CellError::new(
                ErrorKind::NotSupported,
                "file sources are not supported yet in this version of playbook: they arrive with the embedded PromQL engine",
                span,
            ));
        };
        let auth = match auth {
            AuthRef::None => Auth::None,
            AuthRef::Token(r) => Auth::Bearer(read_secret(r, span)?),
            AuthRef::Basic(u, p) => Auth::Basic {
                user: read_secret(u, span)?,
                password: read_secret(p, span)?,
            },
        };
        let source = Prometheus::new(url, headers.clone(), auth, *timeout)
            .map_err(|e| CellError::new(ErrorKind::SourceError, e, span))?;
        let is_default = cx.session.add_source(NamedSource::new(
            &self.name,
            format!("prometheus at {url}"),
            Box::new(source),
        ));
        let role = if is_default {
            " (the default source)"
        } else {
            ""
        };
        cx.out.display(Bundle::plain(format!(
            "source {}: prometheus at {url}{role}",
            self.name
        )));
        Ok(())
    }
}
