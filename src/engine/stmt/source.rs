//! `source NAME prometheus URL [header K=V]... [token REF] [basic REF REF] [timeout D]
//! [max-answer SIZE]`
//! `source NAME file PATH` and `source NAME logs PATH... [format F] [label K=V | label FIELD]...`.
//! Secrets are given only by reference: `env:VAR` or `file:PATH`.

use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::session::NamedLogs;
use crate::engine::session::NamedSource;
use crate::engine::stack::{AuthRef, LogFilesSpec, LogSpec, OpenError, ServerSpec, SourceSpec};
use crate::engine::syntax::{is_name, Template, Tokens};
use crate::journal::entry::Entry;
use crate::ops::logs::{Labels, LogFormat};
use crate::render::Bundle;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest answer a prometheus source reads unless `max-answer` says otherwise: 256 MiB.
const DEFAULT_MAX_ANSWER: u64 = 256 << 20;

/// A server a source talks to over HTTP, as declared; its URL filled in when the step runs.
#[derive(Debug, Clone)]
pub struct Server {
    pub url: Template,
    pub url_span: Span,
    pub headers: Vec<(String, String)>,
    pub auth: AuthRef,
    pub timeout: Duration,
    pub max_answer: u64,
}

#[derive(Debug, Clone)]
pub enum SourceKind {
    Prometheus(Server),
    File {
        path: String,
    },
    /// Log files, read in-process; `spec`'s paths as written.
    Logs(LogFilesSpec),
    /// VictoriaLogs, with the tenant (`ACCOUNT:PROJECT`) if one is named.
    VictoriaLogs(Server, Option<(String, String)>),
    /// Grafana Loki, with the tenant (`X-Scope-OrgID`) if one is named.
    Loki(Server, Option<String>),
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
            SourceKind::Prometheus(_) => "prometheus",
            SourceKind::File { .. } => "file",
            SourceKind::Logs(_) => "logs",
            SourceKind::VictoriaLogs(..) => "victorialogs",
            SourceKind::Loki(..) => "loki",
        }
    }
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
    let (kind, span) = tokens.word("the source's kind: prometheus, file, logs or victorialogs")?;
    let words = tokens.raw_words();
    let kind = match kind.as_str() {
        "file" => match words.as_slice() {
            [(path, _)] => SourceKind::File { path: path.clone() },
            [] => return Err(tokens.missing("the metrics file's path")),
            [_, (_, extra), ..] => {
                return Err(CellError::parse("a file source takes one path", *extra))
            }
        },
        "prometheus" => match server("prometheus", &words, tokens)? {
            (server, None) => SourceKind::Prometheus(server),
            (_, Some((_, at))) => {
                return Err(CellError::parse("a prometheus source takes no tenant: send it as a header, e.g. header X-Scope-OrgID=team", at))
            }
        },
        "victorialogs" => {
            let (server, tenant) = server("victorialogs", &words, tokens)?;
            let tenant = match tenant {
                Some((named, at)) => Some(account_and_project(&named).ok_or_else(|| {
                    CellError::parse("`tenant` takes ACCOUNT:PROJECT, two numbers, e.g. 12:0", at)
                })?),
                None => None,
            };
            SourceKind::VictoriaLogs(server, tenant)
        }
        "loki" => {
            let (server, tenant) = server("loki", &words, tokens)?;
            SourceKind::Loki(server, tenant.map(|(t, _)| t))
        }
        "logs" => SourceKind::Logs(logs(&words, tokens)?),
        _ => {
            return Err(CellError::parse(
                format!("unknown source kind `{kind}`: use prometheus, file, logs or victorialogs"),
                span,
            ))
        }
    };
    Ok(NewSource { name, kind })
}

/// VictoriaLogs's tenant: `ACCOUNT:PROJECT`, two numbers.
fn account_and_project(named: &str) -> Option<(String, String)> {
    let (account, project) = named.split_once(':')?;
    let number = |n: &str| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    (number(account) && number(project)).then(|| (account.to_owned(), project.to_owned()))
}

