//! What a metrics query shows: a range result as an interactive chart, a static chart, a table
//! and a summary; an instant result as a table; a check's verdict; the source's warnings.
//!
//! The output stays small and quick whatever the result holds: the charts draw the few series
//! with the highest peaks, thinned to a few hundred points each, and say what they left out; the
//! table lists every series with figures from every raw point.

use super::bundle::{escape_html, Bundle, NUMBER_ALIGN, TEXT_ALIGN};
use super::chart::{self, Chart, Drawn, MAX_LINES};
use super::check::check_line;
use super::format::{self, duration, exact, rfc3339, series_names};
use super::summary::{Change, Summary};
use super::table::{Row, Table};
use super::{svg, vegalite};
use crate::ops::metrics::{Labels, QueryResult, Range, Sample, Series};
use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::time::Duration;

/// Baseline series, already shifted forward by `offset` so their timestamps line up with the
/// window.
pub struct Baseline<'a> {
    pub series: &'a [Series],
    pub offset: Duration,
}

/// A range query's result as two outputs: the chart (interactive Vega-Lite, and a static SVG for
/// GitHub, nbviewer and exported HTML), then the table of exact figures.
pub fn range(
    expr: &str,
    series: &[Series],
    baseline: Option<Baseline<'_>>,
    range: &Range,
) -> Vec<Bundle> {
    if series.is_empty() {
        return vec![no_data(expr, range, "")];
    }
    let names = series_names(series.iter().map(|s| &s.labels), expr);
    let summaries: Vec<Summary> = series.iter().map(|s| Summary::of(&s.points)).collect();
    let order = chart::rank(&summaries);

    let offset = baseline
        .as_ref()
        .map(|b| format!("-{}", duration(b.offset.as_secs_f64())));
    let kind = offset.as_ref().map(|o| format!("baseline {o}"));
    let (before, unmatched_baseline) = match &baseline {
        Some(b) => match_baseline(series, b.series),
        None => (vec![None; series.len()], 0),
    };

    let drawn = order.iter().map(|&i| Drawn {
        series: &series[i],
        name: &names[i],
        baseline: before[i],
    });
    let chart = Chart::new(expr, range, drawn, kind.as_deref());

    let rows = order
        .iter()
        .enumerate()
        .map(|(rank, &i)| Row {
            name: &names[i],
            summary: summaries[i],
            change: baseline.as_ref().map(|_| {
                let before = before[i].map(|s| Summary::of(&s.points));
                Change::between(&summaries[i], before.as_ref())
            }),
            color: (rank < MAX_LINES).then_some(rank),
        })
        .collect();
    let table = Table {
        expr,
        context: format!(
            "{}, step {}",
            format::window(range.start, range.end),
            duration(range.step)
        ),
        rows,
        baseline: offset.as_deref(),
        unmatched_baseline,
    };

    // Two outputs, because a frontend draws one MIME type per output, and JupyterLab ranks
    // text/html above Vega-Lite: in one bundle, the table would hide the chart.
    let drawn_note = format!(
        "chart of {}: {} series over {}",
        expr,
        series.len(),
        format::window(range.start, range.end)
    );
    vec![
        Bundle::plain(drawn_note)
            .with("image/svg+xml", svg::draw(&chart))
            .with_json(vegalite::MIME, vegalite::spec(&chart)),
        Bundle::plain(table.plain()).with("text/html", table.html()),
    ]
}

/// For each series, the baseline series with the same labels; and how many baseline series
/// match none.
fn match_baseline<'a>(
    series: &[Series],
    baseline: &'a [Series],
) -> (Vec<Option<&'a Series>>, usize) {
    let by_labels: HashMap<&Labels, &Series> = baseline.iter().map(|s| (&s.labels, s)).collect();
    let matched = series
        .iter()
        .map(|s| by_labels.get(&s.labels).copied())
        .collect();
    let current: HashSet<&Labels> = series.iter().map(|s| &s.labels).collect();
    let unmatched = baseline
        .iter()
        .filter(|s| !current.contains(&s.labels))
        .count();
    (matched, unmatched)
}

