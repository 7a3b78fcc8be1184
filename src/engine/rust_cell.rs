//! `%%rust` cells, on the engine's side: the cell goes to the Rust evaluator with the session's
//! bound results, and what comes back is shown, and its findings join the session's timeline.

use super::context::Context;
use super::error::{CellError, ErrorKind, Span};
use super::session::Investigation;
use super::stmt;
use crate::model::Value;
use crate::ops::command::{Exit, Stream};
use crate::ops::finding::Finding;
use crate::ops::metrics::QueryResult;
use crate::ops::rust::{Diagnostic, RustError, RustRun};
use crate::ops::Io;
use crate::render;
use playbook_bridge as bridge;
use std::collections::BTreeMap;

const MARKER: &str = "%%rust";

/// The line (0-based) of a cell's `%%rust` marker: its first line that is not blank.
pub fn marker(cell: &str) -> Option<usize> {
    let (index, first) = cell
        .lines()
        .enumerate()
        .find(|(_, line)| !line.trim().is_empty())?;
    (first.trim() == MARKER).then_some(index)
}

/// The cell as Rust: the marker line blanked, so that lines and byte offsets stay those of the
/// cell, as compiler errors and completion positions must.
pub fn code(cell: &str, marker: usize) -> String {
    cell.split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == marker {
                line.replace(MARKER, &" ".repeat(MARKER.len()))
            } else {
                line.to_owned()
            }
        })
        .collect()
}

/// The session's bound results as the bridge hands them to Rust. Secrets are left out.
pub fn bound(session: &Investigation) -> BTreeMap<String, bridge::Bound> {
    session
        .names()
        .filter_map(|name| Some((name.to_owned(), to_bridge(session.get(name)?)?)))
        .collect()
}

fn series(labels: &crate::ops::metrics::Labels, points: &[(f64, f64)]) -> bridge::Series {
    bridge::Series {
        labels: labels.clone(),
        samples: points
            .iter()
            .map(|&(time, value)| bridge::Sample { time, value })
            .collect(),
    }
}

fn to_bridge(value: &Value) -> Option<bridge::Bound> {
    Some(match value {
        // Neither is offered to Rust yet: a secret never is, an SLO has no bridge type.
        Value::Secret { .. } | Value::Slo(_) => return None,
        Value::Text(text) => bridge::Bound::Text {
            value: text.clone(),
        },
        Value::Number(n) => bridge::Bound::Number { value: *n },
        Value::Query(query) => bridge::Bound::Query(bridge::Query {
            expr: query.expr.clone(),
            start: query.range.start,
            end: query.range.end,
            step: query.range.step,
            series: match &query.result {
                QueryResult::Matrix(all) => {
                    all.iter().map(|s| series(&s.labels, &s.points)).collect()
                }
                QueryResult::Vector(samples) => samples
                    .iter()
                    .map(|s| series(&s.labels, &[(s.time, s.value)]))
                    .collect(),
                QueryResult::Scalar { time, value } => {
                    vec![series(&Default::default(), &[(*time, *value)])]
                }
                QueryResult::String { .. } => Vec::new(),
            },
        }),
        Value::Command(result) => bridge::Bound::Command(bridge::CommandResult {
            command: result.command.clone(),
            exit_code: match result.exit {
                Exit::Code(code) => Some(code),
                _ => None,
            },
            signal: match result.exit {
                Exit::Signal(signal) => Some(signal),
                _ => None,
            },
            duration_ms: result.duration.as_millis() as u64,
            stdout: result.stdout.clone(),
            stderr: result.stderr.clone(),
            truncated: result.truncated,
        }),
        Value::Finding(finding) => bridge::Bound::Finding(bridge::Finding {
            severity: finding.severity,
            text: finding.text.clone(),
            evidence: finding.evidence.clone(),
            at: finding.at.to_rfc3339(),
        }),
        Value::Check(check) => bridge::Bound::Check(bridge::CheckResult {
            title: check.title.clone(),
            passed: check.passed,
            detail: check.detail.clone(),
            at: check.at.to_rfc3339(),
        }),
        Value::Logs(logs) => bridge::Bound::Logs(bridge::Logs {
            query: logs.query.clone(),
            start: logs.range.start,
            end: logs.range.end,
            matched: logs.selection.matched,
            lines: (logs.selection.lines.iter())
                .map(|l| bridge::LogLine {
                    time_ns: l.at_ns,
                    labels: l.labels.clone(),
                    line: l.line.clone(),
                })
                .collect(),
        }),
        Value::Probe(probe) => bridge::Bound::Probe(bridge::ProbeResult {
            url: probe.url.clone(),
            status: probe.status,
            latency_ms: probe.latency.as_secs_f64() * 1000.0,
            passed: probe.passed,
            reason: probe.reason.clone(),
        }),
    })
}

