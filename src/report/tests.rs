//! The report of a journal with every kind of step, in each format.

use super::{render, Format};
use crate::journal::entry::{
    CheckInput, CheckVerdict, Entry, FindingInput, ProbeInput, ProbeOutcome, QueryInput,
    QueryOutcome, RunInput, RunOutcome, RustInput, RustOutcome, WindowInput, WindowOutcome,
};
use crate::journal::read::{load, parse, Loaded};
use crate::journal::record::Journal;
use crate::journal::verdict::{judge, Trust};
use crate::ops::command::Exit;
use crate::ops::metrics::{Answer, QueryResult, Range, Series};
use ed25519_dalek::SigningKey;
use serde_json::{json, Value};

/// A small investigation with every kind of step, written by the journal's own writer.
fn key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The report of `loaded`, judged by a reader who trusts [`key`].
fn report_of(loaded: &Loaded, format: Format) -> String {
    let verdict = judge(loaded, &Trust::new(vec![key().verifying_key()]));
    render(loaded, &verdict, format)
}

fn journal() -> (std::path::PathBuf, Loaded) {
    let path = std::env::temp_dir().join(format!(
        "report-test-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let text = |s: &str| Some(s.to_owned());
    let series = |code: &str, value: f64| Series {
        labels: [("code".to_owned(), code.to_owned())].into(),
        points: vec![(1_795_168_800.0, value)],
    };
    let answer = Answer {
        result: QueryResult::Matrix(vec![series("500", 10.0), series("503", 2.0)]),
        warnings: Vec::new(),
    };
    let steps = [
        (
            Entry::prometheus_source("prom", text("http://prom:9090")),
            0,
        ),
        (
            Entry::window(
                WindowInput::new(
                    "2026-11-20T10:00:00Z".into(),
                    "2026-11-20T12:00:00Z".into(),
                    None,
                ),
                WindowOutcome::resolved(
                    "2026-11-20T10:00:00Z".into(),
                    "2026-11-20T12:00:00Z".into(),
                    15.0,
                ),
            ),
            0,
        ),
        (
            Entry::Query {
                input: QueryInput::range(
                    "prom",
                    "sum by (code) (rate(http_requests_total{code=~\"5..\"}[5m]))",
                    &Range {
                        start: 1_795_168_800.0,
                        end: 1_795_176_000.0,
                        step: 15.0,
                    },
                ),
                result: QueryOutcome::of(&Ok(answer)),
            },
            42,
        ),
        (
            run(
                "kubectl get pods | grep <checkout>",
                RunOutcome {
                    exit: Some(Exit::Code(1)),
                    duration_ms: Some(1500),
                    stdout: text(""),
                    stderr: text("boom"),
                    truncated: Some(false),
                    error: None,
                    ..RunOutcome::default()
                },
            ),
            1500,
        ),
        (
            run(
                "sleep 100",
                RunOutcome {
                    exit: Some(Exit::Signal(9)),
                    duration_ms: Some(125_000),
                    ..RunOutcome::default()
                },
            ),
            125_000,
        ),
        (
            Entry::Probe {
                input: ProbeInput {
                    url: text("https://shop.example/health"),
                    expect: Some(200),
                    within_ms: Some(500),
                    ..ProbeInput::default()
                },
                result: ProbeOutcome {
                    status: Some(503),
                    latency_ms: Some(87),
                    body_bytes: Some(12),
                    cert_days_left: Some(40),
                    passed: Some(false),
                    reason: text("status 503, expected 200"),
                },
            },
            87,
        ),
        (
            Entry::Check {
                input: CheckInput {
                    title: text("checkout 5xx below 1/s"),
                    condition: text("promql"),
                },
                result: CheckVerdict {
                    passed: Some(false),
                    detail: text("fired from 10:30:15 to 11:19:45\n{service=\"checkout\"}"),
                },
            },
            10,
        ),
        (
            Entry::Check {
                input: CheckInput {
                    title: text("cart <fine> & \"well\""),
                    condition: text("run"),
                },
                result: CheckVerdict {
                    passed: Some(true),
                    detail: text("`test -f a|b` exited 0"),
                },
            },
            5,
        ),
        (finding("info", "rollback ended it", &["versions"]), 0),
        (
            finding(
                "critical",
                "checkout <script>alert(1)</script> | down",
                &["errors", "pods"],
            ),
            0,
        ),
        (Entry::secret("token", "env:TOKEN"), 0),
        (
            Entry::Rust {
                input: RustInput {
                    code: "      \nlet v: Vec<u8> = vec![];\nv[3];".into(),
                },
                result: RustOutcome {
                    panic: text("index out of bounds"),
                    ..RustOutcome::default()
                },
            },
            300,
        ),
        (
            Entry::Other {
                step: "teleport".into(),
                input: json!({"to": "mars", "extra": [1, 2]}),
                result: json!({"weird": true}),
            },
            0,
        ),
    ];
    let mut j = Journal::open(
        &path,
        Box::new(|s: String| s.replace("hunter2", "••••••")),
        key(),
    )
    .unwrap();
    for (entry, ms) in &steps {
        j.append(entry.clone(), *ms, None).unwrap();
    }
    drop(j);
    let loaded = load(&path).unwrap();
    (path, loaded)
}

fn run(command: &str, result: RunOutcome) -> Entry {
    Entry::Run {
        input: RunInput {
            command: Some(command.to_owned()),
            ..RunInput::default()
        },
        result,
    }
}

fn finding(severity: &str, text: &str, evidence: &[&str]) -> Entry {
    Entry::Finding {
        input: FindingInput {
            severity: Some(severity.to_owned()),
            text: Some(text.to_owned()),
            evidence: evidence.iter().map(|e| e.to_string()).collect(),
        },
    }
}

#[test]
fn every_section_is_there_in_markdown() {
    let (path, loaded) = journal();
    let md = report_of(&loaded, Format::Markdown);
    for heading in [
        "# Investigation journal",
        "## Windows",
        "## Sources",
        "## Findings",
        "## Checks",
        "## Commands",
        "## Queries",
        "## Probes",
        "## Secrets",
        "## Timeline",
    ] {
        assert!(md.contains(heading), "no {heading} in\n{md}");
    }
    assert!(md.contains("✓ signed and intact"), "{md}");
    assert!(md.contains("- **Steps:** 13 ("), "{md}");
    assert!(
        md.contains("rust cell of 2 lines: panicked: index out of bounds"),
        "{md}"
    );
    // Critical first, whatever the order they were recorded in.
    let critical = md.find("**CRITICAL**").unwrap();
    let info = md.find("**INFO**").unwrap();
    assert!(critical < info, "{md}");
    assert!(
        md.contains("**✗ FAIL**") && md.contains("**✓ PASS**"),
        "{md}"
    );
    assert!(md.contains("✗ exit 1") && md.contains("1.50 s"), "{md}");
    // A check's detail keeps its code spans.
    assert!(md.contains("| `test -f a\\|b` exited 0 |"), "{md}");
    assert!(
        md.contains("killed by signal 9") && md.contains("2m05s"),
        "{md}"
    );
    // The query's one-line summary: expression, source, series, window.
    assert!(
        md.contains("| prom | 2 series | 2026\\-11\\-20T10:00:00Z")
            || md.contains("| prom | 2 series |"),
        "{md}"
    );
    assert!(md.contains("step 15s"), "{md}");
    // A pipe in a command does not split its table cell.
    assert!(
        md.contains("`kubectl get pods \\| grep <checkout>`"),
        "{md}"
    );
    assert!(
        md.contains("status 503, expected 200") && md.contains("40 days left"),
        "{md}"
    );
    assert!(md.contains("env:TOKEN"), "{md}");
    // The unknown step is in the timeline, by its kind.
    assert!(md.contains("| teleport |"), "{md}");
    let timeline = &md[md.find("## Timeline").unwrap()..];
    assert_eq!(
        timeline
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| #") && !l.starts_with("| ---"))
            .count(),
        13
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn json_parses_and_has_every_section() {
    let (path, loaded) = journal();
    let report: Value = serde_json::from_str(&report_of(&loaded, Format::Json)).unwrap();
    assert_eq!(report["integrity"]["verdict"], "intact");
    assert_eq!(report["integrity"]["key_id"].as_str().unwrap().len(), 16);
    assert_eq!(report["steps"], 13);
    assert_eq!(report["breaks"], json!([]));
    assert_eq!(report["warnings"], json!([]));
    for (section, n) in [
        ("windows", 1),
        ("sources", 1),
        ("findings", 2),
        ("checks", 2),
        ("commands", 2),
        ("queries", 1),
        ("probes", 1),
        ("secrets", 1),
        ("timeline", 13),
    ] {
        assert_eq!(
            report[section].as_array().map(Vec::len),
            Some(n),
            "{section}: {report:#}"
        );
    }
    assert_eq!(report["findings"][0]["severity"], "critical");
    assert_eq!(report["checks"][0]["passed"], false);
    assert_eq!(report["commands"][0]["exit_code"], 1);
    assert_eq!(report["commands"][1]["signal"], 9);
    assert_eq!(report["queries"][0]["series"], 2);
    assert_eq!(report["queries"][0]["start"], "2026-11-20T10:00:00Z");
    assert_eq!(report["probes"][0]["status"], 503);
    assert_eq!(report["commands"][0]["duration_ms"], 1500);
    assert_eq!(report["timeline"][11]["step"], "rust");
    assert_eq!(report["timeline"][12]["step"], "teleport");
    std::fs::remove_file(path).unwrap();
}

#[test]
fn html_is_one_escaped_page() {
    let (path, loaded) = journal();
    let html = report_of(&loaded, Format::Html);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("cart &lt;fine&gt; &amp; &quot;well&quot;"));
    // Self-contained: no external stylesheet, script, image or font.
    for external in ["<link", "src=", "url(", "@import"] {
        assert!(!html.contains(external), "{external} in the page");
    }
    for heading in [
        "Findings", "Checks", "Commands", "Queries", "Probes", "Timeline",
    ] {
        assert!(html.contains(&format!("<h2>{heading}</h2>")), "{heading}");
    }
    std::fs::remove_file(path).unwrap();
}

#[test]
fn a_changed_line_is_reported_plainly() {
    let (path, _) = journal();
    let text = std::fs::read_to_string(&path).unwrap();
    let changed = text.replacen("{\"code\":1}", "{\"code\":0}", 1);
    assert_ne!(changed, text);
    let loaded = parse(&changed);
    assert!(!loaded.breaks.is_empty());
    let md = report_of(&loaded, Format::Markdown);
    assert!(
        md.contains("✗ broken at line 4: its signature does not match"),
        "{md}"
    );
    assert!(
        md.contains("The journal was changed after it was written"),
        "{md}"
    );
    assert!(!md.contains("intact"), "{md}");
    assert!(md.contains("line 4 was changed"), "{md}");
    let report: Value = serde_json::from_str(&report_of(&loaded, Format::Json)).unwrap();
    assert_eq!(report["integrity"]["verdict"], "broken");
    assert_eq!(report["integrity"]["line"], 4);
    assert!(report["breaks"][0]
        .as_str()
        .unwrap()
        .contains("line 4 was changed"));
    let html = report_of(&loaded, Format::Html);
    assert!(html.contains("The journal was changed") && html.contains("line 4 was changed"));
    // A torn last line is a warning, not a break; the session's end record is gone with it.
    let torn = parse(&text[..text.len() - 10]);
    let md = report_of(&torn, Format::Markdown);
    assert!(
        md.contains("✗ truncated: no end record after line 13")
            && md.contains("**Warning:** line 14 is incomplete"),
        "{md}"
    );
    std::fs::remove_file(path).unwrap();
}

#[test]
fn missing_and_odd_fields_read_as_unknown() {
    let line = |seq: u64, step: &str, input: Value, result: Value| {
        json!({"v": 1, "seq": seq, "at": "not a time", "step": step, "key": "k", "input": input,
               "result": result, "ms": 0, "prev": "p", "extra": "ignored"})
        .to_string()
    };
    let text = [
        line(
            1,
            "query",
            json!({}),
            json!({"resultType": "scalar", "result": [1, "2"]}),
        ),
        line(2, "run", json!({"command": 7}), json!({"exit": "weird"})),
        line(3, "probe", json!(null), json!("nope")),
        line(4, "check", json!([]), json!({"passed": "yes"})),
        line(5, "finding", json!({"evidence": "one"}), json!({})),
        line(6, "window", json!({}), json!({})),
        line(7, "source", json!({}), json!({})),
        line(
            8,
            "query",
            json!({"instant": true}),
            json!({"error": "bad\ngateway"}),
        ),
        line(
            9,
            "query",
            json!({"source": "prom", "expr": "up", "instant": true, "time": 1_795_176_000.0}),
            json!({"error": {"kind": "unreachable", "message": "connection refused"}}),
        ),
        line(
            10,
            "run",
            json!({"command": "sleep 9"}),
            json!({"error": {"kind": "timeout", "after_ms": 2000}}),
        ),
        line(11, "clock", json!({}), json!({"now": 1_795_176_000.0})),
        line(
            12,
            "lookup",
            json!({"source": "prom", "call": "label_values", "argument": "code"}),
            json!({"values": ["200", "500"]}),
        ),
    ]
    .join("\n");
    let loaded = parse(&text);
    assert_eq!(loaded.records.len(), 12, "{:?}", loaded.breaks);
    for format in [Format::Markdown, Format::Html, Format::Json] {
        let out = report_of(&loaded, format);
        assert!(!out.is_empty());
    }
    let md = report_of(&loaded, Format::Markdown);
    assert!(
        md.contains("? UNKNOWN")
            && md.contains("a scalar")
            // A result that does not fit its type, here an error that is only a string, is
            // unknown as a whole.
            && md.contains("query @? ?: ? series (instant at ?)")
            && md.contains("error: unreachable: connection refused")
            && md.contains("instant at 2026-11-20T12:00:00Z")
            && md.contains("✗ error: timed out after 2.00 s")
            && md.contains("Left out: 1 reading of the clock and 1 completion lookup"),
        "{md}"
    );
    let report: Value = serde_json::from_str(&report_of(&loaded, Format::Json)).unwrap();
    assert_eq!(report["integrity"]["verdict"], "broken");
    assert_eq!(report["checks"][0]["passed"], Value::Null);
    assert_eq!(report["findings"][0]["evidence"], json!([]));
    assert_eq!(
        report["timeline"][10]["summary"],
        "the time is 2026-11-20T12:00:00Z"
    );
    assert_eq!(
        report["timeline"][11]["summary"],
        "lookup @prom label_values code: 2 values"
    );
    // Every record here was written by hand, without its key: each row says the journal breaks
    // at its line.
    assert_eq!(report["timeline"][10]["broken_at_line"], 11);
    assert!(
        md.contains("✗ line 8, where the journal breaks: this may not be what was seen. query @?"),
        "{md}"
    );
    assert_eq!(report["timeline"][5]["summary"], "window ? .. ?");
    // An empty journal still makes a report.
    let empty = report_of(&Loaded::default(), Format::Markdown);
    assert!(
        empty.contains("no steps recorded") && empty.contains("✗ truncated"),
        "{empty}"
    );
}

#[test]
fn formats_parse() {
    assert_eq!("md".parse::<Format>(), Ok(Format::Markdown));
    assert_eq!("HTML".parse::<Format>(), Ok(Format::Html));
    assert_eq!("json".parse::<Format>(), Ok(Format::Json));
    assert!("pdf".parse::<Format>().is_err());
}
