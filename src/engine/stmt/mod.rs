//! Statements: one file each for parsing and applying, as mini-redis does with its commands.
//! A cell is parsed whole before any step runs, so a typo on line 5 never leaves lines 1 to 4
//! half done.

pub mod check;
pub mod dry_run;
pub mod finding;
pub mod param;
pub mod probe;
pub mod query;
pub mod replay;
pub mod run;
pub mod secret;
pub mod source;
pub mod window;

use super::error::{CellError, Span};
use super::syntax::{is_name, logical_lines, Line, Token, Tokens};

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
    Check(check::Check),
    Secret(secret::Secret),
    Probe(probe::Probe),
    DryRun(bool),
    /// A line holding only a name shows its value again.
    Show(String),
    /// Answer steps from a recorded journal from here on.
    Replay(String),
    /// Show where this session's journal is.
    Journal,
}

/// Every statement keyword, its syntax and what it does: for errors, completion and inspect.
pub const KEYWORDS: &[(&str, &str, &str)] = &[
    ("param", "param NAME = VALUE", "Declares a parameter with its default value. `playbook run -p NAME=VALUE` overrides it; a cell tagged `parameters` may hold them, as in papermill."),
    ("source", "source NAME prometheus URL [header K=V]... [token REF] [basic REF REF] [timeout D]\nsource NAME file PATH", "Declares a metrics source: a Prometheus-compatible server (Prometheus, Thanos, Mimir, VictoriaMetrics), or a metrics file evaluated in-process. The first source is the default. Secrets only by reference: env:VAR or file:PATH. `timeout` bounds each request (default 30s)."),
    ("window", "window START .. END [step D]\nwindow last D", "Sets the time range that queries and checks look at: RFC 3339 times, `now` or `now-2h`. The default is the last hour, with a step that gives 500 to 1,000 points a series."),
    ("query", "query [@SOURCE] PROMQL [baseline OFFSET]\nquery [@SOURCE] instant PROMQL", "A range query over the window, drawn as a chart with a summary table; with a baseline, the same query shifted back by OFFSET (e.g. 7d) drawn dashed beside it, and the table shows the change. `instant` evaluates once, at the window's end."),
    ("run", "run [--timeout D] [--confirm] [--cwd DIR] [--env K=V]... COMMAND", "Runs COMMAND with `sh -c` in its own process group. Output streams live; the result is the exit code, the duration and the output (up to 10 MiB a stream). A non-zero exit is a result, not an error. `--timeout` stops it after D (e.g. 30s); `--confirm` asks before it runs, as do commands the policy marks as changing things (kubectl delete, rm, systemctl restart, ...). Denied commands never start."),
    ("secret", "secret NAME from env:VAR\nsecret NAME from file:PATH", "Reads a secret; `{{NAME}}` passes it into a statement, and its value is masked in every output."),
    ("dry-run", "dry-run on\ndry-run off", "While on, commands are shown, not started."),
    ("probe", "probe URL [expect STATUS] [within D] [header K=V]... [insecure]", "An HTTP GET as a synthetic canary: status, latency, body size and, for https, the days until the certificate expires. Passes on the expected status (any 2xx by default) within the deadline (10 s by default); a failure is a result, not an error. `insecure` accepts a self-signed certificate."),
    ("check", "check \"TITLE\": PROMQL\ncheck \"TITLE\": run COMMAND\ncheck \"TITLE\": probe URL ...", "A condition that must hold: fails when the PromQL returns a sample in the window, the command exits non-zero, or the probe misses its expectation. Checks join the findings."),
    ("finding", "finding SEVERITY \"TEXT\" [evidence NAME, ...]", "Records a finding (critical, high, medium, low, info) with its time and the bound steps that support it."),
    ("findings", "findings", "Shows every finding of the session as a timeline, with a count by severity."),
    ("replay", "replay JOURNAL", "From here on, answers every query, command and probe from a recorded journal, by its input, in order, with `now` as recorded: nothing reaches the world and no command runs. A step the journal does not hold is a NotRecorded error."),
    ("journal", "journal", "Shows where this session's steps are recorded (JSON Lines, one step a line, hash-chained)."),
];

pub fn help(keyword: &str) -> Option<(&'static str, &'static str)> {
    KEYWORDS
        .iter()
        .find(|(k, _, _)| *k == keyword)
        .map(|(_, syntax, text)| (*syntax, *text))
}

const BINDABLE: &[&str] = &["run", "query", "probe", "check", "finding"];

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
    if help(&first).is_some() {
        let statement = parse_statement(&first, &mut tokens)?;
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
    if !BINDABLE.contains(&keyword.as_str()) {
        let message = if help(&keyword).is_some() {
            format!(
                "`{keyword}` gives no result to bind; only {} can be bound",
                BINDABLE.join(", ")
            )
        } else {
            format!(
                "`{keyword}` is not a statement; a binding takes one of {}",
                BINDABLE.join(", ")
            )
        };
        return Err(CellError::parse(message, keyword_span));
    }
    let statement = parse_statement(&keyword, &mut tokens)?;
    Ok(Step {
        binding: Some(first),
        statement,
        span: line.whole(),
    })
}

fn parse_statement(keyword: &str, tokens: &mut Tokens) -> Result<Statement, CellError> {
    Ok(match keyword {
        "param" => Statement::Param(param::parse(tokens)?),
        "run" => Statement::Run(run::parse(tokens)?),
        "finding" => Statement::Finding(finding::parse(tokens)?),
        "findings" => {
            tokens.finish()?;
            Statement::Findings
        }
        "source" => Statement::Source(source::parse(tokens)?),
        "window" => Statement::Window(window::parse(tokens)?),
        "query" => Statement::Query(query::parse(tokens)?),
        "check" => Statement::Check(check::parse(tokens)?),
        "secret" => Statement::Secret(secret::parse(tokens)?),
        "probe" => Statement::Probe(probe::parse(tokens)?),
        "dry-run" => Statement::DryRun(dry_run::parse(tokens)?),
        "replay" => Statement::Replay(replay::parse(tokens)?),
        "journal" => {
            tokens.finish()?;
            Statement::Journal
        }
        other => unreachable!("`{other}` is in KEYWORDS but has no parser"),
    })
}

fn expected_statement() -> String {
    let keywords: Vec<&str> = KEYWORDS.iter().map(|(k, _, _)| *k).collect();
    format!(
        "expected a statement: one of {}, or NAME = STATEMENT",
        keywords.join(", ")
    )
}

fn unknown_statement(word: &str, span: Span) -> CellError {
    let suggestion = KEYWORDS
        .iter()
        .map(|(k, _, _)| *k)
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
