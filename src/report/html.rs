//! The report as a self-contained HTML page.

use super::model::Report;
use super::wording::{duration, one_line, or_unknown, rich, severity_mark, verdict};
use crate::render::escape_html as esc;
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1f2328;line-height:1.45}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}\
table{border-collapse:collapse;width:100%;font-size:.9rem}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;white-space:pre-wrap;word-break:break-word}\
.pass{color:#1a7f37;font-weight:600}.fail{color:#cf222e;font-weight:600}.unknown{color:#9a6700;font-weight:600}\
.detail{white-space:pre-wrap}.broken{background:#ffebe9;border:1px solid #cf222e;padding:.5rem 1rem}.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem 1rem}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}";

fn pass_class(passed: Option<bool>) -> &'static str {
    match passed {
        Some(true) => "pass",
        Some(false) => "fail",
        None => "unknown",
    }
}

fn html_table(out: &mut String, head: &[&str], rows: Vec<Vec<String>>) {
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

fn code(text: &str) -> String {
    format!("<code>{}</code>", esc(text))
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
    if r.verified() {
        out.push_str("<dt>Integrity</dt><dd class=\"pass\">✓ hash chain verified</dd>\n");
    } else {
        out.push_str(
            "<dt>Integrity</dt><dd class=\"fail\">✗ the journal was changed after it was written</dd>\n",
        );
    }
    if !r.checks.is_empty() {
        let _ = writeln!(out, "<dt>Checks</dt><dd>{}</dd>", esc(&r.checks_summary()));
    }
    out.push_str("</dl>\n");
    if !r.verified() {
        out.push_str(
            "<div class=\"broken\"><p><strong>The journal was changed:</strong></p><ul>\n",
        );
        for b in &r.breaks {
            let _ = writeln!(out, "<li>{}</li>", rich(b, esc, code));
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

    if !r.windows.is_empty() {
        out.push_str("<h2>Windows</h2>\n");
        let rows = r
            .windows
            .iter()
            .map(|w| {
                vec![
                    code(&w.written),
                    esc(&format!(
                        "{} .. {}",
                        or_unknown(&w.start),
                        or_unknown(&w.end)
                    )),
                    esc(&w.step_seconds.map(duration).unwrap_or_else(|| "?".into())),
                    esc(&r.clock(&w.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["As written", "Resolved", "Step", "Time"], rows);
    }
    if !r.sources.is_empty() {
        out.push_str("<h2>Sources</h2>\n");
        let rows = r
            .sources
            .iter()
            .map(|s| {
                vec![
                    esc(or_unknown(&s.name)),
                    esc(or_unknown(&s.kind)),
                    esc(or_unknown(&s.url)),
                ]
            })
            .collect();
        html_table(&mut out, &["Name", "Kind", "URL"], rows);
    }

    out.push_str("<h2>Findings</h2>\n");
    if r.findings.is_empty() {
        out.push_str("<p>No findings were recorded.</p>\n");
    } else {
        let rows = r
            .findings
            .iter()
            .map(|f| {
                let severity = f.severity.as_deref();
                vec![
                    format!(
                        "{} <strong>{}</strong>",
                        severity_mark(severity),
                        esc(&severity.unwrap_or("?").to_uppercase())
                    ),
                    format!("<span class=\"detail\">{}</span>", esc(or_unknown(&f.text))),
                    f.evidence
                        .iter()
                        .map(|e| code(e))
                        .collect::<Vec<_>>()
                        .join(", "),
                    esc(&r.clock(&f.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Severity", "Finding", "Evidence", "Time"], rows);
    }

    out.push_str("<h2>Checks</h2>\n");
    if r.checks.is_empty() {
        out.push_str("<p>No checks were recorded.</p>\n");
    } else {
        let rows = r
            .checks
            .iter()
            .map(|c| {
                vec![
                    format!(
                        "<span class=\"{}\">{}</span>",
                        pass_class(c.passed),
                        esc(verdict(c.passed))
                    ),
                    esc(or_unknown(&c.title)),
                    esc(or_unknown(&c.condition)),
                    format!(
                        "<span class=\"detail\">{}</span>",
                        rich(c.detail.as_deref().unwrap_or(""), esc, code)
                    ),
                    esc(&r.clock(&c.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["Result", "Check", "Condition", "Detail", "Time"],
            rows,
        );
    }

    if !r.commands.is_empty() {
        out.push_str("<h2>Commands</h2>\n");
        let rows = r
            .commands
            .iter()
            .map(|c| {
                let class = match c.mark() {
                    "✓" => "pass",
                    "✗" => "fail",
                    _ => "unknown",
                };
                let mut exit = format!(
                    "<span class=\"{class}\">{} {}</span>",
                    c.mark(),
                    esc(&c.exit_text())
                );
                if c.truncated == Some(true) {
                    exit.push_str(" (output truncated)");
                }
                vec![
                    code(or_unknown(&c.command)),
                    exit,
                    esc(&c.duration_text()),
                    esc(&r.clock(&c.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Command", "Exit", "Duration", "Time"], rows);
    }

    if !r.queries.is_empty() {
        out.push_str("<h2>Queries</h2>\n");
        let rows = r
            .queries
            .iter()
            .map(|q| {
                vec![
                    code(or_unknown(&q.expr)),
                    esc(or_unknown(&q.source)),
                    esc(&q.outcome()),
                    esc(&q.range()),
                    esc(&r.clock(&q.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["Query", "Source", "Result", "Window", "Time"],
            rows,
        );
    }

    if !r.probes.is_empty() {
        out.push_str("<h2>Probes</h2>\n");
        let rows = r
            .probes
            .iter()
            .map(|p| {
                vec![
                    esc(or_unknown(&p.url)),
                    esc(or_unknown(&p.status)),
                    esc(&p.latency_text()),
                    esc(&p.certificate_text()),
                    format!(
                        "<span class=\"{}\">{}</span>",
                        pass_class(p.passed),
                        esc(&p.result_text())
                    ),
                    esc(&r.clock(&p.place.at)),
                ]
            })
            .collect();
        html_table(
            &mut out,
            &["URL", "Status", "Latency", "Certificate", "Result", "Time"],
            rows,
        );
    }

    if !r.secrets.is_empty() {
        out.push_str(
            "<h2>Secrets</h2>\n<p>Read by reference; their values are never recorded.</p>\n",
        );
        let rows = r
            .secrets
            .iter()
            .map(|s| {
                vec![
                    code(or_unknown(&s.name)),
                    esc(or_unknown(&s.reference)),
                    esc(&r.clock(&s.place.at)),
                ]
            })
            .collect();
        html_table(&mut out, &["Name", "Reference", "Time"], rows);
    }

    out.push_str("<h2>Timeline</h2>\n");
    if r.timeline.is_empty() {
        out.push_str("<p>The journal holds no steps.</p>\n");
    } else {
        let rows = r
            .shown_timeline()
            .map(|e| {
                vec![
                    e.place.seq.to_string(),
                    esc(&r.clock(&e.place.at)),
                    esc(&one_line(&e.step)),
                    esc(&e.line),
                ]
            })
            .collect();
        html_table(&mut out, &["#", "Time", "Step", "What"], rows);
        if let Some(note) = r.left_out() {
            let _ = writeln!(out, "<p>{}</p>", esc(&note));
        }
    }
    out.push_str("</body>\n</html>\n");
    out
}
