//! The volume chart above a log result: how many lines matched in each step of the window,
//! stacked by level, as Grafana draws it above its log panels. Both drawings (Vega-Lite for
//! JupyterLab, SVG for GitHub) come from the same bars.

use super::bundle::{escape_html, Bundle};
use super::chart::ValueAxis;
use super::format::{duration, window};
use super::svg::{self, escape_xml, Plot, INK, LINE_HEIGHT, WIDTH};
use super::vegalite;
use crate::ops::logs::{Level, Volume};
use crate::ops::metrics::Range;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::fmt::Write;

const PLOT_HEIGHT: f64 = 110.0;

/// A level's colour: the table colours its lines the same way.
pub fn colour(level: Level) -> &'static str {
    match level {
        Level::Critical => "#7b241c",
        Level::Error => "#c0392b",
        Level::Warn => "#b9770e",
        Level::Info => "#4c78a8",
        Level::Debug => "#72b7b2",
        Level::Trace => "#bab0ac",
        Level::Unknown => "#9d9d9d",
    }
}

/// What both drawings say above the bars.
fn title(volume: &Volume, matched: usize) -> (String, Option<String>) {
    let per = duration(volume.step_ns as f64 / 1e9);
    let title = format!("log lines per {per}, by level");
    let note = (!volume.complete).then(|| {
        format!(
            "counts the {} lines returned; {} more matched",
            volume.total(),
            matched.saturating_sub(volume.total() as usize)
        )
    });
    (title, note)
}

/// The levels present, most severe first.
fn levels(volume: &Volume) -> Vec<Level> {
    let mut levels: Vec<Level> = volume.bars.iter().map(|b| b.level).collect();
    levels.sort_unstable();
    levels.dedup();
    levels
}

/// The chart's output, or why there is none; `None` when no line matched (the table says so).
pub fn chart(volume: &Volume, matched: usize, range: &Range) -> Option<Bundle> {
    if let Some(why) = &volume.not_drawn {
        return Some(
            Bundle::plain(why.clone()).with("text/html", format!("<p>{}</p>", escape_html(why))),
        );
    }
    if volume.bars.is_empty() {
        return None;
    }
    let (title, note) = title(volume, matched);
    let plain = format!(
        "{title}: {} lines over {}",
        volume.total(),
        window(range.start, range.end)
    );
    Some(
        Bundle::plain(plain)
            .with(
                "image/svg+xml",
                draw(volume, range, &title, note.as_deref()),
            )
            .with_json(vegalite::MIME, spec(volume, range, &title, note.as_deref())),
    )
}

/// Each step's total, and the highest: the value axis.
fn totals(volume: &Volume) -> BTreeMap<i64, u64> {
    let mut totals = BTreeMap::new();
    for bar in &volume.bars {
        let total: &mut u64 = totals.entry(bar.at_ns).or_default();
        *total = total.saturating_add(bar.count);
    }
    totals
}

/// The time axis: the window, widened to the bars at its ends.
fn times(volume: &Volume, range: &Range) -> (f64, f64) {
    let step = volume.step_ns as f64 / 1e9;
    let first = volume
        .bars
        .first()
        .map_or(range.start, |b| b.at_ns as f64 / 1e9);
    let last = volume
        .bars
        .last()
        .map_or(range.end, |b| b.at_ns as f64 / 1e9 + step);
    (range.start.min(first), range.end.max(last))
}

