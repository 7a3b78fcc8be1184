//! Statements: one table of them ([`STATEMENTS`]), and one file each for parsing and applying,
//! as mini-redis does with its commands.
//! A cell is parsed whole before any step runs, so a typo on line 5 never leaves lines 1 to 4
//! half done.

pub mod check;
pub mod dry_run;
pub mod finding;
pub mod logs;
pub mod names;
pub mod param;
pub mod probe;
pub mod query;
pub mod replay;
pub mod run;
pub mod secret;
pub mod slo;
pub mod source;
pub mod window;

use super::context::Context;
use super::error::{CellError, ErrorKind, Span};
use super::syntax::{is_name, logical_lines, Line, Token, Tokens};
use crate::model::Value;
use crate::render;

/// One line of a playbook cell: a statement, maybe bound to a name.
#[derive(Debug, Clone)]
pub struct Step {
    pub binding: Option<String>,
    pub statement: Statement,
    /// The whole statement, for errors that concern all of it.
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Statement {
    Param(param::Param),
    Run(run::Run),
    Finding(finding::NewFinding),
    Findings,
    Source(source::NewSource),
    Window(super::window::Window),
    Query(query::Query),
    Logs(logs::Logs),
    Check(check::Check),
    Secret(secret::Secret),
    Probe(probe::Probe),
    Slo(slo::NewSlo),
    DryRun(bool),
    /// A line holding only a name shows its value again.
    Show(String),
    /// Answer steps from a recorded journal from here on.
    Replay(String),
    /// Answer steps from a recorded journal while it holds them, live after.
    Resume(String),
    /// Show where this session's journal is.
    Journal,
}

/// A statement of the language: its keyword, syntax and help (for errors, completion and
/// inspect), whether its result can be bound to a name, and its parser.
pub struct Keyword {
    pub name: &'static str,
    pub syntax: &'static str,
    pub help: &'static str,
    /// Whether `NAME = ...` may bind its result.
    pub binds: bool,
    parse: fn(&mut Tokens) -> Result<Statement, CellError>,
}

/// Every statement, in the order help lists them. Each module holds its statement's `parse`
/// and `apply`.
pub const STATEMENTS: &[Keyword] = &[
    Keyword {
        name: "param",
        syntax: "param NAME = VALUE",
        help: "Declares a parameter with its default value. `playbook run -p NAME=VALUE` overrides it; a cell tagged `parameters` may hold them, as in papermill.",
        binds: false,
        parse: |t| Ok(Statement::Param(param::parse(t)?)),
    },
    Keyword {
        name: "source",
        syntax: "source NAME prometheus URL [header K=V]... [token REF] [basic REF REF] [timeout D] [max-answer SIZE]\nsource NAME file PATH\nsource NAME logs PATH... [format json|logfmt|text] [label K=V]... [label FIELD]...\nsource NAME victorialogs URL [header K=V]... [token REF] [basic REF REF] [tenant ACCOUNT:PROJECT] [timeout D]",
        help: "Declares a metrics source: a Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics), or a metrics file evaluated in-process; or log files read in-process for `logs` (JSON lines, logfmt, text with a timestamp at the start of each line (RFC 3339, `2006-01-02 15:04:05`, syslog), or `plain` lines without one; `.gz` files decompressed; globs allowed; `label K=V` gives every stream a label, `label FIELD` takes one from each JSON or logfmt line), or a VictoriaLogs server, whose `logs` queries are LogsQL. The first source of each kind is its default. Secrets only by reference: env:VAR or file:PATH. `timeout` bounds each request (default 30s).",
        binds: false,
        parse: |t| Ok(Statement::Source(source::parse(t)?)),
    },
    Keyword {
        name: "window",
        syntax: "window START .. END [step D]\nwindow last D",
        help: "Sets the time range that queries and checks look at: RFC 3339 times, `now` or `now-2h`. The default is the last hour, with a step that gives 500 to 1,000 points a series.",
        binds: false,
        parse: |t| Ok(Statement::Window(window::parse(t)?)),
    },
    Keyword {
        name: "query",
        syntax: "query [@SOURCE] PROMQL [baseline OFFSET]\nquery [@SOURCE] instant PROMQL",
        help: "A range query over the window, drawn as a chart with a summary table; with a baseline, the same query shifted back by OFFSET (e.g. 7d) drawn dashed beside it, and the table shows the change. `instant` evaluates once, at the window's end.",
        binds: true,
        parse: |t| Ok(Statement::Query(query::parse(t)?)),
    },
    Keyword {
        name: "logs",
        syntax: "logs [@SOURCE] LOGQL [limit N] [fields A, B] [collapse off]",
        help: "The lines a LogQL log query selects in the window, newest first (at most N, 1,000 by default; the heading says how many matched in all), under a chart of how many matched in each step, by level; then a table of time, the labels that tell the streams apart, a column per `fields` name, and the line; runs of the same line are shown once with their count unless `collapse off`. Bound, `{{NAME.count}}` inserts how many matched. The embedded engine over log files evaluates stream selectors, line filters (|= != |~ !~), the json and logfmt parsers and label filters; what it does not evaluate yet is an UnsupportedInEmbeddedEngine error.",
        binds: true,
        parse: |t| Ok(Statement::Logs(logs::parse(t)?)),
    },
    Keyword {
        name: "run",
        syntax: "run [--timeout D] [--confirm] [--leave-running] [--cwd DIR] [--env K=V]... COMMAND",
        help: "Runs COMMAND with `sh -c` in its own process group. Output streams live; the result is the exit code, the duration and the output (up to 10 MiB a stream). A non-zero exit is a result, not an error. `--timeout` stops it after D (e.g. 30s); `--confirm` asks before it runs, as do commands the policy marks as changing things (kubectl delete, rm, systemctl restart, ...). Denied commands never start. When the command ends (or is interrupted or times out), whatever it left running (background jobs, double forks, `setsid`) is stopped, and the result says how many; `--leave-running` keeps them running, and asks first, as that changes things.",
        binds: true,
        parse: |t| Ok(Statement::Run(run::parse(t)?)),
    },
    Keyword {
        name: "secret",
        syntax: "secret NAME from env:VAR\nsecret NAME from file:PATH",
        help: "Reads a secret; `{{NAME}}` passes it into a statement, and its value is masked in every output.",
        binds: false,
        parse: |t| Ok(Statement::Secret(secret::parse(t)?)),
    },
    Keyword {
        name: "dry-run",
        syntax: "dry-run on\ndry-run off",
        help: "While on, commands are shown, not started.",
        binds: false,
        parse: |t| Ok(Statement::DryRun(dry_run::parse(t)?)),
    },
    Keyword {
        name: "probe",
        syntax: "probe URL [expect STATUS] [within D] [header K=V]... [insecure]",
        help: "An HTTP GET as a synthetic canary: status, latency, body size and, for https, the days until the certificate expires. Passes on the expected status (any 2xx by default) within the deadline (10 s by default); a failure is a result, not an error. `insecure` accepts a self-signed certificate.",
        binds: true,
        parse: |t| Ok(Statement::Probe(probe::parse(t)?)),
    },
    Keyword {
        name: "slo",
        syntax: "slo NAME [@SOURCE] objective P% good SELECTOR total SELECTOR [period D]\nslo NAME [@SOURCE] objective P% latency HISTOGRAM le BOUND [period D]",
        help: "A service level objective over two counters (good events and all events), or over a histogram (the good events are those in the bucket at `le`). Shows the SLI over the window against the objective, the error budget left over the period (30d by default) and when it runs out at the last hour's burn, the burn rate over 5m, 30m, 1h, 2h, 6h, 1d and 3d, and the SRE workbook's page and ticket conditions (1h and 5m above 14.4, 6h and 30m above 6, 1d and 2h above 3, 3d and 6h above 1) with when each first fired in the window. A burn window that reaches back before the source's data is reported as too short, not computed on less. Binds NAME, for `check \"T\": slo NAME` and `finding ... evidence NAME`.",
        binds: false,
        parse: |t| Ok(Statement::Slo(slo::parse(t)?)),
    },
    Keyword {
        name: "check",
        syntax: "check \"TITLE\": [@SOURCE] PROMQL\ncheck \"TITLE\": run COMMAND\ncheck \"TITLE\": probe URL ...\ncheck \"TITLE\": slo NAME",
        help: "A condition that must hold: fails when the PromQL returns a sample in the window, the command exits non-zero, the probe misses its expectation, or a page condition of the SLO fires in the window (or cannot be told for lack of history). Checks join the findings.",
        binds: true,
        parse: |t| Ok(Statement::Check(check::parse(t)?)),
    },
    Keyword {
        name: "finding",
        syntax: "finding SEVERITY \"TEXT\" [evidence NAME, ...]",
        help: "Records a finding (critical, high, medium, low, info) with its time and the bound steps that support it.",
        binds: true,
        parse: |t| Ok(Statement::Finding(finding::parse(t)?)),
    },
    Keyword {
        name: "findings",
        syntax: "findings",
        help: "Shows every finding of the session as a timeline, with a count by severity.",
        binds: false,
        parse: |t| {
            t.finish()?;
            Ok(Statement::Findings)
        },
    },
    Keyword {
        name: "replay",
        syntax: "replay JOURNAL",
        help: "From here on, answers every query, command and probe from a recorded journal, by its input, in order, with `now` as recorded: nothing reaches the world and no command runs. A step the journal does not hold is a NotRecorded error.",
        binds: false,
        parse: |t| Ok(Statement::Replay(replay::parse(t)?)),
    },
    Keyword {
        name: "resume",
        syntax: "resume JOURNAL",
        help: "Goes on from a recorded journal (signed by a key you trust): the steps that follow are answered from it, by their input, in order, as on replay, with secrets read; the first step it does not hold runs live, and every step after it. A command it holds does not run again.",
        binds: false,
        parse: |t| Ok(Statement::Resume(replay::parse(t)?)),
    },
    Keyword {
        name: "journal",
        syntax: "journal",
        help: "Shows where this session's steps are recorded (JSON Lines, one step a line, hash-chained).",
        binds: false,
        parse: |t| {
            t.finish()?;
            Ok(Statement::Journal)
        },
    },
];

pub fn keyword(name: &str) -> Option<&'static Keyword> {
    STATEMENTS.iter().find(|k| k.name == name)
}

