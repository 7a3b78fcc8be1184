//! The report as a self-contained HTML page.

use super::model::Report;
use super::sections::{self, Markup};
use crate::render::{code_html, escape_html as esc, rich};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;white-space:pre-wrap;word-break:break-word}\
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.unknown{color:#9a6700;font-weight:600}\
.detail{white-space:pre-wrap}.broken{background:#ffebe9;border:1px solid #cf222e;padding:.5rem 1rem}.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}";

/// HTML: outcomes coloured by class, details keeping their line breaks.
struct Html;

impl Markup for Html {
    fn text(text: &str) -> String {
        esc(text)
    }

    fn code(text: &str) -> String {
        code_html(text)
    }

    fn strong(markup: &str) -> String {
        format!("<strong>{markup}</strong>")
    }

    fn judged(passed: Option<bool>, markup: String) -> String {
        let class = match passed {
            Some(true) => "pass",
            Some(false) => "fail",
            None => "unknown",
        };
        format!("<span class=\"{class}\">{markup}</span>")
    }

    fn detail(markup: String) -> String {
        format!("<span class=\"detail\">{markup}</span>")
    }

    fn heading(out: &mut String, title: &str) {
        let _ = writeln!(out, "<h2>{}</h2>", esc(title));
    }

    fn paragraph(out: &mut String, markup: &str) {
        let _ = writeln!(out, "<p>{markup}</p>");
    }

    fn table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
        out.push_str("<table><thead><tr>");
        for h in head {
            let _ = write!(out, "<th>{}</th>", esc(h));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in rows {
            out.push_str("<tr>");
            for cell in row {
                let _ = write!(out, "<td>{cell}</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
    }
}

/// The report as one self-contained HTML page: its style inline, no script, nothing fetched.
pub(super) fn render(r: &Report) -> String {
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Investigation journal</title>\n<style>",
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<h1>Investigation journal</h1>\n<dl>\n");
    let _ = writeln!(out, "<dt>When</dt><dd>{}</dd>", esc(&r.span()));
    let _ = writeln!(out, "<dt>Steps</dt><dd>{}</dd>", esc(&r.steps_text()));
    let class = if r.intact() { "pass" } else { "fail" };
    let _ = writeln!(
        out,
        "<dt>Integrity</dt><dd class=\"{class}\">{}</dd>",
        esc(&r.integrity())
    );
    if !r.checks.is_empty() {
        let _ = writeln!(out, "<dt>Checks</dt><dd>{}</dd>", esc(&r.checks_summary()));
    }
    out.push_str("</dl>\n");
    if !r.breaks.is_empty() {
        out.push_str(
            "<div class=\"broken\"><p><strong>The journal was changed:</strong></p><ul>\n",
        );
        for b in &r.breaks {
            let _ = writeln!(out, "<li>{}</li>", rich(b, esc, Html::code));
        }
        out.push_str("</ul></div>\n");
    }
    if !r.warnings.is_empty() {
        out.push_str("<div class=\"warning\"><ul>\n");
        for w in &r.warnings {
            let _ = writeln!(out, "<li>{}</li>", esc(w));
        }
        out.push_str("</ul></div>\n");
    }

    sections::write::<Html>(&mut out, r);
    out.push_str("</body>\n</html>\n");
    out
}
