//! How figures, times and series read in every query output, so that the chart, the table and
//! the plain text agree.

use crate::ops::metrics::Labels;
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::HashSet;
use std::fmt::Write;

/// Prometheus spells the values that are not numbers this way; users grep for them.
fn non_finite(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("+Inf")
    } else if v == f64::NEG_INFINITY {
        Some("-Inf")
    } else {
        None
    }
}

/// Three significant digits, with a k/M/G/T suffix from a thousand up: a column of such figures
/// reads at a glance, and the exact values stay with the source.
pub fn compact(v: f64) -> String {
    if let Some(text) = non_finite(v) {
        return text.to_owned();
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let magnitude = v.abs();
    if !(1e-3..1e15).contains(&magnitude) {
        return exponent(v);
    }
    let rounded = round_significant(v, 3);
    let (scale, suffix) = suffix_for(rounded.abs());
    let mantissa = rounded / scale;
    let decimals = (2 - mantissa.abs().log10().floor() as i32).max(0) as usize;
    let mut text = trim_zeros(format!("{mantissa:.decimals$}"));
    text.push_str(suffix);
    text
}

/// The value as the source sent it, for results where every digit may matter (an instant
/// vector's `build_info`, a counter's exact count).
pub fn exact(v: f64) -> String {
    match non_finite(v) {
        Some(text) => text.to_owned(),
        None => format!("{}", v + 0.0),
    }
}

fn exponent(v: f64) -> String {
    let text = format!("{v:.2e}");
    match text.split_once('e') {
        Some((mantissa, power)) => format!("{}e{power}", trim_zeros(mantissa.to_owned())),
        None => text,
    }
}

const SUFFIXES: [(f64, &str); 4] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")];

fn suffix_for(magnitude: f64) -> (f64, &'static str) {
    SUFFIXES
        .iter()
        .find(|(scale, _)| magnitude >= *scale)
        .copied()
        .unwrap_or((1.0, ""))
}

fn trim_zeros(mut text: String) -> String {
    if text.contains('.') {
        while text.ends_with('0') {
            text.pop();
        }
        if text.ends_with('.') {
            text.pop();
        }
    }
    if text == "-0" {
        text.remove(0);
    }
    text
}

/// Rounds to `digits` significant digits such that the shortest decimal form of the result has
/// no more digits: dividing or multiplying an integer by an exact power of ten rounds once.
pub fn round_significant(v: f64, digits: i32) -> f64 {
    if !v.is_finite() || v == 0.0 {
        return v;
    }
    let shift = digits - 1 - v.abs().log10().floor() as i32;
    if !(-300..=300).contains(&shift) {
        v
    } else if shift >= 0 {
        let scale = 10f64.powi(shift);
        (v * scale).round() / scale
    } else {
        let scale = 10f64.powi(-shift);
        (v / scale).round() * scale
    }
}

/// Axis labels: enough decimals for the tick step, one suffix for the whole axis, so that
/// neighbouring ticks never read the same.
pub fn tick_label(v: f64, step: f64, largest: f64) -> String {
    let (scale, suffix) = suffix_for(largest.abs());
    let decimals = (-(step / scale).log10().floor()).max(0.0) as usize;
    let mut text = trim_zeros(format!("{:.decimals$}", v / scale + 0.0));
    if text != "0" {
        text.push_str(suffix);
    }
    text
}

/// A change in percent with its sign, as "+212%" or "-3.5%".
pub fn signed_percent(p: f64) -> String {
    if let Some(text) = non_finite(p) {
        return text.to_owned();
    }
    let text = if p.abs() >= 1000.0 {
        compact(p)
    } else if p.abs() >= 10.0 {
        format!("{p:.0}")
    } else {
        trim_zeros(format!("{p:.1}"))
    };
    match text.as_str() {
        "0" | "-0" => "0%".to_owned(),
        _ if p > 0.0 => format!("+{text}%"),
        _ => format!("{text}%"),
    }
}

fn utc(t: f64) -> Option<DateTime<Utc>> {
    if t.is_finite() {
        DateTime::from_timestamp_millis((t * 1000.0).round() as i64)
    } else {
        None
    }
}

/// RFC 3339 in UTC, to the millisecond only when the time has one.
pub fn rfc3339(t: f64) -> String {
    match utc(t) {
        Some(time) => time.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        None => exact(t),
    }
}

/// A time in UTC with a chrono format, for axis ticks and compact columns.
pub fn utc_format(t: f64, format: &str) -> String {
    match utc(t) {
        Some(time) => time.format(format).to_string(),
        None => exact(t),
    }
}

/// The window as one range of RFC 3339 times.
pub fn window(start: f64, end: f64) -> String {
    format!("{} .. {}", rfc3339(start), rfc3339(end))
}

/// A duration as playbooks write it (`30s`, `1h30m`, `7d`), so a step or an offset reads the
/// way the user typed it.
pub fn duration(seconds: f64) -> String {
    if !seconds.is_finite() || seconds < 0.0 {
        return format!("{}s", exact(seconds));
    }
    let mut millis = (seconds * 1000.0).round() as u64;
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut text = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if millis >= size {
            let _ = write!(text, "{}{unit}", millis / size);
            millis %= size;
        }
    }
    text
}

