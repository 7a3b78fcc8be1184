//! The interactive chart: a Vega-Lite v5 spec with its data inline, for JupyterLab.
//!
//! The data is most of the spec's size, so each row is `{"t", "s", "v"}`: seconds since the
//! window's start, the line's index and the value to six significant digits; a transform looks
//! up each line's name and kind and turns `t` back into a time. A row whose value is null breaks
//! its line, which is how Vega-Lite shows a NaN or ±Inf gap.

use super::chart::{Chart, PALETTE};
use super::format::round_significant;
use serde_json::{json, Map, Value as Json};

pub const MIME: &str = "application/vnd.vegalite.v5+json";

pub(super) const SCHEMA: &str = "https://vega.github.io/schema/vega-lite/v5.json";

/// Enough for a reader to tell two values of one line apart, and six times shorter in JSON than
/// the full precision of an `f64`.
const VALUE_DIGITS: i32 = 6;

const CURRENT: &str = "current";

/// Time labels by the unit a tick falls on, in 24-hour UTC as the SVG's: the chart zooms, so
/// one fixed format would repeat "10:01" across a zoomed-in minute.
pub(super) fn clock() -> Json {
    json!({
        "year": "%Y", "month": "%Y-%m", "date": "%m-%d", "hours": "%H:%M", "minutes": "%H:%M",
        "seconds": "%H:%M:%S", "milliseconds": "%H:%M:%S.%L"
    })
}

pub fn spec(chart: &Chart) -> Json {
    let start = chart.range.start;
    let (from, to) = chart.time_domain();
    let mut rows = Vec::new();
    let mut lines = Vec::with_capacity(chart.lines.len());
    for (index, line) in chart.lines.iter().enumerate() {
        lines.push(json!({
            "s": index,
            "series": line.name,
            "kind": if line.baseline { chart.baseline.unwrap_or_default() } else { CURRENT },
        }));
        for (n, run) in line.runs.iter().enumerate() {
            if n > 0 {
                let gap = (line.runs[n - 1].last(), run.first());
                if let (Some(before), Some(after)) = gap {
                    rows.push(row(start, (before.0 + after.0) / 2.0, index, Json::Null));
                }
            }
            for &(t, v) in run {
                rows.push(row(
                    start,
                    t,
                    index,
                    json!(round_significant(v, VALUE_DIGITS)),
                ));
            }
        }
    }

    let names: Vec<&str> = chart
        .lines
        .iter()
        .filter(|l| !l.baseline)
        .map(|l| l.name)
        .collect();
    let colors = &PALETTE[..names.len()];
    let mut line_encoding = Map::new();
    let mut tooltip = vec![
        json!({"field": "at", "type": "nominal", "title": "time"}),
        json!({"field": "series", "type": "nominal"}),
    ];
    if let Some(baseline) = chart.baseline {
        line_encoding.insert(
            "strokeDash".into(),
            json!({
                "field": "kind", "type": "nominal", "title": null,
                "scale": {"domain": [CURRENT, baseline], "range": [[1, 0], [6, 4]]},
                "legend": {"orient": "bottom"}
            }),
        );
        tooltip.push(json!({"field": "kind", "type": "nominal"}));
    }
    tooltip
        .push(json!({"field": "v", "type": "quantitative", "title": "value", "format": ",.6~r"}));

    let mut title = json!({
        "text": chart.expr, "anchor": "start", "font": "monospace", "fontSize": 12,
        "fontWeight": "normal"
    });
    let notes = chart.notes();
    if !notes.is_empty() {
        title["subtitle"] = json!(notes);
    }

    json!({
        "$schema": SCHEMA,
        "description": "t: seconds since the window's start; s: line, looked up in the transform; v: value (null breaks the line at a NaN or Inf sample)",
        "title": title,
        "width": 640,
        "height": 260,
        "data": {"values": rows},
        "transform": [
            {"lookup": "s", "from": {"data": {"values": lines}, "key": "s", "fields": ["series", "kind"]}},
            {"calculate": format!("{} + datum.t * 1000", (start * 1000.0).round()), "as": "time"},
            {"calculate": "utcFormat(datum.time, '%Y-%m-%d %H:%M:%S UTC')", "as": "at"}
        ],
        "encoding": {
            "x": {
                "field": "time", "type": "temporal", "title": "time (UTC)",
                "scale": {"type": "utc", "domain": [(from * 1000.0).round(), (to * 1000.0).round()]},
                "axis": {"format": clock(), "tickCount": 8}
            },
            "y": y_encoding(chart),
            "color": {
                "field": "series", "type": "nominal", "title": null,
                "scale": {"domain": names, "range": colors},
                "legend": {"orient": "bottom", "columns": 2, "labelLimit": 300}
            }
        },
        "layer": [
            {
                "mark": {"type": "line", "strokeWidth": 1.5, "clip": true},
                "encoding": line_encoding,
                "params": [{
                    "name": "zoom",
                    "select": {"type": "interval", "encodings": ["x"]},
                    "bind": "scales"
                }]
            },
            {
                "mark": {"type": "point", "filled": true, "size": 40, "clip": true},
                "encoding": {
                    "opacity": {"condition": {"param": "hover", "empty": false, "value": 1}, "value": 0},
                    "tooltip": tooltip
                },
                "params": [{
                    "name": "hover",
                    "select": {"type": "point", "on": "mouseover", "clear": "mouseout", "nearest": true}
                }]
            }
        ]
    })
}

