//! MIME bundles: pure functions from results to what a frontend shows.
//!
//! Every bundle has `text/plain`, so that a terminal client or a log still reads well; the rich
//! types (`text/html`, `text/markdown`) are for JupyterLab, GitHub and exported notebooks.

use crate::engine::session::{format_number, Value};
use crate::ops::command::{CommandResult, Exit};
use crate::ops::finding::{Finding, Severity};
use serde_json::{Map, Value as Json};
use std::time::Duration;

/// One output's representations, keyed by MIME type.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Bundle(Map<String, Json>);

impl Bundle {
    fn with(mut self, mime: &str, content: impl Into<String>) -> Self {
        self.0.insert(mime.to_owned(), Json::String(content.into()));
        self
    }

    pub fn plain(text: impl Into<String>) -> Self {
        Bundle::default().with("text/plain", text)
    }

    pub fn get(&self, mime: &str) -> Option<&str> {
        self.0.get(mime).and_then(Json::as_str)
    }

    pub fn into_json(self) -> Json {
        Json::Object(self.0)
    }
}

pub fn human_duration(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else if ms < 60_000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        let s = d.as_secs();
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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

fn exit_text(exit: Exit) -> String {
    match exit {
        Exit::Code(code) => format!("exit {code}"),
        Exit::Signal(signal) => format!("killed by signal {signal}"),
    }
}

/// The one line that ends a command's output.
pub fn command_summary(result: &CommandResult) -> Bundle {
    let mark = if result.succeeded() { "✓" } else { "✗" };
    let mut line = format!(
        "{mark} {} in {}",
        exit_text(result.exit),
        human_duration(result.duration)
    );
    if result.truncated {
        line.push_str(" (output longer than the result keeps; it was truncated)");
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

fn severity_mark(severity: Severity) -> &'static str {
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

/// The session's findings as a timeline, in the order they were recorded, with a count by
/// severity first.
pub fn findings_table(findings: &[Finding]) -> Bundle {
    if findings.is_empty() {
        let text = "no findings recorded yet in this session";
        return Bundle::plain(text).with("text/html", format!("<p><em>{text}</em></p>"));
    }
    let counts: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|&s| {
            let n = findings.iter().filter(|f| f.severity == s).count();
            (n > 0).then(|| format!("{n} {}", s.name()))
        })
        .collect();
    let noun = if findings.len() == 1 {
        "finding"
    } else {
        "findings"
    };
    let heading = format!("{} {noun}: {}", findings.len(), counts.join(", "));
    let mut plain = format!("{heading}\n");
    let mut html = format!(
        "<p><strong>{}</strong></p><table><thead><tr><th>severity</th><th>finding</th><th>evidence</th><th>at</th></tr></thead><tbody>",
        escape_html(&heading)
    );
    for f in findings {
        let at = f.at.format("%H:%M:%S");
        plain.push_str(&format!(
            "{:<8}  {}  {}{}\n",
            f.severity.name(),
            at,
            f.text,
            if f.evidence.is_empty() {
                String::new()
            } else {
                format!("  [evidence: {}]", evidence_text(f))
            }
        ));
        html.push_str(&format!(
            "<tr><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            severity_mark(f.severity),
            f.severity.name(),
            escape_html(&f.text),
            escape_html(&evidence_text(f)),
            at
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
    }
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
    fn findings_sorted_by_severity_and_escaped() {
        let table = findings_table(&[
            finding(Severity::Low, "a <b>"),
            finding(Severity::Critical, "c"),
        ]);
        let html = table.get("text/html").unwrap();
        assert!(html.find("critical").unwrap() < html.find("low").unwrap());
        assert!(html.contains("a &lt;b&gt;"));
        assert!(table.get("text/plain").unwrap().starts_with("2 findings"));
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