/// A finding recorded from Rust, checked as a `finding` statement's is.
fn finding(cx: &Context<'_>, recorded: &bridge::Finding) -> Result<Finding, CellError> {
    if let Some(name) = recorded.evidence.iter().find(|n| cx.state.get(n).is_none()) {
        return Err(CellError::unplaced(
            ErrorKind::UnknownName,
            format!(
                "the finding \"{}\" names evidence `{name}`, which is not bound in this session",
                recorded.text
            ),
        ));
    }
    Ok(Finding {
        severity: recorded.severity,
        text: recorded.text.clone(),
        evidence: recorded.evidence.clone(),
        at: cx.ops.stamp(),
    })
}

fn error(problem: RustError) -> CellError {
    let message = problem.to_string();
    match problem {
        RustError::Unavailable(_) => CellError::unplaced(ErrorKind::RustUnavailable, message),
        RustError::Compile(diagnostics) => compile_error(&diagnostics),
        RustError::Panic(_) => CellError::unplaced(ErrorKind::Panic, message),
        RustError::Interrupted => CellError::unplaced(ErrorKind::Interrupted, message),
        RustError::ProcessEnded(_) | RustError::Failed(_) => {
            CellError::unplaced(ErrorKind::RustError, message)
        }
        RustError::NotRecorded(_) => CellError::unplaced(ErrorKind::NotRecorded, message),
    }
}

/// One error for the whole cell, led by (and placed at) the first error the compiler placed.
fn compile_error(diagnostics: &[Diagnostic]) -> CellError {
    let lead = diagnostics.iter().position(|d| d.at.is_some()).unwrap_or(0);
    let Some(first) = diagnostics.get(lead) else {
        return CellError::unplaced(ErrorKind::CompileError, "the cell did not compile");
    };
    let mut message = first.message.clone();
    let others: Vec<String> = diagnostics
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != lead)
        .map(|(_, d)| match d.at {
            Some((line, column, _)) => format!("{} (line {line}, column {column})", d.message),
            None => d.message.clone(),
        })
        .collect();
    if !others.is_empty() {
        message.push_str(&format!("; also: {}", others.join("; ")));
    }
    match first.at {
        Some((line, column, len)) => {
            CellError::new(ErrorKind::CompileError, message, Span { line, column, len })
        }
        None => CellError::unplaced(ErrorKind::CompileError, message),
    }
}

/// Runs a Rust cell whose marker is on line `marker`, through the session's Rust cells op.
pub async fn run(cell: &str, marker: usize, cx: &mut Context<'_>) -> Result<(), CellError> {
    let values = bound(cx.state);
    let out = cx.out;
    let forward = |stream: Stream, text: String| out.stream(stream, text);
    let run: RustRun = cx
        .ops
        .rust
        .eval(
            &code(cell, marker),
            &values,
            Io {
                output: &forward,
                interrupt: cx.interrupt,
            },
        )
        .await
        .map_err(error)?;
    if !run.display.is_empty() {
        out.display(render::shown(&run.display), None);
    }
    for recorded in &run.findings {
        let finding = finding(cx, recorded)?;
        stmt::finding::add(cx, finding).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_is_the_first_line_that_is_not_blank() {
        assert_eq!(marker("%%rust\nlet x = 1;"), Some(0));
        assert_eq!(marker("\n  %%rust  \nlet x = 1;"), Some(1));
        assert_eq!(marker("run echo %%rust"), None);
        assert_eq!(marker("# %%rust\n%%rust"), None);
    }

    #[test]
    fn blanking_the_marker_keeps_lines_and_offsets() {
        let cell = "\n%%rust\nlet é = 1;\n";
        let rust = code(cell, 1);
        assert_eq!(rust, "\n      \nlet é = 1;\n");
        assert_eq!(rust.len(), cell.len());
    }

    #[test]
    fn compile_errors_are_one_error_at_the_first_placed_one() {
        let error = compile_error(&[
            Diagnostic {
                message: "unused".into(),
                at: None,
            },
            Diagnostic {
                message: "mismatched types".into(),
                at: Some((3, 18, 6)),
            },
        ]);
        assert_eq!(error.kind, ErrorKind::CompileError);
        assert_eq!(
            error.span,
            Some(Span {
                line: 3,
                column: 18,
                len: 6
            })
        );
        assert_eq!(error.message, "mismatched types; also: unused");
    }
}