impl Statement {
    /// Applies the statement; its result, for the statements that give one. Each statement
    /// writes its own journal entry, or is recorded by the op it calls.
    pub async fn apply(
        &self,
        span: Span,
        cx: &mut Context<'_>,
    ) -> Result<Option<Value>, CellError> {
        Ok(match self {
            Statement::Param(param) => {
                param.apply(cx.state);
                None
            }
            Statement::Run(run) => Some(run.apply(span, cx).await?),
            Statement::Finding(finding) => Some(finding.apply(cx).await?),
            Statement::Findings => {
                finding::show_all(cx);
                None
            }
            Statement::Show(name) => {
                let value = cx.state.get(name).ok_or_else(|| unknown_name(name, span))?;
                cx.out.result(render::value(value));
                None
            }
            Statement::Source(source) => {
                source.apply(span, cx).await?;
                None
            }
            Statement::Window(new) => {
                window::apply(new, span, cx).await?;
                None
            }
            Statement::Query(query) => Some(query.apply(cx).await?),
            Statement::Logs(logs) => Some(logs.apply(cx).await?),
            Statement::Probe(probe) => Some(probe.apply(span, cx).await?),
            Statement::Secret(secret) => {
                secret.apply(span, cx).await?;
                None
            }
            Statement::Slo(new) => {
                new.apply(span, cx).await?;
                None
            }
            Statement::DryRun(on) => {
                dry_run::apply(*on, cx);
                None
            }
            Statement::Check(check) => Some(check.apply(span, cx).await?),
            Statement::Replay(path) => {
                replay::apply(path, span, cx).await?;
                None
            }
            Statement::Resume(path) => {
                replay::resume(path, span, cx).await?;
                None
            }
            Statement::Journal => {
                replay::show_journal(cx);
                None
            }
        })
    }
}

