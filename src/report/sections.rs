//! The report's sections, written once for every markup: markdown and HTML differ in how a
//! heading, a table or a verdict is written, not in what a section holds.

use super::model::Report;
use super::wording::{one_line, or_unknown, rich, severity_mark, verdict};
use crate::render::format::duration;

/// How a format writes the pieces a section is made of. Cell functions return markup; the
/// others append to the page.
pub(super) trait Markup {
    /// Plain text, escaped.
    fn text(text: &str) -> String;
    fn code(text: &str) -> String;
    fn strong(markup: &str) -> String;
    /// Markup that tells a pass, a failure or an unknown outcome (HTML colours it).
    fn judged(passed: Option<bool>, markup: String) -> String;
    /// Markup whose line breaks matter.
    fn detail(markup: String) -> String;
    fn heading(out: &mut String, title: &str);
    fn paragraph(out: &mut String, markup: &str);
    fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>);
}

/// Every section after the report's head, in order.
pub(super) fn write<M: Markup>(out: &mut String, r: &Report) {
    let time = |at: &str| M::text(&r.clock(at));
    if !r.windows.is_empty() {
        M::heading(out, "Windows");
        let rows = r
            .windows
            .iter()
            .map(|w| {
                vec![
                    M::code(&w.written),
                    M::text(&format!(
                        "{} .. {}",
                        or_unknown(&w.start),
                        or_unknown(&w.end)
                    )),
                    M::text(&w.step_seconds.map(duration).unwrap_or_else(|| "?".into())),
                    time(&w.place.at),
                ]
            })
            .collect();
        M::table(out, &["As written", "Resolved", "Step", "Time"], rows);
    }
    if !r.sources.is_empty() {
        M::heading(out, "Sources");
        let rows = r
            .sources
            .iter()
            .map(|s| {
                vec![
                    M::text(or_unknown(&s.name)),
                    M::text(or_unknown(&s.kind)),
                    M::text(or_unknown(&s.url)),
                ]
            })
            .collect();
        M::table(out, &["Name", "Kind", "URL"], rows);
    }

    M::heading(out, "Findings");
    if r.findings.is_empty() {
        M::paragraph(out, "No findings were recorded.");
    } else {
        let rows = r
            .findings
            .iter()
            .map(|f| {
                let severity = f.severity.as_deref();
                let word = M::text(&severity.unwrap_or("?").to_uppercase());
                vec![
                    format!("{} {}", severity_mark(severity), M::strong(&word)),
                    M::detail(M::text(or_unknown(&f.text))),
                    f.evidence
                        .iter()
                        .map(|e| M::code(e))
                        .collect::<Vec<_>>()
                        .join(", "),
                    time(&f.place.at),
                ]
            })
            .collect();
        M::table(out, &["Severity", "Finding", "Evidence", "Time"], rows);
    }

    M::heading(out, "Checks");
    if r.checks.is_empty() {
        M::paragraph(out, "No checks were recorded.");
    } else {
        let rows = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    M::judged(c.passed, M::strong(&M::text(verdict(c.passed)))),
                    M::text(or_unknown(&c.title)),
                    M::text(or_unknown(&c.condition)),
                    M::detail(rich(c.detail.as_deref().unwrap_or(""), M::text, M::code)),
                    time(&c.place.at),
                ]
            })
            .collect();
        M::table(
            out,
            &["Result", "Check", "Condition", "Detail", "Time"],
            rows,
        );
    }

    if !r.commands.is_empty() {
        M::heading(out, "Commands");
        let rows = r
            .commands
            .iter()
            .map(|c| {
                let passed = match c.mark() {
                    "✓" => Some(true),
                    "✗" => Some(false),
                    _ => None,
                };
                let mut exit =
                    M::judged(passed, format!("{} {}", c.mark(), M::text(&c.exit_text())));
                if c.truncated == Some(true) {
                    exit.push_str(" (output truncated)");
                }
                vec![
                    M::code(or_unknown(&c.command)),
                    exit,
                    M::text(&c.duration_text()),
                    time(&c.place.at),
                ]
            })
            .collect();
        M::table(out, &["Command", "Exit", "Duration", "Time"], rows);
    }

    if !r.queries.is_empty() {
        M::heading(out, "Queries");
        let rows = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    M::code(or_unknown(&q.expr)),
                    M::text(or_unknown(&q.source)),
                    M::text(&q.outcome()),
                    M::text(&q.range()),
                    time(&q.place.at),
                ]
            })
            .collect();
        M::table(out, &["Query", "Source", "Result", "Window", "Time"], rows);
    }

    if !r.probes.is_empty() {
        M::heading(out, "Probes");
        let rows = r
            .probes
            .iter()
            .map(|p| {
                vec![
                    M::text(or_unknown(&p.url)),
                    M::text(&p.status_text()),
                    M::text(&p.latency_text()),
                    M::text(&p.certificate_text()),
                    M::judged(p.passed, M::text(&p.result_text())),
                    time(&p.place.at),
                ]
            })
            .collect();
        let head = ["URL", "Status", "Latency", "Certificate", "Result", "Time"];
        M::table(out, &head, rows);
    }

    if !r.secrets.is_empty() {
        M::heading(out, "Secrets");
        M::paragraph(out, "Read by reference; their values are never recorded.");
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                vec![
                    M::code(or_unknown(&s.name)),
                    M::text(or_unknown(&s.reference)),
                    time(&s.place.at),
                ]
            })
            .collect();
        M::table(out, &["Name", "Reference", "Time"], rows);
    }

    M::heading(out, "Timeline");
    if r.timeline.is_empty() {
        M::paragraph(out, "The journal holds no steps.");
    } else {
        let rows = r
            .shown_timeline()
            .map(|e| {
                vec![
                    e.place.seq.to_string(),
                    time(&e.place.at),
                    M::text(&one_line(&e.step)),
                    M::text(&e.line),
                ]
            })
            .collect();
        M::table(out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            M::paragraph(out, &M::text(&note));
        }
    }
}
