//! The static chart, drawn by the kernel as SVG for where no JavaScript runs: GitHub, nbviewer,
//! exported HTML. It draws the same lines as the Vega-Lite spec, on a white background so that
//! it also reads under a dark theme.

use super::bundle::escape_html;
use super::chart::{Chart, ValueAxis, PALETTE};
use super::format::{self, shorten, tick_label};
use std::fmt::Write;

pub(super) const WIDTH: f64 = 720.0;
pub(super) const LEFT: f64 = 64.0;
/// Room for the last time tick's label, centred on the plot's edge.
const RIGHT: f64 = 32.0;
const PLOT_HEIGHT: f64 = 240.0;
pub(super) const LINE_HEIGHT: f64 = 15.0;
const TITLE_CHARS: usize = 96;
const LEGEND_CHARS: usize = 52;
const DASH: &str = "6 4";
pub(super) const INK: &str = "#444";
const GRID: &str = "#e4e4e4";

pub fn draw(chart: &Chart) -> String {
    let notes = chart.notes();
    let top = 26.0 + LINE_HEIGHT * notes.len() as f64;
    let bottom = top + PLOT_HEIGHT;
    let mut legend: Vec<(&str, &str, bool)> = chart
        .lines
        .iter()
        .filter(|l| !l.baseline)
        .map(|l| (l.name, PALETTE[l.color], false))
        .collect();
    if let Some(baseline) = chart.baseline {
        legend.push((baseline, INK, true));
    }
    let legend_top = bottom + 44.0;
    let height = legend_top + LINE_HEIGHT * legend.len().div_ceil(2) as f64 + 4.0;

    let mut svg = String::with_capacity(16 * 1024);
    let _ = write!(
        svg,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="11" fill="{INK}"><rect width="100%" height="100%" fill="#fff"/>"##
    );
    let _ = write!(
        svg,
        r##"<text x="8" y="17" font-family="monospace" font-size="12" fill="#000">{}</text>"##,
        escape_xml(&shorten(chart.expr, TITLE_CHARS))
    );
    for (i, note) in notes.iter().enumerate() {
        let _ = write!(
            svg,
            r#"<text x="8" y="{}">{}</text>"#,
            32.0 + LINE_HEIGHT * i as f64,
            escape_xml(note)
        );
    }

    let plot = Plot::new(chart.time_domain(), chart.value_axis(), top, PLOT_HEIGHT);
    plot.draw_axes(&mut svg);
    if plot.values.is_some() {
        plot.draw_lines(&mut svg, chart);
    } else {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">no finite values to draw</text>"#,
            LEFT + plot.width / 2.0,
            top + PLOT_HEIGHT / 2.0
        );
    }
    draw_legend(&mut svg, &legend, legend_top);
    svg.push_str("</svg>");
    svg
}

/// The plotting area and its scales: a time axis below, a value axis on the left.
pub(super) struct Plot {
    top: f64,
    height: f64,
    pub width: f64,
    times: (f64, f64),
    /// None when nothing finite is drawn.
    pub values: Option<ValueAxis>,
}

impl Plot {
    pub fn new(times: (f64, f64), values: Option<ValueAxis>, top: f64, height: f64) -> Plot {
        let (from, to) = times;
        let times = if to > from {
            (from, to)
        } else {
            (from, from + 1.0)
        };
        Plot {
            top,
            height,
            width: WIDTH - LEFT - RIGHT,
            times,
            values,
        }
    }

    pub fn x(&self, t: f64) -> f64 {
        LEFT + (t - self.times.0) / (self.times.1 - self.times.0) * self.width
    }

    pub fn y(&self, v: f64) -> f64 {
        let (lo, hi) = self.values.map_or((0.0, 1.0), |axis| (axis.lo, axis.hi));
        self.top + (hi - v) / (hi - lo) * self.height
    }

