//! Steps as journal JSON, and back: the canonical inputs (their keys) and the results replay
//! answers with. Query results keep the Prometheus API's own shape, values as strings, so NaN and
//! ±Inf survive.

use crate::ops::command::{CommandResult, CommandSpec, Exit};
use crate::ops::metrics::{
    format_value, Answer, MetricInfo, QueryResult, Range, Series, SourceError,
};
use crate::ops::probe::{ProbeResult, ProbeSpec};
use crate::ops::rust::{RustError, RustRun};
use serde_json::{json, Value};
use std::time::Duration;

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn duration_ms(value: &Value) -> Duration {
    Duration::from_millis(value.as_u64().unwrap_or(0))
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Only the names of variables and headers: their values may be secrets.
pub fn command_input(spec: &CommandSpec) -> Value {
    let env: Vec<&str> = spec.env.iter().map(|(k, _)| k.as_str()).collect();
    json!({
        "command": spec.command,
        "cwd": spec.cwd.as_ref().map(|d| d.display().to_string()),
        "env": env,
        "timeout_ms": spec.timeout.map(ms),
    })
}

pub fn command_result(result: &CommandResult) -> Value {
    let exit = match result.exit {
        Exit::Code(code) => json!({ "code": code }),
        Exit::Signal(signal) => json!({ "signal": signal }),
        Exit::NotRun => json!("not_run"),
    };
    json!({
        "exit": exit,
        "duration_ms": ms(result.duration),
        "stdout": result.stdout,
        "stderr": result.stderr,
        "truncated": result.truncated,
    })
}

pub fn command_result_from(value: &Value, command: &str) -> CommandResult {
    let exit = &value["exit"];
    let exit = if let Some(code) = exit["code"].as_i64() {
        Exit::Code(code as i32)
    } else if let Some(signal) = exit["signal"].as_i64() {
        Exit::Signal(signal as i32)
    } else {
        Exit::NotRun
    };
    CommandResult {
        command: command.to_owned(),
        exit,
        duration: duration_ms(&value["duration_ms"]),
        stdout: text(&value["stdout"]),
        stderr: text(&value["stderr"]),
        truncated: value["truncated"].as_bool().unwrap_or(false),
    }
}

pub fn range_input(source: &str, expr: &str, range: &Range) -> Value {
    json!({
        "source": source, "expr": expr, "instant": false,
        "start": range.start, "end": range.end, "step": range.step,
    })
}

pub fn instant_input(source: &str, expr: &str, time: f64) -> Value {
    json!({ "source": source, "expr": expr, "instant": true, "time": time })
}

fn series_json(series: &Series) -> Value {
    let values: Vec<Value> = series
        .points
        .iter()
        .map(|(t, v)| json!([t, format_value(*v)]))
        .collect();
    json!({ "metric": series.labels, "values": values })
}

/// An answer, or a source's failure, as a journal result.
pub fn answer_result(answer: &Result<Answer, SourceError>) -> Value {
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => return json!({ "error": source_error(error) }),
    };
    let (kind, result) = match &answer.result {
        QueryResult::Matrix(series) => (
            "matrix",
            Value::Array(series.iter().map(series_json).collect()),
        ),
        QueryResult::Vector(samples) => (
            "vector",
            samples
                .iter()
                .map(|s| json!({ "metric": s.labels, "value": [s.time, format_value(s.value)] }))
                .collect(),
        ),
        QueryResult::Scalar { time, value } => ("scalar", json!([time, format_value(*value)])),
        QueryResult::String { time, value } => ("string", json!([time, value])),
    };
    json!({ "resultType": kind, "result": result, "warnings": answer.warnings })
}

pub fn answer_from(value: &Value) -> Result<Answer, SourceError> {
    if let Some(error) = value.get("error") {
        return Err(source_error_from(error));
    }
    let body = json!({
        "status": "success",
        "data": { "resultType": value["resultType"], "result": value["result"] },
        "warnings": value["warnings"],
    });
    crate::ops::prometheus::decode_answer(&serde_json::to_vec(&body).expect("JSON serializes"))
}

fn source_error(error: &SourceError) -> Value {
    match error {
        SourceError::PromQL { message, position } => {
            json!({ "kind": "promql", "message": message, "position": position })
        }
        SourceError::Unreachable(m) => json!({ "kind": "unreachable", "message": m }),
        SourceError::Timeout(after) => json!({ "kind": "timeout", "after_ms": ms(*after) }),
        SourceError::Server(m) => json!({ "kind": "server", "message": m }),
        SourceError::Unsupported(m) => json!({ "kind": "unsupported", "message": m }),
        SourceError::NotRecorded(m) => json!({ "kind": "not_recorded", "message": m.0 }),
    }
}

fn source_error_from(value: &Value) -> SourceError {
    let message = text(&value["message"]);
    match value["kind"].as_str().unwrap_or_default() {
        "promql" => SourceError::PromQL {
            message,
            position: serde_json::from_value(value["position"].clone()).unwrap_or(None),
        },
        "unreachable" => SourceError::Unreachable(message),
        "timeout" => SourceError::Timeout(duration_ms(&value["after_ms"])),
        "unsupported" => SourceError::Unsupported(message),
        _ => SourceError::Server(message),
    }
}

