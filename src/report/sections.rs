//! The report's sections, written once for every markup: markdown and HTML differ in how a
//! heading, a table or a verdict is written, not in what a section holds.

use super::model::Report;
use super::rows::Row;
use super::wording::{one_line, or_unknown, severity_mark, verdict};
use crate::render::rich;

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
    if !r.windows.is_empty() {
        M::heading(out, "Windows");
        let head = ["As written", "Resolved", "Step"];
        table::<M, _, _>(out, r, &head, &r.windows, |w| {
            let resolved = format!(
                "{} .. {}",
                or_unknown(&w.result.start),
                or_unknown(&w.result.end)
            );
            vec![
                M::code(&w.written()),
                M::text(&resolved),
                M::text(&w.step_text()),
            ]
        });
    }
    if !r.sources.is_empty() {
        M::heading(out, "Sources");
        // Unlike the other sections, sources have no time column, which `table` would add.
        let rows = r.sources.iter().map(|s| {
            let cells = [&s.input.name, &s.kind(), &s.location()];
            cells.map(|cell| M::text(or_unknown(cell))).into()
        });
        M::table(out, &["Name", "Kind", "URL or files"], rows.collect());
    }

    M::heading(out, "Findings");
    if r.findings.is_empty() {
        M::paragraph(out, "No findings were recorded.");
    } else {
        let head = ["Severity", "Finding", "Evidence"];
        table::<M, _, _>(out, r, &head, &r.findings, |f| {
            let severity = f.input.severity.as_deref();
            let word = M::text(&severity.unwrap_or("?").to_uppercase());
            let evidence: Vec<String> = f.input.evidence.iter().map(|e| M::code(e)).collect();
            vec![
                format!("{} {}", severity_mark(severity), M::strong(&word)),
                M::detail(M::text(or_unknown(&f.input.text))),
                evidence.join(", "),
            ]
        });
    }

    M::heading(out, "Checks");
    if r.checks.is_empty() {
        M::paragraph(out, "No checks were recorded.");
    } else {
        let head = ["Result", "Check", "Condition", "Detail"];
        table::<M, _, _>(out, r, &head, &r.checks, |c| {
            let passed = c.result.passed;
            let detail = c.result.detail.as_deref().unwrap_or("");
            vec![
                M::judged(passed, M::strong(&M::text(verdict(passed)))),
                M::text(or_unknown(&c.input.title)),
                M::text(or_unknown(&c.input.condition)),
                M::detail(rich(detail, M::text, M::code)),
            ]
        });
    }

    if !r.commands.is_empty() {
        M::heading(out, "Commands");
        let head = ["Command", "Exit", "Duration"];
        table::<M, _, _>(out, r, &head, &r.commands, |c| {
            let passed = match c.mark() {
                "✓" => Some(true),
                "✗" => Some(false),
                _ => None,
            };
            let mut exit = M::judged(passed, format!("{} {}", c.mark(), M::text(&c.exit_text())));
            if c.result.truncated == Some(true) {
                exit.push_str(" (output truncated)");
            }
            let command = M::code(or_unknown(&c.input.command));
            vec![command, exit, M::text(&c.duration_text())]
        });
    }

    if !r.queries.is_empty() {
        M::heading(out, "Queries");
        let head = ["Query", "Source", "Result", "Window"];
        table::<M, _, _>(out, r, &head, &r.queries, |q| {
            vec![
                M::code(or_unknown(&q.input.expr)),
                M::text(or_unknown(&q.input.source)),
                M::text(&q.outcome()),
                M::text(&q.range()),
            ]
        });
    }

    if !r.probes.is_empty() {
        M::heading(out, "Probes");
        let head = ["URL", "Status", "Latency", "Certificate", "Result"];
        table::<M, _, _>(out, r, &head, &r.probes, |p| {
            vec![
                M::text(or_unknown(&p.input.url)),
                M::text(&p.status_text()),
                M::text(&p.latency_text()),
                M::text(&p.certificate_text()),
                M::judged(p.result.passed, M::text(&p.result_text())),
            ]
        });
    }

    if !r.secrets.is_empty() {
        M::heading(out, "Secrets");
        M::paragraph(out, "Read by reference; their values are never recorded.");
        table::<M, _, _>(out, r, &["Name", "Reference"], &r.secrets, |s| {
            vec![
                M::code(or_unknown(&s.input.name)),
                M::text(or_unknown(&s.input.reference)),
            ]
        });
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
                    M::text(&r.clock(&e.place.at)),
                    M::text(&one_line(&e.step)),
                    M::text(&e.what()),
                ]
            })
            .collect();
        M::table(out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            M::paragraph(out, &M::text(&note));
        }
    }
}

/// A section's table: a row a step, its cells then the time it happened.
fn table<M: Markup, I, R>(
    out: &mut String,
    r: &Report,
    head: &[&str],
    rows: &[Row<I, R>],
    cells: impl Fn(&Row<I, R>) -> Vec<String>,
) {
    let head = [head, &["Time"]].concat();
    let rows = rows
        .iter()
        .map(|row| {
            let mut cells = cells(row);
            cells.push(M::text(&r.clock(&row.place.at)));
            cells
        })
        .collect();
    M::table(out, &head, rows);
}