    pub fn draw_axes(&self, svg: &mut String) {
        let bottom = self.top + self.height;
        let right = LEFT + self.width;
        let _ = write!(svg, r#"<g stroke="{GRID}">"#);
        let ticks = self
            .values
            .map(|axis| (axis.ticks(), axis.step, axis.hi.abs().max(axis.lo.abs())));
        if let Some((values, _, _)) = &ticks {
            for &v in values {
                let y = self.y(v);
                let _ = write!(
                    svg,
                    r#"<line x1="{LEFT}" x2="{right}" y1="{y:.1}" y2="{y:.1}"/>"#
                );
            }
        }
        let _ = write!(
            svg,
            r#"</g><path d="M{LEFT} {}V{bottom}H{right}" fill="none" stroke="{INK}"/>"#,
            self.top
        );
        if let Some((values, step, largest)) = ticks {
            let _ = write!(svg, r#"<g text-anchor="end">"#);
            for v in values {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{:.1}">{}</text>"#,
                    LEFT - 6.0,
                    self.y(v) + 4.0,
                    tick_label(v, step, largest)
                );
            }
            svg.push_str("</g>");
        }

        let (from, to) = self.times;
        let (step, layout) = time_ticks(to - from);
        let _ = write!(svg, r#"<g text-anchor="middle">"#);
        let first_tick = (from / step).ceil() as i64;
        let last_tick = (to / step).floor() as i64;
        for t in (first_tick..=last_tick).map(|n| n as f64 * step) {
            let x = self.x(t);
            let _ = write!(
                svg,
                r#"<path d="M{x:.1} {bottom}v4" stroke="{INK}"/><text x="{x:.1}" y="{}">{}</text>"#,
                bottom + 15.0,
                format::utc_format(t, layout)
            );
        }
        let (first, last) = (
            format::utc_format(from, "%Y-%m-%d"),
            format::utc_format(to, "%Y-%m-%d"),
        );
        let dates = if first == last {
            first
        } else {
            format!("{first} .. {last}")
        };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}">time (UTC), {dates}</text></g>"#,
            LEFT + self.width / 2.0,
            bottom + 31.0
        );
    }

