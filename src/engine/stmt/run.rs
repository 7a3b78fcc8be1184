//! `run [--timeout D] [--confirm] COMMAND`

use crate::engine::error::{CellError, ErrorKind, Span};
use crate::engine::session::Value;
use crate::engine::syntax::{Template, Token, Tokens};
use crate::engine::{duration, Context};
use crate::ops::command::{CommandError, CommandSpec, Stream};
use crate::render;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Run {
    pub timeout: Option<Duration>,
    pub confirm: bool,
    pub command: Template,
}

pub fn parse(tokens: &mut Tokens) -> Result<Run, CellError> {
    let mut run = Run {
        timeout: None,
        confirm: false,
        command: Template { parts: vec![] },
    };
    loop {
        let before = tokens.pos;
        match tokens.token()? {
            Some((Token::Word(w), span)) if w.starts_with("--") => match w.as_str() {
                "--timeout" => {
                    let (value, value_span) =
                        tokens.word("a duration after --timeout, e.g. 30s")?;
                    run.timeout = Some(duration::parse(&value).ok_or_else(|| {
                        CellError::parse(
                            format!("`{value}` is not a duration; write e.g. 500ms, 30s, 5m or 1h"),
                            value_span,
                        )
                    })?);
                }
                "--confirm" => run.confirm = true,
                _ => {
                    return Err(CellError::parse(
                        format!("unknown option `{w}` of run: it takes --timeout D and --confirm"),
                        span,
                    ))
                }
            },
            _ => {
                tokens.pos = before;
                break;
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

impl Run {
    pub async fn apply(&self, span: Span, cx: &mut Context<'_>) -> Result<Value, CellError> {
        let command = cx.session.resolve(&self.command)?;
        if self.confirm {
            let prompt = format!("run `{command}`? [y/N] ");
            let answer = cx.out.ask(&prompt).await.ok_or_else(|| {
                CellError::new(
                    ErrorKind::ConsentRequired,
                    format!("`{command}` needs confirmation, and this frontend cannot ask for it; it was not run"),
                    span,
                )
            })?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                return Err(CellError::new(
                    ErrorKind::ConsentRequired,
                    format!("`{command}` was not confirmed; it was not run"),
                    span,
                ));
            }
        }
        let spec = CommandSpec {
            command,
            timeout: self.timeout,
        };
        let out = cx.out;
        let forward = |stream: Stream, text: String| out.stream(stream, text);
        match cx.commands.run(&spec, &forward, cx.interrupt).await {
            Ok(result) => {
                out.display(render::command_summary(&result));
                Ok(Value::Command(result))
            }
            Err(CommandError::Spawn(why)) => {
                Err(CellError::new(ErrorKind::CommandFailed, why, span))
            }
            Err(CommandError::TimedOut(after)) => Err(CellError::new(
                ErrorKind::CommandTimeout,
                format!(
                    "`{}` did not finish within {}; it was stopped",
                    spec.command,
                    render::human_duration(after)
                ),
                span,
            )),
            Err(CommandError::Interrupted(after)) => Err(CellError::new(
                ErrorKind::Interrupted,
                format!(
                    "`{}` was interrupted after {}; it was stopped",
                    spec.command,
                    render::human_duration(after)
                ),
                span,
            )),
        }
    }
}