pub fn lookup_input(source: &str, call: &str, argument: &str) -> Value {
    json!({ "source": source, "call": call, "argument": argument })
}

pub fn names_result(names: &Result<Vec<String>, SourceError>) -> Value {
    match names {
        Ok(names) => json!({ "values": names }),
        Err(error) => json!({ "error": source_error(error) }),
    }
}

pub fn names_from(value: &Value) -> Result<Vec<String>, SourceError> {
    match value.get("error") {
        Some(error) => Err(source_error_from(error)),
        None => Ok(serde_json::from_value(value["values"].clone()).unwrap_or_default()),
    }
}

pub fn metadata_result(info: &Result<Option<MetricInfo>, SourceError>) -> Value {
    match info {
        Ok(Some(info)) => json!({ "kind": info.kind, "help": info.help, "unit": info.unit }),
        Ok(None) => json!({}),
        Err(error) => json!({ "error": source_error(error) }),
    }
}

pub fn metadata_from(value: &Value) -> Result<Option<MetricInfo>, SourceError> {
    if let Some(error) = value.get("error") {
        return Err(source_error_from(error));
    }
    Ok(value.get("kind").map(|kind| MetricInfo {
        kind: text(kind),
        help: text(&value["help"]),
        unit: text(&value["unit"]),
    }))
}

pub fn probe_input(spec: &ProbeSpec) -> Value {
    let headers: Vec<&str> = spec.headers.iter().map(|(k, _)| k.as_str()).collect();
    json!({
        "url": spec.url, "expect": spec.expect, "within_ms": spec.within.map(ms),
        "headers": headers, "insecure": spec.insecure,
    })
}

pub fn probe_result(result: &ProbeResult) -> Value {
    json!({
        "status": result.status, "latency_ms": ms(result.latency), "body_bytes": result.body_bytes,
        "cert_days_left": result.cert_days_left, "passed": result.passed, "reason": result.reason,
    })
}

pub fn probe_result_from(value: &Value, url: &str) -> ProbeResult {
    ProbeResult {
        url: url.to_owned(),
        status: value["status"].as_u64().map(|s| s as u16),
        latency: duration_ms(&value["latency_ms"]),
        body_bytes: value["body_bytes"].as_u64().unwrap_or(0),
        cert_days_left: value["cert_days_left"].as_i64(),
        passed: value["passed"].as_bool().unwrap_or(false),
        reason: text(&value["reason"]),
    }
}

/// A clock reading for a finding's or a check's stamp, keyed apart from the readings windows
/// and queries take.
pub fn stamp_input() -> Value {
    json!({ "stamp": true })
}

pub fn rust_input(code: &str) -> Value {
    json!({ "code": code })
}

/// A Rust cell's outcome as recorded: what it showed, or the compile error or panic that ended
/// it. `None` for outcomes that are not a completed step (interrupted, toolchain missing...).
pub fn rust_result(outcome: &Result<RustRun, RustError>) -> Option<Value> {
    match outcome {
        Ok(run) => Some(json!({ "run": run })),
        Err(RustError::Compile(diagnostics)) => Some(json!({ "compile": diagnostics })),
        Err(RustError::Panic(message)) => Some(json!({ "panic": message })),
        Err(_) => None,
    }
}

pub fn rust_result_from(value: &Value) -> Result<RustRun, RustError> {
    let unreadable =
        |e: serde_json::Error| RustError::Failed(format!("unreadable journal record: {e}"));
    if let Some(message) = value["panic"].as_str() {
        return Err(RustError::Panic(message.to_owned()));
    }
    if let Some(diagnostics) = value.get("compile") {
        let diagnostics = serde_json::from_value(diagnostics.clone()).map_err(unreadable)?;
        return Err(RustError::Compile(diagnostics));
    }
    serde_json::from_value(value["run"].clone()).map_err(unreadable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_survive_the_journal_with_special_values() {
        let answer = Answer {
            result: QueryResult::Matrix(vec![Series {
                labels: [("job".to_string(), "a".to_string())].into(),
                points: vec![(1.0, 1.5), (2.0, f64::NAN), (3.0, f64::INFINITY)],
            }]),
            warnings: vec!["w".into()],
        };
        let back = answer_from(&answer_result(&Ok(answer.clone()))).unwrap();
        let (QueryResult::Matrix(a), QueryResult::Matrix(b)) = (&answer.result, &back.result)
        else {
            panic!()
        };
        assert_eq!(a[0].labels, b[0].labels);
        assert_eq!(b[0].points[0], (1.0, 1.5));
        assert!(b[0].points[1].1.is_nan());
        assert_eq!(back.warnings, ["w"]);
        let error = SourceError::PromQL {
            message: "bad".into(),
            position: Some((1, 4)),
        };
        assert_eq!(
            answer_from(&answer_result(&Err(error.clone()))).unwrap_err(),
            error
        );
        let unsupported = SourceError::Unsupported("a subquery is not supported".into());
        assert_eq!(
            answer_from(&answer_result(&Err(unsupported.clone()))).unwrap_err(),
            unsupported
        );
    }
}
