//! The report as GitHub-flavoured markdown, to paste into an incident document.

use super::model::Report;
use super::sections::{self, Markup};
use super::wording::one_line;
use crate::render::rich;
use std::fmt::Write;

/// GitHub-flavoured markdown: tables with escaped cells, verdicts in words and marks.
struct Markdown;

impl Markup for Markdown {
    /// Plain text in a table cell: formatting characters escaped, pipes too (which would end the
    /// cell), line breaks as `<br>`.
    fn text(text: &str) -> String {
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

    /// Code in a table cell: a code span with enough backticks, its pipes escaped.
    fn code(text: &str) -> String {
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

    fn strong(markup: &str) -> String {
        format!("**{markup}**")
    }

    fn judged(_: Option<bool>, markup: String) -> String {
        markup
    }

    fn detail(markup: String) -> String {
        markup
    }

    fn heading(out: &mut String, title: &str) {
        let _ = write!(out, "## {title}\n\n");
    }

    fn paragraph(out: &mut String, markup: &str) {
        let _ = write!(out, "{markup}\n\n");
    }

    fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(head.len()));
        for row in rows {
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
    }
}

/// The report as GitHub-flavoured markdown.
pub(super) fn render(r: &Report) -> String {
    let mut out = String::from("# Investigation journal\n\n");
    let _ = writeln!(out, "- **When:** {}", Markdown::text(&r.span()));
    let _ = writeln!(out, "- **Steps:** {}", Markdown::text(&r.steps_text()));
    let _ = writeln!(out, "- **Integrity:** {}", Markdown::text(&r.integrity()));
    if !r.breaks.is_empty() {
        out.push_str("- **The journal was changed after it was written:**\n");
        for b in &r.breaks {
            let _ = writeln!(out, "  - {}", rich(b, Markdown::text, Markdown::code));
        }
    }
    for w in &r.warnings {
        let _ = writeln!(out, "- **Warning:** {}", Markdown::text(w));
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "- **Checks:** {}", r.checks_summary());
    }
    out.push('\n');

    sections::write::<Markdown>(&mut out, r);
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}