/// `URL [header K=V]... [token REF] [basic REF REF] [timeout D] [max-answer SIZE]
/// [tenant TENANT]`, and the tenant as written, with where.
fn server(
    kind: &str,
    words: &[(String, Span)],
    tokens: &Tokens,
) -> Result<(Server, Option<(String, Span)>), CellError> {
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
    let mut max_answer = DEFAULT_MAX_ANSWER;
    let mut tenant = None;
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
                let reference = value().filter(|v| crate::ops::secret::is_reference(v));
                auth = AuthRef::Token(reference.ok_or_else(|| bad("env:VAR or file:PATH"))?);
            }
            "basic" => {
                let user = value().filter(|v| crate::ops::secret::is_reference(v));
                let password = value().filter(|v| crate::ops::secret::is_reference(v));
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
            "max-answer" => {
                max_answer = value()
                    .and_then(|v| size(&v))
                    .filter(|&n| n > 0)
                    .ok_or_else(|| bad("a size, e.g. 512MiB or 2GiB"))?;
            }
            "tenant" => {
                let named = value().ok_or_else(|| bad("the tenant"))?;
                tenant = Some((named, *span));
            }
            _ => {
                return Err(CellError::parse(
                    format!("unknown option `{option}`: a {kind} source takes header K=V, token REF, basic REF REF, timeout D and max-answer SIZE{}", match kind { "victorialogs" => ", and tenant ACCOUNT:PROJECT", "loki" => ", and tenant ID", _ => "" }),
                    *span,
                ))
            }
        }
    }
    let server = Server {
        url,
        url_span: *url_span,
        headers,
        auth,
        timeout,
        max_answer,
    };
    Ok((server, tenant))
}

/// `PATH... [format json|logfmt|text] [label K=V]... [label FIELD]...`
fn logs(words: &[(String, Span)], tokens: &Tokens) -> Result<LogFilesSpec, CellError> {
    let mut spec = LogFilesSpec {
        paths: Vec::new(),
        format: LogFormat::Text,
        labels: Labels::new(),
        label_fields: Vec::new(),
    };
    let mut format = None;
    let mut words = words.iter();
    while let Some((word, span)) = words.next() {
        let mut value = |what: &str| {
            words
                .next()
                .ok_or_else(|| CellError::parse(format!("`{word}` takes {what}"), *span))
        };
        match word.as_str() {
            "format" => {
                let (name, at) = value("a format: json, logfmt or text")?;
                let parsed = name
                    .parse::<LogFormat>()
                    .map_err(|why| CellError::parse(why.to_string(), *at))?;
                format = Some(parsed);
            }
            "label" => {
                let (label, at) = value("K=V, a label every line gets, or FIELD, a field of each line")?;
                let (name, fixed) = match label.split_once('=') {
                    Some((name, fixed)) => (name, Some(fixed)),
                    None => (label.as_str(), None),
                };
                if !is_name(name) {
                    return Err(CellError::parse(format!("`{name}` is not a label name"), *at));
                }
                match fixed {
                    Some(fixed) => {
                        spec.labels.insert(name.to_owned(), fixed.to_owned());
                    }
                    None => spec.label_fields.push(name.to_owned()),
                }
            }
            _ if format.is_some() || !spec.labels.is_empty() || !spec.label_fields.is_empty() => {
                return Err(CellError::parse(
                    format!("unknown option `{word}`: paths come first, then format F and label K=V or label FIELD"),
                    *span,
                ))
            }
            path => spec.paths.push(path.into()),
        }
    }
    if spec.paths.is_empty() {
        return Err(tokens.missing("the log files' paths (globs allowed)"));
    }
    spec.format = format.unwrap_or(LogFormat::Text);
    Ok(spec)
}

/// A size in bytes: a whole number, bare or with a unit (`B`, `KiB`, `MiB`, `GiB`, or the
/// decimal `KB`, `MB`, `GB`).
fn size(word: &str) -> Option<u64> {
    let digits = word
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(word.len());
    let (number, unit) = word.split_at(digits);
    let scale: u64 = match unit {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        _ => return None,
    };
    number.parse::<u64>().ok()?.checked_mul(scale)
}

/// How the engine words a failure to open a source.
fn open_error(e: OpenError, span: Span) -> CellError {
    let kind = match e {
        OpenError::Credential(_) | OpenError::Unmaskable(_) => ErrorKind::SecretUnavailable,
        OpenError::Client(_) | OpenError::File(_) | OpenError::Source(_) | OpenError::Logs(_) => {
            ErrorKind::SourceError
        }
    };
    CellError::new(kind, e.to_string(), span)
}

