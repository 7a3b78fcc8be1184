//! A log query's lines: the volume chart (lines per step, by level), then a heading with how
//! many matched and the lines as a table (time, the labels that tell the streams apart, the
//! line), newest first. Runs of the same line in the
//! same stream are shown once with their count, as Grafana's "dedup" does, so that a flood of
//! one error does not hide the line before it.

use super::bundle::{escape_html, Bundle, TEXT_ALIGN};
use super::format::{rfc3339, window};
use super::volume;
use crate::ops::logs::{Labels, Level, LogLine, LogSelection};
use crate::ops::metrics::Range;
use std::fmt::Write;

/// Lines longer than these are cut where they are shown (the bound result keeps them whole), so
/// that 1,000 lines make an output a frontend can hold: a line may be 1 MiB.
const PLAIN_LINE_CHARS: usize = 400;
const HTML_LINE_CHARS: usize = 2000;
/// A `fields` column's value is a word or a short message, not a second line.
const FIELD_CHARS: usize = 120;

/// How the lines are laid out: the options that may end a `logs` statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layout {
    /// `fields A, B`: a column for each, from the line's labels or its JSON or logfmt fields.
    pub fields: Vec<String>,
    /// `collapse off`: every line on its own row, repeats included.
    pub every_line: bool,
}

/// The line's first `chars` characters, and a mark of how many more there were.
fn cut(line: &str, chars: usize) -> String {
    match line.char_indices().nth(chars) {
        None => line.to_owned(),
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &line[..at],
            line[at..].chars().count()
        ),
    }
}

/// A run of identical lines of one stream: the newest of them, and how many there were.
struct Row<'a> {
    line: &'a LogLine,
    count: usize,
}

fn rows(lines: &[LogLine], every_line: bool) -> Vec<Row<'_>> {
    let mut rows: Vec<Row> = Vec::new();
    for line in lines {
        match rows.last_mut() {
            Some(row)
                if !every_line && row.line.line == line.line && row.line.labels == line.labels =>
            {
                row.count += 1
            }
            _ => rows.push(Row { line, count: 1 }),
        }
    }
    rows
}

/// The label names whose values differ between the lines shown (the others say nothing) and
/// that say something the line does not: a value that is in the line's text, as every label a
/// parser took from it is, would only repeat it.
fn varying(lines: &[LogLine]) -> Vec<&str> {
    let Some(first) = lines.first() else {
        return Vec::new();
    };
    let mut names: Vec<&str> = lines
        .iter()
        .flat_map(|l| l.labels.keys().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    names.retain(|name| {
        let differ = (lines.iter()).any(|l| l.labels.get(*name) != first.labels.get(*name));
        let told = |l: &LogLine| {
            l.labels
                .get(*name)
                .is_some_and(|v| !l.line.contains(v.as_str()))
        };
        differ && lines.iter().any(told)
    });
    names
}

fn labels_text(labels: &Labels, names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|name| labels.get(*name).map(|v| format!("{name}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The colour of a line that asks for attention (warnings and worse); others stay plain.
fn attention(line: &LogLine) -> Option<&'static str> {
    match Level::of(&line.labels, &line.line) {
        level @ (Level::Critical | Level::Error | Level::Warn) => Some(volume::colour(level)),
        _ => None,
    }
}

fn heading(query: &str, selection: &LogSelection, range: &Range) -> String {
    let shown = selection.lines.len();
    let lines = if selection.matched == 1 {
        "line"
    } else {
        "lines"
    };
    let mut text = format!(
        "{} {lines} · {query} · {}",
        selection.matched,
        window(range.start, range.end)
    );
    if shown < selection.matched {
        let _ = write!(
            text,
            " · the newest {shown} shown, {} more not",
            selection.matched - shown
        );
    }
    text
}

/// The lines a log query selected: the volume chart when there is one, then the table. Two
/// outputs, as for a query: JupyterLab would show only the richer of the two in one.
pub fn lines(query: &str, selection: &LogSelection, range: &Range, layout: &Layout) -> Vec<Bundle> {
    let chart = (selection.volume.as_ref())
        .and_then(|volume| volume::chart(volume, selection.matched, range));
    chart
        .into_iter()
        .chain([table(query, selection, range, layout)])
        .collect()
}

fn table(query: &str, selection: &LogSelection, range: &Range, layout: &Layout) -> Bundle {
    let heading = heading(query, selection, range);
    if selection.lines.is_empty() {
        let plain = format!("{heading}\nno line matched in the window");
        return Bundle::plain(plain.clone())
            .with("text/html", format!("<p>{}</p>", escape_html(&plain)));
    }
    let mut names = varying(&selection.lines);
    names.retain(|name| !layout.fields.iter().any(|f| f == name));
    let rows = rows(&selection.lines, layout.every_line);
    let mut plain = heading.clone();
    let mut html = format!(
        "<div class=\"playbook-logs\"><p>{}</p><table><thead><tr><th{TEXT_ALIGN}>time</th>",
        escape_html(&heading)
    );
    if !names.is_empty() {
        let _ = write!(
            html,
            "<th{TEXT_ALIGN}>{}</th>",
            escape_html(&names.join(" "))
        );
    }
    for field in &layout.fields {
        let _ = write!(html, "<th{TEXT_ALIGN}>{}</th>", escape_html(field));
    }
    html.push_str("<th style=\"text-align:left\">line</th></tr></thead><tbody>");
    for row in &rows {
        let at = rfc3339(row.line.at_ns as f64 / 1e9);
        let labels = labels_text(&row.line.labels, &names);
        let times = match row.count {
            1 => String::new(),
            n => format!(" (×{n})"),
        };
        let text = cut(&row.line.line, PLAIN_LINE_CHARS);
        let _ = write!(plain, "\n{at}  ");
        if !labels.is_empty() {
            let _ = write!(plain, "{labels}  ");
        }
        let fields: Vec<String> = (row.line.fields(&layout.fields).into_iter())
            .map(|value| cut(&value.unwrap_or_default(), FIELD_CHARS))
            .collect();
        for (name, value) in layout.fields.iter().zip(&fields) {
            let _ = write!(plain, "{name}={value}  ");
        }
        let _ = write!(plain, "{text}{times}");
        let colour = attention(row.line)
            .map(|c| format!(";color:{c}"))
            .unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td style=\"text-align:left;white-space:nowrap\">{}</td>",
            escape_html(&at)
        );
        if !names.is_empty() {
            let _ = write!(
                html,
                "<td style=\"text-align:left;white-space:nowrap\">{}</td>",
                escape_html(&labels)
            );
        }
        for value in &fields {
            let _ = write!(
                html,
                "<td style=\"text-align:left;white-space:nowrap\">{}</td>",
                escape_html(value)
            );
        }
        let _ = write!(
            html,
            "<td style=\"text-align:left;white-space:pre-wrap;word-break:break-all;font-family:monospace{colour}\">{}{}</td></tr>",
            escape_html(&cut(&row.line.line, HTML_LINE_CHARS)),
            escape_html(&times)
        );
    }
    html.push_str("</tbody></table></div>");
    Bundle::plain(plain).with("text/html", html)
}