/// A label set as PromQL writes a selector: `{code="500", service="checkout"}`.
fn selector(labels: &Labels, with_name: bool) -> String {
    let mut text = String::new();
    if with_name {
        if let Some(name) = labels.get("__name__") {
            text.push_str(name);
        }
    }
    let mut first = true;
    for (name, value) in labels.iter().filter(|(name, _)| *name != "__name__") {
        text.push_str(if first { "{" } else { ", " });
        first = false;
        text.push_str(name);
        text.push_str("=\"");
        for c in value.chars() {
            match c {
                '\\' => text.push_str("\\\\"),
                '"' => text.push_str("\\\""),
                '\n' => text.push_str("\\n"),
                c => text.push(c),
            }
        }
        text.push('"');
    }
    if !first {
        text.push('}');
    }
    text
}

/// Where a name has no labels to show, the expression stands for it, cut to fit a legend.
const EXPR_NAME_CHARS: usize = 60;

/// How series are named in legends and tables: by their labels without the metric name, which
/// the series of one result usually share; with it, for all of them, when that is what tells two
/// apart; by the expression when a series has no labels at all (`sum(...)`).
pub fn series_names<'a>(
    labels: impl Iterator<Item = &'a Labels> + Clone,
    expr: &str,
) -> Vec<String> {
    let named = |with_name: bool| -> Vec<String> {
        labels
            .clone()
            .map(|l| match selector(l, with_name) {
                name if name.is_empty() => selector(l, true),
                name => name,
            })
            .map(|name| {
                if name.is_empty() {
                    shorten(expr, EXPR_NAME_CHARS)
                } else {
                    name
                }
            })
            .collect()
    };
    let short = named(false);
    let mut seen = HashSet::with_capacity(short.len());
    if short.iter().all(|name| seen.insert(name.as_str())) {
        short
    } else {
        named(true)
    }
}

/// Cuts text to at most `chars` characters, marking the cut.
pub fn shorten(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars.saturating_sub(1)) {
        Some((cut, _)) if text[cut..].chars().nth(1).is_some() => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compact_has_three_significant_digits_and_suffixes() {
        let cases = [
            (0.0, "0"),
            (1.0, "1"),
            (12.345, "12.3"),
            (-12.345, "-12.3"),
            (0.5, "0.5"),
            (0.00123456, "0.00123"),
            (999.96, "1k"),
            (1234.0, "1.23k"),
            (1_500_000.0, "1.5M"),
            (2.5e9, "2.5G"),
            (0.000012345, "1.23e-5"),
            (3e20, "3e20"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
        ];
        for (v, text) in cases {
            assert_eq!(compact(v), text, "{v}");
        }
    }

    #[test]
    fn rounding_keeps_decimal_forms_short() {
        assert_eq!(round_significant(123.456789, 6).to_string(), "123.457");
        assert_eq!(round_significant(0.1 + 0.2, 6).to_string(), "0.3");
        assert_eq!(round_significant(123456789.0, 3).to_string(), "123000000");
        assert!(round_significant(f64::NAN, 3).is_nan());
    }

    #[test]
    fn ticks_tell_neighbours_apart() {
        assert_eq!(tick_label(1_233_000.0, 1000.0, 1_236_000.0), "1.233M");
        assert_eq!(tick_label(0.30000000000000004, 0.1, 0.5), "0.3");
        assert_eq!(tick_label(-0.0, 20.0, 100.0), "0");
        assert_eq!(tick_label(40.0, 20.0, 100.0), "40");
    }

    #[test]
    fn percent_is_signed() {
        assert_eq!(signed_percent(212.4), "+212%");
        assert_eq!(signed_percent(-3.46), "-3.5%");
        assert_eq!(signed_percent(-0.01), "0%");
        assert_eq!(signed_percent(12345.0), "+12.3k%");
    }

    #[test]
    fn durations_read_as_written() {
        assert_eq!(duration(30.0), "30s");
        assert_eq!(duration(5400.0), "1h30m");
        assert_eq!(duration(7.0 * 86400.0), "7d");
        assert_eq!(duration(0.5), "500ms");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(1714557600.0), "2024-05-01T10:00:00Z");
        assert_eq!(rfc3339(1714557600.25), "2024-05-01T10:00:00.250Z");
        assert_eq!(rfc3339(f64::NAN), "NaN");
    }

    #[test]
    fn names_drop_the_shared_metric_name() {
        let a = labels(&[("__name__", "up"), ("job", "api"), ("code", "5\"0")]);
        let b = labels(&[("__name__", "up")]);
        let c = labels(&[]);
        let names = series_names([&a, &b, &c].into_iter(), "sum(up)");
        assert_eq!(names, ["{code=\"5\\\"0\", job=\"api\"}", "up", "sum(up)"]);
    }

    #[test]
    fn names_keep_the_metric_name_when_it_tells_series_apart() {
        let a = labels(&[("__name__", "a"), ("job", "x")]);
        let b = labels(&[("__name__", "b"), ("job", "x")]);
        let names = series_names([&a, &b].into_iter(), "{job=\"x\"}");
        assert_eq!(names, ["a{job=\"x\"}", "b{job=\"x\"}"]);
    }

    #[test]
    fn shorten_marks_the_cut() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abcd", 4), "abcd");
        assert_eq!(shorten("ab", 4), "ab");
    }
}
