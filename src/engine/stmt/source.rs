//! `source NAME prometheus URL [header K=V]... [token REF] [basic REF REF] [timeout D]`
//! and `source NAME file PATH`. Secrets are given only by reference: `env:VAR` or `file:PATH`.

use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::session::NamedSource;
use crate::engine::syntax::{is_name, Template, Tokens};
use crate::engine::{duration, Context};
use crate::journal::recorded::RecordedSource;
use crate::journal::replay::ReplaySource;
use crate::ops::file_source;
use crate::ops::metrics::MetricsSource;
use crate::ops::prometheus::{Auth, Prometheus};
use crate::render::Bundle;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone)]
pub enum SourceKind {
    Prometheus {
        url: Template,
        url_span: Span,
        headers: Vec<(String, String)>,
        auth: AuthRef,
        timeout: Duration,
    },
    File {
        path: String,
    },
}

/// A URL given as `{{NAME}}` is checked once it is filled in.
fn check_url(url: &str, span: Span) -> Result<(), CellError> {
    if url.starts_with("http://") || url.starts_with("https://") {
        Ok(())
    } else {
        Err(CellError::parse(
            format!("`{url}` is not an http:// or https:// URL"),
            span,
        ))
    }
}

impl SourceKind {
    pub fn name(&self) -> &'static str {
        match self {
            SourceKind::Prometheus { .. } => "prometheus",
            SourceKind::File { .. } => "file",
        }
    }
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
    let url = Template::parse_word(url, *url_span)?;
    if let Some(literal) = url.literal() {
        check_url(&literal, *url_span)?;
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
                let reference = value().filter(|v| super::secret::is_reference(v));
                auth = AuthRef::Token(reference.ok_or_else(|| bad("env:VAR or file:PATH"))?);
            }
            "basic" => {
                let user = value().filter(|v| super::secret::is_reference(v));
                let password = value().filter(|v| super::secret::is_reference(v));
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
        url,
        url_span: *url_span,
        headers,
        auth,
        timeout,
    })
}

impl NewSource {
    pub fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
        // On replay the journal stands in for the source, and nothing is contacted or read.
        let (source, description): (Box<dyn MetricsSource>, String) = match &self.kind {
            SourceKind::Prometheus {
                url,
                url_span,
                headers,
                auth,
                timeout,
            } => {
                let url = cx.session.resolve(url)?;
                check_url(&url, *url_span)?;
                let description = format!("prometheus at {url}");
                if cx.session.recording.is_some() {
                    (self.replayed(cx), description)
                } else {
                    let auth = read_auth(auth, span, cx)?;
                    let server = Prometheus::new(&url, headers.clone(), auth, *timeout)
                        .map_err(|e| CellError::new(ErrorKind::SourceError, e.to_string(), span))?;
                    (Box::new(server), description)
                }
            }
            SourceKind::File { path } => {
                let description = format!("the metrics file {path}, evaluated in-process");
                if cx.session.recording.is_some() {
                    (self.replayed(cx), description)
                } else {
                    // Relative to the notebook, as the kernel's working directory is in Jupyter.
                    let file = file_source::load(&cx.session.base_dir.join(path))
                        .map_err(|e| CellError::new(ErrorKind::SourceError, e.to_string(), span))?;
                    (Box::new(file), description)
                }
            }
        };
        let source: Box<dyn MetricsSource> = match &cx.session.journal {
            Some(journal) => Box::new(RecordedSource {
                name: self.name.clone(),
                inner: source,
                journal: journal.clone(),
            }),
            None => source,
        };
        let line = format!("source {}: {description}", self.name);
        let is_default = cx
            .session
            .add_source(NamedSource::new(&self.name, description, source));
        let role = if is_default {
            " (the default source)"
        } else {
            ""
        };
        cx.out.display(Bundle::plain(format!("{line}{role}")), None);
        Ok(())
    }

    fn replayed(&self, cx: &Context<'_>) -> Box<dyn MetricsSource> {
        Box::new(ReplaySource {
            name: self.name.clone(),
            recording: cx
                .session
                .recording
                .clone()
                .expect("called only while replaying"),
        })
    }
}

/// Reads the credentials a source refers to; their values are masked from then on.
fn read_auth(auth: &AuthRef, span: Span, cx: &mut Context<'_>) -> Result<Auth, CellError> {
    let read = |reference: &str| {
        let value = super::secret::read(reference, span)?;
        cx.session.secrets.add(&value);
        Ok::<_, CellError>(value)
    };
    Ok(match auth {
        AuthRef::None => Auth::None,
        AuthRef::Token(r) => Auth::Bearer(read(r)?),
        AuthRef::Basic(u, p) => Auth::Basic {
            user: read(u)?,
            password: read(p)?,
        },
    })
}
