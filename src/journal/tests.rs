//! The journal's format: every kind of entry, built as the kernel builds it, writes the JSON the
//! journal has always held (the literals below are that JSON), has the key computed from it, and
//! comes back the same through a line of a journal file.

use super::entry::*;
use super::read::{load, parse};
use super::record::Journal;
use super::replay::{Recording, ReplaySource};
use super::verdict::{judge, Trust, Verdict};
use super::{key_of, sha256_hex, GENESIS};
use crate::ops::check::CheckOutcome;
use crate::ops::command::{CommandError, CommandResult, CommandSpec, Exit, Leftovers};
use crate::ops::finding::{Finding, Severity};
use crate::ops::logs::{LogLine, LogSelection, Volume};
use crate::ops::metrics::{
    Answer, Interval, MetricInfo, MetricsSource, QueryResult, Range, Sample, Series, SourceError,
};
use crate::ops::probe::{ProbeResult, ProbeSpec};
use crate::ops::rust::{Diagnostic, RustError, RustRun};
use crate::ops::NotRecorded;
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};
use std::time::Duration;

fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

fn temp_path() -> std::path::PathBuf {
    std::env::temp_dir().join(format!(
        "journal-entry-test-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::new_v4()
    ))
}

fn command_result(exit: Exit) -> CommandResult {
    CommandResult {
        command: "kubectl get pods".into(),
        exit,
        duration: Duration::from_millis(1500),
        stdout: "pod-a Running\n".into(),
        stderr: String::new(),
        truncated: false,
        leftovers: Leftovers::default(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> crate::ops::metrics::Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn range() -> Range {
    Range {
        start: 1_795_168_800.0,
        end: 1_795_176_000.0,
        step: 15.0,
    }
}

/// Every kind of entry as the kernel makes it, with the input and result the journal held for
/// it before entries were types.
fn every_kind() -> Vec<(Entry, Value, Value)> {
    let spec = CommandSpec {
        command: "kubectl get pods".into(),
        timeout: Some(Duration::from_secs(30)),
        cwd: Some("/srv".into()),
        env: vec![("KUBECONFIG".into(), "a secret path".into())],
        leave_running: false,
    };
    let bare = CommandSpec {
        command: "df -h /".into(),
        ..CommandSpec::default()
    };
    let run = |spec: &CommandSpec, outcome: Result<CommandResult, CommandError>| Entry::Run {
        input: RunInput::of(spec),
        result: RunOutcome::of(&outcome).expect("a completed step"),
    };
    let probe_spec = ProbeSpec {
        url: "https://shop.example/health".into(),
        expect: Some(200),
        within: Some(Duration::from_millis(500)),
        headers: vec![("Authorization".into(), "Bearer x".into())],
        insecure: true,
    };
    let probe_result = ProbeResult {
        url: probe_spec.url.clone(),
        status: Some(503),
        latency: Duration::from_millis(87),
        body_bytes: 12,
        cert_days_left: Some(-2),
        passed: false,
        reason: "expected 200, got 503".into(),
    };
    let unanswered = ProbeResult {
        status: None,
        cert_days_left: None,
        ..probe_result.clone()
    };
    let rust = |outcome: Result<RustRun, RustError>| Entry::Rust {
        input: RustInput::of("      \nlet x = 1;"),
        result: RustOutcome::of(&outcome).expect("a completed step"),
    };
    let shown = RustRun {
        stdout: "1\n".into(),
        stderr: String::new(),
        display: [("text/plain".to_string(), "1".to_string())].into(),
        findings: Vec::new(),
    };
    let query = |input: QueryInput, answer: Result<Answer, SourceError>| Entry::Query {
        input,
        result: QueryOutcome::of(&answer),
    };
    let expr = "sum(rate(http_requests_total[5m]))";
    let matrix = Answer {
        result: QueryResult::Matrix(vec![Series {
            labels: labels(&[("code", "500")]),
            points: vec![
                (1_795_168_800.0, 1.5),
                (1_795_168_815.0, f64::NAN),
                (1_795_168_830.0, f64::INFINITY),
                (1_795_168_845.0, f64::NEG_INFINITY),
            ],
        }]),
        warnings: vec!["partial response".into()],
    };
    let vector = Answer {
        result: QueryResult::Vector(vec![Sample {
            labels: labels(&[("job", "api")]),
            time: 1_795_176_000.5,
            value: 0.25,
        }]),
        warnings: Vec::new(),
    };
    let scalar = Answer {
        result: QueryResult::Scalar {
            time: 1_795_176_000.0,
            value: 3.0,
        },
        warnings: Vec::new(),
    };
    let string = Answer {
        result: QueryResult::String {
            time: 1_795_176_000.0,
            value: "hello".into(),
        },
        warnings: Vec::new(),
    };
    let lookup = |call: &str, argument: &str, result: LookupOutcome| Entry::Lookup {
        input: LookupInput::of("prom", call, argument),
        result,
    };
    let info = MetricInfo {
        kind: "counter".into(),
        help: "Requests.".into(),
        unit: String::new(),
    };
    let at = chrono::Utc::now();
    vec![
        (
            run(&spec, Ok(command_result(Exit::Code(0)))),
            json!({"command": "kubectl get pods", "cwd": "/srv", "env": ["KUBECONFIG"], "timeout_ms": 30000}),
            json!({"exit": {"code": 0}, "duration_ms": 1500, "stdout": "pod-a Running\n", "stderr": "", "truncated": false}),
        ),
        (
            run(&bare, Ok(command_result(Exit::Signal(9)))),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"exit": {"signal": 9}, "duration_ms": 1500, "stdout": "pod-a Running\n", "stderr": "", "truncated": false}),
        ),
        (
            run(&bare, Ok(command_result(Exit::NotRun))),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"exit": "not_run", "duration_ms": 1500, "stdout": "pod-a Running\n", "stderr": "", "truncated": false}),
        ),
        (
            run(
                &bare,
                Err(CommandError::TimedOut {
                    after: Duration::from_millis(1002),
                    stopped: 0,
                }),
            ),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"error": {"kind": "timeout", "after_ms": 1002}}),
        ),
        (
            run(
                &bare,
                Err(CommandError::TimedOut {
                    after: Duration::from_millis(1002),
                    stopped: 2,
                }),
            ),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"error": {"kind": "timeout", "after_ms": 1002}, "stopped": 2}),
        ),
        (
            run(
                &bare,
                Ok(CommandResult {
                    leftovers: Leftovers::Stopped(3),
                    ..command_result(Exit::Code(0))
                }),
            ),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null}),
            json!({"exit": {"code": 0}, "duration_ms": 1500, "stdout": "pod-a Running\n", "stderr": "", "truncated": false, "stopped": 3}),
        ),
        (
            run(
                &CommandSpec {
                    leave_running: true,
                    ..bare.clone()
                },
                Ok(CommandResult {
                    leftovers: Leftovers::LeftRunning(1),
                    ..command_result(Exit::Code(0))
                }),
            ),
            json!({"command": "df -h /", "cwd": null, "env": [], "timeout_ms": null, "leave_running": true}),
            json!({"exit": {"code": 0}, "duration_ms": 1500, "stdout": "pod-a Running\n", "stderr": "", "truncated": false, "left_running": 1}),
        ),
        (
            Entry::Probe {
                input: ProbeInput::of(&probe_spec),
                result: ProbeOutcome::of(&probe_result),
            },
            json!({"url": "https://shop.example/health", "expect": 200, "within_ms": 500,
                   "headers": ["Authorization"], "insecure": true}),
            json!({"status": 503, "latency_ms": 87, "body_bytes": 12, "cert_days_left": -2,
                   "passed": false, "reason": "expected 200, got 503"}),
        ),
        (
            Entry::Probe {
                input: ProbeInput::of(&ProbeSpec {
                    expect: None,
                    within: None,
                    headers: Vec::new(),
                    insecure: false,
                    ..probe_spec.clone()
                }),
                result: ProbeOutcome::of(&unanswered),
            },
            json!({"url": "https://shop.example/health", "expect": null, "within_ms": null,
                   "headers": [], "insecure": false}),
            json!({"status": null, "latency_ms": 87, "body_bytes": 12, "cert_days_left": null,
                   "passed": false, "reason": "expected 200, got 503"}),
        ),
        (
            Entry::Clock {
                input: ClockInput::NOW,
                result: ClockReading {
                    now: Some(1_795_706_364.072),
                },
            },
            json!({}),
            json!({"now": 1_795_706_364.072}),
        ),
        (
            rust(Ok(shown)),
            json!({"code": "      \nlet x = 1;"}),
            json!({"run": {"stdout": "1\n", "stderr": "", "display": {"text/plain": "1"}, "findings": []}}),
        ),
        (
            rust(Err(RustError::Compile(vec![Diagnostic {
                message: "mismatched types".into(),
                at: Some((2, 9, 1)),
            }]))),
            json!({"code": "      \nlet x = 1;"}),
            json!({"compile": [{"message": "mismatched types", "at": [2, 9, 1]}]}),
        ),
        (
            rust(Err(RustError::Panic("index out of bounds".into()))),
            json!({"code": "      \nlet x = 1;"}),
            json!({"panic": "index out of bounds"}),
        ),
        (
            Entry::Logs {
                input: LogsInput::of("app", r#"{app="x"} |= "error""#, &range().interval(), 20),
                result: LogsOutcome::of(&Ok({
                    let lines = vec![LogLine {
                        at_ns: 1_795_170_000_123_456_789,
                        labels: [("app".to_owned(), "x".to_owned())].into(),
                        line: "error: upstream refused".into(),
                    }];
                    LogSelection {
                        volume: Some(Volume::of_lines(&lines, 60_000_000_000, 3)),
                        lines,
                        matched: 3,
                        warnings: vec!["partial response: 1 of 3 queriers timed out".into()],
                    }
                })),
            },
            json!({"source": "app", "query": r#"{app="x"} |= "error""#,
                   "start": 1_795_168_800.0, "end": 1_795_176_000.0, "limit": 20}),
            json!({"lines": [{"at_ns": 1_795_170_000_123_456_789_i64, "labels": {"app": "x"},
                              "line": "error: upstream refused"}], "matched": 3,
                   "volume": {"step_ns": 60_000_000_000_i64, "complete": false, "bars": [
                       {"at_ns": 1_795_170_000_000_000_000_i64, "level": "error", "count": 1}]},
                   "warnings": ["partial response: 1 of 3 queriers timed out"]}),
        ),
        (
            Entry::Logs {
                input: LogsInput::of("app", "{app=", &range().interval(), 20),
                result: LogsOutcome::of(&Err(SourceError::LogQuery {
                    message: "expected a string".into(),
                    position: Some((1, 6)),
                })),
            },
            json!({"source": "app", "query": "{app=",
                   "start": 1_795_168_800.0, "end": 1_795_176_000.0, "limit": 20}),
            json!({"error": {"kind": "log_query", "message": "expected a string", "position": [1, 6]}}),
        ),
        (
            query(QueryInput::range("prom", expr, &range()), Ok(matrix)),
            json!({"source": "prom", "expr": expr, "instant": false,
                   "start": 1_795_168_800.0, "end": 1_795_176_000.0, "step": 15.0}),
            json!({"resultType": "matrix", "warnings": ["partial response"], "result": [
                {"metric": {"code": "500"}, "values": [
                    [1_795_168_800.0, "1.5"], [1_795_168_815.0, "NaN"],
                    [1_795_168_830.0, "+Inf"], [1_795_168_845.0, "-Inf"]]}]}),
        ),
        (
            query(
                QueryInput::instant("prom", expr, 1_795_176_000.5),
                Ok(vector),
            ),
            json!({"source": "prom", "expr": expr, "instant": true, "time": 1_795_176_000.5}),
            json!({"resultType": "vector", "warnings": [],
                   "result": [{"metric": {"job": "api"}, "value": [1_795_176_000.5, "0.25"]}]}),
        ),
        (
            query(
                QueryInput::instant("prom", "3", 1_795_176_000.0),
                Ok(scalar),
            ),
            json!({"source": "prom", "expr": "3", "instant": true, "time": 1_795_176_000.0}),
            json!({"resultType": "scalar", "warnings": [], "result": [1_795_176_000.0, "3"]}),
        ),
        (
            query(
                QueryInput::instant("prom", "\"hello\"", 1_795_176_000.0),
                Ok(string),
            ),
            json!({"source": "prom", "expr": "\"hello\"", "instant": true, "time": 1_795_176_000.0}),
            json!({"resultType": "string", "warnings": [], "result": [1_795_176_000.0, "hello"]}),
        ),
        (
            query(
                QueryInput::range("prom", "sum(", &range()),
                Err(SourceError::PromQL {
                    message: "unclosed left parenthesis".into(),
                    position: Some((1, 4)),
                }),
            ),
            json!({"source": "prom", "expr": "sum(", "instant": false,
                   "start": 1_795_168_800.0, "end": 1_795_176_000.0, "step": 15.0}),
            json!({"error": {"kind": "promql", "message": "unclosed left parenthesis", "position": [1, 4]}}),
        ),
        (
            query(
                QueryInput::instant("prom", "up", 1.0),
                Err(SourceError::PromQL {
                    message: "bad".into(),
                    position: None,
                }),
            ),
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1.0}),
            json!({"error": {"kind": "promql", "message": "bad", "position": null}}),
        ),
        (
            query(
                QueryInput::instant("prom", "up", 1.0),
                Err(SourceError::Unreachable("connection refused".into())),
            ),
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1.0}),
            json!({"error": {"kind": "unreachable", "message": "connection refused"}}),
        ),
        (
            query(
                QueryInput::instant("prom", "up", 1.0),
                Err(SourceError::Timeout(Duration::from_secs(2))),
            ),
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1.0}),
            json!({"error": {"kind": "timeout", "after_ms": 2000}}),
        ),
        (
            query(
                QueryInput::instant("prom", "up", 1.0),
                Err(SourceError::Server("bad_data: no".into())),
            ),
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1.0}),
            json!({"error": {"kind": "server", "message": "bad_data: no"}}),
        ),
        (
            query(
                QueryInput::instant("prom", "up", 1.0),
                Err(SourceError::NotRecorded(NotRecorded(
                    "not in j.jsonl".into(),
                ))),
            ),
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1.0}),
            json!({"error": {"kind": "not_recorded", "message": "not in j.jsonl"}}),
        ),
        (
            lookup(
                "label_names",
                "",
                LookupOutcome::names(&Ok(vec!["code".into(), "job".into()])),
            ),
            json!({"source": "prom", "call": "label_names", "argument": ""}),
            json!({"values": ["code", "job"]}),
        ),
        (
            lookup(
                "label_values",
                "code",
                LookupOutcome::names(&Err(SourceError::Unreachable("refused".into()))),
            ),
            json!({"source": "prom", "call": "label_values", "argument": "code"}),
            json!({"error": {"kind": "unreachable", "message": "refused"}}),
        ),
        (
            lookup(
                "metadata",
                "http_requests_total",
                LookupOutcome::metadata(&Ok(Some(info))),
            ),
            json!({"source": "prom", "call": "metadata", "argument": "http_requests_total"}),
            json!({"kind": "counter", "help": "Requests.", "unit": ""}),
        ),
        (
            lookup("metadata", "nope", LookupOutcome::metadata(&Ok(None))),
            json!({"source": "prom", "call": "metadata", "argument": "nope"}),
            json!({}),
        ),
        (
            Entry::finding(&Finding {
                severity: Severity::High,
                text: "p99 doubled".into(),
                evidence: vec!["errors".into(), "pods".into()],
                at,
            }),
            json!({"severity": "high", "text": "p99 doubled", "evidence": ["errors", "pods"]}),
            json!({}),
        ),
        (
            Entry::check(
                &CheckOutcome {
                    title: "5xx under 1/s".into(),
                    passed: false,
                    detail: "fired from 10:30 to 11:15".into(),
                    at,
                },
                "promql",
            ),
            json!({"title": "5xx under 1/s", "condition": "promql"}),
            json!({"passed": false, "detail": "fired from 10:30 to 11:15"}),
        ),
        (
            Entry::prometheus_source("prom", Some("http://127.0.0.1:9090".into())),
            json!({"name": "prom", "kind": "prometheus", "url": "http://127.0.0.1:9090"}),
            json!({}),
        ),
        (
            Entry::prometheus_source("prom", None),
            json!({"name": "prom", "kind": "prometheus", "url": null}),
            json!({}),
        ),
        (
            Entry::file_source("incident", "../tests/fixtures/incident.om"),
            json!({"name": "incident", "kind": "file", "path": "../tests/fixtures/incident.om"}),
            json!({}),
        ),
        (
            Entry::window(
                WindowInput::new(
                    "2026-11-13T10:00:00Z".into(),
                    "2026-11-13T12:00:00Z".into(),
                    None,
                ),
                WindowOutcome::resolved(
                    "2026-11-13T10:00:00Z".into(),
                    "2026-11-13T12:00:00Z".into(),
                    10.0,
                ),
            ),
            json!({"start": "2026-11-13T10:00:00Z", "end": "2026-11-13T12:00:00Z", "step": null}),
            json!({"start": "2026-11-13T10:00:00Z", "end": "2026-11-13T12:00:00Z", "step_seconds": 10.0}),
        ),
        (
            Entry::window(
                WindowInput::new("now-3600s".into(), "now".into(), Some(60.0)),
                WindowOutcome::default(),
            ),
            json!({"start": "now-3600s", "end": "now", "step": 60.0}),
            json!({}),
        ),
        (
            Entry::secret("token", "env:TOKEN"),
            json!({"name": "token", "reference": "env:TOKEN"}),
            json!({}),
        ),
        (
            Entry::Cell {
                input: CellInput {
                    number: 3,
                    sha256: "ab".repeat(32),
                    ok: true,
                    skipped: None,
                },
            },
            json!({"number": 3, "sha256": "ab".repeat(32), "ok": true}),
            json!({}),
        ),
        (
            Entry::Cell {
                input: CellInput {
                    number: 2,
                    sha256: "cd".repeat(32),
                    ok: false,
                    skipped: Some("skipped: tagged slow (--skip-tags)".into()),
                },
            },
            json!({"number": 2, "sha256": "cd".repeat(32), "ok": false, "skipped": "skipped: tagged slow (--skip-tags)"}),
            json!({}),
        ),
        (
            Entry::Resume {
                input: ResumeInput {
                    after: 12,
                    answered: 4,
                },
            },
            json!({"after": 12, "answered": 4}),
            json!({}),
        ),
        (
            Entry::Recheck {
                input: RecheckInput {
                    journal: "j.jsonl".into(),
                    last: "ef".repeat(32),
                    checks: vec!["error rate".into()],
                },
            },
            json!({"journal": "j.jsonl", "last": "ef".repeat(32), "checks": ["error rate"]}),
            json!({}),
        ),
        (
            Entry::Other {
                step: "teleport".into(),
                input: json!({"to": "mars"}),
                result: json!({"weird": [1, 2]}),
            },
            json!({"to": "mars"}),
            json!({"weird": [1, 2]}),
        ),
    ]
}