    fn draw_lines(&self, svg: &mut String, chart: &Chart) {
        svg.push_str(r#"<g fill="none" stroke-width="1.5" stroke-linejoin="round">"#);
        for line in &chart.lines {
            let color = PALETTE[line.color];
            let dash = if line.baseline {
                format!(r#" stroke-dasharray="{DASH}""#)
            } else {
                String::new()
            };
            for run in &line.runs {
                if let [(t, v)] = run[..] {
                    let _ = write!(
                        svg,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="1.5" fill="{color}"/>"#,
                        self.x(t),
                        self.y(v)
                    );
                    continue;
                }
                let _ = write!(svg, r#"<polyline stroke="{color}"{dash} points=""#);
                for &(t, v) in run {
                    let _ = write!(svg, "{:.1},{:.1} ", self.x(t), self.y(v));
                }
                svg.pop();
                svg.push_str(r#""/>"#);
            }
        }
        svg.push_str("</g>");
    }
}

pub(super) fn draw_legend(svg: &mut String, entries: &[(&str, &str, bool)], top: f64) {
    let column = (WIDTH - LEFT - RIGHT) / 2.0;
    for (i, (name, color, dashed)) in entries.iter().enumerate() {
        let x = LEFT + column * (i % 2) as f64;
        let y = top + LINE_HEIGHT * (i / 2) as f64;
        let dash = if *dashed {
            format!(r#" stroke-dasharray="{DASH}""#)
        } else {
            String::new()
        };
        let _ = write!(
            svg,
            r#"<path d="M{x} {}h20" stroke="{color}" stroke-width="2"{dash}/><text x="{}" y="{y}">{}</text>"#,
            y - 4.0,
            x + 26.0,
            escape_xml(&shorten(name, LEGEND_CHARS))
        );
    }
}

/// Time ticks for a span of seconds: the first of the usual clock intervals that gives at most
/// seven, whole days beyond a week; and the chrono (and d3) format that tells them apart.
pub fn time_ticks(span: f64) -> (f64, &'static str) {
    const STEPS: [f64; 20] = [
        1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0,
        10_800.0, 21_600.0, 43_200.0, 86_400.0, 172_800.0, 604_800.0,
    ];
    let step = STEPS
        .iter()
        .copied()
        .find(|step| span / step <= 7.0)
        .unwrap_or_else(|| (span / 7.0 / 86_400.0).ceil().max(1.0) * 86_400.0);
    let layout = match step {
        s if s < 60.0 => "%H:%M:%S",
        s if s < 86_400.0 => "%H:%M",
        _ => "%m-%d",
    };
    (step, layout)
}

/// Markup escaping, and no characters that XML 1.0 forbids: a label value may hold any byte,
/// and one control character would make the whole image unreadable.
pub(super) fn escape_xml(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect();
    escape_html(&clean)
}

/// Tags open and close in order: enough to catch a missing `/>`; the Python suite parses the
/// image with an XML parser.
#[cfg(test)]
pub fn assert_balanced(svg: &str) {
    let mut open: Vec<&str> = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find('<') {
        let end = rest[at..].find('>').expect("a tag ends") + at;
        let tag = &rest[at + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop(), Some(name), "closing {name}");
        } else if !tag.ends_with('/') {
            open.push(tag.split_whitespace().next().unwrap());
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
    // A coordinate that is not finite prints as NaN or inf; the word "info" is no such thing.
    for bad in ["NaN", "\"inf", "-inf", "inf,", "inf "] {
        assert!(!svg.contains(bad), "{bad}");
    }
}

#[cfg(test)]
mod tests {
    use super::super::chart::Drawn;
    use super::*;
    use crate::ops::metrics::{Range, Series};

    #[test]
    fn draws_a_well_formed_image_with_gaps_dashes_and_escaped_text() {
        let now = Series {
            labels: Default::default(),
            points: vec![
                (0.0, 1.0),
                (60.0, 2.0),
                (120.0, f64::NAN),
                (180.0, 5.0),
                (240.0, f64::NEG_INFINITY),
                (300.0, 3.0),
                (360.0, 4.0),
            ],
        };
        let range = Range {
            start: 0.0,
            end: 360.0,
            step: 60.0,
        };
        let drawn = Drawn {
            series: &now,
            name: "{path=\"/a&b<c>\u{1}\"}",
            baseline: Some(&now),
        };
        let chart = Chart::new(
            "rate(x[5m]) > 0 & <",
            &range,
            [drawn].into_iter(),
            Some("baseline -1d"),
        );
        let svg = draw(&chart);
        assert_balanced(&svg);
        assert!(svg.contains("rate(x[5m]) &gt; 0 &amp; &lt;"));
        assert!(svg.contains("/a&amp;b&lt;c&gt;\u{fffd}"));
        assert_eq!(svg.matches("<polyline").count(), 4, "two runs per line");
        assert_eq!(svg.matches("<circle").count(), 2, "a lone point per line");
        assert!(svg.contains(r#"stroke-dasharray="6 4" points"#));
        assert!(svg.contains(">00:01<") && svg.contains(">00:05<"));
    }

    #[test]
    fn an_image_without_finite_values_says_so() {
        let empty = Series {
            labels: Default::default(),
            points: vec![(0.0, f64::NAN)],
        };
        let range = Range {
            start: 0.0,
            end: 0.0,
            step: 1.0,
        };
        let drawn = Drawn {
            series: &empty,
            name: "up",
            baseline: None,
        };
        let svg = draw(&Chart::new("up", &range, [drawn].into_iter(), None));
        assert_balanced(&svg);
        assert!(svg.contains("no finite values to draw"));
    }

    /// Every point of every line, dashed baselines too, lies between the axis's top and its
    /// bottom, for random values from a seeded generator.
    #[test]
    fn lines_stay_inside_the_plot() {
        let mut rng = fastrand::Rng::with_seed(5);
        let range = Range {
            start: 0.0,
            end: 600.0,
            step: 60.0,
        };
        for _ in 0..200 {
            let scale = 10f64.powi(rng.i32(-4..=6));
            let mut random = || Series {
                labels: Default::default(),
                points: (0..11)
                    .map(|i| (60.0 * i as f64, scale * (rng.f64() * 12.0 - 2.0)))
                    .collect(),
            };
            let (now, before) = (random(), random());
            let drawn = Drawn {
                series: &now,
                name: "x",
                baseline: Some(&before),
            };
            let svg = draw(&Chart::new("x", &range, [drawn].into_iter(), Some("-7d")));
            let axis = svg.split(&format!(r#"<path d="M{LEFT} "#)).nth(1).unwrap();
            let (top, rest) = axis.split_once('V').unwrap();
            let bottom = rest.split_once('H').unwrap().0;
            let (top, bottom): (f64, f64) = (top.parse().unwrap(), bottom.parse().unwrap());
            let ys = svg.split(" points=\"").skip(1).flat_map(|line| {
                let points = line.split('"').next().unwrap();
                points
                    .split(' ')
                    .map(|p| p.split_once(',').unwrap().1.parse::<f64>().unwrap())
            });
            let mut drawn = 0;
            for y in ys {
                assert!(top <= y && y <= bottom, "{y} outside {top}..{bottom}");
                drawn += 1;
            }
            assert_eq!(drawn, 22);
        }
    }

    #[test]
    fn time_ticks_are_clock_intervals() {
        assert_eq!(time_ticks(75.0), (15.0, "%H:%M:%S"));
        assert_eq!(time_ticks(3600.0), (600.0, "%H:%M"));
        assert_eq!(time_ticks(7.0 * 86_400.0), (86_400.0, "%m-%d"));
        assert_eq!(time_ticks(90.0 * 86_400.0), (13.0 * 86_400.0, "%m-%d"));
    }
}
