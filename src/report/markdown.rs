//! The report as GitHub-flavoured markdown, to paste into an incident document.

use super::model::Report;
use super::wording::{duration, one_line, or_unknown, rich, severity_mark, verdict};
use std::fmt::Write;

/// Plain text in a GitHub-flavoured markdown table cell: formatting characters escaped, pipes
/// too (which would end the cell), line breaks as `<br>`.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push_str("<br>");
        }
        for c in line.chars() {
            if "\\`*_[]<>|~#".contains(c) {
                out.push('\\');
            }
            out.push(c);
        }
    }
    out
}

/// Text with `code spans` (as check details have): the spans as code, the rest as plain text.
/// Unbalanced backticks are plain text.
fn md_rich(text: &str) -> String {
    rich(text, md, md_code)
}

/// Code in a table cell: a code span with enough backticks, its pipes escaped.
fn md_code(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        return "?".to_owned();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{}{pad}{fence}", text.replace('|', "\\|"))
}

fn md_table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(head.len()));
    for row in rows {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// The report as GitHub-flavoured markdown.
pub(super) fn render(r: &Report) -> String {
    let mut out = String::from("# Investigation journal\n\n");
    let _ = writeln!(out, "- **When:** {}", md(&r.span()));
    let _ = writeln!(out, "- **Steps:** {}", md(&r.steps_text()));
    if r.verified() {
        out.push_str("- **Integrity:** ✓ hash chain verified\n");
    } else {
        out.push_str("- **Integrity:** ✗ the journal was changed after it was written:\n");
        for b in &r.breaks {
            let _ = writeln!(out, "  - {}", md_rich(b));
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "- **Warning:** {}", md(w));
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "- **Checks:** {}", r.checks_summary());
    }
    out.push('\n');

    if !r.windows.is_empty() {
        out.push_str("## Windows\n\n");
        let rows = r
            .windows
            .iter()
            .map(|w| {
                vec![
                    md(&w.written),
                    format!("{} .. {}", md(or_unknown(&w.start)), md(or_unknown(&w.end))),
                    w.step_seconds.map(duration).unwrap_or_else(|| "?".into()),
                    r.clock(&w.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["As written", "Resolved", "Step", "Time"], rows);
    }
    if !r.sources.is_empty() {
        out.push_str("## Sources\n\n");
        let rows = r
            .sources
            .iter()
            .map(|s| {
                vec![
                    md(or_unknown(&s.name)),
                    md(or_unknown(&s.kind)),
                    md(or_unknown(&s.url)),
                ]
            })
            .collect();
        md_table(&mut out, &["Name", "Kind", "URL"], rows);
    }

    out.push_str("## Findings\n\n");
    if r.findings.is_empty() {
        out.push_str("No findings were recorded.\n\n");
    } else {
        let rows = r
            .findings
            .iter()
            .map(|f| {
                let severity = f.severity.as_deref();
                vec![
                    format!(
                        "{} **{}**",
                        severity_mark(severity),
                        md(&severity.unwrap_or("?").to_uppercase())
                    ),
                    md(or_unknown(&f.text)),
                    f.evidence
                        .iter()
                        .map(|e| md_code(e))
                        .collect::<Vec<_>>()
                        .join(", "),
                    r.clock(&f.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Severity", "Finding", "Evidence", "Time"], rows);
    }

    out.push_str("## Checks\n\n");
    if r.checks.is_empty() {
        out.push_str("No checks were recorded.\n\n");
    } else {
        let rows = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    format!("**{}**", verdict(c.passed)),
                    md(or_unknown(&c.title)),
                    md(or_unknown(&c.condition)),
                    md_rich(c.detail.as_deref().unwrap_or("")),
                    r.clock(&c.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["Result", "Check", "Condition", "Detail", "Time"],
            rows,
        );
    }

    if !r.commands.is_empty() {
        out.push_str("## Commands\n\n");
        let rows = r
            .commands
            .iter()
            .map(|c| {
                let mut exit = format!("{} {}", c.mark(), md(&c.exit_text()));
                if c.truncated == Some(true) {
                    exit.push_str(" (output truncated)");
                }
                vec![
                    md_code(or_unknown(&c.command)),
                    exit,
                    c.duration_text(),
                    r.clock(&c.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Command", "Exit", "Duration", "Time"], rows);
    }

    if !r.queries.is_empty() {
        out.push_str("## Queries\n\n");
        let rows = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    md_code(or_unknown(&q.expr)),
                    md(or_unknown(&q.source)),
                    md(&q.outcome()),
                    md(&q.range()),
                    r.clock(&q.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["Query", "Source", "Result", "Window", "Time"],
            rows,
        );
    }

    if !r.probes.is_empty() {
        out.push_str("## Probes\n\n");
        let rows = r
            .probes
            .iter()
            .map(|p| {
                vec![
                    md(or_unknown(&p.url)),
                    md(or_unknown(&p.status)),
                    p.latency_text(),
                    p.certificate_text(),
                    md(&p.result_text()),
                    r.clock(&p.place.at),
                ]
            })
            .collect();
        md_table(
            &mut out,
            &["URL", "Status", "Latency", "Certificate", "Result", "Time"],
            rows,
        );
    }

    if !r.secrets.is_empty() {
        out.push_str("## Secrets\n\nRead by reference; their values are never recorded.\n\n");
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                vec![
                    md_code(or_unknown(&s.name)),
                    md(or_unknown(&s.reference)),
                    r.clock(&s.place.at),
                ]
            })
            .collect();
        md_table(&mut out, &["Name", "Reference", "Time"], rows);
    }

    out.push_str("## Timeline\n\n");
    if r.timeline.is_empty() {
        out.push_str("The journal holds no steps.\n");
    } else {
        let rows = r
            .shown_timeline()
            .map(|e| {
                vec![
                    e.place.seq.to_string(),
                    r.clock(&e.place.at),
                    md(&one_line(&e.step)),
                    md(&e.line),
                ]
            })
            .collect();
        md_table(&mut out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            let _ = writeln!(out, "{}", md(&note));
        }
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
