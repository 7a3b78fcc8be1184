//! The parser, statement by statement: what parses, to what, and where errors point.

use super::*;
use crate::engine::error::ErrorKind;
use crate::engine::syntax::{Part, Template};
use crate::model::Value;
use crate::ops::finding::Severity;
use std::time::Duration;

fn parse(cell: &str) -> Vec<Step> {
    parse_cell(cell).unwrap_or_else(|e| panic!("{cell:?} should parse: {e}"))
}

fn one(cell: &str) -> Step {
    let mut steps = parse(cell);
    assert_eq!(steps.len(), 1, "{cell:?}");
    steps.remove(0)
}

/// Parses `cell`, expects an error, and checks its message and position.
#[track_caller]
fn error_at(cell: &str, line: usize, column: usize, needle: &str) -> CellError {
    let err = parse_cell(cell).expect_err(cell);
    assert_eq!(err.kind, ErrorKind::ParseError);
    let span = err.span.unwrap();
    assert_eq!((span.line, span.column), (line, column), "{err}");
    assert!(
        err.message.contains(needle),
        "{err} should mention {needle:?}"
    );
    err
}

fn text(t: &str) -> Part {
    Part::Text(t.into())
}

fn var(name: &str) -> String {
    name.into()
}

fn var_names(template: &Template) -> Vec<String> {
    template
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Var { name, .. } => Some(name.clone()),
            Part::Text(_) => None,
        })
        .collect()
}

#[test]
fn run_takes_the_rest_of_the_line_verbatim() {
    let Statement::Run(run) = one("run ps aux | grep 'a  b' # shell comment").statement else {
        panic!()
    };
    assert_eq!(
        run.command.parts,
        vec![text("ps aux | grep 'a  b' # shell comment")]
    );
    assert_eq!(run.timeout, None);
    assert!(!run.confirm);
}

#[test]
fn run_options() {
    let Statement::Run(run) = one("run --timeout 1m30s --confirm kubectl delete pod x").statement
    else {
        panic!()
    };
    assert_eq!(run.timeout, Some(Duration::from_secs(90)));
    assert!(run.confirm);
    assert_eq!(run.command.literal().unwrap(), "kubectl delete pod x");
}

#[test]
fn bindings_and_show() {
    let step = one("disk = run df -h");
    assert_eq!(step.binding.as_deref(), Some("disk"));
    assert!(matches!(step.statement, Statement::Run(_)));
    assert!(matches!(one("disk").statement, Statement::Show(ref n) if n == "disk"));
}

#[test]
fn param_values() {
    let Statement::Param(p) = one("param service = \"checkout api\"").statement else {
        panic!()
    };
    assert_eq!(p.name, "service");
    assert!(matches!(p.default, Value::Text(ref t) if t == "checkout api"));
    let Statement::Param(p) = one("param threshold = 0.95").statement else {
        panic!()
    };
    assert!(matches!(p.default, Value::Number(n) if n == 0.95));
    let Statement::Param(p) = one("param url = http://localhost:9090/").statement else {
        panic!()
    };
    assert!(matches!(p.default, Value::Text(ref t) if t == "http://localhost:9090/"));
}

#[test]
fn findings_and_evidence() {
    let Statement::Finding(f) =
        one("finding high \"p99 doubled\" evidence latency, errors").statement
    else {
        panic!()
    };
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.text.literal().unwrap(), "p99 doubled");
    let names: Vec<_> = f.evidence.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["latency", "errors"]);
    assert!(matches!(one("findings").statement, Statement::Findings));
}

#[test]
fn escapes_in_strings() {
    let Statement::Finding(f) = one(r#"finding info "say \"hi\" \\ bye""#).statement else {
        panic!()
    };
    assert_eq!(f.text.literal().unwrap(), r#"say "hi" \ bye"#);
}

#[test]
fn interpolation() {
    let Statement::Run(run) = one("run curl {{ url }}/health?svc={{service}}").statement else {
        panic!()
    };
    assert_eq!(var_names(&run.command), [var("url"), var("service")]);
    assert_eq!(run.command.parts[2], text("/health?svc="));
    let Part::Var { span, .. } = &run.command.parts[3] else {
        panic!()
    };
    assert_eq!((span.line, span.column, span.len), (1, 31, 11));
    let Statement::Finding(f) = one("finding low \"{{n}} pods\"").statement else {
        panic!()
    };
    assert_eq!(var_names(&f.text), [var("n")]);
    let Part::Var { span, .. } = &f.text.parts[0] else {
        panic!()
    };
    assert_eq!((span.line, span.column), (1, 14));
}

#[test]
fn comments_blank_lines_and_positions() {
    let cell = "# investigate\n\n  run uptime\n# done\nfinding info \"ok\"";
    let steps = parse(cell);
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0].span.line, 3);
    assert_eq!(steps[0].span.column, 3);
    assert_eq!(steps[1].span.line, 5);
    let Statement::Finding(_) = one("finding info \"x\" # why we think so").statement else {
        panic!()
    };
    error_at(
        "run ls\n\n   findng info \"x\"",
        3,
        4,
        "did you mean `finding`",
    );
}

