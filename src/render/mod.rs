//! MIME bundles: pure functions from results to what a frontend shows.
//!
//! Every bundle has `text/plain`, so that a terminal client or a log still reads well; the rich
//! types (`text/html`, `text/markdown`) are for JupyterLab, GitHub and exported notebooks.

mod bundle;
mod chart;
mod check;
mod downsample;
pub(crate) mod format;
pub mod logs;
pub mod probe;
pub mod query;
pub mod slo;
mod summary;
mod svg;
mod table;
mod vegalite;
mod volume;

use crate::model::{format_number, Event, Value, MASK};
use crate::ops::check::CheckOutcome;
use crate::ops::command::{CommandResult, Exit, Leftovers};
use crate::ops::finding::{Finding, Severity};
use crate::ops::metrics::QueryResult;
pub use bundle::{code_html, escape_html, rich, Bundle};
use bundle::{rich_html, TEXT_ALIGN};
pub use check::check_line;
use std::time::Duration;

pub fn human_duration(d: Duration) -> String {
    human_millis(d.as_secs_f64() * 1000.0)
}

/// Milliseconds as a person reads them: `12 ms`, `1.50 s`, `2m05s`. Also for the durations a
/// journal records as a number of milliseconds.
pub(crate) fn human_millis(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = (ms / 1000.0) as u64;
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// Markdown treats these as formatting; a finding's text is shown as written.
fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]<>()#+-.!|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn exit_text(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit {code}"),
        Exit::Signal(signal) => format!("killed by signal {signal}"),
        Exit::NotRun => "not run (dry run)".into(),
    }
}

/// What became of the processes a command left running, when there were any.
pub fn leftovers_text(leftovers: Leftovers) -> Option<String> {
    let processes = |n: usize| match n {
        1 => "1 process".to_owned(),
        _ => format!("{n} processes"),
    };
    match leftovers {
        Leftovers::Stopped(0) | Leftovers::LeftRunning(0) => None,
        Leftovers::Stopped(n) => Some(format!("stopped {} the command left running", processes(n))),
        Leftovers::LeftRunning(n) => {
            Some(format!("left {} running (--leave-running)", processes(n)))
        }
    }
}

/// The one line that ends a command's output.
pub fn command_summary(result: &CommandResult) -> Bundle {
    if result.exit == Exit::NotRun {
        let line = format!("○ dry run: would run `{}`", result.command);
        let html = format!(
            "<div style=\"font-family:monospace;color:#6e7781\">{}</div>",
            escape_html(&line)
        );
        return Bundle::plain(line).with("text/html", html);
    }
    let mark = if result.succeeded() { "✓" } else { "✗" };
    let mut line = format!(
        "{mark} {} in {}",
        exit_text(result.exit),
        human_duration(result.duration)
    );
    if result.truncated {
        line.push_str(" (output longer than the result keeps; it was truncated)");
    }
    if let Some(text) = leftovers_text(result.leftovers) {
        line.push_str("; ");
        line.push_str(&text);
    }
    let color = if result.succeeded() {
        "#1a7f37"
    } else {
        "#cf222e"
    };
    let html = format!(
        "<div style=\"font-family:monospace;color:{color}\">{}</div>",
        escape_html(&line)
    );
    Bundle::plain(line).with("text/html", html)
}

pub(crate) fn severity_mark(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🟥",
        Severity::High => "🟧",
        Severity::Medium => "🟨",
        Severity::Low => "🟦",
        Severity::Info => "⬜",
    }
}

fn evidence_text(finding: &Finding) -> String {
    finding.evidence.join(", ")
}

/// What evcxr knows of a Rust item, for Shift+Tab.
pub fn rust_help(plain: String, html: String) -> Bundle {
    Bundle::plain(plain).with("text/html", html)
}

/// What a Rust cell showed, by MIME type; JSON types (Vega-Lite, `application/json`) as JSON.
pub fn shown(display: &std::collections::BTreeMap<String, String>) -> Bundle {
    display
        .iter()
        .fold(Bundle::default(), |bundle, (mime, content)| {
            let json = mime == "application/json" || mime.ends_with("+json");
            match json.then(|| serde_json::from_str(content).ok()).flatten() {
                Some(value) => bundle.with_json(mime, value),
                None => bundle.with(mime, content.as_str()),
            }
        })
}

pub fn finding_card(finding: &Finding) -> Bundle {
    let time = finding.at.format("%Y-%m-%d %H:%M:%S UTC");
    let mut markdown = format!(
        "{} **{}** · {}\n\n> {}\n",
        severity_mark(finding.severity),
        finding.severity.name().to_uppercase(),
        time,
        escape_markdown(&finding.text)
    );
    let mut plain = format!(
        "[{}] {} ({time})",
        finding.severity.name().to_uppercase(),
        finding.text
    );
    if !finding.evidence.is_empty() {
        let names: Vec<String> = finding.evidence.iter().map(|n| format!("`{n}`")).collect();
        markdown.push_str(&format!("\nevidence: {}\n", names.join(", ")));
        plain.push_str(&format!("\n  evidence: {}", evidence_text(finding)));
    }
    Bundle::plain(plain).with("text/markdown", markdown)
}