impl NewSource {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<(), CellError> {
        let (spec, description, entry) = match &self.kind {
            SourceKind::Prometheus(server) => {
                let server = server.resolve(cx)?;
                let description = format!("prometheus at {}", server.url);
                let entry = Entry::prometheus_source(&self.name, Some(server.url.clone()));
                (SourceSpec::Prometheus(server), description, entry)
            }
            SourceKind::File { path } => (
                SourceSpec::File { path: path.into() },
                format!("the metrics file {path}, evaluated in-process"),
                Entry::file_source(&self.name, path),
            ),
            SourceKind::Logs(files) => {
                let paths: Vec<String> = files
                    .paths
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect();
                let mut description =
                    format!("the log files {}, read in-process", paths.join(", "));
                if files.format == LogFormat::Plain {
                    // Said where it is declared, so nobody reads the times as the lines' own.
                    description.push_str(
                        "; their lines carry no time: each has the time its file was last written",
                    );
                }
                let entry = Entry::logs_source(&self.name, &paths, &files.format.to_string());
                let spec = LogSpec::Files(files.clone());
                return self.apply_logs(spec, description, entry, span, cx).await;
            }
            SourceKind::Loki(server, tenant) => {
                let server = server.resolve(cx)?;
                let description = format!("loki at {}", server.url);
                let entry = Entry::loki_source(&self.name, Some(server.url.clone()));
                let spec = LogSpec::Loki(server, tenant.clone());
                return self.apply_logs(spec, description, entry, span, cx).await;
            }
            SourceKind::VictoriaLogs(server, tenant) => {
                let server = server.resolve(cx)?;
                let description = format!("victorialogs at {}, queried in LogsQL", server.url);
                let entry = Entry::victorialogs_source(&self.name, Some(server.url.clone()));
                let spec = LogSpec::VictoriaLogs(server, tenant.clone());
                return self.apply_logs(spec, description, entry, span, cx).await;
            }
        };
        cx.state.check_metrics_name(&self.name, span)?;
        let opened = cx
            .ops
            .open_source(&self.name, &spec)
            .await
            .map_err(|e| open_error(e, span))?;
        for credential in &opened.credentials {
            super::secret::keep(credential, span, cx)?;
        }
        let line = format!("source {}: {description}", self.name);
        let is_default = cx
            .state
            .add_source(NamedSource::new(&self.name, spec, opened.source));
        let role = if is_default {
            " (the default source)"
        } else {
            ""
        };
        cx.out.display(Bundle::plain(format!("{line}{role}")), None);
        cx.ops.note(entry).await;
        Ok(())
    }
}

impl Server {
    /// The server as the step runs it: its URL filled in and checked.
    fn resolve(&self, cx: &Context<'_>) -> Result<ServerSpec, CellError> {
        let url = cx.state.resolve(&self.url)?;
        check_url(&url, self.url_span)?;
        Ok(ServerSpec {
            url,
            headers: self.headers.clone(),
            auth: self.auth.clone(),
            timeout: self.timeout,
            max_answer: self.max_answer,
        })
    }
}

impl NewSource {
    async fn apply_logs(
        &self,
        spec: LogSpec,
        description: String,
        entry: Entry,
        span: Span,
        cx: &mut Context<'_>,
    ) -> Result<(), CellError> {
        // Reading large files takes seconds: an interrupt stops it, and declares nothing.
        let opened = super::query::interruptible(cx, span, cx.ops.open_logs(&self.name, &spec))
            .await?
            .map_err(|e| open_error(e, span))?;
        for credential in &opened.credentials {
            super::secret::keep(credential, span, cx)?;
        }
        let named = NamedLogs {
            name: self.name.clone(),
            spec,
            metrics: opened.source.metrics().map(Into::into),
            source: opened.source.into(),
            vocabulary: Default::default(),
        };
        let is_default = cx.state.add_log_source(named, span)?;
        let role = if is_default {
            " (the default log source)"
        } else {
            ""
        };
        cx.out.display(
            Bundle::plain(format!("source {}: {description}{role}", self.name)),
            None,
        );
        cx.ops.note(entry).await;
        Ok(())
    }
}
