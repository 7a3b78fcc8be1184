//! A probe's verdict as one line: `✓ PASS GET URL: 200 in 12 ms, 3.4 KB, certificate valid 41
//! more days`, or `✗ FAIL GET URL: expected 200, got 503 Service Unavailable (120 ms)`.

use super::bundle::{escape_html, rich_html, Bundle};
use crate::ops::probe::{ProbeResult, BODY_CAP};

pub fn probe(result: &ProbeResult) -> Bundle {
    let (mark, verdict, color) = if result.passed {
        ("✓", "PASS", "#1a7f37")
    } else {
        ("✗", "FAIL", "#cf222e")
    };
    let detail = detail(result);
    let plain = format!("{mark} {verdict} GET {}: {detail}", result.url);
    let html = format!(
        "<div><strong style=\"color:{color}\">{mark} {verdict}</strong> GET <code>{}</code>: {}</div>",
        escape_html(&result.url),
        rich_html(&detail)
    );
    Bundle::plain(plain).with("text/html", html)
}

/// The reason, then what else the answer showed: the body's size and the certificate's days.
fn detail(result: &ProbeResult) -> String {
    let mut parts = vec![result.reason.clone()];
    if result.status.is_some() {
        parts.push(size_text(result.body_bytes));
    }
    if let Some(days) = result.cert_days_left {
        parts.push(certificate_text(days));
    }
    parts.join(", ")
}

/// `0 B`, `512 B`, `3.4 KB`, `1.2 MB`; a body read up to the cap is "at least" that.
fn size_text(bytes: u64) -> String {
    let size = if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KB", bytes as f64 / 1024.0)
    } else {
        format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
    };
    if bytes >= BODY_CAP {
        format!("at least {size} (not read further)")
    } else {
        size
    }
}

/// Days are whole days left, rounded down: -1 means it expired less than a day ago.
fn certificate_text(days: i64) -> String {
    match days {
        d if d >= 2 => format!("certificate valid {d} more days"),
        1 => "certificate valid 1 more day".into(),
        0 => "certificate expires within a day".into(),
        -1 => "certificate expired".into(),
        -2 => "certificate expired 1 day ago".into(),
        d => format!("certificate expired {} days ago", -d - 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn result(passed: bool, status: Option<u16>, reason: &str) -> ProbeResult {
        ProbeResult {
            url: "https://x.test/health?a=1&b=<2>".into(),
            status,
            latency: Duration::from_millis(12),
            body_bytes: 3_482,
            cert_days_left: None,
            passed,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_pass_shows_size_and_certificate() {
        let mut r = result(true, Some(200), "200 in 12 ms");
        r.cert_days_left = Some(41);
        let bundle = probe(&r);
        assert_eq!(
            bundle.get("text/plain").unwrap(),
            "✓ PASS GET https://x.test/health?a=1&b=<2>: 200 in 12 ms, 3.4 KB, certificate valid 41 more days"
        );
        let html = bundle.get("text/html").unwrap();
        assert!(html.contains("✓ PASS"), "{html}");
        assert!(html.contains("a=1&amp;b=&lt;2&gt;"), "{html}");
    }

    #[test]
    fn a_failure_without_an_answer_is_its_reason() {
        let r = result(false, None, "connection refused by x.test:443");
        assert_eq!(
            probe(&r).get("text/plain").unwrap(),
            "✗ FAIL GET https://x.test/health?a=1&b=<2>: connection refused by x.test:443"
        );
        let r = result(
            false,
            Some(503),
            "expected 200, got 503 Service Unavailable (120 ms)",
        );
        assert!(probe(&r)
            .get("text/plain")
            .unwrap()
            .ends_with(": expected 200, got 503 Service Unavailable (120 ms), 3.4 KB"));
    }

    #[test]
    fn sizes_and_certificates() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(1023), "1023 B");
        assert_eq!(size_text(1_300_000), "1.2 MB");
        assert_eq!(size_text(BODY_CAP), "at least 10.0 MB (not read further)");
        assert_eq!(certificate_text(1), "certificate valid 1 more day");
        assert_eq!(certificate_text(0), "certificate expires within a day");
        assert_eq!(certificate_text(-1), "certificate expired");
        assert_eq!(certificate_text(-4), "certificate expired 3 days ago");
    }

    #[test]
    fn a_reasons_code_spans_read_as_code() {
        let failed = probe(&result(
            false,
            None,
            "TLS: certificate expired; add `insecure` to accept it",
        ));
        assert!(failed
            .get("text/html")
            .unwrap()
            .contains("add <code>insecure</code> to accept it"));
    }
}