/// A time or a mark with its word ("🟨 medium") is not broken over two lines.
const MARK_ALIGN: &str = " style=\"text-align:left;white-space:nowrap\"";

/// The session's findings and checks as one timeline, in time order (ties in the order they
/// happened), headed by counts: by severity, and checks failed and passed.
pub fn findings_table(timeline: &[Event]) -> Bundle {
    let (mut findings, mut checks): (Vec<&Finding>, Vec<&CheckOutcome>) = (Vec::new(), Vec::new());
    for event in timeline {
        match event {
            Event::Finding(f) => findings.push(f),
            Event::Check(c) => checks.push(c),
        }
    }
    if findings.is_empty() && checks.is_empty() {
        let text = "no findings or checks recorded yet in this session";
        return Bundle::plain(text).with("text/html", format!("<p><em>{text}</em></p>"));
    }
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut heading = Vec::new();
    if !findings.is_empty() {
        let counts: Vec<String> = Severity::ALL
            .iter()
            .filter_map(|&s| {
                let n = findings.iter().filter(|f| f.severity == s).count();
                (n > 0).then(|| format!("{n} {}", s.name()))
            })
            .collect();
        heading.push(format!(
            "{}: {}",
            plural(findings.len(), "finding", "findings"),
            counts.join(", ")
        ));
    }
    if !checks.is_empty() {
        let failed = checks.iter().filter(|c| !c.passed).count();
        heading.push(format!(
            "{}: {failed} failed, {} passed",
            plural(checks.len(), "check", "checks"),
            checks.len() - failed
        ));
    }
    let heading = heading.join(" · ");

    // (when, mark, text, support, support as HTML): a check's detail has code spans.
    let mut rows: Vec<(chrono::DateTime<chrono::Utc>, String, &str, String, String)> = timeline
        .iter()
        .map(|event| match event {
            Event::Finding(f) => {
                let evidence = evidence_text(f);
                let evidence_html = escape_html(&evidence);
                let mark = format!("{} {}", severity_mark(f.severity), f.severity.name());
                (f.at, mark, f.text.as_str(), evidence, evidence_html)
            }
            Event::Check(c) => {
                let mark = if c.passed { "✓ PASS" } else { "✗ FAIL" };
                let detail_html = rich_html(&c.detail);
                (
                    c.at,
                    mark.to_owned(),
                    c.title.as_str(),
                    c.detail.clone(),
                    detail_html,
                )
            }
        })
        .collect();
    rows.sort_by_key(|row| row.0);

    let mut plain = format!("{heading}\n");
    let mut html = format!(
        "<p><strong>{}</strong></p><table><thead><tr>",
        escape_html(&heading)
    );
    for title in ["at", "", "finding or check", "evidence"] {
        html.push_str(&format!("<th{TEXT_ALIGN}>{title}</th>"));
    }
    html.push_str("</tr></thead><tbody>");
    for (at, mark, text, support, support_html) in &rows {
        let at = at.format("%H:%M:%S");
        let support_plain = if support.is_empty() {
            String::new()
        } else {
            format!("  [{support}]")
        };
        plain.push_str(&format!("{at}  {mark:<10}  {text}{support_plain}\n"));
        html.push_str(&format!(
            "<tr><td{MARK_ALIGN}>{at}</td><td{MARK_ALIGN}>{}</td><td{TEXT_ALIGN}>{}</td><td{TEXT_ALIGN}>{support_html}</td></tr>",
            escape_html(mark),
            escape_html(text),
        ));
    }
    html.push_str("</tbody></table>");
    Bundle::plain(plain.trim_end().to_owned()).with("text/html", html)
}

/// A bound value, shown again.
pub fn value(value: &Value) -> Bundle {
    match value {
        Value::Text(text) => Bundle::plain(text.clone()),
        Value::Number(n) => Bundle::plain(format_number(*n)),
        Value::Command(result) => {
            let summary = command_summary(result);
            let mut plain = format!("$ {}\n", result.command);
            plain.push_str(&result.stdout);
            plain.push_str(&result.stderr);
            plain.push_str(summary.get("text/plain").unwrap_or_default());
            Bundle::plain(plain)
        }
        Value::Finding(finding) => finding_card(finding),
        Value::Probe(result) => probe::probe(result),
        Value::Slo(value) => slo::summary(&value.slo, &value.report),
        // Shown again as its table, the lines themselves.
        Value::Logs(logs) => logs::lines(
            &logs.query,
            &logs.selection,
            &logs.range,
            &Default::default(),
        )
        .pop()
        .unwrap_or_default(),
        Value::Query(q) => match &q.result {
            QueryResult::Matrix(series) if series.is_empty() => {
                query::no_data(&q.expr, &q.range, "the query returned no series")
            }
            // Shown again as its chart: an execute result is one output.
            QueryResult::Matrix(series) => query::range(&q.expr, series, None, &q.range)
                .into_iter()
                .next()
                .unwrap_or_default(),
            other => query::instant(&q.expr, other),
        },
        Value::Check(outcome) => check_line(&outcome.title, outcome.passed, &outcome.detail),
        Value::Secret { reference, .. } => {
            Bundle::plain(format!("{} (a secret from {reference})", MASK))
        }
    }
}

