//! A check's verdict as one line.

use super::bundle::{escape_html, rich_html, Bundle};

/// A check's verdict as one line: `✓ PASS title` or `✗ FAIL title`, then why.
pub fn check_line(title: &str, passed: bool, detail: &str) -> Bundle {
    let (mark, verdict, color) = if passed {
        ("✓", "PASS", "#1a7f37")
    } else {
        ("✗", "FAIL", "#cf222e")
    };
    let plain = format!("{mark} {verdict} {title}: {detail}");
    let html = format!(
        "<div><strong style=\"color:{color}\">{mark} {verdict}</strong> {}: {}</div>",
        escape_html(title),
        rich_html(detail)
    );
    Bundle::plain(plain).with("text/html", html)
}