/// The value axis with its ends given: Vega-Lite's own "nice" rounding can stop below a peak.
fn y_encoding(chart: &Chart) -> Json {
    let mut y =
        json!({"field": "v", "type": "quantitative", "title": null, "scale": {"zero": false}});
    if let Some(axis) = chart.value_axis() {
        y["scale"] = json!({"domain": [axis.lo, axis.hi], "nice": false, "zero": false});
        y["axis"] = json!({"values": axis.ticks()});
    }
    y
}

fn row(start: f64, t: f64, line: usize, value: Json) -> Json {
    let mut row = Map::with_capacity(3);
    row.insert("t".into(), json!(((t - start) * 1000.0).round() / 1000.0));
    row.insert("s".into(), json!(line));
    row.insert("v".into(), value);
    Json::Object(row)
}

#[cfg(test)]
mod tests {
    use super::super::chart::Drawn;
    use super::*;
    use crate::ops::metrics::{Range, Series};

    fn series(values: &[f64]) -> Series {
        Series {
            labels: Default::default(),
            points: values
                .iter()
                .enumerate()
                .map(|(i, &v)| (1000.0 + 60.0 * i as f64, v))
                .collect(),
        }
    }

    const RANGE: Range = Range {
        start: 1000.0,
        end: 1240.0,
        step: 60.0,
    };

    #[test]
    fn gaps_are_null_rows_and_every_value_is_json() {
        let now = series(&[1.0, f64::NAN, 2.0, f64::INFINITY, 3.123456789]);
        let before = series(&[0.5, 0.5, 0.5, 0.5, 0.5]);
        let drawn = Drawn {
            series: &now,
            name: "{a=\"1\"}",
            baseline: Some(&before),
        };
        let chart = Chart::new("up", &RANGE, [drawn].into_iter(), Some("baseline -7d"));
        let spec = spec(&chart);
        let data = serde_json::to_string(&spec["data"]).unwrap();
        assert!(!data.contains("NaN") && !data.contains("inf"));
        let rows = spec["data"]["values"].as_array().unwrap();
        let line0: Vec<&Json> = rows
            .iter()
            .filter(|r| r["s"] == 0)
            .map(|r| &r["v"])
            .collect();
        assert_eq!(
            line0,
            [
                &json!(1.0),
                &Json::Null,
                &json!(2.0),
                &Json::Null,
                &json!(3.12346)
            ]
        );
        assert_eq!(rows.iter().filter(|r| r["s"] == 1).count(), 5);
        assert_eq!(
            rows[1]["t"],
            json!(60.0),
            "a gap sits between its neighbours"
        );
        let lines = &spec["transform"][0]["from"]["data"]["values"];
        assert_eq!(lines[1]["kind"], "baseline -7d");
        assert_eq!(
            spec["encoding"]["color"]["scale"]["domain"],
            json!(["{a=\"1\"}"])
        );
        assert_eq!(
            spec["layer"][0]["encoding"]["strokeDash"]["scale"]["domain"],
            json!(["current", "baseline -7d"])
        );
    }

    #[test]
    fn the_value_axis_holds_the_peak_and_the_baseline_at_round_ticks() {
        let now = series(&[0.25, 5.5, 1.0, f64::NAN, 2.0]);
        let before = series(&[-0.4, 0.1, 0.1, 0.1, 0.1]);
        let drawn = Drawn {
            series: &now,
            name: "x",
            baseline: Some(&before),
        };
        let chart = Chart::new("x", &RANGE, [drawn].into_iter(), Some("baseline -7d"));
        let y = &spec(&chart)["encoding"]["y"];
        assert_eq!(
            y["scale"],
            json!({"domain": [-2.0, 6.0], "nice": false, "zero": false})
        );
        assert_eq!(y["axis"]["values"], json!([-2.0, 0.0, 2.0, 4.0, 6.0]));
    }
}