fn draw(volume: &Volume, range: &Range, title: &str, note: Option<&str>) -> String {
    let top = 26.0 + LINE_HEIGHT * note.iter().count() as f64;
    let bottom = top + PLOT_HEIGHT;
    let legend = levels(volume);
    let legend_top = bottom + 44.0;
    let height = legend_top + LINE_HEIGHT * legend.len().div_ceil(2) as f64 + 4.0;
    let highest = totals(volume).into_values().max().unwrap_or(1) as f64;
    let plot = Plot::new(
        times(volume, range),
        Some(ValueAxis::around(0.0, highest)),
        top,
        PLOT_HEIGHT,
    );
    let mut svg = String::with_capacity(8 * 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11" fill="{INK}"><rect width="100%" height="100%" fill="#fff"/><text x="8" y="17" font-size="12" fill="#000">{}</text>"##,
        escape_xml(title)
    );
    if let Some(note) = note {
        let _ = write!(svg, r#"<text x="8" y="32">{}</text>"#, escape_xml(note));
    }
    plot.draw_axes(&mut svg);
    let step = volume.step_ns as f64 / 1e9;
    // Stacked from the axis up, most severe first: bars are sorted by time, then level.
    let mut stacked: (i64, u64) = (i64::MIN, 0);
    for bar in &volume.bars {
        if stacked.0 != bar.at_ns {
            stacked = (bar.at_ns, 0);
        }
        let at = bar.at_ns as f64 / 1e9;
        let (x0, x1) = (plot.x(at), plot.x(at + step));
        let (y0, y1) = (
            plot.y(stacked.1 as f64),
            plot.y(stacked.1.saturating_add(bar.count) as f64),
        );
        stacked.1 = stacked.1.saturating_add(bar.count);
        let _ = write!(
            svg,
            r#"<rect x="{x0:.1}" y="{y1:.1}" width="{:.1}" height="{:.1}" fill="{}"><title>{}: {} {}</title></rect>"#,
            (x1 - x0 - 1.0).max(0.5),
            (y0 - y1).max(0.0),
            colour(bar.level),
            escape_xml(&super::format::rfc3339(at)),
            bar.count,
            bar.level.as_str()
        );
    }
    let entries: Vec<(&str, &str, bool)> = legend
        .iter()
        .map(|&l| (l.as_str(), colour(l), false))
        .collect();
    svg::draw_legend(&mut svg, &entries, legend_top);
    svg.push_str("</svg>");
    svg
}

fn spec(volume: &Volume, range: &Range, title: &str, note: Option<&str>) -> Json {
    let (from, to) = times(volume, range);
    let step_ms = volume.step_ns / 1_000_000;
    let rows: Vec<Json> = (volume.bars.iter())
        .map(|b| json!({"t": b.at_ns / 1_000_000, "level": b.level.as_str(), "n": b.count}))
        .collect();
    let present = levels(volume);
    let mut title =
        json!({"text": title, "anchor": "start", "fontSize": 12, "fontWeight": "normal"});
    if let Some(note) = note {
        title["subtitle"] = json!(note);
    }
    json!({
        "$schema": vegalite::SCHEMA,
        "description": "t: the start of a bar in milliseconds since the epoch; n: lines of that level in it",
        "title": title,
        "width": 640,
        "height": PLOT_HEIGHT,
        "data": {"values": rows},
        "transform": [
            {"calculate": format!("datum.t + {step_ms}"), "as": "end"},
            {"calculate": format!("indexof({}, datum.level)", json!(present.iter().map(|l| l.as_str()).collect::<Vec<_>>())), "as": "order"},
            {"calculate": "utcFormat(datum.t, '%Y-%m-%d %H:%M:%S UTC')", "as": "at"}
        ],
        "mark": {"type": "bar", "clip": true},
        "encoding": {
            "x": {
                "field": "t", "type": "temporal", "title": "time (UTC)",
                "scale": {"type": "utc", "domain": [(from * 1000.0).round(), (to * 1000.0).round()]},
                "axis": {"format": vegalite::clock(), "tickCount": 8}
            },
            "x2": {"field": "end"},
            "y": {"field": "n", "type": "quantitative", "aggregate": "sum", "stack": "zero", "title": "lines"},
            "color": {
                "field": "level", "type": "nominal", "title": null,
                "scale": {
                    "domain": present.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
                    "range": present.iter().map(|&l| colour(l)).collect::<Vec<_>>()
                },
                "legend": {"orient": "bottom"}
            },
            "order": {"field": "order", "type": "quantitative"},
            "tooltip": [
                {"field": "at", "type": "nominal", "title": "from"},
                {"field": "level", "type": "nominal"},
                {"field": "n", "type": "quantitative", "title": "lines"}
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::logs::LogLine;

    fn volume(complete_of: usize) -> Volume {
        let line = |s: i64, text: &str| LogLine {
            at_ns: s * 1_000_000_000,
            labels: Default::default(),
            line: text.into(),
        };
        let lines = [
            line(1000, "level=info a"),
            line(1010, "level=error b"),
            line(1015, "level=error c"),
            line(1070, "level=warn d"),
        ];
        Volume::of_lines(&lines, 60_000_000_000, complete_of)
    }

    const RANGE: Range = Range {
        start: 990.0,
        end: 1110.0,
        step: 10.0,
    };

    #[test]
    fn bars_stack_by_level_in_both_drawings() {
        let bundle = chart(&volume(4), 4, &RANGE).unwrap();
        let image = bundle.get("image/svg+xml").unwrap();
        svg::assert_balanced(image);
        assert_eq!(
            image.matches("<rect x=").count(),
            3,
            "three (step, level) bars"
        );
        assert!(image.contains("2 error") && image.contains("1 warn"));
        assert!(!image.contains("more matched"));
        let spec = bundle.0.get(vegalite::MIME).unwrap();
        assert_eq!(
            spec["encoding"]["color"]["scale"]["domain"],
            json!(["error", "warn", "info"])
        );
        let rows = spec["data"]["values"].as_array().unwrap();
        let errors: Vec<&Json> = rows.iter().filter(|r| r["level"] == "error").collect();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0]["n"], 2);
        assert_eq!(
            errors[0]["t"], 960_000,
            "the bar of 10:16 starts at 10:16:00"
        );
        assert!(bundle.get("text/plain").unwrap().contains("4 lines"));
    }

    #[test]
    fn a_volume_of_the_returned_lines_only_says_so() {
        let bundle = chart(&volume(10), 10, &RANGE).unwrap();
        let image = bundle.get("image/svg+xml").unwrap();
        assert!(image.contains("counts the 4 lines returned; 6 more matched"));
        assert!(chart(&Volume::of_lines(&[], 1, 0), 0, &RANGE).is_none());
    }

    #[test]
    fn a_volume_not_drawn_says_why_in_the_place_of_the_chart() {
        let why = "no volume chart: the journal's volume for this step is not valid (<why>)";
        let bundle = chart(&Volume::not_drawn(why.into()), 3, &RANGE).unwrap();
        assert_eq!(bundle.get("text/plain"), Some(why));
        assert!(bundle.get("text/html").unwrap().contains("(&lt;why&gt;)"));
        assert!(!bundle.has("image/svg+xml") && !bundle.has(vegalite::MIME));
    }

    #[test]
    fn counts_past_u64_max_draw_without_a_panic() {
        let mut huge = volume(4);
        for bar in &mut huge.bars {
            bar.count = u64::MAX;
        }
        let bundle = chart(&huge, usize::MAX, &RANGE).unwrap();
        assert!(bundle
            .get("text/plain")
            .unwrap()
            .contains("18446744073709551615 lines"));
    }
}