#[test]
fn every_kind_writes_the_json_and_the_key_it_always_had() {
    let kinds = every_kind();
    let steps: std::collections::BTreeSet<&str> = kinds.iter().map(|(e, _, _)| e.step()).collect();
    assert_eq!(steps.len(), 16, "{steps:?}");
    for (entry, input, result) in &kinds {
        let (written_input, written_result) = entry.to_json();
        assert_eq!(&written_input, input, "{}", entry.step());
        assert_eq!(&written_result, result, "{}", entry.step());
        assert_eq!(key_of(&written_input), key_of(input));
    }
}

#[test]
fn keys_match_the_shipped_journals() {
    // Keys of steps in notebooks/journals/release-readiness.jsonl.
    let recorded = [
        (
            Entry::prometheus_source("prom", Some("http://127.0.0.1:9090".into())),
            "231f00bb6c29afca3acba65a5589e6f0a15bd2e43cebef1b1691361198832d17",
        ),
        (
            Entry::Clock {
                input: ClockInput::NOW,
                result: ClockReading::default(),
            },
            "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        ),
        (
            Entry::window(
                WindowInput::new(
                    "2026-11-13T10:00:00Z".into(),
                    "2026-11-13T12:00:00Z".into(),
                    None,
                ),
                WindowOutcome::default(),
            ),
            "09f808ff5244f3194bc705b2faa7a520ea21a2bae21e41a513c157210bd8f3ef",
        ),
        (
            Entry::Probe {
                input: ProbeInput::of(&ProbeSpec {
                    url: "http://127.0.0.1:9090/-/ready".into(),
                    expect: Some(200),
                    within: Some(Duration::from_secs(2)),
                    headers: Vec::new(),
                    insecure: false,
                }),
                result: ProbeOutcome::default(),
            },
            "d1153f95d3a23a206d7941fda6f8f3750e877840c5b8c5532f7e9460202dc386",
        ),
    ];
    for (entry, key) in recorded {
        assert_eq!(key_of(&entry.to_json().0), key, "{}", entry.step());
    }
}

#[test]
fn every_kind_comes_back_through_a_journal_line() {
    let path = temp_path();
    let kinds = every_kind();
    let mut journal = Journal::open(&path, Box::new(|s: String| s), key()).unwrap();
    for (entry, _, _) in &kinds {
        journal.append(entry.clone(), 7, None).unwrap();
    }
    let loaded = load(&path).unwrap();
    assert!(loaded.breaks.is_empty(), "{:?}", loaded.breaks);
    assert_eq!(loaded.records.len(), kinds.len());
    for (record, (entry, input, _)) in loaded.records.iter().zip(&kinds) {
        assert_eq!(&record.entry, entry);
        assert_eq!(record.key, key_of(input));
        assert_eq!(record.ms, 7);
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn replayed_results_are_the_recorded_ones() {
    for (entry, _, _) in every_kind() {
        match entry {
            // See a_failure_not_recorded_then_replays_as_the_source_s.
            Entry::Query {
                result:
                    QueryOutcome {
                        error: Some(Failure::NotRecorded { .. }),
                        ..
                    },
                ..
            } => {}
            Entry::Query { result, .. } => {
                let answer = result.to_answer();
                assert_eq!(QueryOutcome::of(&answer), result);
                if let Ok(Answer {
                    result: QueryResult::Matrix(series),
                    ..
                }) = answer
                {
                    let values: Vec<f64> = series[0].points.iter().map(|p| p.1).collect();
                    assert_eq!(values[0], 1.5);
                    assert!(values[1].is_nan());
                    assert_eq!(values[2..], [f64::INFINITY, f64::NEG_INFINITY]);
                }
            }
            Entry::Run { input, result } => {
                let command = input.command.as_deref().unwrap();
                let replayed = result.to_result(command);
                assert_eq!(RunOutcome::of(&replayed), Some(result));
            }
            Entry::Probe { input, result } => {
                let replayed = result.to_result(input.url.as_deref().unwrap());
                assert_eq!(ProbeOutcome::of(&replayed), result);
            }
            Entry::Rust { result, .. } => {
                assert_eq!(RustOutcome::of(&result.to_result()), Some(result));
            }
            Entry::Lookup { input, result } => {
                let again = match input.call.as_deref() {
                    Some("metadata") => LookupOutcome::metadata(&result.to_metadata()),
                    _ => LookupOutcome::names(&result.to_names()),
                };
                assert_eq!(again, result);
            }
            _ => {}
        }
    }
}

#[test]
fn a_failure_not_recorded_then_replays_as_the_source_s() {
    let failure = Failure::of(&SourceError::NotRecorded(NotRecorded("gone".into())));
    assert_eq!(
        failure.to_source_error(),
        SourceError::Server("gone".into())
    );
}

/// Unsigned journal lines, chained, for `(step, input, result)` each.
fn unsigned_chain(parts: &[(&str, Value, Value)]) -> String {
    let mut text = String::new();
    let mut prev = GENESIS.to_owned();
    for (seq, (step, input, result)) in parts.iter().enumerate() {
        let line = json!({"v": 1, "seq": seq + 1, "at": "2026-11-20T10:00:00.000Z", "step": step,
            "key": key_of(input), "input": input, "result": result, "ms": 0, "prev": prev})
        .to_string();
        prev = sha256_hex(line.as_bytes());
        text.push_str(&line);
        text.push('\n');
    }
    text
}

/// Lookups of names say the interval they asked about since 2026-12-02; a journal written
/// before still answers them, and an interval never recorded is not answered by another.
#[test]
fn names_looked_up_before_lookups_said_their_interval_still_replay() {
    let parts = [
        (
            "lookup",
            json!({"source": "prom", "call": "label_values", "argument": "code"}),
            json!({"values": ["200"]}),
        ),
        (
            "lookup",
            json!({"source": "prom", "call": "label_values", "argument": "job",
                   "start": 10.0, "end": 20.0}),
            json!({"values": ["api"]}),
        ),
    ];
    let path = std::path::Path::new("old.jsonl");
    let recording = Recording::judged(path, parse(&unsigned_chain(&parts)), &Trust::default());
    let source = ReplaySource {
        name: "prom".into(),
        recording: recording.unwrap(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let asked = |label: &str, start: f64| {
        let interval = Interval {
            start,
            end: start + 10.0,
        };
        runtime.block_on(source.label_values(label, &interval))
    };
    assert_eq!(asked("code", 10.0), Ok(vec!["200".to_owned()]));
    assert!(matches!(
        asked("job", 50.0),
        Err(SourceError::NotRecorded(_))
    ));
    assert_eq!(asked("job", 10.0), Ok(vec!["api".to_owned()]));
}

/// A journal as an older kernel might have written it: valid lines whose inputs and results
/// lack fields, and a step of a kind this kernel does not know.
#[test]
fn an_older_journal_reads_verifies_and_keeps_what_it_does_not_know() {
    let parts = [
        (
            "run",
            json!({"command": "uptime"}),
            json!({"exit": {"code": 0}}),
        ),
        (
            "probe",
            json!({"url": "http://a/"}),
            json!({"passed": true}),
        ),
        (
            "query",
            json!({"source": "prom", "expr": "up", "instant": true, "time": 5.0}),
            json!({"resultType": "vector", "result": []}),
        ),
        ("check", json!({"title": "up"}), json!({})),
        (
            "window",
            json!({"start": "now-1h", "end": "now"}),
            json!({}),
        ),
        ("source", json!({"name": "prom"}), json!({})),
        ("teleport", json!({"to": "mars"}), json!({"arrived": true})),
    ];
    let loaded = parse(&unsigned_chain(&parts));
    assert!(
        loaded.breaks.is_empty() && loaded.warnings.is_empty(),
        "{loaded:?}"
    );
    let entries: Vec<&Entry> = loaded.records.iter().map(|r| &r.entry).collect();
    let Entry::Run { input, result } = entries[0] else {
        panic!("{:?}", entries[0])
    };
    assert_eq!(input.command.as_deref(), Some("uptime"));
    assert_eq!((input.cwd.as_ref(), input.env.len()), (None, 0));
    assert_eq!(result.exit, Some(Exit::Code(0)));
    assert_eq!((result.duration_ms, result.truncated), (None, None));
    let replayed = result.to_result("uptime").unwrap();
    assert_eq!((replayed.stdout.as_str(), replayed.truncated), ("", false));
    let Entry::Probe { input, result } = entries[1] else {
        panic!("{:?}", entries[1])
    };
    assert_eq!((input.expect, input.insecure), (None, false));
    assert_eq!((result.passed, result.status), (Some(true), None));
    let Entry::Query { result, .. } = entries[2] else {
        panic!("{:?}", entries[2])
    };
    let answer = result.to_answer().unwrap();
    assert_eq!(answer.result, QueryResult::Vector(Vec::new()));
    assert!(answer.warnings.is_empty());
    let Entry::Check { input, result } = entries[3] else {
        panic!("{:?}", entries[3])
    };
    assert_eq!(input.title.as_deref(), Some("up"));
    assert_eq!((input.condition.as_ref(), result.passed), (None, None));
    let Entry::Window { input, result } = entries[4] else {
        panic!("{:?}", entries[4])
    };
    assert_eq!((input.step, result.start.as_ref()), (None, None));
    let Entry::Source { input } = entries[5] else {
        panic!("{:?}", entries[5])
    };
    assert_eq!(
        (input.name.as_deref(), input.backend.as_ref()),
        (Some("prom"), None)
    );
    assert_eq!(
        entries[6],
        &Entry::Other {
            step: "teleport".into(),
            input: json!({"to": "mars"}),
            result: json!({"arrived": true}),
        }
    );
}

#[test]
fn a_part_that_does_not_fit_its_type_reads_as_unknown() {
    let entry = Entry::decode(
        "check".into(),
        json!({"title": 7}),
        json!({"passed": "yes", "detail": "d"}),
    );
    assert_eq!(
        entry,
        Entry::Check {
            input: CheckInput::default(),
            result: CheckVerdict::default(),
        }
    );
}

#[test]
fn a_logs_volume_that_is_not_valid_leaves_the_lines_and_the_count_and_says_so() {
    let at_ns = 1_795_170_000_000_000_000_i64;
    let with_volume = |volume: Value| {
        json!({"lines": [{"at_ns": at_ns, "labels": {}, "line": "error: refused"}],
               "matched": 180, "volume": volume})
    };
    for (volume, why) in [
        (
            json!({"step_ns": 120_000_000_000_i64, "complete": true,
                   "bars": [{"at_ns": at_ns, "level": "error", "count": -5}]}),
            "integer `-5`",
        ),
        (
            json!({"step_ns": 0, "complete": true,
                   "bars": [{"at_ns": at_ns, "level": "error", "count": 5}]}),
            "its step is 0 ns, not above zero",
        ),
    ] {
        let entry = Entry::decode("logs".into(), json!({}), with_volume(volume.clone()));
        assert_eq!(
            entry.to_json().1,
            with_volume(volume),
            "written back as written"
        );
        let Entry::Logs { result, .. } = entry else {
            panic!("not a logs entry")
        };
        let selection = result.to_selection(&range().interval()).unwrap();
        assert_eq!((selection.lines.len(), selection.matched), (1, 180));
        let note = selection.volume.and_then(|v| v.not_drawn).unwrap();
        assert!(
            note.contains("the journal's volume for this step is not valid") && note.contains(why),
            "{note}"
        );
    }
}

// --- integrity: signatures, end records, tampering --------------------------------------------

/// A session of `steps` findings signed by `key`, ended (its `end` line written); the file's
/// lines, each with its newline.
fn signed_session(path: &std::path::Path, key: SigningKey, steps: usize) -> Vec<String> {
    let mut journal = Journal::open(path, Box::new(|s: String| s), key).unwrap();
    for i in 0..steps {
        let entry = Entry::Finding {
            input: FindingInput {
                severity: Some("low".into()),
                text: Some(format!("finding {i}")),
                evidence: vec![],
            },
        };
        journal.append(entry.clone(), 1, None).unwrap();
    }
    drop(journal);
    lines(path)
}

fn lines(path: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_inclusive('\n').map(str::to_owned).collect()
}

fn trusting(key: &SigningKey) -> Trust {
    Trust::new(vec![key.verifying_key()])
}

fn verdict_of(lines: &[String], trust: &Trust) -> Verdict {
    judge(&parse(&lines.concat()), trust)
}

/// A line as a forger without the key writes it: right `seq`, `key` and `prev`, no signature.
fn forged(after: &str, seq: u64) -> String {
    let input = json!({"severity": "critical", "text": "the database was wiped", "evidence": []});
    let line = json!({"v": 1, "seq": seq, "at": "2026-12-01T00:00:00.000Z", "step": "finding",
        "key": key_of(&input), "input": input, "result": {}, "ms": 0,
        "prev": sha256_hex(after.trim_end_matches('\n').as_bytes())});
    format!("{line}\n")
}

#[test]
fn a_signed_journal_is_intact_only_against_a_key_the_reader_trusts() {
    let path = temp_path();
    let lines = signed_session(&path, key(), 3);
    assert_eq!(lines.len(), 4, "three steps and the end record");
    let verdict = verdict_of(&lines, &trusting(&key()));
    let id = super::key::key_id(&key().verifying_key());
    assert_eq!(verdict, Verdict::Intact { key_id: id.clone() });
    assert_eq!(verdict.exit_code(), 0);
    // The key the journal carries proves nothing by itself.
    for trust in [
        Trust::default(),
        trusting(&SigningKey::from_bytes(&[8; 32])),
    ] {
        let verdict = verdict_of(&lines, &trust);
        assert_eq!(verdict, Verdict::UnknownKey { key_id: id.clone() });
        assert_eq!(verdict.exit_code(), 5);
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn each_tampering_gets_its_verdict() {
    let path = temp_path();
    let lines = signed_session(&path, key(), 4);
    std::fs::remove_file(&path).unwrap();
    let edited = |mut ls: Vec<String>| {
        ls[1] = ls[1].replace("finding 1", "finding X");
        ls
    };
    let unsigned = |ls: Vec<String>| -> Vec<String> {
        ls.iter()
            .map(|l| {
                let mut record: Value = serde_json::from_str(l).unwrap();
                let fields = record.as_object_mut().unwrap();
                fields.remove("sig");
                fields.remove("signer");
                format!("{record}\n")
            })
            .collect()
    };
    // Every `key` and `prev` recomputed in place after the change, as a forger who knows the
    // format would.
    let rechained = |ls: Vec<String>| -> Vec<String> {
        let mut prev = GENESIS.to_owned();
        ls.iter()
            .map(|l| {
                let record: Value = serde_json::from_str(l).unwrap();
                let field = |name: &str, value: &str| format!("\"{name}\":\"{value}\"");
                let line = l
                    .trim_end()
                    .replace(
                        &field("prev", record["prev"].as_str().unwrap()),
                        &field("prev", &prev),
                    )
                    .replace(
                        &field("key", record["key"].as_str().unwrap()),
                        &field("key", &key_of(&record["input"])),
                    );
                prev = sha256_hex(line.as_bytes());
                format!("{line}\n")
            })
            .collect()
    };
    let broken =
        |line: usize| move |v: &Verdict| matches!(v, Verdict::Broken { line: l, .. } if *l == line);
    let truncated = |v: &Verdict| matches!(v, Verdict::Truncated { .. });
    type Case<'a> = (&'a str, Vec<String>, Box<dyn Fn(&Verdict) -> bool>);
    let n = lines.len();
    let cases: Vec<Case> = vec![
        ("edit", edited(lines.clone()), Box::new(broken(2))),
        (
            "delete",
            [&lines[..1], &lines[2..]].concat(),
            Box::new(broken(2)),
        ),
        (
            "reorder",
            [&lines[..1], &lines[2..3], &lines[1..2], &lines[3..]].concat(),
            Box::new(broken(2)),
        ),
        (
            "drop the first line",
            lines[1..].to_vec(),
            Box::new(broken(1)),
        ),
        (
            "drop the last line",
            lines[..n - 1].to_vec(),
            Box::new(truncated),
        ),
        (
            "drop the last 2 lines",
            lines[..n - 2].to_vec(),
            Box::new(truncated),
        ),
        (
            "drop the last 3 lines",
            lines[..n - 3].to_vec(),
            Box::new(truncated),
        ),
        (
            "forged append with the right hash",
            [lines.clone(), vec![forged(&lines[n - 1], n as u64 + 1)]].concat(),
            Box::new(broken(n + 1)),
        ),
        (
            "forged line in place of the end record",
            [
                lines[..n - 1].to_vec(),
                vec![forged(&lines[n - 2], n as u64)],
            ]
            .concat(),
            Box::new(broken(n)),
        ),
        (
            "full re-chain with recomputed hashes",
            rechained(edited(lines.clone())),
            Box::new(broken(2)),
        ),
        (
            "full re-chain, signatures stripped",
            rechained(unsigned(edited(lines.clone()))),
            Box::new(|v: &Verdict| *v == Verdict::Unsigned),
        ),
    ];
    for (name, tampered, expected) in cases {
        let verdict = verdict_of(&tampered, &trusting(&key()));
        assert!(expected(&verdict), "{name}: {verdict:?}");
        assert_ne!(verdict.exit_code(), 0, "{name}");
    }
}

#[test]
fn sessions_end_one_by_one_and_a_killed_one_shows() {
    let path = temp_path();
    signed_session(&path, key(), 2);
    let both = signed_session(&path, key(), 1);
    assert_eq!(both.len(), 5);
    assert!(matches!(
        verdict_of(&both, &trusting(&key())),
        Verdict::Intact { .. }
    ));
    // A session killed before its end record: the next one's end record counts only its own.
    let killed = temp_path();
    let journal = Journal::open(&killed, Box::new(|s: String| s), key()).unwrap();
    let mut journal = std::mem::ManuallyDrop::new(journal);
    journal
        .append(
            Entry::Finding {
                input: FindingInput::default(),
            },
            0,
            None,
        )
        .unwrap();
    let after = signed_session(&killed, key(), 1);
    match verdict_of(&after, &trusting(&key())) {
        Verdict::Truncated { why } => {
            assert!(why.contains("does not count the 2 records"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    // A session by another key after an ended one is that key's: unknown to this reader.
    signed_session(&path, SigningKey::from_bytes(&[9; 32]), 1);
    assert!(matches!(
        verdict_of(&lines(&path), &trusting(&key())),
        Verdict::UnknownKey { .. }
    ));
    std::fs::remove_file(path).unwrap();
    std::fs::remove_file(killed).unwrap();
}

#[test]
fn no_single_changed_byte_is_called_intact() {
    let path = temp_path();
    let text = signed_session(&path, key(), 2).concat();
    std::fs::remove_file(&path).unwrap();
    let trust = trusting(&key());
    let mut rng = fastrand::Rng::with_seed(14);
    for _ in 0..120 {
        let at = rng.usize(..text.len());
        let byte = text.as_bytes()[at];
        // A different character of the same kind, so that the line stays plausible.
        let other = match byte {
            b'\n' => continue,
            b'0'..=b'9' => b'0' + (byte - b'0' + 1 + rng.u8(..9)) % 10,
            b'a'..=b'z' => b'a' + (byte - b'a' + 1 + rng.u8(..25)) % 26,
            _ => b'x',
        };
        let mut changed = text.clone().into_bytes();
        changed[at] = other;
        let changed = String::from_utf8_lossy(&changed);
        let verdict = judge(&parse(&changed), &trust);
        assert!(
            !matches!(verdict, Verdict::Intact { .. }),
            "byte {at} changed from {:?} to {:?}: {verdict:?}",
            byte as char,
            other as char
        );
    }
}

#[test]
fn a_torn_tail_is_moved_aside_and_the_chain_goes_on() {
    use std::os::unix::fs::PermissionsExt;
    let path = temp_path();
    let text = signed_session(&path, key(), 2).concat();
    let cut = &text[..text.len() - 30];
    std::fs::write(&path, cut).unwrap();
    let after = signed_session(&path, key(), 1);
    let aside = std::path::PathBuf::from(format!("{}.torn-1", path.display()));
    let torn = &cut[cut.rfind('\n').unwrap() + 1..];
    assert_eq!(std::fs::read_to_string(&aside).unwrap(), torn);
    let loaded = parse(&after.concat());
    assert!(
        loaded.breaks.is_empty() && loaded.warnings.is_empty(),
        "{loaded:?}"
    );
    assert_eq!(loaded.records.len(), 3);
    // The first session lost its end record with the torn line.
    assert!(matches!(
        judge(&loaded, &trusting(&key())),
        Verdict::Truncated { .. }
    ));
    for file in [&path, &aside] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
        std::fs::remove_file(file).unwrap();
    }
}