/// An instant result (vector, scalar, string) as a table.
pub fn instant(expr: &str, result: &QueryResult) -> Bundle {
    match result {
        QueryResult::Vector(samples) => vector(expr, samples),
        QueryResult::Matrix(series) => range_vectors(expr, series),
        QueryResult::Scalar { time, value } => {
            let text = format!("{expr}\nscalar {} at {}", exact(*value), rfc3339(*time));
            let html = format!(
                "<div><code>{}</code><br>scalar <strong>{}</strong> at {}</div>",
                escape_html(expr),
                exact(*value),
                rfc3339(*time)
            );
            Bundle::plain(text).with("text/html", html)
        }
        QueryResult::String { time, value } => {
            let text = format!("{expr}\nstring {value:?} at {}", rfc3339(*time));
            let html = format!(
                "<div><code>{}</code><br>string <code>{}</code> at {}</div>",
                escape_html(expr),
                escape_html(value),
                rfc3339(*time)
            );
            Bundle::plain(text).with("text/html", html)
        }
    }
}

/// An instant vector, in the order the source sent it (which `sort` and `topk` decide), with
/// exact values: an instant answer is often a count or a version someone reads digit by digit.
fn vector(expr: &str, samples: &[Sample]) -> Bundle {
    if samples.is_empty() {
        let text = format!("{expr}\nno samples: the query returned an empty vector");
        let html = format!(
            "<div><code>{}</code><br><strong>no samples</strong>: the query returned an empty vector</div>",
            escape_html(expr)
        );
        return Bundle::plain(text).with("text/html", html);
    }
    let names = series_names(samples.iter().map(|s| &s.labels), expr);
    let same_time = samples.iter().all(|s| s.time == samples[0].time);
    let when = if same_time {
        format!(" at {}", rfc3339(samples[0].time))
    } else {
        String::new()
    };
    let mut html = format!(
        "<table><caption{TEXT_ALIGN}><code>{}</code><br>{} samples{when}</caption><thead><tr><th{TEXT_ALIGN}>series</th><th{NUMBER_ALIGN}>value</th>{}</tr></thead><tbody>",
        escape_html(expr),
        samples.len(),
        if same_time { String::new() } else { format!("<th{TEXT_ALIGN}>at</th>") }
    );
    let mut plain = format!("{expr}\n{} samples{when}\n", samples.len());
    for (n, (sample, name)) in samples.iter().zip(&names).enumerate() {
        let value = exact(sample.value);
        let at = if same_time {
            String::new()
        } else {
            format!("<td{TEXT_ALIGN}>{}</td>", rfc3339(sample.time))
        };
        let _ = write!(
            html,
            "<tr><td{TEXT_ALIGN}>{}</td><td{NUMBER_ALIGN}>{value}</td>{at}</tr>",
            escape_html(name)
        );
        if n < PLAIN_SAMPLES {
            let _ = writeln!(plain, "  {name}  {value}");
        }
    }
    html.push_str("</tbody></table>");
    if samples.len() > PLAIN_SAMPLES {
        let _ = writeln!(
            plain,
            "  +{} more samples; the HTML table lists all",
            samples.len() - PLAIN_SAMPLES
        );
    }
    Bundle::plain(plain.trim_end()).with("text/html", html)
}

/// What the plain text of an instant vector lists before it refers to the HTML table.
const PLAIN_SAMPLES: usize = 10;

/// An instant query of a range selector (`x[5m]`): no window to chart, the same summary table.
fn range_vectors(expr: &str, series: &[Series]) -> Bundle {
    let times = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (from, to) = times.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), t| {
        (lo.min(t), hi.max(t))
    });
    let context = if from <= to {
        format!("range vectors, samples from {}", format::window(from, to))
    } else {
        "range vectors without samples".to_owned()
    };
    let names = series_names(series.iter().map(|s| &s.labels), expr);
    let summaries: Vec<Summary> = series.iter().map(|s| Summary::of(&s.points)).collect();
    let rows = chart::rank(&summaries)
        .into_iter()
        .map(|i| Row {
            name: &names[i],
            summary: summaries[i],
            change: None,
            color: None,
        })
        .collect();
    let table = Table {
        expr,
        context,
        rows,
        baseline: None,
        unmatched_baseline: 0,
    };
    Bundle::plain(table.plain()).with("text/html", table.html())
}

