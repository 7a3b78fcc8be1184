//! `run [--timeout D] [--confirm] [--leave-running] [--cwd DIR] [--env K=V]... COMMAND`
//!
//! Before a command starts, the policy judges it: denied commands never start, and commands that
//! change things (or carry `--confirm`, or `--leave-running`) run only with the user's consent,
//! asked through the frontend. Where nobody can answer, the command does not run.

use crate::engine::context::Context;
use crate::engine::duration;
use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::syntax::{Template, Token, Tokens};
use crate::model::Value;
use crate::ops::command::{CommandError, CommandResult, CommandSpec, Leftovers, Stream};
use crate::ops::policy::{self, Judgement};
use crate::ops::Io;
use crate::render;
use std::cell::Cell;
use std::time::{Duration, Instant};

/// A command running longer than this shows a live line with its elapsed time and output size.
const ALIVE_AFTER: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Run {
    pub timeout: Option<Duration>,
    pub confirm: bool,
    /// What the command leaves running stays running: a change, so it needs consent.
    pub leave_running: bool,
    pub cwd: Option<Template>,
    pub env: Vec<(String, Template)>,
    pub command: Template,
}

pub fn parse(tokens: &mut Tokens) -> Result<Run, CellError> {
    let mut run = Run {
        timeout: None,
        confirm: false,
        leave_running: false,
        cwd: None,
        env: Vec::new(),
        command: Template { parts: vec![] },
    };
    loop {
        let before = tokens.pos;
        let (option, span) = match tokens.token()? {
            Some((Token::Word(w), span)) if w.starts_with("--") => (w, span),
            _ => {
                tokens.pos = before;
                break;
            }
        };
        match option.as_str() {
            "--timeout" => {
                let (value, value_span) = tokens.word("a duration after --timeout, e.g. 30s")?;
                run.timeout = Some(duration::parse(&value).ok_or_else(|| {
                    CellError::parse(
                        format!("`{value}` is not a duration; write e.g. 500ms, 30s, 5m or 1h"),
                        value_span,
                    )
                })?);
            }
            "--confirm" => run.confirm = true,
            "--leave-running" => run.leave_running = true,
            "--cwd" | "--env" => {
                let (start, end) = option_value(tokens);
                if start == end {
                    return Err(tokens.missing(&format!("a value after {option}")));
                }
                let value = Template::parse(tokens.line, start, end)?;
                if option == "--cwd" {
                    run.cwd = Some(value);
                    continue;
                }
                let text: String = tokens.line.text[start..end].iter().collect();
                let Some((name, _)) = text.split_once('=') else {
                    return Err(CellError::parse(
                        "--env takes NAME=VALUE",
                        tokens.line.span(start, end),
                    ));
                };
                let value_start = start + name.chars().count() + 1;
                run.env.push((
                    name.to_owned(),
                    Template::parse(tokens.line, value_start, end)?,
                ));
            }
            _ => {
                return Err(CellError::parse(
                    format!("unknown option `{option}` of run: it takes --timeout D, --confirm, --leave-running, --cwd DIR and --env K=V"),
                    span,
                ))
            }
        }
    }
    let (start, end) = tokens.rest();
    if start == end {
        return Err(tokens.missing("a command to run"));
    }
    run.command = Template::parse(tokens.line, start, end)?;
    Ok(run)
}

/// The next blank-separated word, raw: paths and values may hold `:` and `=`.
fn option_value(tokens: &mut Tokens) -> (usize, usize) {
    let text = &tokens.line.text;
    let mut start = tokens.pos;
    while start < text.len() && text[start].is_whitespace() {
        start += 1;
    }
    let mut end = start;
    while end < text.len() && !text[end].is_whitespace() {
        end += 1;
    }
    tokens.pos = end;
    (start, end)
}

