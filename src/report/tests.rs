//! The report of a journal with every kind of step, in each format.

use super::{render, Format};
use crate::journal::read::{load, parse, Loaded};
use crate::journal::record::Journal;
use serde_json::{json, Value};

/// A small investigation with every kind of step, written by the journal's own writer.
fn journal() -> (std::path::PathBuf, Loaded) {
    let path = std::env::temp_dir().join(format!(
        "report-test-{}-{}.jsonl",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let mut j = Journal::open(&path, Box::new(|s: &str| s.replace("hunter2", "••••••"))).unwrap();
    j.append(
        "source",
        json!({"name": "prom", "kind": "prometheus", "url": "http://prom:9090"}),
        json!({}),
        0,
    )
    .unwrap();
    j.append(
        "window",
        json!({"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T12:00:00Z", "step": null}),
        json!({"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T12:00:00Z", "step_seconds": 15}),
        0,
    )
    .unwrap();
    j.append(
        "query",
        json!({"source": "prom", "expr": "sum by (code) (rate(http_requests_total{code=~\"5..\"}[5m]))",
               "instant": false, "start": 1_795_168_800.0, "end": 1_795_176_000.0, "step": 15.0,
               "now": 1_795_180_000.0}),
        json!({"resultType": "matrix", "warnings": [],
               "result": [{"metric": {"code": "500"}, "values": [[1_795_168_800.0, "10"]]},
                          {"metric": {"code": "503"}, "values": [[1_795_168_800.0, "2"]]}]}),
        42,
    )
    .unwrap();
    j.append(
        "run",
        json!({"command": "kubectl get pods | grep <checkout>", "cwd": null, "env": [], "timeout_ms": null}),
        json!({"exit": {"code": 1}, "duration_ms": 1500, "stdout": "", "stderr": "boom", "truncated": false}),
        1500,
    )
    .unwrap();
    j.append(
        "run",
        json!({"command": "sleep 100"}),
        json!({"exit": {"signal": 9}, "duration_ms": 125_000}),
        125_000,
    )
    .unwrap();
    j.append(
        "probe",
        json!({"url": "https://shop.example/health", "expect": 200, "within_ms": 500, "headers": [], "insecure": false}),
        json!({"status": 503, "latency_ms": 87, "body_bytes": 12, "cert_days_left": 40, "passed": false,
               "reason": "status 503, expected 200"}),
        87,
    )
    .unwrap();
    j.append(
        "check",
        json!({"title": "checkout 5xx below 1/s", "condition": "promql"}),
        json!({"passed": false, "detail": "fired from 10:30:15 to 11:19:45\n{service=\"checkout\"}"}),
        10,
    )
    .unwrap();
    j.append(
        "check",
        json!({"title": "cart <fine> & \"well\"", "condition": "run"}),
        json!({"passed": true, "detail": "`test -f a|b` exited 0"}),
        5,
    )
    .unwrap();
    j.append(
        "finding",
        json!({"severity": "info", "text": "rollback ended it", "evidence": ["versions"]}),
        json!({}),
        0,
    )
    .unwrap();
    j.append(
        "finding",
        json!({"severity": "critical", "text": "checkout <script>alert(1)</script> | down", "evidence": ["errors", "pods"]}),
        json!({}),
        0,
    )
    .unwrap();
    j.append(
        "secret",
        json!({"name": "token", "reference": "env:TOKEN"}),
        json!({}),
        0,
    )
    .unwrap();
    j.append(
        "rust",
        json!({"code": "      \nlet v: Vec<u8> = vec![];\nv[3];"}),
        json!({"panic": "index out of bounds"}),
        300,
    )
    .unwrap();
    j.append(
        "teleport",
        json!({"to": "mars", "extra": [1, 2]}),
        json!({"weird": true}),
        0,
    )
    .unwrap();
    drop(j);
    let loaded = load(&path).unwrap();
    (path, loaded)
}

#[test]
fn every_section_is_there_in_markdown() {
    let (path, loaded) = journal();
    let md = render(&loaded, Format::Markdown);
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
    assert!(md.contains("✓ hash chain verified"), "{md}");
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
    let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
    assert_eq!(report["verified"], true);
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
    let html = render(&loaded, Format::Html);
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
    let md = render(&loaded, Format::Markdown);
    assert!(md.contains("✗ the journal was changed"), "{md}");
    assert!(!md.contains("hash chain verified"), "{md}");
    assert!(md.contains("line 4 was changed"), "{md}");
    let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
    assert_eq!(report["verified"], false);
    assert!(report["breaks"][0]
        .as_str()
        .unwrap()
        .contains("line 4 was changed"));
    let html = render(&loaded, Format::Html);
    assert!(html.contains("The journal was changed") && html.contains("line 4 was changed"));
    // A torn last line is a warning, not a break.
    let torn = parse(&text[..text.len() - 10]);
    let md = render(&torn, Format::Markdown);
    assert!(
        md.contains("✓ hash chain verified") && md.contains("**Warning:** line 13 is incomplete"),
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
        let out = render(&loaded, format);
        assert!(!out.is_empty());
    }
    let md = render(&loaded, Format::Markdown);
    assert!(
        md.contains("? UNKNOWN")
            && md.contains("a scalar")
            && md.contains("error: bad gateway")
            && md.contains("error: unreachable: connection refused")
            && md.contains("instant at 2026-11-20T12:00:00Z")
            && md.contains("✗ error: timed out after 2.00 s")
            && md.contains("Left out: 1 reading of the clock and 1 completion lookup"),
        "{md}"
    );
    let report: Value = serde_json::from_str(&render(&loaded, Format::Json)).unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(report["checks"][0]["passed"], Value::Null);
    assert_eq!(report["findings"][0]["evidence"], json!(["one"]));
    assert_eq!(
        report["timeline"][10]["summary"],
        "the time is 2026-11-20T12:00:00Z"
    );
    assert_eq!(
        report["timeline"][11]["summary"],
        "lookup @prom label_values code: 2 values"
    );
    assert_eq!(report["timeline"][5]["summary"], "window ? .. ?");
    // An empty journal still makes a report.
    let empty = render(&Loaded::default(), Format::Markdown);
    assert!(
        empty.contains("no steps recorded") && empty.contains("✓ hash chain verified"),
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