#[test]
fn continuation_lines() {
    let cell = "run echo one \\\n    two \\\n  three\nfinding info \"a\"";
    let steps = parse(cell);
    assert_eq!(steps.len(), 2);
    let Statement::Run(run) = &steps[0].statement else {
        panic!()
    };
    assert_eq!(run.command.literal().unwrap(), "echo one      two    three");
    // An error on a continued line points at that physical line.
}

#[test]
fn metrics_statements() {
    let Statement::Source(source) = one(
        "source prom prometheus http://localhost:9090 header X-Scope-OrgID=team token env:PROM_TOKEN timeout 10s",
    )
    .statement
    else {
        panic!()
    };
    assert_eq!(source.name, "prom");
    let source::SourceKind::Prometheus(source::Server {
        url,
        headers,
        auth,
        timeout,
        ..
    }) = source.kind
    else {
        panic!()
    };
    assert_eq!(url.literal().unwrap(), "http://localhost:9090");
    assert_eq!(headers, [("X-Scope-OrgID".to_string(), "team".to_string())]);
    assert!(matches!(auth, crate::engine::stack::AuthRef::Token(ref r) if r == "env:PROM_TOKEN"));
    assert_eq!(timeout, Duration::from_secs(10));
    assert!(matches!(
        one("source dump file fixtures/incident.om").statement,
        Statement::Source(source::NewSource {
            kind: source::SourceKind::File { .. },
            ..
        })
    ));

    let Statement::Source(source) = one("source prom prometheus {{prometheus}}").statement else {
        panic!()
    };
    let source::SourceKind::Prometheus(source::Server { url, .. }) = source.kind else {
        panic!()
    };
    assert!(url.literal().is_none(), "checked once filled in");

    let Statement::Window(w) = one("window now-2h .. now step 30s").statement else {
        panic!()
    };
    assert_eq!(w.step, Some(Duration::from_secs(30)));
    assert!(matches!(
        one("window last 1h").statement,
        Statement::Window(_)
    ));
    assert!(matches!(
        one("window 2026-11-26T10:00:00Z .. 2026-11-26T11:00:00Z").statement,
        Statement::Window(_)
    ));

    let step =
        one(r#"errors = query @prom sum(rate(http_requests_total{code=~"5.."}[5m])) baseline 7d"#);
    let Statement::Query(q) = step.statement else {
        panic!()
    };
    assert_eq!(q.source.as_ref().unwrap().0, "prom");
    assert!(!q.instant);
    assert_eq!(q.baseline, Some(Duration::from_secs(7 * 86400)));
    assert_eq!(
        q.expr.literal().unwrap(),
        r#"sum(rate(http_requests_total{code=~"5.."}[5m]))"#
    );
    assert_eq!((q.expr_span.line, q.expr_span.column), (1, 22));
    let Statement::Query(q) = one("query instant up == 0").statement else {
        panic!()
    };
    assert!(q.instant && q.source.is_none());
    assert_eq!(q.expr.literal().unwrap(), "up == 0");
    let Statement::Query(q) = one("query instant").statement else {
        panic!()
    };
    assert_eq!(
        q.expr.literal().unwrap(),
        "instant",
        "a metric may be named instant"
    );

    for (cell, expected) in [
        (
            r#"check "no 5xx": sum(rate(x{code=~"5.."}[5m])) > 0"#,
            "promql",
        ),
        (
            r#"check "disk ok": run test $(df --output=pcent / | tail -1 | tr -d ' %') -lt 90"#,
            "run",
        ),
        (
            r#"check "up": probe http://localhost:8080/ expect 200"#,
            "probe",
        ),
        (r#"check "budget": slo checkout"#, "slo"),
    ] {
        let Statement::Check(c) = one(cell).statement else {
            panic!("{cell}")
        };
        assert_eq!(c.condition.kind(), expected, "{cell}");
    }
    let Statement::Probe(p) = one(
        "probe https://example.test/health expect 200 within 2s header X-Probe={{id}} insecure",
    )
    .statement
    else {
        panic!()
    };
    assert_eq!(p.url.literal().unwrap(), "https://example.test/health");
    assert_eq!(p.expect, Some(200));
    assert_eq!(p.within, Some(Duration::from_secs(2)));
    assert!(p.insecure);
    assert_eq!(p.headers[0].0, "X-Probe");
    assert_eq!(var_names(&p.headers[0].1), [var("id")]);
    assert!(matches!(
        one("replay .playbook/journal/2026-11-26.jsonl").statement,
        Statement::Replay(ref path) if path == ".playbook/journal/2026-11-26.jsonl"
    ));
    assert!(matches!(
        one("resume j.jsonl").statement,
        Statement::Resume(ref path) if path == "j.jsonl"
    ));
    assert!(matches!(one("journal").statement, Statement::Journal));
    error_at(
        "source prom prometheus localhost:9090",
        1,
        24,
        "not an http",
    );
    error_at(
        "source p prometheus http://x token hunter2",
        1,
        30,
        "secrets only by reference",
    );
    error_at(
        "source p prometheus http://x timeout soon",
        1,
        30,
        "a duration",
    );
    error_at(
        "source p prometheus http://x retries 3",
        1,
        30,
        "unknown option",
    );
}

#[test]
fn unknown_statements() {
    let err = error_at(
        "frobnicate the servers",
        1,
        1,
        "unknown statement `frobnicate`",
    );
    assert!(err.message.contains("param, source, window"));
}

#[test]
fn a_cell_with_an_error_anywhere_yields_no_steps() {
    assert!(parse_cell("run echo first\nfinding nope \"x\"").is_err());
}

/// Each malformed cell, and where and what its parse error says.
const PARSE_ERRORS: &[(&str, usize, usize, &str)] = &[
    ("window now−2h .. now", 1, 8, "`−` is not `-`"),
    ("run --timeout soon ls", 1, 15, "not a duration"),
    ("run --force ls", 1, 5, "unknown option"),
    ("run", 1, 4, "a command to run"),
    ("x = param y = 1", 1, 5, "gives no result to bind"),
    ("x = frob", 1, 5, "is not a statement"),
    ("param 9lives = 1", 1, 7, "is not a name"),
    ("param x 1", 1, 9, "expected `=`"),
    ("param x =", 1, 10, "default value"),
    ("param x = \"{{y}}\"", 1, 11, "cannot refer"),
    ("finding bogus \"x\"", 1, 9, "unknown severity `bogus`"),
    ("finding high unquoted", 1, 14, "in double quotes"),
    ("finding high \"open", 1, 14, "not closed"),
    ("finding low \"x\" because y", 1, 17, "evidence"),
    ("finding low \"x\" evidence a b", 1, 28, "`,`"),
    ("findings now", 1, 10, "unexpected text"),
    ("run echo {{name", 1, 10, "not closed"),
    ("run echo {{not a name}}", 1, 10, "does not name"),
    ("finding info \\\n  bogus", 2, 3, "in double quotes"),
    ("run ls \\", 1, 8, "no line follows"),
    ("source prom influx http://x", 1, 13, "unknown source kind"),
    ("window last soon", 1, 13, "not a duration"),
    ("window now-1h to now", 1, 15, "`..`"),
    ("window yesterday .. now", 1, 8, "not a time"),
    ("query up baseline soon", 1, 19, "not a duration"),
    ("probe http://x expect ok", 1, 23, "not an HTTP status"),
    ("probe http://x within soon", 1, 23, "not a duration"),
    ("probe http://x retries 3", 1, 16, "a probe takes"),
    ("probe http://x header nope", 1, 23, "NAME=VALUE"),
    ("probe", 1, 6, "the URL to probe"),
    ("probe localhost:8080", 1, 7, "not an http"),
    ("probe http://x expect 200 expect 201", 1, 27, "given twice"),
    ("probe http://x within 0s", 1, 23, "above zero"),
    ("check no quotes: up", 1, 7, "in double quotes"),
    ("check \"t\" up", 1, 11, "expected `:`"),
    ("query", 1, 6, "PromQL"),
    ("\"quoted\"", 1, 1, "expected a statement"),
];

#[test]
fn parse_errors_say_what_and_where() {
    for &(cell, line, column, needle) in PARSE_ERRORS {
        error_at(cell, line, column, needle);
    }
}

#[test]
fn logs_takes_a_source_a_query_and_a_limit() {
    let Statement::Logs(logs) =
        one(r#"errors = logs @app {app="x"} |= "limit 5" limit 20"#).statement
    else {
        panic!()
    };
    assert_eq!(logs.source.as_ref().unwrap().0, "app");
    assert_eq!(logs.query.literal().unwrap(), r#"{app="x"} |= "limit 5""#);
    assert_eq!(logs.limit, 20);
    assert_eq!((logs.query_span.line, logs.query_span.column), (1, 20));
    let Statement::Logs(logs) = one(r#"logs {app="x"}"#).statement else {
        panic!()
    };
    assert!(logs.source.is_none());
    assert_eq!(logs.limit, 1000);
    error_at("logs", 1, 5, "LogQL query");
    error_at(r#"logs {app="x"} limit 0"#, 1, 22, "not a limit");
    error_at(r#"logs {app="x"} limit 100001"#, 1, 22, "not a limit");
    error_at(r#"logs {app="x"} limit many"#, 1, 22, "not a limit");
}

#[test]
fn logs_options_end_the_statement_in_any_order_once_each() {
    let Statement::Logs(logs) =
        one(r#"logs {app="x"} | json | fields="a b" collapse off fields status, msg limit 7"#)
            .statement
    else {
        panic!("not logs")
    };
    assert_eq!(
        logs.query.literal().unwrap(),
        r#"{app="x"} | json | fields="a b""#
    );
    assert_eq!(logs.limit, 7);
    assert_eq!(logs.layout.fields, ["status", "msg"]);
    assert!(logs.layout.every_line);
    // Words of the query that look like options are the query's.
    let Statement::Logs(logs) = one(r#"logs {app="x"} |= "fields a" |= "collapse off""#).statement
    else {
        panic!("not logs")
    };
    assert_eq!(
        logs.query.literal().unwrap(),
        r#"{app="x"} |= "fields a" |= "collapse off""#
    );
    assert_eq!(logs.layout, Default::default());
    error_at(
        r#"logs {app="x"} limit 5 limit 6"#,
        1,
        16,
        "`limit` is given twice",
    );
    error_at(r#"logs {app="x"} collapse maybe"#, 1, 25, "collapse off");
    error_at(
        r#"logs {app="x"} fields a fields b"#,
        1,
        16,
        "`fields` is given twice",
    );
    error_at(r#"logs collapse off"#, 1, 18, "LogQL query");
}

#[test]
fn a_logs_source_takes_paths_a_format_and_labels() {
    let step = one("source app logs a.log logs/*.jsonl format json label env=prod label level");
    let Statement::Source(source) = step.statement else {
        panic!()
    };
    let source::SourceKind::Logs(spec) = source.kind else {
        panic!("{:?}", source.kind)
    };
    assert_eq!(
        spec.paths,
        ["a.log", "logs/*.jsonl"].map(std::path::PathBuf::from)
    );
    assert_eq!(spec.format, crate::ops::logs::LogFormat::Json);
    assert_eq!(spec.labels.get("env").map(String::as_str), Some("prod"));
    assert_eq!(spec.label_fields, ["level"]);
    error_at("source app logs", 1, 16, "paths");
    error_at("source app logs a.log format xml", 1, 30, "log format");
    error_at(
        "source app logs a.log label 9x=1",
        1,
        29,
        "not a label name",
    );
    error_at(
        "source app logs a.log label env=prod b.log",
        1,
        38,
        "paths come first",
    );
    error_at("source app logs a.log format", 1, 23, "takes a format");
}

#[test]
fn a_victorialogs_source_takes_server_options_and_a_tenant() {
    let step =
        one("source vl victorialogs http://logs:9428 token env:VL_TOKEN tenant 12:3 timeout 5s");
    let Statement::Source(source) = step.statement else {
        panic!()
    };
    let source::SourceKind::VictoriaLogs(server, tenant) = source.kind else {
        panic!("{:?}", source.kind)
    };
    assert_eq!(server.url.literal().unwrap(), "http://logs:9428");
    assert_eq!(server.timeout, Duration::from_secs(5));
    assert_eq!(tenant, Some(("12".to_owned(), "3".to_owned())));
    error_at(
        "source vl victorialogs http://logs:9428 tenant 12",
        1,
        41,
        "ACCOUNT:PROJECT",
    );
    error_at(
        "source vl victorialogs http://logs:9428 tenant a:b",
        1,
        41,
        "two numbers",
    );
    error_at(
        "source p prometheus http://p:9090 tenant 1:2",
        1,
        35,
        "no tenant",
    );
}