impl Run {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<Value, CellError> {
        // A value is one word of the command wherever it sits: it never adds shell syntax. A
        // secret is always quoted, so that the command reads the same with its mask in place
        // (on replay) as with its value.
        let command = cx
            .state
            .resolve_with(&self.command, policy::quote::insert)?;
        let cwd = match &self.cwd {
            Some(dir) => Some(cx.state.resolve(dir)?.into()),
            None => None,
        };
        let mut env = Vec::new();
        for (name, value) in &self.env {
            env.push((name.clone(), cx.state.resolve(value)?));
        }
        let spec = CommandSpec {
            command,
            timeout: self.timeout,
            cwd,
            env,
            leave_running: self.leave_running,
        };
        self.consent(&spec, span, cx).await?;
        match run_showing_progress(&spec, cx).await {
            Ok(result) => Ok(Value::Command(result)),
            Err(CommandError::NotRecorded(missing)) => {
                Err(CellError::new(ErrorKind::NotRecorded, missing.0, span))
            }
            Err(CommandError::Spawn(why)) => {
                Err(CellError::new(ErrorKind::CommandFailed, why, span))
            }
            Err(CommandError::TimedOut { after, stopped }) => Err(CellError::new(
                ErrorKind::CommandTimeout,
                format!(
                    "`{}` did not finish within {}; it was stopped{}",
                    spec.command,
                    render::human_duration(after),
                    and_leftovers(stopped)
                ),
                span,
            )),
            Err(CommandError::Interrupted { after, stopped }) => Err(CellError::new(
                ErrorKind::Interrupted,
                format!(
                    "`{}` was interrupted after {}; it was stopped{}",
                    spec.command,
                    render::human_duration(after),
                    and_leftovers(stopped)
                ),
                span,
            )),
        }
    }

    /// Ok when the command may start; the error says why not.
    async fn consent(
        &self,
        spec: &CommandSpec,
        span: Span,
        cx: &mut Context<'_>,
    ) -> Result<(), CellError> {
        let command = &spec.command;
        let refuse = |kind, message: String| Err(CellError::new(kind, message, span));
        let judgement = match &cx.config.policy {
            Ok(policy) => policy
                .judge(command, &spec.env, spec.cwd.as_deref())
                .leaving_running(spec.leave_running),
            Err(problem) => {
                return refuse(
                    ErrorKind::CommandDenied,
                    format!("no command runs while the policy is broken: {problem}"),
                )
            }
        };
        let reason = match judgement {
            Judgement::Denied(why) => {
                return refuse(
                    ErrorKind::CommandDenied,
                    format!("`{command}` was not run: {why}"),
                )
            }
            Judgement::NeedsConsent(why) => why,
            Judgement::Allowed if self.confirm => "it is marked --confirm".to_owned(),
            Judgement::Allowed => return Ok(()),
        };
        if !cx.ops.asks_consent() {
            return Ok(());
        }
        if cx.config.approve_all {
            cx.out.display(
                render::Bundle::plain(format!(
                    "approved in advance (--yes): `{command}`: {reason}"
                )),
                None,
            );
            return Ok(());
        }
        let prompt = format!("run `{command}`? {reason}. [y/N] ");
        match cx.out.ask(&prompt).await {
            Some(answer) if matches!(answer.trim(), "y" | "Y" | "yes") => Ok(()),
            Some(_) => refuse(
                ErrorKind::ConsentRequired,
                format!("`{command}` was not confirmed; it was not run"),
            ),
            None => refuse(
                ErrorKind::ConsentRequired,
                format!("`{command}` needs confirmation ({reason}), and nobody can give it here: this frontend allows no input, and headless runs need --yes; it was not run"),
            ),
        }
    }
}

/// The end of the message of a command stopped before it finished.
fn and_leftovers(stopped: usize) -> String {
    render::leftovers_text(Leftovers::Stopped(stopped))
        .map(|text| format!(", and {text}"))
        .unwrap_or_default()
}

/// Runs the command, streaming its output; past [`ALIVE_AFTER`] a live line shows that it is
/// still working, and becomes the summary when it ends.
async fn run_showing_progress(
    spec: &CommandSpec,
    cx: &Context<'_>,
) -> Result<CommandResult, CommandError> {
    let out = cx.out;
    let bytes = Cell::new(0u64);
    let forward = |stream: Stream, text: String| {
        bytes.set(bytes.get() + text.len() as u64);
        out.stream(stream, text);
    };
    let io = Io {
        output: &forward,
        interrupt: cx.interrupt,
    };
    let running = cx.ops.commands.run(spec, io);
    tokio::pin!(running);
    let started = Instant::now();
    let id = format!("run-{}", uuid::Uuid::new_v4());
    let mut shown = false;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::now() + ALIVE_AFTER,
        Duration::from_secs(1),
    );
    let result = loop {
        tokio::select! {
            result = &mut running => break result,
            _ = tick.tick() => {
                let line = render::command_progress(&spec.command, started.elapsed(), bytes.get());
                if shown {
                    out.update_display(line, &id);
                } else {
                    out.display(line, Some(&id));
                    shown = true;
                }
            }
        }
    };
    let last = match &result {
        Ok(result) => render::command_summary(result),
        Err(_) => render::command_stopped(&spec.command, started.elapsed()),
    };
    match (shown, &result) {
        (true, _) => out.update_display(last, &id),
        (false, Ok(_)) => out.display(last, None),
        (false, Err(_)) => {}
    }
    result
}