/// A command still running: how long, and how much output so far.
pub fn command_progress(command: &str, elapsed: Duration, bytes: u64) -> Bundle {
    let line = format!(
        "⏳ running `{command}` · {} · {} of output so far",
        human_duration(elapsed),
        crate::ops::human_bytes(bytes)
    );
    let html = format!(
        "<div style=\"font-family:monospace;color:#6e7781\">{}</div>",
        escape_html(&line)
    );
    Bundle::plain(line).with("text/html", html)
}

/// The live line of a command that was stopped before it ended (the error says why).
pub fn command_stopped(command: &str, elapsed: Duration) -> Bundle {
    let line = format!("■ `{command}` stopped after {}", human_duration(elapsed));
    Bundle::plain(line.clone()).with(
        "text/html",
        format!(
            "<div style=\"font-family:monospace;color:#cf222e\">{}</div>",
            escape_html(&line)
        ),
    )
}

/// A metric's HELP and TYPE, for inspect requests.
pub fn metric_help(metric: &str, info: &crate::ops::metrics::MetricInfo) -> Bundle {
    let unit = if info.unit.is_empty() {
        String::new()
    } else {
        format!(", unit {}", info.unit)
    };
    let plain = format!("{metric} ({}{unit})\n\n{}", info.kind, info.help);
    let markdown = format!(
        "**{}** ({}{unit})\n\n{}\n",
        escape_markdown(metric),
        info.kind,
        escape_markdown(&info.help)
    );
    Bundle::plain(plain).with("text/markdown", markdown)
}

/// The help for a statement, for inspect requests.
pub fn help(syntax: &str, text: &str) -> Bundle {
    let markdown = format!("```\n{syntax}\n```\n\n{text}\n");
    Bundle::plain(format!("{syntax}\n\n{text}")).with("text/markdown", markdown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(severity: Severity, text: &str) -> Finding {
        Finding {
            severity,
            text: text.into(),
            evidence: vec!["disk".into()],
            at: chrono::Utc::now(),
        }
    }

    #[test]
    fn findings_and_checks_as_one_timeline() {
        let mut low = finding(Severity::Low, "a <b>");
        let mut critical = finding(Severity::Critical, "c");
        low.at = chrono::DateTime::from_timestamp(100, 0).unwrap();
        critical.at = chrono::DateTime::from_timestamp(300, 0).unwrap();
        let check = CheckOutcome {
            title: "no 5xx".into(),
            passed: false,
            detail: "fired for 2 series".into(),
            at: chrono::DateTime::from_timestamp(200, 0).unwrap(),
        };
        let table = findings_table(&[
            Event::Finding(critical),
            Event::Finding(low),
            Event::Check(check),
        ]);
        let html = table.get("text/html").unwrap();
        let (l, f, c) = (
            html.find("🟦 low").unwrap(),
            html.find("✗ FAIL").unwrap(),
            html.find("🟥 critical").unwrap(),
        );
        assert!(l < f && f < c, "in time order: {html}");
        assert!(html.contains("a &lt;b&gt;"));
        assert!(
            html.contains("<td style=\"text-align:left\">no 5xx</td>"),
            "text stays left where a frontend drops styles: {html}"
        );
        assert!(!html.contains("<td>") && !html.contains("<th>"), "{html}");
        let plain = table.get("text/plain").unwrap();
        assert!(
            plain.starts_with("2 findings: 1 critical, 1 low · 1 check: 1 failed, 0 passed"),
            "{plain}"
        );
        let one = findings_table(&[Event::Finding(finding(Severity::Info, "x"))]);
        assert!(one
            .get("text/plain")
            .unwrap()
            .starts_with("1 finding: 1 info"));
    }

    #[test]
    fn code_spans_in_a_check_read_as_code_and_the_rest_is_escaped() {
        let check = CheckOutcome {
            title: "no <5xx>".into(),
            passed: false,
            detail: "`sum(x{a=\"<b>\"}) > 1` fired for 1 series & more".into(),
            at: chrono::DateTime::from_timestamp(200, 0).unwrap(),
        };
        let expected =
            "<code>sum(x{a=&quot;&lt;b&gt;&quot;}) &gt; 1</code> fired for 1 series &amp; more";
        let timeline = findings_table(&[Event::Check(check.clone())]);
        assert!(timeline.get("text/html").unwrap().contains(expected));
        let line = check_line(&check.title, check.passed, &check.detail);
        assert!(line.get("text/html").unwrap().contains(expected));
        assert!(line.get("text/html").unwrap().contains("no &lt;5xx&gt;"));
    }

    #[test]
    fn card_has_markdown_and_plain() {
        let card = finding_card(&finding(Severity::High, "p99 *doubled*"));
        assert!(card.get("text/markdown").unwrap().contains("**HIGH**"));
        assert!(card
            .get("text/markdown")
            .unwrap()
            .contains("p99 \\*doubled\\*"));
        assert!(card.get("text/plain").unwrap().contains("evidence: disk"));
    }
}