/// An empty result: says "no data" with a hint (the window in RFC 3339 UTC, and a hint string
/// the caller passes, e.g. "is the metric name right? ...").
pub fn no_data(expr: &str, range: &Range, hint: &str) -> Bundle {
    let window = format::window(range.start, range.end);
    let mut plain = format!("no data: {expr} returned no series in {window}");
    let mut html = format!(
        "<div><strong>no data</strong>: <code>{}</code> returned no series in {window}</div>",
        escape_html(expr)
    );
    if !hint.is_empty() {
        let _ = write!(plain, "\n{hint}");
        let _ = write!(html, "<div>{}</div>", escape_html(hint));
    }
    Bundle::plain(plain).with("text/html", html)
}

/// The fired series a failing check lists; a check over `up == 0` may fire for hundreds.
const FIRED_ROWS: usize = 100;
const PLAIN_FIRED: usize = 10;

/// A check in alerting-rule semantics: passed when `fired` is empty; otherwise which series fired
/// and when, earliest first: the first and last timestamp with a sample, and how many samples.
pub fn check(title: &str, expr: &str, fired: &[Series]) -> Bundle {
    if fired.is_empty() {
        return check_line(
            title,
            true,
            &format!("{expr} returned no samples in the window"),
        );
    }
    let verdict = check_line(
        title,
        false,
        &format!("{} series fired: {expr}", fired.len()),
    );
    let names = series_names(fired.iter().map(|s| &s.labels), expr);
    let mut order: Vec<usize> = (0..fired.len()).collect();
    order.sort_by(|&a, &b| first_time(&fired[a]).total_cmp(&first_time(&fired[b])));

    let mut html = verdict.get("text/html").unwrap_or_default().to_owned();
    let _ = write!(html, "<table><thead><tr><th{TEXT_ALIGN}>series</th><th{TEXT_ALIGN}>first</th><th{TEXT_ALIGN}>last</th><th{NUMBER_ALIGN}>samples</th></tr></thead><tbody>");
    let mut plain = verdict.get("text/plain").unwrap_or_default().to_owned();
    for (n, &i) in order.iter().enumerate() {
        let points = &fired[i].points;
        let (first, last) = match (points.first(), points.last()) {
            (Some(first), Some(last)) => (rfc3339(first.0), rfc3339(last.0)),
            _ => ("—".to_owned(), "—".to_owned()),
        };
        if n < FIRED_ROWS {
            let _ = write!(
                html,
                "<tr><td{TEXT_ALIGN}>{}</td><td{TEXT_ALIGN}>{first}</td><td{TEXT_ALIGN}>{last}</td><td{NUMBER_ALIGN}>{}</td></tr>",
                escape_html(&names[i]),
                points.len()
            );
        }
        if n < PLAIN_FIRED {
            let _ = write!(
                plain,
                "\n  {}: {first} .. {last}, {} samples",
                names[i],
                points.len()
            );
        }
    }
    html.push_str("</tbody></table>");
    if fired.len() > FIRED_ROWS {
        let _ = write!(
            html,
            "<div>+{} more series fired, not listed</div>",
            fired.len() - FIRED_ROWS
        );
    }
    if fired.len() > PLAIN_FIRED {
        let _ = write!(
            plain,
            "\n  +{} more series fired",
            fired.len() - PLAIN_FIRED
        );
    }
    Bundle::plain(plain).with("text/html", html)
}

fn first_time(series: &Series) -> f64 {
    series.points.first().map_or(f64::INFINITY, |p| p.0)
}

/// Server warnings shown beside a result.
pub fn warnings(warnings: &[String]) -> Bundle {
    if warnings.is_empty() {
        return Bundle::plain("the source sent no warnings");
    }
    let mut plain = String::new();
    let mut html = String::new();
    for warning in warnings {
        let _ = writeln!(plain, "⚠ warning from the source: {warning}");
        let _ = write!(
            html,
            "<div style=\"color:#9a6700\">⚠ warning from the source: {}</div>",
            escape_html(warning)
        );
    }
    Bundle::plain(plain.trim_end()).with("text/html", html)
}

#[cfg(test)]
mod tests;