/// Switches the session's ops to `mode`, the sources already declared opened again in it under
/// the same names; a source that cannot be is an error of `kind`.
pub(crate) async fn switch_mode(
    cx: &mut Context<'_>,
    mode: crate::engine::stack::Mode,
    kind: ErrorKind,
    span: Span,
) -> Result<(), CellError> {
    cx.ops.switch(mode);
    cx.state
        .reopen_sources(cx.ops)
        .await
        .map_err(|e| CellError::new(kind, e.to_string(), span))
}

pub(crate) fn unknown_name(name: &str, span: Span) -> CellError {
    CellError::new(
        ErrorKind::UnknownName,
        format!("`{name}` is not defined in this session: bind it with `{name} = run ...` or declare it with `param {name} = ...`"),
        span,
    )
}

/// Parses a whole cell into its steps, or the first error in it.
pub fn parse_cell(cell: &str) -> Result<Vec<Step>, CellError> {
    logical_lines(cell)?.iter().map(parse_line).collect()
}

fn parse_line(line: &Line) -> Result<Step, CellError> {
    let mut tokens = Tokens::new(line, 0);
    let (first, first_span) = match tokens.token()? {
        Some((Token::Word(w), span)) => (w, span),
        Some((_, span)) => return Err(CellError::parse(expected_statement(), span)),
        None => return Err(tokens.missing("a statement")),
    };
    if let Some(keyword) = keyword(&first) {
        let statement = (keyword.parse)(&mut tokens)?;
        return Ok(Step {
            binding: None,
            statement,
            span: line.whole(),
        });
    }
    if !is_name(&first) {
        return Err(unknown_statement(&first, first_span));
    }
    if tokens.at_end() {
        return Ok(Step {
            binding: None,
            statement: Statement::Show(first),
            span: line.whole(),
        });
    }
    match tokens.token()? {
        Some((Token::Punct('='), _)) => {}
        _ => return Err(unknown_statement(&first, first_span)),
    }
    let (keyword, keyword_span) = tokens.word("a statement after `=`")?;
    let bindable: Vec<&str> = STATEMENTS
        .iter()
        .filter(|k| k.binds)
        .map(|k| k.name)
        .collect();
    let statement = match self::keyword(&keyword) {
        Some(found) if found.binds => (found.parse)(&mut tokens)?,
        Some(_) => {
            return Err(CellError::parse(
                format!(
                    "`{keyword}` gives no result to bind; only {} can be bound",
                    bindable.join(", ")
                ),
                keyword_span,
            ))
        }
        None => {
            return Err(CellError::parse(
                format!(
                    "`{keyword}` is not a statement; a binding takes one of {}",
                    bindable.join(", ")
                ),
                keyword_span,
            ))
        }
    };
    Ok(Step {
        binding: Some(first),
        statement,
        span: line.whole(),
    })
}

fn expected_statement() -> String {
    let keywords: Vec<&str> = STATEMENTS.iter().map(|k| k.name).collect();
    format!(
        "expected a statement: one of {}, or NAME = STATEMENT",
        keywords.join(", ")
    )
}

fn unknown_statement(word: &str, span: Span) -> CellError {
    let suggestion = STATEMENTS
        .iter()
        .map(|k| k.name)
        .filter(|k| edit_distance(k, word) <= 2)
        .min_by_key(|k| edit_distance(k, word))
        .map(|k| format!("; did you mean `{k}`?"))
        .unwrap_or_default();
    CellError::parse(
        format!(
            "unknown statement `{word}`{suggestion} ({})",
            expected_statement()
        ),
        span,
    )
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests;
